"""The range allocator (drm_mm capabilities): placement, ranges, reservations, coalescing, stats, eviction."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from nova_core.errors import MmError
from nova_core.mm.allocator import Placement, RangeAllocator, VramAllocator

MiB = 1 << 20


def test_alloc_free_coalesces_back_to_one_hole() -> None:
    a = RangeAllocator(64 * MiB, granularity=4096)
    xs = [a.alloc(0x3000) for _ in range(50)]
    assert len(set(xs)) == 50
    for x in xs[::2] + xs[1::2]:
        a.free(x)
    assert a.holes() == [(0, 64 * MiB)]
    st_ = a.stats()
    assert (st_.used, st_.free, st_.allocations, st_.holes, st_.fragmentation) == (0, 64 * MiB, 0, 1, 0.0)


def test_sizes_round_up_to_the_granularity_and_alignment_is_absolute() -> None:
    a = RangeAllocator(MiB, base=0x1000, granularity=256)
    x = a.alloc(1)
    assert a.allocation(x).size == 256
    # tinygrad's TLSF aligns relative to its base (0x1000 for align 0x10000); ours is absolute
    y = a.alloc(0x3000, align=0x10000)
    assert y % 0x10000 == 0
    for p in (Placement.LOW, Placement.HIGH, Placement.BEST):
        z = a.alloc(0x100, align=0x4000, placement=p)
        assert z % 0x4000 == 0


def test_low_and_high_placement() -> None:
    a = RangeAllocator(16 * MiB, granularity=4096)
    assert a.alloc(0x1000, placement=Placement.LOW) == 0
    assert a.alloc(0x1000, placement=Placement.HIGH) == 16 * MiB - 0x1000
    assert a.alloc(0x1000, placement=Placement.LOW) == 0x1000
    # BEST places at the top of the hole it picks
    assert a.alloc(0x1000) == 16 * MiB - 0x2000


def test_low_finds_the_lowest_fit_across_size_classes() -> None:
    a = RangeAllocator(64 * MiB, granularity=4096)
    xs = [a.alloc(0x10000, placement=Placement.LOW) for _ in range(64)]
    # holes of growing size at increasing addresses: free 1, 2, 3, ... blocks apart
    for i in (1, 4, 5, 10, 11, 12, 20, 21, 22, 23):
        a.free(xs[i])
    assert a.alloc(0x20000, placement=Placement.LOW) == xs[4]
    assert a.alloc(0x30000, placement=Placement.LOW) == xs[10]
    assert a.alloc(0x10000, placement=Placement.LOW) == xs[1]
    top = a.alloc(0x10000, placement=Placement.HIGH)
    assert top == 64 * MiB - 0x10000


def test_range_restricted_allocation() -> None:
    a = RangeAllocator(16 * MiB, granularity=4096)
    x = a.alloc(0x2000, lo=4 * MiB, hi=5 * MiB)
    assert 4 * MiB <= x and x + 0x2000 <= 5 * MiB
    y = a.alloc(0x2000, lo=4 * MiB, hi=5 * MiB, placement=Placement.LOW)
    assert y == 4 * MiB
    z = a.alloc(0x1000, lo=0x1800, hi=0x4000, placement=Placement.HIGH)
    assert z == 0x3000
    with pytest.raises(MmError, match=r"no free block of 0x2000 bytes aligned to 0x1000 inside \[0x3000, 0x4000\)"):
        a.alloc(0x2000, lo=0x3000, hi=0x4000)
    # a hole straddling lo counts with its part inside the range
    b = RangeAllocator(16 * MiB, granularity=4096)
    b.alloc(0x1000, placement=Placement.LOW)
    assert b.alloc(0x1000, lo=0x800000, placement=Placement.LOW) == 0x800000


def test_reserve_fixed_ranges_and_overlap_errors() -> None:
    a = VramAllocator(64 * MiB, [(60 * MiB, MiB, "FRTS"), (62 * MiB, 2 * MiB, "WPR2")])
    assert [(r.start, r.size, r.tag, r.reserved) for r in a.allocations()] == [
        (60 * MiB, MiB, "FRTS", True), (62 * MiB, 2 * MiB, "WPR2", True)]
    assert a.stats().reserved == 3 * MiB
    with pytest.raises(MmError, match=r"cannot reserve \[0x3d80000, 0x3e80000\) 'x': it overlaps allocation "
                                      r"\[0x3c00000, 0x3d00000\) \(FRTS\)|overlaps allocation \[0x3e00000"):
        a.reserve(61 * MiB + MiB // 2, MiB, tag="x")
    with pytest.raises(MmError, match="not a multiple of the granularity"):
        a.reserve(0x80, 0x100)
    with pytest.raises(MmError, match="outside"):
        a.reserve(63 * MiB, 2 * MiB)
    # the allocator never hands out reserved space
    with pytest.raises(MmError, match=r"no free block of 0x200000 bytes .* largest free block 0x3c00000"):
        a.alloc(2 * MiB, lo=59 * MiB)
    xs = [a.alloc(MiB) for _ in range(61)]
    assert all(x + MiB <= 60 * MiB or x == 61 * MiB for x in xs)
    with pytest.raises(MmError, match=r"no free block of 0x1000 bytes .* \(0x0 bytes free, largest free block 0x0\)"):
        a.alloc(0x1000)


def test_double_free_and_bad_addresses_name_what_is_there() -> None:
    a = RangeAllocator(MiB, granularity=4096)
    x = a.alloc(0x3000, tag="pt")
    a.free(x)
    with pytest.raises(MmError, match=r"free of 0x[0-9a-f]+: not allocated \(free range .*double free\?\)"):
        a.free(x)
    y = a.alloc(0x3000, tag="ramfc")
    with pytest.raises(MmError, match=r"not the start of an allocation: it lies inside .* \(ramfc\)"):
        a.free(y + 0x1000)
    with pytest.raises(MmError, match="outside"):
        a.free(2 * MiB)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_sizes(bad: object) -> None:
    a = RangeAllocator(MiB)
    with pytest.raises(MmError, match="must be a positive integer"):
        a.alloc(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [3, -4096, 0x3000])
def test_bad_alignments(bad: int) -> None:
    with pytest.raises(MmError, match="not a power of two"):
        RangeAllocator(MiB).alloc(0x1000, align=bad)


def test_constructor_checks() -> None:
    with pytest.raises(MmError, match="granularity"):
        RangeAllocator(MiB, granularity=3)
    with pytest.raises(MmError, match="not a multiple"):
        RangeAllocator(MiB + 1, granularity=4096)


def test_stats_largest_and_fragmentation() -> None:
    a = RangeAllocator(MiB, granularity=4096)
    xs = [a.alloc(0x1000, placement=Placement.LOW) for _ in range(256)]
    for x in xs[::2]:
        a.free(x)
    s = a.stats()
    assert (s.free, s.largest_free, s.holes) == (128 * 0x1000, 0x1000, 128)
    assert s.fragmentation == pytest.approx(1 - 1 / 128)
    assert s.as_json()["fragmentation"] == round(1 - 1 / 128, 6)


def test_eviction_scan_frees_exactly_a_fitting_hole() -> None:
    a = RangeAllocator(16 * 0x10000, granularity=0x1000)
    blocks = [a.alloc(0x10000, placement=Placement.LOW) for _ in range(16)]
    a.free(blocks[5])
    a.free(blocks[9])
    with pytest.raises(MmError):
        a.alloc(0x30000)
    scan = a.eviction_scan(0x30000, placement=Placement.LOW)
    lru = [blocks[0], blocks[12], blocks[6], blocks[4], blocks[8]]
    found = [scan.add(x) for x in lru]
    # blocks 4 and 6 around the hole at 5 make [4*64K, 7*64K): three blocks' worth
    assert found == [False, False, False, True, True]
    assert scan.found == blocks[4]
    assert scan.evictions() == [blocks[4], blocks[6]]
    for x in scan.evictions():
        a.free(x)
    assert a.alloc(0x30000, placement=Placement.LOW) == blocks[4]


def test_eviction_scan_refusals() -> None:
    a = VramAllocator(MiB, [(0, 0x1000, "reserved")])
    x = a.alloc(0x1000)
    scan = a.eviction_scan(0x2000)
    with pytest.raises(MmError, match="fixed reservation"):
        scan.add(0)
    with pytest.raises(MmError, match="has not found a hole yet"):
        scan.evictions()
    scan.add(x)
    with pytest.raises(MmError, match="already added"):
        scan.add(x)
    a.alloc(0x1000)
    with pytest.raises(MmError, match="changed during an eviction scan"):
        scan.add(x)


def test_thread_safety_of_the_allocator() -> None:
    a = RangeAllocator(256 * MiB, granularity=4096)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        live: list[int] = []
        try:
            for _ in range(2000):
                if live and rng.random() < 0.5:
                    a.free(live.pop(rng.randrange(len(live))))
                else:
                    live.append(a.alloc(rng.choice([0x1000, 0x3000, 0x10000]), placement=rng.choice(list(Placement))))
            for x in live:
                a.free(x)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert a.holes() == [(0, 256 * MiB)]


# -- stateful property test against a page bitmap --------------------------------------------------

G = 0x1000
TOTAL = 256 * G


class AllocatorMachine(RuleBasedStateMachine):
    """The allocator against a model: a list of owned pages (None = free)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = RangeAllocator(TOTAL, granularity=G)
        self.pages: list[int | None] = [None] * (TOTAL // G)
        self.live: dict[int, int] = {}

    def _fits(self, n: int, align: int, lo: int, hi: int) -> bool:
        first = lo + (-lo) % align
        return any(all(p is None for p in self.pages[start // G:(start + n) // G])
                   for start in range(first, hi - n + 1, align))

    @rule(pages=st.integers(1, 24), align_log=st.integers(12, 16), placement=st.sampled_from(list(Placement)),
          ranged=st.booleans(), lo_page=st.integers(0, 255), span=st.integers(1, 256))
    def alloc(self, pages: int, align_log: int, placement: Placement, ranged: bool, lo_page: int, span: int) -> None:
        n, align = pages * G, 1 << align_log
        lo, hi = (lo_page * G, min(TOTAL, (lo_page + span) * G)) if ranged else (0, TOTAL)
        expect = self._fits(n, align, lo, hi)
        try:
            x = self.a.alloc(n, align=align, placement=placement, lo=lo if ranged else None,
                             hi=hi if ranged else None)
        except MmError:
            assert not expect, f"allocator found no room for {n:#x}/{align:#x} in [{lo:#x},{hi:#x}) but there is"
            return
        assert expect
        assert x % align == 0 and lo <= x and x + n <= hi
        for p in range(x // G, (x + n) // G):
            assert self.pages[p] is None, "allocated over a used page"
            self.pages[p] = x
        self.live[x] = n
        first = lo + (-lo) % align
        free_at = [s for s in range(first, hi - n + 1, align)
                   if all(q is None for q in self.pages[s // G:(s + n) // G])]
        if placement is Placement.LOW:  # nothing lower fits
            assert not [s for s in free_at if s < x]
        if placement is Placement.HIGH:  # nothing higher fits
            assert not [s for s in free_at if s > x]

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        x = data.draw(st.sampled_from(sorted(self.live)))
        n = self.live.pop(x)
        self.a.free(x)
        for p in range(x // G, (x + n) // G):
            self.pages[p] = None

    @rule(page=st.integers(0, 255))
    def double_free_is_refused(self, page: int) -> None:
        if page * G in self.live:
            return
        with pytest.raises(MmError):
            self.a.free(page * G)

    @invariant()
    def stats_agree(self) -> None:
        s = self.a.stats()
        free_pages = sum(p is None for p in self.pages)
        assert s.free == free_pages * G
        runs, cur = [], 0
        for p in self.pages:
            if p is None:
                cur += 1
            else:
                runs.append(cur)
                cur = 0
        runs.append(cur)
        assert s.largest_free == max(runs) * G
        assert s.holes == sum(1 for r in runs if r)  # coalesced: one hole per free run


TestAllocatorStateful = AllocatorMachine.TestCase
TestAllocatorStateful.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


@pytest.mark.parametrize("holes", [10, 600, 1500])  # a short class (plain list) and long ones (SortedList)
def test_many_holes_in_one_class_searched_in_address_order(holes: int) -> None:
    """Holes freed in a burst wait unsorted until the next search; every search still sees them in address order."""
    a = RangeAllocator(1 << 30, granularity=4096)
    blocks = [a.alloc(4096, placement=Placement.LOW) for _ in range(2 * holes + 1)]
    order = list(range(0, 2 * holes, 2))
    random.Random(holes).shuffle(order)
    for i in order:  # every other block: isolated 4 KiB holes, freed in random order
        a.free(blocks[i])
    starts = sorted(blocks[i] for i in order)
    assert [h for h in a.holes() if h[1] == 4096] == [(s, 4096) for s in starts]
    mid = starts[len(starts) // 2]
    assert a.alloc(4096, placement=Placement.LOW, lo=mid + 1) == starts[len(starts) // 2 + 1]
    assert a.alloc(4096, placement=Placement.HIGH, hi=mid) == starts[len(starts) // 2 - 1]
    assert a.alloc(4096, placement=Placement.LOW) == starts[0]
    assert a.alloc(4096) == starts[1]  # BEST: the lowest hole of the smallest class that fits
    with pytest.raises(MmError, match="overlaps"):
        a.reserve(blocks[1], 4096)
    assert a.reserve(starts[2], 4096) == starts[2]
