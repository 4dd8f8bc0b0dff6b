"""The RFC's nvkm_vgpu_mgr_vfio_ops one by one (VgpuOps), the NVA081 type records, the channel-id blocks."""

from __future__ import annotations

import ctypes
from errno import EBUSY, EINVAL, ENODEV

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vgpu_bench import Bench

from nova_core.api.vgpu import VgpuOps, decode_types
from nova_core.api.vgpu.types import prev_pow2
from nova_core.engines.fifo import ChidAllocator
from nova_core.errors import ApiError, Busy, ChannelError, ChannelExhausted, VgpuError
from nova_core.gsp.fw import GspAbi, RpcFailure


def test_is_enabled_handle_and_engine_bitmap(bench: Bench) -> None:
    ops = VgpuOps(bench.core.device("test"))
    try:
        assert ops.is_enabled()
        assert ops.get_handle() is None
        ops.attach_handle("mine")
        with pytest.raises(Busy, match="attached already"):
            ops.attach_handle("theirs")
        assert ops.get_handle() == "mine"
        ops.detach_handle()
        assert ops.get_handle() is None
        assert bench.gpu.fifo is not None
        assert ops.engine_bitmap() == sum(1 << e.rm_engine_type for e in bench.gpu.fifo.engines) == 0x3E02
        assert ops.vmmu_segment_size() == 32 << 20
    finally:
        ops.close()


def test_gsp_client_and_rm_controls(bench: Bench) -> None:
    ops = bench.mgr.ops
    assert bench.rm.objects is not None
    n = bench.rm.objects.count()
    c = ops.alloc_gsp_client()
    assert c.handle == c.client.handle and bench.rm.objects.count() == n + 3
    assert bench.gpu.abi is not None
    m = bench.gpu.abi.module
    ctrl = ops.rm_ctrl_rd(c, int(m.NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE), 8)
    assert int.from_bytes(ctrl.params, "little") == 32 << 20
    ops.rm_ctrl_done(ctrl)
    with pytest.raises(ApiError, match="sent or released already"):
        ops.rm_ctrl_wr(ctrl)
    w = ops.rm_ctrl_get(c, int(m.NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_SHUTDOWN_GSP_VGPU_PLUGIN_TASK), 4)
    w.params[:] = (5).to_bytes(4, "little")
    with pytest.raises(RpcFailure, match="NV_ERR_OBJECT_NOT_FOUND"):
        ops.rm_ctrl_wr(w)
    assert w.done  # released even though GSP-RM refused it
    with pytest.raises(ApiError, match="parameter size"):
        ops.rm_ctrl_get(c, 0, -1)
    ops.free_gsp_client(c)
    ops.free_gsp_client(c)  # idempotent
    assert bench.rm.objects.count() == n
    with pytest.raises(ApiError, match="was freed") as ei:
        ops.rm_ctrl_get(c, 0, 4)
    assert ei.value.errno == ENODEV


def test_chids_fb_and_bar1(bench: Bench) -> None:
    ops = bench.mgr.ops
    assert bench.gpu.fifo is not None and bench.gpu.bars is not None
    first = ops.alloc_chids(64)
    assert first == 2048 - 64 and bench.gpu.fifo.chids.in_use == 64
    with pytest.raises(VgpuError, match="not a block these ops allocated"):
        ops.free_chids(first, 32)
    ops.free_chids(first, 64)
    assert bench.gpu.fifo.chids.in_use == 0
    with pytest.raises(VgpuError) as ei:
        ops.alloc_chids(4096)
    assert ei.value.errno == EINVAL
    mem = ops.alloc_fbmem(64 << 20, vmmu_aligned=True)
    assert mem.addr % (32 << 20) == 0 and mem.size == 64 << 20
    with pytest.raises(ApiError, match="multiple of the segment"):
        ops.alloc_fbmem(1 << 20, vmmu_aligned=True)
    mapping = ops.bar1_map_mem(mem, 1 << 20)
    with pytest.raises(Busy) as eb:
        ops.bar1_map_mem(mem)
    assert eb.value.errno == EBUSY
    assert bench.gpu.bars.bar1.lookup(mapping.bar1_va) is not None
    mapping.write32(0x40, 0xC0FFEE)
    assert bench.sim.vram.read(mem.addr + 0x40, 4) == (0xC0FFEE).to_bytes(4, "little")
    with pytest.raises(ApiError, match="inside the mapping"):
        mapping.read32(1 << 20)
    ops.free_fbmem(mem)  # unmaps too
    assert mapping.closed and bench.gpu.bars.bar1.lookup(mapping.bar1_va) is None


