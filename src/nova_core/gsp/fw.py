"""nova_core.gsp.fw: the version-neutral face of GSP-RM's ABI (all the rest of the driver sees).

:class:`GspAbi` is chosen at run time from the firmware's ``.fwversion`` string
(``GspAbi.for_version("535.113.01")``; an unknown version is an error listing the supported ones) and
gives, for that version:

- function and event numbers by name, status codes by value (:meth:`GspAbi.function`,
  :meth:`GspAbi.event`, :meth:`GspAbi.status_text`);
- checked packers for the structures the boot fills: ``GspFwWprMeta`` (:meth:`GspAbi.wpr_meta`),
  ``LibosMemoryRegionInitArgument`` (:func:`libos_region`, :func:`id8`), ``GSP_ARGUMENTS_CACHED``
  (:meth:`GspAbi.arguments_cached`), ``GspSystemInfo``, ``PACKED_REGISTRY_TABLE``;
- typed commands with their replies (:class:`SetSystemInfo`, :class:`SetRegistry`,
  :class:`GetGspStaticInfo`, :class:`RmAlloc`, :class:`RmControl`, :class:`RmFree`,
  :class:`UpdateBarPde`, :class:`UnloadingGuestDriver`) and typed events (:class:`SequencerRequest`,
  :class:`OsErrorLog`, :class:`PostEvent`, :class:`RcTriggered`, :class:`LockdownNotice`,
  :class:`NocatRecord`).

The differences between versions are declared once, in :data:`TRAITS` (a test checks each against
the generated bindings): LOCKDOWN_NOTICE moved from 0x101D (r535) to 0x101C, POST_NOCAT_RECORD
appeared in r550, ``GspFwWprMeta`` gained ``flags`` (r550) and ``pmuReservedSize`` (r570),
``GSP_ARGUMENTS_CACHED`` lost the lockless queue offsets and shrank from 0x50 to 0x48 bytes (r570),
``NV0000_ALLOC_PARAMETERS`` grew ``pOsPidInfo`` (r570). Field-level differences are handled by name:
setting a field a version does not have is an error naming the version and the valid fields.

Sources: reference §5-§8 and §11; nova-core ``gsp/fw.rs`` and ``gsp/commands.rs`` (one type per RPC
with its function code and reply parser); nouveau ``rm/r535/*.c`` for how each payload is filled.
"""

from __future__ import annotations

import ctypes
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, Generic, TypeVar

from ..errors import GspError, RpcError, did_you_mean
from . import bindings

CStruct = ctypes.Structure | ctypes.Union
R = TypeVar("R")

GSP_PAGE = 0x1000  #: the GSP page (message queue element granule, log and queue page size)


# -- the declared differences ---------------------------------------------------------------------


@dataclass(frozen=True)
class Traits:
    """What differs between firmware versions, declared once (checked against the bindings by a test)."""

    branch: str  #: "r535", "r550", "r570"
    arguments_cached_size: int  #: sizeof(GSP_ARGUMENTS_CACHED)
    lockless_queues: bool  #: MESSAGE_QUEUE_INIT_ARGUMENTS has the lockless cmd/stat queue offsets
    wpr_meta_flags: bool  #: GspFwWprMeta.flags (GSP_FW_FLAGS) exists
    wpr_meta_pmu_reserved: bool  #: GspFwWprMeta.pmuReservedSize exists
    lockdown_notice_event: int  #: NV_VGPU_MSG_EVENT_GSP_LOCKDOWN_NOTICE
    nocat_record_event: int | None  #: NV_VGPU_MSG_EVENT_GSP_POST_NOCAT_RECORD (absent in r535)
    root_alloc_params_size: int  #: sizeof(NV0000_ALLOC_PARAMETERS)


TRAITS: dict[str, Traits] = {
    "535.113.01": Traits("r535", 0x50, True, False, False, 0x101D, None, 0x6C),
    "550.163.01": Traits("r550", 0x50, True, True, False, 0x101C, 0x1020, 0x6C),
    "570.144": Traits("r570", 0x48, False, True, True, 0x101C, 0x1020, 0x78),
}


class Event(enum.Enum):
    """GSP -> CPU events, by their version-neutral name (the value is the bindings' name)."""

    INIT_DONE = "GSP_INIT_DONE"
    RUN_CPU_SEQUENCER = "GSP_RUN_CPU_SEQUENCER"
    POST_EVENT = "POST_EVENT"
    RC_TRIGGERED = "RC_TRIGGERED"
    MMU_FAULT_QUEUED = "MMU_FAULT_QUEUED"
    OS_ERROR_LOG = "OS_ERROR_LOG"
    UCODE_LIBOS_PRINT = "UCODE_LIBOS_PRINT"
    PERF_BRIDGELESS_INFO_UPDATE = "PERF_BRIDGELESS_INFO_UPDATE"
    LOCKDOWN_NOTICE = "GSP_LOCKDOWN_NOTICE"
    POST_NOCAT_RECORD = "GSP_POST_NOCAT_RECORD"


