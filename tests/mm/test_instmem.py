"""Instance memory through BAR2: bind on every chip family, objects read and written through the BAR2 mapping."""

from __future__ import annotations

import pytest

from nova_core.errors import MmError, SimViolation
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.instmem import Bar2Space, InstMemory
from nova_core.mm.layout import reservations, typical_regions
from nova_core.mm.vram import PraminVram
from nova_core.regs import mmu as m
from nova_core.sim import SimGpu
from nova_core.sim.models.bar2 import Bar2Model


def _setup(chip: str, *, pramin: bool = False) -> tuple[SimGpu, Bar2Space, InstMemory]:
    gpu = SimGpu(chip)
    dev = gpu.device()
    alloc = VramAllocator(gpu.vram.size, reservations(typical_regions(gpu.chipset, gpu.vram.size)))
    bar2 = gpu.models["bar2"]
    assert isinstance(bar2, Bar2Model)
    vram = PraminVram(dev.bar0, gpu.vram.size) if pramin else gpu.vram
    space = Bar2Space(gpu.chipset, dev.bar0, dev.clock, vram, alloc, bar2.bar)
    space.bind()
    return gpu, space, InstMemory(space)


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ad107", "gh100", "gb202"])
def test_objects_go_through_bar2_to_vram(chip: str) -> None:
    gpu, space, inst = _setup(chip)
    bar2 = gpu.models["bar2"]
    assert isinstance(bar2, Bar2Model)
    assert bar2.bound is not None and bar2.bound[0] == space.inst and bar2.bound[1] == space.vmm.pdb
    ramfc = inst.alloc(0x200, name="ramfc")
    big = inst.alloc(0x30000, align=0x10000, name="big")
    assert ramfc.size == 0x1000 and big.vram_addr % 0x10000 == 0
    ramfc.write32(0x8, 0x12345678)
    big.write(0x2FFF0, bytes(range(16)))
    big.write64(0x100, 0x1122334455667788)
    assert gpu.vram.read32(ramfc.vram_addr + 8) == 0x12345678
    assert gpu.vram.read(big.vram_addr + 0x2FFF0, 16) == bytes(range(16))
    assert big.read(0x2FFF0, 16) == bytes(range(16)) and big.read64(0x100) == 0x1122334455667788
    # the BAR2 page tables in VRAM are what the simulated MMU walked: 64 KiB pages for the aligned object
    tr = space.vmm.walk(big.bar2_offset)
    assert (tr.phys, tr.page_size) == (big.vram_addr, 0x10000)
    gpu.vram.write32(ramfc.vram_addr + 0x10, 0xFEED)
    assert ramfc.read32(0x10) == 0xFEED
    assert {o.name for o in inst.objects()} == {"ramfc", "big"}
    inst.free(ramfc)
    with pytest.raises(SimViolation, match="MMU fault"):
        bar2.bar.read32(ramfc.bar2_offset)
    assert not gpu.log.errors()[:-1]  # only the fault just provoked


def test_bar2_through_pramin() -> None:
    gpu, _space, inst = _setup("ad102", pramin=True)
    obj = inst.alloc(0x1000, name="pd")
    obj.write32(0, 0xA5A5A5A5)
    assert gpu.vram.read32(obj.vram_addr) == 0xA5A5A5A5
    assert gpu.models["pramin"].accesses > 0  # type: ignore[attr-defined]


def test_instance_block_words_and_root_pde() -> None:
    gpu, space, _ = _setup("ga102")
    words = int.from_bytes(gpu.vram.read(space.inst + m.RAMIN_PAGE_DIR_OFFSET, 16), "little")
    pd = m.NV_RAMIN_PAGE_DIR_BASE
    assert pd.decode(words) == {"target": 0, "vol": 0, "fault_replay_tex": 0, "fault_replay_gcc": 0,
                                "use_ver2_pt_format": 1, "big_page_size": 1,
                                "lo": (space.vmm.pdb >> 12) & 0xFFFFF, "hi": space.vmm.pdb >> 32,
                                "adr_limit_lo": 0x1FFF, "adr_limit_hi": 0}
    with pytest.raises(MmError, match="no GSP-RM root to share"):
        space.shared_entry()


def test_shared_with_gsp_rm_never_binds_and_shares_the_level_below_the_root() -> None:
    """With GSP-RM, BAR2's tables cover the lower half of the aperture (nouveau bar2_halve); the entry handed over
    is the root's entry 0 - (PD2 address >> 4) | aperture 2 (nouveau r535_bar_bar2_update_pde, plus NO_ATS, bit
    5, here) - never the root itself; invalidates name GSP-RM's root; bind() refuses."""
    gpu = SimGpu("ga102")
    dev = gpu.device()
    bar2 = gpu.models["bar2"]
    alloc = VramAllocator(gpu.vram.size)
    space = Bar2Space(gpu.chipset, dev.bar0, dev.clock, gpu.vram, alloc, bar2.bar, gsp_pdb=0x7654_3000)  # type: ignore
    pd2 = space.vmm.root.children[0].addr
    assert space.shared_entry() == (pd2 >> 4) | 2 | 0x20 and pd2 != space.vmm.pdb
    assert space.root_level_shift == 47 and space.vmm.va_end == bar2.bar.size // 2  # type: ignore[attr-defined]
    assert space.vmm.invalidate_pdb == 0x7654_3000 and space.inst is None
    with pytest.raises(MmError, match="BAR2 belongs to GSP-RM"):
        space.bind()
    assert bar2.binds == 0  # type: ignore[attr-defined]


def test_errors() -> None:
    gpu, space, inst = _setup("tu102")
    obj = inst.alloc(0x1000, name="x")
    with pytest.raises(MmError, match=r"'x': access \[0xffc, \+0x8\) is outside"):
        obj.read64(0xFFC)
    with pytest.raises(MmError, match="not 32-bit aligned"):
        obj.read32(2)
    inst.free(obj)
    with pytest.raises(MmError, match="used after free"):
        obj.read32(0)
    with pytest.raises(MmError, match="double free"):
        inst.free(obj)
    with pytest.raises(MmError, match="positive"):
        inst.alloc(0)
    unbound = Bar2Space(gpu.chipset, gpu.bar0, gpu.clock, gpu.vram, space.allocator, space.bar2)
    with pytest.raises(MmError, match="BAR2 is not usable yet"):
        InstMemory(unbound).alloc(0x1000)
