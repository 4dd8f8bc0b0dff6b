"""Bad input: every malformation ends in a RomError naming the structure, the offset, expected and found."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from vbios_helpers import ROM_NAMES, rom_bytes

from nova_core.errors import NovaError, RomError
from nova_core.gpu.chips import Chipset
from nova_core.sim import SimGpu
from nova_core.sim.synth.vbios import build_vbios, synthetic_layout
from nova_core.vbios import FwsecCommand, Vbios

AD = Chipset.AD102
TU = Chipset.TU106


def put(rom: bytes, at: int, data: bytes) -> bytes:
    return rom[:at] + data + rom[at + len(data):]


def parse(rom: bytes) -> Vbios:
    return Vbios.from_bytes(rom, "bad.rom")


def refuse(rom: bytes, match: str) -> RomError:
    with pytest.raises(RomError, match=match) as info:
        parse(rom)
    assert str(info.value).startswith("bad.rom: ")
    return info.value


# -- truncation ----------------------------------------------------------------------------------------


def _boundaries(vb: Vbios) -> list[int]:
    cuts: set[int] = set()
    for c in vb.coverage.claims:
        cuts |= {c.start, c.start + 1, c.end - 1, c.end}
    for img in vb.images:
        cuts |= {img.offset, img.offset + 2, img.offset + 0x19, img.end - 1}
    return sorted(c for c in cuts if 0 < c < vb.end)


def _check_truncations(rom: bytes) -> tuple[int, int]:
    full = parse(rom)
    image_ends = {i.end for i in full.images}
    errors = shorts = 0
    for cut in _boundaries(full):
        try:
            vb = parse(rom[:cut])
        except RomError as exc:
            assert f"at {0:#x}" in str(exc) or " at 0x" in str(exc), exc
            errors += 1
            continue
        # only a cut exactly at an image boundary leaves a parseable (short) dump, and it says so
        assert cut in image_ends, f"truncation at {cut:#x} parsed without error"
        assert any("short dump" in w for w in vb.warnings)
        shorts += 1
    return errors, shorts


@pytest.mark.parametrize("chip", [AD, TU, Chipset.GA100], ids=lambda c: c.lower)
def test_truncation_at_every_structure_boundary_synthetic(chip: Chipset) -> None:
    errors, shorts = _check_truncations(build_vbios(chip))
    assert errors > 50 and shorts >= 1


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ROM_NAMES)
def test_truncation_at_every_structure_boundary_real(name: str, vbios_path: Path) -> None:
    errors, _ = _check_truncations(rom_bytes(vbios_path, name))
    assert errors > 10


def test_truncation_messages_name_the_structure() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    refuse(rom[:lay.desc + 20], rf"image 3 \(FWSEC, 0x3e00 bytes\) at 0x18000: needs 0x3e00 bytes up to 0x1be00, "
                                rf"past the end of the ROM file at {lay.desc + 20:#x}")
    refuse(rom[:0x290], r"BIT header at 0x280: needs 0xc bytes up to 0x28c|image 0 \(PCI_AT")
    refuse(rom[:0x50], r"image 0 PCI data structure at 0x40: needs 0x18 bytes up to 0x58, past the end of the ROM "
                       r"file at 0x50")
    refuse(rom[:0x10], r"image 0 ROM header at 0x0: needs 0x1a bytes")


# -- bad signatures -----------------------------------------------------------------------------------


def test_bad_rom_signature_in_the_chain() -> None:
    rom = put(build_vbios(AD), 0x16000, b"\x34\x12")
    refuse(rom, r"image 2 ROM header at 0x16000: signature expected 0xaa55 or 0x4e56 or 0xbb77, found 0x1234")


def test_bad_pcir_signature() -> None:
    rom = put(build_vbios(AD), 0x10000 + 0x1C, b"XXXX")
    refuse(rom, r"image 1 PCI data structure at 0x1001c: signature expected b'PCIR', b'NPDS', b'RGIS', found b'XXXX'")


def test_no_rom_at_all() -> None:
    refuse(bytes(range(256)) * 64, r"PCI expansion ROM at 0x0: not found: offset 0 holds 00 01 02 03")


def test_bit_checksum_and_signature() -> None:
    rom = build_vbios(AD)
    refuse(put(rom, 0x280 + 11, bytes([rom[0x280 + 11] ^ 1])),
           r"no candidate in the PCI-AT image \[0x0, 0x10000\) has a valid checksum \(BIT candidate at 0x280: its 12 "
           r"header bytes sum to 0x01, expected 0x00\)")
    refuse(put(rom, 0x282, b"XIT"), r"BIT header at 0x0: not found: no FF B8 'BIT' 00 signature")
    refuse(put(rom, 0x288, b"\x08"), r"BIT header at 0x280: HeaderSize 8 is shorter than the 12-byte header")


def test_a_bad_bit_candidate_before_the_real_one_is_skipped() -> None:
    rom = build_vbios(AD)
    decoy = b"\xff\xb8BIT\x00" + bytes([0x00, 0x01, 12, 6, 0, 0x42])  # checksum wrong
    vb = parse(put(rom, 0x100, decoy))
    assert vb.bit is not None and vb.bit.header.offset == 0x280
    assert any("skipped BIT candidate at 0x100" in w for w in vb.warnings)


@pytest.mark.parametrize(("version", "match"), [
    (4, r"IFR header at 0x0: version \(FIXED1 15:8\) expected one of 1, 2, 3, found 4"),
])
def test_ifr_bad_version(version: int, match: str) -> None:
    rom = build_vbios(AD, ifr=1)
    fixed1 = struct.unpack_from("<I", rom, 4)[0] & ~0xFF00 | version << 8
    refuse(put(rom, 4, struct.pack("<I", fixed1)), match)


def test_ifr_bad_directory_and_pointer() -> None:
    rom = build_vbios(AD, ifr=3)
    refuse(put(rom, 0x3000, b"DRFR"), r"ROM directory at 0x3000: signature expected b'RFRD', found b'DRFR'")
    rom1 = build_vbios(AD, ifr=1)
    refuse(put(rom1, 0x28, struct.pack("<I", 0x2000)),
           r"PCI expansion ROM at 0x2000: the IFR v1 header points here, but the ROM signature is")
    refuse(put(rom1, 0x28, struct.pack("<I", 0x2002)), r"v1 PCI ROM offset 0x2002 is not 4-byte aligned")


def test_bad_ucode_table_and_descriptor() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    refuse(put(rom, lay.table, b"\x02"), rf"falcon ucode table header at {lay.table:#x}: version expected 1, found 2")
    refuse(put(rom, lay.table + 2, b"\x05"), r"entry_size 5 is smaller than 6")
    hdr = struct.unpack_from("<I", rom, lay.desc)[0]
    refuse(put(rom, lay.desc, struct.pack("<I", hdr & ~0xFF00 | 4 << 8)),
           rf"descriptor header at {lay.desc:#x}: descriptor version expected 2 or 3, found 4")
    refuse(put(rom, lay.desc, struct.pack("<I", hdr & ~1)), r"VERSION_AVAILABLE \(bit 0\) clear")
    refuse(put(rom, lay.desc, struct.pack("<I", hdr & 0xFFFF | 40 << 16)),
           r"v3 descriptor size 40 is shorter than the 44-byte descriptor")


def test_bad_dmemmapper_and_interface() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    dmem = lay.ucode + lay.imem_size
    refuse(put(rom, dmem + lay.dmemmapper, b"PAMD"),
           rf"FWSEC DMEMMAPPER at {dmem + lay.dmemmapper:#x}: signature expected b'DMAP', found b'PAMD'")
    refuse(put(rom, dmem + lay.dmemmapper + 4, b"\x02\x00"), r"DMEMMAPPER .* version expected 3, found 2")
    refuse(put(rom, dmem + lay.interface_offset, b"\x02"), r"application interface header .* version expected 1")
    refuse(put(rom, dmem + lay.interface_offset + 3, b"\x00"), r"no entries: the DMEMMAPPER is missing")
    refuse(put(rom, dmem + lay.interface_offset + 4, struct.pack("<I", 7)), r"no DMEMMAPPER entry \(id 4\); ids "
                                                                           r"present: 0x7, 0x5")
    refuse(put(rom, dmem + lay.dmemmapper + 0xC, struct.pack("<I", 0x20)),
           r"cmd_in_buffer_size 0x20 is smaller than the 44-byte FRTS command")


def test_a_single_interface_entry_is_accepted_with_a_warning() -> None:
    lay = synthetic_layout(AD)
    dmem = lay.ucode + lay.imem_size
    vb = parse(put(build_vbios(AD), dmem + lay.interface_offset + 3, b"\x01"))
    assert vb.fwsec is not None
    assert any("OpenRM refuses fewer than 2" in w and "#943" in w for w in vb.warnings)


# -- pointers outside -------------------------------------------------------------------------------


def test_falcon_data_pointers_outside() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    refuse(put(rom, lay.falcon_data, struct.pack("<I", 0x1000)),
           r"pointer 0x1000 points into the PCI-AT image \(0x10000 bytes\); expected an expansion-ROM pointer")
    refuse(put(rom, lay.falcon_data, struct.pack("<I", 0x7FFFFFFF)),
           r"pointer 0x7fffffff lies past the end of the expansion ROM")
    entry = lay.table + 6 + 6 * 1
    refuse(put(rom, entry + 2, struct.pack("<I", 0x7FFFFFF0)), r"FWSEC \(application 0x85\) descriptor at .* past the "
                                                               r"end of the expansion ROM")


def test_bit_token_pointer_outside_the_pci_at_image() -> None:
    rom = build_vbios(AD)
    tok_b = 0x280 + 12  # 'B' BIOSDATA is the first token
    refuse(put(rom, tok_b + 4, struct.pack("<H", 0xFFF0)), r"BIT token 'B' \(0x42\) v2 at 0x28c: data pointer 0xfff0 "
                                                            r"\(37 bytes at ROM 0xfff0\) is outside the PCI-AT image")
    refuse(put(rom, tok_b + 2, struct.pack("<H", 3)), r"DataSize 3 is shorter than the 5 bytes its data needs")
    # a token nobody decodes may point anywhere: listed with a warning, never fatal
    vb = parse(put(rom, 0x280 + 12 + 6, struct.pack("<BBHH", 0x7A, 1, 16, 0xFFF8)))
    assert vb.bit is not None and 0x7A in vb.bit.unknown_ids
    assert any("0x7a" in w and "outside the PCI-AT image" in w for w in vb.warnings)


def test_ucode_offsets_outside_dmem() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    dmem = lay.ucode + lay.imem_size
    refuse(put(rom, lay.desc + 0x0C, struct.pack("<I", 0x7FE)),
           r"application interface header at 0x[0-9a-f]+: DMEM offset 0x7fe \+ 0x4 bytes runs past DMEMLoadSize 0x800")
    refuse(put(rom, dmem + lay.interface_offset + 8, struct.pack("<I", 0x7E0)), r"FWSEC DMEMMAPPER .* runs past "
                                                                               r"DMEMLoadSize")
    refuse(put(rom, dmem + lay.dmemmapper + 8, struct.pack("<I", 0x7F0)), r"command buffer .* runs past DMEMLoadSize")
    refuse(put(rom, lay.desc + 8, struct.pack("<I", 0x700)), r"PKCDataOffset 0x700 \+ 384 signature bytes run past")


def test_pcir_pointer_past_the_data() -> None:
    rom = build_vbios(AD)
    refuse(put(rom, 0x10000 + 0x18, struct.pack("<H", 0xFFF0)),
           r"image 1 PCI data structure at 0x1fff0: needs 0x18 bytes")


# -- loops and absurd counts --------------------------------------------------------------------------


def test_zero_length_images_are_refused() -> None:
    rom = build_vbios(TU)
    nbsi_pcir = synthetic_layout(TU).images[-1][0] + 0x20
    refuse(put(rom, nbsi_pcir + 0x10, b"\x00\x00"), r"image 4 PCI data structure at .*: image length 0")
    refuse(put(rom, 0x10000 + 0x40 + 8, b"\x00\x00"), r"image 1 NPDE at 0x10040: sub-image length 0")


def test_endless_chain_is_refused() -> None:
    one = bytearray(512)
    struct.pack_into("<HB", one, 0, 0xAA55, 1)
    struct.pack_into("<H", one, 0x18, 0x20)
    struct.pack_into("<4sHHHHB3sHHBBH", one, 0x20, b"PCIR", 0x10DE, 0x2684, 0, 0x18, 0, b"\0\0\3", 1, 0, 0x00, 0, 0)
    refuse(bytes(one) * 40, r"image chain at 0x0: more than 32 images without a last-image flag")


def test_absurd_counts() -> None:
    lay = synthetic_layout(AD)
    rom = build_vbios(AD)
    # a BIT near the end of the PCI-AT image claiming 255 tokens: the table would leave the image
    hdr = bytearray(rom[0x280:0x28C])
    hdr[10], hdr[11] = 255, 0
    hdr[11] = (-sum(hdr)) & 0xFF
    moved = put(put(rom, 0x282, b"XIT"), 0xFF00, bytes(hdr))
    refuse(moved, r"BIT token table at 0xff0c: 255 tokens of 6 bytes run to 0x10506, past the PCI-AT image end "
                  r"0x10000")
    refuse(put(rom, lay.table + 2, bytes([255, 255])),
           rf"falcon ucode table \(255 entries of 255 bytes\) at {lay.table:#x}: 0xfe07 bytes run to "
           rf"{lay.table + 0xFE07:#x}, past the end of FwSec image 3 at 0x1be00")
    refuse(put(rom, lay.desc + 0x27, bytes([200])), r"SignatureCount 200 x 384 bytes exceed the 768 bytes")
    refuse(put(rom, lay.desc + 0x27, bytes([1])), r"SignatureVersions 0x0003 has 2 bits set, expected one per "
                                                  r"signature \(SignatureCount 1\)")
    refuse(put(rom, lay.desc + 4, struct.pack("<I", 0x7FFFFFFF)), r"FWSEC ucode image \(StoredSize 0x7fffffff\)")


def test_scan_limit_counts_from_the_rom_start() -> None:
    lay = synthetic_layout(AD)
    rom = bytearray(build_vbios(AD))
    fw2 = lay.images[3][0]
    npde = fw2 + 0x40
    struct.pack_into("<H", rom, npde + 8, 0x900)  # FwSec image 2 claims 1.1 MiB
    rom += bytes(0x900 * 512)
    refuse(bytes(rom), r"past the 1 MiB scan limit \(counted from the ROM start 0x0\) at 0x100000")


def test_short_rom_through_the_prom_window_is_a_warning() -> None:
    lay = synthetic_layout(AD)
    short = build_vbios(AD)[:lay.images[2][0]]  # PCI-AT and EFI only
    gpu = SimGpu(AD, vbios=short)
    vb = Vbios.from_bar(gpu.bar0, "sim")
    assert vb.fwsec is None and "no FwSec (0xE0) image follows" in (vb.fwsec_note or "")
    assert any("erased flash (FF FF) follows at 0x16000" in w for w in vb.warnings)


def test_version_only_parse_does_not_need_the_fwsec_images() -> None:
    lay = synthetic_layout(AD)
    rom = put(build_vbios(AD), lay.images[3][0], b"\x00\x00")  # FwSec image 2 broken
    with pytest.raises(RomError):
        parse(rom)
    assert Vbios.from_bytes(rom, full=False).version == "95.02.00.01.5A"


def test_errors_are_nova_errors_never_others() -> None:
    """A patch on a ROM whose DMEMMAPPER claims a buffer too small for FRTS never gets built."""
    rom = build_vbios(AD)
    fw = parse(rom).fwsec
    assert fw is not None
    with pytest.raises(NovaError):
        fw.patch(FwsecCommand.FRTS, frts_offset=-4096, fuse_version=0)
