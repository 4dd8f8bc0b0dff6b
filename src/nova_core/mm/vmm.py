"""nova_core.mm.vmm: a GPU virtual address space: page tables in VRAM, map/unmap/remap/walk, thread safe per range.

A :class:`Vmm` owns one page-table tree of an MMU format (:mod:`nova_core.mm.pte`): the tables are allocated
from a :class:`~nova_core.mm.allocator.RangeAllocator` over VRAM, written through a
:class:`~nova_core.mm.vram.VramAccess`, and freed when they become empty.

Mapping picks, for every stretch of the range, the largest page the alignment of *both* the virtual and the
physical address permits: 512 MiB (PD1 PTE, Ampere and later), 2 MiB (the dual PDE as a PTE), 64 KiB (the
big-page table of the dual PDE - used, not skipped as tinygrad does) and 4 KiB (the small-page table). A
2 MiB region can hold 64 KiB and 4 KiB pages side by side: both halves of its dual PDE are then valid, and a
big PTE left at 0 (VALID 0, no PRIVILEGE / no NO_VALID_4KB_PAGE PCF) tells the MMU to look at the small
page table for that 64 KiB (nouveau ``gp100_vmm_lpt_invalid`` and ``nvkm_vmm_ref_sptes``).

Concurrency (the seed's asynchronous-queue concern): ``map``/``unmap``/``remap`` of *disjoint* ranges run in
parallel. A range lock serialises only overlapping requests; the shared tree is protected per table: a
table's lock guards its children and entry counts while a thread descends (creating missing tables) or
prunes; every table on a thread's path is *pinned*, so it is never freed under another thread.

Table cache: a table left empty by the last thread that unpins it stays in the tree (its PDE valid, every entry
invalid: a walk there faults at that table) and is *idle*: the next map under it uses it again without allocating,
zeroing and linking a table - the cost of a small map/unmap cycle in a sparse address space. Idle tables are freed
oldest first when more than ``cache_bytes`` of them are idle (at the end of a batch), when a map finds no VRAM
for a table (then the map is retried once), where a 2 MiB or 512 MiB page needs the entry, by :meth:`Vmm.trim`,
and all of them by :meth:`Vmm.close`. ``cache_bytes=0`` frees each table as soon as it is empty. Freed tables
go back to the allocator only after a TLB invalidate, so the MMU can never walk a reused table through a stale
PDE. Lock order: a table's lock may be taken while holding one of its children's, never the reverse; the idle
set's lock is innermost. A table's pins and entry count change from zero only under its parent's lock.

TLB invalidation: one per batch - every public call is a batch of its own, and ``with vmm.batch():``
groups many calls of a thread under one invalidate.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from ..errors import MmError
from ..regs.mmu import InvalidatePdbAperture, MmuLevel, PdeAperture, PteAperture
from .allocator import RangeAllocator
from .pte import DEFAULT_FLAGS, EntryInfo, MmuFormat, PteFlags, PteTemplate
from .tlb import Invalidator
from .vram import VramAccess

_ZERO_4K = bytes(4096)
#: bytes of idle (empty) page tables a Vmm keeps for reuse by default: 1 MiB, a few hundred small tables
DEFAULT_TABLE_CACHE = 1 << 20
_PACK_PAGES = 64  #: runs of scattered pages up to this many have their PTEs packed without numpy


class _NoRoomForTable(MmError):
    """The VRAM allocator had no room for a page table (a map then frees the idle tables and tries again)."""


class Segment(NamedTuple):
    """``length`` bytes of physical memory at ``addr`` in ``aperture`` (a named tuple: an sg list of scattered
    pages makes one per page)."""

    aperture: PteAperture
    addr: int
    length: int


class _BusSegment(Protocol):
    @property
    def bus_addr(self) -> int: ...

    @property
    def length(self) -> int: ...


class SgLike(Protocol):
    """What :class:`nova_core.hw.sg.SgTable` offers the VMM: bus segments (and whether the GPU may write)."""

    @property
    def segments(self) -> Sequence[_BusSegment]: ...


def vram_segments(addr: int, size: int) -> list[Segment]:
    return [Segment(PteAperture.VIDEO_MEMORY, addr, size)]


def sys_segments(memory: object, *, coherent: bool = True) -> list[Segment]:
    """Segments of system memory: an sg table, a ``DmaBuffer`` or a list of ``(bus address, length)``."""
    ap = PteAperture.SYSTEM_COHERENT_MEMORY if coherent else PteAperture.SYSTEM_NON_COHERENT_MEMORY
    segs = getattr(memory, "segments", None)
    if segs is not None and not callable(segs):
        return [Segment(ap, int(s.bus_addr), int(s.length)) for s in segs]
    bus, size = getattr(memory, "bus_addr", None), getattr(memory, "size", None)
    if isinstance(bus, int) and isinstance(size, int):
        return [Segment(ap, bus, size)]
    if isinstance(memory, Sequence):
        out = []
        for item in memory:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise MmError(f"system memory segment {item!r} is not a (bus address, length) pair")
            out.append(Segment(ap, int(item[0]), int(item[1])))
        return out
    raise MmError(f"cannot map {type(memory).__name__}: not an sg table, a DMA buffer or (bus, length) pairs")


@dataclass(frozen=True)
class Run:
    """Consecutive pages of one size inside one page table: ``count`` pages from ``va``.

    The pages are physically contiguous from ``pa``, or - for scattered memory such as an sg table - at the
    addresses in ``pages`` (``pa`` is then the first of them).
    """

    va: int
    pa: int
    count: int
    shift: int
    aperture: PteAperture
    pages: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        return self.count << self.shift


class _RunBuilder:
    __slots__ = ("aperture", "count", "end", "key", "pa", "pages", "shift", "va")

    def __init__(self, va: int, pa: int, count: int, shift: int, aperture: PteAperture, key: int) -> None:
        self.va, self.pa, self.count, self.shift, self.aperture, self.key = va, pa, count, shift, aperture, key
        self.end = va + (count << shift)
        self.pages: list[int] | None = None

    def extend(self, pa: int, count: int) -> None:
        ps = 1 << self.shift
        if self.pages is None and self.pa + (self.count << self.shift) == pa:
            self.count += count
        else:
            if self.pages is None:
                self.pages = [self.pa + i * ps for i in range(self.count)]
            if count == 1:
                self.pages.append(pa)
            else:
                self.pages.extend(pa + i * ps for i in range(count))
            self.count += count
        self.end += count << self.shift

    def run(self) -> Run:
        return Run(self.va, self.pa, self.count, self.shift, self.aperture,
                   None if self.pages is None else tuple(self.pages))


@dataclass(frozen=True)
class Mapping:
    """One ``map`` call: the VA range, what it maps, with which attributes, in which pages."""

    va: int
    size: int
    segments: tuple[Segment, ...]
    flags: PteFlags
    runs: tuple[Run, ...]

    @property
    def end(self) -> int:
        return self.va + self.size

    def page_sizes(self) -> dict[int, int]:
        """``{page size: number of pages}``."""
        out: dict[int, int] = {}
        for r in self.runs:
            out[1 << r.shift] = out.get(1 << r.shift, 0) + r.count
        return out


@dataclass(frozen=True)
class WalkStep:
    """One level of a walk: which table, which entry, its raw value and what it means."""

    level: str
    table: int
    index: int
    entry_addr: int
    raw: int
    info: EntryInfo
    size: int = 8  #: bytes of the entry (16 for the dual PDE)


@dataclass(frozen=True)
class Translation:
    """The result of walking a VA: the steps, and the page it lands in (or why it faults)."""

    va: int
    steps: tuple[WalkStep, ...]
    phys: int | None = None
    aperture: PteAperture | None = None
    page_size: int | None = None
    fault: str | None = None

    @property
    def mapped(self) -> bool:
        return self.phys is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "va": self.va, "phys": self.phys, "aperture": None if self.aperture is None else self.aperture.name,
            "page_size": self.page_size, "fault": self.fault,
            "steps": [{"level": s.level, "table": s.table, "index": s.index, "entry_addr": s.entry_addr,
                       "raw": f"{s.raw:#x}", "kind": s.info.kind, "decoded": s.info.text} for s in self.steps],
        }


class _Table:
    """Driver-side shadow of one page table / directory in VRAM."""

    __slots__ = ("addr", "big", "children", "count", "half", "huge", "index", "level", "lock", "parent", "pins")

    def __init__(self, level: MmuLevel, addr: int, index: int, half: str | None) -> None:
        self.level = level
        self.addr = addr
        self.index = index  # entry index in the parent
        self.half = half  # "big"/"small" under a PD0, else None
        self.children: dict[int, _Table] = {}  # directory levels above PD0; PD0's small tables
        self.big: dict[int, _Table] = {}  # PD0 only: big-page tables
        self.huge: set[int] = set()  # entries that are PTEs (PD1: 512 MiB, PD0: 2 MiB)
        self.count = 0  # occupied entries (children + PTEs); 0 = empty
        self.pins = 0
        self.lock = threading.Lock()
        self.parent: _Table | None = None


class RangeLock:
    """Blocks a request while another holds an overlapping ``[start, end)``; disjoint ones run in parallel."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held: list[tuple[int, int]] = []
        self._waiting = 0  #: threads blocked in acquire (a release wakes them only if there are any)

    def acquire(self, start: int, end: int) -> None:
        with self._cond:
            held = self._held
            while held and any(s < end and start < e for s, e in held):
                self._waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self._waiting -= 1
            held.append((start, end))

    def release(self, start: int, end: int) -> None:
        with self._cond:
            self._held.remove((start, end))
            if self._waiting:
                self._cond.notify_all()

    @contextmanager
    def hold(self, start: int, end: int) -> Iterator[None]:
        self.acquire(start, end)
        try:
            yield
        finally:
            self.release(start, end)


