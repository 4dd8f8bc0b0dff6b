"""The typical GSP framebuffer layout (nvidia-facts.md §5) and the VRAM allocator built on it."""

from __future__ import annotations

import pytest

from nova_core.errors import MmError
from nova_core.fb.layout import fsp_frts_offset_from_end
from nova_core.gpu.chips import BootPath, Chipset
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.layout import reservations, typical_regions

MiB, GiB = 1 << 20, 1 << 30


@pytest.mark.parametrize("chip", list(Chipset))
def test_layout_invariants(chip: Chipset) -> None:
    vram = chip.facts.sim_vram_mib * MiB
    regions = {r.name: r for r in typical_regions(chip, vram)}
    vga, wpr2, heap = regions["VGA workspace"], regions["WPR2"], regions["GSP heap"]
    fsp = chip.facts.boot_path is BootPath.FSP
    assert vga.end == vram and vga.size == (128 * 1024 if fsp else MiB)
    frts = regions.get("FRTS")
    assert (frts is None) == (chip is Chipset.GA100)
    if frts is not None:
        if fsp:  # FRTS where the chain-of-trust message puts it; the PMU and FSP reserve above it, up to the VGA ws
            end = regions["FB end reserve (PMU, FSP)"]
            assert frts.end == end.start == vram - fsp_frts_offset_from_end(chip) and end.end == vga.start
        else:
            assert frts.end == vga.start & ~(128 * 1024 - 1)
        assert frts.size == MiB and wpr2.end == frts.end
    assert wpr2.start % MiB == 0 and heap.start % MiB == 0 and heap.size % MiB == 0
    assert regions["GSP firmware (ELF)"].start % 0x10000 == 0
    assert regions["GSP bootloader"].start % 0x1000 == 0
    assert regions["non-WPR heap"].end == wpr2.start
    assert regions["non-WPR heap"].size == chip.facts.non_wpr_heap_size
    for r in regions.values():
        if r.inside == "WPR2":
            assert wpr2.start <= r.start and r.end <= wpr2.end
    alloc = VramAllocator(vram, reservations(list(regions.values())))
    assert alloc.stats().reserved == sum(r.size for r in regions.values() if r.inside is None)


def test_too_small_vram_is_refused() -> None:
    with pytest.raises(MmError, match="cannot hold the GSP layout"):
        typical_regions(Chipset.AD102, 64 * MiB)
