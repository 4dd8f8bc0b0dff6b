"""Synthetic ROMs of every chip: the parse finds exactly what the builder placed, by every route."""

from __future__ import annotations

import pytest

from nova_core.gpu.chips import Architecture, Chipset
from nova_core.sim import SimGpu
from nova_core.sim.synth.vbios import build_vbios, synthetic_layout, synthetic_version
from nova_core.vbios import CodeType, FwsecCommand, Vbios, format_version


@pytest.mark.parametrize("chip", list(Chipset), ids=lambda c: c.lower)
def test_parse_matches_the_builder(chip: Chipset) -> None:
    rom, lay = build_vbios(chip), synthetic_layout(chip)
    vb = Vbios.from_bytes(rom, chip.lower)
    assert vb.version == format_version(*synthetic_version(chip))
    assert [(i.offset, i.size, i.code_type) for i in vb.images] == list(lay.images)
    assert vb.bit is not None and vb.bit.header.offset == lay.bit == 0x280  # not the usual 0x1B0
    assert vb.checksum == 0 and vb.warnings == []
    assert vb.ucode_table is not None and vb.ucode_table.offset == lay.table
    assert vb.ucode_table.position == ("first" if lay.table_in_fwsec == 1 else "second")
    fw = vb.fwsec
    assert fw is not None and fw.position == "second"
    assert (fw.desc.offset, fw.desc.version, fw.desc.size, fw.desc.image_offset) == \
        (lay.desc, lay.desc_version, lay.desc_size, lay.ucode)
    assert (fw.desc.imem_load_size, fw.desc.dmem_load_size) == (lay.imem_size, lay.dmem_size)
    assert len(fw.signatures) == lay.signatures
    assert (fw.dmemmapper.dmem_offset, fw.dmemmapper.cmd_in_buffer_offset) == (lay.dmemmapper, lay.cmd_in)
    assert fw.desc.interface_offset == lay.interface_offset
    # desc v2 exactly where the generic bootloader is needed; 2+ signatures on every v3
    assert (fw.desc.version == 2) == chip.facts.needs_fwsec_bootloader
    if fw.desc.version == 3:
        assert len(fw.signatures) >= 2 and len(set(fw.signatures)) == len(fw.signatures)


def test_synthetic_rom_is_deterministic_and_recognisable() -> None:
    a, b = build_vbios(Chipset.GA102), build_vbios(Chipset.GA102)
    assert a == b and a != build_vbios(Chipset.GA104)
    assert Vbios.from_bytes(a).version == "94.02.00.01.5A"  # OEM byte 0x5A: "Z", synthetic


def test_efi_gap_and_npde_rule_are_exercised() -> None:
    """The EFI image's PCIR says "last"; only the NPDE rule walks on to the FwSec images."""
    vb = Vbios.from_bytes(build_vbios(Chipset.AD102))
    efi = vb.images[1]
    assert efi.code_type == CodeType.EFI and efi.pcir.last and efi.npde is not None and not efi.last
    assert vb.expansion is not None and vb.expansion.openrm_offset == efi.size
    # the FALCON_DATA pointer is an expansion-ROM pointer: it ignores the EFI image
    assert vb.falcon_data is not None
    assert vb.falcon_data.ucode_table_ptr == vb.pci_at.size + (vb.ucode_table.offset - vb.images[2].offset)  # type: ignore[union-attr]


def test_turing_ends_with_an_nbsi_image_without_npde() -> None:
    vb = Vbios.from_bytes(build_vbios(Chipset.TU117))
    last = vb.images[-1]
    assert last.code_type == CodeType.NBSI and last.npde is None and last.last
    assert not vb.images[-2].last


@pytest.mark.parametrize("ifr", [1, 2, 3])
@pytest.mark.parametrize("chip", [Chipset.TU106, Chipset.GA102, Chipset.AD102])
def test_ifr_header_versions(chip: Chipset, ifr: int) -> None:
    rom, lay = build_vbios(chip, ifr=ifr), synthetic_layout(chip, ifr=ifr)
    vb = Vbios.from_bytes(rom)
    assert vb.ifr is not None and vb.ifr.version == ifr and vb.rom_base == lay.rom_base == 0x4000
    assert vb.ifr.directory_offset == (0x3000 if ifr == 3 else None)
    assert vb.fwsec is not None and vb.fwsec.desc.offset == lay.desc
    plain = Vbios.from_bytes(build_vbios(chip)).fwsec
    assert plain is not None and plain.image == vb.fwsec.image


def test_leading_data_before_the_expansion_rom() -> None:
    """A file with other data first (the GB206 case): the first 512-byte boundary with 55 AA + PCIR wins."""
    lead = bytearray(b"\x4c\xc0\xe0\x0c" + b"\xff" * (0x1400 - 4))
    lead[0x600:0x602] = b"\x55\xaa"  # a stray 55 AA without a PCIR behind it is not a ROM start
    rom = bytes(lead) + build_vbios(Chipset.GB206)
    vb = Vbios.from_bytes(rom)
    assert vb.rom_base == 0x1400 and vb.located_by.startswith("first 512-byte boundary")
    assert vb.fwsec is not None and vb.fwsec.desc.offset == synthetic_layout(Chipset.GB206).desc + 0x1400


@pytest.mark.parametrize("chip", [Chipset.TU102, Chipset.GA100, Chipset.GA102, Chipset.GB202],
                         ids=lambda c: c.lower)
def test_prom_parse_of_the_simulated_gpu(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    vb = Vbios.from_bar(gpu.bar0, "sim")
    assert vb.source.kind == "prom" and vb.version == format_version(*synthetic_version(chip))
    assert vb.fwsec is not None and vb.fwsec.image == Vbios.from_bytes(gpu.rom).fwsec.image  # type: ignore[union-attr]


@pytest.mark.parametrize("chip", list(Chipset), ids=lambda c: c.lower)
def test_every_chip_patches(chip: Chipset) -> None:
    fw = Vbios.from_bytes(build_vbios(chip)).fwsec
    assert fw is not None
    fuse = 0 if fw.desc.version == 3 else None
    frts = fw.patch(FwsecCommand.FRTS, frts_offset=0x1000000, fuse_version=fuse)
    sb = fw.patch(FwsecCommand.SB, fuse_version=fuse)
    assert frts.image != sb.image and len(frts.image) == len(sb.image) == fw.desc.stored_size
    assert (frts.brom is None) == (chip.architecture is Architecture.TURING or chip is Chipset.GA100)


def test_unknown_code_types_are_kept_and_reported() -> None:
    lay = synthetic_layout(Chipset.TU117)
    nbsi = lay.images[-1][0]
    rom = build_vbios(Chipset.TU117)
    rom = rom[:nbsi + 0x20 + 0x14] + b"\x42" + rom[nbsi + 0x20 + 0x15:]
    vb = Vbios.from_bytes(rom)
    last = vb.images[-1]
    assert last.code_type == 0x42 and last.code_type_name == "unknown 0x42" and last.last
    assert vb.fwsec is not None
    assert vb.as_json()["images"][-1]["code_type_name"] == "unknown 0x42"
