"""nova_core.engines.fence: fences on semaphores, and the non-stall interrupt hook that wakes their waiters.

A channel counts its submissions on a 32-bit *timeline*: the work of submission ``n`` ends with a semaphore
release of ``n`` (the copy engine's ``LAUNCH_DMA`` semaphore, or host's ``SEM_EXECUTE``) into the channel's
semaphore word in system memory. A :class:`Fence` is ``(channel, n)``; it is signalled once the word has
reached ``n`` in 32-bit wrap-around order - nouveau's test ``(int)(read(chan) - seqno) >= 0``
(``nouveau_fence_is_signaled``).

:meth:`Fence.wait` polls the word as nouveau's ``nouveau_fence_wait_legacy`` does (sleeps from 1 us, doubling
to 1 ms), draining GSP-RM's messages between looks so that a robust-channel error (RC_TRIGGERED) - or the
error notifier the GPU wrote - ends the wait at once with :class:`~nova_core.errors.ChannelFault` instead of a
timeout. The bound is nouveau's ``nouveau_fence_wait`` (15 s).

:class:`NonStall` carries the non-stall interrupts to the waiters: a channel whose engine has a non-stall vector
in GSP-RM's interrupt table listens to it (:class:`~nova_core.irq.nonstall.NonstallListeners`, for as long as the
channel is open, so the vector is allowed only while it has users, as nouveau's ``nvkm_event``) and the
listener calls :meth:`NonStall.notify` with the engine's runlist and type. Every submission asks for one: the
copy engine's last LAUNCH_DMA with INTERRUPT_TYPE NON_BLOCKING, host's NON_STALL_INTERRUPT after a semaphore
release (nouveau ``gv100_fence_emit32``). The waits of such a channel sleep on :attr:`NonStall.wakeup` (a
:class:`~nova_core.hw.irq.Wakeup`: on the simulated GPU its virtual clock runs until the interrupt) and look
again at least every millisecond; channels of an engine without a vector, and devices without interrupts,
poll.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import PollTimeout
from ..hw.clock import MS, SEC, US
from ..hw.irq import Wakeup

if TYPE_CHECKING:
    from .fifo import Channel

# TIMEOUT: nouveau_fence_wait gives a fence 15 s (dma_fence_wait_timeout(..., 15 * HZ)).
FENCE_TIMEOUT = 15 * SEC
POLL_FIRST = 1 * US  #: nouveau_fence_wait_legacy: the first sleep ...
POLL_MAX = 1 * MS  #: ... doubles up to 1 ms


def signalled(current: int, value: int) -> bool:
    """``current`` has reached ``value`` on a 32-bit timeline (nouveau: ``(int)(current - value) >= 0``)."""
    return ((current - value) & 0xFFFFFFFF) < 0x80000000


class NonStall:
    """Non-stall interrupts of one FIFO: counted per (runlist, engine type); each wakes the waiters."""

    def __init__(self) -> None:
        self.wakeup = Wakeup("non-stall")
        self.counts: Counter[tuple[int, int]] = Counter()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[int, int], None]] = []

    def on_notify(self, listener: Callable[[int, int], None]) -> Callable[[], None]:
        """Call ``listener(runlist, engine)`` on each interrupt; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def notify(self, runlist: int, engine: int) -> None:
        """The non-stall interrupt of ``engine`` (an NV2080 engine type) on ``runlist`` fired."""
        with self._lock:
            self.counts[(runlist, engine)] += 1
            listeners = list(self._listeners)
        self.wakeup.signal()
        for listener in listeners:
            listener(runlist, engine)


class Fence:
    """The completion of one submission on ``channel``: its semaphore reaching ``value``."""

    __slots__ = ("channel", "value")

    def __init__(self, channel: Channel, value: int) -> None:
        self.channel = channel
        self.value = value & 0xFFFFFFFF

    def __repr__(self) -> str:
        return f"<Fence chid={self.channel.chid} value={self.value} {'done' if self.done else 'pending'}>"

    @property
    def done(self) -> bool:
        """Signalled (reads the semaphore word; never blocks)."""
        return signalled(self.channel.semaphore_value(), self.value)

    def wait(self, *, timeout: int = FENCE_TIMEOUT) -> Fence:
        """Block until signalled; returns the fence.

        Raises:
            ChannelFault: the channel was stopped by the GPU (its report: chid, engine, fault address, reason).
            PollTimeout: not signalled within ``timeout`` (nanoseconds of the device clock).
        """
        ch = self.channel
        clock = ch.clock
        start = clock.now()
        interval = POLL_FIRST
        nonstall = ch.fifo.nonstall
        seen = nonstall.wakeup.count
        while True:
            if self.done:
                return self
            ch.check()  # drains GSP-RM's events; raises ChannelFault if the channel is stopped
            if self.done:
                return self
            if clock.now() - start >= timeout:
                raise PollTimeout(f"fence {self.value} of channel {ch.chid} ({ch.engine.name}): semaphore at VA "
                                  f"{ch.semaphore_va:#x} reads {ch.semaphore_value():#x}", timeout,
                                  ch.semaphore_value())
            if ch.irq_driven:  # until the interrupt, and no longer than the poll would have slept
                nonstall.wakeup.wait(seen, clock, min(interval, POLL_MAX))
                seen = nonstall.wakeup.count
            else:
                clock.sleep(interval)
            interval = min(interval * 2, POLL_MAX)
