"""The VMM: page-size choice, tables in simulated VRAM (checked by the sim's own walker), errors, TLB invalidates,
concurrency (stress test against a model), and a stateful property test."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from mm_helpers import DATA_BASE, Space

from nova_core.errors import MmError, RegisterError, SimViolation
from nova_core.hw.sg import SgSegment, SgTable
from nova_core.mm.allocator import VramAllocator
from nova_core.mm.pte import PteFlags, PteTemplate, format_for, format_version
from nova_core.mm.vmm import Run, Segment, Vmm
from nova_core.regs.mmu import PteAperture
from nova_core.sim.memory import SparseMemory

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
VA = 0x10_0000_0000
PA = DATA_BASE


def _check_all_pages(sp: Space, va: int, size: int, pa: int, space: str = "vid") -> None:
    """Both walkers agree with the expected linear translation at every 4 KiB page."""
    for off in range(0, size, 4096):
        tr = sp.vmm.walk(va + off + 8)
        assert tr.phys == pa + off + 8, (hex(va + off), tr.fault)
        sim = sp.sim_translate(va + off + 8)
        assert sim is not None and sim[:2] == (space, pa + off + 8)


@pytest.mark.parametrize("chip", ["tu102", "ga102", "ad102", "gh100", "gb202"])
def test_every_page_size_is_used_and_walks_agree(make_space: Callable[..., Space], chip: str) -> None:
    sp = make_space(chip)
    mp = sp.vmm.map_vram(VA, PA, 2 * MiB + 64 * KiB * 3 + 4 * KiB * 5)
    assert mp.page_sizes() == {2 * MiB: 1, 64 * KiB: 3, 4 * KiB: 5}
    _check_all_pages(sp, VA, mp.size, PA)
    assert sp.vmm.walk(VA + 2 * MiB).page_size == 64 * KiB
    assert [s.level for s in sp.vmm.walk(VA + 2 * MiB).steps][-1] == "PT_BIG"
    assert sp.vmm.walk(VA + 2 * MiB + 3 * 64 * KiB).page_size == 4 * KiB
    big = sp.vmm.fmt.huge_512m
    m2 = sp.vmm.map_vram(VA + 512 * MiB, 2 * 512 * MiB, 512 * MiB)
    assert m2.page_sizes() == ({512 * MiB: 1} if big else {2 * MiB: 256})
    assert sp.sim_translate(VA + 512 * MiB + 0x1234) == ("vid", 1024 * MiB + 0x1234, 512 * MiB if big else 2 * MiB)


def test_largest_page_alignment_permits(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    # VA and PA congruent modulo 2 MiB: 64 KiB pages up to the 2 MiB boundary, then 2 MiB, then 64 KiB, 4 KiB
    mp = sp.vmm.map_vram(VA + 0x1F_0000, PA + 0x1F_0000, 0x1_0000 + 4 * MiB + 0x3_0000 + 0x2000)
    assert [(r.shift, r.count) for r in mp.runs] == [(16, 1), (21, 2), (16, 3), (12, 2)]
    # congruent only modulo 64 KiB: never a 2 MiB page
    m2 = sp.vmm.map_vram(VA + 64 * MiB, PA + 64 * MiB + 0x1_0000, 4 * MiB)
    assert set(m2.page_sizes()) == {64 * KiB}
    # congruent only modulo 4 KiB: 4 KiB pages only
    m3 = sp.vmm.map_vram(VA + 128 * MiB, PA + 128 * MiB + 0x1000, 256 * KiB)
    assert m3.page_sizes() == {4 * KiB: 64}
    for m in (mp, m2, m3):
        _check_all_pages(sp, m.va, m.size, m.segments[0].addr)


def test_runs_never_cross_a_page_table(make_space: Callable[..., Space]) -> None:
    sp = make_space("ga102")
    mp = sp.vmm.map_vram(VA + 2 * MiB - 8 * KiB, PA + 0x1000, 16 * KiB)
    assert [(r.va, r.count) for r in mp.runs] == [(VA + 2 * MiB - 8 * KiB, 2), (VA + 2 * MiB, 2)]
    _check_all_pages(sp, mp.va, mp.size, PA + 0x1000)


def test_tables_are_freed_when_empty_and_entries_cleared(make_space: Callable[..., Space]) -> None:
    sp = make_space("gb202")
    base = len(sp.alloc)
    mp = sp.vmm.map_vram(VA, PA, 2 * MiB + 64 * KiB + 4 * KiB)
    assert sp.vmm.tables == 1 + 4 + 2  # root + PD3..PD0 + big and small tables
    assert len(sp.alloc) == base + 6
    sp.vmm.unmap(mp.va, mp.size)
    # the emptied tables stay linked, idle, for the next map: every entry invalid, so the VA faults at a table
    assert (sp.vmm.tables, sp.vmm.cached_tables, len(sp.alloc)) == (7, 2, base + 6)
    assert sp.vmm.walk(VA).fault is not None and sp.sim_translate(VA) is None
    invalidates = len(sp.mmu.invalidates)
    sp.vmm.trim()
    assert len(sp.mmu.invalidates) == invalidates + 1  # the PDEs cleared, then invalidated, then freed
    assert (sp.vmm.tables, sp.vmm.cached_tables, len(sp.alloc)) == (1, 0, base)
    assert sp.gpu.vram.read(sp.vmm.pdb, 16) == bytes(16)
    tr = sp.vmm.walk(VA)
    assert (tr.mapped, tr.fault) == (False, "PD4 entry 0 is invalid")
    assert sp.sim_translate(VA) is None


def test_one_invalidate_per_batch(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    recorded = sp.mmu.invalidates
    sp.vmm.map_vram(VA, PA, 64 * KiB)
    assert sp.inv.count == len(recorded) == 1
    assert recorded[0].pdb == sp.vmm.pdb and recorded[0].all_va and not recorded[0].hub_only
    with sp.vmm.batch():
        for i in range(1, 11):
            sp.vmm.map_vram(VA + i * MiB, PA + i * MiB, 64 * KiB)
        sp.vmm.unmap(VA + MiB, 64 * KiB)
        assert len(recorded) == 1  # nothing until the batch ends
    assert sp.inv.count == len(recorded) == 2
    sp.vmm.unmap(VA, 64 * KiB)
    assert len(recorded) == 3
    with sp.vmm.batch(), pytest.raises(MmError):
        sp.vmm.unmap(VA, 64 * KiB)  # nothing changed: no invalidate
    assert len(recorded) == 3


def test_bad_requests_are_refused_with_the_values(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    vmm = sp.vmm
    with pytest.raises(MmError, match="must be 4 KiB aligned"):
        vmm.map_vram(VA + 0x800, PA, 4096)
    with pytest.raises(MmError, match="must be 4 KiB aligned"):
        vmm.map_vram(VA, PA, 0x1800)
    with pytest.raises(MmError, match=r"whole 4 KiB pages"):
        vmm.map(VA, [Segment(PteAperture.VIDEO_MEMORY, PA + 0x10, 0x1000)])
    with pytest.raises(MmError, match=r"outside the VA range \[0x0, 0x2000000000000\)"):
        vmm.map_vram((1 << 49) - 4096, PA, 8192)
    with pytest.raises(RegisterError, match="does not fit the 25-bit address field"):
        vmm.map_vram(VA, 1 << 37, 4096)  # beyond what a v2 video-memory PTE can address
    vmm.trim()
    assert vmm.tables == 1  # the failed map left nothing behind but idle tables
    vmm.map_vram(VA, PA, 64 * KiB)
    with pytest.raises(MmError, match=r"overlaps the mapping \[0x1000000000, 0x1000010000\)"):
        vmm.map_vram(VA + 60 * KiB, PA, 8 * KiB)
    with pytest.raises(MmError, match="nothing is mapped there"):
        vmm.unmap(VA + MiB, 4096)
    with pytest.raises(MmError, match=r"cuts the mapping \[0x1000000000, 0x1000010000\)"):
        vmm.unmap(VA, 4096)
    with pytest.raises(MmError, match=r"\[0x1000010000, 0x1000020000\) is not mapped"):
        vmm.unmap(VA, 128 * KiB)
    with pytest.raises(MmError, match="outside"):
        vmm.walk(1 << 49)
    with pytest.raises(MmError, match="VA range"):
        Vmm(vmm.fmt, sp.gpu.vram, sp.alloc, va_start=0x800)


def test_map_failure_rolls_back(make_space: Callable[..., Space]) -> None:
    vram = SparseMemory(64 * MiB)
    alloc = VramAllocator(64 * MiB, [(0, 64 * MiB - 16 * KiB, "full")])
    vmm = Vmm(format_version(2), vram, alloc)
    with pytest.raises(MmError, match="no free block"):
        vmm.map_vram(VA, PA, 2 * MiB + 4 * KiB)  # the PD3/PD2/PD1/PD0 fit, the small page table does not
    assert (vmm.tables, len(alloc), vmm.mappings()) == (1, 2, [])
    assert vmm.walk(VA).fault == "PD3 entry 0 is invalid"


def test_remap_in_place_and_with_a_new_layout(make_space: Callable[..., Space]) -> None:
    sp = make_space("ga102")
    sp.vmm.map_vram(VA, PA, 2 * MiB)
    tables = sp.vmm.tables
    m = sp.vmm.remap(VA, [Segment(PteAperture.VIDEO_MEMORY, PA + 4 * MiB, 2 * MiB)])
    assert sp.vmm.tables == tables and m.page_sizes() == {2 * MiB: 1}
    _check_all_pages(sp, VA, 2 * MiB, PA + 4 * MiB)
    m = sp.vmm.remap(VA, [Segment(PteAperture.VIDEO_MEMORY, PA + 0x1000, 2 * MiB)], PteFlags(read_only=True))
    assert m.page_sizes() == {4 * KiB: 512}
    _check_all_pages(sp, VA, 2 * MiB, PA + 0x1000)
    with pytest.raises(SimViolation, match="write through read-only"):
        sp.mmu.walk(sp.vmm.pdb, VA, write=True)
    with pytest.raises(MmError, match="cuts the mapping"):
        sp.vmm.remap(VA, [Segment(PteAperture.VIDEO_MEMORY, PA, 4096)])
    assert len(sp.mmu.invalidates) == 3


def test_sg_tables_and_dma_buffers(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    sg = sp.gpu.sysmem.alloc_sg(256 * KiB, name="scattered")
    m = sp.vmm.map_sys(VA, sg)
    pages = [int(p) for p in sg.page_addrs()]
    for i, bus in enumerate(pages):
        assert sp.vmm.walk(VA + i * 4096).phys == bus
        assert sp.sim_translate(VA + i * 4096 + 4) == ("sys", bus + 4, sp.sim_translate(VA + i * 4096)[2])
    assert sum(m.page_sizes().values()) >= 1
    ro = sp.gpu.sysmem.map_sg(bytes(64 * KiB), name="firmware image")
    m2 = sp.vmm.map_sys(VA + GiB, ro)
    assert m2.flags.read_only
    with pytest.raises(SimViolation, match="write through read-only"):
        sp.mmu.walk(sp.vmm.pdb, VA + GiB, write=True)
    buf = sp.dev.dma.alloc(0x3000, name="buf")
    sp.vmm.map_sys(VA + 2 * GiB, buf, coherent=False)
    tr = sp.vmm.walk(VA + 2 * GiB + 0x2004)
    assert (tr.phys, tr.aperture) == (buf.bus_addr + 0x2004, PteAperture.SYSTEM_NON_COHERENT_MEMORY)
    assert tr.steps[-1].info.fields["vol"] == 1  # system memory is mapped uncached (volatile)
    sp.vmm.map_sys(VA + 3 * GiB, [(buf.bus_addr, 0x1000)])
    with pytest.raises(MmError, match="not a .bus address, length. pair"):
        sp.vmm.map_sys(VA + 4 * GiB, [buf.bus_addr])
    with pytest.raises(MmError, match="cannot map int"):
        sp.vmm.map_sys(VA + 4 * GiB, 5)
    table = SgTable(memoryview(bytearray(8192)), [SgSegment(0, 0x5000, 4096), SgSegment(4096, 0x9000, 4096)])
    m3 = sp.vmm.map_sys(VA + 5 * GiB, table)
    assert [s.addr for s in m3.segments] == [0x5000, 0x9000]


def test_valloc_aligns_for_big_pages_and_vfree_checks(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    va = sp.vmm.valloc(64 * KiB)
    assert va % (64 * KiB) == 0
    va2 = sp.vmm.valloc(3 * MiB)
    assert va2 % (2 * MiB) == 0
    sp.vmm.map_vram(va, PA, 64 * KiB)
    with pytest.raises(MmError, match="still mapped"):
        sp.vmm.vfree(va)
    sp.vmm.unmap(va, 64 * KiB)
    sp.vmm.vfree(va)
    sp.vmm.vfree(va2)
    with pytest.raises(MmError, match="double free"):
        sp.vmm.vfree(va2)


def test_lookup_and_mappings(make_space: Callable[..., Space]) -> None:
    sp = make_space("ad102")
    a = sp.vmm.map_vram(VA, PA, 8 * KiB)
    b = sp.vmm.map_vram(VA + MiB, PA, 8 * KiB)
    assert sp.vmm.mappings() == [a, b]
    assert sp.vmm.lookup(VA + 4 * KiB) == a
    assert sp.vmm.lookup(VA + 8 * KiB) is None
    js = sp.vmm.walk(VA + 4 * KiB).as_json()
    assert js["phys"] == PA + 4 * KiB and js["steps"][-1]["level"] == "PT_SMALL"


# -- concurrency ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("chip", ["ad102", "gh100"])
def test_concurrent_map_unmap_of_disjoint_ranges(make_space: Callable[..., Space], chip: str,
                                                 request: pytest.FixtureRequest) -> None:
    """Threads share page tables (their ranges interleave inside the same 2 MiB regions and directories) and
    map/unmap concurrently; after every round the tables in VRAM are compared page by page to a model."""
    sp = make_space(chip)
    threads, rounds, slot = 6, 16, 64 * KiB
    overlap = {"now": 0, "max": 0}
    olock = threading.Lock()
    write_run = sp.vmm._write_run

    def counting_write_run(run: Run, template: PteTemplate | None) -> None:
        with olock:
            overlap["now"] += 1
            overlap["max"] = max(overlap["max"], overlap["now"])
        try:
            time.sleep(0)  # let another thread in, as a page-table write to real VRAM would
            write_run(run, template)
        finally:
            with olock:
                overlap["now"] -= 1

    sp.vmm._write_run = counting_write_run  # type: ignore[method-assign]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    request.addfinalizer(lambda: sys.setswitchinterval(switch))
    region = 2 * MiB
    model: dict[int, tuple[int, int]] = {}  # va -> (pa, size) of every live mapping
    mlock = threading.Lock()
    errors: list[BaseException] = []

    def slots_of(t: int) -> list[int]:  # thread t owns slots t, t+threads, ... in a shared 8 MiB window
        return [VA + s * slot for s in range(t, region // slot, threads)]

    def worker(t: int, seed: int) -> None:
        rng = random.Random(seed)
        mine = slots_of(t)
        live: list[int] = [va for va in mine if va in model]
        try:
            for _ in range(60):  # at most two live mappings per thread: tables empty and refill often
                if len(live) >= 2 or (live and rng.random() < 0.5):
                    va = live.pop(rng.randrange(len(live)))
                    sp.vmm.unmap(va, model[va][1])
                    with mlock:
                        del model[va]
                else:
                    va = rng.choice([v for v in mine if v not in live])
                    size = rng.choice([4 * KiB, 12 * KiB, 64 * KiB])
                    pa = PA + rng.randrange(0, 1024) * (64 * KiB if size == 64 * KiB else 4 * KiB)
                    sp.vmm.map_vram(va, pa, size)
                    live.append(va)
                    with mlock:
                        model[va] = (pa, size)
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            errors.append(exc)

    for r in range(rounds):
        ts = [threading.Thread(target=worker, args=(t, r * 100 + t)) for t in range(threads)]
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        assert not errors, errors
        expect: dict[int, int] = {}
        for va, (pa, size) in model.items():
            for off in range(0, size, 4096):
                expect[va + off] = pa + off
        for page in range(VA, VA + region, 4096):
            got = sp.sim_translate(page)
            if page in expect:
                assert got is not None and got[1] == expect[page], (r, hex(page))
            else:
                assert got is None, (r, hex(page), got)
        assert {m.va for m in sp.vmm.mappings()} == set(model)
    for va, (_, size) in list(model.items()):
        sp.vmm.unmap(va, size)
    sp.vmm.trim()
    assert sp.vmm.tables == 1
    assert sorted(a.tag for a in sp.alloc.allocations()) == ["test PD3" if chip == "ad102" else "test PD4", "test data"]
    assert sp.inv.count == len(sp.mmu.invalidates)
    assert overlap["max"] >= 2, "page-table writes of different threads never overlapped: a global lock?"


# -- stateful property test -----------------------------------------------------------------------------

WINDOW = 8 * MiB


class VmmMachine(RuleBasedStateMachine):
    """Random maps/unmaps/remaps in an 8 MiB window, checked page by page against a model."""

    fmt = format_version(2)

    def __init__(self) -> None:
        super().__init__()
        self.vram = SparseMemory(1 << 34)
        self.alloc = VramAllocator(1 << 34, [(0, 1 << 33, "data")])
        self.vmm = Vmm(self.fmt, self.vram, self.alloc)
        self.model: dict[int, tuple[int, int]] = {}

    def _free(self, va: int, size: int) -> bool:
        return all(not (v < va + size and va < v + s) for v, (_, s) in self.model.items())

    @rule(page=st.integers(0, WINDOW // 4096 - 1), pages=st.integers(1, 600), pa_page=st.integers(0, 1 << 20),
          pa_align=st.sampled_from([12, 16, 21]))
    def map(self, page: int, pages: int, pa_page: int, pa_align: int) -> None:
        va, size = VA + page * 4096, min(pages * 4096, WINDOW - page * 4096)
        pa = (pa_page << pa_align) % (1 << 33)
        if self._free(va, size):
            self.vmm.map_vram(va, pa, size)
            self.model[va] = (pa, size)
        else:
            with pytest.raises(MmError, match="overlaps"):
                self.vmm.map_vram(va, pa, size)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def unmap(self, data: st.DataObject) -> None:
        va = data.draw(st.sampled_from(sorted(self.model)))
        self.vmm.unmap(va, self.model.pop(va)[1])

    @precondition(lambda self: self.model)
    @rule(data=st.data(), pa_page=st.integers(0, 1 << 20))
    def remap(self, data: st.DataObject, pa_page: int) -> None:
        va = data.draw(st.sampled_from(sorted(self.model)))
        size = self.model[va][1]
        self.vmm.remap(va, [Segment(PteAperture.VIDEO_MEMORY, pa_page << 12, size)])
        self.model[va] = (pa_page << 12, size)

    @invariant()
    def tables_match_model(self) -> None:
        expect: dict[int, int] = {}
        for va, (pa, size) in self.model.items():
            for off in range(0, size, 4096):
                expect[va + off] = pa + off
        probes = set(range(VA, VA + WINDOW, 64 * KiB))
        for va, (_, size) in self.model.items():
            probes |= {va - 4096, va, va + size - 4096, va + size}
        for page in sorted(p for p in probes if VA <= p < VA + WINDOW):
            assert self.vmm.walk(page + 8).phys == (None if page not in expect else expect[page] + 8)

    @invariant()
    def no_empty_tables_linger(self) -> None:
        assert self.vmm._idle_bytes <= self.vmm.cache_bytes
        if not self.model:
            self.vmm.trim()  # everything but the root was idle
            assert self.vmm.tables == 1
            assert len(self.alloc) == 2


TestVmmStateful = VmmMachine.TestCase
TestVmmStateful.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)


class VmmMachineV3(VmmMachine):
    fmt = format_version(3)


TestVmmStatefulV3 = VmmMachineV3.TestCase
TestVmmStatefulV3.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)


def test_format_for_chip_is_what_the_sim_walks(make_space: Callable[..., Space]) -> None:
    for chip in ("tu102", "gh100"):
        sp = make_space(chip)
        assert sp.mmu.version == format_for(sp.gpu.chipset).version
