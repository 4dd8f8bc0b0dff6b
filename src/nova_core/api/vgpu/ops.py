"""nova_core.api.vgpu.ops: what nova-core gives a vGPU manager - the operations of the RFC's ``nvkm_vgpu_mgr_vfio_ops``.

NVIDIA's vGPU RFC ("Introduce NVIDIA GPU Virtualization (vGPU) Support", ``include/drm/nvkm_vgpu_mgr_vfio.h``)
names what its VFIO vGPU manager needs from the core driver; :class:`VgpuOps` is that list, on a booted GPU, for
the driver bound to ``nova-core.vgpu-mgr.<id>`` (or any base-API handle):

=================================  ================================================================================
RFC op                             here
=================================  ================================================================================
``vgpu_mgr_is_enabled``            :meth:`VgpuOps.is_enabled`: SR-IOV on the PF, GSP-RM running, a VMMU
``get/attach/detach_handle``       :meth:`~VgpuOps.get_handle`, :meth:`~VgpuOps.attach_handle`,
                                   :meth:`~VgpuOps.detach_handle`: the manager's private data on the PF (one)
``alloc/free_gsp_client``,         :meth:`~VgpuOps.alloc_gsp_client` (an RM client + device + subdevice of its own),
``get_gsp_client_handle``          :meth:`~VgpuOps.free_gsp_client`, :attr:`GspClient.handle`
``rm_ctrl_get/wr/rd/done``         :meth:`~VgpuOps.rm_ctrl_get` (a zeroed parameter block), :meth:`~VgpuOps.rm_ctrl_wr`
                                   (send it; only the status comes back), :meth:`~VgpuOps.rm_ctrl_rd` (send a block,
                                   read GSP-RM's answer), :meth:`~VgpuOps.rm_ctrl_done` (release) - on the client's
                                   subdevice
``alloc/free_chids``               :meth:`~VgpuOps.alloc_chids` (a contiguous block of the FIFO's 2048 ids, the
                                   highest free one), :meth:`~VgpuOps.free_chids`
``alloc/free_fbmem``               :meth:`~VgpuOps.alloc_fbmem` (VRAM GSP-RM leaves the driver, VMMU-segment
                                   aligned on request), :meth:`~VgpuOps.free_fbmem`
``bar1_map/unmap_mem``             :meth:`~VgpuOps.bar1_map_mem` (the driver's PTEs in GSP-RM's BAR1 table; CPU access
                                   through the BAR1 aperture, or BAR2 where the device has no BAR1 aperture),
                                   :meth:`~VgpuOps.bar1_unmap_mem`
``get_engine_bitmap``              :meth:`~VgpuOps.engine_bitmap` (bit n: RM engine type n has a runlist)
``bootload/shutdown_vgpu_plugin_   :meth:`~VgpuOps.bootload_vgpu_plugin_task` (:class:`BootloadParams` packed into
task``, ``cleanup_vgpu_plugin``    ``NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS`` of the running
                                   version), :meth:`~VgpuOps.shutdown_vgpu_plugin_task`,
                                   :meth:`~VgpuOps.cleanup_vgpu_plugin`
``add_vgpu_info``                  :meth:`~VgpuOps.add_vgpu_info` (NVA081-encoded types: PGPU_ADD_VGPU_TYPE)
=================================  ================================================================================

and what the RFC leaves to the PF driver's ``sriov_configure``: :meth:`~VgpuOps.enable_vfs`,
:meth:`~VgpuOps.disable_vfs`, :meth:`~VgpuOps.vfs` (SR-IOV 1.1 through the PF's config space,
:class:`~nova_core.pci.sriov.SriovController`), and :meth:`~VgpuOps.vmmu_segment_size`
(NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE).

Everything handed out (clients, id blocks, FB, BAR1 mappings) belongs to the ops object and is released, newest
first, by :meth:`VgpuOps.close` - which the binding's end calls - so a manager that forgets something leaks
nothing past its binding. Failures are :class:`~nova_core.errors.ApiError` subclasses with an ``errno`` (EINVAL,
EBUSY, ENOMEM, ENOSPC, ENODEV), or GSP-RM's own refusal (:class:`~nova_core.gsp.fw.RpcFailure`, its status named).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from errno import EBUSY, EINVAL, ENODEV, ENOSPC
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, Busy, ChannelError, MmError, NovaError, OutOfMemory, PciError, VgpuError
from ...gsp.client import RmClient, RmObject
from ...gsp.fw import GspAbi
from ...mm.pte import PAGE_2M, PAGE_4K
from ..revocable import Revocable, Scope
from . import facts as V

if TYPE_CHECKING:
    from ...gsp.boot import GspDevice
    from ...hw.bar import Bar
    from ...mm.vmm import Vmm
    from ...pci.sriov import SriovController
    from ..device import BufferObject, Device


def _round(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


@dataclass(frozen=True)
class Vf:
    """One enabled virtual function of the PF."""

    index: int  #: 1-based (``nova vgpu --create VF:TYPE``); the VF's PCI index is ``index - 1``
    gfid: int  #: GSP-RM's guest function id: index (gfid 0 is the PF)
    bdf: str  #: its PCI address
    dbdf: int  #: (domain << 16) | routing id - what BOOTLOAD's ``dbdf`` says


@dataclass
class GspClient:
    """An RM client of the vGPU manager's own (RFC ``nvidia_vgpu_gsp_client``: client + device; the subdevice is
    where its controls go)."""

    client: RmClient
    device: RmObject
    subdevice: RmObject

    @property
    def handle(self) -> int:
        """The client's handle (RFC ``get_gsp_client_handle``)."""
        return self.client.handle

    @property
    def freed(self) -> bool:
        return self.client.freed


