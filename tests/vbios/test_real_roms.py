"""The six real ROMs: every one parses, and what it says agrees with MANIFEST.tsv and across sources."""

from __future__ import annotations

from pathlib import Path

import pytest
from vbios_helpers import NO_FWSEC_PROD, ROM_CHIPS, ROM_NAMES, SHORT_DUMP, ManifestRom, rom_bytes

from nova_core.errors import RomError
from nova_core.sim import SimGpu
from nova_core.vbios import CodeType, FwsecCommand, PromSource, Vbios, read_vbios_version

pytestmark = pytest.mark.artifacts


@pytest.mark.parametrize("name", ROM_NAMES)
def test_rom_parses_and_matches_the_manifest(name: str, vbios_path: Path, manifest: dict[str, ManifestRom]) -> None:
    facts = manifest[name]
    vb = Vbios.from_bytes(rom_bytes(vbios_path, name), name)
    assert vb.version == facts.version
    assert vb.bit is not None and vb.bit.header.offset == facts.bit_offset
    assert vb.pci_at is not None
    assert (vb.pci_at.pcir.vendor_id, vb.pci_at.pcir.device_id) == (facts.pci_vendor, facts.pci_device)
    if facts.first_55aa is not None:
        assert vb.rom_base == facts.first_55aa
    assert vb.checksum == 0  # every real legacy image is intact
    assert vb.images[0].offset == vb.rom_base
    for a, b in zip(vb.images, vb.images[1:], strict=False):
        assert b.offset == a.end  # the walk is contiguous


@pytest.mark.parametrize("name", ROM_NAMES)
def test_fwsec_is_found_in_every_full_dump(name: str, vbios_path: Path) -> None:
    vb = Vbios.from_bytes(rom_bytes(vbios_path, name), name)
    if name == SHORT_DUMP:
        assert vb.fwsec is None and vb.ucode_table is None
        assert "no FwSec (0xE0) image follows the PCI-AT image" in (vb.fwsec_note or "")
        assert any("short dump" in w for w in vb.warnings)
        assert [i.code_type for i in vb.images] == [CodeType.PCI_AT, CodeType.EFI]
        return
    assert vb.ucode_table is not None
    if name == NO_FWSEC_PROD:
        # Blackwell: the table exists (and is found through the EFI gap) but carries no FWSEC_PROD entry
        assert vb.fwsec is None and "no FWSEC_PROD (0x85) entry" in (vb.fwsec_note or "")
        assert vb.ucode_table.offset == 0x91BDE and vb.ucode_table.position == "second"
        return
    fw = vb.fwsec
    assert fw is not None and fw.app_id == 0x85 and fw.position == "second"
    arch = ROM_CHIPS[name].facts
    assert fw.desc.version == (2 if arch.needs_fwsec_bootloader else 3)
    assert fw.dmemmapper.init_cmd == 0  # the ROM's command slot is empty until the driver patches it
    if fw.desc.version == 3:
        assert len(fw.signatures) == len(fw.signature_versions) >= 2
        assert fw.desc.get("engine_id_mask") == 0x400 and fw.desc.get("ucode_id") == 9
        # the signature slot in DMEM is a zero-filled placeholder in the ROM
        pkc = fw.desc.dmem_offset + (fw.desc.get("pkc_data_offset") or 0)
        assert fw.image[pkc:pkc + 384] == bytes(384)


def test_turing_keeps_the_table_in_the_first_fwsec_image_ampere_in_the_second(vbios_path: Path) -> None:
    tu = Vbios.from_bytes(rom_bytes(vbios_path, "turing-tu117_1f82_gtx1650.rom"))
    ga = Vbios.from_bytes(rom_bytes(vbios_path, "ampere-ga102_2204_gigabyte-rtx3090.rom"))
    assert tu.ucode_table is not None and tu.ucode_table.position == "first"
    assert ga.ucode_table is not None and ga.ucode_table.position == "second"
    # the EFI gap: OpenRM's expansion-ROM offset is the EFI image's size in both
    assert tu.expansion is not None and tu.expansion.openrm_offset == tu.images[1].size
    assert ga.expansion is not None and ga.expansion.openrm_offset == ga.images[1].size


@pytest.mark.parametrize("name", ROM_NAMES)
def test_prom_window_parse_equals_file_parse(name: str, vbios_path: Path) -> None:
    """The simulated GPU serves the file through BAR0 0x300000; 32-bit reads give the same parse."""
    data = rom_bytes(vbios_path, name)
    gpu = SimGpu(ROM_CHIPS[name], vbios=data)
    src = PromSource(gpu.bar0, "sim")
    if name == NO_FWSEC_PROD:
        # the dump carries 0x34200 bytes before the expansion ROM; served raw, its last image crosses the
        # end of the 1 MiB window - refused, precisely (the version alone still reads: see below)
        with pytest.raises(RomError, match=r"image 5 \(FWSEC, 0x9ec00 bytes\) at 0x6c800: .* past the PROM window"):
            Vbios.parse(src)
        return
    a = Vbios.parse(src).as_json()
    b = Vbios.from_bytes(data, name).as_json()
    for doc in (a, b):
        doc.pop("source")
        doc.pop("warnings")
        doc.pop("fwsec_note")
        if doc["ucode_table"]:
            for e in doc["ucode_table"]["entries"]:
                e.pop("error")
    assert a == b
    assert src.bytes_read < len(data)  # only what the parse needed was read


@pytest.mark.parametrize("name", ROM_NAMES)
def test_version_read_through_prom_is_cheap(name: str, vbios_path: Path, manifest: dict[str, ManifestRom]) -> None:
    gpu = SimGpu(ROM_CHIPS[name], vbios=rom_bytes(vbios_path, name))
    before = gpu.bar0.reads
    assert read_vbios_version(gpu.bar0, "sim") == manifest[name].version
    reads = gpu.bar0.reads - before
    # a few KiB: IFR words, image headers, the BIT's neighbourhood (GB206: the 512-byte scan to 0x34200)
    assert reads < (30_000 if name == NO_FWSEC_PROD else 2_000)


@pytest.mark.parametrize("name", [n for n in ROM_NAMES if n not in (SHORT_DUMP, NO_FWSEC_PROD)])
def test_patched_image_changes_only_the_patched_bytes(name: str, vbios_path: Path) -> None:
    vb = Vbios.from_bytes(rom_bytes(vbios_path, name), name)
    fw = vb.fwsec
    assert fw is not None
    fuse = fw.signature_versions[-1] if fw.desc.version == 3 else None
    img = fw.patch(FwsecCommand.FRTS, frts_offset=0xFFE00000, fuse_version=fuse)
    assert len(img.image) == fw.desc.stored_size
    changed = {i for i in range(len(img.image)) if img.image[i] != fw.image[i]}
    allowed: set[int] = set()
    for p in img.patches:
        allowed |= set(range(fw.desc.dmem_offset + p.dmem_offset, fw.desc.dmem_offset + p.dmem_offset + p.size))
    assert changed and changed <= allowed
    assert img.segment_bytes(img.dmem) == img.image[fw.desc.dmem_offset:fw.desc.dmem_offset + fw.desc.dmem_load_size]
