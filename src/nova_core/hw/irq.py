"""nova_core.hw.irq: interrupts as the driver sees them - hardware vectors, handlers on their own thread.

An :class:`IrqManager` owns the interrupt vectors of one device, delivered by a backend:

- **VFIO** (:mod:`nova_core.hw.vfio.irq`): MSI-X, else MSI, else INTx, each vector an eventfd bound with
  ``VFIO_DEVICE_SET_IRQS``;
- **messages** (:mod:`nova_core.irq.msi`): a function whose config space the driver owns and whose MSI/MSI-X
  writes it can see - the simulated GPU;
- **poll** (:class:`PollBackend`): no interrupt can be had; nothing is delivered and every wait keeps polling,
  as before interrupts existed.

The contract, as Linux's threaded IRQs give it:

- :meth:`IrqManager.request` installs ``handler(vector) -> bool`` (True: it was this device's interrupt);
  handlers run on the manager's dedicated thread (one per device), one at a time, in the order the vectors fired
  - with one exception on simulated time, below (where the thread is started when first needed);
- :meth:`IrqManager.disable` / :meth:`IrqManager.enable`: while disabled the handler is not called; an
  interrupt arriving meanwhile is remembered and delivered at enable (``disable`` waits for a handler in
  progress, like ``disable_irq``); :meth:`IrqManager.mask` / :meth:`IrqManager.unmask` do the same at the
  source where the backend can (an MSI-X entry's mask bit, VFIO's INTx mask) and never wait, so a handler may
  mask its own vector;
- :meth:`IrqManager.synchronize` returns once every interrupt signalled before the call has been handled;
  :meth:`IrqManager.free` waits for a handler in progress and guarantees no later call;
- **faults**: a handler that raises is logged and counted, and its vector stays usable; a vector that keeps
  firing unhandled (no handler, or handlers that say "not mine") :data:`STORM_UNHANDLED` times in a row is a
  storm: it is cut off at the source and reported once (:attr:`IrqManager.reports`).

Waiting for an interrupt is :func:`wait_woken` on a :class:`Wakeup` that handlers signal: a bounded wait on the
device's clock. On simulated time (:meth:`~nova_core.hw.clock.VirtualClock.run_until`) the wait lets time jump
from one simulated event to the next instead of polling in fixed steps; the manager is a clock settler, so a
handler triggered by an event has run before time moves on. As that settler, the thread about to move simulated
time delivers what has fired itself when the backend lets it take the vectors (``take``: the simulated GPU's
messages) and no delivery is in progress or held by the handler thread: the handler runs at a point the threaded
path also allows (after the interrupt was raised, before time moves), still one delivery at a time and in firing
order, without two thread switches per interrupt. A thread that will wait for what it raises (an RPC: the doorbell,
then the wait for the reply) says so with :meth:`IrqManager.settling`: inside that block the backend does not wake
the handler thread for the messages this thread raises (``holding``), and what the thread has not settled when the
block ends it delivers then. Every other interrupt - another thread's, or one raised outside such a block - wakes
the handler thread as always; the thread also delivers replays (:meth:`IrqManager.enable` /
:meth:`IrqManager.unmask`).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import IrqError, PollTimeout
from .clock import MS, SEC, Clock

log = logging.getLogger(__name__)

#: interrupt delivery modes, in the order they are tried
MODES = ("msi-x", "msi", "intx", "poll")
#: consecutive unhandled deliveries of one vector that make a storm (Linux ``note_interrupt`` looks at 100,000
#: with 99,900 unhandled; a driver that owns its device can tell sooner)
STORM_UNHANDLED = 1000
# TIMEOUT: a handler is host code; one that has not returned within 5 s is stuck (free/disable then fail with
# IrqError rather than hang).
HANDLER_TIMEOUT_S = 5.0
WAIT_SLICE_S = 0.5  #: the dispatcher's longest block in the backend (it also wakes for close())
# TIMEOUT: an interrupt-driven wait looks at its condition at least every 100 ms of device time even without an
# interrupt, so a lost interrupt costs 100 ms, not the whole timeout (it is counted in Wakeup.missed).
RECHECK = 100 * MS
MAX_REPORTS = 256

Handler = Callable[[int], bool]


class IrqBackend(Protocol):
    """Where a device's interrupts come from (VFIO eventfds, observed MSI messages, or nothing)."""

    @property
    def mode(self) -> str:
        """One of :data:`MODES`."""
        ...

    @property
    def count(self) -> int:
        """Hardware vectors delivered (0 in poll mode)."""
        ...

    def wait(self, timeout_s: float) -> list[int]:
        """Block until vectors fire (returned, each once) or ``timeout_s`` passes or :meth:`wake` is called."""
        ...

    def pending(self) -> int:
        """Vectors signalled and not yet :meth:`done` (queued, or returned by :meth:`wait` and still handled)."""
        ...

    def done(self, count: int) -> None:
        """The manager has handled ``count`` vectors that :meth:`wait` (or ``take``) returned."""
        ...

    # Optional: ``take() -> list[int]``, what has fired, without blocking, and nothing while vectors an earlier
    # ``wait``/``take`` returned are not yet ``done`` (so that a settler never overtakes the handler thread).
    # A backend that has it lets the thread that settles simulated time deliver (see the module docstring).
    # Optional with it: ``holding()``, a context manager inside which a vector the calling thread fires does not end
    # a blocked ``wait`` (that thread delivers it: :meth:`IrqManager.settling`); ``hold()``/``release()``, the same
    # as two calls (what ``settling`` uses where they exist: no generator per block).
    # Optional: ``busy() -> bool``, ``pending() > 0`` without a lock (a settler looks at it before every clock move).
    # Optional with ``holding``: ``on_unheld(start)``, ``start()`` called whenever a vector fires that no holding
    # thread will deliver; the manager then starts its handler thread at the first such call, not when it is made
    # (a simulated boot raises every interrupt inside ``settling`` and never needs the thread).

    def wake(self) -> None:
        """Make a blocked :meth:`wait` return."""
        ...

    def mask(self, vector: int) -> bool:
        """Mask ``vector`` at the source; False when the source cannot (the manager masks in software)."""
        ...

    def unmask(self, vector: int) -> bool:
        ...

    def detach(self, vector: int) -> None:
        """Stop delivering ``vector`` for good (a storm)."""
        ...

    def end_of_interrupt(self, vector: int) -> None:
        """After the handlers ran (VFIO INTx is masked by the kernel on delivery: unmask it)."""
        ...

    def close(self) -> None:
        ...

    def describe(self) -> str:
        ...