@dataclass
class RmCtrl:
    """A control's parameter block between :meth:`VgpuOps.rm_ctrl_get`/``rd`` and ``wr``/``done``."""

    client: GspClient
    cmd: int
    params: bytearray
    done: bool = False


@dataclass
class VgpuMem:
    """FB the manager allocated (RFC ``nvidia_vgpu_mem``): ``addr``/``size`` in VRAM, ``bar1`` once mapped."""

    bo: BufferObject
    addr: int
    size: int
    bar1: Bar1Mapping | None = None


@dataclass
class BootloadParams:
    """What BOOTLOAD_GSP_VGPU_PLUGIN_TASK says (the RFC's ``bootload_vgpu_plugin_task``), before it is packed into the
    running version's ``NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS``."""

    dbdf: int
    gfid: int
    vgpu_type: int
    num_channels: int
    chid_offset: int  #: the first id of the vGPU's block, set for every engine of :meth:`VgpuOps.engine_bitmap`
    fb_segments: Sequence[tuple[int, int]]  #: guest FB (address, length), VMMU-segment aligned
    heap_addr: int  #: the plugin heap (``pluginHeapMemoryPhysAddr``)
    heap_size: int
    init_task_log: tuple[int, int]  #: (address, size)
    vgpu_task_log: tuple[int, int]
    kernel_log: tuple[int, int] | None = None  #: r570 and later
    num_plugin_channels: int = V.PLUGIN_CHANNELS
    vm_pid: int = 0
    ctrl_buff_offset: int = 0
    device_profiling: bool = False
    engines: int = field(default=0, repr=False)  #: the engine bitmap (filled by bootload_vgpu_plugin_task)


