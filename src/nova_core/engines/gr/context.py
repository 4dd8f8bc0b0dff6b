"""nova_core.engines.gr.context: GR context buffers - GSP-RM's description, the golden context, channel promotions.

Under GSP-RM the kernel driver owns the memory of a GR context and GSP-RM owns its contents. :class:`Graphics`
(``gpu.gr``) does the kernel driver's part the way nouveau's r535 code does (``r535_gr_oneinit``,
``r535_gr_promote_ctx``, ``r535_gr_chan_new`` in ``nvkm/subdev/gsp/rm/r535/gr.c``) and OpenRM's kernel side
describes it (``kgrobjPromoteContext``, ``kgrctxPrepareInitializeCtxBuffer`` / ``kgrctxPreparePromoteCtxBuffer``):

1. **The description** (once per device): ``NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO`` on
   GSP-RM's own client and subdevice (the handles of GET_GSP_STATIC_INFO) answers, per GR engine, a size and an
   alignment for every ``NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_*`` (25 entries in 535.113.01, 26
   from 550): :class:`ContextBuffersInfo`. The buffers the driver promotes (:data:`~.facts.CTX_BUFFERS`) take their
   size and alignment from it (:func:`buffer_specs`): the main buffer grows by 64 subcontext headers, the attribute
   buffer is mapped at an offset aligned to its size; every buffer is placed at the larger of GSP-RM's alignment
   and the page its size gets (2 MiB, 64 KiB or 4 KiB), physically and virtually.
2. **The golden context** (once per device, on first use - nouveau's ``oneinit``): a privileged channel on GR in an
   address space of its own; the global buffers (bundle, page pool, attribute and RTV circular buffers, the FECS
   event buffer, the two priv access maps) allocated in VRAM and kept for the device's lifetime, the per-channel
   ones (main, patch) in the channel's space; the buffers GSP-RM initializes cleared first (the control's contract:
   "the client must clear (memset) the buffer to 0x0 prior to initialization"); all of them promoted in one
   ``NV2080_CTRL_CMD_GPU_PROMOTE_CTX`` (engine GR0, the main/patch/FECS/access-map buffers with physical address,
   size and ``physAttr`` VIDMEM | GPU_CACHEABLE_NO, the priv access map unmapped, everything else by VA); then the
   chip's 3D class allocated on the channel, so that GSP-RM builds the golden context image, and freed, and the
   channel closed. GSP-RM keeps the image; the global buffers stay where they were promoted.
3. **Per channel** (:meth:`Graphics.promote`, from :meth:`~nova_core.engines.fifo.Channel.compute`): the channel's
   own main and patch buffers allocated (cleared) and mapped in its address space, the global buffers mapped there
   too (privileged; the access map read-only; the unrestricted access map belongs to the golden context only), all
   promoted in one PROMOTE_CTX naming the channel; GSP-RM then starts the channel's context from the golden image.
   The compute object is allocated after that (:class:`~.compute.ComputeEngine`).

Teardown: a channel's context (its own buffers and its mappings of the global ones) is released after the channel's
RM objects are freed, when the channel closes; the global buffers when the FIFO closes (:meth:`Graphics.close`), after
every channel. Everything is thread-safe: the description and the golden context are made once under a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import GrError, GspError, NovaError
from ...gsp.fw import GspAbi, RmControl
from ...gsp.rpc import GspRpc
from ...mm.pte import PAGE_4K, PteFlags
from ..vaspace import Buffer, page_for
from . import facts as G

if TYPE_CHECKING:
    from ..fifo import Channel, EngineInfo, Fifo

#: the largest context buffer the driver accepts from GSP-RM's description (a bound on what an answer can make the
#: driver allocate; a driver choice, about 100 times the largest buffer of a current GPU's context)
MAX_BUFFER_SIZE = 256 << 20
#: VIDMEM, not GPU-cached: what nouveau and tinygrad promote (OpenRM's kgrctxPrepareInitializeCtxBuffer for FB memory)
PHYS_ATTR_VIDMEM = G.PhysAttr.encode(aperture=G.CtxAperture.VIDMEM, gpu_cacheable=1)


def _round(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


# -- the description -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedBuffer:
    """One entry of GSP-RM's context-buffer description."""

    engine_id: int  #: NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_*
    size: int
    alignment: int

    @property
    def name(self) -> str:
        ids = G.EngineCtxId._value2member_map_
        return G.EngineCtxId(self.engine_id).name if self.engine_id in ids else f"ENGINE_ID_{self.engine_id:#x}"

    @property
    def supported(self) -> bool:
        return self.size not in (0, G.SIZE_NOT_SUPPORTED)

    def as_json(self) -> dict[str, Any]:
        return {"engine_id": self.engine_id, "name": self.name, "size": self.size, "alignment": self.alignment}


