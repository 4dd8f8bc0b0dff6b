"""The vGPU manager on the simulated L40: create and destroy on VFs, the refusals (each one leaves nothing behind),
the parameter block GSP-RM receives, the per-VF view, the auxiliary device, and what binding removal releases."""

from __future__ import annotations

import ctypes
import itertools
from errno import EBUSY, EINVAL, ENODEV, ENOMEM, ENOSPC
from typing import Any

import pytest
from vgpu_bench import Bench, open_bench

from nova_core.api import NovaCore
from nova_core.api.vgpu import DEVNAME, VgpuManager, channel_count, guest_fb_length, vgpu_manager
from nova_core.api.vgpu import facts as V
from nova_core.errors import OutOfMemory, VgpuError
from nova_core.sim.gsp_rm import vgpu as simv
from nova_core.sim_boot import boot_sim

L40_1Q, L40_4Q, L40_16Q, L40_24Q, L40_48Q = 1001, 1004, 1008, 1009, 1010


def snapshot(b: Bench) -> dict[str, Any]:
    """What the GPU holds: the driver's VRAM and BAR1, channel ids, GSP-RM's objects and plugin tasks."""
    g = b.gpu
    assert g.bars is not None and g.fifo is not None and b.rm.objects is not None and b.rm.vgpu is not None
    st = g.bars.allocator.stats()
    return {"vram_used": st.used, "vram_allocs": st.allocations, "bar1": len(g.bars.bar1.mappings()),
            "chids": g.fifo.chids.in_use, "rm_objects": b.rm.objects.count(), "tasks": dict(b.rm.vgpu.tasks),
            "ops": b.mgr.ops.resources()}


def test_create_destroy_returns_everything(bench: Bench) -> None:
    before = snapshot(bench)
    v = bench.mgr.create(1, L40_4Q)
    t = bench.mgr.type(L40_4Q)
    assert (v.gfid, v.vf.index) == (1, 1)
    assert v.chids[1] == 128 == channel_count(t, 2048)  # nvPrevPow2(2048 / 12)
    assert v.fb.size == t.fb_length == 3840 << 20 and v.fb.addr % (32 << 20) == 0
    task = bench.rm.vgpu.tasks[1] if bench.rm.vgpu else None
    assert task is not None and task.state == "running" and task.type_id == L40_4Q
    assert task.chids == v.chids and task.fb == [(v.fb.addr, v.fb.size)]
    # the plugin task said it is up, where the manager polled: the control buffer's message_seq_num, via BAR1
    assert v.comm.read32(V.CTRL_MESSAGE_SEQ_NUM) == V.GSP_PLUGIN_BOOTLOADED
    assert bench.sim.vram.read(v.heap.addr + 8, 4) == (0x4E654A6F).to_bytes(4, "little")
    during = snapshot(bench)
    assert during["chids"] == before["chids"] + 128 and during["rm_objects"] == before["rm_objects"] + 3
    assert during["bar1"] == before["bar1"] + 1
    bench.mgr.destroy(v.gfid)
    assert snapshot(bench) == before


