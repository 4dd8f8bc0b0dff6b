"""nova_core.api.c.impl: the Python behind ``libnova.so`` - the ``_nova_py_*`` functions of the C API.

:func:`install` defines them on the library's cffi ``ffi`` (``@ffi.def_extern``); the C wrappers in
:mod:`nova_core.api.c.build` call them. Each one:

- finds its :class:`Session` by the handle (a ``nova_device *`` is a number, never a pointer to Python memory: a
  handle that was never given out, or one that was closed, is ``-EINVAL`` - nothing is dereferenced);
- runs the request on nova-core's API (:mod:`nova_core.api`, :mod:`nova_core.api.vgpu`);
- catches *every* exception (:func:`_guard`): ``ApiError`` gives its ``errno``, other failures the code of
  :data:`CODES` (-EIO when none fits); the message goes to ``nova_last_error()``. Nothing raises into C.

A session is a booted GPU (:class:`~nova_core.api.core.NovaCore`) with a base-API handle, the vGPU ops of the C
caller (FB, channel ids, GSP clients: released at ``nova_close`` if the caller did not) and, on a GPU that can
carry vGPUs, the bound vGPU manager. ``nova_open_sim`` boots the chip's vGPU board where it has one (an L40 for
ad102) and loads the vGPU types its GSP-RM serves; other chips boot their GeForce board (no vGPU functions:
-ENODEV).
"""

from __future__ import annotations

import errno
import functools
import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ...errors import ApiError, DeviceError, NovaError, PciError, PollTimeout, RpcError

if TYPE_CHECKING:
    from ..core import NovaCore
    from ..device import Device
    from ..vgpu.manager import VgpuManager
    from ..vgpu.ops import GspClient, VgpuMem, VgpuOps

F = TypeVar("F", bound=Callable[..., Any])

#: exception types (most specific first) -> errno, for failures that are not ApiErrors
CODES: tuple[tuple[type[BaseException], int], ...] = (
    (PollTimeout, errno.ETIMEDOUT),
    (DeviceError, errno.ENODEV),  # no such device, not accessible, lost
    (PciError, errno.ENODEV),
    (RpcError, errno.EIO),
    (MemoryError, errno.ENOMEM),
    (ValueError, errno.EINVAL),
    (TypeError, errno.EINVAL),
    (OverflowError, errno.EINVAL),
    (KeyboardInterrupt, errno.EINTR),
)

RM_CONTROL_MAX = 0x80000  #: the largest params block nova_rm_control takes
TYPES_MAX = 1 << 22  #: the largest nova_vgpu_load_types buffer


class CApiError(ApiError):
    """A C-API request that is wrong on its face (an unknown handle, an address no allocation has)."""


class Session:
    """One ``nova_device``: a booted GPU and what the C caller holds on it."""

    def __init__(self, core: NovaCore, manager: VgpuManager | None) -> None:
        from ..vgpu.ops import VgpuOps

        self.core = core
        self.device: Device = core.device("libnova")
        self.ops: VgpuOps = VgpuOps(self.device)
        self.manager = manager
        self.fb: dict[int, VgpuMem] = {}
        self.clients: dict[int, GspClient] = {}
        self.lock = threading.RLock()

    def need_manager(self) -> VgpuManager:
        if self.manager is None:
            raise ApiError(f"{self.core.name} has no vGPU manager: its PF cannot carry vGPUs", errno=errno.ENODEV)
        return self.manager

    def close(self) -> None:
        try:
            self.ops.close()
        finally:
            self.core.shutdown()


_sessions: dict[int, Session] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def _session(handle: int) -> Session:
    with _lock:
        s = _sessions.get(handle)
    if s is None:
        raise CApiError(f"nova_device {handle:#x} is not an open device (never opened, or closed)")
    return s


def _code(e: BaseException) -> int:
    if isinstance(e, ApiError):
        return e.errno
    for kind, code in CODES:
        if isinstance(e, kind):
            return code
    return errno.EIO