class PollBackend:
    """No interrupts: nothing is delivered; waits keep polling (``reason`` says why)."""

    mode = "poll"
    count = 0

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self._woken = threading.Event()

    def wait(self, timeout_s: float) -> list[int]:
        self._woken.wait(timeout_s)
        self._woken.clear()
        return []

    def pending(self) -> int:
        return 0

    def done(self, count: int) -> None:
        pass

    def wake(self) -> None:
        self._woken.set()

    def mask(self, vector: int) -> bool:
        return False

    def unmask(self, vector: int) -> bool:
        return False

    def detach(self, vector: int) -> None:
        pass

    def end_of_interrupt(self, vector: int) -> None:
        pass

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return f"polling ({self.reason})"


@dataclass
class VectorState:
    """One hardware vector: its handler and what happened to it."""

    vector: int
    name: str = ""
    handler: Handler | None = None
    enabled: bool = True
    masked: bool = False
    soft_masked: bool = False  #: masked by the manager because the backend could not
    pending: bool = False  #: fired while disabled or masked: delivered at enable/unmask
    fired: int = 0  #: deliveries from the backend
    handled: int = 0  #: deliveries a handler claimed
    unhandled: int = 0  #: deliveries nobody claimed (total)
    unhandled_run: int = 0  #: ... in a row
    errors: int = 0  #: handler exceptions
    storm: bool = False  #: cut off as a storm
    in_flight: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"vector": self.vector, "name": self.name or None, "fired": self.fired, "handled": self.handled,
                "unhandled": self.unhandled, "errors": self.errors, "enabled": self.enabled, "masked": self.masked,
                "storm": self.storm}


