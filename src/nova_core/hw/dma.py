"""nova_core.hw.dma: coherent DMA memory, as the driver sees it.

A :class:`DmaBuffer` is CPU-visible memory (a writable ``memoryview``) that the GPU reaches at a bus
address. A :class:`DmaAllocator` hands them out: the simulated GPU's system memory implements it now,
a VFIO type-1 IOMMU backend implements the same protocol for an owned device.

Bus addresses are what the GPU puts on the bus (an IOVA behind an IOMMU); the driver writes them into
page tables, the radix3 tree, mailboxes and queue descriptors.

Besides coherent buffers an allocator maps memory as scatter-gather tables (:mod:`.sg`):

- ``alloc_sg(size)``: driver-owned, zeroed memory that is contiguous for the CPU but may be scattered
  on the bus (Linux ``vmalloc`` + ``dma_map_sgtable``, nova-core's ``VVec`` + ``SGTable``);
- ``map_sg(memory)``: memory the driver does not own - a caller's buffer, an mmap of a file
  (:class:`ForeignMemory`) - mapped for the device *without copying* (the "foreign pages" of the
  Linux Rust abstractions). Read-only memory is mapped device-read-only.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import DmaError

if TYPE_CHECKING:
    from .sg import SgTable

PAGE_SIZE = 4096


class DmaBuffer:
    """A span of DMA-coherent memory: ``view`` for the CPU, ``bus_addr`` for the GPU.

    Accessors check bounds and raise :class:`DmaError` naming the buffer, the offset and its size.
    """

    __slots__ = ("_freed", "bus_addr", "name", "readonly", "size", "view")

    def __init__(self, view: memoryview, bus_addr: int, name: str = "", *, readonly: bool = False) -> None:
        if view.readonly and not readonly:
            raise DmaError(f"DMA buffer {name!r}: the backing memory is read-only")
        self.view = view.cast("B") if view.format != "B" else view
        self.bus_addr = bus_addr
        self.size = self.view.nbytes
        self.name = name
        #: the CPU may only read it (foreign read-only memory, e.g. an mmap of a file)
        self.readonly = view.readonly
        self._freed = False

    @property
    def freed(self) -> bool:
        return self._freed

    def mark_freed(self) -> None:
        """Called by the allocator: later accesses through this object are refused."""
        self._freed = True

    def _check(self, offset: int, length: int) -> None:
        if self._freed:
            raise DmaError(f"DMA buffer {self.name!r} at bus {self.bus_addr:#x} used after free")
        if offset < 0 or length < 0 or offset + length > self.size:
            raise DmaError(
                f"DMA buffer {self.name!r}: access [{offset:#x}, {offset + length:#x}) outside its "
                f"{self.size:#x} bytes"
            )

    def _check_writable(self) -> None:
        if self.readonly:
            raise DmaError(f"DMA buffer {self.name!r} at bus {self.bus_addr:#x} is read-only memory")

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        n = memoryview(data).nbytes
        self._check(offset, n)
        self._check_writable()
        self.view[offset:offset + n] = memoryview(data).cast("B")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return bytes(self.view[offset:offset + length])

    def fill(self, value: int = 0, offset: int = 0, length: int | None = None) -> None:
        length = self.size - offset if length is None else length
        self._check(offset, length)
        self._check_writable()
        self.view[offset:offset + length] = bytes([value]) * length

    def write_u32(self, offset: int, value: int) -> None:
        self._check(offset, 4)
        self._check_writable()
        struct.pack_into("<I", self.view, offset, value)

    def read_u32(self, offset: int) -> int:
        self._check(offset, 4)
        return int(struct.unpack_from("<I", self.view, offset)[0])

    def write_u64(self, offset: int, value: int) -> None:
        self._check(offset, 8)
        self._check_writable()
        struct.pack_into("<Q", self.view, offset, value)

    def read_u64(self, offset: int) -> int:
        self._check(offset, 8)
        return int(struct.unpack_from("<Q", self.view, offset)[0])

    def page_addrs(self) -> list[int]:
        """Bus address of every 4 KiB page of this (bus-contiguous) buffer."""
        return [self.bus_addr + off for off in range(0, self.size, PAGE_SIZE)]

    def __repr__(self) -> str:
        return f"<DmaBuffer {self.name!r} bus={self.bus_addr:#x} size={self.size:#x}>"


@runtime_checkable
class DmaAllocator(Protocol):
    """Hands out DMA memory: coherent bus-contiguous buffers, and scatter-gather mappings.

    ``alloc`` returns zeroed memory whose bus address is aligned to ``align`` (a power of two, at
    least 4 KiB) and, with ``limit``, lies wholly below bus address ``limit`` (for a register that holds fewer
    address bits than the device's DMA mask - Linux ``dma_set_coherent_mask`` for one buffer; OpenRM allocates
    Turing's sysmem flush page 32-bit addressable for its 40-bit register, or with the DMA address size lowered to 40
    bits, ``kmemsysInitFlushSysmemBuffer_GM107``); a :class:`DmaError` when no such memory is left. ``free``
    returns it (a second free is a :class:`DmaError`).

    ``alloc_sg`` returns zeroed, driver-owned memory as an :class:`~nova_core.hw.sg.SgTable` whose
    segments are page aligned but may be scattered on the bus (``zero=False``: for a caller that
    overwrites all ``size`` bytes at once, only the tail of the last page is zeroed - like ``vmalloc``
    memory filled by a copy); ``map_sg`` maps memory the driver does
    not own without copying it (device-read-only when the memory is read-only or
    ``device_writable=False``); ``free_sg`` frees/unmaps either (a second call is a :class:`DmaError`).
    """

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "", limit: int | None = None) -> DmaBuffer: ...

    def free(self, buf: DmaBuffer) -> None: ...

    def alloc_sg(self, size: int, *, name: str = "", zero: bool = True) -> SgTable: ...

    def map_sg(self, memory: MemoryLike, *, name: str = "", device_writable: bool = True) -> SgTable: ...

    def free_sg(self, table: SgTable) -> None: ...


def check_alloc_args(size: int, align: int, who: str, limit: int | None = None) -> None:
    """Shared argument checks for DmaAllocator implementations."""
    if size <= 0:
        raise DmaError(f"{who}: DMA allocation of {size} bytes (must be positive)")
    if align < PAGE_SIZE or align & (align - 1):
        raise DmaError(f"{who}: DMA alignment {align:#x} must be a power of two >= {PAGE_SIZE:#x}")
    if limit is not None and (not isinstance(limit, int) or limit < size):
        raise DmaError(f"{who}: DMA address limit {limit!r} leaves no room for {size:#x} bytes")


# -- memory the driver does not own ---------------------------------------------------------------


class ForeignMemory:
    """Memory the driver does not own, pinned for as long as this object (or a view of it) lives.

    Either a caller's buffer (:meth:`from_buffer`: a ``bytearray``, ``memoryview``, numpy array ...)
    or a file mapped with ``mmap`` (:meth:`from_file`: read-only unless asked otherwise), so that a
    firmware file or a user's data reaches the device with no copy. :meth:`close` releases the mapping
    once nothing else holds a view of it (an mmap cannot be unmapped under a live view; until then the
    pages stay valid, as pinned pages do).
    """

    __slots__ = ("_mmap", "name", "view")

    def __init__(self, view: memoryview, name: str, mapping: mmap.mmap | None = None) -> None:
        self.view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        self.name = name
        self._mmap = mapping

    @classmethod
    def from_buffer(cls, buffer: bytes | bytearray | memoryview | mmap.mmap, *, name: str = "") -> ForeignMemory:
        """Wrap a caller's buffer (no copy; ``bytes`` or a read-only view give read-only memory)."""
        view = memoryview(buffer)
        if not view.contiguous:
            raise DmaError(f"foreign memory {name!r}: the buffer is not contiguous")
        return cls(view, name or f"<{type(buffer).__name__}>")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, offset: int = 0, length: int | None = None,
                  writable: bool = False) -> ForeignMemory:
        """Map ``length`` bytes of the file at ``offset`` (a multiple of the page size), read-only by default.

        A writable mapping is ``MAP_SHARED``: what the device writes lands in the file.
        """
        p = Path(path)
        if offset < 0 or offset % mmap.ALLOCATIONGRANULARITY:
            raise DmaError(f"mapping {str(p)!r}: offset {offset:#x} is not a multiple of the page size "
                           f"{mmap.ALLOCATIONGRANULARITY:#x}")
        try:
            with open(p, "r+b" if writable else "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if length is None:
                    length = size - offset
                if length <= 0 or offset + length > size:
                    raise DmaError(f"mapping {str(p)!r}: range [{offset:#x}, {offset + max(length, 0):#x}) is "
                                   f"empty or outside the file ({size:#x} bytes)")
                m = mmap.mmap(f.fileno(), length, offset=offset,
                              access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
        except OSError as e:
            raise DmaError(f"mapping {str(p)!r}: {e.strerror or e}") from None
        view = memoryview(m)
        return cls(view if writable else view.toreadonly(), str(p), m)

    @property
    def size(self) -> int:
        return self.view.nbytes

    @property
    def readonly(self) -> bool:
        return self.view.readonly

    @property
    def npages(self) -> int:
        return (self.size + PAGE_SIZE - 1) // PAGE_SIZE

    def page(self, index: int) -> memoryview:
        """The ``index``-th 4 KiB page (the last one may be short)."""
        if not 0 <= index < self.npages:
            raise DmaError(f"foreign memory {self.name!r}: page {index} outside its {self.npages} pages")
        return self.view[index * PAGE_SIZE:(index + 1) * PAGE_SIZE]

    def close(self) -> None:
        """Release the mapping (a file mapping is unmapped once no other view of it is alive)."""
        self.view.release()
        if self._mmap is not None:
            # another view may still pin the pages: the mmap then goes when the last one does
            with contextlib.suppress(BufferError):
                self._mmap.close()
            self._mmap = None

    def __enter__(self) -> ForeignMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ForeignMemory {self.name!r} size={self.size:#x}{' ro' if self.readonly else ''}>"


#: what ``map_sg`` accepts: foreign memory, or any contiguous buffer
MemoryLike = ForeignMemory | memoryview | bytearray | bytes | mmap.mmap


def memory_view(memory: MemoryLike) -> memoryview:
    """The flat byte view of ``memory`` (shared, never a copy)."""
    if isinstance(memory, ForeignMemory):
        return memory.view
    view = memoryview(memory)
    if not view.contiguous:
        raise DmaError("cannot map a non-contiguous buffer for DMA")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view
