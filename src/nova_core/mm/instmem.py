"""nova_core.mm.instmem: instance memory: objects in VRAM that the GPU reads, reached by the CPU through BAR2.

Channel instance blocks, RAMFC, page tables of other address spaces... live in VRAM; the CPU reads and writes
them through BAR2, a PCI BAR that shows a GPU virtual address space of its own (nouveau ``nv50/gf100 bar``,
the seed's "Instance Memory"). :class:`Bar2Space` builds that space: a :class:`~nova_core.mm.vmm.Vmm` over
``[0, BAR2 size)`` whose tables are in VRAM, an instance block (``NV_RAMIN_PAGE_DIR_BASE`` at byte 0x200:
new page-table format, 64 KiB big pages, the root table, the VA limit), and the bind:

- Turing to Ada: ``NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK`` = instance >> 12 | VIRTUAL, then wait for
  ``BIND_STATUS`` BAR2 pending/outstanding to clear (nouveau ``tu102_bar_bar2_init``/``_wait``, 2 s);
- Hopper and later: ``..._FUNC_BAR2_BLOCK_HIGH_ADDR`` (address >> 32) then ``_LOW_ADDR`` (which binds), then
  wait for its pending/outstanding bits.

With GSP-RM the bind is GSP's: the driver hands it :meth:`Bar2Space.root_pde` (nouveau
``r535_bar_bar2_update_pde``; the boot issue sends it). :class:`InstMemory` then allocates objects: VRAM from the
VRAM allocator, VA from the BAR2 space, one mapping, and an :class:`InstObject` whose accessors go through
the BAR2 ``Bar`` (the simulated GPU's :class:`~nova_core.sim.models.bar2.SimBar2`, or a real BAR2 mapping).
TLB invalidates of the BAR2 space are hub-only (nouveau sets HUB_ONLY for BAR address spaces).
"""

from __future__ import annotations

import threading

from ..errors import MmError
from ..gpu.chips import Architecture, Chipset
from ..hw.bar import Bar
from ..hw.clock import SEC, Clock
from ..regs.mmu import (
    NV_RAMIN_PAGE_DIR_BASE,
    NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK,
    NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR,
    NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR,
    RAMIN_PAGE_DIR_OFFSET,
    RAMIN_SIZE,
    BarBlockMode,
    BigPageSize,
    InstTarget,
)
from .allocator import RangeAllocator
from .pte import format_for
from .tlb import Invalidator, TlbInvalidator
from .vmm import Vmm
from .vram import VramAccess

# TIMEOUT: nouveau tu102_bar_bar2_wait polls the bind status for 2000 ms.
BIND_TIMEOUT = 2 * SEC
PAGE = 4096


def instance_block_page_dir(pdb: int, va_limit: int) -> bytes:
    """The 16 bytes at ``RAMIN_PAGE_DIR_OFFSET`` of an instance block using the tables rooted at ``pdb`` in VRAM."""
    if pdb & 0xFFF:
        raise MmError(f"page directory base {pdb:#x} is not 4 KiB aligned")
    value = NV_RAMIN_PAGE_DIR_BASE.encode(
        target=InstTarget.VID_MEM, use_ver2_pt_format=1, big_page_size=BigPageSize.SIZE_64KB,
        lo=(pdb >> 12) & 0xFFFFF, hi=pdb >> 32,
        adr_limit_lo=(va_limit >> 12) & 0xFFFFF, adr_limit_hi=va_limit >> 32,
    )
    return value.to_bytes(16, "little")


class Bar2Space:
    """The BAR2 address space: page tables and instance block in VRAM, bound to BAR2.

    Args:
        chipset: selects the MMU format and the bind registers.
        bar0, clock: for the bind and the TLB invalidates.
        vram: how the tables and the instance block are written (sim VRAM, or PRAMIN on hardware).
        allocator: the VRAM allocator.
        bar2: the BAR2 aperture (its size is the VA space).
        invalidator: TLB invalidation (default: hub-only invalidates through ``bar0``).
    """

    def __init__(self, chipset: Chipset, bar0: Bar, clock: Clock, vram: VramAccess, allocator: RangeAllocator,
                 bar2: Bar, *, invalidator: Invalidator | None = None) -> None:
        self.chipset = chipset
        self.bar0 = bar0
        self.clock = clock
        self.bar2 = bar2
        self.allocator = allocator
        self.vram = vram
        self.fmt = format_for(chipset)
        inv = invalidator if invalidator is not None else TlbInvalidator(bar0, clock, hub_only=True)
        self.invalidator = inv
        self.vmm = Vmm(self.fmt, vram, allocator, inv, va_start=0, va_end=bar2.size, name="bar2")
        self.inst = allocator.alloc(RAMIN_SIZE, align=RAMIN_SIZE, tag="bar2 instance block")
        vram.write(self.inst, bytes(RAMIN_SIZE))
        vram.write(self.inst + RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(self.vmm.pdb, bar2.size - 1))
        self.bound = False

    @property
    def hopper_regs(self) -> bool:
        return self.chipset.architecture in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X,
                                             Architecture.BLACKWELL_GB20X)

    def bind(self) -> None:
        """Point BAR2 at this space's instance block and wait for the bind to complete (no GSP-RM yet)."""
        what = f"BAR2 bind to instance block {self.inst:#x} to complete"
        if self.hopper_regs:
            low = NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR
            NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR.write(self.bar0, ptr=self.inst >> 32)
            low.write(self.bar0, mode=BarBlockMode.VIRTUAL, target=InstTarget.VID_MEM,
                      ptr=(self.inst >> 12) & low.ptr.max)
            low.wait(self.bar0, self.clock, timeout=BIND_TIMEOUT, bar2_pending=0, bar2_outstanding=0,
                     what=what + " (BAR2_BLOCK_LOW_ADDR pending/outstanding 0)")
        else:
            NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK.write(self.bar0, ptr=self.inst >> 12, target=InstTarget.VID_MEM,
                                                      mode=BarBlockMode.VIRTUAL)
            NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.wait(self.bar0, self.clock, timeout=BIND_TIMEOUT, bar2_pending=0,
                                                      bar2_outstanding=0, what=what + " (BIND_STATUS BAR2 0)")
        self.bound = True

    def root_pde(self) -> int:
        """A PDE pointing at the root table: what GSP-RM's UPDATE_BAR_PDE takes for BAR2."""
        return self.fmt.pde(self.vmm.pdb)


