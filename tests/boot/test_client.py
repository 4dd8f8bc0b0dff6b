"""RM clients and objects over the RPC channel, against the simulated GSP-RM's resource server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from boot_helpers import rm

from nova_core.errors import GspError, RpcError
from nova_core.gsp.boot import GspDevice
from nova_core.gsp.client import NV01_DEVICE_0, NV20_SUBDEVICE_0, RmClient
from nova_core.sim_boot import boot_sim


@pytest.fixture(scope="module")
def gpu() -> Iterator[GspDevice]:
    g = boot_sim("ga102", synthetic=True)
    yield g
    g.close()


def _sim_objects(g: GspDevice, client: RmClient) -> dict[int, int]:
    table = rm(g.dev.sim).objects.clients.get(client.handle)
    return {} if table is None else {h: o.cls for h, o in table.objects.items()}


def test_client_device_subdevice_handles_and_tree(gpu: GspDevice) -> None:
    assert gpu.rpc is not None
    c = RmClient.open(gpu.rpc)
    try:
        d = c.device()
        s = d.subdevice()
        assert c.handle >> 16 == 0xC1D0 and d.handle >> 16 == 0xDE1D and s.handle >> 16 == 0x5D1D
        assert [o.cls for o in c.objects()] == [0, NV01_DEVICE_0, NV20_SUBDEVICE_0]
        assert _sim_objects(gpu, c) == {o.handle: o.cls for o in c.objects()}
        assert c.find(s.handle) is s and s.parent is d and d.parent is c
    finally:
        c.close()
    assert c.freed and d.freed and s.freed
    assert _sim_objects(gpu, c) == {}


def test_free_frees_the_subtree_in_rm_too(gpu: GspDevice) -> None:
    assert gpu.rpc is not None
    c = RmClient.open(gpu.rpc)
    d = c.device()
    s = d.subdevice()
    d.free()
    assert d.freed and s.freed and not c.freed
    assert _sim_objects(gpu, c) == {c.handle: 0}
    with pytest.raises(GspError, match="was freed"):
        s.control(0x0)
    d2 = c.device()  # the handle range continues; nothing stale in the way
    assert d2.handle != d.handle
    c.close()


def test_control_null_returns_the_params(gpu: GspDevice) -> None:
    assert gpu.subdevice is not None
    assert gpu.subdevice.control(0x0, b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"  # NV0000_CTRL_CMD_NULL


def test_control_failure_names_the_object_and_command(gpu: GspDevice) -> None:
    assert gpu.device is not None
    h = gpu.device.handle
    with pytest.raises(RpcError, match=rf"GSP_RM_CONTROL.*hObject {h:#x}, cmd 0x20800101.*NV_ERR_NOT_SUPPORTED"):
        gpu.device.control(0x20800101)  # an NV2080 command on an NV0080 object


def test_duplicate_handle_is_refused_before_any_rpc(gpu: GspDevice) -> None:
    assert gpu.rpc is not None and gpu.client is not None and gpu.device is not None
    sent = gpu.rpc.sent
    with pytest.raises(GspError, match="already in use"):
        gpu.client.alloc(NV01_DEVICE_0, handle=gpu.device.handle)
    assert gpu.rpc.sent == sent


def test_failed_alloc_leaves_the_tree_unchanged(gpu: GspDevice) -> None:
    assert gpu.rpc is not None
    c = RmClient.open(gpu.rpc)
    before = [o.handle for o in c.objects()]
    with pytest.raises(RpcError, match="GSP_RM_ALLOC.*class 0x1234.*NV_ERR_INVALID_CLASS"):
        c.device().alloc(0x1234)
    assert len(c.objects()) == len(before) + 1  # the device stays, the refused object does not
    sub = c.objects()[1].subdevice()  # a handle of the refused object is free again
    assert sub.cls == NV20_SUBDEVICE_0
    c.close()


def test_subdevice_needs_a_device(gpu: GspDevice) -> None:
    assert gpu.client is not None
    with pytest.raises(GspError, match="lives under an NV01_DEVICE_0"):
        gpu.client.subdevice()
