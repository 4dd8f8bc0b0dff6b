"""The generated bindings against the reference (shared/reference/nvidia-facts.md §5-§8, §11), and the
version-neutral layer above them: version choice, declared differences, checked packers."""

from __future__ import annotations

import ctypes
import itertools

import pytest

from nova_core.errors import FirmwareError, GspError
from nova_core.gpu.chips import Chipset
from nova_core.gsp import bindings
from nova_core.gsp.fw import (
    TRAITS,
    Event,
    GetGspStaticInfo,
    GspAbi,
    GspStaticInfo,
    id8,
    id8_name,
    libos_region,
    parse_event,
    root_alloc_params,
)
from nova_core.sim.gsp_rm import parse_registry
from nova_core.sim.gsp_rm.static import fb_plan, static_info

VERSIONS = list(bindings.SUPPORTED)

# (structure, size or None, {field: offset}) common to every version (reference §5-§8, §11)
COMMON = [
    ("msgqTxHeader", 0x20, {"version": 0, "size": 4, "msgSize": 8, "msgCount": 0xC, "writePtr": 0x10,
                            "flags": 0x14, "rxHdrOff": 0x18, "entryOff": 0x1C}),
    ("msgqRxHeader", 4, {"readPtr": 0}),
    ("GSP_MSG_QUEUE_ELEMENT", 0x50, {"authTagBuffer": 0, "aadBuffer": 0x10, "checkSum": 0x20, "seqNum": 0x24,
                                     "elemCount": 0x28, "rpc": 0x30}),
    ("rpc_message_header_v", 0x20, {"header_version": 0, "signature": 4, "length": 8, "function": 0xC,
                                    "rpc_result": 0x10, "rpc_result_private": 0x14, "sequence": 0x18,
                                    "u": 0x1C}),
    ("GspFwWprMeta", 0x100, {"magic": 0, "revision": 8, "sysmemAddrOfRadix3Elf": 0x10, "sizeOfRadix3Elf": 0x18,
                             "sysmemAddrOfBootloader": 0x20, "sizeOfBootloader": 0x28,
                             "bootloaderCodeOffset": 0x30, "bootloaderDataOffset": 0x38,
                             "bootloaderManifestOffset": 0x40, "sysmemAddrOfSignature": 0x48,
                             "sizeOfSignature": 0x50, "gspFwRsvdStart": 0x58, "nonWprHeapOffset": 0x60,
                             "nonWprHeapSize": 0x68, "gspFwWprStart": 0x70, "gspFwHeapOffset": 0x78,
                             "gspFwHeapSize": 0x80, "gspFwOffset": 0x88, "bootBinOffset": 0x90,
                             "frtsOffset": 0x98, "frtsSize": 0xA0, "gspFwWprEnd": 0xA8, "fbSize": 0xB0,
                             "vgaWorkspaceOffset": 0xB8, "vgaWorkspaceSize": 0xC0, "bootCount": 0xC8,
                             "partitionRpcAddr": 0xD0, "partitionRpcRequestOffset": 0xD8,
                             "partitionRpcReplyOffset": 0xDA, "elfCodeOffset": 0xDC, "elfDataOffset": 0xE0,
                             "elfCodeSize": 0xE4, "elfDataSize": 0xE8, "lsUcodeVersion": 0xEC,
                             "sysmemAddrOfCrashReportQueue": 0xE0, "sizeOfCrashReportQueue": 0xE8,
                             "gspFwHeapVfPartitionCount": 0xF0, "verified": 0xF8}),
    ("LibosMemoryRegionInitArgument", 0x20, {"id8": 0, "pa": 8, "size": 0x10, "kind": 0x18, "loc": 0x19}),
    ("PACKED_REGISTRY_TABLE", 8, {"size": 0, "numEntries": 4, "entries": 8}),
    ("PACKED_REGISTRY_ENTRY", 0x10, {"nameOffset": 0, "type": 4, "data": 8, "length": 0xC}),
    ("rpc_gsp_rm_alloc_v", 0x20, {"hClient": 0, "hParent": 4, "hObject": 8, "hClass": 0xC, "status": 0x10,
                                  "paramsSize": 0x14, "flags": 0x18, "reserved": 0x1C, "params": 0x20}),
    ("rpc_gsp_rm_control_v", 0x18, {"hClient": 0, "hObject": 4, "cmd": 8, "status": 0xC, "paramsSize": 0x10,
                                    "flags": 0x14, "params": 0x18}),
    ("rpc_free_v", 0x10, {"params": 0}),
    ("rpc_update_bar_pde_v", 0x18, {"info": 0}),
    ("rpc_run_cpu_sequencer_v", 0x28, {"bufferSizeDWord": 0, "cmdIndex": 4, "regSaveArea": 8,
                                       "commandBuffer": 0x28}),
    ("rpc_post_event_v", 0x20, {"hClient": 0, "hEvent": 4, "notifyIndex": 8, "data": 0xC, "info16": 0x10,
                                "status": 0x14, "eventDataSize": 0x18, "bNotifyList": 0x1C, "eventData": 0x1D}),
    ("rpc_gsp_lockdown_notice_v", 1, {"bLockdownEngaging": 0}),
    ("rpc_unloading_guest_driver_v", 8, {"bInPMTransition": 0, "bGc6Entering": 1, "newLevel": 4}),
    ("rpc_set_guest_system_info_v", 0x318, {"guestDriverVersion": 0x18, "guestVersion": 0x118,
                                            "guestTitle": 0x218}),
    ("GSP_SEQ_BUF_PAYLOAD_REG_WRITE", 8, {"addr": 0, "val": 4}),
    ("GSP_SEQ_BUF_PAYLOAD_REG_MODIFY", 12, {"addr": 0, "mask": 4, "val": 8}),
    ("GSP_SEQ_BUF_PAYLOAD_REG_POLL", 20, {"addr": 0, "mask": 4, "val": 8, "timeout": 12, "error": 16}),
    ("GSP_SEQ_BUF_PAYLOAD_DELAY_US", 4, {"val": 0}),
    ("GSP_SEQ_BUF_PAYLOAD_REG_STORE", 8, {"addr": 0, "index": 4}),
    ("NV0080_ALLOC_PARAMETERS", 0x38, {"deviceId": 0, "hClientShare": 4, "hTargetClient": 8, "hTargetDevice": 0xC,
                                       "flags": 0x10, "vaSpaceSize": 0x18, "vaStartInternal": 0x20,
                                       "vaLimitInternal": 0x28, "vaMode": 0x30}),
    ("NV2080_ALLOC_PARAMETERS", 4, {"subDeviceId": 0}),
    ("libosLogMetadata", 0x18, {"filename": 0, "format": 8, "lineNumber": 0x10, "argumentCount": 0x14,
                                "printLevel": 0x15}),
]

