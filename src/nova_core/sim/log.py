"""nova_core.sim.log: the simulated GPU's diagnostic log.

Every model records what it did and, above all, what it refused and why ("SEC2: BROM_ENGIDMASK 0x0,
expected 0x1 from booter meta"). Entries carry the virtual time, so a failing test can print the last
few lines and a reader sees the sequence as the hardware would have seen it.
"""

from __future__ import annotations

import collections
import enum
import threading
from collections.abc import Iterator
from typing import NamedTuple

from ..hw.clock import Clock


class Level(enum.IntEnum):
    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40  #: a refusal: the simulated hardware did not do what the driver asked


class Entry(NamedTuple):
    """One log line (immutable; a named tuple: made on every simulated MSI message, at less than half a frozen
    dataclass's cost)."""

    time_ns: int
    component: str
    level: Level
    message: str

    def __str__(self) -> str:
        return f"[{self.time_ns / 1e6:12.6f} ms] {self.level.name:<7} {self.component}: {self.message}"


class SimLog:
    """Append-only, thread-safe diagnostic log (bounded: the oldest entries are dropped)."""

    def __init__(self, clock: Clock, limit: int = 100_000) -> None:
        self._clock = clock
        self._entries: collections.deque[Entry] = collections.deque(maxlen=max(1, limit))  # oldest dropped in O(1)
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, component: str, message: str, level: Level = Level.INFO) -> Entry:
        entry = Entry(self._clock.now(), component, level, message)
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append(entry)
        return entry

    def debug(self, component: str, message: str) -> Entry:
        return self.record(component, message, Level.DEBUG)

    def info(self, component: str, message: str) -> Entry:
        return self.record(component, message, Level.INFO)

    def warning(self, component: str, message: str) -> Entry:
        return self.record(component, message, Level.WARNING)

    def error(self, component: str, message: str) -> Entry:
        return self.record(component, message, Level.ERROR)

    def entries(self, min_level: Level = Level.DEBUG, component: str | None = None) -> list[Entry]:
        with self._lock:
            return [e for e in self._entries
                    if e.level >= min_level and (component is None or e.component == component)]

    def errors(self) -> list[Entry]:
        """The refusals recorded so far."""
        return self.entries(Level.ERROR)

    def last(self, n: int = 20, min_level: Level = Level.DEBUG) -> list[Entry]:
        return self.entries(min_level)[-n:]

    def format(self, n: int = 20, min_level: Level = Level.DEBUG) -> str:
        return "\n".join(str(e) for e in self.last(n, min_level))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)
