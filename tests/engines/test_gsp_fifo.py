"""The simulated GSP-RM's FIFO objects, driven with raw RM allocations and controls: what it accepts and refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nova_core.engines import facts as F
from nova_core.gsp import bindings
from nova_core.gsp.boot import GspDevice
from nova_core.gsp.client import RmObject
from nova_core.gsp.fw import RpcFailure

_NV_STATUS = bindings.load("570.144").NV_STATUS  # (the codes are the same in every release)


def _status(fn: Callable[[], Any]) -> str:
    try:
        fn()
    except RpcFailure as e:
        return str(_NV_STATUS[e.result][0])
    return "NV_OK"


class Kit:
    """Raw objects for channel allocations on a booted GPU (memory from the driver's allocators)."""

    def __init__(self, gpu: GspDevice) -> None:
        self.gpu = gpu
        fifo = gpu.channels
        self.fifo = fifo
        self.abi = fifo.abi
        self.m = fifo.abi.module
        self.space = fifo.address_space("raw")
        self.inst = fifo.instmem.alloc(0x1000, name="raw inst")
        self.userd = fifo.instmem.alloc(0x1000, name="raw userd")
        self.ring = self.space.alloc_sysmem(0x10000, name="raw ring")
        self.mthd = gpu.dev.dma.alloc(fifo.method_buffer_size, name="raw mthdbuf")
        self.notifier = gpu.dev.dma.alloc(0x1000, name="raw notifier")
        self.space.join(self.inst)
        self.objects: list[RmObject] = []

    def group(self, engine: int = 9, **over: Any) -> RmObject:
        p = self.abi.pack("NV_CHANNEL_GROUP_ALLOCATION_PARAMETERS", **({"hVASpace": self.space.rm.handle,
                                                                        "engineType": engine} | over))
        g = self.fifo.device.alloc(F.KEPLER_CHANNEL_GROUP_A, p)
        self.objects.append(g)
        return g

    def params(self, chid: int = 40, engine: int = 9, **over: Any) -> bytes:
        fb, sysmem = int(F.MemorySpace.FBMEM), int(F.MemorySpace.SYSMEM)
        flags = F.Nvos04Flags.encode(channel_userd_index_value=chid % 8, channel_userd_index_page_value=chid // 8,
                                     channel_userd_index_page_fixed=1)
        base: dict[str, Any] = {
            "gpFifoOffset": self.ring.va, "gpFifoEntries": 64, "flags": flags, "hVASpace": self.space.rm.handle,
            "engineType": engine,
            "internalFlags": F.ChannelInternalFlags.encode(error_notifier_type=F.ErrorNotifierType.MEMORY),
            "instanceMem": {"base": self.inst.vram_addr, "size": 0x1000, "addressSpace": fb},
            "ramfcMem": {"base": self.inst.vram_addr, "size": 0x200, "addressSpace": fb},
            "userdMem": {"base": self.userd.vram_addr, "size": 0x200, "addressSpace": fb},
            "mthdbufMem": {"base": self.mthd.bus_addr, "size": self.mthd.size, "addressSpace": sysmem},
            "errorNotifierMem": {"base": self.notifier.bus_addr, "size": 0x1000, "addressSpace": sysmem}}
        return self.abi.pack("NV_CHANNEL_ALLOC_PARAMS", **(base | over))

    def close(self) -> None:
        for o in reversed(self.objects):
            o.free()
        self.fifo.instmem.free(self.inst)
        self.fifo.instmem.free(self.userd)
        self.gpu.dev.dma.free(self.mthd)
        self.gpu.dev.dma.free(self.notifier)
        self.space.close()


@pytest.fixture
def kit(ga102: GspDevice) -> Any:
    k = Kit(ga102)
    yield k
    k.close()


def test_device_info_table_and_method_buffer(ga102: GspDevice) -> None:
    fifo = ga102.channels
    assert [(e.name, e.runlist, e.rm_engine_type) for e in fifo.engines] == [
        ("GR0", 0, 1), ("CE0", 1, 9), ("CE1", 2, 10), ("CE2", 3, 11), ("CE3", 4, 12), ("CE4", 5, 13)]
    assert all(e.runlist_pri_base for e in fifo.engines)  # Ampere and later report NV_RUNLIST bases
    assert fifo.method_buffer_size == 0x2000  # 27 * 5 * (13 * 4 + 2) = 7290, page-rounded
    m = fifo.abi.module
    raw = fifo.subdevice.control(int(m.NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE),
                                 fifo.abi.pack("NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS", baseIndex=4))
    p = fifo.abi.parse("NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS", raw)
    assert p.numEntries == 2 and not p.bMore and bytes(p.entries[0].engineName).rstrip(b"\0") == b"CE3"
    assert _status(lambda: fifo.subdevice.control(int(m.NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE),
                                                  fifo.abi.pack("NV2080_CTRL_FIFO_GET_DEVICE_INFO_TABLE_PARAMS",
                                                                baseIndex=99))) == "NV_ERR_INVALID_ARGUMENT"
    # a subdevice control on a device object is not supported
    assert _status(lambda: fifo.device.control(int(m.NV2080_CTRL_CMD_CE_GET_FAULT_METHOD_BUFFER_SIZE), bytes(4))) \
        == "NV_ERR_NOT_SUPPORTED"


def test_turing_device_info_has_no_runlist_bases(booter: Any) -> None:
    gpu = booter("tu102")
    assert gpu.channels.engines and not any(e.runlist_pri_base for e in gpu.channels.engines)


def test_vaspace_and_group_refusals(kit: Kit) -> None:
    dev = kit.fifo.device
    bad_index = kit.abi.pack("NV_VASPACE_ALLOCATION_PARAMETERS", index=1)  # GPU_HOST: RM's BAR1 space
    assert _status(lambda: dev.alloc(F.FERMI_VASPACE_A, bad_index)) == "NV_ERR_NOT_SUPPORTED"
    assert _status(lambda: kit.fifo.subdevice.alloc(F.FERMI_VASPACE_A, bytes(0x30))) == "NV_ERR_INVALID_OBJECT_PARENT"
    assert _status(lambda: kit.group(engine=0x30)) == "NV_ERR_INVALID_ARGUMENT"  # no such engine on GA102
    assert _status(lambda: kit.group(hVASpace=0x1234)) == "NV_ERR_INVALID_OBJECT_HANDLE"
    assert _status(lambda: dev.alloc(F.KEPLER_CHANNEL_GROUP_A, b"")) == "NV_ERR_INVALID_PARAM_STRUCT"


@pytest.mark.parametrize("over, status", [
    ({"gpFifoEntries": 48}, "NV_ERR_INVALID_ARGUMENT"),  # not a power of two
    ({"gpFifoOffset": 0x1004}, "NV_ERR_INVALID_ARGUMENT"),
    ({"flags": 0}, "NV_ERR_NOT_SUPPORTED"),  # RM-chosen channel ids are not modelled
    ({"hVASpace": 0x99}, "NV_ERR_INVALID_OBJECT_HANDLE"),
    ({"engineType": 10}, "NV_ERR_INVALID_ARGUMENT"),  # CE1 under a CE0 group
    ({"instanceMem": {"base": 0x1800, "size": 0x1000, "addressSpace": 2}}, "NV_ERR_INVALID_ARGUMENT"),
    ({"instanceMem": {"base": 1 << 45, "size": 0x1000, "addressSpace": 2}}, "NV_ERR_INVALID_ARGUMENT"),
    ({"ramfcMem": {"base": 0, "size": 0x200, "addressSpace": 2}}, "NV_ERR_INVALID_ARGUMENT"),
    ({"userdMem": {"base": 0x100, "size": 0x200, "addressSpace": 2}}, "NV_ERR_INVALID_ARGUMENT"),
    ({"mthdbufMem": {"base": 0x1000, "size": 0x1000, "addressSpace": 1}}, "NV_ERR_INVALID_ARGUMENT"),
    ({"internalFlags": F.ChannelInternalFlags.encode(error_notifier_type=F.ErrorNotifierType.CTXDMA)},
     "NV_ERR_NOT_SUPPORTED"),
    ({"errorNotifierMem": {"base": 0xDEAD000, "size": 0x1000, "addressSpace": 1}}, "NV_ERR_INVALID_ARGUMENT"),
])
def test_channel_alloc_refusals(kit: Kit, over: dict[str, Any], status: str) -> None:
    g = kit.group()
    cls = kit.fifo.classes.gpfifo
    assert _status(lambda: g.alloc(cls, kit.params(**over))) == status
    rm = kit.gpu.dev.sim.models["gsp_rm"]
    assert rm.refusals and status in rm.refusals[-1]
    assert 40 not in kit.gpu.dev.sim.models["fifo"].channels


def test_channel_memory_in_gsp_rms_vram_is_refused(kit: Kit) -> None:
    """Instance memory or USERD in VRAM GSP-RM reserves or protects is not the client's to give."""
    regions = [r for r in kit.gpu.static.fb_regions if r.reserved or r.protected]
    assert regions
    g = kit.group()
    cls = kit.fifo.classes.gpfifo
    rm = kit.gpu.dev.sim.models["gsp_rm"]
    for r in regions:
        base = (r.base + 0xFFF) & ~0xFFF
        for name, size in (("instanceMem", 0x1000), ("userdMem", 0x200)):
            mem = {"base": base, "size": size, "addressSpace": int(F.MemorySpace.FBMEM)}
            params = kit.params(**{name: mem})
            assert _status(lambda p=params: g.alloc(cls, p)) == "NV_ERR_INVALID_ARGUMENT"
            assert "is not the client's VRAM" in rm.refusals[-1], rm.refusals[-1]
    assert 40 not in kit.gpu.dev.sim.models["fifo"].channels


def test_channel_ids_are_checked(kit: Kit) -> None:
    g = kit.group()
    cls = kit.fifo.classes.gpfifo
    assert _status(lambda: g.alloc(cls, kit.params(chid=2048 + 7))) == "NV_ERR_INVALID_ARGUMENT"
    ch = g.alloc(cls, kit.params(chid=41))
    kit.objects.append(ch)
    assert _status(lambda: g.alloc(cls, kit.params(chid=41))) == "NV_ERR_STATE_IN_USE"
    sim_ch = kit.gpu.dev.sim.models["fifo"].channels[41]
    assert (sim_ch.runlist, sim_ch.bound, sim_ch.scheduled) == (1, False, False)
    # the RAMFC GSP-RM wrote into the driver's instance block (nouveau's gv100 layout)
    ramfc = kit.inst.read(0, 0x200)
    word = lambda off: int.from_bytes(ramfc[off:off + 4], "little")  # noqa: E731
    assert word(F.RAMFC_SIGNATURE) == 0xFACE and word(F.RAMFC_CHID) == 41
    assert word(F.RAMFC_GP_BASE) | (word(F.RAMFC_GP_BASE_HI) & 0xFF) << 32 == kit.ring.va
    assert word(F.RAMFC_GP_BASE_HI) >> 16 == 6  # log2(64 entries)
    assert word(F.RAMFC_USERD) & ~0x1FF == kit.userd.vram_addr & 0xFFFFFFFF and word(F.RAMFC_USERD) & 3 == 0
    assert kit.inst.read32(F.RAMIN_METHOD_BUFFER) == kit.mthd.bus_addr & 0xFFFFFFFF
    ch.free()
    kit.objects.remove(ch)
    assert 41 not in kit.gpu.dev.sim.models["fifo"].channels


def test_bind_schedule_token_order(kit: Kit) -> None:
    m = kit.m
    g = kit.group()
    ch = g.alloc(kit.fifo.classes.gpfifo, kit.params(chid=42))
    kit.objects.append(ch)
    token = lambda: ch.control(int(m.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN), bytes(4))  # noqa: E731
    schedule = lambda: g.control(int(m.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE), bytes([1, 0]))  # noqa: E731
    assert _status(token) == "NV_ERR_INVALID_STATE"  # not bound to a runlist yet
    assert _status(schedule) == "NV_ERR_INVALID_STATE"
    bind = lambda e: ch.control(int(m.NVA06F_CTRL_CMD_BIND), e.to_bytes(4, "little"))  # noqa: E731
    assert _status(lambda: bind(10)) == "NV_ERR_INVALID_ARGUMENT"
    assert _status(lambda: bind(9)) == "NV_OK"
    assert _status(schedule) == "NV_OK"
    assert int.from_bytes(token(), "little") == 42  # GA102: the channel id only (the driver adds the runlist)
    assert kit.gpu.dev.sim.models["fifo"].channels[42].scheduled
    # a group control on a channel, a channel control on a group: not supported
    assert _status(lambda: ch.control(int(m.NVA06C_CTRL_CMD_GPFIFO_SCHEDULE), bytes([1, 0]))) == "NV_ERR_NOT_SUPPORTED"
    assert _status(lambda: g.control(int(m.NVA06F_CTRL_CMD_BIND), bytes(4))) == "NV_ERR_NOT_SUPPORTED"


def test_copy_object_refusals(kit: Kit) -> None:
    ce_cls = kit.fifo.classes.copy
    g = kit.group()
    ch = g.alloc(kit.fifo.classes.gpfifo, kit.params(chid=43))
    kit.objects.append(ch)
    good = kit.abi.pack("NVB0B5_ALLOCATION_PARAMETERS", version=1, engineType=9)
    assert _status(lambda: g.alloc(ce_cls, good)) == "NV_ERR_INVALID_OBJECT_PARENT"
    wrong = kit.abi.pack("NVB0B5_ALLOCATION_PARAMETERS", version=1, engineType=10)
    assert _status(lambda: ch.alloc(ce_cls, wrong)) == "NV_ERR_INVALID_ARGUMENT"
    assert _status(lambda: ch.alloc(ce_cls, b"")) == "NV_ERR_INVALID_PARAM_STRUCT"
    assert _status(lambda: ch.alloc(ce_cls, good)) == "NV_OK"
    assert ce_cls in kit.gpu.dev.sim.models["fifo"].channels[43].objects


def test_turing_token_carries_the_runlist(booter: Any) -> None:
    gpu = booter("tu102")
    with gpu.channels.open("ce2") as ch:
        m = gpu.channels.abi.module
        raw = ch.rm.control(int(m.NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN), bytes(4))
        assert int.from_bytes(raw, "little") == ch.engine.runlist << 16 | ch.chid == ch.token