def test_bootload_block_is_nvidias_layout_byte_for_byte(bench: Bench) -> None:
    """The block GSP-RM received is the bytes the manager sent, and every field sits where NVIDIA's header puts it
    (offsets from the generated bindings' DWARF-derived layout, read back here with ctypes independently)."""
    v = bench.mgr.create(2, L40_4Q)
    assert bench.rm.vgpu is not None
    got = bench.rm.vgpu.tasks[v.gfid].params
    assert got == v.bootload
    assert bench.gpu.abi is not None
    cls = bench.gpu.abi.struct("NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS")
    assert len(got) == ctypes.sizeof(cls) == 0x1960  # 535.113.01: 62 engines, no kernel log, no MIG heap

    def u32(name: str, i: int = 0) -> int:
        off = getattr(cls, name).offset + 4 * i
        return int.from_bytes(got[off:off + 4], "little")

    def u64(name: str, i: int = 0) -> int:
        off = getattr(cls, name).offset + 8 * i
        return int.from_bytes(got[off:off + 8], "little")

    assert [cls.dbdf.offset, cls.gfid.offset, cls.vgpuType.offset, cls.numChannels.offset] == [0, 4, 8, 0x14]
    assert u32("dbdf") == v.vf.dbdf == 0x0100 + 4 + 1  # PF 01:00.0, First VF Offset 4, stride 1, VF index 1
    assert (u32("gfid"), u32("vgpuType"), u32("numChannels"), u32("numPluginChannels")) == (2, L40_4Q, 128, 1)
    engines = bench.mgr.ops.engine_bitmap()
    for i in range(62):
        assert u32("chidOffset", i) == (v.chids[0] if engines >> i & 1 else 0)
    assert u32("numGuestFbSegments") == 1
    assert (u64("guestFbPhysAddrList"), u64("guestFbLengthList")) == (v.fb.addr, v.fb.size)
    assert u64("guestFbPhysAddrList", 1) == 0
    heap = v.heap.addr
    assert (u64("pluginHeapMemoryPhysAddr"), u64("pluginHeapMemoryLength")) == (heap, 32 << 20)
    assert u64("ctrlBuffOffset") == 0
    assert (u64("initTaskLogBuffOffset"), u64("initTaskLogBuffSize")) == (heap + 0x204000, 0x20000)
    assert (u64("vgpuTaskLogBuffOffset"), u64("vgpuTaskLogBuffSize")) == (heap + 0x224000, 0x40000)


@pytest.mark.parametrize("version,size,kernel_log", [("570.144", 0x19D8, True)])
def test_bootload_block_of_r570(version: str, size: int, kernel_log: bool) -> None:
    b = open_bench(version=version)
    try:
        v = b.mgr.create(1, L40_4Q)
        assert len(v.bootload) == size
        assert b.gpu.abi is not None
        cls = b.gpu.abi.struct("NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS")
        off = cls.kernelLogBuffOffset.offset
        assert int.from_bytes(v.bootload[off:off + 8], "little") == v.heap.addr + 0x264000
        assert int.from_bytes(v.bootload[off + 8:off + 16], "little") == 0x10000
        b.mgr.destroy(v.gfid)
    finally:
        b.core.shutdown()


def _refused(fn: Any, code: int, text: str, *, kind: type[Exception] = VgpuError) -> str:
    with pytest.raises(kind) as ei:
        fn()
    assert ei.value.errno == code, str(ei.value)  # type: ignore[attr-defined]
    assert text in str(ei.value), str(ei.value)
    return str(ei.value)


def test_refusals_leave_nothing_behind(bench: Bench) -> None:
    mgr = bench.mgr
    base = snapshot(bench)
    _refused(lambda: mgr.create(5, L40_4Q), EINVAL, "VF 5 is out of range: VFs 1..4")
    _refused(lambda: mgr.create(0, L40_4Q), EINVAL, "out of range")
    _refused(lambda: mgr.create(1, 4242), EINVAL, "no vGPU type 4242")
    assert snapshot(bench) == base
    v = mgr.create(1, L40_4Q)
    with_one = snapshot(bench)
    _refused(lambda: mgr.create(1, L40_1Q), EBUSY, "VF 1 is in use")
    _refused(lambda: mgr.destroy(7), ENODEV, "no vGPU with gfid 7")
    assert snapshot(bench) == with_one
    mgr.destroy(v.gfid)
    _refused(lambda: mgr.destroy(v.gfid), ENODEV, "destroyed already")
    assert snapshot(bench) == base