class InstObject:
    """An object in instance memory: ``size`` bytes of VRAM at ``vram_addr``, seen at BAR2 ``bar2_offset``.

    Accessors take offsets inside the object and go through BAR2; out-of-bounds or unaligned offsets are
    an :class:`~nova_core.errors.MmError` naming the object.
    """

    __slots__ = ("_bar2", "_freed", "bar2_offset", "name", "size", "vram_addr")

    def __init__(self, bar2: Bar, vram_addr: int, bar2_offset: int, size: int, name: str) -> None:
        self._bar2 = bar2
        self.vram_addr = vram_addr
        self.bar2_offset = bar2_offset
        self.size = size
        self.name = name
        self._freed = False

    def _check(self, offset: int, length: int, align: int = 4) -> int:
        if self._freed:
            raise MmError(f"instance object {self.name!r} (VRAM {self.vram_addr:#x}) used after free")
        if offset < 0 or length < 0 or offset + length > self.size or offset % align or length % 4:
            raise MmError(f"instance object {self.name!r}: access [{offset:#x}, +{length:#x}) is outside its "
                          f"{self.size:#x} bytes or not 32-bit aligned")
        return self.bar2_offset + offset

    def read32(self, offset: int) -> int:
        return self._bar2.read32(self._check(offset, 4))

    def write32(self, offset: int, value: int) -> None:
        self._bar2.write32(self._check(offset, 4), value)

    def read64(self, offset: int) -> int:
        return int.from_bytes(self.read(offset, 8), "little")

    def write64(self, offset: int, value: int) -> None:
        self.write(offset, value.to_bytes(8, "little"))

    def read(self, offset: int, length: int) -> bytes:
        return self._bar2.read_block(self._check(offset, length), length)

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        raw = bytes(data)
        self._bar2.write_block(self._check(offset, len(raw)), raw)

    def fill(self, value: int = 0) -> None:
        self.write(0, bytes([value]) * self.size)

    def __repr__(self) -> str:
        return f"<InstObject {self.name!r} vram={self.vram_addr:#x} bar2={self.bar2_offset:#x} size={self.size:#x}>"


class InstMemory:
    """Allocator of instance-memory objects in a bound :class:`Bar2Space`."""

    def __init__(self, space: Bar2Space) -> None:
        self.space = space
        self._lock = threading.Lock()
        self._objects: dict[int, InstObject] = {}

    def alloc(self, size: int, *, align: int = PAGE, name: str = "") -> InstObject:
        """A zeroed object of ``size`` bytes (rounded up to 4 KiB), ``align``-aligned in VRAM."""
        if not self.space.bound:
            raise MmError(f"instance memory {name!r}: BAR2 is not bound yet (Bar2Space.bind)")
        if size <= 0:
            raise MmError(f"instance memory {name!r}: size {size} must be positive")
        n = (size + PAGE - 1) & ~(PAGE - 1)
        align = max(align, PAGE)
        vmm = self.space.vmm
        vram_addr = self.space.allocator.alloc(n, align=align, tag=f"inst {name}")
        try:
            va = vmm.valloc(n, align=min(align, 1 << 21) if n >= align else PAGE)
            try:
                vmm.map_vram(va, vram_addr, n)
            except BaseException:
                vmm.vfree(va)
                raise
        except BaseException:
            self.space.allocator.free(vram_addr)
            raise
        obj = InstObject(self.space.bar2, vram_addr, va, n, name)
        obj.fill(0)
        with self._lock:
            self._objects[va] = obj
        return obj

    def free(self, obj: InstObject) -> None:
        with self._lock:
            if self._objects.get(obj.bar2_offset) is not obj:
                raise MmError(f"instance object {obj.name!r} at BAR2 {obj.bar2_offset:#x} is not live (double free?)")
            del self._objects[obj.bar2_offset]
        obj._freed = True
        vmm = self.space.vmm
        vmm.unmap(obj.bar2_offset, obj.size)
        vmm.vfree(obj.bar2_offset)
        self.space.allocator.free(obj.vram_addr)

    def objects(self) -> list[InstObject]:
        with self._lock:
            return list(self._objects.values())