# -- libos -----------------------------------------------------------------------------------------


class LibosKind(enum.IntEnum):
    """LibosMemoryRegionKind."""

    NONE = 0
    CONTIGUOUS = 1
    RADIX3 = 2


class LibosLoc(enum.IntEnum):
    """LibosMemoryRegionLoc."""

    NONE = 0
    SYSMEM = 1
    FB = 2


def id8(name: str) -> int:
    """A libos region id: up to 8 ASCII characters, first one most significant ("LOGINIT" = 0x4C4F47494E4954)."""
    if not 0 < len(name) <= 8 or not name.isascii():
        raise GspError(f"libos region name {name!r}: 1 to 8 ASCII characters needed")
    value = 0
    for c in name.encode("ascii"):
        value = (value << 8) | c
    return value


def id8_name(value: int) -> str:
    """The inverse of :func:`id8` (non-printable bytes shown as ``?``)."""
    raw = value.to_bytes(8, "big").lstrip(b"\0")
    return "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in raw)


# -- structure helpers ------------------------------------------------------------------------------


def _field_names(cls: type[CStruct]) -> list[str]:
    names: list[str] = []
    anon = set(getattr(cls, "_anonymous_", ()))
    for f in cls._fields_:
        name, ftype = f[0], f[1]
        if name in anon:
            names += _field_names(ftype)  # type: ignore[arg-type]  # anonymous members are records
        elif not name.startswith("_pad") and name != "_size":
            names.append(name)
    return names


def _set(obj: CStruct, name: str, value: Any, where: str) -> None:
    """Set ``obj.name`` with range checks (ctypes would silently truncate)."""
    cls = type(obj)
    if name not in _field_names(cls):
        raise GspError(f"{where}: no field {name!r}{did_you_mean(name, _field_names(cls))}")
    current = getattr(obj, name)
    if isinstance(current, (ctypes.Structure, ctypes.Union)):
        if isinstance(value, Mapping):
            for k, v in value.items():
                _set(current, k, v, f"{where}.{name}")
            return
        if isinstance(value, (bytes, bytearray)):
            _memset(current, value, f"{where}.{name}")
            return
        raise GspError(f"{where}.{name} is a structure: give a mapping of its fields or its bytes")
    if isinstance(current, (ctypes.Array, bytes)):
        fobj = getattr(cls, name)
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if len(data) > fobj.size:
                raise GspError(f"{where}.{name}: {len(data)} bytes do not fit its {fobj.size}")
            ctypes.memmove(ctypes.addressof(obj) + fobj.offset, data, len(data))
            return
        if isinstance(current, ctypes.Array):
            items = list(value)
            if len(items) > len(current):
                raise GspError(f"{where}.{name}: {len(items)} items do not fit its {len(current)}")
            if issubclass(current._type_, (ctypes.Structure, ctypes.Union)):  # an array of structures: mappings
                for i, item in enumerate(items):
                    if not isinstance(item, Mapping):
                        raise GspError(f"{where}.{name}[{i}] is a structure: give a mapping of its fields")
                    for k, v in item.items():
                        _set(current[i], k, v, f"{where}.{name}[{i}]")
                return
            for i, item in enumerate(items):
                _check_int(item, ctypes.sizeof(current._type_), f"{where}.{name}[{i}]")
                current[i] = item
            return
    if isinstance(current, bool) or not isinstance(current, int):
        setattr(obj, name, value)
        return
    fobj = getattr(cls, name)
    _check_int(value, fobj.size, f"{where}.{name}")
    setattr(obj, name, int(value))


def _check_int(value: Any, size: int, where: str) -> None:
    if isinstance(value, bool):
        value = int(value)
    if not isinstance(value, int) or not -(1 << (8 * size - 1)) <= value < (1 << (8 * size)):
        raise GspError(f"{where}: {value!r} does not fit {8 * size} bits")


def _memset(obj: CStruct, data: bytes | bytearray, where: str) -> None:
    if len(data) > ctypes.sizeof(obj):
        raise GspError(f"{where}: {len(data)} bytes do not fit its {ctypes.sizeof(obj)}")
    ctypes.memmove(ctypes.addressof(obj), bytes(data), len(data))


def _cstr(raw: bytes | ctypes.Array[Any]) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", errors="replace")


# -- the ABI of one version ------------------------------------------------------------------------


