"""The VMM's page-table cache: tables emptied by an unmap are reused by the next map, freed (PDE cleared, TLB
invalidated, then VRAM freed) beyond the cap, under VRAM pressure, where a huge page needs the entry, and all of them
by ``close``; ``cache_bytes=0`` frees them at once as before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mm_helpers import DATA_BASE, Space

from nova_core.errors import MmError
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.pte import format_version
from nova_core.mm.vmm import Segment, Vmm
from nova_core.regs.mmu import PteAperture
from nova_core.sim.memory import SparseMemory

KiB, MiB = 1 << 10, 1 << 20
VA = 0x10_0000_0000
PA = DATA_BASE


class CountingInvalidator:
    def __init__(self, alloc: VramAllocator) -> None:
        self.alloc = alloc
        self.count = 0
        self.live_at_invalidate: list[int] = []

    def invalidate(self, pdb: int, aperture: object = None) -> None:
        self.count += 1
        self.live_at_invalidate.append(len(self.alloc))


def test_the_next_map_reuses_the_tables(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    sp.vmm.map_vram(VA, PA + 0x1000, 16 * KiB)
    before = sorted(a.start for a in sp.alloc.allocations())
    tables = sp.vmm.tables
    for i in range(5):
        sp.vmm.unmap(VA, 16 * KiB)
        assert sp.vmm.cached_tables == 1 and sp.sim_translate(VA) is None
        sp.vmm.map_vram(VA, PA + 0x1000 + i * 0x4000, 16 * KiB)
        assert sp.vmm.cached_tables == 0 and sp.vmm.tables == tables
        assert sp.sim_translate(VA + 8) == ("vid", PA + 0x1000 + i * 0x4000 + 8, 4 * KiB)
    assert sorted(a.start for a in sp.alloc.allocations()) == before  # nothing allocated or freed


def test_close_frees_every_table_root_included_after_the_invalidate() -> None:
    alloc = VramAllocator(1024 * MiB, [(PA, 64 * MiB, "data")])
    inv = CountingInvalidator(alloc)
    vmm = Vmm(format_version(3), SparseMemory(1024 * MiB), alloc, inv)
    vmm.map_vram(VA, PA, 2 * MiB + 64 * KiB + 4 * KiB)
    vmm.map_vram(VA + 4 * MiB, PA + 4 * MiB, 4 * KiB)
    vmm.unmap(VA + 4 * MiB, 4 * KiB)  # one set of tables idle, the other in use
    assert vmm.cached_tables >= 1
    live = len(alloc)
    vmm.close()
    assert inv.live_at_invalidate[-1] == live  # invalidated while the tables were still allocated
    assert len(alloc) == 1 and alloc.allocations()[0].tag == "data"
    assert (vmm.tables, vmm.cached_tables, vmm.mappings()) == (0, 0, [])
    with pytest.raises(MmError, match="closed"):
        vmm.map_vram(VA, PA, 4 * KiB)
    vmm.close()  # twice is harmless


def test_idle_tables_beyond_the_cap_are_freed() -> None:
    alloc = VramAllocator(1024 * MiB, [(PA, 64 * MiB, "data")])
    vmm = Vmm(format_version(2), SparseMemory(1024 * MiB), alloc, cache_bytes=8 * KiB)
    for i in range(16):  # 16 separate 2 MiB regions: 16 small page tables (4 KiB each) left idle
        vmm.map_vram(VA + i * 2 * MiB, PA + 0x1000, 4 * KiB)
    for i in range(16):
        vmm.unmap(VA + i * 2 * MiB, 4 * KiB)
        assert vmm._idle_bytes <= 8 * KiB
    vmm.trim()
    assert vmm.tables == 1 and len(alloc) == 2


def test_no_cache_frees_tables_at_once() -> None:
    alloc = VramAllocator(1024 * MiB, [(PA, 64 * MiB, "data")])
    vmm = Vmm(format_version(2), SparseMemory(1024 * MiB), alloc, cache_bytes=0)
    vmm.map_vram(VA, PA + 0x1000, 4 * KiB)
    vmm.unmap(VA, 4 * KiB)
    assert (vmm.tables, vmm.cached_tables, len(alloc)) == (1, 0, 2)
    assert vmm.walk(VA).fault == "PD3 entry 0 is invalid"


def test_vram_pressure_frees_the_idle_tables_and_the_map_succeeds() -> None:
    vram = 64 * MiB
    alloc = VramAllocator(vram)
    vmm = Vmm(format_version(2), SparseMemory(vram), alloc)
    vmm.map_vram(VA, 0x1000, 4 * KiB)  # root + PD2 + PD1 + PD0 + small table
    vmm.unmap(VA, 4 * KiB)
    fill = []
    while True:  # nothing left in VRAM but what the idle tables hold
        try:
            fill.append(alloc.alloc(256))
        except MmError:
            break
    far = VA + (1 << 47)  # another root entry: four new tables, only possible once the idle ones are freed
    mp = vmm.map_vram(far, 0x2000, 4 * KiB)
    assert vmm.walk(far + 8).phys == 0x2008 and mp.page_sizes() == {4 * KiB: 1}
    assert vmm.cached_tables == 0 and vmm.walk(VA).fault == "PD3 entry 0 is invalid"


def test_a_map_that_fails_for_lack_of_room_leaves_nothing_idle() -> None:
    vram = 64 * MiB
    alloc = VramAllocator(vram, [(0, vram - 16 * KiB, "full")])
    vmm = Vmm(format_version(2), SparseMemory(vram), alloc)
    with pytest.raises(MmError, match="no free block"):
        vmm.map_vram(VA, 0x1000, 4 * KiB)
    assert (vmm.tables, vmm.cached_tables, len(alloc)) == (1, 0, 2)


def test_a_2mib_page_takes_the_place_of_idle_tables(make_space: Callable[..., Space]) -> None:
    sp = make_space("ga102")
    sp.vmm.map(VA, [Segment(PteAperture.VIDEO_MEMORY, PA + 0x10000, 64 * KiB),
                    Segment(PteAperture.VIDEO_MEMORY, PA + 0x1000, 4 * KiB)])  # a big and a small table
    sp.vmm.unmap(VA, 68 * KiB)
    assert sp.vmm.cached_tables == 2
    tables = sp.vmm.tables
    mp = sp.vmm.map_vram(VA, PA, 2 * MiB)
    assert mp.page_sizes() == {2 * MiB: 1} and sp.vmm.tables == tables - 2
    assert sp.sim_translate(VA + 0x12345) == ("vid", PA + 0x12345, 2 * MiB)
    sp.vmm.unmap(VA, 2 * MiB)
    sp.vmm.map_vram(VA, PA + 0x1000, 4 * KiB)  # and back to a small table
    assert sp.sim_translate(VA + 8) == ("vid", PA + 0x1008, 4 * KiB)


def test_a_table_in_use_still_refuses_a_2mib_page(make_space: Callable[..., Space]) -> None:
    sp = make_space("ga102")
    sp.vmm.map_vram(VA + 64 * KiB, PA + 0x1000, 4 * KiB)
    with pytest.raises(MmError, match="overlaps|still points to a page table"):
        sp.vmm.map_vram(VA, PA, 2 * MiB)