def test_everything_released_when_the_ops_close(bench: Bench) -> None:
    ops = VgpuOps(bench.core.device("leaky manager"))
    assert bench.gpu.bars is not None and bench.gpu.fifo is not None and bench.rm.objects is not None
    before = (bench.gpu.bars.allocator.stats().used, bench.gpu.fifo.chids.in_use, bench.rm.objects.count(),
              len(bench.gpu.bars.bar1.mappings()))
    ops.alloc_gsp_client()
    ops.alloc_chids(256)
    mem = ops.alloc_fbmem(32 << 20, vmmu_aligned=True)
    ops.bar1_map_mem(mem)
    assert len(ops.resources()) == 3
    assert ops.close() == []
    after = (bench.gpu.bars.allocator.stats().used, bench.gpu.fifo.chids.in_use, bench.rm.objects.count(),
             len(bench.gpu.bars.bar1.mappings()))
    assert after == before
    with pytest.raises(ApiError, match="closed"):
        ops.alloc_chids(1)


def test_enable_vfs_refusals(bench: Bench) -> None:
    ops = bench.mgr.ops
    with pytest.raises(VgpuError, match="enabled already") as ei:
        ops.enable_vfs(2)
    assert ei.value.errno == EBUSY
    ops.disable_vfs()
    with pytest.raises(VgpuError, match="supports 1..16"):
        ops.enable_vfs(17)
    with pytest.raises(VgpuError, match="supports 1..16"):
        ops.enable_vfs(0)
    vfs = ops.enable_vfs(16)
    assert [v.bdf for v in vfs[:2]] == ["0000:01:00.4", "0000:01:00.5"] and vfs[-1].gfid == 16


# -- NVA081 records -------------------------------------------------------------------------------------------------


ABI = GspAbi.for_version("535.113.01")
REC = ctypes.sizeof(ABI.struct("NVA081_CTRL_VGPU_INFO"))


def _rec(**fields: object) -> bytes:
    info = ABI.struct("NVA081_CTRL_VGPU_INFO")()
    for k, v in {"vgpuType": 7, "maxInstance": 4, "fbLength": 1 << 30, **fields}.items():
        if isinstance(v, bytes):
            ctypes.memmove(ctypes.addressof(info) + getattr(type(info), k).offset, v, len(v))
        else:
            setattr(info, k, v)
    if "vgpuName" not in fields:
        ctypes.memmove(ctypes.addressof(info) + type(info).vgpuName.offset, b"T", 1)
    return bytes(info)


@pytest.mark.parametrize("data,why", [
    (b"", "not a whole number"),
    (bytes(REC - 1), "not a whole number"),
    (_rec() * 65, "at most 64"),
    (_rec(vgpuType=0), "vgpuType 0"),
    (_rec() + _rec(), "appears twice"),
    (_rec(vgpuName=b"x" * 32), "not NUL-terminated"),
    (_rec(vgpuName=b"\xff\0"), "not ASCII"),
    (_rec(vgpuName=b"\0"), "empty vgpuName"),
    (_rec(maxInstance=0), "maxInstance 0"),
    (_rec(maxInstance=33), "maxInstance 33"),
    (_rec(fbLength=0), "fbLength 0"),
])
def test_type_records_refused(data: bytes, why: str) -> None:
    with pytest.raises(VgpuError, match=why):
        decode_types(ABI, data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3 * REC + 7))
def test_type_records_fuzzed(data: bytes) -> None:
    try:
        types = decode_types(ABI, data)
    except VgpuError:
        return
    assert len(types) * REC == len(data) and all(1 <= t.max_instances <= 32 for t in types)


# -- channel-id blocks -----------------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([1, 8, 64, 128, 512])), max_size=40))
def test_chid_blocks_never_overlap(ops: list[tuple[bool, int]]) -> None:
    a = ChidAllocator(1024)
    blocks: list[tuple[int, int]] = []
    singles: list[int] = []
    for single, n in ops:
        try:
            if single:
                singles.append(a.alloc())
            else:
                blocks.append((a.alloc_range(n), n))
        except ChannelExhausted:
            assert (a.find_range(n) is None) if not single else a.in_use == 1024
    taken = [c for f, n in blocks for c in range(f, f + n)] + singles
    assert len(taken) == len(set(taken)) == a.in_use
    for f, n in blocks:
        a.free_range(f, n)
    for c in singles:
        a.free(c)
    assert a.in_use == 0 and a.alloc_range(1024) == 0