class Bar1Mapping:
    """``size`` bytes of VRAM at ``addr`` mapped at ``bar1_va`` in GSP-RM's BAR1 table (RFC ``bar1_map_mem``); CPU
    reads and writes go through the BAR1 aperture, or the driver's BAR2 window on a device without one."""

    def __init__(self, vmm: Vmm, va: int, addr: int, size: int, bar1: Bar | None, window: Any) -> None:
        self.vmm = vmm
        self.bar1_va = va
        self.addr = addr
        self.size = size
        self._bar1 = bar1
        self._window = window
        self.via = "bar1" if bar1 is not None else "bar2"
        self.closed = False

    def __repr__(self) -> str:
        return f"<Bar1Mapping VRAM {self.addr:#x} +{self.size:#x} at BAR1 {self.bar1_va:#x} via {self.via}>"

    def _span(self, offset: int, n: int) -> None:
        if self.closed:
            raise ApiError(f"{self!r} is unmapped", errno=ENODEV)
        if offset < 0 or n < 0 or offset + n > self.size or offset & 3 or n & 3:
            raise ApiError(f"{self!r}: access [{offset:#x}, +{n:#x}): 4-byte aligned, inside the mapping")

    def read(self, offset: int, n: int) -> bytes:
        self._span(offset, n)
        if self._bar1 is not None:
            return self._bar1.read_block(self.bar1_va + offset, n)
        data: bytes = self._window.read(self.addr + offset, n)
        return data

    def write(self, offset: int, data: bytes) -> None:
        self._span(offset, len(data))
        if self._bar1 is not None:
            self._bar1.write_block(self.bar1_va + offset, data)
        else:
            self._window.write(self.addr + offset, memoryview(data))

    def read32(self, offset: int) -> int:
        return int.from_bytes(self.read(offset, 4), "little")

    def write32(self, offset: int, value: int) -> None:
        self.write(offset, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    def unmap(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.vmm.unmap(self.bar1_va, _round(self.size, PAGE_4K))
        finally:
            self.vmm.vfree(self.bar1_va)


class VgpuOps:
    """The vGPU manager's operations on one booted GPU (see the module docstring).

    Args:
        device: the base-API handle of the binding (its VRAM, BAR1 and revocation are used).
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.name = device.name
        self._scope = Scope(f"vGPU manager ops on {device.name}")
        self._lock = threading.RLock()
        self._handle: object | None = None
        self._vmmu: int | None = None
        self.closed = False

    def __repr__(self) -> str:
        return f"<VgpuOps {self.name}: {len(self._scope.live())} resource(s){' closed' if self.closed else ''}>"

    @contextlib.contextmanager
    def _gpu(self) -> Iterator[GspDevice]:
        """The GPU, kept from release while in use (Revoked once the binding or the GPU is gone)."""
        if self.closed:
            raise ApiError(f"the vGPU ops of {self.name} were closed", errno=ENODEV)
        with self.device._gpu.access() as gpu:
            yield gpu

    @staticmethod
    def _abi(gpu: GspDevice) -> GspAbi:
        if gpu.abi is None or gpu.rpc is None or gpu.closed:
            raise ApiError(f"{gpu.name}: GSP-RM is not running", errno=ENODEV)
        return gpu.abi

    # -- enabled, handle -------------------------------------------------------------------------------------

    def is_enabled(self) -> bool:
        """Whether the GPU can carry vGPUs: an SR-IOV capability on the PF, GSP-RM running with a VMMU."""
        try:
            self._sriov()
            return self.vmmu_segment_size() > 0
        except NovaError:
            return False

    def get_handle(self) -> object | None:
        """The data a vGPU manager attached to this PF (None: none attached)."""
        with self._lock:
            return self._handle

    def attach_handle(self, data: object) -> None:
        """Attach the vGPU manager's data to the PF (one manager per PF: EBUSY while another is attached)."""
        with self._lock:
            if self._handle is not None:
                raise Busy(f"{self.name}: a vGPU manager is attached already ({self._handle!r})")
            if data is None:
                raise ApiError("attach_handle(None): nothing to attach")
            self._handle = data

    def detach_handle(self) -> None:
        with self._lock:
            self._handle = None

    # -- GSP clients and RM controls --------------------------------------------------------------------------

    def alloc_gsp_client(self) -> GspClient:
        """A new RM client with its device and subdevice (GSP_RM_ALLOC x3), owned by these ops."""
        with self._gpu() as gpu:
            self._abi(gpu)
            assert gpu.rpc is not None
            client = RmClient.open(gpu.rpc, process_name="nova-core vgpu-mgr")
            try:
                dev = client.device()
                sub = dev.subdevice()
            except BaseException:
                client.close()
                raise
        c = GspClient(client, dev, sub)
        self._scope.add(Revocable(c, f"GSP client {client.handle:#010x}", lambda x: x.client.close()))
        return c

    def free_gsp_client(self, client: GspClient) -> None:
        """Free the client and everything under it (idempotent)."""
        self._release(client)

    def _release(self, obj: object) -> None:
        for r in self._scope.live():
            if r.try_access() is obj:
                if r.revoke("released by the vGPU manager"):
                    self._scope.discard(r)
                    if r.release_error is not None:
                        raise r.release_error
                return

    def _live_client(self, client: GspClient) -> None:
        if client.freed:
            raise ApiError(f"GSP client {client.handle:#010x} was freed", errno=ENODEV)

    def rm_ctrl_get(self, client: GspClient, cmd: int, size: int) -> RmCtrl:
        """A zeroed parameter block of ``size`` bytes for control ``cmd`` on ``client``'s subdevice."""
        self._live_client(client)
        if not isinstance(size, int) or not 0 <= size <= RM_CTRL_MAX_PARAMS:
            raise ApiError(f"RM control {cmd:#x}: parameter size {size!r} (0..{RM_CTRL_MAX_PARAMS:#x})")
        return RmCtrl(client, int(cmd), bytearray(size))

    def rm_ctrl_wr(self, ctrl: RmCtrl) -> None:
        """Send the block (GSP_RM_CONTROL); GSP-RM's refusal raises :class:`~nova_core.gsp.fw.RpcFailure`. The block
        is released either way (the RFC's ``rm_ctrl_wr`` frees it)."""
        try:
            self._send(ctrl)
        finally:
            ctrl.done = True

    def rm_ctrl_rd(self, client: GspClient, cmd: int, size: int, params: bytes | None = None) -> RmCtrl:
        """Send control ``cmd`` with ``params`` (zeros of ``size`` bytes by default) and return GSP-RM's answer in the
        block; release it with :meth:`rm_ctrl_done`."""
        ctrl = self.rm_ctrl_get(client, cmd, size)
        if params is not None:
            if len(params) != size:
                raise ApiError(f"RM control {cmd:#x}: {len(params)} parameter bytes for a size of {size}")
            ctrl.params[:] = params
        self._send(ctrl)
        return ctrl

    def rm_ctrl_done(self, ctrl: RmCtrl) -> None:
        ctrl.done = True

    def _send(self, ctrl: RmCtrl) -> None:
        if ctrl.done:
            raise ApiError(f"RM control {ctrl.cmd:#x}: its parameter block was sent or released already")
        self._live_client(ctrl.client)
        with self._gpu():
            out = ctrl.client.subdevice.control(ctrl.cmd, bytes(ctrl.params))
        ctrl.params[:] = out[:len(ctrl.params)]

    def _control(self, client: GspClient, cmd_name: str, struct: str, **values: Any) -> Any:
        """Build ``struct`` from ``values``, send ``cmd_name`` on the client's subdevice, return the parsed answer."""
        with self._gpu() as gpu:
            abi = self._abi(gpu)
        ctrl = self.rm_ctrl_get(client, int(getattr(abi.module, cmd_name)), abi.sizeof(struct))
        ctrl.params[:] = abi.pack(struct, **values)
        try:
            self._send(ctrl)
            return abi.parse(struct, ctrl.params, what=cmd_name)
        finally:
            self.rm_ctrl_done(ctrl)

    # -- channel ids -------------------------------------------------------------------------------------------

    def total_chids(self) -> int:
        """The FIFO's channel ids (OpenRM's hostChannelCount for the vGPU channel rule)."""
        with self._gpu() as gpu:
            return self.device._fifo(gpu).chids.count

    def alloc_chids(self, count: int) -> int:
        """A block of ``count`` contiguous channel ids (the highest free); returns its first id.

        Raises:
            VgpuError: ``count`` not 1..2048 (EINVAL); no such block free (ENOSPC).
        """
        with self._gpu() as gpu:
            chids = self.device._fifo(gpu).chids
            try:
                first = chids.alloc_range(count)
            except ChannelError as e:
                code = ENOSPC if "contiguous" in str(e) else EINVAL
                raise VgpuError(f"channel ids: {e}", errno=code) from None
        block = _ChidBlock(first, count)
        self._scope.add(Revocable(block, f"channel ids {first}..{first + count - 1}",
                                  lambda b: chids.free_range(b.first, b.count)))
        return first

    def free_chids(self, first: int, count: int) -> None:
        """Return a block :meth:`alloc_chids` gave (exactly: EINVAL for anything else)."""
        for r in self._scope.live():
            b = r.try_access()
            if isinstance(b, _ChidBlock) and (b.first, b.count) == (first, count):
                self._release(b)
                return
        raise VgpuError(f"channel ids {first} +{count}: not a block these ops allocated")

    # -- FB memory and BAR1 --------------------------------------------------------------------------------------

    def vmmu_segment_size(self) -> int:
        """GSP-RM's VMMU segment size (NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE on the driver's subdevice, asked
        once)."""
        if self._vmmu is None:
            with self._gpu() as gpu:
                abi = self._abi(gpu)
                assert gpu.subdevice is not None
                raw = gpu.subdevice.control(int(abi.module.NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE),
                                            abi.pack("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS"))
                seg = int(abi.parse("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS", raw).vmmuSegmentSize)
            if seg <= 0 or seg & (seg - 1):
                raise VgpuError(f"GSP-RM's VMMU segment size {seg:#x} is not a power of two", errno=ENODEV)
            self._vmmu = seg
        return self._vmmu

    def alloc_fbmem(self, size: int, vmmu_aligned: bool = False, *, align: int | None = None,
                    name: str = "") -> VgpuMem:
        """``size`` bytes of VRAM (rounded to 4 KiB), aligned to the VMMU segment when ``vmmu_aligned`` (else to
        ``align``: a power of two from 4 KiB, 4 KiB by default).

        Raises:
            ApiError: a size of 0, a bad alignment (EINVAL).
            OutOfMemory: no block fits (ENOMEM).
        """
        if vmmu_aligned:
            align = self.vmmu_segment_size()
        elif align is None:
            align = PAGE_4K
        if vmmu_aligned and size % align:
            raise ApiError(f"VMMU-aligned FB of {size:#x} bytes: a multiple of the segment ({align:#x})")
        bo = self.device.alloc(size, align=align, name=name or "vgpu")
        mem = VgpuMem(bo, bo.addr, bo.size)
        self._scope.add(Revocable(mem, f"FB {bo.addr:#x} +{bo.size:#x}", _free_mem))
        return mem

    def free_fbmem(self, mem: VgpuMem) -> None:
        """Unmap (if mapped) and free (idempotent)."""
        self._release(mem)

    def bar1_map_mem(self, mem: VgpuMem, size: int | None = None) -> Bar1Mapping:
        """Map the first ``size`` bytes of ``mem`` (all of it by default) through BAR1 (one mapping per block)."""
        n = mem.size if size is None else _round(size, PAGE_4K)
        if not 0 < n <= mem.size:
            raise ApiError(f"BAR1 mapping of {size!r} bytes of {mem.size:#x}")
        if mem.bar1 is not None and not mem.bar1.closed:
            raise Busy(f"FB {mem.addr:#x} is mapped already ({mem.bar1!r})")
        with self._gpu() as gpu:
            if gpu.bars is None:
                raise ApiError(f"{self.name}: no BAR1 space (the boot stopped early)", errno=ENODEV)
            vmm = gpu.bars.bar1
            window = None if gpu.dev.bar1 is not None else self.device._fifo(gpu).vram_window()
            va = None
            try:
                va = vmm.valloc(n, align=PAGE_2M)
                vmm.map_vram(va, mem.addr, n)
            except MmError as e:
                if va is not None:
                    vmm.vfree(va)
                raise OutOfMemory(f"BAR1 space for FB {mem.addr:#x} +{n:#x}: {e}") from None
            mem.bar1 = Bar1Mapping(vmm, va, mem.addr, n, gpu.dev.bar1, window)
        return mem.bar1

    def bar1_unmap_mem(self, mem: VgpuMem) -> None:
        if mem.bar1 is not None:
            bar1, mem.bar1 = mem.bar1, None
            bar1.unmap()

    # -- engines ---------------------------------------------------------------------------------------------------

    def engine_bitmap(self) -> int:
        """Bit n set: RM engine type n has a runlist (GSP-RM's device info table) - where BOOTLOAD's chidOffset goes."""
        with self._gpu() as gpu:
            return sum(1 << e.rm_engine_type for e in self.device._fifo(gpu).engines)

    # -- the plugin task and the types -----------------------------------------------------------------------------

    def bootload_vgpu_plugin_task(self, client: GspClient, p: BootloadParams) -> bytes:
        """BOOTLOAD_GSP_VGPU_PLUGIN_TASK on ``client``'s subdevice; returns the parameter block as sent (the running
        version's layout, byte for byte).

        Raises:
            VgpuError: a field the version's block cannot hold (EINVAL).
            RpcFailure: GSP-RM refused it.
        """
        with self._gpu() as gpu:
            abi = self._abi(gpu)
        raw = pack_bootload(abi, p, p.engines or self.engine_bitmap())
        ctrl = self.rm_ctrl_get(client, int(abi.module.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK),
                                len(raw))
        ctrl.params[:] = raw
        self.rm_ctrl_wr(ctrl)
        return raw

    def shutdown_vgpu_plugin_task(self, client: GspClient, gfid: int) -> None:
        self._control(client, "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK",
                      "NV2080_CTRL_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK_PARAMS", gfid=gfid)

    def cleanup_vgpu_plugin(self, client: GspClient, gfid: int) -> None:
        self._control(client, "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP",
                      "NV2080_CTRL_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP_PARAMS", gfid=gfid)

    def add_vgpu_info(self, client: GspClient, count: int, encoded: bytes, *, discard: bool = True) -> None:
        """Give GSP-RM ``count`` NVA081-encoded types (PGPU_ADD_VGPU_TYPE; ``discard``: replace what it had).

        Raises:
            VgpuError: ``encoded`` is not ``count`` records of the running version, or more than one call takes.
        """
        with self._gpu() as gpu:
            abi = self._abi(gpu)
        name = "NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS"
        block = abi.build(name, discardVgpuTypes=int(discard), vgpuInfoCount=count)
        rec = ctypes.sizeof(abi.struct("NVA081_CTRL_VGPU_INFO"))
        if not 1 <= count <= len(block.vgpuInfo) or len(encoded) != count * rec:
            raise VgpuError(f"add_vgpu_info: {count} type(s) in {len(encoded):#x} bytes; 1..{len(block.vgpuInfo)} "
                            f"records of {rec:#x} bytes ({abi.version}) expected")
        ctypes.memmove(ctypes.addressof(block) + type(block).vgpuInfo.offset, encoded, len(encoded))
        ctrl = self.rm_ctrl_get(client, int(abi.module.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE),
                                ctypes.sizeof(block))
        ctrl.params[:] = bytes(block)
        self.rm_ctrl_wr(ctrl)

    # -- SR-IOV ----------------------------------------------------------------------------------------------------

    def _sriov(self) -> SriovController:
        from ...pci.config import ConfigSpace
        from ...pci.sriov import SriovController

        with self._gpu() as gpu:
            if gpu.dev.config is None:
                raise VgpuError(f"{self.name}: no PCI config space to reach SR-IOV through", errno=ENODEV)
            try:
                return SriovController(ConfigSpace(gpu.dev.config), gpu.dev.clock)
            except PciError as e:
                raise VgpuError(f"{self.name}: {e}", errno=ENODEV) from None

    def enable_vfs(self, count: int) -> list[Vf]:
        """Enable ``count`` VFs on the PF (SR-IOV 1.1: NumVFs, then VF Enable + VF MSE, then 100 ms).

        Raises:
            VgpuError: ``count`` outside 1..TotalVFs or VFs enabled already (EINVAL / EBUSY), no SR-IOV (ENODEV).
        """
        ctl = self._sriov()
        info = ctl.info()
        if info.vf_enabled:
            raise VgpuError(f"{self.name}: {info.num_vfs} VF(s) are enabled already; disable them first",
                            errno=EBUSY)
        if not isinstance(count, int) or not 1 <= count <= info.total_vfs:
            raise VgpuError(f"{count!r} VFs: the PF supports 1..{info.total_vfs}")
        try:
            ctl.enable(count)
        except PciError as e:
            raise VgpuError(f"{self.name}: {e}") from None
        return self.vfs()

    def disable_vfs(self) -> None:
        """Remove the VFs (SR-IOV: VF Enable off, 1 s, NumVFs 0)."""
        try:
            self._sriov().disable()
        except PciError as e:
            raise VgpuError(f"{self.name}: {e}") from None

    def total_vfs(self) -> int:
        return self._sriov().info().total_vfs

    def vfs(self) -> list[Vf]:
        """The enabled VFs, numbered from 1."""
        from ...gsp.boot import system_info
        from ...pci.sriov import bdf_of

        ctl = self._sriov()
        info = ctl.info()
        if not info.vf_enabled:
            return []
        with self._gpu() as gpu:
            pf = system_info(gpu.dev).pci_bdf  # what SET_SYSTEM_INFO told GSP-RM (nvDomainBusDeviceFunc)
            domain = _domain(gpu.dev.name)
        out = []
        for i in range(info.num_vfs):
            rid = info.vf_routing_id(pf, i)
            out.append(Vf(i + 1, i + V.GFID_OF_FIRST_VF, bdf_of(domain, rid), domain << 16 | rid))
        return out

    # -- lifetime --------------------------------------------------------------------------------------------------

    def resources(self) -> list[str]:
        """What the ops hold now, newest last."""
        return [r.what for r in self._scope.live()]

    def close(self) -> list[NovaError]:
        """Release everything, newest first (idempotent); returns what the releases raised."""
        self.closed = True
        with self._lock:
            self._handle = None
        return self._scope.revoke(f"the vGPU ops of {self.name} were closed")


def pack_bootload(abi: GspAbi, p: BootloadParams, engines: int) -> bytes:
    """``p`` as the bytes of ``abi``'s ``NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS``
    (``ctrl2080vgpumgrinternal.h``: 0x1960 bytes in 535.113.01, 0x1978 in 550.163.01, 0x19d8 in 570.144), the
    chid offset set for every engine of the ``engines`` bitmap, MIG fields 0.

    Raises:
        VgpuError: a value the version's block cannot hold (an engine past its chidOffset slots, too many FB
            segments, a kernel log before r570, a number too large for its field).
    """
    name = "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS"
    block = abi.build(name)
    fields = set(abi.fields(name))
    slots = len(block.chidOffset)
    if engines >> slots:
        raise VgpuError(f"engine bitmap {engines:#x} has engines beyond the {slots} chidOffset slots of "
                        f"{abi.version}")
    segs = list(p.fb_segments)
    if not 1 <= len(segs) <= len(block.guestFbPhysAddrList):
        raise VgpuError(f"{len(segs)} guest FB segment(s): 1..{len(block.guestFbPhysAddrList)}")
    if not 0 <= p.chid_offset <= 0xFFFFFFFF or any(not (0 <= a < 1 << 64 and 0 <= n < 1 << 64) for a, n in segs):
        raise VgpuError(f"BOOTLOAD parameters: chid offset {p.chid_offset} or a guest FB segment out of range of its "
                        f"field")
    if p.kernel_log is not None and "kernelLogBuffOffset" not in fields:
        raise VgpuError(f"GSP-RM {abi.version} takes no kernel log buffer (kernelLogBuff* are r570's)")
    values: dict[str, Any] = {
        "dbdf": p.dbdf, "gfid": p.gfid, "vgpuType": p.vgpu_type, "vmPid": p.vm_pid, "swizzId": 0,
        "numChannels": p.num_channels, "numPluginChannels": p.num_plugin_channels,
        "bDisableDefaultSmcExecPartRestore": 0, "numGuestFbSegments": len(segs),
        "pluginHeapMemoryPhysAddr": p.heap_addr, "pluginHeapMemoryLength": p.heap_size,
        "ctrlBuffOffset": p.ctrl_buff_offset,
        "initTaskLogBuffOffset": p.init_task_log[0], "initTaskLogBuffSize": p.init_task_log[1],
        "vgpuTaskLogBuffOffset": p.vgpu_task_log[0], "vgpuTaskLogBuffSize": p.vgpu_task_log[1],
        "bDeviceProfilingEnabled": int(p.device_profiling)}
    if p.kernel_log is not None:
        values["kernelLogBuffOffset"], values["kernelLogBuffSize"] = p.kernel_log
    try:
        block = abi.build(name, **values)
    except (NovaError, ValueError, TypeError) as e:
        raise VgpuError(f"BOOTLOAD parameters: {e}") from None
    for i in range(slots):
        if engines >> i & 1:
            block.chidOffset[i] = p.chid_offset
    for i, (addr, length) in enumerate(segs):
        block.guestFbPhysAddrList[i] = addr
        block.guestFbLengthList[i] = length
    return bytes(block)


RM_CTRL_MAX_PARAMS = 0x80000  #: the largest parameter block (PGPU_ADD_VGPU_TYPE's 0x51a08 in r570 fits)


@dataclass(frozen=True)
class _ChidBlock:
    first: int
    count: int


def _free_mem(mem: VgpuMem) -> None:
    try:
        if mem.bar1 is not None:
            bar1, mem.bar1 = mem.bar1, None
            bar1.unmap()
    finally:
        if not mem.bo.freed:  # the base-API handle's own revocation may have freed it first
            mem.bo.free()


def _domain(name: str) -> int:
    """The PCI domain of a device named by its address (0 for the simulated GPU)."""
    head = name.split(":", maxsplit=1)[0]
    try:
        return int(head, 16) if name.count(":") == 2 else 0
    except ValueError:
        return 0
