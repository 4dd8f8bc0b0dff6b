"""nova_core.hw.sg: scatter-gather tables: memory that is contiguous for the CPU but not on the bus.

An :class:`SgTable` describes one span of CPU memory (a ``memoryview``: a caller's buffer, an mmap, a
driver-owned bytearray) as mapped for a device: an ordered list of :class:`SgSegment` s, each a run of
bytes at one bus address. It is the Python counterpart of Linux's ``struct sg_table`` after
``dma_map_sgtable()``:

- ``orig_nents``: the segments as the mapper handed them out (one per run of CPU pages);
- ``segments``/``nents``: the same after *coalescing* - neighbours that are contiguous both in the
  memory and on the bus merge into one segment, never beyond ``max_segment`` bytes (the device's
  largest DMA segment, ``dma_get_max_seg_size``);
- page iteration: :meth:`SgTable.page_addrs` gives the bus address of every 4 KiB page in order
  (numpy, vectorised), which is what the GSP radix3 tree and page tables are built from.

Segments that are not page aligned are legal (a byte buffer may start mid-page), but page iteration
refuses them: a device page table can only point at whole pages.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DmaError
from .dma import PAGE_SIZE, DmaBuffer

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PAGE_SHIFT = 12


@dataclass(frozen=True, slots=True)
class SgSegment:
    """``length`` bytes at byte ``offset`` of the table's memory, reached by the device at ``bus_addr``."""

    offset: int
    bus_addr: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def bus_end(self) -> int:
        return self.bus_addr + self.length


def coalesce(segments: Sequence[SgSegment], max_segment: int | None = None) -> list[SgSegment]:
    """Merge neighbours contiguous in memory and on the bus (``max_segment`` bytes at most each).

    A segment that merges with none is kept as the same object; a merged run becomes one new segment."""
    out: list[SgSegment] = []
    first: SgSegment | None = None  # the run being gathered: its first segment, and its offset, bus and length
    off = bus = length = 0
    merged = False
    for s in segments:
        if (first is not None and off + length == s.offset and bus + length == s.bus_addr
                and (max_segment is None or length + s.length <= max_segment)):
            length += s.length
            merged = True
            continue
        if first is not None:
            out.append(SgSegment(off, bus, length) if merged else first)
        first, off, bus, length, merged = s, s.offset, s.bus_addr, s.length, False
    if first is not None:
        out.append(SgSegment(off, bus, length) if merged else first)
    return out


