"""nova_core.vbios.ucode: expansion-ROM pointers, the falcon ucode table, ucode descriptors v2/v3.

**Expansion-ROM pointers.** FALCON_DATA's table pointer and the table's descriptor pointers are offsets
in an "expansion ROM" that assumes the FwSec (0xE0) images directly follow the PCI-AT image; on real
boards an EFI image sits in between. NVIDIA's BIT specification says: a pointer past the PCI-AT image
length is adjusted by the UEFI image length. OpenRM adds ``offset(first FwSec) - size(PCI-AT)`` to every
pointer; nova-core subtracts the PCI-AT length and then the first FwSec image's length when the pointer
lies past it (the table may sit in the first or the second FwSec image, the FWSEC ucode in the second).
:class:`ExpansionRom` does both at once: it subtracts the PCI-AT length and walks the FwSec images that
follow the PCI-AT image, so it lands where OpenRM and nova-core land whenever those images are
contiguous (every real ROM), names which FwSec image holds the target, and warns if OpenRM's single
offset would disagree. FwSec images *before* the PCI-AT image (the GB206 dump has two) are not part of
the expansion ROM.

**Falcon ucode table** (FALCON_UCODE_TABLE_HDR_V1 + ENTRY_V1, "PMU lookup table" in nova-core): version
1, header and entry sizes of at least 6 bytes; entries name an application id and a descriptor.

**Descriptors**: the header dword gives VERSION_AVAILABLE, ENCRYPTED, VERSION (2 or 3) and SIZE (the
descriptor with its trailing signatures); the ucode image follows at ``descriptor + SIZE``. v2 (Turing,
GA100) places DMEM at ``DMEMOffset`` in the image and splits IMEM into a non-secure and a secure part;
v3 (GA102+) places DMEM right after IMEM and carries ``SignatureCount`` RSA3K signatures after the
44-byte descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RomError
from . import facts as F
from .images import RomImage
from .reader import RomReader


class NoExpansionRom(RomError):
    """The ROM has no FwSec image after the PCI-AT image (a short dump): nothing to point into."""


class ExpansionRom:
    """Maps expansion-ROM pointers to ROM offsets (see the module docstring)."""

    def __init__(self, images: list[RomImage], pci_at: RomImage) -> None:
        self.pci_at = pci_at
        self.fwsec = [i for i in images if i.index > pci_at.index and i.code_type == F.CodeType.FWSEC]

    @property
    def openrm_offset(self) -> int | None:
        """OpenRM's ``expansionRomOffset`` (relative to the PCI-AT image): the gap before the first FwSec."""
        return self.fwsec[0].offset - self.pci_at.end if self.fwsec else None

    def locate(self, r: RomReader, ptr: int, what: str) -> tuple[int, RomImage]:
        """``(rom_offset, fwsec_image)`` of expansion-ROM pointer ``ptr``."""
        if not self.fwsec:
            raise NoExpansionRom(f"{r.source.name}: {what}: pointer {ptr:#x} leads into the expansion ROM, but "
                                 f"no FwSec (0xE0) image follows the PCI-AT image")
        if ptr < self.pci_at.size:
            raise r.error(what, self.pci_at.offset + ptr,
                          f"pointer {ptr:#x} points into the PCI-AT image ({self.pci_at.size:#x} bytes); expected an "
                          f"expansion-ROM pointer of at least {self.pci_at.size:#x}")
        rel = ptr - self.pci_at.size
        for image in self.fwsec:
            if rel < image.size:
                return image.offset + rel, image
            rel -= image.size
        total = sum(i.size for i in self.fwsec)
        raise r.error(what, self.fwsec[-1].end,
                      f"pointer {ptr:#x} lies past the end of the expansion ROM (PCI-AT {self.pci_at.size:#x} + "
                      f"FwSec images {total:#x} = {self.pci_at.size + total:#x} bytes)")

    def run_end(self, image: RomImage) -> int:
        """End of the run of contiguous FwSec images starting with ``image``."""
        end = image.end
        for nxt in self.fwsec:
            if nxt.offset == end:
                end = nxt.end
        return end

    def need(self, r: RomReader, image: RomImage, offset: int, size: int, what: str) -> None:
        """Refuse a range that leaves the FwSec images it starts in (or the readable data)."""
        end = self.run_end(image)
        if offset < image.offset or offset + size > end:
            raise r.error(what, offset, f"{size:#x} bytes run to {offset + size:#x}, past the end of FwSec image "
                                        f"{image.index} at {end:#x}")
        r.need(offset, size, what)

    def position(self, image: RomImage) -> str:
        """``"first"``, ``"second"``, ... FwSec image."""
        n = self.fwsec.index(image)
        return ("first", "second", "third")[n] if n < 3 else f"#{n + 1}"

    def openrm_disagrees(self, ptr: int, rom_offset: int) -> bool:
        off = self.openrm_offset
        return off is not None and self.pci_at.offset + ptr + off != rom_offset


