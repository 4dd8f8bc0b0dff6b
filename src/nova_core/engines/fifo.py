"""nova_core.engines.fifo: engines and runlists, channel ids, channel groups and channels - on GSP-RM.

:class:`Fifo` (``gpu.channels``) is a booted GPU's FIFO, set up the way nouveau's r535 code does it
(``nvkm/subdev/gsp/rm/r535/fifo.c``) and OpenRM's CPU side describes a GSP client's channel
(``kernel_channel.c``):

- **engines and runlists** from GSP-RM (NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE on the subdevice, paged
  by ``baseIndex``/``bMore``): each entry's RM_ENGINE_TYPE, runlist and instance (:class:`EngineInfo`); the
  CE fault method-buffer size (NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE);
- **channel ids** chosen by the driver (:class:`ChidAllocator`, 2048 as nouveau's ``r535_fifo_runl_ctor``) and
  handed to GSP-RM in ``NVOS04_FLAGS_CHANNEL_USERD_INDEX_PAGE_VALUE``/``_INDEX_VALUE`` (id / 8, id % 8) with
  USERD_INDEX_PAGE_FIXED, as ``_kchannelSendChannelAllocRpc`` does; exhaustion is a
  :class:`~nova_core.errors.ChannelExhausted`;
- **a channel** (:meth:`Fifo.open`): a KEPLER_CHANNEL_GROUP_A (``NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS``), then
  the chip's GPFIFO class with ``NV_CHANNEL_ALLOC_PARAMS`` naming the memory the driver allocated - the 4 KiB
  instance block in VRAM (``instanceMem``, its first 0x200 bytes ``ramfcMem``; joined to the address space
  first), 512 bytes of USERD in VRAM (eight channels per 4 KiB page), the GPFIFO ring and the pushbuffer in
  system memory mapped in the channel's address space, the fault method buffer (system memory) and an error
  notifier (system memory, ``ERROR_NOTIFIER_TYPE_MEMORY``); then NVA06F_CTRL_CMD_BIND, the group's
  NVA06C_CTRL_CMD_GPFIFO_SCHEDULE, and the work-submit token (NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN;
  the runlist added on Ampere and later, RUNLIST_DOORBELL on GB20x);
- **submission** (:meth:`Channel.submit`): the pushbuffer copied into the ring's pushbuffer area, a GPFIFO entry,
  GP_PUT written to USERD (through BAR2), the token written to the usermode doorbell; each submission ends with a
  semaphore release of the channel's next timeline value and a non-stall interrupt, which wakes its
  :class:`~.fence.Fence`'s waiters (the channel listens to its engine's vector in ``gpu.nonstall`` while open);
- **errors**: GSP-RM's RC_TRIGGERED (and MMU_FAULT_QUEUED before it for MMU faults) and the channel's error
  notifier mark the channel stopped; every wait on it then raises :class:`~nova_core.errors.ChannelFault` with a
  :class:`ChannelErrorReport` (one line: chid, engine, fault address, reason). Recovery is closing the channel -
  everything it held is freed - and opening a new one.

Everything is thread-safe (a lock per FIFO for ids and tables, a lock per channel for submissions) and freed
deterministically: :meth:`Channel.close`, :meth:`Fifo.close`, or ``with``. From a REPL::

    >>> gpu = nova_core.boot_sim("ga102")
    >>> [e.name for e in gpu.channels.engines]
    ['GR0', 'CE0', 'CE1', 'CE2', 'CE3', 'CE4']
    >>> with gpu.channels.open("ce0") as ch:
    ...     src = ch.vaspace.alloc_sysmem(1 << 20); dst = ch.vaspace.alloc_vram(1 << 20)
    ...     ch.copy_engine().copy(dst, src, 1 << 20).wait()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ChannelError, ChannelExhausted, ChannelFault, GspError, NovaError, PollTimeout
from ..gpu.chips import Chipset
from ..gsp.client import RmObject
from ..gsp.fw import Event, GspAbi, RcTriggered
from ..gsp.rpc import EventMessage, GspRpc
from ..hw.bar import Bar
from ..hw.clock import MS, US, Clock
from ..hw.dma import DmaAllocator
from ..hw.poll import poll_timeout
from ..mm.allocator import RangeAllocator
from ..mm.instmem import Bar2Space, InstMemory, InstObject
from ..mm.pte import MmuFormat, format_for
from ..mm.tlb import TlbInvalidator
from ..mm.vram import VramAccess
from ..regs.usermode import NV_VIRTUAL_FUNCTION_DOORBELL
from . import facts as F
from .fence import Fence, NonStall
from .pushbuf import Pushbuffer, gp_entry
from .vaspace import AddressSpace, VramWindow

if TYPE_CHECKING:
    from ..hw.events import Timeline
    from ..irq.nonstall import NonstallListeners
    from .ce import CopyEngine
    from .gr.compute import ComputeEngine
    from .gr.context import Graphics

# TIMEOUT: OpenRM sends the error notifications (RC_TRIGGERED) right after writing the notifiers
# (krcErrorSendEventNotifications follows krcErrorWriteNotifier); 100 ms of device time covers the message queue.
RC_EVENT_TIMEOUT = 100 * MS
DEFAULT_ENTRIES = 1024  #: GPFIFO entries of a channel (nouveau's default ring: 0x2000 bytes = 1024 entries)
DEFAULT_PUSHBUF = 256 << 10  #: pushbuffer bytes of a channel
SEMAPHORE_OFFSET = 0  #: the timeline semaphore: first word of the channel's semaphore page


# -- engines ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineInfo:
    """One engine of the device info table."""

    name: str  #: "GR0", "CE3", ... (from RM_ENGINE_TYPE)
    rm_engine_type: int
    runlist: int
    instance: int
    runlist_pri_base: int
    engine_data: tuple[int, ...] = field(repr=False)

    @property
    def is_copy(self) -> bool:
        return self.name.startswith("CE")

    @property
    def is_graphics(self) -> bool:
        return self.name.startswith("GR")

    @property
    def nv2080_engine_type(self) -> int:
        """NV2080_ENGINE_TYPE for allocation parameters (GR0 and COPY0..9 share RM_ENGINE_TYPE's numbers)."""
        return self.rm_engine_type

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "rm_engine_type": self.rm_engine_type, "runlist": self.runlist,
                "instance": self.instance, "runlist_pri_base": self.runlist_pri_base}


