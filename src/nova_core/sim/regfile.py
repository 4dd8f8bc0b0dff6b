"""nova_core.sim.regfile: the simulated BAR0, a strict register file with hooks.

What it models, and what it refuses:

- Every register declared in :mod:`nova_core.regs` for the chip's register family (``chips=``, as its
  per-family variant: ``Register.for_family``) has storage, initialised to its ``RESET`` value, and
  the access rules of its fields: read-only bits keep their value, write-1-to-clear bits clear,
  write-only bits read back as zero. A register the family does not have is not backed (PRI error). A
  write to a register that is read-only as a whole is a :class:`~nova_core.errors.SimViolation` (hardware
  would drop it silently; the sim says so).
- Models (falcons, timers, the PROM window) attach *read hooks* (compute the value on read) and
  *write hooks* (react to a write) per offset, and *windows* for ranges of memory.
- An offset nothing declares or models reads as :data:`PRI_ERROR` (0xBADF1100), the kind of value a
  real GPU returns for an unbacked priv address (OpenRM flags 0xBADxxxxx reads as PRI errors), and
  the read is logged. A write there is a ``SimViolation`` in strict mode (logged otherwise).
- Unaligned or out-of-BAR accesses are ``SimViolation``.
- After :meth:`SimBar.fall_off_bus` every read returns 0xffffffff and writes are dropped.
- Each access charges virtual time (``read_cost``/``write_cost``), as a PCIe round trip would, so a
  poll loop that forgets to sleep still sees its timeout expire.

Simulated hardware changes values behind the driver's back with :meth:`poke` and looks at them with
:meth:`peek`; neither costs time or runs hooks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import SimViolation
from ..hw.bar import check_block
from ..hw.clock import VirtualClock
from ..regs import REGISTRY, Register, Window
from ..regs.core import RO, WO
from .log import SimLog

BAR0_SIZE = 16 << 20  #: BAR0 is 16 MiB on every supported chip (nova-core maps 16 MiB)
PRI_ERROR = 0xBADF1100  #: what an unbacked priv address reads as
ALL_ONES = 0xFFFFFFFF

ReadHook = Callable[[int], int]
WriteHook = Callable[[int, int], None]


@dataclass
class _SimWindow:
    name: str
    start: int
    end: int
    read: Callable[[int], int]  # offset inside the window -> 32-bit word
    write: Callable[[int, int], None] | None
    write_block: Callable[[int, bytes], None] | None = None  # the same as word writes, in one call
    #: (offset, length) inside the window -> the bytes that many consecutive read() calls would give: a window
    #: of plain memory (the PROM) serves a block read in one go
    read_block: Callable[[int, int], bytes] | None = None


class SimBar:
    """The simulated GPU's BAR0 (implements :class:`~nova_core.hw.bar.Bar`)."""

    #: not buffer-backed: register reads come through :meth:`read32` (see ``regs.core._make_read``)
    words32: memoryview | None = None

    def __init__(self, clock: VirtualClock, log: SimLog, *, strict: bool = True,
                 read_cost: int = 500, write_cost: int = 50, size: int = BAR0_SIZE, family: str | None = None) -> None:
        self._clock = clock
        self._log = log
        self.strict = strict
        self.read_cost = read_cost
        self.write_cost = write_cost
        self._size = size
        # One lock for the whole simulated GPU (the clock's): models run from timers, hooks and the
        # simulated GSP-RM thread, and a second lock would invite lock-order deadlocks.
        self._lock = clock.lock
        self.lock = clock.lock  #: for models that change several values, or a value and its consequences, as one step
        self._acquire, self._release = self._lock.acquire, self._lock.release
        #: the clock's ``advance``, called with the lock already held (one lock round trip per access, not two)
        self._charge = clock.advance_locked
        self._values: dict[int, int] = {}
        #: the stored values by offset, for models to read without a call on their hot paths (what :meth:`peek`
        #: returns); a model changes them only through :meth:`poke`, or in place for an offset already stored while
        #: it holds the lock (a write hook)
        self.stored = self._values
        self._masks: dict[int, tuple[int, int, int]] = {}  # offset -> (keep RO, w1c, write-only)
        self._ro_whole: set[int] = set()
        self._read_hooks: dict[int, ReadHook] = {}
        self._write_hooks: dict[int, WriteHook] = {}
        #: per-offset dispatch, resolved once per offset (``_resolve``) from the dicts above: offset -> what a read
        #: returns (its hook, or the stored value's lookup) / what a write does (the read-only refusal, its hook, or
        #: the store with the access rules). Only aligned offsets inside the BAR; anything else takes the slow path.
        self._rd: dict[int, ReadHook] = {}
        self._wr: dict[int, WriteHook] = {}
        self._windows: list[_SimWindow] = []
        self._window_starts: list[int] = []
        self.lost = False
        self.reads = 0
        self.writes = 0
        #: the register family whose registers are backed (None: every declaration, whatever its chips)
        self.family = family
        if family is None:
            backed = [(off, loc.register) for off, loc in REGISTRY.by_offset.items()]
        else:
            backed = [(off, reg.for_family(family)) for reg in REGISTRY if family in reg.FAMILIES
                      for off, _, _ in reg.for_family(family).locations()]
        for off, reg in backed:
            self._values[off] = reg.RESET
            wo = sum(f.mask for f in reg.FIELDS if f.access is WO)
            self._masks[off] = (reg._RO_MASK, reg._W1C_MASK, wo)
            if reg.ACCESS is RO:
                self._ro_whole.add(off)
        for off in self._values:
            self._resolve(off)

    # -- Bar protocol -------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def _check(self, offset: int, what: str) -> None:
        if offset & 3 or offset < 0 or offset + 4 > self._size:
            msg = (f"{what} at {offset:#x}: " +
                   ("unaligned 32-bit access" if offset & 3 else f"outside BAR0 (size {self._size:#x})"))
            self._log.error("bar0", msg)
            raise SimViolation(f"BAR0 {msg}")

    def read32(self, offset: int) -> int:
        read = self._rd.get(offset)
        if read is None:
            return self._read_other(offset)
        self._acquire()  # not ``with``: an explicit acquire/release costs half as much on CPython 3.11
        try:
            self._charge(self.read_cost)  # the access's time, under the same lock (one lock round trip per access)
            self.reads += 1
            if self.lost:
                return ALL_ONES
            return read(offset) & ALL_ONES
        finally:
            self._release()

    def _read_other(self, offset: int) -> int:
        """A read of an offset without a register or a hook: a window, the PRI error pattern, or a refusal."""
        if offset & 3 or offset < 0 or offset + 4 > self._size:
            self._check(offset, "read32")
        with self._lock:
            self._charge(self.read_cost)
            self.reads += 1
            if self.lost:
                return ALL_ONES
            read = self._rd.get(offset)  # a hook installed or a value poked since the caller looked
            if read is not None:
                return read(offset) & ALL_ONES
            win = self._window(offset)
            if win is not None:
                return win.read(offset - win.start) & ALL_ONES
        self._log.warning("bar0", f"read of unmodelled offset {offset:#08x} returns {PRI_ERROR:#x}")
        return PRI_ERROR

    def write32(self, offset: int, value: int) -> None:
        write = self._wr.get(offset)
        if write is None:
            self._write_other(offset, value)
            return
        if not 0 <= value <= ALL_ONES:
            raise SimViolation(f"BAR0 write32({offset:#x}, {value:#x}): value is not 32-bit")
        self._acquire()
        try:
            self._charge(self.write_cost)
            self.writes += 1
            if self.lost:
                return
            write(offset, value)
        finally:
            self._release()

    def _write_other(self, offset: int, value: int) -> None:
        """A write to an offset without a register or a hook: a window, or a refusal."""
        if offset & 3 or offset < 0 or offset + 4 > self._size:
            self._check(offset, "write32")
        if not 0 <= value <= ALL_ONES:
            raise SimViolation(f"BAR0 write32({offset:#x}, {value:#x}): value is not 32-bit")
        with self._lock:
            self._charge(self.write_cost)
            self.writes += 1
            if self.lost:
                return
            write = self._wr.get(offset)  # a hook installed or a value poked since the caller looked
            if write is not None:
                write(offset, value)
                return
            win = self._window(offset)
            if win is not None:
                if win.write is None:
                    self._refuse(f"write of {value:#x} to read-only window {win.name} at {offset:#x}")
                    return
                win.write(offset - win.start, value)
                return
        self._refuse(f"write of {value:#x} to unmodelled offset {offset:#08x}")

    def _resolve(self, offset: int) -> None:
        """(Re)build the dispatch of ``offset`` from the hooks, the read-only set and the storage, in the order the
        access rules take them: a read is its hook, else its stored value; a write to a register read-only as a whole
        is refused (even with a hook), else it is its hook, else it is stored with the access rules."""
        if offset & 3 or offset < 0 or offset + 4 > self._size:
            return  # never dispatched: the slow path refuses it
        hook = self._read_hooks.get(offset)
        if hook is not None:
            self._rd[offset] = hook
        elif offset in self._values:
            self._rd[offset] = self._values.__getitem__
        else:
            self._rd.pop(offset, None)
        write = self._write_hooks.get(offset)
        if offset in self._ro_whole:
            self._wr[offset] = self._write_read_only
        elif write is not None:
            self._wr[offset] = write
        elif offset in self._values:
            self._wr[offset] = self._store
        else:
            self._wr.pop(offset, None)

    def _write_read_only(self, offset: int, value: int) -> None:
        self._refuse(f"write of {value:#x} to read-only {self.label(offset)}")

    def _store(self, offset: int, value: int) -> None:
        values = self._values
        values[offset] = self.apply_access(offset, values[offset], value)

    def read_block(self, offset: int, length: int) -> bytes:
        check_block(self._size, offset, length, "sim BAR0")
        win = self._window(offset) if length else None
        if win is not None and win.read_block is not None and offset + length <= win.end \
                and not any(offset <= o < offset + length for o in self._read_hooks):
            # a window of plain memory: the same words, time and count as length/4 read32 calls, in one go
            count = length >> 2
            self._clock.advance(self.read_cost * count)
            with self._lock:
                self.reads += count
                if self.lost:
                    return b"\xff" * length
                return win.read_block(offset - win.start, length)
        out = bytearray(length)
        words = memoryview(out).cast("I")
        for i in range(length >> 2):
            words[i] = self.read32(offset + 4 * i)
        return bytes(out)

    def write_block(self, offset: int, data: bytes) -> None:
        check_block(self._size, offset, len(data), "sim BAR0")
        win = self._window(offset) if data else None
        if win is not None and win.write_block is not None and offset + len(data) <= win.end:
            # a window that takes whole blocks (PRAMIN): the same words, costs and counts, in one call
            self._clock.advance(self.write_cost * (len(data) >> 2))
            with self._lock:
                self.writes += len(data) >> 2
                if not self.lost:
                    win.write_block(offset - win.start, bytes(data))
            return
        words = memoryview(bytes(data)).cast("I")
        for i in range(len(words)):
            self.write32(offset + 4 * i, words[i])

    # -- semantics ------------------------------------------------------------------------------

    def apply_access(self, offset: int, old: int, written: int) -> int:
        """The stored value after ``written`` hits a register whose current value is ``old``."""
        keep, w1c, wo = self._masks.get(offset, (0, 0, 0))
        return (old & keep) | (written & ~keep & ~w1c & ~wo) | (old & w1c & ~written)

    def _refuse(self, message: str) -> None:
        self._log.error("bar0", message)
        if self.strict:
            raise SimViolation(f"simulated GPU refused {message}")

    def label(self, offset: int) -> str:
        loc = REGISTRY.lookup(offset)
        return f"{loc.label} ({offset:#x})" if loc else f"{offset:#x}"

    # -- for models -----------------------------------------------------------------------------

    def peek(self, offset: int) -> int:
        """Current stored value (no hooks, no cost); 0 for offsets without storage."""
        return self._values.get(offset, 0)

    def poke(self, offset: int, value: int) -> None:
        """Set a value as the hardware would (no access rules, no hooks, no cost)."""
        self._acquire()
        try:
            values = self._values
            if offset not in values:
                values[offset] = value & ALL_ONES
                self._resolve(offset)  # a new register: reads and writes of it dispatch to its storage
                return
            values[offset] = value & ALL_ONES
        finally:
            self._release()

    def is_modelled(self, offset: int) -> bool:
        """Whether ``offset`` has storage, a hook or a window (elsewhere a read is a PRI error, a write refused)."""
        return (offset in self._values or offset in self._read_hooks or offset in self._write_hooks
                or self._window(offset) is not None)

    def on_read(self, offset: int, hook: ReadHook) -> None:
        """Compute reads of ``offset`` with ``hook(offset) -> value``."""
        with self._lock:
            self._read_hooks[offset] = hook
            self._resolve(offset)

    def on_write(self, offset: int, hook: WriteHook, *, writable: bool = False) -> None:
        """Handle writes of ``offset`` with ``hook(offset, value)`` (replaces the default storage). ``writable``: the
        model knows the register takes writes even where the register facts call it read-only as a whole."""
        with self._lock:
            self._write_hooks[offset] = hook
            if writable:
                self._ro_whole.discard(offset)
            self._resolve(offset)

    def map_window(self, name: str, start: int, size: int, read: Callable[[int], int],
                   write: Callable[[int, int], None] | None = None, *,
                   write_block: Callable[[int, bytes], None] | None = None,
                   read_block: Callable[[int, int], bytes] | None = None) -> None:
        """Serve ``[start, start+size)`` from ``read(rel_offset)`` / ``write(rel_offset, value)``;
        ``write_block(rel_offset, data)``, when given, takes a whole 32-bit aligned block write at once; a window
        of plain memory may also give ``read_block(rel_offset, length)`` (the bytes of consecutive reads)."""
        i = bisect.bisect(self._window_starts, start)
        self._window_starts.insert(i, start)
        self._windows.insert(i, _SimWindow(name, start, start + size, read, write, write_block, read_block))

    def map_register_window(self, window: Window, read: Callable[[int], int],
                            write: Callable[[int, int], None] | None = None, *,
                            write_block: Callable[[int, bytes], None] | None = None,
                            read_block: Callable[[int, int], bytes] | None = None) -> None:
        self.map_window(window.name, window.start, window.size, read, write, write_block=write_block,
                        read_block=read_block)

    def _window(self, offset: int) -> _SimWindow | None:
        i = bisect.bisect(self._window_starts, offset) - 1
        if i >= 0 and offset < self._windows[i].end:
            return self._windows[i]
        return None

    def fall_off_bus(self) -> None:
        """Fault injection: from now on every read returns 0xffffffff, as for a lost device."""
        self._log.error("bar0", "device fell off the bus: reads return 0xffffffff")
        self.lost = True

    def reg_offset(self, reg: type[Register], *, base: int | None = None, i: int | None = None) -> int:
        return reg.addr(base, i)
