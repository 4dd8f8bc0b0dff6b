"""nova_core.sim.gsp_rm.gr: the simulated GSP-RM's GR engine - context buffers, promotion, the golden context.

Registered into the object table (:mod:`.objects`) when GSP-RM boots, beside the FIFO (:mod:`.fifo`). Layouts,
ids and statuses are NVIDIA's (the bindings of the running version, :mod:`nova_core.engines.gr.facts`); what is the
sim's own is said so below.

**NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO** - an internal command, answered on GSP-RM's own
client and subdevice only (as INTR_GET_KERNEL_TABLE: ``NV_ERR_INSUFFICIENT_PERMISSIONS`` from another client, a sim
choice) with params of the structure's exact size (``NV_ERR_INVALID_PARAM_STRUCT``). GR engine 0 gets
:func:`buffer_table` - one ``{size, alignment}`` per
``NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_*`` of the version (25 in 535.113.01, 26 from 550); the
other engines (1..7) are zero. **The sizes and alignments are the sim's own choice**, per chip family and
representative of a context's shape, not NVIDIA's numbers (which GSP-RM computes from the hardware and does not
publish): VLD..POSTPROCESS (not GR buffers) 0, GRAPHICS_SETUP on Blackwell only. What *is* NVIDIA's: the layout,
which entry sizes which buffer, and the rules below that come from OpenRM's kernel side.

**NV2080_CTRL_CMD_GPU_PROMOTE_CTX** on a subdevice of the calling client: ``engineType`` GR0 (the only GR engine
here), ``hChanClient``/``hObject`` a GPFIFO channel on GR0 of that client (a channel group - which the control also
takes - is not modelled: ``NV_ERR_NOT_SUPPORTED``), 1..16 entries. Each entry (the first problem refuses the whole
control, nothing applied, logged with its reason):

- ``bufferId`` one of MAIN, PATCH, BUFFER_BUNDLE_CB, PAGEPOOL, ATTRIBUTE_CB, RTV_CB_GLOBAL, FECS_EVENT,
  PRIV_ACCESS_MAP, UNRESTRICTED_PRIV_ACCESS_MAP (PM, the GFXP buffers and GLOBAL_PRIV_ACCESS_MAP are not modelled:
  ``NV_ERR_NOT_SUPPORTED``), once per control (``NV_ERR_INVALID_ARGUMENT``);
- ``bNonmapped`` only with ``bInitialize`` (ctrl2080gpu.h: "It is illegal to set this flag and not set
  bInitialize") - ``NV_ERR_INVALID_ARGUMENT``;
- with ``bInitialize``: ``size`` at least the reported size (the main buffer: rounded up to 4 KiB plus 64
  subcontext headers of 4 KiB, as OpenRM's ``kgraphicsGetMainCtxBufferSize``) - *a wrong size*; ``gpuPhysAddr``
  aligned to the reported alignment - *a wrong alignment* (``NV_ERR_INVALID_ARGUMENT`` both); ``physAttr``'s
  APERTURE VIDMEM, COH_SYS or NCOH_SYS (3 is no aperture) and the memory there: VRAM the client owns (not GSP-RM's
  reserved or protected regions, inside VRAM) or system memory the IOMMU maps - *a buffer in the wrong aperture*
  (``NV_ERR_INVALID_ADDRESS``);
- with a VA: aligned to the reported alignment (the attribute buffer to its size rounded up to a power of two:
  OpenRM's ``bSizeAligned``) - *a wrong alignment*; ``[va, va + size)`` mapped in the channel's address space, walked
  by the simulated MMU from the channel's instance block - *an unmapped VA* (``NV_ERR_INVALID_ADDRESS``); where the
  buffer's physical address is known (this entry's, or a global buffer's from an earlier initialization) the VA must
  map exactly that memory, contiguously, in the aperture ``physAttr`` named - *the wrong aperture* or the wrong
  memory (``NV_ERR_INVALID_ADDRESS``);
- a global buffer (FECS_EVENT, the access maps) is initialized once per device: a second ``bInitialize`` at another
  address is ``NV_ERR_STATE_IN_USE`` (a sim choice: OpenRM's kernel side never sends one).

Then the whole channel context must be complete - *a missing buffer* otherwise (``NV_ERR_INVALID_ARGUMENT``): MAIN
and PATCH initialized for the channel, FECS_EVENT and both access maps initialized on the device, and a VA for MAIN,
PATCH, BUFFER_BUNDLE_CB, PAGEPOOL, ATTRIBUTE_CB, RTV_CB_GLOBAL, FECS_EVENT and one access map. This is the contract
of OpenRM's kernel side (``kgrobjPromoteContext``: one control with every buffer the context still needs,
initialization and VA in the same entry) and of nouveau; a client that splits a context over several controls (the
physical addresses first, the VAs later) is refused by the sim, though GSP-RM itself may accept it - a sim choice.

**GR objects** - the chip's compute and 3D classes (:func:`~nova_core.engines.gr.facts.gr_classes_for`), any
parameters (nouveau sends none) - under a GPFIFO channel on GR0 only (``NV_ERR_INVALID_OBJECT_PARENT`` /
``NV_ERR_INVALID_ARGUMENT``), and **refused before the channel's context is promoted** (``NV_ERR_INVALID_STATE``).
The first GR object of the device builds the golden context image (GSP-RM keeps it; nouveau allocates the 3D class
on its golden channel for this); every channel's first GR object then starts its context from it: GSP-RM writes it
into the channel's main buffer. **What the sim writes is its own choice**: a 32-byte header
(:data:`GOLDEN_MAGIC`, the golden channel's id, the number of images built - always 1 -, the channel's id) at the
start of the main buffer, so that a test can see the image arrive. The object's class may then be bound with
SET_OBJECT (:mod:`nova_core.sim.engines.gr` executes the compute class). Freeing a channel forgets its context; the
golden image and the global buffers stay for GSP-RM's life.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...engines import facts as F
from ...engines.gr import facts as G
from ...gpu.chips import Chipset
from ...regs.mmu import NV_RAMIN_PAGE_DIR_BASE, RAMIN_PAGE_DIR_OFFSET, InstTarget
from ..engines.memory import EngineMemory
from ..models.mmu import SYS, VID, MmuFault
from .fifo import ChannelObjectState, ChannelState
from .objects import NV20_SUBDEVICE_0, Client, RmObject

if TYPE_CHECKING:
    from types import ModuleType

    from .model import SimGspRm

GOLDEN_MAGIC = b"NOVA-SIM GOLDEN\0"  #: the sim's golden-image header (see the module docstring)
GOLDEN_HEADER = 32

_E = G.EngineCtxId
KiB = 1 << 10

#: the sim's reported main-context size per chip family (sim choice; see the module docstring)
_MAIN: dict[str, int] = {"TURING": 0x2E000, "GA100": 0x3C000, "AMPERE": 0x4B000, "ADA": 0x52000, "HOPPER": 0x61000,
                         "BLACKWELL_GB10X": 0x68000, "BLACKWELL_GB20X": 0x55000}
#: the other GR entries: (size, alignment), the same shape for every family, scaled by :data:`_SCALE` (sim choice)
_OTHERS: dict[G.EngineCtxId, tuple[int, int]] = {
    _E.GRAPHICS_ZCULL: (0x3000, 0x1000), _E.GRAPHICS_PM: (0x20000, 0x1000), _E.COMPUTE_PREEMPT: (0x8000, 0x1000),
    _E.GRAPHICS_PREEMPT: (0x40000, 0x1000), _E.GRAPHICS_SPILL: (0x18000, 0x1000),
    _E.GRAPHICS_PAGEPOOL: (0x60000, 0x1000), _E.GRAPHICS_BETACB: (0x30000, 0x1000), _E.GRAPHICS_RTV: (0x8000, 0x1000),
    _E.GRAPHICS_PATCH: (0x10000, 0x1000), _E.GRAPHICS_BUNDLE_CB: (0x21000, 0x100),
    _E.GRAPHICS_PAGEPOOL_GLOBAL: (0x80000, 0x1000), _E.GRAPHICS_ATTRIBUTE_CB: (0x170000, 0x10000),
    _E.GRAPHICS_RTV_CB_GLOBAL: (0x4000, 0x1000), _E.GRAPHICS_GFXP_POOL: (0x20000, 0x1000),
    _E.GRAPHICS_GFXP_CTRL_BLK: (0x1000, 0x1000), _E.GRAPHICS_FECS_EVENT: (0x10000, 0x1000),
    _E.GRAPHICS_PRIV_ACCESS_MAP: (0x2000, 0x1000),
}
_SCALE: dict[str, int] = {"TURING": 1, "GA100": 2, "AMPERE": 1, "ADA": 2, "HOPPER": 3, "BLACKWELL_GB10X": 3,
                          "BLACKWELL_GB20X": 2}
_SETUP = (0x6000, 0x1000)  #: GRAPHICS_SETUP, reported on Blackwell only (sim choice)

#: buffers a promotion may name (the others are not modelled)
MODELLED = frozenset(G.CTX_BUFFER_BY_ID)
_ACCESS_MAPS = (G.PromoteId.PRIV_ACCESS_MAP, G.PromoteId.UNRESTRICTED_PRIV_ACCESS_MAP)
#: a complete context: VAs of these (and one access map), MAIN/PATCH initialized per channel, these per device
NEED_VA = (G.PromoteId.MAIN, G.PromoteId.PATCH, G.PromoteId.BUFFER_BUNDLE_CB, G.PromoteId.PAGEPOOL,
           G.PromoteId.ATTRIBUTE_CB, G.PromoteId.RTV_CB_GLOBAL, G.PromoteId.FECS_EVENT)
NEED_INIT_CHANNEL = (G.PromoteId.MAIN, G.PromoteId.PATCH)
NEED_INIT_DEVICE = (G.PromoteId.FECS_EVENT, *_ACCESS_MAPS)


def buffer_table(chipset: Chipset, count: int) -> list[tuple[int, int]]:
    """GR0's ``{size, alignment}`` entries for ``chipset`` in a version with ``count`` engine ids (sim choice)."""
    key = F.family_key(chipset)
    out = [(0, 0)] * count
    out[_E.GRAPHICS] = (_MAIN[key], 0x1000)
    for eid, (size, align) in _OTHERS.items():
        if eid < count:
            out[eid] = (size * _SCALE[key], align)
    if count > _E.GRAPHICS_SETUP and key.startswith("BLACKWELL"):
        out[_E.GRAPHICS_SETUP] = _SETUP
    return out


