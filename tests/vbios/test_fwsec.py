"""FWSEC patching: the exact bytes of the FRTS/SB commands, the signature choice, the load layout."""

from __future__ import annotations

import struct

import pytest

from nova_core.errors import NovaError, RomError
from nova_core.gpu.chips import Chipset
from nova_core.sim.synth.vbios import build_vbios, synthetic_layout
from nova_core.vbios import FwsecCommand, FwsecUcode, Vbios

SIG = 384


def fwsec_of(rom: bytes) -> FwsecUcode:
    fw = Vbios.from_bytes(rom, "test.rom").fwsec
    assert fw is not None
    return fw


def patched(rom: bytes, at: int, data: bytes) -> bytes:
    return rom[:at] + data + rom[at + len(data):]


def test_frts_command_bytes() -> None:
    chip = Chipset.AD102
    lay = synthetic_layout(chip)
    fw = fwsec_of(build_vbios(chip))
    img = fw.patch(FwsecCommand.FRTS, frts_offset=0x5FE00000, frts_size=0x200000, fuse_version=0)
    dmem = img.dmem_bytes
    assert struct.unpack_from("<I", dmem, lay.dmemmapper + 0x2C)[0] == 0x15
    # FWSECLIC_READ_VBIOS_DESC {1, 24, 0 (u64), 0, 2} then FWSECLIC_FRTS_REGION_DESC {1, 20, 0x5FE00, 0x200, 2}
    expect = bytes.fromhex("01000000" "18000000" "0000000000000000" "00000000" "02000000"
                           "01000000" "14000000" "00fe0500" "00020000" "02000000")
    assert dmem[lay.cmd_in:lay.cmd_in + 44] == expect
    assert [(p.what, p.dmem_offset, p.size) for p in img.patches] == [
        ("DMEMMAPPER init_cmd", lay.dmemmapper + 0x2C, 4), ("FRTS command arguments", lay.cmd_in, 44),
        ("RSA3K signature 0", lay.pkc_data_offset, SIG)]


def test_sb_command_writes_read_vbios_only() -> None:
    lay = synthetic_layout(Chipset.GA102)
    fw = fwsec_of(build_vbios(Chipset.GA102))
    img = fw.patch(FwsecCommand.SB, fuse_version=0)
    dmem = img.dmem_bytes
    assert struct.unpack_from("<I", dmem, lay.dmemmapper + 0x2C)[0] == 0x19
    assert dmem[lay.cmd_in:lay.cmd_in + 24] == struct.pack("<IIQII", 1, 24, 0, 0, 2)
    orig = fw.image[fw.desc.dmem_offset:]
    assert dmem[lay.cmd_in + 24:lay.cmd_in + 64] == orig[lay.cmd_in + 24:lay.cmd_in + 64]
    assert img.frts_offset is None and img.frts_size is None


@pytest.mark.parametrize(("versions", "fuse", "index"), [
    (0b111, 0, 0), (0b111, 1, 1), (0b111, 2, 2), (0b101, 0, 0), (0b101, 2, 1), (0b110, 2, 1), (0b110, 1, 0),
])
def test_signature_choice_follows_the_fuse_version(versions: int, fuse: int, index: int) -> None:
    chip = Chipset.GA102  # three synthetic signatures
    lay = synthetic_layout(chip)
    rom = build_vbios(chip)
    count = bin(versions).count("1")
    rom = patched(rom, lay.desc + 0x27, struct.pack("<BH", count, versions))
    fw = fwsec_of(rom)
    img = fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=fuse)
    assert img.signature_index == index and img.fused_version == fuse
    sig_in_rom = rom[lay.desc + 44 + index * SIG:lay.desc + 44 + (index + 1) * SIG]
    assert img.dmem_bytes[lay.pkc_data_offset:lay.pkc_data_offset + SIG] == sig_in_rom


@pytest.mark.parametrize("fuse", [1, 3])
def test_fuse_version_without_signature_is_refused(fuse: int) -> None:
    lay = synthetic_layout(Chipset.GA102)
    rom = patched(build_vbios(Chipset.GA102), lay.desc + 0x27, struct.pack("<BH", 2, 0b101))
    with pytest.raises(RomError, match=rf"no signature for fuse version {fuse}: SignatureVersions 0x0005 covers "
                                       r"fuse versions 0, 2"):
        fwsec_of(rom).patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=fuse)


