"""nova_core.vbios.vbios: ``Vbios``, the parse of a whole vBIOS, and the light version read for probes.

Order of the parse (each step's module documents its rules):

1. :func:`~.images.locate_rom`: the offset of the first PCI expansion ROM image (offset 0, an IFR
   header, or the first 55 AA boundary with a valid PCIR); from there the 1 MiB scan limit counts;
2. :func:`~.images.walk_images`: the image chain; the first PCI-AT (0x00) image must exist;
3. the legacy checksum of the PCI-AT image (a mismatch is a warning, as is an image whose NPDE
   disables the checksum);
4. :func:`~.bit.parse_bit`: BIT header and tokens, BIOSDATA (the version), FALCON_DATA;
5. :func:`~.ucode.parse_ucode_table`: the falcon ucode table through the expansion-ROM mapping;
6. :meth:`~.fwsec.FwsecUcode.parse`: the FWSEC_PROD (0x85) ucode, validated for patching.

A ROM without FwSec images (a legacy + EFI dump), without FALCON_DATA, or whose table has no FWSEC_PROD
entry (the GB206 dump: Blackwell boots through the FSP) parses with ``fwsec = None`` and a note saying
why; anything malformed on the way is a :class:`~nova_core.errors.RomError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RomError
from ..hw.bar import Bar
from . import facts as F
from .bit import BiosData, Bit, FalconData, parse_bit
from .coverage import Coverage
from .images import IfrHeader, RomImage, legacy_checksum, locate_rom, walk_images
from .reader import RomReader
from .source import FileSource, PromSource, RomSource
from .ucode import ExpansionRom, NoExpansionRom, UcodeTable, parse_ucode_table

if TYPE_CHECKING:
    from .fwsec import FwsecUcode


class Vbios:
    """A parsed vBIOS (build it with :meth:`parse`, :meth:`from_file` or :meth:`from_bar`)."""

    def __init__(self, source: RomSource, reader: RomReader) -> None:
        self.source = source
        self.reader = reader
        self.coverage: Coverage = reader.coverage
        self.rom_base = 0
        self.located_by = ""
        self.ifr: IfrHeader | None = None
        self.images: list[RomImage] = []
        self.pci_at: RomImage | None = None
        self.checksum: int | None = None  #: 8-bit sum of the PCI-AT image (0 = intact; None: not checked)
        self.bit: Bit | None = None
        self.biosdata: BiosData | None = None
        self.falcon_data: FalconData | None = None
        self.expansion: ExpansionRom | None = None
        self.ucode_table: UcodeTable | None = None
        self.fwsec: FwsecUcode | None = None
        self.fwsec_note: str | None = None
        self.warnings: list[str] = []

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def parse(cls, source: RomSource, *, full: bool = True) -> Vbios:
        """Parse ``source``; ``full=False`` walks only up to the PCI-AT image and stops after the BIT
        (enough for the version, and all a probe reads)."""
        head = RomReader(source, scan_end=F.SCAN_LIMIT, scan_reason="the 1 MiB scan limit")
        vb = cls(source, head)
        vb.rom_base, vb.ifr, vb.located_by = locate_rom(head)
        r = head.limited(vb.rom_base + F.SCAN_LIMIT,
                         f"the 1 MiB scan limit (counted from the ROM start {vb.rom_base:#x})")
        vb.reader = r
        vb.images, warnings = walk_images(r, vb.rom_base, until_code_type=None if full else F.CodeType.PCI_AT)
        vb.warnings.extend(warnings)
        vb.pci_at = next((i for i in vb.images if i.code_type == F.CodeType.PCI_AT), None)
        if vb.pci_at is None:
            types = ", ".join(f"{i.code_type:#04x}" for i in vb.images)
            raise RomError(f"{source.name}: image chain at {vb.rom_base:#x}: no PCI-AT (code type 0x00) image among "
                           f"its {len(vb.images)} images (code types {types}): the BIT cannot be found")
        if full:
            vb._check_legacy(r, vb.pci_at)
        vb.bit = parse_bit(r, vb.pci_at)
        vb.warnings.extend(vb.bit.warnings)
        vb.biosdata = vb.bit.find(BiosData)
        vb.falcon_data = vb.bit.find(FalconData)
        if vb.biosdata is None:
            vb.warnings.append("no BIOSDATA ('B' v1/v2) token: the version is unknown")
        if full:
            vb._parse_falcon(r, vb.pci_at)
        return vb

    @classmethod
    def from_file(cls, path: str | Path, *, full: bool = True) -> Vbios:
        return cls.parse(FileSource.open(path), full=full)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<rom>", *, full: bool = True) -> Vbios:
        return cls.parse(FileSource(data, name), full=full)

    @classmethod
    def from_bar(cls, bar: Bar, name: str = "device", *, full: bool = True) -> Vbios:
        """Parse the ROM behind BAR0's PROM window (32-bit reads, only the chunks the parse needs)."""
        return cls.parse(PromSource(bar, name), full=full)

    def _check_legacy(self, r: RomReader, image: RomImage) -> None:
        if image.npde is not None and image.npde.flags is not None \
                and image.npde.flags & F.NPDE_FLAG_CHECKSUM_DISABLED:
            self.warnings.append(f"image {image.index} (PCI-AT): its NPDE disables the checksum; not checked")
            return
        self.checksum = legacy_checksum(r, image)
        if self.checksum:
            self.warnings.append(f"image {image.index} (PCI-AT) at {image.offset:#x}: legacy checksum: the "
                                 f"{image.pcir.image_len:#x} bytes sum to {self.checksum:#04x}, expected 0x00")

    def _parse_falcon(self, r: RomReader, pci_at: RomImage) -> None:
        self.expansion = ExpansionRom(self.images, pci_at)
        if self.falcon_data is None:
            self.fwsec_note = "no FALCON_DATA ('p' v2) token in the BIT"
            return
        try:
            self.ucode_table = parse_ucode_table(r, self.expansion, self.falcon_data.ucode_table_ptr, self.warnings)
        except NoExpansionRom as exc:
            self.fwsec_note = str(exc)
            return
        entry = self.ucode_table.find(F.AppId.FWSEC_PROD)
        if entry is None:
            apps = ", ".join(f"{e.app_id:#04x}" for e in self.ucode_table.entries if e.app_id)
            self.fwsec_note = (f"the falcon ucode table at {self.ucode_table.offset:#x} has no FWSEC_PROD "
                               f"({F.AppId.FWSEC_PROD:#04x}) entry (applications: {apps or 'none'})")
            return
        from .fwsec import FwsecUcode  # the firmware layer, imported only for a ROM with a FWSEC to parse

        self.fwsec = FwsecUcode.parse(r, self.expansion, entry)
        self.warnings.extend(self.fwsec.warnings)

    # -- facts --------------------------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """NVIDIA's version string (``"94.02.42.80.88"``), ``None`` without BIOSDATA."""
        return None if self.biosdata is None else self.biosdata.version_string

    @property
    def end(self) -> int:
        """End of the image chain (ROM offset)."""
        return self.images[-1].end if self.images else self.rom_base

    def unclaimed(self) -> list[tuple[int, int]]:
        """Byte ranges of ``[0, end)`` no parsed structure claims."""
        return self.coverage.unclaimed(0, self.end)

    def as_json(self, *, verbose: bool = False) -> dict[str, Any]:
        """The stable JSON of ``nova vbios --json`` (``verbose`` adds claims and unclaimed regions)."""
        pci = self.pci_at
        out: dict[str, Any] = {
            "source": {"kind": self.source.kind, "name": self.source.name, "size": self.source.size},
            "version": self.version,
            "biosdata": None if self.biosdata is None else self.biosdata.as_json(),
            "rom_base": self.rom_base,
            "located_by": self.located_by,
            "ifr": None if self.ifr is None else self.ifr.as_json(),
            "images": [i.as_json() for i in self.images],
            "pci_at": None if pci is None else {"index": pci.index, "checksum": self.checksum,
                                                "checksum_ok": None if self.checksum is None else self.checksum == 0},
            "bit": None if self.bit is None else self.bit.as_json(),
            "falcon_data": None if self.falcon_data is None else self.falcon_data.as_json(),
            "expansion_rom_offset": None if self.expansion is None else self.expansion.openrm_offset,
            "ucode_table": None if self.ucode_table is None else self.ucode_table.as_json(),
            "fwsec": None if self.fwsec is None else self.fwsec.as_json(),
            "fwsec_note": self.fwsec_note,
            "warnings": list(self.warnings),
            "coverage": self.coverage.summary(0, self.end),
        }
        if verbose:
            out["coverage"]["unclaimed"] = [[a, b] for a, b in self.unclaimed()]
            out["coverage"]["claimed"] = [c.as_json() for c in sorted(self.coverage.claims,
                                                                      key=lambda c: (c.start, c.end))]
        return out


def read_vbios_version(bar: Bar, name: str = "device") -> str | None:
    """The vBIOS version behind BAR0's PROM window (read-only, 32-bit reads, a few KiB read).

    ``None`` when the ROM has no BIOSDATA; a :class:`~nova_core.errors.RomError` when it cannot be parsed.
    """
    return Vbios.from_bar(bar, name, full=False).version