def install(ffi: Any, lib: Any) -> None:
    """Define the ``_nova_py_*`` functions on the library's ``ffi``."""

    def fail(e: BaseException) -> int:
        try:
            msg = f"{type(e).__name__}: {e}" if not isinstance(e, NovaError) else str(e)
            lib._nova_set_error((msg or type(e).__name__).encode(errors="replace")[:1000])
        except BaseException:
            pass
        return -_code(e)

    def guard(fn: F) -> F:
        """Run ``fn``; any exception becomes a negative errno and a message (never a Python exception in C)."""

        @functools.wraps(fn)
        def wrapper(*args: Any) -> int:
            try:
                rc: int = fn(*args)
                return rc
            except BaseException as e:
                return fail(e)

        return wrapper  # type: ignore[return-value]

    def extern(fn: F) -> F:
        ffi.def_extern(name=f"_nova_py_{fn.__name__}")(guard(fn))
        return fn

    def handle_of(dev: Any) -> int:
        return int(ffi.cast("uintptr_t", dev))

    def sess(dev: Any) -> Session:
        return _session(handle_of(dev))

    def text(p: Any, what: str) -> str:
        raw: bytes = ffi.string(p, 256)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise CApiError(f"{what} {raw!r} is not ASCII") from None

    def register(core: NovaCore, manager: VgpuManager | None, out: Any) -> int:
        try:
            s = Session(core, manager)
        except BaseException:
            core.shutdown()
            raise
        with _lock:
            h = next(_ids)
            _sessions[h] = s
        out[0] = ffi.cast("nova_device *", h)
        return 0

    @extern
    def init() -> int:
        return 1  # the C side's check that the Python side is attached (see build.py nova_start)

    @extern
    def open_sim(chip: Any, out: Any) -> int:
        from ...gpu.chips import VGPU_BOARDS, Chipset
        from ...sim_boot import boot_sim, sim_vgpu_types
        from .. import NovaCore
        from ..vgpu import vgpu_manager

        name = text(chip, "chip")
        try:
            chipset = Chipset.parse(name)
        except NovaError as e:
            raise CApiError(str(e)) from None
        gpu = boot_sim(chipset, vgpu=chipset in VGPU_BOARDS)
        core = NovaCore(gpu)
        try:
            manager = None
            if chipset in VGPU_BOARDS:
                manager = vgpu_manager(core)
                manager.load_types(sim_vgpu_types(gpu))
        except BaseException:
            core.shutdown()
            raise
        return register(core, manager, out)

    @extern
    def open_pci(bdf: Any, out: Any) -> int:
        from .. import NovaCore
        from ..vgpu import DEVNAME, vgpu_manager

        core = NovaCore.open_vfio(text(bdf, "bdf"))
        has = any(a.devname == DEVNAME for a in core.aux_devices())
        return register(core, vgpu_manager(core) if has else None, out)

    @extern
    def close(dev: Any) -> int:
        with _lock:
            s = _sessions.pop(handle_of(dev), None)
        if s is not None:
            s.close()
        return 0

    @extern
    def get_info(dev: Any, out: Any) -> int:
        info = sess(dev).device.info()
        out.chipset_id = info.chipset_id
        out.vram_bytes = info.vram_bytes
        name = info.gpu_name.encode(errors="replace")[:63]
        ffi.memmove(out.name, name + b"\0", len(name) + 1)
        return 0

    @extern
    def fb_alloc(dev: Any, size: int, align: int, addr: Any) -> int:
        s = sess(dev)
        with s.lock:
            mem = s.ops.alloc_fbmem(size, align=align or 4096, name="libnova")
            s.fb[mem.addr] = mem
        addr[0] = mem.addr
        return 0

    @extern
    def fb_free(dev: Any, addr: int) -> int:
        s = sess(dev)
        with s.lock:
            mem = s.fb.pop(addr, None)
            if mem is None:
                raise CApiError(f"FB address {addr:#x} is not an allocation of nova_fb_alloc on this device")
            s.ops.free_fbmem(mem)
        return 0

    @extern
    def chid_alloc(dev: Any, count: int, first: Any) -> int:
        first[0] = sess(dev).ops.alloc_chids(count)
        return 0

    @extern
    def chid_free(dev: Any, first: int, count: int) -> int:
        sess(dev).ops.free_chids(first, count)
        return 0

    @extern
    def rm_control(dev: Any, handle: int, cmd: int, params: Any, size: int) -> int:
        s = sess(dev)
        if size > RM_CONTROL_MAX:
            raise CApiError(f"RM control {cmd:#x}: {size:#x} parameter bytes (at most {RM_CONTROL_MAX:#x})")
        data = bytes(ffi.buffer(params, size)) if size else b""
        if handle == 0:
            out = s.device.rm_control(cmd, data)  # the base API's allowlist applies
        else:
            client = s.clients.get(handle)
            if client is None:
                raise CApiError(f"RM handle {handle:#010x} is not a GSP client of nova_gsp_client_alloc")
            ctrl = s.ops.rm_ctrl_rd(client, cmd, size, data)
            out = bytes(ctrl.params)
            s.ops.rm_ctrl_done(ctrl)
        if size:
            ffi.memmove(params, out[:size], min(size, len(out)))
        return 0

    @extern
    def vgpu_type_count(dev: Any, count: Any) -> int:
        count[0] = len(sess(dev).need_manager().types())
        return 0

    @extern
    def vgpu_type_info(dev: Any, index: int, out: Any) -> int:
        types = sess(dev).need_manager().types()
        if index >= len(types):
            raise CApiError(f"vGPU type index {index}: {len(types)} type(s)")
        t = types[index]
        out.id, out.max_instances, out.fb_bytes = t.type_id, t.max_instances, t.fb_length
        name = t.name.encode()[:31]
        ffi.memmove(out.name, name + b"\0", len(name) + 1)
        return 0

    @extern
    def vgpu_load_types(dev: Any, infos: Any, size: int) -> int:
        if size > TYPES_MAX:
            raise CApiError(f"{size:#x} bytes of vGPU types (at most {TYPES_MAX:#x})")
        sess(dev).need_manager().load_types(bytes(ffi.buffer(infos, size)))
        return 0

    @extern
    def vgpu_enable_vfs(dev: Any, count: int) -> int:
        sess(dev).need_manager().enable_vfs(count)
        return 0

    @extern
    def vgpu_disable_vfs(dev: Any) -> int:
        sess(dev).need_manager().disable_vfs()
        return 0

    @extern
    def vgpu_create(dev: Any, vf: int, type_id: int, gfid: Any) -> int:
        gfid[0] = sess(dev).need_manager().create(vf, type_id).gfid
        return 0

    @extern
    def vgpu_destroy(dev: Any, gfid: int) -> int:
        sess(dev).need_manager().destroy(gfid)
        return 0

    @extern
    def gsp_client_alloc(dev: Any, handle: Any) -> int:
        s = sess(dev)
        c = s.ops.alloc_gsp_client()
        with s.lock:
            s.clients[c.handle] = c
        handle[0] = c.handle
        return 0

    @extern
    def gsp_client_free(dev: Any, handle: int) -> int:
        s = sess(dev)
        with s.lock:
            c = s.clients.pop(handle, None)
        if c is None:
            raise CApiError(f"RM handle {handle:#010x} is not a GSP client of nova_gsp_client_alloc")
        s.ops.free_gsp_client(c)
        return 0