def engine_name(abi: GspAbi, rm_engine_type: int) -> str:
    """``RM_ENGINE_TYPE_COPY3`` -> "CE3", ``..._GR0`` -> "GR0" (others: the enumerator's name)."""
    m = abi.module
    for k in dir(m):
        if k.startswith("RM_ENGINE_TYPE_") and getattr(m, k) == rm_engine_type and k != "RM_ENGINE_TYPE_LAST":
            short = k[len("RM_ENGINE_TYPE_"):]
            return "CE" + short[4:] if short.startswith("COPY") else short
    return f"ENGINE_{rm_engine_type:#x}"


# -- channel ids -----------------------------------------------------------------------------------------


class ChidAllocator:
    """Channel ids ``0 .. count - 1``, lowest free first; thread-safe; exhaustion raises ChannelExhausted."""

    def __init__(self, count: int = F.CHIDS) -> None:
        if not 0 < count <= F.CHIDS:
            raise ChannelError(f"channel id count {count}: 1..{F.CHIDS}")
        self.count = count
        self._free = list(range(count - 1, -1, -1))  # a stack: pop() gives the lowest
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def alloc(self) -> int:
        with self._lock:
            if not self._free:
                raise ChannelExhausted(f"all {self.count} channel ids are in use")
            chid = self._free.pop()
            self._used.add(chid)
            return chid

    def free(self, chid: int) -> None:
        with self._lock:
            if chid not in self._used:
                raise ChannelError(f"channel id {chid} is not allocated (double free?)")
            self._used.remove(chid)
            self._free.append(chid)
            self._free.sort(reverse=True)

    def alloc_range(self, count: int) -> int:
        """``count`` contiguous ids, the highest free run first (the PF's channels take ids from the bottom, so a
        vGPU's block - a VF's channels, issue 19 - does not fragment them); returns the first.

        Raises:
            ChannelError: ``count`` outside 1..count of the allocator.
            ChannelExhausted: no run of ``count`` free ids.
        """
        if not isinstance(count, int) or not 0 < count <= self.count:
            raise ChannelError(f"channel id block of {count!r}: 1..{self.count} ids")
        with self._lock:
            first = self._find_range(count)
            if first is None:
                raise ChannelExhausted(f"no {count} contiguous channel ids free ({self.count - len(self._used)} of "
                                       f"{self.count} free)")
            block = set(range(first, first + count))
            self._used |= block
            self._free = [c for c in self._free if c not in block]
            return first

    def find_range(self, count: int) -> int | None:
        """Where :meth:`alloc_range` would put ``count`` ids now (None: nowhere); nothing is taken."""
        with self._lock:
            return self._find_range(count)

    def _find_range(self, count: int) -> int | None:
        first = self.count - count
        while first >= 0:
            clash = max((c for c in self._used if first <= c < first + count), default=None)
            if clash is None:
                return first
            first = clash - count
        return None

    def free_range(self, first: int, count: int) -> None:
        """Return ids ``first .. first + count - 1`` (every one must be allocated: nothing is freed otherwise)."""
        if not isinstance(count, int) or not isinstance(first, int) or count <= 0:
            raise ChannelError(f"channel id block {first!r} +{count!r}: a first id and a positive count")
        with self._lock:
            block = set(range(first, first + count))
            if not block <= self._used:
                missing = sorted(block - self._used)
                raise ChannelError(f"channel ids {first}..{first + count - 1}: {len(missing)} not allocated "
                                   f"(first {missing[0]}; double free?)")
            self._used -= block
            self._free.extend(block)
            self._free.sort(reverse=True)

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._used)


