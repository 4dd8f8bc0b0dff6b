"""nova_drm.file: :class:`File` - one client of nova-drm (an open render node), and its uAPI.

Every method is an ioctl: it checks its arguments, does the work through the base API
(:mod:`nova_core.api.device`) and either returns or raises :class:`~nova_drm.errors.DrmError` with the errno the
kernel would return. Handles (GEM objects, channels, syncobjs) are per client, numbered from 1 as the DRM
core's IDRs do; a handle of another client is simply not found here (ENOENT) - one client can never name
another's objects.

==================  ===========================================================================================
call                what (errno on failure)
==================  ===========================================================================================
``getparam``        NOVA_GETPARAM_VRAM_BAR_SIZE (nova_drm.h) and the extension parameters of :mod:`.uapi` (EINVAL)
``gem_create``      a GEM object of ``size`` bytes, rounded up to 4 KiB as nova-drm does (``NovaObject::new``);
                    zero-filled; VRAM or system memory (EINVAL size 0 or too large; ENOMEM)
``gem_info``        its size (ENOENT)
``gem_close``       drop the handle; the memory goes when no VM binding uses it either (ENOENT, twice as well)
``gem_pread/pwrite``CPU access (VRAM through BAR1), like i915's PREAD/PWRITE (ENOENT, EINVAL out of range)
``vm_bind``         map ``[offset, offset + size)`` of a GEM object at a GPU VA of the client's VM, with a page size
                    (EINVAL misaligned / outside the VA range / bad page size; EEXIST overlap; ENOENT; ENOMEM)
``vm_unbind``       unmap the binding starting at a VA (ENOENT)
``channel_create``  a channel in the client's VM on an engine (default the first copy engine); ``channel_destroy``
``syncobj_create``  a syncobj (DRM core); ``syncobj_destroy``
``exec``            wait for the in-syncobjs, then one GPFIFO submission of the client's pushbuffers ``(VA,
                    bytes)`` - the GPU fetches them from the client's memory - ending with the channel's fence,
                    which the out-syncobjs then hold (ENOENT, EINVAL, ENODEV for a channel the GPU stopped)
``syncobj_wait``    wait for all (or any) of some syncobjs' fences (ETIME; EINVAL for a syncobj without a fence;
                    EIO if the GPU stopped the channel)
``ioctl``           the byte-level path for the upstream ioctls (GETPARAM, GEM_CREATE, GEM_INFO, GEM_CLOSE)
==================  ===========================================================================================

After the driver is removed every call raises ENODEV; nothing reaches the GPU.
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from nova_core.api import BufferObject, Channel, Device, Fence
from nova_core.errors import ChannelFault, NovaError, PollTimeout, Revoked

from . import uapi
from .errors import DrmError, ioctl

if TYPE_CHECKING:
    from .driver import NovaDrm

T = TypeVar("T")

MAX_GEM_SIZE = 1 << 40  #: the largest GEM object (more is EINVAL, as a size that overflows)
U32 = 0xFFFFFFFF


class Gem:
    """A GEM object: its buffer and who references it (the handle, VM bindings)."""

    def __init__(self, bo: BufferObject) -> None:
        self.bo = bo
        self.size = bo.size
        self.open = True  #: its handle is still open
        self.bindings = 0


class Syncobj:
    """A DRM syncobj: the fence it holds now (None: none yet)."""

    def __init__(self) -> None:
        self.fence: Fence | None = None


class File:
    """A client of nova-drm (see the module docstring); make with ``dev.open()``."""

    def __init__(self, drm: NovaDrm) -> None:
        self.drm = drm
        self._lock = threading.RLock()
        self._gem: dict[int, Gem] = {}
        self._chan: dict[int, Channel] = {}
        self._sync: dict[int, Syncobj] = {}
        self._binds: dict[int, Gem] = {}  # GPU VA of a binding -> its object (which may have no handle any more)
        self._next = {"gem": 1, "chan": 1, "sync": 1}
        self.closed = False
        self.close_problems: list[str] = []  #: what close() could not release (nothing, normally)
        with drm.enter("open") as dev, ioctl("open"):
            self.vm = dev.vaspace(f"file {id(self):x}")

    def __repr__(self) -> str:
        return (f"<nova_drm.File on {self.drm.name}: {len(self._gem)} GEM, {len(self._chan)} channel(s), "
                f"{len(self._sync)} syncobj(s){' closed' if self.closed else ''}>")

    def __enter__(self) -> File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _live(self, call: str) -> None:
        """What every call checks first, as the ioctl entry does: a closed file (EBADF), a removed device
        (ENODEV, before any handle is looked up)."""
        if self.closed:
            raise DrmError(errno.EBADF, call, "the file is closed")
        if self.drm.unplugged:
            raise DrmError(errno.ENODEV, call, f"{self.drm.name} was removed")

    def _call(self, call: str, fn: Callable[[Device], T]) -> T:
        self._live(call)
        with self.drm.enter(call) as dev, ioctl(call):
            return fn(dev)

    def _new(self, kind: str, table: dict[int, T], obj: T, call: str) -> int:
        with self._lock:
            h = self._next[kind]
            if h > U32:
                raise DrmError(errno.ENOSPC, call, f"no {kind} handles left")
            self._next[kind] = h + 1
            table[h] = obj
            return h

    def _handle(self, h: object, call: str) -> int:
        self._live(call)
        if not isinstance(h, int) or isinstance(h, bool) or not 0 <= h <= U32:
            raise DrmError(errno.EINVAL, call, f"handle {h!r} is not a 32-bit unsigned integer")
        return h

    def _lookup(self, table: dict[int, T], h: object, call: str, what: str) -> T:
        h = self._handle(h, call)
        with self._lock:
            obj = table.get(h)
        if obj is None:
            raise DrmError(errno.ENOENT, call, f"no {what} with handle {h} in this file")
        return obj

    # -- GETPARAM ------------------------------------------------------------------------------------------------

    def getparam(self, param: int) -> int:
        """The value of ``param`` (``nova_drm.GETPARAM_VRAM_BAR_SIZE`` or an extension id of :mod:`nova_drm.uapi`)."""
        info = self.drm.info

        def run(dev: Device) -> int:
            values = {
                uapi.GETPARAM_VRAM_BAR_SIZE: info.vram_bar_bytes,
                uapi.GETPARAM_VRAM_SIZE: info.vram_bytes,
                uapi.GETPARAM_VA_START: self.vm.start,
                uapi.GETPARAM_VA_END: self.vm.end,
                uapi.GETPARAM_PAGE_SIZES: sum(info.page_sizes),
                uapi.GETPARAM_COPY_CLASS: info.copy_class,
                uapi.GETPARAM_GPFIFO_CLASS: info.gpfifo_class,
                uapi.GETPARAM_CHIPSET: info.chipset_id,
            }
            value = values.get(param) if isinstance(param, int) else None
            if value is None:
                raise DrmError(errno.EINVAL, "getparam", f"unknown parameter {param!r}")
            return value

        return self._call("getparam", run)

    # -- GEM -------------------------------------------------------------------------------------------------------

    def gem_create(self, size: int, *, placement: str = "vram") -> int:
        """A new zero-filled GEM object of ``size`` bytes (rounded up to 4 KiB); returns its handle."""
        self._live("gem_create")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_GEM_SIZE:
            raise DrmError(errno.EINVAL, "gem_create", f"size {size!r}: 1 to {MAX_GEM_SIZE:#x} bytes")
        if placement not in ("vram", "sysmem"):
            raise DrmError(errno.EINVAL, "gem_create", f"placement {placement!r}: vram or sysmem")

        def run(dev: Device) -> int:
            bo = dev.alloc(size, placement=placement, name="gem")
            try:
                bo.clear()
            except BaseException:
                bo.free()
                raise
            return self._new("gem", self._gem, Gem(bo), "gem_create")

        return self._call("gem_create", run)

    def gem_info(self, handle: int) -> int:
        """The size of GEM object ``handle``."""
        gem = self._lookup(self._gem, handle, "gem_info", "GEM object")
        return self._call("gem_info", lambda dev: gem.size)

    def gem_close(self, handle: int) -> None:
        """Close ``handle``; the object is freed once no VM binding uses it."""
        h = self._handle(handle, "gem_close")

        def run(dev: Device) -> None:
            with self._lock:
                gem = self._gem.pop(h, None)
            if gem is None:
                raise DrmError(errno.ENOENT, "gem_close", f"no GEM object with handle {h} in this file")
            gem.open = False
            self._maybe_free(gem)

        self._call("gem_close", run)

    def _maybe_free(self, gem: Gem) -> None:
        if not gem.open and not gem.bindings:
            gem.bo.free()

    def gem_pwrite(self, handle: int, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``offset`` of the object (VRAM through BAR1)."""
        gem = self._lookup(self._gem, handle, "gem_pwrite", "GEM object")
        n = memoryview(data).nbytes
        self._range(gem, offset, n, "gem_pwrite")
        self._call("gem_pwrite", lambda dev: gem.bo.write(data, offset))

    def gem_pread(self, handle: int, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` of the object."""
        gem = self._lookup(self._gem, handle, "gem_pread", "GEM object")
        self._range(gem, offset, length, "gem_pread")
        return self._call("gem_pread", lambda dev: gem.bo.read(offset, length))

    @staticmethod
    def _range(gem: Gem, offset: object, length: object, call: str) -> None:
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0 or \
                offset + length > gem.size:
            raise DrmError(errno.EINVAL, call, f"[{offset!r}, +{length!r}) is outside the object's {gem.size:#x} "
                                               f"bytes")

    # -- VM ----------------------------------------------------------------------------------------------------------

    def vm_bind(self, handle: int, va: int, *, offset: int = 0, size: int | None = None,
                page_size: int | None = None, read_only: bool = False) -> None:
        """Map ``size`` bytes (default: the rest) from ``offset`` of GEM object ``handle`` at GPU VA ``va`` of this
        client's VM, with ``page_size`` pages (default: the largest the alignment allows)."""
        gem = self._lookup(self._gem, handle, "vm_bind", "GEM object")
        if not isinstance(va, int) or isinstance(va, bool):
            raise DrmError(errno.EINVAL, "vm_bind", f"GPU VA {va!r} is not an integer")

        def run(dev: Device) -> None:
            try:
                self.vm.bind(gem.bo, va, offset=offset, size=size, page_size=page_size, read_only=read_only)
            except NovaError as e:
                if getattr(e, "errno", None) == errno.EBUSY:  # an overlap: nouveau's uvmm says EEXIST
                    raise DrmError(errno.EEXIST, "vm_bind", str(e)) from None
                raise
            with self._lock:
                gem.bindings += 1
                self._binds[va] = gem

        self._call("vm_bind", run)

    def vm_unbind(self, va: int) -> None:
        """Unmap the binding that starts at ``va``."""

        def run(dev: Device) -> None:
            with self._lock:
                gem = self._binds.pop(va, None) if isinstance(va, int) else None
            if gem is None:
                raise DrmError(errno.ENOENT, "vm_unbind", f"no binding starts at GPU VA {va!r}")
            try:
                self.vm.unbind(va)
            except BaseException:
                with self._lock:
                    self._binds[va] = gem
                raise
            with self._lock:
                gem.bindings -= 1
            self._maybe_free(gem)

        self._call("vm_unbind", run)

    def vm_bindings(self) -> list[tuple[int, int]]:
        """``(va, size)`` of every binding of this client's VM."""
        return self._call("vm_bindings", lambda dev: [(b.va, b.size) for b in self.vm.bindings()])

    # -- channels and exec -------------------------------------------------------------------------------------------

    def channel_create(self, engine: str | None = None) -> int:
        """A channel on ``engine`` (default: the first copy engine) in this client's VM; returns its id. On a copy
        engine the copy class is bound to subchannel :data:`~nova_drm.uapi.COPY_SUBCHANNEL` by SET_OBJECT in the
        client's first pushbuffer (the class: ``getparam(GETPARAM_COPY_CLASS)``)."""

        def run(dev: Device) -> int:
            name = engine or next((e for e in self.drm.info.engines if e.startswith("CE")), "ce0")
            ch = dev.channel(name, self.vm)
            return self._new("chan", self._chan, ch, "channel_create")

        return self._call("channel_create", run)

    def channel_destroy(self, channel: int) -> None:
        ch = self._lookup(self._chan, channel, "channel_destroy", "channel")

        def run(dev: Device) -> None:
            with self._lock:
                if self._chan.get(channel) is not ch:
                    raise DrmError(errno.ENOENT, "channel_destroy", f"no channel {channel}")
                del self._chan[channel]
            ch.close()

        self._call("channel_destroy", run)

    def syncobj_create(self) -> int:
        """A new syncobj without a fence."""
        return self._call("syncobj_create", lambda dev: self._new("sync", self._sync, Syncobj(), "syncobj_create"))

    def syncobj_destroy(self, handle: int) -> None:
        h = self._handle(handle, "syncobj_destroy")
        with self._lock:
            gone = self._sync.pop(h, None)
        if gone is None:
            raise DrmError(errno.ENOENT, "syncobj_destroy", f"no syncobj with handle {h} in this file")

    def exec(self, channel: int, push: Sequence[tuple[int, int]], *, wait: Sequence[int] = (),
             signal: Sequence[int] = ()) -> None:
        """Submit the client's pushbuffers ``push`` - ``(GPU VA, bytes)`` in its VM - on ``channel`` once the fences
        of the ``wait`` syncobjs have signalled; the ``signal`` syncobjs then hold the submission's fence."""
        ch = self._lookup(self._chan, channel, "exec", "channel")
        if not isinstance(push, Sequence) or not 0 < len(push) <= uapi.EXEC_MAX_PUSH:
            raise DrmError(errno.EINVAL, "exec", f"1..{uapi.EXEC_MAX_PUSH} pushbuffer segments")
        for seg in push:
            if not (isinstance(seg, tuple) and len(seg) == 2 and all(isinstance(x, int) for x in seg)):
                raise DrmError(errno.EINVAL, "exec", f"pushbuffer segment {seg!r} is not (GPU VA, bytes)")
        if len(wait) > uapi.MAX_SYNCS or len(signal) > uapi.MAX_SYNCS:
            raise DrmError(errno.EINVAL, "exec", f"at most {uapi.MAX_SYNCS} syncobjs each to wait for and signal")
        ins = [self._lookup(self._sync, h, "exec", "syncobj") for h in wait]
        outs = [self._lookup(self._sync, h, "exec", "syncobj") for h in signal]
        for s in ins:
            if s.fence is None:
                raise DrmError(errno.EINVAL, "exec", "an in-syncobj has no fence (nothing submitted signals it)")

        def run(dev: Device) -> None:
            for s in ins:  # the scheduler's dependencies: waited for on the CPU before the job reaches the ring
                assert s.fence is not None
                s.fence.wait()
            try:
                fence = ch.submit_entries(list(push))
            except ChannelFault as e:
                raise DrmError(errno.ENODEV, "exec", f"the GPU stopped channel {channel}: {e}") from None
            for s in outs:
                s.fence = fence

        self._call("exec", run)

    def syncobj_wait(self, handles: Sequence[int], *, timeout_ns: int, wait_all: bool = True) -> int:
        """Wait until all (``wait_all``) or any of the syncobjs' fences signal, at most ``timeout_ns`` of device
        time; returns the index of the first signalled one (DRM's ``first_signaled``)."""
        self._live("syncobj_wait")
        if not isinstance(handles, Sequence) or not 0 < len(handles) <= uapi.MAX_SYNCS:
            raise DrmError(errno.EINVAL, "syncobj_wait", f"1..{uapi.MAX_SYNCS} syncobjs")
        if not isinstance(timeout_ns, int) or timeout_ns < 0:
            raise DrmError(errno.EINVAL, "syncobj_wait", f"timeout {timeout_ns!r}: nanoseconds, not negative")
        objs = [self._lookup(self._sync, h, "syncobj_wait", "syncobj") for h in handles]
        fences: list[Fence] = []
        for s in objs:
            if s.fence is None:
                raise DrmError(errno.EINVAL, "syncobj_wait", "a syncobj has no fence (DRM_SYNCOBJ_WAIT_FLAGS_WAIT_"
                                                              "FOR_SUBMIT is not offered)")
            fences.append(s.fence)

        def run(dev: Device) -> int:
            try:
                if wait_all:
                    for f in fences:
                        f.wait(timeout_ns)
                    return 0
                return _wait_any(fences, timeout_ns)
            except PollTimeout as e:
                raise DrmError(errno.ETIME, "syncobj_wait", str(e)) from None
            except ChannelFault as e:
                raise DrmError(errno.EIO, "syncobj_wait", f"the GPU stopped the channel: {e}") from None

        return self._call("syncobj_wait", run)

    # -- the byte-level ioctl path ------------------------------------------------------------------------------------

    def ioctl(self, request: int, arg: bytearray) -> int:
        """``ioctl(fd, request, arg)`` for the upstream requests (:mod:`.uapi`): ``arg`` is the struct's bytes, read
        and written in place; returns 0 (failures raise DrmError)."""
        self._live("ioctl")
        layouts = {uapi.DRM_IOCTL_NOVA_GETPARAM: uapi.GETPARAM_STRUCT, uapi.DRM_IOCTL_NOVA_GEM_CREATE:
                   uapi.GEM_CREATE_STRUCT, uapi.DRM_IOCTL_NOVA_GEM_INFO: uapi.GEM_INFO_STRUCT,
                   uapi.DRM_IOCTL_GEM_CLOSE: uapi.GEM_CLOSE_STRUCT}
        layout = layouts.get(request)
        if layout is None:
            raise DrmError(errno.ENOTTY, "ioctl", f"unknown request {request:#x}")
        if not isinstance(arg, bytearray) or len(arg) != layout.size:
            raise DrmError(errno.EFAULT, "ioctl", f"request {request:#x} takes a bytearray of {layout.size} bytes")
        if request == uapi.DRM_IOCTL_NOVA_GETPARAM:
            param, _ = layout.unpack(arg)
            layout.pack_into(arg, 0, param, self.getparam(param))
        elif request == uapi.DRM_IOCTL_NOVA_GEM_CREATE:
            _, pad, size = layout.unpack(arg)
            if pad:
                raise DrmError(errno.EINVAL, "gem_create", f"pad is {pad:#x}, not 0")
            layout.pack_into(arg, 0, self.gem_create(size), 0, size)
        elif request == uapi.DRM_IOCTL_NOVA_GEM_INFO:
            handle, pad, _ = layout.unpack(arg)
            layout.pack_into(arg, 0, handle, pad, self.gem_info(handle))
        else:
            handle, pad = layout.unpack(arg)
            if pad:
                raise DrmError(errno.EINVAL, "gem_close", f"pad is {pad:#x}, not 0")
            self.gem_close(handle)
        return 0

    # -- closing -------------------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file: its channels, bindings, objects and syncobjs go (idempotent; quiet after removal, when
        the bus released all of it already). What could not be released is kept in :attr:`close_problems`."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            chans, self._chan = list(self._chan.values()), {}
            gems, self._gem = list(self._gem.values()), {}
            self._sync = {}
        self.drm.forget(self)
        steps: list[Callable[[], None]] = [*(ch.close for ch in chans), self.vm_close,
                                           *(g.bo.free for g in gems if not g.bo.freed)]
        for step in steps:
            try:
                step()
            except Revoked:  # the device was removed: the bus released it
                pass
            except NovaError as e:
                self.close_problems.append(str(e))

    def vm_close(self) -> None:
        """Unbind everything and free the client's VM (part of :meth:`close`); an object whose handle was closed
        goes with its last binding."""
        with self._lock:
            binds, self._binds = list(self._binds.items()), {}
        for va, gem in binds:
            self.vm.unbind(va)
            gem.bindings -= 1
            self._maybe_free(gem)
        self.vm.close()


ANY_STEP = 10_000  #: syncobj_wait for any: device time spent waiting on one fence before looking at all again


def _wait_any(fences: Sequence[Fence], timeout_ns: int) -> int:
    """The index of the first fence to signal within ``timeout_ns`` of device time: look at all, then wait on one
    of them (in turn) for :data:`ANY_STEP`, until the timeout is spent."""
    spent = 0
    turn = 0
    while True:  # TIMEOUT: bounded by the caller's timeout_ns (each round spends ANY_STEP of it)
        for i, f in enumerate(fences):
            if f.done:
                return i
        if spent >= timeout_ns:
            raise PollTimeout(f"any of {len(fences)} syncobj fence(s)", timeout_ns)
        step = min(ANY_STEP, timeout_ns - spent)
        with contextlib.suppress(PollTimeout):
            fences[turn % len(fences)].wait(step)
        spent += step
        turn += 1