def test_v3_layout_and_brom_params() -> None:
    lay = synthetic_layout(Chipset.AD102)
    img = fwsec_of(build_vbios(Chipset.AD102)).patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=1)
    assert img.imem_ns is None
    assert (img.imem_sec.src, img.imem_sec.dst, img.imem_sec.size, img.imem_sec.secure, img.imem_sec.tag) == \
        (0, 0, lay.imem_size, True, 0)
    assert (img.dmem.src, img.dmem.dst, img.dmem.size, img.dmem.secure) == (lay.imem_size, 0, lay.dmem_size, False)
    assert img.boot_vector == 0
    assert img.brom is not None and img.brom.as_json() == {"pkc_data_offset": lay.pkc_data_offset,
                                                           "engine_id_mask": 0x400, "ucode_id": 9}
    assert img.imem_bytes == img.image[:lay.imem_size]


def test_v2_layout_for_the_generic_bootloader() -> None:
    lay = synthetic_layout(Chipset.TU102)
    fw = fwsec_of(build_vbios(Chipset.TU102))
    img = fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=7)  # v2: the fuse version is ignored
    assert img.brom is None and img.signature_index is None and img.fused_version is None
    assert img.imem_ns is not None
    assert (img.imem_ns.src, img.imem_ns.dst, img.imem_ns.size, img.imem_ns.secure) == (0, 0, 0x400, False)
    assert (img.imem_sec.src, img.imem_sec.dst, img.imem_sec.size, img.imem_sec.tag) == \
        (0x400, 0x400, lay.imem_size - 0x400, 0x400)
    assert (img.dmem.src, img.dmem.dst, img.dmem.size) == (lay.imem_size, 0, lay.dmem_size)
    assert img.imem_bytes == img.image[:lay.imem_size]
    assert [p.what for p in img.patches] == ["DMEMMAPPER init_cmd", "FRTS command arguments"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"command": FwsecCommand.FRTS}, "needs the FRTS region's VRAM offset"),
    ({"command": FwsecCommand.FRTS, "frts_offset": 0x100800}, r"FRTS offset 0x100800 must be a non-zero multiple"),
    ({"command": FwsecCommand.FRTS, "frts_offset": 0}, "FRTS offset 0x0 must be a non-zero multiple"),
    ({"command": FwsecCommand.FRTS, "frts_offset": 0x100000, "frts_size": 0x1800}, "FRTS size 0x1800"),
    ({"command": FwsecCommand.SB, "frts_offset": 0x100000}, "applies to the FRTS command only"),
    ({"command": 0x16}, r"FWSEC command 22 is not one of FRTS \(0x15\), SB \(0x19\)"),
])
def test_bad_patch_arguments(kwargs: dict[str, int], match: str) -> None:
    fw = fwsec_of(build_vbios(Chipset.AD102))
    command = kwargs.pop("command")
    with pytest.raises(NovaError, match=match):
        fw.patch(command, fuse_version=0, **kwargs)


def test_v3_needs_a_fuse_version() -> None:
    fw = fwsec_of(build_vbios(Chipset.AD102))
    with pytest.raises(NovaError, match="needs the fused ucode version of ucode id 9 .* fuse versions 0, 1"):
        fw.patch(FwsecCommand.FRTS, frts_offset=0x100000)
    with pytest.raises(NovaError, match="fuse version 16 is out of range 0..15"):
        fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=16)


def test_encrypted_ucode_is_not_patched() -> None:
    lay = synthetic_layout(Chipset.AD102)
    rom = build_vbios(Chipset.AD102)
    hdr = struct.unpack_from("<I", rom, lay.desc)[0] | 0x4
    fw = fwsec_of(patched(rom, lay.desc, struct.pack("<I", hdr)))
    assert fw.desc.encrypted
    with pytest.raises(RomError, match="marks the ucode encrypted"):
        fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=0)


def test_patching_leaves_the_parsed_ucode_untouched() -> None:
    fw = fwsec_of(build_vbios(Chipset.GA104))
    before = fw.image
    a = fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=2)
    b = fw.patch(FwsecCommand.FRTS, frts_offset=0x100000, fuse_version=2)
    assert fw.image == before and a.image == b.image and a.sha256 == b.sha256
