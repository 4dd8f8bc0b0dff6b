"""nova_core.sim.models.mmu: the simulated GPU MMU: page-table walks, TLBs, and the TLB-invalidate register.

The walker is the sim's own code (it imports only the *facts* of :mod:`nova_core.regs.mmu`: field positions and
level geometry, never the driver's ``nova_core.mm``), so a driver that builds tables wrongly is caught by a
reader that did not share its mistakes. It walks MMU v2 (Turing-Ada) or v3 (Hopper, Blackwell) by the chip's
architecture, from a page directory base in VRAM (or IOMMU-mapped system memory), and refuses - logged,
:class:`~nova_core.errors.SimViolation` - what the hardware would fault on: an invalid entry, a table or
page outside VRAM, a PTE where the level cannot hold one (512 MiB pages on Turing), a peer aperture (no peers
here), an INVALID kind, a write through a read-only PTE, a VA beyond the address limit.

Dual PDE semantics (nouveau ``gp100_vmm_lpt_invalid``/``gh100_vmm_lpt_invalid``): the big-page table is looked
at first; a valid big PTE wins; an invalid big PTE with PRIVILEGE (v2) or PCF NO_VALID_4KB_PAGE (v3) faults
without looking at the small table; any other invalid big PTE falls through to the small-page table.

TLBs: clients (the BAR2 model) register a :class:`SimTlb`. A translation cached there must stay what the tables
say until an invalidate covering its page directory completes; a client that finds the tables changed under
a cached translation reports it as a missing TLB invalidate (real hardware would silently use the stale one).

``NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE``: writing TRIGGER starts an invalidate of the PDB in
``MMU_INVALIDATE_PDB``/``_UPPER_PDB`` (or of all, with ALL_PDB); TRIGGER reads 1 for
:data:`INVALIDATE_LATENCY_NS` of virtual time, then the TLBs are flushed and TRIGGER reads 0. Refused: a write
without TRIGGER, a write while the previous invalidate is still pending, a PDB outside memory. Every
completed invalidate is recorded in :attr:`SimMmu.invalidates` (the latest :data:`INVALIDATE_RECORDS`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...engines.facts import MmuFaultType
from ...errors import SimViolation
from ...gpu.chips import Architecture
from ...regs import mmu as f
from ...regs.mmu import (
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE,
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB,
    NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB,
    MmuGeometry,
)

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "mmu"
ORDER = 50

INVALIDATE_LATENCY_NS = 1_000  #: how long TRIGGER stays set (virtual time)
INVALIDATE_RECORDS = 100_000  #: completed invalidates kept (the oldest dropped beyond, as the sim log does)

# aperture codes of the walker (its own, independent of the PDE/PTE enums' meaning)
VID, SYS = "vid", "sys"


@dataclass(frozen=True)
class InvalidateRecord:
    """One completed TLB invalidate."""

    time_ns: int
    value: int
    pdb: int | None  #: None when ALL_PDB
    pdb_sysmem: bool
    all_va: bool
    hub_only: bool


@dataclass(frozen=True)
class Walked:
    """Where a VA lands: memory, address of the page, the page size, read-only."""

    space: str
    page: int
    page_size: int
    read_only: bool

    def addr(self, va: int) -> int:
        return self.page + (va & (self.page_size - 1))


class MmuFault(SimViolation):
    """A translation the MMU refuses: ``reason`` is the hardware fault type (FAULT_TYPE), ``va`` the address."""

    def __init__(self, msg: str, reason: MmuFaultType, va: int | None) -> None:
        super().__init__(msg)
        self.reason = reason
        self.va = va


class SimTlb:
    """A client's cache of translations; flushed by invalidates of its page directory."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pdb: int | None = None
        self.entries: dict[int, Walked] = {}  # VA of the 4 KiB page -> translation
        self.flushes = 0

    def flush(self) -> None:
        self.entries.clear()
        self.flushes += 1


