"""nova_core.hw.events: what a bring-up did and when - stages, RPCs, bounded waits - as data.

A :class:`Timeline` collects :class:`Span` records on two time bases at once: the *device* clock (the
virtual clock of the simulated GPU, where it is the time the hardware would have taken; the host
monotonic clock on real hardware) and the *host* clock (``time.perf_counter_ns``: what the run cost).
Layers report to it without globals:

- :class:`ObservedClock` wraps a device's clock; :func:`~nova_core.hw.poll.poll_timeout` tells it about
  every wait that had to sleep (what was awaited, how long, how many reads), and it counts the host time
  spent inside ``sleep`` (on the simulated GPU: the models catching up - GSP-RM's thread, timers);
- the secure chain and the boot sequence report their stages (:meth:`Timeline.span`);
- :class:`~nova_core.gsp.rpc.GspRpc` reports each RPC round trip and each event received.

Listeners (:attr:`Timeline.listeners`) see every span begin and end: the CLI's live progress display is
one. :meth:`Timeline.chrome_trace` renders the Chrome trace-event JSON that ui.perfetto.dev and
chrome://tracing load: process 1 is the device clock, process 2 the host clock, one thread per kind.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import Clock

KINDS = ("stage", "rpc", "wait", "event")
_TID = {k: i + 1 for i, k in enumerate(KINDS)}
DEVICE_PID = 1
HOST_PID = 2


@dataclass(slots=True)
class Span:
    """One thing that took time (or, with ``dev_end == dev_start`` and kind "event", an instant)."""

    kind: str  #: one of :data:`KINDS`
    name: str
    dev_start: int  #: ns on the device clock
    host_start: int  #: ns on the host clock (perf_counter_ns)
    dev_end: int = -1
    host_end: int = -1
    ok: bool = True
    error: str = ""
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.dev_end >= 0

    @property
    def dev_ns(self) -> int:
        return max(self.dev_end - self.dev_start, 0)

    @property
    def host_ns(self) -> int:
        return max(self.host_end - self.host_start, 0)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "ok": self.ok, "error": self.error,
                "device_seconds": self.dev_ns / 1e9, "host_seconds": self.host_ns / 1e9, "args": self.args}


Listener = Callable[[str, Span], None]  #: ``(phase, span)`` with phase "begin" or "end"

#: a finished span kept compactly (:meth:`Timeline.record`): ``(kind, name, dev_start, host_start, dev_end, host_end,
#: ok, error, keys, values)``: its args are ``dict(zip(keys, values))`` (the keys a tuple its caller keeps)
Record = tuple[str, str, int, int, int, int, bool, str, tuple[str, ...], tuple[Any, ...]]


def _span(r: Record) -> Span:
    return Span(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], dict(zip(r[8], r[9], strict=True)))


class Timeline:
    """Spans of one run (thread-safe), on the device clock ``clock`` and the host clock.

    Args:
        clock: the device's clock (pass the *inner* clock when wrapping it in :class:`ObservedClock`);
            ``None`` until the device is known - whoever opens it sets :attr:`clock` (``boot`` does).
        max_spans: spans kept (the oldest are dropped beyond; a 100k-RPC run must not grow without bound).
    """

    def __init__(self, clock: Clock | None = None, *, max_spans: int = 200_000) -> None:
        self.clock: Clock = clock if clock is not None else _NoClock()
        #: the latest ``max_spans`` records, oldest first (a deque: dropping the oldest costs nothing per span): a
        #: :class:`Span`, or a :data:`Record` tuple (what :meth:`record` keeps), made a Span when read
        self._records: collections.deque[Span | Record] = collections.deque(maxlen=max(1, max_spans))
        self._added = 0  #: records ever added (dropped = added - kept)
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        #: host ns spent inside the device clock's ``sleep`` (set by :class:`ObservedClock`)
        self.host_sleep_ns = 0
        #: device ns slept in bounded waits
        self.dev_sleep_ns = 0

    @property
    def spans(self) -> list[Span]:
        """The spans kept, oldest first (records made :class:`Span` objects here, when someone reads them)."""
        with self._lock:
            records = list(self._records)
        return [r if type(r) is Span else _span(r) for r in records]  # type: ignore[arg-type]

    @property
    def dropped(self) -> int:
        """Spans dropped (the oldest, beyond ``max_spans``)."""
        with self._lock:
            return self._added - len(self._records)

    def use_clock(self, clock: Clock) -> None:
        """Take ``clock`` as the device clock unless one was given already."""
        if isinstance(self.clock, _NoClock):
            self.clock = clock

    def _notify(self, phase: str, span: Span) -> None:
        if self.listeners:
            for fn in list(self.listeners):
                fn(phase, span)

    def begin(self, kind: str, name: str, **args: Any) -> Span:
        span = Span(kind, name, self.clock.now(), time.perf_counter_ns(), args=args)  # (a fresh dict already)
        if self.listeners:
            self._notify("begin", span)
        return span

    def end(self, span: Span, *, ok: bool = True, error: str = "") -> Span:
        span.dev_end = self.clock.now()
        span.host_end = time.perf_counter_ns()
        span.ok = ok
        span.error = error
        self.add(span)
        return span

    @contextmanager
    def span(self, kind: str, name: str, **args: Any) -> Iterator[Span]:
        """Time the ``with`` body as one span; an exception marks it failed (and propagates)."""
        s = self.begin(kind, name, **args)
        try:
            yield s
        except BaseException as e:
            self.end(s, ok=False, error=str(e) or type(e).__name__)
            raise
        self.end(s)

    def add(self, span: Span) -> None:
        """Record a span measured elsewhere (a wait, reported when it is over); listeners see it end."""
        self._keep(span)
        if self.listeners:
            self._notify("end", span)

    def _keep(self, item: Span | Record) -> None:
        lock = self._lock
        lock.acquire()  # not ``with``: once or twice per RPC
        try:
            self._added += 1
            self._records.append(item)
        finally:
            lock.release()

    def record(self, kind: str, name: str, dev_start: int, host_start: int, ok: bool = True, error: str = "",
               keys: tuple[str, ...] = (), values: tuple[Any, ...] = (), dev_end: int | None = None) -> None:
        """A span that ended now, begun at ``dev_start``/``host_start``, kept as a compact :data:`Record` tuple.

        What the hot paths (every RPC and its wait) use when nobody listens: a tuple, no :class:`Span` and no dict
        per span (a tuple of numbers and strings is one allocation, and the cyclic GC stops tracking it). Readers
        see the Span it stands for. With listeners it is :meth:`add` of that Span (they see it end). ``dev_end``: the
        device time it ended, when not :attr:`clock`'s now; ``keys``/``values``: its args, pairwise.

        Raises:
            ValueError: ``keys`` and ``values`` differ in length (a caller's bug: found here, not by a reader)."""
        if len(keys) != len(values):
            raise ValueError(f"timeline record {kind} {name!r}: {len(keys)} keys for {len(values)} values")
        rec = (kind, name, dev_start, host_start, self.clock.now() if dev_end is None else dev_end,
               time.perf_counter_ns(), ok, error, keys, values)
        if self.listeners:
            self.add(_span(rec))
        else:
            self._keep(rec)

    def instant(self, kind: str, name: str, **args: Any) -> None:
        now, host = self.clock.now(), time.perf_counter_ns()
        self.add(Span(kind, name, now, host, now, host, args=dict(args)))

    def of_kind(self, kind: str) -> list[Span]:
        return [s for s in self.spans if s.kind == kind]

    # -- Chrome / Perfetto trace -------------------------------------------------------------------

    def chrome_trace(self) -> dict[str, Any]:
        """The trace-event JSON object (``traceEvents``; complete "X" and instant "i" events, times in us)."""
        spans = self.spans
        if not spans:
            return {"traceEvents": [], "displayTimeUnit": "ms"}
        dev0 = min(s.dev_start for s in spans)
        host0 = min(s.host_start for s in spans)
        events: list[dict[str, Any]] = []
        for pid, label in ((DEVICE_PID, "device clock (virtual on the simulated GPU)"), (HOST_PID, "host clock")):
            events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": label}})
            for kind, tid in _TID.items():
                events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": kind}})
        for s in spans:
            args = {k: _jsonable(v) for k, v in s.args.items()}
            if not s.ok:
                args["error"] = s.error
            for pid, start, dur in ((DEVICE_PID, s.dev_start - dev0, s.dev_ns), (HOST_PID, s.host_start - host0,
                                                                                 s.host_ns)):
                ev: dict[str, Any] = {"name": s.name, "cat": s.kind, "pid": pid, "tid": _TID.get(s.kind, 9),
                                      "ts": start / 1000, "args": args}
                if s.kind == "event":
                    ev.update(ph="i", s="t")
                else:
                    ev.update(ph="X", dur=dur / 1000)
                events.append(ev)
        return {"traceEvents": events, "displayTimeUnit": "ms",
                "otherData": {"producer": "nova-core", "dropped_spans": self.dropped}}

    def chrome_trace_bytes(self) -> bytes:
        """:meth:`chrome_trace` as the bytes of a trace file."""
        return (json.dumps(self.chrome_trace()) + "\n").encode()

    def write_chrome_trace(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_bytes(self.chrome_trace_bytes())
        return p


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


class _NoClock:
    """Device time before a device is attached: 0."""

    def now(self) -> int:
        return 0

    def sleep(self, ns: int) -> None:
        raise RuntimeError("Timeline has no device clock yet; set Timeline.clock")


_POLLS = ("polls",)  #: a wait's args' keys


class ObservedClock:
    """A :class:`~nova_core.hw.clock.Clock` that reports waits and sleeping time to a :class:`Timeline`.

    ``now`` and ``sleep`` forward to ``inner``; :func:`~nova_core.hw.poll.poll_timeout` calls
    :meth:`observe_wait` for each wait that slept at least once.
    """

    now: Callable[[], int]  #: the inner clock's own ``now`` (bound once: no forwarding call per read)

    def __init__(self, inner: Clock, timeline: Timeline) -> None:
        self.inner = inner
        self.timeline = timeline
        self.now = inner.now
        self._inner_run_until: Callable[[Callable[[], bool], int], bool] | None = getattr(inner, "run_until", None)
        #: the virtual clock's ``run_until`` (an interrupt-driven wait), its time counted like ``sleep``'s; None on a
        #: clock without it (bound once here, not made per access)
        self.run_until: Callable[[Callable[[], bool], int], bool] | None = (
            None if self._inner_run_until is None else self._run_until)

    def sleep(self, ns: int) -> None:
        t0 = time.perf_counter_ns()
        self.inner.sleep(ns)
        self.timeline.host_sleep_ns += time.perf_counter_ns() - t0
        self.timeline.dev_sleep_ns += ns

    def _run_until(self, condition: Callable[[], bool], timeout: int) -> bool:
        """The virtual clock's ``run_until`` (an interrupt-driven wait), its time counted like ``sleep``'s."""
        inner, run = self.inner, self._inner_run_until
        assert run is not None  # bound only where the inner clock has one
        t0, d0 = time.perf_counter_ns(), inner.now()
        try:
            return bool(run(condition, timeout))
        finally:
            tl = self.timeline
            tl.host_sleep_ns += time.perf_counter_ns() - t0
            tl.dev_sleep_ns += inner.now() - d0

    def observe_wait(self, what: str, dev_start: int, host_start: int, polls: int, ok: bool) -> None:
        self.timeline.record("wait", what, dev_start, host_start, ok, "" if ok else "timed out", _POLLS, (polls,),
                             self.inner.now())

    def __getattr__(self, name: str) -> Any:  # the virtual clock's extras (call_at, lock, ...) stay reachable
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<ObservedClock {self.inner!r}>"
