"""nova_core.fb.sysmem_flush: the sysmem flush page, registered before any falcon reset and released at close.

A sysmembar - a GPU-initiated flush of its pending writes to system memory - reads a page of system memory whose
address the driver programs into ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR``. Falcons need it to be reset: the reset
handshake writes to system memory and flushes (nova-core ``fb.rs`` ``SysmemFlush``: "the sysmem flush memory page
must be registered as early as possible during driver initialization, and before any falcon is reset"). The page
must stay allocated while it is registered: "an actual read may be issued" (OpenRM
``kmemsysInitFlushSysmemBuffer_GM107``).

The registers are the chip's (``ChipFacts.sysmem_flush``, ``regs/pfb.py``). ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR`` holds
address bits 39:8 (address >> 8); from GA100 on ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI`` holds bits 63:40 and is written
first (OpenRM ``kmemsysProgramSysmemFlushBuffer_GA100``, nova-core ``write_sysmem_flush_page_ga100``). Turing has only
the 40-bit register: a page at or above 1 TiB cannot be registered there (nova-core
``write_sysmem_flush_page_gm107`` refuses it; OpenRM allocates the page 32-bit addressable): the page is asked of
the DMA allocator below what the chip's registers hold (``alloc(limit=)``). From Hopper on the page
goes in PCIE flush registers of the FB hub - GH100's FBHUB, GB100/GB102's HSHUB0 (a primary and an egress pair, both
programmed: OpenRM ``kmemsysProgramSysmemFlushBuffer_GB100``, bug 4503681), GB20x's FBHUB0 - whose LO holds address
bits 31:0 and HI bits 51:32, HI first ("the hardware will trigger the flush on the LO write", nova-core
``fb/hal/gh100.rs``, ``gb100.rs``, ``gb202.rs``; OpenRM ``..._GH100``, ``..._GB10B``): a page at or above 4 PiB (52
bits) cannot be registered. Unregistering writes 0 - only if the registers still name this page (nova-core
``SysmemFlush::unregister``) - and then frees it.
"""

from __future__ import annotations

from ..errors import DmaError, NovaError
from ..gpu.chips import Chipset
from ..hw.bar import Bar
from ..hw.dma import PAGE_SIZE, DmaAllocator, DmaBuffer
from ..regs.core import Register
from ..regs.pfb import FlushPageRegs

#: the page must be 256-byte aligned: NISO's ADR_39_08 starts at bit 8, the PCIE registers' LO ADR_MASK is
#: 0xFFFFFF00 (OpenRM kmemsysGetFlushSysmemBufferAddrShift: 8 everywhere)
FLUSH_PAGE_ALIGN = 1 << 8


class SysmemFlushError(NovaError):
    """The sysmem flush page cannot be registered (its bus address does not fit the registers)."""


def _read_pair(bar: Bar, regs: FlushPageRegs, lo: type[Register], hi: type[Register] | None) -> int:
    addr = lo.read(bar) << regs.lo_shift
    if hi is not None:
        addr |= hi.read(bar) << regs.hi_shift
    return addr


def read_flush_page(bar: Bar, chipset: Chipset) -> int:
    """The bus address the flush-page registers hold now (0: none registered; the first pair's on GB100/GB102)."""
    regs = chipset.facts.sysmem_flush
    return _read_pair(bar, regs, *regs.pairs[0])


def write_flush_page(bar: Bar, chipset: Chipset, addr: int) -> None:
    """Program ``addr`` (256-byte aligned) as the flush page: in every register pair of the chip, ``HI`` first where it
    exists, then the low part.

    Raises:
        SysmemFlushError: the address is not 256-byte aligned or needs bits the chip's registers lack.
    """
    regs = chipset.facts.sysmem_flush
    limit = 1 << regs.addr_bits
    if addr & (FLUSH_PAGE_ALIGN - 1) or not 0 <= addr < limit:
        single = regs.pairs[0][1] is None
        raise SysmemFlushError(f"{chipset.name}: sysmem flush page at bus {addr:#x} cannot be registered: it must be "
                               f"256-byte aligned and below {limit:#x} ({regs.name} {'holds' if single else 'hold'} "
                               f"bits {regs.addr_bits - 1}:8{' only' if single else ''})")
    for lo, hi in regs.pairs:
        if hi is not None:
            hi.write(bar, addr >> regs.hi_shift)
        lo.write(bar, (addr >> regs.lo_shift) & 0xFFFFFFFF)


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
        # below what the registers hold (Turing: 40 bits; OpenRM allocates the page 32-bit addressable, or with the
        # DMA address size lowered to 40 bits, kmemsysInitFlushSysmemBuffer_GM107)
        page = dma.alloc(PAGE_SIZE, align=PAGE_SIZE, name="sysmem flush page",
                         limit=1 << chipset.facts.sysmem_flush.addr_bits)
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
