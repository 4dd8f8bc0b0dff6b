"""nova_core.sim.falcon_emu.fwsec: the simulated GSP falcon runs the FWSEC the driver loaded - or says why not.

:class:`FwsecEmulator` is called by the secure-chain model once a started FWSEC load has passed its checks.
It builds a :class:`~.core.FalconCore` over the GSP falcon's IMEM (blocks, tags, secure flags), DMEM and
registers, and executes from the boot vector:

- **GA102 and later** (v3 descriptor, started by the boot ROM): execution starts in heavy-secure mode at
  BOOTVEC. The boot ROM's RSA3K check is not done: the emulator enters HS mode without checking the
  signature, and says so in the log.
- **Turing / GA100** (v2): execution starts in non-secure mode - in the generic bootloader when it was
  loaded (real NVIDIA code: it transfers FWSEC in from system memory itself), or at FWSEC's VirtualEntry
  when the bootloader is the simulator's synthetic one (not code; the secure-chain model placed its payload).
  Reaching a secure block is the HS entry; the signature is not checked there either.

At every HS entry the secure code is looked at first: stored encrypted
(:func:`~nova_core.falcon_isa.entropy.looks_encrypted`: at least
:data:`~nova_core.falcon_isa.entropy.CIPHERTEXT_BITS` bits of entropy per byte; falcon code in the clear
measures 2-6.5), it is not executed - decrypting it takes keys the simulator does not have - and
the run stops with :attr:`~.stop.StopReason.ENCRYPTED`, naming the entry and the evidence. Every FWSEC in
the real ROMs at hand is in that state (the descriptor's ENCRYPTED bit notwithstanding).

A run that ends with ``exit`` decides the result: the falcon halts with the MAILBOX0/1 the code left, after
the virtual time its instructions took, and WPR2 and the scratch registers are what the code wrote through
its BAR0 master. Any other end falls back to the oracle model (:mod:`..models.secure_chain`), logged as a
warning with the reason - never silently - and recorded in :attr:`FwsecEmulator.runs` (``nova boot --json``:
``fwsec_executed``). What the partial run did (register writes, transfers) stays, as it would on hardware.

Sim choices: :data:`NS_PER_INSTRUCTION` of virtual time per instruction; the default budget
:data:`DEFAULT_BUDGET`; the ciphertext threshold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...falcon_isa.entropy import entropy, looks_encrypted
from ...firmware import facts as FW
from ...regs import falcon as F
from ...regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO
from ..models.falcon import BLOCK, StartResult
from .bus import Access, SimFalconBus
from .core import Block, FalconCore
from .stop import Stop, StopInfo, StopReason

if TYPE_CHECKING:
    from ..gpu import SimGpu
    from ..models.falcon import SimFalcon

DEFAULT_BUDGET = 20_000_000  #: instructions before a run counts as runaway (sim choice)
NS_PER_INSTRUCTION = 2  #: virtual time per emulated instruction (sim choice: one cycle at 500 MHz)
PROBE_INSTRUCTIONS = 64  #: how far a ciphertext verdict looks for an undecodable instruction


@dataclass
class EmulationReport:
    """One FWSEC start on the simulated GSP falcon, as the emulator saw it."""

    command: str
    executed: bool
    stop: StopInfo
    entry: int = 0
    hs_start: bool = False
    instructions: int = 0
    host_seconds: float = 0.0
    hs_entries: list[tuple[int, int | None]] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    accesses_dropped: int = 0
    unknown_io: dict[int, str] = field(default_factory=dict)
    unknown_opcodes: dict[int, str] = field(default_factory=dict)
    mailbox0: int = 0
    mailbox1: int = 0
    wpr2_lo: int = 0
    wpr2_hi: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        """Why the result is not NVIDIA's code's (``None`` when it ran to its halt)."""
        return None if self.executed else str(self.stop)

    def summary_json(self) -> dict[str, Any]:
        """The short form (``nova boot --json``)."""
        return {"command": self.command, "executed": self.executed, "reason": self.reason,
                "instructions": self.instructions, "stop_reason": self.stop.reason.value, "stop_pc": self.stop.pc,
                "hs_entries": [{"pc": pc, "from": frm} for pc, frm in self.hs_entries], "notes": self.notes}

    def as_json(self) -> dict[str, Any]:
        return {
            "command": self.command, "executed": self.executed, "reason": self.reason,
            "stop_reason": self.stop.reason.value, "stop_pc": self.stop.pc, "stop_message": self.stop.message,
            "entry": self.entry, "hs_start": self.hs_start, "instructions": self.instructions,
            "host_seconds": self.host_seconds,
            "hs_entries": [{"pc": pc, "from": frm} for pc, frm in self.hs_entries],
            "mailbox0": self.mailbox0, "mailbox1": self.mailbox1,
            "wpr2": {"lo": self.wpr2_lo, "hi": self.wpr2_hi},
            "io_writes": [a.as_json() for a in self.accesses if a.write],
            "io_reads": sum(1 for a in self.accesses if not a.write), "accesses_dropped": self.accesses_dropped,
            "unknown_io": {f"{k:#x}": v for k, v in self.unknown_io.items()},
            "unknown_opcodes": [{"pc": pc, "error": e} for pc, e in self.unknown_opcodes.items()],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Snapshot:
    """A falcon's memories and IMEM tags at one moment."""

    imem: bytes
    dmem: bytes
    blocks: tuple[tuple[int, bool, bool], ...]  #: (tag, valid, secure) per IMEM block

    @classmethod
    def of(cls, falcon: SimFalcon) -> Snapshot:
        blocks = []
        for i in range(falcon.imem_size // BLOCK):
            b = falcon.imem_block(i)
            blocks.append((b.tag or 0, b.loaded and b.tag is not None, b.secure))
        return cls(falcon.read_imem(0, falcon.imem_size), falcon.read_dmem(0, falcon.dmem_size), tuple(blocks))


def core_from_falcon(falcon: SimFalcon, bus: SimFalconBus, snap: Snapshot | None = None) -> FalconCore:
    """A core over a copy of ``falcon``'s memories and IMEM tags - now, or as ``snap`` holds them (the run's
    changes go back with :func:`write_back`)."""
    snap = snap or Snapshot.of(falcon)
    blocks = [Block(tag, valid, secure) for tag, valid, secure in snap.blocks]
    core = FalconCore(bytearray(snap.imem), bytearray(snap.dmem), blocks, bus, bus,
                      log=lambda level, msg: _log(falcon, level, msg))
    bus.core = core
    return core


def _log(falcon: SimFalcon, level: str, msg: str) -> None:
    getattr(falcon.gpu.log, level if level in ("info", "warning", "error") else "info")(
        "falcon-emu", f"{falcon.engine}: {msg}")


def write_back(falcon: SimFalcon, core: FalconCore, imem_before: bytes) -> None:
    """What the run changed in IMEM (code transfers) and DMEM goes back into the simulated falcon."""
    falcon.poke_dmem(0, bytes(core.dmem))
    for i, b in enumerate(core.blocks):
        lo, hi = i * BLOCK, (i + 1) * BLOCK
        if b.valid and core.imem[lo:hi] != imem_before[lo:hi]:
            falcon.poke_imem(lo, bytes(core.imem[lo:hi]), secure=b.secure, tag=b.tag * BLOCK)


class FwsecEmulator:
    """Runs FWSEC on the simulated GSP falcon (``models["secure_chain"].fwsec_emulation``)."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        #: every FWSEC start, oldest first
        self.runs: list[EmulationReport] = []
        #: instructions before a run is declared runaway
        self.budget = DEFAULT_BUDGET
        #: False: do not execute, use the oracle model (the report says so)
        self.enabled = True
        self._snapshots: dict[str, Snapshot] = {}

    def snapshot(self, falcon: SimFalcon) -> None:
        """Keep ``falcon``'s memories as the driver loaded them (called when it is started, before any check)."""
        self._snapshots[falcon.engine] = Snapshot.of(falcon)

    @property
    def last(self) -> EmulationReport | None:
        return self.runs[-1] if self.runs else None

    def start(self, falcon: SimFalcon, name: str, oracle: StartResult, *, virtual_entry: int) -> StartResult:
        """Execute the FWSEC ``falcon`` holds; its result, or ``oracle`` (the model's) when it cannot run."""
        report = self.execute(falcon, name, virtual_entry=virtual_entry)
        self.runs.append(report)
        if report.executed:
            self.gpu.log.info("falcon-emu", f"{name} executed by the falcon emulator: {report.instructions} "
                                            f"instructions, MAILBOX0 {report.mailbox0:#x}")
            return StartResult.halt(report.mailbox0, report.mailbox1,
                                    after_ns=report.instructions * NS_PER_INSTRUCTION)
        self.gpu.log.warning("falcon-emu", f"{name} not executed by the falcon emulator ({report.reason}); the oracle "
                                           f"model decides the result")
        return oracle

    def execute(self, falcon: SimFalcon, name: str, *, virtual_entry: int) -> EmulationReport:
        """Run the loaded FWSEC and report what happened (the simulated GPU keeps the run's effects)."""
        gpu = self.gpu
        if not self.enabled:
            return EmulationReport(name, False, StopInfo(StopReason.NOT_RUN, None, "the emulator is disabled"))
        if gpu.vbios_synthetic:
            return EmulationReport(name, False, StopInfo(
                StopReason.NOT_RUN, None, "the ROM is the simulator's synthetic one: its FWSEC bytes are generated, "
                                          "not NVIDIA's code"))
        bootvec = falcon.reg(F.NV_PFALCON_FALCON_BOOTVEC)
        vb = gpu.models.get("vbios")
        fw = getattr(vb, "fwsec", None)
        hs_start = bool(falcon.ga102 and fw is not None and fw.desc_version == 3)
        notes: list[str] = []
        entry = bootvec
        if not hs_start and bootvec != virtual_entry:
            chain = gpu.models.get("secure_chain")
            root = getattr(getattr(chain, "firmware", None), "root", None)
            if root is not None and (root / FW.SYNTHETIC_MANIFEST_NAME).is_file():
                entry = virtual_entry
                notes.append(f"the generic bootloader at BOOTVEC {bootvec:#x} is the simulator's synthetic one (not "
                             f"code): its payload was placed by the secure-chain model; execution starts at FWSEC's "
                             f"VirtualEntry {virtual_entry:#x}")
            else:
                notes.append(f"execution starts in the generic bootloader at BOOTVEC {bootvec:#x}")
        # the state the driver left - except where the synthetic bootloader's payload had to be placed for it
        snap = self._snapshots.pop(falcon.engine, None) if entry == bootvec else None
        return self.run_loaded(falcon, name, entry=entry, hs_start=hs_start, snapshot=snap, notes=notes)

    def run_loaded(self, falcon: SimFalcon, name: str, *, entry: int, hs_start: bool,
                   snapshot: Snapshot | None = None, notes: list[str] | None = None) -> EmulationReport:
        """Execute what ``falcon`` holds (or ``snapshot`` held) from ``entry``, in HS mode from the start when
        ``hs_start`` (the boot ROM's way), and report. The run's effects stay in the simulated GPU."""
        gpu = self.gpu
        notes = [] if notes is None else notes
        bus = SimFalconBus(gpu, falcon)
        core = core_from_falcon(falcon, bus, snapshot)
        imem_before = bytes(core.imem)
        core.pc = entry
        core.on_hs_entry = lambda pc, frm: self._hs_entry(core, pc, frm, notes)
        t0 = time.perf_counter()
        try:
            plain = b"".join(bytes(core.imem[i * BLOCK:(i + 1) * BLOCK]) for i, b in enumerate(core.blocks)
                             if b.valid and not b.secure)
            if not hs_start and looks_encrypted(plain):
                raise Stop(StopReason.ENCRYPTED, f"the {len(plain):#x} bytes of non-secure code measure "
                                                 f"{entropy(plain):.2f} bits of entropy per byte: not falcon code in "
                                                 f"the clear; not executed", entry)
            if hs_start:
                core.hs = True
                core.stats.hs_entries.append((entry, None))
                notes.append(f"started by the boot ROM in heavy-secure mode at BOOTVEC {entry:#x}; the RSA3K "
                             f"signature was not checked")
                self._hs_entry(core, entry, None, notes)
            stop = core.run(self.budget)
        except Stop as s:  # refused at the HS entry before the first instruction
            stop = StopInfo(s.reason, s.pc, s.message)
        host = time.perf_counter() - t0
        write_back(falcon, core, imem_before)
        bar = gpu.bar0
        return EmulationReport(
            name, stop.reason is StopReason.HALTED, stop, entry, hs_start, core.stats.instructions, host,
            list(core.stats.hs_entries), list(bus.log.accesses), bus.log.dropped, dict(bus.log.unknown_io),
            dict(core.unknown), falcon.reg(F.NV_PFALCON_FALCON_MAILBOX0), falcon.reg(F.NV_PFALCON_FALCON_MAILBOX1),
            bar.peek(NV_PFB_PRI_MMU_WPR2_ADDR_LO.addr()), bar.peek(NV_PFB_PRI_MMU_WPR2_ADDR_HI.addr()), notes)

    def _hs_entry(self, core: FalconCore, pc: int, from_pc: int | None, notes: list[str]) -> None:
        secure = b"".join(bytes(core.imem[i * BLOCK:(i + 1) * BLOCK]) for i, b in enumerate(core.blocks)
                          if b.valid and b.secure)
        bits = entropy(secure)
        where = f"heavy-secure entry at {pc:#x}" + ("" if from_pc is None else f" (from {from_pc:#x})")
        if looks_encrypted(secure):
            raise Stop(StopReason.ENCRYPTED,
                       f"{where}: the {len(secure):#x} bytes of secure code are stored encrypted ({bits:.2f} bits of "
                       f"entropy per byte; falcon code in the clear measures 2-6.5); {probe(core, pc)}. Decrypting "
                       f"it takes keys the simulator does not have, so NVIDIA's HS code cannot run here", pc)
        notes.append(f"{where}: entered without checking the signature")


def probe(core: FalconCore, pc: int) -> str:
    """Where plain decoding of the code at ``pc`` breaks (the evidence of a ciphertext verdict)."""
    addr = pc
    for n in range(PROBE_INSTRUCTIONS):
        try:
            insn = core.decode_at(addr)
        except Stop:
            return f"decoded as plain code, it leaves mapped IMEM after {n} instructions, at {addr:#x}"
        if not insn.valid:
            return (f"decoded as plain code, instruction {n + 1} at {addr:#x} ({insn.raw.hex()}) is not a valid "
                    f"encoding")
        addr = insn.next_addr
    return f"its first {PROBE_INSTRUCTIONS} instructions decode, but the statistics say ciphertext"
