"""nova_core.sim.gsp_rm.fifo: the simulated GSP-RM's FIFO - VA spaces, channel groups, channels, copy-engine objects.

Registered into the object table (:mod:`.objects`) when GSP-RM boots. What it answers, with NVIDIA's parameter
layouts from the bindings of the running version, and what it refuses (NV_STATUS names; every refusal logged):

**FERMI_VASPACE_A** (``NV_VASPACE_ALLOCATION_PARAMETERS``) under a device: index GPU_NEW only (the others,
which reference spaces RM owns, are not modelled: ``NV_ERR_NOT_SUPPORTED``). The driver owns the page tables and
writes each channel's instance-block page directory itself (nouveau ``r535_mmu_promote_vmm`` /
``gv100_vmm_join``).

**KEPLER_CHANNEL_GROUP_A** (``NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS``) under a device: ``engineType`` (an
NV2080_ENGINE_TYPE) must name an engine of the device info table; ``hVASpace`` 0 or a FERMI_VASPACE_A of the
client.

**GPFIFO channel** (the chip's class; ``NV_CHANNEL_ALLOC_PARAMS``) under a channel group or a device (nouveau
allocates under the device): the engine as the group's; ``hVASpace`` a FERMI_VASPACE_A (the group's, when it
has one); ``gpFifoEntries`` a power of two (2..2^20) and ``gpFifoOffset`` 8-byte aligned, the ring below 1 TiB;
the channel id chosen by the client as OpenRM's CPU side does for GSP (``NVOS04_FLAGS_CHANNEL_USERD_INDEX_PAGE
_FIXED`` TRUE, id = page * 8 + index, below 2048 and unused: ``NV_ERR_INVALID_ARGUMENT`` /
``NV_ERR_STATE_IN_USE``); ``instanceMem`` 4 KiB-aligned video memory of at least 4 KiB, ``ramfcMem`` its first
0x200 bytes; ``userdMem`` 512-byte aligned; ``mthdbufMem`` at least the size
NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE reports; the error notifier type NONE or MEMORY (CTXDMA is not
modelled), a MEMORY notifier at least one NvNotification, in mapped system memory or in VRAM. Then GSP-RM
writes the RAMFC into the instance block (the layout nouveau's pre-GSP ``gv100_fifo_gpfifo_new_`` writes:
USERD, signature 0xFACE, GPFIFO base and LIMIT2, CHID, the method buffer at 0x220) and the channel appears in
the simulated host (:mod:`nova_core.sim.engines.host`), neither bound nor scheduled.

**Copy-engine object** (the chip's CE class; ``NVB0B5_ALLOCATION_PARAMETERS``) under a channel of a copy engine:
version 1 with ``engineType`` the channel's (version 0: the channel's engine). SET_OBJECT of that class is then
accepted on the channel.

**Controls**: NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE (the host's engines, 32 per call from ``baseIndex``,
``bMore``; engineData filled: RM_ENGINE_TYPE, RUNLIST, FIFO_TAG, INSTANCE_ID, MMU_FAULT_ID, IS_HOST_DRIVEN_ENGINE,
and on Ampere and later RUNLIST_PRI_BASE / CHRAM_PRI_BASE - sim-chosen addresses; ENG_DESC, RESET, INTR, MC,
DEV_TYPE_ENUM stay 0: not modelled), NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE (nouveau's pre-GSP formula
27 * 5 * (13 * PCEs + 2) bytes, page-rounded, with :data:`PCES` physical copy engines - a sim choice),
NVA06F_CTRL_CMD_BIND (``engineType`` must be the channel's), NVA06F_CTRL_CMD_GPFIFO_SCHEDULE on a channel and
NVA06C_CTRL_CMD_GPFIFO_SCHEDULE on a group (every channel bound first: ``NV_ERR_INVALID_STATE``),
NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN on a bound channel (Turing: RUNLIST_ID << 16 | chid, as OpenRM's
kfifoGenerateWorkSubmitTokenHal_TU102; GA100 and later: the channel id only - GSP-RM's internal token - to which
the driver adds the runlist, as tinygrad documents). A control on an object of the wrong class:
``NV_ERR_NOT_SUPPORTED``.

**Robust-channel recovery**: when the host stops a channel, GSP-RM writes the channel's error notifier
(NvNotification 0: the time, info32 = the ROBUST_CHANNEL_* code, info16 = the NV2080 engine type, status
0xFFFF, as OpenRM ``notifyFillNvNotification`` / ``krcErrorSendEventNotifications``), sends MMU_FAULT_QUEUED
(empty, as nouveau expects) for an MMU fault, then RC_TRIGGERED (``rpc_rc_triggered_v``: engine, chid,
exceptType, scope CHANNEL; r550 adds gfid 0; r570 exceptLevel FATAL, the fault address and FAULT_TYPE). The
channel stays allocated, errored, until the client frees it.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...engines import facts as F
from ...gpu.chips import Architecture
from ..engines.errors import ChannelStop
from ..engines.host import SimChannel, SimHost
from ..models.fb import FbModel
from ..models.mmu import SYS, VID
from .objects import NV01_DEVICE_0, NV20_SUBDEVICE_0, Client, RmObject

if TYPE_CHECKING:
    from .model import SimGspRm

PCES = 4  #: physical copy engines behind the method-buffer size (a sim choice)
RUNLIST_PRI_BASE = 0x00020000  #: the sim's NV_RUNLIST base of runlist 0 (Ampere+); runlist n at + n * 0x400
CHRAM_PRI_BASE = 0x00040000  #: the sim's NV_CHRAM base of runlist 0 (Ampere+); runlist n at + n * 0x2000
GPFIFO_MAX_ENTRIES = 1 << 20


@dataclass
class VaSpaceState:
    index: int
    flags: int


@dataclass
class GroupState:
    engine: int  #: NV2080_ENGINE_TYPE
    h_vaspace: int
    scheduled: bool = False
    channels: set[int] = field(default_factory=set)


@dataclass
class ChannelState:
    chid: int
    engine: int  #: NV2080_ENGINE_TYPE
    group: int | None  #: handle of the channel group (None: allocated under the device)
    notifier: tuple[str, int, int] | None  #: (space, address, size) of the error notifier


@dataclass
class ChannelObjectState:
    """An engine object under a channel (a copy-engine object here; the GR classes of :mod:`.gr`): freeing it unbinds
    its class from the channel's subchannels."""

    channel: int  #: handle of the channel it is under