# -- errors ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelErrorReport:
    """Why the GPU stopped a channel: from GSP-RM's RC_TRIGGERED and the channel's error notifier."""

    chid: int
    engine: str
    rc: int  #: ROBUST_CHANNEL_* (exceptType / notifier info32)
    fault_address: int | None  #: the faulting VA (r570's RC_TRIGGERED carries it)
    fault_type: str | None  #: FAULT_TYPE name (r570)
    source: str  #: "RC_TRIGGERED" or "error notifier"
    mmu_fault_queued: bool = False  #: an MMU_FAULT_QUEUED event came before it

    @property
    def reason(self) -> str:
        name = F.RC_NAMES.get(self.rc, f"ROBUST_CHANNEL error {self.rc}")
        return f"{name}" + (f" ({self.fault_type})" if self.fault_type else "")

    def __str__(self) -> str:
        where = (f"fault address {self.fault_address:#x}" if self.fault_address is not None else
                 "fault address not reported" if self.rc == F.RC_MMU_FAULT else "no fault address")
        return f"channel {self.chid} ({self.engine}): {self.reason}, {where} [{self.source}]"

    def as_json(self) -> dict[str, Any]:
        return {"chid": self.chid, "engine": self.engine, "rc": self.rc, "reason": self.reason,
                "fault_address": self.fault_address, "fault_type": self.fault_type, "source": self.source}


# -- USERD pages ---------------------------------------------------------------------------------------------


class _UserdPool:
    """USERD in VRAM: 512 bytes per channel id, a 4 KiB instance-memory page per eight ids (nouveau
    CHID_PER_USERD). As nouveau allocates its USERD area once for the FIFO, a page stays until :meth:`release`
    (when the FIFO closes): at most ``chids / 8`` pages, whatever the number of channels opened and closed."""

    def __init__(self, instmem: InstMemory) -> None:
        self.instmem = instmem
        self._pages: dict[int, InstObject] = {}
        self._lock = threading.Lock()

    def take(self, chid: int) -> tuple[InstObject, int]:
        page = chid // F.USERD_PER_PAGE
        with self._lock:
            obj = self._pages.get(page)
            if obj is None:
                obj = self._pages[page] = self.instmem.alloc(F.USERD_SIZE * F.USERD_PER_PAGE, align=0x1000,
                                                             name=f"userd {page}")
        off = (chid % F.USERD_PER_PAGE) * F.USERD_SIZE
        obj.write(off, bytes(F.USERD_SIZE))  # GP_GET/GP_PUT start at 0 (nouveau clears USERD per channel)
        return obj, off

    def release(self) -> None:
        with self._lock:
            pages, self._pages = list(self._pages.values()), {}
        for obj in pages:
            self.instmem.free(obj)

    @property
    def pages(self) -> int:
        return len(self._pages)


# -- the FIFO --------------------------------------------------------------------------------------------------


