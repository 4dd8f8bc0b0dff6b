"""nova_core.api.device: the base API - what a second-level driver may do with a booted GPU.

A :class:`Device` is one consumer's handle on a GPU brought up by nova-core (a
:class:`~nova_core.api.core.NovaCore`): the auxiliary-bus binding of a driver (:attr:`AuxDevice.device
<nova_core.api.aux.AuxDevice.device>`), or a handle a REPL user takes with ``core.device("me")``. Through it:

==================  =============================================================================================
``info()``          :class:`DeviceInfo`: chip, board name, UUID, VRAM and VRAM-BAR (BAR1) size, engines, classes
``alloc()``         a :class:`BufferObject` in VRAM (from the FB regions GSP-RM leaves the driver) or system memory
                    (DMA): size, alignment, placement; :meth:`BufferObject.map` gives the CPU a
                    :class:`CpuMapping` - VRAM through BAR1 (the driver's PTEs in GSP-RM's BAR1 root table,
                    static info ``bar1PdeBase``), system memory through its own pages
``vaspace()``       a :class:`VaSpace` (GSP-RM's FERMI_VASPACE_A over page tables the driver owns):
                    :meth:`VaSpace.bind` a buffer at a GPU VA with a chosen page size (4 KiB, 64 KiB, 2 MiB,
                    512 MiB on MMU v3); an overlapping bind is refused; :meth:`VaSpace.unbind`
``channel()``       a :class:`Channel` on an engine (:mod:`nova_core.engines`): copies and fills on the copy engine,
                    pushbuffers, GPFIFO entries pointing at the caller's own memory; each ends in a :class:`Fence`
``rm_control()``    an RM control passed to GSP-RM - only those of :data:`RM_CONTROL_ALLOWLIST`
``subscribe()``     :class:`Event` s: this handle's channel errors, non-stall interrupts, its own revocation
==================  =============================================================================================

Everything a handle hands out belongs to it (a :class:`~nova_core.api.revocable.Scope`): :meth:`Device.close` -
or the end of the binding, or the GPU's shutdown - releases all of it, newest first, and any later use raises
:class:`~nova_core.errors.Revoked` without touching the GPU. Errors are :class:`~nova_core.errors.ApiError`
subclasses carrying an ``errno`` (EINVAL, ENOMEM, EBUSY, EPERM, ENODEV) so a uAPI can pass them on; failures of the
layers below (a channel fault, an RM refusal) keep their own type. All of it is thread-safe. From a REPL::

    >>> core = NovaCore(nova_core.boot_sim("ga102")); dev = core.device("repl")
    >>> src = dev.alloc(1 << 20, placement="sysmem"); dst = dev.alloc(1 << 20)
    >>> vm = dev.vaspace(); a = vm.bind(src); b = vm.bind(dst, page_size=64 << 10)
    >>> with dst.map() as m: m.write(b"...")            # VRAM through BAR1
    >>> ch = dev.channel("ce0", vm); ch.copy(b, a, 1 << 20).wait()
    >>> dev.close()                                       # channel, bindings, buffers, space: all released
"""

from __future__ import annotations

import collections
import enum
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from errno import ENODEV, ENOENT
from typing import TYPE_CHECKING, Any, Protocol

from ..engines.vaspace import page_for
from ..errors import ApiError, Busy, ChannelError, MmError, NotAllowed, NovaError, OutOfMemory
from ..gsp.fw import Event as GspEvent
from ..gsp.fw import RcTriggered
from ..mm.pte import DEFAULT_FLAGS, PAGE_2M, PAGE_4K, PteFlags
from ..mm.vmm import Segment, sys_segments, vram_segments
from .channel import Channel, Fence, _Chan
from .memory import (
    MAX_BUFFER,
    USER_VA_START,
    BufferObject,
    CpuMapping,
    Placement,
    VaBinding,
    VaSpace,
    _Bo,
    _CpuMap,
    _pow2,
    _round,
    _Space,
    _split,
)
from .revocable import Revocable, Scope