# per version: (structure, size, {field: offset})
PER_VERSION = {
    "535.113.01": [
        ("GSP_ARGUMENTS_CACHED", 0x50, {"messageQueueInitArguments": 0, "srInitArguments": 0x30,
                                        "gpuInstance": 0x3C, "profilerArgs": 0x40}),
        ("MESSAGE_QUEUE_INIT_ARGUMENTS", 0x30, {"sharedMemPhysAddr": 0, "pageTableEntryCount": 8,
                                                "cmdQueueOffset": 0x10, "statQueueOffset": 0x18,
                                                "locklessCmdQueueOffset": 0x20, "locklessStatQueueOffset": 0x28}),
        ("GSP_SR_INIT_ARGUMENTS", 0xC, {"oldLevel": 0, "flags": 4, "bInPMTransition": 8}),
        ("rpc_os_error_log_v", 0x10C, {"exceptType": 0, "runlistId": 4, "chid": 8, "errString": 0xC}),
        ("rpc_rc_triggered_v", 0x14, {"nv2080EngineType": 0, "chid": 4, "exceptType": 8, "scope": 0xC,
                                      "partitionAttributionId": 0x10}),
        ("NV0000_ALLOC_PARAMETERS", 0x6C, {"hClient": 0, "processID": 4, "processName": 8}),
    ],
    "570.144": [
        ("GSP_ARGUMENTS_CACHED", 0x48, {"messageQueueInitArguments": 0, "srInitArguments": 0x20,
                                        "gpuInstance": 0x2C, "bDmemStack": 0x30, "profilerArgs": 0x38}),
        ("MESSAGE_QUEUE_INIT_ARGUMENTS", 0x20, {"sharedMemPhysAddr": 0, "pageTableEntryCount": 8,
                                                "cmdQueueOffset": 0x10, "statQueueOffset": 0x18}),
        ("rpc_os_error_log_v", 0x110, {"errString": 0xC, "preemptiveRemovalPreviousXid": 0x10C}),
        ("rpc_rc_triggered_v", 0x30, {"nv2080EngineType": 0, "chid": 4, "gfid": 8, "exceptLevel": 0xC,
                                      "exceptType": 0x10, "scope": 0x14}),
        ("rpc_gsp_post_nocat_record_v", 4, {"data": 0}),
        ("NV0000_ALLOC_PARAMETERS", 0x78, {"hClient": 0, "processID": 4, "processName": 8}),
    ],
}