class Fifo:
    """The FIFO of a booted GPU (see the module docstring). Build with :meth:`create` (the boot does it).

    Args:
        chipset: the chip (its classes).
        rpc, abi: GSP-RM.
        client, device, subdevice: the driver's RM objects.
        allocator: the VRAM allocator (buffers, page tables).
        vram: the device's VRAM access for page tables (its one PRAMIN window).
        instmem: instance memory (BAR2): instance blocks and USERD.
        bar2_space, bar2: the driver's BAR2 space and aperture (CPU access to VRAM buffers).
        dma: system memory.
        bar0, clock: the doorbell, TLB invalidates, waits.
        chids: how many channel ids the driver uses (tests of exhaustion take fewer).
    """

    def __init__(self, *, chipset: Chipset, rpc: GspRpc, abi: GspAbi, client: RmObject, device: RmObject,
                 subdevice: RmObject, allocator: RangeAllocator, vram: VramAccess, instmem: InstMemory,
                 bar2_space: Bar2Space, bar2: Bar, dma: DmaAllocator, bar0: Bar, clock: Clock,
                 chids: int = F.CHIDS, timeline: Timeline | None = None,
                 interrupts: NonstallListeners | None = None) -> None:
        self.chipset = chipset
        self.classes = F.classes_for(chipset)
        self.rpc = rpc
        self.abi = abi
        self.client = client
        self.device = device
        self.subdevice = subdevice
        self.allocator = allocator
        self.vram = vram
        self.instmem = instmem
        self.bar2_space = bar2_space
        self.bar2 = bar2
        self.dma = dma
        self.bar0 = bar0
        self.clock = clock
        self.timeline = timeline
        self.mmu_format: MmuFormat = format_for(chipset)
        self.tlb = TlbInvalidator(bar0, clock)
        self.chids = ChidAllocator(chids)
        self.nonstall = NonStall()
        self.interrupts = interrupts  #: the device's non-stall interrupt listeners (None: every wait polls)
        self.engines: list[EngineInfo] = []
        self.method_buffer_size = 0
        self.errors: list[ChannelErrorReport] = []  #: every channel error reported, oldest first
        #: the GR engine's contexts (:class:`~.gr.context.Graphics`; the boot sets it when GSP-RM has a GR engine)
        self.graphics: Graphics | None = None
        self.closed = False
        self._lock = threading.RLock()
        self._channels: dict[int, Channel] = {}
        self._spaces: list[AddressSpace] = []
        self._userd = _UserdPool(instmem)
        self._window: VramWindow | None = None
        self._mmu_faults = 0
        self._unsubscribe = [rpc.on_event(Event.RC_TRIGGERED, self._on_rc),
                             rpc.on_event(Event.MMU_FAULT_QUEUED, self._on_mmu_fault)]

    @classmethod
    def create(cls, **kwargs: Any) -> Fifo:
        """A FIFO with its engines and method-buffer size read from GSP-RM."""
        fifo = cls(**kwargs)
        try:
            fifo.engines = fifo._device_info()
            m = fifo.abi.module
            raw = fifo.subdevice.control(int(m.NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE),
                                         fifo.abi.pack("NV2080_CTRL_CE_GET_FAULT_METHOD_BUFFER_SIZE_PARAMS"))
            fifo.method_buffer_size = int(fifo.abi.parse("NV2080_CTRL_CE_GET_FAULT_METHOD_BUFFER_SIZE_PARAMS", raw,
                                                         what="CE_GET_FAULT_METHOD_BUFFER_SIZE").size)
        except BaseException:
            fifo.close()
            raise
        return fifo

    def _device_info(self) -> list[EngineInfo]:
        m = self.abi.module
        cmd = int(m.NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE)
        per_call = int(m.NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_MAX_ENTRIES)
        out: list[EngineInfo] = []
        base = 0
        for _ in range(256 // per_call + 1):  # bounded: MAX_DEVICES (256) entries at most
            raw = self.subdevice.control(cmd, self.abi.pack("NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS",
                                                            baseIndex=base))
            p = self.abi.parse("NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS", raw, what="FIFO_GET_DEVICE_INFO_TABLE")
            if p.numEntries > per_call:
                raise GspError(f"FIFO_GET_DEVICE_INFO_TABLE: numEntries {p.numEntries} > {per_call}")
            for i in range(p.numEntries):
                data = tuple(int(x) for x in p.entries[i].engineData)
                rm_type = data[int(m.ENGINE_INFO_TYPE_RM_ENGINE_TYPE)]
                out.append(EngineInfo(engine_name(self.abi, rm_type), rm_type, data[int(m.ENGINE_INFO_TYPE_RUNLIST)],
                                      data[int(m.ENGINE_INFO_TYPE_INSTANCE_ID)],
                                      data[int(m.ENGINE_INFO_TYPE_RUNLIST_PRI_BASE)], data))
            base += p.numEntries
            if not p.bMore or not p.numEntries:
                return out
        raise GspError("FIFO_GET_DEVICE_INFO_TABLE: bMore still set after 256 entries")

    def __repr__(self) -> str:
        return (f"<Fifo {self.chipset.name}: {len(self.engines)} engines, {len(self._channels)} channel(s), "
                f"{self.chids.in_use} id(s) in use>")

    def __enter__(self) -> Fifo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lookups ----------------------------------------------------------------------------------------

    @property
    def copy_engines(self) -> list[EngineInfo]:
        return [e for e in self.engines if e.is_copy]

    def engine(self, which: str | int) -> EngineInfo:
        """An engine by name (``"ce0"``, ``"CE1"``, ``"gr0"``) or RM engine type."""
        for e in self.engines:
            if (isinstance(which, int) and e.rm_engine_type == which) or (
                    isinstance(which, str) and e.name.lower() == which.lower()):
                return e
        raise ChannelError(f"no engine {which!r}; this GPU has {', '.join(e.name for e in self.engines)}")

    def channels(self) -> list[Channel]:
        with self._lock:
            return list(self._channels.values())

    def channel(self, chid: int) -> Channel | None:
        with self._lock:
            return self._channels.get(chid)

    def vram_window(self) -> VramWindow:
        if self._window is None:
            self._window = VramWindow(self.bar2_space, self.bar2)
        return self._window

    def _live(self) -> None:
        if self.closed:
            raise ChannelError("the FIFO is closed (the device was shut down)")

    # -- address spaces and channels ------------------------------------------------------------------------

    def address_space(self, name: str = "") -> AddressSpace:
        """A new GPU address space (FERMI_VASPACE_A + driver page tables)."""
        self._live()
        with self._lock:
            space = AddressSpace(self, name or f"vas{len(self._spaces)}")
            self._spaces.append(space)
        return space

    def _forget_space(self, space: AddressSpace) -> None:
        with self._lock:
            if space in self._spaces:
                self._spaces.remove(space)

    def address_spaces(self) -> list[AddressSpace]:
        with self._lock:
            return list(self._spaces)

    def open(self, engine: str | int | EngineInfo = "ce0", *, vaspace: AddressSpace | None = None,
             entries: int = DEFAULT_ENTRIES, pushbuf: int = DEFAULT_PUSHBUF, privileged: bool = True) -> Channel:
        """A scheduled channel on ``engine`` (its own channel group; a new address space unless one is given)."""
        self._live()
        info = engine if isinstance(engine, EngineInfo) else self.engine(engine)
        if entries < 2 or entries & (entries - 1):
            raise ChannelError(f"GPFIFO entries {entries}: a power of two, at least 2")
        own = vaspace is None
        space = self.address_space(f"ch-{info.name.lower()}") if vaspace is None else vaspace
        try:
            ch = Channel(self, info, space, entries=entries, pushbuf=pushbuf, privileged=privileged)
        except BaseException:
            if own:
                space.close()
            raise
        ch.owns_space = own
        with self._lock:
            self._channels[ch.chid] = ch
        return ch

    def _forget(self, ch: Channel) -> None:
        with self._lock:
            self._channels.pop(ch.chid, None)

    # -- errors ---------------------------------------------------------------------------------------------

    def _on_mmu_fault(self, ev: EventMessage) -> None:
        self._mmu_faults += 1

    def _on_rc(self, ev: EventMessage) -> None:
        body = ev.body()
        if not isinstance(body, RcTriggered):  # pragma: no cover - parse_event types RC_TRIGGERED
            return
        f = body.fields
        addr = None
        if "mmuFaultAddrLo" in f and body.except_type == F.RC_MMU_FAULT:
            addr = f["mmuFaultAddrLo"] | f.get("mmuFaultAddrHi", 0) << 32
        ftype = None
        if "mmuFaultType" in f and body.except_type == F.RC_MMU_FAULT:
            t = f["mmuFaultType"]
            ftype = F.MmuFaultType(t).name if t in F.MmuFaultType._value2member_map_ else f"{t:#x}"
        ch = self.channel(body.chid)
        name = ch.engine.name if ch is not None else engine_name(self.abi, body.engine_type)
        queued = self._mmu_faults > 0
        self._mmu_faults = 0
        report = ChannelErrorReport(body.chid, name, body.except_type, addr, ftype, "RC_TRIGGERED", queued)
        self._report(report)
        if ch is not None:
            ch._stopped(report)

    def _report(self, report: ChannelErrorReport) -> None:
        with self._lock:
            self.errors.append(report)
            del self.errors[:-1024]
        if self.timeline is not None:
            self.timeline.instant("channel-error", str(report), chid=report.chid)

    # -- teardown -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every channel and address space, stop listening to GSP-RM (idempotent)."""
        if self.closed:
            return
        self.closed = True
        problems: list[str] = []
        for ch in self.channels():
            try:
                ch.close()
            except NovaError as e:
                problems.append(str(e))
        for space in self.address_spaces():
            try:
                space.close()
            except NovaError as e:
                problems.append(str(e))
        try:
            self._userd.release()
        except NovaError as e:
            problems.append(str(e))
        if self.graphics is not None:  # the global context buffers, once no channel maps them any more
            try:
                self.graphics.close()
            except NovaError as e:
                problems.append(str(e))
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if problems:
            raise ChannelError("FIFO closed with problems: " + "; ".join(problems))

    def stats(self) -> dict[str, int]:
        """What the FIFO holds now (the leak tests compare it before and after)."""
        with self._lock:
            return {"channels": len(self._channels), "chids": self.chids.in_use, "spaces": len(self._spaces),
                    "userd_pages": self._userd.pages}


# -- channels -----------------------------------------------------------------------------------------------


@dataclass
class _Inflight:
    value: int  #: the timeline value its release writes
    gp: int  #: the GPFIFO slot it used
    pb_start: int  #: its pushbuffer bytes [pb_start, pb_end)
    pb_end: int


#: appends the release of a timeline value to a pushbuffer (host SEM_EXECUTE, or an engine's own semaphore)
Release = Callable[[Pushbuffer, int], None]


class Channel:
    """A GPFIFO channel on one engine (use :meth:`Fifo.open`)."""

    def __init__(self, fifo: Fifo, engine: EngineInfo, vaspace: AddressSpace, *, entries: int, pushbuf: int,
                 privileged: bool) -> None:
        self.fifo = fifo
        self.engine = engine
        self.vaspace = vaspace
        self.clock = fifo.clock
        self.entries = entries
        self.gpfifo_class = fifo.classes.gpfifo
        self.error: ChannelErrorReport | None = None
        self.closed = False
        self.owns_space = False
        self.irq_driven = False  #: its fences' waits sleep until the engine's non-stall interrupt
        self._lock = threading.RLock()
        self._gp_put = 0
        self._pb_pos = 0
        self._seq = 0
        self._inflight: list[_Inflight] = []
        self._ce: CopyEngine | None = None
        self._compute: ComputeEngine | None = None
        self._undo: list[Any] = []
        self._rm_undo = 0  #: where in ``_undo`` the channel's RM objects are freed (GR context memory goes after)
        self.submissions = 0
        self.chid = fifo.chids.alloc()
        try:
            self._setup(privileged, pushbuf)
        except BaseException:
            self._unwind()
            raise

    # -- set-up ---------------------------------------------------------------------------------------------

    def _setup(self, privileged: bool, pushbuf: int) -> None:
        fifo, m, abi = self.fifo, self.fifo.abi.module, self.fifo.abi
        self._undo.append(lambda: fifo.chids.free(self.chid))
        # instance block: joined to the address space (the page directory), RAMFC left to GSP-RM
        self.instance = fifo.instmem.alloc(F.INSTANCE_SIZE, align=F.INSTANCE_SIZE, name=f"channel {self.chid} inst")
        self._undo.append(lambda: fifo.instmem.free(self.instance))
        self.vaspace.join(self.instance)
        self.vaspace.users += 1
        self._undo.append(self._drop_space)
        self.userd, self.userd_offset = fifo._userd.take(self.chid)
        # GPFIFO ring + pushbuffer + semaphore page, one system-memory buffer in the channel's space
        ring = self.entries * F.GP_ENTRY_SIZE
        self.pushbuf_size = (pushbuf + 0xFFF) & ~0xFFF
        self.ring = self.vaspace.alloc_sysmem(ring + self.pushbuf_size + 0x1000, name=f"channel {self.chid} ring")
        self._undo.append(self.ring.free)
        self.pb_offset = ring
        self.sem_offset = ring + self.pushbuf_size + SEMAPHORE_OFFSET
        self.mthdbuf = fifo.dma.alloc(max(fifo.method_buffer_size, 0x1000), name=f"channel {self.chid} mthdbuf")
        self._undo.append(lambda: fifo.dma.free(self.mthdbuf))
        self.notifier = fifo.dma.alloc(0x1000, name=f"channel {self.chid} error notifier")
        self._undo.append(lambda: fifo.dma.free(self.notifier))
        # the channel group and the channel
        eng = self.engine.nv2080_engine_type
        self._rm_undo = len(self._undo)
        self.group = fifo.device.alloc(F.KEPLER_CHANNEL_GROUP_A, abi.pack(
            "NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS", hVASpace=self.vaspace.rm.handle, engineType=eng))
        self._undo.append(self.group.free)
        flags = F.Nvos04Flags.encode(
            privileged_channel=int(privileged), channel_userd_index_value=self.chid % F.USERD_PER_PAGE,
            channel_userd_index_page_value=self.chid // F.USERD_PER_PAGE, channel_userd_index_page_fixed=1)
        internal = F.ChannelInternalFlags.encode(
            privilege=F.ChannelPrivilege.ADMIN if privileged else F.ChannelPrivilege.USER,
            error_notifier_type=F.ErrorNotifierType.MEMORY, ecc_error_notifier_type=F.ErrorNotifierType.NONE)
        inst = self.instance.vram_addr
        fb, sysmem = int(F.MemorySpace.FBMEM), int(F.MemorySpace.SYSMEM)
        params = abi.pack(
            "NV_CHANNEL_ALLOC_PARAMS", gpFifoOffset=self.ring.va, gpFifoEntries=self.entries, flags=flags,
            hVASpace=self.vaspace.rm.handle, engineType=eng, internalFlags=internal,
            instanceMem={"base": inst, "size": F.INSTANCE_SIZE, "addressSpace": fb, "cacheAttrib": 1},
            userdMem={"base": self.userd.vram_addr + self.userd_offset, "size": F.USERD_SIZE, "addressSpace": fb,
                      "cacheAttrib": 1},
            ramfcMem={"base": inst, "size": F.RAMFC_SIZE, "addressSpace": fb, "cacheAttrib": 1},
            mthdbufMem={"base": self.mthdbuf.bus_addr, "size": self.mthdbuf.size, "addressSpace": sysmem,
                        "cacheAttrib": 0},
            errorNotifierMem={"base": self.notifier.bus_addr, "size": self.notifier.size, "addressSpace": sysmem,
                              "cacheAttrib": 0})
        self.rm = self.group.alloc(self.gpfifo_class, params)
        self.rm.control(int(m.NVA06F_CTRL_CMD_BIND), abi.pack("NVA06F_CTRL_BIND_PARAMS", engineType=eng))
        self.group.control(int(m.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE),
                           abi.pack("NVA06F_CTRL_GPFIFO_SCHEDULE_PARAMS", bEnable=1))
        raw = self.rm.control(int(m.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN),
                              abi.pack("NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS"))
        token = int(abi.parse("NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS", raw,
                              what="GET_WORK_SUBMIT_TOKEN").workSubmitToken)
        token |= F.DoorbellToken.encode(runlist_id=self.engine.runlist,
                                        runlist_doorbell=int(fifo.classes.doorbell_runlist_enable))
        if F.DoorbellToken.decode(token)["vector"] != self.chid:
            raise ChannelError(f"GSP-RM's work-submit token {token:#010x} does not name channel {self.chid}")
        self.token = token
        irq = fifo.interrupts
        if irq is not None and self.engine.name in irq.engines():
            runlist, engine_type = self.engine.runlist, self.engine.nv2080_engine_type
            self._undo.append(irq.listen(self.engine.name, lambda _e: fifo.nonstall.notify(runlist, engine_type)))
            self.irq_driven = True

    def _drop_space(self) -> None:
        self.vaspace.users -= 1

    def _unwind(self) -> None:
        problems: list[str] = []
        while self._undo:
            step = self._undo.pop()
            try:
                step()
            except NovaError as e:
                problems.append(str(e))
        if problems:
            raise ChannelError(f"channel {self.chid}: releasing it left problems: {'; '.join(problems)}")

    # -- what it is -----------------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"stopped: {self.error}" if self.error else "ready"
        return f"<Channel {self.chid} {self.engine.name} runlist {self.engine.runlist} {state}>"

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_json(self) -> dict[str, Any]:
        return {"chid": self.chid, "class": self.gpfifo_class, "runlist": self.engine.runlist,
                "engine": self.engine.name, "token": self.token}

    @property
    def semaphore_va(self) -> int:
        return self.ring.va + self.sem_offset

    def semaphore_value(self) -> int:
        """The timeline semaphore as the GPU last released it."""
        return int.from_bytes(self.ring.view[self.sem_offset:self.sem_offset + 4], "little")

    @property
    def gp_get(self) -> int:
        """The GPU's GPFIFO read index (USERD GP_GET, through BAR2)."""
        return self.userd.read32(self.userd_offset + F.USERD_GP_GET)

    def pushbuffer(self) -> Pushbuffer:
        """An empty pushbuffer for this channel's class (with the subchannel bindings made so far)."""
        bound = {} if self._ce is None or not self._ce.bound else {self._ce.subchannel: self._ce.ce_class}
        if self._compute is not None and self._compute.bound:
            bound[self._compute.subchannel] = self._compute.compute_class
        return Pushbuffer(self.gpfifo_class, bound)

    # -- errors ---------------------------------------------------------------------------------------------------

    def _stopped(self, report: ChannelErrorReport) -> None:
        if self.error is None or self.error.source != "RC_TRIGGERED":  # GSP-RM's report says the most
            self.error = report

    def _notifier_report(self) -> ChannelErrorReport | None:
        """The error notifier (NvNotification 0), if the GPU wrote one."""
        base = F.NOTIFIER_SIZE * int(self.fifo.abi.module.NV_CHANNELGPFIFO_NOTIFICATION_TYPE_ERROR)
        rec = self.fifo.abi.parse("NvNotification", self.notifier.read(base, F.NOTIFIER_SIZE), what="error notifier")
        if rec.status == 0:
            return None
        return ChannelErrorReport(self.chid, self.engine.name, int(rec.info32), None, None, "error notifier")

    def check(self) -> None:
        """Drain GSP-RM's events and look at the error notifier; raise ChannelFault if the channel was stopped."""
        if self.error is None:
            with contextlib.suppress(GspError):  # the RPC layer reports its own failures to its callers
                self.fifo.rpc.poll()
        if self.error is None and not self.closed:
            report = self._notifier_report()
            if report is not None:
                self._await_rc(report)
        if self.error is not None:
            raise ChannelFault(self.error)

    def _await_rc(self, notified: ChannelErrorReport) -> None:
        """The error notifier says the channel stopped: GSP-RM's RC_TRIGGERED (with the fault address on r570)
        follows it; wait for it a bounded time, else report what the notifier says."""

        def look() -> ChannelErrorReport | None:
            with contextlib.suppress(GspError):
                self.fifo.rpc.poll()
            return self.error

        try:
            poll_timeout(look, lambda e: e is not None, clock=self.clock, timeout=RC_EVENT_TIMEOUT, interval=10 * US,
                         what=f"GSP-RM's RC_TRIGGERED for channel {self.chid}")
        except PollTimeout:
            self.fifo._report(notified)
            self.error = notified

    # -- submission ---------------------------------------------------------------------------------------------

    def _retire(self, need: int, slots: int = 1) -> int:
        """Wait for old submissions until ``slots`` GPFIFO slots and ``need`` pushbuffer bytes are free; return
        where the bytes go."""
        start = self._pb_pos if self._pb_pos + need <= self.pushbuf_size else 0
        end = start + need
        while self._inflight:
            oldest = self._inflight[0]
            if Fence(self, oldest.value).done:
                self._inflight.pop(0)
                continue
            gp_full = (oldest.gp - self._gp_put - 1) % self.entries < slots  # one slot always stays empty
            busy = any(f.pb_start < end and start < f.pb_end for f in self._inflight)
            if not gp_full and not busy:
                break
            Fence(self, oldest.value).wait()
        return start

    def submit(self, pb: Pushbuffer | None = None, *, release: Release | None = None) -> Fence:
        """Submit ``pb`` as one GPFIFO entry, ended by the release of the channel's next timeline value (a host
        semaphore release, or ``release(pb, value)`` - an engine's own); returns the fence of that value.

        Raises:
            ChannelFault: the channel was stopped by the GPU.
            ChannelError: ``pb`` is for another class, or larger than the channel's pushbuffer.
        """
        if pb is not None and pb.gpfifo_class != self.gpfifo_class:
            raise ChannelError(f"pushbuffer for class {pb.gpfifo_class:#x} on a {self.gpfifo_class:#x} channel")
        with self._lock:
            self._check_open()
            value = (self._seq + 1) & 0xFFFFFFFF
            full = self.pushbuffer()
            if pb is not None:
                full.extend(pb)
            (release or self.release_methods)(full, value)
            return self._push(full, value)

    def submit_entries(self, segments: Sequence[tuple[int, int]], *, release: Release | None = None) -> Fence:
        """Submit GPFIFO entries pointing at pushbuffers the caller wrote in its own memory - ``(GPU VA, bytes)``
        in the channel's address space, whole 4-byte method words - then the channel's own entry releasing its next
        timeline value; returns that value's fence. The GPU fetches the caller's methods through the channel's page
        tables (nouveau's EXEC: the user's push entries, then the kernel's fence emission).

        Raises:
            ChannelError: a segment that is empty, not whole words, or more segments than the ring holds at once.
            PushbufferError: an address a GPFIFO entry cannot hold (unaligned, beyond 40 bits), a length beyond
                GP_ENTRY1_LENGTH.
        """
        words: list[int] = []
        for va, nbytes in segments:
            if not isinstance(nbytes, int) or nbytes <= 0 or nbytes % 4:
                raise ChannelError(f"pushbuffer segment at {va!r} of {nbytes!r} bytes: a positive multiple of 4")
            words.append(gp_entry(va, nbytes // 4))
        if not words or len(words) + 2 > self.entries:
            raise ChannelError(f"{len(words)} pushbuffer segment(s): 1..{self.entries - 2} fit a ring of "
                               f"{self.entries} GPFIFO entries with the channel's own")
        with self._lock:
            self._check_open()
            value = (self._seq + 1) & 0xFFFFFFFF
            own = self.pushbuffer()
            (release or self.release_methods)(own, value)
            return self._push(own, value, words)

    def release_methods(self, pb: Pushbuffer, value: int) -> None:
        """Append a host semaphore release of ``value`` to the channel's timeline (SEM_ADDR/PAYLOAD/EXECUTE), then
        NON_STALL_INTERRUPT."""
        va = self.semaphore_va
        pb.method(0, "SEM_ADDR_LO", va & 0xFFFFFFFC, va >> 32, value, 0,
                  F.SemExecute.encode(operation=F.SemExecuteOp.RELEASE, release_wfi=1, payload_size=0))
        pb.method(0, "NON_STALL_INTERRUPT", 0)  # wakes the fence's waiters (nouveau gv100_fence_emit32)

    def _check_open(self) -> None:
        if self.closed:
            raise ChannelError(f"channel {self.chid} is closed")
        if self.error is not None:
            raise ChannelFault(self.error)

    def _push(self, pb: Pushbuffer, value: int, before: Sequence[int] = ()) -> Fence:
        """Write GPFIFO entries ``before`` (pointing at the caller's pushbuffers), then ``pb`` and its entry, GP_PUT,
        ring the doorbell (channel lock held)."""
        data = pb.to_bytes()
        n = len(data)
        if n > self.pushbuf_size:
            raise ChannelError(f"pushbuffer of {n:#x} bytes does not fit the channel's {self.pushbuf_size:#x}")
        start = self._retire(n, len(before) + 1)
        self.ring.view[self.pb_offset + start:self.pb_offset + start + n] = data
        first = self._gp_put
        entries = [*before, gp_entry(self.ring.va + self.pb_offset + start, n // 4)]
        for entry in entries:
            slot = self._gp_put
            self.ring.view[slot * F.GP_ENTRY_SIZE:(slot + 1) * F.GP_ENTRY_SIZE] = entry.to_bytes(8, "little")
            self._gp_put = (slot + 1) % self.entries
        self._pb_pos = start + n
        self._seq = value
        self._inflight.append(_Inflight(value, first, start, start + n))
        # GP_PUT last: the GPU may fetch the entry (and its pushbuffer) as soon as it sees it
        self.userd.write32(self.userd_offset + F.USERD_GP_PUT, self._gp_put)
        NV_VIRTUAL_FUNCTION_DOORBELL.write(self.fifo.bar0, self.token)
        self.submissions += 1
        return Fence(self, value)

    def fence(self) -> Fence:
        """A fence after everything submitted so far (a host semaphore release)."""
        return self.submit()

    def copy_engine(self) -> CopyEngine:
        """The channel's copy engine (allocated under the channel once; bound to subchannel 4 on first use)."""
        from .ce import CopyEngine

        with self._lock:
            self._check_open()
            if self._ce is None:
                if not self.engine.is_copy:
                    raise ChannelError(f"channel {self.chid} runs {self.engine.name}, not a copy engine")
                self._ce = CopyEngine(self)
            return self._ce

    def compute(self) -> ComputeEngine:
        """The channel's compute engine: on first use the device's golden context is made (once per device), the
        channel's context buffers are allocated, mapped and promoted to GSP-RM, and the chip's compute class is
        allocated under the channel (:mod:`nova_core.engines.gr`); bound to subchannel 1 on first use.

        Raises:
            ChannelError: the channel does not run on GR, or the GPU has no GR engine.
            GrError: the golden context or the promotion failed.
        """
        from .gr.compute import ComputeEngine

        with self._lock:
            self._check_open()
            if self._compute is None:
                gr = self.fifo.graphics
                if not self.engine.is_graphics or gr is None:
                    raise ChannelError(f"channel {self.chid} runs {self.engine.name}, not a GR engine"
                                       if gr is not None else "this GPU's FIFO has no GR engine")
                context = gr.promote(self)
                try:
                    self._compute = ComputeEngine(self, context)
                except BaseException:
                    context.release()
                    raise
                self._undo.insert(self._rm_undo, context.release)  # runs after the RM channel is freed
            return self._compute

    # -- teardown ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Free the channel and everything it holds (idempotent); an errored channel is freed the same way."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.fifo._forget(self)
        try:
            self._unwind()
        finally:
            if self.owns_space and not self.vaspace.closed:
                self.vaspace.close()

