"""nova_core.api.memory: buffer objects, CPU mappings and VA spaces of the base API (made by
:class:`~nova_core.api.device.Device`: ``alloc``, ``vaspace``).

A :class:`BufferObject` is VRAM (from the FB regions GSP-RM leaves the driver) or system memory (DMA); the CPU
reaches VRAM through BAR1 (:class:`CpuMapping`: the driver's PTEs under GSP-RM's BAR1 root, static info
``bar1PdeBase``; the BAR2 window where a device has no BAR1 aperture) and system memory through its own pages. A
:class:`VaSpace` is GSP-RM's FERMI_VASPACE_A over page tables the driver owns; :meth:`VaSpace.bind` maps a buffer
(or a piece of it) at a GPU VA with a page size of the MMU format's (4 KiB, 64 KiB, 2 MiB, 512 MiB on MMU v3),
refusing an overlap. Every object here is revocable (:mod:`.revocable`): a use after its handle is closed, its
binding ended or the GPU shut down raises :class:`~nova_core.errors.Revoked`.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ApiError, Busy
from ..hw.dma import DmaAllocator, DmaBuffer
from ..mm.allocator import RangeAllocator
from ..mm.pte import PAGE_4K
from ..mm.vmm import Segment, Vmm
from .revocable import Revocable

if TYPE_CHECKING:
    from ..engines.vaspace import AddressSpace
    from ..hw.bar import Bar
    from .device import Device

MAX_BUFFER = 1 << 40  #: the largest buffer object (1 TiB: more than any supported board's VRAM)
CLEAR_CHUNK = 1 << 20  #: CpuMapping.clear writes zeros in pieces of this size
#: BufferObject.read/write/clear map at most this much of a buffer at a time (BAR1 is 256 MiB on GeForce boards and
#: shared by every user: a large buffer is reached through a window that moves, as nouveau's TTM maps what it touches)
MAP_WINDOW = 8 << 20
USER_VA_START = 1 << 32  #: binds live in [4 GiB, end of the space); below is the driver's (channel rings)


def _round(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def _pow2(n: object) -> bool:
    return isinstance(n, int) and n > 0 and not n & (n - 1)



class Placement(enum.StrEnum):
    """Where a buffer object's memory is."""

    VRAM = "vram"  #: video memory, from the FB regions GSP-RM leaves the driver
    SYSMEM = "sysmem"  #: system memory (DMA-coherent, reached by the GPU at a bus address)



# -- buffer objects ----------------------------------------------------------------------------------------------


class _Bo:
    """A buffer object's memory (what its Revocable holds): VRAM at ``phys`` from ``owner`` (the VRAM allocator),
    or the DMA buffer ``dma`` from ``owner`` (the DMA allocator)."""

    def __init__(self, size: int, align: int, placement: Placement, owner: RangeAllocator | DmaAllocator,
                 phys: int | None = None, dma: DmaBuffer | None = None) -> None:
        self.size = size
        self.align = align
        self.placement = placement
        self.owner = owner
        self.phys = phys
        self.dma = dma
        self.bindings = 0  #: live VA bindings of it
        self.mappings = 0  #: live CPU mappings of it

    def free(self) -> None:
        """Give the memory back to where it came from (the release of its Revocable)."""
        if isinstance(self.owner, RangeAllocator):
            assert self.phys is not None
            self.owner.free(self.phys)
        else:
            assert self.dma is not None
            self.owner.free(self.dma)


