"""nova_core.sim.gsp_rm.model: the simulated GSP-RM - a peer on the message queues, in its own thread.

**Starting.** Real GSP-RM starts when the booter hands the GSP RISC-V core over; it finds its world from
the libos argument page whose bus address the driver left in the GSP falcon's MAILBOX0/1.
:meth:`SimGspRm.boot` does the same: it reads the mailboxes (or takes the address), walks the
``LibosMemoryRegionInitArgument`` array (bounded: one page), finds RMARGS -> ``GSP_ARGUMENTS_CACHED`` ->
the shared region's PTE array -> the command and status queues, and the LOGINIT/LOGINTR/LOGRM rings.
It speaks the exact layout of the version it is started with. Attaching the model to a ``SimGpu`` only
installs the doorbell hook; no thread runs until :meth:`SimGspRm.boot`.

**Boot protocol** (as nouveau/nova-core/OpenRM expect it): GSP-RM writes the status-queue header,
processes the commands queued before it ran (SET_SYSTEM_INFO must come first; SET_REGISTRY may follow),
sends RUN_CPU_SEQUENCER, waits (virtual time, 2 s) until the CPU has executed it - it checks the
registers the sequence changes - and then sends GSP_INIT_DONE. Other RPCs before INIT_DONE get
``NV_ERR_INVALID_STATE``. The sequence is a sim choice (:data:`BOOT_SEQUENCE`, replaceable per
instance): REG_STORE of the GSP mailboxes, a REG_POLL on a flag GSP-RM raises, a REG_WRITE and a
REG_MODIFY of an NV_PGSP_MAILBOX scratch, a DELAY_US; ``core_resume=True`` appends CORE_RESUME.

**Replies** carry RPC-header sequence 0, not the request's (:data:`REPLY_SEQUENCE`; GSP-RM's own choice is not
published and NVIDIA's clients never read it: nouveau and OpenRM match replies by function and order). A command
longer than one element arrives as a full first record and CONTINUATION_RECORDs; GSP-RM reassembles it before
handling it: to the size in its own header where it has one (GSP_RM_CONTROL/GSP_RM_ALLOC ``paramsSize``,
SET_REGISTRY's table size), otherwise (NOP, ...) until a record that is not full or the next command (a sim
choice). Large replies go back split the same way.

**Its memory.** At boot GSP-RM lays out what it keeps of VRAM (:func:`.static.fb_plan`: its reserved region, WPR2
protected, the top - from the ``GspFwWprMeta`` booter_load accepted, or on Hopper and Blackwell from the layout the
GSP-FMC's ACR chose, :attr:`SimGspRm.acr_layout`), tells the framebuffer model (:mod:`..models.fb`: protected VRAM
is then blocked to the CPU), sets up its BAR1 and BAR2 root tables there and binds BAR2 and BAR1 to instance blocks
of its own - from then on the CPU's writes to either block register are refused (:mod:`..models.bar2`,
:mod:`..models.bar1`). Unloading (or losing its core) ends those claims.

**Answers**: SET_SYSTEM_INFO (checked: BAR0 address set, the chip's PCI config mirror: 0x88000/0x1000, from
Hopper on 0x92000),
SET_REGISTRY (its own PACKED_REGISTRY_TABLE parser; every offset checked), GET_GSP_STATIC_INFO
(:mod:`.static`), GSP_RM_ALLOC / GSP_RM_CONTROL / FREE (:mod:`.objects`), UPDATE_BAR_PDE (BAR_2 only - BAR_1 is
refused, GSP-RM's BAR1 root being reused as it is; the root level's shift; a PDE of video memory whose tables,
walked by the sim's MMU, all lie in VRAM GSP-RM neither reserves nor protects; then merged into entry 0 of
GSP-RM's BAR2 root, a zero entry taking it out), UNLOADING_GUEST_DRIVER (then GSP MAILBOX0 reads 0x80000000),
NOP (echo). Unknown functions get ``NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION``,
known but unmodelled ones ``NV_ERR_NOT_SUPPORTED``.

**Refusals** (logged as errors in ``gpu.log``; the element is skipped and, when its RPC header is
readable, answered with ``NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT``): an elemCount outside 1..16
or past the written slots, a checksum that does not XOR to 0, a sequence gap, a bad RPC signature or
version, a length that does not match elemCount, a stray CONTINUATION_RECORD, a write pointer outside
the ring. A bad libos page, RMARGS or queue header at boot: GSP-RM halts (logged, no INIT_DONE).

**Time and threads.** GSP-RM's work - its boot, the commands a doorbell finds, the events it emits - is done in
order, one item at a time. Its boot, and a doorbell rung while GSP-RM has nothing else in hand, are served in the
thread that started the core or rang, before that returns (:attr:`SimGspRm.inline_doorbells`; a sim choice that
spares two thread switches per RPC and a thread per boot); anything else - events, a doorbell rung while an earlier
item is still queued or being handled - goes to GSP-RM's own thread, started when first needed, which takes items
in the order they came, so a doorbell never overtakes what came before it, and the thread waits while an item is
being served inline. Either way, everything the CPU can
observe (status-queue elements, GSP's read pointer of the command queue, the SWGEN0 interrupt) is published by a
:class:`~nova_core.hw.clock.VirtualClock` timer at the doorbell's time plus a processing latency, and the model is
a clock *settler*: before virtual time moves, GSP-RM finishes what it was given. The virtual times, and so what
the CPU sees when, are the same whichever thread served a doorbell; tests are repeatable, and a 5 s timeout
costs nothing.

**Faults** (:meth:`SimGspRm.inject`): ``corrupt_checksum``, ``drop`` (a status element is lost: the
CPU sees a sequence gap), ``delay``, ``error_result``, ``bad_elem_count``, ``bad_length``,
``bad_signature`` (one field of a status element wrong, checksum recomputed), ``stop_consuming``
(GSP-RM stops reading commands until :meth:`SimGspRm.clear_faults`), ``hang`` (stops answering) and
``crash`` (halts: an error in ``gpu.log`` and a LOGRM record, then silence). Each is a condition of one GSP-RM
*life* (a sim choice: they model firmware misbehaving, which a restart of the firmware ends): a fault armed while
GSP-RM runs ends when that life ends, one armed while it is not running applies to the next life, and
:meth:`SimGspRm.boot` drops whatever an earlier life left armed. Hardware conditions are not GSP-RM faults and
persist across its restarts: ``SimGpu.fall_off_bus`` (until a new device), a GFW boot that never completes
(``gfw`` model, until the next cold boot).
"""

from __future__ import annotations

import collections
import ctypes
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ...errors import NovaError, SimViolation
from ...gsp import bindings
from ...hw.clock import MS, SEC, US, VirtualClock
from ...regs import falcon as F
from ...regs import mmu as f_mmu
from ...regs.gsp import NV_PGSP_MAILBOX, NV_PGSP_QUEUE_HEAD
from ...regs.mmu import NV_RAMIN_PAGE_DIR_BASE, RAMIN_PAGE_DIR_OFFSET, RAMIN_SIZE, BigPageSize, InstTarget
from ..models.bar2 import BAR2_SIZE, Bar2Model
from ..models.fb import FbModel
from ..models.mmu import VID, SimMmu
from .fifo import FifoRm
from .gr import GrRm
from .logs import LibosLog, LogFormats
from .objects import ARCH_CLASSES, ObjectTable
from .static import INTERNAL_CLIENT, INTERNAL_DEVICE, INTERNAL_SUBDEVICE, FbPlan, MiB, fb_plan, static_info
from .vgpu import VgpuRm
from .wire import MAX_ELEMENT_PAGES, PAGE, GspQueues, PagedRegion, xor32

if TYPE_CHECKING:
    from ..gpu import SimGpu