class _Batch:
    __slots__ = ("depth", "dirty", "frees")

    def __init__(self) -> None:
        self.depth = 0
        self.dirty = False
        self.frees: list[int] = []


class _Op:
    """One public operation: joins (or opens) the calling thread's batch and holds the range lock."""

    __slots__ = ("batch", "end", "own", "start", "vmm")

    def __init__(self, vmm: Vmm, start: int, end: int) -> None:
        self.vmm, self.start, self.end = vmm, start, end

    def __enter__(self) -> _Batch:
        vmm = self.vmm
        b: _Batch | None = getattr(vmm._tls, "batch", None)
        self.own = b is None
        if b is None:
            b = vmm._tls.batch = _Batch()
        self.batch = b
        try:
            vmm._ranges.acquire(self.start, self.end)
        except BaseException:  # pragma: no cover - only an interrupt while waiting
            if self.own:
                vmm._tls.batch = None
            raise
        return b

    def __exit__(self, *exc: object) -> None:
        vmm = self.vmm
        try:
            vmm._ranges.release(self.start, self.end)
        finally:
            if self.own:
                vmm._tls.batch = None
                vmm._finish(self.batch)


class Vmm:
    """A GPU virtual address space.

    Args:
        fmt: the MMU format (:func:`nova_core.mm.pte.format_for`).
        vram: where the page tables are written.
        allocator: the VRAM allocator the tables come from.
        invalidator: TLB invalidation (:class:`nova_core.mm.tlb.TlbInvalidator`); ``None`` for an address
            space no GPU uses yet.
        va_start, va_end: the usable VA range (default: all of the format's VA bits).
        name: for messages and allocation tags.
        root: VRAM address of a root table that already exists and belongs to someone else (GSP-RM's BAR1 page
            directory, static info's ``bar1PdeBase``: nouveau ``r535_bar_bar1_init``, OpenRM
            ``kbusPatchBar1Pdb_GSPCLIENT``): used as this space's root, never cleared, allocated or freed; only
            the entries of what this space maps are written there. ``None``: a root table of its own.
        invalidate_pdb: the page directory base TLB invalidates name, when the hardware walks this space's tables
            from another root (BAR2 shared with GSP-RM: GSP-RM's ``bar2PdeBase``, nouveau ``vmm->rm.bar2_pdb``,
            OpenRM ``kbusPatchBar2Pdb_GSPCLIENT``). ``None``: :attr:`pdb`.
        cache_bytes: idle page tables kept for reuse (see the module docstring); 0 frees them when empty. ``None``
            (the default): :data:`DEFAULT_TABLE_CACHE`, or 0 with a ``root`` of someone else's - an emptied table is
            then unlinked from that root at once, not left pointed to from GSP-RM's page directory.
    """

    def __init__(self, fmt: MmuFormat, vram: VramAccess, allocator: RangeAllocator,
                 invalidator: Invalidator | None = None, *, va_start: int = 0, va_end: int | None = None,
                 name: str = "vmm", root: int | None = None, invalidate_pdb: int | None = None,
                 cache_bytes: int | None = None) -> None:
        self.fmt = fmt
        self.geometry = fmt.geometry
        self.vram = vram
        self.allocator = allocator
        self.invalidator = invalidator
        self.name = name
        self.va_start = va_start
        self.va_end = fmt.geometry.va_limit if va_end is None else va_end
        if not 0 <= va_start < self.va_end <= fmt.geometry.va_limit or va_start & 0xFFF or self.va_end & 0xFFF:
            raise MmError(f"{name}: VA range [{va_start:#x}, {self.va_end:#x}) is not 4 KiB aligned inside the "
                          f"{fmt.geometry.va_bits}-bit VA space")
        self._dirs = fmt.geometry.directories
        self._ranges = RangeLock()
        self._meta = threading.Lock()
        self._starts: list[int] = []
        self._maps: dict[int, Mapping] = {}
        self._tls = threading.local()
        self._stats_lock = threading.Lock()
        self.pte_writes = 0
        self.tables = 0
        self._va_alloc: RangeAllocator | None = None
        self._table_shift = {shift: self._level_of(shift).va_hi + 1 for shift in (12, 16, 21, 29)}
        self._templates: dict[tuple[PteAperture, PteFlags], PteTemplate] = {}
        if cache_bytes is None:
            cache_bytes = DEFAULT_TABLE_CACHE if root is None else 0
        self.cache_bytes = max(0, cache_bytes)
        self._idle: dict[_Table, None] = {}  #: idle tables, oldest first
        self._idle_bytes = 0
        self._idle_lock = threading.Lock()
        self.closed = False
        root_level = self._dirs[0]
        self.external_root = root is not None
        if root is None:
            self.root = self._new_table(root_level, 0, None)
        else:
            if root & (max(root_level.align, 256) - 1) or root < 0:
                raise MmError(f"{name}: root table {root:#x} is not {max(root_level.align, 256):#x}-byte aligned")
            self.root = _Table(root_level, root, 0, None)
        self.invalidate_pdb = self.root.addr if invalidate_pdb is None else invalidate_pdb
        self._pinned: list[list[_Table]] = []

    # -- tables ---------------------------------------------------------------------------------

    @property
    def pdb(self) -> int:
        """VRAM address of the root table (the page directory base)."""
        return self.root.addr

    @property
    def cached_tables(self) -> int:
        """Idle page tables kept for reuse (counted in :attr:`tables`)."""
        return len(self._idle)

    def _new_table(self, level: MmuLevel, index: int, half: str | None) -> _Table:
        size = level.table_size
        try:
            addr = self.allocator.alloc(size, align=max(level.align, 256), tag=f"{self.name} {level.name}")
        except MmError as exc:
            raise _NoRoomForTable(str(exc)) from None
        try:
            for off in range(0, size, 4096):
                self.vram.write(addr + off, _ZERO_4K[:min(4096, size - off)])
        except BaseException:
            self.allocator.free(addr)
            raise
        with self._stats_lock:
            self.tables += 1
        return _Table(level, addr, index, half)

    def _write_dual(self, pd0: _Table, idx: int) -> None:
        """Rewrite PD0 entry ``idx`` from its children (caller holds ``pd0.lock``)."""
        big, small = pd0.big.get(idx), pd0.children.get(idx)
        value = self.fmt.dual_pde(None if big is None else (big.addr, PdeAperture.VIDEO_MEMORY),
                                  None if small is None else (small.addr, PdeAperture.VIDEO_MEMORY))
        self.vram.write(pd0.addr + idx * 16, value.to_bytes(16, "little"))

    def _acquire(self, va: int, shift: int, *, create: bool) -> list[_Table]:
        """Pin the tables from the root to the one holding ``va``'s entries of page ``shift``."""
        path = [self.root]
        node = self.root
        stop = len(self._dirs) - (2 if shift == 29 else 1)  # the directory that holds the PTE / the dual PDE
        try:
            for depth in range(stop):
                lvl = self._dirs[depth]
                idx = lvl.index(va)
                with node.lock:
                    if idx in node.huge:
                        raise MmError(f"{self.name}: VA {va:#x} is inside a {lvl.coverage:#x}-byte page at {lvl.name}")
                    child = node.children.get(idx)
                    if child is None:
                        if not create:
                            raise MmError(f"{self.name}: VA {va:#x}: no {self._dirs[depth + 1].name} table")
                        child = self._new_table(self._dirs[depth + 1], idx, None)
                        child.parent = node
                        node.children[idx] = child
                        node.count += 1
                        self.vram.write(node.addr + idx * 8, self.fmt.pde(child.addr).to_bytes(8, "little"))
                    elif not child.pins and not child.count:
                        self._unpark(child)
                    child.pins += 1
                path.append(child)
                node = child
            if shift in (12, 16):
                pd0 = node
                idx = self.geometry.pd0.index(va)
                big = shift == 16
                tables = pd0.big if big else pd0.children
                with pd0.lock:
                    if idx in pd0.huge:
                        raise MmError(f"{self.name}: VA {va:#x} is inside a 2 MiB page")
                    child = tables.get(idx)
                    if child is None:
                        if not create:
                            raise MmError(f"{self.name}: VA {va:#x}: no {'big' if big else 'small'} page table")
                        level = self.geometry.pt_big if big else self.geometry.pt_small
                        child = self._new_table(level, idx, "big" if big else "small")
                        child.parent = pd0
                        tables[idx] = child
                        pd0.count += 1
                        self._write_dual(pd0, idx)
                    elif not child.pins and not child.count:
                        self._unpark(child)
                    child.pins += 1
                path.append(child)
        except BaseException:
            self._release(path)
            raise
        return path

    def _release(self, path: list[_Table]) -> None:
        """Unpin ``path`` bottom-up; a table left empty becomes idle (or is freed, without a cache)."""
        for i in range(len(path) - 1, 0, -1):
            child, parent = path[i], path[i - 1]
            with parent.lock:
                child.pins -= 1
                if child.pins or child.count:
                    continue
                if self.cache_bytes:
                    self._park(child)
                else:
                    self._detach(parent, child)

    def _park(self, table: _Table) -> None:
        """``table`` (empty, unpinned; caller holds its parent's lock) joins the idle set."""
        with self._idle_lock:
            if table not in self._idle:
                self._idle[table] = None
                self._idle_bytes += table.level.table_size

    def _unpark(self, table: _Table) -> None:
        """``table`` is used again (caller holds its parent's lock)."""
        with self._idle_lock:
            if self._idle.pop(table, 0) is None:
                self._idle_bytes -= table.level.table_size

    def _detach(self, parent: _Table, child: _Table) -> None:
        """Unlink the empty ``child`` (caller holds ``parent.lock``); its VRAM is freed after the batch's invalidate."""
        if child.half == "big":
            del parent.big[child.index]
        else:
            del parent.children[child.index]
        parent.count -= 1
        if parent.level.dual:
            self._write_dual(parent, child.index)
        else:
            self.vram.write(parent.addr + child.index * 8, bytes(8))
        batch = self._batch()
        batch.frees.append(child.addr)
        batch.dirty = True
        with self._stats_lock:
            self.tables -= 1

    def _trim_idle(self, keep_bytes: int) -> None:
        """Free idle tables, oldest first, until at most ``keep_bytes`` of them are idle (inside a batch). A parent
        left empty becomes idle in turn (and may go too)."""
        while True:
            with self._idle_lock:
                if self._idle_bytes <= keep_bytes or not self._idle:
                    return
                table = next(iter(self._idle))
            parent = table.parent
            assert parent is not None  # invariant: only non-root tables are parked
            with parent.lock:
                with self._idle_lock:
                    if table not in self._idle:
                        continue  # used again meanwhile
                    del self._idle[table]
                    self._idle_bytes -= table.level.table_size
                self._detach(parent, table)
            grand = parent.parent
            if grand is not None:
                with grand.lock:  # parent's pins/count only leave 0 under this lock
                    siblings = grand.big if parent.half == "big" else grand.children
                    if not parent.pins and not parent.count and siblings.get(parent.index) is parent:
                        self._park(parent)

    def _level_of(self, shift: int) -> MmuLevel:
        if shift == 12:
            return self.geometry.pt_small
        if shift == 16:
            return self.geometry.pt_big
        return self.geometry.pd0 if shift == 21 else self.geometry.pd1

    @staticmethod
    def _values(run: Run, template: PteTemplate) -> npt.NDArray[np.uint64]:
        if run.pages is None:
            return template.run(run.pa, run.count, 1 << run.shift)
        return template.values(np.array(run.pages, dtype=np.uint64))

    def _template(self, aperture: PteAperture, flags: PteFlags) -> PteTemplate:
        key = (aperture, flags)
        t = self._templates.get(key)
        if t is None:
            t = self._templates[key] = self.fmt.pte_template(aperture, flags)
        return t

    def _write_run(self, run: Run, template: PteTemplate | None) -> None:
        """Write (``template``) or clear (``None``) the PTEs of ``run``."""
        path = self._acquire(run.va, run.shift, create=template is not None)
        try:
            table = path[-1]
            level = self._level_of(run.shift)
            idx = level.index(run.va)
            if template is None:
                data = bytes(run.count * level.entry_size)
            elif run.pages is not None and len(run.pages) <= _PACK_PAGES and not level.dual:
                data = template.pack(run.pages)  # a few scattered pages: no numpy set-up
            else:
                values = self._values(run, template)
                if level.dual:
                    pairs = np.zeros(run.count * 2, dtype=np.uint64)
                    pairs[0::2] = values
                    values = pairs
                data = values.astype("<u8", copy=False).tobytes()
            huge = run.shift in (21, 29)
            with table.lock:
                if huge and template is not None:
                    for i in range(idx, idx + run.count):  # idle tables where the pages go: freed
                        for child in (table.children.get(i), table.big.get(i)):
                            if child is not None and not child.pins and not child.count:
                                self._unpark(child)
                                self._detach(table, child)
                    clash = next((i for i in range(idx, idx + run.count) if i in table.children or i in table.big),
                                 None)
                    if clash is not None:
                        raise MmError(f"{self.name}: {level.name} entry {clash} still points to a page table; "
                                      f"cannot put a {1 << run.shift:#x}-byte page at VA {run.va:#x} there")
                self.vram.write(table.addr + idx * level.entry_size, data)
                if template is not None:
                    table.count += run.count
                    if huge:
                        table.huge.update(range(idx, idx + run.count))
                else:
                    table.count -= run.count
                    if table.count < 0:
                        raise MmError(f"{self.name}: {level.name} table {table.addr:#x} has a negative entry count "
                                      f"after unmapping {run.count} pages at {run.va:#x} (internal error)")
                    if huge:
                        table.huge.difference_update(range(idx, idx + run.count))
            with self._stats_lock:
                self.pte_writes += run.count
        finally:
            self._release(path)

    # -- batches --------------------------------------------------------------------------------

    def _batch(self) -> _Batch:
        b: _Batch | None = getattr(self._tls, "batch", None)
        if b is None:
            raise MmError(f"{self.name}: page-table change outside a batch (internal error)")
        return b

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group this thread's map/unmap/remap calls under one TLB invalidate (issued at the end)."""
        b: _Batch | None = getattr(self._tls, "batch", None)
        if b is not None:
            b.depth += 1
            try:
                yield
            finally:
                b.depth -= 1
            return
        b = self._tls.batch = _Batch()
        try:
            yield
        finally:
            self._tls.batch = None
            self._finish(b)

    def _finish(self, b: _Batch) -> None:
        """End of a batch: one TLB invalidate, then the tables emptied in it go back to the allocator (if the
        invalidate fails they stay allocated: the MMU may still hold PDEs that point to them)."""
        if b.dirty and self.invalidator is not None:
            self.invalidator.invalidate(self.invalidate_pdb, InvalidatePdbAperture.VID_MEM)
        for addr in b.frees:
            self.allocator.free(addr)
        if self._idle_bytes > self.cache_bytes:
            self.trim(self.cache_bytes)

    def trim(self, keep_bytes: int = 0) -> None:
        """Free idle page tables (all of them by default) now: their PDEs are cleared, the TLB invalidated, then
        their VRAM goes back to the allocator (inside a caller's batch, that batch's pending frees go too)."""
        b: _Batch | None = getattr(self._tls, "batch", None)
        if b is None:
            with self.batch():
                self._trim_idle(keep_bytes)
            return
        self._trim_idle(keep_bytes)
        if b.frees:  # flush: the memory must be free when this returns
            if self.invalidator is not None:
                self.invalidator.invalidate(self.invalidate_pdb, InvalidatePdbAperture.VID_MEM)
            b.dirty = False
            frees, b.frees = b.frees, []
            for addr in frees:
                self.allocator.free(addr)

    def close(self) -> None:
        """Unmap every mapping and free every page table - the pinned ones and the root included, unless the root
        is someone else's (then only this space's entries in it are cleared). The space is unusable after."""
        if self.closed:
            return
        with self.batch():
            for mp in self.mappings():
                self.unmap(mp.va, mp.size)
            pinned, self._pinned = self._pinned, []
            for path in pinned:
                self._release(path)
            self._trim_idle(0)
            if self.root.count:
                raise MmError(f"{self.name}: close: the root table still has {self.root.count} entries "
                              f"(internal error)")
            if not self.external_root:
                self._batch().frees.append(self.root.addr)
                self._batch().dirty = True
                with self._stats_lock:
                    self.tables -= 1
        self.closed = True

    # -- planning -------------------------------------------------------------------------------

    def _check_range(self, va: int, size: int, what: str) -> None:
        if not isinstance(va, int) or not isinstance(size, int) or size <= 0 or va & 0xFFF or size & 0xFFF:
            raise MmError(f"{self.name}: {what} [{va!r}, +{size!r}): VA and size must be 4 KiB aligned, size > 0")
        if va < self.va_start or va + size > self.va_end:
            raise MmError(f"{self.name}: {what} [{va:#x}, {va + size:#x}) is outside the VA range "
                          f"[{self.va_start:#x}, {self.va_end:#x})")

    def plan(self, va: int, segments: Sequence[Segment]) -> list[Run]:
        """The runs of pages mapping ``segments`` at ``va``: the largest page size alignment permits, grouped
        by page table (one run per table touched, even for scattered pages)."""
        if len(segments) > 1:
            pages = self._plan_pages(va, segments)
            if pages is not None:
                return pages
        return self._plan_walk(va, segments)

    def _plan_walk(self, va: int, segments: Sequence[Segment]) -> list[Run]:
        """:meth:`plan`'s general walk, segment by segment."""
        runs: list[Run] = []
        shifts = self.fmt.page_shifts
        table_shift = self._table_shift
        cur: _RunBuilder | None = None
        for seg in segments:
            if seg.length <= 0 or seg.length & 0xFFF or seg.addr & 0xFFF or seg.addr < 0:
                raise MmError(f"{self.name}: segment {seg.aperture.name} [{seg.addr:#x}, +{seg.length:#x}) is not "
                              f"made of whole 4 KiB pages")
            pa, rem, ap = seg.addr, seg.length, seg.aperture
            while rem:
                if rem == 4096 or (va | pa) & 0xFFFF:  # the common case of scattered 4 KiB pages
                    shift = 12
                else:
                    shift = next(s for s in shifts if not (va | pa) & ((1 << s) - 1) and rem >= 1 << s)
                count = rem >> shift
                for bigger in shifts if rem != 4096 else ():  # stop where a larger page becomes possible
                    if bigger <= shift or (va - pa) & ((1 << bigger) - 1):
                        continue
                    to_boundary = (-va) & ((1 << bigger) - 1)
                    if rem - to_boundary >= 1 << bigger:
                        count = min(count, to_boundary >> shift)
                ts = table_shift[shift]
                count = min(count, ((((va >> ts) + 1) << ts) - va) >> shift)  # stay inside one table
                key = va >> ts
                if cur is not None and cur.end == va and cur.key == key and cur.shift == shift and cur.aperture == ap:
                    cur.extend(pa, count)
                else:
                    if cur is not None:
                        runs.append(cur.run())
                    cur = _RunBuilder(va, pa, count, shift, ap, key)
                step = count << shift
                va += step
                pa += step
                rem -= step
        if cur is not None:
            runs.append(cur.run())
        return runs

    def _plan_pages(self, va: int, segments: Sequence[Segment]) -> list[Run] | None:
        """:meth:`plan` of segments that are all single 4 KiB pages of one aperture (an sg table of scattered
        pages): the same runs - 4 KiB pages, one run per page table, a run's ``pages`` None where its pages are
        contiguous - made without the general walk. ``None`` for any other list."""
        ap = segments[0].aperture
        addrs = []
        for seg in segments:
            if seg.length != 4096 or seg.aperture is not ap:
                return None
            addrs.append(seg.addr)
        if any(a & 0xFFF or a < 0 for a in addrs):
            return None  # (plan's general walk names the bad segment)
        ts = self._table_shift[12]
        runs = []
        i, n = 0, len(addrs)
        while i < n:
            count = min(n - i, ((((va >> ts) + 1) << ts) - va) >> 12)  # stay inside one table
            chunk = addrs[i:i + count]
            first = chunk[0]
            contiguous = chunk[-1] - first == (count - 1) << 12 and all(
                b - a == 4096 for a, b in itertools.pairwise(chunk))
            runs.append(Run(va, first, count, 12, ap, None if contiguous else tuple(chunk)))
            va += count << 12
            i += count
        return runs

    # -- mapping records ------------------------------------------------------------------------

    def _overlapping(self, va: int, end: int) -> list[Mapping]:
        i = bisect.bisect_left(self._starts, end)
        out = []
        while i > 0:
            i -= 1
            mp = self._maps[self._starts[i]]
            if mp.end <= va:
                break
            out.append(mp)
        return out[::-1]

    def _covering(self, va: int, size: int, what: str) -> list[Mapping]:
        end = va + size
        maps = self._overlapping(va, end)
        if not maps:
            raise MmError(f"{self.name}: {what} [{va:#x}, {end:#x}): nothing is mapped there")
        pos = va
        for mp in maps:
            if mp.va != pos or mp.end > end:
                if mp.va < va or mp.end > end:
                    raise MmError(f"{self.name}: {what} [{va:#x}, {end:#x}) cuts the mapping "
                                  f"[{mp.va:#x}, {mp.end:#x}); unmap whole mappings")
                raise MmError(f"{self.name}: {what} [{va:#x}, {end:#x}): [{pos:#x}, {mp.va:#x}) is not mapped")
            pos = mp.end
        if pos != end:
            raise MmError(f"{self.name}: {what} [{va:#x}, {end:#x}): [{pos:#x}, {end:#x}) is not mapped")
        return maps

    # -- public API -----------------------------------------------------------------------------

    def map(self, va: int, segments: Sequence[Segment], flags: PteFlags = DEFAULT_FLAGS) -> Mapping:
        """Map ``segments`` (physically contiguous pieces, in order) at ``va``.

        Raises:
            MmError: unaligned, outside the VA range, overlapping a mapping, or no VRAM for page tables (after
                the idle tables were freed and the map tried again).
            RegisterError: a field does not fit (an address beyond what the aperture reaches, a bad kind).
        """
        try:
            return self._map(va, segments, flags)
        except _NoRoomForTable:
            if not self._idle:
                raise
        self.trim()  # VRAM pressure: the idle tables go, then once more
        try:
            return self._map(va, segments, flags)
        except _NoRoomForTable:
            self.trim()  # what the failed attempt left idle
            raise

    def _map(self, va: int, segments: Sequence[Segment], flags: PteFlags) -> Mapping:
        if self.closed:
            raise MmError(f"{self.name}: the address space is closed")
        segs = tuple(segments)
        size = sum(s.length for s in segs)
        self._check_range(va, size, "map")
        with _Op(self, va, va + size):
            with self._meta:
                other = self._overlapping(va, va + size)
            if other:
                o = other[0]
                raise MmError(f"{self.name}: map [{va:#x}, {va + size:#x}) overlaps the mapping "
                              f"[{o.va:#x}, {o.end:#x})")
            runs = self.plan(va, segs)
            templates = {ap: self._template(ap, flags) for ap in {r.aperture for r in runs}}
            done: list[Run] = []
            try:
                for run in runs:
                    self._write_run(run, templates[run.aperture])
                    done.append(run)
            except BaseException:
                for run in reversed(done):
                    self._write_run(run, None)
                raise
            finally:
                if done:
                    self._batch().dirty = True
            mapping = Mapping(va, size, segs, flags, tuple(runs))
            with self._meta:
                bisect.insort(self._starts, va)
                self._maps[va] = mapping
        return mapping

    def map_vram(self, va: int, phys: int, size: int, flags: PteFlags = DEFAULT_FLAGS) -> Mapping:
        """Map ``size`` bytes of VRAM at ``phys``."""
        return self.map(va, vram_segments(phys, size), flags)

    def map_sys(self, va: int, memory: object, flags: PteFlags = DEFAULT_FLAGS, *, coherent: bool = True) -> Mapping:
        """Map system memory: an sg table (read-only for the GPU if the table says so), a DMA buffer, or pairs."""
        if getattr(memory, "device_writable", True) is False and not flags.read_only:
            flags = dataclasses.replace(flags, read_only=True)
        return self.map(va, sys_segments(memory, coherent=coherent), flags)

    def unmap(self, va: int, size: int) -> list[Mapping]:
        """Unmap ``[va, va + size)``, which must be exactly one or more whole mappings; returns them."""
        self._check_range(va, size, "unmap")
        with _Op(self, va, va + size):
            with self._meta:
                maps = self._covering(va, size, "unmap")
            try:
                for mp in maps:
                    for run in reversed(mp.runs):
                        self._write_run(run, None)
            finally:
                self._batch().dirty = True
                with self._meta:
                    for mp in maps:
                        del self._starts[bisect.bisect_left(self._starts, mp.va)]
                        del self._maps[mp.va]
        return maps

    def remap(self, va: int, segments: Sequence[Segment], flags: PteFlags | None = None) -> Mapping:
        """Point the existing mapping at ``va`` to new memory (same size); PTEs are rewritten in place when the
        page layout allows, so the range never reads as unmapped in between."""
        segs = tuple(segments)
        size = sum(s.length for s in segs)
        self._check_range(va, size, "remap")
        with _Op(self, va, va + size):
            with self._meta:
                old = self._covering(va, size, "remap")
            if len(old) != 1:
                raise MmError(f"{self.name}: remap [{va:#x}, {va + size:#x}) spans {len(old)} mappings; remap one")
            prev = old[0]
            flags = prev.flags if flags is None else flags
            runs = self.plan(va, segs)
            templates = {ap: self._template(ap, flags) for ap in {r.aperture for r in runs}}
            same = [(r.va, r.count, r.shift) for r in runs] == [(r.va, r.count, r.shift) for r in prev.runs]
            self._batch().dirty = True
            if same:
                for run in runs:
                    self._overwrite(run, templates[run.aperture])
            else:
                for run in reversed(prev.runs):
                    self._write_run(run, None)
                for run in runs:
                    self._write_run(run, templates[run.aperture])
            mapping = Mapping(va, size, segs, flags, tuple(runs))
            with self._meta:
                self._maps[va] = mapping
        return mapping

    def _overwrite(self, run: Run, template: PteTemplate) -> None:
        path = self._acquire(run.va, run.shift, create=False)
        try:
            level = self._level_of(run.shift)
            values = self._values(run, template)
            if level.dual:
                pairs = np.zeros(run.count * 2, dtype=np.uint64)
                pairs[0::2] = values
                values = pairs
            self.vram.write(path[-1].addr + level.index(run.va) * level.entry_size,
                            values.astype("<u8", copy=False).tobytes())
            with self._stats_lock:
                self.pte_writes += run.count
        finally:
            self._release(path)

    # -- pinned tables --------------------------------------------------------------------------

    def pin_tables(self, va: int) -> list[int]:
        """Create the directories down to the PD0 holding ``va`` and keep them while the space lives, mapped or
        not (nouveau ``nvkm_vmm_boot`` builds BAR2's tables up front); returns their VRAM addresses, root first."""
        self._check_range(va & ~0xFFF, 4096, "pin")
        with self.batch():
            path = self._acquire(va, 21, create=True)
        self._pinned.append(path)
        return [t.addr for t in path]

    # -- VA allocation --------------------------------------------------------------------------

    @property
    def va_allocator(self) -> RangeAllocator:
        """The allocator of free VA in this space (4 KiB granularity)."""
        if self._va_alloc is None:
            with self._meta:
                if self._va_alloc is None:
                    self._va_alloc = RangeAllocator(self.va_end - self.va_start, base=self.va_start,
                                                    granularity=4096, name=f"{self.name} va")
        return self._va_alloc

    def valloc(self, size: int, *, align: int | None = None) -> int:
        """Reserve ``size`` bytes of VA, aligned for the largest page that fits in ``size`` by default."""
        if align is None:
            align = next((1 << s for s in self.fmt.page_shifts if size >= 1 << s), 4096)
        return self.va_allocator.alloc(size, align=align, tag="va")

    def vfree(self, va: int) -> None:
        """Release a VA range from :meth:`valloc` (it must not be mapped any more)."""
        a = self.va_allocator.allocation(va)
        with self._meta:
            live = self._overlapping(a.start, a.end)
        if live:
            raise MmError(f"{self.name}: vfree of [{a.start:#x}, {a.end:#x}): still mapped at "
                          f"[{live[0].va:#x}, {live[0].end:#x})")
        self.va_allocator.free(va)

    # -- queries --------------------------------------------------------------------------------

    def mappings(self) -> list[Mapping]:
        with self._meta:
            return [self._maps[s] for s in self._starts]

    def lookup(self, va: int) -> Mapping | None:
        """The mapping containing ``va`` (from the driver's records)."""
        with self._meta:
            found = self._overlapping(va, va + 1)
        return found[0] if found else None

    def _read_entry(self, table: int, level: MmuLevel, idx: int) -> tuple[int, int]:
        at = table + idx * level.entry_size
        return at, int.from_bytes(self.vram.read(at, level.entry_size), "little")

    def walk(self, va: int) -> Translation:
        """Walk ``va`` through the tables *in VRAM* (not the driver's records), level by level."""
        if not self.va_start <= va < self.va_end:
            raise MmError(f"{self.name}: VA {va:#x} is outside [{self.va_start:#x}, {self.va_end:#x})")
        steps: list[WalkStep] = []
        table = self.pdb
        fmt = self.fmt

        def done(info: EntryInfo, level: MmuLevel) -> Translation:
            size = level.coverage
            return Translation(va, tuple(steps), info.address + (va & (size - 1)), PteAperture(info.aperture), size)

        for level in self._dirs:
            idx = level.index(va)
            at, raw = self._read_entry(table, level, idx)
            info = fmt.decode(level, raw)
            steps.append(WalkStep(level.name, table, idx, at, raw, info, level.entry_size))
            if info.kind == "invalid":
                return Translation(va, tuple(steps), fault=f"{level.name} entry {idx} is invalid")
            if info.kind == "pte":
                return done(info, level)
            if not level.dual:
                if info.aperture != PdeAperture.VIDEO_MEMORY:
                    return Translation(va, tuple(steps), fault=f"{level.name} points to a table outside VRAM")
                table = info.address
                continue
            big, small = fmt.dual_halves(raw)
            if big is not None:
                lvl = self.geometry.pt_big
                i = lvl.index(va)
                at, raw = self._read_entry(big[0], lvl, i)
                pinfo = fmt.decode(lvl, raw)
                steps.append(WalkStep(lvl.name, big[0], i, at, raw, pinfo))
                if pinfo.kind == "pte":
                    return done(pinfo, lvl)
                if _ignores_small(fmt, raw):
                    return Translation(va, tuple(steps), fault="big PTE is invalid and tells the MMU to ignore the "
                                                               "small page table")
                if small is None:
                    return Translation(va, tuple(steps), fault=f"PT_BIG entry {i} is invalid and there is no "
                                                               f"small page table")
            if small is not None:
                lvl = self.geometry.pt_small
                i = lvl.index(va)
                at, raw = self._read_entry(small[0], lvl, i)
                pinfo = fmt.decode(lvl, raw)
                steps.append(WalkStep(lvl.name, small[0], i, at, raw, pinfo))
                if pinfo.kind == "pte":
                    return done(pinfo, lvl)
                return Translation(va, tuple(steps), fault=f"PT_SMALL entry {i} is invalid")
            return Translation(va, tuple(steps), fault="no valid page table for this VA under PD0")
        raise MmError(f"{self.name}: walk of {va:#x} ran past the last level (internal error)")  # pragma: no cover

    def __repr__(self) -> str:
        return (f"<Vmm {self.name} v{self.fmt.version} pdb={self.pdb:#x} mappings={len(self._maps)} "
                f"tables={self.tables}>")


def _ignores_small(fmt: MmuFormat, raw: int) -> bool:
    """An invalid big PTE that tells the MMU not to look at the small PTEs (v2: PRIVILEGE; v3: PCF 3)."""
    if fmt.version == 2:
        return bool(raw & (1 << 5))
    return (raw >> 3) & 0x1F == 3