class IrqManager:
    """The interrupt vectors of one device and the thread their handlers run on.

    Args:
        backend: where interrupts come from.
        clock: the device's clock; a clock with ``add_settler`` (the virtual clock) gets the manager as a
            settler, so simulated time does not move while a handler triggered by a simulated event is pending.
        name: for the thread's name and messages.
        storm_threshold: consecutive unhandled deliveries that make a storm.
    """

    def __init__(self, backend: IrqBackend, clock: Clock | None = None, *, name: str = "",
                 storm_threshold: int = STORM_UNHANDLED) -> None:
        self.backend = backend
        self.name = name or backend.describe()
        self.storm_threshold = storm_threshold
        self.vectors: dict[int, VectorState] = {}
        self.reports: collections.deque[str] = collections.deque(maxlen=MAX_REPORTS)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._idle_waiters = 0  #: threads in ``_idle.wait`` (a delivery notifies only when there are some)
        self._busy = False
        self._stop = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None  #: the handler thread's ``threading.get_ident()``
        self._unsettle: Callable[[], None] | None = None
        self._replay: collections.deque[int] = collections.deque()
        #: held while handlers run: the handler thread's deliveries and a settler's never overlap
        self._delivering = threading.Lock()
        self._inline: int | None = None  #: the thread delivering as a settler (see the module docstring)
        self._take: Callable[[], list[int]] | None = getattr(backend, "take", None)
        #: the backend's ``holding`` where a settler may deliver (see :meth:`settling`)
        self._hold: Callable[[], contextlib.AbstractContextManager[None]] | None = None
        self._threaded = backend.mode != "poll"  #: interrupts are delivered: a handler thread runs, or will
        self._start_lock = threading.Lock()  #: the handler thread is started once, never after close()
        if self._threaded:
            add = getattr(clock, "add_settler", None)
            if add is not None:
                self._unsettle = add(self._settle)
                if self._take is not None:
                    self._hold = getattr(backend, "holding", None)
            # the thread starts when the backend first needs it, where the backend says when (a settler delivers
            # every interrupt a thread raises inside ``settling``: a simulated boot needs no handler thread)
            on_unheld = getattr(backend, "on_unheld", None) if self._hold is not None else None
            if on_unheld is not None:
                on_unheld(self._start_thread)
            else:
                self._start_thread()
        hold, release = getattr(backend, "hold", None), getattr(backend, "release", None)
        self._settling = (_Settling(self, hold, release) if self._hold is not None and hold is not None
                          and release is not None else None)
        #: the backend's cheap "anything fired and not handled?" (``pending() > 0`` where it has no ``busy``)
        self._backend_busy: Callable[[], bool] = getattr(backend, "busy", None) or (lambda: backend.pending() > 0)

    # -- what it is -------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.backend.mode

    @property
    def count(self) -> int:
        return self.backend.count

    @property
    def delivers(self) -> bool:
        """Interrupts are delivered (False in poll mode, and once closed)."""
        return self._threaded and not self._closed

    def _start_thread(self) -> None:
        """Start the handler thread unless it runs or the manager is closed (idempotent, any thread: the backend
        calls it when an interrupt arrives that only the handler thread would deliver; it returns once the thread
        runs, which takes no lock the caller may hold)."""
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            t = threading.Thread(target=self._run, name=f"nova irq {self.name}", daemon=True)
            t.start()  # the thread notes its own ident (_thread_id) before it runs any handler
            self._thread = t

    def on_handler_thread(self) -> bool:
        """Whether the caller is running handlers (the handler thread, or a settler delivering)."""
        me = threading.get_ident()
        return me in (self._thread_id, self._inline)

    def report(self, message: str) -> None:
        """Record a fault (kept in :attr:`reports`, bounded) and log it."""
        self.reports.append(message)
        log.warning("%s: %s", self.name, message)

    def stats(self) -> list[dict[str, Any]]:
        with self._lock:
            return [v.as_json() for _, v in sorted(self.vectors.items())]

    # -- handlers ---------------------------------------------------------------------------------------

    def _state(self, vector: int) -> VectorState:
        if not 0 <= vector < self.backend.count:
            raise IrqError(f"{self.name}: vector {vector} does not exist ({self.backend.describe()}: "
                           f"{self.backend.count} vector(s))")
        st = self.vectors.get(vector)
        if st is None:
            st = self.vectors[vector] = VectorState(vector)
        return st

    def request(self, vector: int, handler: Handler, name: str) -> None:
        """Install ``handler`` for ``vector`` (enabled); a vector has one handler.

        Raises:
            IrqError: no such vector, or it already has a handler.
        """
        if self._closed:
            raise IrqError(f"{self.name}: closed; cannot request vector {vector}")
        with self._lock:
            st = self._state(vector)
            if st.handler is not None:
                raise IrqError(f"{self.name}: vector {vector} already has a handler ({st.name})")
            st.handler, st.name, st.enabled, st.unhandled_run = handler, name, True, 0

    def free(self, vector: int) -> None:
        """Remove the handler of ``vector``; waits for it to finish if it runs; it is never called again.

        Raises:
            IrqError: the vector has no handler, or its handler did not return within the bound.
        """
        with self._lock:
            st = self.vectors.get(vector)
            if st is None or st.handler is None:
                raise IrqError(f"{self.name}: vector {vector} has no handler to free")
            st.handler = None
            st.pending = False
            self._wait_not_in_flight(st, "free")

    def enable(self, vector: int) -> None:
        """Call the handler again; an interrupt that arrived while disabled is delivered now."""
        with self._lock:
            st = self._state(vector)
            st.enabled = True
            replay = self._take_pending(st)
        if replay:
            self._kick(vector)

    def disable(self, vector: int) -> None:
        """Stop calling the handler of ``vector`` (interrupts are remembered); waits for a handler in progress."""
        with self._lock:
            st = self._state(vector)
            st.enabled = False
            self._wait_not_in_flight(st, "disable")

    def mask(self, vector: int) -> None:
        """Mask ``vector`` at the source where the backend can, in software otherwise; never waits."""
        done = self.backend.mask(vector)
        with self._lock:
            st = self._state(vector)
            st.masked, st.soft_masked = True, not done

    def unmask(self, vector: int) -> None:
        with self._lock:
            st = self._state(vector)
            soft = st.soft_masked
            st.masked = st.soft_masked = False
            replay = self._take_pending(st)
        if not soft:
            self.backend.unmask(vector)
        if replay:
            self._kick(vector)

    def _take_pending(self, st: VectorState) -> bool:
        if st.pending and st.enabled and not st.masked:
            st.pending = False
            return True
        return False

    def _wait_not_in_flight(self, st: VectorState, doing: str) -> None:
        """With the lock held: wait for ``st``'s handler to return (not from the handler thread itself)."""
        if self.on_handler_thread():
            return  # a handler freeing or disabling a vector: the dispatcher checks again before any call
        deadline = time.monotonic() + HANDLER_TIMEOUT_S
        while st.in_flight:
            left = deadline - time.monotonic()
            if left <= 0:
                raise IrqError(f"{self.name}: {doing} of vector {st.vector} ({st.name}): its handler has not "
                               f"returned after {HANDLER_TIMEOUT_S:g} s")
            self._idle_wait(left)

    def _idle_wait(self, timeout: float) -> None:
        """With the lock held: wait for a delivery to notify ``_idle`` (counted, so deliveries without a waiter
        skip the notify)."""
        self._idle_waiters += 1
        try:
            self._idle.wait(timeout)
        finally:
            self._idle_waiters -= 1

    def _notify_idle(self) -> None:
        """With the lock held: wake the threads waiting for handlers to finish (there are rarely any)."""
        if self._idle_waiters:
            self._idle.notify_all()

    def _kick(self, vector: int) -> None:
        """Deliver ``vector`` once more (a remembered interrupt), on the handler thread."""
        with self._lock:
            self._replay.append(vector)
        self._start_thread()
        self.backend.wake()

    # -- waiting for handlers ---------------------------------------------------------------------------

    def synchronize(self, timeout_s: float = HANDLER_TIMEOUT_S) -> None:
        """Return once every interrupt signalled before the call has been handled.

        Raises:
            IrqError: still busy after ``timeout_s`` (a stuck handler).
        """
        if not self._threaded or self.on_handler_thread():
            return
        deadline = time.monotonic() + timeout_s
        if self._hold is not None and self.backend.pending():
            self._start_thread()  # a settling thread's messages woke no one (``holding``): the thread looks now
            self.backend.wake()
        with self._lock:
            while not self._stop and (self._busy or self._replay or self.backend.pending()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise IrqError(f"{self.name}: interrupts still being handled after {timeout_s:g} s")
                self._idle_wait(min(left, 0.05))  # backend.pending() changes without notifying us

    def settling(self) -> contextlib.AbstractContextManager[None]:
        """A block in which the calling thread will settle what it raises (it waits on simulated time for the
        answer, as an RPC does after its doorbell): the backend wakes no handler thread for this thread's
        interrupts, this thread delivers them when it next moves simulated time, and what is left when the block
        ends (an exception included) it delivers then, before returning. Without a settler (real time) or a
        backend that can hold, the block changes nothing.

        The block is one reusable object per manager (its state is per thread, in the backend): entering it costs
        no generator, which matters on the RPC path that enters it once per round trip."""
        if self._settling is not None:
            return self._settling
        if self._hold is None:
            return contextlib.nullcontext()
        return self._settling_held(self._hold)

    @contextlib.contextmanager
    def _settling_held(self, hold: Callable[[], contextlib.AbstractContextManager[None]]) -> Iterator[None]:
        """:meth:`settling` with a backend that has ``holding()`` but not ``hold``/``release``."""
        if self.on_handler_thread():
            yield
            return
        try:
            with hold():
                yield
        finally:
            self._settle()

    def _settle(self) -> None:
        """A VirtualClock settler: the handlers of what already fired run before simulated time moves."""
        if self._closed:
            return
        if not (self._busy or self._replay or self._backend_busy()):
            return  # nothing fired and unhandled (the common case: no lock, no thread switch)
        if self.on_handler_thread():
            return
        if self._take is not None and self._delivering.acquire(blocking=False):
            try:
                self._deliver_settling()
            finally:
                self._delivering.release()
        if not (self._busy or self._replay or self._backend_busy()):
            return  # nothing fired is left for the thread (what synchronize() would find, without its lock)
        try:
            self.synchronize()
        except IrqError as e:
            self.report(str(e))

    def _deliver_settling(self) -> None:
        """With ``_delivering`` held: deliver, in this thread, what has fired (nothing while replays wait)."""
        take = self._take
        assert take is not None
        if self._stop or self._replay:  # read without the lock: a replay queued just after is as if after a locked look
            return
        fired = take()
        if not fired:
            return
        self._inline = threading.get_ident()
        try:
            for v in fired:
                self._deliver(v)
        finally:
            self._inline = None
            self.backend.done(len(fired))
            with self._lock:
                self._notify_idle()

    # -- the handler thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        self._thread_id = threading.get_ident()  # before any handler runs (start() may not have returned yet)
        while True:
            with self._lock:
                if self._stop:
                    return
                replay = list(self._replay)
                self._replay.clear()
                self._busy = bool(replay)
            if replay:
                with self._delivering:
                    for v in replay:
                        self._deliver(v, replayed=True)
            else:
                fired = self.backend.wait(WAIT_SLICE_S)  # counted in backend.pending() until done()
                if fired:
                    with self._delivering:  # after a settler's delivery of what fired before these
                        for v in fired:
                            self._deliver(v)
                    self.backend.done(len(fired))
            with self._lock:
                self._busy = False
                self._notify_idle()

    def _deliver(self, vector: int, *, replayed: bool = False) -> None:
        lock = self._lock
        lock.acquire()  # not ``with`` on the two round trips of every delivery: half the cost on CPython 3.11
        try:
            st = self.vectors.get(vector)
            if st is None:
                st = self.vectors[vector] = VectorState(vector)
            if not replayed:
                st.fired += 1
            if st.storm:
                return
            handler = st.handler
            if handler is not None and (not st.enabled or st.masked):
                st.pending = True
                return
            st.in_flight = handler is not None
        finally:
            lock.release()
        handled = False
        try:
            if handler is not None:
                try:
                    handled = bool(handler(vector))
                except Exception as e:  # a handler's bug must not kill the thread or the vector
                    handled = True  # it was ours: not a storm
                    with self._lock:
                        st.errors += 1
                        errors = st.errors
                    if errors <= 10 or errors % 1000 == 0:
                        self.report(f"vector {vector} ({st.name}): handler raised {type(e).__name__}: {e} "
                                    f"({errors} so far); the vector stays enabled")
        except BaseException:
            with self._lock:
                st.in_flight = False
                self._notify_idle()
            raise
        lock.acquire()
        try:
            st.in_flight = False
            self._notify_idle()
            if handled:  # accounted in the same lock round trip (the common case ends here)
                st.handled += 1
                st.unhandled_run = 0
                storm = False
            else:
                storm = self._account_unhandled(st)
        finally:
            lock.release()
        if storm:
            self._storm(st)
        self.backend.end_of_interrupt(vector)

    def _account_unhandled(self, st: VectorState) -> bool:
        """With the lock held: count an unclaimed delivery; True when it makes a storm (reported once)."""
        st.unhandled += 1
        st.unhandled_run += 1
        storm = st.unhandled_run >= self.storm_threshold and not st.storm
        if storm:
            st.storm = True
        return storm

    def _storm(self, st: VectorState) -> None:
        why = "no handler" if st.handler is None else f"handler {st.name!r} never claims it"
        self.report(f"vector {st.vector}: interrupt storm ({st.unhandled_run} unhandled in a row, {why}): "
                    f"disabled at the source")
        self.backend.detach(st.vector)

    # -- life cycle -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the thread (after the handler in progress), release the backend; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._unsettle is not None:
            self._unsettle()
            self._unsettle = None
        with self._lock:
            self._stop = True
            for st in self.vectors.values():
                st.handler = None
        with self._start_lock:  # after this, no thread starts (_closed is set)
            thread = self._thread
        if thread is not None:
            self.backend.wake()
            if not self.on_handler_thread():
                thread.join(HANDLER_TIMEOUT_S)
        self.backend.close()

    def __enter__(self) -> IrqManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<IrqManager {self.name}: {self.mode}, {len(self.vectors)} vector(s)>"



class _Settling:
    """:meth:`IrqManager.settling` for a backend with ``hold()``/``release()`` (the pair inside ``holding()``): one
    object per manager, entered by any thread (the backend keeps the per-thread depth)."""

    __slots__ = ("_hold", "_manager", "_release")

    def __init__(self, manager: IrqManager, hold: Callable[[], None], release: Callable[[], None]) -> None:
        self._manager = manager
        self._hold = hold
        self._release = release

    def __enter__(self) -> None:
        if not self._manager.on_handler_thread():
            self._hold()

    def __exit__(self, *exc: object) -> None:
        m = self._manager
        if m.on_handler_thread():
            return
        try:
            self._release()
        finally:
            m._settle()


class Wakeup:
    """A counter interrupt handlers bump; waiters wait for it to move past the value they saw.

    ``missed`` counts waits whose condition came true with no interrupt (an interrupt that was lost).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._cond = threading.Condition()
        self._count = 0
        self._waiters = 0  #: threads blocked in the real-time wait (on simulated time nobody blocks)
        self.missed = 0

    @property
    def count(self) -> int:
        return self._count

    def signal(self) -> None:
        cond = self._cond
        cond.acquire()  # the condition's lock's own acquire/release: not ``with`` (a Python-level __enter__)
        try:
            self._count += 1
            if self._waiters:
                cond.notify_all()
        finally:
            cond.release()

    def wait(self, seen: int, clock: Clock, timeout: int) -> bool:
        """Wait up to ``timeout`` ns of ``clock`` for :attr:`count` to differ from ``seen``."""
        run_until = getattr(clock, "run_until", None)
        if run_until is not None:
            return bool(run_until(lambda: self._count != seen, timeout))
        with self._cond:
            self._waiters += 1
            try:
                return self._cond.wait_for(lambda: self._count != seen, max(timeout, 0) / SEC)
            finally:
                self._waiters -= 1


def wait_woken(wakeup: Wakeup, done: Callable[[], bool], *, clock: Clock, timeout: int, what: str,
               recheck: int = RECHECK) -> None:
    """Wait until ``done()`` holds, checking it after every :meth:`Wakeup.signal` (and every ``recheck`` ns).

    The interrupt-driven counterpart of :func:`~nova_core.hw.poll.poll_timeout`: the same bound, the same
    message, and the same report to a clock that observes waits.

    Raises:
        PollTimeout: ``done()`` still false after ``timeout`` ns; the message names ``what``.
    """
    start = clock.now()
    deadline = start + timeout
    seen = wakeup.count
    if done():
        return
    observe = getattr(clock, "observe_wait", None)
    host_start = time.perf_counter_ns()
    # simulated time: the clock's run_until, resolved once per wait and called directly (what Wakeup.wait does)
    run_until: Callable[[Callable[[], bool], int], bool] | None = getattr(clock, "run_until", None)
    wakes = 0
    while True:
        now = clock.now()
        if now >= deadline:
            if done():
                break
            if observe is not None:
                observe(what, start, host_start, wakes, False)
            raise PollTimeout(f"{what} (interrupt-driven wait, {wakes} interrupt(s) seen)", timeout)
        step = min(recheck, deadline - now)
        if run_until is not None:
            woken = bool(run_until(lambda: wakeup._count != seen, step))  # noqa: B023 - called before seen changes
        else:
            woken = wakeup.wait(seen, clock, step)
        seen = wakeup._count
        wakes += int(woken)
        if done():
            if not woken:
                wakeup.missed += 1
                if wakeup.missed == 1:
                    log.warning("%s: %s came true with no interrupt (an interrupt was lost?)", wakeup.name, what)
            break
    if observe is not None:
        observe(what, start, host_start, wakes, True)
