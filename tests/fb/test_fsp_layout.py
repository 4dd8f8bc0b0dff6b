"""The Hopper/Blackwell FB layout: FRTS where the chain-of-trust message puts it, the regions below it as the
GSP-FMC's ACR places them (predicted), and the GspFwWprMeta request that carries sizes only."""

from __future__ import annotations

import pytest

from nova_core.fb import facts as F
from nova_core.fb.layout import compute_fb_layout, fsp_frts_offset_from_end, wpr2_heap_size
from nova_core.gpu.chips import Chipset

MiB = 1 << 20


@pytest.mark.parametrize("chip", [Chipset.GH100, Chipset.GB100, Chipset.GB102, Chipset.GB202, Chipset.GB207])
def test_fsp_layout(chip: Chipset) -> None:
    fb = chip.facts.sim_vram_mib * MiB
    lay = compute_fb_layout(chip, fb_size=fb, bootloader_size=0x31000, gsp_image_size=0x3C99000, version="570.144",
                            vga_workspace_base=0x1234)  # a display register plays no part on this path
    assert lay.acr_placed
    assert lay.vga_workspace.start == fb - 128 * 1024 and lay.vga_workspace.end == fb
    assert lay.frts.end == fb - fsp_frts_offset_from_end(chip) and lay.frts.size == MiB
    assert lay.fb_end_reserve is not None
    assert (lay.fb_end_reserve.start, lay.fb_end_reserve.end) == (lay.frts.end, lay.vga_workspace.start)
    assert lay.boot.start == (lay.frts.start - 0x31000) & ~0xFFF and lay.elf.start % 0x10000 == 0
    assert lay.wpr2.end == lay.wpr2_end == lay.frts.end and lay.wpr2.start == lay.wpr2_heap.start - MiB
    assert lay.non_wpr_heap.size == chip.facts.non_wpr_heap_size and lay.non_wpr_heap.end == lay.wpr2.start
    assert lay.wpr2_heap.size >= wpr2_heap_size(lay.heap_params, fb) - MiB
    assert lay.heap_params.base_rm == F.BASE_RM_SIZE_GH100 == 14 * MiB
    # what GspFwWprMeta asks the ACR for: sizes, no offsets (kgspCalculateFbLayout_GH100, gh100_gsp_wpr_meta_init)
    assert lay.wpr_meta_fields() == {"nonWprHeapSize": chip.facts.non_wpr_heap_size,
                                     "gspFwHeapSize": lay.wpr2_heap.size, "frtsSize": MiB,
                                     "vgaWorkspaceSize": 128 * 1024, "pmuReservedSize": chip.facts.pmu_reserved_size}
    names = [r.name for r in lay.regions()]
    assert names == ["vga_workspace", "fb_end_reserve", "frts", "boot", "elf", "wpr2_heap", "wpr2", "non_wpr_heap"]
    assert lay.as_json()["acr_placed"] is True


def test_gh100_heap_is_the_hopper_formula() -> None:
    # 22 MiB LibOS 3 carveout + 14 MiB base RM + 96 KiB x 80 GiB (8 MiB) + 96 MiB of client allocations = 140 MiB
    lay = compute_fb_layout(Chipset.GH100, fb_size=80 << 30, bootloader_size=0x29000, gsp_image_size=0x3C99000,
                            version="570.144")
    assert lay.wpr2_heap.size == 140 * MiB


def test_too_small_fb_for_the_fsp_layout() -> None:
    with pytest.raises(Exception, match="no room for FRTS below the 0x1c00000-byte FB end reserve|cannot hold"):
        compute_fb_layout(Chipset.GB202, fb_size=28 * MiB, bootloader_size=1, gsp_image_size=1, version="570.144")
