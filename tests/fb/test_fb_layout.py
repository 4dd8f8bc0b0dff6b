"""The GSP framebuffer layout: worked examples (by hand, from nvidia-facts §5), versions, inputs, invariants."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.fb import (
    FbLayoutError,
    HeapParams,
    compute_fb_layout,
    gsp_branch,
    heap_params,
    read_fb_layout,
    vga_workspace_start,
    wpr2_heap_size,
)
from nova_core.fb import facts as F
from nova_core.gpu import Chipset, identify
from nova_core.regs.pdisp import NV_PDISP_VGA_WORKSPACE_BASE
from nova_core.sim import SimGpu

MiB, GiB = 1 << 20, 1 << 30
# 535.113.01 linux-firmware sizes (.fwimage / bootloader payload): TU102 and GA102 images
TU_IMG, TU_BL = 0x16A3350, 4196
GA_IMG, GA_BL = 0x2448000, 20588


def _vga(fb: int) -> int:
    """The register a vBIOS leaves: workspace valid at the last MiB (64 KiB units)."""
    return NV_PDISP_VGA_WORKSPACE_BASE.encode(status_valid=1, address=(fb - MiB) >> 16)


def _regions(lay: object) -> dict[str, tuple[int, int]]:
    return {r.name: (r.start, r.end) for r in (lay.fb, *lay.regions())}  # type: ignore[attr-defined]


def test_tu102_11gib_r535() -> None:
    fb = 11 * GiB
    lay = compute_fb_layout(Chipset.TU102, fb_size=fb, bootloader_size=TU_BL, gsp_image_size=TU_IMG,
                            version="535.113.01", vga_workspace_base=_vga(fb))
    # heap: LibOS2 carveout 0 + 8 MiB + align(96 KiB x 11, 1 MiB) = 2 MiB + 96 MiB = 106 MiB
    assert wpr2_heap_size(lay.heap_params, fb) == 106 * MiB
    assert _regions(lay) == {
        "fb": (0, 0x2C0000000),
        "vga_workspace": (0x2BFF00000, 0x2C0000000),
        "frts": (0x2BFE00000, 0x2BFF00000),
        "boot": (0x2BFDFE000, 0x2BFDFE000 + TU_BL),
        "elf": (0x2BE750000, 0x2BE750000 + TU_IMG),
        "wpr2_heap": (0x2B7D00000, 0x2BE700000),
        "wpr2": (0x2B7C00000, 0x2BFF00000),
        "non_wpr_heap": (0x2B7B00000, 0x2B7C00000),
    }
    assert lay.wpr2_end == 0x2BFF00000


def test_ga102_24gib_r535() -> None:
    fb = 24 * GiB
    lay = compute_fb_layout(Chipset.GA102, fb_size=fb, bootloader_size=GA_BL, gsp_image_size=GA_IMG,
                            version="535.113.01", vga_workspace_base=_vga(fb))
    # heap: LibOS3 r535 carveout 20 + 8 + align(96 KiB x 24 = 2.25 MiB) = 3 + 96 = 127 MiB
    assert lay.heap_params == HeapParams("r535", 3, 20 * MiB, 8 * MiB, 84 * MiB, 276 * MiB)
    assert _regions(lay) == {
        "fb": (0, 0x600000000),
        "vga_workspace": (0x5FFF00000, 0x600000000),
        "frts": (0x5FFE00000, 0x5FFF00000),
        "boot": (0x5FFDFA000, 0x5FFDFA000 + GA_BL),
        "elf": (0x5FD9B0000, 0x5FD9B0000 + GA_IMG),
        "wpr2_heap": (0x5F5A00000, 0x5FD900000),
        "wpr2": (0x5F5900000, 0x5FFF00000),
        "non_wpr_heap": (0x5F5800000, 0x5F5900000),
    }
    assert lay.wpr_meta_fields() == {
        "gspFwRsvdStart": 0x5F5800000, "nonWprHeapOffset": 0x5F5800000, "nonWprHeapSize": MiB,
        "gspFwWprStart": 0x5F5900000, "gspFwHeapOffset": 0x5F5A00000, "gspFwHeapSize": 127 * MiB,
        "gspFwOffset": 0x5FD9B0000, "bootBinOffset": 0x5FFDFA000, "frtsOffset": 0x5FFE00000, "frtsSize": MiB,
        "gspFwWprEnd": 0x5FFF00000, "fbSize": 24 * GiB, "vgaWorkspaceOffset": 0x5FFF00000,
        "vgaWorkspaceSize": MiB,
    }


def test_ad102_24gib_r535_and_r570() -> None:
    fb = 24 * GiB
    kw = {"fb_size": fb, "bootloader_size": GA_BL, "gsp_image_size": GA_IMG, "vga_workspace_base": _vga(fb)}
    r535 = compute_fb_layout(Chipset.AD102, version="535.113.01", **kw)
    assert _regions(r535) == _regions(compute_fb_layout(Chipset.GA102, version="535.113.01", **kw))
    # r570: LibOS3 carveout 22 MiB -> 129 MiB heap, min/max 88/280 MiB
    r570 = compute_fb_layout(Chipset.AD102, version="570.144", **kw)
    assert r570.heap_params == HeapParams("r570", 3, 22 * MiB, 8 * MiB, 88 * MiB, 280 * MiB)
    assert _regions(r570)["wpr2_heap"] == (0x5F5800000, 0x5FD900000)
    assert _regions(r570)["wpr2"] == (0x5F5700000, 0x5FFF00000)
    assert _regions(r570)["non_wpr_heap"] == (0x5F5600000, 0x5F5700000)


def test_r550_heap_is_its_own() -> None:
    """550.163.01 gsp_fw_heap.h: LibOS 3 bare-metal carveout 22 MiB (GSP_FW_HEAP_PARAM_OS_SIZE_LIBOS3_BAREMETAL)
    and bounds 86..278 MiB (GSP_FW_HEAP_SIZE_OVERRIDE_LIBOS3_BAREMETAL_MIN_MB/_MAX_MB) - neither r535's 20 MiB and
    84..276 nor r570's 88..280; LibOS 2 is 0 MiB, 64..256 as in every branch. Literals from the header."""
    assert heap_params(Chipset.GA102, "550.163.01") == HeapParams("r550", 3, 22 * MiB, 8 * MiB, 86 * MiB, 278 * MiB)
    assert heap_params(Chipset.TU102, "550.163.01") == HeapParams("r550", 2, 0, 8 * MiB, 64 * MiB, 256 * MiB)
    fb = 24 * GiB  # 22 + 8 + align(96 KiB x 24, 1 MiB) = 3 + 96 = 129 MiB (r535: 127 MiB)
    assert wpr2_heap_size(heap_params(Chipset.AD102, "550.163.01"), fb) == 129 * MiB
    assert wpr2_heap_size(heap_params(Chipset.AD102, "535.113.01"), fb) == 127 * MiB
    assert wpr2_heap_size(heap_params(Chipset.GA102, "550.163.01"), 2048 * GiB) == 278 * MiB  # clamped
    assert wpr2_heap_size(heap_params(Chipset.GA102, "550.163.01"), 1) == 129 * MiB - 2 * MiB