BOOT_NS = 1 * MS  #: from boot() to the status-queue header and the first answers
LATENCY_NS = 10 * US  #: per command element handled
EVENT_LATENCY_NS = 5 * US
SEQ_CHECK_INTERVAL = 10 * US
# TIMEOUT (sim): GSP-RM gives the CPU 2 s of virtual time to run its boot sequence before giving up.
SEQ_TIMEOUT = 2 * SEC
PUMP_RETRY_NS = 10 * US
REPLY_SEQUENCE = 0  #: the RPC-header sequence of GSP-RM's messages: the request's is not echoed (sim choice)
UNLOADED_MAILBOX0 = 0x80000000  #: GSP MAILBOX0 once unloaded (nouveau r535_gsp_fini waits for exactly this)
LIBOS_MAX_REGIONS = PAGE // 0x20
SEQ_FLAG = 1  #: the bit of NV_PGSP_MAILBOX(3) GSP-RM raises for the sequence's REG_POLL
SEQ_TOKEN = 0x4E56A500  #: what the sequence writes to NV_PGSP_MAILBOX(2) (then REG_MODIFY of bits 7:0)
SEQ_MODIFY = 0x5A

_NO_FAULTS: frozenset[str] = frozenset()
FAULTS = ("corrupt_checksum", "drop", "delay", "error_result", "bad_elem_count", "bad_length", "bad_signature",
          "stop_consuming", "hang", "crash")


@dataclass
class Fault:
    kind: str
    function: str | None  #: the status message (reply or event) name it applies to; None = any
    count: int
    status: int = 0
    delay_ns: int = 0
    life: int = 0  #: the GSP-RM life it was armed for (see the module docstring)


@dataclass(slots=True)
class _Out:
    """Something GSP-RM publishes at ``when``: a status record, its read pointer, or an action."""

    when: int
    kind: str  # "msg" | "rptr" | "call"
    function: int = 0
    result: int = 0
    rpc_seq: int = 0
    payload: bytes = b""
    value: int = 0
    fn: Callable[[], None] | None = None
    faults: tuple[Fault, ...] = ()
    stalled: bool = False
    #: a message's: GSP's read pointer of the command queue, published right after it (see ``_queue_rptr``)
    rptr: int | None = None


class _Wire:
    """Constants of a version's messages, read from its bindings once."""

    __slots__ = ("continuation", "header_version", "invalid_format", "m", "names", "payload_max", "rpc_size_max",
                 "signature")

    def __init__(self, m: ModuleType) -> None:
        self.m = m
        self.header_version = (int(m.NV_VGPU_MSG_HEADER_VERSION_MAJOR_TOT) << 24
                               | int(m.NV_VGPU_MSG_HEADER_VERSION_MINOR_TOT) << 16)
        self.signature = int(m.NV_VGPU_MSG_SIGNATURE_VALID)
        self.continuation = int(m.FUNCTIONS["CONTINUATION_RECORD"])
        self.rpc_size_max = int(m.GSP_MSG_QUEUE_RPC_SIZE_MAX)
        #: the most payload one record carries (the rest goes into CONTINUATION_RECORDs)
        self.payload_max = self.rpc_size_max - ctypes.sizeof(m.rpc_message_header_v)
        self.invalid_format = int(m.NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT)
        #: the version's numbers -> names, a function's name first
        self.names: dict[int, str] = {}
        for table in (m.FUNCTIONS, m.EVENTS):
            for k, v in table.items():
                self.names.setdefault(int(v), str(k))


@dataclass
class _Assembly:
    """A large command being collected from its continuation records."""

    function: int
    expected: int | None  #: its total payload when its own header says (see ``SimGspRm._expected_size``)
    chunks: list[bytes]
    slot: int


