"""Simulated system memory is not zero-filled eagerly (large zeroed buffers are the kernel's zero pages, recycled
ones are handed back with MADV_DONTNEED, ``zero=False`` ones are only cleared past what the caller writes): what the
driver reads is zero all the same."""

from __future__ import annotations

import pytest

from nova_core.hw.clock import VirtualClock
from nova_core.sim.log import SimLog
from nova_core.sim.memory import _LAZY_MIN, SimSystemMemory

BIG = 4 * _LAZY_MIN


def _mem() -> SimSystemMemory:
    return SimSystemMemory(SimLog(VirtualClock()))


@pytest.mark.parametrize("size", [BIG, _LAZY_MIN - 4096, BIG + 123])
def test_fresh_and_recycled_buffers_read_zero(size: int) -> None:
    mem = _mem()
    buf = mem.alloc(size, name="first")
    assert bytes(buf.view) == bytes(size)
    buf.view[:] = b"\xa5" * size
    mem.free(buf)
    again = mem.alloc(size, name="again")  # the same memory, from the pool
    assert bytes(again.view) == bytes(size)
    assert mem.read(again.bus_addr, 64) == bytes(64)


def test_sg_without_zeroing_clears_only_the_tail() -> None:
    mem = _mem()
    dirty = mem.alloc_sg(BIG, name="dirty")
    dirty.view[:] = b"\x5a" * BIG
    mem.free_sg(dirty)
    size = BIG - 100  # same rounded size: the recycled memory
    table = mem.alloc_sg(size, name="overwritten", zero=False)
    backing = table.view.obj
    assert bytes(memoryview(backing)[size:BIG]) == bytes(100)  # the tail of the last page is zero
    fresh = _mem().alloc_sg(size, name="fresh", zero=False)
    assert bytes(memoryview(fresh.view.obj)[size:BIG]) == bytes(100)


def test_sg_zeroed_after_reuse() -> None:
    mem = _mem()
    t = mem.alloc_sg(BIG, name="a")
    t.view[:] = b"\xff" * BIG
    mem.free_sg(t)
    t = mem.alloc_sg(BIG, name="b")
    assert bytes(t.view) == bytes(BIG)


@pytest.mark.parametrize("zero", [True, False])
def test_large_memory_is_page_aligned_for_the_cpu(zero: bool) -> None:
    # as a real DMA allocation's pages are; memory that starts 16 bytes into a page (a large malloc) makes every
    # copy into it slower, and its "pages" would straddle the CPU's
    import ctypes

    mem = _mem()
    for size in (BIG, BIG + 123):
        table = mem.alloc_sg(size, name="image", zero=zero)
        view = table.view
        assert ctypes.addressof(ctypes.c_char.from_buffer(view)) % 4096 == 0
        mem.free_sg(table)
