"""nova_core.mm.allocator: a range allocator with the capabilities of the kernel's drm_mm, for VRAM and GPU VA.

What it offers (drm_mm's feature list):

- ``alloc(size, align=, placement=, lo=, hi=)``: best fit (``BEST``), lowest address (``LOW``, bottom-up) or
  highest address (``HIGH``, top-down), optionally inside ``[lo, hi)``; alignment is absolute (a power of two),
  never relative to the allocator's base;
- ``reserve(start, size)``: take a fixed range (the WPR2, FRTS, GSP heap regions the GSP layout fixes);
- ``free(addr)``: with coalescing of the neighbouring holes; a double free names what is there instead;
- ``stats()``: free bytes, largest free block, fragmentation (``1 - largest / free``), counts;
- ``eviction_scan(size, ...)``: drm_mm_scan: feed allocations in LRU order until freeing some of them would
  leave a hole that fits the request, then evict exactly the ones overlapping it.

Data structure (chosen by measurement, see ``benchmarks/bench_mm.py`` and the mm layer's note): every block,
free or used, is a node of an address-ordered doubly linked list (O(1) coalescing). Free blocks ("holes") are
indexed by size class - two-level segregated fit as in TLSF: the power of two, then 4 linear sub-classes -
with a bitmap of non-empty classes. Unlike TLSF, each class keeps its holes in an address-ordered
``SortedList`` (holes added since the class was last searched wait in a dict and are merged in, in one sort, by
the next search: a burst of frees costs a dict insert each), which gives O(log n) removal of any hole (TLSF's
list removal is O(bucket) and makes frees in random order 10x slower) and O(C log n) lowest/highest-address
searches that skip every class too small for the request. ``BEST`` places the block at the *top* of the chosen
hole so the hole keeps its start and its index entry (an O(1) update); ``LOW`` places it at the bottom, ``HIGH``
at the top.

Complexities (n holes, C <= 4 * 64 size classes): ``free`` and ``BEST`` allocation: O(log n) (BEST probes at most
8 holes of the classes where a hole may or may not fit); ``reserve`` and ``LOW``/``HIGH``/ranged allocation:
O(C log n), plus, in the classes between the request's size and size + alignment (where a hole may or may not
fit), the holes tested and found too small. All operations hold one lock (the VMM's threads share it).
"""

from __future__ import annotations

import bisect
import enum
import functools
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedList

from ..errors import MmError

_SL_BITS = 2  # 4 linear sub-classes per power of two
_SL = 1 << _SL_BITS
_PROBE = 8  # holes of a boundary class BEST looks at before taking a class that surely fits


#: a class holds its sorted starts in a plain list (C-level bisect and insort) up to this many, in a SortedList
#: beyond (inserting into a list moves its tail: cheap while it is short, linear when it is long)
_SMALL_CLASS = 512


