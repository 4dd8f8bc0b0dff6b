"""The simulated GSP-RM's vGPU side refuses what is wrong, each refusal with its status and a logged reason, and keeps
no plugin task for a refused BOOTLOAD (sim/gsp_rm/vgpu.py)."""

from __future__ import annotations

import ctypes
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from vgpu_bench import Bench

from nova_core.api.vgpu import BootloadParams, GspClient, VgpuOps
from nova_core.api.vgpu import facts as V
from nova_core.gsp.fw import RpcFailure
from nova_core.sim.gsp_rm.vgpu import GSP_HEAP, TYPE_TABLES
from nova_core.sim_boot import boot_sim

L40_4Q, L40_24Q = 1004, 1009
BOOTLOAD = "NV2080_CTRL_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK_PARAMS"


@dataclasses.dataclass
class Rig:
    bench: Bench
    ops: VgpuOps
    client: GspClient

    def params(self, vf: int = 1, type_id: int = L40_4Q) -> BootloadParams:
        """A BOOTLOAD GSP-RM accepts for VF ``vf`` (its memory and ids allocated through the ops)."""
        t = self.bench.mgr.type(type_id)
        count = 128 if type_id == L40_4Q else 1024
        first = self.ops.alloc_chids(count)
        fb = self.ops.alloc_fbmem(t.fb_length, vmmu_aligned=True)
        heap = self.ops.alloc_fbmem(t.gsp_heap_size)
        v = self.bench.mgr.vfs()[vf - 1]
        return BootloadParams(dbdf=v.dbdf, gfid=v.gfid, vgpu_type=type_id, num_channels=count, chid_offset=first,
                              fb_segments=[(fb.addr, fb.size)], heap_addr=heap.addr, heap_size=heap.size,
                              init_task_log=(heap.addr + V.INIT_TASK_LOG_OFFSET, V.INIT_TASK_LOG_SIZE),
                              vgpu_task_log=(heap.addr + V.INIT_TASK_LOG_OFFSET + V.INIT_TASK_LOG_SIZE,
                                             V.VGPU_TASK_LOG_SIZE))

    def refused(self, fn: Callable[[], Any], status: str, reason: str) -> None:
        tasks = dict(self.rm_tasks())
        n = len(self.bench.rm.refusals)
        with pytest.raises(RpcFailure, match=status):
            fn()
        new = self.bench.rm.refusals[n:]
        assert any(reason in r for r in new), new
        assert self.rm_tasks() == tasks

    def rm_tasks(self) -> dict[int, Any]:
        assert self.bench.rm.vgpu is not None
        return dict(self.bench.rm.vgpu.tasks)

    def raw(self, data: bytes, cmd: str = "NV2080_CTRL_CMD_VGPU_MGR_INTERNAL_BOOTLOAD_GSP_VGPU_PLUGIN_TASK") -> None:
        assert self.bench.gpu.abi is not None
        self.ops.rm_ctrl_rd(self.client, int(getattr(self.bench.gpu.abi.module, cmd)), len(data), data)


@pytest.fixture
def rig(bench: Bench) -> Iterator[Rig]:
    ops = bench.mgr.ops
    yield Rig(bench, ops, ops.alloc_gsp_client())


def test_a_valid_block_is_accepted_then_shut_down_and_cleaned_up(rig: Rig) -> None:
    p = rig.params()
    rig.ops.bootload_vgpu_plugin_task(rig.client, p)
    assert rig.rm_tasks()[1].state == "running"
    rig.ops.shutdown_vgpu_plugin_task(rig.client, 1)
    rig.refused(lambda: rig.ops.shutdown_vgpu_plugin_task(rig.client, 1), "NV_ERR_INVALID_STATE", "already shut down")
    rig.ops.cleanup_vgpu_plugin(rig.client, 1)
    assert rig.rm_tasks() == {}
    rig.refused(lambda: rig.ops.cleanup_vgpu_plugin(rig.client, 1), "NV_ERR_OBJECT_NOT_FOUND", "no plugin task")
    rig.refused(lambda: rig.ops.shutdown_vgpu_plugin_task(rig.client, 3), "NV_ERR_OBJECT_NOT_FOUND", "gfid 3")


