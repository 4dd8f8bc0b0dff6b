"""The simulated GPU has each chip's registers as its register family has them (header facts, per family).

PTIMER as ``dev_timer.h`` says (NSEC 31:5 and 28:0, writable up to Ada, TIME_0 read-only from Hopper), registers a
family does not have unbacked, per-family array sizes and field widths in force.
"""

from __future__ import annotations

import pytest

from nova_core.errors import RegisterError, SimViolation
from nova_core.gpu import read_gpu_time
from nova_core.hw.clock import SEC
from nova_core.regs import falcon as F
from nova_core.regs.ptimer import NV_PTIMER_TIME_0, NV_PTIMER_TIME_1, TIME_0_RESOLUTION_NS
from nova_core.regs.vfn import NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF, NV_VIRTUAL_FUNCTION_TIME_0
from nova_core.sim import SimGpu
from nova_core.sim.regfile import PRI_ERROR


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ad102", "gh100"])
def test_ptimer_counts_in_32_ns_units(chip: str) -> None:
    gpu = SimGpu(chip)
    gpu.clock.sleep(3 * SEC + 17)  # not a multiple of 32 ns
    lo, hi = NV_PTIMER_TIME_0.read(gpu.bar0), NV_PTIMER_TIME_1.read(gpu.bar0)
    assert lo & (TIME_0_RESOLUTION_NS - 1) == 0 and hi >> 29 == 0
    t0 = gpu.clock.now()
    t = read_gpu_time(gpu.bar0)  # each BAR read costs virtual time
    assert t % TIME_0_RESOLUTION_NS == 0 and t0 & ~(TIME_0_RESOLUTION_NS - 1) <= t <= gpu.clock.now()
    usermode = NV_VIRTUAL_FUNCTION_TIME_0.read(gpu.bar0)  # the usermode copy shows the same time, 31:5
    assert usermode % TIME_0_RESOLUTION_NS == 0 and 0 <= usermode - lo < 10_000


@pytest.mark.parametrize("chip", ["tu102", "ga102", "ad102"])
def test_ptimer_is_set_by_writing_time_1_then_time_0(chip: str) -> None:
    """OpenRM tmrSetCurrentTime_GV100: TIME_1, then TIME_0 (both RW in gv100/gm107 dev_timer.h)."""
    gpu = SimGpu(chip)
    target = 0x1234_5678_9ABC_DE00
    NV_PTIMER_TIME_1.write(gpu.bar0, nsec=target >> 32)
    NV_PTIMER_TIME_0.write(gpu.bar0, nsec=(target & 0xFFFFFFFF) >> 5)
    set_at = gpu.clock.now()
    gpu.clock.sleep(10_000)
    t = read_gpu_time(gpu.bar0)
    assert t % TIME_0_RESOLUTION_NS == 0 and target + 10_000 - 32 <= t <= target + gpu.clock.now() - set_at


@pytest.mark.parametrize("chip", ["gh100", "gb202"])
def test_hopper_time_0_is_read_only(chip: str) -> None:
    """hopper/gh100/dev_timer.h: NV_PTIMER_TIME_0_NSEC is R-XUF."""
    gpu = SimGpu(chip)
    time_0 = NV_PTIMER_TIME_0.for_family(gpu.facts.reg_family)
    with pytest.raises(RegisterError, match="is read-only"):
        time_0.write(gpu.bar0, nsec=1)
    before = read_gpu_time(gpu.bar0)
    with pytest.raises(SimViolation, match=r"write of 0x20 to read-only NV_PTIMER_TIME_0"):
        gpu.bar0.write32(NV_PTIMER_TIME_0.addr(), 0x20)
    assert read_gpu_time(gpu.bar0) >= before
    assert any("read-only NV_PTIMER_TIME_0" in e.message for e in gpu.log.errors())


def test_a_register_the_family_does_not_have_is_not_backed() -> None:
    tu = SimGpu("tu102")
    bcr = F.NV_PRISCV_RISCV_BCR_CTRL.addr(F.FALCON2.GSP)  # GA102 and later (ampere/ga102/dev_riscv_pri.h)
    assert tu.bar0.read32(bcr) == PRI_ERROR
    with pytest.raises(SimViolation, match="unmodelled offset"):
        tu.bar0.write32(bcr, 0x110)
    assert SimGpu("ga102").bar0.read32(bcr) != PRI_ERROR


def test_vfn_leaf_count_follows_the_family() -> None:
    """8 leaves on Turing to Ada (tu102/ga102 dev_vm.h), 16 from GH100 (gh100/gb100 dev_vm.h)."""
    leaf = NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF
    ninth = leaf.OFFSET + 8 * leaf.STRIDE
    assert SimGpu("ad102").bar0.read32(ninth) == PRI_ERROR
    gh = SimGpu("gh100")
    assert gh.bar0.read32(ninth) == 0 and leaf.for_family("GH100").addr(i=15) == leaf.OFFSET + 15 * 4
    with pytest.raises(RegisterError, match=r"\[8\] is out of range"):
        leaf.for_family("AD102").addr(i=8)


@pytest.mark.parametrize(("chip", "blk_bits"), [("tu102", 8), ("ga100", 16)])
def test_imemc_block_width_follows_the_family(chip: str, blk_bits: int) -> None:
    """IMEMC/DMEMC.BLK is 15:8 in turing/tu102/dev_falcon_v4.h and 23:8 in ampere/ga100 and ga102."""
    gpu = SimGpu(chip)
    imemc = F.NV_PFALCON_FALCON_IMEMC.for_family(gpu.facts.reg_family)
    assert imemc.blk.width == blk_bits
    off = imemc.addr(F.FALCON.GSP, 0)
    gpu.bar0.write32(off, 0xFFFFFC)  # every bit 23:2: BLK/OFFS on GA100+, OFFS and BLK plus reserved 23:16 on TU102
    assert gpu.bar0.read32(off) == imemc.blk.mask | imemc.offs.mask


def test_bcr_valid_is_read_only_and_the_driver_does_not_write_it() -> None:
    bcr = F.NV_PRISCV_RISCV_BCR_CTRL
    with pytest.raises(RegisterError, match="NV_PRISCV_RISCV_BCR_CTRL.valid is read-only"):
        bcr.encode(valid=1) and bcr.write(SimGpu("ga102").bar0, base=F.FALCON2.GSP, valid=1)
    assert F.NV_PFALCON_FALCON_CPUCTL_ALIAS.ACCESS.value == "WO"
