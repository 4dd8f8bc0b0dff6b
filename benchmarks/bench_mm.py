"""Memory management: the VRAM allocator and the VMM against tinygrad 0.14.0's TLSFAllocator and NVMemoryManager.

tinygrad's pure-Python pieces run without a GPU (shared/reference/tinygrad-nv.md §7): its ``NVMemoryManager`` is
built on an ``NVDev`` with dict-backed registers and an anonymous mapping as VRAM. Ours writes its tables into
the simulated GPU's sparse VRAM. Allocator workloads: 100k alloc/free pairs; 100k allocations freed in random
order; 100k mixed random operations (16 B - 1 MiB, as in tinygrad's fuzz test) with the fragmentation left
behind. VMM: map + unmap of 1 GiB in 4 KiB, 64 KiB and 2 MiB pages (tinygrad has no 64 KiB pages: its 4 KiB
run is the reference there), 64 KiB valloc + map + unmap + free of the same sixteen 4 KiB pages on both sides (and,
as a figure, ours with one 64 KiB page), 4 x 4 KiB map + unmap, and PTE writes per second.
"""

from __future__ import annotations

import ctypes
import mmap
import random
import time
from collections.abc import Callable
from typing import Any

from _harness import Harness, Target
from nova_core.mm.allocator import Placement, RangeAllocator, VramAllocator
from nova_core.mm.pte import format_version
from nova_core.mm.vmm import Segment, Vmm
from nova_core.regs.mmu import PteAperture
from nova_core.sim.memory import SparseMemory

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
N = 100_000


def _tinygrad() -> Any:
    try:
        from tinygrad.runtime.support import memory
    except ImportError:  # pragma: no cover - benchmarks need the bench extra
        return None
    return memory


# -- allocator workloads --------------------------------------------------------------------------------


def _pairs(make: Callable[[], Any], n: int) -> Callable[[], None]:
    def run() -> None:
        a = make()
        for _ in range(n):
            a.free(a.alloc(4096))
    return run


def _random_free(make: Callable[[], Any], n: int) -> Callable[[], None]:
    def run() -> None:
        a = make()
        rng = random.Random(1)
        xs = [a.alloc(4096) for _ in range(n)]
        rng.shuffle(xs)
        for x in xs:
            a.free(x)
    return run


def _mixed(a: Any, seed: int = 2) -> list[int]:
    rng = random.Random(seed)
    live: list[int] = []
    for _ in range(N):
        if live and rng.random() < 0.45:
            i = rng.randrange(len(live))
            live[i], live[-1] = live[-1], live[i]
            a.free(live.pop())
        else:
            live.append(a.alloc(rng.randint(16, MiB)))
    return live


def _tlsf_fragmentation(t: Any) -> tuple[int, int]:
    free = [size for size, _, _, is_free in t.blocks.values() if is_free]
    return sum(free), max(free, default=0)


