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
    """One log line (immutable; made when the log is read: the log keeps plain tuples, see :class:`SimLog`)."""

    time_ns: int
    component: str
    level: Level
    message: str

    def __str__(self) -> str:
        return f"[{self.time_ns / 1e6:12.6f} ms] {self.level.name:<7} {self.component}: {self.message}"


_LEVELS = {int(lv): lv for lv in Level}
_DEBUG, _INFO, _WARNING, _ERROR = (int(Level.DEBUG), int(Level.INFO), int(Level.WARNING), int(Level.ERROR))


def _text(fmt: str, args: tuple[object, ...]) -> str:
    """A deferred line's text; a format that does not fit its arguments (a logging bug) is shown, not raised."""
    try:
        return fmt % args
    except (TypeError, ValueError) as e:
        return f"{fmt} % {args!r} (unformattable: {e})"


class SimLog:
    """Append-only, thread-safe diagnostic log (bounded: the oldest entries are dropped).

    A line is kept as a plain ``(time_ns, component, level number, message, args)`` tuple and made an :class:`Entry`
    when read: a tuple of numbers and strings is one allocation that the cyclic GC stops tracking, where an Entry
    holding the ``Level`` member stays tracked - and a lock-step simulation logs on every interrupt (100k lines kept).
    A line logged with ``args`` (:meth:`debug`) keeps its ``%``-format and arguments and is formatted when read: the
    line a simulated MSI message logs costs a tuple, not the formatting of three hex numbers."""

    def __init__(self, clock: Clock, limit: int = 100_000) -> None:
        self._clock = clock
        self._entries: collections.deque[tuple[int, str, int, str, tuple[object, ...]]] = collections.deque(
            maxlen=max(1, limit))
        self._lock = threading.Lock()
        self.dropped = 0

    def _add(self, component: str, message: str, level: int, args: tuple[object, ...] = ()) -> int:
        """Keep one line; returns its time."""
        now = self._clock.now()
        lock = self._lock
        lock.acquire()  # not ``with``: on every simulated MSI message
        try:
            if len(self._entries) == self._entries.maxlen:
                self.dropped += 1
            self._entries.append((now, component, level, message, args))
        finally:
            lock.release()
        return now

    def record(self, component: str, message: str, level: Level = Level.INFO) -> Entry:
        return Entry(self._add(component, message, int(level)), component, level, message)

    def debug(self, component: str, message: str, *args: object) -> None:
        """A debug line; with ``args``, ``message`` is a ``%``-format applied to them when the line is read."""
        self._add(component, message, _DEBUG, args)

    def info(self, component: str, message: str) -> None:
        self._add(component, message, _INFO)

    def warning(self, component: str, message: str) -> None:
        self._add(component, message, _WARNING)

    def error(self, component: str, message: str) -> None:
        self._add(component, message, _ERROR)

    def entries(self, min_level: Level = Level.DEBUG, component: str | None = None) -> list[Entry]:
        with self._lock:
            lines = list(self._entries)
        levels = _LEVELS
        return [Entry(t, c, levels[lv], _text(m, a) if a else m) for t, c, lv, m, a in lines
                if lv >= min_level and (component is None or c == component)]

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
