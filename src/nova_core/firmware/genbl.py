"""nova_core.firmware.genbl: the generic falcon bootloader file (``gen_bootloader-<version>.bin``, ``acr/bl.bin``).

An ``nvfw_bin_hdr`` container whose header is OpenRM's ``RM_FLCN_BL_DESC`` (570.144
``arch/nvalloc/common/inc/rmflcnbl.h``; nouveau ``nvfw_bl_desc``), six u32 (:data:`~.facts.BL_DESC_FIELDS`):
``blStartTag`` (the IMEM tag of the first code block: the falcon boots at ``start_tag << 8``),
``blDmemDescLoadOff`` (where the DMEM descriptor goes), and the image header ``blCodeOffset``/``blCodeSize``/
``blDataOffset``/``blDataSize`` (payload offsets). The 570.144 TU10x file (shared by TU116/TU117 and GA100
through symlinks): start tag 0xfd, descriptor at DMEM 0, 0x200 bytes of code and 0x100 of data.

This module is the file format; loading the bootloader into a falcon is :mod:`nova_core.falcon.genbl`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from . import facts as F
from .nvfw import BinFile, read_firmware_file

_BLOCK = 256  #: falcon IMEM blocks (the code is loaded in whole blocks)


@dataclass(frozen=True)
class BlDesc:
    """``RM_FLCN_BL_DESC``: where the bootloader's code and data are in the payload, and its start tag."""

    start_tag: int
    dmem_load_off: int
    code_off: int
    code_size: int
    data_off: int
    data_size: int


class GenericBootloaderImage:
    """A parsed generic bootloader file.

    Raises:
        FirmwareError: a bad container, a descriptor outside the file, no code, code or data outside the
            payload, a start tag past 16 bits.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<generic bootloader>") -> None:
        self.bin = b = BinFile(data, source)
        self.source = source
        r = b.reader
        off = b.header.header_offset
        self.desc = BlDesc(**r.fields(F.BL_DESC, F.BL_DESC_FIELDS, off, "RM_FLCN_BL_DESC"))
        d = self.desc
        if d.code_size == 0:
            raise r.error("RM_FLCN_BL_DESC.blCodeSize", off + 0xC, "is 0: no bootloader code")
        if not 0 <= d.start_tag < 1 << F.IMEM_TAG_BITS:
            raise r.error("RM_FLCN_BL_DESC.blStartTag", off, f"{d.start_tag:#x} is not a 16-bit IMEM tag")
        self.code = bytes(b.payload_range(d.code_off, d.code_size, "RM_FLCN_BL_DESC code (blCodeOffset/Size)"))
        self.data = bytes(b.payload_range(d.data_off, d.data_size, "RM_FLCN_BL_DESC data (blDataOffset/Size)"))

    @classmethod
    def open(cls, path: str | Path) -> Self:
        return cls(read_firmware_file(path), str(path))

    @property
    def boot_vector(self) -> int:
        """Where the falcon starts: the bootloader's first tag, as an IMEM virtual address."""
        return self.desc.start_tag << 8

    @property
    def padded_code(self) -> bytes:
        """The code zero-padded to whole 256-byte blocks (what lands in IMEM)."""
        return self.code + bytes(-len(self.code) % _BLOCK)

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "bin_header": self.bin.header.as_json(), "desc": dict(self.desc.__dict__),
                "boot_vector": self.boot_vector}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.source!r} start_tag={self.desc.start_tag:#x} "
                f"code={len(self.code):#x} data={len(self.data):#x}>")