class _SmallSorted(list[int]):
    """A short sorted list of hole starts with the part of ``SortedList``'s interface the allocator uses."""

    __slots__ = ("add",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        super().__init__(sorted(values))
        self.add = functools.partial(bisect.insort, self)

    def remove(self, value: int) -> None:
        i = bisect.bisect_left(self, value)
        if i == len(self) or self[i] != value:
            raise ValueError(f"{value:#x} is not in the size class")  # pragma: no cover - an index invariant
        del self[i]

    def update(self, values: Iterable[int]) -> None:
        self.extend(values)
        self.sort()

    def bisect_left(self, value: int) -> int:
        return bisect.bisect_left(self, value)

    def bisect_right(self, value: int) -> int:
        return bisect.bisect_right(self, value)

    def islice(self, start: int, stop: int) -> list[int]:
        return self[start:stop]

    def irange(self, minimum: int | None = None, maximum: int | None = None, reverse: bool = False) -> Iterable[int]:
        lo = 0 if minimum is None else bisect.bisect_left(self, minimum)
        hi = len(self) if maximum is None else bisect.bisect_right(self, maximum)
        part = self[lo:hi]
        return reversed(part) if reverse else part


class _HoleClass:
    """The starts of one size class's holes: a ``SortedList``, and the starts added since it was last asked for
    in order (kept in a dict until then: adding and removing them costs a dict operation, not a sorted insert).

    :meth:`ordered` merges them in (one sort of the new ones) and returns the ``SortedList``: every search that
    looks at addresses in order goes through it, so what it sees is exactly the sorted class. (The allocator adds
    to ``_new`` and removes from either itself, on its hot paths.)
    """

    __slots__ = ("_new", "_sorted")

    def __init__(self) -> None:
        self._sorted: _SmallSorted | SortedList = _SmallSorted()
        self._new: dict[int, None] = {}

    def __len__(self) -> int:
        return len(self._sorted) + len(self._new)

    def ordered(self) -> _SmallSorted | SortedList:
        new = self._new
        if new:
            srt = self._sorted
            if len(new) == 1:  # (the common case between searches: one insert, not a merge)
                srt.add(new.popitem()[0])
            else:
                srt.update(new)
                new.clear()
            if type(srt) is _SmallSorted and len(srt) > _SMALL_CLASS:
                self._sorted = SortedList(srt)
        return self._sorted



class Placement(enum.Enum):
    """Where ``alloc`` places a block."""

    BEST = "best"  #: the smallest size class that fits (TLSF good fit); top of the hole
    LOW = "low"  #: the lowest address that fits (bottom-up); bottom of the hole
    HIGH = "high"  #: the highest address that fits (top-down); top of the hole


_BEST = Placement.BEST  # (a module global: an enum member looked up on its class costs more on every alloc)


class _Block:
    __slots__ = ("cls", "free", "next", "prev", "reserved", "size", "start", "tag")

    def __init__(self, start: int, size: int, free: bool, tag: str = "") -> None:
        self.start = start
        self.size = size
        self.free = free
        self.tag = tag
        self.reserved = False
        self.cls = -1
        self.prev: _Block | None = None
        self.next: _Block | None = None


@dataclass(frozen=True)
class Allocation:
    """One allocated (or reserved) range."""

    start: int
    size: int
    tag: str
    reserved: bool

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class AllocatorStats:
    """What ``stats()`` reports; ``fragmentation`` is ``1 - largest_free / free`` (0 when nothing is free)."""

    size: int
    used: int
    free: int
    reserved: int
    largest_free: int
    holes: int
    allocations: int

    @property
    def fragmentation(self) -> float:
        return 0.0 if self.free == 0 else 1.0 - self.largest_free / self.free

    def as_json(self) -> dict[str, object]:
        return {"size": self.size, "used": self.used, "free": self.free, "reserved": self.reserved,
                "largest_free": self.largest_free, "holes": self.holes, "allocations": self.allocations,
                "fragmentation": round(self.fragmentation, 6)}


def _class_of(units: int) -> int:
    """Size class of a block of ``units`` granules (classes 0-7 are exact, then 4 per power of two)."""
    if units < 2 * _SL:
        return units
    fl = units.bit_length() - 1
    return (fl - 1) * _SL + ((units >> (fl - _SL_BITS)) & (_SL - 1))


def _class_floor(c: int) -> int:
    """Smallest size (in granules) of class ``c``."""
    if c < 2 * _SL:
        return c
    fl = c // _SL + 1
    return (_SL + c % _SL) << (fl - _SL_BITS)


def _first_class_at_least(units: int) -> int:
    """The first class whose every member has at least ``units`` granules."""
    c = _class_of(units)
    return c if _class_floor(c) == units else c + 1


class RangeAllocator:
    """Allocator of the address range ``[base, base + size)`` (VRAM, or a GPU virtual address space).

    Args:
        size: bytes managed.
        base: first address (a multiple of ``granularity``).
        granularity: smallest unit (a power of two): sizes are rounded up to it, every block starts on it.
        name: for messages (``"vram"``, ``"bar2 va"``).
    """

    def __init__(self, size: int, *, base: int = 0, granularity: int = 4096, name: str = "vram") -> None:
        if granularity < 1 or granularity & (granularity - 1):
            raise MmError(f"{name}: granularity {granularity:#x} is not a power of two")
        if size <= 0 or size % granularity or base < 0 or base % granularity:
            raise MmError(f"{name}: range [{base:#x}, +{size:#x}) is empty or not a multiple of the "
                          f"granularity {granularity:#x}")
        self.name = name
        self.base = base
        self.size = size
        self.end = base + size
        self.granularity = granularity
        self._gshift = granularity.bit_length() - 1
        self._lock = threading.Lock()
        self._classes: list[_HoleClass | None] = [None] * (4 * 64 + 8)
        self._fits: dict[tuple[int, int], tuple[int, int]] = {}  # (size, align) -> (its class, first class that fits)
        self._bitmap = 0
        self._holes: dict[int, _Block] = {}
        self._used: dict[int, _Block] = {}
        self._used_bytes = 0
        self._reserved_bytes = 0
        #: bumped by every change (an eviction scan refuses to go on across one)
        self.generation = 0
        whole = _Block(base, size, True)
        self._head: _Block = whole
        self._index_add(whole)

    # -- the hole index -------------------------------------------------------------------------

    # (the three below are on every alloc and free: the class computation of _class_of and _HoleClass's add and
    # remove are written out in them)

    def _index_add(self, b: _Block) -> None:
        u = b.size >> self._gshift
        if u < 2 * _SL:
            c = u
        else:
            fl = u.bit_length() - 1
            c = (fl - 1) * _SL + ((u >> (fl - _SL_BITS)) & (_SL - 1))
        b.cls = c
        cls = self._classes[c]
        if cls is None:
            cls = self._classes[c] = _HoleClass()
        cls._new[b.start] = None
        self._bitmap |= 1 << c
        self._holes[b.start] = b

    def _index_remove(self, b: _Block) -> None:
        cls = self._classes[b.cls]
        assert cls is not None  # invariant: an indexed hole's class exists
        start = b.start
        if cls._new.pop(start, 1) is not None:
            cls._sorted.remove(start)
        if not cls._new and not cls._sorted:
            self._bitmap &= ~(1 << b.cls)
        del self._holes[start]

    def _index_resize(self, b: _Block, size: int) -> None:
        """Change a hole's size, its start staying put (cheap unless the class changes)."""
        u = size >> self._gshift
        if u < 2 * _SL:
            c = u
        else:
            fl = u.bit_length() - 1
            c = (fl - 1) * _SL + ((u >> (fl - _SL_BITS)) & (_SL - 1))
        b.size = size
        old = b.cls
        if c != old:
            classes = self._classes
            cls = classes[old]
            assert cls is not None
            start = b.start
            if cls._new.pop(start, 1) is not None:
                cls._sorted.remove(start)
            if not cls._new and not cls._sorted:
                self._bitmap &= ~(1 << old)
            b.cls = c
            cls = classes[c]
            if cls is None:
                cls = classes[c] = _HoleClass()
            cls._new[start] = None
            self._bitmap |= 1 << c

    def _nonempty_from(self, c: int) -> Iterator[int]:
        m = self._bitmap >> c
        while m:
            low = m & -m
            c += low.bit_length() - 1
            yield c
            m >>= low.bit_length()
            c += 1

    # -- argument checks ------------------------------------------------------------------------

    def _round(self, size: int, what: str) -> int:
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise MmError(f"{self.name}: {what} size {size!r} must be a positive integer")
        g = self.granularity
        return (size + g - 1) & ~(g - 1)

    def _align(self, align: int) -> int:
        if not isinstance(align, int) or align < 0 or (align and align & (align - 1)):
            raise MmError(f"{self.name}: alignment {align!r} is not a power of two")
        return max(align, self.granularity)

    # -- allocation -----------------------------------------------------------------------------

    def alloc(self, size: int, *, align: int = 0, placement: Placement = Placement.BEST,
              lo: int | None = None, hi: int | None = None, tag: str = "") -> int:
        """Allocate ``size`` bytes aligned to ``align`` (default: the granularity); returns the address.

        ``lo``/``hi`` restrict the block to ``[lo, hi)``.

        Raises:
            MmError: bad size/alignment/range, or no free block fits (the message gives free bytes and the
                largest free block).
        """
        g = self.granularity
        if type(size) is not int or size <= 0:
            size = self._round(size, "allocation")
        n = (size + g - 1) & ~(g - 1)
        if align == 0 and type(align) is int:
            a = g
        elif type(align) is int and align > g and not align & (align - 1):
            a = align
        else:
            a = self._align(align)
        lock = self._lock
        lock.acquire()  # not ``with``: on every alloc and free, an explicit pair costs half as much (CPython 3.11)
        try:
            found: tuple[_Block, int] | None = None
            if placement is _BEST and lo is None and hi is None:
                found = self._best_fast(n, a)
                if found is not None:
                    return self._carve(found[0], found[1], n, tag).start
            if found is None:
                rlo = self.base if lo is None else max(lo, self.base)
                rhi = self.end if hi is None else min(hi, self.end)
                found = self._search(n, a, placement, rlo, rhi)
            if found is None:
                where = "" if lo is None and hi is None else (
                    f" inside [{lo if lo is not None else self.base:#x}, {hi if hi is not None else self.end:#x})")
                raise MmError(
                    f"{self.name}: no free block of {n:#x} bytes aligned to {a:#x}{where} "
                    f"({self._free_bytes():#x} bytes free, largest free block {self._largest():#x})"
                )
            hole, p = found
            return self._carve(hole, p, n, tag).start
        finally:
            lock.release()

    def alloc_many(self, count: int, size: int, *, align: int = 0, tag: str = "") -> list[int]:
        """``count`` blocks of ``size`` bytes aligned to ``align``, best fit (what ``count`` calls of :meth:`alloc`
        give, under one lock: the pages behind a scattered buffer); all of them or none.

        Raises:
            MmError: bad count, size or alignment, or no room for all of them (none is kept).
        """
        if type(count) is not int or count < 0:
            raise MmError(f"{self.name}: count {count!r} of blocks must be a non-negative integer")
        g = self.granularity
        n = (self._round(size, "allocation") + g - 1) & ~(g - 1)
        a = self._align(align)
        out: list[int] = []
        with self._lock:
            while len(out) < count:
                found = self._best_fast(n, a)
                if found is None:
                    self._free_sorted(sorted(out))
                    raise MmError(f"{self.name}: no room for {count} blocks of {n:#x} bytes aligned to {a:#x} "
                                  f"({self._free_bytes():#x} bytes free, largest free block {self._largest():#x}); "
                                  f"none allocated")
                hole, p = found
                out.append(self._carve(hole, p, n, tag).start)
                if hole.free and len(out) < count and not n & (a - 1):
                    self._carve_run(hole, n, count - len(out), tag, out)
        return out

    def _carve_run(self, hole: _Block, n: int, most: int, tag: str, out: list[int]) -> None:
        """The next carves of :meth:`alloc_many` from ``hole`` in one step, as far as :meth:`_best_fast` would
        choose ``hole`` for each of them: it just chose it (a carve from its top, which left the top aligned, and
        ``n`` is a multiple of the alignment: no tail hole); it chooses it again for as long as ``n`` fits when no
        other hole is in its class or in any class between the request's and its own (the search meets ``hole``
        first, and ``hole`` only shrinks). The blocks go top down, as single carves place them; the hole's index
        entry changes once. Appends their addresses to ``out``."""
        size = hole.size
        k = min(most, size // n)
        if k == 0:
            return
        c0 = _class_of(n >> self._gshift)
        alone = self._classes[hole.cls]
        if (self._bitmap >> c0) & ((1 << (hole.cls - c0)) - 1) or alone is None or len(alone) != 1:
            return
        self.generation += k
        used = self._used
        start = hole.start
        top = start + size
        after = hole.next
        for _ in range(k):
            top -= n
            if top == start:  # the last carve takes the whole hole
                blk = self._take_whole(hole, n, tag)
            else:
                blk = _Block(top, n, False, tag)
                blk.prev = hole
            blk.next = after
            if after is not None:
                after.prev = blk
            after = blk
            used[top] = blk
            out.append(top)
        if top != start:
            hole.next = after
            self._index_resize(hole, top - start)
        self._used_bytes += k * n

    def _best_fast(self, n: int, a: int) -> tuple[_Block, int] | None:
        """Good fit: probe the boundary classes briefly, then take any hole of a class that surely fits."""
        fit = self._fits.get((n, a))
        if fit is None:
            gs = self._gshift
            fit = (_class_of(n >> gs), _first_class_at_least((n + a - self.granularity) >> gs))
            if len(self._fits) < 4096:
                self._fits[(n, a)] = fit
        c, cg = fit
        holes = self._holes
        classes = self._classes
        m = self._bitmap >> c
        while m:
            low = m & -m
            step = low.bit_length()
            c += step - 1
            cls = classes[c]
            assert cls is not None
            if c >= cg:
                if cls._new:
                    cls.ordered()
                h = holes[cls._sorted[0]]
                return h, (h.start + h.size - n) & ~(a - 1)
            for start in cls.ordered().islice(0, _PROBE):
                h = holes[start]
                p = (start + h.size - n) & ~(a - 1)
                if p >= start:
                    return h, p
            m >>= step
            c += 1
        return None

    def _search(self, n: int, a: int, placement: Placement, lo: int, hi: int) -> tuple[_Block, int] | None:
        """Exhaustive, class-pruned search for ``placement`` inside ``[lo, hi)``."""
        if hi - lo < n:
            return None
        gs = self._gshift
        holes = self._holes
        best: tuple[_Block, int] | None = None
        for c in self._nonempty_from(_class_of(n >> gs)):
            cls = self._classes[c]
            assert cls is not None
            lst = cls.ordered()
            if placement is Placement.HIGH:
                for start in lst.irange(maximum=hi - 1, reverse=True):
                    h = holes[start]
                    top = min(start + h.size, hi)
                    if top <= lo or (best is not None and top - n <= best[1]):
                        break
                    p = (top - n) & ~(a - 1)
                    if p >= max(start, lo):
                        best = (h, p)
                        break
                continue
            # LOW and BEST scan in address order from lo; first the hole that straddles lo, if any
            i = lst.bisect_left(lo) - 1
            starts: Iterable[int] = lst.irange(minimum=lo, maximum=hi - 1)
            if i >= 0:
                starts = _chain_one(lst[i], starts)
            for start in starts:
                if placement is Placement.LOW and best is not None and start >= best[1]:
                    break
                h = holes[start]
                bottom = max(start, lo)
                top = min(start + h.size, hi)
                if placement is Placement.LOW:
                    p = (bottom + a - 1) & ~(a - 1)
                    if p + n <= top:
                        best = (h, p)
                        break
                else:
                    p = (top - n) & ~(a - 1)
                    if top - bottom >= n and p >= bottom:
                        return h, p
        return best

    def _carve(self, hole: _Block, p: int, n: int, tag: str) -> _Block:
        """Split ``hole`` into [start, p) (stays a hole), the new block [p, p+n), and a tail hole."""
        self.generation += 1
        end = hole.start + hole.size
        tail = end - (p + n)
        if p > hole.start:
            size = p - hole.start
            u = size >> self._gshift
            fl = u.bit_length() - 1
            if u >= 2 * _SL and (fl - 1) * _SL + ((u >> (fl - _SL_BITS)) & (_SL - 1)) == hole.cls:
                hole.size = size  # the same size class: nothing to re-index
            else:
                self._index_resize(hole, size)
            blk = _Block(p, n, False, tag)
            blk.prev = hole
            blk.next = hole.next
            if hole.next is not None:
                hole.next.prev = blk
            hole.next = blk
        else:
            blk = self._take_whole(hole, n, tag)
        if tail > 0:
            t = _Block(p + n, tail, True)
            t.prev = blk
            t.next = blk.next
            if blk.next is not None:
                blk.next.prev = t
            blk.next = t
            self._index_add(t)
        self._used[p] = blk
        self._used_bytes += n
        return blk

    def _take_whole(self, hole: _Block, n: int, tag: str) -> _Block:
        """Make ``hole`` the used block of its first ``n`` bytes (out of the index; a tail is the caller's)."""
        self._index_remove(hole)
        hole.free = False
        hole.size = n
        hole.tag = tag
        hole.cls = -1
        return hole

    def reserve(self, start: int, size: int, *, tag: str = "reserved") -> int:
        """Take the fixed range ``[start, start + size)`` (it must be free); returns ``start``.

        Raises:
            MmError: unaligned, outside the range, or overlapping an allocation (named in the message).
        """
        n = self._round(size, "reservation")
        if not isinstance(start, int) or start % self.granularity:
            raise MmError(f"{self.name}: reservation start {start!r} is not a multiple of the granularity "
                          f"{self.granularity:#x}")
        if start < self.base or start + n > self.end:
            raise MmError(f"{self.name}: reservation [{start:#x}, {start + n:#x}) is outside "
                          f"[{self.base:#x}, {self.end:#x})")
        with self._lock:
            hole = self._hole_containing(start)
            if hole is None or hole.start + hole.size < start + n:
                other = self._first_used_overlapping(start, start + n)
                what = (f"allocation [{other.start:#x}, {other.start + other.size:#x})"
                        + (f" ({other.tag})" if other.tag else "")) if other is not None else "an allocation"
                raise MmError(f"{self.name}: cannot reserve [{start:#x}, {start + n:#x}) {tag!r}: it overlaps {what}")
            blk = self._carve(hole, start, n, tag)
            blk.reserved = True
            self._reserved_bytes += n
            return start

    def _hole_containing(self, addr: int) -> _Block | None:
        for c in self._nonempty_from(0):
            cls = self._classes[c]
            assert cls is not None
            lst = cls.ordered()
            i = lst.bisect_right(addr) - 1
            if i >= 0:
                h = self._holes[lst[i]]
                if addr < h.start + h.size:
                    return h
        return None

    def _block_containing(self, addr: int) -> _Block | None:
        """Any block (free or used) containing ``addr``: from the nearest hole below, walk the list."""
        best_start = None
        for c in self._nonempty_from(0):
            cls = self._classes[c]
            assert cls is not None
            lst = cls.ordered()
            i = lst.bisect_right(addr) - 1
            if i >= 0 and (best_start is None or lst[i] > best_start):
                best_start = lst[i]
        b: _Block | None = self._holes[best_start] if best_start is not None else self._head
        while b is not None and b.start + b.size <= addr:
            b = b.next
        return b if b is not None and b.start <= addr else None

    def _first_used_overlapping(self, start: int, end: int) -> _Block | None:
        b = self._block_containing(start)
        while b is not None and b.start < end:
            if not b.free:
                return b
            b = b.next
        return None

    # -- free -------------------------------------------------------------------------------------

    def free(self, addr: int) -> None:
        """Free the block that starts at ``addr``, merging it with free neighbours.

        Raises:
            MmError: ``addr`` is not the start of an allocation (a double free, or an address inside one).
        """
        lock = self._lock
        lock.acquire()  # (as in alloc)
        try:
            b = self._used.pop(addr, None)
            if b is None:
                raise MmError(f"{self.name}: free of {addr:#x}: {self._describe_not_allocated(addr)}")
            self._forget(b)
            self._release(b)
        finally:
            lock.release()

    def free_many(self, addrs: Iterable[int]) -> None:
        """Free every block of ``addrs``, under one lock and in address order, as many :meth:`free` calls would
        (blocks that lie one after the other are merged with each other first, then with their neighbours: one
        index update for the run); the first that is not an allocation stops it (the ones below it are freed)
        with the error :meth:`free` gives."""
        with self._lock:
            self._free_sorted(sorted(addrs))

    def _free_sorted(self, addrs: list[int]) -> None:
        """:meth:`free_many` with ``addrs`` in ascending order (the caller holds the lock)."""
        used = self._used
        first: _Block | None = None  # the run of adjacent blocks being gathered: its first block and its end
        end = 0
        for addr in addrs:
            b = used.get(addr)
            if b is not None and first is not None and addr == end:
                del used[addr]
                self._forget(b)
                first.size += b.size
                first.next = b.next
                if b.next is not None:
                    b.next.prev = first
                end += b.size
                continue
            if first is not None:
                self._release(first)
                first = None
            if b is None:
                raise MmError(f"{self.name}: free of {addr:#x}: {self._describe_not_allocated(addr)}")
            del used[addr]
            self._forget(b)
            first, end = b, addr + b.size
        if first is not None:
            self._release(first)

    def _forget(self, b: _Block) -> None:
        """The accounting of freeing ``b``, already out of ``_used``."""
        self.generation += 1
        self._used_bytes -= b.size
        if b.reserved:
            self._reserved_bytes -= b.size
            b.reserved = False
        b.tag = ""

    def _release(self, b: _Block) -> None:
        """Make the used block ``b`` (out of ``_used`` and accounted for) a hole, merged with free neighbours."""
        prev, nxt = b.prev, b.next
        if prev is not None and prev.free:
            size = prev.size + b.size
            after = nxt
            if nxt is not None and nxt.free:
                self._index_remove(nxt)
                size += nxt.size
                after = nxt.next
            prev.next = after
            if after is not None:
                after.prev = prev
            self._index_resize(prev, size)
        elif nxt is not None and nxt.free:
            self._index_remove(nxt)
            b.size += nxt.size
            b.next = nxt.next
            if nxt.next is not None:
                nxt.next.prev = b
            b.free = True
            self._index_add(b)
        else:
            b.free = True
            self._index_add(b)

    def _describe_not_allocated(self, addr: int) -> str:
        if not self.base <= addr < self.end:
            return f"outside [{self.base:#x}, {self.end:#x})"
        b = self._block_containing(addr)
        if b is None:
            return "not allocated"
        if b.free:
            return f"not allocated (free range [{b.start:#x}, {b.start + b.size:#x}); double free?)"
        tag = f" ({b.tag})" if b.tag else ""
        return f"not the start of an allocation: it lies inside [{b.start:#x}, {b.start + b.size:#x}){tag}"

    # -- queries -------------------------------------------------------------------------------------

    def allocation(self, addr: int) -> Allocation:
        """The allocation starting at ``addr``."""
        with self._lock:
            b = self._used.get(addr)
            if b is None:
                raise MmError(f"{self.name}: {addr:#x}: {self._describe_not_allocated(addr)}")
            return Allocation(b.start, b.size, b.tag, b.reserved)

    def allocations(self) -> list[Allocation]:
        """Every allocation and reservation, in address order."""
        with self._lock:
            out = []
            b: _Block | None = self._head
            while b is not None:
                if not b.free:
                    out.append(Allocation(b.start, b.size, b.tag, b.reserved))
                b = b.next
            return out

    def holes(self) -> list[tuple[int, int]]:
        """``(start, size)`` of every free block, in address order."""
        with self._lock:
            return sorted((b.start, b.size) for b in self._holes.values())

    def _free_bytes(self) -> int:
        return self.size - self._used_bytes

    def _largest(self) -> int:
        if not self._bitmap:
            return 0
        cls = self._classes[self._bitmap.bit_length() - 1]
        assert cls is not None
        return max(self._holes[s].size for s in cls.ordered())

    def stats(self) -> AllocatorStats:
        with self._lock:
            return AllocatorStats(size=self.size, used=self._used_bytes, free=self._free_bytes(),
                                  reserved=self._reserved_bytes, largest_free=self._largest(),
                                  holes=len(self._holes), allocations=len(self._used))

    def __contains__(self, addr: int) -> bool:
        return addr in self._used

    def __len__(self) -> int:
        return len(self._used)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name} [{self.base:#x}, {self.end:#x}) used={self._used_bytes:#x} "
                f"allocations={len(self._used)} holes={len(self._holes)}>")

    # -- eviction --------------------------------------------------------------------------------

    def eviction_scan(self, size: int, *, align: int = 0, placement: Placement = Placement.BEST,
                      lo: int | None = None, hi: int | None = None) -> EvictionScan:
        """Start a drm_mm_scan-style search for allocations to evict so that a request fits."""
        n = self._round(size, "eviction request")
        a = self._align(align)
        rlo = self.base if lo is None else max(lo, self.base)
        rhi = self.end if hi is None else min(hi, self.end)
        return EvictionScan(self, n, a, placement, rlo, rhi)


def _chain_one(first: int, rest: Iterable[int]) -> Iterator[int]:
    yield first
    yield from rest


class EvictionScan:
    """Pick allocations to evict so that a ``size``/``align`` request fits (the kernel's drm_mm_scan).

    Feed candidates in eviction order (least recently used first) with :meth:`add`; it returns True once
    the candidates added so far, together with the holes beside them, make a region where the request
    fits. :meth:`evictions` then names the candidates that overlap the chosen placement - the caller frees
    those (and only those) and allocates. The allocator must not change during a scan.
    """

    def __init__(self, alloc: RangeAllocator, n: int, a: int, placement: Placement, lo: int, hi: int) -> None:
        self._alloc = alloc
        self.size = n
        self.align = a
        self.placement = placement
        self.lo = lo
        self.hi = hi
        self._generation = alloc.generation
        self._added: dict[int, _Block] = {}
        self._by_start: dict[int, int] = {}  # virtual free region start -> end
        self._by_end: dict[int, int] = {}  # end -> start
        self.found: int | None = None  #: the address the request will get

    def _check(self) -> None:
        if self._alloc.generation != self._generation:
            raise MmError(f"{self._alloc.name}: the allocator changed during an eviction scan; start a new scan")

    def add(self, addr: int) -> bool:
        """Add the allocation at ``addr`` as an eviction candidate; True once the request fits."""
        self._check()
        alloc = self._alloc
        with alloc._lock:
            b = alloc._used.get(addr)
            if b is None:
                raise MmError(f"{alloc.name}: eviction candidate {addr:#x}: {alloc._describe_not_allocated(addr)}")
            if b.reserved:
                raise MmError(f"{alloc.name}: eviction candidate [{b.start:#x}, {b.start + b.size:#x}) "
                              f"{b.tag!r} is a fixed reservation and cannot be evicted")
            if addr in self._added:
                raise MmError(f"{alloc.name}: eviction candidate {addr:#x} was already added to this scan")
            if self.found is not None:
                return True
            self._added[addr] = b
            start, end = b.start, b.start + b.size
            if start in self._by_end:
                start = self._by_end.pop(start)
                del self._by_start[start]
            elif b.prev is not None and b.prev.free:
                start = b.prev.start
            if end in self._by_start:
                new_end = self._by_start.pop(end)
                del self._by_end[new_end]
                end = new_end
            elif b.next is not None and b.next.free:
                end = b.next.start + b.next.size
            self._by_start[start] = end
            self._by_end[end] = start
            bottom, top = max(start, self.lo), min(end, self.hi)
            n, a = self.size, self.align
            if self.placement is Placement.LOW:
                p = (bottom + a - 1) & ~(a - 1)
                ok = p + n <= top
            else:
                p = (top - n) & ~(a - 1)
                ok = top - bottom >= n and p >= bottom
            if ok:
                self.found = p
            return ok

    def evictions(self) -> list[int]:
        """The candidates to free, in address order (those overlapping the found placement)."""
        self._check()
        if self.found is None:
            raise MmError(f"{self._alloc.name}: eviction scan for {self.size:#x} bytes has not found a hole yet "
                          f"({len(self._added)} candidates added)")
        p, e = self.found, self.found + self.size
        return sorted(s for s, b in self._added.items() if s < e and s + b.size > p)


class VramAllocator(RangeAllocator):
    """The VRAM allocator: a :class:`RangeAllocator` over ``[0, vram_size)`` with the fixed regions reserved.

    Args:
        vram_size: bytes of VRAM.
        reservations: ``(start, size, name)`` of the fixed regions (see :mod:`nova_core.mm.layout`).
        granularity: smallest block (256 bytes: the alignment of a big-page table).
    """

    def __init__(self, vram_size: int, reservations: Iterable[tuple[int, int, str]] = (), *,
                 granularity: int = 256) -> None:
        super().__init__(vram_size, base=0, granularity=granularity, name="vram")
        for start, size, name in reservations:
            self.reserve(start, size, tag=name)
