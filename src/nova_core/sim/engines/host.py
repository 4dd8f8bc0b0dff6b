"""nova_core.sim.engines.host: the simulated host - runlists, channels, the doorbell, the PBDMA, its engines.

**Topology** (a sim choice; GSP-RM answers NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE from it): GR0 on runlist
0, copy engines COPY0..COPYn-1 on runlists 1..n (:data:`COPY_ENGINES` per chip family: representative counts,
not read from NVIDIA's headers), one PBDMA per runlist. The copy engines execute their class (:mod:`.ce`), GR0 the
compute class's semaphores (:mod:`.gr`: shader launches are refused).

**Channels** are created by the simulated GSP-RM when the driver allocates a GPFIFO channel
(:mod:`nova_core.sim.gsp_rm.fifo`), which writes the RAMFC into the driver's instance block; the driver wrote the
page directory (``NV_RAMIN_PAGE_DIR_BASE``, nouveau ``gv100_vmm_join``). A channel runs once GSP-RM has bound it
(NVA06F_CTRL_CMD_BIND) and its group is scheduled.

**The doorbell** (``NV_VIRTUAL_FUNCTION_DOORBELL``, BAR0 0xBB0090) takes a work-submit token (channel id 11:0,
runlist 22:16; on GB20x RUNLIST_DOORBELL 30 must be set). A token that names no channel, a channel on another
runlist (a stale token), an unscheduled or errored channel: the write does nothing (logged, counted in
:attr:`SimHost.ignored`). Otherwise the PBDMA runs :data:`DOORBELL_LATENCY_NS` of virtual time later:

1. reads the RAMFC (signature 0xFACE, CHID, USERD address and aperture, GPFIFO base and LIMIT2) and the
   instance block's page directory (the new page-table format and 64 KiB big pages required);
2. reads GP_PUT from USERD (word 35) and fetches GPFIFO entries from its own GP_GET up to it - at most one ring
   per doorbell - through the channel's VA space (:class:`~.memory.EngineMemory`: the driver's page tables,
   walked by the simulated MMU), writing GP_GET (word 34) back after each entry;
3. fetches each entry's pushbuffer segment the same way (MAIN or SUBROUTINE level execute alike; USERD GET
   follows both, TOP_LEVEL_GET only MAIN) and decodes its method headers (``NVC46F_DMA_*``):
   INC, NON_INC, ONE_INC and IMMD methods, END_PB_SEGMENT, the all-zero NOP; a method's data may continue in
   the next segment, as in hardware;
4. executes host methods (below 0x100, any subchannel): SET_OBJECT (binds the subchannel; the class must be one the
   channel's engine executes - the copy-engine class on a CE, the compute class on GR - allocated by GSP-RM under
   the channel), SEM_ADDR/SEM_PAYLOAD/SEM_EXECUTE and the
   legacy SEMAPHOREA-D (releases of 4, 8 or 16 bytes; acquires wait, re-checked after :data:`ACQUIRE_RETRY_NS`
   and then ever less often, and fail after :data:`ACQUIRE_TIMEOUT_NS`), NON_STALL_INTERRUPT, SET_REFERENCE
   (USERD word 18), NOP, WFI, FB_FLUSH, YIELD, MEM_OP_A-D, CLEAR_FAULTED; and hands the others to the engine
   bound to the subchannel.

**Refusals** stop the channel (it is marked errored, its remaining work is dropped; no other channel is
affected) and are reported to GSP-RM through :attr:`SimHost.error_sink`: an MMU fault while fetching or copying
(``ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT`` with the fault type and VA), a PBDMA error
(``ROBUST_CHANNEL_PBDMA_ERROR``: an unknown host method, a method on a subchannel nothing is bound to, a
reserved or unmodelled header opcode, a GP_PUT outside the ring, a control GPFIFO entry other than NOP, a
RAMFC GSP-RM did not write, an acquire that timed out), a CE error (the engine's own
refusals, :mod:`.ce`), a GR exception (:mod:`.gr`'s).

**Non-stall interrupts** (NON_STALL_INTERRUPT, a CE launch with INTERRUPT_TYPE NON_BLOCKING) are counted per
engine (:attr:`SimHost.nonstall_counts`) and delivered to the callables in :attr:`SimHost.nonstall_listeners`
as ``listener(runlist, rm_engine_type)``: the hook an interrupt controller attaches to.
"""