class FifoRm:
    """GSP-RM's FIFO objects for one :class:`~.model.SimGspRm` (``rm.fifo``)."""

    def __init__(self, rm: SimGspRm) -> None:
        assert rm.m is not None and rm.objects is not None
        self.rm = rm
        self.m = rm.m
        self.gpu = rm.gpu
        host = rm.gpu.models["fifo"]
        assert isinstance(host, SimHost)
        self.host = host
        self.objects = rm.objects
        self.classes = F.classes_for(rm.gpu.chipset)
        self.ampere_plus = rm.gpu.chipset.architecture is not Architecture.TURING
        self.rc_events: list[tuple[int, int, int]] = []  #: (chid, exceptType, nv2080 engine) reported
        o = self.objects
        o.alloc_hooks[F.FERMI_VASPACE_A] = self._alloc_vaspace
        o.alloc_hooks[F.KEPLER_CHANNEL_GROUP_A] = self._alloc_group
        for cls in self.classes.gpfifo_all:
            o.alloc_hooks[cls] = self._alloc_channel
        o.alloc_hooks[self.classes.copy] = self._alloc_ce
        m = self.m
        o.control_hooks[int(m.NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE)] = self._ctrl_device_info
        o.control_hooks[int(m.NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE)] = self._ctrl_mthdbuf_size
        o.control_hooks[int(m.NVA06F_CTRL_CMD_BIND)] = self._ctrl_bind
        o.control_hooks[int(m.NVA06F_CTRL_CMD_GPFIFO_SCHEDULE)] = self._ctrl_channel_schedule
        o.control_hooks[int(m.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE)] = self._ctrl_group_schedule
        o.control_hooks[int(m.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN)] = self._ctrl_work_submit_token
        o.free_hooks.append(self._freed)
        host.error_sink = self._channel_error
        # channels of an earlier GSP-RM boot of this GPU are gone with it
        with host.lock:
            host.channels.clear()

    # -- helpers ----------------------------------------------------------------------------------

    def _s(self, name: str) -> int:
        return self.objects.s(name)

    def _refuse(self, what: str, status: str) -> tuple[int, Any]:
        self.rm._refuse(f"{what}: {status}")
        return self._s(status), None

    def _params(self, name: str, params: bytes) -> Any:
        cls = getattr(self.m, name)
        if len(params) < ctypes.sizeof(cls):
            return None
        return cls.from_buffer_copy(params[:ctypes.sizeof(cls)])

    def method_buffer_size(self) -> int:
        """NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE's answer."""
        size = 27 * 5 * ((9 + 1 + 3) * PCES + 2)
        return (size + 0xFFF) & ~0xFFF

    def rm_engine(self, nv2080: int) -> int | None:
        """RM_ENGINE_TYPE of an NV2080_ENGINE_TYPE the host has (GR0 and COPY0..9 have the same numbers)."""
        gr0, copy0 = int(self.m.NV2080_ENGINE_TYPE_GR0), int(self.m.NV2080_ENGINE_TYPE_COPY0)
        if nv2080 != gr0 and not copy0 <= nv2080 < copy0 + F.CE_MAX_INSTANCES:
            return None
        return nv2080 if self.host.engine_slot(nv2080) is not None else None

    def _memory_problem(self, what: str, desc: Any, *, min_size: int, align: int,
                        vram_only: bool = False) -> str | None:
        space = int(desc.addressSpace)
        base, size = int(desc.base), int(desc.size)
        if space == F.MemorySpace.FBMEM:
            if base % align or size < min_size or base + size > self.gpu.vram.size:
                return (f"{what} [{base:#x}, +{size:#x}) in video memory: {align:#x}-byte aligned, at least "
                        f"{min_size:#x} bytes, inside the {self.gpu.vram.size:#x} bytes of VRAM needed")
            fb = self.gpu.models.get("fb")
            why = fb.ownership_problem(base, size) if isinstance(fb, FbModel) else None
            if why is not None:  # as UPDATE_BAR_PDE's tables: the client's memory is VRAM GSP-RM left it
                return f"{what} [{base:#x}, +{size:#x}) is not the client's VRAM: {why}"
            return None
        if space == F.MemorySpace.SYSMEM and not vram_only:
            buf = self.gpu.sysmem.find(base)
            if base % align or size < min_size or buf is None or self.gpu.sysmem.find(base + min_size - 1) is None:
                return (f"{what} [{base:#x}, +{size:#x}) in system memory: {align:#x}-byte aligned, at least "
                        f"{min_size:#x} bytes, mapped by the IOMMU needed")
            return None
        kinds = "ADDR_FBMEM (2)" if vram_only else "ADDR_SYSMEM (1) or ADDR_FBMEM (2)"
        return f"{what}: addressSpace {space}, {kinds} expected"

    # -- allocations ------------------------------------------------------------------------------

    def _alloc_vaspace(self, client: Client, parent: RmObject, h: int, cls: int, params: bytes) -> tuple[int, Any]:
        if parent.cls != NV01_DEVICE_0:
            return self._refuse(f"FERMI_VASPACE_A {h:#x} under class {parent.cls:#x} (a device expected)",
                                "NV_ERR_INVALID_OBJECT_PARENT")
        p = self._params("NV_VASPACE_ALLOCATION_PARAMETERS", params)
        if p is None:
            return self._refuse(f"FERMI_VASPACE_A {h:#x}: {len(params)} parameter bytes", "NV_ERR_INVALID_PARAM_STRUCT")
        if p.index != int(self.m.NV_VASPACE_ALLOCATION_INDEX_GPU_NEW):
            return self._refuse(f"FERMI_VASPACE_A {h:#x}: index {p.index} (only GPU_NEW is modelled)",
                                "NV_ERR_NOT_SUPPORTED")
        return 0, VaSpaceState(int(p.index), int(p.flags))

    def _vaspace_ok(self, client: Client, h: int) -> bool:
        o = client.objects.get(h)
        return o is not None and o.cls == F.FERMI_VASPACE_A

    def _alloc_group(self, client: Client, parent: RmObject, h: int, cls: int, params: bytes) -> tuple[int, Any]:
        if parent.cls != NV01_DEVICE_0:
            return self._refuse(f"KEPLER_CHANNEL_GROUP_A {h:#x} under class {parent.cls:#x} (a device expected)",
                                "NV_ERR_INVALID_OBJECT_PARENT")
        p = self._params("NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS", params)
        if p is None:
            return self._refuse(f"KEPLER_CHANNEL_GROUP_A {h:#x}: {len(params)} parameter bytes",
                                "NV_ERR_INVALID_PARAM_STRUCT")
        if self.rm_engine(int(p.engineType)) is None:
            return self._refuse(f"KEPLER_CHANNEL_GROUP_A {h:#x}: engineType {p.engineType:#x} is not an engine of "
                                f"this GPU", "NV_ERR_INVALID_ARGUMENT")
        if p.hVASpace and not self._vaspace_ok(client, int(p.hVASpace)):
            return self._refuse(f"KEPLER_CHANNEL_GROUP_A {h:#x}: hVASpace {p.hVASpace:#x} is not a FERMI_VASPACE_A "
                                f"of client {client.handle:#x}", "NV_ERR_INVALID_OBJECT_HANDLE")
        return 0, GroupState(int(p.engineType), int(p.hVASpace))

    def _alloc_channel(self, client: Client, parent: RmObject, h: int, cls: int, params: bytes) -> tuple[int, Any]:
        what = f"{F.CLASS_NAMES.get(cls, hex(cls))} {h:#x}"
        group: GroupState | None = None
        if parent.cls == F.KEPLER_CHANNEL_GROUP_A:
            group = parent.data
        elif parent.cls != NV01_DEVICE_0:
            return self._refuse(f"{what} under class {parent.cls:#x} (a channel group or a device expected)",
                                "NV_ERR_INVALID_OBJECT_PARENT")
        p = self._params("NV_CHANNEL_ALLOC_PARAMS", params)
        if p is None:
            return self._refuse(f"{what}: {len(params)} parameter bytes", "NV_ERR_INVALID_PARAM_STRUCT")
        engine = int(p.engineType)
        rm_engine = self.rm_engine(engine)
        if rm_engine is None:
            return self._refuse(f"{what}: engineType {engine:#x} is not an engine of this GPU",
                                "NV_ERR_INVALID_ARGUMENT")
        if group is not None and group.engine != engine:
            return self._refuse(f"{what}: engineType {engine:#x}, but its group runs engine {group.engine:#x}",
                                "NV_ERR_INVALID_ARGUMENT")
        hvas = int(p.hVASpace)
        if not self._vaspace_ok(client, hvas) or (group is not None and group.h_vaspace not in (0, hvas)):
            return self._refuse(f"{what}: hVASpace {hvas:#x} is not a FERMI_VASPACE_A of the client (or not its "
                                f"group's)", "NV_ERR_INVALID_OBJECT_HANDLE")
        entries, base = int(p.gpFifoEntries), int(p.gpFifoOffset)
        if entries < 2 or entries > GPFIFO_MAX_ENTRIES or entries & (entries - 1) or base == 0 or base & 7 or (
                base + entries * F.GP_ENTRY_SIZE > F.GP_ENTRY_MAX_ADDRESS):
            return self._refuse(f"{what}: GPFIFO of {entries} entries at {base:#x} (a power of two 2..2^20, 8-byte "
                                f"aligned, below 1 TiB)", "NV_ERR_INVALID_ARGUMENT")
        flags = F.Nvos04Flags.decode(int(p.flags))
        if not flags["channel_userd_index_page_fixed"] or flags["channel_userd_index_fixed"]:
            return self._refuse(f"{what}: flags {p.flags:#x}: the channel id must be fixed by USERD_INDEX_PAGE_FIXED "
                                f"(the GSP client's choice; RM-chosen ids are not modelled)", "NV_ERR_NOT_SUPPORTED")
        chid = flags["channel_userd_index_page_value"] * F.USERD_PER_PAGE + flags["channel_userd_index_value"]
        if chid >= F.CHIDS:
            return self._refuse(f"{what}: channel id {chid} is not below {F.CHIDS}", "NV_ERR_INVALID_ARGUMENT")
        if chid in self.host.channels:
            return self._refuse(f"{what}: channel id {chid} is in use", "NV_ERR_STATE_IN_USE")
        gfid = self.rm.vgpu.chid_owner(chid) if self.rm.vgpu is not None else None
        if gfid is not None:
            return self._refuse(f"{what}: channel id {chid} belongs to the vGPU of gfid {gfid}", "NV_ERR_STATE_IN_USE")
        inst = p.instanceMem
        problem = (self._memory_problem("instanceMem", inst, min_size=F.INSTANCE_SIZE, align=F.INSTANCE_SIZE,
                                        vram_only=True)
                   or self._memory_problem("userdMem", p.userdMem, min_size=F.USERD_GP_PUT + 4, align=F.USERD_ALIGN)
                   or self._memory_problem("mthdbufMem", p.mthdbufMem, min_size=self.method_buffer_size(),
                                           align=0x1000))
        if problem is None and (int(p.ramfcMem.base) != int(inst.base) or int(p.ramfcMem.size) != F.RAMFC_SIZE
                                or int(p.ramfcMem.addressSpace) != int(inst.addressSpace)):
            problem = (f"ramfcMem [{p.ramfcMem.base:#x}, +{p.ramfcMem.size:#x}) is not the first {F.RAMFC_SIZE:#x} "
                       f"bytes of the instance block at {inst.base:#x}")
        internal = F.ChannelInternalFlags.decode(int(p.internalFlags))
        notifier = None
        etype = internal["error_notifier_type"]
        if problem is None and etype == F.ErrorNotifierType.MEMORY:
            problem = self._memory_problem("errorNotifierMem", p.errorNotifierMem, min_size=F.NOTIFIER_SIZE, align=8)
            space = VID if int(p.errorNotifierMem.addressSpace) == F.MemorySpace.FBMEM else SYS
            notifier = (space, int(p.errorNotifierMem.base), int(p.errorNotifierMem.size))
        elif problem is None and etype != F.ErrorNotifierType.NONE:
            return self._refuse(f"{what}: internalFlags {p.internalFlags:#x}: error notifier type "
                                f"{F.ErrorNotifierType(etype).name} (NONE or MEMORY are modelled)",
                                "NV_ERR_NOT_SUPPORTED")
        if problem is not None:
            return self._refuse(f"{what}: {problem}", "NV_ERR_INVALID_ARGUMENT")
        slot = self.host.engine_slot(rm_engine)
        assert slot is not None
        userd_space = F.UserdTarget.VID_MEM if int(p.userdMem.addressSpace) == F.MemorySpace.FBMEM else (
            F.UserdTarget.SYS_MEM_COHERENT)
        self._write_ramfc(int(inst.base), chid, int(p.userdMem.base), userd_space, base, entries,
                          int(p.mthdbufMem.base), bool(flags["privileged_channel"]))
        ch = SimChannel(chid, slot.runlist, rm_engine, engine, int(inst.base), cls, self.classes.copy,
                        handle=(client.handle, h))
        self.host.add_channel(ch)
        self.gpu.log.info("gsp-rm", f"{what}: channel {chid} on runlist {slot.runlist} ({slot.name}), instance "
                                    f"block {inst.base:#x}, GPFIFO {entries} entries at {base:#x}")
        if group is not None:
            group.channels.add(h)
        return 0, ChannelState(chid, engine, parent.handle if group is not None else None, notifier)

    def _write_ramfc(self, inst: int, chid: int, userd: int, userd_target: int, gp_base: int, entries: int,
                     mthdbuf: int, privileged: bool) -> None:
        words = dict(F.RAMFC_DEFAULTS)
        words[F.RAMFC_USERD] = (userd & 0xFFFFFE00) | userd_target
        words[F.RAMFC_USERD_HI] = userd >> 32
        words[F.RAMFC_SIGNATURE] = F.RAMFC_SIGNATURE_VALUE
        words[F.RAMFC_GP_BASE] = gp_base & 0xFFFFFFFF
        words[F.RAMFC_GP_BASE_HI] = gp_base >> 32 | (entries.bit_length() - 1) << F.RAMFC_GP_BASE_HI_LIMIT2_SHIFT
        words[F.RAMFC_HCE_CTRL] = 0x20 if privileged else 0
        words[F.RAMFC_CHID] = chid
        words[F.RAMIN_ENGINE_WFI_VEID] = 0
        words[F.RAMIN_METHOD_BUFFER] = mthdbuf & 0xFFFFFFFF
        words[F.RAMIN_METHOD_BUFFER + 4] = mthdbuf >> 32
        ramfc = bytearray(F.RAMFC_SIZE)
        for off, v in words.items():
            if off < F.RAMFC_SIZE:
                ramfc[off:off + 4] = v.to_bytes(4, "little")
        mmu = self.host.mmu
        with self.host.lock:
            mmu.write(VID, inst, bytes(ramfc))
            for off in (F.RAMIN_ENGINE_WFI_VEID, F.RAMIN_METHOD_BUFFER, F.RAMIN_METHOD_BUFFER + 4):
                mmu.write(VID, inst + off, words[off].to_bytes(4, "little"))

    def _alloc_ce(self, client: Client, parent: RmObject, h: int, cls: int, params: bytes) -> tuple[int, Any]:
        what = f"{F.CLASS_NAMES.get(cls, hex(cls))} {h:#x}"
        if parent.cls not in self.classes.gpfifo_all or not isinstance(parent.data, ChannelState):
            return self._refuse(f"{what} under class {parent.cls:#x} (a GPFIFO channel expected)",
                                "NV_ERR_INVALID_OBJECT_PARENT")
        chan: ChannelState = parent.data
        p = self._params("NVB0B5_ALLOCATION_PARAMETERS", params)
        if p is None:
            return self._refuse(f"{what}: {len(params)} parameter bytes", "NV_ERR_INVALID_PARAM_STRUCT")
        copy0 = int(self.m.NV2080_ENGINE_TYPE_COPY0)
        if not copy0 <= chan.engine < copy0 + F.CE_MAX_INSTANCES:
            return self._refuse(f"{what}: channel {chan.chid} runs engine {chan.engine:#x}, not a copy engine",
                                "NV_ERR_INVALID_ARGUMENT")
        if p.version not in (0, int(self.m.NVB0B5_ALLOCATION_PARAMETERS_VERSION_1)) or (
                p.version and int(p.engineType) != chan.engine):
            return self._refuse(f"{what}: version {p.version}, engineType {p.engineType:#x} (version 1 with the "
                                f"channel's engine {chan.engine:#x} expected)", "NV_ERR_INVALID_ARGUMENT")
        ch = self.host.channels.get(chan.chid)
        if ch is not None:
            ch.objects.add(cls)
        return 0, ChannelObjectState(parent.handle)

    def _freed(self, client: Client, obj: RmObject) -> None:
        if isinstance(obj.data, ChannelState):
            ch = self.host.remove_channel(obj.data.chid)
            if ch is not None:
                self.gpu.log.info("gsp-rm", f"channel {obj.data.chid} freed")
        elif isinstance(obj.data, ChannelObjectState):
            parent = client.objects.get(obj.data.channel)
            if parent is not None and isinstance(parent.data, ChannelState):
                ch = self.host.channels.get(parent.data.chid)
                if ch is not None:
                    ch.objects.discard(obj.cls)
                    ch.subchannels = {k: v for k, v in ch.subchannels.items() if v != obj.cls}

    # -- controls ---------------------------------------------------------------------------------

    def _ctrl_params(self, obj: RmObject, params: bytes, name: str, classes: tuple[int, ...]) -> tuple[int, Any]:
        if obj.cls not in classes:
            return self._s("NV_ERR_NOT_SUPPORTED"), None
        p = self._params(name, params)
        if p is None:
            return self._s("NV_ERR_INVALID_PARAM_STRUCT"), None
        return 0, p

    def _ctrl_device_info(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS", (NV20_SUBDEVICE_0,))
        if status:
            return status, params
        m = self.m
        per_call = int(m.NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_MAX_ENTRIES)
        engines = self.host.engines
        start = int(p.baseIndex)
        if start > len(engines):
            return self._s("NV_ERR_INVALID_ARGUMENT"), params
        chunk = engines[start:start + per_call]
        p.numEntries = len(chunk)
        p.bMore = int(start + len(chunk) < len(engines))
        for i, e in enumerate(chunk):
            entry = p.entries[i]
            data = entry.engineData
            data[int(m.ENGINE_INFO_TYPE_FIFO_TAG)] = start + i
            data[int(m.ENGINE_INFO_TYPE_RM_ENGINE_TYPE)] = e.rm_engine_type
            data[int(m.ENGINE_INFO_TYPE_RUNLIST)] = e.runlist
            data[int(m.ENGINE_INFO_TYPE_MMU_FAULT_ID)] = start + i
            data[int(m.ENGINE_INFO_TYPE_INSTANCE_ID)] = e.instance
            data[int(m.ENGINE_INFO_TYPE_IS_HOST_DRIVEN_ENGINE)] = 1
            if self.ampere_plus:
                data[int(m.ENGINE_INFO_TYPE_RUNLIST_PRI_BASE)] = RUNLIST_PRI_BASE + e.runlist * 0x400
                data[int(m.ENGINE_INFO_TYPE_CHRAM_PRI_BASE)] = CHRAM_PRI_BASE + e.runlist * 0x2000
            entry.pbdmaIds[0] = e.runlist
            entry.pbdmaFaultIds[0] = 0x20 + e.runlist
            entry.numPbdmas = 1
            name = e.name.encode()
            ctypes.memmove(ctypes.addressof(entry) + type(entry).engineName.offset, name, len(name))
        return 0, bytes(p) + params[ctypes.sizeof(p):]

    def _ctrl_mthdbuf_size(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NV2080_CTRL_CE_GET_FAULT_METHOD_BUFFER_SIZE_PARAMS",
                                      (NV20_SUBDEVICE_0,))
        if status:
            return status, params
        p.size = self.method_buffer_size()
        return 0, bytes(p) + params[ctypes.sizeof(p):]

    def _channel(self, obj: RmObject) -> SimChannel | None:
        if not isinstance(obj.data, ChannelState):
            return None
        return self.host.channels.get(obj.data.chid)

    def _ctrl_bind(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NVA06F_CTRL_BIND_PARAMS", self.classes.gpfifo_all)
        if status:
            return status, params
        ch = self._channel(obj)
        if ch is None:
            return self._s("NV_ERR_INVALID_STATE"), params
        if int(p.engineType) != ch.nv2080_engine_type:
            self.rm._refuse(f"NVA06F_CTRL_CMD_BIND of channel {ch.chid}: engineType {p.engineType:#x}, the channel "
                            f"runs {ch.nv2080_engine_type:#x}")
            return self._s("NV_ERR_INVALID_ARGUMENT"), params
        with self.host.lock:
            ch.bound = True
            group = client.objects.get(obj.data.group) if obj.data.group is not None else None
            if group is not None and group.data.scheduled:
                ch.scheduled = True
        return 0, params

    def _ctrl_channel_schedule(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NVA06F_CTRL_GPFIFO_SCHEDULE_PARAMS", self.classes.gpfifo_all)
        if status:
            return status, params
        ch = self._channel(obj)
        if ch is None or not ch.bound:
            self.rm._refuse(f"NVA06F_CTRL_CMD_GPFIFO_SCHEDULE of an unbound channel {obj.handle:#x}")
            return self._s("NV_ERR_INVALID_STATE"), params
        with self.host.lock:
            ch.scheduled = bool(p.bEnable)
        return 0, params

    def _ctrl_group_schedule(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NVA06F_CTRL_GPFIFO_SCHEDULE_PARAMS", (F.KEPLER_CHANNEL_GROUP_A,))
        if status:
            return status, params
        group: GroupState = obj.data
        chans = [self._channel(client.objects[h]) for h in group.channels if h in client.objects]
        if any(c is None or not c.bound for c in chans):
            self.rm._refuse(f"NVA06C_CTRL_CMD_GPFIFO_SCHEDULE of group {obj.handle:#x}: a channel is not bound")
            return self._s("NV_ERR_INVALID_STATE"), params
        with self.host.lock:
            group.scheduled = bool(p.bEnable)
            for c in chans:
                if c is not None:
                    c.scheduled = group.scheduled
        return 0, params

    def _ctrl_work_submit_token(self, client: Client, obj: RmObject, params: bytes) -> tuple[int, bytes]:
        status, p = self._ctrl_params(obj, params, "NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN_PARAMS",
                                      self.classes.gpfifo_all)
        if status:
            return status, params
        ch = self._channel(obj)
        if ch is None or not ch.bound:
            self.rm._refuse(f"GET_WORK_SUBMIT_TOKEN of channel {obj.handle:#x}: not bound to a runlist yet")
            return self._s("NV_ERR_INVALID_STATE"), params
        token = ch.chid
        if self.classes.token_has_runlist:
            token |= ch.runlist << 16
        p.workSubmitToken = token
        return 0, bytes(p) + params[ctypes.sizeof(p):]

    # -- robust-channel recovery --------------------------------------------------------------------

    def _channel_error(self, ch: SimChannel, stop: ChannelStop) -> None:
        """The host stopped ``ch``: the error notifier, MMU_FAULT_QUEUED (MMU faults), RC_TRIGGERED."""
        rm = self.rm
        client = self.objects.clients.get(ch.handle[0])
        obj = client.objects.get(ch.handle[1]) if client is not None else None
        notifier = obj.data.notifier if obj is not None and isinstance(obj.data, ChannelState) else None
        now = self.gpu.clock.now()
        if notifier is not None:
            space, addr, _size = notifier
            rec = self.m.NvNotification()
            rec.timeStamp.nanoseconds[0] = now >> 32  # notifyFillNvNotification: [0] = high word, [1] = low word
            rec.timeStamp.nanoseconds[1] = now & 0xFFFFFFFF
            rec.info32 = stop.rc
            rec.info16 = ch.nv2080_engine_type & 0xFFFF
            rec.status = F.NOTIFIER_STATUS_ERROR
            offset = int(self.m.NV_CHANNELGPFIFO_NOTIFICATION_TYPE_ERROR) * F.NOTIFIER_SIZE
            try:
                self.host.mmu.write(space, addr + offset, bytes(rec))
            except Exception as e:  # the notifier memory went away: RM logs and goes on
                rm._refuse(f"error notifier of channel {ch.chid} at {space} {addr:#x}: {e}")
        self.rc_events.append((ch.chid, stop.rc, ch.nv2080_engine_type))
        if rm.state != "running":
            return
        if stop.fault_type is not None:
            rm.emit("MMU_FAULT_QUEUED", b"")
        fields: dict[str, int] = {"nv2080EngineType": ch.nv2080_engine_type, "chid": ch.chid, "exceptType": stop.rc,
                                  "scope": F.RcScope.CHANNEL, "partitionAttributionId": 0}
        have = {f[0] for f in self.m.rpc_rc_triggered_v._fields_}
        extra = {"gfid": 0, "exceptLevel": F.RcLevel.FATAL, "bCallbackNeeded": 0, "rcJournalBufferSize": 0}
        if stop.fault_va is not None:
            extra |= {"mmuFaultAddrLo": stop.fault_va & 0xFFFFFFFF, "mmuFaultAddrHi": stop.fault_va >> 32}
        if stop.fault_type is not None:
            extra["mmuFaultType"] = int(stop.fault_type)
        fields |= {k: int(v) for k, v in extra.items() if k in have}
        rm.emit("RC_TRIGGERED", rm.event_payload("rpc_rc_triggered_v", **fields))