class BufferObject:
    """Memory from :meth:`Device.alloc`: ``size`` bytes (rounded to 4 KiB) in VRAM or system memory.

    ``addr`` is where the GPU finds it: the VRAM offset, or the bus address of a system-memory buffer.
    """

    def __init__(self, device: Device, handle: Revocable[_Bo], name: str) -> None:
        self.device = device
        self._r = handle
        self.name = name
        bo = handle.try_access()
        assert bo is not None
        self.size = bo.size
        self.align = bo.align
        self.placement = bo.placement
        self.addr = bo.phys if bo.phys is not None else (bo.dma.bus_addr if bo.dma is not None else 0)

    def __repr__(self) -> str:
        state = " revoked" if self._r.revoked else ""
        return (f"<BufferObject {self.name or '?'} {self.placement.value} {self.size:#x} at {self.addr:#x}"
                f" align {self.align:#x}{state}>")

    @property
    def freed(self) -> bool:
        return self._r.revoked

    def map(self, offset: int = 0, size: int | None = None) -> CpuMapping:
        """A CPU mapping of ``[offset, offset + size)`` of the buffer (default: all of it; widened to whole 4 KiB
        pages): VRAM through BAR1, system memory through its own pages. Close it (or use ``with``); the buffer
        cannot be freed while it is mapped.

        Raises:
            ApiError: the range is not inside the buffer (EINVAL).
            OutOfMemory: BAR1 has no room for it now (ENOMEM).
        """
        n = self.size - offset if size is None else size
        if not isinstance(offset, int) or not isinstance(n, int) or offset < 0 or n <= 0 or offset + n > self.size:
            raise ApiError(f"{self!r}: mapping [{offset!r}, +{n!r}) is not inside its {self.size:#x} bytes")
        start = offset & ~(PAGE_4K - 1)
        with self._r.access() as bo:
            return self.device._map_cpu(self, bo, start, _round(offset + n, PAGE_4K) - start)

    def _windows(self, offset: int, length: int) -> list[tuple[int, int]]:
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0 or \
                offset + length > self.size:
            raise ApiError(f"{self!r}: access [{offset!r}, +{length!r}) outside its {self.size:#x} bytes")
        return _pieces(offset, length, MAP_WINDOW)

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """``length`` bytes at ``offset`` as the CPU reads them (through temporary mappings of at most
        :data:`MAP_WINDOW`)."""
        n = self.size - offset if length is None else length
        out = bytearray()
        for o, k in self._windows(offset, n):
            with self.map(o, k) as m:
                out += m.read(o, k)
        return bytes(out)

    def write(self, data: bytes | bytearray | memoryview, offset: int = 0) -> None:
        """Write ``data`` at ``offset`` (through temporary mappings of at most :data:`MAP_WINDOW`)."""
        mv = memoryview(data).cast("B")
        for o, k in self._windows(offset, mv.nbytes):
            with self.map(o, k) as m:
                m.write(mv[o - offset:o - offset + k], o)

    def clear(self) -> None:
        """Fill the whole buffer with zeros (system memory directly, VRAM through windows of BAR1)."""
        for o, k in self._windows(0, self.size):
            with self.map(o, k) as m:
                m.clear()

    def free(self) -> None:
        """Release the memory (idempotent). Refused (EBUSY) while it is bound in a VA space or CPU-mapped."""
        with self._r.access() as bo:
            if bo.bindings or bo.mappings:
                raise Busy(f"{self!r} is bound {bo.bindings} time(s) in VA spaces and CPU-mapped "
                           f"{bo.mappings} time(s): unbind and unmap it first")
        self.device._drop(self._r, "freed")


class CpuMapping:
    """The CPU's view of a buffer object (:meth:`BufferObject.map`); ``via`` says which path: "bar1", "bar2"
    (no BAR1 aperture on this device: through the driver's BAR2 window) or "sysmem"."""

    def __init__(self, bo: BufferObject, handle: Revocable[_CpuMap]) -> None:
        self.bo = bo
        self._r = handle
        m = handle.try_access()
        assert m is not None
        self.via = m.via
        self.offset = m.start  #: the first byte of the buffer it maps (offsets below are the buffer's own)
        self.size = m.span  #: bytes of the buffer it maps
        self.bar1_offset = m.bar1_va  #: where ``offset`` sits in BAR1 (None unless via "bar1")

    def __repr__(self) -> str:
        where = f" at BAR1 {self.bar1_offset:#x}" if self.bar1_offset is not None else ""
        return (f"<CpuMapping of {self.bo.name or 'buffer'} [{self.offset:#x}, +{self.size:#x}) via {self.via}"
                f"{where}{' closed' if self.closed else ''}>")

    def __enter__(self) -> CpuMapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._r.revoked

    @property
    def view(self) -> memoryview:
        """The CPU's memoryview of a system-memory buffer (VRAM has none: use :meth:`read`/:meth:`write`)."""
        with self._r.access() as m:
            if m.dma is None:
                raise ApiError(f"{self!r}: VRAM is reached through {m.via} accesses; use read()/write()")
            return m.dma.view[self.offset:self.offset + self.size]

    def _span(self, offset: int, length: int) -> None:
        if not isinstance(offset, int) or not isinstance(length, int) or offset < self.offset or length < 0 or \
                offset + length > self.offset + self.size:
            raise ApiError(f"{self!r}: access [{offset!r}, +{length!r}) outside the mapped "
                           f"[{self.offset:#x}, {self.offset + self.size:#x})")

    def read(self, offset: int | None = None, length: int | None = None) -> bytes:
        """Bytes at ``offset`` of the buffer (default: the mapping's start), ``length`` of them (default: to its
        end)."""
        offset = self.offset if offset is None else offset
        n = self.offset + self.size - offset if length is None else length
        self._span(offset, n)
        with self._r.access() as m:
            return m.read(offset, n)

    def write(self, data: bytes | bytearray | memoryview, offset: int | None = None) -> None:
        """Write ``data`` at ``offset`` of the buffer (default: the mapping's start)."""
        offset = self.offset if offset is None else offset
        mv = memoryview(data).cast("B")
        self._span(offset, mv.nbytes)
        with self._r.access() as m:
            m.write(mv, offset)

    def clear(self) -> None:
        """Zero what it maps, in pieces of at most :data:`CLEAR_CHUNK` bytes."""
        with self._r.access() as m:
            zeros = memoryview(bytes(min(self.size, CLEAR_CHUNK)))
            for off, k in _pieces(self.offset, self.size, CLEAR_CHUNK):
                m.write(zeros[:k], off)

    def close(self) -> None:
        """Unmap (idempotent)."""
        self.bo.device._drop(self._r, "unmapped")