def _offset(cls: type, name: str) -> int:
    """A field's offset, looking through anonymous members (GspFwWprMeta's unions)."""
    for f in cls._fields_:  # type: ignore[attr-defined]
        if f[0] == name:
            return int(getattr(cls, name).offset)
    for anon in getattr(cls, "_anonymous_", ()):
        sub = dict((f[0], f[1]) for f in cls._fields_)[anon]  # type: ignore[attr-defined]
        try:
            return int(getattr(cls, anon).offset) + _offset(sub, name)
        except KeyError:
            continue
    raise KeyError(name)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name,size,fields", COMMON, ids=[c[0] for c in COMMON])
def test_common_layouts(version: str, name: str, size: int, fields: dict[str, int]) -> None:
    cls = GspAbi.for_version(version).struct(name)
    assert ctypes.sizeof(cls) == size
    for field, off in fields.items():
        assert _offset(cls, field) == off, f"{version} {name}.{field}"


@pytest.mark.parametrize("version,name,size,fields",
                         [(v, *s) for v, specs in PER_VERSION.items() for s in specs],
                         ids=[f"{v}-{s[0]}" for v, specs in PER_VERSION.items() for s in specs])
def test_version_layouts(version: str, name: str, size: int, fields: dict[str, int]) -> None:
    cls = GspAbi.for_version(version).struct(name)
    assert ctypes.sizeof(cls) == size
    for field, off in fields.items():
        assert _offset(cls, field) == off, f"{version} {name}.{field}"


def test_wpr_meta_tail_differs_by_version() -> None:
    r535, r550, r570 = (GspAbi.for_version(v).struct("GspFwWprMeta") for v in VERSIONS)
    assert _offset(r535, "padding") == 0xF1 and r535.padding.size == 7
    assert _offset(r550, "flags") == 0xF1
    assert _offset(r570, "flags") == 0xF1 and _offset(r570, "pmuReservedSize") == 0xF4
    with pytest.raises(KeyError):
        _offset(r550, "pmuReservedSize")


@pytest.mark.parametrize("version", VERSIONS)
def test_traits_match_the_bindings(version: str) -> None:
    """The differences declared once in fw.TRAITS are what the generated bindings say."""
    abi = GspAbi.for_version(version)
    t = TRAITS[version]
    assert abi.sizeof("GSP_ARGUMENTS_CACHED") == t.arguments_cached_size
    assert ("locklessCmdQueueOffset" in abi.fields("MESSAGE_QUEUE_INIT_ARGUMENTS")) == t.lockless_queues
    assert ("flags" in abi.fields("GspFwWprMeta")) == t.wpr_meta_flags
    assert ("pmuReservedSize" in abi.fields("GspFwWprMeta")) == t.wpr_meta_pmu_reserved
    assert abi.event(Event.LOCKDOWN_NOTICE) == t.lockdown_notice_event
    assert abi.events.get("GSP_POST_NOCAT_RECORD") == t.nocat_record_event
    assert abi.sizeof("NV0000_ALLOC_PARAMETERS") == t.root_alloc_params_size


