"""DMA buffers and the simulated IOMMU-backed system memory."""

from __future__ import annotations

import pytest

from nova_core.errors import DmaError, SimViolation
from nova_core.hw.clock import VirtualClock
from nova_core.hw.dma import DmaAllocator
from nova_core.sim.log import SimLog
from nova_core.sim.memory import SimSystemMemory, SparseMemory


@pytest.fixture
def mem() -> SimSystemMemory:
    return SimSystemMemory(SimLog(VirtualClock()))


def test_alloc_alignment_and_zeroed(mem: SimSystemMemory) -> None:
    assert isinstance(mem, DmaAllocator)
    a = mem.alloc(100, name="a")
    b = mem.alloc(0x3000, align=0x10000, name="b")
    assert a.bus_addr >= 1 << 32 and a.bus_addr % 4096 == 0 and b.bus_addr % 0x10000 == 0
    assert a.read(0, 100) == bytes(100) and a.size == 100
    a.write_u64(8, 0x1122334455667788)
    assert mem.read(a.bus_addr + 8, 8) == (0x1122334455667788).to_bytes(8, "little")
    mem.write(b.bus_addr + 0x2FFC, b"\x01\x02\x03\x04")
    assert b.read_u32(0x2FFC) == 0x04030201
    assert a.page_addrs() == [a.bus_addr]


def test_alloc_below_an_address_limit(mem: SimSystemMemory) -> None:
    """The IOMMU hands out bus addresses from 1 TiB on; ``limit=`` (a register holding fewer bits, Turing's 40-bit
    sysmem flush page) gets memory from the low range instead - above 4 GiB, below the limit - with its own guard
    pages; without room below the limit, a DmaError and the memory is not kept."""
    high = mem.alloc(4096, name="high")
    assert high.bus_addr >= 1 << 40
    lows = [mem.alloc(4096, name=f"low{i}", limit=1 << 40) for i in range(2)]
    assert all(b.bus_addr >= 1 << 32 and b.bus_addr + b.size <= 1 << 40 for b in lows)
    with pytest.raises(SimViolation, match="unmapped"):
        mem.read(lows[0].bus_addr + 4096, 4)  # a guard page after each
    assert mem.alloc(4096, name="roomy", limit=1 << 47).bus_addr > high.bus_addr  # a limit above: the usual place
    tight = SimSystemMemory(SimLog(VirtualClock()), low_base=(1 << 40) - 0x2000)
    tight.alloc(4096, name="fits", limit=1 << 40)
    before = tight.allocated_bytes
    with pytest.raises(DmaError, match=r"no IOVA space below 0x10000000000 left for 'second'"):
        tight.alloc(4096, name="second", limit=1 << 40)
    assert tight.allocated_bytes == before
    with pytest.raises(DmaError, match="leaves no room"):
        mem.alloc(0x2000, name="x", limit=0x1000)


def test_guard_pages_and_straddling_refused(mem: SimSystemMemory) -> None:
    a = mem.alloc(4096, name="a")
    mem.alloc(4096, name="b")
    with pytest.raises(SimViolation, match=r"DMA to unmapped bus address range .* \(runs past 'a'"):
        mem.read(a.bus_addr + 4090, 16, who="GSP falcon")
    with pytest.raises(SimViolation, match="unmapped"):
        mem.read(a.bus_addr + 4096, 4)


def test_free_double_free_and_use_after_free(mem: SimSystemMemory) -> None:
    a = mem.alloc(4096, name="a")
    bus = a.bus_addr
    mem.free(a)
    with pytest.raises(DmaError, match="double free"):
        mem.free(a)
    with pytest.raises(DmaError, match="used after free"):
        a.read(0, 4)
    with pytest.raises(SimViolation):
        mem.read(bus, 4)


def test_bad_allocations(mem: SimSystemMemory) -> None:
    with pytest.raises(DmaError, match="must be positive"):
        mem.alloc(0)
    with pytest.raises(DmaError, match="power of two"):
        mem.alloc(4096, align=0x3000)
    small = SimSystemMemory(SimLog(VirtualClock()), max_bytes=8192)
    small.alloc(8192)
    with pytest.raises(DmaError, match="already in use"):
        small.alloc(1)


def test_buffer_bounds(mem: SimSystemMemory) -> None:
    a = mem.alloc(16, name="tiny")
    with pytest.raises(DmaError, match=r"access \[0xc, 0x14\) outside its 0x10 bytes"):
        a.write_u64(12, 0)


def test_foreign_memory_is_not_copied(mem: SimSystemMemory) -> None:
    backing = bytearray(8192)
    buf = mem.map_foreign(backing, name="caller")
    mem.write(buf.bus_addr + 100, b"hi")
    assert backing[100:102] == b"hi"


def test_sparse_memory() -> None:
    vram = SparseMemory(1 << 34)
    vram.write((1 << 34) - 4, b"\x11\x22\x33\x44")
    vram.write(0x1FFFE, b"abcd")  # crosses a chunk boundary
    assert vram.read(0x1FFFE, 4) == b"abcd" and vram.read32((1 << 34) - 4) == 0x44332211
    assert vram.read(0x5000000, 8) == bytes(8)
    assert vram.resident_bytes == 3 * SparseMemory.CHUNK
    with pytest.raises(SimViolation, match="outside"):
        vram.read((1 << 34) - 2, 4)