def test_cleanup_of_a_running_task_is_refused(rig: Rig) -> None:
    rig.ops.bootload_vgpu_plugin_task(rig.client, rig.params())
    rig.refused(lambda: rig.ops.cleanup_vgpu_plugin(rig.client, 1), "NV_ERR_INVALID_STATE", "SHUTDOWN first")
    rig.refused(lambda: rig.ops.bootload_vgpu_plugin_task(rig.client, rig.params()), "NV_ERR_STATE_IN_USE",
                "already runs for gfid 1")


def _mutations(rig: Rig) -> list[tuple[str, Callable[[BootloadParams], BootloadParams], str, str]]:
    seg = 32 << 20
    plan = rig.bench.rm.plan
    assert plan is not None
    top = max(r.end for r in plan.regions)  # the FB's end: GSP-RM's regions are the top of VRAM
    assert any(r.reserved for r in plan.regions)
    return [
        ("gfid of no VF", lambda p: dataclasses.replace(p, gfid=9), "NV_ERR_INVALID_ARGUMENT", "no VF 9"),
        ("gfid 0 (the PF)", lambda p: dataclasses.replace(p, gfid=0), "NV_ERR_INVALID_ARGUMENT", "no VF 0"),
        ("dbdf of another VF", lambda p: dataclasses.replace(p, dbdf=p.dbdf + 1), "NV_ERR_INVALID_ARGUMENT",
         "is not VF 1's routing id"),
        ("a type not given", lambda p: dataclasses.replace(p, vgpu_type=4242), "NV_ERR_INVALID_ARGUMENT",
         "was not given with PGPU_ADD_VGPU_TYPE"),
        ("channels of another type", lambda p: dataclasses.replace(p, num_channels=64), "NV_ERR_INVALID_ARGUMENT",
         "numChannels 64"),
        ("no plugin channel", lambda p: dataclasses.replace(p, num_plugin_channels=0), "NV_ERR_INVALID_ARGUMENT",
         "numPluginChannels 0"),
        ("chids past 2048", lambda p: dataclasses.replace(p, chid_offset=1984), "NV_ERR_INVALID_ARGUMENT",
         "not below 2048"),
        ("chidOffset on an engine the GPU lacks",
         lambda p: dataclasses.replace(p, engines=rig.ops.engine_bitmap() | 1 << 40), "NV_ERR_INVALID_ARGUMENT",
         "chidOffset[40]"),
        ("chidOffset missing on an engine", lambda p: dataclasses.replace(p, engines=rig.ops.engine_bitmap() & ~2),
         "NV_ERR_INVALID_ARGUMENT", "chidOffset[1]"),
        ("guest FB not segment aligned",
         lambda p: dataclasses.replace(p, fb_segments=[(p.fb_segments[0][0] + 0x100000, p.fb_segments[0][1])]),
         "NV_ERR_INVALID_ARGUMENT", "VMMU-segment"),
        ("guest FB of the wrong length",
         lambda p: dataclasses.replace(p, fb_segments=[(p.fb_segments[0][0], p.fb_segments[0][1] - seg)]),
         "NV_ERR_INVALID_ARGUMENT", "guest FB of 0xee000000 bytes"),
        ("guest FB split in two", lambda p: dataclasses.replace(
            p, fb_segments=[(p.fb_segments[0][0], seg), (p.fb_segments[0][0] + seg, p.fb_segments[0][1] - seg)]),
         None, ""),
        ("guest FB in GSP-RM's reserved region",
         lambda p: dataclasses.replace(p, fb_segments=[(top - p.fb_segments[0][1], p.fb_segments[0][1])]),
         "NV_ERR_INVALID_ARGUMENT", "GSP-RM's"),
        ("guest FB past VRAM", lambda p: dataclasses.replace(p, fb_segments=[(48 << 30, p.fb_segments[0][1])]),
         "NV_ERR_INVALID_ARGUMENT", "outside the"),
        ("heap of the wrong size", lambda p: dataclasses.replace(p, heap_size=GSP_HEAP // 2),
         "NV_ERR_INVALID_ARGUMENT", "gspHeapSize"),
        ("heap inside the guest FB", lambda p: dataclasses.replace(p, heap_addr=p.fb_segments[0][0]),
         "NV_ERR_INVALID_ARGUMENT", "overlaps its own range 0"),
        ("init-task log elsewhere", lambda p: dataclasses.replace(p, init_task_log=(p.heap_addr, 0x20000)),
         "NV_ERR_INVALID_ARGUMENT", "init-task log"),
        ("vGPU-task log too small",
         lambda p: dataclasses.replace(p, vgpu_task_log=(p.vgpu_task_log[0], 0x1000)), "NV_ERR_INVALID_ARGUMENT",
         "vGPU-task log"),
        ("control buffer not at the heap's start", lambda p: dataclasses.replace(p, ctrl_buff_offset=0x1000),
         "NV_ERR_INVALID_ARGUMENT", "ctrlBuffOffset"),
    ]


def test_each_wrong_field_is_refused(rig: Rig) -> None:
    good = rig.params()
    for name, mutate, status, reason in _mutations(rig):
        p = mutate(good)
        if status is None:  # accepted: two segments of the right total
            rig.ops.bootload_vgpu_plugin_task(rig.client, p)
            rig.ops.shutdown_vgpu_plugin_task(rig.client, p.gfid)
            rig.ops.cleanup_vgpu_plugin(rig.client, p.gfid)
            continue
        try:
            rig.refused(lambda p=p: rig.ops.bootload_vgpu_plugin_task(rig.client, p), status, reason)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
    rig.ops.bootload_vgpu_plugin_task(rig.client, good)  # the unmutated block still goes through


def test_block_of_the_wrong_size_or_with_padding_set(rig: Rig) -> None:
    p = rig.params()
    raw = bytearray(rig.ops.bootload_vgpu_plugin_task(rig.client, p))
    rig.ops.shutdown_vgpu_plugin_task(rig.client, 1)
    rig.ops.cleanup_vgpu_plugin(rig.client, 1)
    rig.refused(lambda: rig.raw(bytes(raw[:-8])), "NV_ERR_INVALID_PARAM_STRUCT", "parameter bytes")
    rig.refused(lambda: rig.raw(bytes(raw) + bytes(8)), "NV_ERR_INVALID_PARAM_STRUCT", "parameter bytes")
    assert rig.bench.gpu.abi is not None
    cls = rig.bench.gpu.abi.struct(BOOTLOAD)
    pad = cls._pad0.offset
    raw[pad] = 1
    rig.refused(lambda: rig.raw(bytes(raw)), "NV_ERR_INVALID_ARGUMENT", "padding _pad0")
    raw[pad] = 0
    rig.raw(bytes(raw))  # the same bytes with the padding clear: accepted
    assert rig.rm_tasks()[1].params == bytes(raw)


def test_chids_held_by_a_pf_channel_or_another_vgpu(rig: Rig) -> None:
    v = rig.bench.mgr.create(2, L40_4Q)
    p = rig.params()
    rig.refused(lambda: rig.ops.bootload_vgpu_plugin_task(rig.client, dataclasses.replace(p, chid_offset=v.chids[0])),
                "NV_ERR_STATE_IN_USE", "overlap gfid 2's")
    fifo = rig.bench.gpu.fifo
    assert fifo is not None
    with fifo.open("ce0") as ch:
        rig.refused(lambda: rig.ops.bootload_vgpu_plugin_task(rig.client, dataclasses.replace(p, chid_offset=ch.chid)),
                    "NV_ERR_STATE_IN_USE", f"hold PF channel(s) [{ch.chid}]")
    rig.refused(lambda: rig.ops.bootload_vgpu_plugin_task(
        rig.client, dataclasses.replace(p, fb_segments=[(v.fb.addr, v.fb.size)])), "NV_ERR_STATE_IN_USE",
        "overlaps gfid 2's memory")


def test_a_type_at_its_maximum(rig: Rig) -> None:
    made = [rig.bench.mgr.create(vf, L40_24Q) for vf in (1, 2)]
    v = rig.bench.mgr.vfs()[2]
    p = BootloadParams(dbdf=v.dbdf, gfid=v.gfid, vgpu_type=L40_24Q, num_channels=1024, chid_offset=0,  # the count
                       fb_segments=[(0, 1 << 30)], heap_addr=0, heap_size=GSP_HEAP,  # is checked before these
                       init_task_log=(0, 0), vgpu_task_log=(0, 0))
    rig.refused(lambda: rig.ops.bootload_vgpu_plugin_task(rig.client, p), "NV_ERR_INSUFFICIENT_RESOURCES",
                "2 vGPU(s) of at most 2 run")
    for v in made:
        rig.bench.mgr.destroy(v.gfid)


def _info(rig: Rig, type_id: int, **changes: Any) -> bytes:
    t = rig.bench.mgr.type(type_id)
    assert rig.bench.gpu.abi is not None
    info = rig.bench.gpu.abi.struct("NVA081_CTRL_VGPU_INFO").from_buffer_copy(t.info)
    for k, v in changes.items():
        setattr(info, k, v)
    return bytes(info)


def test_types_gsp_rm_does_not_have(rig: Rig) -> None:
    rig.refused(lambda: rig.ops.add_vgpu_info(rig.client, 1, _info(rig, L40_4Q, vgpuType=77)),
                "NV_ERR_INVALID_ARGUMENT", "vgpuType 77 is not a type of this board")
    rig.refused(lambda: rig.ops.add_vgpu_info(rig.client, 1, _info(rig, L40_4Q, fbLength=1 << 30)),
                "NV_ERR_INVALID_ARGUMENT", "fbLength 0x40000000 is not the type's 0xf0000000")
    rig.refused(lambda: rig.ops.add_vgpu_info(rig.client, 1, _info(rig, L40_4Q, maxInstance=13)),
                "NV_ERR_INVALID_ARGUMENT", "maxInstance")
    two = _info(rig, L40_4Q) * 2
    rig.refused(lambda: rig.ops.add_vgpu_info(rig.client, 2, two), "NV_ERR_INVALID_ARGUMENT", "given twice")
    v = rig.bench.mgr.create(1, L40_4Q)
    rig.refused(lambda: rig.ops.add_vgpu_info(rig.client, 1, _info(rig, L40_4Q)), "NV_ERR_STATE_IN_USE",
                "discardVgpuTypes while vGPU(s) [1] run")
    rig.bench.mgr.destroy(v.gfid)


def test_controls_on_the_wrong_object_or_board() -> None:
    with boot_sim("ad102", synthetic=True) as gpu:  # the GeForce board: no vGPU
        assert gpu.abi is not None and gpu.subdevice is not None and gpu.device is not None
        m, abi = gpu.abi.module, gpu.abi
        vmmu = int(m.NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE)
        with pytest.raises(RpcFailure, match="NV_ERR_NOT_SUPPORTED"):
            gpu.subdevice.control(vmmu, abi.pack("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS"))
        with pytest.raises(RpcFailure, match="NV_ERR_NOT_SUPPORTED"):
            gpu.device.control(vmmu, abi.pack("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS"))


def test_served_types_are_the_table_in_the_running_layout(bench: Bench) -> None:
    assert bench.rm.vgpu is not None and bench.gpu.abi is not None
    infos = bench.rm.vgpu.type_infos()
    size = ctypes.sizeof(bench.gpu.abi.struct("NVA081_CTRL_VGPU_INFO"))
    assert size == 0x1358 and len(infos) == size * len(TYPE_TABLES[bench.sim.chipset])
    first = bench.gpu.abi.struct("NVA081_CTRL_VGPU_INFO").from_buffer_copy(infos[:size])
    assert bytes(first.vgpuName).rstrip(b"\0") == b"NVIDIA L40-1Q" and first.maxInstance == 32
    assert first.pdevId == 0x10DE26B5
