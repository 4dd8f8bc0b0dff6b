"""nova_core.mm.instmem: instance memory: objects in VRAM that the GPU reads, reached by the CPU through BAR2.

Channel instance blocks, RAMFC, page tables of other address spaces... live in VRAM; the CPU reads and writes
them through BAR2, a PCI BAR that shows a GPU virtual address space (nouveau ``nv50/gf100 bar``, the seed's
"Instance Memory"). :class:`Bar2Space` builds the driver's part of that space: a :class:`~nova_core.mm.vmm.Vmm`
whose tables are in VRAM. Two ways to make the hardware use it:

- **With GSP-RM** (every chip nova_core boots): BAR2 belongs to GSP-RM. It binds BAR2 to its own page tables at
  boot, rooted at static info's ``bar2PdeBase``, and only that table is bound to the hardware (OpenRM
  ``kern_bus.c`` ``kbusPatchBar2Pdb_GSPCLIENT``: the CPU owns the VA under PDE3[0], GSP-RM the VA under PDE3[1]).
  The driver builds its tables for its half of the aperture - ``[0, BAR2 size / 2)``, nouveau
  ``gf100_bar_oneinit_bar`` with ``bar2_halve`` set by ``r535_bar_new_`` - and hands GSP-RM the entry to merge:
  its root's entry 0, which points at the level below the root (:meth:`Bar2Space.shared_entry`; nouveau
  ``r535_bar_bar2_update_pde(gsp, vmm->pd->pde[0]->pt[0]->addr)``: "PD3 entry format", OpenRM's PDE3[0] value) in
  UPDATE_BAR_PDE with the root level's shift (47 on MMU v2, 56 on v3). Its TLB invalidates name GSP-RM's root
  (nouveau ``vmm->rm.bar2_pdb``); a teardown sends a zero entry (nouveau ``r535_bar_bar2_fini``). The driver
  never writes the BAR2 block register then: :meth:`Bar2Space.bind` refuses.
- **Without GSP-RM** (tests of the MMU layer on a bare simulated GPU): the space has its own instance block
  (``NV_RAMIN_PAGE_DIR_BASE`` at byte 0x200: new page-table format, 64 KiB big pages, the root table, the VA
  limit) and :meth:`Bar2Space.bind` points BAR2 at it: Turing to Ada ``NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK`` =
  instance >> 12 | VIRTUAL, then wait for ``BIND_STATUS`` BAR2 pending/outstanding to clear (nouveau
  ``tu102_bar_bar2_init``/``_wait``, 2 s); Hopper and later ``..._FUNC_BAR2_BLOCK_HIGH_ADDR`` then ``_LOW_ADDR``.

:class:`InstMemory` then allocates objects: VRAM from the VRAM allocator, VA from the BAR2 space, one mapping, and
an :class:`InstObject` whose accessors go through the BAR2 ``Bar`` (the simulated GPU's
:class:`~nova_core.sim.models.bar2.SimBar2`, or a real BAR2 mapping); :meth:`InstMemory.verify` checks BAR2 against
the BAR0 window as OpenRM's ``kbusVerifyBar2_GM107`` does. TLB invalidates of the BAR2 space are hub-only
(nouveau sets HUB_ONLY for BAR address spaces).
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
VERIFY_PATTERN = 0xABCDABCD  #: OpenRM kbusVerifyBar2_GM107 SAMPLEDATA


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
    """The driver's BAR2 address space: page tables in VRAM, shared with GSP-RM or bound by the driver.

    Args:
        chipset: selects the MMU format and the bind registers.
        bar0, clock: for the bind and the TLB invalidates.
        vram: how the tables and the instance block are written (sim VRAM, or PRAMIN on hardware).
        allocator: the VRAM allocator.
        bar2: the BAR2 aperture (its size bounds the VA space).
        invalidator: TLB invalidation (default: hub-only invalidates through ``bar0``).
        gsp_pdb: GSP-RM's BAR2 root table (static info ``bar2PdeBase``): the space is GSP-RM's to bind, the driver
            takes the lower half of the aperture and shares it through :meth:`shared_entry`. ``None``: no GSP-RM;
            the space gets an instance block of its own for :meth:`bind`.
    """

    def __init__(self, chipset: Chipset, bar0: Bar, clock: Clock, vram: VramAccess, allocator: RangeAllocator,
                 bar2: Bar, *, invalidator: Invalidator | None = None, gsp_pdb: int | None = None) -> None:
        self.chipset = chipset
        self.bar0 = bar0
        self.clock = clock
        self.bar2 = bar2
        self.allocator = allocator
        self.vram = vram
        self.fmt = format_for(chipset)
        self.gsp_pdb = gsp_pdb
        inv = invalidator if invalidator is not None else TlbInvalidator(bar0, clock, hub_only=True)
        self.invalidator = inv
        self.inst: int | None = None
        if gsp_pdb is None:
            self.vmm = Vmm(self.fmt, vram, allocator, inv, va_start=0, va_end=bar2.size, name="bar2")
            self.inst = allocator.alloc(RAMIN_SIZE, align=RAMIN_SIZE, tag="bar2 instance block")
            vram.write(self.inst, bytes(RAMIN_SIZE))
            vram.write(self.inst + RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(self.vmm.pdb, bar2.size - 1))
        else:
            # the lower half of the aperture (nouveau bar2_halve), walked by the hardware from GSP-RM's root
            self.vmm = Vmm(self.fmt, vram, allocator, inv, va_start=0, va_end=bar2.size // 2, name="bar2",
                           invalidate_pdb=gsp_pdb)
            self.vmm.pin_tables(0)  # the level below the root must exist before its entry is handed over
        #: usable for instance memory: bound by the driver, or the shared entry merged by GSP-RM
        self.bound = False

    @property
    def shared(self) -> bool:
        """BAR2 is GSP-RM's: the driver's tables are reached through its root."""
        return self.gsp_pdb is not None

    @property
    def hopper_regs(self) -> bool:
        return self.chipset.architecture in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X,
                                             Architecture.BLACKWELL_GB20X)

    @property
    def root_level_shift(self) -> int:
        """The VA bit the root level's entries start at: UPDATE_BAR_PDE's ``entryLevelShift`` (OpenRM
        ``pRootFmt->virtAddrBitLo``: 47 on MMU v2, 56 on v3)."""
        return self.fmt.geometry.directories[0].va_lo

    def bind(self) -> None:
        """Point BAR2 at this space's instance block and wait for the bind to complete (no GSP-RM running)."""
        if self.inst is None:
            raise MmError("BAR2 belongs to GSP-RM: the driver does not write the BAR2 block register; hand GSP-RM "
                          "the shared entry (Bar2Space.shared_entry) with UPDATE_BAR_PDE")
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

    def shared_entry(self) -> int:
        """The root's entry 0 as it is in VRAM - a PDE pointing at the level below the root (PD2 on MMU v2) - for
        UPDATE_BAR_PDE: GSP-RM merges it into entry 0 of its own root (OpenRM reads the PDE3[0] value back
        through the BAR0 window; nouveau computes the same from ``pd->pde[0]->pt[0]->addr``)."""
        if not self.shared:
            raise MmError("BAR2 has no GSP-RM root to share: this space binds its own instance block")
        size = self.fmt.geometry.directories[0].entry_size
        value = int.from_bytes(self.vram.read(self.vmm.pdb, size), "little")
        if value == 0:
            raise MmError(f"bar2: the root table {self.vmm.pdb:#x} has no entry 0 to share")
        return value


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
            raise MmError(f"instance memory {name!r}: BAR2 is not usable yet (Bar2Space.bind, or the shared entry "
                          f"merged by GSP-RM)")
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

    def verify(self) -> str:
        """Check that BAR2 and the BAR0 window see the same VRAM, as OpenRM's ``kbusVerifyBar2_GM107`` does after
        setting BAR2 up: a word written through BAR2 is read back through the window and one written through the
        window is read back through BAR2 (a page of instance memory, freed again)."""
        obj = self.alloc(PAGE, name="bar2 verify")
        try:
            obj.write32(0, VERIFY_PATTERN)
            seen = int.from_bytes(self.space.vram.read(obj.vram_addr, 4), "little")
            if seen != VERIFY_PATTERN:
                raise MmError(f"BAR2 verify: {VERIFY_PATTERN:#010x} written through BAR2 at {obj.bar2_offset:#x} "
                              f"reads {seen:#010x} at VRAM {obj.vram_addr:#x} through the BAR0 window")
            self.space.vram.write(obj.vram_addr + 4, (~VERIFY_PATTERN & 0xFFFFFFFF).to_bytes(4, "little"))
            seen = obj.read32(4)
            if seen != ~VERIFY_PATTERN & 0xFFFFFFFF:
                raise MmError(f"BAR2 verify: {~VERIFY_PATTERN & 0xFFFFFFFF:#010x} written through the BAR0 window at "
                              f"VRAM {obj.vram_addr + 4:#x} reads {seen:#010x} through BAR2 at "
                              f"{obj.bar2_offset + 4:#x}")
        finally:
            self.free(obj)
        return f"BAR2 {obj.bar2_offset:#x} <-> VRAM {obj.vram_addr:#x} verified both ways"