if TYPE_CHECKING:
    from ..engines.fifo import EngineInfo, Fifo
    from ..gsp.boot import GspDevice
    from ..gsp.rpc import EventMessage

__all__ = [  # the channel and memory types are re-exported: the whole base API is importable from here
    "RM_CONTROL_ALLOWLIST",
    "BufferObject",
    "Channel",
    "CpuMapping",
    "Device",
    "DeviceInfo",
    "Event",
    "EventKind",
    "Fence",
    "Placement",
    "RmControlRule",
    "VaBinding",
    "VaSpace",
    "allow_rm_control",
]

# -- what the device is ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """What a second-level driver learns about the GPU (all read at boot; nothing here touches the GPU)."""

    name: str  #: ``sim:ad102`` or the PCI address
    chipset: str  #: ``AD102``
    chipset_id: int  #: its BOOT_42 chip id (``0x192``)
    architecture: str  #: ``Ada``
    revision: str
    gpu_name: str  #: GSP-RM's board name (static info)
    uuid: str | None  #: ``GPU-...`` (static info gid)
    vram_bytes: int  #: FB size
    vram_bar_bytes: int  #: the VRAM BAR (PCI BAR1) size - Linux nova-drm's NOVA_GETPARAM_VRAM_BAR_SIZE
    firmware_version: str
    pci_vendor: int | None
    pci_device: int | None
    engines: tuple[str, ...]  #: ``("GR0", "CE0", ...)``; empty without channels
    gpfifo_class: int | None  #: the channel class (None without channels)
    copy_class: int | None  #: the copy-engine class
    page_sizes: tuple[int, ...]  #: GPU page sizes the MMU format offers, largest first

    def as_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


# -- events ----------------------------------------------------------------------------------------------------


class EventKind(enum.StrEnum):
    """What :meth:`Device.subscribe` delivers."""

    CHANNEL_ERROR = "channel-error"  #: GSP-RM's RC_TRIGGERED for one of this handle's channels
    NONSTALL = "nonstall"  #: a non-stall interrupt (a copy completed) on an engine this handle runs channels on
    REVOKED = "revoked"  #: this handle was revoked (the last event it delivers)


@dataclass(frozen=True)
class Event:
    """One event: its kind and what it carries (``chid``/``rc``/``reason`` for errors, ``runlist``/``engine``
    for non-stall interrupts, ``reason`` for revocation)."""

    kind: EventKind
    detail: dict[str, Any] = field(default_factory=dict)


# -- RM control passthrough ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RmControlRule:
    """An RM control a second-level driver may send, on which objects, and why that is safe."""

    name: str  #: the command's name in NVIDIA's headers (resolved through the firmware's bindings)
    targets: frozenset[str]  #: "client", "device", "subdevice"
    why: str


#: the controls :meth:`Device.rm_control` passes through; everything else is refused with EPERM. Controls that
#: change state the driver core keeps (channel binding and scheduling, BAR PDEs, ...) are not here: a
#: second-level driver asks the base API for channels instead. Another layer adds its own with
#: :func:`allow_rm_control`.
RM_CONTROL_ALLOWLIST: dict[str, RmControlRule] = {}
_allow_lock = threading.Lock()


def allow_rm_control(name: str, targets: Sequence[str], why: str) -> RmControlRule:
    """Let second-level drivers send RM control ``name`` on ``targets`` (a layer above the base API declares what
    it needs here, with the reason)."""
    bad = set(targets) - {"client", "device", "subdevice"}
    if bad or not targets:
        raise ApiError(f"RM control {name}: targets {sorted(targets)}: each one of client, device, subdevice")
    rule = RmControlRule(name, frozenset(targets), why)
    with _allow_lock:
        RM_CONTROL_ALLOWLIST[name] = rule
    return rule


