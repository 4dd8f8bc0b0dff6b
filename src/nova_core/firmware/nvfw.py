"""nova_core.firmware.nvfw: the ``nvfw_bin_hdr`` container of booter and bootloader files.

Layout (nouveau ``include/nvfw/fw.h``, nova-core ``BinHdr``): six little-endian u32 at offset 0 -
``bin_magic`` (0x10DE), ``bin_ver`` (1), ``bin_size``, ``header_offset`` (the kind-specific header),
``data_offset``/``data_size`` (the payload loaded into the falcon or DMA memory). In every
linux-firmware file ``bin_size`` is the file size rounded up to 256 bytes, not the file size; nothing
reads it, and neither does this parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..files import read_input
from . import facts as F
from .reader import Reader


@dataclass(frozen=True)
class BinHeader:
    """``nvfw_bin_hdr``."""

    bin_magic: int
    bin_ver: int
    bin_size: int
    header_offset: int
    data_offset: int
    data_size: int

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


class BinFile:
    """A file in the ``nvfw_bin_hdr`` container: the header, the reader, and the payload view.

    Raises:
        FirmwareError: wrong magic or version, header or payload outside the file.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str) -> None:
        self.reader = r = Reader(data, source)
        self.source = source
        h = BinHeader(**r.fields(F.BIN_HDR, F.BIN_HDR_FIELDS, 0, "nvfw_bin_hdr"))
        r.expect("nvfw_bin_hdr.bin_magic", 0, h.bin_magic, F.NVFW_BIN_MAGIC)
        r.expect("nvfw_bin_hdr.bin_ver", 4, h.bin_ver, F.NVFW_BIN_VERSION)
        if not F.BIN_HDR.size <= h.header_offset < r.size:
            raise r.error("nvfw_bin_hdr.header_offset", 0xC,
                          f"{h.header_offset:#x} is not inside the file after the bin header "
                          f"([{F.BIN_HDR.size:#x}, {r.size:#x}))")
        self.header = h
        self.payload = r.slice(h.data_offset, h.data_size, "nvfw_bin_hdr payload (data_offset, data_size)")

    def payload_range(self, offset: int, size: int, structure: str) -> memoryview:
        """A view of ``[offset, offset+size)`` of the payload; a clear error if it is not inside it."""
        if offset < 0 or size < 0 or offset + size > self.header.data_size:
            raise self.reader.error(
                structure, self.header.data_offset + max(offset, 0),
                f"payload range [{offset:#x}, {offset + size:#x}) is outside the {self.header.data_size:#x}-byte "
                f"payload",
            )
        return self.payload[offset:offset + size]


def read_firmware_file(path: str | Path) -> bytes:
    """The bytes of a (small) ``nvfw_bin_hdr`` firmware file; a ``FirmwareError`` naming it if it cannot be read,
    is not a regular file or is larger than any such file (:data:`~.facts.BIN_FILE`)."""
    return read_input(path, F.BIN_FILE)
