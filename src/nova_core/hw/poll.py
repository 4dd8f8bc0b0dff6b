"""nova_core.hw.poll: the bounded wait every hardware condition goes through.

A wait always has a timeout taken from the hardware contract (documented at the call site) and a
sentence saying what it waits for; on expiry :class:`~nova_core.errors.PollTimeout` carries both and the
last value seen, so "timed out" is never the whole story.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import PollTimeout
from .clock import US, Clock

T = TypeVar("T")


def poll_timeout(
    read: Callable[[], T],
    condition: Callable[[T], bool],
    *,
    clock: Clock,
    timeout: int,
    interval: int = 10 * US,
    what: str,
) -> T:
    """Call ``read`` until ``condition(value)`` holds; return that value.

    Args:
        read: produces the value to test (typically a register read).
        condition: the predicate awaited.
        clock: the clock to wait on (virtual on the simulated GPU).
        timeout: bound in nanoseconds; the condition is checked once more after it expires, so a
            condition that became true during the last sleep is not reported as a timeout.
        interval: nanoseconds between reads.
        what: the awaited condition in words, e.g. ``"GSP falcon halted (CPUCTL.HALTED)"``.

    Raises:
        PollTimeout: naming ``what``, the timeout and the last value read.
    """
    if timeout < 0:
        raise ValueError(f"poll_timeout: negative timeout {timeout} for {what}")
    interval = max(interval, 1)
    start = clock.now()
    deadline = start + timeout
    value = read()
    if condition(value):
        return value
    # It has to wait: a clock that observes waits (nova_core.hw.events.ObservedClock) hears about it.
    observe = getattr(clock, "observe_wait", None)
    host_start = time.perf_counter_ns()
    polls = 1
    while True:
        now = clock.now()
        if now >= deadline:
            if observe is not None:
                observe(what, start, host_start, polls, False)
            raise PollTimeout(what, timeout, value)
        clock.sleep(min(interval, deadline - now))
        value = read()
        polls += 1
        if condition(value):
            if observe is not None:
                observe(what, start, host_start, polls, True)
            return value