def test_fb_that_no_longer_fits(bench: Bench) -> None:
    mgr = bench.mgr
    made = [mgr.create(vf, L40_16Q) for vf in (1, 2, 3)]  # 3 x 15 GiB: channel ids are left (512 of 2048)
    before = snapshot(bench)
    msg = _refused(lambda: mgr.create(4, L40_4Q), ENOMEM, "FB no longer fit", kind=OutOfMemory)
    assert "NVIDIA L40-4Q on VF 4: its 0xf0000000 bytes" in msg
    assert snapshot(bench) == before
    creatable = [t.type_id for t in mgr.creatable_types(4)]
    assert L40_4Q not in creatable and L40_1Q in creatable
    for v in made:
        mgr.destroy(v.gfid)


def test_chids_that_no_longer_fit(bench: Bench) -> None:
    mgr = bench.mgr
    assert bench.gpu.fifo is not None
    with bench.gpu.fifo.open("ce0"):  # a PF channel takes an id: the 48Q's 2048 ids cannot be had any more
        before = snapshot(bench)
        _refused(lambda: mgr.create(1, L40_48Q), ENOSPC, "its 2048 channel ids no longer fit")
        assert snapshot(bench) == before
        assert L40_48Q not in [t.type_id for t in mgr.creatable_types(1)]
    assert L40_48Q in [t.type_id for t in mgr.creatable_types(1)]


def test_type_at_its_maximum(bench: Bench) -> None:
    mgr = bench.mgr
    a = mgr.create(1, L40_24Q)
    b2 = mgr.create(2, L40_24Q)
    _refused(lambda: mgr.create(3, L40_24Q), ENOSPC, "2 of at most 2 instance(s)")
    mgr.destroy(a.gfid)
    mgr.destroy(b2.gfid)


def test_pf_channel_refused_inside_a_vgpus_ids(bench: Bench) -> None:
    """GSP-RM refuses a PF channel whose id a vGPU holds. The driver's allocator never offers one, so the test makes
    it: the vGPU's block is returned to the allocator behind GSP-RM's back and every lower id taken, so the next
    channel gets the vGPU's first id."""
    v = bench.mgr.create(1, L40_4Q)
    chids = bench.gpu.fifo.chids if bench.gpu.fifo else None
    assert chids is not None
    first, count = v.chids
    chids.free_range(first, count)
    lower = [chids.alloc() for _ in range(first)]
    try:
        assert bench.gpu.fifo is not None
        with pytest.raises(Exception, match="NV_ERR_STATE_IN_USE"):
            bench.gpu.fifo.open("ce0")
        assert any(f"channel id {first} belongs to the vGPU of gfid 1" in r for r in bench.rm.refusals)
    finally:
        for c in lower:
            chids.free(c)
        assert chids.alloc_range(count) == first
    bench.mgr.destroy(v.gfid)


def test_per_vf_view(bench: Bench) -> None:
    mgr = bench.mgr
    assert mgr.current_type(1) == 0 and mgr.current_text(2) == "0\n"
    text = mgr.creatable_text(1)
    lines = text.splitlines()
    assert lines[0] == "ID    : vGPU Name" and lines[4] == "1004  : NVIDIA L40-4Q" and len(lines) == 11
    v = mgr.create(1, L40_4Q)
    assert mgr.current_type(1) == L40_4Q and mgr.creatable_types(1) == []
    assert mgr.creatable_text(1) == "ID    : vGPU Name\n"
    assert L40_48Q not in [t.type_id for t in mgr.creatable_types(2)]  # its FB would not fit beside the 4Q
    _refused(lambda: mgr.current_type(9), EINVAL, "out of range")
    mgr.destroy(v.gfid)


def test_json_has_exactly_the_issues_keys(bench: Bench) -> None:
    v = bench.mgr.create(3, L40_4Q)
    j = bench.mgr.as_json()
    assert set(j) == {"types", "vgpus", "free_fb_bytes", "free_chids"}
    assert all(set(t) == {"id", "name", "fb_bytes", "max_instances"} for t in j["types"])
    (g,) = j["vgpus"]
    assert set(g) == {"vf", "type", "gfid", "fb", "chids"} and set(g["fb"]) == {"addr", "size"}
    assert set(g["chids"]) == {"first", "count"}
    assert (g["vf"], g["type"], g["gfid"], g["chids"]["count"]) == (3, L40_4Q, 3, 128)
    assert j["free_chids"] == 2048 - 128
    assert bench.gpu.bars is not None
    assert j["free_fb_bytes"] == bench.gpu.bars.allocator.stats().free
    bench.mgr.destroy(v.gfid)