class GspAbi:
    """GSP-RM's ABI for one firmware version.

    Use :meth:`for_version` (cached): ``abi = GspAbi.for_version(fw.gsp.version)``.
    """

    def __init__(self, version: str | bytes) -> None:
        self.version = bindings.normalize(version)
        self.module: ModuleType = bindings.load(self.version)
        self.traits = TRAITS[self.version]
        self.functions: dict[str, int] = dict(self.module.FUNCTIONS)
        self.events: dict[str, int] = {k: v for k, v in self.module.EVENTS.items()
                                       if k not in ("FIRST_EVENT", "NUM_EVENTS")}
        self._names = {v: k for k, v in self.functions.items()} | {v: k for k, v in self.events.items()}
        self._event_of = {self.events[e.value]: e for e in Event if e.value in self.events}
        self.status: dict[int, tuple[str, str]] = dict(self.module.NV_STATUS)
        m = self.module
        self.rpc_results: dict[int, str] = {
            getattr(m, n): n for n in dir(m) if n.startswith("NV_VGPU_MSG_RESULT_RPC_")
        }
        self.element_header_size = int(m.GSP_MSG_QUEUE_ELEMENT_HDR_SIZE)  # 0x30
        self.rpc_header_size = ctypes.sizeof(m.rpc_message_header_v)  # 0x20
        self.element_max = int(m.GSP_MSG_QUEUE_ELEMENT_SIZE_MAX)  # 16 pages
        self.rpc_max = int(m.GSP_MSG_QUEUE_RPC_SIZE_MAX)  # largest rpc header + payload in one element
        self.payload_max = self.rpc_max - self.rpc_header_size  # largest payload in one element
        self.header_version = int(m.NV_VGPU_MSG_HEADER_VERSION_MAJOR_TOT) << 24 | (
            int(m.NV_VGPU_MSG_HEADER_VERSION_MINOR_TOT) << 16)
        self.signature = int(m.NV_VGPU_MSG_SIGNATURE_VALID)
        self.result_pending = int(m.NV_VGPU_MSG_RESULT_RPC_PENDING)

    @staticmethod
    @functools.cache
    def for_version(version: str) -> GspAbi:
        """The (shared) ABI object of ``version`` (``.fwversion``, NUL padding allowed)."""
        return GspAbi(version)

    def __repr__(self) -> str:
        return f"<GspAbi {self.version}>"

    # -- numbers and names ----------------------------------------------------------------------

    def function(self, name: str) -> int:
        """RPC function number by name (``"GSP_RM_ALLOC"``)."""
        try:
            return self.functions[name]
        except KeyError:
            raise GspError(f"GSP-RM {self.version} has no RPC function {name!r}"
                           f"{did_you_mean(name, self.functions)}") from None

    def event(self, event: Event) -> int:
        """Event number of ``event`` in this version (an error where the version has no such event)."""
        try:
            return self.events[event.value]
        except KeyError:
            have = [e.name for e in Event if e.value in self.events]
            raise GspError(f"GSP-RM {self.version} has no event {event.name} "
                           f"(its events here: {', '.join(have)})") from None

    def event_of(self, number: int) -> Event | None:
        return self._event_of.get(number)

    def is_event(self, number: int) -> bool:
        return number >= int(self.module.EVENTS["FIRST_EVENT"])

    def name_of(self, number: int) -> str:
        """``"GSP_RM_ALLOC"`` / ``"GSP_INIT_DONE"``, or ``"function 0x1234"`` when unknown."""
        return self._names.get(number, f"function {number:#x}")

    def status_text(self, code: int) -> str:
        """``"NV_ERR_INVALID_OBJECT_HANDLE (0x33: Invalid object handle)"`` for an NV_STATUS / RPC result."""
        if code in self.status:
            name, text = self.status[code]
            return f"{name} ({code:#x}: {text})"
        if code in self.rpc_results:
            return f"{self.rpc_results[code]} ({code:#x})"
        return f"unknown status {code:#x}"

    # -- structures ----------------------------------------------------------------------------

    def struct(self, name: str) -> type[CStruct]:
        """The ctypes class of a structure (by the name the RPC layer uses, e.g. ``"GspFwWprMeta"``)."""
        cls = self.module.ROOTS.get(name) or getattr(self.module, name, None)
        if not isinstance(cls, type) or not issubclass(cls, (ctypes.Structure, ctypes.Union)):
            raise GspError(f"GSP-RM {self.version} bindings have no structure {name!r}"
                           f"{did_you_mean(name, self.module.ROOTS)}")
        return cls

    def sizeof(self, name: str) -> int:
        return ctypes.sizeof(self.struct(name))

    def fields(self, name: str) -> list[str]:
        """Field names of a structure (anonymous unions flattened, padding left out)."""
        return _field_names(self.struct(name))

    def build(self, name: str, **values: Any) -> CStruct:
        """A zeroed ``name`` with ``values`` set by field name, range-checked."""
        obj = self.struct(name)()
        for k, v in values.items():
            _set(obj, k, v, f"{self.version} {name}")
        return obj

    def pack(self, name: str, **values: Any) -> bytes:
        return bytes(self.build(name, **values))

    def parse(self, name: str, data: bytes | bytearray | memoryview, *, what: str = "") -> Any:
        """Decode ``data`` as ``name`` (too short is a :class:`GspError` naming both sizes)."""
        cls = self.struct(name)
        size = ctypes.sizeof(cls)
        if len(data) < size:
            raise GspError(f"{what or name}: {len(data):#x} bytes, shorter than {self.version} {name} "
                           f"({size:#x} bytes)")
        return cls.from_buffer_copy(bytes(memoryview(data)[:size]))

    # -- what the boot fills -------------------------------------------------------------------

    def wpr_meta(self, **fields: int) -> bytes:
        """``GspFwWprMeta`` (0x100 bytes) with magic and revision set; fields by their OpenRM names.

        A field this version lacks (``flags`` on r535, ``pmuReservedSize`` before r570) is an error.
        """
        m = self.module
        values: dict[str, Any] = {"magic": m.GSP_FW_WPR_META_MAGIC, "revision": m.GSP_FW_WPR_META_REVISION}
        values.update(fields)
        return self.pack("GspFwWprMeta", **values)

    def arguments_cached(self, *, shared_mem_phys: int, pte_count: int, cmdq_offset: int, statq_offset: int,
                         sr_old_level: int = 0, sr_flags: int = 0, sr_in_pm_transition: bool = False,
                         gpu_instance: int = 0, profiler_pa: int = 0, profiler_size: int = 0,
                         dmem_stack: bool = False) -> bytes:
        """``GSP_ARGUMENTS_CACHED`` (the RMARGS region): where the message queues are.

        ``dmem_stack`` exists only from r570 (nova-core sets it); asking for it earlier is an error.
        """
        values: dict[str, Any] = {
            "messageQueueInitArguments": {"sharedMemPhysAddr": shared_mem_phys, "pageTableEntryCount": pte_count,
                                          "cmdQueueOffset": cmdq_offset, "statQueueOffset": statq_offset},
            "srInitArguments": {"oldLevel": sr_old_level, "flags": sr_flags,
                                "bInPMTransition": int(sr_in_pm_transition)},
            "gpuInstance": gpu_instance,
            "profilerArgs": {"pa": profiler_pa, "size": profiler_size},
        }
        if dmem_stack:
            values["bDmemStack"] = 1
        return self.pack("GSP_ARGUMENTS_CACHED", **values)

    def system_info(self, info: SystemInfo) -> bytes:
        """``GspSystemInfo`` for SET_SYSTEM_INFO (fields a version lacks are left out, e.g. PCI ids before r570)."""
        have = set(self.fields("GspSystemInfo"))
        values: dict[str, Any] = {
            "gpuPhysAddr": info.bar0_phys, "gpuPhysFbAddr": info.bar1_phys, "gpuPhysInstAddr": info.bar3_phys,
            "nvDomainBusDeviceFunc": info.pci_bdf, "maxUserVa": info.max_user_va,
            "pciConfigMirrorBase": info.pci_config_mirror_base, "pciConfigMirrorSize": info.pci_config_mirror_size,
        }
        optional = {"PCIDeviceID": info.pci_device_id, "PCISubDeviceID": info.pci_subsystem_id,
                    "PCIRevisionID": info.pci_revision_id, "hostPageSize": GSP_PAGE}
        values.update({k: v for k, v in optional.items() if k in have})
        values.update(info.extra)
        return self.pack("GspSystemInfo", **values)

    def registry(self, entries: Mapping[str, int | str | bytes]) -> bytes:
        """``PACKED_REGISTRY_TABLE``: header, 16-byte entries, then the NUL-terminated keys and data.

        Values: ``int`` -> DWORD, ``str`` -> STRING (NUL-terminated), ``bytes`` -> BINARY. Offsets are from
        the start of the table (nouveau ``build_registry``; OpenRM ``g_os_nvoc.h``).
        """
        m = self.module
        head = ctypes.sizeof(m.PACKED_REGISTRY_TABLE)
        esize = ctypes.sizeof(m.PACKED_REGISTRY_ENTRY)
        data = bytearray()
        packed: list[bytes] = []
        base = head + esize * len(entries)
        for key, value in entries.items():
            if not key or not key.isascii() or "\0" in key:
                raise GspError(f"registry key {key!r}: non-empty ASCII without NUL needed")
            name_off = base + len(data)
            data += key.encode() + b"\0"
            if isinstance(value, (bool, int)):
                _check_int(int(value), 4, f"registry {key}")
                kind, val, length = m.REGISTRY_TABLE_ENTRY_TYPE_DWORD, int(value) & 0xFFFFFFFF, 4
            elif isinstance(value, str):
                blob = value.encode() + b"\0"
                kind, val, length = m.REGISTRY_TABLE_ENTRY_TYPE_STRING, base + len(data), len(blob)
                data += blob
            elif isinstance(value, (bytes, bytearray)):
                kind, val, length = m.REGISTRY_TABLE_ENTRY_TYPE_BINARY, base + len(data), len(value)
                data += bytes(value)
            else:
                raise GspError(f"registry {key}: value {value!r} is not int, str or bytes")
            packed.append(self.pack("PACKED_REGISTRY_ENTRY", nameOffset=name_off, type=kind, data=val,
                                    length=length))
        total = base + len(data)
        return self.pack("PACKED_REGISTRY_TABLE", size=total, numEntries=len(entries)) + b"".join(packed) + data


