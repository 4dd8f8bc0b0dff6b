"""Scatter-gather tables, scattered sim memory, foreign memory (caller buffers, mapped files)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import DmaError, SimViolation
from nova_core.hw.clock import VirtualClock
from nova_core.hw.device import NoDma
from nova_core.hw.dma import PAGE_SIZE, DmaAllocator, ForeignMemory
from nova_core.hw.sg import SgSegment, SgTable, coalesce
from nova_core.sim.log import SimLog
from nova_core.sim.memory import SimSystemMemory


@pytest.fixture
def mem() -> SimSystemMemory:
    return SimSystemMemory(SimLog(VirtualClock()))


# -- SgTable -----------------------------------------------------------------------------------------


def test_coalescing_merges_only_what_is_contiguous_on_both_sides() -> None:
    segs = [SgSegment(0, 0x10000, 0x1000), SgSegment(0x1000, 0x11000, 0x2000),  # contiguous: merge
            SgSegment(0x3000, 0x20000, 0x1000),  # bus gap
            SgSegment(0x4000, 0x21000, 0x1000)]  # contiguous with the previous
    t = SgTable(memoryview(bytearray(0x5000)), segs, name="t")
    assert t.orig_nents == 4 and t.nents == 2
    assert t.segments == (SgSegment(0, 0x10000, 0x3000), SgSegment(0x3000, 0x20000, 0x2000))
    assert [t.bus_addr(o) for o in (0, 0x2FFF, 0x3000, 0x4ABC)] == [0x10000, 0x12FFF, 0x20000, 0x21ABC]
    assert t.page_addrs().tolist() == [0x10000, 0x11000, 0x12000, 0x20000, 0x21000]
    assert list(t.iter_pages())[3] == (0x3000, 0x20000)
    capped = SgTable(memoryview(bytearray(0x5000)), segs, max_segment=0x2000)
    assert all(s.length <= 0x2000 for s in capped.segments) and capped.nents == 3


def test_sg_table_refuses_gaps_overlaps_and_short_cover() -> None:
    view = memoryview(bytearray(0x2000))
    with pytest.raises(DmaError, match="segment 1 .* does not continue at offset 0x1000"):
        SgTable(view, [SgSegment(0, 0x1000, 0x1000), SgSegment(0x1800, 0x5000, 0x800)])
    with pytest.raises(DmaError, match="segments cover 0x1000 bytes, the memory has 0x2000"):
        SgTable(view, [SgSegment(0, 0x1000, 0x1000)])
    with pytest.raises(DmaError, match="positive length"):
        SgTable(view, [SgSegment(0, 0x1000, 0), SgSegment(0, 0x1000, 0x2000)])


def test_page_iteration_refuses_unaligned_segments() -> None:
    t = SgTable(memoryview(bytearray(0x2000)), [SgSegment(0, 0x10800, 0x2000)], name="odd")
    assert t.bus_addr(0x10) == 0x10810  # translation works
    with pytest.raises(DmaError, match=r"segment 0 .*bus 0x10800.* is not page aligned"):
        t.page_addrs()


def test_cpu_access_bounds_and_read_only() -> None:
    t = SgTable(memoryview(b"\x01" * 0x1000), [SgSegment(0, 0x1000, 0x1000)], name="ro")
    assert t.read(0xFFE, 2) == b"\x01\x01"
    with pytest.raises(DmaError, match=r"access \[0xfff, 0x1001\) outside"):
        t.read(0xFFF, 2)
    with pytest.raises(DmaError, match="read-only"):
        t.write(0, b"x")


def _runs(runs: list[tuple[int, bool]]) -> tuple[list[SgSegment], int]:
    """Segments of ``(pages, after a bus jump)`` runs, back to back in memory; and the bytes they cover."""
    segs, off, bus = [], 0, 0x100000
    for pages, jump in runs:
        bus += 0x10000 if jump else 0
        segs.append(SgSegment(off, bus, pages * PAGE_SIZE))
        off += pages * PAGE_SIZE
        bus += pages * PAGE_SIZE
    return segs, off


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=30))
def test_coalesce_properties(runs: list[tuple[int, bool]]) -> None:
    """Coalescing keeps every byte's bus address, and no two results could merge further."""
    segs, off = _runs(runs)
    merged = coalesce(segs)
    t = SgTable(memoryview(bytearray(off)), segs)
    expect = np.concatenate([np.arange(s.bus_addr, s.bus_end, PAGE_SIZE) for s in segs])
    assert t.page_addrs().tolist() == expect.tolist()
    assert sum(s.length for s in merged) == off
    assert all(a.bus_end != b.bus_addr for a, b in itertools.pairwise(merged))
    assert len(merged) == 1 + sum(1 for _, jump in runs[1:] if jump)