@dataclass(frozen=True)
class UcodeDesc:
    """A falcon ucode descriptor (v2 or v3), normalised; ``fields`` keeps the raw ones."""

    offset: int  #: ROM offset of the descriptor
    version: int
    size: int  #: descriptor bytes, signatures included
    encrypted: bool
    fields: dict[str, int]

    @property
    def image_offset(self) -> int:
        """ROM offset of the ucode image."""
        return self.offset + self.size

    @property
    def stored_size(self) -> int:
        return self.fields["stored_size"]

    @property
    def imem_load_size(self) -> int:
        return self.fields["imem_load_size"]

    @property
    def dmem_load_size(self) -> int:
        return self.fields["dmem_load_size"]

    @property
    def dmem_offset(self) -> int:
        """Offset of DMEM in the ucode image (v2: DMEMOffset; v3: right after IMEM)."""
        return self.fields["dmem_offset"] if self.version == 2 else self.fields["imem_load_size"]

    @property
    def interface_offset(self) -> int:
        return self.fields["interface_offset"]

    def get(self, name: str) -> int | None:
        """A version-specific field (``None`` when this version has none)."""
        return self.fields.get(name)

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "version": self.version, "size": self.size, "encrypted": self.encrypted,
                **{k: v for k, v in self.fields.items() if k != "hdr"}}


def parse_desc(r: RomReader, exp: ExpansionRom, image: RomImage, offset: int, what: str) -> UcodeDesc:
    """The descriptor at ROM ``offset`` (inside FwSec ``image``); a :class:`RomError` if it is not v2/v3."""
    exp.need(r, image, offset, 4, f"{what} header")
    vdesc = r.u32(offset, f"{what} header")
    hdr = F.UcodeDescHeader.decode(vdesc)
    if not hdr["version_available"]:
        raise r.error(f"{what} header", offset, f"vDesc {vdesc:#010x} has VERSION_AVAILABLE (bit 0) clear: "
                                                f"expected a versioned (v2/v3) descriptor")
    version, size = hdr["version"], hdr["size"]
    names: tuple[str, ...]
    if version == 2:
        st, names, need = F.UCODE_DESC_V2, F.UCODE_DESC_V2_FIELDS, F.UCODE_DESC_V2_SIZE
    elif version == 3:
        st, names, need = F.UCODE_DESC_V3, F.UCODE_DESC_V3_FIELDS, F.UCODE_DESC_V3_SIZE
    else:
        raise r.error(f"{what} header", offset, f"descriptor version expected 2 or 3, found {version} "
                                                f"(vDesc {vdesc:#010x})")
    if size < need:
        raise r.error(f"{what} header", offset, f"v{version} descriptor size {size} is shorter than the "
                                                f"{need}-byte descriptor")
    exp.need(r, image, offset, size, f"{what} (v{version}, {size:#x} bytes)")
    fields = r.fields(st, names, offset, f"{what} (v{version})")
    return UcodeDesc(offset, version, size, bool(hdr["encrypted"]), fields)


@dataclass(frozen=True)
class UcodeTableEntry:
    index: int
    app_id: int
    target_id: int
    desc_ptr: int
    desc_offset: int | None = None  #: ROM offset the pointer maps to
    fwsec_image: int | None = None  #: index of the FwSec image holding the descriptor
    desc: UcodeDesc | None = None
    error: str | None = None  #: why the descriptor could not be decoded (other applications only)

    @property
    def app_name(self) -> str | None:
        try:
            return F.AppId(self.app_id).name
        except ValueError:
            return None

    def as_json(self) -> dict[str, Any]:
        d = self.desc
        return {"index": self.index, "app_id": self.app_id, "app_name": self.app_name, "target_id": self.target_id,
                "desc_ptr": self.desc_ptr, "desc_offset": self.desc_offset, "fwsec_image": self.fwsec_image,
                "desc_version": None if d is None else d.version, "desc_size": None if d is None else d.size,
                "stored_size": None if d is None else d.stored_size, "error": self.error}


