"""nova_core.sim.models.falcon: the GSP and SEC2 falcons, as far as the driver can see them.

What each :class:`SimFalcon` models (facts: ``regs.falcon``; nova-core ``falcon.rs``; nouveau ``nvkm/falcon``):

- **Reset.** ENGINE.RESET 1 puts the engine in reset (registers back to their reset values, IMEM/DMEM
  lost); 0 releases it, after which IMEM/DMEM scrubbing runs for :attr:`SimFalcon.scrub_ns` of virtual
  time (HWCFG2.MEM_SCRUBBING and DMACTL.IMEM/DMEM_SCRUBBING read 1 meanwhile; ``None`` = never ends).
  GA102+: HWCFG2.RESET_READY reads 1 unless :attr:`SimFalcon.reset_ready_stuck`.
- **Memories.** IMEM and DMEM (HWCFG sizes) with, per 256-byte IMEM block, its tag, secure flag and
  whether it was written since reset. PIO ports (IMEMC/IMEMD/IMEMT x4, DMEMC/DMEMD x8) with
  auto-increment on write (AINCW) and read (AINCR); IMEMT tags the block IMEMC points at; IMEMC.SECURE
  marks the blocks written. DMA through FBIF: DMATRFCMD (SIZE_256B) moves 256 bytes between falcon memory at
  MOFFS and external memory at (DMATRFBASE << 8) + (DMATRFBASE1 << 40) + FBOFFS, through TRANSCFG(CTXDMA)
  (coherent/non-coherent sysmem via the simulated IOMMU, or VRAM); IMEM blocks are tagged FBOFFS >> 8 and
  secure when SEC is non-zero; IDLE reads 0 for :data:`DMA_BLOCK_NS` per 256 bytes.
- **Start.** CPUCTL.STARTCPU (or CPUCTL_ALIAS.STARTCPU when CPUCTL.ALIAS_EN, :attr:`SimFalcon.alias_en`)
  does not execute anything: it calls :attr:`SimFalcon.on_start` (``callback(falcon) -> StartResult``),
  which *checks* what was loaded and answers: halt with mailbox values (after some virtual time, with an
  optional effect), start a RISC-V core, or never halt. :mod:`nova_core.sim.falcon_check` provides the
  generic expected-ucode checker; :mod:`.secure_chain` installs the FWSEC (GSP) and booter (SEC2)
  checks on every simulated GPU.
- **Mailboxes, IRQs, RISC-V.** MAILBOX0/1 are plain registers; a halt raises IRQSTAT.HALT (IRQSSET sets,
  IRQSCLR clears bits; other models raise bits with :meth:`SimFalcon.raise_irq`); every change of IRQSTAT (or a
  reset) calls :attr:`SimFalcon.on_irq` - the interrupt tree model watches the host-routed causes there. When a
  RISC-V core starts on the GSP, its firmware routes SWGEN0 and HALT to the host (RISCV_IRQMASK and
  RISCV_IRQDEST = 0x50: a sim choice, what OpenRM's ``kgspService_TU102`` expects to see); RISC-V active status
  is RISCV_CPUCTL.ACTIVE_STAT on GA102+ and
  RISCV_CORE_SWITCH_RISCV_STATUS.ACTIVE_STAT on Turing/GA100 - and the other one reads as a PRI error.
  RISCV_BCR_CTRL latches a core select and reports VALID :data:`BCR_LATENCY_NS` later.

Refused - logged and :class:`~nova_core.errors.SimViolation` in strict mode: an engine reset while no sysmem
flush page is registered (:mod:`.fb`: the reset handshake flushes through it); a reset pulse shorter than
10 us; PIO or DMA while in reset or scrubbing; IMEM/DMEM PIO on GA102+ (the ports are masked to the CPU);
PIO outside the memory; a DMA command while the previous one is in flight, with an invalid SIZE or
aperture, virtual addressing, REQUIRE_CTX, physical addressing without FBIF_CTL.ALLOW_PHYS_NO_CTX, an
address at or above 2**49 (DMATRFBASE1 past 9 bits included), misaligned addresses, a transfer past the
end of IMEM/DMEM, MOFFS wider than the family's OFFS field (16 bits on Turing), an unmapped bus address;
a start through the wrong CPUCTL register; a start while in reset or scrubbing; loading while the falcon
runs (which also halts it with :attr:`ExitCode.WRITE_WHILE_RUNNING`, as real hardware would misbehave).
Started with nothing loaded, started twice, started with the RISC-V core selected: the falcon halts with the matching
:class:`ExitCode` in MAILBOX0 and the diagnostic is logged and kept in :attr:`SimFalcon.diagnostics`.

Sim choices (unverified against hardware): 64 KiB of IMEM and of DMEM per engine (HWCFG; enough for every
real FWSEC and booter); HWCFG1 core revision 6 (TU102 HAL) / 7 (GA102+) with the heavy-secure model;
HWCFG2.RISCV on the GSP everywhere and on SEC2 from GA102; RISCV_BCR_CTRL powers on selecting the falcon
core and is not changed by an engine reset; a fresh GPU's falcons are idle and empty. Checkers whose ucode
fills its own memories (a bootloader DMAing its payload) do so with :meth:`SimFalcon.poke_imem` and
:meth:`SimFalcon.poke_dmem`.

IMEM/DMEM are allocated on first use, so attaching the model to every ``SimGpu`` costs only the hooks
(about 0.1 ms).
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...gpu.chips import FalconHal
from ...hw.clock import US, TimerHandle
from ...regs import REGISTRY, Register
from ...regs import falcon as F
from ..regfile import PRI_ERROR

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "falcon"
ORDER = 40

BLOCK = F.FALCON_BLOCK
IMEM_BYTES = 0x10000  #: per engine; holds the largest real HS ucode (AD102 FWSEC: 61952 bytes of IMEM)
DMEM_BYTES = 0x10000
SCRUB_NS = 15 * US  #: virtual time IMEM/DMEM scrubbing takes after a reset is released
RESET_PULSE_MIN_NS = 10 * US  #: the documented ENGINE reset pulse (nova-core holds it 10 us)
DMA_BLOCK_NS = 1 * US  #: DMATRFCMD.IDLE reads 0 this long per 256 bytes moved
BCR_LATENCY_NS = 2 * US  #: RISCV_BCR_CTRL.VALID reads 0 this long after a write
RUN_NS = 50 * US  #: default time from start to halt of a checked ucode
DMA_LIMIT = 1 << F.FALCON_DMA_ADDR_BITS

_LITTLE = sys.byteorder == "little"
_SECURE = F.NV_PFALCON_FALCON_IMEMC.secure.mask
_AINCW = F.NV_PFALCON_FALCON_IMEMC.aincw.mask
_AINCR = F.NV_PFALCON_FALCON_IMEMC.aincr.mask


def _bswap(v: int) -> int:  # pragma: no cover - big-endian hosts only
    return int.from_bytes(v.to_bytes(4, "little"), sys.byteorder)


class ExitCode(enum.IntEnum):
    """MAILBOX0 values the simulated falcon halts with when it refuses (real HS ucodes have their own)."""

    OK = 0
    NO_UCODE = 0xFA1C0001  #: started with nothing loaded in IMEM
    STARTED_TWICE = 0xFA1C0002  #: started again without a reset
    WRITE_WHILE_RUNNING = 0xFA1C0003  #: IMEM/DMEM/DMA/BOOTVEC/BROM written while the ucode ran
    CORE_SELECT = 0xFA1C0004  #: falcon start while RISCV_BCR_CTRL selects the RISC-V core
    NO_CHECKER = 0xFA1C0005  #: no on_start checker: the sim cannot execute code
    UCODE_MISMATCH = 0xFA1C0010  #: an expected-ucode checker found a difference


class State(enum.Enum):
    RESET = "in reset"
    SCRUBBING = "scrubbing"
    READY = "ready"
    RUNNING = "running"
    HALTED = "halted"
    RISCV = "RISC-V running"


@dataclass(frozen=True)
class StartResult:
    """What a started falcon does, as decided by its ``on_start`` check.

    ``action``: ``"halt"`` (after ``after_ns``: MAILBOX0/1 set, ``effect`` run, CPUCTL.HALTED), ``"riscv"``
    (after ``after_ns``: this engine's RISC-V core starts, ``effect`` runs), ``"hang"`` (never halts).
    ``diagnostic``: why it failed (logged as an error when MAILBOX0 is not 0).
    """

    action: str = "halt"
    mailbox0: int = 0
    mailbox1: int | None = None
    after_ns: int = RUN_NS
    diagnostic: str | None = None
    effect: Callable[[], None] | None = None

    @classmethod
    def halt(cls, mailbox0: int = 0, mailbox1: int | None = None, *, after_ns: int = RUN_NS,
             effect: Callable[[], None] | None = None, diagnostic: str | None = None) -> StartResult:
        return cls("halt", mailbox0, mailbox1, after_ns, diagnostic, effect)

    @classmethod
    def fail(cls, code: int, diagnostic: str, *, mailbox1: int | None = None, after_ns: int = RUN_NS) -> StartResult:
        return cls("halt", code, mailbox1, after_ns, diagnostic, None)

    @classmethod
    def hang(cls, diagnostic: str | None = None) -> StartResult:
        return cls("hang", diagnostic=diagnostic)

    @classmethod
    def riscv(cls, *, after_ns: int = RUN_NS, effect: Callable[[], None] | None = None) -> StartResult:
        return cls("riscv", after_ns=after_ns, effect=effect)

    @property
    def failed(self) -> bool:
        return self.action == "halt" and self.mailbox0 != 0


StartCheck = Callable[["SimFalcon"], StartResult]


@dataclass(frozen=True)
class ImemBlock:
    """One 256-byte IMEM block as the falcon holds it."""

    index: int
    tag: int | None  #: None: never tagged since reset
    secure: bool
    loaded: bool  #: written (PIO or DMA) since reset


class SimFalcon:
    """One simulated falcon engine (see the module docstring)."""

    def __init__(self, gpu: SimGpu, engine: str, base: int) -> None:
        self.gpu = gpu
        self.bar = gpu.bar0
        self.log = gpu.log
        self.engine = engine
        self.base = base
        self.base2 = base + F.FALCON2_OFFSET
        self._irqstat_at = F.NV_PFALCON_FALCON_IRQSTAT.addr(base)
        self.ga102 = gpu.facts.falcon_hal is FalconHal.GA102
        self.family = gpu.facts.reg_family
        imemc = F.NV_PFALCON_FALCON_IMEMC.for_family(self.family)
        #: IMEMC/DMEMC BLK and OFFS form the byte address (bits 15:2 on Turing, 23:2 from GA100)
        self._addr_mask = imemc.blk.mask | imemc.offs.mask
        self._imemc_bits = imemc._DECLARED_MASK  # bits no field declares read back 0
        self._dmemc_bits = F.NV_PFALCON_FALCON_DMEMC.for_family(self.family)._DECLARED_MASK
        self._moffs_mask = F.NV_PFALCON_FALCON_DMATRFMOFFS.for_family(self.family).offs.mask
        self._hwcfg2 = F.NV_PFALCON_FALCON_HWCFG2.for_family(self.family)
        self.imem_size = IMEM_BYTES
        self.dmem_size = DMEM_BYTES
        #: the check run at start (``None``: the falcon halts with ExitCode.NO_CHECKER)
        self.on_start: StartCheck | None = None
        #: virtual time scrubbing takes after a reset; ``None``: it never finishes (fault injection)
        self.scrub_ns: int | None = SCRUB_NS
        self._reset_ready_stuck = False
        self.state = State.READY
        self.starts = 0
        self.resets = 0
        self.dma_transfers = 0
        #: every failure diagnostic, oldest first
        self.diagnostics: list[str] = []
        #: called (under the sim lock) when an engine reset stops a running RISC-V core - what ran on it is gone
        self.on_riscv_reset: list[Callable[[], None]] = []
        #: called (under the sim lock) after IRQSTAT changed or the engine was reset
        self.on_irq: list[Callable[[], None]] = []
        self.last_result: StartResult | None = None
        self._alias_en = False
        self._reset_at = 0
        self._pending: TimerHandle | None = None
        self._dma_busy: TimerHandle | None = None
        self._imem: bytearray | None = None
        self._dmem = bytearray()
        self._imem_w: memoryview | None = None
        self._dmem_w: memoryview | None = None
        self._tags: list[int | None] = []
        self._secure: list[bool] = []
        self._loaded: list[bool] = []
        self._iaddr = [0] * 4
        self._ictl = [0] * 4
        self._daddr = [0] * 8
        self._dctl = [0] * 8
        self._reset_offsets: list[tuple[int, int]] | None = None
        self._power_on()
        self._install()

    def __repr__(self) -> str:
        return f"<SimFalcon {self.engine} @ {self.base:#x} {self.state.value}>"

    # -- registers ----------------------------------------------------------------------------------

    def addr(self, reg: type[Register], i: int | None = None) -> int:
        """Absolute offset of a falcon or falcon2 register of this engine."""
        return reg.addr(self.base2 if reg.DOMAIN is F.FALCON2 else self.base, i)

    def reg(self, reg: type[Register], i: int | None = None) -> int:
        """Current value of one of this engine's registers (no cost, no hooks)."""
        return self.bar.peek(self.addr(reg, i))

    def _poke(self, reg: type[Register], value: int, i: int | None = None) -> None:
        self.bar.poke(self.addr(reg, i), value)

    def _set_field(self, reg: type[Register], name: str, value: int) -> None:
        off = self.addr(reg)
        self.bar.poke(off, reg.field(name).put(self.bar.peek(off), value))

    def has(self, reg: type[Register]) -> bool:
        """Does this chip's register family have ``reg`` (``chips=``)?"""
        return self.family in reg.FAMILIES

    def _store(self, off: int, value: int) -> None:
        self.bar.poke(off, self.bar.apply_access(off, self.bar.peek(off), value))

    @property
    def alias_en(self) -> bool:
        """CPUCTL.ALIAS_EN: starts must go through CPUCTL_ALIAS."""
        return self._alias_en

    @alias_en.setter
    def alias_en(self, on: bool) -> None:
        self._alias_en = bool(on)
        self._set_field(F.NV_PFALCON_FALCON_CPUCTL, "alias_en", int(on))

    @property
    def reset_ready_stuck(self) -> bool:
        """GA102+: HWCFG2.RESET_READY never reads 1 (hardware sometimes does this)."""
        return self._reset_ready_stuck

    @reset_ready_stuck.setter
    def reset_ready_stuck(self, on: bool) -> None:
        self._reset_ready_stuck = bool(on)
        if "reset_ready" in self._hwcfg2._BY_NAME:
            self._set_field(self._hwcfg2, "reset_ready", int(not on))

    @property
    def core_select(self) -> F.CoreSelect:
        return F.CoreSelect(F.NV_PRISCV_RISCV_BCR_CTRL.core_select.get(self.reg(F.NV_PRISCV_RISCV_BCR_CTRL)))

    def _power_on(self) -> None:
        hw = F.NV_PFALCON_FALCON_HWCFG
        self._poke(hw, hw.encode(imem_size=self.imem_size // BLOCK, dmem_size=self.dmem_size // BLOCK))
        h1 = F.NV_PFALCON_FALCON_HWCFG1
        self._poke(h1, h1.encode(core_rev=7 if self.ga102 else 6, security_model=F.FalconSecurityModel.HEAVY))
        if self.has(F.NV_PRISCV_RISCV_BCR_CTRL):
            self._poke(F.NV_PRISCV_RISCV_BCR_CTRL,
                       F.NV_PRISCV_RISCV_BCR_CTRL.encode(valid=1, core_select=F.CoreSelect.FALCON))
        self._after_reset_values()

    def _after_reset_values(self) -> None:
        h2 = self._hwcfg2
        riscv = self.engine == "GSP" or self.ga102
        extra = {"mem_scrubbing": int(self.state is State.SCRUBBING), "reset_ready": int(not self._reset_ready_stuck)}
        self._poke(h2, h2.encode(riscv=int(riscv), **{k: v for k, v in extra.items() if k in h2._BY_NAME}))
        self._poke(F.NV_PFALCON_FALCON_DMATRFCMD, F.NV_PFALCON_FALCON_DMATRFCMD.idle.mask)
        self._set_field(F.NV_PFALCON_FALCON_CPUCTL, "alias_en", int(self._alias_en))

    # -- hooks --------------------------------------------------------------------------------------

    def _install(self) -> None:
        b = self.bar
        b.on_write(self.addr(F.NV_PFALCON_FALCON_ENGINE), self._w_engine)
        b.on_write(self.addr(F.NV_PFALCON_FALCON_CPUCTL), self._w_cpuctl)
        b.on_write(self.addr(F.NV_PFALCON_FALCON_CPUCTL_ALIAS), self._w_alias)
        b.on_write(self.addr(F.NV_PFALCON_FALCON_IRQSSET), self._w_irqsset)
        b.on_write(self.addr(F.NV_PFALCON_FALCON_IRQSCLR), self._w_irqsclr)
        b.on_write(self.addr(F.NV_PFALCON_FALCON_DMATRFCMD), self._w_dmatrfcmd)
        if self.has(F.NV_PRISCV_RISCV_BCR_CTRL):
            b.on_write(self.addr(F.NV_PRISCV_RISCV_BCR_CTRL), self._w_bcr)
        for reg in (F.NV_PFALCON_FALCON_BOOTVEC, F.NV_PFALCON_FALCON_DMATRFBASE, F.NV_PFALCON_FALCON_DMATRFBASE1,
                    F.NV_PFALCON_FALCON_DMATRFMOFFS, F.NV_PFALCON_FALCON_DMATRFFBOFFS, F.NV_PFALCON2_FALCON_MOD_SEL,
                    F.NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID, F.NV_PFALCON2_FALCON_BROM_ENGIDMASK,
                    F.NV_PFALCON2_FALCON_BROM_PARAADDR):
            if not self.has(reg):
                continue  # not on this chip: the register file does not back it (PRI error)
            for i in ([None] if reg.COUNT is None else range(reg.COUNT)):
                b.on_write(self.addr(reg, i), self._guarded(reg.NAME if i is None else f"{reg.NAME}({i})"))
        for i in range(4):
            b.on_write(self.addr(F.NV_PFALCON_FALCON_IMEMC, i), self._port_ctl(i, imem=True))
            b.on_read(self.addr(F.NV_PFALCON_FALCON_IMEMC, i), self._port_ctl_read(i, imem=True))
            b.on_write(self.addr(F.NV_PFALCON_FALCON_IMEMD, i), self._imemd_write(i))
            b.on_read(self.addr(F.NV_PFALCON_FALCON_IMEMD, i), self._data_read(i, imem=True))
            b.on_write(self.addr(F.NV_PFALCON_FALCON_IMEMT, i), self._imemt_write(i))
            b.on_read(self.addr(F.NV_PFALCON_FALCON_IMEMT, i), self._imemt_read(i))
        for i in range(8):
            b.on_write(self.addr(F.NV_PFALCON_FALCON_DMEMC, i), self._port_ctl(i, imem=False))
            b.on_read(self.addr(F.NV_PFALCON_FALCON_DMEMC, i), self._port_ctl_read(i, imem=False))
            b.on_write(self.addr(F.NV_PFALCON_FALCON_DMEMD, i), self._dmemd_write(i))
            b.on_read(self.addr(F.NV_PFALCON_FALCON_DMEMD, i), self._data_read(i, imem=False))
        absent = F.NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS if self.ga102 else F.NV_PRISCV_RISCV_CPUCTL
        b.on_read(self.addr(absent), self._r_absent(absent))

    def _r_absent(self, reg: type[Register]) -> Callable[[int], int]:
        chips = "GA102 and later" if reg is F.NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS else "Turing and GA100"

        def read(off: int) -> int:
            self.log.warning("falcon", f"{self.engine}: read of {reg.NAME} ({off:#x}), which {self.gpu.chipset.name} "
                                       f"does not have (not on {chips}): returns {PRI_ERROR:#x}")
            return PRI_ERROR

        return read

    # -- refusals -----------------------------------------------------------------------------------

    def _refuse(self, msg: str) -> None:
        text = f"{self.engine}: {msg}"
        self.log.error("falcon", text)
        if self.bar.strict:
            raise SimViolation(f"simulated falcon refused: {text}")

    def _guard_load(self, what: str) -> bool:
        """May falcon memory / load registers be written now? Refuses (and returns False) otherwise."""
        st = self.state
        if st is State.RUNNING or st is State.RISCV:
            msg = f"{what} written while the falcon is {st.value}"
            if st is State.RUNNING:
                self._finish(StartResult.fail(ExitCode.WRITE_WHILE_RUNNING, f"{self.engine}: {msg}", after_ns=0))
            self._refuse(msg)
            return False
        if st is State.RESET or st is State.SCRUBBING:
            self._refuse(f"{what} written while the falcon is {st.value} (wait for the reset and scrubbing)")
            return False
        return True

    def _guarded(self, what: str) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            if self._guard_load(what):
                self._store(off, value)

        return write

    # -- reset and scrubbing ------------------------------------------------------------------------

    def _w_engine(self, off: int, value: int) -> None:
        assert_ = F.NV_PFALCON_FALCON_ENGINE.reset.is_set(value)
        now = self.gpu.clock.now()
        if assert_ and self.state is not State.RESET:
            fb = self.gpu.models.get("fb")
            problem = None if fb is None else fb.flush_page_problem()  # type: ignore[attr-defined]
            if problem is not None:
                self._refuse(f"ENGINE reset refused: {problem}; the reset handshake flushes through it "
                             f"(register the sysmem flush page before any falcon reset)")
                return
        self.bar.poke(off, value & F.NV_PFALCON_FALCON_ENGINE.reset.mask)
        if assert_:
            if self.state is not State.RESET:
                self._enter_reset(now)
            return
        if self.state is not State.RESET:
            return
        held = now - self._reset_at
        if held < RESET_PULSE_MIN_NS:
            self.bar.poke(off, 1)  # the release is not taken: the engine stays in reset
            self._refuse(f"ENGINE reset released after {held} ns; the reset pulse must last at least "
                         f"{RESET_PULSE_MIN_NS // US} us")
            return
        self.state = State.SCRUBBING
        self._scrub_flags(True)
        if self.scrub_ns is None:
            self.log.warning("falcon", f"{self.engine}: reset released; IMEM/DMEM scrubbing will never finish "
                                       "(fault injected)")
        else:
            self._pending = self.gpu.clock.call_later(self.scrub_ns, self._scrub_done)

    def _enter_reset(self, now: int) -> None:
        if self.state is State.RISCV:
            for fn in list(self.on_riscv_reset):
                fn()
        for timer in (self._pending, self._dma_busy):
            if timer is not None:
                timer.cancel()
        self._pending = self._dma_busy = None
        self.state = State.RESET
        self._reset_at = now
        self.resets += 1
        if self._reset_offsets is None:
            self._reset_offsets = self._collect_reset_offsets()
        for off, value in self._reset_offsets:
            self.bar.poke(off, value)
        self._imem = None
        for port in (self._iaddr, self._ictl, self._daddr, self._dctl):
            port[:] = [0] * len(port)
        self._after_reset_values()
        self._scrub_flags(True)  # memories are unusable until the reset is released and scrubbing ends
        self._irq_changed()

    def _collect_reset_offsets(self) -> list[tuple[int, int]]:
        keep = {F.NV_PFALCON_FALCON_HWCFG, F.NV_PFALCON_FALCON_HWCFG1, F.NV_PFALCON_FALCON_ENGINE,
                F.NV_PRISCV_RISCV_BCR_CTRL}
        out = []
        for base in REGISTRY:
            if (base.DOMAIN is not F.FALCON and base.DOMAIN is not F.FALCON2) or base in keep or not self.has(base):
                continue
            reg = base.for_family(self.family)
            for i in [None] if reg.COUNT is None else range(reg.COUNT):
                out.append((self.addr(reg, i), reg.RESET))
        return out

    def _scrub_flags(self, on: bool) -> None:
        if "mem_scrubbing" in self._hwcfg2._BY_NAME:
            self._set_field(self._hwcfg2, "mem_scrubbing", int(on))
        dmactl = F.NV_PFALCON_FALCON_DMACTL
        off = self.addr(dmactl)
        v = self.bar.peek(off)
        v = dmactl.dmem_scrubbing.put(dmactl.imem_scrubbing.put(v, int(on)), int(on))
        self.bar.poke(off, v)

    def _scrub_done(self) -> None:
        self._pending = None
        self.state = State.READY
        self._scrub_flags(False)
        self.log.debug("falcon", f"{self.engine}: IMEM/DMEM scrubbed; ready")

    def _mem(self) -> None:
        if self._imem is None:
            self._imem = bytearray(self.imem_size)
            self._dmem = bytearray(self.dmem_size)
            self._imem_w = memoryview(self._imem).cast("I")
            self._dmem_w = memoryview(self._dmem).cast("I")
            n = self.imem_size // BLOCK
            self._tags, self._secure, self._loaded = [None] * n, [False] * n, [False] * n

    # -- PIO ports ----------------------------------------------------------------------------------

    def _port_ctl(self, i: int, *, imem: bool) -> Callable[[int, int], None]:
        name = f"{'IMEMC' if imem else 'DMEMC'}({i})"
        addrs, ctls = (self._iaddr, self._ictl) if imem else (self._daddr, self._dctl)

        mask, declared = self._addr_mask, (self._imemc_bits if imem else self._dmemc_bits)

        def write(off: int, value: int) -> None:
            if self._guard_load(name):
                ctls[i] = value & declared
                addrs[i] = value & mask

        return write

    def _port_ctl_read(self, i: int, *, imem: bool) -> Callable[[int], int]:
        addrs, ctls = (self._iaddr, self._ictl) if imem else (self._daddr, self._dctl)

        mask = self._addr_mask

        def read(off: int) -> int:
            return (ctls[i] & ~mask) | (addrs[i] & mask)

        return read

    def _pio_check(self, what: str, addr: int, size: int) -> bool:
        if not self._guard_load(what):
            return False
        if self.ga102:
            self._refuse(f"{what}: PIO access to falcon memory on {self.gpu.chipset.name} (the GA102+ IMEM/DMEM "
                         f"ports are masked to the CPU; load by DMA)")
            return False
        if addr + 4 > size:
            self._refuse(f"{what}: address {addr:#x} is past the end of the {size:#x}-byte memory")
            return False
        self._mem()
        return True

    def _imemd_write(self, i: int) -> Callable[[int, int], None]:
        what = f"IMEMD({i})"

        def write(off: int, value: int) -> None:
            addr = self._iaddr[i]
            if not self._pio_check(what, addr, self.imem_size):
                return
            assert self._imem_w is not None
            self._imem_w[addr >> 2] = value if _LITTLE else _bswap(value)
            blk = addr >> 8
            ctl = self._ictl[i]
            self._loaded[blk] = True
            self._secure[blk] = bool(ctl & _SECURE)
            if ctl & _AINCW:
                self._iaddr[i] = addr + 4

        return write

    def _dmemd_write(self, i: int) -> Callable[[int, int], None]:
        what = f"DMEMD({i})"

        def write(off: int, value: int) -> None:
            addr = self._daddr[i]
            if not self._pio_check(what, addr, self.dmem_size):
                return
            assert self._dmem_w is not None
            self._dmem_w[addr >> 2] = value if _LITTLE else _bswap(value)
            if self._dctl[i] & _AINCW:
                self._daddr[i] = addr + 4

        return write

    def _data_read(self, i: int, *, imem: bool) -> Callable[[int], int]:
        addrs, ctls = (self._iaddr, self._ictl) if imem else (self._daddr, self._dctl)

        def read(off: int) -> int:
            addr = addrs[i]
            size = self.imem_size if imem else self.dmem_size
            if addr + 4 > size:
                self.log.warning("falcon", f"{self.engine}: {'IMEMD' if imem else 'DMEMD'}({i}) read at {addr:#x}, "
                                           f"past the {size:#x}-byte memory: returns {PRI_ERROR:#x}")
                return PRI_ERROR
            if ctls[i] & _AINCR:
                addrs[i] = addr + 4
            if self._imem is None:
                return 0
            words = self._imem_w if imem else self._dmem_w
            assert words is not None
            v = int(words[addr >> 2])
            return v if _LITTLE else _bswap(v)

        return read

    def _imemt_write(self, i: int) -> Callable[[int, int], None]:
        what = f"IMEMT({i})"

        def write(off: int, value: int) -> None:
            addr = self._iaddr[i]
            if not self._pio_check(what, addr, self.imem_size):
                return
            self._tags[addr >> 8] = value & 0xFFFF

        return write

    def _imemt_read(self, i: int) -> Callable[[int], int]:
        def read(off: int) -> int:
            addr = self._iaddr[i]
            if self._imem is None or addr >= self.imem_size:
                return 0
            tag = self._tags[addr >> 8]
            return 0 if tag is None else tag

        return read

    # -- DMA ----------------------------------------------------------------------------------------

    def _w_dmatrfcmd(self, off: int, value: int) -> None:
        cmd = F.NV_PFALCON_FALCON_DMATRFCMD
        if not self._guard_load("DMATRFCMD"):
            return
        if self._dma_busy is not None:
            self._refuse(f"DMATRFCMD {value:#x} written while the previous transfer is in flight (IDLE=0)")
            return
        size_code = cmd.size.get(value)
        if size_code != F.DmaTrfSize.SIZE_256B:
            self._refuse(f"DMATRFCMD {value:#x}: SIZE {size_code} is not SIZE_256B (6), the only transfer size the "
                         f"headers define and NVIDIA's drivers use")
            return
        n = BLOCK
        imem = cmd.imem.is_set(value)
        to_ext = cmd.write_.is_set(value)
        ctx = cmd.ctxdma.get(value)
        mem_name = "IMEM" if imem else "DMEM"
        what = f"DMA {'from' if to_ext else 'to'} {mem_name} (DMATRFCMD {value:#x})"
        transcfg = self.reg(F.NV_PFALCON_FBIF_TRANSCFG, ctx)
        target = F.NV_PFALCON_FBIF_TRANSCFG.target.get(transcfg)
        physical = F.NV_PFALCON_FBIF_TRANSCFG.mem_type.get(transcfg) == F.FbifMemType.PHYSICAL
        if F.NV_PFALCON_FALCON_DMACTL.require_ctx.is_set(self.reg(F.NV_PFALCON_FALCON_DMACTL)):
            return self._refuse(f"{what}: DMACTL.REQUIRE_CTX is set but no DMA context is bound (write DMACTL = 0)")
        if not physical:
            return self._refuse(f"{what}: TRANSCFG({ctx}) {transcfg:#x} asks for virtual addressing; no instance "
                                f"block is bound (use MEM_TYPE=PHYSICAL)")
        if not F.NV_PFALCON_FBIF_CTL.allow_phys_no_ctx.is_set(self.reg(F.NV_PFALCON_FBIF_CTL)):
            return self._refuse(f"{what}: physical DMA without a context needs FBIF_CTL.ALLOW_PHYS_NO_CTX")
        base1 = self.reg(F.NV_PFALCON_FALCON_DMATRFBASE1)
        if base1 >> 9:
            return self._refuse(f"{what}: DMATRFBASE1 {base1:#x} has bits above 8:0 (address above 49 bits)")
        fboffs = self.reg(F.NV_PFALCON_FALCON_DMATRFFBOFFS)
        ext = (self.reg(F.NV_PFALCON_FALCON_DMATRFBASE) << 8) + (base1 << 40) + fboffs
        if ext + n > DMA_LIMIT:
            return self._refuse(f"{what}: external address {ext:#x} + {n:#x} reaches past the 49-bit DMA limit")
        if ext % n:
            return self._refuse(f"{what}: external address {ext:#x} is not aligned to the {n}-byte transfer")
        moffs = self.reg(F.NV_PFALCON_FALCON_DMATRFMOFFS)
        if moffs & ~self._moffs_mask:
            return self._refuse(f"{what}: DMATRFMOFFS {moffs:#x} does not fit the OFFS field of {self.family} "
                                f"({self._moffs_mask:#x})")
        size = self.imem_size if imem else self.dmem_size
        if moffs % n:
            return self._refuse(f"{what}: DMATRFMOFFS {moffs:#x} is not aligned to the {n}-byte transfer")
        if moffs + n > size:
            return self._refuse(f"{what}: [{moffs:#x}, {moffs + n:#x}) is past the end of the {size:#x}-byte "
                                f"{mem_name}")
        try:
            if target in (F.FbifTarget.COHERENT_SYSMEM, F.FbifTarget.NONCOHERENT_SYSMEM):
                ext_view = self.gpu.sysmem.view(ext, n, who=f"{self.engine} falcon DMA", write=to_ext)
                data = bytes(ext_view)
            elif target == F.FbifTarget.LOCAL_FB:
                ext_view = None
                data = self.gpu.vram.read(ext, n)
            else:
                return self._refuse(f"{what}: TRANSCFG({ctx}) target {target} is not an aperture (0 VRAM, 1/2 sysmem)")
        except SimViolation as e:
            return self._refuse(f"{what}: {e}")
        self._mem()
        assert self._imem is not None
        mem = self._imem if imem else self._dmem
        if to_ext:
            out = bytes(mem[moffs:moffs + n])
            if ext_view is not None:
                ext_view[:] = out
            else:
                self.gpu.vram.write(ext, out)
        else:
            mem[moffs:moffs + n] = data
            if imem:
                secure = cmd.sec.get(value) != 0
                for blk in range(moffs >> 8, ((moffs + n - 1) >> 8) + 1):
                    self._tags[blk] = (fboffs >> 8) & 0xFFFF
                    self._secure[blk] = secure
                    self._loaded[blk] = True
        self.dma_transfers += 1
        self.bar.poke(off, value & ~F.NV_PFALCON_FALCON_DMATRFCMD.idle.mask & ~cmd.full.mask)
        self._dma_busy = self.gpu.clock.call_later(DMA_BLOCK_NS * -(-n // BLOCK), self._dma_done)

    def _dma_done(self) -> None:
        self._dma_busy = None
        self._set_field(F.NV_PFALCON_FALCON_DMATRFCMD, "idle", 1)

    # -- core select --------------------------------------------------------------------------------

    def _w_bcr(self, off: int, value: int) -> None:
        if self.state is State.RUNNING and not self._guard_load("RISCV_BCR_CTRL"):
            return
        if not self.ga102:
            self._store(off, value)
            return
        bcr = F.NV_PRISCV_RISCV_BCR_CTRL
        self.bar.poke(off, bcr.valid.put(value, 0))

        def latch() -> None:
            self.bar.poke(off, bcr.valid.put(self.bar.peek(off), 1))

        self.gpu.clock.call_later(BCR_LATENCY_NS, latch)

    # -- interrupts ---------------------------------------------------------------------------------

    def _w_irqsset(self, off: int, value: int) -> None:
        self.raise_irq(value)

    def _w_irqsclr(self, off: int, value: int) -> None:
        stored = self.bar.stored  # a write hook: the BAR's lock is held; IRQSTAT is a declared (stored) register
        stored[self._irqstat_at] &= ~value
        for fn in tuple(self.on_irq):  # _irq_changed
            fn()

    def raise_irq(self, bits: int) -> None:
        """Set ``bits`` in IRQSTAT (what the engine's firmware or hardware does: SWGEN0 from GSP-RM)."""
        lock = self.bar.lock
        lock.acquire()
        try:
            self.bar.stored[self._irqstat_at] |= bits  # IRQSTAT is a declared (stored) register
            for fn in tuple(self.on_irq):  # _irq_changed
                fn()
        finally:
            lock.release()

    def _irq_changed(self) -> None:
        for fn in tuple(self.on_irq):
            fn()

    # -- start and halt -----------------------------------------------------------------------------

    def _w_cpuctl(self, off: int, value: int) -> None:
        if not F.NV_PFALCON_FALCON_CPUCTL.startcpu.is_set(value):
            return
        if self._alias_en:
            self._refuse("CPUCTL.STARTCPU written while CPUCTL.ALIAS_EN is set (the falcon ignores it; start "
                         "through CPUCTL_ALIAS)")
            return
        self._start("CPUCTL")

    def _w_alias(self, off: int, value: int) -> None:
        if not F.NV_PFALCON_FALCON_CPUCTL_ALIAS.startcpu.is_set(value):
            return
        if not self._alias_en:
            self._refuse("CPUCTL_ALIAS.STARTCPU written while CPUCTL.ALIAS_EN is clear (start through CPUCTL)")
            return
        self._start("CPUCTL_ALIAS")

    def _start(self, via: str) -> None:
        st = self.state
        if st is State.RESET or st is State.SCRUBBING:
            self._refuse(f"started through {via} while {st.value}")
            return
        self.starts += 1
        if st is not State.READY:
            result = StartResult.fail(ExitCode.STARTED_TWICE, f"{self.engine}: started through {via} while "
                                      f"{st.value}; a falcon runs one ucode per reset", after_ns=0)
        elif self._imem is None or not any(self._loaded):
            result = StartResult.fail(ExitCode.NO_UCODE, f"{self.engine}: started with nothing loaded in IMEM",
                                      after_ns=0)
        elif self.ga102 and self.core_select is F.CoreSelect.RISCV:
            result = StartResult.fail(ExitCode.CORE_SELECT, f"{self.engine}: falcon started through {via} while "
                                      f"RISCV_BCR_CTRL selects the RISC-V core", after_ns=0)
        elif self.on_start is None:
            result = StartResult.fail(ExitCode.NO_CHECKER, f"{self.engine}: started, but no ucode check is installed "
                                      f"(the simulated falcon checks loads instead of executing them; set on_start)")
        else:
            result = self.on_start(self)
        if self._pending is not None:
            self._pending.cancel()
        self.state = State.RUNNING
        self._set_field(F.NV_PFALCON_FALCON_CPUCTL, "halted", 0)
        self.last_result = result
        self.log.info("falcon", f"{self.engine}: started through {via} at BOOTVEC "
                                f"{self.reg(F.NV_PFALCON_FALCON_BOOTVEC):#x}")
        if result.action == "hang":
            self._pending = None
            self.log.warning("falcon", f"{self.engine}: the ucode never halts"
                                       + (f" ({result.diagnostic})" if result.diagnostic else ""))
            return
        self._pending = self.gpu.clock.call_later(max(result.after_ns, 0), lambda: self._finish(result))

    def _finish(self, result: StartResult) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.last_result = result
        if result.action == "riscv":
            self.start_riscv()
            if result.effect is not None:
                result.effect()
            return
        self._poke(F.NV_PFALCON_FALCON_MAILBOX0, result.mailbox0 & 0xFFFFFFFF)
        if result.mailbox1 is not None:
            self._poke(F.NV_PFALCON_FALCON_MAILBOX1, result.mailbox1 & 0xFFFFFFFF)
        if result.failed:
            diag = result.diagnostic or f"{self.engine}: halted with MAILBOX0 {result.mailbox0:#x}"
            self.diagnostics.append(diag)
            self.log.error("falcon", diag)
        else:
            self.log.info("falcon", f"{self.engine}: halted, MAILBOX0 {result.mailbox0:#x}")
            if result.effect is not None:
                result.effect()
        self.state = State.HALTED
        self._set_field(F.NV_PFALCON_FALCON_CPUCTL, "halted", 1)
        self.raise_irq(F.IRQ_HALT)

    def internal_reset(self) -> None:
        """A reset the chip's security processor performs (the FSP before it starts the GSP-FMC): the engine is reset
        and scrubbed at once, with no CPU register access."""
        self._enter_reset(self.gpu.clock.now())
        self._scrub_done()

    def halt_riscv(self) -> None:
        """This engine's RISC-V core halts (GSP-RM and the GSP-FMC shut down after an unload)."""
        self.state = State.HALTED
        if self.ga102:
            self._set_field(F.NV_PRISCV_RISCV_CPUCTL, "active_stat", 0)
            self._set_field(F.NV_PRISCV_RISCV_CPUCTL, "halted", 1)
        else:
            self._set_field(F.NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS, "active_stat", 0)
        self.log.info("falcon", f"{self.engine}: RISC-V core halted")

    def start_riscv(self) -> None:
        """This engine's RISC-V core starts (the booter hands the GSP over to GSP-RM)."""
        self.state = State.RISCV
        if self.engine == "GSP":  # GSP-RM routes its message doorbell and CrashCat halts to the host
            mask = F.NV_PRISCV_RISCV_IRQMASK.for_family(self.family)
            dest = F.NV_PRISCV_RISCV_IRQDEST.for_family(self.family)
            self._poke(mask, F.IRQ_SWGEN0 | F.IRQ_HALT)
            self._poke(dest, F.IRQ_SWGEN0 | F.IRQ_HALT)
            self._irq_changed()
        if self.ga102:
            self._set_field(F.NV_PRISCV_RISCV_CPUCTL, "halted", 0)
            self._set_field(F.NV_PRISCV_RISCV_CPUCTL, "active_stat", 1)
        else:
            self._set_field(F.NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS, "active_stat", 1)
        self.log.info("falcon", f"{self.engine}: RISC-V core active")

    # -- what a running ucode does to its own memories (for checkers' effects) ----------------------

    def poke_imem(self, addr: int, data: bytes, *, secure: bool, tag: int) -> None:
        """The ucode itself fills IMEM (a bootloader DMAing its payload): ``data`` at ``addr``, blocks tagged
        from ``tag`` (virtual address) on, no BAR access and no refusal."""
        if addr < 0 or addr % BLOCK or tag % BLOCK or addr + len(data) > self.imem_size:
            raise SimViolation(f"{self.engine}: poke_imem [{addr:#x}, +{len(data):#x}) tag {tag:#x} does not fit "
                               f"the {self.imem_size:#x}-byte IMEM on block boundaries")
        self._mem()
        assert self._imem is not None
        self._imem[addr:addr + len(data)] = data
        for n in range(-(-len(data) // BLOCK)):
            blk = (addr >> 8) + n
            self._tags[blk], self._secure[blk], self._loaded[blk] = ((tag >> 8) + n) & 0xFFFF, secure, True

    def poke_dmem(self, addr: int, data: bytes) -> None:
        """The ucode itself writes DMEM (results, a bootloader's payload data)."""
        if addr < 0 or addr + len(data) > self.dmem_size:
            raise SimViolation(f"{self.engine}: poke_dmem [{addr:#x}, +{len(data):#x}) is outside the "
                               f"{self.dmem_size:#x}-byte DMEM")
        self._mem()
        self._dmem[addr:addr + len(data)] = data

    # -- what checkers look at ----------------------------------------------------------------------

    def imem_block(self, index: int) -> ImemBlock:
        if not 0 <= index < self.imem_size // BLOCK:
            raise SimViolation(f"{self.engine}: IMEM block {index:#x} does not exist")
        if self._imem is None:
            return ImemBlock(index, None, False, False)
        return ImemBlock(index, self._tags[index], self._secure[index], self._loaded[index])

    def read_imem(self, addr: int, length: int) -> bytes:
        return self._read(addr, length, imem=True)

    def read_dmem(self, addr: int, length: int) -> bytes:
        return self._read(addr, length, imem=False)

    def _read(self, addr: int, length: int, *, imem: bool) -> bytes:
        size = self.imem_size if imem else self.dmem_size
        if addr < 0 or length < 0 or addr + length > size:
            raise SimViolation(f"{self.engine}: [{addr:#x}, {addr + length:#x}) is outside the {size:#x}-byte "
                               f"{'IMEM' if imem else 'DMEM'}")
        if self._imem is None:
            return bytes(length)
        return bytes((self._imem if imem else self._dmem)[addr:addr + length])


class SimFalcons:
    """The GSP and SEC2 falcons of a simulated GPU (``gpu.models["falcon"]``)."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gsp = SimFalcon(gpu, "GSP", F.GSP_FALCON_BASE)
        self.sec2 = SimFalcon(gpu, "SEC2", F.SEC2_FALCON_BASE)

    def __getitem__(self, engine: str) -> SimFalcon:
        key = engine.upper()
        if key == "GSP":
            return self.gsp
        if key == "SEC2":
            return self.sec2
        raise KeyError(f"no simulated falcon {engine!r}; there are GSP and SEC2")

    def __iter__(self) -> Iterator[SimFalcon]:
        return iter((self.gsp, self.sec2))


def attach(gpu: SimGpu) -> SimFalcons:
    return SimFalcons(gpu)