@dataclass(frozen=True)
class _Mem:
    """A memory descriptor in the shape FifoRm's memory check reads (``NV_MEMORY_DESC_PARAMS``'s fields)."""

    base: int
    size: int
    addressSpace: int


@dataclass
class Promoted:
    """What GSP-RM holds of one buffer of a channel's context."""

    va: int | None = None
    phys: tuple[str, int] | None = None  #: (space, address) when initialized


@dataclass
class GrChannel:
    """A channel's GR context as GSP-RM sees it."""

    chid: int
    buffers: dict[G.PromoteId, Promoted] = field(default_factory=dict)
    complete: bool = False
    loaded: bool = False  #: the golden image was written into its main buffer


class Refused(Exception):
    """A promotion or allocation GSP-RM refuses: its NV_STATUS name and the reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class GrRm:
    """GSP-RM's GR engine for one :class:`~.model.SimGspRm` (``rm.gr``)."""

    def __init__(self, rm: SimGspRm) -> None:
        assert rm.m is not None and rm.objects is not None and rm.fifo is not None
        self.rm = rm
        self.m: ModuleType = rm.m
        self.gpu = rm.gpu
        self.fifo = rm.fifo
        self.host = rm.fifo.host
        self.objects = rm.objects
        self.classes = G.gr_classes_for(rm.gpu.chipset)
        count = int(self.m.NV2080_CTRL_INTERNAL_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_COUNT)
        self.table = buffer_table(rm.gpu.chipset, count)
        self.channels: dict[tuple[int, int], GrChannel] = {}  #: (hClient, hChannel) -> context
        self.globals: dict[G.PromoteId, tuple[str, int]] = {}  #: initialized global buffers (once per device)
        self.golden_chid: int | None = None  #: the channel whose first GR object built the golden image
        self.golden_builds = 0
        self.promotions = 0
        o = self.objects
        for cls in (self.classes.compute, self.classes.threed):
            o.alloc_hooks[cls] = self._alloc_object
        o.control_hooks[int(self.m.NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO)] = self._ctrl_info
        o.control_hooks[int(self.m.NV2080_CTRL_CMD_GPU_PROMOTE_CTX)] = self._ctrl_promote
        o.free_hooks.append(self._freed)

    # -- what a buffer needs ------------------------------------------------------------------------------

    def required(self, bid: G.PromoteId) -> tuple[int, int]:
        """``(size, alignment)`` GSP-RM requires of buffer ``bid`` (VA alignment: the attribute buffer's size)."""
        kind = G.CTX_BUFFER_BY_ID[bid]
        size, align = self.table[kind.engine_id]
        if bid is G.PromoteId.MAIN:
            size = G.main_buffer_size(size)
        return size, max(align, 1)

    def _va_align(self, bid: G.PromoteId) -> int:
        size, align = self.required(bid)
        return max(align, 1 << (size - 1).bit_length()) if G.CTX_BUFFER_BY_ID[bid].size_aligned else align

    def _refuse(self, status: str, reason: str) -> tuple[int, Any]:
        self.rm._refuse(f"{reason}: {status}")
        return self.objects.s(status), None

    # -- the description --------------------------------------------------------------------------------------

    def _ctrl_info(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        what = "KGR_GET_CONTEXT_BUFFERS_INFO"
        cls = self.m.NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS
        if obj.cls != NV20_SUBDEVICE_0:
            return self.objects.s("NV_ERR_NOT_SUPPORTED"), params
        if not client.internal:
            self._refuse("NV_ERR_INSUFFICIENT_PERMISSIONS", f"{what} on client {client.handle:#x}: internal commands "
                         f"go to GSP-RM's own subdevice (GSP_STATIC_INFO hInternalSubdevice)")
            return self.objects.s("NV_ERR_INSUFFICIENT_PERMISSIONS"), params
        if len(params) != ctypes.sizeof(cls):
            self._refuse("NV_ERR_INVALID_PARAM_STRUCT", f"{what} params of {len(params):#x} bytes, the structure is "
                         f"{ctypes.sizeof(cls):#x}")
            return self.objects.s("NV_ERR_INVALID_PARAM_STRUCT"), params
        p = cls()
        engine = p.engineContextBuffersInfo[0].engine
        for i, (size, align) in enumerate(self.table):
            engine[i].size, engine[i].alignment = size, align
        return 0, bytes(p)

    # -- promotion ----------------------------------------------------------------------------------------------

    def _ctrl_promote(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        cls = self.m.NV2080_CTRL_GPU_PROMOTE_CTX_PARAMS
        if obj.cls != NV20_SUBDEVICE_0:
            return self.objects.s("NV_ERR_NOT_SUPPORTED"), params
        if len(params) < ctypes.sizeof(cls):
            self._refuse("NV_ERR_INVALID_PARAM_STRUCT", f"GPU_PROMOTE_CTX: {len(params):#x} parameter bytes, the "
                         f"structure is {ctypes.sizeof(cls):#x}")
            return self.objects.s("NV_ERR_INVALID_PARAM_STRUCT"), params
        p = cls.from_buffer_copy(params[:ctypes.sizeof(cls)])
        try:
            self._promote(client, p)
        except Refused as r:
            self._refuse(r.status, f"GPU_PROMOTE_CTX: {r}")
            return self.objects.s(r.status), params
        self.promotions += 1
        return 0, params

    def _promote(self, client: Client, p: Any) -> None:
        gr0 = int(self.m.NV2080_ENGINE_TYPE_GR0)
        if int(p.engineType) != gr0:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"engineType {p.engineType:#x} (GR0 = {gr0:#x} is the only GR "
                                                     f"engine here)")
        chan_client = self.objects.clients.get(int(p.hChanClient))
        if chan_client is None or chan_client.handle != client.handle:
            raise Refused("NV_ERR_INVALID_CLIENT", f"hChanClient {p.hChanClient:#x} is not the calling client "
                                                   f"{client.handle:#x}")
        chan_obj = client.objects.get(int(p.hObject))
        if chan_obj is not None and chan_obj.cls == F.KEPLER_CHANNEL_GROUP_A:
            raise Refused("NV_ERR_NOT_SUPPORTED", f"hObject {p.hObject:#x} is a channel group: promotion to a group "
                                                  f"is not modelled (name one of its channels)")
        if chan_obj is None or not isinstance(chan_obj.data, ChannelState):
            raise Refused("NV_ERR_INVALID_OBJECT_HANDLE", f"hObject {p.hObject:#x} is not a channel of client "
                                                          f"{client.handle:#x}")
        state: ChannelState = chan_obj.data
        if state.engine != gr0:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"channel {state.chid} runs engine {state.engine:#x}, not GR0")
        n = int(p.entryCount)
        if not 1 <= n <= G.PROMOTE_MAX_ENTRIES:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"channel {state.chid}: entryCount {n} "
                                                     f"(1..{G.PROMOTE_MAX_ENTRIES})")
        key = (client.handle, chan_obj.handle)
        old = self.channels.get(key)
        ctx = GrChannel(state.chid, {k: Promoted(v.va, v.phys) for k, v in old.buffers.items()} if old else {},
                        loaded=old is not None and old.loaded)
        new_globals: dict[G.PromoteId, tuple[str, int]] = {}
        mem = self._channel_memory(state.chid)
        seen: set[int] = set()
        for i in range(n):
            self._entry(state.chid, p.promoteEntry[i], i, seen, ctx, new_globals, mem)
        missing = self._missing(ctx, new_globals)
        if missing:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"channel {state.chid}: the context would miss {missing} "
                                                     f"(every buffer the context still needs goes in one promotion)")
        ctx.complete = True
        self.channels[key] = ctx
        self.globals |= new_globals
        self.gpu.log.info("gsp-rm", f"GR context of channel {state.chid} promoted ({n} entries)")

    def _channel_memory(self, chid: int) -> EngineMemory:
        """The channel's address space, from the page directory of its instance block (a walker without a TLB)."""
        ch = self.host.channels.get(chid)
        if ch is None:  # pragma: no cover - a ChannelState always has its host channel
            raise Refused("NV_ERR_INVALID_CHANNEL", f"channel {chid} is not on the host")
        pd = int.from_bytes(self.host.mmu.read(VID, ch.instance + RAMIN_PAGE_DIR_OFFSET, 16), "little")
        target = NV_RAMIN_PAGE_DIR_BASE.target.get(pd)
        if not NV_RAMIN_PAGE_DIR_BASE.use_ver2_pt_format.get(pd) or target not in (
                InstTarget.VID_MEM, InstTarget.SYS_MEM_COHERENT, InstTarget.SYS_MEM_NONCOHERENT):
            raise Refused("NV_ERR_INVALID_STATE", f"channel {chid}: its instance block {ch.instance:#x} names no "
                                                  f"address space (page directory words {pd:#034x})")
        pdb = NV_RAMIN_PAGE_DIR_BASE.lo.get(pd) << 12 | NV_RAMIN_PAGE_DIR_BASE.hi.get(pd) << 32
        limit = (NV_RAMIN_PAGE_DIR_BASE.adr_limit_lo.get(pd) << 12 | NV_RAMIN_PAGE_DIR_BASE.adr_limit_hi.get(pd) << 32
                 | 0xFFF)
        return EngineMemory(self.gpu, pdb, pdb_sys=target != InstTarget.VID_MEM, va_limit=limit,
                            who=f"GSP-RM promoting channel {chid}")

    def _entry(self, chid: int, e: Any, i: int, seen: set[int], ctx: GrChannel,
               new_globals: dict[G.PromoteId, tuple[str, int]], mem: EngineMemory) -> None:
        raw = int(e.bufferId)
        where = f"channel {chid} entry {i}"
        if raw in seen:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: bufferId {raw} twice in one promotion")
        seen.add(raw)
        if raw not in G.PromoteId._value2member_map_:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: bufferId {raw} is not an "
                                                     f"NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ID")
        bid = G.PromoteId(raw)
        if bid not in MODELLED:
            raise Refused("NV_ERR_NOT_SUPPORTED", f"{where}: {bid.name} is not modelled by the sim")
        where = f"channel {chid} {bid.name}"
        kind = G.CTX_BUFFER_BY_ID[bid]
        size, align = self.required(bid)
        init, nonmapped = bool(e.bInitialize), bool(e.bNonmapped)
        if nonmapped and not init:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: bNonmapped without bInitialize (illegal, "
                                                     f"ctrl2080gpu.h)")
        buf = ctx.buffers.setdefault(bid, Promoted())
        phys: tuple[str, int] | None = None
        if init:
            phys = self._initialized(where, e, size, align)
            if kind.global_:
                have = self.globals.get(bid)
                if have is not None and have != phys:
                    raise Refused("NV_ERR_STATE_IN_USE", f"{where}: the device's global {bid.name} is already "
                                                         f"initialized at {have[0]} {have[1]:#x}, not {phys[1]:#x}")
                new_globals[bid] = phys
            else:
                buf.phys = phys
        elif kind.global_:
            phys = self.globals.get(bid)
        if not nonmapped:
            va = int(e.gpuVirtAddr)
            va_align = self._va_align(bid)
            if va % va_align:
                raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: VA {va:#x} is not aligned to {va_align:#x} (a "
                                                         f"wrong alignment)")
            self._check_mapping(where, mem, va, size, phys, int(e.physAttr) if init else None)
            buf.va = va

    def _initialized(self, where: str, e: Any, size: int, align: int) -> tuple[str, int]:
        """Check the physical side of an initialized entry; returns (space, address)."""
        got, addr = int(e.size), int(e.gpuPhysAddr)
        if got < size:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: size {got:#x}, GSP-RM's buffer is {size:#x} bytes "
                                                     f"(a wrong size)")
        if addr % align:
            raise Refused("NV_ERR_INVALID_ARGUMENT", f"{where}: physical address {addr:#x} is not aligned to "
                                                     f"{align:#x} (a wrong alignment)")
        attr = G.PhysAttr.decode(int(e.physAttr))
        aperture = attr["aperture"]
        if aperture not in G.CtxAperture._value2member_map_:
            raise Refused("NV_ERR_INVALID_ADDRESS", f"{where}: physAttr {e.physAttr:#x}: APERTURE {aperture} is none "
                                                    f"(VIDMEM 0, COH_SYS 1, NCOH_SYS 2: the wrong aperture)")
        space = VID if aperture == G.CtxAperture.VIDMEM else SYS
        addr_space = F.MemorySpace.FBMEM if space == VID else F.MemorySpace.SYSMEM
        problem = self.fifo._memory_problem(where, _Mem(addr, got, int(addr_space)), min_size=size, align=align)
        if problem is not None:
            raise Refused("NV_ERR_INVALID_ADDRESS", f"{problem} (physAttr {G.CtxAperture(aperture).name}: the "
                                                    f"wrong aperture or memory)")
        return space, addr

    def _check_mapping(self, where: str, mem: EngineMemory, va: int, size: int, phys: tuple[str, int] | None,
                       attr: int | None) -> None:
        try:
            runs = list(mem.runs(va, size, write=False))
        except MmuFault as err:
            raise Refused("NV_ERR_INVALID_ADDRESS", f"{where}: [{va:#x}, +{size:#x}) is not mapped in the channel's "
                                                    f"address space (an unmapped VA): {err}") from None
        if phys is None:
            return
        space, addr = phys
        if any(r[0] != space for r in runs):
            named = G.CtxAperture(G.PhysAttr.decode(attr)["aperture"]).name if attr is not None else space
            raise Refused("NV_ERR_INVALID_ADDRESS", f"{where}: VA {va:#x} maps {runs[0][0]} memory, the buffer is in "
                                                    f"{named} (the wrong aperture)")
        if runs != [(space, addr, size)]:
            raise Refused("NV_ERR_INVALID_ADDRESS", f"{where}: VA {va:#x} maps {runs[0][0]} {runs[0][1]:#x}"
                                                    f"{' and more' if len(runs) > 1 else ''}, not the buffer at "
                                                    f"{addr:#x} (+{size:#x}) contiguously")

    def _missing(self, ctx: GrChannel, new_globals: dict[G.PromoteId, tuple[str, int]]) -> str:
        out = [f"{b.name} (VA)" for b in NEED_VA if ctx.buffers.get(b, Promoted()).va is None]
        if all(ctx.buffers.get(b, Promoted()).va is None for b in _ACCESS_MAPS):
            out.append("an access map (VA)")
        out += [f"{b.name} (initialized)" for b in NEED_INIT_CHANNEL if ctx.buffers.get(b, Promoted()).phys is None]
        out += [f"the device's {b.name} (initialized)" for b in NEED_INIT_DEVICE
                if b not in self.globals and b not in new_globals]
        return ", ".join(out)

    # -- GR objects -------------------------------------------------------------------------------------------

    def _alloc_object(self, client: Client, parent: RmObject, h: int, cls: int, params: bytes) -> tuple[int, Any]:
        name = G.CLASS_NAMES.get(cls, hex(cls))
        what = f"{name} {h:#x}"
        if parent.cls not in F.classes_for(self.gpu.chipset).gpfifo_all or not isinstance(parent.data, ChannelState):
            return self._refuse("NV_ERR_INVALID_OBJECT_PARENT", f"{what} under class {parent.cls:#x} (a GPFIFO "
                                                                f"channel expected)")
        state: ChannelState = parent.data
        if state.engine != int(self.m.NV2080_ENGINE_TYPE_GR0):
            return self._refuse("NV_ERR_INVALID_ARGUMENT", f"{what}: channel {state.chid} runs engine "
                                                           f"{state.engine:#x}, not GR0")
        ctx = self.channels.get((client.handle, parent.handle))
        if ctx is None or not ctx.complete:
            return self._refuse("NV_ERR_INVALID_STATE", f"{what}: channel {state.chid}'s GR context is not promoted "
                                                        f"(NV2080_CTRL_CMD_GPU_PROMOTE_CTX first)")
        if self.golden_chid is None:
            self.golden_chid = state.chid
            self.golden_builds += 1
            self.gpu.log.info("gsp-rm", f"golden context image built on channel {state.chid} ({name})")
        if not ctx.loaded:
            self._load_golden(ctx)
        ch = self.host.channels.get(state.chid)
        if ch is not None:
            ch.objects.add(cls)
        return 0, ChannelObjectState(parent.handle)

    def _load_golden(self, ctx: GrChannel) -> None:
        """The channel's context starts from the golden image: the sim's header into its main buffer."""
        main = ctx.buffers[G.PromoteId.MAIN].phys
        assert main is not None and self.golden_chid is not None  # a complete context has it initialized
        header = (GOLDEN_MAGIC + self.golden_chid.to_bytes(4, "little") + self.golden_builds.to_bytes(4, "little")
                  + ctx.chid.to_bytes(4, "little")).ljust(GOLDEN_HEADER, b"\0")
        self.host.mmu.write(main[0], main[1], header)
        ctx.loaded = True

    def _freed(self, client: Client, obj: RmObject) -> None:
        """A channel freed: GSP-RM forgets its context (a GR object's class is unbound by :mod:`.fifo`'s hook)."""
        if isinstance(obj.data, ChannelState):
            self.channels.pop((client.handle, obj.handle), None)
