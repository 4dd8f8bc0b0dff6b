"""nova_core.sim.engines.memory: how a simulated engine reaches memory - through a channel's VA space, or physically.

:class:`EngineMemory` translates a channel's GPU virtual addresses with the simulated MMU's own walker
(:meth:`nova_core.sim.models.mmu.SimMmu.walk`, from the page directory the channel's instance block names), one
walk per page, and merges pages that are physically contiguous into *runs* ``(space, address, length)``: a copy
of a buffer mapped with 2 MiB pages costs one walk per 2 MiB. Bulk data moves between runs with memoryviews
(system memory: :meth:`~nova_core.sim.memory.SimSystemMemory.view`, IOMMU-checked; VRAM:
:meth:`~nova_core.sim.memory.SparseMemory.read_into`/``write``), never byte by byte.

Translations are cached in the channel's :class:`~nova_core.sim.models.mmu.SimTlb` (registered with the MMU, so
an MMU invalidate of the channel's page directory flushes it - a driver that changes page tables without one
keeps getting the old translation, as on hardware).

A translation the MMU refuses raises its :class:`~nova_core.sim.models.mmu.MmuFault` (fault type and VA); an
access outside VRAM or to system memory the IOMMU does not map raises
:class:`~nova_core.errors.SimViolation`. The engines turn both into a channel error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...engines.facts import MmuFaultType
from ...errors import SimViolation
from ..models.mmu import SYS, VID, MmuFault, SimMmu, SimTlb, Walked

if TYPE_CHECKING:
    from ..gpu import SimGpu

Run = tuple[str, int, int]  #: (space "vid"/"sys", address, length)
_STAGE = 1 << 20  #: VRAM-to-VRAM copies go through a bounce buffer of this size


class EngineMemory:
    """Memory as one engine of one channel sees it.

    Args:
        gpu: the simulated GPU.
        pdb: the channel's page directory base (from its instance block); ``None`` for physical access only.
        pdb_sys: the page directory is in system memory.
        va_limit: the highest VA the instance block allows (``NV_RAMIN_ADR_LIMIT``).
        who: names the engine in logs and IOMMU faults.
    """

    def __init__(self, gpu: SimGpu, pdb: int | None, *, pdb_sys: bool = False, va_limit: int | None = None,
                 who: str = "engine", tlb: SimTlb | None = None) -> None:
        self.gpu = gpu
        mmu = gpu.models["mmu"]
        assert isinstance(mmu, SimMmu)
        self.mmu = mmu
        self.pdb = pdb
        self.pdb_sys = pdb_sys
        self.va_limit = va_limit
        self.who = who
        self.tlb = tlb
        self.walks = 0

    _SIZES = (1 << 12, 1 << 16, 1 << 21, 1 << 29)

    def translate(self, va: int, write: bool) -> Walked:
        """One page's translation: from the TLB, or walked (and cached)."""
        tlb = self.tlb
        if tlb is not None:
            entries = tlb.entries
            for size in self._SIZES:
                w = entries.get(va & ~(size - 1))
                if w is not None and w.page_size == size and not (write and w.read_only):
                    return w
        assert self.pdb is not None
        w = self.mmu.walk(self.pdb, va, pdb_sysmem=self.pdb_sys, write=write)
        self.walks += 1
        if tlb is not None:
            tlb.entries[va & ~(w.page_size - 1)] = w
        return w

    # -- translation ------------------------------------------------------------------------------

    def runs(self, va: int, length: int, *, write: bool) -> Iterator[Run]:
        """The physical runs behind ``[va, va + length)``, walking one page at a time."""
        if self.pdb is None:
            raise SimViolation(f"{self.who}: virtual access at {va:#x} with no page directory")
        if length <= 0:
            return
        if self.va_limit is not None and va + length - 1 > self.va_limit:
            bad = max(va, self.va_limit + 1)
            msg = (f"VA {bad:#x} is beyond the instance block's address limit {self.va_limit:#x} "
                   f"(access [{va:#x}, {va + length:#x}))")
            self.gpu.log.error("mmu", f"MMU fault: {msg}")
            raise MmuFault(f"simulated MMU refused: MMU fault: {msg}", MmuFaultType.LIMIT_VIOLATION, bad)
        pos = va
        end = va + length
        cur: list[int | str] | None = None  # [space, start, length]
        while pos < end:
            w = self.translate(pos, write)
            addr = w.addr(pos)
            n = min(end - pos, w.page + w.page_size - addr)
            if cur is not None and cur[0] == w.space and int(cur[1]) + int(cur[2]) == addr:
                cur[2] = int(cur[2]) + n
            else:
                if cur is not None:
                    yield str(cur[0]), int(cur[1]), int(cur[2])
                cur = [w.space, addr, n]
            pos += n
        if cur is not None:
            yield str(cur[0]), int(cur[1]), int(cur[2])

    def physical(self, space: str, addr: int, length: int) -> list[Run]:
        """A physical range as one run (checked against VRAM's size; system memory is checked on access)."""
        if space == VID and (addr < 0 or addr + length > self.gpu.vram.size):
            raise SimViolation(f"{self.who}: physical VRAM access [{addr:#x}, {addr + length:#x}) is outside the "
                               f"{self.gpu.vram.size:#x} bytes of VRAM")
        return [(space, addr, length)] if length > 0 else []

    # -- access -----------------------------------------------------------------------------------

    def _sys(self, addr: int, n: int, write: bool) -> memoryview:
        return self.gpu.sysmem.view(addr, n, who=self.who, write=write)

    def read_runs(self, runs: list[Run]) -> bytes:
        out = bytearray(sum(r[2] for r in runs))
        mv = memoryview(out)
        pos = 0
        for space, addr, n in runs:
            if space == VID:
                self.gpu.vram.read_into(addr, mv[pos:pos + n])
            else:
                mv[pos:pos + n] = self._sys(addr, n, False)
            pos += n
        return bytes(out)

    def write_runs(self, runs: list[Run], data: bytes | bytearray | memoryview) -> None:
        mv = memoryview(data).cast("B")
        pos = 0
        for space, addr, n in runs:
            if space == VID:
                self.gpu.vram.write(addr, mv[pos:pos + n])
            else:
                self._sys(addr, n, True)[:] = mv[pos:pos + n]
            pos += n

    def read(self, va: int, length: int) -> bytes:
        return self.read_runs(list(self.runs(va, length, write=False)))

    def write(self, va: int, data: bytes | bytearray | memoryview) -> None:
        self.write_runs(list(self.runs(va, len(data), write=True)), data)

    def read_phys(self, space: str, addr: int, length: int) -> bytes:
        return self.read_runs(self.physical(space, addr, length))

    def write_phys(self, space: str, addr: int, data: bytes | bytearray | memoryview) -> None:
        self.write_runs(self.physical(space, addr, len(data)), data)

    def copy(self, dst: list[Run], src: list[Run]) -> int:
        """Move ``sum(src lengths)`` bytes from the ``src`` runs to the ``dst`` runs (equal totals); returns it."""
        total = sum(r[2] for r in src)
        if total != sum(r[2] for r in dst):
            raise SimViolation(f"{self.who}: copy of {total:#x} bytes into {sum(r[2] for r in dst):#x}")
        di = si = 0
        doff = soff = 0
        vram = self.gpu.vram
        stage: bytearray | None = None
        while si < len(src):
            sspace, saddr, slen = src[si]
            dspace, daddr, dlen = dst[di]
            n = min(slen - soff, dlen - doff)
            s, d = saddr + soff, daddr + doff
            if sspace == SYS and dspace == SYS:
                self._sys(d, n, True)[:] = self._sys(s, n, False)
            elif sspace == SYS:
                vram.write(d, self._sys(s, n, False))
            elif dspace == SYS:
                vram.read_into(s, self._sys(d, n, True))
            else:
                if stage is None:
                    stage = bytearray(min(n, _STAGE))
                done = 0
                while done < n:
                    k = min(n - done, len(stage))
                    view = memoryview(stage)[:k]
                    vram.read_into(s + done, view)
                    vram.write(d + done, view)
                    done += k
            soff += n
            doff += n
            if soff == slen:
                si, soff = si + 1, 0
            if doff == dlen:
                di, doff = di + 1, 0
        return total

    def fill(self, dst: list[Run], pattern: bytes) -> None:
        """Fill the ``dst`` runs with ``pattern`` repeated (its length divides every run's offset)."""
        if not pattern:
            raise SimViolation(f"{self.who}: fill with an empty pattern")
        chunk = pattern * max(1, (1 << 16) // len(pattern))
        done = 0
        for space, addr, n in dst:
            pos = 0
            while pos < n:
                k = min(n - pos, len(chunk))
                rot = (done + pos) % len(pattern)
                piece = (chunk[rot:] + chunk[:rot])[:k] if rot else chunk[:k]
                if space == VID:
                    self.gpu.vram.write(addr + pos, piece)
                else:
                    self._sys(addr + pos, k, True)[:] = piece
                pos += k
            done += n
