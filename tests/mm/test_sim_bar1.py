"""The simulated BAR1 (the VRAM BAR): its registers, GSP-RM's ownership, and every refusal (logged, SimViolation)."""

from __future__ import annotations

import pytest

from nova_core.errors import BarRangeError, SimViolation
from nova_core.mm.instmem import instance_block_page_dir
from nova_core.pci.config import ConfigSpace, probe_bar_sizes
from nova_core.regs import mmu as m
from nova_core.sim import SimGpu
from nova_core.sim.models.bar1 import Bar1Model
from nova_core.sim_boot import boot_sim

MiB = 1 << 20


def _bar1(gpu: SimGpu) -> Bar1Model:
    b = gpu.models["bar1"]
    assert isinstance(b, Bar1Model)
    return b


def test_register_offsets() -> None:
    # turing/tu102/dev_vm.h NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK 0xF40 (ptr 27:0, target 29:28, mode 31:31);
    # hopper/gh100/dev_vm.h _PRIV_FUNC_BAR1_BLOCK_LOW_ADDR 0xF60, _HIGH_ADDR 0xF64 - in the VF space at 0xB80000
    assert m.NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK.addr() == 0xB80F40
    assert m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR.addr() == 0xB80F60
    assert m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR.addr() == 0xB80F64
    assert m.NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK.encode(mode=1, target=3, ptr=0x1234) == 0xB0001234


@pytest.mark.parametrize(("chip", "size"), [("ga102", 256 * MiB), ("gh100", 128 << 30)])
def test_aperture_is_the_pci_bar1(chip: str, size: int) -> None:
    gpu = SimGpu(chip)
    bar1 = _bar1(gpu)
    sized = probe_bar_sizes(ConfigSpace(gpu.models["pci"]))  # type: ignore[arg-type]  # the standard BAR sizing
    assert bar1.size == bar1.bar.size == sized[1] == size


def test_access_refusals_before_a_bind() -> None:
    gpu = SimGpu("ad102")
    bar = _bar1(gpu).bar
    with pytest.raises(SimViolation, match="BAR1 is not bound"):
        bar.read32(0)
    with pytest.raises(SimViolation, match="unaligned"):
        bar.read32(2)
    with pytest.raises(SimViolation, match=r"outside BAR1 \(size 0x10000000\)"):
        bar.write32(256 * MiB, 0)
    with pytest.raises(BarRangeError, match=r"sim BAR1: block access \[0xffffffc, 0x10000004\) is outside"):
        bar.read_block(256 * MiB - 4, 8)


@pytest.mark.parametrize(("chip", "reg"), [
    ("tu102", m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR),
    ("gh100", m.NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK),
])
def test_the_other_familys_bar1_register_is_refused(chip: str, reg: type[m.Register]) -> None:
    gpu = SimGpu(chip)
    with pytest.raises(SimViolation, match="its BAR1 bind register is the"):
        gpu.bar0.write32(reg.addr(), 0x80000001)


@pytest.mark.parametrize("chip", ["tu102", "gh100"])
def test_cpu_bind_before_gsp_rm_and_the_bind_status(chip: str) -> None:
    gpu = SimGpu(chip)
    inst, pdb = 0x10000, 0x20000
    gpu.vram.write(inst + m.RAMIN_PAGE_DIR_OFFSET, instance_block_page_dir(pdb, 0xFFFFF))
    if chip == "gh100":
        m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR.write(gpu.bar0, ptr=0)
        m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR.write(gpu.bar0, mode=1, ptr=inst >> 12)
        low = m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR
        assert low.bar1_pending.get(low.read(gpu.bar0)) == 1
    else:
        m.NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK.write(gpu.bar0, mode=1, ptr=inst >> 12)
        st = m.NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.read(gpu.bar0)
        assert m.NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS.decode(st) == {
            "bar1_pending": 1, "bar1_outstanding": 1, "bar2_pending": 0, "bar2_outstanding": 0}
    assert _bar1(gpu).bound == (inst, pdb, False, 0xFFFFF)
    gpu.clock.sleep(2_000)
    with pytest.raises(SimViolation, match="beyond the instance block's VA limit 0xfffff"):
        _bar1(gpu).bar.read32(0x100000)
    with pytest.raises(SimViolation, match="MMU fault"):  # nothing mapped under the empty root
        _bar1(gpu).bar.read32(0)


def test_gsp_rm_owns_bar1_while_it_runs() -> None:
    gpu = SimGpu("ga102")
    g = boot_sim("ga102", synthetic=True, gpu=gpu)
    bar1 = _bar1(gpu)
    try:
        assert g.static is not None and bar1.gsp_owner == "GSP-RM" and bar1.binds == 1
        assert bar1.bound is not None and bar1.bound[1] == g.static.bar1_pde_base  # its root: bar1PdeBase
        assert bar1.bound[3] == 256 * MiB - 1
        with pytest.raises(SimViolation, match="refused: BAR1 belongs to GSP-RM.*kbusPatchBar1Pdb_GSPCLIENT"):
            m.NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK.write(g.dev.bar0, mode=1, ptr=0x10)
        assert bar1.binds == 1
        # the driver maps VRAM under GSP-RM's root; a PTE changed behind the MMU's back is named
        assert g.bars is not None
        vmm = g.bars.bar1
        phys = g.bars.allocator.alloc(0x10000, align=0x10000)
        va = vmm.valloc(0x10000)
        vmm.map_vram(va, phys, 0x10000)
        g.dev.bar1.write32(va + 8, 0x5A5A5A5A)  # type: ignore[union-attr]
        assert gpu.vram.read32(phys + 8) == 0x5A5A5A5A
        pte = vmm.walk(va).steps[-1].entry_addr
        gpu.vram.write64(pte, 0)
        with pytest.raises(SimViolation, match="no longer map it .*without an MMU TLB invalidate"):
            g.dev.bar1.read32(va + 8)  # type: ignore[union-attr]
    finally:
        g.close()
    assert bar1.gsp_owner is None and bar1.bound is None  # released as GSP-RM unloads