# -- libos arguments ------------------------------------------------------------------------------------


def libos_region(name: str, pa: int, size: int, *, kind: LibosKind = LibosKind.CONTIGUOUS,
                 loc: LibosLoc = LibosLoc.SYSMEM, abi: GspAbi | None = None) -> bytes:
    """One ``LibosMemoryRegionInitArgument`` (0x20 bytes; identical in every supported version)."""
    a = abi or GspAbi.for_version(next(iter(bindings.SUPPORTED)))
    return a.pack("LibosMemoryRegionInitArgument", id8=id8(name), pa=pa, size=size, kind=int(kind), loc=int(loc))


# -- commands ---------------------------------------------------------------------------------------


class RpcFailure(RpcError):
    """An RPC whose result (or the RM status inside its reply) is not NV_OK."""

    def __init__(self, message: str, *, function: str, result: int, ordinal: int = 0) -> None:
        super().__init__(message)
        self.function = function
        self.result = result
        #: which RPC of its channel it was (:attr:`nova_core.gsp.rpc.PendingRpc.ordinal`; never on the wire)
        self.ordinal = ordinal


class Command(Generic[R]):
    """An RPC to GSP-RM: its function name, how to encode it, and how to read its reply."""

    FUNCTION: ClassVar[str]

    def encode(self, abi: GspAbi) -> bytes:
        raise NotImplementedError

    def decode(self, abi: GspAbi, payload: bytes) -> R:
        raise NotImplementedError

    def describe(self) -> str:
        """A few words for messages (handles, class, command)."""
        return ""