@pytest.mark.parametrize("version", VERSIONS)
def test_numbers_and_constants(version: str) -> None:
    m = bindings.load(version)
    fn = {"NOP": 0, "SET_GUEST_SYSTEM_INFO": 1, "ALLOC_ROOT": 2, "ALLOC_MEMORY": 4, "FREE": 10, "LOG": 11,
          "UNLOADING_GUEST_DRIVER": 47, "GET_STATIC_INFO": 51, "GET_GSP_STATIC_INFO": 65, "UPDATE_BAR_PDE": 70,
          "CONTINUATION_RECORD": 71, "GSP_SET_SYSTEM_INFO": 72, "SET_REGISTRY": 73, "GSP_INIT_POST_OBJGPU": 74,
          "GSP_RM_CONTROL": 76, "GSP_RM_ALLOC": 103}
    assert {k: m.FUNCTIONS[k] for k in fn} == fn
    ev = {"FIRST_EVENT": 0x1000, "GSP_INIT_DONE": 0x1001, "GSP_RUN_CPU_SEQUENCER": 0x1002, "POST_EVENT": 0x1003,
          "RC_TRIGGERED": 0x1004, "MMU_FAULT_QUEUED": 0x1005, "OS_ERROR_LOG": 0x1006, "UCODE_LIBOS_PRINT": 0x100C,
          "PERF_BRIDGELESS_INFO_UPDATE": 0x100F}
    assert {k: m.EVENTS[k] for k in ev} == ev
    assert m.GSP_FW_WPR_META_MAGIC == 0xDC3AAE21371A60B3 and m.GSP_FW_WPR_META_REVISION == 1
    assert m.GSP_FW_WPR_META_VERIFIED == 0xA0A0A0A0A0A0A0A0
    assert m.GSP_FW_SR_META_MAGIC == 0x8A3BB9E6C6C39D93
    assert m.NV_VGPU_MSG_SIGNATURE_VALID == 0x43505256 and m.NV_VGPU_MSG_RESULT_RPC_PENDING == 0xFFFFFFFF
    assert (m.GSP_MSG_QUEUE_ELEMENT_SIZE_MIN, m.GSP_MSG_QUEUE_ELEMENT_SIZE_MAX) == (0x1000, 0x10000)
    assert m.GSP_MSG_QUEUE_ELEMENT_HDR_SIZE == 0x30 and m.MSGQ_FLAGS_SWAP_RX == 1
    assert [m.GSP_SEQ_BUF_OPCODE_REG_WRITE, m.GSP_SEQ_BUF_OPCODE_CORE_RESUME] == [0, 8]
    assert [m.GSP_SEQ_PAYLOAD_DWORDS_REG_WRITE, m.GSP_SEQ_PAYLOAD_DWORDS_REG_MODIFY,
            m.GSP_SEQ_PAYLOAD_DWORDS_REG_POLL, m.GSP_SEQ_PAYLOAD_DWORDS_DELAY_US,
            m.GSP_SEQ_PAYLOAD_DWORDS_REG_STORE, m.GSP_SEQ_PAYLOAD_DWORDS_CORE_RESUME] == [2, 3, 5, 1, 2, 0]
    assert m.GSP_SEQ_BUF_REG_SAVE_SIZE == 8
    assert (m.NV01_ROOT, m.NV01_DEVICE_0, m.NV20_SUBDEVICE_0) == (0, 0x80, 0x2080)
    assert (m.LIBOS_MEMORY_REGION_CONTIGUOUS, m.LIBOS_MEMORY_REGION_LOC_SYSMEM) == (1, 1)
    assert (m.NV_RPC_UPDATE_PDE_BAR_1, m.NV_RPC_UPDATE_PDE_BAR_2) == (0, 1)
    assert m.NV_STATUS[0] == ("NV_OK", "Success") and m.NV_STATUS[0xFFFF][0] == "NV_ERR_GENERIC"


def test_event_numbers_that_moved() -> None:
    r535, r550, r570 = (bindings.load(v).EVENTS for v in VERSIONS)
    assert r535["GSP_LOCKDOWN_NOTICE"] == 0x101D and r570["GSP_LOCKDOWN_NOTICE"] == 0x101C
    assert r550["GSP_LOCKDOWN_NOTICE"] == 0x101C
    assert "GSP_POST_NOCAT_RECORD" not in r535 and r570["GSP_POST_NOCAT_RECORD"] == 0x1020
    assert r535["NUM_EVENTS"] == 0x101F and r570["NUM_EVENTS"] == 0x1023
    assert bindings.load("535.113.01").FUNCTIONS["NUM_FUNCTIONS"] == 203
    assert bindings.load("570.144").FUNCTIONS["NUM_FUNCTIONS"] == 227
    with pytest.raises(GspError, match="no event POST_NOCAT_RECORD"):
        GspAbi.for_version("535.113.01").event(Event.POST_NOCAT_RECORD)


# -- version choice -------------------------------------------------------------------------------


def test_version_from_fwversion_bytes() -> None:
    assert GspAbi(b"535.113.01\0").version == "535.113.01"
    assert bindings.module_name("570.144\0\0") == "r570_144"


