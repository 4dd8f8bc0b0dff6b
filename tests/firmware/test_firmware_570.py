"""GSP-RM 570.144 as linux-firmware ships it (Debian sid's firmware-nvidia-graphics): every file parses, the
Hopper/Blackwell GSP-FMC container and bootloaders are held to NVIDIA's definitions, and the new parsers refuse
malformed input with a FirmwareError (hypothesis, bounded).

Definitions: nouveau ``nvkm/subdev/gsp/gh100.c`` (the FMC ELF32 container), OpenRM 570.144 ``rmRiscvUcode.h``
(``RM_RISCV_UCODE_DESC``), ``rmflcnbl.h`` (``RM_FLCN_BL_DESC``), ``kern_fsp_cot_payload.h`` and
``g_kern_fsp_nvoc.c`` (hash, key and signature sizes per chip).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.cli.main import main
from nova_core.errors import FirmwareError
from nova_core.firmware import (
    BooterFirmware,
    FmcImage,
    GenericBootloaderImage,
    GspImage,
    RiscvBootloader,
    detect_kind,
    open_firmware,
)
from nova_core.firmware import facts as F
from nova_core.gpu.chips import Chipset
from nova_core.sim import crypto
from nova_core.sim.synth.firmware import build_bootloader, build_fmc

V = "570.144"
FSP_CHIPS = {"gh100": Chipset.GH100, "gb100": Chipset.GB100, "gb202": Chipset.GB202}


def names_570(root: Path) -> list[Path]:
    return sorted((root / "nvidia").glob(f"*/gsp/*-{V}.bin"))


@pytest.mark.artifacts
def test_every_570_file_parses(firmware_570_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = names_570(firmware_570_path)
    files = {p.resolve(): p for p in names}
    # 99 names under nvidia/*/gsp reach 24 files (symlinked chip directories and files; the TU102 and GA100
    # 570.144 bootloaders are the 535.113.01 files)
    assert (len(names), len(files)) == (99, 24)
    kinds: Counter[str] = Counter()
    for real, name in files.items():
        fw = open_firmware(name)
        kind = {GspImage: "gsp", BooterFirmware: "booter", RiscvBootloader: "bootloader", FmcImage: "fmc",
                GenericBootloaderImage: "gen_bootloader"}[type(fw)]
        kinds[kind] += 1
        if isinstance(fw, GspImage):
            assert fw.version == V
            fw.close()
        assert main(["fw", str(name), "--json"]) == 0, real
        doc = json.loads(capsys.readouterr().out)
        assert doc["kind"] == kind and doc["file_bytes"] == real.stat().st_size
    # booters 10 + the AD102 scrubber (an HS ucode in the same container)
    assert kinds == {"gsp": 2, "booter": 11, "bootloader": 7, "fmc": 3, "gen_bootloader": 1}


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(FSP_CHIPS))
def test_fmc_container_is_nouveaus_and_verifies(firmware_570_path: Path, chip: str) -> None:
    path = firmware_570_path / "nvidia" / chip / "gsp" / f"fmc-{V}.bin"
    raw = path.read_bytes()
    fmc = FmcImage.open(path)
    facts = FSP_CHIPS[chip].facts
    assert raw[:52] == F.FMC_ELF_HEADER
    assert [s.name for s in fmc.sections] == [".shstrtab", "hash", "signature", "publickey", "image"]
    for s in fmc.sections[1:]:
        assert (s.type, s.flags) == (1, 0xFFF00102)
        assert s.crc32 == zlib.crc32(raw[s.offset:s.offset + s.size]) != 0
    assert bytes(fmc.hash) == hashlib.sha384(raw[fmc.section("image").offset:]).digest()
    assert (fmc.public_key.nbytes, fmc.signature.nbytes) == (facts.cot_public_key_size, facts.cot_signature_size)
    fmc.check_sizes_for(facts.cot_public_key_size, facts.cot_signature_size, chip)
    # the chain of trust the FSP checks: the signature verifies under the key (sim's own crypto)
    assert crypto.verify_fmc_signature(bytes(fmc.public_key), bytes(fmc.signature), bytes(fmc.hash)) is None
    tampered = bytearray(fmc.image)
    tampered[0x100] ^= 1
    assert crypto.verify_fmc_signature(bytes(fmc.public_key), bytes(fmc.signature),
                                       hashlib.sha384(tampered).digest()) is not None
    other = next(c for c in FSP_CHIPS.values() if c.facts.cot_public_key_size != facts.cot_public_key_size)
    with pytest.raises(FirmwareError, match=f"FMC publickey size at {fmc.section('publickey').offset:#x}"):
        fmc.check_sizes_for(other.facts.cot_public_key_size, other.facts.cot_signature_size, other.name)


#: chip -> (payload size, manifest size, monitor data (offset, size), monitor code (offset, size)), as shipped
FMC_BOOTLOADERS = {"gh100": (0x29000, 0xA00, (0xA00, 0xA700), (0xB100, 0x1D500)),
                   "gb100": (0x31000, 0xA00, (0xA00, 0xA700), (0xB100, 0x25200)),
                   "gb202": (0x31000, 0xA00, (0xA00, 0xA800), (0xB200, 0x25800))}


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(FMC_BOOTLOADERS))
def test_hopper_blackwell_bootloaders_are_the_fmc_layout(firmware_570_path: Path, chip: str) -> None:
    bl = RiscvBootloader.open(firmware_570_path / "nvidia" / chip / "gsp" / f"bootloader-{V}.bin")
    payload, manifest, data, code = FMC_BOOTLOADERS[chip]
    d = bl.desc
    assert bl.bin.header.header_offset == 0x18 and bl.bin.header.data_offset == 0x18 + 84 == 0x6C
    assert (d.version, d.size, bl.fmc_loaded, len(bl.payload)) == (5, 84, True, payload)
    assert (d.bootloader_offset, d.bootloader_size, d.bootloader_param_size, d.app_version) == (0, 0, 0, 0)
    assert (d.manifest_offset, d.manifest_size) == (0, manifest)
    assert (d.monitor_data_offset, d.monitor_data_size) == data
    assert (d.monitor_code_offset, d.monitor_code_size, d.is_monitor_enabled) == (*code, 1)
    assert (d.fb_reserved_size, d.signed_as_code) == (0, 0)
    assert (bl.code_offset, bl.data_offset, bl.manifest_offset) == (code[0], data[0], 0)


@pytest.mark.artifacts
def test_turing_generic_bootloader_570(firmware_570_path: Path) -> None:
    p = firmware_570_path / "nvidia" / "tu102" / "gsp" / f"gen_bootloader-{V}.bin"
    assert detect_kind(p.read_bytes(), p.name) is F.FirmwareKind.GEN_BOOTLOADER
    assert detect_kind(p.read_bytes(), "unnamed") is F.FirmwareKind.GEN_BOOTLOADER
    bl = GenericBootloaderImage.open(p)
    assert bl.bin.header.as_json() == {"bin_magic": 0x10DE, "bin_ver": 1, "bin_size": 0x400, "header_offset": 0x18,
                                       "data_offset": 0x30, "data_size": 0x300}
    assert dict(bl.desc.__dict__) == {"start_tag": 0xFD, "dmem_load_off": 0, "code_off": 0, "code_size": 0x200,
                                      "data_off": 0x200, "data_size": 0x100}
    assert bl.boot_vector == 0xFD00 and len(bl.padded_code) == 0x200
    for alias in ("tu116", "ga100"):  # the same file through symlinks
        assert (firmware_570_path / "nvidia" / alias / "gsp" / p.name).resolve() == p.resolve()


# -- the new parsers on synthetic input: every malformed file is one FirmwareError --------------------------


def _sections(data: bytes) -> list[tuple[int, ...]]:
    return [struct.unpack_from("<10I", data, 52 + 40 * i) for i in range(6)]


def _set_section(data: bytearray, index: int, field: int, value: int) -> None:
    struct.pack_into("<I", data, 52 + 40 * index + 4 * field, value)


@pytest.mark.parametrize("chip", [Chipset.GH100, Chipset.GB202])
def test_synthetic_fmc_is_format_correct(chip: Chipset) -> None:
    syn = build_fmc(chip)
    fmc = FmcImage(syn.data, "synthetic")
    assert bytes(fmc.image) == syn.image and bytes(fmc.hash) == syn.hash == hashlib.sha384(syn.image).digest()
    fmc.check_sizes_for(chip.facts.cot_public_key_size, chip.facts.cot_signature_size, chip.name)
    assert crypto.verify_fmc_signature(bytes(fmc.public_key), bytes(fmc.signature), bytes(fmc.hash)) is None


def _corrupt(mutate: str) -> tuple[bytes, str]:
    data = bytearray(build_fmc(Chipset.GB202).data)
    secs = _sections(bytes(data))
    if mutate == "header":
        data[4] = 2  # ELFCLASS64
        return bytes(data), r"FMC ELF32 header at 0x4: byte 0x4: expected 0x01, found 0x02"
    if mutate == "flags":
        _set_section(data, 3, 2, 0x2)
        return bytes(data), r"FMC section header 3 sh_flags at 0xb4: expected 0xfff00102, found 0x2"
    if mutate == "crc":
        off = secs[5][4]
        data[off] ^= 0xFF
        return bytes(data), r"FMC section 5 sh_info \(CRC-32\) at 0x118: expected 0x[0-9a-f]{8}, found 0x[0-9a-f]{8}"
    if mutate == "hash":
        off, size = secs[2][4], secs[2][5]
        data[off] ^= 1
        _set_section(data, 2, 7, zlib.crc32(bytes(data[off:off + size])))
        return bytes(data), "FMC hash at 0x[0-9a-f]+: expected the SHA-384 of the image"
    if mutate == "outside":
        _set_section(data, 5, 5, len(data))
        return bytes(data), r"FMC section 5 data \(sh_offset/sh_size\) at 0x[0-9a-f]+: .* run past the end"
    if mutate == "inside-headers":
        _set_section(data, 4, 4, 0x40)
        return bytes(data), r"FMC section header 4 sh_offset at 0x[0-9a-f]+: 0x40 lies inside the headers"
    if mutate == "twice":
        _set_section(data, 3, 0, secs[2][0])
        return bytes(data), "'hash' appears twice"
    raise AssertionError(mutate)


@pytest.mark.parametrize("mutate", ["header", "flags", "crc", "hash", "outside", "inside-headers", "twice"])
def test_malformed_fmc_is_refused_precisely(mutate: str) -> None:
    data, pattern = _corrupt(mutate)
    with pytest.raises(FirmwareError, match=pattern):
        FmcImage(data, "bad")


def test_bootloader_without_bootloader_must_be_the_fmc_layout() -> None:
    good = bytearray(build_bootloader(Chipset.GH100, V).data)
    assert RiscvBootloader(bytes(good), "ok").fmc_loaded
    bad = bytearray(good)
    struct.pack_into("<I", bad, 0x18 + 4 * 13, 0)  # monitorCodeSize
    with pytest.raises(FirmwareError, match=r"RM_RISCV_UCODE_DESC.bootloader_size at 0x20: is 0, and the descriptor "
                                            r"is not the v5 GSP-FMC layout .*monitor code 0x0"):
        RiscvBootloader(bytes(bad), "bad")
    v4 = bytearray(build_bootloader(Chipset.TU102, V).data)
    struct.pack_into("<I", v4, 0x18 + 8, 0)
    with pytest.raises(FirmwareError, match="is 0, and the descriptor is not the v5 GSP-FMC layout"):
        RiscvBootloader(bytes(v4), "v4")


_FMC_BASE = build_fmc(Chipset.GB100).data
_BL_BASE = build_bootloader(Chipset.GB202, V).data


def _mutate(base: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    data = bytearray(base)
    for at, value in edits:
        data[at % len(data)] = value
    return bytes(data[:max(0, len(data) - cut)])


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 0x2FF), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 0x9000))
def test_fmc_parser_fuzz(edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(_FMC_BASE, edits, cut)
    try:
        fmc = FmcImage(data, "fuzz")
    except FirmwareError as e:
        assert str(e).startswith("fuzz: ") and " at 0x" in str(e)
        return
    assert fmc.image.nbytes and bytes(fmc.hash) == hashlib.sha384(fmc.image).digest()


@settings(max_examples=150, deadline=2000)
@given(edits=st.lists(st.tuples(st.integers(0, 0x6B), st.integers(0, 255)), max_size=6), cut=st.integers(0, 0x8100))
def test_bootloader_and_gen_bootloader_parsers_fuzz(edits: list[tuple[int, int]], cut: int) -> None:
    data = _mutate(_BL_BASE, edits, cut)
    for cls in (RiscvBootloader, GenericBootloaderImage):
        try:
            cls(data, "fuzz")
        except FirmwareError as e:
            assert str(e).startswith("fuzz: ")