def _allocator(h: Harness) -> None:
    """Both allocators made fresh inside the timed call (16 B granularity, 16 GiB), the same request sequence."""
    mem = _tinygrad()
    size = 1 << 34

    def ours() -> RangeAllocator:
        return RangeAllocator(size, granularity=16)

    def theirs() -> Any:
        return mem.TLSFAllocator(size)

    h.compare("allocator: 100k alloc/free pairs (4 KiB)", _pairs(ours, N), "tinygrad TLSF", _pairs(theirs, N),
              target=Target(max_ratio=1.0), number=1, rounds=3)
    for n, speedup in ((10_000, 5), (N, 20)):
        h.compare(f"allocator: {n // 1000}k allocs (4 KiB), freed in random order", _random_free(ours, n),
                  "tinygrad TLSF", _random_free(theirs, n), target=Target(min_speedup=speedup), number=1,
                  rounds=5 if n < N else 3)
    h.compare("allocator: 100k mixed random ops (16 B - 1 MiB)", lambda: _mixed(ours()), "tinygrad TLSF",
              lambda: _mixed(theirs()), target=Target(max_ratio=1.0), number=1, rounds=3)
    a, t = ours(), theirs()
    _mixed(a)
    _mixed(t)
    st = a.stats()
    tfree, tlargest = _tlsf_fragmentation(t)
    h.report("allocator: fragmentation after the mixed run", 0.0,
             ours=f"{st.fragmentation:.4f} ({st.holes} holes)",
             tinygrad=f"{1 - tlargest / tfree:.4f} ({sum(1 for b in t.blocks.values() if b[3])} holes)",
             target_text="less than tinygrad", met=st.fragmentation < 1 - tlargest / tfree)
    # LOW placement has no tinygrad counterpart: a figure
    b = RangeAllocator(size, granularity=4096)
    i = iter(range(1 << 62))

    def low() -> None:
        b.alloc(4096 * (1 + next(i) % 7), placement=Placement.LOW)

    h.report("allocator: bottom-up (LOW) allocation, 20k+ live", h.samples(low, number=20_000, rounds=1))


# -- VMM ----------------------------------------------------------------------------------------------------


class _NopInvalidator:
    count = 0

    def invalidate(self, pdb: int, aperture: object = None) -> None:
        self.count += 1


def _ours(version: int = 2) -> Vmm:
    vram = SparseMemory(64 * GiB)
    alloc = VramAllocator(64 * GiB, [(0, 32 * GiB, "data")])
    return Vmm(format_version(version), vram, alloc, _NopInvalidator(), name="bench")


def _theirs(vram_size: int = 4 * GiB) -> Any:
    """tinygrad's NVMemoryManager on a GPU-less NVDev (tinygrad-nv.md §7)."""
    from tinygrad.runtime.support.hcq import MMIOInterface
    from tinygrad.runtime.support.nv.nvdev import NVDev, NVMemoryManager, NVPageTableEntry

    d = object.__new__(NVDev)
    regs: dict[int, int] = {}
    d.wreg = regs.__setitem__  # type: ignore[method-assign]
    d.rreg = lambda addr: regs.get(addr, 0)  # type: ignore[method-assign]
    d.reg_names, d.reg_offsets = set(), {}
    d.include("dev_vm", "tu102")
    d.include("dev_mmu", "tu102")
    d.mmu_ver = 2
    d.pte_t, d.pde_t, d.dual_pde_t = d.NV_MMU_VER2_PTE, d.NV_MMU_VER2_PDE, d.NV_MMU_VER2_DUAL_PDE
    backing = mmap.mmap(-1, vram_size)
    d._bench_backing = backing
    d.vram = MMIOInterface(ctypes.addressof(ctypes.c_char.from_buffer(backing)), vram_size)
    d.smi_dev, d.is_booting, d.devfmt = False, True, "bench"
    d.mm = NVMemoryManager(d, vram_size, boot_size=2 * MiB, pt_t=NVPageTableEntry, va_bits=48,
                           va_shifts=[12, 21, 29, 38, 47], va_base=0,
                           palloc_ranges=[(x, x) for x in [512 * MiB, 2 * MiB, 4 * KiB]], reserve_ptable=False)
    d.is_booting = False
    return d