class SimMmu:
    """The MMU model: ``walk`` for clients, invalidate handling on BAR0."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        arch = gpu.chipset.architecture
        v3 = arch in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
        self.version = 3 if v3 else 2
        self.geometry: MmuGeometry = f.MMU_V3 if v3 else f.MMU_V2
        self.huge_512m = arch is not Architecture.TURING
        self.invalidates: deque[InvalidateRecord] = deque(maxlen=INVALIDATE_RECORDS)
        self.tlbs: list[SimTlb] = []
        self._pending: int | None = None
        self._listeners: list[Callable[[InvalidateRecord], None]] = []
        gpu.bar0.on_write(NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE.addr(), self._on_invalidate)

    # -- refusals ---------------------------------------------------------------------------------

    def _refuse(self, msg: str) -> SimViolation:
        self.gpu.log.error("mmu", msg)
        return SimViolation(f"simulated MMU refused: {msg}")

    def fault(self, msg: str, reason: MmuFaultType = MmuFaultType.INVALID_PTE, va: int | None = None) -> MmuFault:
        """An MMU fault of type ``reason`` at ``va`` (logged); the caller raises it."""
        self.gpu.log.error("mmu", f"MMU fault: {msg}")
        return MmuFault(f"simulated MMU refused: MMU fault: {msg}", reason, va)

    # -- invalidate -------------------------------------------------------------------------------

    def _on_invalidate(self, offset: int, value: int) -> None:
        reg = NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE
        if self._pending is not None:
            err = self._refuse(f"MMU_INVALIDATE {value:#010x} written while the previous invalidate "
                               f"({self._pending:#010x}) is still pending (TRIGGER reads 1)")
            if self.gpu.bar0.strict:
                raise err
            return
        if not reg.trigger.get(value):
            err = self._refuse(f"MMU_INVALIDATE {value:#010x} written without TRIGGER: no invalidate happens")
            if self.gpu.bar0.strict:
                raise err
            return
        pdb: int | None = None
        sysmem = False
        if not reg.all_pdb.get(value):
            pdb_reg = NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB
            upper = NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB
            lo = self.gpu.bar0.peek(pdb_reg.addr())
            hi = self.gpu.bar0.peek(upper.addr())
            pdb = (pdb_reg.addr_.get(lo) << 12) | (upper.addr_.get(hi) << 40)
            sysmem = bool(pdb_reg.aperture.get(lo))
            problem = self._memory_problem(SYS if sysmem else VID, pdb, 4096)
            if problem:
                err = self._refuse(f"MMU_INVALIDATE of PDB {pdb:#x}: {problem}")
                if self.gpu.bar0.strict:
                    raise err
                return
        self.gpu.bar0.poke(offset, value)
        self._pending = value
        rec = InvalidateRecord(0, value, pdb, sysmem, bool(reg.all_va.get(value)), bool(reg.hubtlb_only.get(value)))
        self.gpu.clock.call_later(INVALIDATE_LATENCY_NS, lambda: self._complete(rec))

    def _complete(self, rec: InvalidateRecord) -> None:
        with self.gpu.clock.lock:
            rec = InvalidateRecord(self.gpu.clock.now(), rec.value, rec.pdb, rec.pdb_sysmem, rec.all_va, rec.hub_only)
            for tlb in self.tlbs:
                if rec.pdb is None or tlb.pdb is None or tlb.pdb == rec.pdb:
                    tlb.flush()
            self.invalidates.append(rec)
            self.gpu.bar0.poke(NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE.addr(),
                               NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE.trigger.put(rec.value, 0))
            self._pending = None
        self.gpu.log.debug("mmu", f"TLB invalidate {rec.value:#010x} of "
                                  f"{'all PDBs' if rec.pdb is None else f'PDB {rec.pdb:#x}'} done")

    # -- memory -----------------------------------------------------------------------------------

    def _memory_problem(self, space: str, addr: int, length: int) -> str | None:
        if space == VID:
            size = self.gpu.vram.size
            if addr < 0 or addr + length > size:
                return f"[{addr:#x}, {addr + length:#x}) is outside VRAM ({size:#x} bytes)"
            return None
        if self.gpu.sysmem.find(addr) is None:
            return f"system memory at bus {addr:#x} is not mapped by the IOMMU"
        return None

    def read(self, space: str, addr: int, length: int) -> bytes:
        problem = self._memory_problem(space, addr, length)
        if problem:
            raise self.fault(problem)
        if space == VID:
            return self.gpu.vram.read(addr, length)
        return self.gpu.sysmem.read(addr, length, who="mmu")

    def write(self, space: str, addr: int, data: bytes) -> None:
        problem = self._memory_problem(space, addr, len(data))
        if problem:
            raise self.fault(problem)
        if space == VID:
            self.gpu.vram.write(addr, data)
        else:
            self.gpu.sysmem.write(addr, data, who="mmu")

    # -- the walker -------------------------------------------------------------------------------

    def _entry(self, space: str, table: int, level: f.MmuLevel, va: int) -> int:
        idx = (va >> level.va_lo) & ((1 << (level.va_hi - level.va_lo + 1)) - 1)
        return int.from_bytes(self.read(space, table + idx * level.entry_size, level.entry_size), "little")

    def _pde_target(self, raw: int, name: str, va: int) -> tuple[str, int]:
        """(space, table address) a PDE points to."""
        if self.version == 2:
            ap = f.NV_MMU_VER2_PDE.aperture.get(raw)
            if ap == f.PdeAperture.VIDEO_MEMORY:
                if f.NV_MMU_VER2_PDE_VID.address_vid_peer.get(raw):
                    raise self.fault(f"VA {va:#x}: {name} PDE {raw:#018x} has peer bits set on a video-memory table",
                                     MmuFaultType.INVALID_PDE, va)
                return VID, f.NV_MMU_VER2_PDE_VID.address_vid.get(raw) << 12
            return SYS, f.NV_MMU_VER2_PDE.address_sys.get(raw) << 12
        ap = f.NV_MMU_VER3_PDE.aperture.get(raw)
        return (VID if ap == f.PdeAperture.VIDEO_MEMORY else SYS), f.NV_MMU_VER3_PDE.address.get(raw) << 12

    def _dual_half(self, raw: int, half: str) -> tuple[str, int] | None:
        if self.version == 2:
            common = f.NV_MMU_VER2_DUAL_PDE_COMMON
            ap = common.field(f"aperture_{half}").get(raw)
            if ap == f.PdeAperture.INVALID:
                return None
            shift = 8 if half == "big" else 12
            if ap == f.PdeAperture.VIDEO_MEMORY:
                return VID, f.NV_MMU_VER2_DUAL_PDE_VID.field(f"address_{half}_vid").get(raw) << shift
            return SYS, f.NV_MMU_VER2_DUAL_PDE.field(f"address_{half}_sys").get(raw) << shift
        dual = f.NV_MMU_VER3_DUAL_PDE
        ap = dual.field(f"aperture_{half}").get(raw)
        if ap == f.PdeAperture.INVALID:
            return None
        addr = dual.field(f"address_{half}").get(raw) << (8 if half == "big" else 12)
        return (VID if ap == f.PdeAperture.VIDEO_MEMORY else SYS), addr

    def _pte(self, raw: int, size: int, name: str, va: int, write: bool) -> Walked:
        if self.version == 2:
            ap = f.NV_MMU_VER2_PTE.aperture.get(raw)
            kind = f.NV_MMU_VER2_PTE.kind.get(raw)
            ro = bool(f.NV_MMU_VER2_PTE.read_only.get(raw))
            if ap == f.PteAperture.VIDEO_MEMORY:
                if f.NV_MMU_VER2_PTE_VID.address_vid_peer.get(raw):
                    raise self.fault(f"VA {va:#x}: {name} PTE {raw:#018x} has peer bits set for video memory",
                                     MmuFaultType.UNSUPPORTED_APERTURE, va)
                space, page = VID, f.NV_MMU_VER2_PTE_VID.address_vid.get(raw) << 12
            else:
                space, page = SYS, f.NV_MMU_VER2_PTE.address_sys.get(raw) << 12
        else:
            ap = f.NV_MMU_VER3_PTE.aperture.get(raw)
            kind = f.NV_MMU_VER3_PTE.kind.get(raw)
            ro = bool(f.NV_MMU_VER3_PTE.pcf.get(raw) & f.PTE_PCF_READ_ONLY)
            if ap == f.PteAperture.VIDEO_MEMORY:
                space, page = VID, f.NV_MMU_VER3_PTE_VID.address_vid.get(raw) << 12
            else:
                space, page = SYS, f.NV_MMU_VER3_PTE.address_sys.get(raw) << 12
        if ap == f.PteAperture.PEER_MEMORY:
            raise self.fault(f"VA {va:#x}: {name} PTE {raw:#018x} targets peer memory (no peer GPU here)",
                             MmuFaultType.UNSUPPORTED_APERTURE, va)
        if kind == f.PteKind.INVALID:
            raise self.fault(f"VA {va:#x}: {name} PTE {raw:#018x} has kind INVALID", MmuFaultType.UNSUPPORTED_KIND, va)
        if page & (size - 1):
            raise self.fault(f"VA {va:#x}: {name} PTE {raw:#018x}: page {page:#x} is not aligned to its "
                             f"{size:#x}-byte size", MmuFaultType.INVALID_PTE, va)
        if write and ro:
            raise self.fault(f"VA {va:#x}: write through read-only {name} PTE {raw:#018x}", MmuFaultType.WRITE, va)
        problem = self._memory_problem(space, page, size) if space == VID else self._memory_problem(space, page, 1)
        if problem:
            raise self.fault(f"VA {va:#x}: {name} PTE {raw:#018x} maps {problem}", MmuFaultType.INVALID_PTE, va)
        return Walked(space, page, size, ro)

    def tables_under(self, space: str, table: int, depth: int, *, limit: int = 4096) -> list[tuple[str, str, int, int]]:
        """``(level, space, address, size)`` of ``table`` - a table of directory level ``depth`` (0 = the root) -
        and of every table its valid entries lead to, parents first; more than ``limit`` tables is a fault."""
        g = self.geometry
        v2 = self.version == 2
        out: list[tuple[str, str, int, int]] = []
        todo: list[tuple[f.MmuLevel, int | None, str, int]] = [(g.directories[depth], depth, space, table)]
        while todo:
            level, d, sp, addr = todo.pop()
            out.append((level.name, sp, addr, level.table_size))
            if len(out) > limit:
                raise self.fault(f"more than {limit} page tables under {sp} {table:#x}")
            if d is None:
                continue
            raw_table = self.read(sp, addr, level.table_size)
            for i in range(level.entries):
                raw = int.from_bytes(raw_table[i * level.entry_size:(i + 1) * level.entry_size], "little")
                if raw == 0 or raw & 1:  # empty, or a PTE (IS_PTE / a 2 MiB dual entry)
                    continue
                if level.dual:
                    for half, child in (("big", g.pt_big), ("small", g.pt_small)):
                        target = self._dual_half(raw, half)
                        if target is not None:
                            todo.append((child, None, target[0], target[1]))
                    continue
                ap = (f.NV_MMU_VER2_PDE.aperture if v2 else f.NV_MMU_VER3_PDE.aperture).get(raw)
                if ap != f.PdeAperture.INVALID:
                    csp, caddr = self._pde_target(raw, level.name, 0)
                    todo.append((g.directories[d + 1], d + 1, csp, caddr))
        return out

    def walk(self, pdb: int, va: int, *, pdb_sysmem: bool = False, write: bool = False) -> Walked:
        """Translate ``va`` through the tables rooted at ``pdb``; raise the fault (logged) if it does not map."""
        g = self.geometry
        if not 0 <= va < 1 << g.va_bits:
            raise self.fault(f"VA {va:#x} is beyond the {g.va_bits}-bit VA space", MmuFaultType.LIMIT_VIOLATION, va)
        space, table = (SYS if pdb_sysmem else VID), pdb
        v2 = self.version == 2
        for level in g.directories:
            raw = self._entry(space, table, level, va)
            if level.entry_size == 16:
                if raw & 1:
                    return self._pte(raw & ((1 << 64) - 1), 1 << 21, level.name, va, write)
                big = self._dual_half(raw, "big")
                small = self._dual_half(raw, "small")
                if big is not None:
                    braw = self._entry(big[0], big[1], g.pt_big, va)
                    if braw & 1:
                        return self._pte(braw, 1 << 16, "PT_BIG", va, write)
                    ignore_small = bool(braw & (1 << 5)) if v2 else ((braw >> 3) & 0x1F) == 3
                    if ignore_small:
                        raise self.fault(f"VA {va:#x}: big PTE {braw:#018x} is invalid and hides the small PTEs",
                                         MmuFaultType.INVALID_PTE, va)
                if small is None:
                    if big is None:
                        raise self.fault(f"VA {va:#x}: PD0 entry {raw:#034x} is invalid", MmuFaultType.INVALID_PDE, va)
                    raise self.fault(f"VA {va:#x}: big PTE is invalid and PD0 entry {raw:#034x} has no small table",
                                     MmuFaultType.INVALID_PTE, va)
                sraw = self._entry(small[0], small[1], g.pt_small, va)
                if not sraw & 1:
                    raise self.fault(f"VA {va:#x}: PT_SMALL entry {sraw:#018x} is invalid", MmuFaultType.INVALID_PTE,
                                     va)
                return self._pte(sraw, 1 << 12, "PT_SMALL", va, write)
            if raw & 1:
                if level.pte_shift is None or (level.va_lo == 29 and not self.huge_512m):
                    raise self.fault(f"VA {va:#x}: {level.name} entry {raw:#018x} has IS_PTE set, but this level "
                                     f"cannot hold a PTE on {self.gpu.chipset.name}", MmuFaultType.INVALID_PDE_SIZE, va)
                return self._pte(raw, 1 << level.va_lo, level.name, va, write)
            ap = (f.NV_MMU_VER2_PDE.aperture if v2 else f.NV_MMU_VER3_PDE.aperture).get(raw)
            if ap == f.PdeAperture.INVALID:
                raise self.fault(f"VA {va:#x}: {level.name} entry {raw:#018x} is invalid", MmuFaultType.INVALID_PDE, va)
            space, table = self._pde_target(raw, level.name, va)
        raise self.fault(f"VA {va:#x}: walk ran past PD0")  # pragma: no cover - PD0 always ends the walk


def attach(gpu: SimGpu) -> SimMmu:
    return SimMmu(gpu)