class SimGspRm:
    """The simulated GSP-RM of one :class:`~nova_core.sim.gpu.SimGpu` (``gpu.models["gsp_rm"]``)."""

    _w: _Wire  #: the running version's message constants (set by :meth:`boot`)

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.bar = gpu.bar0
        self.clock: VirtualClock = gpu.clock
        self.log = gpu.log
        self.sysmem = gpu.sysmem
        self.state = "off"  # off, booting, sequencing, running, unloaded, halted
        self.version: str | None = None
        self.m: ModuleType | None = None
        #: function number -> (its name, the method that answers it: ``_rpc_<name>``, or None when the version's
        #: FUNCTIONS lacks it) - for the bindings in ``_w``, reset when they change; the method is still looked up on
        #: the instance per command (a test may replace it)
        self._handler_names: dict[int, tuple[str, str | None]] = {}
        self._doorbell_at = NV_PGSP_QUEUE_HEAD.addr(i=0)
        self.bar.on_write(self._doorbell_at, self._doorbell)
        self._gsp = F.FALCON.GSP
        gsp_falcon = getattr(gpu.models.get("falcon"), "gsp", None)
        if gsp_falcon is not None:  # GSP-RM runs on the GSP falcon's RISC-V core: a reset of it stops GSP-RM
            gsp_falcon.on_riscv_reset.append(self._core_reset)
        self.doorbells = 0
        # filled at boot
        self.q: GspQueues | None = None
        self.logs: dict[str, LibosLog] = {}
        self.formats: LogFormats | None = None
        self.objects: ObjectTable | None = None
        self.fifo: FifoRm | None = None  #: channels, channel groups, VA spaces, copy-engine objects (.fifo)
        self.gr: GrRm | None = None  #: GR context buffers, promotion, the golden context, GR objects (.gr)
        self.vgpu: VgpuRm | None = None  #: vGPU types, plugin tasks (.vgpu)
        self.registry: dict[str, int | str | bytes] = {}
        self.system_info: Any = None
        self.bar_pde: dict[str, tuple[int, int]] = {}
        #: GSP-RM's memory (its FB regions, BAR1/BAR2 roots), laid out at boot
        self.plan: FbPlan | None = None
        self.handled: collections.Counter[str] = collections.Counter()
        self.refusals: list[str] = []
        self.sequence_program: list[tuple[str, tuple[int, ...]]] | None = None
        self.sequence_expect: list[tuple[int, int, int]] | None = None
        self.core_resume = False
        #: what GSP MAILBOX0 is set to after UNLOADING_GUEST_DRIVER (fault injection: another value)
        self.unload_mailbox0 = UNLOADED_MAILBOX0
        #: called when GSP-RM has unloaded (the simulated FSP halts the GSP-FMC's core on Hopper and later)
        self.on_unloaded: list[Callable[[], None]] = []
        #: Hopper and later: the ``GspFwWprMeta`` offsets the GSP-FMC's ACR chose (set by the simulated FSP before
        #: it starts GSP-RM): GSP-RM's FB regions follow them, and GET_GSP_STATIC_INFO reports the non-WPR heap and
        #: FRTS in ``fwWprLayoutOffset``; ``None`` on the booter path (booter_load's accepted meta is used)
        self.acr_layout: Mapping[str, int] | None = None
        self._faults: list[Fault] = []
        self._life = 0  #: GSP-RM lives so far (boots)
        # thread
        self._work: collections.deque[tuple[Any, ...]] = collections.deque()
        self._lock = threading.Lock()  #: the condition's lock, taken directly on the doorbell's path
        self._cond = threading.Condition(self._lock)
        #: an item is being handled (set before it leaves ``_work``: one of the two always shows work in hand)
        self._busy = False
        self._settling = 0  #: threads waiting in settle()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._unsettle: Callable[[], None] | None = None
        #: serve a doorbell in the ringing thread when GSP-RM has nothing else in hand (see the module docstring);
        #: False: every doorbell goes through GSP-RM's thread
        self.inline_doorbells = True
        self.inline_served = 0  #: doorbells served that way
        # GSP-side queue state
        self._cmd_rptr = 0
        self._cmd_seq = 0
        self._cmd_seq_unknown = False  #: after a skipped element: take the next seqNum as it comes
        self._assembly: _Assembly | None = None
        self._sysinfo_seen = False
        self._sequence_sent = False
        self._seq_deadline = 0
        # publication (timer context)
        self._out: collections.deque[_Out] = collections.deque()
        self._out_lock = threading.Lock()
        self._pump_times: set[int] = set()  #: times a pump is scheduled at (not yet run)
        self._last_when = 0
        self._msg_seq = 0
        self.published = 0

    def __repr__(self) -> str:
        return f"<SimGspRm {self.version or '-'} {self.state}>"

    # -- life cycle -------------------------------------------------------------------------------

    def boot(self, version: str, libos_args: int | None = None) -> None:
        """GSP-RM starts: from ``libos_args`` or, as on hardware, the address in GSP MAILBOX0/1."""
        if self.state in ("booting", "sequencing", "running"):
            raise SimViolation(f"GSP-RM is already running ({self.state}); stop() it first")
        if self._unsettle is not None:
            self.stop()  # what is left of a GSP-RM that unloaded, halted or lost its core (its thread, if it had one)
        self.version = bindings.normalize(version)
        self.m = bindings.load(self.version)
        if getattr(self, "_w", None) is None or self._w.m is not self.m:
            self._w = _Wire(self.m)
            self._handler_names = {}
        if libos_args is None:
            lo = self.bar.peek(F.NV_PFALCON_FALCON_MAILBOX0.addr(self._gsp))
            hi = self.bar.peek(F.NV_PFALCON_FALCON_MAILBOX1.addr(self._gsp))
            libos_args = hi << 32 | lo
        self.state = "booting"
        self._life += 1
        self._faults = [f for f in self._faults if f.life == self._life]  # an earlier life's faults end with it
        self._stop = False
        self._unsettle = self.clock.add_settler(self.settle)
        self._serve(("boot", self.clock.now(), libos_args))

    def stop(self) -> None:
        """Stop the thread (pending publications are dropped); the model can boot again."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        with self._cond:
            self._work.clear()  # what a stopped GSP-RM was given dies with it
        if self._unsettle is not None:
            self._unsettle()
            self._unsettle = None
        with self._out_lock:
            self._out.clear()
        if self.state not in ("off", "unloaded", "halted"):
            self.state = "off"

    def _core_reset(self) -> None:
        """The GSP falcon was reset under GSP-RM (falcon hook, sim lock held): it stops at once, silently.

        The thread is told to end but not joined here (it may be waiting for the sim lock); :meth:`boot`
        and :meth:`stop` join it."""
        if self.state in ("off", "halted"):
            return
        self.log.info("gsp-rm", f"GSP falcon reset: GSP-RM ({self.state}) stops with its RISC-V core")
        self.state = "off"
        self._release_memory()
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        with self._out_lock:
            self._out.clear()

    def settle(self) -> None:
        """Block until the thread has handled everything it was given (a VirtualClock settler)."""
        if not self._work and not self._busy:  # at rest (no item leaves _work without _busy set first)
            return
        with self._cond:
            while (self._work or self._busy) and not self._stop:
                self._settling += 1
                try:
                    self._cond.wait(timeout=5)
                finally:
                    self._settling -= 1

    def _start_thread(self) -> None:
        """With ``_lock`` held: start GSP-RM's thread unless it runs or this life is stopping (a life starts it
        only when an item must wait for it: a boot and doorbells served where they arrive need none)."""
        if self._thread is None and not self._stop:
            self._thread = threading.Thread(target=self._run, name=f"sim GSP-RM {self.gpu.chipset.name}",
                                            daemon=True)
            self._thread.start()  # returns once the thread runs; its first step waits for the lock we hold

    def _serve(self, item: tuple[Any, ...], inline: bool = True) -> bool:
        """Handle ``item`` in the calling thread when ``inline`` and GSP-RM has nothing else in hand (True), else give
        it to GSP-RM's thread (False); the same order and virtual times either way (see the module docstring)."""
        with self._lock:
            if not inline or self._work or self._busy or self._stop:
                self._work.append(item)
                self._start_thread()
                self._cond.notify_all()
                return False
            self._busy = True  # GSP-RM's thread, if it runs, waits until this item is handled
        try:
            self._handle_item(item)
        finally:
            with self._lock:
                self._busy = False
                if self._work or self._settling:  # GSP-RM's thread is not woken for nothing
                    self._cond.notify_all()
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while (not self._work or self._busy) and not self._stop:  # busy: an item served inline
                    self._cond.wait()
                if self._stop:
                    self._work.clear()
                    self._cond.notify_all()
                    return
                self._busy = True
                item = self._work.popleft()
            try:
                self._handle_item(item)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _handle_item(self, item: tuple[Any, ...]) -> None:
        """Do one item of GSP-RM's work (in whichever thread serves it); an exception - a bug, or a fault in what
        the driver gave us - halts GSP-RM."""
        kind = item[0]
        if self.state in ("halted", "unloaded", "off"):
            return
        try:
            if kind == "doorbell":
                self._process(item[1])
            elif kind == "boot":
                self._boot(item[1], item[2])
            elif kind == "emit":
                self._publish_msg(item[1], 0, item[2], item[3])
        except Exception as e:
            self._halt(f"internal error handling {kind}: {type(e).__name__}: {e}")

    def _doorbell(self, off: int, value: int) -> None:
        """NV_PGSP_QUEUE_HEAD(0) write (under the sim lock): note it, then serve it here when GSP-RM has nothing
        else in hand, else queue it for GSP-RM's thread (behind what it has)."""
        self.bar.poke(off, value)
        self.doorbells += 1
        # a doorbell with no GSP-RM running is only a register write (a booting GSP-RM reads what was queued)
        if self.state not in ("booting", "sequencing", "running"):
            return
        if self._serve(("doorbell", self.clock.now()), inline=self.inline_doorbells):
            self.inline_served += 1

    # -- faults -----------------------------------------------------------------------------------

    def inject(self, kind: str, *, function: str | None = None, count: int = 1, status: int | None = None,
               delay_ns: int = 100 * MS) -> None:
        """Arm a fault for the next ``count`` status messages named ``function`` (any if None).

        ``stop_consuming``, ``hang`` and ``crash`` act on GSP-RM itself (``function``/``count`` unused).
        """
        if kind not in FAULTS:
            raise NovaError(f"unknown GSP-RM fault {kind!r}; valid: {', '.join(FAULTS)}")
        if kind == "crash":
            self._halt("crash injected")
            return
        if kind == "hang":
            self.log.warning("gsp-rm", "hang injected: GSP-RM stops answering")
            self.state = "halted"
            return
        st = status if status is not None else (self._status("NV_ERR_GENERIC") if self.m else 0xFFFF)
        running = self.state in ("booting", "sequencing", "running")
        self._faults.append(Fault(kind, function, count, st, delay_ns, self._life if running else self._life + 1))

    def clear_faults(self) -> None:
        """Disarm every fault; GSP-RM resumes consuming commands."""
        was_stopped = any(f.kind == "stop_consuming" for f in self._faults)
        self._faults.clear()
        if was_stopped and self.state in ("booting", "sequencing", "running"):
            self._serve(("doorbell", self.clock.now()), inline=False)

    def _take_faults(self, name: str) -> list[Fault]:
        hit = []
        for f in list(self._faults):
            if f.kind in ("stop_consuming",):
                continue
            if f.function is None or f.function == name:
                hit.append(f)
                f.count -= 1
                if f.count <= 0:
                    self._faults.remove(f)
        return hit

    def _consuming(self) -> bool:
        return not any(f.kind == "stop_consuming" for f in self._faults)

    def _halt(self, why: str) -> None:
        self.log.error("gsp-rm", f"GSP-RM halted: {why}")
        self._logrec("LOGRM", "crash", 0xDEAD)
        self.state = "halted"

    # -- helpers ----------------------------------------------------------------------------------

    def _status(self, name: str) -> int:
        assert self.m is not None
        for code, (n, _t) in self.m.NV_STATUS.items():
            if n == name:
                return int(code)
        raise SimViolation(f"no NV_STATUS {name}")

    def _fn(self, name: str) -> int:
        assert self.m is not None
        return int(self.m.FUNCTIONS[name])

    def _ev(self, name: str) -> int:
        assert self.m is not None
        return int(self.m.EVENTS[name])

    def _name(self, number: int) -> str:
        name = self._w.names.get(number)
        return name if name is not None else f"function {number:#x}"

    def _logrec(self, buf: str, key: str, *args: int) -> None:
        log = self.logs.get(buf)
        if log is None or self.formats is None:
            return
        log.write(self.formats.by_key[key], args, self.clock.now())

    def _refuse(self, msg: str) -> None:
        self.refusals.append(msg)
        self.log.error("gsp-rm", msg)

    # -- boot -------------------------------------------------------------------------------------

    def _boot(self, t: int, libos_addr: int) -> None:
        m = self.m
        assert m is not None and self.version is not None
        self._last_when = t
        try:
            regions = self._read_libos(libos_addr)
            rmargs = regions.get("RMARGS")
            if rmargs is None:
                raise SimViolation(f"libos argument page at {libos_addr:#x} has no RMARGS region "
                                   f"(regions: {', '.join(regions) or 'none'})")
            size = ctypes_sizeof(m.GSP_ARGUMENTS_CACHED)
            if rmargs[1] < size:
                raise SimViolation(f"RMARGS region of {rmargs[1]:#x} bytes, smaller than {self.version} "
                                   f"GSP_ARGUMENTS_CACHED ({size:#x})")
            args = m.GSP_ARGUMENTS_CACHED.from_buffer_copy(self.sysmem.read(rmargs[0], size, who="GSP-RM RMARGS"))
            mq = args.messageQueueInitArguments
            self.formats = LogFormats(m)
            for name in ("LOGINIT", "LOGINTR", "LOGRM"):
                if name in regions:
                    self.logs[name] = LibosLog(name, self.sysmem, *regions[name])
                else:
                    self.log.warning("gsp-rm", f"libos argument page has no {name} region: its log is lost")
            self._setup_queues(mq.sharedMemPhysAddr, mq.pageTableEntryCount, mq.cmdQueueOffset, mq.statQueueOffset)
        except SimViolation as e:
            self._halt(f"boot: {e}")
            return
        major, minor, patch = (int(x) for x in [*self.version.split("."), "0", "0"][:3])
        self._logrec("LOGINIT", "boot", major, minor, patch, int(self.gpu.chipset), self.gpu.vram_mib)
        self._logrec("LOGINIT", "libos", len(regions), rmargs[0])
        self._logrec("LOGINIT", "queues", mq.sharedMemPhysAddr, mq.pageTableEntryCount, mq.cmdQueueOffset,
                     mq.statQueueOffset)
        arch = self.gpu.chipset.architecture
        key = "AMPERE_GA100" if self.gpu.chipset.name == "GA100" else arch.name
        self.objects = ObjectTable(m, ARCH_CLASSES.get(key, set()))
        self.objects.internal(INTERNAL_CLIENT, INTERNAL_DEVICE, INTERNAL_SUBDEVICE)
        self.fifo = FifoRm(self)
        self.gr = GrRm(self)
        self.vgpu = VgpuRm(self)
        q = self.q
        assert q is not None
        self._cmd_rptr = 0
        self._cmd_seq = 0
        self._cmd_seq_unknown = False
        self._msg_seq = 0
        self._sysinfo_seen = False
        self._sequence_sent = False
        self._assembly = None
        self._last_when = t + BOOT_NS
        chain = self.gpu.models.get("secure_chain")  # the FSP path: the GSP-FMC's ACR placed GSP-RM instead
        meta = self.acr_layout if self.acr_layout is not None else getattr(chain, "wpr_meta", None)
        self.plan = fb_plan(self.gpu.vram_mib * MiB, meta)
        self._queue(_Out(self._last_when, "call", fn=q.init_msgq_header))
        self._queue(_Out(self._last_when, "call", fn=self._take_memory))
        self.log.info("gsp-rm", f"GSP-RM {self.version} booted: queues at {mq.sharedMemPhysAddr:#x} "
                                f"({mq.pageTableEntryCount} PTEs), {len(regions)} libos regions")
        self._process(t + BOOT_NS)

    def _read_libos(self, addr: int) -> dict[str, tuple[int, int]]:
        m = self.m
        assert m is not None
        esize = ctypes_sizeof(m.LibosMemoryRegionInitArgument)
        page = self.sysmem.read(addr, PAGE, who="GSP-RM libos args")
        regions: dict[str, tuple[int, int]] = {}
        for i in range(PAGE // esize):
            e = m.LibosMemoryRegionInitArgument.from_buffer_copy(page[i * esize:(i + 1) * esize])
            if e.id8 == 0:
                break
            raw = e.id8.to_bytes(8, "big").lstrip(b"\0")
            if not raw.isascii() or not raw.decode().isprintable():
                raise SimViolation(f"libos region {i}: id8 {e.id8:#x} is not a name")
            name = raw.decode()
            if name in regions:
                raise SimViolation(f"libos region {i}: {name} listed twice")
            if e.kind != int(m.LIBOS_MEMORY_REGION_CONTIGUOUS) or e.loc != int(m.LIBOS_MEMORY_REGION_LOC_SYSMEM):
                raise SimViolation(f"libos region {name}: kind {e.kind} loc {e.loc}; the sim models CONTIGUOUS "
                                   f"SYSMEM regions ({int(m.LIBOS_MEMORY_REGION_CONTIGUOUS)}, "
                                   f"{int(m.LIBOS_MEMORY_REGION_LOC_SYSMEM)})")
            if e.size == 0 or e.pa % PAGE:
                raise SimViolation(f"libos region {name}: pa {e.pa:#x} size {e.size:#x} (page-aligned, non-empty "
                                   f"needed)")
            regions[name] = (int(e.pa), int(e.size))
        return regions

    def _setup_queues(self, shared: int, ptes: int, cmdq: int, statq: int) -> None:
        if shared % PAGE:
            raise SimViolation(f"sharedMemPhysAddr {shared:#x} is not page aligned")
        if not 3 <= ptes <= 0x10000:
            raise SimViolation(f"pageTableEntryCount {ptes} is implausible")
        if cmdq % PAGE or statq % PAGE or not 0 < cmdq < statq < ptes * PAGE:
            raise SimViolation(f"queue offsets cmdq {cmdq:#x} / statq {statq:#x} not page aligned, ordered and "
                               f"inside {ptes} pages")
        table = bytearray()
        addr = shared
        per_page = PAGE // 8
        pages_needed = -(-ptes // per_page)
        for k in range(pages_needed):
            table += self.sysmem.read(addr, PAGE, who="GSP-RM PTE array")
            if k + 1 < pages_needed:
                addr = int.from_bytes(table[8 * (k + 1):8 * (k + 2)], "little")
        pages = list(struct.unpack_from(f"<{ptes}Q", table))
        if pages[0] != shared:
            raise SimViolation(f"PTE[0] = {pages[0]:#x}, expected the PTE page itself ({shared:#x})")
        for i, p in enumerate(pages):
            if p % PAGE:
                raise SimViolation(f"PTE[{i}] = {p:#x} is not page aligned")
        region = PagedRegion(self.sysmem, pages, "GSP-RM shared memory")
        assert self.m is not None
        q = GspQueues(region, cmdq, statq, self.m)
        problems = q.check_cmdq_header()
        if problems:
            raise SimViolation("command queue header: " + "; ".join(problems))
        self.q = q

    # -- commands ---------------------------------------------------------------------------------

    def _process(self, t: int) -> None:
        q = self.q
        if q is None or self.state in ("halted", "unloaded") or (self._faults and not self._consuming()):
            return
        handled = 0
        when = max(t, self._last_when)
        count = q.count
        for _ in range(count + 1):  # bounded: at most one ring's worth per doorbell
            w = q.cpu_write_ptr()
            if w >= count:
                self._refuse(f"command queue writePtr {w:#x} outside the ring of {count:#x}")
                return
            slot = self._cmd_rptr
            if slot == w:
                break
            avail = (w - slot) % count
            n, seq = q.head(slot)
            if not 1 <= n <= MAX_ELEMENT_PAGES or n > avail:
                self._refuse(f"command element at slot {slot:#x}: elemCount {n:#x} outside 1..{min(avail, 16)} "
                             f"(the written slots); resynchronised to the write pointer")
                self._logrec("LOGRM", "refused", slot, 0, 1)
                self._cmd_rptr = w
                self._cmd_seq_unknown = True
                when += LATENCY_NS
                self._queue(_Out(when, "rptr", value=w))
                continue
            data, x = q.read_element(slot, n)  # a copy: what is checked is what is handled
            el = q.parse(slot, data)
            self._cmd_rptr = (slot + n) % count
            when += LATENCY_NS
            problem = self._check_element(el, x, seq)
            if problem is None:
                self._command(el, when)
            else:
                self._refuse(f"command element at slot {slot:#x} ({self._name(el.function)}): {problem}")
                self._logrec("LOGRM", "refused", slot, el.function, 2)
                wire = self._w
                if el.signature == wire.signature:
                    self._publish_msg(el.function, wire.invalid_format, el.payload, when)
            self._queue_rptr(when, self._cmd_rptr)
            handled += 1
            if self.state in ("halted", "unloaded"):
                break
        self._last_when = max(self._last_when, when)
        if handled:
            # a sim choice: one LOGINTR record per served doorbell (what real GSP-RM logs there depends on its build's
            # log level, which nothing public states), so that a long run fills and wraps the ring the driver decodes
            self._logrec("LOGINTR", "intr", handled)
        if self.state == "booting" and self._sysinfo_seen and not self._sequence_sent:
            self._send_sequence(self._last_when)  # after the batch: the registry is read before init

    def _check_element(self, el: Any, x: int, seq: int) -> str | None:
        """What is wrong with command element ``el`` (None: nothing); ``x``: the XOR of all its u32 words."""
        assert self.q is not None
        if x:  # nothing in it can be trusted, the sequence number included
            self._cmd_seq_unknown = True
            return f"checksum mismatch: the element XORs to {x:#010x}, not 0"
        if self._cmd_seq_unknown:
            self._cmd_seq_unknown = False
            self._cmd_seq = seq
        expected = self._cmd_seq
        self._cmd_seq = (seq + 1) & 0xFFFFFFFF  # resynchronise on a gap (reported once)
        if seq != expected:
            return f"sequence gap: expected seqNum {expected:#x}, found {seq:#x}"
        w = self._w
        hv = w.header_version
        if el.signature != w.signature:
            return f"rpc signature {el.signature:#010x}, expected {w.signature:#010x}"
        if el.header_version != hv:
            return f"rpc header_version {el.header_version:#010x}, expected {hv:#010x}"
        hdr = self.q.el_hdr
        if el.length < self.q.rpc_size or hdr + el.length > el.count * PAGE:
            return f"rpc length {el.length:#x} does not fit the element of {el.count} page(s)"
        if -(-(hdr + el.length) // PAGE) != el.count:
            return f"elemCount {el.count} but rpc length {el.length:#x} needs {-(-(hdr + el.length) // PAGE)}"
        return None

    def _command(self, el: Any, when: int) -> None:
        w = self._w
        cont = w.continuation
        payload_max = w.payload_max
        if self._assembly is not None:
            a = self._assembly
            if el.function == cont:
                a.chunks.append(el.payload)
                have = sum(map(len, a.chunks))
                if (a.expected is not None and have >= a.expected) or (
                        a.expected is None and len(el.payload) < payload_max):
                    self._assembly = None
                    self._dispatch(a.function, b"".join(a.chunks), when)
                return
            self._assembly = None
            if a.expected is None:  # no size of its own: the command ended with its last full record
                self._dispatch(a.function, b"".join(a.chunks), when)
            else:
                self._refuse(f"{self._name(a.function)} needs {a.expected - sum(map(len, a.chunks)):#x} more "
                             f"bytes, but the next command is {self._name(el.function)}")
                self._publish_msg(a.function, w.invalid_format, b"", when)
        if el.function == cont:
            self._refuse(f"CONTINUATION_RECORD at slot {el.slot:#x} with no large command in progress")
            self._publish_msg(el.function, w.invalid_format, b"", when)
            return
        if len(el.payload) == payload_max:
            expected = self._expected_size(el.function, el.payload)
            if expected is None or expected > len(el.payload):
                self._assembly = _Assembly(el.function, expected, [el.payload], el.slot)
                return
        self._dispatch(el.function, el.payload, when)

    def _expected_size(self, function: int, first: bytes) -> int | None:
        """Total payload of a large command from its own header (RM_CONTROL/RM_ALLOC paramsSize, SET_REGISTRY's
        table size - the sizes OpenRM's ``_issueRpcLarge`` callers split by); ``None`` for a command without one
        (then its records run until one that is not full: the sim's rule, GSP-RM's own is not published)."""
        m = self.m
        assert m is not None
        name = self._name(function)
        if name == "GSP_RM_CONTROL":
            h = m.rpc_gsp_rm_control_v.from_buffer_copy(first[:ctypes_sizeof(m.rpc_gsp_rm_control_v)])
            return ctypes_sizeof(m.rpc_gsp_rm_control_v) + int(h.paramsSize)
        if name == "GSP_RM_ALLOC":
            h = m.rpc_gsp_rm_alloc_v.from_buffer_copy(first[:ctypes_sizeof(m.rpc_gsp_rm_alloc_v)])
            return ctypes_sizeof(m.rpc_gsp_rm_alloc_v) + int(h.paramsSize)
        if name == "SET_REGISTRY":
            return int.from_bytes(first[:4], "little")
        return None

    # -- the RPCs ---------------------------------------------------------------------------------

    def _dispatch(self, function: int, payload: bytes, when: int) -> None:
        m = self.m
        assert m is not None
        known = self._handler_names.get(function)
        if known is None:
            n = self._name(function)
            known = (n, f"_rpc_{n.lower()}" if n in m.FUNCTIONS else None)
            if len(self._handler_names) < 4096:  # bounded: a driver sending every u32 must not grow it forever
                self._handler_names[function] = known
        name, attr = known
        self.handled[name] += 1
        if self.state == "booting" and name not in ("GSP_SET_SYSTEM_INFO", "SET_REGISTRY"):
            self.log.error("gsp-rm", f"{name} before GSP_INIT_DONE: NV_ERR_INVALID_STATE")
            self._publish_msg(function, self._status("NV_ERR_INVALID_STATE"), payload, when)
            return
        if attr is None:  # not in the version's FUNCTIONS
            self.log.error("gsp-rm", f"unknown RPC function {function:#x}")
            self._publish_msg(function, int(m.NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION), payload, when)
            return
        handler = getattr(self, attr, None)
        if handler is None:
            self.log.warning("gsp-rm", f"{name} is not modelled: NV_ERR_NOT_SUPPORTED")
            self._publish_msg(function, self._status("NV_ERR_NOT_SUPPORTED"), payload, when)
            return
        result, reply = handler(payload)
        if result:
            self._logrec("LOGRM", "rpc_error", function, result)
        self._publish_msg(function, result, reply, when)
        if name == "UNLOADING_GUEST_DRIVER":
            self._queue(_Out(when, "call", fn=self._unloaded))

    def _rpc_nop(self, payload: bytes) -> tuple[int, bytes]:
        return 0, payload

    def _rpc_gsp_set_system_info(self, payload: bytes) -> tuple[int, bytes]:
        m = self.m
        assert m is not None
        size = ctypes_sizeof(m.GspSystemInfo)
        if len(payload) < size:
            self._refuse(f"GSP_SET_SYSTEM_INFO: {len(payload):#x} bytes, {self.version} GspSystemInfo is {size:#x}")
            return self._status("NV_ERR_INVALID_PARAM_STRUCT"), payload
        info = m.GspSystemInfo.from_buffer_copy(payload[:size])
        problems = []
        if info.gpuPhysAddr == 0:
            problems.append("gpuPhysAddr (BAR0) is 0")
        mirror = self.gpu.facts.pci_config_mirror  # 0x88000, NV_EP_PCFGM 0x92000 from Hopper on
        if (info.pciConfigMirrorBase, info.pciConfigMirrorSize) != (mirror, 0x1000):
            problems.append(f"PCI config mirror {info.pciConfigMirrorBase:#x}/{info.pciConfigMirrorSize:#x}, "
                            f"expected {mirror:#x}/0x1000")
        if info.maxUserVa == 0:
            problems.append("maxUserVa is 0")
        if problems:
            self._refuse("GSP_SET_SYSTEM_INFO: " + "; ".join(problems))
            return self._status("NV_ERR_INVALID_ARGUMENT"), payload
        self.system_info = info
        self._sysinfo_seen = True
        self._logrec("LOGINIT", "sysinfo", info.gpuPhysAddr, info.nvDomainBusDeviceFunc)
        return 0, payload

    def _rpc_set_registry(self, payload: bytes) -> tuple[int, bytes]:
        try:
            entries = parse_registry(self.m, payload)
        except SimViolation as e:
            self._refuse(f"SET_REGISTRY: {e}")
            return self._status("NV_ERR_INVALID_ARGUMENT"), payload
        self.registry.update(entries)
        self._logrec("LOGINIT", "registry", len(entries))
        return 0, payload

    def _rpc_get_gsp_static_info(self, payload: bytes) -> tuple[int, bytes]:
        assert self.m is not None and self.plan is not None
        acr = self.acr_layout
        layout = None if acr is None else (acr["nonWprHeapOffset"], acr["frtsOffset"])
        return 0, static_info(self.m, self.gpu.chipset, self.gpu.vram_mib, self.gpu.pci_device, self.plan,
                              fw_wpr_layout=layout)

    def _rpc_gsp_rm_alloc(self, payload: bytes) -> tuple[int, bytes]:
        m = self.m
        assert m is not None and self.objects is not None
        hs = ctypes_sizeof(m.rpc_gsp_rm_alloc_v)
        if len(payload) < hs:
            return self._status("NV_ERR_INVALID_PARAM_STRUCT"), payload
        h = m.rpc_gsp_rm_alloc_v.from_buffer_copy(payload[:hs])
        params = payload[hs:]
        if h.paramsSize > len(params):
            status = self._status("NV_ERR_INVALID_PARAM_STRUCT")
        else:
            status = self.objects.alloc(h.hClient, h.hParent, h.hObject, h.hClass, params[:h.paramsSize])
        self._logrec("LOGRM", "alloc", h.hClient, h.hParent, h.hObject, h.hClass, status)
        if status:
            self.log.warning("gsp-rm", f"GSP_RM_ALLOC hClient {h.hClient:#x} hParent {h.hParent:#x} hObject "
                                       f"{h.hObject:#x} class {h.hClass:#x}: {m.NV_STATUS[status][0]}")
        h.status = status
        return status, bytes(h) + params

    def _rpc_gsp_rm_control(self, payload: bytes) -> tuple[int, bytes]:
        m = self.m
        assert m is not None and self.objects is not None
        hs = ctypes_sizeof(m.rpc_gsp_rm_control_v)
        if len(payload) < hs:
            return self._status("NV_ERR_INVALID_PARAM_STRUCT"), payload
        h = m.rpc_gsp_rm_control_v.from_buffer_copy(payload[:hs])
        params = payload[hs:]
        if h.paramsSize > len(params):
            status = self._status("NV_ERR_INVALID_PARAM_STRUCT")
        else:
            status, out, why = self.objects.answer(h.hClient, h.hObject, h.cmd, params[:h.paramsSize],
                                                   self.gpu.chipset)
            if why:
                self._refuse(f"GSP_RM_CONTROL: {why}")
            if len(out) != h.paramsSize:  # a control answers in the caller's buffer: its size never changes
                self._refuse(f"control {h.cmd:#010x} answered {len(out):#x} bytes for paramsSize {h.paramsSize:#x}")
                status = self._status("NV_ERR_INVALID_STATE")
            else:
                params = out + params[h.paramsSize:]
        h.status = status
        return status, bytes(h) + params

    def _rpc_free(self, payload: bytes) -> tuple[int, bytes]:
        m = self.m
        assert m is not None and self.objects is not None
        size = ctypes_sizeof(m.rpc_free_v)
        if len(payload) < size:
            return self._status("NV_ERR_INVALID_PARAM_STRUCT"), payload
        f = m.rpc_free_v.from_buffer_copy(payload[:size])
        p = f.params
        status = self.objects.free(p.hRoot, p.hObjectParent, p.hObjectOld)
        self._logrec("LOGRM", "free", p.hRoot, p.hObjectOld, status)
        p.status = status
        return status, bytes(f) + payload[size:]

    def _rpc_update_bar_pde(self, payload: bytes) -> tuple[int, bytes]:
        """Merge the CPU's BAR2 entry into entry 0 of GSP-RM's BAR2 root (OpenRM ``kbusPatchBar2Pdb_GSPCLIENT``:
        "GSP-RM will fill this value to PDE3[0] of GSP-RM's table"); a zero entry takes it out again."""
        m = self.m
        assert m is not None
        size = ctypes_sizeof(m.rpc_update_bar_pde_v)
        if len(payload) < size:
            return self._status("NV_ERR_INVALID_PARAM_STRUCT"), payload
        info = m.rpc_update_bar_pde_v.from_buffer_copy(payload[:size]).info
        bar1, bar2 = int(m.NV_RPC_UPDATE_PDE_BAR_1), int(m.NV_RPC_UPDATE_PDE_BAR_2)
        mmu = self.gpu.models["mmu"]
        assert isinstance(mmu, SimMmu)
        root = mmu.geometry.directories[0]
        value, status = int(info.entryValue), "NV_ERR_INVALID_ARGUMENT"
        problem = None
        if info.barType == bar1:
            status = "NV_ERR_NOT_SUPPORTED"
            problem = (f"barType BAR_1: GSP-RM's BAR1 root is its own (static info bar1PdeBase "
                       f"{0 if self.plan is None else self.plan.bar1_pdb:#x}), reused as it is - no NVIDIA client "
                       f"sends BAR_1 (OpenRM kbusPatchBar1Pdb_GSPCLIENT, nouveau r535_bar_bar1_init)")
        elif info.barType != bar2:
            problem = f"barType {info.barType} (BAR_2 = {bar2} expected)"
        elif info.entryLevelShift != root.va_lo:
            problem = (f"entryLevelShift {info.entryLevelShift}, expected {root.va_lo}: the entry goes into "
                       f"GSP-RM's {root.name}, the root of this MMU")
        elif value:
            problem = self._check_bar2_entry(mmu, value)
        if problem:
            self._refuse(f"UPDATE_BAR_PDE: {problem}")
            return self._status(status), payload
        plan = self.plan
        assert plan is not None

        def merge() -> None:  # a timer, before the reply is published (sim lock held)
            self.gpu.vram.write(plan.bar2_pdb, value.to_bytes(root.entry_size, "little"))
            bar2 = self.gpu.models.get("bar2")
            if isinstance(bar2, Bar2Model):
                bar2.tlb.flush()  # GSP-RM invalidates its own BAR2 space after the change

        self._queue(_Out(self._last_when, "call", fn=merge))
        self.bar_pde["BAR2"] = (value, int(info.entryLevelShift))
        return 0, payload

    def _check_bar2_entry(self, mmu: SimMmu, value: int) -> str | None:
        """Why ``value`` cannot be GSP-RM's BAR2 root entry 0: not a PDE, not video memory, or a table under it
        outside the VRAM GSP-RM leaves the CPU (``None``: it can)."""
        if self.plan is None:
            return "GSP-RM has no BAR2 table (not booted)"
        level = mmu.geometry.directories[0]
        if value & 1:
            return f"entryValue {value:#x} has IS_PTE set: a PDE of {level.name} is expected"
        v2 = mmu.version == 2
        ap = (f_mmu.NV_MMU_VER2_PDE.aperture if v2 else f_mmu.NV_MMU_VER3_PDE.aperture).get(value)
        if ap != f_mmu.PdeAperture.VIDEO_MEMORY:
            return (f"entryValue {value:#x} has aperture {ap}: the CPU's BAR2 tables must be in video memory "
                    f"({int(f_mmu.PdeAperture.VIDEO_MEMORY)})")
        space, table = mmu._pde_target(value, level.name, 0)
        fb = self.gpu.models.get("fb")
        try:
            tables = mmu.tables_under(space, table, 1)
        except SimViolation as e:
            return f"entryValue {value:#x}: the tables under it cannot be walked ({e})"
        for name, sp, addr, length in tables:
            why = fb.ownership_problem(addr, length) if isinstance(fb, FbModel) else None
            if why is not None or sp != VID:
                return (f"entryValue {value:#x}: the {name} table at {sp} {addr:#x} is not in the CPU's VRAM "
                        f"({why or 'system memory'}): page tables the driver places in reserved or protected VRAM "
                        f"are refused")
        return None

    def _rpc_unloading_guest_driver(self, payload: bytes) -> tuple[int, bytes]:
        self._logrec("LOGRM", "unload")
        return 0, payload

    # -- GSP-RM's memory and BAR2 ----------------------------------------------------------------

    def _take_memory(self) -> None:
        """Timer (sim lock held): GSP-RM claims its FB regions, sets up its BAR1/BAR2 roots and binds BAR2."""
        plan = self.plan
        if plan is None or self.state not in ("booting", "sequencing", "running"):
            return
        fb = self.gpu.models.get("fb")
        if isinstance(fb, FbModel):
            fb.set_gsp_regions(list(plan.regions))
        vram = self.gpu.vram
        for table in (plan.bar2_pdb, plan.bar1_pdb):
            vram.write(table, bytes(PAGE))
        bar1 = self.gpu.models.get("bar1")
        bars = ((self.gpu.models.get("bar2"), plan.bar2_inst, plan.bar2_pdb, BAR2_SIZE),
                (bar1, plan.bar1_inst, plan.bar1_pdb, bar1.size if isinstance(bar1, Bar2Model) else 0))
        for model, inst, pdb, size in bars:
            vram.write(inst, bytes(RAMIN_SIZE))
            limit = size - 1
            words = NV_RAMIN_PAGE_DIR_BASE.encode(
                target=InstTarget.VID_MEM, use_ver2_pt_format=1, big_page_size=BigPageSize.SIZE_64KB,
                lo=(pdb >> 12) & NV_RAMIN_PAGE_DIR_BASE.lo.max, hi=pdb >> 32,
                adr_limit_lo=(limit >> 12) & NV_RAMIN_PAGE_DIR_BASE.adr_limit_lo.max, adr_limit_hi=limit >> 32)
            vram.write(inst + RAMIN_PAGE_DIR_OFFSET, words.to_bytes(16, "little"))
            if isinstance(model, Bar2Model):
                model.bind_for_gsp(inst)
        self.log.info("gsp-rm", f"GSP-RM keeps VRAM from {plan.regions[1].base:#x}; BAR2 bound to its instance "
                                f"block {plan.bar2_inst:#x} (root {plan.bar2_pdb:#x}), BAR1 to {plan.bar1_inst:#x} "
                                f"(root {plan.bar1_pdb:#x})")

    def _release_memory(self) -> None:
        """GSP-RM is gone (unloaded, or its core reset): its claims on VRAM and BAR2 end (sim lock held)."""
        fb = self.gpu.models.get("fb")
        if isinstance(fb, FbModel):
            fb.set_gsp_regions([])
        for name in ("bar2", "bar1"):
            bar = self.gpu.models.get(name)
            if isinstance(bar, Bar2Model) and self.state == "unloaded":
                bar.release_from_gsp()
            elif isinstance(bar, Bar2Model):
                bar.gsp_owner = None  # the binding stays in the hardware; nobody enforces it any more

    def _unloaded(self) -> None:
        self.state = "unloaded"
        self._release_memory()
        self.bar.poke(F.NV_PFALCON_FALCON_MAILBOX0.addr(self._gsp), self.unload_mailbox0)
        self.log.info("gsp-rm", f"GSP-RM unloaded (GSP MAILBOX0 = {self.unload_mailbox0:#x})")
        for fn in list(self.on_unloaded):  # what runs below GSP-RM shuts down with it (the GSP-FMC on Hopper+)
            fn()

    # -- boot sequence and events ----------------------------------------------------------------

    def boot_sequence(self) -> list[tuple[str, tuple[int, ...]]]:
        """The commands of the boot-time RUN_CPU_SEQUENCER (a sim choice; see the module docstring)."""
        if self.sequence_program is not None:
            return list(self.sequence_program)
        mb = NV_PGSP_MAILBOX
        prog: list[tuple[str, tuple[int, ...]]] = [
            ("REG_STORE", (F.NV_PFALCON_FALCON_MAILBOX0.addr(self._gsp), 0)),
            ("REG_STORE", (F.NV_PFALCON_FALCON_MAILBOX1.addr(self._gsp), 1)),
            ("REG_POLL", (mb.addr(i=3), SEQ_FLAG, SEQ_FLAG, 1000, 0x5EC1)),
            ("REG_WRITE", (mb.addr(i=2), SEQ_TOKEN)),
            ("REG_MODIFY", (mb.addr(i=2), 0xFF, SEQ_MODIFY)),
            ("DELAY_US", (20,)),
        ]
        if self.core_resume:
            prog.append(("CORE_RESUME", ()))
        return prog

    def _expect(self) -> list[tuple[int, int, int]]:
        if self.sequence_expect is not None:
            return list(self.sequence_expect)
        return [(NV_PGSP_MAILBOX.addr(i=2), 0xFFFFFFFF, (SEQ_TOKEN & ~0xFF) | SEQ_MODIFY)]

    def _send_sequence(self, when: int) -> None:
        m = self.m
        assert m is not None
        words: list[int] = []
        prog = self.boot_sequence()
        for op, args in prog:
            words.append(int(getattr(m, f"GSP_SEQ_BUF_OPCODE_{op}")))
            want = int(getattr(m, f"GSP_SEQ_PAYLOAD_DWORDS_{op}"))
            if len(args) != want:
                raise SimViolation(f"sequence {op}: {len(args)} payload dword(s), {want} expected")
            words.extend(args)
        head = m.rpc_run_cpu_sequencer_v()
        head.bufferSizeDWord = max(0x400, len(words) + 1)
        head.cmdIndex = len(words)
        payload = bytes(head) + struct.pack(f"<{len(words)}I", *words)
        flag_at = NV_PGSP_MAILBOX.addr(i=3)
        self._sequence_sent = True
        self.state = "sequencing"
        self._seq_deadline = when + SEQ_TIMEOUT
        self._logrec("LOGINIT", "sequencer", len(prog))
        self._queue(_Out(when, "call", fn=lambda: self.bar.poke(flag_at, self.bar.peek(flag_at) | SEQ_FLAG)))
        self._publish_msg(self._ev("GSP_RUN_CPU_SEQUENCER"), 0, payload, when + EVENT_LATENCY_NS)
        self._queue(_Out(when + EVENT_LATENCY_NS, "call", fn=self._check_sequence))

    def _check_sequence(self) -> None:
        """Timer: has the CPU run the sequence? Then GSP_INIT_DONE; else look again, up to SEQ_TIMEOUT."""
        if self.state != "sequencing":
            return
        now = self.clock.now()
        missing = [(a, mask, v, self.bar.peek(a)) for a, mask, v in self._expect()
                   if self.bar.peek(a) & mask != v]
        if not missing:
            self.state = "running"
            self._logrec("LOGINIT", "init_done")
            self.log.info("gsp-rm", "CPU sequencer done: GSP_INIT_DONE")
            self._publish_now(self._ev("GSP_INIT_DONE"), b"")
            return
        if now >= self._seq_deadline:
            a, mask, v, got = missing[0]
            self._refuse(f"the CPU did not run the boot sequence within {SEQ_TIMEOUT // MS} ms: "
                         f"{self.bar.label(a)} & {mask:#x} = {got & mask:#x}, expected {v:#x}; no GSP_INIT_DONE")
            self.state = "halted"
            return
        self.clock.call_later(SEQ_CHECK_INTERVAL, self._check_sequence)

    def emit(self, event: str, payload: bytes = b"", *, delay_ns: int = EVENT_LATENCY_NS) -> None:
        """Send an event (by its bindings name, e.g. ``"OS_ERROR_LOG"``) from GSP-RM's thread."""
        if self.m is None or event not in self.m.EVENTS:
            valid = ", ".join(self.m.EVENTS) if self.m else "none (GSP-RM not booted)"
            raise NovaError(f"GSP-RM {self.version} has no event {event!r}; valid: {valid}")
        self._serve(("emit", self._ev(event), payload, self.clock.now() + delay_ns), inline=False)

    def event_payload(self, struct_name: str, **fields: Any) -> bytes:
        """An event payload from the bindings' structure (e.g. ``rpc_os_error_log_v``), fields by name."""
        assert self.m is not None
        obj = getattr(self.m, struct_name)()
        for k, v in fields.items():
            if isinstance(v, (bytes, str)):
                raw = v.encode() if isinstance(v, str) else v
                off = getattr(type(obj), k).offset
                ctypes.memmove(ctypes.addressof(obj) + off, raw, len(raw))
            else:
                setattr(obj, k, v)
        return bytes(obj)

    # -- publication -------------------------------------------------------------------------------

    def _queue(self, item: _Out) -> None:
        when = item.when
        with self._out_lock:
            self._out.append(item)
            if when in self._pump_times:  # a pump at that time will publish it
                return
            self._pump_times.add(when)
        self.clock.call_at(when, self._pump)

    def _queue_rptr(self, when: int, value: int) -> None:
        """GSP's read pointer of the command queue, published at ``when`` after what is queued.

        When the last item queued is a message due at ``when`` or later, the pointer rides on it: published by the
        same pump right after it, exactly where an item of its own would have been (not before that message, and
        nothing between the two)."""
        with self._out_lock:
            out = self._out
            if out:
                last = out[-1]
                if last.kind == "msg" and last.rptr is None and last.when >= when:
                    last.rptr = value
                    return
        self._queue(_Out(when, "rptr", value=value))

    def _schedule_pump(self, when: int) -> None:
        """A pump at ``when`` (one timer per time: items due together are published by one pump)."""
        with self._out_lock:
            if when in self._pump_times:
                return
            self._pump_times.add(when)
        self.clock.call_at(when, self._pump)

    def _publish_msg(self, function: int, result: int, payload: bytes, when: int) -> None:
        """Queue a status message (split into continuation records when large) for publication."""
        kept: tuple[Fault, ...] = ()
        if self._faults:
            faults = self._take_faults(self._name(function))
            for f in faults:
                if f.kind == "error_result":
                    result = f.status
                elif f.kind == "delay":
                    when += f.delay_ns
            kept = tuple(f for f in faults if f.kind not in ("error_result", "delay"))
        w = self._w
        maxp = w.payload_max
        when = max(when, self._last_when)
        self._last_when = when
        if len(payload) <= maxp:  # one record (the common case)
            self._queue(_Out(when, "msg", function, result, REPLY_SEQUENCE,
                             payload if type(payload) is bytes else bytes(payload), faults=kept))
            return
        cont = w.continuation
        for i in range(0, len(payload), maxp):
            self._queue(_Out(when, "msg", function if i == 0 else cont, result, REPLY_SEQUENCE,
                             payload[i:i + maxp], faults=kept))

    def _publish_now(self, function: int, payload: bytes) -> None:
        """From a timer: publish an event at the current time (after what is already queued)."""
        now = self.clock.now()
        faults = self._take_faults(self._name(function))  # a drop/corruption armed for this event applies too
        result = next((f.status for f in faults if f.kind == "error_result"), 0)
        with self._out_lock:
            self._out.append(_Out(now, "msg", function, result, REPLY_SEQUENCE, payload,
                                  faults=tuple(f for f in faults if f.kind not in ("error_result", "delay"))))
        self._pump()

    def _pump(self) -> None:
        """Timer: publish what is due, in order, as far as the status queue has room.

        Runs under the sim lock (every caller is a clock timer), so pumps never overlap; the outbox lock
        only guards against the GSP-RM thread appending meanwhile.
        """
        now = self.clock.now()
        with self._out_lock:
            times = self._pump_times
            if times:  # this pump does what those were for (one may fire late: scheduled in the past)
                if len(times) == 1 and now in times:  # the common case: only this pump
                    times.clear()
                else:
                    self._pump_times = {t for t in times if t > now}
        q = self.q
        if q is None or self.state in ("halted", "off"):
            return
        published = False
        retry: int | None = None
        out = self._out
        head = q.el_hdr + q.rpc_size
        while True:
            with self._out_lock:
                if not out or out[0].when > now:
                    break
                item = out[0]
                if item.kind == "msg":
                    n = -(-(head + len(item.payload)) // PAGE)
                    if q.msgq_free() < n:
                        if not item.stalled:
                            item.stalled = True
                            self.log.warning("gsp-rm", f"status queue full: {self._name(item.function)} waits "
                                                       f"for the CPU to read")
                        retry = now + PUMP_RETRY_NS
                        break
                out.popleft()
            if item.kind == "rptr":
                q.set_gsp_read_ptr(item.value)
            elif item.kind == "call":
                assert item.fn is not None
                item.fn()
            else:
                self._write_msg(item)
                published = True
                if item.rptr is not None:
                    q.set_gsp_read_ptr(item.rptr)
        if retry is not None:
            self._schedule_pump(retry)
        if published:  # the message-queue doorbell: SWGEN0 (through the falcon model, which tells the tree)
            falcon = getattr(self.gpu.models.get("falcon"), "gsp", None)
            if falcon is not None:
                falcon.raise_irq(F.IRQ_SWGEN0)
            else:
                stat = F.NV_PFALCON_FALCON_IRQSTAT.addr(self._gsp)
                self.bar.poke(stat, self.bar.peek(stat) | F.IRQ_SWGEN0)

    def _write_msg(self, item: _Out) -> None:
        q = self.q
        assert q is not None
        seq = self._msg_seq
        self._msg_seq = (seq + 1) & 0xFFFFFFFF
        kinds = {f.kind for f in item.faults} if item.faults else _NO_FAULTS
        if "drop" in kinds:
            self.log.warning("gsp-rm", f"fault: dropped {self._name(item.function)} (status seqNum {seq})")
            return
        w = self._w
        hv, sig = w.header_version, w.signature
        if "bad_signature" in kinds:
            sig ^= 0xFF
        buf, n = q.stage(seq=seq, function=item.function, result=item.result, rpc_seq=item.rpc_seq,
                         payload=item.payload, header_version=hv, signature=sig)
        if "bad_length" in kinds:
            length_at = q.rpc_fields["length"]
            struct.pack_into("<I", buf, length_at, n * PAGE)  # longer than the element
        if "bad_elem_count" in kinds:
            struct.pack_into("<I", buf, q.el_count, q.count + 5)
        if kinds & {"bad_length", "bad_elem_count"}:
            struct.pack_into("<I", buf, q.el_checksum, 0)
            struct.pack_into("<I", buf, q.el_checksum, xor32(buf))
        if "corrupt_checksum" in kinds:
            struct.pack_into("<I", buf, q.el_checksum, int.from_bytes(buf[q.el_checksum:q.el_checksum + 4],
                                                                      "little") ^ 0x1)
        q.write_status(buf, n)
        self.published += 1


def ctypes_sizeof(cls: Any) -> int:
    return ctypes.sizeof(cls)


def parse_registry(m: ModuleType | None, data: bytes) -> dict[str, int | str | bytes]:
    """The sim's own PACKED_REGISTRY_TABLE reader; every offset and length is checked."""
    assert m is not None
    hs = ctypes_sizeof(m.PACKED_REGISTRY_TABLE)
    es = ctypes_sizeof(m.PACKED_REGISTRY_ENTRY)
    if len(data) < hs:
        raise SimViolation(f"{len(data)} bytes, shorter than the table header ({hs})")
    size, count = struct.unpack_from("<II", data, 0)
    if size > len(data):
        raise SimViolation(f"table size {size:#x} larger than the {len(data):#x}-byte payload")
    if hs + count * es > size:
        raise SimViolation(f"{count} entries do not fit the table of {size:#x} bytes")
    table = data[:size]
    out: dict[str, int | str | bytes] = {}

    def cstr(off: int) -> str:
        end = table.find(b"\0", off)
        if off < hs + count * es or end < 0:
            raise SimViolation(f"string at {off:#x} outside the string area or not NUL-terminated")
        return table[off:end].decode("ascii", errors="replace")

    for i in range(count):
        e = m.PACKED_REGISTRY_ENTRY.from_buffer_copy(table[hs + i * es:hs + (i + 1) * es])
        key = cstr(e.nameOffset)
        if e.type == int(m.REGISTRY_TABLE_ENTRY_TYPE_DWORD):
            if e.length != 4:
                raise SimViolation(f"entry {key!r}: DWORD with length {e.length}")
            out[key] = int(e.data)
        elif e.type in (int(m.REGISTRY_TABLE_ENTRY_TYPE_STRING), int(m.REGISTRY_TABLE_ENTRY_TYPE_BINARY)):
            if e.data + e.length > size or e.data < hs + count * es:
                raise SimViolation(f"entry {key!r}: data [{e.data:#x}, +{e.length:#x}) outside the table")
            blob = table[e.data:e.data + e.length]
            if e.type == int(m.REGISTRY_TABLE_ENTRY_TYPE_STRING):
                if not blob.endswith(b"\0"):
                    raise SimViolation(f"entry {key!r}: string not NUL-terminated")
                out[key] = blob[:-1].decode("ascii", errors="replace")
            else:
                out[key] = blob
        else:
            raise SimViolation(f"entry {key!r}: type {e.type} (1 DWORD, 2 BINARY, 3 STRING expected)")
    return out
