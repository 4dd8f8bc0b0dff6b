"""nova_core.hw.clock: time for the driver, real or virtual.

Driver code never calls ``time.sleep`` or reads ``time.monotonic`` itself: it receives a :class:`Clock`.
On hardware that is :class:`MonotonicClock`. On the simulated GPU it is :class:`VirtualClock`, whose
time moves only when someone sleeps or a simulated access costs time, so that a 2 s hardware timeout
costs nothing in a test and every run is repeatable.

All times are integer nanoseconds; ``US``, ``MS`` and ``SEC`` make call sites readable
(``clock.sleep(10 * US)``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

NS = 1
US = 1_000
MS = 1_000_000
SEC = 1_000_000_000


@runtime_checkable
class Clock(Protocol):
    """A monotonic time source in nanoseconds that can also wait."""

    def now(self) -> int:
        """Current time in nanoseconds (arbitrary origin, never goes backwards)."""
        ...

    def sleep(self, ns: int) -> None:
        """Wait ``ns`` nanoseconds (at least)."""
        ...


class MonotonicClock:
    """The host's monotonic clock; ``sleep`` really sleeps."""

    def now(self) -> int:
        return time.monotonic_ns()

    def sleep(self, ns: int) -> None:
        if ns > 0:
            time.sleep(ns / SEC)

    def __repr__(self) -> str:
        return "<MonotonicClock>"


class _Timer:
    __slots__ = ("cancelled", "fn", "seq", "when")

    def __init__(self, when: int, seq: int, fn: Callable[[], None]) -> None:
        self.when = when
        self.seq = seq
        self.fn = fn
        self.cancelled = False


class TimerHandle:
    """Returned by :meth:`VirtualClock.call_at`; ``cancel()`` stops a pending timer."""

    __slots__ = ("_timer",)

    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    @property
    def when(self) -> int:
        return self._timer.when

    def cancel(self) -> None:
        self._timer.cancelled = True


