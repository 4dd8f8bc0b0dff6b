"""nova_core.sim.falcon_emu.bus: what an emulated falcon of the simulated GPU reaches - its I/O space, BAR0, memory.

:class:`SimFalconBus` connects a :class:`~.core.FalconCore` to a :class:`~nova_core.sim.models.falcon.SimFalcon`
of a :class:`~nova_core.sim.SimGpu`:

- **I/O space** (``iord``/``iowr``): address ``X`` is the engine register at host offset ``X >> 6``
  (:data:`~nova_core.regs.falcon.FALCON_IO_INDEX_SHIFT`; bits 7:2 are an index the plain registers
  ignore). Registers :mod:`nova_core.regs` declares are the simulated GPU's own storage (the falcon's view:
  no host-side hooks, so its own writes are not "host writes while running"); IRQSSET/IRQSCLR set and clear
  IRQSTAT; DMATRFCMD starts a transfer; the BAR0 master (:class:`~nova_core.regs.falcon.NV_PFALCON_BAR0_CSR`)
  does its access at once and reads back idle. Any other I/O address is an unknown falcon register: it keeps
  what the falcon writes there (reads 0 before), and each one is logged once and listed in the report.
- **BAR0 through the PRI interface**: the BAR0 master's accesses go to the simulated GPU's register file
  (hooks, windows, PROM). An unmodelled register reads as the register file's PRI error value and a write to
  one is dropped; both are logged and listed (a real GPU has registers the simulator does not model). WPR2's
  address registers are written only by heavy-secure code: from HS mode the write lands, from non-secure
  code it is refused with status FAULT.
- **Transfers** (``xcld``/``xdld``/``xdst``, DMATRFCMD) go through FBIF context ``port``
  (TRANSCFG: physical VRAM or system memory through the simulated IOMMU; FBIF_CTL.ALLOW_PHYS_NO_CTX needed),
  with the same refusals as host-initiated falcon DMA; each refusal is a :attr:`~.stop.StopReason.DMA_FAULT`.

Sim choices: the falcon's own accesses cost no virtual time except BAR0 master accesses (a PRI round trip,
charged by the register file); an unknown falcon register is storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import SimViolation
from ...regs import REGISTRY
from ...regs import falcon as F
from ...regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO
from ..regfile import PRI_ERROR
from .stop import Stop, StopReason

if TYPE_CHECKING:
    from ..gpu import SimGpu
    from ..models.falcon import SimFalcon
    from .core import FalconCore

_IO_SPAN = 0x2000  #: host offsets the I/O space reaches: the falcon block and the falcon2 block above it
MAX_LOGGED = 100_000  #: accesses kept per run (a polling loop would fill memory otherwise)
_HS_ONLY = (NV_PFB_PRI_MMU_WPR2_ADDR_LO.addr(), NV_PFB_PRI_MMU_WPR2_ADDR_HI.addr())


@dataclass
class Access:
    """One register access the emulated falcon made."""

    space: str  #: "io" (its own I/O space) or "bar0" (through the BAR0 master)
    addr: int  #: the I/O address, or the BAR0 offset
    value: int
    write: bool
    pc: int
    name: str | None  #: the register, where :mod:`nova_core.regs` names it
    modelled: bool = True
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"space": self.space, "addr": self.addr, "value": self.value, "write": self.write, "pc": self.pc,
                "register": self.name, "modelled": self.modelled, "note": self.note}


@dataclass
class BusLog:
    """The accesses of a run (the first :data:`MAX_LOGGED`; ``dropped`` counts the rest)."""

    accesses: list[Access] = field(default_factory=list)
    unknown_io: dict[int, str] = field(default_factory=dict)  #: host offset -> first note
    dropped: int = 0

    def add(self, access: Access) -> None:
        if len(self.accesses) < MAX_LOGGED:
            self.accesses.append(access)
        else:
            self.dropped += 1

    @property
    def writes(self) -> list[Access]:
        return [a for a in self.accesses if a.write]


def register_name(offset: int) -> str | None:
    loc = REGISTRY.lookup(offset)
    return loc.label if loc else None


class SimFalconBus:
    """The I/O space, BAR0 master and transfer port of one emulated falcon (see the module docstring)."""

    def __init__(self, gpu: SimGpu, falcon: SimFalcon) -> None:
        self.gpu = gpu
        self.falcon = falcon
        self.bar = gpu.bar0
        self.base = falcon.base
        self.log = BusLog()
        self.core: FalconCore | None = None  #: set by the runner (HS mode decides WPR2 writes)
        self._local: dict[int, int] = {}
        self._csr = self.base + F.NV_PFALCON_BAR0_CSR.addr(0)
        self._special = {
            F.NV_PFALCON_BAR0_CSR.addr(0): (self._csr_read, self._csr_write),
            F.NV_PFALCON_FALCON_IRQSSET.addr(0): (None, self._irq_set),
            F.NV_PFALCON_FALCON_IRQSCLR.addr(0): (None, self._irq_clr),
            F.NV_PFALCON_FALCON_DMATRFCMD.addr(0): (None, self._dmatrfcmd),
        }

    # -- the I/O space ------------------------------------------------------------------------------

    def _host(self, addr: int, pc: int) -> int | None:
        off = (addr & 0xFFFFFFFF) >> F.FALCON_IO_INDEX_SHIFT
        return off if off < _IO_SPAN else None

    def io_read(self, addr: int, pc: int) -> int:
        off = self._host(addr, pc)
        if off is None:
            return self._unknown(addr, None, 0, pc, write=False)
        special = self._special.get(off)
        if special is not None and special[0] is not None:
            value = special[0]()
        elif self.bar.is_modelled(self.base + off) and REGISTRY.lookup(self.base + off) is not None:
            value = self.bar.peek(self.base + off)
        else:
            return self._unknown(addr, off, 0, pc, write=False)
        self.log.add(Access("io", addr, value, False, pc, register_name(self.base + off)))
        return value

    def io_write(self, addr: int, value: int, pc: int) -> None:
        off = self._host(addr, pc)
        value &= 0xFFFFFFFF
        if off is None:
            self._unknown(addr, None, value, pc, write=True)
            return
        special = self._special.get(off)
        self.log.add(Access("io", addr, value, True, pc, register_name(self.base + off),
                                        modelled=special is not None or REGISTRY.lookup(self.base + off) is not None))
        if special is not None and special[1] is not None:
            special[1](off, value, pc)
        elif REGISTRY.lookup(self.base + off) is not None:
            at = self.base + off
            self.bar.poke(at, self.bar.apply_access(at, self.bar.peek(at), value))
        else:
            self._local[off] = value
            self._note_unknown(off, addr, pc, write=True)

    def _unknown(self, addr: int, off: int | None, value: int, pc: int, *, write: bool) -> int:
        if off is None:
            note = f"I/O address {addr:#x} is past the falcon's register blocks"
            self.log.unknown_io.setdefault(addr, note)
            self.log.add(Access("io", addr, value, write, pc, None, modelled=False, note=note))
            return 0
        got = value if write else self._local.get(off, 0)
        if write:
            self._local[off] = value
        self._note_unknown(off, addr, pc, write=write)
        self.log.add(Access("io", addr, got, write, pc, None, modelled=False))
        return got

    def _note_unknown(self, off: int, addr: int, pc: int, *, write: bool) -> None:
        if off not in self.log.unknown_io:
            how = "written" if write else "read"
            note = (f"{self.falcon.engine} falcon register {off:#x} (I/O {addr:#x}, first {how} at {pc:#x}) is not "
                    f"modelled: kept as storage")
            self.log.unknown_io[off] = note
            self.gpu.log.warning("falcon-emu", note)

    def _irq_set(self, off: int, value: int, pc: int) -> None:
        stat = self.falcon.addr(F.NV_PFALCON_FALCON_IRQSTAT)
        self.bar.poke(stat, self.bar.peek(stat) | value)

    def _irq_clr(self, off: int, value: int, pc: int) -> None:
        stat = self.falcon.addr(F.NV_PFALCON_FALCON_IRQSTAT)
        self.bar.poke(stat, self.bar.peek(stat) & ~value)

    # -- the BAR0 master --------------------------------------------------------------------------

    def _csr_read(self) -> int:
        return self.bar.peek(self._csr)

    def _csr_write(self, off: int, value: int, pc: int) -> None:
        csr = F.NV_PFALCON_BAR0_CSR
        self.bar.poke(self._csr, csr.status.put(value & ~csr.trigger.mask, F.Bar0Status.IDLE))
        if not csr.trigger.is_set(value):
            return
        addr = self.bar.peek(self.falcon.addr(F.NV_PFALCON_BAR0_ADDR))
        data_at = self.falcon.addr(F.NV_PFALCON_BAR0_DATA)
        cmd = csr.cmd.get(value)
        status = F.Bar0Status.IDLE
        if cmd == F.Bar0Cmd.READ:
            status = self._pri_read(addr, data_at, pc)
        elif cmd == F.Bar0Cmd.WRITE:
            status = self._pri_write(addr, self.bar.peek(data_at), pc)
        else:
            status = F.Bar0Status.FAULT
            self.gpu.log.warning("falcon-emu", f"{self.falcon.engine}: BAR0 master command {cmd} (CSR {value:#x}) at "
                                               f"{pc:#x} is neither read (1) nor write (2)")
        self.bar.poke(self._csr, csr.status.put(self.bar.peek(self._csr), status))

    def _pri_read(self, addr: int, data_at: int, pc: int) -> F.Bar0Status:
        if addr % 4 or addr >= self.bar.size:
            self.log.add(Access("bar0", addr, 0, False, pc, None, modelled=False,
                                            note="unaligned or outside BAR0: FAULT"))
            return F.Bar0Status.FAULT
        modelled = self.bar.is_modelled(addr)
        try:
            value = self.bar.read32(addr)
        except SimViolation as e:
            self.log.add(Access("bar0", addr, 0, False, pc, register_name(addr), False, str(e)))
            return F.Bar0Status.FAULT
        self.bar.poke(data_at, value)
        self.log.add(Access("bar0", addr, value, False, pc, register_name(addr), modelled,
                                        None if modelled else f"not modelled: reads {PRI_ERROR:#x}"))
        return F.Bar0Status.IDLE

    def _pri_write(self, addr: int, value: int, pc: int) -> F.Bar0Status:
        name = register_name(addr)
        if addr % 4 or addr >= self.bar.size:
            self.log.add(Access("bar0", addr, value, True, pc, name, False, "outside BAR0: FAULT"))
            return F.Bar0Status.FAULT
        if addr in _HS_ONLY:
            if self.core is not None and self.core.hs:
                self.bar.poke(addr, value)
                self.gpu.log.info("falcon-emu", f"{self.falcon.engine} (HS) wrote {name} = {value:#010x}")
                self.log.add(Access("bar0", addr, value, True, pc, name))
                return F.Bar0Status.IDLE
            note = "priv-level protected: only heavy-secure code may write it"
            self.gpu.log.error("falcon-emu", f"{self.falcon.engine} (non-secure) write of {value:#x} to {name}: {note}")
            self.log.add(Access("bar0", addr, value, True, pc, name, True, note + ": FAULT"))
            return F.Bar0Status.FAULT
        if not self.bar.is_modelled(addr):
            note = "not modelled by the simulated GPU: dropped"
            self.gpu.log.warning("falcon-emu", f"{self.falcon.engine} BAR0 write of {value:#x} to {addr:#08x} at "
                                               f"{pc:#x}: {note}")
            self.log.add(Access("bar0", addr, value, True, pc, name, False, note))
            return F.Bar0Status.IDLE
        try:
            self.bar.write32(addr, value)
        except SimViolation as e:
            self.log.add(Access("bar0", addr, value, True, pc, name, True, f"refused: {e}"))
            return F.Bar0Status.FAULT
        self.log.add(Access("bar0", addr, value, True, pc, name))
        return F.Bar0Status.IDLE

    # -- transfers ----------------------------------------------------------------------------------

    def _target(self, port: int, what: str, pc: int) -> str:
        fal = self.falcon
        transcfg = fal.reg(F.NV_PFALCON_FBIF_TRANSCFG, port)
        target = F.NV_PFALCON_FBIF_TRANSCFG.target.get(transcfg)
        if F.NV_PFALCON_FBIF_TRANSCFG.mem_type.get(transcfg) != F.FbifMemType.PHYSICAL:
            raise Stop(StopReason.DMA_FAULT, f"{what}: FBIF context {port} (TRANSCFG {transcfg:#x}) asks for virtual "
                                             f"addressing; no instance block is bound", pc)
        if not F.NV_PFALCON_FBIF_CTL.allow_phys_no_ctx.is_set(fal.reg(F.NV_PFALCON_FBIF_CTL)):
            raise Stop(StopReason.DMA_FAULT, f"{what}: physical access without a context needs "
                                             f"FBIF_CTL.ALLOW_PHYS_NO_CTX", pc)
        if target == F.FbifTarget.LOCAL_FB:
            return "vram"
        if target in (F.FbifTarget.COHERENT_SYSMEM, F.FbifTarget.NONCOHERENT_SYSMEM):
            return "sysmem"
        raise Stop(StopReason.DMA_FAULT, f"{what}: FBIF context {port} target {target} is not an aperture", pc)

    def _check(self, ext: int, n: int, what: str, pc: int) -> None:
        if ext + n > 1 << F.FALCON_DMA_ADDR_BITS or ext % min(n, 256):
            raise Stop(StopReason.DMA_FAULT, f"{what}: external address {ext:#x} (+{n:#x}) is misaligned or past the "
                                             f"{F.FALCON_DMA_ADDR_BITS}-bit DMA limit", pc)

    def xfer_read(self, port: int, ext: int, n: int, pc: int) -> bytes:
        what = f"{self.falcon.engine} falcon transfer in from {ext:#x} (+{n:#x}, context {port})"
        self._check(ext, n, what, pc)
        where = self._target(port, what, pc)
        try:
            if where == "vram":
                return self.gpu.vram.read(ext, n)
            return self.gpu.sysmem.read(ext, n, who=f"emulated {self.falcon.engine} falcon")
        except SimViolation as e:
            raise Stop(StopReason.DMA_FAULT, f"{what}: {e}", pc) from None

    def xfer_write(self, port: int, ext: int, data: bytes, pc: int) -> None:
        what = f"{self.falcon.engine} falcon transfer out to {ext:#x} (+{len(data):#x}, context {port})"
        self._check(ext, len(data), what, pc)
        where = self._target(port, what, pc)
        try:
            if where == "vram":
                self.gpu.vram.write(ext, data)
            else:
                self.gpu.sysmem.write(ext, data, who=f"emulated {self.falcon.engine} falcon")
        except SimViolation as e:
            raise Stop(StopReason.DMA_FAULT, f"{what}: {e}", pc) from None

    def _dmatrfcmd(self, off: int, value: int, pc: int) -> None:
        """A transfer started through the DMATRF* registers (the host-visible DMA engine, from inside)."""
        core = self.core
        cmd = F.NV_PFALCON_FALCON_DMATRFCMD
        fal = self.falcon
        size_code = cmd.size.get(value)
        if size_code > F.DmaTrfSize.SIZE_256B:  # 4 << SIZE bytes, 256 the largest
            raise Stop(StopReason.DMA_FAULT, f"DMATRFCMD {value:#x}: SIZE {size_code} is not a transfer size", pc)
        n = 4 << size_code
        fboffs = fal.reg(F.NV_PFALCON_FALCON_DMATRFFBOFFS)
        ext = (fal.reg(F.NV_PFALCON_FALCON_DMATRFBASE) << 8) + (fal.reg(F.NV_PFALCON_FALCON_DMATRFBASE1) << 40) + fboffs
        moffs = fal.reg(F.NV_PFALCON_FALCON_DMATRFMOFFS)
        port = cmd.ctxdma.get(value)
        if core is None:  # pragma: no cover - the runner always sets it
            raise Stop(StopReason.DMA_FAULT, "DMATRFCMD without a core", pc)
        if cmd.imem.is_set(value):
            if cmd.write_.is_set(value) or moffs % 256 or n != 256 or moffs + 256 > len(core.imem):
                raise Stop(StopReason.DMA_FAULT, f"DMATRFCMD {value:#x}: an IMEM transfer is a 256-byte load to a "
                                                 f"block inside IMEM (MOFFS {moffs:#x})", pc)
            data = self.xfer_read(port, ext, n, pc)
            core.load_code_block(moffs >> 8, data, (fboffs >> 8) & 0xFFFF, cmd.sec.get(value) != 0)
            return
        if moffs % n or moffs + n > len(core.dmem):
            raise Stop(StopReason.DMA_FAULT, f"DMATRFCMD {value:#x}: DMEM [{moffs:#x}, +{n:#x}) is misaligned or past "
                                             f"the {len(core.dmem):#x}-byte DMEM", pc)
        if cmd.write_.is_set(value):
            self.xfer_write(port, ext, bytes(core.dmem[moffs:moffs + n]), pc)
        else:
            core.dmem[moffs:moffs + n] = self.xfer_read(port, ext, n, pc)