@dataclass(frozen=True)
class ContextBuffersInfo:
    """GSP-RM's description of GR0's context buffers (KGR_GET_CONTEXT_BUFFERS_INFO, engine 0)."""

    version: str  #: the firmware version that answered
    entries: tuple[ReportedBuffer, ...]  #: one per engine id, in order (unsupported ones included)

    def entry(self, engine_id: int) -> ReportedBuffer | None:
        """The entry of ``engine_id``, or None when GSP-RM reports no such buffer (size 0 or NV_U32_MAX)."""
        if not 0 <= engine_id < len(self.entries):
            return None
        e = self.entries[engine_id]
        return e if e.supported else None

    def as_json(self) -> list[dict[str, Any]]:
        return [e.as_json() for e in self.entries if e.supported]


def parse_context_buffers_info(abi: GspAbi, data: bytes) -> ContextBuffersInfo:
    """``NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS`` bytes -> GR0's entries.

    Raises:
        GspError: the reply is shorter than the structure.
        GrError: an entry of a supported buffer is beyond :data:`MAX_BUFFER_SIZE` or its alignment is not a power of
            two (0 counts as none).
    """
    p = abi.parse("NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS", data,
                  what="KGR_GET_CONTEXT_BUFFERS_INFO reply")
    engine = p.engineContextBuffersInfo[0].engine
    out = []
    for i in range(len(engine)):
        e = ReportedBuffer(i, int(engine[i].size), int(engine[i].alignment))
        if e.supported and (e.size > MAX_BUFFER_SIZE or e.alignment & (e.alignment - 1)
                            or e.alignment > MAX_BUFFER_SIZE):
            raise GrError(f"KGR_GET_CONTEXT_BUFFERS_INFO: {e.name} of {e.size:#x} bytes aligned to {e.alignment:#x}: "
                          f"expected at most {MAX_BUFFER_SIZE:#x} bytes and a power-of-two alignment")
        out.append(e)
    return ContextBuffersInfo(abi.version, tuple(out))


def get_context_buffers_info(rpc: GspRpc, internal_client: int, internal_subdevice: int) -> ContextBuffersInfo:
    """Ask GSP-RM for the description (on its own client and subdevice, as nouveau does)."""
    abi = rpc.abi
    m = abi.module
    size = abi.sizeof("NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS")
    reply = rpc.call(RmControl(internal_client, internal_subdevice,
                               int(m.NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO), bytes(size)))
    return parse_context_buffers_info(abi, reply)


@dataclass(frozen=True)
class CtxBufferSpec:
    """A context buffer as the driver allocates and promotes it."""

    kind: G.CtxBufferKind
    size: int  #: bytes promoted (the main buffer with its subcontext headers)
    alignment: int  #: GSP-RM's alignment (with the attribute buffer's size alignment)
    place: int  #: the alignment used, physically and virtually: the alignment or the size's page, the larger

    @property
    def flags(self) -> PteFlags:
        return PteFlags(privileged=True, read_only=self.kind.read_only)


