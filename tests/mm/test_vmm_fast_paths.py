"""The VMM's and the allocator's short cuts give what the general code gives: an sg list of single 4 KiB pages is
planned as the general walk plans it, a few pages' PTEs are packed as numpy computes them, ``alloc_many`` /
``free_many`` leave the allocator as the single calls do. And ``close`` on a space of shared or pinned tables."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import MmError
from nova_core.mm.allocator import RangeAllocator, VramAllocator
from nova_core.mm.pte import DEFAULT_FLAGS, format_version
from nova_core.mm.vmm import Segment, Vmm
from nova_core.regs.mmu import PteAperture
from nova_core.sim.memory import SparseMemory

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
VID = PteAperture.VIDEO_MEMORY


def _vmm(version: int = 2) -> Vmm:
    return Vmm(format_version(version), SparseMemory(1 * GiB), VramAllocator(1 * GiB, [(0, 512 * MiB, "data")]))


pages = st.lists(st.one_of(st.integers(0, 4096).map(lambda p: p << 12),  # scattered
                           st.just(-1)), min_size=2, max_size=700)


@settings(max_examples=200, deadline=None)
@given(pages, st.integers(0, 1024).map(lambda k: 0x10_0000_0000 + (k << 12)),
       st.sampled_from([VID, PteAperture.SYSTEM_COHERENT_MEMORY]))
def test_single_pages_plan_as_the_general_walk(addrs: list[int], va: int, ap: PteAperture) -> None:
    # -1: the next page follows the previous one (contiguous stretches inside a scattered list)
    out: list[int] = []
    for a in addrs:
        out.append(out[-1] + 4096 if a == -1 and out else max(a, 0))
    vmm = _vmm()
    segs = [Segment(ap, a, 4096) for a in out]
    assert vmm.plan(va, segs) == vmm._plan_walk(va, segs)


def test_lists_the_short_cut_does_not_take_go_the_general_way() -> None:
    vmm = _vmm()
    va = 0x10_0000_0000
    mixed = [Segment(VID, 0x1000, 4096), Segment(VID, 0x10000, 0x10000)]  # a 64 KiB piece: big pages
    assert vmm._plan_pages(va, mixed) is None and vmm.plan(va, mixed) == vmm._plan_walk(va, mixed)
    two = [Segment(VID, 0x1000, 4096), Segment(PteAperture.SYSTEM_COHERENT_MEMORY, 0x1000, 4096)]
    assert vmm._plan_pages(va, two) is None and len(vmm.plan(va, two)) == 2
    with pytest.raises(MmError, match="whole 4 KiB pages"):
        vmm.plan(va, [Segment(VID, 0x1000, 4096), Segment(VID, 0x2010, 4096)])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, (1 << 24) - 1).map(lambda p: p << 12), min_size=1, max_size=64),
       st.sampled_from([2, 3]), st.sampled_from(list(PteAperture)[1:]))
def test_packed_ptes_are_numpys(addrs: list[int], version: int, ap: PteAperture) -> None:
    import numpy as np

    t = format_version(version).pte_template(ap, DEFAULT_FLAGS)
    assert t.pack(addrs) == t.values(np.array(addrs, dtype=np.uint64)).astype("<u8").tobytes()


def test_packed_ptes_refuse_what_values_refuses() -> None:
    t = format_version(2).pte_template(VID, DEFAULT_FLAGS)
    with pytest.raises(MmError, match="not 4 KiB aligned"):
        t.pack([0x1000, 0x2800])
    with pytest.raises(MmError, match="not 4 KiB aligned"):
        t.pack([-0x1000])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from([0, 4096, 65536])), min_size=1, max_size=12),
       st.randoms(use_true_random=False))
def test_alloc_many_and_free_many_are_the_single_calls(batches: list[tuple[int, int]], rnd: object) -> None:
    one, many = RangeAllocator(64 * MiB, granularity=256), RangeAllocator(64 * MiB, granularity=256)
    live: list[list[int]] = []
    for count, align in batches:
        a = [one.alloc(4 * KiB, align=align) for _ in range(count)]
        b = many.alloc_many(count, 4 * KiB, align=align)
        assert a == b
        live.append(a)
    rnd.shuffle(live)  # type: ignore[attr-defined]
    for blocks in live[::2]:
        for x in blocks:
            one.free(x)
        many.free_many(blocks)
    assert one.holes() == many.holes() and one.allocations() == many.allocations()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 24), min_size=0, max_size=40), st.randoms(use_true_random=False),
       st.lists(st.tuples(st.integers(1, 24), st.sampled_from([1, 2, 4, 8]), st.sampled_from([0, 256, 1024, 4096])),
                min_size=1, max_size=8))
def test_alloc_many_and_free_many_on_a_fragmented_allocator(holes: list[int], rnd: object,
                                                           batches: list[tuple[int, int, int]]) -> None:
    # holes of many sizes (some of them in the classes between a request's and the hole it takes first), then
    # batches of several sizes and alignments; then arbitrary subsets freed (runs of adjacent blocks and lone ones)
    one, many = RangeAllocator(4 * MiB, granularity=256), RangeAllocator(4 * MiB, granularity=256)
    for x in (one, many):
        blocks = [x.alloc(k * 256) for k in holes]
        for b in blocks[::2]:
            x.free(b)
    live: list[int] = []
    for count, pages, align in batches:
        size = pages * KiB
        a: list[int] = []
        try:
            for _ in range(count):
                a.append(one.alloc(size, align=align))
        except MmError:  # all or nothing: the single calls' blocks given back
            for x in a:
                one.free(x)
            with pytest.raises(MmError, match="no room"):
                many.alloc_many(count, size, align=align)
            assert one.holes() == many.holes()
            continue
        assert many.alloc_many(count, size, align=align) == a
        live += a
        assert one.holes() == many.holes()
    rnd.shuffle(live)  # type: ignore[attr-defined]
    gone = live[: len(live) // 2 + 1]
    for x in sorted(gone):
        one.free(x)
    many.free_many(gone)
    assert one.holes() == many.holes() and one.allocations() == many.allocations()


def test_alloc_many_leaves_a_hole_that_shrinks_behind_holes_the_search_finds_first() -> None:
    # nine holes of 0x1800 bytes starting 0x400 into a 4 KiB page (no aligned 4 KiB page fits in them), then a
    # hole of 0x2800 bytes starting 0x800 into a page: after one page from its top, the rest (0x1800) is in the
    # nine's size class, behind the eight holes best fit probes there, so the next page comes from the big hole
    # above - one alloc_many must not carry on in the same hole
    def make() -> RangeAllocator:
        a = RangeAllocator(1 * MiB, granularity=256)
        for i in range(9):
            a.reserve(i * 0x2000, 0x400)
            a.reserve(i * 0x2000 + 0x1c00, 0x400)
        a.reserve(0x12000, 0x800)
        a.reserve(0x15000, 0x1000)
        return a

    one, many = make(), make()
    singles = [one.alloc(4 * KiB, align=4 * KiB) for _ in range(3)]
    assert singles[:2] == [0x14000, 1 * MiB - 4 * KiB]  # the premise
    assert many.alloc_many(3, 4 * KiB, align=4 * KiB) == singles
    assert one.holes() == many.holes()


def test_alloc_many_is_all_or_nothing_and_free_many_names_a_bad_block() -> None:
    a = RangeAllocator(64 * KiB, granularity=4096)
    before = a.holes()
    with pytest.raises(MmError, match="no room for 17 blocks"):
        a.alloc_many(17, 4 * KiB)
    assert a.holes() == before and len(a) == 0
    got = sorted(a.alloc_many(4, 4 * KiB))
    bad = got[2] + 0x800  # inside a block
    with pytest.raises(MmError, match=f"free of {bad:#x}: not the start"):
        a.free_many([got[3], bad, got[1], got[0]])
    assert got[0] not in a and got[1] not in a and got[3] in a  # freed in address order, up to the bad one
    with pytest.raises(MmError, match="count"):
        a.alloc_many(-1, 4096)


def test_close_of_a_space_on_someone_elses_root_clears_only_its_entries() -> None:
    mem = SparseMemory(1 * GiB)
    alloc = VramAllocator(1 * GiB, [(0, 512 * MiB, "data")])
    root = alloc.alloc(4 * KiB, align=4 * KiB, tag="GSP-RM's root")
    mem.write(root + 8 * 5, (0x1234_5000 | 1).to_bytes(8, "little"))  # an entry of the owner's own
    vmm = Vmm(format_version(2), mem, alloc, root=root, name="bar1")
    assert vmm.cache_bytes == 0  # nothing is left linked from someone else's root
    vmm.map_vram(0, 0x1000, 4 * KiB)
    vmm.unmap(0, 4 * KiB)
    vmm.map_vram(0x20_0000, 0x2000, 4 * KiB)
    vmm.close()
    assert root in alloc  # the root stays the owner's
    entries = [int.from_bytes(mem.read(root + 8 * i, 8), "little") for i in range(512)]
    assert entries[5] == 0x1234_5000 | 1 and sum(1 for e in entries if e) == 1
    assert vmm.tables == 0 and len(alloc) == 2  # data and the root: every table of the space went


def test_close_frees_pinned_tables() -> None:
    alloc = VramAllocator(1 * GiB, [(0, 512 * MiB, "data")])
    vmm = Vmm(format_version(2), SparseMemory(1 * GiB), alloc, name="bar2")
    pinned = vmm.pin_tables(0)
    assert all(t in alloc for t in pinned)
    vmm.close()
    assert len(alloc) == 1 and vmm.tables == 0