class SgTable:
    """A device mapping of one CPU-contiguous span of memory, as bus segments.

    Args:
        view: the memory (CPU side); ``readonly`` views are legal for device-read-only mappings.
        segments: the mapper's segments, in memory order, covering ``[0, len(view))`` exactly.
        name: for messages.
        max_segment: largest coalesced segment (``None``: unlimited).
        device_writable: whether the device may write this memory (``False`` for a mapped file).

    Raises:
        DmaError: segments leave a gap, overlap, are empty, or do not end at the memory's end.
    """

    __slots__ = ("_released", "_starts", "device_writable", "max_segment", "name", "orig_nents",
                 "orig_segments", "segments", "size", "view")

    def __init__(self, view: memoryview, segments: Sequence[SgSegment], *, name: str = "",
                 max_segment: int | None = None, device_writable: bool = True) -> None:
        self.view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        self.size = self.view.nbytes
        self.name = name
        self.max_segment = max_segment
        self.device_writable = device_writable
        pos = 0
        for i, s in enumerate(segments):
            if s.length <= 0 or s.offset != pos or s.bus_addr < 0:
                raise DmaError(
                    f"sg table {name!r}: segment {i} (offset {s.offset:#x}, bus {s.bus_addr:#x}, length "
                    f"{s.length:#x}) does not continue at offset {pos:#x} with a positive length"
                )
            pos = s.end
        if pos != self.size:
            raise DmaError(f"sg table {name!r}: segments cover {pos:#x} bytes, the memory has {self.size:#x}")
        self.orig_segments = tuple(segments)
        self.orig_nents = len(segments)
        self.segments = tuple(coalesce(segments, max_segment))
        self._starts = [s.offset for s in self.segments]
        self._released = False

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def from_buffer(cls, buf: DmaBuffer, *, name: str | None = None) -> SgTable:
        """A one-segment table over a bus-contiguous :class:`DmaBuffer`."""
        return cls(buf.view, [SgSegment(0, buf.bus_addr, buf.size)], name=buf.name if name is None else name)

    # -- state ----------------------------------------------------------------------------------

    @property
    def nents(self) -> int:
        """Number of coalesced (DMA) segments."""
        return len(self.segments)

    @property
    def released(self) -> bool:
        return self._released

    def mark_released(self) -> None:
        """Called by the mapper when the table is unmapped/freed: later use is refused."""
        self._released = True

    def _live(self) -> None:
        if self._released:
            raise DmaError(f"sg table {self.name!r} used after it was unmapped")

    # -- address translation --------------------------------------------------------------------

    def bus_addr(self, offset: int) -> int:
        """Bus address of byte ``offset`` of the memory."""
        self._live()
        if not 0 <= offset < self.size:
            raise DmaError(f"sg table {self.name!r}: offset {offset:#x} outside its {self.size:#x} bytes")
        s = self.segments[bisect.bisect_right(self._starts, offset) - 1]
        return s.bus_addr + (offset - s.offset)

    @property
    def npages(self) -> int:
        """Number of 4 KiB pages the memory spans (the last one may be partial)."""
        return (self.size + PAGE_SIZE - 1) >> PAGE_SHIFT

    def check_page_aligned(self) -> None:
        """Refuse segments a page-granular device table cannot describe."""
        last = len(self.segments) - 1
        for i, s in enumerate(self.segments):
            if s.bus_addr % PAGE_SIZE or s.offset % PAGE_SIZE or (i != last and s.length % PAGE_SIZE):
                raise DmaError(
                    f"sg table {self.name!r}: segment {i} (offset {s.offset:#x}, bus {s.bus_addr:#x}, length "
                    f"{s.length:#x}) is not page aligned; a device page table needs whole {PAGE_SIZE:#x}-byte "
                    f"pages"
                )

    def page_addrs(self) -> npt.NDArray[np.uint64]:
        """Bus address of every 4 KiB page, in memory order (``uint64`` array of :attr:`npages`)."""
        import numpy as np  # imported where it is used: `nova probe` and `nova --help` do without it

        self._live()
        self.check_page_aligned()
        # page i of a segment starting at memory offset o and bus b is at b - o + i * PAGE_SIZE
        delta = np.array([s.bus_addr - s.offset for s in self.segments], dtype=np.int64)
        counts = np.array([(s.length + PAGE_SIZE - 1) >> PAGE_SHIFT for s in self.segments], dtype=np.int64)
        out = np.repeat(delta, counts) + np.arange(self.npages, dtype=np.int64) * PAGE_SIZE
        return out.astype(np.uint64)

    def iter_pages(self) -> Iterator[tuple[int, int]]:
        """``(offset, bus_addr)`` of every 4 KiB page, in order."""
        for i, bus in enumerate(self.page_addrs().tolist()):
            yield i << PAGE_SHIFT, int(bus)

    # -- CPU access -----------------------------------------------------------------------------

    def _check(self, offset: int, length: int) -> None:
        self._live()
        if offset < 0 or length < 0 or offset + length > self.size:
            raise DmaError(
                f"sg table {self.name!r}: access [{offset:#x}, {offset + length:#x}) outside its {self.size:#x} bytes"
            )

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return bytes(self.view[offset:offset + length])

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        mv = memoryview(data).cast("B")
        self._check(offset, mv.nbytes)
        if self.view.readonly:
            raise DmaError(f"sg table {self.name!r}: the CPU cannot write it (the memory is read-only)")
        self.view[offset:offset + mv.nbytes] = mv

    def __repr__(self) -> str:
        return (f"<SgTable {self.name!r} size={self.size:#x} nents={self.nents} orig_nents={self.orig_nents}"
                f"{' ro' if not self.device_writable else ''}>")