class _CpuMap:
    """A live CPU mapping: the path and how to undo it."""

    def __init__(self, bo: _Bo, via: str, start: int, span: int, *, bar: Bar | None = None, bar1: Vmm | None = None,
                 bar1_va: int | None = None, window: Any = None) -> None:
        self.bo = bo
        self.via = via
        self.start = start  # the buffer offset it begins at
        self.span = span
        self.dma = bo.dma
        self.bar = bar
        self.bar1 = bar1
        self.bar1_va = bar1_va
        self.window = window

    def read(self, offset: int, n: int) -> bytes:
        if self.dma is not None:
            return bytes(self.dma.view[offset:offset + n])
        if self.bar is not None and self.bar1_va is not None:
            return _bar_read(self.bar, self.bar1_va + offset - self.start, n)
        assert self.bo.phys is not None
        data: bytes = self.window.read(self.bo.phys + offset, n)
        return data

    def write(self, mv: memoryview, offset: int) -> None:
        if self.dma is not None:
            self.dma.view[offset:offset + mv.nbytes] = mv
        elif self.bar is not None and self.bar1_va is not None:
            _bar_write(self.bar, self.bar1_va + offset - self.start, mv)
        else:
            assert self.bo.phys is not None
            self.window.write(self.bo.phys + offset, mv)

    def undo(self) -> None:
        self.bo.mappings -= 1
        if self.bar1 is not None and self.bar1_va is not None:
            try:
                self.bar1.unmap(self.bar1_va, self.span)
            finally:
                self.bar1.vfree(self.bar1_va)


def _pieces(offset: int, length: int, step: int) -> list[tuple[int, int]]:
    """``[offset, offset + length)`` cut at every multiple of ``step``: ``(start, length)`` of each piece."""
    out = []
    pos, end = offset, offset + length
    while pos < end:
        k = min(step - pos % step, end - pos)
        out.append((pos, k))
        pos += k
    return out


def _bar_read(bar: Bar, offset: int, n: int) -> bytes:
    """``n`` bytes at ``offset`` of a BAR aperture with 32-bit aligned block reads."""
    lo, hi = offset & ~3, _round(offset + n, 4)
    return bar.read_block(lo, hi - lo)[offset - lo:offset - lo + n]


def _bar_write(bar: Bar, offset: int, mv: memoryview) -> None:
    """Write ``mv`` at ``offset`` of a BAR aperture; unaligned edges are read, merged and written back."""
    n = mv.nbytes
    lo, hi = offset & ~3, _round(offset + n, 4)
    if (lo, hi) == (offset, offset + n):
        bar.write_block(offset, bytes(mv))
        return
    block = bytearray(bar.read_block(lo, hi - lo))
    block[offset - lo:offset - lo + n] = mv
    bar.write_block(lo, bytes(block))


