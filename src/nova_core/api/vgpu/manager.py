"""nova_core.api.vgpu.manager: a vGPU manager - vGPU types, and vGPUs created on and destroyed from SR-IOV VFs.

:class:`VgpuManager` does, with nothing but :class:`~nova_core.api.vgpu.ops.VgpuOps`, what NVIDIA's VFIO vGPU
manager of the RFC does with ``nvkm_vgpu_mgr_vfio_ops`` (``drivers/vfio/pci/nvidia-vgpu/vgpu.c``,
``nvidia_vgpu_mgr_create_vgpu`` / ``_destroy_vgpu``):

- at start: a GSP client of its own (``alloc_gsp_client``); :meth:`VgpuManager.load_types` decodes the
  NVA081-encoded types of the vGPU host package and gives them to GSP-RM (``add_vgpu_info``);
- :meth:`VgpuManager.create` on VF ``vf`` (1-based; gfid = vf): channel ids - ``nvPrevPow2(2048 / maxInstance)``
  contiguous ids (OpenRM's rule) - then the guest FB (OpenRM's guest-FB formula, VMMU-segment aligned), the plugin
  heap (``gspHeapSize``) with its communication buffer mapped through BAR1 and ``message_seq_num`` cleared, a GSP
  client for the vGPU, BOOTLOAD_GSP_VGPU_PLUGIN_TASK (the VF's routing id as ``dbdf``, its gfid, the type, the
  channel block at one offset for every engine of the engine bitmap, the FB, the heap and its log buffers where
  the RFC's ``init_gsp_rm_constraints`` puts them), then a bounded wait (10 s, the RFC's) for
  ``GSP_PLUGIN_BOOTLOADED`` in the control buffer, read through BAR1. A step that fails undoes those before it;
- :meth:`VgpuManager.destroy` (by gfid): SHUTDOWN_GSP_VGPU_PLUGIN_TASK, VGPU_PLUGIN_CLEANUP, then the client, the
  BAR1 mapping, the heap, the FB and the channel ids are returned - every step is tried even when one before it
  failed, and what failed is reported;
- refusals, each a :class:`~nova_core.errors.VgpuError` (an :class:`~nova_core.errors.OutOfMemory` for FB) with
  an errno and nothing left allocated: a VF out of range (EINVAL), a VF in use (EBUSY), an unknown type (EINVAL),
  a type at its maximum or whose channel ids no longer fit (ENOSPC), FB that no longer fits (ENOMEM), destroying a
  vGPU that is not there - twice, say (ENODEV).

The per-VF view NVIDIA's vGPU driver gives in sysfs (``/sys/bus/pci/devices/<VF>/nvidia/creatable_vgpu_types``
and ``current_vgpu_type``): :meth:`VgpuManager.creatable_types` / :meth:`VgpuManager.current_type` and their text
forms (``nova mount`` shows them under ``vgpu/vf<N>/``). From a REPL::

    >>> core = NovaCore(nova_core.boot_sim("ad102", vgpu=True))               # an L40: publishes vgpu-mgr
    >>> mgr = vgpu_manager(core)                                              # the bound manager
    >>> mgr.load_types(sim_vgpu_types(core.gpu)); mgr.enable_vfs(4)
    >>> v = mgr.create(1, 1004); v.as_json()["fb"]                           # NVIDIA L40-4Q on VF 1
    >>> mgr.destroy(v.gfid)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from errno import EBUSY, EINVAL, ENODEV, ENOSPC
from typing import Any

from ...errors import NovaError, OutOfMemory, VgpuError
from ...hw.clock import US
from ...hw.poll import poll_timeout
from . import facts as V
from .ops import Bar1Mapping, BootloadParams, GspClient, Vf, VgpuMem, VgpuOps
from .types import VgpuType, channel_count, decode_types, guest_fb_length


@dataclass
class Vgpu:
    """A vGPU the manager created: its VF, type and resources."""

    vf: Vf
    type: VgpuType
    chids: tuple[int, int]  #: (first, count)
    fb: VgpuMem
    heap: VgpuMem
    comm: Bar1Mapping  #: the plugin heap's communication buffer through BAR1
    client: GspClient
    bootload: bytes = field(repr=False)  #: the BOOTLOAD parameter block as sent

    @property
    def gfid(self) -> int:
        return self.vf.gfid

    def as_json(self) -> dict[str, Any]:
        return {"vf": self.vf.index, "type": self.type.type_id, "gfid": self.gfid,
                "fb": {"addr": self.fb.addr, "size": self.fb.size},
                "chids": {"first": self.chids[0], "count": self.chids[1]}}


class VgpuManager:
    """The vGPU manager of one GPU (see the module docstring).

    Args:
        ops: the core's vGPU operations (the manager attaches itself as their handle and closes them last).
    """

    def __init__(self, ops: VgpuOps) -> None:
        self.ops = ops
        self.name = ops.name
        self._lock = threading.RLock()
        self._types: dict[int, VgpuType] = {}
        self._vgpus: dict[int, Vgpu] = {}  #: by VF index
        self.closed = False
        ops.attach_handle(self)
        try:
            self.client = ops.alloc_gsp_client()
        except BaseException:
            ops.detach_handle()
            raise

    def __repr__(self) -> str:
        return f"<VgpuManager {self.name}: {len(self._types)} type(s), {len(self._vgpus)} vGPU(s)>"

    def _live(self) -> None:
        if self.closed:
            raise VgpuError(f"the vGPU manager of {self.name} was closed", errno=ENODEV)

    # -- types -----------------------------------------------------------------------------------------------

    def load_types(self, encoded: bytes | bytearray | memoryview) -> list[VgpuType]:
        """Decode NVA081-encoded types (:func:`~.types.decode_types`) and give them to GSP-RM, replacing any
        earlier ones (refused while vGPUs exist: EBUSY)."""
        with self._lock:
            self._live()
            if self._vgpus:
                raise VgpuError(f"{len(self._vgpus)} vGPU(s) exist: destroy them before replacing the types",
                                errno=EBUSY)
            with self.ops._gpu() as gpu:
                abi = self.ops._abi(gpu)
            types = decode_types(abi, encoded)
            self.ops.add_vgpu_info(self.client, len(types), b"".join(t.info for t in types))
            self._types = {t.type_id: t for t in types}
            return types

    def types(self) -> list[VgpuType]:
        with self._lock:
            return list(self._types.values())

    def type(self, type_id: int) -> VgpuType:
        with self._lock:
            t = self._types.get(type_id)
            if t is None:
                have = ", ".join(f"{i} ({x.name})" for i, x in self._types.items()) or "none loaded"
                raise VgpuError(f"no vGPU type {type_id!r} (types: {have})")
            return t

    # -- VFs ---------------------------------------------------------------------------------------------------

    def enable_vfs(self, count: int) -> list[Vf]:
        with self._lock:
            self._live()
            return self.ops.enable_vfs(count)

    def disable_vfs(self) -> None:
        """Remove the VFs (EBUSY while a vGPU runs on one)."""
        with self._lock:
            self._live()
            if self._vgpus:
                raise VgpuError(f"vGPU(s) run on VF(s) {sorted(self._vgpus)}: destroy them first", errno=EBUSY)
            self.ops.disable_vfs()

    def vfs(self) -> list[Vf]:
        return self.ops.vfs()

    def _vf(self, index: object) -> Vf:
        vfs = self.ops.vfs()
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= len(vfs):
            span = f"VFs 1..{len(vfs)} are enabled" if vfs else "no VFs are enabled (enable them first)"
            raise VgpuError(f"VF {index!r} is out of range: {span}", errno=EINVAL)
        return vfs[index - 1]

    # -- vGPUs -------------------------------------------------------------------------------------------------

    def vgpus(self) -> list[Vgpu]:
        with self._lock:
            return [self._vgpus[k] for k in sorted(self._vgpus)]

    def vgpu(self, vf: int) -> Vgpu | None:
        with self._lock:
            return self._vgpus.get(vf)

    def create(self, vf: int, type_id: int, *, vm_pid: int = 0) -> Vgpu:
        """A vGPU of type ``type_id`` on VF ``vf`` (see the module docstring for the steps and refusals)."""
        with self._lock:
            self._live()
            v = self._vf(vf)
            if vf in self._vgpus:
                cur = self._vgpus[vf]
                raise VgpuError(f"VF {vf} is in use: vGPU {cur.type.name} (gfid {cur.gfid}); destroy it first",
                                errno=EBUSY)
            t = self.type(type_id)
            running = sum(1 for x in self._vgpus.values() if x.type.type_id == type_id)
            if running >= t.max_instances:
                raise VgpuError(f"{t.name}: {running} of at most {t.max_instances} instance(s) exist", errno=ENOSPC)
            if t.gsp_heap_size < V.COMM_BUFF_SIZE:
                raise VgpuError(f"{t.name}: gspHeapSize {t.gsp_heap_size:#x} cannot hold the plugin's communication "
                                f"buffers ({V.COMM_BUFF_SIZE:#x} bytes)")
            undo: list[Callable[[], None]] = []
            try:
                vgpu = self._build(v, t, vm_pid, undo)
            except BaseException:
                for step in reversed(undo):
                    with contextlib.suppress(NovaError):  # the first failure is what the caller hears about
                        step()
                raise
            self._vgpus[vf] = vgpu
            return vgpu

    def _build(self, v: Vf, t: VgpuType, vm_pid: int, undo: list[Callable[[], None]]) -> Vgpu:
        ops = self.ops
        count = channel_count(t, ops.total_chids())
        try:
            first = ops.alloc_chids(count)
        except VgpuError as e:
            raise VgpuError(f"{t.name} on VF {v.index}: its {count} channel ids no longer fit ({e})",
                            errno=e.errno) from None
        undo.append(lambda: ops.free_chids(first, count))
        seg = ops.vmmu_segment_size()
        with ops._gpu() as gpu:
            fb_total = int(gpu.vram_size or 0)
            clock = gpu.dev.clock
            has_kernel_log = "kernelLogBuffOffset" in ops._abi(gpu).fields(
                "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS")
        size = guest_fb_length(t, fb_total, seg)
        if size <= 0:
            raise VgpuError(f"{t.name}: no guest FB fits a share of {fb_total:#x} bytes", errno=ENOSPC)
        try:
            fb = ops.alloc_fbmem(size, vmmu_aligned=True, name=f"vgpu{v.index} fb")
        except OutOfMemory as e:
            raise OutOfMemory(f"{t.name} on VF {v.index}: its {size:#x} bytes of FB no longer fit ({e})") from None
        undo.append(lambda: ops.free_fbmem(fb))
        try:
            heap = ops.alloc_fbmem(t.gsp_heap_size, name=f"vgpu{v.index} heap")
        except OutOfMemory as e:
            raise OutOfMemory(f"{t.name} on VF {v.index}: its plugin heap ({t.gsp_heap_size:#x} bytes) no longer "
                              f"fits ({e})") from None
        undo.append(lambda: ops.free_fbmem(heap))
        comm = ops.bar1_map_mem(heap, V.COMM_BUFF_SIZE)
        comm.write32(V.CTRL_MESSAGE_SEQ_NUM, 0)  # no stale marker from an earlier user of this memory
        client = ops.alloc_gsp_client()
        undo.append(lambda: ops.free_gsp_client(client))
        base = heap.addr
        init_log = (base + V.INIT_TASK_LOG_OFFSET, V.INIT_TASK_LOG_SIZE)
        task_log = (init_log[0] + init_log[1], V.VGPU_TASK_LOG_SIZE)
        kernel_log = (task_log[0] + task_log[1], V.KERNEL_LOG_SIZE) if has_kernel_log else None
        params = BootloadParams(dbdf=v.dbdf, gfid=v.gfid, vgpu_type=t.type_id, num_channels=count, chid_offset=first,
                                fb_segments=[(fb.addr, fb.size)], heap_addr=heap.addr, heap_size=heap.size,
                                init_task_log=init_log, vgpu_task_log=task_log, kernel_log=kernel_log, vm_pid=vm_pid)
        raw = ops.bootload_vgpu_plugin_task(client, params)

        def stop_plugin() -> None:
            ops.shutdown_vgpu_plugin_task(client, v.gfid)
            ops.cleanup_vgpu_plugin(client, v.gfid)

        undo.append(stop_plugin)
        # TIMEOUT: the RFC's wait_vgpu_plugin_task_bootloaded gives the plugin task 10 s (facts.PLUGIN_BOOT_TIMEOUT).
        poll_timeout(lambda: comm.read32(V.CTRL_MESSAGE_SEQ_NUM), lambda x: x == V.GSP_PLUGIN_BOOTLOADED, clock=clock,
                     timeout=V.PLUGIN_BOOT_TIMEOUT, interval=100 * US,
                     what=f"GSP_PLUGIN_BOOTLOADED ({V.GSP_PLUGIN_BOOTLOADED:#x}) from the plugin task of gfid {v.gfid}")
        return Vgpu(v, t, (first, count), fb, heap, comm, client, raw)

    def destroy(self, gfid: int) -> None:
        """Shut down and clean up the plugin task of ``gfid``, then return everything the vGPU held.

        Raises:
            VgpuError: no vGPU has that gfid (ENODEV: destroyed already, or never created); a step failed (the
                vGPU is gone all the same: the message lists what could not be released).
        """
        with self._lock:
            self._live()
            vgpu = next((x for x in self._vgpus.values() if x.gfid == gfid), None)
            if vgpu is None:
                have = ", ".join(str(x.gfid) for x in self._vgpus.values()) or "none"
                raise VgpuError(f"no vGPU with gfid {gfid!r} (destroyed already, or never created; gfids: {have})",
                                errno=ENODEV)
            del self._vgpus[vgpu.vf.index]
            problems = self._teardown(vgpu)
        if problems:
            raise VgpuError(f"vGPU of gfid {gfid} destroyed with problems: {'; '.join(problems)}")

    def _teardown(self, vgpu: Vgpu) -> list[str]:
        ops = self.ops
        problems: list[str] = []
        steps: list[tuple[str, Callable[[], None]]] = [
                 ("shutdown", lambda: ops.shutdown_vgpu_plugin_task(vgpu.client, vgpu.gfid)),
                 ("cleanup", lambda: ops.cleanup_vgpu_plugin(vgpu.client, vgpu.gfid)),
                 ("GSP client", lambda: ops.free_gsp_client(vgpu.client)),
                 ("plugin heap", lambda: ops.free_fbmem(vgpu.heap)),
                 ("guest FB", lambda: ops.free_fbmem(vgpu.fb)),
                 ("channel ids", lambda: ops.free_chids(*vgpu.chids))]
        for what, step in steps:
            try:
                step()
            except NovaError as e:
                problems.append(f"{what}: {e}")
        return problems

    # -- the per-VF view -------------------------------------------------------------------------------------------

    def creatable_types(self, vf: int) -> list[VgpuType]:
        """The types a vGPU could be created with on VF ``vf`` now: none while the VF has one; otherwise those below
        their maximum whose channel ids and FB fit what is free."""
        with self._lock:
            self._vf(vf)
            if vf in self._vgpus:
                return []
            out = []
            with self.ops._gpu() as gpu:
                fb_total = int(gpu.vram_size or 0)
                fifo = self.ops.device._fifo(gpu)
                chids = fifo.chids
                alloc = gpu.bars.allocator if gpu.bars is not None else None
            seg = self.ops.vmmu_segment_size()
            for t in self._types.values():
                if sum(1 for x in self._vgpus.values() if x.type.type_id == t.type_id) >= t.max_instances:
                    continue
                if not _chids_fit(chids, channel_count(t, chids.count)):
                    continue
                size = guest_fb_length(t, fb_total, seg)
                if alloc is None or size <= 0 or not _fb_fits(alloc, size, seg, t.gsp_heap_size):
                    continue
                out.append(t)
            return out

    def current_type(self, vf: int) -> int:
        """The type id of VF ``vf``'s vGPU (0: none)."""
        with self._lock:
            self._vf(vf)
            v = self._vgpus.get(vf)
            return 0 if v is None else v.type.type_id

    def creatable_text(self, vf: int) -> str:
        """``creatable_vgpu_types`` as NVIDIA's vGPU driver writes it: a header, then ``ID : name`` per type."""
        rows = [f"{t.type_id:<6}: {t.name}" for t in self.creatable_types(vf)]
        return "\n".join(["ID    : vGPU Name", *rows]) + "\n"

    def current_text(self, vf: int) -> str:
        return f"{self.current_type(vf)}\n"

    # -- summary ---------------------------------------------------------------------------------------------------

    def free_fb_bytes(self) -> int:
        """VRAM still free in the driver's allocator."""
        with self.ops._gpu() as gpu:
            return 0 if gpu.bars is None else gpu.bars.allocator.stats().free

    def free_chids(self) -> int:
        with self.ops._gpu() as gpu:
            c = self.ops.device._fifo(gpu).chids
            return c.count - c.in_use

    def as_json(self) -> dict[str, Any]:
        """``nova vgpu --json``: ``types``, ``vgpus``, ``free_fb_bytes``, ``free_chids``."""
        return {"types": [t.as_json() for t in self.types()], "vgpus": [v.as_json() for v in self.vgpus()],
                "free_fb_bytes": self.free_fb_bytes(), "free_chids": self.free_chids()}

    # -- lifetime --------------------------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Destroy every vGPU, free the manager's client, detach from the ops (idempotent); returns what failed."""
        with self._lock:
            if self.closed:
                return []
            problems: list[str] = []
            for vf in sorted(self._vgpus):
                vgpu = self._vgpus.pop(vf)
                problems += [f"gfid {vgpu.gfid}: {p}" for p in self._teardown(vgpu)]
            try:
                self.ops.free_gsp_client(self.client)
            except NovaError as e:
                problems.append(f"GSP client: {e}")
            self.ops.detach_handle()
            self.closed = True
            return problems


def _chids_fit(chids: Any, count: int) -> bool:
    """Whether ``count`` contiguous ids are free (a look: nothing is taken)."""
    return count > 0 and chids.find_range(count) is not None


def _fb_fits(alloc: Any, size: int, segment: int, heap: int) -> bool:
    """Whether a guest FB of ``size`` (``segment`` aligned) and then a heap of ``heap`` bytes (4 KiB aligned) fit the
    allocator's free holes now (a look: nothing is taken)."""
    holes = [(s, s + n) for s, n in alloc.holes()]
    for i, (lo, hi) in enumerate(holes):
        at = -(-lo // segment) * segment
        if at + size > hi:
            continue
        rest = [*holes[:i], (lo, at), (at + size, hi), *holes[i + 1:]]
        if any(-(-a // 4096) * 4096 + heap <= b for a, b in rest):
            return True
    return False
