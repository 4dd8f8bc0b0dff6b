"""Devinit: the GFW boot wait (priv level mask first, then progress 0xFF) and the VRAM size, on warm and cold GPUs."""

from __future__ import annotations

import pytest

from nova_core.errors import BootError, PollTimeout
from nova_core.gpu import Chipset, identify
from nova_core.gpu.devinit import GFW_BOOT_INTERVAL, devinit, gfw_boot_state, wait_gfw_boot
from nova_core.hw.clock import MS, SEC
from nova_core.regs.gc6 import NV_PGC6_AON_SECURE_SCRATCH_GROUP_05, NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK
from nova_core.sim import PRI_ERROR, SimGpu
from nova_core.sim.models.gfw import GfwBootModel

MiB = 1 << 20


@pytest.mark.parametrize("chip", [Chipset.TU102, Chipset.GA100, Chipset.GA102, Chipset.AD104])
def test_warm_gpu(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    r = devinit(gpu.bar0, gpu.clock)
    assert r.spec.chipset is chip and r.gfw_waited
    assert r.vram_size == chip.facts.sim_vram_mib * MiB
    assert gpu.clock.slept == 0  # already complete: no wait


def test_cold_gpu_waits_for_completion_and_never_reads_progress_early() -> None:
    gpu = SimGpu("ga102")
    gfw: GfwBootModel = gpu.models["gfw"]  # type: ignore[assignment]
    gfw.cold_boot(duration_ns=300 * MS)
    assert gfw_boot_state(gpu.bar0) == (False, None)
    t0 = gpu.clock.now()
    r = devinit(gpu.bar0, gpu.clock)
    assert r.gfw_waited and gfw.completed_at is not None
    elapsed = gpu.clock.now() - t0
    assert 300 * MS <= elapsed <= 300 * MS + 2 * GFW_BOOT_INTERVAL
    assert gfw.premature_reads == 0


def test_a_driver_that_skips_the_mask_reads_a_pri_error() -> None:
    gpu = SimGpu("tu102")
    gfw: GfwBootModel = gpu.models["gfw"]  # type: ignore[assignment]
    gfw.cold_boot()
    assert NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.read(gpu.bar0, i=0) == PRI_ERROR
    assert gfw.premature_reads == 1 and "priv level mask" in gpu.log.format(2)


def test_gfw_boot_that_never_completes_times_out() -> None:
    gpu = SimGpu("ad102")
    gfw: GfwBootModel = gpu.models["gfw"]  # type: ignore[assignment]
    gfw.cold_boot(never_completes=True)
    with pytest.raises(PollTimeout, match=r"timed out after 4 s waiting for AD102 GFW boot to complete .*last value "
                                          r"\(False, None\)"):
        wait_gfw_boot(gpu.bar0, gpu.clock, identify(gpu.bar0))
    assert gpu.clock.now() >= 4 * SEC


def test_progress_stalls_below_completion_with_mask_lowered() -> None:
    gpu = SimGpu("ga102")
    gpu.models["gfw"].cold_boot(never_completes=True)  # type: ignore[attr-defined]
    gpu.clock.sleep(1 * SEC)
    # FWSEC lowered the mask, but devinit stalled
    gpu.bar0.poke(NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.addr(), 1)
    with pytest.raises(PollTimeout, match=r"last value \(False, 127\)"):
        wait_gfw_boot(gpu.bar0, gpu.clock, identify(gpu.bar0), timeout=100 * MS)


@pytest.mark.parametrize("chip", [Chipset.GH100, Chipset.GB100, Chipset.GB202])
def test_fsp_chips_wait_for_the_fsp_boot_not_the_gfw_scratch(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    gpu.models["gfw"].cold_boot(never_completes=True)  # type: ignore[attr-defined]
    r = devinit(gpu.bar0, gpu.clock)  # the FSP has booted: its I2CS scratch reads 0xFF
    assert r.gfw_waited and r.vram_size == chip.facts.sim_vram_mib * MiB


@pytest.mark.parametrize(("chip", "register", "timeout_s"), [
    (Chipset.GH100, "NV_THERM_I2CS_SCRATCH at 0x200bc", 4), (Chipset.GB100, "NV_THERM_I2CS_SCRATCH at 0x200bc", 4),
    (Chipset.GB202, "NV_THERM_I2CS_SCRATCH at 0xad00bc", 5)])
def test_fsp_boot_that_never_completes_times_out_naming_its_register(chip: Chipset, register: str,
                                                                     timeout_s: int) -> None:
    gpu = SimGpu(chip)
    gpu.models["fsp"].boot_complete = False  # type: ignore[attr-defined]
    with pytest.raises(PollTimeout, match=f"{chip.name} FSP secure boot complete \\({register} = 0xff\\)"):
        devinit(gpu.bar0, gpu.clock)
    assert timeout_s * SEC <= gpu.clock.now() < (timeout_s + 1) * SEC


def test_gb100_fsp_fuse_error_is_refused() -> None:
    gpu = SimGpu(Chipset.GB100)
    gpu.models["fsp"].set_fuse_error(0x2A)  # type: ignore[attr-defined]
    with pytest.raises(BootError, match=r"fuse error check failed: NV_PFSP_FUSE_ERROR_CHECK .* reads 0x2a"):
        devinit(gpu.bar0, gpu.clock)
    g = SimGpu(Chipset.GB202)  # GB20x has no fuse error check to fail
    g.models["fsp"].set_fuse_error(0x2A)  # type: ignore[attr-defined]
    assert devinit(g.bar0, g.clock).gfw_waited