class VirtualClock:
    """Simulated time for the simulated GPU.

    - ``sleep(ns)`` first lets every registered *settler* bring its simulated actor to rest (the
      simulated GSP-RM thread finishes what it was given), then advances time by ``ns``, firing the
      timers that fall due in order. Nothing really sleeps.
    - ``advance(ns)`` moves time without settling: the simulated device charges the cost of an MMIO
      access this way, so even a poll loop that forgets to sleep sees time pass and its timeout fire.
    - ``call_at``/``call_later`` schedule simulated events (a scrub that completes 20 us after reset).

    Accounting: ``slept`` is the total time spent in ``sleep`` (the "simulated waits" of a boot),
    ``charged`` the total of ``advance`` calls (simulated access costs).

    Thread-safe: the simulated GSP-RM runs in its own thread.
    """

    def __init__(self, start: int = 0) -> None:
        self._now = start
        #: (when, seq, timer): a heap of tuples (compared in C; ``seq`` keeps timers of one time in order)
        self._timers: list[tuple[int, int, _Timer]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        #: the simulated GPU's models share this lock (see nova_core.sim.regfile)
        self.lock = self._lock
        self._settlers: tuple[Callable[[], None], ...] = ()  #: replaced, never changed in place (sleep reads it)
        self._settlers_lock = threading.Lock()  #: registrations only (not the clock's lock: a settler may hold it)
        self._firing = False
        self.slept = 0
        self.charged = 0

    def now(self) -> int:
        return self._now

    def sleep(self, ns: int) -> None:
        for settle in self._settlers:  # replaced whole by add_settler/remove: iterating it needs no copy
            settle()
        self._pass(ns)

    def _pass(self, ns: int) -> None:
        """Sleep's move of time (no settling): ``slept`` grows by ``ns``, the timers due fire in order."""
        ns = max(ns, 0)
        with self._lock:
            self.slept += ns
            target = self._now + ns
            timers = self._timers
            if self._firing or not timers or timers[0][0] > target:  # nothing falls due: what _advance_to would do
                self._now = max(self._now, target)
                return
            self._advance_to(target)

    def advance(self, ns: int) -> None:
        """Move time forward by ``ns`` without settling actors (used for access costs)."""
        if ns <= 0:
            return
        with self._lock:
            self.advance_locked(ns)

    def advance_locked(self, ns: int) -> None:
        """:meth:`advance` for a caller that holds :attr:`lock` already (the simulated BAR charging an access)."""
        if ns <= 0:
            return
        self.charged += ns
        target = self._now + ns
        timers = self._timers
        if self._firing or not timers or timers[0][0] > target:  # no timer falls due (the common case)
            self._now = target
            return
        self._advance_to(target)

    def call_at(self, when: int, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn`` when virtual time reaches ``when`` (immediately if it already has)."""
        with self._lock:
            timer = _Timer(when, next(self._seq), fn)
            heapq.heappush(self._timers, (when, timer.seq, timer))
            if when <= self._now and not self._firing:
                self._advance_to(self._now)
            return TimerHandle(timer)

    def call_later(self, delay: int, fn: Callable[[], None]) -> TimerHandle:
        return self.call_at(self._now + max(delay, 0), fn)

    def add_settler(self, settle: Callable[[], None]) -> Callable[[], None]:
        """Register a callable that blocks until a simulated actor is at rest; returns an unregister."""
        with self._settlers_lock:
            self._settlers = (*self._settlers, settle)

        def remove() -> None:
            with self._settlers_lock:
                if settle in self._settlers:
                    i = self._settlers.index(settle)
                    self._settlers = self._settlers[:i] + self._settlers[i + 1:]

        return remove

    def pending(self) -> int:
        """Number of timers not yet fired (cancelled ones excluded)."""
        with self._lock:
            return sum(1 for _, _, t in self._timers if not t.cancelled)

    def next_due(self) -> int | None:
        """When the earliest pending timer fires (None without one)."""
        with self._lock:
            while self._timers and self._timers[0][2].cancelled:
                heapq.heappop(self._timers)
            return self._timers[0][0] if self._timers else None

    def run_until(self, condition: Callable[[], bool], timeout: int) -> bool:
        """Let simulated time run, event by event, until ``condition()`` holds or ``timeout`` ns have passed.

        What waiting for an interrupt is on simulated time: the actors settle, then time jumps to the next
        timer (a simulated GSP-RM publishing its reply and raising its interrupt, say) instead of moving in
        fixed poll steps. Returns the condition's last value; time never passes the deadline.

        ``condition`` is a look (a counter an interrupt handler bumps): it must not give the actors work, because
        time then moves to the next event without settling them again - one settle per step, the settle of the
        step's ``sleep(0)``, which is what the move would have found at rest anyway.
        """
        deadline = self._now + max(timeout, 0)
        lock = self._lock
        timers = self._timers  # the heap is changed in place, never replaced
        while True:
            # one step: settle the actors (their work may be what the condition waits for) and fire what is due now
            # - sleep(0), without its layers - then look, then move to the next timer (or the deadline) and fire it
            for settle in self._settlers:
                settle()
            if timers and timers[0][0] <= self._now:
                with lock:
                    if not self._firing:
                        self._advance_to(self._now)
            if condition():
                return True
            with lock:
                now = self._now
                if now >= deadline:
                    return False
                while timers and timers[0][2].cancelled:
                    heapq.heappop(timers)
                target = deadline if not timers else min(max(timers[0][0], now + 1), deadline)
                self.slept += target - now  # what sleep's move counts (the actors were settled just above)
                if self._firing or not timers or timers[0][0] > target:
                    self._now = target
                else:
                    self._advance_to(target)

    def _advance_to(self, target: int) -> None:
        # Fire due timers in time order; a timer may schedule more timers (bounded by target).
        if self._firing:
            self._now = max(self._now, target)
            return
        self._firing = True
        try:
            while self._timers and self._timers[0][0] <= target:
                timer = heapq.heappop(self._timers)[2]
                if timer.cancelled:
                    continue
                self._now = max(self._now, timer.when)
                timer.fn()
            self._now = max(self._now, target)
        finally:
            self._firing = False

    def __repr__(self) -> str:
        return f"<VirtualClock t={self._now}ns slept={self.slept}ns timers={self.pending()}>"