def _status_check(abi: GspAbi, function: str, status: int, detail: str) -> None:
    if status:
        raise RpcFailure(f"{function} {detail} failed in GSP-RM: {abi.status_text(status)}",
                         function=function, result=status)


@dataclass(frozen=True)
class SystemInfo:
    """What SET_SYSTEM_INFO tells GSP-RM about the host (nouveau ``r535_gsp_rpc_set_system_info``)."""

    bar0_phys: int  #: BAR0 physical address (gpuPhysAddr)
    bar1_phys: int  #: BAR1 (gpuPhysFbAddr)
    bar3_phys: int  #: BAR2/3 instance memory aperture (gpuPhysInstAddr)
    pci_bdf: int  #: (bus << 8) | devfn (nvDomainBusDeviceFunc, Linux ``pci_dev_id``)
    pci_device_id: int = 0
    pci_subsystem_id: int = 0
    pci_revision_id: int = 0
    max_user_va: int = (1 << 47) - GSP_PAGE  #: x86-64 TASK_SIZE, as nouveau sends
    pci_config_mirror_base: int = 0x88000  #: NV_PCFG mirror in BAR0 (nouveau, nova-core)
    pci_config_mirror_size: int = 0x1000
    extra: Mapping[str, Any] = field(default_factory=dict)  #: other GspSystemInfo fields by name


@dataclass(frozen=True)
class SetSystemInfo(Command[None]):
    info: SystemInfo
    FUNCTION: ClassVar[str] = "GSP_SET_SYSTEM_INFO"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.system_info(self.info)

    def decode(self, abi: GspAbi, payload: bytes) -> None:
        return None


#: what nouveau and nova-core put in the registry at boot
DEFAULT_REGISTRY: dict[str, int | str | bytes] = {
    "RMSecBusResetEnable": 1,
    "RMForcePcieConfigSave": 1,
    "RMDevidCheckIgnore": 1,
}


@dataclass(frozen=True)
class SetRegistry(Command[None]):
    entries: Mapping[str, int | str | bytes] = field(default_factory=lambda: dict(DEFAULT_REGISTRY))
    FUNCTION: ClassVar[str] = "SET_REGISTRY"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.registry(self.entries)

    def decode(self, abi: GspAbi, payload: bytes) -> None:
        return None


@dataclass(frozen=True)
class FbRegion:
    base: int
    limit: int
    reserved: int
    performance: int
    compressible: bool
    iso: bool
    protected: bool


