"""nova_core.fb.sysmem_flush: the sysmem flush page, registered before any falcon reset and released at close.

A sysmembar - a GPU-initiated flush of its pending writes to system memory - reads a page of system memory whose
address the driver programs into ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR``. Falcons need it to be reset: the reset
handshake writes to system memory and flushes (nova-core ``fb.rs`` ``SysmemFlush``: "the sysmem flush memory page
must be registered as early as possible during driver initialization, and before any falcon is reset"). The page
must stay allocated while it is registered: "an actual read may be issued" (OpenRM
``kmemsysInitFlushSysmemBuffer_GM107``).

The registers (``regs/pfb.py``): ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR`` holds address bits 39:8 (address >> 8); from
GA100 on ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI`` holds bits 63:40 and is written first (OpenRM
``kmemsysProgramSysmemFlushBuffer_GA100``, nova-core ``write_sysmem_flush_page_ga100``). Turing has only the
40-bit register: a page at or above 1 TiB cannot be registered there (nova-core ``write_sysmem_flush_page_gm107``
refuses it; OpenRM allocates the page 32-bit addressable). Unregistering writes 0 - only if the registers still
name this page (nova-core ``SysmemFlush::unregister``) - and then frees it.
"""

from __future__ import annotations

from ..errors import DmaError, NovaError
from ..gpu.chips import Chipset
from ..hw.bar import Bar
from ..hw.dma import PAGE_SIZE, DmaAllocator, DmaBuffer
from ..regs.pfb import NV_PFB_NISO_FLUSH_SYSMEM_ADDR, NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI

ADDR_SHIFT = 8  #: NV_PFB_NISO_FLUSH_SYSMEM_ADDR_ADR_39_08: address >> 8 (OpenRM kmemsysGetFlushSysmemBufferAddrShift)
ADDR_HI_SHIFT = 40  #: NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI_ADR_63_40: address >> 40


class SysmemFlushError(NovaError):
    """The sysmem flush page cannot be registered (its bus address does not fit the registers)."""


def read_flush_page(bar: Bar, chipset: Chipset) -> int:
    """The bus address the flush-page registers hold now (0: none registered)."""
    lo = NV_PFB_NISO_FLUSH_SYSMEM_ADDR.adr_39_08.get(NV_PFB_NISO_FLUSH_SYSMEM_ADDR.read(bar)) << ADDR_SHIFT
    if not chipset.facts.sysmem_flush_hi:
        return lo
    hi = NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI.adr_63_40.get(NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI.read(bar))
    return lo | hi << ADDR_HI_SHIFT


def write_flush_page(bar: Bar, chipset: Chipset, addr: int) -> None:
    """Program ``addr`` (256-byte aligned) as the flush page: ``_HI`` first where it exists, then the low part.

    Raises:
        SysmemFlushError: the address is not 256-byte aligned or needs bits the chip's registers lack.
    """
    lo_reg, hi_reg = NV_PFB_NISO_FLUSH_SYSMEM_ADDR, NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI
    limit = 1 << (ADDR_HI_SHIFT + hi_reg.adr_63_40.width if chipset.facts.sysmem_flush_hi else ADDR_HI_SHIFT)
    if addr & ((1 << ADDR_SHIFT) - 1) or not 0 <= addr < limit:
        regs = ("NV_PFB_NISO_FLUSH_SYSMEM_ADDR/_HI hold bits 63:8" if chipset.facts.sysmem_flush_hi else
                "NV_PFB_NISO_FLUSH_SYSMEM_ADDR holds bits 39:8 only")
        raise SysmemFlushError(f"{chipset.name}: sysmem flush page at bus {addr:#x} cannot be registered: it must be "
                               f"256-byte aligned and below {limit:#x} ({regs})")
    if chipset.facts.sysmem_flush_hi:
        hi_reg.write(bar, adr_63_40=addr >> ADDR_HI_SHIFT)
    lo_reg.write(bar, adr_39_08=(addr >> ADDR_SHIFT) & lo_reg.adr_39_08.max)


class SysmemFlush:
    """A registered sysmem flush page (:meth:`register`; :meth:`unregister` once no falcon can run any more)."""

    def __init__(self, bar: Bar, dma: DmaAllocator, chipset: Chipset, page: DmaBuffer) -> None:
        self.bar = bar
        self.dma = dma
        self.chipset = chipset
        self.page: DmaBuffer | None = page

    @property
    def bus_addr(self) -> int:
        return 0 if self.page is None else self.page.bus_addr

    @classmethod
    def register(cls, bar: Bar, dma: DmaAllocator, chipset: Chipset) -> SysmemFlush:
        """Allocate a page of DMA memory and program it as the flush page.

        Raises:
            DmaError: no page could be allocated.
            SysmemFlushError: its address does not fit the registers (the page is freed again).
        """
        page = dma.alloc(PAGE_SIZE, align=PAGE_SIZE, name="sysmem flush page")
        try:
            write_flush_page(bar, chipset, page.bus_addr)
        except BaseException:
            dma.free(page)
            raise
        return cls(bar, dma, chipset, page)

    def unregister(self) -> str:
        """Write 0 to the registers if they still name this page, free the page; says what it did (idempotent)."""
        page = self.page
        if page is None:
            return "sysmem flush page already released"
        self.page = None
        now = read_flush_page(self.bar, self.chipset)
        ours = now == page.bus_addr
        if ours:
            write_flush_page(self.bar, self.chipset, 0)
        try:
            self.dma.free(page)
        except DmaError as e:
            raise SysmemFlushError(f"sysmem flush page {page.bus_addr:#x}: {e}") from e
        if not ours:  # nova-core warns: another page was registered after this one (a bug elsewhere)
            return (f"sysmem flush page {page.bus_addr:#x} freed; the registers name {now:#x}, not it: left as they "
                    f"are")
        return f"sysmem flush page {page.bus_addr:#x} unregistered and freed"
