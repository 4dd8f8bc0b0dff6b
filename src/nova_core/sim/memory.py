"""nova_core.sim.memory: simulated system memory (behind an IOMMU) and simulated VRAM.

:class:`SimSystemMemory` is the simulated GPU's ``DmaAllocator``: every buffer gets a bus address in
a private IOVA space with an unmapped guard page after it. The space starts at 1 TiB (bit 40) by default, as
an IOMMU may hand out: a driver truncating addresses to 32 bits is caught, and so is one that drops bits 40
and up - which only falcon DMATRFBASE1 (48:40) and the ``_HI`` halves of split address registers carry.
(The placement is the sim's choice; real IOVAs depend on the platform.) A buffer asked for below an address limit
(``alloc(limit=)``: Turing's 40-bit sysmem flush page register) comes from a low range starting at 4 GiB instead,
so it is still above what 32 bits hold. Simulated engines reach system memory
only through :meth:`SimSystemMemory.view`/``read``/``write`` by bus address; an access to an unmapped, freed or
straddling range is refused with a :class:`~nova_core.errors.SimViolation`, as an IOMMU fault would,
and so is a device write to a read-only mapping (a mapped file).

Scatter-gather memory (``alloc_sg``/``map_sg``) is deliberately *scattered*: the pages are cut into
runs of 1-64 pages, neighbouring runs are sometimes kept bus-contiguous (so a driver must coalesce
them) and the groups land in the IOVA space in a shuffled order with guard pages between them (so a
driver that assumes contiguity, or walks a table wrongly, reads the wrong bytes or faults). The plan is
deterministic (a seeded generator), so a failing test replays exactly.

Device-side helpers read what hardware would read: :meth:`SimSystemMemory.radix3_page_addrs` and
:meth:`SimSystemMemory.read_radix3` walk a GSP radix3 tree (level 0 -> level 1 -> level 2 -> image
pages, 4 KiB pages of little-endian u64 bus addresses) with the sim's own code, never the driver's.

:class:`SparseMemory` is VRAM: sized like the real board, allocated in 64 KiB chunks on first touch, so
a 24 GiB AD102 costs only what the test writes. Never-written VRAM reads as zero.
"""

from __future__ import annotations

import bisect
import mmap
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DmaError, SimViolation
from ..hw.dma import PAGE_SIZE, DmaBuffer, MemoryLike, check_alloc_args, memory_view
from ..hw.sg import SgSegment, SgTable
from .log import SimLog

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_PAGE_SHIFT = 12
_RADIX3_ENTRIES_PER_PAGE = PAGE_SIZE // 8  #: u64 entries per 4 KiB radix3 page
_SG_MAX_RUN_PAGES = 64  #: longest run of pages the scatter plan keeps together (6 random bits + 1)
_POOL_LIMIT = 512 << 20  #: freed memory kept for reuse (warm pages, like a real page allocator's)
#: from this size, memory is not zero-filled by the simulator: zeroed memory is an anonymous mapping (the kernel's
#: zero pages until first touched; a recycled one is handed back with MADV_DONTNEED) and memory the caller
#: overwrites (``zero=False``) is not cleared at all but for its tail
_LAZY_MIN = 1 << 20

_Backing = bytearray | mmap.mmap


