"""PTIMER hi-lo-hi reads and VRAM size decoding."""

from __future__ import annotations

import pytest

from nova_core.errors import DeviceError, DeviceLost, SimViolation
from nova_core.gpu import identify, read_gpu_time, vram_size
from nova_core.gpu.vram import decode_local_memory_range
from nova_core.hw.clock import US
from nova_core.regs.gc6 import NV_PGC6_AON_SECURE_SCRATCH_GROUP_42
from nova_core.regs.pfb import NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE
from nova_core.regs.ptimer import NV_PTIMER_TIME_0, NV_PTIMER_TIME_1
from nova_core.sim import SimGpu


class ScriptedBar:
    """A BAR answering TIME_1/TIME_0 reads from a script (to force a wrap between reads)."""

    size = 1 << 24

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.reads: list[int] = []

    def read32(self, offset: int) -> int:
        assert offset in (NV_PTIMER_TIME_0.addr(), NV_PTIMER_TIME_1.addr())
        self.reads.append(offset)
        return self.script.pop(0)

    def write32(self, offset: int, value: int) -> None:
        raise AssertionError

    def read_block(self, offset: int, length: int) -> bytes:
        raise AssertionError

    def write_block(self, offset: int, data: bytes) -> None:
        raise AssertionError


def test_consistent_read() -> None:
    bar = ScriptedBar([0x1, 0x2000, 0x1])
    assert read_gpu_time(bar) == 0x1_0000_2000
    assert len(bar.reads) == 3


def test_low_word_wrap_between_reads_is_retried() -> None:
    # hi=1, lo=0xffffff00 read as the counter wraps: the second hi differs, so read again
    bar = ScriptedBar([0x1, 0xFFFFFF00, 0x2, 0x00000040, 0x2])
    assert read_gpu_time(bar) == 0x2_0000_0040


def test_broken_timer_is_an_error_not_a_hang() -> None:
    bar = ScriptedBar([i for i in range(100)])
    with pytest.raises(DeviceError, match="high word changed on each of 8 reads"):
        read_gpu_time(bar)


def test_lost_device_timer() -> None:
    with pytest.raises(DeviceLost):
        read_gpu_time(ScriptedBar([0xFFFFFFFF] * 3))


def test_sim_timer_follows_virtual_clock_across_32_bit_wrap() -> None:
    gpu = SimGpu("ga102")
    gpu.clock.sleep((1 << 32) - 700)  # the reads themselves cost time: the low word wraps mid-read
    t = read_gpu_time(gpu.bar0)
    assert abs(t - gpu.clock.now()) < 5 * US
    gpu.clock.sleep(10 * US)
    assert read_gpu_time(gpu.bar0) > t


def test_sim_ptimer_behaves_as_dev_timer_h() -> None:
    """dev_timer.h: TIME_0_NSEC is 31:5 (bits 4:0 read 0: 32 ns steps), TIME_1_NSEC 28:0 (bits 31:29 read 0), both
    RW; writing TIME_1 then TIME_0 loads a new time (OpenRM tmrSetCurrentTime_GV100) and it keeps counting. The
    usermode copy reads the same. (Before, the sim counted single nanoseconds in all 64 bits.)"""
    from nova_core.regs.vfn import NV_VIRTUAL_FUNCTION_TIME_0

    gpu = SimGpu("ad102")
    gpu.clock.sleep(1_000_003)
    reads = [gpu.bar0.read32(NV_PTIMER_TIME_0.addr()) for _ in range(40)]
    assert all(r & 0x1F == 0 for r in reads) and len(set(reads)) > 1
    assert gpu.bar0.read32(NV_VIRTUAL_FUNCTION_TIME_0.addr()) & 0x1F == 0
    gpu.bar0.write32(NV_PTIMER_TIME_1.addr(), 0xFFFF_FFFF)
    gpu.bar0.write32(NV_PTIMER_TIME_0.addr(), 0x1234_567F)
    assert gpu.bar0.read32(NV_PTIMER_TIME_1.addr()) == 0x1FFF_FFFF  # bits 31:29 are not there
    t = read_gpu_time(gpu.bar0)
    assert 0x1FFF_FFFF_1234_5660 <= t < 0x1FFF_FFFF_1234_5660 + 10 * US and t & 0x1F == 0
    hopper = SimGpu("gh100")  # gh100 dev_timer.h: TIME_0_NSEC is read-only
    with pytest.raises(SimViolation, match="NV_PTIMER_TIME_0"):
        hopper.bar0.write32(NV_PTIMER_TIME_0.addr(), 0)


@pytest.mark.parametrize(("mag", "scale", "ecc", "expect"), [
    (11, 10, 0, 11 << 30), (3, 11, 0, 6 << 30), (1, 12, 1, (4 << 30) // 16 * 15)])
def test_local_memory_range_decoding(mag: int, scale: int, ecc: int, expect: int) -> None:
    v = NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE.encode(lower_mag=mag, lower_scale=scale, ecc_mode=ecc)
    assert decode_local_memory_range(v) == expect


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102", "ad104", "gb206"])
def test_vram_size_from_the_family_register(chip: str) -> None:
    gpu = SimGpu(chip)
    assert vram_size(gpu.bar0, identify(gpu.bar0)) == gpu.vram_mib << 20


def test_vram_size_zero_is_an_error() -> None:
    gpu = SimGpu("ad102")
    gpu.bar0.poke(NV_PGC6_AON_SECURE_SCRATCH_GROUP_42.addr(), 0)
    with pytest.raises(DeviceError, match=r"NV_PGC6_AON_SECURE_SCRATCH_GROUP_42 reads 0x00000000"):
        vram_size(gpu.bar0, identify(gpu.bar0))
