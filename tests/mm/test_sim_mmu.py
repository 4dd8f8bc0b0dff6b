"""The simulated MMU, BAR2 and PRAMIN models: what they do, and every refusal (logged, SimViolation)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mm_helpers import DATA_BASE, Space

from nova_core.errors import RegisterError, SimViolation
from nova_core.mm.instmem import Bar2Space, instance_block_page_dir
from nova_core.mm.pte import PteFlags, format_version
from nova_core.regs import mmu as m
from nova_core.regs.pbus import NV_PBUS_BAR0_WINDOW
from nova_core.regs.prom import PRAMIN
from nova_core.sim import SimGpu
from nova_core.sim.memory import SimSystemMemory
from nova_core.sim.models.bar2 import BAR2_SIZE, Bar2Model
from nova_core.sim.models.mmu import INVALIDATE_LATENCY_NS, SimMmu

VA = 0x10_0000_0000
INV = m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE


def _mmu(gpu: SimGpu) -> SimMmu:
    mmu = gpu.models["mmu"]
    assert isinstance(mmu, SimMmu)
    return mmu


def _bar2(gpu: SimGpu) -> Bar2Model:
    b = gpu.models["bar2"]
    assert isinstance(b, Bar2Model)
    return b


def _last_error(gpu: SimGpu) -> str:
    return gpu.log.errors()[-1].message


# -- TLB invalidate -----------------------------------------------------------------------------------


def test_invalidate_is_recorded_and_trigger_clears_after_the_latency() -> None:
    gpu = SimGpu("ga102")
    bar = gpu.bar0
    m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.write(bar, addr_=0x1234, aperture=0)
    m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB.write(bar, addr_=0)
    INV.write(bar, all_va=1, trigger=1)
    assert INV.trigger.get(INV.read(bar)) == 1 and not _mmu(gpu).invalidates
    gpu.clock.sleep(INVALIDATE_LATENCY_NS)
    assert INV.trigger.get(INV.read(bar)) == 0
    (rec,) = _mmu(gpu).invalidates
    assert (rec.pdb, rec.all_va, rec.hub_only) == (0x1234000, True, False)
    INV.write(bar, all_pdb=1, hubtlb_only=1, trigger=1)
    gpu.clock.sleep(INVALIDATE_LATENCY_NS)
    assert _mmu(gpu).invalidates[-1].pdb is None and _mmu(gpu).invalidates[-1].hub_only


def test_invalidate_without_trigger_is_refused() -> None:
    gpu = SimGpu("ad102")
    with pytest.raises(SimViolation, match="without TRIGGER"):
        INV.write(gpu.bar0, all_va=1, all_pdb=1)
    assert "without TRIGGER" in _last_error(gpu)


def test_invalidate_while_pending_is_refused() -> None:
    gpu = SimGpu("ad102")
    INV.write(gpu.bar0, all_pdb=1, trigger=1)
    with pytest.raises(SimViolation, match="still pending"):
        INV.write(gpu.bar0, all_pdb=1, trigger=1)
    assert "still pending" in _last_error(gpu)


def test_invalidate_of_a_pdb_outside_memory_is_refused() -> None:
    gpu = SimGpu("tu117")
    m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB.write(gpu.bar0, addr_=1)  # PDB at 1 TiB
    with pytest.raises(SimViolation, match="outside VRAM"):
        INV.write(gpu.bar0, all_va=1, trigger=1)
    m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB.write(gpu.bar0, addr_=0)
    m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.write(gpu.bar0, aperture=1, addr_=0x5)
    with pytest.raises(SimViolation, match="not mapped by the IOMMU"):
        INV.write(gpu.bar0, all_va=1, trigger=1)


def test_lenient_sim_logs_instead_of_raising() -> None:
    gpu = SimGpu("ad102", strict=False)
    INV.write(gpu.bar0, all_va=1)
    assert "without TRIGGER" in _last_error(gpu)
    assert not _mmu(gpu).invalidates


# -- the walker's faults ---------------------------------------------------------------------------------


def _vram_tables(gpu: SimGpu, version: int) -> tuple[int, int]:
    """A hand-built chain root -> ... -> PD0 in VRAM (driver code not involved); returns (pdb, PD0 table)."""
    fmt = format_version(version)
    dirs = fmt.geometry.directories
    addr = 0x100000
    tables = [addr + i * 0x1000 for i in range(len(dirs))]
    for lvl, table, nxt in zip(dirs[:-1], tables[:-1], tables[1:], strict=True):
        gpu.vram.write64(table + lvl.index(VA) * 8, fmt.pde(nxt))
    return tables[0], tables[-1]


@pytest.mark.parametrize("version", [2, 3])
def test_walker_faults(version: int) -> None:
    gpu = SimGpu("ad102" if version == 2 else "gh100")
    mmu = _mmu(gpu)
    fmt = format_version(version)
    pdb, pd0 = _vram_tables(gpu, version)
    idx = fmt.geometry.pd0.index(VA)
    with pytest.raises(SimViolation, match="PD0 entry .* is invalid"):
        mmu.walk(pdb, VA)
    small, big = 0x200000, 0x201000
    gpu.vram.write(pd0 + idx * 16, fmt.dual_pde((big, m.PdeAperture.VIDEO_MEMORY),
                                                (small, m.PdeAperture.VIDEO_MEMORY)).to_bytes(16, "little"))
    with pytest.raises(SimViolation, match="PT_SMALL entry .* is invalid"):
        mmu.walk(pdb, VA)
    gpu.vram.write64(small, fmt.pte(0x300000, flags=PteFlags(kind=m.PteKind.INVALID)))
    with pytest.raises(SimViolation, match="kind INVALID"):
        mmu.walk(pdb, VA)
    gpu.vram.write64(small, fmt.pte(0x300000, m.PteAperture.PEER_MEMORY))
    with pytest.raises(SimViolation, match="peer memory"):
        mmu.walk(pdb, VA)
    gpu.vram.write64(small, fmt.pte(0x300000, flags=PteFlags(read_only=True)))
    assert mmu.walk(pdb, VA + 4).addr(VA + 4) == 0x300004
    with pytest.raises(SimViolation, match="write through read-only"):
        mmu.walk(pdb, VA, write=True)
    gpu.vram.write64(small, fmt.pte(gpu.vram.size))
    with pytest.raises(SimViolation, match="outside VRAM"):
        mmu.walk(pdb, VA)
    gpu.vram.write64(small, fmt.pte(0x300000, m.PteAperture.SYSTEM_COHERENT_MEMORY))
    with pytest.raises(SimViolation, match="not mapped by the IOMMU"):
        mmu.walk(pdb, VA)
    # an invalid big PTE that hides the small PTEs (v2: PRIVILEGE, v3: PCF NO_VALID_4KB_PAGE)
    hide = (1 << 5) if version == 2 else (m.PtePcfInvalid.NO_VALID_4KB_PAGE << 3)
    gpu.vram.write64(big, hide)
    with pytest.raises(SimViolation, match="hides the small PTEs"):
        mmu.walk(pdb, VA)
    gpu.vram.write64(big, fmt.pte(0x400000))
    assert mmu.walk(pdb, VA + 0x10).addr(VA + 0x10) == 0x400010  # a valid big PTE wins
    with pytest.raises(SimViolation, match="beyond the"):
        mmu.walk(pdb, 1 << fmt.geometry.va_bits)
    with pytest.raises(SimViolation, match="outside VRAM"):
        mmu.walk(gpu.vram.size, VA)
    assert len(gpu.log.errors()) >= 10


def test_512m_pages_only_from_ampere() -> None:
    for chip, ok in (("tu102", False), ("ga102", True)):
        gpu = SimGpu(chip)
        fmt = format_version(2)
        pdb = 0x100000
        dirs = fmt.geometry.directories
        gpu.vram.write64(pdb + dirs[0].index(VA) * 8, fmt.pde(0x101000))
        gpu.vram.write64(0x101000 + dirs[1].index(VA) * 8, fmt.pde(0x102000))
        gpu.vram.write64(0x102000 + dirs[2].index(VA) * 8, fmt.pte(0x2000_0000))
        if ok:
            assert _mmu(gpu).walk(pdb, VA + 0x123).page_size == 1 << 29
        else:
            with pytest.raises(SimViolation, match="cannot hold a PTE on TU102"):
                _mmu(gpu).walk(pdb, VA)


def test_v2_pde_with_peer_bits_on_video_memory_is_refused() -> None:
    gpu = SimGpu("ad102")
    fmt = format_version(2)
    gpu.vram.write64(0x100000 + fmt.geometry.directories[0].index(VA) * 8,
                     fmt.pde(0x101000) | m.NV_MMU_VER2_PDE_VID.address_vid_peer.put(0, 1))
    with pytest.raises(SimViolation, match="peer bits"):
        _mmu(gpu).walk(0x100000, VA)


# -- BAR2 ---------------------------------------------------------------------------------------------------


def test_bar2_access_before_a_bind_is_refused() -> None:
    gpu = SimGpu("ad102")
    with pytest.raises(SimViolation, match="not bound"):
        _bar2(gpu).bar.read32(0)
    with pytest.raises(SimViolation, match="unaligned"):
        _bar2(gpu).bar.read32(2)
    with pytest.raises(SimViolation, match="outside BAR2"):
        _bar2(gpu).bar.write32(BAR2_SIZE, 0)
    assert _bar2(gpu).bar.size == BAR2_SIZE


@pytest.mark.parametrize(("chip", "reg"), [
    ("tu102", m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR),
    ("gh100", m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK),
    ("gb202", m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK),
    ("ad102", m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR),
])
def test_the_other_familys_bind_register_is_refused(chip: str, reg: type[m.Register]) -> None:
    gpu = SimGpu(chip)
    with pytest.raises(SimViolation, match="does not exist on"):
        gpu.bar0.write32(reg.addr(), 0x80000001)
    assert gpu.bar0.read32(reg.addr()) == 0xBADF1100
    if chip == "gb202":
        assert gpu.bar0.read32(m.NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.addr()) == 0xBADF1100


def _bind_raw(gpu: SimGpu, inst: int) -> None:
    if _bar2(gpu).hopper_regs:
        m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR.write(gpu.bar0, ptr=inst >> 32)
        m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR.write(gpu.bar0, mode=1, ptr=(inst >> 12) & 0xFFFFF)
    else:
        m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK.write(gpu.bar0, mode=1, ptr=inst >> 12)


@pytest.mark.parametrize("chip", ["ad102", "gh100"])
def test_bad_instance_blocks_are_refused(chip: str) -> None:
    gpu = SimGpu(chip)
    with pytest.raises(SimViolation, match="outside VRAM"):
        _bind_raw(gpu, gpu.vram.size)
    inst, pdb = 0x10000, 0x20000
    words = instance_block_page_dir(pdb, BAR2_SIZE - 1)
    pd = m.NV_RAMIN_PAGE_DIR_BASE
    for change, why in ((dict(use_ver2_pt_format=0), "USE_VER2_PT_FORMAT is 0"),
                        (dict(big_page_size=0), "128 KiB"),
                        (dict(target=1), "not a memory target"),
                        (dict(hi=0x100), "page directory .* outside VRAM")):
        value = pd.encode(int.from_bytes(words, "little"), **change)
        gpu.vram.write(inst + m.RAMIN_PAGE_DIR_OFFSET, value.to_bytes(16, "little"))
        with pytest.raises(SimViolation, match=why):
            _bind_raw(gpu, inst)
    assert _bar2(gpu).bound is None


def test_bar2_faults_and_the_stale_tlb_check(make_space: Callable[..., Space]) -> None:
    sp = make_space("ga102")
    gpu, dev = sp.gpu, sp.dev
    space = Bar2Space(gpu.chipset, dev.bar0, dev.clock, gpu.vram, sp.alloc, _bar2(gpu).bar)
    space.bind()
    bar2 = _bar2(gpu)
    space.vmm.map_vram(0x10000, DATA_BASE, 0x10000)
    bar2.bar.write32(0x10004, 0xCAFE)
    assert gpu.vram.read32(DATA_BASE + 4) == 0xCAFE
    with pytest.raises(SimViolation, match="MMU fault"):
        bar2.bar.read32(0x40000)
    # change the PTE behind the MMU's back (no invalidate): the next access names the missing invalidate
    pt = space.vmm.walk(0x10000).steps[-1].entry_addr
    gpu.vram.write64(pt, space.fmt.pte(DATA_BASE + 0x10000))
    with pytest.raises(SimViolation, match="changed without an MMU TLB invalidate"):
        bar2.bar.read32(0x10004)
    space.invalidator.invalidate(space.vmm.pdb)
    assert bar2.bar.read32(0x10004) == gpu.vram.read32(DATA_BASE + 0x10004)
    # unmapping behind the MMU's back is named the same way
    saved = gpu.vram.read64(pt)
    gpu.vram.write64(pt, 0)
    with pytest.raises(SimViolation, match=r"no longer map it .*without an MMU TLB invalidate"):
        bar2.bar.read32(0x10008)
    gpu.vram.write64(pt, saved)
    # the driver's own remap issues the invalidate: no complaint
    space.vmm.remap(0x10000, [space.vmm.mappings()[0].segments[0]])
    assert bar2.bar.read32(0x10004) == 0xCAFE
    assert space.invalidator.count == len(sp.mmu.invalidates) and bar2.tlb.flushes >= 3
    assert all(r.hub_only for r in sp.mmu.invalidates)


def test_bar2_va_limit(make_space: Callable[..., Space]) -> None:
    sp = make_space("tu102")
    gpu = sp.gpu
    inst, pdb = 0x10000, 0x20000
    gpu.vram.write(inst + m.RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(pdb, 0xFFFFF))
    _bind_raw(gpu, inst)
    with pytest.raises(SimViolation, match="beyond the instance block's VA limit 0xfffff"):
        _bar2(gpu).bar.read32(0x100000)


def test_bind_status_is_busy_for_a_moment() -> None:
    gpu = SimGpu("ad102")
    inst = 0x10000
    gpu.vram.write(inst + m.RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(0x20000, BAR2_SIZE - 1))
    _bind_raw(gpu, inst)
    st_ = m.NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS
    assert st_.bar2_pending.get(st_.read(gpu.bar0)) == 1
    gpu.clock.sleep(2_000)
    assert st_.read(gpu.bar0) == 0
    m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK.write(gpu.bar0, mode=0)
    assert _bar2(gpu).bound is None


# -- PRAMIN -------------------------------------------------------------------------------------------------


def test_pramin_window_reads_and_writes_vram() -> None:
    gpu = SimGpu("ad102")
    gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(base_=0x123))
    gpu.bar0.write32(PRAMIN.start + 0x10, 0x55AA55AA)
    assert gpu.vram.read32(0x1230000 + 0x10) == 0x55AA55AA
    gpu.vram.write32(0x1230000 + 0xFFFFC, 7)
    assert gpu.bar0.read32(PRAMIN.start + 0xFFFFC) == 7


def test_pramin_refusals() -> None:
    gpu = SimGpu("tu117")
    gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(base_=gpu.vram.size >> 16))
    with pytest.raises(SimViolation, match="beyond the"):
        gpu.bar0.read32(PRAMIN.start)
    gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(target=1))
    with pytest.raises(SimViolation, match="reserved target"):
        gpu.bar0.write32(PRAMIN.start, 1)
    gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(target=2, base_=0x10))
    with pytest.raises(SimViolation, match="not mapped by the IOMMU"):
        gpu.bar0.read32(PRAMIN.start)
    # BAR0_WINDOW.BASE is 24 bits of 64 KiB: PRAMIN reaches the first TiB of the bus only, and the sim's IOMMU
    # hands out addresses from 1 TiB on; an IOMMU with a lower window shows the sysmem path.
    with pytest.raises(RegisterError, match="does not fit"):
        NV_PBUS_BAR0_WINDOW.encode(target=2, base_=gpu.sysmem.alloc(0x10000, name="high").bus_addr >> 16)
    gpu.sysmem = SimSystemMemory(gpu.log, base=1 << 32)
    buf = gpu.sysmem.alloc(0x10000, align=0x10000, name="pramin sys")
    gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(target=2, base_=buf.bus_addr >> 16))
    gpu.bar0.write32(PRAMIN.start + 8, 0xABCD)
    assert buf.read_u32(8) == 0xABCD
    assert [e.component for e in gpu.log.errors()] == ["pramin"] * 3