from __future__ import annotations

import array
import collections
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...engines import facts as F
from ...engines.gr.facts import gr_classes_for
from ...errors import SimViolation
from ...gpu.chips import Chipset
from ...hw.clock import MS, SEC, US
from ...regs.mmu import NV_RAMIN_PAGE_DIR_BASE, RAMIN_PAGE_DIR_OFFSET, BigPageSize, InstTarget
from ...regs.usermode import NV_VIRTUAL_FUNCTION_DOORBELL
from ..models.mmu import SYS, VID, MmuFault, SimMmu, SimTlb
from .ce import CeContext, SimCopyEngine
from .errors import ChannelStop, mmu_fault, pbdma_error
from .gr import GrContext, SimGraphics
from .memory import EngineMemory

if TYPE_CHECKING:
    from ..gpu import SimGpu

DOORBELL_LATENCY_NS = 1 * US  #: from the doorbell write to the PBDMA fetching (virtual time; a sim choice)
ACQUIRE_RETRY_NS = 10 * US  #: a blocked semaphore acquire looks again after this, then twice as long ...
ACQUIRE_RETRY_MAX_NS = 10 * MS  #: ... up to this (a sim choice)
# TIMEOUT (sim): a semaphore acquire that is not satisfied within 4 s of virtual time ends the channel with a
# PBDMA error (the sim's stand-in for the PBDMA acquire timeout of RAMFC ACQUIRE).
ACQUIRE_TIMEOUT_NS = 4 * SEC

#: copy engines per chip family (sim choice: representative counts, not from NVIDIA's headers)
COPY_ENGINES: dict[str, int] = {"TURING": 5, "GA100": 10, "AMPERE": 5, "ADA": 5, "HOPPER": 10,
                                "BLACKWELL_GB10X": 10, "BLACKWELL_GB20X": 5}
RM_ENGINE_TYPE_GR0 = 0x1  #: RM_ENGINE_TYPE_GR0 (gpu_engine_type.h)
RM_ENGINE_TYPE_COPY0 = 0x9  #: RM_ENGINE_TYPE_COPY0; COPY0..COPY9 are 0x9..0x12 in every version


#: host method byte address -> name, per GPFIFO class
_HOST_NAMES = {cls: {v: k for k, v in methods.items()} for cls, methods in F.HOST_METHODS.items()}


@dataclass(frozen=True)
class EngineSlot:
    """One engine of the simulated GPU: its RM engine type, runlist, and name (for the device info table)."""

    name: str
    rm_engine_type: int
    runlist: int
    instance: int


def copy_engine_count(chipset: Chipset) -> int:
    """How many copy engines the simulated ``chipset`` has (:data:`COPY_ENGINES`; GSP-RM's interrupt table too)."""
    return COPY_ENGINES[F.family_key(chipset)]


def topology(chipset: Chipset) -> list[EngineSlot]:
    """The engines and runlists of the simulated ``chipset`` (see the module docstring)."""
    n = copy_engine_count(chipset)
    return [EngineSlot("GR0", RM_ENGINE_TYPE_GR0, 0, 0),
            *(EngineSlot(f"CE{i}", RM_ENGINE_TYPE_COPY0 + i, 1 + i, i) for i in range(n))]


@dataclass
class _Pending:
    """A method header whose data continues past the end of a pushbuffer segment."""

    op: int
    subchannel: int
    address: int
    left: int
    first: bool = True


@dataclass
class _Acquire:
    va: int
    value: int
    op: str  # "eq", "geq", "circ_geq", "and", "nor"
    size: int
    deadline: int
    interval: int = ACQUIRE_RETRY_NS


