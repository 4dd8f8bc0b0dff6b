"""nova_core.gsp.rpc: RPCs to GSP-RM over the message queues, and the events it sends back.

:class:`GspRpc` is thread-safe:

- **send**: one lock serialises writers; each RPC gets an RPC-header sequence number (GSP-RM echoes it
  in the reply, which is how replies find their callers), is split into ``CONTINUATION_RECORD``
  elements when its payload exceeds one element (nouveau ``r535_gsp_rpc_push``), and each element
  rings the doorbell: a write of 0 to ``NV_PGSP_QUEUE_HEAD(0)`` (OpenRM ``kgspSetCmdQueueHead_TU102``).
  A full queue is waited on for at most 1 s (:data:`~nova_core.gsp.cmdq.SPACE_TIMEOUT`).
- **receive**: whichever caller is waiting drains the status queue (one at a time): elements are
  verified (checksum, sequence, header, lengths: :class:`~nova_core.gsp.cmdq.StatusQueue`), large
  replies are reassembled from their continuation records, replies are handed to the caller that
  waits for them, and events are dispatched to the handlers registered with :meth:`GspRpc.on_event`
  (RUN_CPU_SEQUENCER, OS_ERROR_LOG, ...) - while the caller keeps waiting for its own reply. Events
  nobody handles are kept (bounded) for :meth:`GspRpc.wait_event` (INIT_DONE).
- **notification**: GSP-RM raises SWGEN0 in the GSP falcon's IRQSTAT when it writes the status queue.
  Polling (the default, and until the boot's ``interrupts`` stage), the drain acknowledges it through IRQSCLR
  before reading, so a message written meanwhile raises it again (nouveau ``r535_gsp_intr``). With
  :meth:`GspRpc.use_wakeup` the GSP's interrupt handler (:mod:`nova_core.gsp.intr`) owns that acknowledge and
  wakes the waiters: they sleep on the wakeup instead of polling (:func:`~nova_core.hw.irq.wait_woken`, same
  bounds and messages).
- **failures**: a non-zero ``rpc_result`` (or RM status inside an ALLOC/CONTROL/FREE reply) is an
  :class:`~nova_core.gsp.fw.RpcFailure` naming the function and the status; a reply that never comes
  is a :class:`~nova_core.errors.PollTimeout` naming the RPC and its sequence number.

Every wait takes the device's :class:`~nova_core.hw.clock.Clock`; on the simulated GPU that is virtual
time, and the simulated GSP-RM settles before time moves, so runs are repeatable.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import GspError, NovaError, PollTimeout
from ..hw.bar import Bar
from ..hw.clock import SEC, US, Clock
from ..hw.events import Timeline
from ..hw.irq import Wakeup, wait_woken
from ..hw.poll import poll_timeout
from ..regs.falcon import FALCON, IRQ_SWGEN0, NV_PFALCON_FALCON_IRQSCLR, NV_PFALCON_FALCON_IRQSTAT
from ..regs.gsp import NV_PGSP_QUEUE_HEAD
from .cmdq import SPACE_TIMEOUT, CommandQueue, Message, SharedMemory, StatusQueue
from .fw import Command, Event, EventBody, GspAbi, R, RpcFailure, parse_event

# TIMEOUT: nova-core waits 5 s for a GSP message (cmdq ``receive_msg``); nouveau r535_gsp_msg_recv polls
# 4,000,000 times with usleep(1..2) (4-8 s). The reply to one RPC comes well within that on hardware.
REPLY_TIMEOUT = 5 * SEC
POLL_INTERVAL = 10 * US
EVENT_BACKLOG = 1024  #: unhandled events kept for wait_event (oldest dropped beyond)


@dataclass
class EventMessage:
    """An event from GSP-RM."""

    abi: GspAbi
    number: int
    payload: bytes
    sequence: int
    result: int

    @property
    def name(self) -> str:
        return self.abi.name_of(self.number)

    @property
    def event(self) -> Event | None:
        return self.abi.event_of(self.number)

    def body(self) -> EventBody:
        """The typed form (:func:`~nova_core.gsp.fw.parse_event`)."""
        return parse_event(self.abi, self.number, self.payload)

    def __repr__(self) -> str:
        return f"<EventMessage {self.name} ({self.number:#x}) {len(self.payload)} bytes>"


@dataclass
class PendingRpc:
    """An RPC sent and not yet answered; :meth:`GspRpc.wait` returns its reply."""

    function: int
    name: str
    sequence: int
    expected: int  #: payload bytes sent (a large reply is reassembled up to this size)
    reply: Message | None = None
    chunks: list[bytes] = field(default_factory=list)
    awaited: bool = False  #: a caller will collect the reply (else failures go to posted_failures)

    @property
    def done(self) -> bool:
        return self.reply is not None


Handler = Callable[[EventMessage], None]


class GspRpc:
    """RPC channel to GSP-RM over :class:`~nova_core.gsp.cmdq.SharedMemory`.

    Args:
        abi: the firmware version's ABI.
        shm: the queues (the same region whose address went into GSP_ARGUMENTS_CACHED).
        bar: BAR0 (doorbell, interrupt status).
        clock: the device's clock (every wait is bounded on it).
        gsp_base: the GSP falcon's base (IRQSTAT/IRQSCLR).
        timeline: where each RPC round trip (span "rpc") and each event received (instant "event") is
            reported, for progress displays and traces; ``None``: nothing is recorded.
    """

    def __init__(self, abi: GspAbi, shm: SharedMemory, bar: Bar, clock: Clock, *,
                 gsp_base: int = FALCON.GSP, timeline: Timeline | None = None) -> None:
        self.abi = abi
        self.timeline = timeline
        self.shm = shm
        self.bar = bar
        self.clock = clock
        self.cmdq = CommandQueue(shm, clock)
        self.msgq = StatusQueue(shm)
        self._doorbell = NV_PGSP_QUEUE_HEAD.addr(i=0)
        self._irqstat = NV_PFALCON_FALCON_IRQSTAT.addr(gsp_base)
        self._irqsclr = NV_PFALCON_FALCON_IRQSCLR.addr(gsp_base)
        self._tx_lock = threading.Lock()
        self._rx_lock = threading.RLock()
        self._pending_lock = threading.Lock()  #: a leaf lock for _waiting (senders hold _tx_lock, not _rx_lock)
        self._next_seq = 1
        self._waiting: dict[int, PendingRpc] = {}
        self._partial: PendingRpc | None = None  #: a large reply being reassembled
        self._first: Message | None = None  #: its first element
        self._handlers: dict[int, list[Handler]] = collections.defaultdict(list)
        self._backlog: collections.deque[EventMessage] = collections.deque(maxlen=EVENT_BACKLOG)
        self._continuation = abi.function("CONTINUATION_RECORD")
        #: replies to RPCs posted without waiting that reported a failure (checked by :meth:`check_posted`)
        self.posted_failures: list[RpcFailure] = []
        self.sent = 0
        self.received = 0
        #: a reply never came: GSP-RM has stopped answering (a shutdown then skips its RPCs)
        self.unresponsive = False
        self._wakeup: Wakeup | None = None

    # -- interrupts ----------------------------------------------------------------------------------

    @property
    def wakeup(self) -> Wakeup | None:
        """What waits sleep on when the GSP interrupt is delivered (None: they poll)."""
        return self._wakeup

    def use_wakeup(self, wakeup: Wakeup | None) -> None:
        """Wait for GSP-RM's messages on ``wakeup`` (signalled by the GSP interrupt handler); None: poll again."""
        self._wakeup = wakeup

    def _await(self, done: Callable[[], bool], timeout: int, what: str) -> None:
        wakeup = self._wakeup
        if wakeup is None:
            poll_timeout(done, bool, clock=self.clock, timeout=timeout, interval=POLL_INTERVAL, what=what)
        else:
            wait_woken(wakeup, done, clock=self.clock, timeout=timeout, what=what)

    # -- sending -----------------------------------------------------------------------------------

    def post(self, function: str | int, payload: bytes | bytearray | memoryview = b"", *,
             timeout: int = SPACE_TIMEOUT, awaited: bool = False) -> PendingRpc:
        """Send an RPC without waiting for its reply (:meth:`wait` may collect it later).

        A failure reported for a reply nobody waits for (``awaited=False`` and no :meth:`wait`) is kept
        in :attr:`posted_failures` and raised by :meth:`check_posted`.
        """
        fn = self.abi.function(function) if isinstance(function, str) else function
        name = self.abi.name_of(fn)
        data = memoryview(payload).cast("B")
        maxp = self.abi.payload_max
        with self._tx_lock:
            seq = self._next_seq
            self._next_seq = self._next_seq % 0xFFFFFFFF + 1
            pending = PendingRpc(fn, name, seq, len(data), awaited=awaited)
            with self._pending_lock:
                self._waiting[seq] = pending
            try:
                self.cmdq.push(fn, data[:maxp], rpc_sequence=seq, timeout=timeout, while_waiting=self._try_drain)
                self._ring()
                for off in range(maxp, len(data), maxp):
                    self.cmdq.push(self._continuation, data[off:off + maxp], rpc_sequence=seq, timeout=timeout,
                                   while_waiting=self._try_drain)
                    self._ring()
            except BaseException:
                with self._pending_lock:
                    self._waiting.pop(seq, None)
                raise
            self.sent += 1
        return pending

    def _try_drain(self) -> None:
        """While a sender waits for queue space: drain replies if no other thread is (never blocks)."""
        if self._rx_lock.acquire(blocking=False):
            try:
                self._drain()
            finally:
                self._rx_lock.release()

    def _ring(self) -> None:
        self.bar.write32(self._doorbell, 0)

    def wait(self, pending: PendingRpc, *, timeout: int = REPLY_TIMEOUT) -> Message:
        """The reply to ``pending`` (events arriving meanwhile go to their handlers)."""
        with self._rx_lock:
            if not pending.awaited:
                pending.awaited = True
                self.posted_failures = [f for f in self.posted_failures if f.sequence != pending.sequence]
        if pending.reply is None:
            try:
                self._await(lambda: self._drain_until(pending), timeout,
                            f"GSP-RM's reply to {pending.name} (rpc sequence {pending.sequence})")
            except PollTimeout:
                self.unresponsive = True
                raise
        reply = pending.reply
        if reply is None:  # pragma: no cover - the poll returns only once it is set
            raise GspError(f"reply to {pending.name} (rpc sequence {pending.sequence}) vanished")
        return reply

    def rpc(self, function: str | int, payload: bytes | bytearray | memoryview = b"", *,
            timeout: int = REPLY_TIMEOUT, detail: str = "") -> Message:
        """Send and wait; a failure result is an :class:`RpcFailure` naming the function, ``detail`` (what was
        asked, e.g. the handles and class of an ALLOC) and the status."""
        span = None
        if self.timeline is not None:
            name = self.abi.name_of(self.abi.function(function) if isinstance(function, str) else function)
            span = self.timeline.begin("rpc", name, bytes=len(payload))
        try:
            pending = self.post(function, payload, awaited=True)
            reply = self.wait(pending, timeout=timeout)
        except NovaError as e:
            if span is not None and self.timeline is not None:
                self.timeline.end(span, ok=False, error=str(e))
            raise
        if span is not None and self.timeline is not None:
            span.args.update(sequence=pending.sequence, result=reply.result)
            self.timeline.end(span, ok=reply.result == 0,
                              error="" if reply.result == 0 else self.abi.status_text(reply.result))
        if reply.result != 0:
            what = f" {detail}" if detail else ""
            raise RpcFailure(f"{pending.name}{what} (function {pending.function}, rpc sequence {pending.sequence}) "
                             f"failed: {self.abi.status_text(reply.result)}",
                             function=pending.name, result=reply.result)
        return reply

    def call(self, command: Command[R], *, timeout: int = REPLY_TIMEOUT) -> R:
        """Run a typed command (:mod:`nova_core.gsp.fw`) and return its typed reply."""
        reply = self.rpc(command.FUNCTION, command.encode(self.abi), timeout=timeout, detail=command.describe())
        return command.decode(self.abi, reply.payload)

    def send(self, command: Command[R]) -> PendingRpc:
        """Queue a typed command without waiting (SET_SYSTEM_INFO and SET_REGISTRY before GSP-RM runs)."""
        return self.post(command.FUNCTION, command.encode(self.abi))

    def check_posted(self) -> None:
        """Raise the first failure reported for an RPC that was posted and never waited for."""
        if self.posted_failures:
            raise self.posted_failures.pop(0)

    # -- events ------------------------------------------------------------------------------------

    def on_event(self, event: Event | int, handler: Handler) -> Callable[[], None]:
        """Call ``handler(message)`` for each ``event``; returns a function that unregisters it.

        Handlers run in the thread that drains the queue, while it waits for its own reply; an
        exception from a handler propagates to that caller (the event is consumed).
        """
        number = self.abi.event(event) if isinstance(event, Event) else event
        with self._rx_lock:
            self._handlers[number].append(handler)

        def remove() -> None:
            with self._rx_lock:
                if handler in self._handlers.get(number, []):
                    self._handlers[number].remove(handler)

        return remove

    def wait_event(self, event: Event | int, *, timeout: int = REPLY_TIMEOUT) -> EventMessage:
        """The next unhandled ``event`` (e.g. INIT_DONE), draining the queue until it comes."""
        number = self.abi.event(event) if isinstance(event, Event) else event
        found: list[EventMessage] = []

        def look() -> bool:
            with self._rx_lock:
                self._drain()
                for i, ev in enumerate(self._backlog):
                    if ev.number == number:
                        found.append(ev)
                        del self._backlog[i]
                        return True
            return False

        self._await(look, timeout, f"event {self.abi.name_of(number)} ({number:#x}) from GSP-RM")
        return found[0]

    def backlog(self) -> list[EventMessage]:
        """Unhandled events received so far (oldest first)."""
        with self._rx_lock:
            return list(self._backlog)

    def poll(self) -> int:
        """Drain what GSP-RM has written (dispatching events); return the number of elements read."""
        with self._rx_lock:
            return self._drain()

    # -- receiving ---------------------------------------------------------------------------------

    def _drain_until(self, pending: PendingRpc) -> bool:
        with self._rx_lock:
            if pending.reply is None:
                self._drain()
            return pending.reply is not None

    def _drain(self) -> int:
        count = 0
        if self.msgq.available() == 0:
            return 0
        if self._wakeup is None and self.bar.read32(self._irqstat) & IRQ_SWGEN0:  # else the handler acks it
            self.bar.write32(self._irqsclr, IRQ_SWGEN0)
        while True:
            msg = self.msgq.receive()
            if msg is None:
                return count
            count += 1
            self.received += 1
            self._deliver(msg)

    def _deliver(self, msg: Message) -> None:
        abi = self.abi
        if self._partial is not None:
            self._continue(self._partial, msg)
            return
        if msg.function == self._continuation:
            raise GspError(f"status queue: a CONTINUATION_RECORD (rpc sequence {msg.sequence}) with no large "
                           f"reply in progress")
        if abi.is_event(msg.function):
            self._dispatch(EventMessage(abi, msg.function, msg.payload, msg.sequence, msg.result))
            return
        with self._pending_lock:
            pending = self._waiting.pop(msg.sequence, None)
        if pending is None:
            raise GspError(f"status queue: reply to {abi.name_of(msg.function)} with rpc sequence "
                           f"{msg.sequence} that nobody sent (or already answered)")
        if pending.function != msg.function:
            raise GspError(f"status queue: reply with rpc sequence {msg.sequence} is for "
                           f"{abi.name_of(msg.function)}, but that sequence was {pending.name}")
        if len(msg.payload) >= abi.payload_max and pending.expected > len(msg.payload):
            pending.chunks.append(msg.payload)
            self._partial = pending
            self._first = msg
            return
        self._complete(pending, msg)

    def _continue(self, pending: PendingRpc, msg: Message) -> None:
        if msg.function != self._continuation or msg.sequence != pending.sequence:
            # the large reply is truncated (its caller times out); the message itself is delivered
            self._partial = None
            err = GspError(f"status queue: {pending.name} reply (rpc sequence {pending.sequence}) needs "
                           f"{pending.expected - sum(map(len, pending.chunks)):#x} more bytes, but the next "
                           f"message is {self.abi.name_of(msg.function)} (rpc sequence {msg.sequence})")
            pending.chunks = []
            self._deliver(msg)
            raise err
        pending.chunks.append(msg.payload)
        have = sum(map(len, pending.chunks))
        if have >= pending.expected or len(msg.payload) < self.abi.payload_max:
            self._partial = None
            first = self._first
            if first is None:  # pragma: no cover - set together with _partial
                raise GspError("status queue: reassembly state lost")
            self._complete(pending, Message(first.function, first.result, first.result_private, first.sequence,
                                            b"".join(pending.chunks), first.element_seq, first.elements))

    def _complete(self, pending: PendingRpc, msg: Message) -> None:
        pending.reply = msg
        pending.chunks = []
        if msg.result != 0 and not pending.awaited:
            failure = RpcFailure(f"{pending.name} (rpc sequence {pending.sequence}, posted without waiting) "
                                 f"failed: {self.abi.status_text(msg.result)}",
                                 function=pending.name, result=msg.result, sequence=pending.sequence)
            self.posted_failures.append(failure)
            del self.posted_failures[:-64]

    def _dispatch(self, ev: EventMessage) -> None:
        if self.timeline is not None:
            self.timeline.instant("event", ev.name, sequence=ev.sequence)
        handlers = list(self._handlers.get(ev.number, ()))
        if not handlers:
            self._backlog.append(ev)
            return
        for h in handlers:
            h(ev)
