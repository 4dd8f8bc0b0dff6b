"""The simulated BAR0's per-offset dispatch (``SimBar._rd``/``_wr``) follows every change made after it was built:
a hook installed later, a register made writable by a model, a value poked at an offset nothing declared - and it
never serves an offset the slow path would refuse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import SimViolation
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_MAILBOX0
from nova_core.regs.pmc import NV_PMC_BOOT_0
from nova_core.sim import PRI_ERROR, SimGpu


def test_a_hook_installed_later_replaces_the_storage() -> None:
    gpu = SimGpu("ga102")
    b = gpu.bar0
    mb = NV_PFALCON_FALCON_MAILBOX0.addr(FALCON.SEC2)
    b.write32(mb, 0x1234)
    assert b.read32(mb) == 0x1234
    seen: list[tuple[int, int]] = []
    b.on_read(mb, lambda off: 0xABCD)
    b.on_write(mb, lambda off, v: seen.append((off, v)))
    assert b.read32(mb) == 0xABCD
    b.write32(mb, 7)
    assert seen == [(mb, 7)] and b.peek(mb) == 0x1234  # the hook took the write, not the storage
    b.on_read(mb, lambda off: 0x5555)  # replaced again
    assert b.read32(mb) == 0x5555


def test_read_only_stays_refused_with_a_hook_unless_made_writable() -> None:
    gpu = SimGpu("ga102")
    b = gpu.bar0
    boot0 = NV_PMC_BOOT_0.addr()
    seen: list[int] = []
    b.on_write(boot0, lambda off, v: seen.append(v))
    with pytest.raises(SimViolation, match="read-only NV_PMC_BOOT_0"):
        b.write32(boot0, 1)
    assert seen == []
    b.on_write(boot0, lambda off, v: seen.append(v), writable=True)
    b.write32(boot0, 2)
    assert seen == [2]


def test_a_poked_new_offset_is_storage_and_hooks_on_unmodelled_offsets_dispatch() -> None:
    gpu = SimGpu("ga102")
    b = gpu.bar0
    off = 0x123450  # nothing declares it
    assert b.read32(off) == PRI_ERROR
    with pytest.raises(SimViolation, match="unmodelled"):
        b.write32(off, 1)
    b.poke(off, 0x77)
    assert b.read32(off) == 0x77
    b.write32(off, 0x99)
    assert b.read32(off) == 0x99
    b.on_read(off + 4, lambda o: o)
    assert b.read32(off + 4) == off + 4


@settings(max_examples=40, deadline=None)
@given(st.integers(-8, (16 << 20) + 8), st.booleans())
def test_offsets_outside_or_unaligned_are_refused_even_when_poked(offset: int, poke: bool) -> None:
    gpu = SimGpu("ga102")
    b = gpu.bar0
    if poke:
        b.poke(offset, 1)
    bad = offset & 3 or offset < 0 or offset + 4 > b.size
    if bad:
        with pytest.raises(SimViolation):
            b.read32(offset)
        with pytest.raises(SimViolation):
            b.write32(offset, 0)
    else:
        t0, r0 = gpu.clock.now(), b.reads
        b.read32(offset)
        assert gpu.clock.now() - t0 == b.read_cost and b.reads == r0 + 1  # every path charges the same


def test_a_lost_device_reads_all_ones_through_the_dispatch() -> None:
    gpu = SimGpu("ga102")
    b = gpu.bar0
    b.fall_off_bus()
    assert b.read32(NV_PMC_BOOT_0.addr()) == 0xFFFFFFFF
    b.write32(NV_PFALCON_FALCON_MAILBOX0.addr(FALCON.SEC2), 5)  # dropped
    assert b.peek(NV_PFALCON_FALCON_MAILBOX0.addr(FALCON.SEC2)) == 0