def test_unknown_version_lists_supported() -> None:
    with pytest.raises(bindings.UnsupportedVersion) as e:
        GspAbi.for_version("560.35.03")
    assert isinstance(e.value, FirmwareError)
    for v in VERSIONS:
        assert v in str(e.value)


# -- packers --------------------------------------------------------------------------------------


def test_id8_packing() -> None:
    assert id8("LOGINIT") == 0x004C4F47494E4954
    assert id8("RMARGS") == int.from_bytes(b"RMARGS", "big")
    assert id8_name(id8("LOGRM")) == "LOGRM"
    with pytest.raises(GspError):
        id8("TOOLONGNAME")
    region = libos_region("LOGRM", 0x1_0000_3000, 0x10000)
    assert region == (id8("LOGRM").to_bytes(8, "little") + (0x1_0000_3000).to_bytes(8, "little")
                      + (0x10000).to_bytes(8, "little") + bytes([1, 1]) + bytes(6))


def test_wpr_meta_packer() -> None:
    abi = GspAbi.for_version("570.144")
    raw = abi.wpr_meta(fbSize=0x6_0000_0000, pmuReservedSize=0x1000, flags=2)
    assert len(raw) == 0x100
    assert int.from_bytes(raw[0:8], "little") == 0xDC3AAE21371A60B3 and int.from_bytes(raw[8:16], "little") == 1
    assert int.from_bytes(raw[0xB0:0xB8], "little") == 0x6_0000_0000
    assert raw[0xF1] == 2 and int.from_bytes(raw[0xF4:0xF8], "little") == 0x1000
    with pytest.raises(GspError, match="pmuReservedSize"):
        GspAbi.for_version("535.113.01").wpr_meta(pmuReservedSize=1)
    with pytest.raises(GspError, match="did you mean 'fbSize'"):
        abi.wpr_meta(fbsize=1)
    with pytest.raises(GspError, match="does not fit 32 bits"):
        abi.wpr_meta(pmuReservedSize=1 << 32)


@pytest.mark.parametrize("version", VERSIONS)
def test_arguments_cached(version: str) -> None:
    abi = GspAbi.for_version(version)
    raw = abi.arguments_cached(shared_mem_phys=0x1_2345_6000, pte_count=129, cmdq_offset=0x1000,
                               statq_offset=0x41000)
    assert len(raw) == TRAITS[version].arguments_cached_size
    assert int.from_bytes(raw[0:8], "little") == 0x1_2345_6000
    assert int.from_bytes(raw[8:12], "little") == 129
    assert int.from_bytes(raw[0x10:0x18], "little") == 0x1000
    assert int.from_bytes(raw[0x18:0x20], "little") == 0x41000
    if TRAITS[version].lockless_queues:
        with pytest.raises(GspError, match="bDmemStack"):
            abi.arguments_cached(shared_mem_phys=0, pte_count=1, cmdq_offset=0, statq_offset=0, dmem_stack=True)
    else:
        raw = abi.arguments_cached(shared_mem_phys=0, pte_count=1, cmdq_offset=0, statq_offset=0, dmem_stack=True)
        assert raw[0x30] == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_registry_packing_read_back_by_the_sim(version: str) -> None:
    abi = GspAbi.for_version(version)
    entries: dict[str, int | str | bytes] = {"RMSecBusResetEnable": 1, "RmMsg": "gsp-rm", "Blob": b"\x01\x02\x03"}
    raw = abi.registry(entries)
    assert int.from_bytes(raw[0:4], "little") == len(raw) and int.from_bytes(raw[4:8], "little") == 3
    assert parse_registry(abi.module, raw) == entries  # the sim's independent parser
    with pytest.raises(GspError):
        abi.registry({"Big": 1 << 33})