def _coalesce_reference(segments: list[SgSegment], max_segment: int | None) -> list[SgSegment]:
    """The definition, one merge at a time (what coalesce computes without the intermediate segments)."""
    out: list[SgSegment] = []
    for s in segments:
        if out:
            last = out[-1]
            if (last.end == s.offset and last.bus_end == s.bus_addr
                    and (max_segment is None or last.length + s.length <= max_segment)):
                out[-1] = SgSegment(last.offset, last.bus_addr, last.length + s.length)
                continue
        out.append(s)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=30),
       st.one_of(st.none(), st.integers(1, 12).map(lambda p: p * PAGE_SIZE)))
def test_coalesce_is_the_one_merge_at_a_time_definition(runs: list[tuple[int, bool]], cap: int | None) -> None:
    """Equal to merging neighbour by neighbour, with or without a cap; a segment merged with nothing is kept as the
    same object."""
    segs, _ = _runs(runs)
    merged = coalesce(segs, cap)
    expect = _coalesce_reference(segs, cap)
    assert merged == expect
    unmerged = {(s.offset, s.length): s for s in segs}  # a merged run is longer than the segment it starts with
    assert all(m is unmerged[m.offset, m.length] for m in merged if (m.offset, m.length) in unmerged)


# -- scattered sim memory --------------------------------------------------------------------------


