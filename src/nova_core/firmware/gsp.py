"""nova_core.firmware.gsp: the GSP-RM firmware image (``gsp-<version>.bin`` / ``gsp_<family>.bin``).

An ELF64 RISC-V relocatable file (``ET_REL``) whose sections are the payloads:

- ``.fwimage``: the image GSP runs, handed over through the radix3 tree (for the TU10x family it is
  itself an ELF64 RISC-V executable; for GA10x raw code);
- ``.fwversion``: the GSP-RM version, ASCII and NUL-terminated (OpenRM refuses a size other than
  length + 1, and a version other than its own);
- ``.fwsignature_<family>``: one signature per chip family (the chip's section name is
  ``CHIPS[chip].gsp_sig_section``), copied to DMA memory for the booter to check.

The file is mapped, never read whole: sections are views of the mmap. Preparing it for boot
(:meth:`GspImage.prepare`) reads ``.fwimage`` straight from the file into scattered DMA pages (the
section starts at file offset 0x40, so the file's own pages cannot be handed to the device as the
image's pages; one copy is the minimum), builds the radix3 tree over them and places the signature.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FirmwareError
from ..files import map_input
from ..gpu.chips import Chipset
from ..hw.dma import DmaAllocator, DmaBuffer, ForeignMemory
from ..hw.sg import SgTable
from . import facts as F
from .elf import ElfFile
from .radix3 import Radix3, Radix3Geometry
from .reader import Reader


@dataclass
class PreparedGsp:
    """The GSP firmware in DMA memory, as ``GspFwWprMeta`` describes it to the booter."""

    version: str
    image: SgTable
    radix3: Radix3
    signature: DmaBuffer
    signature_section: str

    @property
    def radix3_bus(self) -> int:
        """``sysmemAddrOfRadix3Elf``."""
        return self.radix3.bus_addr

    @property
    def image_size(self) -> int:
        """``sizeOfRadix3Elf``."""
        return self.image.size

    @property
    def signature_bus(self) -> int:
        """``sysmemAddrOfSignature``."""
        return self.signature.bus_addr

    @property
    def signature_size(self) -> int:
        """``sizeOfSignature`` (the section size rounded up to 256 bytes, as nouveau allocates it)."""
        return self.signature.size

    def free(self, dma: DmaAllocator) -> None:
        self.radix3.free(dma)
        dma.free_sg(self.image)
        dma.free(self.signature)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "radix3_bus": self.radix3_bus, "image_size": self.image_size,
                "image_segments": self.image.nents, "signature_section": self.signature_section,
                "signature_bus": self.signature_bus, "signature_size": self.signature_size,
                "radix3": self.radix3.geometry.as_json()}


class GspImage:
    """A GSP-RM firmware ELF.

    Args:
        data: the file's bytes (a view of an mmap from :meth:`open`, or any buffer).
        source: file name for messages.
        path: the file, when ``data`` is a mapping of it (lets :meth:`read_image_into` read directly).

    Raises:
        FirmwareError: a malformed ELF, a missing ``.fwimage``/``.fwversion``, an empty image, a
            version that is not NUL-terminated ASCII.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<gsp>", *,
                 path: Path | None = None, memory: ForeignMemory | None = None) -> None:
        self.source = source
        self.path = path
        self._memory = memory
        self.elf = ElfFile(data, source=source)
        fwimage = self.elf.section(F.SECTION_FWIMAGE)
        if fwimage.size == 0 or not fwimage.has_data:
            raise FirmwareError(f"{source}: section {F.SECTION_FWIMAGE!r} at {fwimage.offset:#x} is empty "
                                f"({fwimage.type_name}, {fwimage.size:#x} bytes)")
        self.image: memoryview = fwimage.data
        self.image_offset = fwimage.offset
        self.version = self._version()
        self.signatures: dict[str, memoryview] = {
            s.name: s.data for s in self.elf.sections if s.name.startswith(F.SIGNATURE_SECTION_PREFIX)
        }

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GspImage:
        """Map the file read-only and parse it (no read of the image)."""
        p = Path(path)
        m = map_input(p, F.GSP_FILE)  # one open: the file checked is the file mapped
        mem = ForeignMemory(memoryview(m).toreadonly(), str(p), m)
        try:
            return cls(mem.view, str(p), path=p, memory=mem)
        except BaseException:
            mem.close()
            raise

    def _version(self) -> str:
        s = self.elf.section(F.SECTION_FWVERSION)
        r = Reader(s.data, self.source, s.offset)
        text = r.cstring(0, f"section {F.SECTION_FWVERSION!r}", limit=s.size)
        if len(text) + 1 != s.size:
            raise r.error(f"section {F.SECTION_FWVERSION!r}", 0,
                          f"expected {len(text) + 1} bytes (the version {text!r} and its NUL), found {s.size}")
        if not text or not all(c.isalnum() or c in ".-_" for c in text):
            raise r.error(f"section {F.SECTION_FWVERSION!r}", 0, f"not a version string: {text!r}")
        return text

    # -- signatures -----------------------------------------------------------------------------

    def signature_section(self, chip: Chipset | str) -> str:
        """The name of ``chip``'s signature section (checked to be present)."""
        chipset = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
        name = chipset.facts.gsp_sig_section
        if name not in self.signatures:
            raise FirmwareError(
                f"{self.source}: no signature for {chipset.name}: section {name!r} is absent; signature sections "
                f"present: {', '.join(self.signatures) or 'none'} ({chipset.name} needs the "
                f"{chipset.facts.gsp_image_family} image)"
            )
        return name

    def signature(self, chip: Chipset | str) -> memoryview:
        """``chip``'s signature (a view of the file)."""
        return self.signatures[self.signature_section(chip)]

    # -- the image ------------------------------------------------------------------------------

    @property
    def image_size(self) -> int:
        return self.image.nbytes

    @property
    def geometry(self) -> Radix3Geometry:
        return Radix3Geometry.of(self.image_size)

    def nested_elf(self) -> ElfFile | None:
        """The ELF inside ``.fwimage`` (TU10x family), or ``None`` when the image is raw code (GA10x)."""
        return self.elf.nested(F.SECTION_FWIMAGE) if ElfFile.is_elf(self.image) else None

    def read_image_into(self, dest: memoryview) -> None:
        """Copy ``.fwimage`` into ``dest`` (exactly its size): read from the file when it is one."""
        if dest.nbytes != self.image_size:
            raise FirmwareError(f"{self.source}: destination of {dest.nbytes:#x} bytes for the "
                                f"{self.image_size:#x}-byte {F.SECTION_FWIMAGE}")
        if self.path is not None:
            # A read from the page cache costs the same as a copy from the mapping, without faulting
            # 9000 mapping pages in first.
            try:
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    n = os.preadv(fd, [dest], self.image_offset)
                finally:
                    os.close(fd)
            except OSError as e:
                raise FirmwareError(f"{self.source}: reading {F.SECTION_FWIMAGE}: {e.strerror or e}") from None
            if n != dest.nbytes:
                raise FirmwareError(f"{self.source}: {F.SECTION_FWIMAGE} at {self.image_offset:#x}: read {n:#x} of "
                                    f"{dest.nbytes:#x} bytes (file changed since it was opened?)")
            return
        dest[:] = self.image

    def prepare(self, dma: DmaAllocator, chip: Chipset | str) -> PreparedGsp:
        """Put the image, its radix3 tree and ``chip``'s signature into DMA memory from ``dma``."""
        sig_name = self.signature_section(chip)
        sig = self.signatures[sig_name]
        geo = self.geometry
        if not geo.fits:
            raise FirmwareError(f"{self.source}: {F.SECTION_FWIMAGE} of {self.image_size:#x} bytes is larger than "
                                f"radix3 can map ({F.RADIX3_MAX_IMAGE:#x})")
        image = dma.alloc_sg(self.image_size, name="gsp-fwimage", zero=False)  # the read fills it all
        radix3 = None
        try:
            self.read_image_into(image.view)
            radix3 = Radix3.build(dma, image)
            sig_size = -(-len(sig) // F.GSP_SIGNATURE_DMA_ALIGN) * F.GSP_SIGNATURE_DMA_ALIGN
            sig_buf = dma.alloc(sig_size, name="gsp-signature")
        except BaseException:
            if radix3 is not None:
                radix3.free(dma)
            dma.free_sg(image)
            raise
        sig_buf.write(0, sig)
        return PreparedGsp(self.version, image, radix3, sig_buf, sig_name)

    # -- misc -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the file mapping (views handed out keep their pages until they go)."""
        if self._memory is not None:
            self._memory.close()
            self._memory = None

    def __enter__(self) -> GspImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_json(self) -> dict[str, Any]:
        nested = self.nested_elf()
        return {
            "version": self.version,
            "image_bytes": self.image_size,
            "image_offset": self.image_offset,
            "image_is_elf": nested is not None,
            "sections": [{"name": s.name, "type": s.type_name, "offset": s.offset, "size": s.size}
                         for s in self.elf.sections if s.index],
            "signatures": list(self.signatures),
            "radix3": self.geometry.as_json(),
        }

    def __repr__(self) -> str:
        return (f"<GspImage {self.source!r} version={self.version} image={self.image_size:#x} "
                f"signatures={list(self.signatures)}>")
