"""nova_core.sim.gsp_rm.vgpu: the simulated GSP-RM's side of vGPU - its type table, the VMMU segment, plugin tasks.

Registered into the object table (:mod:`.objects`) when GSP-RM boots on a chip with a vGPU type table (the chips of
:data:`~nova_core.gpu.chips.VGPU_BOARDS`). NVIDIA's vGPU stack, and what of it this models:

- **the type table.** On NVIDIA's stack the vGPU types come from the vGPU host package (``vgpuConfig.xml``): the
  host daemon hands them to the kernel RM (NVA081_CTRL_CMD_VGPU_CONFIG_SET_INFO), which passes them on to GSP-RM
  as ``NVA081_CTRL_VGPU_INFO`` records in NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE (OpenRM
  ``kvgpumgrSendAllVgpuTypesToGsp``, 570.144 ``kernel_vgpu_mgr.c``; the RFC "Introduce NVIDIA GPU Virtualization
  (vGPU) Support" uploads them with its ``add_vgpu_info`` op). Here the simulated GSP-RM keeps the table of its
  board (:data:`TYPE_TABLES`) and *serves* it: :meth:`VgpuRm.type_infos` gives the table NVA081-encoded in the
  running version's layout (the vGPU host package's role - a driver gets it through the simulated device, never by
  importing this module); PGPU_ADD_VGPU_TYPE is then checked against it (an unknown type id, or a record whose
  name, class, limits or sizes differ from the table's, is refused);
- **NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE** (a ROUTE_TO_PHYSICAL control: GSP-RM answers it): :data:`VMMU_SEGMENT`;
- **NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK** (``ctrl2080vgpumgrinternal.h``): the parameter
  block must be the running version's exact size (``NV_ERR_INVALID_PARAM_STRUCT``) with its padding zero, and say
  what :meth:`VgpuRm._check_bootload` lists - a VF that exists, its routing id as ``dbdf``, a type GSP-RM was given
  with an instance left, the type's channel count at one chid offset for every engine of the device info table (and
  0 for the others), ids neither held by another vGPU nor by a channel of the PF, one guest FB segment of the
  type's guest FB length (OpenRM's formula, :func:`guest_fb_length`), VMMU-segment aligned, in VRAM GSP-RM neither
  reserves nor protects, overlapping no other vGPU; the plugin heap of the type's ``gspHeapSize``, and the control
  buffer and log buffers inside it where the RFC's ``init_gsp_rm_constraints`` puts them (``dev_vgpu_gsp.h``: the
  communication buffer, then the init-task log (128 KiB), the vGPU-task log (256 KiB) and, from r570, the kernel
  log (64 KiB)). Refusals are ``NV_ERR_INVALID_ARGUMENT`` (``NV_ERR_STATE_IN_USE`` for a gfid, chid or FB already
  taken; ``NV_ERR_INSUFFICIENT_RESOURCES`` for a type at its maximum), each logged with its reason. Accepted: the
  plugin task "boots" - after :data:`PLUGIN_BOOT_NS` GSP-RM writes ``GSP_PLUGIN_BOOTLOADED`` (0x4E654A6F, the
  RFC's ``dev_vgpu_gsp.h``) into ``message_seq_num`` of the control buffer at the heap's start, which the vGPU
  manager polls through BAR1;
- **SHUTDOWN_GSP_VGPU_PLUGIN_TASK** then **VGPU_PLUGIN_CLEANUP** (``gfid``): shutdown of a running task, cleanup of
  a shut-down one (the RFC's ``nvidia_vgpu_mgr_destroy_vgpu`` order); an unknown gfid is ``NV_ERR_OBJECT_NOT_FOUND``,
  the wrong order ``NV_ERR_INVALID_STATE``. Cleanup returns its chids and FB to GSP-RM's bookkeeping.

A PF channel allocated with a chid inside a running vGPU's range is refused by :mod:`.fifo` (``NV_ERR_STATE_IN_USE``).
Plugin tasks live as long as the GSP-RM life that booted them.

**The sim's own choices** (NVIDIA does not publish them): the type ids (1001.. on the L40, 2001.. on the A40,
3001.. on the L4, 4001.. on the A100), the per-type guest FB lengths (15/16 of the profile, 1 GiB for 1 GiB profiles
- OpenRM carves no per-vGPU reservation out of those), ``gspHeapSize`` (:data:`GSP_HEAP`, one VMMU segment),
``fbReservation`` 0, the heads/resolution/frame-rate fields, the ``vdevId``/``pdevId`` encodings, the VMMU segment
size, the plugin boot latency. The profile names and sizes and the maximum instances follow NVIDIA's published
vGPU profiles of these boards (NVIDIA vGPU software user guide: L40/A40 1Q..48Q with at most 32 vGPUs, L4 1Q..24Q,
A100 80GB 4C..80C); the channel counts are OpenRM's rule for SR-IOV vGPUs, ``nvPrevPow2(hostChannelCount /
maxInstance)`` (570.144 ``kernel_vgpu_mgr.c``), over the FIFO's 2048 ids, written out as literals.
"""