def buffer_specs(info: ContextBuffersInfo) -> list[CtxBufferSpec]:
    """The buffers of :data:`~.facts.CTX_BUFFERS`, sized and aligned by ``info``.

    Raises:
        GrError: GSP-RM reports no size for one of them.
    """
    out = []
    for kind in G.CTX_BUFFERS:
        e = info.entry(kind.engine_id)
        if e is None:
            size = info.entries[kind.engine_id].size if kind.engine_id < len(info.entries) else None
            raise GrError(f"GSP-RM {info.version} reports no {kind.engine_id.name} context buffer (for {kind.name}): "
                          + ("the description has no such entry" if size is None else f"size {size:#x}"))
        size = G.main_buffer_size(e.size) if kind.promote_id is G.PromoteId.MAIN else e.size
        align = max(e.alignment, 1)
        if kind.size_aligned:
            align = max(align, 1 << (size - 1).bit_length())
        out.append(CtxBufferSpec(kind, size, align, max(align, page_for(size))))
    return out


# -- what was promoted -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotedBuffer:
    """One entry of a promotion, as the driver sent it."""

    name: str
    size: int
    alignment: int
    va: int | None  #: None: promoted without a mapping (bNonmapped)
    phys: int | None  #: the physical address when GSP-RM was asked to initialize it
    global_: bool
    read_only: bool  #: mapped read-only (every mapping is privileged)

    @classmethod
    def of(cls, spec: CtxBufferSpec, va: int | None, phys: int | None) -> PromotedBuffer:
        return cls(spec.kind.name, spec.size, spec.alignment, va, phys, spec.kind.global_, spec.kind.read_only)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "alignment": self.alignment, "va": self.va,
                "phys": self.phys, "global": self.global_, "initialized": self.phys is not None,
                "read_only": self.read_only}


@dataclass
class GoldenContext:
    """The device's golden context: what was promoted on the golden channel, and the 3D class that built it."""

    buffers: list[PromotedBuffer]
    threed_class: int
    chid: int  #: the golden channel's id (the channel is closed once the image exists)
    promoted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"buffers": [b.as_json() for b in self.buffers], "promoted": self.promoted,
                "threed_class": self.threed_class, "channel": self.chid}


@dataclass
class ChannelContext:
    """A channel's GR context: its own buffers and its mappings of the global ones (released with the channel)."""

    graphics: Graphics
    channel: Channel
    buffers: list[Buffer] = field(default_factory=list)
    promoted: list[PromotedBuffer] = field(default_factory=list)
    released: bool = False

    def release(self) -> None:
        """Unmap the global buffers and free the channel's own (idempotent)."""
        if self.released:
            return
        self.released = True
        problems = []
        for buf in reversed(self.buffers):
            try:
                buf.free()
            except NovaError as e:
                problems.append(str(e))
        self.graphics._forget(self)
        if problems:
            raise GrError(f"channel {self.channel.chid}: releasing its GR context: {'; '.join(problems)}")

    def as_json(self) -> list[dict[str, Any]]:
        return [b.as_json() for b in self.promoted]


# -- the engine ---------------------------------------------------------------------------------------------------