def test_ga100_40gib_has_no_frts_and_no_display() -> None:
    fb = 40 * GiB
    lay = compute_fb_layout(Chipset.GA100, fb_size=fb, bootloader_size=TU_BL, gsp_image_size=TU_IMG,
                            version="535.113.01")
    # heap: LibOS2: 8 + align(96 KiB x 40 = 3.75 MiB) = 4 + 96 = 108 MiB
    assert wpr2_heap_size(lay.heap_params, fb) == 108 * MiB
    assert lay.frts.size == 0 and lay.frts.start == 0x9FFF00000
    assert "frts" not in {r.name for r in lay.regions()}
    assert _regions(lay) == {
        "fb": (0, 0xA00000000),
        "vga_workspace": (0x9FFF00000, 0xA00000000),
        "boot": (0x9FFEFE000, 0x9FFEFE000 + TU_BL),
        "elf": (0x9FE850000, 0x9FE850000 + TU_IMG),
        "wpr2_heap": (0x9F7C00000, 0x9FE800000),
        "wpr2": (0x9F7B00000, 0x9FFF00000),
        "non_wpr_heap": (0x9F7A00000, 0x9F7B00000),
    }


def test_hopper_base_rm_is_14mib() -> None:
    p = heap_params(Chipset.GH100, "570.144")
    assert p.base_rm == 14 * MiB and p.libos == 3
    # 22 + 14 + align(96 KiB x 80 = 7.5 MiB) = 8 + 96 = 140 MiB
    assert wpr2_heap_size(p, 80 * GiB) == 140 * MiB


def test_heap_is_clamped_to_the_libos_bounds() -> None:
    p = heap_params(Chipset.GA102, "535.113.01")
    assert wpr2_heap_size(p, 4096 * GiB) == 276 * MiB  # 20 + 8 + 384 + 96 > 276
    low = HeapParams("r535", 2, 0, 0, 200 * MiB, 256 * MiB)
    assert wpr2_heap_size(low, GiB) == 200 * MiB