def _vmm(h: Harness) -> None:
    mem = _tinygrad()
    va = 0x10_0000_0000
    ours, theirs = _ours(), _theirs()
    phys = mem.AddrSpace.PHYS
    big = 2 if not h.quick else 1  # rounds of the 1 GiB runs (seconds each on tinygrad's side)

    def ours_map_unmap(segs: list[Segment]) -> Callable[[], None]:
        def run() -> None:
            ours.map(va, segs)
            ours.unmap(va, GiB)
        return run

    def theirs_map_unmap(paddrs: list[tuple[int, int]]) -> Callable[[], None]:
        def run() -> None:
            theirs.mm.map_range(va, GiB, paddrs, phys)
            theirs.mm.unmap_range(va, GiB)
        return run

    # 1 GiB, physically contiguous but only 4 KiB aligned: both use 4 KiB pages
    c4k = 0x1000_1000
    seg4k = [Segment(PteAperture.VIDEO_MEMORY, c4k, GiB)]
    t0 = time.perf_counter()
    ours.map(va, seg4k)
    map_s = time.perf_counter() - t0
    ours.unmap(va, GiB)
    h.report("vmm: map 1 GiB in 4 KiB pages: PTE writes per second", map_s,
             pte_writes_per_s=f"{(GiB >> 12) / map_s:,.0f}")
    h.compare("vmm: map+unmap 1 GiB in 4 KiB pages", ours_map_unmap(seg4k), "tinygrad map_range/unmap_range",
              theirs_map_unmap([(c4k, GiB)]), target=Target(max_ratio=1.0), number=1, rounds=big)
    # the same as 262144 scattered pages (an sg table of single pages)
    tg_pages = [(0x1000_0000 + i * 8192, 4096) for i in range(GiB // 4096)]
    our_pages = [Segment(PteAperture.VIDEO_MEMORY, pa, n) for pa, n in tg_pages]
    h.compare("vmm: map+unmap 1 GiB of scattered 4 KiB pages", ours_map_unmap(our_pages),
              "tinygrad map_range/unmap_range", theirs_map_unmap(tg_pages), target=Target(max_ratio=1.0), number=1,
              rounds=big)
    seg64 = [Segment(PteAperture.VIDEO_MEMORY, 0x1001_0000, GiB)]  # 64 KiB aligned, not 2 MiB: 64 KiB pages
    h.compare("vmm: map+unmap 1 GiB in 64 KiB pages (theirs: 4 KiB, tinygrad has no 64 KiB pages)",
              ours_map_unmap(seg64), "tinygrad map_range/unmap_range", theirs_map_unmap([(0x1001_0000, GiB)]),
              number=1, rounds=big)
    seg2m = [Segment(PteAperture.VIDEO_MEMORY, 0x1020_0000, GiB)]  # 2 MiB aligned, not 512 MiB
    h.compare("vmm: map+unmap 1 GiB in 2 MiB pages", ours_map_unmap(seg2m), "tinygrad map_range/unmap_range",
              theirs_map_unmap([(0x1020_0000, GiB)]), target=Target(max_ratio=1.0), number=3, rounds=3)
    vram = ours.allocator

    # 64 KiB, the same pages on both sides: tinygrad's valloc takes sixteen 4 KiB pages (palloc_ranges 512 MiB,
    # 2 MiB, 4 KiB: nothing bigger fits) and maps them as sixteen 4 KiB PTEs; ours takes sixteen 4 KiB pages from
    # the VRAM allocator and maps them as an sg list of sixteen 4 KiB pages
    def ours_valloc() -> None:
        v = ours.valloc(64 * KiB)
        pages = vram.alloc_many(16, 4 * KiB, align=4 * KiB)  # sixteen blocks, as sixteen alloc() calls give
        ours.map(v, [Segment(PteAperture.VIDEO_MEMORY, pa, 4 * KiB) for pa in pages])
        ours.unmap(v, 64 * KiB)
        vram.free_many(pages)
        ours.vfree(v)

    def ours_valloc_single() -> None:  # the same with one allocator call per page
        v = ours.valloc(64 * KiB)
        pages = [vram.alloc(4 * KiB, align=4 * KiB) for _ in range(16)]
        ours.map(v, [Segment(PteAperture.VIDEO_MEMORY, pa, 4 * KiB) for pa in pages])
        ours.unmap(v, 64 * KiB)
        for pa in pages:
            vram.free(pa)
        ours.vfree(v)

    def theirs_valloc() -> None:
        theirs.mm.vfree(theirs.mm.valloc(64 * KiB))

    h.compare("vmm: 64 KiB valloc + map + unmap + free (sixteen 4 KiB pages, both)", ours_valloc,
              "tinygrad valloc/vfree", theirs_valloc, target=Target(min_speedup=50),
              pages="alloc_many/free_many (one allocator lock for the sixteen)")
    h.compare("vmm: 64 KiB valloc + map + unmap + free (sixteen 4 KiB pages, sixteen alloc/free calls)",
              ours_valloc_single, "tinygrad valloc/vfree", theirs_valloc)

    # what a caller of ours would do for 64 KiB: one 64 KiB page (one PTE) - tinygrad: one contiguous block, still
    # sixteen 4 KiB PTEs. Not the same work: a figure, no target
    def ours_valloc64() -> None:
        v = ours.valloc(64 * KiB)
        pa = vram.alloc(64 * KiB, align=64 * KiB)
        ours.map_vram(v, pa, 64 * KiB)
        ours.unmap(v, 64 * KiB)
        vram.free(pa)
        ours.vfree(v)

    def theirs_valloc64() -> None:
        theirs.mm.vfree(theirs.mm.valloc(64 * KiB, contiguous=True))

    h.compare("vmm: 64 KiB valloc + map + unmap + free (ours: one 64 KiB page)", ours_valloc64,
              "tinygrad valloc(contiguous)/vfree: 16 PTEs", theirs_valloc64)
    small = [Segment(PteAperture.VIDEO_MEMORY, 0x2000_0000 + i * 8192, 4096) for i in range(4)]
    small_tg = [(s.addr, s.length) for s in small]
    lone, busy = va + 4 * GiB, va + GiB

    def ours_map(at: int) -> None:
        ours.map(at, small)

    def ours_unmap(at: int) -> None:
        ours.unmap(at, 0x4000)

    def theirs_map(at: int) -> None:
        theirs.mm.map_range(at, 0x4000, small_tg, phys)

    def theirs_unmap(at: int) -> None:
        theirs.mm.unmap_range(at, 0x4000)

    def unmaps(name: str, at: int, target: Target | None = None) -> None:
        """The unmap alone (the map before it untimed), ours and tinygrad's alternating."""
        o: list[float] = []
        t: list[float] = []
        for k in range(60 if h.quick else 300):
            for m, u, out in ((ours_map, ours_unmap, o), (theirs_map, theirs_unmap, t))[::1 if k % 2 else -1]:
                m(at)
                t0 = time.perf_counter()
                u(at)
                out.append(time.perf_counter() - t0)
        h.compare_samples(name, o, "tinygrad unmap_range", t, target=target)

    # a small unmap in a region where nothing else is mapped (tinygrad frees the tables it leaves empty; ours keeps
    # them cached for the next map, see Vmm)
    unmaps("vmm: unmap 4 x 4 KiB, nothing else mapped near", lone, Target(min_speedup=10))
    # the same inside a page table that stays in use
    ours.map_vram(busy, 0x3000_0000, 4096)
    theirs.mm.map_range(busy, 4096, [(0x3000_0000, 4096)], phys)
    unmaps("vmm: unmap 4 x 4 KiB, page table stays in use", busy + 0x10000)

    def ours_small() -> None:
        ours.map(busy + 0x10000, small)
        ours.unmap(busy + 0x10000, 0x4000)

    def theirs_small() -> None:
        theirs.mm.map_range(busy + 0x10000, 0x4000, small_tg, phys)
        theirs.mm.unmap_range(busy + 0x10000, 0x4000)

    h.compare("vmm: map + unmap 4 x 4 KiB (tables in use)", ours_small, "tinygrad map_range/unmap_range",
              theirs_small, target=Target(max_ratio=1.0))


def run(h: Harness) -> None:
    if _tinygrad() is None:
        print("  tinygrad 0.14.0 is not installed (pip install -e .[bench]); nothing to compare against")
        return
    _allocator(h)
    _vmm(h)
