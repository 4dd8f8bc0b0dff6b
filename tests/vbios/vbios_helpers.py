"""Helpers of the vBIOS tests: the real ROMs and the facts their MANIFEST.tsv records."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from nova_core.gpu.chips import Chipset

#: ROM file -> the chip the simulated GPU should be when it serves it
ROM_CHIPS = {
    "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom": Chipset.AD102,
    "ampere-ga102_2204_gigabyte-rtx3090.rom": Chipset.GA102,
    "ampere-ga102_2206_msi-rtx3080-ventus-short.rom": Chipset.GA102,
    "blackwell-gb206_2d04_asus-prime-rtx5060ti.rom": Chipset.GB206,
    "turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom": Chipset.TU106,
    "turing-tu117_1f82_gtx1650.rom": Chipset.TU117,
}
ROM_NAMES = sorted(ROM_CHIPS)
SHORT_DUMP = "ampere-ga102_2206_msi-rtx3080-ventus-short.rom"
#: the GB206 dump's falcon ucode table has no FWSEC_PROD entry (Blackwell runs FWSEC through the FSP)
NO_FWSEC_PROD = "blackwell-gb206_2d04_asus-prime-rtx5060ti.rom"


@dataclass(frozen=True)
class ManifestRom:
    file: str
    size: int
    pci_vendor: int
    pci_device: int
    version: str
    bit_offset: int
    first_55aa: int | None  #: "first 0x55AA at 0x..." when the notes say so
    notes: str


def read_manifest(vbios_dir: Path) -> dict[str, ManifestRom]:
    out: dict[str, ManifestRom] = {}
    with (vbios_dir / "MANIFEST.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            notes = row["notes"]
            version = re.search(r"bit_biosdata_version=([0-9A-F.]+)", notes)
            bit = re.search(r"BIT@(0x[0-9a-fA-F]+)", notes)
            first = re.search(r"first 0x55AA at (0x[0-9a-fA-F]+)", notes)
            vendor, device = (int(x, 16) for x in row["pci_device_id"].split(":"))
            assert version and bit, f"MANIFEST row {row['file']} lacks a version or BIT offset"
            out[row["file"]] = ManifestRom(row["file"], int(row["size"]), vendor, device, version.group(1),
                                           int(bit.group(1), 16), int(first.group(1), 16) if first else None, notes)
    return out


def rom_bytes(vbios_path: Path, name: str) -> bytes:
    path = vbios_path / name
    if not path.is_file():
        pytest.skip(f"{name} is not in {vbios_path}")
    return path.read_bytes()