from __future__ import annotations

import collections
import ctypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...engines import facts as F
from ...gpu.chips import VGPU_BOARDS, Chipset
from ...hw.clock import MS
from ...pci import facts as P
from ..engines.host import SimHost
from ..models import pci as sim_pci
from .objects import NV20_SUBDEVICE_0, Client, RmObject

if TYPE_CHECKING:
    from .model import SimGspRm

MiB = 1 << 20
GiB = 1 << 30
VMMU_SEGMENT = 32 * MiB  #: what GET_VMMU_SEGMENT_SIZE answers (NV2080_CTRL_GPU_VMMU_SEGMENT_SIZE_32MB; a sim choice)
GSP_HEAP = 32 * MiB  #: every type's gspHeapSize: the plugin task's heap (a sim choice)
PLUGIN_BOOT_NS = 2 * MS  #: from an accepted BOOTLOAD to GSP_PLUGIN_BOOTLOADED in the control buffer (a sim choice)
GSP_PLUGIN_BOOTLOADED = 0x4E654A6F  #: RFC dev_vgpu_gsp.h: the plugin task is up
CTRL_MESSAGE_SEQ_NUM = 8  #: VGPU_CPU_GSP_CTRL_BUFF_REGION.message_seq_num (after version, message_type)
#: the RFC's init_gsp_rm_constraints: control, response, message (4 KiB each), migration (2 MiB), error (4 KiB)
COMM_BUFFERS = 3 * 4096 + 2 * MiB + 4096
INIT_TASK_LOG = 128 << 10
VGPU_TASK_LOG = 256 << 10
KERNEL_LOG = 64 << 10


@dataclass(frozen=True)
class SimVgpuType:
    """One row of a board's vGPU type table (see the module docstring for which values are the sim's)."""

    type_id: int
    name: str  #: ``vgpuName``, e.g. "NVIDIA L40-4Q"
    vgpu_class: str  #: ``vgpuClass``: "Quadro" (Q profiles) or "Compute" (C profiles)
    profile_size: int  #: bytes of FB the profile is named after
    fb_length: int  #: guest FB (``fbLength``)
    max_instances: int
    channels: int  #: channel ids each vGPU of the type gets
    gsp_heap: int = GSP_HEAP
    fb_reservation: int = 0
    num_heads: int = 4
    max_resolution: tuple[int, int] = (7680, 4320)


def _table(board: str, kind: str, first_id: int, rows: tuple[tuple[int, int, int], ...]) -> tuple[SimVgpuType, ...]:
    """``rows``: (profile GiB, max instances, channels)."""
    cls = {"Q": "Quadro", "C": "Compute"}[kind]
    return tuple(SimVgpuType(first_id + i, f"NVIDIA {board}-{gib}{kind}", cls, gib * GiB,
                             GiB if gib == 1 else gib * GiB // 16 * 15, n, ch,
                             num_heads=4 if kind == "Q" else 1,
                             max_resolution=(7680, 4320) if kind == "Q" else (4096, 2160))
                 for i, (gib, n, ch) in enumerate(rows))


