"""nova_core.sim.memory: simulated system memory (behind an IOMMU) and simulated VRAM.

:class:`SimSystemMemory` is the simulated GPU's ``DmaAllocator``: every buffer gets a bus address in
a private IOVA space (by default starting at 4 GiB, so that a driver truncating addresses to 32 bits
is caught) with an unmapped guard page after it. Simulated engines reach system memory only through
:meth:`SimSystemMemory.view`/``read``/``write`` by bus address; an access to an unmapped, freed or
straddling range is refused with a :class:`~nova_core.errors.SimViolation`, as an IOMMU fault would.

:class:`SparseMemory` is VRAM: sized like the real board, allocated in 64 KiB chunks on first touch, so
a 24 GiB AD102 costs only what the test writes. Never-written VRAM reads as zero.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from ..errors import DmaError, SimViolation
from ..hw.dma import PAGE_SIZE, DmaBuffer, check_alloc_args
from .log import SimLog


@dataclass
class _Mapping:
    bus: int
    size: int
    buf: DmaBuffer
    foreign: bool


class SimSystemMemory:
    """Simulated host memory behind an IOMMU: the sim's :class:`~nova_core.hw.dma.DmaAllocator`."""

    def __init__(self, log: SimLog, *, base: int = 1 << 32, limit: int = 1 << 47,
                 max_bytes: int = 8 << 30) -> None:
        self._log = log
        self._next = base
        self._limit = limit
        self._max_bytes = max_bytes
        self._starts: list[int] = []
        self._maps: list[_Mapping] = []
        self._lock = threading.Lock()
        self.allocated_bytes = 0

    # -- DmaAllocator -----------------------------------------------------------------------------

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "") -> DmaBuffer:
        check_alloc_args(size, align, "sim sysmem")
        rounded = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        if self.allocated_bytes + rounded > self._max_bytes:
            raise DmaError(
                f"sim sysmem: cannot allocate {name!r} ({size:#x} bytes): {self.allocated_bytes:#x} of "
                f"{self._max_bytes:#x} bytes already in use"
            )
        view = memoryview(bytearray(rounded))[:size]
        return self._map(view, size, align, name, foreign=False)

    def free(self, buf: DmaBuffer) -> None:
        with self._lock:
            i = bisect.bisect(self._starts, buf.bus_addr) - 1
            if i < 0 or self._maps[i].buf is not buf:
                raise DmaError(
                    f"sim sysmem: free of {buf.name!r} at bus {buf.bus_addr:#x}: not allocated here "
                    f"(double free?)"
                )
            m = self._maps.pop(i)
            self._starts.pop(i)
            if not m.foreign:
                self.allocated_bytes -= (m.size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
        buf.mark_freed()
        self._log.debug("sysmem", f"unmapped {buf.name!r} bus {buf.bus_addr:#x}+{buf.size:#x}")

    # -- foreign memory -------------------------------------------------------------------------

    def map_foreign(self, memory: memoryview | bytearray, *, name: str = "") -> DmaBuffer:
        """Map memory the driver does not own (a caller's buffer) without copying it."""
        view = memoryview(memory).cast("B")
        if view.nbytes == 0:
            raise DmaError(f"sim sysmem: cannot map empty foreign buffer {name!r}")
        return self._map(view, view.nbytes, PAGE_SIZE, name, foreign=True)

    def _map(self, view: memoryview, size: int, align: int, name: str, *, foreign: bool) -> DmaBuffer:
        with self._lock:
            bus = (self._next + align - 1) & ~(align - 1)
            span = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
            if bus + span > self._limit:
                raise DmaError(f"sim sysmem: IOVA space exhausted mapping {name!r} ({size:#x} bytes)")
            self._next = bus + span + PAGE_SIZE  # guard page: overruns fault
            buf = DmaBuffer(view, bus, name)
            i = bisect.bisect(self._starts, bus)
            self._starts.insert(i, bus)
            self._maps.insert(i, _Mapping(bus, size, buf, foreign))
            if not foreign:
                self.allocated_bytes += span
        self._log.debug("sysmem", f"mapped {name!r} at bus {bus:#x}+{size:#x}")
        return buf

    # -- device side ----------------------------------------------------------------------------

    def find(self, bus_addr: int) -> DmaBuffer | None:
        """The live buffer containing ``bus_addr``, if any."""
        with self._lock:
            i = bisect.bisect(self._starts, bus_addr) - 1
            if i >= 0:
                m = self._maps[i]
                if bus_addr < m.bus + m.size:
                    return m.buf
        return None

    def view(self, bus_addr: int, length: int, *, who: str = "device") -> memoryview:
        """A view of ``length`` bytes at ``bus_addr``, as a DMA engine reaches them.

        Raises:
            SimViolation: the range is not inside one live mapping (an IOMMU fault).
        """
        buf = self.find(bus_addr)
        if buf is None or bus_addr + length > buf.bus_addr + buf.size or length < 0:
            msg = f"{who}: DMA to unmapped bus address range [{bus_addr:#x}, {bus_addr + length:#x})"
            if buf is not None:
                msg += f" (runs past {buf.name!r} which ends at {buf.bus_addr + buf.size:#x})"
            self._log.error("iommu", msg)
            raise SimViolation(msg)
        start = bus_addr - buf.bus_addr
        return buf.view[start:start + length]

    def read(self, bus_addr: int, length: int, *, who: str = "device") -> bytes:
        return bytes(self.view(bus_addr, length, who=who))

    def write(self, bus_addr: int, data: bytes, *, who: str = "device") -> None:
        self.view(bus_addr, len(data), who=who)[:] = data

    def mappings(self) -> list[tuple[int, int, str]]:
        """``(bus, size, name)`` of every live mapping, in address order."""
        with self._lock:
            return [(m.bus, m.size, m.buf.name) for m in self._maps]


class SparseMemory:
    """Byte-addressed memory of a fixed size, materialised in 64 KiB chunks on first write."""

    CHUNK = 1 << 16

    def __init__(self, size: int, name: str = "vram") -> None:
        self.size = size
        self.name = name
        self._chunks: dict[int, bytearray] = {}
        self._lock = threading.Lock()

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > self.size:
            raise SimViolation(
                f"{self.name}: access [{addr:#x}, {addr + length:#x}) outside {self.size:#x} bytes"
            )

    def read(self, addr: int, length: int) -> bytes:
        self._check(addr, length)
        out = bytearray(length)
        pos = 0
        while pos < length:
            a = addr + pos
            idx, off = divmod(a, self.CHUNK)
            n = min(self.CHUNK - off, length - pos)
            chunk = self._chunks.get(idx)
            if chunk is not None:
                out[pos:pos + n] = chunk[off:off + n]
            pos += n
        return bytes(out)

    def write(self, addr: int, data: bytes | bytearray | memoryview) -> None:
        mv = memoryview(data).cast("B")
        self._check(addr, mv.nbytes)
        pos = 0
        with self._lock:
            while pos < mv.nbytes:
                a = addr + pos
                idx, off = divmod(a, self.CHUNK)
                n = min(self.CHUNK - off, mv.nbytes - pos)
                chunk = self._chunks.get(idx)
                if chunk is None:
                    chunk = self._chunks[idx] = bytearray(self.CHUNK)
                chunk[off:off + n] = mv[pos:pos + n]
                pos += n

    def read32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write32(self, addr: int, value: int) -> None:
        self.write(addr, value.to_bytes(4, "little"))

    def read64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def write64(self, addr: int, value: int) -> None:
        self.write(addr, value.to_bytes(8, "little"))

    @property
    def resident_bytes(self) -> int:
        return len(self._chunks) * self.CHUNK
