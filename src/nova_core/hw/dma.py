"""nova_core.hw.dma: coherent DMA memory, as the driver sees it.

A :class:`DmaBuffer` is CPU-visible memory (a writable ``memoryview``) that the GPU reaches at a bus
address. A :class:`DmaAllocator` hands them out: the simulated GPU's system memory implements it now,
a VFIO type-1 IOMMU backend implements the same protocol for an owned device.

Bus addresses are what the GPU puts on the bus (an IOVA behind an IOMMU); the driver writes them into
page tables, the radix3 tree, mailboxes and queue descriptors.
"""

from __future__ import annotations

import struct
from typing import Protocol, runtime_checkable

from ..errors import DmaError

PAGE_SIZE = 4096


class DmaBuffer:
    """A span of DMA-coherent memory: ``view`` for the CPU, ``bus_addr`` for the GPU.

    Accessors check bounds and raise :class:`DmaError` naming the buffer, the offset and its size.
    """

    __slots__ = ("_freed", "bus_addr", "name", "size", "view")

    def __init__(self, view: memoryview, bus_addr: int, name: str = "") -> None:
        if view.readonly:
            raise DmaError(f"DMA buffer {name!r}: the backing memory is read-only")
        self.view = view.cast("B") if view.format != "B" else view
        self.bus_addr = bus_addr
        self.size = self.view.nbytes
        self.name = name
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

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        n = memoryview(data).nbytes
        self._check(offset, n)
        self.view[offset:offset + n] = memoryview(data).cast("B")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return bytes(self.view[offset:offset + length])

    def fill(self, value: int = 0, offset: int = 0, length: int | None = None) -> None:
        length = self.size - offset if length is None else length
        self._check(offset, length)
        self.view[offset:offset + length] = bytes([value]) * length

    def write_u32(self, offset: int, value: int) -> None:
        self._check(offset, 4)
        struct.pack_into("<I", self.view, offset, value)

    def read_u32(self, offset: int) -> int:
        self._check(offset, 4)
        return int(struct.unpack_from("<I", self.view, offset)[0])

    def write_u64(self, offset: int, value: int) -> None:
        self._check(offset, 8)
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
    """Hands out coherent, bus-contiguous DMA buffers.

    ``alloc`` returns zeroed memory whose bus address is aligned to ``align`` (a power of two, at
    least 4 KiB); ``free`` returns it (a second free is a :class:`DmaError`).
    """

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "") -> DmaBuffer: ...

    def free(self, buf: DmaBuffer) -> None: ...


def check_alloc_args(size: int, align: int, who: str) -> None:
    """Shared argument checks for DmaAllocator implementations."""
    if size <= 0:
        raise DmaError(f"{who}: DMA allocation of {size} bytes (must be positive)")
    if align < PAGE_SIZE or align & (align - 1):
        raise DmaError(f"{who}: DMA alignment {align:#x} must be a power of two >= {PAGE_SIZE:#x}")