_48GB_Q = ((1, 32, 64), (2, 24, 64), (3, 16, 128), (4, 12, 128), (6, 8, 256), (8, 6, 256), (12, 4, 512),
           (16, 3, 512), (24, 2, 1024), (48, 1, 2048))
#: each vGPU board's types (see the module docstring)
TYPE_TABLES: dict[Chipset, tuple[SimVgpuType, ...]] = {
    Chipset.AD102: _table("L40", "Q", 1001, _48GB_Q),
    Chipset.GA102: _table("A40", "Q", 2001, _48GB_Q),
    Chipset.AD104: _table("L4", "Q", 3001, ((1, 24, 64), (2, 12, 128), (3, 8, 256), (4, 6, 256), (6, 4, 512),
                                            (8, 3, 512), (12, 2, 1024), (24, 1, 2048))),
    Chipset.GA100: _table("A100D", "C", 4001, ((4, 20, 64), (5, 16, 128), (8, 10, 128), (10, 8, 256), (16, 5, 256),
                                               (20, 4, 512), (40, 2, 1024), (80, 1, 2048))),
}


def guest_fb_length(t: SimVgpuType, fb_total: int, segment: int) -> int:
    """The guest FB of a vGPU of type ``t``: OpenRM 570.144 ``kernel_vgpu_mgr.c`` (SR-IOV with GSP-RM) -
    ``min(fbLength, align_down(align_up(fb, 8 * segment) / maxInstance - fbReservation - gspHeapSize, segment))``."""
    total = -(-fb_total // (8 * segment)) * (8 * segment)
    fit = total // t.max_instances - t.fb_reservation - t.gsp_heap
    return min(t.fb_length, fit // segment * segment)


@dataclass
class PluginTask:
    """A vGPU plugin task GSP-RM runs for one VF (``gfid``)."""

    gfid: int
    type_id: int
    chids: tuple[int, int]  #: first, count
    fb: list[tuple[int, int]]  #: guest FB segments (address, length)
    heap: tuple[int, int]  #: plugin heap (address, length)
    client: int  #: the client whose subdevice bootloaded it
    state: str = "running"  #: "running", then "shutdown"
    params: bytes = field(default=b"", repr=False)  #: the BOOTLOAD parameter block as received

    def ranges(self) -> list[tuple[int, int]]:
        return [*self.fb, self.heap]


class VgpuRm:
    """GSP-RM's vGPU side for one :class:`~.model.SimGspRm` (``rm.vgpu``)."""

    def __init__(self, rm: SimGspRm) -> None:
        assert rm.m is not None and rm.objects is not None
        self.rm = rm
        self.m = rm.m
        self.gpu = rm.gpu
        self.objects = rm.objects
        host = rm.gpu.models["fifo"]
        assert isinstance(host, SimHost)
        self.host = host
        board = VGPU_BOARDS.get(self.gpu.chipset)
        #: the table GSP-RM serves: the board's, when this GPU is that board
        self.table: tuple[SimVgpuType, ...] = (TYPE_TABLES.get(self.gpu.chipset, ())
                                               if board is not None and board.pci_device_id == self.gpu.pci_device
                                               else ())
        self.types: dict[int, SimVgpuType] = {}  #: the types GSP-RM was given (PGPU_ADD_VGPU_TYPE)
        self.tasks: dict[int, PluginTask] = {}  #: plugin tasks by gfid
        self.bootloads = 0
        m = self.m
        o = self.objects
        o.control_hooks[int(m.NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE)] = self._ctrl_vmmu_segment
        o.control_hooks[int(m.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE)] = self._ctrl_add_types
        o.control_hooks[int(m.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK)] = self._ctrl_bootload
        o.control_hooks[int(m.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK)] = self._ctrl_shutdown
        o.control_hooks[int(m.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP)] = self._ctrl_cleanup

    # -- what GSP-RM serves ---------------------------------------------------------------------

    def type_infos(self) -> bytes:
        """The table as ``NVA081_CTRL_VGPU_INFO`` records of the running version (see the module docstring)."""
        return b"".join(bytes(self._encode(t)) for t in self.table)

    def _encode(self, t: SimVgpuType) -> Any:
        m = self.m
        info = m.NVA081_CTRL_VGPU_INFO()
        info.vgpuType = t.type_id
        _put_str(info, "vgpuName", t.name)
        _put_str(info, "vgpuClass", t.vgpu_class)
        _put_str(info, "license", "GRID-Virtual-WS,2.0;Quadro-Virtual-DWS,5.0" if t.vgpu_class == "Quadro"
                 else "NVIDIA-vComputeServer,9.0")
        info.maxInstance = t.max_instances
        info.numHeads = t.num_heads
        info.maxResolutionX, info.maxResolutionY = t.max_resolution
        info.maxPixels = t.max_resolution[0] * t.max_resolution[1]
        info.frlConfig = 60 if t.vgpu_class == "Quadro" else 0
        info.cudaEnabled = 1
        info.eccSupported = 1
        board = VGPU_BOARDS[self.gpu.chipset]
        info.vdevId = P.NVIDIA_VENDOR_ID << 48 | board.pci_device_id << 32 | P.NVIDIA_VENDOR_ID << 16 | t.type_id
        info.pdevId = P.NVIDIA_VENDOR_ID << 16 | board.pci_device_id
        info.profileSize = t.profile_size
        info.fbLength = t.fb_length
        info.gspHeapSize = t.gsp_heap
        info.fbReservation = t.fb_reservation
        info.mappableVideoSize = 256 * MiB
        info.bar1Length = 256
        _put_str(info, "adapterName", f"NVIDIA {board.board}")
        _put_str(info, "shortGpuNameString", self.gpu.chipset.name)
        return info

    def _known(self, info: Any) -> tuple[SimVgpuType | None, str]:
        """The table's row for ``info`` and, where ``info`` differs from it, why."""
        t = next((r for r in self.table if r.type_id == int(info.vgpuType)), None)
        if t is None:
            ids = ", ".join(str(r.type_id) for r in self.table) or "none"
            return None, f"vgpuType {info.vgpuType} is not a type of this board (types: {ids})"
        want = self._encode(t)
        for name in ("vgpuName", "vgpuClass", "maxInstance", "profileSize", "fbLength", "gspHeapSize",
                     "fbReservation", "vdevId", "pdevId"):
            got, exp = getattr(info, name), getattr(want, name)
            if not isinstance(got, int):
                got, exp = bytes(got), bytes(exp)
            if got != exp:
                return None, f"vgpuType {t.type_id} ({t.name}): {name} {_show(got)} is not the type's {_show(exp)}"
        return t, ""

    # -- helpers --------------------------------------------------------------------------------

    def _s(self, name: str) -> int:
        return self.objects.s(name)

    def _refuse(self, what: str, status: str, params: bytes) -> tuple[int, bytes]:
        self.rm._refuse(f"{what}: {status}")
        return self._s(status), params

    def _params(self, obj: RmObject, params: bytes, name: str, what: str) -> tuple[int, Any]:
        """The parameter block as ``name`` - exactly its size, as RM's control dispatch demands (paramSize)."""
        if obj.cls != NV20_SUBDEVICE_0:
            self.rm._refuse(f"{what} on an object of class {obj.cls:#x} (a subdevice expected): NV_ERR_NOT_SUPPORTED")
            return self._s("NV_ERR_NOT_SUPPORTED"), None
        cls = getattr(self.m, name)
        size = ctypes.sizeof(cls)
        if len(params) != size:
            self.rm._refuse(f"{what}: {len(params):#x} parameter bytes; {self.rm.version} {name} is {size:#x}: "
                            f"NV_ERR_INVALID_PARAM_STRUCT")
            return self._s("NV_ERR_INVALID_PARAM_STRUCT"), None
        return 0, cls.from_buffer_copy(params)

    def in_use_chids(self) -> list[tuple[int, int, int]]:
        """(first, count, gfid) of every plugin task's channel ids."""
        return [(t.chids[0], t.chids[1], g) for g, t in self.tasks.items()]

    def chid_owner(self, chid: int) -> int | None:
        """The gfid whose vGPU holds ``chid`` (None: no vGPU's)."""
        return next((g for first, n, g in self.in_use_chids() if first <= chid < first + n), None)

    # -- controls -------------------------------------------------------------------------------

    def _ctrl_vmmu_segment(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._params(obj, params, "NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS", "GET_VMMU_SEGMENT_SIZE")
        if status:
            return status, params
        if not self.table:
            return self._refuse("GET_VMMU_SEGMENT_SIZE: this board has no vGPU (no VMMU)", "NV_ERR_NOT_SUPPORTED",
                                params)
        p.vmmuSegmentSize = VMMU_SEGMENT
        return 0, bytes(p)

    def _ctrl_add_types(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        what = "PGPU_ADD_VGPU_TYPE"
        status, p = self._params(obj, params, "NV2080_CTRL_VGPU_MGR_INTERNAL_PGPU_ADD_VGPU_TYPE_PARAMS", what)
        if status:
            return status, params
        if not self.table:
            return self._refuse(f"{what}: this board has no vGPU", "NV_ERR_NOT_SUPPORTED", params)
        count = int(p.vgpuInfoCount)
        if not 1 <= count <= len(p.vgpuInfo):
            return self._refuse(f"{what}: vgpuInfoCount {count} (1..{len(p.vgpuInfo)})", "NV_ERR_INVALID_ARGUMENT",
                                params)
        if p.discardVgpuTypes and self.tasks:
            return self._refuse(f"{what}: discardVgpuTypes while vGPU(s) {sorted(self.tasks)} run",
                                "NV_ERR_STATE_IN_USE", params)
        given: dict[int, SimVgpuType] = {}
        for i in range(count):
            t, why = self._known(p.vgpuInfo[i])
            if t is None:
                return self._refuse(f"{what}: vgpuInfo[{i}]: {why}", "NV_ERR_INVALID_ARGUMENT", params)
            if t.type_id in given:
                return self._refuse(f"{what}: vgpuInfo[{i}]: type {t.type_id} given twice", "NV_ERR_INVALID_ARGUMENT",
                                    params)
            given[t.type_id] = t
        if p.discardVgpuTypes:
            self.types.clear()
        self.types.update(given)
        self.gpu.log.info("gsp-rm", f"{what}: {count} vGPU type(s) ({', '.join(t.name for t in given.values())})")
        return 0, params

    def _ctrl_bootload(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        what = "BOOTLOAD_GSP_VGPU_PLUGIN_TASK"
        status, p = self._params(obj, params, "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS",
                                 what)
        if status:
            return status, params
        problem = self._check_bootload(p, params)
        if problem is not None:
            why, code = problem
            return self._refuse(f"{what} gfid {p.gfid}: {why}", code, params)
        gfid = int(p.gfid)
        t = self.types[int(p.vgpuType)]
        nseg = int(p.numGuestFbSegments)
        heap = (int(p.pluginHeapMemoryPhysAddr), int(p.pluginHeapMemoryLength))
        first = collections.Counter(int(p.chidOffset[e]) for e in self._engines()).most_common(1)[0][0]
        task = PluginTask(gfid, t.type_id, (first, int(p.numChannels)),
                          [(int(p.guestFbPhysAddrList[i]), int(p.guestFbLengthList[i])) for i in range(nseg)],
                          heap, client.handle, params=params)
        self.tasks[gfid] = task
        self.bootloads += 1
        ctrl = heap[0] + int(p.ctrlBuffOffset)
        self.rm.clock.call_later(PLUGIN_BOOT_NS, lambda: self._booted(task, ctrl))
        self.gpu.log.info("gsp-rm", f"{what}: gfid {gfid} ({t.name}): channels {task.chids[0]}..."
                                    f"{task.chids[0] + task.chids[1] - 1}, FB {task.fb[0][0]:#x} +{task.fb[0][1]:#x}, "
                                    f"heap {heap[0]:#x} +{heap[1]:#x}")
        return 0, params

    def _booted(self, task: PluginTask, ctrl: int) -> None:
        """Timer: the plugin task is up - GSP_PLUGIN_BOOTLOADED in the control buffer's message_seq_num."""
        if self.tasks.get(task.gfid) is not task or task.state != "running" or self.rm.vgpu is not self:
            return
        self.gpu.vram.write(ctrl + CTRL_MESSAGE_SEQ_NUM, GSP_PLUGIN_BOOTLOADED.to_bytes(4, "little"))
        self.gpu.log.info("gsp-rm", f"vGPU plugin task of gfid {task.gfid} bootloaded")

    def _engines(self) -> list[int]:
        """The RM engine types of the device info table (the chidOffset entries a bootload must set)."""
        return [e.rm_engine_type for e in self.host.engines]

    def _vf_rid(self, gfid: int) -> int | None:
        """The routing id of VF ``gfid`` (VF index gfid - 1) from the PF's SR-IOV capability; None: no such VF."""
        pci = self.gpu.models.get("pci")
        if not isinstance(pci, sim_pci.SimPciFunction) or pci.vfs.get(gfid - 1) is None:
            return None
        info = self.rm.system_info
        pf = int(info.nvDomainBusDeviceFunc) if info is not None else 0
        off = int.from_bytes(pci.image[sim_pci.OFF_SRIOV + P.SRIOV_VF_OFFSET:sim_pci.OFF_SRIOV + P.SRIOV_VF_OFFSET + 2],
                             "little")
        stride = int.from_bytes(pci.image[sim_pci.OFF_SRIOV + P.SRIOV_VF_STRIDE:
                                          sim_pci.OFF_SRIOV + P.SRIOV_VF_STRIDE + 2], "little")
        return (pf & 0xFFFF) + off + (gfid - 1) * stride

    def _check_bootload(self, p: Any, raw: bytes) -> tuple[str, str] | None:
        """Why the BOOTLOAD parameter block ``p`` is refused (reason, NV_STATUS name), or None."""
        bad = "NV_ERR_INVALID_ARGUMENT"
        for name, _ctype in type(p)._fields_:
            if name.startswith("_pad") and any(bytes(getattr(p, name))):
                return f"padding {name} is not zero (the block is not laid out as {self.rm.version}'s)", bad
        gfid = int(p.gfid)
        if gfid in self.tasks:
            return f"a plugin task already runs for gfid {gfid} ({self.tasks[gfid].state})", "NV_ERR_STATE_IN_USE"
        rid = self._vf_rid(gfid) if gfid >= 1 else None
        if rid is None:
            pci = self.gpu.models.get("pci")
            n = len(pci.vfs) if isinstance(pci, sim_pci.SimPciFunction) else 0
            return f"no VF {gfid} (gfid is the VF index + 1; {n} VF(s) enabled)", bad
        if int(p.dbdf) != rid:
            return f"dbdf {p.dbdf:#x} is not VF {gfid}'s routing id {rid:#x}", bad
        t = self.types.get(int(p.vgpuType))
        if t is None:
            given = ", ".join(str(i) for i in self.types) or "none"
            return f"vgpuType {p.vgpuType} was not given with PGPU_ADD_VGPU_TYPE (given: {given})", bad
        running = sum(1 for x in self.tasks.values() if x.type_id == t.type_id)
        if running >= t.max_instances:
            return f"{t.name}: {running} vGPU(s) of at most {t.max_instances} run", "NV_ERR_INSUFFICIENT_RESOURCES"
        if p.swizzId != 0 or p.bDisableDefaultSmcExecPartRestore:
            return f"swizzId {p.swizzId} / bDisableDefaultSmcExecPartRestore set: MIG is not modelled", bad
        n = int(p.numChannels)
        if n != t.channels or not 1 <= int(p.numPluginChannels) <= n:
            return (f"numChannels {n} / numPluginChannels {p.numPluginChannels}: {t.name} has {t.channels} "
                    f"channels, of which 1..{t.channels} for the plugin"), bad
        engines = self._engines()
        # the offset most engines name is the block's; an engine naming another one is the one that is wrong
        first = collections.Counter(int(p.chidOffset[e]) for e in engines).most_common(1)[0][0]
        for i in range(len(p.chidOffset)):
            want = first if i in engines else 0
            if int(p.chidOffset[i]) != want:
                return (f"chidOffset[{i}] = {p.chidOffset[i]}: every engine of the device info table "
                        f"({', '.join(map(str, engines))}) takes the one offset {first}, the others 0"), bad
        if first + n > F.CHIDS:
            return f"channel ids {first}..{first + n - 1} are not below {F.CHIDS}", bad
        for other_first, other_n, g in self.in_use_chids():
            if first < other_first + other_n and other_first < first + n:
                return f"channel ids {first}..{first + n - 1} overlap gfid {g}'s", "NV_ERR_STATE_IN_USE"
        with self.host.lock:
            taken = sorted(c for c in self.host.channels if first <= c < first + n)
        if taken:
            return f"channel ids {first}..{first + n - 1} hold PF channel(s) {taken[:8]}", "NV_ERR_STATE_IN_USE"
        nseg = int(p.numGuestFbSegments)
        if not 1 <= nseg <= len(p.guestFbPhysAddrList):
            return f"numGuestFbSegments {nseg} (1..{len(p.guestFbPhysAddrList)})", bad
        segs = [(int(p.guestFbPhysAddrList[i]), int(p.guestFbLengthList[i])) for i in range(nseg)]
        if any(int(p.guestFbPhysAddrList[i]) or int(p.guestFbLengthList[i])
               for i in range(nseg, len(p.guestFbPhysAddrList))):
            return f"guest FB entries past numGuestFbSegments {nseg} are not zero", bad
        want_fb = guest_fb_length(t, self.gpu.vram.size, VMMU_SEGMENT)
        if sum(s for _, s in segs) != want_fb:
            return (f"guest FB of {sum(s for _, s in segs):#x} bytes; {t.name} gets {want_fb:#x} (its fbLength "
                    f"{t.fb_length:#x}, at most the per-instance share of VRAM)"), bad
        for a, s in segs:
            if a % VMMU_SEGMENT or s % VMMU_SEGMENT or not s:
                return f"guest FB segment {a:#x} +{s:#x} is not VMMU-segment ({VMMU_SEGMENT:#x}) aligned", bad
        heap = (int(p.pluginHeapMemoryPhysAddr), int(p.pluginHeapMemoryLength))
        if heap[1] != t.gsp_heap or heap[0] % 4096:
            return (f"plugin heap {heap[0]:#x} +{heap[1]:#x}: {t.name}'s gspHeapSize is {t.gsp_heap:#x}, "
                    f"4 KiB aligned"), bad
        mine = [*segs, heap]
        for i, (a, s) in enumerate(mine):
            what = "plugin heap" if i == len(segs) else f"guest FB segment {i}"
            why = self._vram_problem(a, s)
            if why is not None:
                return f"{what} {a:#x} +{s:#x}: {why}", bad
            for j, (b, u) in enumerate(mine[:i]):
                if a < b + u and b < a + s:
                    return f"{what} {a:#x} +{s:#x} overlaps its own range {j}", bad
            for g, task in self.tasks.items():
                if any(a < b + u and b < a + s for b, u in task.ranges()):
                    return f"{what} {a:#x} +{s:#x} overlaps gfid {g}'s memory", "NV_ERR_STATE_IN_USE"
        logs = [("init-task log", int(p.initTaskLogBuffOffset), int(p.initTaskLogBuffSize), INIT_TASK_LOG),
                ("vGPU-task log", int(p.vgpuTaskLogBuffOffset), int(p.vgpuTaskLogBuffSize), VGPU_TASK_LOG)]
        if hasattr(p, "kernelLogBuffOffset"):
            logs.append(("kernel log", int(p.kernelLogBuffOffset), int(p.kernelLogBuffSize), KERNEL_LOG))
        if int(p.ctrlBuffOffset) != 0:
            return f"ctrlBuffOffset {p.ctrlBuffOffset:#x}: the control buffer opens the plugin heap (0)", bad
        at = heap[0] + COMM_BUFFERS
        for name, off, size, want in logs:
            if (off, size) != (at, want):
                return (f"{name} at {off:#x} +{size:#x}: expected {at:#x} +{want:#x} (the plugin heap, after the "
                        f"communication buffers and the logs before it)"), bad
            at += want
        if at > heap[0] + heap[1]:
            return f"the log buffers end at {at:#x}, past the plugin heap's end {heap[0] + heap[1]:#x}", bad
        if hasattr(p, "migRmHeapMemoryPhysAddr") and (p.migRmHeapMemoryPhysAddr or p.migRmHeapMemoryLength):
            return "migRmHeapMemory set: MIG is not modelled", bad
        return None

    def _vram_problem(self, addr: int, size: int) -> str | None:
        """Why ``[addr, addr + size)`` is not VRAM GSP-RM leaves to its clients (None: it is)."""
        if addr < 0 or size <= 0 or addr + size > self.gpu.vram.size:
            return f"outside the {self.gpu.vram.size:#x} bytes of VRAM"
        plan = self.rm.plan
        for r in plan.regions if plan is not None else ():
            if (r.reserved or r.protected) and addr < r.end and r.base < addr + size:
                kind = "protected" if r.protected else "reserved"
                return f"overlaps GSP-RM's {kind} region {r.name} [{r.base:#x}, {r.end:#x})"
        return None

    def _ctrl_shutdown(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        return self._gfid_control("SHUTDOWN_GSP_VGPU_PLUGIN_TASK", obj, params, running=True)

    def _ctrl_cleanup(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        return self._gfid_control("VGPU_PLUGIN_CLEANUP", obj, params, running=False)

    def _gfid_control(self, what: str, obj: RmObject, params: bytes, *, running: bool) -> tuple[int, bytes]:
        """SHUTDOWN (of a ``running`` task) or CLEANUP (of a shut-down one): both take ``{gfid}``."""
        struct = ("NV2080_CTRL_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK_PARAMS" if running else
                  "NV2080_CTRL_VGPU_MGR_INTERNAL_VGPU_PLUGIN_CLEANUP_PARAMS")
        status, p = self._params(obj, params, struct, what)
        if status:
            return status, params
        task = self.tasks.get(int(p.gfid))
        if task is None:
            return self._refuse(f"{what}: no plugin task for gfid {p.gfid}", "NV_ERR_OBJECT_NOT_FOUND", params)
        if running and task.state != "running":
            return self._refuse(f"{what}: gfid {p.gfid}'s plugin task is already shut down", "NV_ERR_INVALID_STATE",
                                params)
        if not running and task.state == "running":
            return self._refuse(f"{what}: gfid {p.gfid}'s plugin task still runs (SHUTDOWN first)",
                                "NV_ERR_INVALID_STATE", params)
        if running:
            task.state = "shutdown"
            self.gpu.log.info("gsp-rm", f"{what}: gfid {p.gfid}")
        else:
            del self.tasks[task.gfid]
            self.gpu.log.info("gsp-rm", f"{what}: gfid {p.gfid}: its channels and FB are free again")
        return 0, params


def _put_str(obj: Any, name: str, text: str) -> None:
    raw = text.encode()
    field_ = getattr(type(obj), name)
    if len(raw) >= field_.size // ctypes.sizeof(getattr(obj, name)._type_):
        raise ValueError(f"{name}: {text!r} does not fit")
    ctypes.memmove(ctypes.addressof(obj) + field_.offset, raw, len(raw))


def _show(v: object) -> str:
    if isinstance(v, bytes):
        return repr(v.rstrip(b"\0").decode(errors="replace"))
    return f"{v:#x}" if isinstance(v, int) else repr(v)
