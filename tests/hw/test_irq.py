"""The IRQ abstraction (nova_core.hw.irq): handlers on their own thread, enable/disable/mask, synchronize, free,
the fault cases (a handler that raises, a storm, a spurious vector), and the clock-aware wait for an interrupt."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from nova_core.errors import IrqError, PollTimeout
from nova_core.hw.clock import MS, SEC, US, MonotonicClock, VirtualClock
from nova_core.hw.irq import IrqManager, PollBackend, Wakeup, wait_woken


class FakeBackend:
    """Vectors fired by the test; masking latches a pending bit (as an MSI-X PBA does) when ``maskable``."""

    def __init__(self, count: int = 4, *, maskable: bool = True, mode: str = "msi-x") -> None:
        self.mode = mode
        self.count = count
        self.maskable = maskable
        self._cond = threading.Condition()
        self._queue: list[int] = []
        self._taken = 0
        self._woken = False
        self.masked: set[int] = set()
        self.latched: set[int] = set()
        self.detached: list[int] = []
        self.dropped = 0
        self.eoi: list[int] = []
        self.closed = False

    def fire(self, v: int) -> None:
        with self._cond:
            if v in self.detached:
                self.dropped += 1
                return
            if v in self.masked:
                self.latched.add(v)
                return
            self._queue.append(v)
            self._cond.notify_all()

    def wait(self, timeout_s: float) -> list[int]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._woken, timeout_s)
            self._woken = False
            out, self._queue = self._queue, []
            self._taken += len(out)
            return out

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._taken

    def done(self, count: int) -> None:
        with self._cond:
            self._taken -= count

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def mask(self, vector: int) -> bool:
        if self.maskable:
            self.masked.add(vector)
        return self.maskable

    def unmask(self, vector: int) -> bool:
        self.masked.discard(vector)
        if vector in self.latched:
            self.latched.discard(vector)
            self.fire(vector)
        return self.maskable

    def detach(self, vector: int) -> None:
        self.detached.append(vector)

    def end_of_interrupt(self, vector: int) -> None:
        self.eoi.append(vector)

    def close(self) -> None:
        self.closed = True

    def describe(self) -> str:
        return "fake"


class Recorder:
    def __init__(self, result: bool = True) -> None:
        self.calls: list[tuple[int, str]] = []
        self.result = result
        self.event = threading.Event()

    def __call__(self, vector: int) -> bool:
        self.calls.append((vector, threading.current_thread().name))
        self.event.set()
        return self.result


@pytest.fixture
def mgr() -> tuple[FakeBackend, IrqManager]:
    be = FakeBackend()
    m = IrqManager(be, name="test")
    yield be, m
    m.close()


def fire_and_sync(be: FakeBackend, m: IrqManager, v: int) -> None:
    be.fire(v)
    m.synchronize()


def test_handler_runs_on_the_dedicated_thread(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    rec = Recorder()
    m.request(1, rec, "one")
    fire_and_sync(be, m, 1)
    assert rec.calls == [(1, "nova irq test")] and threading.current_thread().name != "nova irq test"
    assert m.vectors[1].handled == 1 and be.eoi == [1]
    with pytest.raises(IrqError, match="already has a handler"):
        m.request(1, rec, "again")
    with pytest.raises(IrqError, match="vector 4 does not exist"):
        m.request(4, rec, "four")


def test_disabled_vector_is_remembered_and_delivered_at_enable(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    rec = Recorder()
    m.request(0, rec, "zero")
    m.disable(0)
    fire_and_sync(be, m, 0)
    fire_and_sync(be, m, 0)
    assert rec.calls == [] and m.vectors[0].pending and m.vectors[0].fired == 2
    m.enable(0)
    m.synchronize()
    assert len(rec.calls) == 1 and not m.vectors[0].pending  # one remembered interrupt, as Linux's IRQS_PENDING


def test_disable_and_free_wait_for_the_running_handler(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(v: int) -> bool:
        calls.append(v)
        entered.set()
        release.wait(5)
        return True

    m.request(2, slow, "slow")
    be.fire(2)
    assert entered.wait(5)
    done = threading.Event()

    def free_it() -> None:
        m.free(2)
        done.set()

    t = threading.Thread(target=free_it)
    t.start()
    assert not done.wait(0.2)  # free() waits while the handler runs
    release.set()
    t.join(5)
    assert done.is_set()
    fire_and_sync(be, m, 2)
    assert calls == [2]  # never called after free() returned
    assert m.vectors[2].unhandled == 1
    with pytest.raises(IrqError, match="no handler to free"):
        m.free(2)


def test_mask_at_the_source_latches_and_unmask_delivers() -> None:
    be = FakeBackend(maskable=True)
    with IrqManager(be, name="m") as m:
        rec = Recorder()
        m.request(3, rec, "three")
        m.mask(3)
        fire_and_sync(be, m, 3)
        assert rec.calls == [] and be.latched == {3} and not m.vectors[3].soft_masked
        m.unmask(3)
        m.synchronize()
        assert len(rec.calls) == 1


def test_mask_in_software_where_the_source_cannot() -> None:
    be = FakeBackend(maskable=False)
    with IrqManager(be, name="s") as m:
        rec = Recorder()
        m.request(0, rec, "zero")
        m.mask(0)
        assert m.vectors[0].soft_masked
        fire_and_sync(be, m, 0)
        assert rec.calls == [] and m.vectors[0].pending
        m.unmask(0)
        m.synchronize()
        assert len(rec.calls) == 1


def test_a_handler_may_mask_its_own_vector(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    calls: list[int] = []

    def once(v: int) -> bool:
        calls.append(v)
        m.mask(v)  # never waits: called on the handler thread
        return True

    m.request(1, once, "once")
    fire_and_sync(be, m, 1)
    fire_and_sync(be, m, 1)
    assert calls == [1] and be.latched == {1}


def test_handler_that_raises_is_reported_and_stays_usable(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    n = {"calls": 0}

    def flaky(v: int) -> bool:
        n["calls"] += 1
        if n["calls"] == 1:
            raise ValueError("boom")
        return True

    m.request(0, flaky, "flaky")
    fire_and_sync(be, m, 0)
    fire_and_sync(be, m, 0)
    st = m.vectors[0]
    assert n["calls"] == 2 and st.errors == 1 and st.handled == 2 and not st.storm  # a raise is not a storm
    assert any("handler raised ValueError: boom" in r and "stays enabled" in r for r in m.reports)
    assert m._thread is not None and m._thread.is_alive()


def test_storm_without_handler_is_cut_off_and_reported_once() -> None:
    be = FakeBackend()
    with IrqManager(be, name="storm", storm_threshold=50) as m:
        for _ in range(80):
            be.fire(2)  # a spurious vector: nobody requested it
        m.synchronize()
        st = m.vectors[2]
        assert st.storm and be.detached == [2]
        assert st.unhandled == 50  # deliveries after the cut-off come from nowhere (the fake drops them)
        assert be.dropped == 30 or st.fired >= 50
        storms = [r for r in m.reports if "interrupt storm" in r]
        assert len(storms) == 1 and "vector 2" in storms[0] and "no handler" in storms[0]


def test_storm_of_a_handler_that_never_claims(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    m.storm_threshold = 10
    rec = Recorder(result=False)
    m.request(1, rec, "never-mine")
    for _ in range(10):
        fire_and_sync(be, m, 1)
    assert m.vectors[1].storm and be.detached == [1]
    assert sum("interrupt storm" in r for r in m.reports) == 1 and "never claims it" in m.reports[-1]


def test_a_claimed_interrupt_resets_the_storm_count(mgr: tuple[FakeBackend, IrqManager]) -> None:
    be, m = mgr
    m.storm_threshold = 5
    answers = iter([False] * 4 + [True] + [False] * 4)
    m.request(0, lambda v: next(answers), "sometimes")
    for _ in range(9):
        fire_and_sync(be, m, 0)
    assert not m.vectors[0].storm and m.vectors[0].unhandled == 8


def test_close_stops_the_thread_and_refuses_requests() -> None:
    be = FakeBackend()
    m = IrqManager(be, name="c")
    rec = Recorder()
    m.request(0, rec, "zero")
    thread = m._thread
    m.close()
    assert be.closed and thread is not None and not thread.is_alive() and not m.delivers
    be.fire(0)
    time.sleep(0.05)
    assert rec.calls == []
    with pytest.raises(IrqError, match="closed"):
        m.request(1, rec, "one")
    m.close()  # idempotent


def test_poll_backend_has_no_thread_and_no_vectors() -> None:
    m = IrqManager(PollBackend("no interrupts here"), name="p")
    assert m.mode == "poll" and not m.delivers and m._thread is None
    assert "no interrupts here" in m.backend.describe()
    with pytest.raises(IrqError, match="vector 0 does not exist"):
        m.request(0, Recorder(), "zero")
    m.synchronize()  # nothing to wait for
    m.close()


# -- waiting for an interrupt ---------------------------------------------------------------------------------


def test_wait_woken_returns_when_signalled_on_real_time() -> None:
    w = Wakeup("t")
    state = {"done": False}

    def later() -> None:
        time.sleep(0.05)
        state["done"] = True
        w.signal()

    threading.Thread(target=later).start()
    t0 = time.monotonic()
    wait_woken(w, lambda: state["done"], clock=MonotonicClock(), timeout=5 * SEC, what="the test's condition")
    assert time.monotonic() - t0 < 2 and w.missed == 0


def test_wait_woken_times_out_naming_what() -> None:
    with pytest.raises(PollTimeout, match=r"timed out after 50 ms waiting for the reply to X \(interrupt-driven"):
        wait_woken(Wakeup(), lambda: False, clock=MonotonicClock(), timeout=50 * MS, what="the reply to X",
                   recheck=10 * MS)


def test_wait_woken_counts_a_lost_interrupt() -> None:
    w = Wakeup("lossy")
    clock = VirtualClock()
    state = {"done": False}
    clock.call_later(3 * MS, lambda: state.update(done=True))  # the condition comes true, no signal
    wait_woken(w, lambda: state["done"], clock=clock, timeout=SEC, what="x", recheck=10 * MS)
    assert w.missed == 1 and clock.now() == 10 * MS  # found at the first recheck, not after the whole timeout


def test_run_until_jumps_from_event_to_event() -> None:
    clock = VirtualClock()
    seen: list[int] = []
    for t in (5 * US, 7 * US, 40 * US):
        clock.call_at(t, lambda t=t: seen.append(t))
    assert clock.run_until(lambda: len(seen) == 2, SEC)
    assert clock.now() == 7 * US  # not a fixed poll step past it
    assert not clock.run_until(lambda: False, 100 * US)
    assert clock.now() == 107 * US and seen == [5 * US, 7 * US, 40 * US]  # bounded by the deadline


def test_manager_settles_before_virtual_time_moves() -> None:
    """An interrupt fired by a simulated event is handled before the waiting thread looks again."""
    clock = VirtualClock()
    be = FakeBackend()
    with IrqManager(be, clock, name="settle") as m:
        w = Wakeup()

        def handler(v: int) -> bool:
            time.sleep(0.02)  # slower than the waiter: it must not run past us
            w.signal()
            return True

        m.request(0, handler, "zero")
        clock.call_at(50 * US, lambda: be.fire(0))
        seen = w.count
        assert w.wait(seen, clock, SEC)
        assert clock.now() == 50 * US


class TakingBackend(FakeBackend):
    """A backend whose fired vectors a settler may take (as the simulated GPU's message backend)."""

    def take(self) -> list[int]:
        with self._cond:
            if self._taken or not self._queue:
                return []
            out, self._queue = self._queue, []
            self._taken = len(out)
            return out


def test_the_thread_that_moves_virtual_time_delivers_what_fired() -> None:
    """With a backend that lets it take the vectors, the settler runs the handlers itself, in firing order, before
    time moves; synchronize() alone still leaves them to the handler thread."""
    clock = VirtualClock()
    be = TakingBackend()
    with IrqManager(be, clock, name="inline") as m:
        calls: list[tuple[int, int, str]] = []
        w = Wakeup()

        def handler(v: int) -> bool:
            assert m.on_handler_thread()
            calls.append((v, clock.now(), threading.current_thread().name))
            w.signal()
            return True

        for v in (0, 1, 2):
            m.request(v, handler, f"v{v}")
        with be._cond:  # the handler thread cannot take them before the settler does
            clock.call_at(30 * US, lambda: [be.fire(v) for v in (2, 0, 1)])
            clock.sleep(30 * US)  # fires them; not settled yet
            assert calls == []
        seen = w.count
        assert w.wait(seen, clock, SEC)
        me = threading.current_thread().name
        assert calls == [(2, 30 * US, me), (0, 30 * US, me), (1, 30 * US, me)] and clock.now() == 30 * US
        assert [m.vectors[v].handled for v in (0, 1, 2)] == [1, 1, 1] and be.pending() == 0
        assert not m.on_handler_thread()
        be.fire(1)
        m.synchronize()
        assert calls[-1] == (1, 30 * US, "nova irq inline")


def thread_names(m: IrqManager, vector: int) -> list[str]:
    """Request ``vector`` with a handler that notes the name of the thread it runs on; returns the notes."""
    names: list[str] = []
    m.request(vector, lambda v: names.append(threading.current_thread().name) is None, f"v{vector}")
    return names


class HoldingBackend(TakingBackend):
    """... and that does not wake the handler thread for a vector fired by a thread inside ``holding()`` (as the
    message backend does)."""

    def __init__(self) -> None:
        super().__init__()
        self.holders: set[int] = set()
        self.notified = 0

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        self.holders.add(threading.get_ident())
        try:
            yield
        finally:
            self.holders.discard(threading.get_ident())

    def fire(self, v: int) -> None:
        with self._cond:
            if threading.get_ident() not in self.holders:
                self.notified += 1
                super().fire(v)
                return
            self._queue.append(v)  # no notify: the holding thread delivers it


def test_a_settling_block_delivers_its_own_interrupts_in_its_thread() -> None:
    """Inside settling(), what this thread fires wakes no handler thread: it is delivered by this thread when it
    moves simulated time, or when the block ends; outside the block, and from other threads, it wakes the thread."""
    clock = VirtualClock()
    be = HoldingBackend()
    me = threading.current_thread().name
    with IrqManager(be, clock, name="held") as m:
        calls = thread_names(m, 0)
        be.fire(0)  # outside a block: the handler thread
        m.synchronize()
        assert calls == ["nova irq held"] and be.notified == 1
        with m.settling():
            be.fire(0)
            assert calls == ["nova irq held"]  # not yet: nobody was woken
            clock.sleep(10 * US)  # this thread moves time: it delivers first
            assert calls == ["nova irq held", me]
            be.fire(0)  # left when the block ends: delivered then, in this thread
        assert calls == ["nova irq held", me, me] and be.pending() == 0 and be.notified == 1
        other = threading.Thread(target=be.fire, args=(0,))
        with m.settling():
            other.start()
            other.join()  # another thread's interrupt wakes the handler thread even now
            m.synchronize()
        assert calls[-1] == "nova irq held" and be.notified == 2
        with pytest.raises(RuntimeError), m.settling():
            be.fire(0)
            raise RuntimeError("the block fails")
        assert calls[-1] == me and be.pending() == 0  # delivered on the way out all the same
    real = HoldingBackend()
    with IrqManager(real, MonotonicClock(), name="real time") as r, r.settling():
        real.fire(0)  # no settler on real time: the block holds nothing
        assert real.notified == 1 and not real.holders


class LazyBackend(HoldingBackend):
    """... that says when a vector fires that no holding thread will deliver (``on_unheld``, as the message backend
    does): the manager starts its handler thread then, not before."""

    def __init__(self) -> None:
        super().__init__()
        self.start: Callable[[], None] | None = None

    def on_unheld(self, start: Callable[[], None]) -> None:
        self.start = start

    def fire(self, v: int) -> None:
        held = threading.get_ident() in self.holders
        super().fire(v)
        if not held and self.start is not None:
            self.start()


def test_the_handler_thread_starts_when_first_needed() -> None:
    """With a backend that says when it needs it, the thread starts at the first interrupt no settling thread
    delivers, or at the first replay; interrupts a thread settles itself never start it."""
    clock = VirtualClock()
    be = LazyBackend()
    me = threading.current_thread().name
    with IrqManager(be, clock, name="lazy") as m:
        calls = thread_names(m, 0)
        assert m.delivers and m._thread is None
        with m.settling():
            be.fire(0)
            clock.sleep(10 * US)
            be.fire(0)  # delivered when the block ends
        assert calls == [me, me] and m._thread is None and be.pending() == 0
        m.disable(0)
        with m.settling():
            be.fire(0)  # remembered: the vector is disabled
        assert calls == [me, me] and m._thread is None
        m.enable(0)  # the replay is the handler thread's
        m.synchronize()
        assert calls == [me, me, "nova irq lazy"] and m._thread is not None
    be2 = LazyBackend()
    with IrqManager(be2, clock, name="lazy2") as m2:
        calls2 = thread_names(m2, 1)
        assert m2._thread is None
        be2.fire(1)  # outside a settling block: only the handler thread would deliver it
        m2.synchronize()
        assert calls2 == ["nova irq lazy2"]
    be3 = LazyBackend()
    m3 = IrqManager(be3, clock, name="lazy3")
    calls3 = thread_names(m3, 2)
    m3.close()  # never started: nothing to stop
    be3.fire(2)
    assert m3._thread is None and be3.closed and calls3 == []


def test_synchronize_starts_the_thread_for_what_another_thread_holds() -> None:
    """A vector another thread fired inside its settling block, not yet delivered: synchronize() hands it to the
    handler thread (started for it) instead of waiting for that block to end."""
    clock = VirtualClock()
    be = LazyBackend()
    with IrqManager(be, clock, name="held lazy") as m:
        calls = thread_names(m, 0)
        fired, leave = threading.Event(), threading.Event()

        def settler() -> None:
            with m.settling():
                be.fire(0)
                fired.set()
                leave.wait(5)

        t = threading.Thread(target=settler)
        t.start()
        assert fired.wait(5) and m._thread is None
        m.synchronize()
        leave.set()
        t.join(5)
        assert calls == ["nova irq held lazy"]


def test_a_settler_never_overtakes_the_handler_thread() -> None:
    """While the handler thread holds vectors it took, a later one is not delivered by a settler before them."""
    clock = VirtualClock()
    be = TakingBackend()
    with IrqManager(be, clock, name="order") as m:
        order: list[int] = []
        release = threading.Event()

        def slow(v: int) -> bool:
            release.wait(5)
            order.append(v)
            return True

        m.request(0, slow, "slow")
        m.request(1, lambda v: order.append(v) is None, "fast")
        be.fire(0)
        deadline = time.monotonic() + 5
        while not m.vectors[0].in_flight and time.monotonic() < deadline:  # the thread is in the slow handler
            time.sleep(0.001)
        be.fire(1)
        assert be.take() == []  # vector 0 is not done
        threading.Timer(0.05, release.set).start()
        clock.sleep(0)  # settles: waits for the thread, which then delivers vector 1 after vector 0
        assert order == [0, 1]


def test_interrupt_waits_are_counted_by_an_observed_clock() -> None:
    from nova_core.hw.events import ObservedClock, Timeline

    inner = VirtualClock()
    tl = Timeline(inner)
    clock = ObservedClock(inner, tl)
    w = Wakeup()
    inner.call_at(30 * US, w.signal)
    wait_woken(w, lambda: w.count > 0, clock=clock, timeout=SEC, what="the signal")
    assert tl.dev_sleep_ns == 30 * US and [s.name for s in tl.of_kind("wait")] == ["the signal"]
    assert ObservedClock(MonotonicClock(), tl).run_until is None  # a real clock: waits block on the wakeup