def test_system_info_fields_by_version() -> None:
    from nova_core.gsp.fw import SystemInfo

    info = SystemInfo(bar0_phys=0xF000_0000, bar1_phys=0xE000_0000, bar3_phys=0xD000_0000, pci_bdf=0x0100,
                      pci_device_id=0x2204)
    r535 = GspAbi.for_version("535.113.01")
    raw = r535.system_info(info)
    s = r535.parse("GspSystemInfo", raw)
    assert (s.gpuPhysAddr, s.gpuPhysFbAddr, s.gpuPhysInstAddr) == (0xF000_0000, 0xE000_0000, 0xD000_0000)
    assert (s.pciConfigMirrorBase, s.pciConfigMirrorSize, s.nvDomainBusDeviceFunc) == (0x88000, 0x1000, 0x100)
    assert s.maxUserVa == (1 << 47) - 0x1000 and "PCIDeviceID" not in r535.fields("GspSystemInfo")
    r570 = GspAbi.for_version("570.144")
    s = r570.parse("GspSystemInfo", r570.system_info(info))
    assert s.PCIDeviceID == 0x2204 and s.hostPageSize == 0x1000
    with pytest.raises(GspError, match="shorter than"):
        r570.parse("GspSystemInfo", raw[:0x10])


@pytest.mark.parametrize("version", VERSIONS)
def test_static_info_decode(version: str) -> None:
    abi = GspAbi.for_version(version)
    raw = static_info(abi.module, Chipset.AD102, 24576, 0x2684, fb_plan(24576 << 20, None))
    info = GetGspStaticInfo().decode(abi, raw)
    assert isinstance(info, GspStaticInfo)
    assert info.gpu_name == "NVIDIA GeForce RTX 4090" and info.gpu_short_name == "AD102"
    assert info.fb_length == 24576 << 20 and len(info.fb_regions) == 4 and len(info.gid) == 16
    assert info.internal_client != 0 and info.bar2_pde_base < info.fb_length
    usable = [r for r in info.fb_regions if not r.reserved and not r.protected]
    assert len(usable) == 1 and usable[0].base == 0 and usable[0].compressible and usable[0].iso
    kept = [(r.reserved != 0, r.protected) for r in info.fb_regions[1:]]
    assert kept == [(True, False), (True, True), (True, False)]
    assert all(a.limit + 1 == b.base for a, b in itertools.pairwise(info.fb_regions))
    assert info.fb_regions[1].base <= info.bar2_pde_base < info.fb_regions[1].limit
    bad = bytearray(raw)
    off = type(info.raw).fbRegionInfoParams.offset
    bad[off:off + 4] = (17).to_bytes(4, "little")
    with pytest.raises(GspError, match="numFBRegions 17"):
        GetGspStaticInfo().decode(abi, bytes(bad))


def test_root_alloc_params() -> None:
    abi = GspAbi.for_version("535.113.01")
    raw = root_alloc_params(abi, 0xC1D00001)
    assert len(raw) == 0x6C and raw[:8] == bytes.fromhex("0100d0c1ffffffff") and raw[8:17] == b"nova-core"


@pytest.mark.parametrize("version", VERSIONS)
def test_parse_events(version: str) -> None:
    abi = GspAbi.for_version(version)
    m = abi.module
    log = m.rpc_os_error_log_v(exceptType=13, runlistId=2, chid=7, errString=b"Xid 13: graphics exception")
    body = parse_event(abi, abi.event(Event.OS_ERROR_LOG), bytes(log))
    assert body.text == "Xid 13: graphics exception" and body.chid == 7  # type: ignore[union-attr]
    seq = m.rpc_run_cpu_sequencer_v(bufferSizeDWord=8, cmdIndex=3)
    req = parse_event(abi, abi.event(Event.RUN_CPU_SEQUENCER), bytes(seq) + bytes(12))
    assert req.cmd_index == 3 and len(req.commands) == 12  # type: ignore[union-attr]
    with pytest.raises(GspError, match="cmdIndex 0x3 dwords need"):
        parse_event(abi, abi.event(Event.RUN_CPU_SEQUENCER), bytes(seq) + bytes(8))
    with pytest.raises(GspError, match="cmdIndex 0x9 past bufferSizeDWord"):
        parse_event(abi, abi.event(Event.RUN_CPU_SEQUENCER),
                    bytes(m.rpc_run_cpu_sequencer_v(bufferSizeDWord=8, cmdIndex=9)) + bytes(64))
    post = m.rpc_post_event_v(hClient=1, hEvent=2, eventDataSize=100)
    with pytest.raises(GspError, match="eventDataSize 0x64 past"):
        parse_event(abi, abi.event(Event.POST_EVENT), bytes(post))
    lock = parse_event(abi, abi.event(Event.LOCKDOWN_NOTICE), b"\x01")
    assert lock.engaging is True  # type: ignore[union-attr]