@pytest.mark.parametrize(("version", "branch"), [("535.113.01", "r535"), ("550.163.01", "r550"), ("560.35.03", "r550"),
                                                 ("570.144", "r570"), ("r570.144", "r570"), ("580.65.06", "r570")])
def test_gsp_branch(version: str, branch: str) -> None:
    assert gsp_branch(version) == branch


@pytest.mark.parametrize(("version", "message"), [("latest", "does not start with a driver branch number"),
                                                  ("525.60.13", "branch 525 predates r535")])
def test_gsp_branch_refused(version: str, message: str) -> None:
    with pytest.raises(FbLayoutError, match=message):
        gsp_branch(version)


def test_vga_workspace_cases() -> None:
    fb = 8 * GiB
    reg = NV_PDISP_VGA_WORKSPACE_BASE
    assert vga_workspace_start(fb, None) == fb - MiB
    assert vga_workspace_start(fb, reg.encode(status_valid=0, address=0x1234)) == fb - MiB
    assert vga_workspace_start(fb, reg.encode(status_valid=1, address=(fb - 0x10000) >> 16)) == fb - 0x10000
    assert vga_workspace_start(fb, reg.encode(status_valid=1, address=(fb - 2 * MiB) >> 16)) == fb - 128 * 1024
    with pytest.raises(FbLayoutError, match="places the VGA workspace at 0x200000000, at or past the end"):
        vga_workspace_start(fb, reg.encode(status_valid=1, address=fb >> 16))


def test_vga_workspace_below_default_moves_frts() -> None:
    fb = 24 * GiB
    reg = NV_PDISP_VGA_WORKSPACE_BASE.encode(status_valid=1, address=0x100)
    lay = compute_fb_layout(Chipset.GA102, fb_size=fb, bootloader_size=GA_BL, gsp_image_size=GA_IMG,
                            version="535.113.01", vga_workspace_base=reg)
    assert lay.vga_workspace.start == fb - 0x20000
    assert (lay.frts.start, lay.frts.end) == (fb - 0x20000 - MiB, fb - 0x20000)


