"""Fuzzing the firmware header parsers (issue 22): every header u32 set to hostile values, the file cut anywhere.

Each target is parsed and then *used* the way ``nova fw`` and the boot use it (every fused version's signature,
the load layout under both falcon HALs, the JSON): the only outcome besides success is a ``FirmwareError`` from
the parser, and every example ends within a second (the campaign's hang was a loop up to a u32 taken from the
file, reached only through the signature error path).

The parsers of GSP-RM 570.144's new files are targets too: the Hopper/Blackwell GSP-FMC container
(``nova_core.firmware.fmc.FmcImage``, RSA-3072 on GH100 and P-384 on GB20x: its ELF32 header, section headers,
CRC-32s, hash and the chip's key/signature sizes), the v5 RISC-V bootloader in the GSP-FMC layout, and the generic
falcon bootloader (``RM_FLCN_BL_DESC``).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.cli.main import main
from nova_core.errors import FirmwareError
from nova_core.firmware import BooterFirmware, FmcImage, GenericBootloaderImage, RiscvBootloader
from nova_core.firmware.facts import ELF32_SHDR, FMC_ELF_HEADER, MAX_HS_SIGNATURES
from nova_core.gpu.chips import Chipset, FalconHal
from nova_core.sim.synth.firmware import build_booter, build_bootloader, build_fmc
from nova_core.sim.synth.generic_bootloader import HEADER_OFFSET, build_generic_bootloader


def _use_booter(data: bytearray) -> None:
    b = BooterFirmware(data, "fuzz")
    b.as_json()
    b.valid_fused_versions()
    for fused in range(MAX_HS_SIGNATURES + 1):  # every fused version a chip can report, and one past
        for hal in FalconHal:
            try:
                b.load_layout(hal, fused)
            except FirmwareError as e:  # no signature for it, or the wrong signature size for the HAL
                assert str(e).startswith("fuzz")


def _use_bootloader(data: bytearray) -> None:
    bl = RiscvBootloader(data, "fuzz")
    bl.as_json()
    if bl.fmc_loaded:  # the GSP-FMC layout: what the WPR meta takes from it
        assert bl.desc.manifest_size and bl.desc.monitor_data_size and bl.desc.monitor_code_size


def _use_fmc(chip: Chipset) -> Callable[[bytearray], None]:
    def use(data: bytearray) -> None:
        fmc = FmcImage(data, "fuzz")
        fmc.as_json()
        assert fmc.hash.nbytes == 48 and fmc.image.nbytes > 0
        fmc.check_sizes_for(chip.facts.cot_public_key_size, chip.facts.cot_signature_size, chip.name)
    return use


def _fmc_fields(data: bytes) -> list[int]:
    """The ELF32 header and every section header word (offsets, sizes, CRC-32s)."""
    return [*range(0, len(FMC_ELF_HEADER), 4), *range(len(FMC_ELF_HEADER), len(FMC_ELF_HEADER) + 6 * ELF32_SHDR.size,
                                                       4)]


def _use_gen_bootloader(data: bytearray) -> None:
    g = GenericBootloaderImage(data, "fuzz")
    g.as_json()
    assert len(g.padded_code) % 256 == 0 and g.boot_vector == g.desc.start_tag << 8


def _gen_bootloader_fields(data: bytes) -> list[int]:
    """The bin header and RM_FLCN_BL_DESC."""
    return [*range(0, 24, 4), *range(HEADER_OFFSET, HEADER_OFFSET + 24, 4)]


def _booter_fields(data: bytes) -> list[int]:
    """The byte offsets of every u32 a booter parse reads: bin header, HS header, the words it points at, the load
    header and its app."""
    b = BooterFirmware(data, "seed")
    hs = b.bin.header.header_offset
    return [*range(0, 24, 4), *range(hs, hs + 36, 4), b.hs.patch_loc, b.hs.patch_sig,
            *range(b.hs.meta_data_offset, b.hs.meta_data_offset + 12, 4), b.hs.num_sig,
            *range(b.hs.header_offset, b.hs.header_offset + b.hs.header_size, 4)]


def _bootloader_fields(data: bytes) -> list[int]:
    """The byte offsets of the bin header and the RM_RISCV_UCODE_DESC."""
    bl = RiscvBootloader(data, "seed")
    return [*range(0, 24, 4), *range(bl.bin.header.header_offset, bl.bin.header.header_offset + bl.desc.size, 4)]


@dataclass(frozen=True)
class Target:
    name: str
    seed: Callable[[], bytes]
    fields: Callable[[bytes], list[int]]  #: offsets of the header u32s (fuzzed most)
    use: Callable[[bytearray], None]


#: what is fuzzed
FUZZ_TARGETS = [
    Target("booter_load ga102", lambda: build_booter(Chipset.GA102, "booter_load").data, _booter_fields,
           _use_booter),
    Target("booter_unload tu102", lambda: build_booter(Chipset.TU102, "booter_unload").data, _booter_fields,
           _use_booter),
    Target("bootloader v5 ga102", lambda: build_bootloader(Chipset.GA102).data, _bootloader_fields, _use_bootloader),
    Target("bootloader v4 tu102", lambda: build_bootloader(Chipset.TU102).data, _bootloader_fields, _use_bootloader),
    Target("bootloader v5 gsp-fmc gh100", lambda: build_bootloader(Chipset.GH100, "570.144").data, _bootloader_fields,
           _use_bootloader),
    Target("fmc gh100 (RSA-3072)", lambda: build_fmc(Chipset.GH100).data, _fmc_fields, _use_fmc(Chipset.GH100)),
    Target("fmc gb202 (P-384)", lambda: build_fmc(Chipset.GB202).data, _fmc_fields, _use_fmc(Chipset.GB202)),
    Target("gen_bootloader tu102", lambda: build_generic_bootloader(Chipset.TU102), _gen_bootloader_fields,
           _use_gen_bootloader),
]
_SEEDS = {t.name: t.seed() for t in FUZZ_TARGETS}
_FIELDS = {t.name: t.fields(_SEEDS[t.name]) for t in FUZZ_TARGETS}

_HOSTILE_U32 = st.one_of(st.sampled_from([0, 1, 2, 3, 0x10, 0x11, 0x180, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0,
                                          0xFFFFFFFF]), st.integers(0, 2**32 - 1))


@pytest.mark.parametrize("target", FUZZ_TARGETS, ids=lambda t: t.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_headers_end_in_firmware_error_within_a_second(target: Target, data: st.DataObject) -> None:
    buf = bytearray(_SEEDS[target.name])
    where = st.one_of(st.sampled_from(_FIELDS[target.name]), st.integers(0, len(buf) - 4))
    for off, value in data.draw(st.lists(st.tuples(where, _HOSTILE_U32), min_size=1, max_size=4)):
        struct.pack_into("<I", buf, off, value)
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(buf))))
    if cut is not None:
        del buf[cut:]
    t0 = time.perf_counter()
    try:
        target.use(buf)
    except FirmwareError as e:
        assert str(e).startswith("fuzz")
    assert time.perf_counter() - t0 < 1.0


# -- issue 22, defect 1: the campaign's reproducer ---------------------------------------------------------------

def _hanging_booter() -> bytes:
    """A GA102 booter_load whose signature params give fuse_ver 0xFFFFFFF0 (at 0x344 in the real file)."""
    b = bytearray(build_booter(Chipset.GA102, "booter_load").data)
    meta = struct.unpack_from("<I", b, 0x18 + 4 * 4)[0]  # nvfw_hs_header_v2.meta_data_offset
    struct.pack_into("<I", b, meta, 0xFFFFFFF0)
    return bytes(b)


def test_a_huge_fuse_ver_is_answered_at_once() -> None:
    b = BooterFirmware(_hanging_booter(), "ga")
    t0 = time.perf_counter()
    assert b.valid_fused_versions() == [0, 0xFFFFFFEF, 0xFFFFFFF0]
    with pytest.raises(FirmwareError, match=r"no signature for fused version 1: the booter's fuse_ver is 4294967280 "
                                            r"and it carries 2 signature\(s\), so the index would be 4294967279; "
                                            r"fused versions with a signature: 0, 4294967279, 4294967280"):
        b.signature_index(1)
    assert time.perf_counter() - t0 < 0.1


def test_the_reproducer_through_nova_fw(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "booter_load-535.113.01.bin"
    f.write_bytes(_hanging_booter())
    t0 = time.perf_counter()
    assert main(["fw", str(f), "--chip", "ga102", "--fused-version", "1"]) == 1
    assert time.perf_counter() - t0 < 1.0
    err = capsys.readouterr().err
    assert err.startswith("nova: error: ") and err.count("\n") == 1 and "no signature for fused version 1" in err


@pytest.mark.artifacts
def test_the_reproducer_on_the_real_booter(firmware_path: Path, tmp_path: Path) -> None:
    real = (firmware_path / "nvidia/ga102/gsp/booter_load-535.113.01.bin").read_bytes()
    assert BooterFirmware(real, "real").hs.meta_data_offset == 0x344  # where the campaign put its u32
    b = bytearray(real)
    struct.pack_into("<I", b, 0x344, 0xFFFFFFF0)
    t0 = time.perf_counter()
    with pytest.raises(FirmwareError, match="no signature for fused version 1"):
        BooterFirmware(b, "real").load_layout(FalconHal.GA102, 1)
    assert time.perf_counter() - t0 < 0.1


def test_more_signatures_than_fused_versions_are_refused() -> None:
    b = bytearray(build_booter(Chipset.TU102, "booter_load").data)  # 1 signature of 16 bytes
    num_sig_at = struct.unpack_from("<I", b, 0x18 + 4 * 6)[0]
    struct.pack_into("<I", b, num_sig_at, MAX_HS_SIGNATURES + 1)
    with pytest.raises(FirmwareError, match=r"num_sig value at .*expected 1 to 17 signatures .*found 0x12"):
        BooterFirmware(b, "tu")