allow_rm_control("NV0000_CTRL_CMD_NULL", ("client", "device", "subdevice"), "does nothing: a liveness check")
allow_rm_control("NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE", ("subdevice",), "read-only: engines and runlists")
allow_rm_control("NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE", ("subdevice",),
                 "read-only: the CE fault method-buffer size")

RM_CONTROL_MAX_PARAMS = 0x10000  #: the largest params block passed through (more is refused, never sent)


# -- the device -----------------------------------------------------------------------------------------------------


class _CoreLike(Protocol):
    """What a Device needs of its NovaCore."""

    @property
    def gpu(self) -> GspDevice: ...

    @property
    def name(self) -> str: ...


class Device:
    """One consumer's handle on a booted GPU (see the module docstring). Get one from
    :meth:`NovaCore.device <nova_core.api.core.NovaCore.device>` or, in a driver, :attr:`AuxDevice.device
    <nova_core.api.aux.AuxDevice.device>`."""

    def __init__(self, core: _CoreLike, owner: str) -> None:
        self.core = core
        self.owner = owner
        self.name = core.name
        self._gpu = Revocable(core.gpu, f"base-API device of {owner} on {core.name}")
        self._scope = Scope(f"{owner} on {core.name}")
        self._lock = threading.RLock()
        self._subs: list[tuple[EventKind | None, Callable[[Event], None]]] = []
        self._unhook: list[Callable[[], None]] = []
        self._chids: set[int] = set()
        self._runlists: collections.Counter[int] = collections.Counter()  # runlists its channels are on
        self._counter = 0
        self._info: DeviceInfo | None = None
        self.revoke_problems: list[NovaError] = []  #: what releasing its resources raised at revocation

    def __repr__(self) -> str:
        state = f"revoked ({self._gpu.reason})" if self._gpu.revoked else f"{len(self._scope.live())} resource(s)"
        return f"<Device {self.name} for {self.owner}: {state}>"

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def revoked(self) -> bool:
        return self._gpu.revoked

    def _name(self, what: str, name: str) -> str:
        with self._lock:
            self._counter += 1
            return name or f"{what}{self._counter}"

    def _fifo(self, gpu: GspDevice) -> Fifo:
        if gpu.fifo is None or gpu.closed:
            raise ApiError(f"{self.name}: no channels on this GPU (no instance memory / BAR2, or it stopped early)",
                           errno=ENODEV)
        return gpu.fifo

    # -- information ------------------------------------------------------------------------------------------

    def info(self) -> DeviceInfo:
        """What the GPU is (see :class:`DeviceInfo`; read at boot, so taken once)."""
        with self._gpu.access() as gpu:
            if self._info is not None:
                return self._info
            st, spec, bars = gpu.static, gpu.spec, gpu.bars
            if st is None or spec is None or bars is None:
                raise ApiError(f"{self.name}: the boot did not get as far as the driver's memory")
            fifo = gpu.fifo
            gid = gpu.info()["static_info"]["uuid"]
            self._info = DeviceInfo(
                name=gpu.name, chipset=spec.chipset.name, chipset_id=int(spec.chipset),
                architecture=spec.architecture.family, revision=str(spec.revision), gpu_name=st.gpu_name, uuid=gid,
                vram_bytes=int(gpu.vram_size or 0),
                vram_bar_bytes=bars.bar1.va_end, firmware_version="" if gpu.firmware is None else gpu.firmware.version,
                pci_vendor=gpu.dev.pci_vendor, pci_device=gpu.dev.pci_device,
                engines=() if fifo is None else tuple(e.name for e in fifo.engines),
                gpfifo_class=None if fifo is None else fifo.classes.gpfifo,
                copy_class=None if fifo is None else fifo.classes.copy,
                page_sizes=tuple(1 << p for p in bars.bar1.fmt.page_shifts))
            return self._info

    def engines(self) -> list[EngineInfo]:
        """The engines channels can run on (GSP-RM's device info table)."""
        with self._gpu.access() as gpu:
            return list(self._fifo(gpu).engines)

    # -- memory ---------------------------------------------------------------------------------------------------

    def alloc(self, size: int, *, placement: Placement | str = Placement.VRAM, align: int | None = None,
              name: str = "") -> BufferObject:
        """A buffer object of ``size`` bytes (rounded up to 4 KiB), aligned to ``align`` (a power of two, at least
        4 KiB; default: the largest GPU page not above the size - 4 KiB, 64 KiB or 2 MiB - so that it can be bound
        with that page). VRAM is not cleared (it holds what its last user left, as on hardware; :meth:`BufferObject.
        clear`); system memory is zeroed.

        Raises:
            ApiError: a size of 0 or above :data:`MAX_BUFFER`, a bad alignment or placement (EINVAL).
            OutOfMemory: no block of VRAM / system memory fits (ENOMEM).
        """
        if not isinstance(size, int) or not 0 < size <= MAX_BUFFER:
            raise ApiError(f"buffer size {size!r}: 1 byte to {MAX_BUFFER:#x}")
        if align is None:
            align = page_for(size) if isinstance(size, int) else PAGE_4K
        if not _pow2(align) or align < PAGE_4K or align > MAX_BUFFER:
            raise ApiError(f"buffer alignment {align!r}: a power of two from 4 KiB")
        try:
            where = Placement(placement)
        except ValueError:
            raise ApiError(f"placement {placement!r}: one of {', '.join(p.value for p in Placement)}") from None
        n = _round(size, PAGE_4K)
        label = self._name("bo", name)
        with self._gpu.access() as gpu:
            if gpu.bars is None:
                raise ApiError(f"{self.name}: no VRAM allocator (the boot stopped early)", errno=ENODEV)
            if where is Placement.VRAM:
                allocator = gpu.bars.allocator
                try:
                    bo = _Bo(n, align, where, allocator, phys=allocator.alloc(n, align=align,
                                                                              tag=f"{self.owner}: {label}"))
                except MmError as e:
                    raise OutOfMemory(f"VRAM for {label} ({n:#x} bytes, align {align:#x}): {e}") from None
            else:
                dma = gpu.dev.dma
                try:
                    bo = _Bo(n, align, where, dma, dma=dma.alloc(n, align=align, name=f"{self.owner}: {label}"))
                except NovaError as e:
                    raise OutOfMemory(f"system memory for {label} ({n:#x} bytes): {e}") from None
        r = self._scope.add(Revocable(bo, f"buffer object {label} of {self.owner}", _Bo.free))
        return BufferObject(self, r, label)

    def _map_cpu(self, bo: BufferObject, b: _Bo, start: int, span: int) -> CpuMapping:
        """Map ``[start, start + span)`` of ``bo`` (whole pages) for the CPU."""
        with self._gpu.access() as gpu:
            if b.dma is not None:
                m = _CpuMap(b, "sysmem", start, span)
            elif gpu.dev.bar1 is not None and gpu.bars is not None:
                vmm = gpu.bars.bar1
                va = None
                assert b.phys is not None
                phys = b.phys + start
                try:  # aligned like the memory, so that the largest pages map it
                    va = vmm.valloc(span, align=min(phys & -phys, PAGE_2M) if phys else PAGE_2M)
                    vmm.map_vram(va, phys, span)
                except MmError as e:
                    if va is not None:
                        vmm.vfree(va)
                    raise OutOfMemory(f"BAR1 space for [{start:#x}, +{span:#x}) of {bo!r}: {e}") from None
                m = _CpuMap(b, "bar1", start, span, bar=gpu.dev.bar1, bar1=vmm, bar1_va=va)
            else:
                m = _CpuMap(b, "bar2", start, span, window=self._fifo(gpu).vram_window())
            b.mappings += 1
        r = self._scope.add(Revocable(m, f"CPU mapping of {bo.name} ({m.via})", lambda x: x.undo()))
        return CpuMapping(bo, r)

    # -- VA spaces ----------------------------------------------------------------------------------------------

    def vaspace(self, name: str = "") -> VaSpace:
        """A new GPU address space (FERMI_VASPACE_A + the driver's page tables)."""
        label = self._name("vm", name)
        with self._gpu.access() as gpu:
            fifo = self._fifo(gpu)
            try:
                space = fifo.address_space(f"{self.owner}: {label}")
            except MmError as e:
                raise OutOfMemory(f"VA space {label}: {e}") from None
            # the driver's own allocations (channel rings) stay below USER_VA_START
            space.vmm.va_allocator.reserve(USER_VA_START, space.vmm.va_end - USER_VA_START, tag="binds")
        s = _Space(space)

        def release(x: _Space) -> None:
            for b in list(x.binds.values()):
                self._unmap(x, b)
            x.binds.clear()
            x.space.vmm.va_allocator.free(USER_VA_START)
            x.space.close()

        r = self._scope.add(Revocable(s, f"VA space {label} of {self.owner}", release))
        return VaSpace(self, r, label)

    def _bind(self, vs: VaSpace, bo: BufferObject, va: int | None, offset: int, size: int | None,
              page_size: int | None, read_only: bool) -> VaBinding:
        if not isinstance(offset, int) or offset < 0 or offset >= bo.size:
            raise ApiError(f"bind of {bo!r}: offset {offset!r} outside the buffer")
        n = bo.size - offset if size is None else size
        if not isinstance(n, int) or n <= 0 or offset + n > bo.size:
            raise ApiError(f"bind of {bo!r}: [{offset:#x}, +{n!r}) is not inside its {bo.size:#x} bytes")
        if page_size is not None and page_size not in vs.page_sizes:
            raise ApiError(f"page size {page_size!r}: this MMU maps {', '.join(f'{p:#x}' for p in vs.page_sizes)}")
        with vs._r.access() as s, bo._r.access() as b:
            if bo.device is not self:
                raise ApiError(f"{bo!r} belongs to another device handle ({bo.device.owner})")
            base = bo.addr + offset
            if page_size is None:
                page_size = next(p for p in vs.page_sizes
                                 if p == PAGE_4K or not (base | n | (va or 0)) & (p - 1))
            for what, v in (("GPU VA", va), ("offset", offset), ("size", n), ("buffer address", bo.addr)):
                if v is not None and v % page_size:
                    raise ApiError(f"bind of {bo!r}: {what} {v:#x} is not a multiple of the page size "
                                   f"{page_size:#x}")
            with s.lock:
                va = self._take_va(vs, s, va, n, page_size)
                self._map(s, b, va, base, n, page_size, read_only)
                binding = VaBinding(vs, bo, va, n, offset, page_size, read_only)
                s.binds[va] = binding
                b.bindings += 1
            return binding

    def _take_va(self, vs: VaSpace, s: _Space, va: int | None, n: int, page: int) -> int:
        """Where a bind of ``n`` bytes goes (space lock held). The binds range is one block of the space's VA
        allocator, reserved when the space was made; the bindings inside it are tracked here."""
        if va is None:
            cand = _round(max(vs.start, max((b.end for b in s.binds.values()), default=vs.start)), page)
            if cand + n > vs.end:
                raise OutOfMemory(f"{vs!r}: no {n:#x} bytes of VA left above {cand:#x}")
            va = cand
        if not isinstance(va, int) or va < vs.start or va + n > vs.end:
            raise ApiError(f"bind at {va!r}: GPU VAs for binds are [{vs.start:#x}, {vs.end:#x})")
        for b in s.binds.values():
            if b.va < va + n and va < b.end:
                raise Busy(f"bind [{va:#x}, {va + n:#x}) overlaps {b!r} in {vs.name}")
        return va

    def _map(self, s: _Space, b: _Bo, va: int, base: int, n: int, page: int, read_only: bool) -> None:
        flags = PteFlags(read_only=True) if read_only else DEFAULT_FLAGS
        if b.phys is not None:
            whole = vram_segments(base, n)
        else:
            assert b.dma is not None
            whole = [Segment(x.aperture, x.addr + (base - b.dma.bus_addr), n) for x in sys_segments(b.dma)[:1]]
        try:
            s.vmm.map(va, _split(whole, page, 1 << max(s.vmm.fmt.page_shifts)), flags)
        except MmError as e:
            raise OutOfMemory(f"bind at {va:#x}: {e}") from None

    def _unbind(self, vs: VaSpace, va: int) -> None:
        with vs._r.access() as s, s.lock:
            binding = s.binds.get(va)
            if binding is None:
                raise ApiError(f"{vs!r}: no binding starts at {va!r}", errno=ENOENT)
            self._unmap(s, binding)
            del s.binds[va]

    def _unmap(self, s: _Space, binding: VaBinding) -> None:
        s.vmm.unmap(binding.va, binding.size)
        bo = binding.bo._r.try_access()
        if bo is not None:
            bo.bindings -= 1

    # -- channels ----------------------------------------------------------------------------------------------

    def channel(self, engine: str = "ce0", vaspace: VaSpace | None = None) -> Channel:
        """A channel on ``engine`` (``"ce0"``, ``"gr0"``, ...), running in ``vaspace`` (None: a space of its own,
        freed with it)."""
        with self._gpu.access() as gpu:
            fifo = self._fifo(gpu)
            try:
                info = fifo.engine(engine)
            except ChannelError as e:
                raise ApiError(str(e)) from None
            if vaspace is None:
                ch = fifo.open(info)
                space = None
            else:
                with vaspace._r.access() as space:
                    ch = fifo.open(info, vaspace=space.space)
                    space.channels += 1
            if info.is_copy:
                try:
                    ch.copy_engine()  # the copy class under the channel: a pushbuffer may bind it with SET_OBJECT
                except BaseException:
                    ch.close()
                    if space is not None:
                        space.channels -= 1
                    raise
        with self._lock:
            self._chids.add(ch.chid)
            self._runlists[info.runlist] += 1

        def release(c: _Chan) -> None:
            with self._lock:
                self._chids.discard(c.ch.chid)
                self._runlists[c.ch.engine.runlist] -= 1
                if not self._runlists[c.ch.engine.runlist]:
                    del self._runlists[c.ch.engine.runlist]
            try:
                c.ch.close()
            finally:
                if c.space is not None:
                    c.space.channels -= 1

        r = self._scope.add(Revocable(_Chan(ch, space), f"channel {ch.chid} ({info.name}) of {self.owner}", release))
        return Channel(self, r, vaspace)

    # -- RM control ---------------------------------------------------------------------------------------------

    def rm_control(self, cmd: int | str, params: bytes = b"", *, target: str = "subdevice") -> bytes:
        """Send RM control ``cmd`` (a number or its name) on the driver's ``target`` object ("client", "device",
        "subdevice"); returns the params as GSP-RM left them.

        Raises:
            NotAllowed: the control is not in :data:`RM_CONTROL_ALLOWLIST` for that target (EPERM; nothing sent).
            ApiError: params larger than :data:`RM_CONTROL_MAX_PARAMS`, an unknown target (EINVAL).
            RpcFailure: GSP-RM refused it (its status named).
        """
        if target not in ("client", "device", "subdevice"):
            raise ApiError(f"RM control target {target!r}: client, device or subdevice")
        if not isinstance(params, (bytes, bytearray)) or len(params) > RM_CONTROL_MAX_PARAMS:
            raise ApiError(f"RM control params: bytes, at most {RM_CONTROL_MAX_PARAMS:#x} of them")
        with self._gpu.access() as gpu:
            if gpu.abi is None or gpu.client is None or gpu.client.freed:
                raise ApiError(f"{self.name}: GSP-RM is not running", errno=ENODEV)
            m = gpu.abi.module
            names = {int(getattr(m, n)): n for n in RM_CONTROL_ALLOWLIST if hasattr(m, n)}
            number = int(getattr(m, cmd, -1)) if isinstance(cmd, str) else cmd
            rule = RM_CONTROL_ALLOWLIST.get(names.get(number, ""))
            if rule is None or target not in rule.targets:
                shown = f"{cmd:#x}" if isinstance(cmd, int) else repr(cmd)
                raise NotAllowed(f"RM control {shown} on the {target}: not in the base API's allowlist "
                                 f"({', '.join(sorted(RM_CONTROL_ALLOWLIST))})")
            obj = {"client": gpu.client, "device": gpu.device, "subdevice": gpu.subdevice}[target]
            if obj is None:
                raise ApiError(f"{self.name}: no {target} object", errno=ENODEV)
            return obj.control(number, bytes(params))

    # -- events -------------------------------------------------------------------------------------------------

    def subscribe(self, kind: EventKind | str | None, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of ``kind`` (None: all); returns the function that stops it.
        Callbacks run in the thread that noticed the event (the one draining GSP-RM's messages or delivering the
        interrupt) and must not block."""
        k = None if kind is None else EventKind(kind)
        with self._gpu.access() as gpu, self._lock:
            entry = (k, callback)
            self._subs.append(entry)
            if not self._unhook:
                self._hook(gpu)

        def stop() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return stop

    def _hook(self, gpu: GspDevice) -> None:
        fifo = gpu.fifo
        if gpu.rpc is not None:
            self._unhook.append(gpu.rpc.on_event(GspEvent.RC_TRIGGERED, self._on_rc))
        if fifo is not None:
            self._unhook.append(fifo.nonstall.on_notify(self._on_nonstall))

    def _emit(self, ev: Event) -> None:
        with self._lock:
            subs = [cb for k, cb in self._subs if k is None or k is ev.kind]
        for cb in subs:
            cb(ev)

    def _on_rc(self, msg: EventMessage) -> None:
        body = msg.body()
        if isinstance(body, RcTriggered) and body.chid in self._chids:  # only this handle's channels
            self._emit(Event(EventKind.CHANNEL_ERROR, {"chid": body.chid, "rc": body.except_type}))

    def _on_nonstall(self, runlist: int, engine: int) -> None:
        if runlist not in self._runlists:  # another handle's engine
            return
        self._emit(Event(EventKind.NONSTALL, {"runlist": runlist, "engine": engine}))

    # -- lifetime -------------------------------------------------------------------------------------------------

    def _drop(self, r: Revocable[Any], how: str) -> None:
        """Release one resource now (its owner freed it)."""
        if r.revoke(how):
            self._scope.discard(r)
            if r.release_error is not None:
                raise r.release_error

    def resources(self) -> list[str]:
        """What this handle holds now, newest last."""
        return [r.what for r in self._scope.live()]

    def revoke(self, reason: str) -> list[NovaError]:
        """Release everything handed out, newest first, and refuse every later use (idempotent); returns what the
        releases raised (also in :attr:`revoke_problems`). Called by the bus at unbind and by the core at
        shutdown."""
        problems = self._scope.revoke(reason)
        self.revoke_problems.extend(problems)
        first = not self._gpu.revoked
        self._gpu.revoke(reason)
        if first:
            self._emit(Event(EventKind.REVOKED, {"reason": reason}))
        with self._lock:
            unhook, self._unhook, self._subs = self._unhook, [], []
        for u in unhook:
            u()
        return problems

    def close(self) -> None:
        """Release everything (the owner's own :meth:`revoke`)."""
        self.revoke(f"{self.owner} closed its device handle")


