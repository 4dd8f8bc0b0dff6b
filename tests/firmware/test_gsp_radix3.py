"""GSP image parsing and preparation: radix3 built by the driver, walked by the sim's own code."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import DmaError, FirmwareError, SimViolation
from nova_core.firmware import GspImage, Radix3, Radix3Geometry, radix3_resolve
from nova_core.firmware.elf import ElfFile
from nova_core.gpu.chips import CHIPS, Chipset
from nova_core.hw.sg import SgSegment, SgTable
from nova_core.sim import SimGpu
from nova_core.sim.synth.firmware import build_firmware, build_gsp, gsp_signature


def test_geometry_uses_the_ceiling() -> None:
    g = Radix3Geometry.of(0x16A3350)  # the real TU10x image: 5796 pages -> 12 level-2 pages
    assert (g.image_pages, g.level2_pages, g.level1_entries) == (5796, 12, 12)
    g = Radix3Geometry.of(0x2448000)  # the real GA10x image: 9288 pages -> 19 level-2 pages
    assert (g.image_pages, g.level2_pages) == (9288, 19)
    assert Radix3Geometry.of(1).level2_pages == 1 and Radix3Geometry.of(512 * 4096 + 1).level2_pages == 2
    assert Radix3Geometry.of(1 << 30).fits and not Radix3Geometry.of((1 << 30) + 1).fits
    with pytest.raises(FirmwareError, match="must be positive"):
        Radix3Geometry.of(0)


@given(st.integers(1, 1 << 32))
def test_geometry_covers_every_page(size: int) -> None:
    g = Radix3Geometry.of(size)
    assert (g.image_pages - 1) * 4096 < size <= g.image_pages * 4096
    assert (g.level2_pages - 1) * 512 < g.image_pages <= g.level2_pages * 512


@pytest.mark.parametrize("chip", [c for c in Chipset if not c.name.startswith("GB")], ids=lambda c: c.name)
def test_every_chip_finds_its_signature(chip: Chipset) -> None:
    fw = build_firmware(chip)
    g = GspImage(fw.gsp.data, "synthetic")
    assert g.version == "535.113.01"
    assert g.signature_section(chip) == CHIPS[chip].gsp_sig_section
    assert bytes(g.signature(chip)) == gsp_signature(CHIPS[chip].gsp_sig_section, g.image)
    assert (g.nested_elf() is not None) == (CHIPS[chip].gsp_image_family == "tu10x")


def test_570_image_carries_blackwell_signatures() -> None:
    g = GspImage(build_firmware("gb202", "570.144").gsp.data, "synthetic")
    assert g.version == "570.144" and g.signature_section("gb202") == ".fwsignature_gb20x"


def test_missing_signature_and_sections() -> None:
    g = GspImage(build_gsp("ga10x").data, "ga10x.bin")
    with pytest.raises(FirmwareError, match=r"ga10x.bin: no signature for TU117: section '.fwsignature_tu11x' is "
                                            r"absent; signature sections present: .fwsignature_cc_gh100, "
                                            r".fwsignature_gh100, .fwsignature_ad10x, .fwsignature_ga10x \(TU117 "
                                            r"needs the tu10x image\)"):
        g.signature("tu117")
    renamed = bytearray(build_gsp("ga10x").data)
    i = renamed.rfind(b".fwimage\0")
    renamed[i:i + 8] = b".fwimagX"
    with pytest.raises(FirmwareError, match=r"no section '.fwimage'; sections present: .fwimagX, .fwversion"):
        GspImage(renamed, "x")


@pytest.mark.parametrize(("text", "match"), [
    (b"535.113.01\0\0", r"expected 11 bytes \(the version '535.113.01' and its NUL\), found 12"),
    (b"535.113.01X", r"no NUL terminator"),
    (b"535 113;01\0", r"not a version string: '535 113;01'"),
])
def test_bad_version_section(text: bytes, match: str) -> None:
    data = bytearray(build_gsp("ga10x").data)
    e = ElfFile(data)
    s = e.section(".fwversion")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    data[s.offset:s.offset + 11] = text[:11]
    if len(text) != 11:  # grow the section into the next one's first byte
        struct.pack_into("<Q", data, shoff + 64 * s.index + 0x20, len(text))
    with pytest.raises(FirmwareError, match=match):
        GspImage(data, "v")


@pytest.mark.parametrize("family", ["tu10x", "ga10x"])
def test_prepare_and_walk_every_page(family: str, tmp_path: Path) -> None:
    """The tree the driver builds, walked by the sim, gives back the image byte for byte."""
    gpu = SimGpu("tu102" if family == "tu10x" else "ga102")
    path = tmp_path / "gsp.bin"
    path.write_bytes(build_gsp(family).data)
    with GspImage.open(path) as g:
        p = g.prepare(gpu.sysmem, gpu.chipset)
        assert p.image.nents > 1  # really scattered
        assert p.image_size == g.image_size and p.version == "535.113.01"
        sim_pages = gpu.sysmem.radix3_page_addrs(p.radix3_bus, p.image_size)
        assert np.array_equal(sim_pages, p.image.page_addrs())
        assert gpu.sysmem.read_radix3(p.radix3_bus, p.image_size) == bytes(g.image)
        # the driver's walker agrees with the sim's, and with the sg table, at odd offsets
        for off in (0, 1, 0xFFF, 0x1000, p.image_size // 2 + 3, p.image_size - 1):
            assert p.radix3.resolve(off) == p.image.bus_addr(off)
            assert radix3_resolve(gpu.sysmem.read, p.radix3_bus, off, p.image_size) == p.image.bus_addr(off)
        sig = gpu.sysmem.read(p.signature_bus, p.signature_size)
        assert p.signature_size == 0x1000 and sig == bytes(g.signature(gpu.chipset))
        assert p.radix3.geometry.level2_pages == -(-g.geometry.image_pages // 512)
        p.free(gpu.sysmem)
    assert gpu.sysmem.mappings() == [] and gpu.sysmem.allocated_bytes == 0


def test_prepare_from_memory_copies_the_image() -> None:
    gpu = SimGpu("ad102")
    g = GspImage(build_gsp("ga10x").data, "in-memory")
    p = g.prepare(gpu.sysmem, "ad104")
    assert p.signature_section == ".fwsignature_ad10x"
    assert gpu.sysmem.read_radix3(p.radix3_bus, p.image_size) == bytes(g.image)


def test_sim_walker_refuses_broken_trees() -> None:
    gpu = SimGpu("ga102")
    g = GspImage(build_gsp("ga10x").data, "x")
    p = g.prepare(gpu.sysmem, "ga102")
    mem = gpu.sysmem
    with pytest.raises(SimViolation, match="radix3 level 0 at .* is not 4 KiB aligned"):
        mem.radix3_page_addrs(p.radix3_bus + 8, p.image_size)
    level1 = p.radix3.level1
    good = level1.read_u64(8)
    level1.write_u64(8, good + 0x10)  # a level-2 page pointer off its page
    with pytest.raises(SimViolation, match=r"radix3 level 1 entry 1 is 0x[0-9a-f]+, not a 4 KiB-aligned"):
        mem.read_radix3(p.radix3_bus, p.image_size)
    level1.write_u64(8, 0xDEAD000)  # a level-2 page nobody mapped
    with pytest.raises(SimViolation, match="unmapped bus address 0xdead000"):
        mem.read_radix3(p.radix3_bus, p.image_size)
    assert len(mem._log.errors()) == 3
    level1.write_u64(8, good)
    with pytest.raises(SimViolation, match="needs 1025 level-2 pages"):
        mem.radix3_page_addrs(p.radix3_bus, 1025 * 512 * 4096)


def test_radix3_refuses_unaligned_images_and_huge_ones() -> None:
    gpu = SimGpu("ga102")
    odd = SgTable(memoryview(bytearray(0x2000)), [SgSegment(0, 0x1_0000_0800, 0x2000)], name="odd")
    with pytest.raises(DmaError, match="not page aligned"):
        Radix3.build(gpu.sysmem, odd)
    huge = SgTable(memoryview(bytearray(1)), [SgSegment(0, 0, 1)])
    huge.size = (1 << 30) + 1  # geometry only: no gigabyte allocated
    with pytest.raises(FirmwareError, match="needs 513 level-2 pages"):
        Radix3.build(gpu.sysmem, huge)
    assert gpu.sysmem.mappings() == []


def test_driver_walker_refuses_a_foreign_address() -> None:
    gpu = SimGpu("ga102")
    p = GspImage(build_gsp("ga10x").data, "x").prepare(gpu.sysmem, "ga102")
    p.radix3.level0.write_u64(0, 0x123000)
    with pytest.raises(FirmwareError, match="bus address 0x123000 is not in the tree or the image"):
        p.radix3.resolve(0)
    with pytest.raises(FirmwareError, match="outside the"):
        p.radix3.resolve(p.image_size)


_GSP = build_gsp("tu10x").data
_SHOFF = struct.unpack_from("<Q", _GSP, 0x28)[0]
_HOT = [*range(0, 0x40), *range(0x40, 0x80), *range(_SHOFF - 0x2000, len(_GSP))]  # headers, nested header, tail


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_HOT), st.integers(0, 255)), min_size=1, max_size=6),
       st.one_of(st.none(), st.integers(0, len(_GSP) - 1)))
def test_fuzz_gsp_image(edits: list[tuple[int, int]], cut: int | None) -> None:
    """Mutated headers and section tables, or a truncation anywhere: parsed, or a FirmwareError."""
    data = bytearray(_GSP)
    for off, val in edits:
        data[off] = val
    if cut is not None:
        del data[cut:]
    try:
        g = GspImage(data, "fuzz")
        g.nested_elf()
        g.signature_section("tu102")
    except FirmwareError as e:
        assert str(e).startswith("fuzz")
    else:
        assert cut is None  # the section headers sit at the end: no truncation can parse
