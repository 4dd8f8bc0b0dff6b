"""nova_core.vbios.bit: the BIOS Information Table - header, tokens, and the token data we decode.

The BIT is found by its signature (``FF B8 'B' 'I' 'T' 00``) inside the PCI-AT image, never at a fixed
offset; a candidate whose header bytes do not sum to zero is skipped, as OpenRM skips it. Token data
pointers are offsets from the start of the PCI-AT image. Token data is decoded by a table keyed by
``(id, version)`` (:data:`TOKEN_PARSERS`); tokens without a decoder are listed, and ids the BIT
specification does not name are listed as unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RomError
from . import facts as F
from .images import RomImage
from .reader import RomReader


@dataclass(frozen=True)
class BitHeader:
    offset: int  #: ROM offset of the header
    bcd_version: int
    header_size: int
    token_size: int
    token_entries: int
    checksum: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BitToken:
    index: int
    offset: int  #: ROM offset of the token entry
    id: int
    version: int
    size: int
    ptr: int  #: offset from the start of the PCI-AT image (0: no data)
    data_offset: int | None  #: ROM offset of the data (``None`` when ``ptr`` is 0)

    @property
    def name(self) -> str | None:
        try:
            return F.BitTokenId(self.id).name
        except ValueError:
            return None

    @property
    def label(self) -> str:
        ch = chr(self.id) if 0x20 < self.id < 0x7F else "?"
        return f"BIT token {ch!r} ({self.id:#04x}) v{self.version}"

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "name": self.name, "version": self.version,
                "size": self.size, "ptr": self.ptr, "data_offset": self.data_offset}


@dataclass(frozen=True)
class BiosData:
    """BIT_BIOSDATA: the vBIOS version."""

    version: int
    oem: int

    @property
    def version_string(self) -> str:
        return F.format_version(self.version, self.oem)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "oem": self.oem, "string": self.version_string}


@dataclass(frozen=True)
class FalconData:
    """BIT_FALCON_DATA v2: the (expansion-ROM) pointer to the falcon ucode table."""

    ucode_table_ptr: int

    def as_json(self) -> dict[str, Any]:
        return {"ucode_table_ptr": self.ucode_table_ptr}


def _parse_biosdata(r: RomReader, token: BitToken, data_offset: int) -> BiosData:
    version, oem = r.unpack(F.BIOSDATA, data_offset, f"{token.label} BIOSDATA")
    return BiosData(version, oem)


def _parse_falcon_data(r: RomReader, token: BitToken, data_offset: int) -> FalconData:
    (ptr,) = r.unpack(F.FALCON_DATA_V2, data_offset, f"{token.label} FALCON_DATA")
    return FalconData(ptr)


#: decoders of token data by (id, version), with the minimum data size each needs
TOKEN_PARSERS: dict[tuple[int, int], tuple[int, Callable[[RomReader, BitToken, int], object]]] = {
    (F.BitTokenId.BIOSDATA, 1): (F.BIOSDATA.size, _parse_biosdata),
    (F.BitTokenId.BIOSDATA, 2): (F.BIOSDATA.size, _parse_biosdata),
    (F.BitTokenId.FALCON_DATA, F.FALCON_DATA_VERSION): (F.FALCON_DATA_V2.size, _parse_falcon_data),
}


@dataclass
class Bit:
    header: BitHeader
    tokens: list[BitToken]
    decoded: dict[tuple[int, int], object]  #: first decoded data per (id, version)
    warnings: list[str]

    def find(self, kind: type[Any]) -> Any:
        """The first decoded token data of type ``kind`` (``None`` if none)."""
        return next((d for d in self.decoded.values() if isinstance(d, kind)), None)

    @property
    def unknown_ids(self) -> list[int]:
        return sorted({t.id for t in self.tokens if t.name is None})

    def as_json(self) -> dict[str, Any]:
        return {
            "offset": self.header.offset,
            "header": self.header.as_json(),
            "tokens": [{**t.as_json(), "decoded": (t.id, t.version) in self.decoded} for t in self.tokens],
            "unknown_tokens": self.unknown_ids,
        }


def find_bit_header(r: RomReader, image: RomImage) -> tuple[BitHeader, list[str]]:
    """The first BIT header in ``image`` whose checksum is valid."""
    warnings: list[str] = []
    pos = image.offset
    rejected: list[str] = []
    for _ in range(image.size):  # bounded: each miss advances by at least one byte
        at = r.find(F.BIT_PATTERN, pos, image.end)
        if at < 0:
            break
        fields = r.fields(F.BIT_HEADER, F.BIT_HEADER_FIELDS, at, "BIT header")
        size = fields["header_size"]
        if size < F.BIT_HEADER_SIZE:
            raise r.error("BIT header", at, f"HeaderSize {size} is shorter than the {F.BIT_HEADER_SIZE}-byte header")
        if not image.contains(at, size):
            raise r.error("BIT header", at, f"{size} header bytes run past the PCI-AT image end {image.end:#x}")
        total = sum(r.read(at, size, "BIT header")) & 0xFF
        if total == 0:
            header = BitHeader(at, fields["bcd_version"], size, fields["token_size"], fields["token_entries"],
                               fields["checksum"])
            warnings.extend(f"skipped {w}" for w in rejected)
            if header.bcd_version != F.BIT_BCD_VERSION:
                warnings.append(f"BIT header at {at:#x}: BCD version {header.bcd_version:#06x}, expected "
                                f"{F.BIT_BCD_VERSION:#06x}; parsed as 1.00")
            return header, warnings
        rejected.append(f"BIT candidate at {at:#x}: its {size} header bytes sum to {total:#04x}, expected 0x00")
        pos = at + 1
    if rejected:
        raise RomError(f"{r.source.name}: BIT header: no candidate in the PCI-AT image [{image.offset:#x}, "
                       f"{image.end:#x}) has a valid checksum ({'; '.join(rejected)})")
    raise r.error("BIT header", image.offset,
                  f"not found: no FF B8 'BIT' 00 signature in the PCI-AT image [{image.offset:#x}, {image.end:#x})")


def parse_bit(r: RomReader, image: RomImage, *, decode: bool = True) -> Bit:
    """The BIT of the PCI-AT ``image``: header, tokens, and (``decode``) the token data we know."""
    header, warnings = find_bit_header(r, image)
    if header.token_size < F.BIT_TOKEN_SIZE:
        raise r.error("BIT header", header.offset,
                      f"TokenSize {header.token_size} is shorter than the {F.BIT_TOKEN_SIZE}-byte token")
    wide = header.token_size >= F.BIT_TOKEN_PTR32.size
    if header.token_size not in (F.BIT_TOKEN_SIZE, F.BIT_TOKEN_PTR32.size):
        warnings.append(f"BIT header at {header.offset:#x}: TokenSize {header.token_size} is longer than "
                        f"{F.BIT_TOKEN_SIZE}; the first {F.BIT_TOKEN_PTR32.size if wide else F.BIT_TOKEN_SIZE} "
                        f"bytes of each token are decoded")
    table = header.offset + header.header_size
    table_size = header.token_entries * header.token_size
    if not image.contains(table, table_size):
        raise r.error("BIT token table", table, f"{header.token_entries} tokens of {header.token_size} bytes "
                                                f"run to {table + table_size:#x}, past the PCI-AT image end "
                                                f"{image.end:#x}")
    r.claim(header.offset, header.header_size, "BIT header")
    r.claim(table, table_size, "BIT token table")
    tokens: list[BitToken] = []
    fmt = F.BIT_TOKEN_PTR32 if wide else F.BIT_TOKEN
    for i in range(header.token_entries):
        at = table + i * header.token_size
        tid, ver, size, ptr = r.unpack(fmt, at, f"BIT token {i}")
        tokens.append(BitToken(i, at, tid, ver, size, ptr, image.offset + ptr if ptr else None))
    bit = Bit(header, tokens, {}, warnings)
    if decode:
        _decode_tokens(r, image, bit)
    return bit


def _decode_tokens(r: RomReader, image: RomImage, bit: Bit) -> None:
    for t in bit.tokens:
        if t.data_offset is None:
            continue
        entry = TOKEN_PARSERS.get((t.id, t.version))
        inside = image.contains(t.data_offset, t.size)
        if entry is None:
            if inside:
                r.claim(t.data_offset, t.size, f"{t.label} data (not decoded)")
            elif t.size:
                bit.warnings.append(f"{t.label}: data [{t.data_offset:#x}, {t.data_offset + t.size:#x}) is outside "
                                    f"the PCI-AT image [{image.offset:#x}, {image.end:#x}); not decoded")
            continue
        min_size, parser = entry
        if (t.id, t.version) in bit.decoded:
            bit.warnings.append(f"{t.label} at {t.offset:#x}: a second token of this id and version; the first "
                                f"one is used")
            continue
        if t.size < min_size:
            raise r.error(t.label, t.offset, f"DataSize {t.size} is shorter than the {min_size} bytes its data needs")
        if not inside:
            raise r.error(t.label, t.offset, f"data pointer {t.ptr:#x} ({t.size} bytes at ROM {t.data_offset:#x}) "
                                             f"is outside the PCI-AT image [{image.offset:#x}, {image.end:#x})")
        bit.decoded[(t.id, t.version)] = parser(r, t, t.data_offset)
        r.claim(t.data_offset, t.size, f"{t.label} data")
