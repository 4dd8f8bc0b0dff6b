"""nova_core.firmware.radix3: the three-level page list through which GSP finds its firmware image.

Layout (nouveau ``nvkm_gsp_radix3_sg``, nova-core ``firmware/gsp.rs``, OpenRM ``kgspCreateRadix3``):
4 KiB pages of little-endian u64 bus addresses.

- level 2: entry *i* = bus address of image page *i*; ``ceil(pages * 8 / 4096)`` pages (nouveau's
  floor only works because of its padding; the ceiling is what the data needs);
- level 1: entry *k* = bus address of level-2 page *k* (one page: up to 512 level-2 pages, 1 GiB);
- level 0: one page, entry 0 = bus address of the level-1 page, the rest zero.

``GspFwWprMeta.sysmemAddrOfRadix3Elf`` is the level-0 address, ``sizeOfRadix3Elf`` the image size.
The image itself is an :class:`~nova_core.hw.sg.SgTable` (scattered pages); level 2 is scattered too,
levels 0 and 1 are one coherent page each.

:func:`radix3_resolve` is the walker, written against a ``read(bus, length)`` callable so it can run
over any memory (the driver's own tables, or a device's view of system memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import FirmwareError
from ..hw.dma import DmaAllocator, DmaBuffer
from ..hw.sg import SgTable
from . import facts as F


@dataclass(frozen=True)
class Radix3Geometry:
    """How many pages each level of the tree has for an image of ``image_bytes``."""

    image_bytes: int
    image_pages: int
    level2_pages: int
    level1_entries: int

    @classmethod
    def of(cls, image_bytes: int) -> Radix3Geometry:
        if image_bytes <= 0:
            raise FirmwareError(f"radix3: image of {image_bytes} bytes (must be positive)")
        pages = -(-image_bytes // F.GSP_PAGE_SIZE)
        level2 = -(-pages * F.RADIX3_ENTRY_SIZE // F.GSP_PAGE_SIZE)
        return cls(image_bytes, pages, level2, level2)

    @property
    def fits(self) -> bool:
        """Whether one level-1 page can list every level-2 page (image at most 1 GiB)."""
        return self.level1_entries <= F.RADIX3_ENTRIES_PER_PAGE

    def as_json(self) -> dict[str, int]:
        return {"image_bytes": self.image_bytes, "image_pages": self.image_pages,
                "level2_pages": self.level2_pages, "level1_entries": self.level1_entries, "level0_entries": 1}


def radix3_resolve(read: Callable[[int, int], bytes], level0_bus: int, offset: int, image_bytes: int) -> int:
    """Bus address of byte ``offset`` of the image, walking level 0 -> 1 -> 2 with ``read(bus, length)``."""
    if not 0 <= offset < image_bytes:
        raise FirmwareError(f"radix3: offset {offset:#x} outside the {image_bytes:#x}-byte image")
    page = offset >> F.GSP_PAGE_SHIFT
    l1_index, l2_index = divmod(page, F.RADIX3_ENTRIES_PER_PAGE)
    entry = F.RADIX3_ENTRY_SIZE
    level1 = int.from_bytes(read(level0_bus, entry), "little")
    level2 = int.from_bytes(read(level1 + l1_index * entry, entry), "little")
    image_page = int.from_bytes(read(level2 + l2_index * entry, entry), "little")
    for what, addr in (("level 1", level1), ("level 2", level2), ("image page", image_page)):
        if addr % F.GSP_PAGE_SIZE:
            raise FirmwareError(f"radix3: {what} address {addr:#x} (for offset {offset:#x}) is not page aligned")
    return image_page + (offset & (F.GSP_PAGE_SIZE - 1))


class Radix3:
    """A radix3 tree in DMA memory over an image held in an :class:`SgTable`.

    Build with :meth:`build`; :attr:`bus_addr` is what ``GspFwWprMeta.sysmemAddrOfRadix3Elf`` takes.
    """

    def __init__(self, image: SgTable, level0: DmaBuffer, level1: DmaBuffer, level2: SgTable,
                 geometry: Radix3Geometry) -> None:
        self.image = image
        self.level0 = level0
        self.level1 = level1
        self.level2 = level2
        self.geometry = geometry

    @classmethod
    def build(cls, dma: DmaAllocator, image: SgTable, *, name: str = "gsp-radix3") -> Radix3:
        """Write levels 2, 1 and 0 for ``image`` into memory from ``dma``."""
        geo = Radix3Geometry.of(image.size)
        if not geo.fits:
            raise FirmwareError(
                f"radix3: a {image.size:#x}-byte image needs {geo.level2_pages} level-2 pages; level 0 points at one "
                f"level-1 page of {F.RADIX3_ENTRIES_PER_PAGE} entries (image at most {F.RADIX3_MAX_IMAGE:#x} bytes)"
            )
        pages = image.page_addrs()
        level2 = dma.alloc_sg(geo.level2_pages * F.GSP_PAGE_SIZE, name=f"{name}-level2")
        level1: DmaBuffer | None = None
        try:
            np.frombuffer(level2.view, dtype="<u8")[:pages.size] = pages
            level1 = dma.alloc(F.GSP_PAGE_SIZE, name=f"{name}-level1")
            l2_pages = level2.page_addrs()
            np.frombuffer(level1.view, dtype="<u8")[:l2_pages.size] = l2_pages
            level0 = dma.alloc(F.GSP_PAGE_SIZE, name=f"{name}-level0")
        except BaseException:
            dma.free_sg(level2)
            if level1 is not None:
                dma.free(level1)
            raise
        level0.write_u64(0, level1.bus_addr)
        return cls(image, level0, level1, level2, geo)

    @property
    def bus_addr(self) -> int:
        """Bus address of level 0 (``sysmemAddrOfRadix3Elf``)."""
        return self.level0.bus_addr

    def _read(self, bus: int, length: int) -> bytes:
        """Read the tree's own memory by bus address (the driver-side view of what it wrote)."""
        for buf in (self.level0, self.level1):
            if buf.bus_addr <= bus and bus + length <= buf.bus_addr + buf.size:
                return buf.read(bus - buf.bus_addr, length)
        for table in (self.level2, self.image):
            for s in table.segments:
                if s.bus_addr <= bus and bus + length <= s.bus_end:
                    return table.read(s.offset + bus - s.bus_addr, length)
        raise FirmwareError(f"radix3: bus address {bus:#x} is not in the tree or the image")

    def resolve(self, offset: int) -> int:
        """Bus address of image byte ``offset``, found by walking the tree."""
        return radix3_resolve(self._read, self.bus_addr, offset, self.geometry.image_bytes)

    def free(self, dma: DmaAllocator) -> None:
        """Free the three levels (not the image)."""
        dma.free(self.level0)
        dma.free(self.level1)
        dma.free_sg(self.level2)

    def __repr__(self) -> str:
        g = self.geometry
        return (f"<Radix3 level0={self.bus_addr:#x} image={g.image_bytes:#x} pages={g.image_pages} "
                f"level2_pages={g.level2_pages}>")