def test_sixteen_vgpus_then_all_destroyed() -> None:
    b = open_bench(vfs=16)
    try:
        before = snapshot(b)
        made = [b.mgr.create(vf, L40_1Q) for vf in range(1, 17)]
        assert len({v.fb.addr for v in made}) == 16
        firsts = sorted(v.chids[0] for v in made)
        assert all(y - x >= 64 for x, y in itertools.pairwise(firsts))
        for v in made:
            b.mgr.destroy(v.gfid)
        assert snapshot(b) == before
    finally:
        b.core.shutdown()


def test_disable_vfs_refused_while_vgpus_run(bench: Bench) -> None:
    v = bench.mgr.create(1, L40_4Q)
    _refused(bench.mgr.disable_vfs, EBUSY, "destroy them first")
    _refused(lambda: bench.mgr.enable_vfs(2), EBUSY, "enabled already")
    bench.mgr.destroy(v.gfid)
    bench.mgr.disable_vfs()
    assert bench.mgr.vfs() == []
    _refused(lambda: bench.mgr.create(1, L40_4Q), EINVAL, "no VFs are enabled")


def test_binding_removal_destroys_vgpus_and_releases_all(bench: Bench) -> None:
    v = bench.mgr.create(1, L40_4Q)
    assert v is not None and bench.rm.vgpu is not None and bench.rm.vgpu.tasks
    before_alloc = bench.gpu.bars.allocator.stats().allocations if bench.gpu.bars else 0
    (adev,) = [a for a in bench.core.aux_devices() if a.devname == DEVNAME]
    bench.core.unpublish(adev)
    assert bench.rm.vgpu.tasks == {}  # shut down and cleaned up
    assert bench.gpu.fifo is not None and bench.gpu.fifo.chids.in_use == 0
    assert bench.gpu.bars is not None and bench.gpu.bars.allocator.stats().allocations < before_alloc
    assert bench.mgr.closed and bench.mgr.ops.closed and bench.mgr.ops.resources() == []
    with pytest.raises(VgpuError, match="closed"):
        bench.mgr.create(2, L40_4Q)


def test_only_vgpu_boards_publish_the_vgpu_manager() -> None:
    with NovaCore(boot_sim("ad102", synthetic=True)) as core:  # the GeForce board: SR-IOV hidden
        assert DEVNAME not in [a.devname for a in core.aux_devices()]
        with pytest.raises(VgpuError, match="publishes no vgpu-mgr"):
            vgpu_manager(core)


def test_a_second_manager_on_the_same_ops_is_refused(bench: Bench) -> None:
    with pytest.raises(Exception, match="attached already"):
        VgpuManager(bench.mgr.ops)


def test_owner_formulas_match_the_sim_table() -> None:
    """The driver's rules (OpenRM's) give the channel counts and guest FB the simulated GSP-RM's table lists."""
    from nova_core.api.vgpu.types import VgpuType

    for chip, rows in simv.TYPE_TABLES.items():
        for r in rows:
            t = VgpuType(r.type_id, r.name, r.vgpu_class, r.max_instances, r.profile_size, r.fb_length,
                         r.fb_reservation, r.gsp_heap, 0, b"")
            assert channel_count(t, 2048) == r.channels, (chip, r.name)
            assert guest_fb_length(t, 48 << 30, simv.VMMU_SEGMENT) == simv.guest_fb_length(r, 48 << 30,
                                                                                           simv.VMMU_SEGMENT)