@pytest.mark.parametrize(("kw", "message"), [
    ({"fb_size": 0}, "fb_size 0 must be a positive byte count"),
    ({"bootloader_size": -1}, "bootloader_size -1"),
    ({"gsp_image_size": 0}, "gsp_image_size 0"),
    ({"frts_size": 0x800}, "FRTS size 0x800 must be a non-negative multiple of 4 KiB"),
    ({"fb_size": MiB}, "cannot hold a GSP layout"),
    ({"fb_size": 64 * MiB}, "cannot hold the GSP layout: .* need 0x"),
])
def test_bad_inputs(kw: dict[str, int], message: str) -> None:
    args = {"fb_size": 8 * GiB, "bootloader_size": GA_BL, "gsp_image_size": GA_IMG, "version": "535.113.01"}
    args.update(kw)
    with pytest.raises(FbLayoutError, match=message):
        compute_fb_layout(Chipset.GA102, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("chip", list(Chipset))
def test_read_from_the_simulated_gpu_matches_the_pure_function(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    spec = identify(gpu.bar0)
    lay = read_fb_layout(gpu.bar0, spec, bootloader_size=GA_BL, gsp_image_size=GA_IMG, version="535.113.01")
    fb = chip.facts.sim_vram_mib * MiB
    vga = _vga(fb) if chip.facts.has_display else None
    assert lay == compute_fb_layout(chip, fb_size=fb, bootloader_size=GA_BL, gsp_image_size=GA_IMG,
                                    version="535.113.01", vga_workspace_base=vga)
    assert str(lay).startswith(f"{chip.name} framebuffer layout for GSP-RM 535.113.01")
    assert lay.as_json()["regions"]["wpr2"]["end"] == lay.wpr2_end


@pytest.mark.parametrize("chip,fused_display", [("ga102", False), ("tu102", False), ("ga100", True), ("ad104", True)])
def test_display_presence_is_read_from_the_display_fuse(chip: str, fused_display: bool) -> None:
    """The layout reads NV_PDISP_VGA_WORKSPACE_BASE only where the display fuse (NV_FUSE_STATUS_OPT_DISPLAY:
    0x021C04 on Turing, 0x820C04 from GA100 on) says there is a display - not from a per-chip flag: a GA102 board
    with the display fused off gets the default workspace, a GA100 whose fuse says ENABLE gets the register's."""
    from nova_core.fb import display_enabled
    from nova_core.regs.fuse import NV_FUSE_STATUS_OPT_DISPLAY
    from nova_core.regs.pdisp import NV_PDISP_VGA_WORKSPACE_BASE

    gpu = SimGpu(chip)
    spec = identify(gpu.bar0)
    fuse = NV_FUSE_STATUS_OPT_DISPLAY.for_family(spec.facts.reg_family)
    assert (fuse.addr(), spec.facts.display_fuse) == (0x021C04 if chip.startswith("tu") else 0x820C04, fuse)
    assert display_enabled(gpu.bar0, spec) is spec.facts.has_display  # the sim's board, by default
    fb = spec.facts.sim_vram_mib * MiB
    top = fb - 128 * 1024  # a valid workspace pointer, not the default
    gpu.bar0.poke(NV_PDISP_VGA_WORKSPACE_BASE.addr(), NV_PDISP_VGA_WORKSPACE_BASE.encode(status_valid=1,
                                                                                           address=top >> 16))
    gpu.bar0.poke(fuse.addr(), int(not fused_display))  # DATA 0 = ENABLE
    assert display_enabled(gpu.bar0, spec) is fused_display
    lay = read_fb_layout(gpu.bar0, spec, bootloader_size=GA_BL, gsp_image_size=GA_IMG, version="535.113.01")
    assert lay.vga_workspace.start == (top if fused_display else fb - MiB)


@settings(max_examples=200, deadline=None)
@given(chip=st.sampled_from(list(Chipset)), fb_mib=st.integers(512, 200 * 1024), bl=st.integers(1, 1 << 20),
       img=st.integers(1, 96 << 20), version=st.sampled_from(["535.113.01", "570.144"]),
       vga=st.one_of(st.none(), st.integers(0, 0xFFFFFFFF)))
def test_layout_invariants(chip: Chipset, fb_mib: int, bl: int, img: int, version: str, vga: int | None) -> None:
    fb = fb_mib * MiB
    try:
        lay = compute_fb_layout(chip, fb_size=fb, bootloader_size=bl, gsp_image_size=img, version=version,
                                vga_workspace_base=vga)
    except FbLayoutError:
        return
    # top-down, non-overlapping, inside VRAM
    order = [lay.non_wpr_heap, lay.wpr2_heap, lay.elf, lay.boot, lay.frts, lay.vga_workspace]
    for lower, upper in itertools.pairwise(order):
        assert lower.start <= lower.end <= upper.start, (lower, upper)
    assert lay.non_wpr_heap.start >= 0 and lay.vga_workspace.end == fb
    # alignments
    assert lay.frts.end % F.FRTS_ALIGN == 0 and lay.boot.start % F.BOOT_ALIGN == 0
    assert lay.elf.start % F.ELF_ALIGN == 0 and lay.wpr2_heap.start % MiB == 0 and lay.wpr2_heap.size % MiB == 0
    assert lay.wpr2.start % MiB == 0 and lay.non_wpr_heap.size == chip.facts.non_wpr_heap_size
    # WPR2 holds the meta, heap, ELF, boot and FRTS, and ends at gspFwWprEnd
    assert lay.wpr2.start + F.GSP_FW_WPR_META_SIZE <= lay.wpr2_heap.start and lay.wpr2.end == lay.frts.end
    assert lay.wpr2.end == lay.wpr2_end and lay.frts.size == chip.facts.frts_size
    # the heap gets at least what the formula asks for, less the alignment slack
    assert lay.wpr2_heap.size >= wpr2_heap_size(lay.heap_params, fb) - MiB


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102", "ad102"])
def test_real_image_sizes(firmware_path: Path, chip: str) -> None:
    from nova_core.firmware import GspImage, RiscvBootloader

    d = firmware_path / "nvidia" / chip / "gsp"
    if not (d / "gsp-535.113.01.bin").exists():
        pytest.skip(f"no 535.113.01 firmware for {chip}")
    with GspImage.open(d / "gsp-535.113.01.bin") as img:
        size = img.image_size
    bl = RiscvBootloader.open(d / "bootloader-535.113.01.bin")
    c = Chipset.parse(chip)
    fb = c.facts.sim_vram_mib * MiB
    lay = compute_fb_layout(c, fb_size=fb, bootloader_size=len(bl.payload), gsp_image_size=size, version=img.version)
    assert lay.elf.size == size and lay.boot.size == len(bl.payload)
    assert lay.wpr2.size < 512 * MiB