def test_chid_block_errors() -> None:
    a = ChidAllocator(64)
    assert a.alloc_range(16) == 48  # the top
    assert a.alloc() == 0  # singles from the bottom
    with pytest.raises(ChannelError, match="not allocated"):
        a.free_range(40, 16)
    with pytest.raises(ChannelError, match="1..64"):
        a.alloc_range(0)
    with pytest.raises(ChannelExhausted, match="no 48 contiguous"):
        a.alloc_range(48)


def test_prev_pow2() -> None:
    assert [prev_pow2(x) for x in (0, 1, 2, 3, 85, 128, 2047)] == [0, 1, 2, 2, 64, 128, 1024]


# -- the BOOTLOAD block of each version ------------------------------------------------------------------------------


def _hand_layout(engines: int) -> dict[str, int]:
    """Offsets from ctrl2080vgpumgrinternal.h by C's rules, by hand: seven NvU32, chidOffset[engines] (NvU32), an
    NvBool (3 bytes of padding), numGuestFbSegments, then the 8-aligned NvU64 lists of 384 segments."""
    chid = 7 * 4
    nseg = chid + 4 * engines + 4
    lists = (nseg + 4 + 7) & ~7
    return {"chidOffset": chid, "numGuestFbSegments": nseg, "guestFbPhysAddrList": lists,
            "guestFbLengthList": lists + 8 * 384, "pluginHeapMemoryPhysAddr": lists + 16 * 384}


@pytest.mark.parametrize("version,engines,size,kernel,mig", [
    ("535.113.01", 62, 0x1960, False, False), ("550.163.01", 64, 0x1978, False, True),
    ("570.144", 84, 0x19D8, True, True)])
def test_pack_bootload_each_version(version: str, engines: int, size: int, kernel: bool, mig: bool) -> None:
    from nova_core.api.vgpu import BootloadParams
    from nova_core.api.vgpu.ops import pack_bootload

    abi = GspAbi.for_version(version)
    p = BootloadParams(dbdf=0x105, gfid=1, vgpu_type=1004, num_channels=128, chid_offset=1920,
                       fb_segments=[(0xB0000000, 0xF0000000)], heap_addr=0xA0000000, heap_size=32 << 20,
                       init_task_log=(0xA0204000, 0x20000), vgpu_task_log=(0xA0224000, 0x40000),
                       kernel_log=(0xA0264000, 0x10000) if kernel else None)
    raw = pack_bootload(abi, p, 0x3E02)
    assert len(raw) == size
    hand = _hand_layout(engines)
    cls = abi.struct("NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS")
    for name, off in hand.items():
        assert getattr(cls, name).offset == off, name

    def word(off: int, n: int = 4) -> int:
        return int.from_bytes(raw[off:off + n], "little")

    assert [word(0), word(4), word(8), word(0x14), word(0x18)] == [0x105, 1, 1004, 128, 1]
    assert [word(hand["chidOffset"] + 4 * i) for i in range(engines)] == [
        1920 if 0x3E02 >> i & 1 else 0 for i in range(engines)]
    assert word(hand["numGuestFbSegments"]) == 1
    assert word(hand["guestFbPhysAddrList"], 8) == 0xB0000000 and word(hand["guestFbLengthList"], 8) == 0xF0000000
    assert word(hand["pluginHeapMemoryPhysAddr"], 8) == 0xA0000000
    assert ("migRmHeapMemoryPhysAddr" in abi.fields(cls.__name__)) == mig
    if not kernel:
        with pytest.raises(VgpuError, match="no kernel log"):
            pack_bootload(abi, dataclasses_replace(p, kernel_log=(1, 2)), 0x3E02)
    with pytest.raises(VgpuError, match="chidOffset slots"):
        pack_bootload(abi, p, 1 << engines)
    with pytest.raises(VgpuError, match="guest FB segment"):
        pack_bootload(abi, dataclasses_replace(p, fb_segments=[]), 0x3E02)


def dataclasses_replace(p: object, **kw: object) -> object:
    import dataclasses

    return dataclasses.replace(p, **kw)  # type: ignore[type-var]