@dataclass(frozen=True)
class GspStaticInfo:
    """The highlights of ``GspStaticConfigInfo`` (GET_GSP_STATIC_INFO's reply)."""

    gpu_name: str
    gpu_short_name: str
    internal_client: int
    internal_device: int
    internal_subdevice: int
    bar1_pde_base: int
    bar2_pde_base: int
    fb_length: int
    l2_cache_size: int
    vbios_valid: bool
    vbios_subvendor: int
    vbios_subdevice: int
    fb_regions: tuple[FbRegion, ...]
    gid: bytes  #: GPU UUID bytes as gidInfo carries them
    raw: Any = field(repr=False, compare=False, default=None)  #: the whole ctypes structure
    #: ``fwWprLayoutOffset`` (r570+): where the GSP-FMC's ACR put the non-WPR heap and FRTS on Hopper and later,
    #: ``(nonWprHeapOffset, frtsOffset)``; ``None`` when the version has no such field or GSP-RM left it 0
    fw_wpr_layout: tuple[int, int] | None = None


@dataclass(frozen=True)
class GetGspStaticInfo(Command[GspStaticInfo]):
    FUNCTION: ClassVar[str] = "GET_GSP_STATIC_INFO"

    def encode(self, abi: GspAbi) -> bytes:
        return bytes(abi.sizeof("GspStaticConfigInfo"))  # GSP-RM fills the buffer in place

    def decode(self, abi: GspAbi, payload: bytes) -> GspStaticInfo:
        s = abi.parse("GspStaticConfigInfo", payload, what="GET_GSP_STATIC_INFO reply")
        regions = s.fbRegionInfoParams
        count = regions.numFBRegions
        if count > len(regions.fbRegion):
            raise GspError(f"GET_GSP_STATIC_INFO reply: numFBRegions {count} exceeds the array of "
                           f"{len(regions.fbRegion)}")
        fb = tuple(FbRegion(r.base, r.limit, r.reserved, r.performance, bool(r.supportCompressed),
                            bool(r.supportISO), bool(r.bProtected)) for r in regions.fbRegion[:count])
        gid_len = min(s.gidInfo.length, len(s.gidInfo.data))
        return GspStaticInfo(
            gpu_name=_cstr(s.gpuNameString), gpu_short_name=_cstr(s.gpuShortNameString),
            internal_client=s.hInternalClient, internal_device=s.hInternalDevice,
            internal_subdevice=s.hInternalSubdevice, bar1_pde_base=s.bar1PdeBase, bar2_pde_base=s.bar2PdeBase,
            fb_length=s.fb_length, l2_cache_size=s.l2_cache_size, vbios_valid=bool(s.bVbiosValid),
            vbios_subvendor=s.vbiosSubVendor, vbios_subdevice=s.vbiosSubDevice, fb_regions=fb,
            gid=bytes(s.gidInfo.data[:gid_len]), raw=s, fw_wpr_layout=_fw_wpr_layout(s),
        )


def _fw_wpr_layout(s: Any) -> tuple[int, int] | None:
    off = getattr(s, "fwWprLayoutOffset", None)
    if off is None or not (off.nonWprHeapOffset or off.frtsOffset):
        return None
    return int(off.nonWprHeapOffset), int(off.frtsOffset)


@dataclass(frozen=True)
class RmAlloc(Command[bytes]):
    """GSP_RM_ALLOC: create object ``h_object`` of class ``h_class`` under ``h_parent`` (reply: params out)."""

    h_client: int
    h_parent: int
    h_object: int
    h_class: int
    params: bytes = b""
    flags: int = 0
    FUNCTION: ClassVar[str] = "GSP_RM_ALLOC"

    def describe(self) -> str:
        return (f"(hClient {self.h_client:#x}, hParent {self.h_parent:#x}, hObject {self.h_object:#x}, "
                f"class {self.h_class:#x})")

    def encode(self, abi: GspAbi) -> bytes:
        return abi.pack("rpc_gsp_rm_alloc_v", hClient=self.h_client, hParent=self.h_parent,
                        hObject=self.h_object, hClass=self.h_class, status=0, paramsSize=len(self.params),
                        flags=self.flags) + self.params

    def decode(self, abi: GspAbi, payload: bytes) -> bytes:
        hdr = abi.parse("rpc_gsp_rm_alloc_v", payload, what="GSP_RM_ALLOC reply")
        _status_check(abi, self.FUNCTION, hdr.status, self.describe())
        start = abi.sizeof("rpc_gsp_rm_alloc_v")
        if start + hdr.paramsSize > len(payload):
            raise GspError(f"GSP_RM_ALLOC reply: paramsSize {hdr.paramsSize:#x} past its payload of "
                           f"{len(payload):#x} bytes")
        return bytes(payload[start:start + hdr.paramsSize])