def _page_round(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass
class _Mapping:
    bus: int
    size: int
    buf: DmaBuffer
    foreign: bool
    writable: bool = True
    backing: _Backing | None = None  #: the allocator's own memory (recycled on free)
    table: SgTable | None = None  #: the sg table this mapping is a segment group of


class SimSystemMemory:
    """Simulated host memory behind an IOMMU: the sim's :class:`~nova_core.hw.dma.DmaAllocator`.

    Args:
        log: where mappings (debug) and IOMMU faults (errors) are recorded.
        base / limit: the IOVA space handed out.
        low_base: where the low range for allocations below an address limit starts (it ends at ``base``).
        max_bytes: most memory the allocator owns at once (foreign mappings do not count).
        scatter: scatter ``alloc_sg``/``map_sg`` memory on the bus (``False``: one segment each).
        seed: seed of the scatter plan.
    """

    def __init__(self, log: SimLog, *, base: int = 1 << 40, limit: int = 1 << 47, low_base: int = 1 << 32,
                 max_bytes: int = 8 << 30, scatter: bool = True, seed: int = 0x5EED) -> None:
        if not 0 < low_base <= base < limit:
            raise DmaError(f"sim sysmem: IOVA ranges low {low_base:#x}, base {base:#x}, limit {limit:#x} are not "
                           f"in order")
        self._log = log
        self._next = base
        self._limit = limit
        self._next_low = low_base
        self._low_end = base
        self._max_bytes = max_bytes
        self._starts: list[int] = []
        self._maps: list[_Mapping] = []
        self._tables: dict[int, list[_Mapping]] = {}
        self._pool: dict[int, list[_Backing]] = {}
        self._pool_bytes = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.scatter = scatter
        self.allocated_bytes = 0

    # -- DmaAllocator -----------------------------------------------------------------------------

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "", limit: int | None = None) -> DmaBuffer:
        check_alloc_args(size, align, "sim sysmem", limit)
        backing = self._take_memory(size, name)
        view = memoryview(backing)[:size]
        try:
            return self._map(view, size, align, name, foreign=False, backing=backing, limit=limit)
        except DmaError:
            with self._lock:  # not mapped, not counted: the memory goes back to the pool
                self._recycle(backing)
            raise

    def free(self, buf: DmaBuffer) -> None:
        with self._lock:
            i = bisect.bisect(self._starts, buf.bus_addr) - 1
            if i < 0 or self._maps[i].buf is not buf or self._maps[i].table is not None:
                raise DmaError(
                    f"sim sysmem: free of {buf.name!r} at bus {buf.bus_addr:#x}: not allocated here "
                    f"(double free?)"
                )
            m = self._maps.pop(i)
            self._starts.pop(i)
            if not m.foreign:
                self.allocated_bytes -= _page_round(m.size)
            self._recycle(m.backing)
        buf.mark_freed()
        self._log.debug("sysmem", f"unmapped {buf.name!r} bus {buf.bus_addr:#x}+{buf.size:#x}")

    def alloc_sg(self, size: int, *, name: str = "", zero: bool = True) -> SgTable:
        """Driver-owned memory, contiguous for the CPU and scattered on the bus; zeroed unless ``zero=False``.

        With ``zero=False`` the first ``size`` bytes hold whatever a previous user left (the caller
        overwrites them); the tail of the last page is zeroed all the same.
        """
        check_alloc_args(size, PAGE_SIZE, "sim sysmem")
        backing = self._take_memory(size, name, zero=zero)
        return self._map_sg(memoryview(backing)[:size], name, writable=True, backing=backing)

    def map_sg(self, memory: MemoryLike, *, name: str = "", device_writable: bool = True) -> SgTable:
        """Map memory the driver does not own, without copying, as a scattered sg table.

        The sim treats the first byte as page aligned. Read-only memory (``bytes``, a read-only mmap)
        is mapped device-read-only whatever ``device_writable`` says.
        """
        view = memory_view(memory)
        if view.nbytes == 0:
            raise DmaError(f"sim sysmem: cannot map empty foreign memory {name!r}")
        return self._map_sg(view, name, writable=device_writable and not view.readonly, backing=None)

    def free_sg(self, table: SgTable) -> None:
        with self._lock:
            maps = self._tables.pop(id(table), None)
            if maps is None or maps[0].table is not table:
                if maps is not None:  # an id reused by another table: put it back
                    self._tables[id(maps[0].table)] = maps
                raise DmaError(f"sim sysmem: free of sg table {table.name!r}: not mapped here (double free?)")
            for m in maps:
                i = bisect.bisect(self._starts, m.bus) - 1
                self._maps.pop(i)
                self._starts.pop(i)
                m.buf.mark_freed()
            backing = maps[0].backing
            if backing is not None:
                self.allocated_bytes -= _page_round(table.size)
                self._recycle(backing)
        table.mark_released()
        self._log.debug("sysmem", f"unmapped sg table {table.name!r} ({len(maps)} bus ranges)")

    # -- foreign memory -------------------------------------------------------------------------

    def map_foreign(self, memory: MemoryLike, *, name: str = "") -> DmaBuffer:
        """Map memory the driver does not own (a caller's buffer) without copying it, bus-contiguous.

        Read-only memory gives a read-only buffer that the device may only read.
        """
        view = memory_view(memory)
        if view.nbytes == 0:
            raise DmaError(f"sim sysmem: cannot map empty foreign buffer {name!r}")
        return self._map(view, view.nbytes, PAGE_SIZE, name, foreign=True, backing=None)

    # -- internals ------------------------------------------------------------------------------

    def _take_memory(self, size: int, name: str, *, zero: bool = True) -> _Backing:
        rounded = _page_round(size)
        with self._lock:
            if self.allocated_bytes + rounded > self._max_bytes:
                raise DmaError(
                    f"sim sysmem: cannot allocate {name!r} ({size:#x} bytes): {self.allocated_bytes:#x} of "
                    f"{self._max_bytes:#x} bytes already in use"
                )
            free = self._pool.get(rounded)
            backing = free.pop() if free else None
            if backing is not None:
                self._pool_bytes -= rounded
        # memory is handed out zeroed (all of it, or only past what the caller will overwrite)
        if backing is None:
            if rounded < _LAZY_MIN:
                return bytearray(rounded)
            # the kernel's zero pages until first touched, whether or not the caller overwrites it; page aligned as
            # the pages of a real DMA allocation are (a copy into memory that starts 16 bytes into a page, as a
            # large malloc gives, runs slower); private: a shared anonymous mapping would keep its pages through
            # MADV_DONTNEED
            return mmap.mmap(-1, rounded, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        if zero and isinstance(backing, mmap.mmap):
            backing.madvise(mmap.MADV_DONTNEED)  # private anonymous memory: reads as zero again, lazily
            return backing
        import numpy as np

        np.frombuffer(backing, dtype=np.uint8)[0 if zero else size:].fill(0)
        return backing

    def _recycle(self, backing: _Backing | None) -> None:
        """Keep freed memory for reuse (called with the lock held)."""
        if backing is None or self._pool_bytes + len(backing) > _POOL_LIMIT:
            return
        self._pool.setdefault(len(backing), []).append(backing)
        self._pool_bytes += len(backing)

    def _insert(self, m: _Mapping) -> None:
        i = bisect.bisect(self._starts, m.bus)
        self._starts.insert(i, m.bus)
        self._maps.insert(i, m)

    def _map(self, view: memoryview, size: int, align: int, name: str, *, foreign: bool,
             backing: _Backing | None, limit: int | None = None) -> DmaBuffer:
        with self._lock:
            span = _page_round(size)
            bus = (self._next + align - 1) & ~(align - 1)
            if limit is not None and bus + span > limit:  # from the low range (its own guard pages)
                bus = (self._next_low + align - 1) & ~(align - 1)
                if bus + span > min(limit, self._low_end):
                    raise DmaError(f"sim sysmem: no IOVA space below {limit:#x} left for {name!r} ({size:#x} "
                                   f"bytes)")
                self._next_low = bus + span + PAGE_SIZE
            elif bus + span > self._limit:
                raise DmaError(f"sim sysmem: IOVA space exhausted mapping {name!r} ({size:#x} bytes)")
            else:
                self._next = bus + span + PAGE_SIZE  # guard page: overruns fault
            buf = DmaBuffer(view, bus, name, readonly=view.readonly)
            self._insert(_Mapping(bus, size, buf, foreign, not view.readonly, backing))
            if not foreign:
                self.allocated_bytes += span
        self._log.debug("sysmem", f"mapped {name!r} at bus {bus:#x}+{size:#x}")
        return buf

    def _plan(self, npages: int) -> list[list[int]]:
        """Scatter plan: groups (bus-contiguous) of runs (segments) of pages, as page counts."""
        if not self.scatter:
            return [[npages]]
        groups: list[list[int]] = []
        left = npages
        bits = self._rng.getrandbits
        while left:
            group: list[int] = []
            for _ in range(1 + bits(8) % 3):
                run = min(left, 1 + bits(6))  # 1.._SG_MAX_RUN_PAGES
                group.append(run)
                left -= run
                if not left:
                    break
            groups.append(group)
        return groups

    def _map_sg(self, view: memoryview, name: str, *, writable: bool, backing: _Backing | None) -> SgTable:
        size = view.nbytes
        npages = (size + PAGE_SIZE - 1) >> _PAGE_SHIFT
        with self._lock:
            plan = self._plan(npages)
            order = list(range(len(plan)))
            self._rng.shuffle(order)
            # place the groups in shuffled order, a guard page after each
            group_bus = [0] * len(plan)
            bus = self._next
            for gi in order:
                group_bus[gi] = bus
                bus += sum(plan[gi]) * PAGE_SIZE + PAGE_SIZE
            if bus > self._limit:
                raise DmaError(f"sim sysmem: IOVA space exhausted mapping {name!r} ({size:#x} bytes)")
            self._next = bus
            segments: list[SgSegment] = []
            groups: list[tuple[int, int, int]] = []  # (offset, bus, length)
            page = 0
            for gi, group in enumerate(plan):
                gbus, goff = group_bus[gi], page * PAGE_SIZE
                for run in group:
                    off = page * PAGE_SIZE
                    length = min(run * PAGE_SIZE, size - off)
                    segments.append(SgSegment(off, gbus + (off - goff), length))
                    page += run
                groups.append((goff, gbus, min(page * PAGE_SIZE, size) - goff))
            table = SgTable(view, segments, name=name, device_writable=writable)
            maps: list[_Mapping] = []
            for k, (off, gbus, length) in enumerate(groups):
                part = DmaBuffer(view[off:off + length], gbus, f"{name}[{k}]", readonly=view.readonly)
                maps.append(_Mapping(gbus, length, part, backing is None, writable, backing, table))
            # the groups lie above every live mapping (both ranges grow upwards, the low one below the high one's
            # base): in bus order (the order they were placed in) they extend the sorted index at its end
            placed = [maps[gi] for gi in order]
            self._starts.extend([m.bus for m in placed])
            self._maps.extend(placed)
            self._tables[id(table)] = maps
            if backing is not None:
                self.allocated_bytes += _page_round(size)
        self._log.debug("sysmem", f"mapped sg table {name!r} ({size:#x} bytes) as {len(segments)} segments in "
                                  f"{len(groups)} bus ranges{'' if writable else ', device read-only'}")
        return table

    # -- device side ----------------------------------------------------------------------------

    def find(self, bus_addr: int) -> DmaBuffer | None:
        """The live buffer containing ``bus_addr``, if any."""
        m = self._find(bus_addr)
        return None if m is None else m.buf

    def _find(self, bus_addr: int) -> _Mapping | None:
        with self._lock:
            i = bisect.bisect(self._starts, bus_addr) - 1
            if i >= 0:
                m = self._maps[i]
                if bus_addr < m.bus + m.size:
                    return m
        return None

    def _fault(self, msg: str) -> SimViolation:
        self._log.error("iommu", msg)
        return SimViolation(msg)

    def view(self, bus_addr: int, length: int, *, who: str = "device", write: bool = False) -> memoryview:
        """A view of ``length`` bytes at ``bus_addr``, as a DMA engine reaches them.

        ``write=True`` for a device write: a read-only mapping refuses it.

        Raises:
            SimViolation: the range is not inside one live mapping (an IOMMU fault), or a write hits
                a read-only mapping.
        """
        m = self._find(bus_addr)
        if m is None or bus_addr + length > m.bus + m.size or length < 0:
            msg = f"{who}: DMA to unmapped bus address range [{bus_addr:#x}, {bus_addr + length:#x})"
            if m is not None:
                msg += f" (runs past {m.buf.name!r} which ends at {m.bus + m.size:#x})"
            raise self._fault(msg)
        if write and not m.writable:
            raise self._fault(f"{who}: DMA write to read-only mapping {m.buf.name!r} at bus "
                              f"[{bus_addr:#x}, {bus_addr + length:#x})")
        start = bus_addr - m.bus
        return m.buf.view[start:start + length]

    def read(self, bus_addr: int, length: int, *, who: str = "device") -> bytes:
        return bytes(self.view(bus_addr, length, who=who))

    def write(self, bus_addr: int, data: bytes, *, who: str = "device") -> None:
        self.view(bus_addr, len(data), who=who, write=True)[:] = data

    def gather(self, bus_addr: int, length: int, out: memoryview, *, who: str = "device") -> None:
        """Device read of ``length`` bytes at ``bus_addr`` into ``out``, across adjacent mappings."""
        pos = 0
        while pos < length:
            m = self._find(bus_addr + pos)
            if m is None:
                raise self._fault(f"{who}: DMA read of unmapped bus address {bus_addr + pos:#x} (reading "
                                  f"[{bus_addr:#x}, {bus_addr + length:#x}))")
            start = bus_addr + pos - m.bus
            n = min(length - pos, m.size - start)
            out[pos:pos + n] = m.buf.view[start:start + n]
            pos += n

    def mappings(self) -> list[tuple[int, int, str]]:
        """``(bus, size, name)`` of every live mapping, in address order."""
        with self._lock:
            return [(m.bus, m.size, m.buf.name) for m in self._maps]

    # -- GSP radix3, as the GSP's boot ROM/booter walks it ------------------------------------------

    def _u64_table(self, bus: int, count: int, what: str, who: str) -> npt.NDArray[np.uint64]:
        import numpy as np

        raw = bytearray(count * 8)
        self.gather(bus, count * 8, memoryview(raw), who=f"{who} ({what} at {bus:#x})")
        table = np.frombuffer(raw, dtype="<u8").astype(np.uint64)
        bad = np.nonzero(table % np.uint64(PAGE_SIZE))[0]
        if bad.size:
            i = int(bad[0])
            raise self._fault(f"{who}: {what} entry {i} is {int(table[i]):#x}, not a 4 KiB-aligned page address")
        return table

    def radix3_page_addrs(self, level0_bus: int, length: int, *, who: str = "GSP radix3") -> npt.NDArray[np.uint64]:
        """Bus address of every 4 KiB page of a ``length``-byte image behind the radix3 tree at ``level0_bus``.

        Level 0 is one page whose entry 0 points at level 1; level 1 lists the level-2 pages; level 2
        lists the image pages.
        """
        if level0_bus % PAGE_SIZE:
            raise self._fault(f"{who}: radix3 level 0 at {level0_bus:#x} is not 4 KiB aligned")
        npages = (length + PAGE_SIZE - 1) >> _PAGE_SHIFT
        l2_pages = (npages + _RADIX3_ENTRIES_PER_PAGE - 1) // _RADIX3_ENTRIES_PER_PAGE
        if not 0 < l2_pages <= _RADIX3_ENTRIES_PER_PAGE:
            raise self._fault(f"{who}: a {length:#x}-byte image needs {l2_pages} level-2 pages; one level-1 page "
                              f"holds 1..{_RADIX3_ENTRIES_PER_PAGE}")
        import numpy as np

        level1 = int(self._u64_table(level0_bus, 1, "radix3 level 0", who)[0])
        level2 = self._u64_table(level1, l2_pages, "radix3 level 1", who)
        pages = np.empty(l2_pages * _RADIX3_ENTRIES_PER_PAGE, dtype=np.uint64)
        for k, l2 in enumerate(level2.tolist()):
            n = min(_RADIX3_ENTRIES_PER_PAGE, npages - k * _RADIX3_ENTRIES_PER_PAGE)
            pages[k * _RADIX3_ENTRIES_PER_PAGE:k * _RADIX3_ENTRIES_PER_PAGE + n] = \
                self._u64_table(int(l2), n, f"radix3 level 2 page {k}", who)
        return pages[:npages]

    def read_radix3(self, level0_bus: int, length: int, *, who: str = "GSP radix3") -> bytearray:
        """The ``length``-byte image the radix3 tree at ``level0_bus`` maps, read page by page."""
        pages = self.radix3_page_addrs(level0_bus, length, who=who)
        out = bytearray(length)
        mv = memoryview(out)
        if not length:
            return out
        # runs of bus-consecutive pages are read in one go
        import numpy as np

        breaks = np.nonzero(np.diff(pages.astype(np.int64)) != PAGE_SIZE)[0] + 1
        starts = np.concatenate(([0], breaks)).tolist()
        ends = np.concatenate((breaks, [pages.size])).tolist()
        for s, e in zip(starts, ends, strict=True):
            off = s * PAGE_SIZE
            n = min(e * PAGE_SIZE, length) - off
            self.gather(int(pages[s]), n, mv[off:off + n], who=f"{who} (image page {s})")
        return out


class SparseMemory:
    """Byte-addressed memory of a fixed size, materialised in 64 KiB chunks on first write."""

    CHUNK = 1 << 16

    def __init__(self, size: int, name: str = "vram") -> None:
        self.size = size
        self.name = name
        self._chunks: dict[int, bytearray] = {}
        self._lock = threading.Lock()

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > self.size:
            raise SimViolation(
                f"{self.name}: access [{addr:#x}, {addr + length:#x}) outside {self.size:#x} bytes"
            )

    def read(self, addr: int, length: int) -> bytes:
        self._check(addr, length)
        out = bytearray(length)
        pos = 0
        while pos < length:
            a = addr + pos
            idx, off = divmod(a, self.CHUNK)
            n = min(self.CHUNK - off, length - pos)
            chunk = self._chunks.get(idx)
            if chunk is not None:
                out[pos:pos + n] = chunk[off:off + n]
            pos += n
        return bytes(out)

    def read_into(self, addr: int, out: memoryview) -> None:
        """Read ``out.nbytes`` bytes at ``addr`` straight into ``out`` (one copy; a DMA engine's bulk read)."""
        n = out.nbytes
        self._check(addr, n)
        pos = 0
        chunks = self._chunks
        while pos < n:
            idx, off = divmod(addr + pos, self.CHUNK)
            k = min(self.CHUNK - off, n - pos)
            chunk = chunks.get(idx)
            if chunk is None:
                out[pos:pos + k] = bytes(k)
            else:
                out[pos:pos + k] = memoryview(chunk)[off:off + k]
            pos += k

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        mv = memoryview(data).cast("B")
        self._check(addr, mv.nbytes)
        pos = 0
        with self._lock:
            while pos < mv.nbytes:
                a = addr + pos
                idx, off = divmod(a, self.CHUNK)
                n = min(self.CHUNK - off, mv.nbytes - pos)
                chunk = self._chunks.get(idx)
                if chunk is None:
                    chunk = self._chunks[idx] = bytearray(self.CHUNK)
                chunk[off:off + n] = mv[pos:pos + n]
                pos += n

    def read32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write32(self, addr: int, value: int) -> None:
        self.write(addr, value.to_bytes(4, "little"))

    def read64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def write64(self, addr: int, value: int) -> None:
        self.write(addr, value.to_bytes(8, "little"))

    @property
    def resident_bytes(self) -> int:
        return len(self._chunks) * self.CHUNK