@dataclass
class SimChannel:
    """A channel as host sees it (made by GSP-RM at GPFIFO allocation)."""

    chid: int
    runlist: int
    rm_engine_type: int
    nv2080_engine_type: int
    instance: int  #: VRAM address of the instance block
    gpfifo_class: int
    ce_class: int
    handle: tuple[int, int] = (0, 0)  #: (hClient, hObject) of the RM object
    bound: bool = False
    scheduled: bool = False
    error: ChannelStop | None = None
    gp_get: int = 0
    subchannels: dict[int, int] = field(default_factory=dict)
    objects: set[int] = field(default_factory=set)  #: engine classes GSP-RM allocated under the channel
    ce: dict[int, CeContext] = field(default_factory=dict)
    gr: dict[int, GrContext] = field(default_factory=dict)  #: compute-class state per subchannel
    regs: dict[str, int] = field(default_factory=dict)  #: host method state (SEM_*, SEMAPHOREA-C, MEM_OP_*)
    pending: _Pending | None = None
    acquire: _Acquire | None = None
    rest: array.array[int] | None = None  #: the unexecuted words of a segment an acquire stopped in
    runs: int = 0
    entries: int = 0
    methods: int = 0
    tlb: SimTlb = field(default_factory=lambda: SimTlb("channel"))  #: host's and its engines' translations

    def __repr__(self) -> str:
        state = f"errored: {self.error}" if self.error else ("scheduled" if self.scheduled else "idle")
        return f"<SimChannel chid={self.chid} runlist={self.runlist} {state}>"