@dataclass(frozen=True)
class RmControl(Command[bytes]):
    """GSP_RM_CONTROL: run control ``cmd`` on ``h_object`` (reply: the params, updated by RM)."""

    h_client: int
    h_object: int
    cmd: int
    params: bytes = b""
    flags: int = 0
    FUNCTION: ClassVar[str] = "GSP_RM_CONTROL"

    def describe(self) -> str:
        return f"(hClient {self.h_client:#x}, hObject {self.h_object:#x}, cmd {self.cmd:#010x})"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.pack("rpc_gsp_rm_control_v", hClient=self.h_client, hObject=self.h_object, cmd=self.cmd,
                        status=0, paramsSize=len(self.params), flags=self.flags) + self.params

    def decode(self, abi: GspAbi, payload: bytes) -> bytes:
        hdr = abi.parse("rpc_gsp_rm_control_v", payload, what="GSP_RM_CONTROL reply")
        _status_check(abi, self.FUNCTION, hdr.status, self.describe())
        start = abi.sizeof("rpc_gsp_rm_control_v")
        if start + hdr.paramsSize > len(payload):
            raise GspError(f"GSP_RM_CONTROL reply: paramsSize {hdr.paramsSize:#x} past its payload of "
                           f"{len(payload):#x} bytes")
        return bytes(payload[start:start + hdr.paramsSize])


@dataclass(frozen=True)
class RmFree(Command[None]):
    """FREE: free ``h_object`` (and everything under it); ``h_object == h_root`` frees the client."""

    h_root: int
    h_parent: int
    h_object: int
    FUNCTION: ClassVar[str] = "FREE"

    def describe(self) -> str:
        return f"(hRoot {self.h_root:#x}, hParent {self.h_parent:#x}, hObject {self.h_object:#x})"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.pack("rpc_free_v", params={"hRoot": self.h_root, "hObjectParent": self.h_parent,
                                              "hObjectOld": self.h_object, "status": 0})

    def decode(self, abi: GspAbi, payload: bytes) -> None:
        rep = abi.parse("rpc_free_v", payload, what="FREE reply")
        _status_check(abi, self.FUNCTION, rep.params.status, self.describe())


class BarType(enum.IntEnum):
    """NV_RPC_UPDATE_PDE_BAR_TYPE."""

    BAR1 = 0
    BAR2 = 1


@dataclass(frozen=True)
class UpdateBarPde(Command[None]):
    """UPDATE_BAR_PDE: hand GSP-RM the root page-directory entry of BAR1 or BAR2."""

    bar: BarType
    entry_value: int
    entry_level_shift: int
    FUNCTION: ClassVar[str] = "UPDATE_BAR_PDE"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.pack("rpc_update_bar_pde_v", info={"barType": int(self.bar), "entryValue": self.entry_value,
                                                      "entryLevelShift": self.entry_level_shift})

    def decode(self, abi: GspAbi, payload: bytes) -> None:
        return None


@dataclass(frozen=True)
class UnloadingGuestDriver(Command[None]):
    """UNLOADING_GUEST_DRIVER: GSP-RM shuts down (then GSP MAILBOX0 reads 0x80000000, nouveau)."""

    in_pm_transition: bool = False
    gc6_entering: bool = False
    new_level: int = 0
    FUNCTION: ClassVar[str] = "UNLOADING_GUEST_DRIVER"

    def encode(self, abi: GspAbi) -> bytes:
        return abi.pack("rpc_unloading_guest_driver_v", bInPMTransition=int(self.in_pm_transition),
                        bGc6Entering=int(self.gc6_entering), newLevel=self.new_level)

    def decode(self, abi: GspAbi, payload: bytes) -> None:
        return None


@dataclass(frozen=True)
class Nop(Command[bytes]):
    """NOP: a bare round trip (the reply echoes the payload)."""

    payload: bytes = b""
    FUNCTION: ClassVar[str] = "NOP"

    def encode(self, abi: GspAbi) -> bytes:
        return self.payload

    def decode(self, abi: GspAbi, payload: bytes) -> bytes:
        return payload


# -- object allocation parameters (reference §11) ---------------------------------------------------------


def root_alloc_params(abi: GspAbi, h_client: int, *, process_id: int = 0xFFFFFFFF,
                      process_name: str = "nova-core") -> bytes:
    """NV0000_ALLOC_PARAMETERS for NV01_ROOT (nouveau: processID ~0)."""
    return abi.pack("NV0000_ALLOC_PARAMETERS", hClient=h_client, processID=process_id,
                    processName=process_name.encode()[:99])


def device_alloc_params(abi: GspAbi, *, device_id: int = 0, h_client_share: int = 0, va_space_size: int = 0,
                        flags: int = 0) -> bytes:
    """NV0080_ALLOC_PARAMETERS for NV01_DEVICE_0 (nouveau: hClientShare = the client)."""
    return abi.pack("NV0080_ALLOC_PARAMETERS", deviceId=device_id, hClientShare=h_client_share,
                    vaSpaceSize=va_space_size, flags=flags)


