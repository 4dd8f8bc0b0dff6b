"""Virtual and real clocks, and the bounded poll."""

from __future__ import annotations

import pytest

from nova_core.errors import PollTimeout
from nova_core.hw.clock import MS, SEC, US, MonotonicClock, VirtualClock
from nova_core.hw.poll import poll_timeout


def test_virtual_clock_fires_timers_in_order() -> None:
    clk = VirtualClock()
    seen: list[tuple[str, int]] = []
    clk.call_later(20 * US, lambda: seen.append(("b", clk.now())))
    clk.call_later(10 * US, lambda: seen.append(("a", clk.now())))
    h = clk.call_later(15 * US, lambda: seen.append(("x", clk.now())))
    h.cancel()
    clk.sleep(30 * US)
    assert seen == [("a", 10 * US), ("b", 20 * US)]
    assert clk.now() == 30 * US and clk.slept == 30 * US and clk.pending() == 0


def test_timer_scheduling_a_timer_and_advance() -> None:
    clk = VirtualClock()
    seen: list[int] = []
    clk.call_later(5, lambda: clk.call_later(5, lambda: seen.append(clk.now())))
    clk.advance(20)
    assert seen == [10] and clk.charged == 20 and clk.slept == 0


def test_settlers_run_before_time_moves() -> None:
    clk = VirtualClock()
    calls: list[int] = []
    remove = clk.add_settler(lambda: calls.append(clk.now()))
    clk.sleep(7)
    remove()
    clk.sleep(7)
    assert calls == [0]


def test_poll_returns_value_when_condition_holds() -> None:
    clk = VirtualClock()
    clk.call_later(3 * MS, lambda: state.__setitem__(0, 1))
    state = [0]
    v = poll_timeout(lambda: state[0], lambda v: v == 1, clock=clk, timeout=10 * MS, interval=1 * MS, what="x")
    assert v == 1 and 3 * MS <= clk.now() <= 4 * MS


def test_poll_timeout_names_condition_and_last_value() -> None:
    clk = VirtualClock()
    with pytest.raises(PollTimeout, match=r"timed out after 2 s waiting for GSP halted; last value 0x10") as ei:
        poll_timeout(lambda: 0x10, lambda v: False, clock=clk, timeout=2 * SEC, interval=1 * MS,
                     what="GSP halted")
    assert ei.value.last == 0x10 and ei.value.timeout_ns == 2 * SEC
    assert isinstance(ei.value, TimeoutError)
    assert clk.now() == 2 * SEC  # virtual: no real waiting


def test_poll_checks_once_more_at_the_deadline() -> None:
    clk = VirtualClock()
    clk.call_at(10 * MS, lambda: state.__setitem__(0, 1))
    state = [0]
    assert poll_timeout(lambda: state[0], bool, clock=clk, timeout=10 * MS, interval=4 * MS, what="x") == 1


def test_monotonic_clock_really_waits() -> None:
    clk = MonotonicClock()
    t0 = clk.now()
    clk.sleep(2 * MS)
    assert clk.now() - t0 >= 2 * MS