class SimHost:
    """Host (FIFO + PBDMAs) of one :class:`~nova_core.sim.gpu.SimGpu` (``gpu.models["fifo"]``)."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.log = gpu.log
        self.clock = gpu.clock
        self.lock: threading.RLock = gpu.clock.lock
        mmu = gpu.models["mmu"]
        assert isinstance(mmu, SimMmu)
        self.mmu = mmu
        self.classes = F.classes_for(gpu.chipset)
        self.engines = topology(gpu.chipset)
        self.by_engine = {e.rm_engine_type: e for e in self.engines}
        self.copy_engines: dict[int, SimCopyEngine] = {}
        self.graphics: dict[int, SimGraphics] = {}
        for e in self.engines:
            if e.name.startswith("CE"):
                self.copy_engines[e.rm_engine_type] = SimCopyEngine(
                    e.instance, self.classes.copy, self._nonstall_cb(e), self.clock.now)
            elif e.name.startswith("GR"):
                self.graphics[e.rm_engine_type] = SimGraphics(e.instance, gr_classes_for(gpu.chipset).compute,
                                                              self.clock.now)
        self.channels: dict[int, SimChannel] = {}
        self.doorbells = 0
        self.ignored: list[str] = []
        self.errors: list[tuple[int, ChannelStop]] = []
        self.nonstall_counts: collections.Counter[str] = collections.Counter()
        #: ``listener(runlist, rm_engine_type)`` for every non-stall interrupt (an interrupt controller's hook)
        self.nonstall_listeners: list[Callable[[int, int], None]] = []
        #: GSP-RM's RC path: ``sink(channel, stop)`` writes the error notifier and sends the events
        self.error_sink: Callable[[SimChannel, ChannelStop], None] | None = None
        gpu.bar0.on_write(NV_VIRTUAL_FUNCTION_DOORBELL.addr(), self._doorbell)

    def __repr__(self) -> str:
        return f"<SimHost {len(self.channels)} channel(s), {self.doorbells} doorbell(s)>"

    # -- channels (GSP-RM's side) -----------------------------------------------------------------

    def add_channel(self, ch: SimChannel) -> None:
        with self.lock:
            if ch.chid in self.channels:
                raise SimViolation(f"host: channel id {ch.chid} is already in use")
            self.channels[ch.chid] = ch
            ch.tlb.name = f"channel {ch.chid}"
            self.mmu.tlbs.append(ch.tlb)

    def remove_channel(self, chid: int) -> SimChannel | None:
        with self.lock:
            ch = self.channels.pop(chid, None)
            if ch is not None and ch.tlb in self.mmu.tlbs:
                self.mmu.tlbs.remove(ch.tlb)
            return ch

    def engine_slot(self, rm_engine_type: int) -> EngineSlot | None:
        return self.by_engine.get(rm_engine_type)

    # -- interrupts --------------------------------------------------------------------------------

    def _nonstall_cb(self, slot: EngineSlot) -> Callable[[], None]:
        return lambda: self.nonstall(slot)

    def nonstall(self, slot: EngineSlot) -> None:
        """The non-stall interrupt of ``slot``'s engine fires."""
        self.nonstall_counts[slot.name] += 1
        for listener in list(self.nonstall_listeners):
            listener(slot.runlist, slot.rm_engine_type)

    # -- the doorbell --------------------------------------------------------------------------------

    def _ignore(self, why: str) -> None:
        self.ignored.append(why)
        del self.ignored[:-256]
        self.log.warning("host", f"doorbell ignored: {why}")

    def _doorbell(self, offset: int, value: int) -> None:
        self.doorbells += 1
        tok = F.DoorbellToken.decode(value)
        chid, runlist = tok["vector"], tok["runlist_id"]
        ch = self.channels.get(chid)
        if ch is None:
            self._ignore(f"token {value:#010x}: no channel {chid}")
            return
        if ch.runlist != runlist:
            self._ignore(f"token {value:#010x}: channel {chid} is on runlist {ch.runlist}, not {runlist} "
                         f"(a stale token)")
            return
        if self.classes.doorbell_runlist_enable and not tok["runlist_doorbell"]:
            self._ignore(f"token {value:#010x}: RUNLIST_DOORBELL (bit 30) is not set ({self.gpu.chipset.name})")
            return
        if ch.error is not None:
            self._ignore(f"token {value:#010x}: channel {chid} is errored ({ch.error.reason})")
            return
        if not ch.scheduled:
            self._ignore(f"token {value:#010x}: channel {chid} is not scheduled")
            return
        self.clock.call_later(DOORBELL_LATENCY_NS, lambda: self.run(ch))

    # -- the PBDMA -----------------------------------------------------------------------------------

    def run(self, ch: SimChannel) -> None:
        """Fetch and execute what the channel has (a timer after its doorbell, or an acquire retry)."""
        with self.lock:
            if self.channels.get(ch.chid) is not ch or ch.error is not None or not ch.scheduled:
                return
            try:
                if ch.acquire is not None and not self._acquired(ch):
                    return  # still blocked: the retry timer comes back (and ends it at the deadline)
                self._run(ch)
            except ChannelStop as stop:
                self._stop(ch, stop)

    def _stop(self, ch: SimChannel, stop: ChannelStop) -> None:
        ch.error = stop
        ch.pending = ch.acquire = None
        ch.rest = None
        self.errors.append((ch.chid, stop))
        self.log.error("host", f"channel {ch.chid} (runlist {ch.runlist}) stopped: {stop}")
        if self.error_sink is not None:
            self.error_sink(ch, stop)

    def _memory(self, ch: SimChannel) -> tuple[EngineMemory, dict[str, int]]:
        """The channel's RAMFC fields and its VA space, read from its instance block."""
        inst = ch.instance
        try:
            ramfc = self.mmu.read(VID, inst, F.RAMFC_SIZE)
            pd = int.from_bytes(self.mmu.read(VID, inst + RAMIN_PAGE_DIR_OFFSET, 16), "little")
        except SimViolation as e:
            raise pbdma_error(f"instance block {inst:#x}: {e}") from None

        def word(off: int) -> int:
            return int.from_bytes(ramfc[off:off + 4], "little")

        if word(F.RAMFC_SIGNATURE) != F.RAMFC_SIGNATURE_VALUE or word(F.RAMFC_CHID) != ch.chid:
            raise pbdma_error(f"RAMFC of instance block {inst:#x}: signature {word(F.RAMFC_SIGNATURE):#x} "
                              f"(0xface expected), CHID {word(F.RAMFC_CHID)} ({ch.chid} expected)")
        if not NV_RAMIN_PAGE_DIR_BASE.use_ver2_pt_format.get(pd) or (
                NV_RAMIN_PAGE_DIR_BASE.big_page_size.get(pd) != BigPageSize.SIZE_64KB):
            raise mmu_fault(f"instance block {inst:#x} page directory words {pd:#034x}: not the new page-table "
                            f"format with 64 KiB big pages (the driver did not join the address space)",
                            F.MmuFaultType.UNBOUND_INST_BLOCK, None, "PBDMA")
        target = NV_RAMIN_PAGE_DIR_BASE.target.get(pd)
        if target not in (InstTarget.VID_MEM, InstTarget.SYS_MEM_COHERENT, InstTarget.SYS_MEM_NONCOHERENT):
            raise mmu_fault(f"instance block {inst:#x}: page directory target {target}",
                            F.MmuFaultType.UNBOUND_INST_BLOCK, None, "PBDMA")
        pdb = NV_RAMIN_PAGE_DIR_BASE.lo.get(pd) << 12 | NV_RAMIN_PAGE_DIR_BASE.hi.get(pd) << 32
        limit = (NV_RAMIN_PAGE_DIR_BASE.adr_limit_lo.get(pd) << 12 | NV_RAMIN_PAGE_DIR_BASE.adr_limit_hi.get(pd) << 32
                 | 0xFFF)
        if ch.tlb.pdb != pdb:  # a new address space: nothing cached applies
            ch.tlb.flush()
            ch.tlb.pdb = pdb
        mem = EngineMemory(self.gpu, pdb, pdb_sys=target != InstTarget.VID_MEM, va_limit=limit,
                           who=f"channel {ch.chid}", tlb=ch.tlb)
        userd_lo = word(F.RAMFC_USERD)
        fields = {"userd": (userd_lo & ~0x1FF) | word(F.RAMFC_USERD_HI) << 32, "userd_target": userd_lo & 3,
                  "gp_base": word(F.RAMFC_GP_BASE) | (word(F.RAMFC_GP_BASE_HI) & 0xFF) << 32,
                  "limit2": (word(F.RAMFC_GP_BASE_HI) >> F.RAMFC_GP_BASE_HI_LIMIT2_SHIFT) & 0x1F}
        return mem, fields

    def _userd(self, fields: dict[str, int]) -> tuple[str, int]:
        target = fields["userd_target"]
        if target == F.UserdTarget.VID_MEM:
            return VID, fields["userd"]
        if target in (F.UserdTarget.SYS_MEM_COHERENT, F.UserdTarget.SYS_MEM_NONCOHERENT):
            return SYS, fields["userd"]
        raise pbdma_error(f"RAMFC USERD aperture {target} is reserved")

    def _run(self, ch: SimChannel) -> None:
        mem, fields = self._memory(ch)
        space, userd = self._userd(fields)
        ch.runs += 1
        if ch.rest is not None or ch.acquire is not None:
            rest, ch.rest = ch.rest, None
            ch.acquire = None
            if rest is not None and not self._execute(ch, mem, rest):
                return
        try:
            gp_put = int.from_bytes(self.mmu.read(space, userd + F.USERD_GP_PUT, 4), "little")
        except SimViolation as e:
            raise pbdma_error(f"USERD at {space} {userd:#x}: {e}") from None
        ring = 1 << fields["limit2"]
        if gp_put >= ring:
            raise pbdma_error(f"GP_PUT {gp_put} is outside the GPFIFO ring of {ring} entries")
        for _ in range(ring):
            if ch.gp_get == gp_put:
                break
            at = fields["gp_base"] + ch.gp_get * F.GP_ENTRY_SIZE
            try:
                entry = int.from_bytes(mem.read(at, F.GP_ENTRY_SIZE), "little")
            except MmuFault as e:
                raise mmu_fault(f"GPFIFO entry {ch.gp_get} at VA {at:#x}: {e}", e.reason, e.va, "PBDMA") from None
            except SimViolation as e:
                raise pbdma_error(f"GPFIFO entry {ch.gp_get} at VA {at:#x}: {e}") from None
            ch.gp_get = (ch.gp_get + 1) % ring
            ch.entries += 1
            self.mmu.write(space, userd + F.USERD_GP_GET, ch.gp_get.to_bytes(4, "little"))
            if not self._entry(ch, mem, entry, space, userd):
                return

    def _entry(self, ch: SimChannel, mem: EngineMemory, entry: int, space: str, userd: int) -> bool:
        """One GPFIFO entry; False when the channel stopped in it (an acquire)."""
        e = F.GpEntry.decode(entry)
        if e["length"] == 0:
            opcode = e["get_hi"] & 0xFF
            if opcode != F.GpEntryOpcode.NOP:
                name = F.GpEntryOpcode(opcode).name if opcode in F.GpEntryOpcode._value2member_map_ else hex(opcode)
                raise pbdma_error(f"control GPFIFO entry {entry:#018x} with opcode {name} (only NOP is modelled)")
            return True
        va = e["get"] << 2 | e["get_hi"] << 32
        n = e["length"] * 4
        try:
            raw = mem.read(va, n)
        except MmuFault as err:
            raise mmu_fault(f"pushbuffer segment [{va:#x}, +{n:#x}): {err}", err.reason, err.va, "PBDMA") from None
        except SimViolation as err:
            raise pbdma_error(f"pushbuffer segment [{va:#x}, +{n:#x}): {err}") from None
        words = array.array("I", raw)
        if sys.byteorder != "little":  # pragma: no cover
            words.byteswap()
        end = (va + n).to_bytes(8, "little")
        self.mmu.write(space, userd + F.USERD_GET, end[:4])
        self.mmu.write(space, userd + F.USERD_GET_HI, end[4:])
        if not e["level"]:  # a MAIN segment also moves TOP_LEVEL_GET; a SUBROUTINE one does not
            self.mmu.write(space, userd + F.USERD_TOP_LEVEL_GET, end[:4])
            self.mmu.write(space, userd + F.USERD_TOP_LEVEL_GET_HI, end[4:])
        return self._execute(ch, mem, words)

    def _execute(self, ch: SimChannel, mem: EngineMemory, words: array.array[int]) -> bool:
        """Decode and run ``words``; False if an acquire blocked (the rest is kept in ``ch.rest``)."""
        i = 0
        n = len(words)
        while i < n:
            p = ch.pending
            if p is not None:
                value = words[i]
                i += 1
                addr = p.address
                if p.op == F.SecOp.INC_METHOD or (p.op == F.SecOp.ONE_INC and p.first):
                    p.address += 4
                p.first = False
                p.left -= 1
                if p.left == 0:
                    ch.pending = None
                if not self._method(ch, mem, p.subchannel, addr, value):
                    ch.rest = words[i:]
                    return False
                continue
            hdr = words[i]
            i += 1
            if hdr == 0:
                continue  # NVC46F_DMA_NOP
            op = hdr >> 29
            sub = (hdr >> 13) & 7
            addr = (hdr & 0xFFF) << 2
            count = (hdr >> 16) & 0x1FFF
            if op in (F.SecOp.INC_METHOD, F.SecOp.NON_INC_METHOD, F.SecOp.ONE_INC):
                if count:
                    ch.pending = _Pending(op, sub, addr, count)
                continue
            if op == F.SecOp.IMMD_DATA_METHOD:
                if not self._method(ch, mem, sub, addr, count):
                    ch.rest = words[i:]
                    return False
                continue
            if op == F.SecOp.END_PB_SEGMENT:
                return True
            raise pbdma_error(f"method header {hdr:#010x}: SEC_OP {F.SecOp(op).name} is reserved or not modelled "
                              f"by the sim (subdevice masks are not)")
        return True

    # -- methods ---------------------------------------------------------------------------------------

    def _method(self, ch: SimChannel, mem: EngineMemory, sub: int, addr: int, value: int) -> bool:
        ch.methods += 1
        if addr < F.HOST_METHOD_LIMIT:
            return self._host_method(ch, mem, sub, addr, value)
        cls = ch.subchannels.get(sub)
        if cls is None:
            raise pbdma_error(f"method {addr:#06x} = {value:#x} on subchannel {sub}, to which no object is bound "
                              f"(SET_OBJECT)")
        engine = self.copy_engines.get(ch.rm_engine_type)
        if engine is not None:
            engine.method(ch.ce.setdefault(sub, engine.context()), addr, value, mem)
            return True
        gr = self.graphics.get(ch.rm_engine_type)
        if gr is None:  # pragma: no cover - SET_OBJECT only binds a class the channel's engine executes
            raise pbdma_error(f"subchannel {sub}: no engine executes class {cls:#x} on runlist {ch.runlist}")
        gr.method(ch.gr.setdefault(sub, gr.context()), addr, value, mem)
        return True

    def _host_method(self, ch: SimChannel, mem: EngineMemory, sub: int, addr: int, value: int) -> bool:
        name = _HOST_NAMES[ch.gpfifo_class].get(addr)
        if name is None:
            raise pbdma_error(f"host method {addr:#06x} = {value:#x} (subchannel {sub}) is not a method of "
                              f"{F.CLASS_NAMES.get(ch.gpfifo_class, hex(ch.gpfifo_class))}")
        ch.regs[name] = value
        if name == "SET_OBJECT":
            self._set_object(ch, sub, value)
        elif name == "SEM_EXECUTE":
            return self._sem_execute(ch, mem, value)
        elif name == "SEMAPHORED":
            return self._semaphore_d(ch, mem, value)
        elif name == "NON_STALL_INTERRUPT":
            slot = self.by_engine.get(ch.rm_engine_type)
            if slot is not None:
                self.nonstall(slot)
        elif name == "SET_REFERENCE":
            self._userd_write(ch, F.USERD_REF, value)
        elif name == "ILLEGAL":
            raise pbdma_error(f"ILLEGAL method (handle {value:#x})")
        elif name == "CRC_CHECK":
            raise pbdma_error("CRC_CHECK is not modelled by the sim")
        return True

    def _userd_write(self, ch: SimChannel, off: int, value: int) -> None:
        _mem, fields = self._memory(ch)
        space, userd = self._userd(fields)
        self.mmu.write(space, userd + off, value.to_bytes(4, "little"))

    def _set_object(self, ch: SimChannel, sub: int, value: int) -> None:
        so = F.SetObject.decode(value)
        cls = so["nvclass"]
        if so["engine"] == 0x1F:
            raise pbdma_error(f"SET_OBJECT {value:#x} on subchannel {sub}: software engine objects are not modelled")
        engine = self.copy_engines.get(ch.rm_engine_type) or self.graphics.get(ch.rm_engine_type)
        classes = engine.classes if engine is not None else ()
        if cls not in classes:
            raise pbdma_error(f"SET_OBJECT of class {cls:#06x} on subchannel {sub}: channel {ch.chid} runs on "
                              f"{self._engine_name(ch)}, whose class is "
                              f"{', '.join(f'{c:#06x}' for c in classes) or 'none the sim models'}")
        if cls not in ch.objects:
            raise pbdma_error(f"SET_OBJECT of class {cls:#06x} on subchannel {sub}: no object of that class was "
                              f"allocated under channel {ch.chid}")
        ch.subchannels[sub] = cls

    def _engine_name(self, ch: SimChannel) -> str:
        slot = self.by_engine.get(ch.rm_engine_type)
        return slot.name if slot else f"RM engine {ch.rm_engine_type:#x}"

    # -- semaphores ----------------------------------------------------------------------------------------

    def _sem_address(self, ch: SimChannel, hi_name: str, lo_name: str) -> int:
        hi_bits = 8 if ch.gpfifo_class in (F.TURING_CHANNEL_GPFIFO_A, F.AMPERE_CHANNEL_GPFIFO_A) else 25
        return (ch.regs.get(hi_name, 0) & ((1 << hi_bits) - 1)) << 32 | (ch.regs.get(lo_name, 0) & ~3 & 0xFFFFFFFF)

    def _write_sem(self, mem: EngineMemory, va: int, data: bytes) -> None:
        try:
            mem.write(va, data)
        except MmuFault as e:
            raise mmu_fault(f"semaphore release at VA {va:#x}: {e}", e.reason, e.va, "PBDMA") from None
        except SimViolation as e:
            raise pbdma_error(f"semaphore release at VA {va:#x}: {e}") from None

    def _sem_execute(self, ch: SimChannel, mem: EngineMemory, value: int) -> bool:
        f = F.SemExecute.decode(value)
        va = self._sem_address(ch, "SEM_ADDR_HI", "SEM_ADDR_LO")
        payload = ch.regs.get("SEM_PAYLOAD_LO", 0) | ch.regs.get("SEM_PAYLOAD_HI", 0) << 32
        size = 8 if f["payload_size"] else 4
        op = f["operation"]
        if op == F.SemExecuteOp.RELEASE:
            if f["release_timestamp"]:
                data = payload.to_bytes(8, "little") + self.clock.now().to_bytes(8, "little")
            else:
                data = (payload & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
            if va % (16 if len(data) == 16 else size):
                raise pbdma_error(f"SEM_EXECUTE release at VA {va:#x}: not aligned for {len(data)} bytes")
            self._write_sem(mem, va, data)
            return True
        kinds = {F.SemExecuteOp.ACQUIRE: "eq", F.SemExecuteOp.ACQ_STRICT_GEQ: "geq",
                 F.SemExecuteOp.ACQ_CIRC_GEQ: "circ_geq", F.SemExecuteOp.ACQ_AND: "and",
                 F.SemExecuteOp.ACQ_NOR: "nor"}
        if op not in kinds:
            raise pbdma_error(f"SEM_EXECUTE {value:#x}: operation {op} (REDUCTION) is not modelled by the sim")
        return self._acquire(ch, mem, _Acquire(va, payload & ((1 << (8 * size)) - 1), kinds[op], size,
                                               self.clock.now() + ACQUIRE_TIMEOUT_NS))

    def _semaphore_d(self, ch: SimChannel, mem: EngineMemory, value: int) -> bool:
        f = F.SemaphoreD.decode(value)
        va = self._sem_address(ch, "SEMAPHOREA", "SEMAPHOREB")
        payload = ch.regs.get("SEMAPHOREC", 0)
        op = f["operation"]
        if op == F.SemaphoreDOp.RELEASE:
            data = payload.to_bytes(4, "little")
            if not f["release_size"]:  # 16BYTE: payload, 0, timestamp
                data = data + bytes(4) + self.clock.now().to_bytes(8, "little")
            self._write_sem(mem, va, data)
            return True
        kinds = {F.SemaphoreDOp.ACQUIRE: "eq", F.SemaphoreDOp.ACQ_GEQ: "circ_geq", F.SemaphoreDOp.ACQ_AND: "and"}
        if op not in kinds:
            raise pbdma_error(f"SEMAPHORED {value:#x}: operation {op:#x} is not modelled by the sim")
        return self._acquire(ch, mem, _Acquire(va, payload, kinds[op], 4, self.clock.now() + ACQUIRE_TIMEOUT_NS))

    def _check_acquire(self, mem: EngineMemory, a: _Acquire) -> bool:
        try:
            cur = int.from_bytes(mem.read(a.va, a.size), "little")
        except MmuFault as e:
            raise mmu_fault(f"semaphore acquire at VA {a.va:#x}: {e}", e.reason, e.va, "PBDMA") from None
        except SimViolation as e:
            raise pbdma_error(f"semaphore acquire at VA {a.va:#x}: {e}") from None
        bits = 8 * a.size
        if a.op == "eq":
            return cur == a.value
        if a.op == "geq":
            return cur >= a.value
        if a.op == "circ_geq":
            return ((cur - a.value) & ((1 << bits) - 1)) < 1 << (bits - 1)
        if a.op == "and":
            return bool(cur & a.value)
        return (~(cur | a.value) & ((1 << bits) - 1)) != 0  # nor

    def _acquire(self, ch: SimChannel, mem: EngineMemory, a: _Acquire) -> bool:
        if self._check_acquire(mem, a):
            return True
        ch.acquire = a
        self.clock.call_later(ACQUIRE_RETRY_NS, lambda: self._retry(ch))
        return False

    def _acquired(self, ch: SimChannel) -> bool:
        a = ch.acquire
        if a is None:
            return True
        mem, _ = self._memory(ch)
        return self._check_acquire(mem, a)

    def _retry(self, ch: SimChannel) -> None:
        with self.lock:
            a = ch.acquire
            if a is None or ch.error is not None or self.channels.get(ch.chid) is not ch:
                return
            try:
                if self._acquired(ch):
                    self.run(ch)
                    return
            except ChannelStop as stop:
                self._stop(ch, stop)
                return
            if self.clock.now() >= a.deadline:
                self._stop(ch, pbdma_error(f"semaphore acquire at VA {a.va:#x} (value {a.value:#x}, {a.op}) not "
                                           f"satisfied within {ACQUIRE_TIMEOUT_NS // SEC} s"))
                return
            a.interval = min(a.interval * 2, ACQUIRE_RETRY_MAX_NS)
            self.clock.call_later(a.interval, lambda: self._retry(ch))