def subdevice_alloc_params(abi: GspAbi, *, subdevice_id: int = 0) -> bytes:
    """NV2080_ALLOC_PARAMETERS for NV20_SUBDEVICE_0."""
    return abi.pack("NV2080_ALLOC_PARAMETERS", subDeviceId=subdevice_id)


# -- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequencerRequest:
    """RUN_CPU_SEQUENCER: ``cmd_index`` dwords of commands and the 8-entry register save area."""

    buffer_size_dwords: int
    cmd_index: int
    reg_save_area: tuple[int, ...]
    commands: bytes


@dataclass(frozen=True)
class OsErrorLog:
    except_type: int
    runlist_id: int
    chid: int
    text: str
    preemptive_removal_previous_xid: int | None  #: r570 only


@dataclass(frozen=True)
class PostEvent:
    h_client: int
    h_event: int
    notify_index: int
    data: int
    info16: int
    status: int
    notify_list: bool
    event_data: bytes


@dataclass(frozen=True)
class RcTriggered:
    """RC_TRIGGERED (robust channel recovery); the field set differs by version, all kept in ``fields``."""

    engine_type: int
    chid: int
    except_type: int
    fields: Mapping[str, int]


@dataclass(frozen=True)
class LockdownNotice:
    engaging: bool


@dataclass(frozen=True)
class NocatRecord:
    data: int


@dataclass(frozen=True)
class RawEvent:
    """An event without a typed form here (INIT_DONE, MMU_FAULT_QUEUED, ...): its payload bytes."""

    name: str
    payload: bytes


EventBody = SequencerRequest | OsErrorLog | PostEvent | RcTriggered | LockdownNotice | NocatRecord | RawEvent


def _plain_fields(obj: CStruct) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in _field_names(type(obj)):
        v = getattr(obj, name)
        if isinstance(v, int):
            out[name] = v
    return out


def parse_event(abi: GspAbi, number: int, payload: bytes) -> EventBody:
    """The typed form of event ``number`` with ``payload`` (untrusted: every length checked)."""
    event = abi.event_of(number)
    name = abi.name_of(number)
    if event is Event.RUN_CPU_SEQUENCER:
        s = abi.parse("rpc_run_cpu_sequencer_v", payload, what="RUN_CPU_SEQUENCER")
        start = abi.sizeof("rpc_run_cpu_sequencer_v")
        if s.cmdIndex > s.bufferSizeDWord:
            raise GspError(f"RUN_CPU_SEQUENCER: cmdIndex {s.cmdIndex:#x} past bufferSizeDWord {s.bufferSizeDWord:#x}")
        need = start + 4 * s.cmdIndex
        if need > len(payload):
            raise GspError(f"RUN_CPU_SEQUENCER: cmdIndex {s.cmdIndex:#x} dwords need {need:#x} bytes, "
                           f"payload has {len(payload):#x}")
        return SequencerRequest(s.bufferSizeDWord, s.cmdIndex, tuple(s.regSaveArea), bytes(payload[start:need]))
    if event is Event.OS_ERROR_LOG:
        s = abi.parse("rpc_os_error_log_v", payload, what="OS_ERROR_LOG")
        xid = getattr(s, "preemptiveRemovalPreviousXid", None) if "preemptiveRemovalPreviousXid" in abi.fields(
            "rpc_os_error_log_v") else None
        return OsErrorLog(s.exceptType, s.runlistId, s.chid, _cstr(s.errString), xid)
    if event is Event.POST_EVENT:
        s = abi.parse("rpc_post_event_v", payload, what="POST_EVENT")
        start = type(s).eventData.offset
        if start + s.eventDataSize > len(payload):
            raise GspError(f"POST_EVENT: eventDataSize {s.eventDataSize:#x} past the payload of "
                           f"{len(payload):#x} bytes")
        return PostEvent(s.hClient, s.hEvent, s.notifyIndex, s.data, s.info16, s.status, bool(s.bNotifyList),
                         bytes(payload[start:start + s.eventDataSize]))
    if event is Event.RC_TRIGGERED:
        s = abi.parse("rpc_rc_triggered_v", payload, what="RC_TRIGGERED")
        return RcTriggered(s.nv2080EngineType, s.chid, s.exceptType, _plain_fields(s))
    if event is Event.LOCKDOWN_NOTICE:
        s = abi.parse("rpc_gsp_lockdown_notice_v", payload, what="GSP_LOCKDOWN_NOTICE")
        return LockdownNotice(bool(s.bLockdownEngaging))
    if event is Event.POST_NOCAT_RECORD:
        s = abi.parse("rpc_gsp_post_nocat_record_v", payload, what="GSP_POST_NOCAT_RECORD")
        return NocatRecord(s.data)
    return RawEvent(name, bytes(payload))