def test_alloc_sg_is_scattered_coalesced_and_guarded(mem: SimSystemMemory) -> None:
    assert isinstance(mem, DmaAllocator)
    t = mem.alloc_sg(300 * PAGE_SIZE + 123, name="big")
    assert t.size == 300 * PAGE_SIZE + 123 and t.npages == 301
    assert t.nents > 1 and t.orig_nents > t.nents  # scattered, and some runs were bus-contiguous
    starts = [s.bus_addr for s in t.segments]
    assert starts != sorted(starts)  # the groups are not in bus order
    pages = t.page_addrs()
    assert np.all(pages % PAGE_SIZE == 0) and len(set(pages.tolist())) == 301
    # the device sees exactly the CPU's bytes at every page's bus address
    t.write(0, bytes(range(256)) * (t.size // 256) + bytes(t.size % 256))
    for off, bus in list(t.iter_pages())[::37]:
        assert mem.read(bus, 16) == t.read(off, 16)
    # one byte past a group is a guard page: an IOMMU fault, logged
    s = t.segments[0]
    with pytest.raises(SimViolation, match="unmapped"):
        mem.read(s.bus_end, 4, who="GSP")
    assert "iommu" in {e.component for e in mem._log.errors()}


def test_alloc_sg_zeroing_pool_and_free(mem: SimSystemMemory) -> None:
    t = mem.alloc_sg(3 * PAGE_SIZE, name="a")
    t.write(0, b"\xAA" * t.size)
    used = mem.allocated_bytes
    mem.free_sg(t)
    assert mem.allocated_bytes == used - 3 * PAGE_SIZE
    with pytest.raises(DmaError, match="double free"):
        mem.free_sg(t)
    with pytest.raises(DmaError, match="used after it was unmapped"):
        t.page_addrs()
    again = mem.alloc_sg(3 * PAGE_SIZE - 8, name="b")  # same backing from the pool, zeroed
    assert again.read(0, again.size) == bytes(again.size)
    again.write(0, b"\xBB" * again.size)
    mem.free_sg(again)
    raw = mem.alloc_sg(3 * PAGE_SIZE - 8, name="c", zero=False)  # the caller overwrites it: only the tail zeroed
    assert bytes(raw.view.obj[raw.size:]) == bytes(8)  # type: ignore[index]


def test_sg_mapping_is_not_freed_as_a_buffer(mem: SimSystemMemory) -> None:
    t = mem.alloc_sg(2 * PAGE_SIZE)
    part = mem.find(t.segments[0].bus_addr)
    assert part is not None
    with pytest.raises(DmaError, match="not allocated here"):
        mem.free(part)


def test_unscattered_memory_is_one_segment() -> None:
    m = SimSystemMemory(SimLog(VirtualClock()), scatter=False)
    t = m.alloc_sg(64 * PAGE_SIZE)
    assert t.nents == t.orig_nents == 1


def test_scatter_plan_is_deterministic() -> None:
    def plan() -> list[tuple[int, int, int]]:
        m = SimSystemMemory(SimLog(VirtualClock()))
        return [(s.offset, s.bus_addr, s.length) for s in m.alloc_sg(500 * PAGE_SIZE).segments]
    assert plan() == plan()


# -- foreign memory -----------------------------------------------------------------------------------


def test_map_sg_of_a_caller_buffer_shares_its_bytes(mem: SimSystemMemory) -> None:
    backing = bytearray(40 * PAGE_SIZE)
    t = mem.map_sg(backing, name="caller")
    bus = t.bus_addr(17 * PAGE_SIZE + 5)
    mem.write(bus, b"device")
    assert backing[17 * PAGE_SIZE + 5:17 * PAGE_SIZE + 11] == b"device"
    backing[0:3] = b"cpu"
    assert mem.read(t.bus_addr(0), 3) == b"cpu"
    used = mem.allocated_bytes
    mem.free_sg(t)
    assert mem.allocated_bytes == used  # foreign memory was never the allocator's
    with pytest.raises(SimViolation):
        mem.read(bus, 1)


def test_read_only_memory_is_device_read_only(mem: SimSystemMemory) -> None:
    t = mem.map_sg(b"\x42" * 5000, name="const")
    assert not t.device_writable and mem.read(t.bus_addr(4999), 1) == b"\x42"
    with pytest.raises(SimViolation, match="DMA write to read-only mapping"):
        mem.write(t.bus_addr(0), b"x", who="CE")
    assert any("read-only" in e.message for e in mem._log.errors())
    forced = mem.map_sg(bytearray(10), name="ro-by-choice", device_writable=False)
    with pytest.raises(SimViolation, match="read-only"):
        mem.write(forced.bus_addr(0), b"x")
    buf = mem.map_foreign(b"abc", name="const-buf")
    assert buf.readonly and mem.read(buf.bus_addr, 3) == b"abc"
    with pytest.raises(DmaError, match="read-only memory"):
        buf.write(0, b"z")
    with pytest.raises(SimViolation, match="read-only"):
        mem.write(buf.bus_addr, b"z")


def test_mapped_file_reaches_the_device_without_a_copy(mem: SimSystemMemory, tmp_path: Path) -> None:
    f = tmp_path / "blob.bin"
    data = bytes(range(256)) * 64
    f.write_bytes(data)
    with ForeignMemory.from_file(f) as fm:
        assert fm.readonly and fm.size == len(data) and fm.npages == 4
        assert bytes(fm.page(3)[:4]) == data[3 * PAGE_SIZE:3 * PAGE_SIZE + 4]
        t = mem.map_sg(fm, name="file")
        got = bytearray(len(data))
        mem.gather(t.bus_addr(0), PAGE_SIZE, memoryview(got))
        assert got[:PAGE_SIZE] == data[:PAGE_SIZE]
        with pytest.raises(SimViolation, match="read-only"):
            mem.write(t.bus_addr(0), b"x")
        mem.free_sg(t)
    with ForeignMemory.from_file(f, writable=True) as fm:
        t = mem.map_sg(fm, name="rw-file")
        mem.write(t.bus_addr(8), b"DEVICE")
        mem.free_sg(t)
    assert f.read_bytes()[8:14] == b"DEVICE"


def test_foreign_memory_errors(tmp_path: Path) -> None:
    f = tmp_path / "small.bin"
    f.write_bytes(b"x" * 100)
    with pytest.raises(DmaError, match="not a multiple of the page size"):
        ForeignMemory.from_file(f, offset=10)
    with pytest.raises(DmaError, match="outside the file"):
        ForeignMemory.from_file(f, length=200)
    with pytest.raises(DmaError, match="No such file"):
        ForeignMemory.from_file(tmp_path / "missing.bin")
    fm = ForeignMemory.from_buffer(bytearray(10), name="b")
    with pytest.raises(DmaError, match="page 1 outside its 1 pages"):
        fm.page(1)
    with pytest.raises(DmaError, match="empty"):
        SimSystemMemory(SimLog(VirtualClock())).map_sg(b"")


def test_read_only_devices_refuse_sg() -> None:
    d = NoDma("read-only sysfs")
    with pytest.raises(DmaError, match="read-only sysfs"):
        d.alloc_sg(4096)
    with pytest.raises(DmaError, match="read-only sysfs"):
        d.map_sg(bytearray(10))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buf", "low", "sg", "free"]), st.integers(1, 200)), max_size=40))
def test_sim_iommu_finds_every_live_mapping_whatever_the_order(ops: list[tuple[str, int]]) -> None:
    """Contiguous, low-range and scattered mappings made and freed in any order: the IOMMU's index stays sorted and
    every page of every live mapping translates to its own buffer; a freed one's pages do not."""
    mem = SimSystemMemory(SimLog(VirtualClock()))
    live: list[object] = []
    freed: list[int] = []
    for kind, n in ops:
        if kind == "buf":
            live.append(mem.alloc(n * 64, name="b"))
        elif kind == "low":
            live.append(mem.alloc(n * 64, name="l", limit=1 << 40))
        elif kind == "sg":
            live.append(mem.alloc_sg(n * PAGE_SIZE, name="s"))
        elif live:
            gone = live.pop(n % len(live))
            if isinstance(gone, SgTable):
                freed += [s.bus_addr for s in gone.segments]
                mem.free_sg(gone)
            else:
                freed.append(gone.bus_addr)  # type: ignore[attr-defined]
                mem.free(gone)  # type: ignore[arg-type]
    assert mem._starts == sorted(mem._starts) and len(mem._starts) == len(mem._maps)
    for obj in live:
        if isinstance(obj, SgTable):
            for _off, bus in obj.iter_pages():
                found = mem.find(bus)
                assert found is not None and found.view.obj is obj.view.obj and found.bus_addr <= bus
        else:
            assert mem.find(obj.bus_addr) is obj  # type: ignore[attr-defined]
    for bus in freed:
        assert mem.find(bus) is None