# -- VA spaces ------------------------------------------------------------------------------------------------------


class _Space:
    def __init__(self, space: AddressSpace) -> None:
        self.space = space
        self.vmm: Vmm = space.vmm
        self.lock = threading.Lock()
        self.binds: dict[int, VaBinding] = {}
        self.channels = 0


@dataclass(frozen=True)
class VaBinding:
    """A buffer object bound at ``va`` in a :class:`VaSpace`: ``size`` bytes from ``offset`` of the buffer, mapped
    with ``page_size`` pages."""

    space: VaSpace
    bo: BufferObject
    va: int
    size: int
    offset: int
    page_size: int
    read_only: bool

    @property
    def end(self) -> int:
        return self.va + self.size

    def __repr__(self) -> str:
        return (f"<VaBinding [{self.va:#x}, {self.end:#x}) -> {self.bo.name or 'buffer'}+{self.offset:#x} "
                f"{self.page_size >> 10} KiB pages{' ro' if self.read_only else ''}>")


class VaSpace:
    """A GPU virtual address space (:meth:`Device.vaspace`): FERMI_VASPACE_A in GSP-RM, page tables in the driver.

    Binds live in ``[USER_VA_START, end)``; below is where the driver puts what it needs itself (channel rings).
    """

    def __init__(self, device: Device, handle: Revocable[_Space], name: str) -> None:
        self.device = device
        self._r = handle
        self.name = name
        s = handle.try_access()
        assert s is not None
        self.start = USER_VA_START
        self.end = s.vmm.va_end
        self.page_sizes = tuple(1 << p for p in s.vmm.fmt.page_shifts)

    def __repr__(self) -> str:
        s = self._r.try_access()
        n = "revoked" if s is None else f"{len(s.binds)} binding(s)"
        return f"<VaSpace {self.name} [{self.start:#x}, {self.end:#x}) {n}>"

    @property
    def closed(self) -> bool:
        return self._r.revoked

    def bind(self, bo: BufferObject, va: int | None = None, *, offset: int = 0, size: int | None = None,
             page_size: int | None = None, read_only: bool = False) -> VaBinding:
        """Map ``size`` bytes (default: the rest of the buffer) from ``offset`` of ``bo`` at ``va`` (None: the
        space picks one aligned to the page size); returns the binding.

        ``page_size`` (default: the largest the alignment of the buffer's address, ``va`` and ``size`` allow) must be
        one of :attr:`page_sizes`; ``va``, ``offset`` and ``size`` must be multiples of it, and so must the
        buffer's address.

        Raises:
            ApiError: misaligned, outside the buffer or the space, or a page size the MMU does not have (EINVAL).
            Busy: ``[va, va + size)`` overlaps another binding (EBUSY).
            OutOfMemory: no VA left, or no VRAM for page tables (ENOMEM).
        """
        return self.device._bind(self, bo, va, offset, size, page_size, read_only)

    def unbind(self, va: int) -> None:
        """Unmap the binding that starts at ``va``.

        Raises:
            ApiError: no binding starts there (EINVAL; ENOENT for a uAPI that looks handles up).
        """
        self.device._unbind(self, va)

    def bindings(self) -> list[VaBinding]:
        with self._r.access() as s, s.lock:
            return sorted(s.binds.values(), key=lambda b: b.va)

    def lookup(self, va: int) -> VaBinding | None:
        """The binding that covers ``va``."""
        with self._r.access() as s, s.lock:
            return next((b for b in s.binds.values() if b.va <= va < b.end), None)

    def close(self) -> None:
        """Unbind everything and free the space (idempotent); refused (EBUSY) while channels run in it."""
        with self._r.access() as s:
            if s.channels:
                raise Busy(f"{self!r}: {s.channels} channel(s) run in it; close them first")
        self.device._drop(self._r, "closed")



def _split(segments: Sequence[Segment], page: int, largest: int) -> list[Segment]:
    """``segments`` cut into pieces of ``page`` bytes, so that the VMM maps them with exactly that page size (it
    picks the largest page a piece's length and alignment allow; with the format's ``largest`` page nothing is
    larger, so nothing needs cutting)."""
    if page == largest:
        return list(segments)
    return [Segment(seg.aperture, seg.addr + o, page) for seg in segments for o in range(0, seg.length, page)]
