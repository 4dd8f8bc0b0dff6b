"""nova_core.gsp.rpc: RPCs to GSP-RM over the message queues, and the events it sends back.

:class:`GspRpc` is thread-safe:

- **send**: one lock serialises writers; each RPC is split into ``CONTINUATION_RECORD`` elements when its
  payload exceeds one element (nouveau ``r535_gsp_rpc_push``, OpenRM ``_issueRpcLarge``), and each element
  rings the doorbell: a write of 0 to ``NV_PGSP_QUEUE_HEAD(0)`` (OpenRM ``kgspSetCmdQueueHead_TU102``). The RPC
  header's ``sequence`` is sent as 0, as NVIDIA's GSP clients send it (OpenRM ``rpcWriteCommonHeader`` zeroes
  the header; nouveau ``r535_gsp_rpc_get`` allocates it zeroed). A full queue is waited on for at most 1 s
  (:data:`~nova_core.gsp.cmdq.SPACE_TIMEOUT`).
- **matching**: a reply is matched to its RPC by *function and order*: GSP-RM handles commands in queue order,
  so the reply with function F belongs to the oldest RPC of function F still waiting (OpenRM
  ``_kgspRpcDrainOneEvent`` stops at the first message whose function is the expected one; nouveau
  ``r535_gsp_msg_recv`` returns the first message with ``rpc->function == fn``). The reply's ``sequence`` is
  never looked at: no NVIDIA GSP client checks it (only OpenRM's vGPU-guest path, ``_rpcSendMessage_VGPUGSP``,
  numbers its requests, and that is not this channel).
- **receive**: whichever caller is waiting drains the status queue (one at a time): elements are verified
  (checksum, element seqNum, header, lengths: :class:`~nova_core.gsp.cmdq.StatusQueue`), replies are handed to
  the caller that waits for them, and events are dispatched to the handlers registered with
  :meth:`GspRpc.on_event` (RUN_CPU_SEQUENCER, OS_ERROR_LOG, ...) - while the caller keeps waiting for its own
  reply. Events nobody handles are kept (bounded) for :meth:`GspRpc.wait_event` (INIT_DONE).
- **large replies**: the reply to an RPC that was split comes back split the same way (OpenRM
  ``_issueRpcLarge`` receives ``recordCount`` CONTINUATION_RECORDs for a bidirectional RPC; nouveau
  ``r535_gsp_msgq_recv`` reads continuation records until the expected length is in): a first record of a full
  element, then CONTINUATION_RECORDs until the reply is as long as the request. Every record's ``rpc_result``
  counts (the first failure is the reply's result) and the assembled length must be the request's: a reply cut
  short - a short record, or another message before the last record - is a :class:`~nova_core.errors.GspError`
  for its caller, never a success.
- **notification**: GSP-RM raises SWGEN0 in the GSP falcon's IRQSTAT when it writes the status queue.
  Polling (the default, and until the boot's ``interrupts`` stage), the drain acknowledges it through IRQSCLR
  before reading, so a message written meanwhile raises it again (nouveau ``r535_gsp_intr``). With
  :meth:`GspRpc.use_wakeup` the GSP's interrupt handler (:mod:`nova_core.gsp.intr`) owns that acknowledge and
  wakes the waiters: they sleep on the wakeup instead of polling (:func:`~nova_core.hw.irq.wait_woken`, same
  bounds and messages).
- **failures**: a non-zero ``rpc_result`` (or RM status inside an ALLOC/CONTROL/FREE reply) is an
  :class:`~nova_core.gsp.fw.RpcFailure` naming the function and the status; so is an *event* that carries one
  (OpenRM ``kgspWaitForRmInitDone`` checks INIT_DONE's ``rpc_result``; nouveau ``r535_gsp_msg_recv`` refuses
  every message with one), raised to the caller draining the queue. A reply that never comes is a
  :class:`~nova_core.errors.PollTimeout` naming the RPC.

Every wait takes the device's :class:`~nova_core.hw.clock.Clock`; on the simulated GPU that is virtual
time, and the simulated GSP-RM settles before time moves, so runs are repeatable.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
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
_RPC_ARGS = ("bytes", "ordinal", "result")  #: the args of an RPC's timeline record
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


@dataclass(slots=True)
class PendingRpc:
    """An RPC sent and not yet answered; :meth:`GspRpc.wait` returns its reply."""

    function: int
    name: str
    ordinal: int  #: the how-manieth RPC of this channel (for messages only: nothing on the wire carries it)
    expected: int  #: payload bytes sent (a reply split into records is reassembled to exactly this size)
    records: int = 1  #: elements sent: the first record and its CONTINUATION_RECORDs
    reply: Message | None = None
    error: NovaError | None = None  #: the reply came back broken (cut short): raised by :meth:`GspRpc.wait`
    chunks: list[bytes] = field(default_factory=list)
    awaited: bool = False  #: a caller will collect the reply (else failures go to :attr:`GspRpc.posted_failures`)

    @property
    def done(self) -> bool:
        return self.reply is not None or self.error is not None

    def __str__(self) -> str:
        return f"{self.name} (RPC #{self.ordinal} of this channel)"


Handler = Callable[[EventMessage], None]


class LostMessage(GspError):
    """A status-queue element could not be read (bad checksum, header or lengths, a seqNum gap): whatever it
    was - a reply or an event - is gone. Raised to the caller whose drain found it."""


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
        self._drain_bound = 2 * shm.geometry.msg_count + 2  #: receives per drain at most (see _drain)
        self._doorbell = NV_PGSP_QUEUE_HEAD.addr(i=0)
        self._irqstat = NV_PFALCON_FALCON_IRQSTAT.addr(gsp_base)
        self._irqsclr = NV_PFALCON_FALCON_IRQSCLR.addr(gsp_base)
        self._tx_lock = threading.Lock()
        self._rx_lock = threading.RLock()
        self._pending_lock = threading.Lock()  #: a leaf lock for _waiting (senders hold _tx_lock, not _rx_lock)
        self._ordinal = 0
        #: per function, RPCs given up after a lost element: that many unclaimed replies are dropped
        self._orphans: collections.Counter[int] = collections.Counter()
        #: replies dropped that way
        self.orphaned_replies = 0
        #: RPCs waiting for their reply, per function, oldest first (GSP-RM answers in queue order)
        self._waiting: dict[int, collections.deque[PendingRpc]] = collections.defaultdict(collections.deque)
        self._partial: PendingRpc | None = None  #: a split reply being reassembled
        self._first: Message | None = None  #: its first record
        self._handlers: dict[int, list[Handler]] = collections.defaultdict(list)
        self._backlog: collections.deque[EventMessage] = collections.deque(maxlen=EVENT_BACKLOG)
        self._continuation = abi.function("CONTINUATION_RECORD")
        self._split_result = 0  #: the first failure among the records of the split reply in progress
        #: (ordinal, error) of replies to RPCs posted without waiting that failed (raised by :meth:`check_posted`)
        self._posted_failures: list[tuple[int, GspError]] = []
        self.sent = 0
        self.received = 0
        #: a reply never came: GSP-RM has stopped answering (a shutdown then skips its RPCs)
        self.unresponsive = False
        self._wakeup: Wakeup | None = None
        self._settling: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
        #: function (name or number) -> (number, name), resolved once per function
        self._functions: dict[str | int, tuple[int, str]] = {}

    # -- interrupts ----------------------------------------------------------------------------------

    @property
    def wakeup(self) -> Wakeup | None:
        """What waits sleep on when the GSP interrupt is delivered (None: they poll)."""
        return self._wakeup

    def use_wakeup(self, wakeup: Wakeup | None,
                   settling: Callable[[], contextlib.AbstractContextManager[None]] | None = None) -> None:
        """Wait for GSP-RM's messages on ``wakeup`` (signalled by the GSP interrupt handler); None: poll again.

        ``settling``: the interrupt manager's :meth:`~nova_core.hw.irq.IrqManager.settling`, entered around an RPC's
        doorbell and its wait (the thread that rings delivers the GSP interrupt it causes itself, on simulated time).
        """
        self._wakeup = wakeup
        self._settling = contextlib.nullcontext if wakeup is None or settling is None else settling

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
        fn, name = self._resolve(function)
        return self._post(fn, name, payload, timeout, awaited)

    def _resolve(self, function: str | int) -> tuple[int, str]:
        """(number, name) of an RPC function given by either."""
        known = self._functions.get(function)
        if known is None:
            fn = self.abi.function(function) if isinstance(function, str) else function
            known = (fn, self.abi.name_of(fn))
            if len(self._functions) < 4096:  # bounded: numbers nobody defined are not kept forever
                self._functions[function] = known
        return known

    def _post(self, fn: int, name: str, payload: bytes | bytearray | memoryview, timeout: int,
              awaited: bool) -> PendingRpc:
        maxp = self.abi.payload_max
        # bytes of one record go as they are; anything else is viewed as bytes (records are slices of the view)
        data = payload if type(payload) is bytes and len(payload) <= maxp else memoryview(payload).cast("B")
        records = max(1, -(-len(data) // maxp))
        with self._tx_lock:
            self._ordinal += 1
            pending = PendingRpc(fn, name, self._ordinal, len(data), records, awaited=awaited)
            # queued before the first element goes out, under the sender lock: the per-function order of
            # _waiting is the order of the command queue, which is the order GSP-RM answers in
            with self._pending_lock:
                self._waiting[fn].append(pending)
            try:
                self.cmdq.push(fn, data if records == 1 else data[:maxp], timeout=timeout,
                               while_waiting=self._try_drain)
                self._ring()
                for off in range(maxp, len(data), maxp):
                    self.cmdq.push(self._continuation, data[off:off + maxp], timeout=timeout,
                                   while_waiting=self._try_drain)
                    self._ring()
            except BaseException:
                self._forget(pending)
                raise
            self.sent += 1
        return pending

    def _forget(self, pending: PendingRpc) -> bool:
        with self._pending_lock:
            queue = self._waiting.get(pending.function)
            if queue is not None and pending in queue:
                queue.remove(pending)
                return True
        return False

    def _abandon(self, pending: PendingRpc) -> None:
        """``pending`` failed without its reply: a reply of its function that then finds nobody is dropped."""
        if self._forget(pending):
            with self._pending_lock:
                self._orphans[pending.function] += 1

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
        if not pending.awaited:
            with self._rx_lock:
                pending.awaited = True
                self._posted_failures = [(o, f) for o, f in self._posted_failures if o != pending.ordinal]
        if not pending.done:
            try:
                self._await(lambda: self._drain_until(pending), timeout, f"GSP-RM's reply to {pending}")
            except PollTimeout:
                self.unresponsive = True  # the reply stays expected: if it comes late, it is absorbed
                raise
            except LostMessage:
                # Without a sequence number a lost element cannot be attributed; it is taken as this caller's
                # reply (exact on a channel with one RPC in flight, as OpenRM's is). Its caller was told.
                if not pending.done:
                    self._abandon(pending)
                raise
        if pending.error is not None:
            raise pending.error
        reply = pending.reply
        if reply is None:  # pragma: no cover - the poll returns only once it is set
            raise GspError(f"reply to {pending} vanished")
        return reply

    def rpc(self, function: str | int, payload: bytes | bytearray | memoryview = b"", *,
            timeout: int = REPLY_TIMEOUT, detail: str = "") -> Message:
        """Send and wait; a failure result is an :class:`RpcFailure` naming the function, ``detail`` (what was
        asked, e.g. the handles and class of an ALLOC) and the status."""
        return self._round_trip(function, payload, timeout, detail)

    def _round_trip(self, function: str | int, payload: bytes | bytearray | memoryview, timeout: int,
                    detail: str | Callable[[], str]) -> Message:
        """:meth:`rpc`; ``detail`` may be a function, called only for a failure's message.

        The round trip is a "rpc" span of :attr:`timeline`: begun and ended as a :class:`~nova_core.hw.events.Span`
        when someone listens (the CLI's progress display), else kept as one compact record made at the end."""
        fn, name = self._resolve(function)
        tl = self.timeline
        span = None
        dev0 = host0 = 0
        if tl is not None:
            if tl.listeners:
                span = tl.begin("rpc", name, bytes=len(payload))
            else:
                dev0 = tl.clock.now()
                host0 = time.perf_counter_ns()
        try:
            settling = self._settling
            if settling is contextlib.nullcontext:  # polling: no interrupt manager to tell
                pending = self._post(fn, name, payload, SPACE_TIMEOUT, True)
                reply = self.wait(pending, timeout=timeout)
            else:
                with settling():
                    pending = self._post(fn, name, payload, SPACE_TIMEOUT, True)
                    reply = self.wait(pending, timeout=timeout)
        except NovaError as e:
            if span is not None and tl is not None:
                tl.end(span, ok=False, error=str(e))
            elif tl is not None:
                tl.record("rpc", name, dev0, host0, False, str(e), _RPC_ARGS[:1], (len(payload),))
            raise
        if tl is not None:
            ok = reply.result == 0
            error = "" if ok else self.abi.status_text(reply.result)
            if span is not None:
                span.args.update(ordinal=pending.ordinal, result=reply.result)
                tl.end(span, ok=ok, error=error)
            else:
                tl.record("rpc", name, dev0, host0, ok, error, _RPC_ARGS, (len(payload), pending.ordinal, reply.result))
        if reply.result != 0:
            text = detail() if callable(detail) else detail
            what = f" {text}" if text else ""
            raise RpcFailure(f"{pending.name}{what} (function {pending.function}, RPC #{pending.ordinal}) "
                             f"failed: {self.abi.status_text(reply.result)}",
                             function=pending.name, result=reply.result, ordinal=pending.ordinal)
        return reply

    def call(self, command: Command[R], *, timeout: int = REPLY_TIMEOUT) -> R:
        """Run a typed command (:mod:`nova_core.gsp.fw`) and return its typed reply."""
        reply = self._round_trip(command.FUNCTION, command.encode(self.abi), timeout, command.describe)
        return command.decode(self.abi, reply.payload)

    def send(self, command: Command[R]) -> PendingRpc:
        """Queue a typed command without waiting (SET_SYSTEM_INFO and SET_REGISTRY before GSP-RM runs)."""
        return self.post(command.FUNCTION, command.encode(self.abi))

    def check_posted(self) -> None:
        """Raise the first failure reported for an RPC that was posted and never waited for."""
        if self._posted_failures:
            raise self._posted_failures.pop(0)[1]

    @property
    def posted_failures(self) -> list[GspError]:
        """Failures of RPCs posted without waiting, not yet raised by :meth:`check_posted` (oldest first)."""
        return [f for _, f in self._posted_failures]

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
        if not pending.done:
            with self._rx_lock:  # (a drain in another thread may be delivering our reply: it is waited for)
                if not pending.done:
                    self._drain()
        return pending.done

    def _drain(self) -> int:
        count = 0
        if self.msgq.available() == 0:
            return 0
        if self._wakeup is None and self.bar.read32(self._irqstat) & IRQ_SWGEN0:  # else the handler acks it
            self.bar.write32(self._irqsclr, IRQ_SWGEN0)
        lost: LostMessage | None = None
        # bounded: every receive consumes at least one written slot, or returns None / raises for an empty ring
        for _ in range(self._drain_bound):
            try:
                msg = self.msgq.receive()
            except GspError as e:  # the element is skipped; what follows it is still delivered, then it is raised
                lost = lost or LostMessage(str(e))
                continue
            if msg is None:
                break
            count += 1
            self.received += 1
            self._deliver(msg)
        if lost is not None:
            raise lost
        return count

    def _deliver(self, msg: Message) -> None:
        abi = self.abi
        if self._partial is not None:
            if msg.function == self._continuation:
                self._continue(self._partial, msg)
                return
            self._cut_short(self._partial, f"the next message is {abi.name_of(msg.function)}")
        if msg.function == self._continuation:
            raise GspError(f"status queue: a CONTINUATION_RECORD ({len(msg.payload):#x} bytes, "
                           f"{abi.status_text(msg.result)}) with no split reply in progress")
        if abi.is_event(msg.function):
            self._dispatch(EventMessage(abi, msg.function, msg.payload, msg.sequence, msg.result))
            return
        with self._pending_lock:
            queue = self._waiting.get(msg.function)
            pending = queue.popleft() if queue else None
            orphan = pending is None and self._orphans[msg.function] > 0
            if orphan:
                self._orphans[msg.function] -= 1
        if orphan:
            self.orphaned_replies += 1
            return
        if pending is None:
            raise GspError(f"status queue: a reply to {abi.name_of(msg.function)} ({abi.status_text(msg.result)}) "
                           f"that no RPC is waiting for")
        if pending.records == 1:
            self._complete(pending, msg)
            return
        # the request was split, so is the reply: a full first record, then CONTINUATION_RECORDs
        pending.chunks = [msg.payload]
        self._partial, self._first, self._split_result = pending, msg, msg.result
        if len(msg.payload) < abi.payload_max:
            self._cut_short(pending, f"its first record holds only {len(msg.payload):#x} bytes")

    def _continue(self, pending: PendingRpc, msg: Message) -> None:
        """One more record of the split reply being reassembled (every record's result counts)."""
        pending.chunks.append(msg.payload)
        self._split_result = self._split_result or msg.result
        have = sum(map(len, pending.chunks))
        if have > pending.expected:
            self._cut_short(pending, "its last record runs past that length", overlong=True)
        elif have == pending.expected:
            first = self._first
            self._partial = self._first = None
            if first is None:  # pragma: no cover - set together with _partial
                raise GspError("status queue: reassembly state lost")
            self._complete(pending, Message(first.function, self._split_result, first.result_private,
                                            first.sequence, b"".join(pending.chunks), first.element_seq,
                                            first.elements))
        elif len(msg.payload) < self.abi.payload_max:
            self._cut_short(pending, f"CONTINUATION_RECORD {len(pending.chunks) - 1} holds only "
                                     f"{len(msg.payload):#x} bytes")

    def _cut_short(self, pending: PendingRpc, why: str, *, overlong: bool = False) -> None:
        """The split reply being reassembled is not the request's length: its caller gets the error."""
        have = sum(map(len, pending.chunks))
        result = self._split_result
        self._partial = self._first = None
        pending.chunks = []
        status = f"; GSP-RM reported {self.abi.status_text(result)}" if result else ""
        how = "is longer than the request" if overlong else "was cut short"
        err: GspError = GspError(f"status queue: the reply to {pending} {how}: {have:#x} of its "
                                 f"{pending.expected:#x} bytes arrived and {why}{status}")
        if result:
            err = RpcFailure(str(err), function=pending.name, result=result, ordinal=pending.ordinal)
        pending.error = err
        if not pending.awaited:
            self._keep_posted_failure(pending, err)

    def _complete(self, pending: PendingRpc, msg: Message) -> None:
        pending.reply = msg
        pending.chunks = []
        if msg.result != 0 and not pending.awaited:
            self._keep_posted_failure(pending, RpcFailure(
                f"{pending} (posted without waiting) failed: {self.abi.status_text(msg.result)}",
                function=pending.name, result=msg.result, ordinal=pending.ordinal))

    def _keep_posted_failure(self, pending: PendingRpc, failure: GspError) -> None:
        self._posted_failures.append((pending.ordinal, failure))
        del self._posted_failures[:-64]

    def _dispatch(self, ev: EventMessage) -> None:
        if self.timeline is not None:
            self.timeline.instant("event", ev.name, result=ev.result)
        if ev.result != 0:
            # GSP-RM reports a failure in the event itself (INIT_DONE after a failed init): not to be taken
            # as the event (OpenRM kgspWaitForRmInitDone; nouveau r535_gsp_msg_recv refuses any such message)
            raise RpcFailure(f"GSP-RM event {ev.name} ({ev.number:#x}) carries {self.abi.status_text(ev.result)}",
                             function=ev.name, result=ev.result)
        handlers = list(self._handlers.get(ev.number, ()))
        if not handlers:
            self._backlog.append(ev)
            return
        for h in handlers:
            h(ev)
