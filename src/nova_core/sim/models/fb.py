"""nova_core.sim.models.fb: the framebuffer's gatekeeping: the sysmem flush page, and protected and reserved VRAM.

**Sysmem flush page.** ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR`` (address bits 39:8) and, from GA100 on,
``NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI`` (bits 63:40) - from Hopper on the FB hub's PCIE flush registers (GH100 FBHUB,
GB100/GB102 HSHUB0 with its egress pair, GB20x FBHUB0: bits 31:0 and 51:32; ``regs/pfb.py``) - name the
system-memory page a sysmembar reads; a falcon's reset
handshake flushes through it, so the page must be registered, and stay mapped, before any falcon is reset
(nova-core ``fb.rs`` ``SysmemFlush``: "It is required for falcons to be reset"; OpenRM
``kmemsysInitFlushSysmemBuffer_GM107``: "The actual memory does have to be valid and allocated at all times").
:meth:`FbModel.flush_page_problem` says why a reset cannot be done now (the registers hold 0, or the page is not
mapped by the IOMMU, or - GB100/GB102 - the egress pair names another page than the primary pair: OpenRM programs
both, bug 4503681); the falcon model refuses the engine reset then. A write to a flush-page register of another
chip generation is refused: ``_HI`` on Turing, the NISO registers from Hopper on (OpenRM and nova-core program the
hub's registers there; the published GH100 ``dev_fb.h`` has no NISO flush register), the hub registers before.

**Protected VRAM.** WPR2 (``NV_PFB_PRI_MMU_WPR2_ADDR_LO``/``_HI`` as the secure ucodes set them) and the FB regions
GSP-RM reports protected (:meth:`FbModel.set_gsp_regions`). CPU accesses into them through PRAMIN and BAR2 are
blocked as the hardware blocks them: a write is dropped, a read returns :data:`BLOCKED_READ`; each is logged (an
error) and recorded in :attr:`FbModel.blocked`, the sim's fault log.

**Reserved VRAM.** The regions GSP-RM reports reserved are its own: the hardware lets the CPU write there (nouveau
writes GSP-RM's BAR1 page directory), so nothing is blocked, but :meth:`FbModel.ownership_problem` names them for
GSP-RM's checks (a page table the driver hands over in UPDATE_BAR_PDE must lie outside them).

Sim choices: the value of :data:`BLOCKED_READ` (NVIDIA publishes none for protected FB; it is in the style of the
PRI error codes); that blocked accesses raise nothing (real hardware does not fault the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...regs.pfb import (
    FLUSH_PAGE_REGS,
    NV_PFB_PRI_MMU_WPR2_ADDR_HI,
    NV_PFB_PRI_MMU_WPR2_ADDR_LO,
    WPR2_ADDR_SHIFT,
)

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "fb"
ORDER = 35  #: before the falcons (40), which ask it before a reset

BLOCKED_READ = 0xBAD0FB00  #: what a blocked 32-bit read returns (sim choice, see the module docstring)
BLOCKED_LOG_LIMIT = 4096  #: blocked accesses kept in the fault log (the count goes on)


@dataclass(frozen=True)
class GspFbRegion:
    """An FB region as GSP-RM reports it in its static info (``[base, end)``)."""

    base: int
    end: int
    reserved: bool
    protected: bool
    name: str


@dataclass(frozen=True)
class BlockedAccess:
    """One CPU access the framebuffer blocked."""

    time_ns: int
    path: str  #: "PRAMIN" or "BAR2"
    write: bool
    addr: int  #: VRAM address
    length: int
    region: str


class FbModel:
    """``gpu.models["fb"]``: flush-page registers, protected and reserved VRAM, the fault log."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.flush = gpu.facts.sysmem_flush  #: this chip's flush-page registers
        self._wpr_lo = NV_PFB_PRI_MMU_WPR2_ADDR_LO.addr()
        self._wpr_hi = NV_PFB_PRI_MMU_WPR2_ADDR_HI.addr()
        #: the FB regions of the running GSP-RM (set at its boot, cleared when it stops)
        self.gsp_regions: list[GspFbRegion] = []
        #: the fault log: blocked accesses, oldest first (at most BLOCKED_LOG_LIMIT kept)
        self.blocked: list[BlockedAccess] = []
        self.blocked_count = 0
        own = {reg.addr() for pair in self.flush.pairs for reg in pair if reg is not None}
        foreign = {reg.addr() for regs in FLUSH_PAGE_REGS.values() for pair in regs.pairs for reg in pair
                   if reg is not None} - own
        for addr in sorted(foreign):
            gpu.bar0.on_write(addr, self._absent_flush_register)

    def _absent_flush_register(self, offset: int, value: int) -> None:
        chip = self.gpu.chipset.name
        msg = (f"write of {value:#x} to {self.gpu.bar0.label(offset)}: that register does not exist on {chip} "
               f"({chip}'s sysmem flush page goes in {self.flush.name})")
        self.gpu.log.error("fb", msg)
        if self.gpu.bar0.strict:
            raise SimViolation(f"simulated FB refused: {msg}")

    # -- the sysmem flush page ----------------------------------------------------------------------------

    def _pair_page(self, index: int) -> int:
        bar, regs = self.gpu.bar0, self.flush
        lo, hi = regs.pairs[index]
        addr = bar.peek(lo.addr()) << regs.lo_shift
        return addr if hi is None else addr | bar.peek(hi.addr()) << regs.hi_shift

    def flush_page(self) -> int:
        """The registered flush page's bus address (0: none)."""
        return self._pair_page(0)

    def flush_page_problem(self) -> str | None:
        """Why a sysmembar (a falcon reset handshake) cannot complete now, or ``None``."""
        addr = self.flush_page()
        regs = self.flush.name
        if addr == 0:
            return f"no sysmem flush page is registered ({regs} hold 0)"
        for i in range(1, len(self.flush.pairs)):
            other = self._pair_page(i)
            if other != addr:
                label = self.gpu.bar0.label(self.flush.pairs[i][0].addr())
                return (f"the sysmem flush page registers disagree: {label} names {other:#x}, the primary pair "
                        f"{addr:#x} (both must name the page: OpenRM kmemsysProgramSysmemFlushBuffer_GB100, "
                        f"bug 4503681)")
        if self.gpu.sysmem.find(addr) is None:
            return f"the sysmem flush page {addr:#x} ({regs}) is not mapped by the IOMMU"
        return None

    # -- protected and reserved VRAM ----------------------------------------------------------------------

    def wpr2(self) -> tuple[int, int]:
        bar = self.gpu.bar0
        return (NV_PFB_PRI_MMU_WPR2_ADDR_LO.val.get(bar.peek(self._wpr_lo)) << WPR2_ADDR_SHIFT,
                NV_PFB_PRI_MMU_WPR2_ADDR_HI.val.get(bar.peek(self._wpr_hi)) << WPR2_ADDR_SHIFT)

    def set_gsp_regions(self, regions: list[GspFbRegion]) -> None:
        """GSP-RM's FB regions (its static info): protected ones are enforced from now on; ``[]`` when it stops."""
        self.gsp_regions = list(regions)

    def protected(self, addr: int, length: int) -> str | None:
        """The protected region ``[addr, addr + length)`` of VRAM touches, or ``None``."""
        end = addr + length
        lo, hi = self.wpr2()
        if hi and addr < hi and end > lo:
            return f"WPR2 [{lo:#x}, {hi:#x})"
        for r in self.gsp_regions:
            if r.protected and addr < r.end and end > r.base:
                return f"GSP-RM's protected {r.name} [{r.base:#x}, {r.end:#x})"
        return None

    def ownership_problem(self, addr: int, length: int) -> str | None:
        """Why ``[addr, addr + length)`` is not the driver's VRAM: protected, or a region GSP-RM reserves."""
        hit = self.protected(addr, length)
        if hit is not None:
            return f"inside {hit}"
        end = addr + length
        for r in self.gsp_regions:
            if r.reserved and addr < r.end and end > r.base:
                return f"inside GSP-RM's reserved {r.name} [{r.base:#x}, {r.end:#x})"
        if end > self.gpu.vram.size or addr < 0:
            return f"outside VRAM ({self.gpu.vram.size:#x} bytes)"
        return None

    def check_access(self, path: str, addr: int, length: int, write: bool) -> bool:
        """A CPU access to VRAM through ``path``: ``True`` if it may go ahead; a blocked one is logged and kept."""
        hit = self.protected(addr, length)
        if hit is None:
            return True
        rec = BlockedAccess(self.gpu.clock.now(), path, write, addr, length, hit)
        self.blocked_count += 1
        if len(self.blocked) < BLOCKED_LOG_LIMIT:
            self.blocked.append(rec)
        self.gpu.log.error("fb", f"{path} {'write' if write else 'read'} of {length:#x} bytes at VRAM {addr:#x} "
                                 f"blocked: {hit} is protected ({'dropped' if write else f'reads {BLOCKED_READ:#x}'})")
        return False


def attach(gpu: SimGpu) -> FbModel:
    return FbModel(gpu)