class Graphics:
    """The GR engine of a booted GPU (``gpu.gr``; the boot makes it, nothing is asked of GSP-RM until first use).

    Args:
        fifo: the FIFO (channels, VRAM, the client's subdevice).
        rpc: GSP-RM.
        internal_client, internal_subdevice: GSP-RM's own handles (GET_GSP_STATIC_INFO), which internal controls name.
    """

    def __init__(self, fifo: Fifo, rpc: GspRpc, *, internal_client: int, internal_subdevice: int) -> None:
        self.fifo = fifo
        self.rpc = rpc
        self.internal = (internal_client, internal_subdevice)
        self.classes = G.gr_classes_for(fifo.chipset)
        self.closed = False
        self._lock = threading.RLock()
        self._info: ContextBuffersInfo | None = None
        self._specs: list[CtxBufferSpec] | None = None
        self._golden: GoldenContext | None = None
        self._globals: dict[G.PromoteId, int] = {}  #: VRAM of the global buffers
        self._contexts: list[ChannelContext] = []
        self.promotions = 0  #: PROMOTE_CTX controls sent (the golden one included)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "golden context made" if self._golden else "no golden context yet"
        return (f"<Graphics {self.fifo.chipset.name} compute {self.classes.compute:#06x}: {state}, "
                f"{len(self._contexts)} channel context(s)>")

    @property
    def engine(self) -> EngineInfo:
        """The GR engine the contexts are for (GR0)."""
        for e in self.fifo.engines:
            if e.is_graphics:
                return e
        raise GrError(f"GSP-RM's device info table has no GR engine ({', '.join(e.name for e in self.fifo.engines)})")

    def _live(self) -> None:
        if self.closed:
            raise GrError("the GR engine is closed (the device was shut down)")

    # -- the description ----------------------------------------------------------------------------------------

    def info(self) -> ContextBuffersInfo:
        """GSP-RM's context-buffer description (asked once)."""
        with self._lock:
            self._live()
            if self._info is None:
                self._info = get_context_buffers_info(self.rpc, *self.internal)
            return self._info

    def specs(self) -> list[CtxBufferSpec]:
        """The buffers promoted, with their sizes and alignments from :meth:`info`."""
        with self._lock:
            if self._specs is None:
                self._specs = buffer_specs(self.info())
            return list(self._specs)

    # -- the golden context -------------------------------------------------------------------------------------

    def golden_context(self) -> GoldenContext:
        """The device's golden context, made on first use (see the module docstring), then reused."""
        with self._lock:
            self._live()
            if self._golden is None:
                self._golden = self._make_golden()
            return self._golden

    @property
    def has_golden_context(self) -> bool:
        return self._golden is not None

    def _make_golden(self) -> GoldenContext:
        specs = self.specs()
        fifo = self.fifo
        ch = fifo.open(self.engine, privileged=True)
        entries: list[dict[str, int]] = []
        done: list[PromotedBuffer] = []
        try:
            for spec in specs:
                kind = spec.kind
                if kind.global_:
                    phys = fifo.allocator.alloc(_round(spec.size, PAGE_4K), align=spec.place,
                                                tag=f"gr global {kind.name}")
                    self._globals[kind.promote_id] = phys
                    if kind.initialize:
                        fifo.vram_window().write(phys, bytes(spec.size))
                    if kind.golden_unmapped:
                        entries.append(self._entry(spec, None, phys))
                        done.append(PromotedBuffer.of(spec, None, phys))
                        continue
                    buf = ch.vaspace.map_vram(phys, spec.size, align=spec.place, flags=spec.flags,
                                              name=f"gr {kind.name}")
                else:
                    buf = self._own_buffer(ch, spec)
                phys_init = buf.phys if kind.initialize else None
                entries.append(self._entry(spec, buf.va, phys_init))
                done.append(PromotedBuffer.of(spec, buf.va, phys_init))
            golden = GoldenContext(done, self.classes.threed, ch.chid)
            self._promote(ch, entries)
            golden.promoted = True
            threed = ch.rm.alloc(self.classes.threed)  # GSP-RM builds the golden image (nouveau: the 3D class)
            threed.free()
        except BaseException:
            try:
                ch.close()
            finally:
                self._free_globals()  # no address space maps them any more
            raise
        ch.close()  # its own buffers go with its address space; the global ones stay
        return golden

    def _own_buffer(self, ch: Channel, spec: CtxBufferSpec) -> Buffer:
        buf = ch.vaspace.alloc_vram(spec.size, align=spec.place, flags=spec.flags, name=f"gr {spec.kind.name}")
        if spec.kind.initialize:
            try:
                buf.write(bytes(spec.size))  # GSP-RM initializes a cleared buffer (the control's contract)
            except BaseException:
                buf.free()
                raise
        return buf

    @staticmethod
    def _entry(spec: CtxBufferSpec, va: int | None, phys: int | None) -> dict[str, int]:
        """A ``NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ENTRY``: by VA, and with the physical address to initialize."""
        e: dict[str, int] = {"bufferId": int(spec.kind.promote_id)}
        if va is not None:
            e["gpuVirtAddr"] = va
        else:
            e["bNonmapped"] = 1
        if phys is not None:
            e |= {"gpuPhysAddr": phys, "size": spec.size, "physAttr": PHYS_ATTR_VIDMEM, "bInitialize": 1}
        return e

    def _promote(self, ch: Channel, entries: list[dict[str, int]]) -> None:
        fifo = self.fifo
        abi = fifo.abi
        if len(entries) > G.PROMOTE_MAX_ENTRIES:  # pragma: no cover - CTX_BUFFERS has 9
            raise GrError(f"{len(entries)} buffers to promote: at most {G.PROMOTE_MAX_ENTRIES} per control")
        params = abi.pack("NV2080_CTRL_GPU_PROMOTE_CTX_PARAMS", engineType=G.GR_ENGINE_TYPE,
                          hChanClient=fifo.client.handle, hObject=ch.rm.handle, entryCount=len(entries),
                          promoteEntry=entries)
        try:
            fifo.subdevice.control(int(abi.module.NV2080_CTRL_CMD_GPU_PROMOTE_CTX), params)
        except GspError as e:
            raise GrError(f"channel {ch.chid}: GSP-RM refused the promotion of its GR context: {e}") from e
        self.promotions += 1

    # -- channels -------------------------------------------------------------------------------------------------

    def promote(self, ch: Channel) -> ChannelContext:
        """Allocate, map and promote ``ch``'s context buffers (after the golden context, made first if need be)."""
        ctx, entries = self._prepare(ch)
        try:
            self._promote(ch, entries)
        except BaseException:
            ctx.release()
            raise
        return ctx

    def _prepare(self, ch: Channel) -> tuple[ChannelContext, list[dict[str, int]]]:
        """``ch``'s buffers allocated and mapped, and the promotion entries that name them (not sent yet)."""
        self.golden_context()
        ctx = ChannelContext(self, ch)
        with self._lock:
            self._contexts.append(ctx)
        entries = []
        try:
            for spec in self.specs():
                kind = spec.kind
                if kind.golden_only:
                    continue
                if kind.global_:
                    buf = ch.vaspace.map_vram(self._globals[kind.promote_id], spec.size, align=spec.place,
                                              flags=spec.flags, name=f"gr {kind.name}")
                else:
                    buf = self._own_buffer(ch, spec)
                ctx.buffers.append(buf)
                phys = None if kind.global_ else buf.phys
                entries.append(self._entry(spec, buf.va, phys))
                ctx.promoted.append(PromotedBuffer.of(spec, buf.va, phys))
        except BaseException:
            ctx.release()
            raise
        return ctx, entries

    def _forget(self, ctx: ChannelContext) -> None:
        with self._lock:
            if ctx in self._contexts:
                self._contexts.remove(ctx)

    # -- teardown -------------------------------------------------------------------------------------------------

    def _free_globals(self) -> None:
        globals_, self._globals = self._globals, {}
        for phys in globals_.values():
            self.fifo.allocator.free(phys)

    def close(self) -> None:
        """Free the global context buffers (idempotent). Refused while a channel's context maps them."""
        with self._lock:
            if self.closed:
                return
            if self._contexts:
                raise GrError(f"{len(self._contexts)} channel(s) still use the GR context buffers: close them first")
            self.closed = True
            self._free_globals()

    def stats(self) -> dict[str, int]:
        """What the engine holds now (the leak tests compare it before and after)."""
        with self._lock:
            return {"contexts": len(self._contexts), "global_buffers": len(self._globals),
                    "golden": int(self._golden is not None)}

    def as_json(self) -> dict[str, Any]:
        """The description, the golden context (if made) and the classes."""
        return {"compute_class": self.classes.compute, "threed_class": self.classes.threed,
                "context_buffers_info": self.info().as_json(),
                "golden_context": None if self._golden is None else self._golden.as_json()}