@dataclass
class UcodeTable:
    """The falcon ucode table."""

    offset: int
    image: RomImage  #: the FwSec image holding it
    position: str  #: "first"/"second" FwSec image
    header: dict[str, int]
    entries: list[UcodeTableEntry] = field(default_factory=list)

    def find(self, app_id: int) -> UcodeTableEntry | None:
        return next((e for e in self.entries if e.app_id == app_id), None)

    @property
    def used(self) -> list[UcodeTableEntry]:
        """The entries that name an application or a descriptor (the rest are empty slots: both 0)."""
        return [e for e in self.entries if e.app_id or e.desc_ptr]

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "fwsec_image": self.image.index, "position": self.position, **self.header,
                "empty_entries": len(self.entries) - len(self.used), "entries": [e.as_json() for e in self.used]}


def parse_ucode_table(r: RomReader, exp: ExpansionRom, ptr: int, warnings: list[str]) -> UcodeTable:
    """The falcon ucode table at expansion-ROM pointer ``ptr``, each entry's descriptor decoded if it can be."""
    what = "falcon ucode table"
    offset, image = exp.locate(r, ptr, f"{what} (FALCON_DATA pointer)")
    if exp.openrm_disagrees(ptr, offset):
        warnings.append(f"{what}: FwSec images are not contiguous; OpenRM's expansion-ROM offset would place the "
                        f"table elsewhere than {offset:#x}")
    exp.need(r, image, offset, F.FALCON_UCODE_TABLE_HDR.size, f"{what} header")
    hdr = r.fields(F.FALCON_UCODE_TABLE_HDR, F.FALCON_UCODE_TABLE_HDR_FIELDS, offset, f"{what} header")
    if hdr["version"] != F.FALCON_UCODE_TABLE_VERSION:
        raise r.error(f"{what} header", offset,
                      f"version expected {F.FALCON_UCODE_TABLE_VERSION}, found {hdr['version']}")
    for key, minimum in (("header_size", F.FALCON_UCODE_TABLE_HDR.size),
                         ("entry_size", F.FALCON_UCODE_TABLE_ENTRY.size)):
        if hdr[key] < minimum:
            raise r.error(f"{what} header", offset, f"{key} {hdr[key]} is smaller than {minimum}")
    size = hdr["header_size"] + hdr["entry_count"] * hdr["entry_size"]
    exp.need(r, image, offset, size, f"{what} ({hdr['entry_count']} entries of {hdr['entry_size']} bytes)")
    r.claim(offset, size, what)
    table = UcodeTable(offset, image, exp.position(image), hdr)
    for i in range(hdr["entry_count"]):
        at = offset + hdr["header_size"] + i * hdr["entry_size"]
        app, target, dptr = r.unpack(F.FALCON_UCODE_TABLE_ENTRY, at, f"{what} entry {i}")
        entry = UcodeTableEntry(i, app, target, dptr)
        if app or dptr:
            entry = _decode_entry(r, exp, entry)
        table.entries.append(entry)
    return table


def _decode_entry(r: RomReader, exp: ExpansionRom, entry: UcodeTableEntry) -> UcodeTableEntry:
    """Locate and decode the entry's descriptor; failures are recorded, not raised (listing only)."""
    what = f"ucode descriptor of application {entry.app_id:#04x}"
    try:
        offset, image = exp.locate(r, entry.desc_ptr, what)
        desc = parse_desc(r, exp, image, offset, what)
    except RomError as exc:
        return UcodeTableEntry(entry.index, entry.app_id, entry.target_id, entry.desc_ptr, error=str(exc))
    label = f"ucode {entry.app_id:#04x}"
    r.claim(desc.offset, desc.size, f"{label} descriptor v{desc.version}")
    if exp.run_end(image) >= desc.image_offset + desc.stored_size:
        r.claim(desc.image_offset, desc.stored_size, f"{label} image")
    return UcodeTableEntry(entry.index, entry.app_id, entry.target_id, entry.desc_ptr, offset, image.index, desc)
