"""nova_core.vbios.images: where the PCI expansion ROM starts, and the chain of images in it.

Finding the first image (:func:`locate_rom`), in order:

1. a ROM signature at offset 0 (what a PROM window shows once the IFR microcode has applied its
   offset, and most dumps);
2. an IFR header ("NVGI"), versions 1-3: v1/v2 give the image offset in the dword at
   ``FIXED_DATA_SIZE + 4``; v3 points (via TOTAL_DATA_SIZE) to the flash-status offset, 4 KiB after
   which the "RFRD" ROM directory holds the image offset at +8 (OpenRM ``s_romImgFindPciHeader_TU102``);
3. otherwise, NVIDIA's BIT specification: a firmware file may carry data for the hardware before the
   expansion ROM; the first 512-byte boundary holding 55 AA whose PCI data structure pointer leads to a
   valid PCIR signature starts it (the GB206 fixture: first image at 0x34200).

Walking the chain (:func:`walk_images`) follows OpenRM ``s_locateExpansionRoms`` exactly: with a valid
NPDE (revision 1.0 or 1.1) the image size is the NPDE's sub-image length, and the image is last if the
NPDE's last-image byte says so - when the NPDE is long enough to hold it - and otherwise not last if
the sub-image is shorter than the PCIR image length, else as the PCIR says; without an NPDE the PCIR's
image length and last-image bit decide. (nova-core also stops after an NBSI image; where the two differ
the walk follows OpenRM and warns.) Unknown code types are kept and reported.

Where the chain says "more follows" but the data ends - a file that ends exactly at an image boundary,
or erased flash (FF FF) where the next image should start - the walk stops with a warning: that is a
short dump, not a corrupt one. A structure cut in half, a bad signature, a zero length, an image that
runs past the data or the 1 MiB scan limit, or a chain longer than :data:`~.facts.MAX_IMAGES` is a
:class:`~nova_core.errors.RomError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import facts as F
from .reader import RomReader


@dataclass(frozen=True)
class IfrHeader:
    """The IFR ("NVGI") header in front of the expansion ROM."""

    version: int
    fixed_data_size: int
    total_data_size: int
    image_offset: int
    directory_offset: int | None  #: v3: where "RFRD" was found

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Pcir:
    """The PCI data structure (PCIR/NPDS) of an image."""

    offset: int  #: ROM offset
    signature: str
    vendor_id: int
    device_id: int
    length: int
    revision: int
    class_code: int
    image_len: int  #: bytes (the field is in 512-byte blocks)
    code_type: int
    last: bool


@dataclass(frozen=True)
class Npde:
    """The NVIDIA PCI data extension after the PCIR."""

    offset: int  #: ROM offset
    revision: int
    length: int
    subimage_len: int  #: bytes
    last_byte: int | None  #: +0x0A, when the NPDE is long enough to hold it
    flags: int | None  #: +0x0B, likewise
    valid: bool  #: revision 1.0 or 1.1: the walk trusts it

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "revision": self.revision, "length": self.length,
                "subimage_len": self.subimage_len, "last_image": self.last_byte, "flags": self.flags,
                "valid": self.valid}


@dataclass(frozen=True)
class RomImage:
    """One image of the PCI expansion ROM chain."""

    index: int
    offset: int  #: ROM offset
    size: int  #: bytes, as the walk advanced by
    rom_signature: int
    pcir: Pcir
    npde: Npde | None
    last: bool

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def code_type(self) -> int:
        return self.pcir.code_type

    @property
    def code_type_name(self) -> str:
        try:
            return F.CodeType(self.code_type).name
        except ValueError:
            return f"unknown {self.code_type:#04x}"

    def contains(self, offset: int, size: int = 1) -> bool:
        return self.offset <= offset and offset + size <= self.end

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index, "offset": self.offset, "size": self.size, "code_type": self.code_type,
            "code_type_name": self.code_type_name, "last": self.last, "pci_vendor": self.pcir.vendor_id,
            "pci_device": self.pcir.device_id, "rom_signature": self.rom_signature,
            "pcir_offset": self.pcir.offset, "pcir_signature": self.pcir.signature,
            "pcir_image_len": self.pcir.image_len, "pcir_last": self.pcir.last,
            "npde": None if self.npde is None else self.npde.as_json(),
        }


def _ascii(raw: bytes) -> str:
    return raw.decode("latin-1") if all(32 <= b < 127 for b in raw) else raw.hex()


def _is_image_start(r: RomReader, offset: int) -> bool:
    """55 AA at ``offset`` whose PCIR pointer leads to a valid PCIR signature (no exception)."""
    if not r.fits(offset, F.ROM_HEADER_SIZE) or r.u16(offset, "ROM signature") != 0xAA55:
        return False
    pcir = offset + r.u16(offset + F.ROM_HEADER_PCIR_PTR, "PCI data structure pointer")
    return r.fits(pcir, 4) and r.read(pcir, 4, "PCIR signature") in F.PCIR_SIGNATURES


def parse_ifr(r: RomReader) -> IfrHeader:
    """The IFR header at offset 0 (the caller has seen "NVGI")."""
    r.need(0, F.IFR_HEADER_SIZE, "IFR header")
    fixed1 = F.IfrFixed1.decode(r.u32(F.IFR_FIXED1_OFFSET, "IFR FIXED1"))
    fixed2 = F.IfrFixed2.decode(r.u32(F.IFR_FIXED2_OFFSET, "IFR FIXED2"))
    version, fixed_size, total = fixed1["versionsw"], fixed1["fixed_data_size"], fixed2["total_data_size"]
    r.claim(0, F.IFR_HEADER_SIZE, "IFR header (NVGI FIXED0-2)")
    directory: int | None = None
    if version in (1, 2):
        where = fixed_size + F.IFR_EXT_ROM_ADDR_OFFSET
        image = r.u32(where, f"IFR v{version} ROM address (FIXED_DATA_SIZE {fixed_size:#x} + 4)")
        r.claim(where, 4, "IFR ROM address")
    elif version == 3:
        status = r.u32(total, f"IFR v3 flash-status offset (at TOTAL_DATA_SIZE {total:#x})")
        r.claim(total, 4, "IFR flash-status offset")
        directory = status + F.IFR_FLASH_STATUS_SIZE
        sig = r.read(directory, 4, f"ROM directory (flash status {status:#x} + 4 KiB)")
        if sig != F.ROM_DIRECTORY_SIGNATURE:
            raise r.error("ROM directory", directory,
                          f"signature expected {F.ROM_DIRECTORY_SIGNATURE!r}, found {sig!r}")
        image = r.u32(directory + F.ROM_DIRECTORY_PCI_ROM_OFFSET, "ROM directory PCI option ROM offset")
        r.claim(directory, F.ROM_DIRECTORY_SIZE, "ROM directory (RFRD)")
    else:
        raise r.error("IFR header", 0, f"version (FIXED1 15:8) expected one of "
                                       f"{', '.join(map(str, F.IFR_VERSIONS))}, found {version}")
    if image & 3:
        raise r.error("IFR header", 0, f"v{version} PCI ROM offset {image:#x} is not 4-byte aligned")
    return IfrHeader(version, fixed_size, total, image, directory)


def locate_rom(r: RomReader) -> tuple[int, IfrHeader | None, str]:
    """``(rom_base, ifr, how)``: the offset of the first image (see the module docstring)."""
    if r.u16(0, "PCI expansion ROM signature") in F.ROM_SIGNATURES:
        return 0, None, "ROM signature at offset 0"
    if r.read(0, 4, "IFR signature") == F.IFR_SIGNATURE:
        ifr = parse_ifr(r)
        base = ifr.image_offset
        sig = r.u16(base, f"PCI expansion ROM signature (IFR v{ifr.version} image offset)")
        if sig not in F.ROM_SIGNATURES:
            raise r.error("PCI expansion ROM", base,
                          f"the IFR v{ifr.version} header points here, but the ROM signature is {sig:#06x} "
                          f"(expected {', '.join(f'{s:#06x}' for s in F.ROM_SIGNATURES)})")
        return base, ifr, f"IFR v{ifr.version} header"
    for off in range(F.IMAGE_BLOCK, r.end, F.IMAGE_BLOCK):
        if _is_image_start(r, off):
            return off, None, "first 512-byte boundary with 55 AA and a valid PCIR"
    head = r.read(0, 4, "ROM start").hex(" ")
    raise r.error("PCI expansion ROM", 0,
                  f"not found: offset 0 holds {head} (neither a ROM signature nor an NVGI IFR header), and no "
                  f"512-byte boundary below {r.end:#x} holds 55 AA with a valid PCIR")


def parse_image(r: RomReader, offset: int, index: int) -> tuple[RomImage, list[str]]:
    """The image at ``offset`` (headers only; the bytes are read when a parser needs them)."""
    warnings: list[str] = []
    what = f"image {index}"
    r.need(offset, F.ROM_HEADER_SIZE, f"{what} ROM header")
    sig = r.u16(offset, f"{what} ROM signature")
    if sig not in F.ROM_SIGNATURES:
        raise r.error(f"{what} ROM header", offset,
                      f"signature expected {' or '.join(f'{s:#06x}' for s in F.ROM_SIGNATURES)}, found {sig:#06x}")
    pcir_at = offset + r.u16(offset + F.ROM_HEADER_PCIR_PTR, f"{what} PCI data structure pointer")
    p = r.fields(F.PCIR, F.PCIR_FIELDS, pcir_at, f"{what} PCI data structure")
    psig: bytes = p["signature"]
    if psig not in F.PCIR_SIGNATURES:
        raise r.error(f"{what} PCI data structure", pcir_at,
                      f"signature expected {', '.join(map(repr, F.PCIR_SIGNATURES))}, found {psig!r}")
    image_len = p["image_len"] * F.IMAGE_BLOCK
    if image_len == 0:
        raise r.error(f"{what} PCI data structure", pcir_at,
                      "image length 0: the chain would not advance (expected at least one 512-byte block)")
    pcir = Pcir(pcir_at, _ascii(psig), p["vendor_id"], p["device_id"], p["length"], p["revision"],
                int.from_bytes(p["class_code"], "little"), image_len, p["code_type"],
                bool(p["last_image"] & F.LAST_IMAGE))
    r.claim(offset, F.ROM_HEADER_SIZE, f"{what} ROM header")
    r.claim(pcir_at, max(F.PCIR_SIZE, pcir.length), f"{what} PCIR")

    npde = _parse_npde(r, offset, pcir, what, warnings)
    if npde is not None and npde.valid:
        size = npde.subimage_len
        if size == 0:
            raise r.error(f"{what} NPDE", npde.offset,
                          "sub-image length 0: the chain would not advance (expected at least one 512-byte block)")
        if npde.last_byte is not None:
            last = bool(npde.last_byte & F.LAST_IMAGE)
        elif npde.subimage_len < pcir.image_len:
            last = False
        else:
            last = pcir.last
    else:
        size, last = pcir.image_len, pcir.last
    if pcir.code_type == F.CodeType.NBSI and not last:
        warnings.append(f"{what} at {offset:#x} is an NBSI image not flagged last: the walk continues as OpenRM "
                        f"does (nova-core stops after NBSI)")
    image = RomImage(index, offset, size, sig, pcir, npde, last)
    r.need(offset, size, f"{what} ({image.code_type_name}, {size:#x} bytes)")
    return image, warnings


def _parse_npde(r: RomReader, offset: int, pcir: Pcir, what: str, warnings: list[str]) -> Npde | None:
    at = (pcir.offset + pcir.length + F.NPDE_ALIGN - 1) & ~(F.NPDE_ALIGN - 1)
    if not r.fits(at, 4) or r.read(at, 4, f"{what} NPDE signature") != F.NPDE_SIGNATURE:
        return None
    rev = r.u16(at + 4, f"{what} NPDE revision")
    valid = rev in F.NPDE_REVISIONS
    if not valid:
        warnings.append(f"{what} NPDE at {at:#x}: revision {rev:#x} is not 1.0/1.1; ignored (as OpenRM does)")
        return Npde(at, rev, 0, 0, None, None, False)
    n = r.fields(F.NPDE, F.NPDE_FIELDS, at, f"{what} NPDE")
    length: int = n["length"]
    has_last = length >= F.NPDE_LAST_IMAGE_END
    has_flags = length >= F.NPDE_LAST_IMAGE_END + 1
    r.claim(at, max(length, 8), f"{what} NPDE")
    return Npde(at, rev, length, n["subimage_len"] * F.IMAGE_BLOCK,
                n["last_image"] if has_last else None, n["flags"] if has_flags else None, True)


def walk_images(r: RomReader, base: int, *, until_code_type: int | None = None
                ) -> tuple[list[RomImage], list[str]]:
    """Every image from ``base`` to the last one (see the module docstring).

    ``until_code_type``: stop after the first image of this code type (reading no further headers).
    """
    images: list[RomImage] = []
    warnings: list[str] = []
    offset = base
    for index in range(F.MAX_IMAGES):
        if images:
            prev = images[-1]
            if offset >= r.source.size:
                warnings.append(f"image {prev.index} ({prev.code_type_name}) at {prev.offset:#x} is not flagged "
                                f"last, but the data ends at {offset:#x} ({r.source.end_reason}): a short dump; "
                                f"images after it are missing")
                return images, warnings
            if offset >= r.scan_end:
                raise r.error("image chain", offset,
                              f"image {prev.index} is not flagged last, but the next image would start past "
                              f"{r.scan_reason} at {r.scan_end:#x}")
            if r.fits(offset, 2) and r.u16(offset, "ROM signature") == F.ERASED_SIGNATURE:
                warnings.append(f"image {prev.index} ({prev.code_type_name}) at {prev.offset:#x} is not flagged "
                                f"last, but erased flash (FF FF) follows at {offset:#x}: a short ROM; images after "
                                f"it are missing")
                return images, warnings
        image, w = parse_image(r, offset, index)
        images.append(image)
        warnings.extend(w)
        if image.last or image.code_type == until_code_type:
            return images, warnings
        offset = image.end
    raise r.error("image chain", base, f"more than {F.MAX_IMAGES} images without a last-image flag "
                                       f"(absurd; real ROMs have 2 to 6)")


def legacy_checksum(r: RomReader, image: RomImage) -> int:
    """8-bit sum of the image's PCIR image length (0 when the legacy image is intact)."""
    length = min(image.pcir.image_len, image.size)
    import numpy as np  # imported where it is used (`nova probe` needs no numpy)

    data = np.frombuffer(r.read(image.offset, length, f"image {image.index} (checksum)"), dtype=np.uint8)
    return int(data.sum(dtype=np.uint64)) & 0xFF
