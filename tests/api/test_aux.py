"""The auxiliary bus: names, matching, probe/remove, entry points, and revocation at every way a binding ends."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

from nova_core.api import ENTRY_POINT_GROUP, AuxBus, AuxDevice, AuxDriverBase, AuxError, NovaCore, Revoked
from nova_core.api.aux import match_name


class Recorder(AuxDriverBase):
    """A driver that allocates in probe and records its callbacks."""

    def __init__(self, name: str = "rec", table: tuple[str, ...] = ("nova-core.nova-drm",), *,
                 fail: bool = False) -> None:
        self.name = name
        self.id_table = table
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def probe(self, adev: AuxDevice, matched: str) -> None:
        self.calls.append(("probe", adev.full_name))
        adev.driver_data = adev.device.alloc(1 << 16, name="probe buffer")
        if self.fail:
            raise RuntimeError("refusing this device")

    def remove(self, adev: AuxDevice) -> None:
        self.calls.append(("remove", adev.full_name))


def device_accesses(core: NovaCore) -> int:
    """BAR0 reads and writes plus BAR1/BAR2 aperture accesses of the simulated GPU."""
    sim: Any = core.gpu.dev.sim
    return int(sim.bar0.reads + sim.bar0.writes + sim.models["bar1"].accesses + sim.models["bar2"].accesses)


def test_names() -> None:
    assert match_name("nova-core", "nova-drm") == "nova-core.nova-drm"
    for bad in ("nova.drm", "", "a b"):
        with pytest.raises(AuxError, match="letters, digits"):
            match_name("nova-core", bad)


def test_device_ids_are_unique_and_never_reused(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    a = core.publish("nova-drm")
    b = core.publish("other")
    core.unpublish(a)
    c = core.publish("nova-drm")
    assert (a.full_name, b.full_name, c.full_name) == ("nova-core.nova-drm.0", "nova-core.other.1",
                                                       "nova-core.nova-drm.2")
    assert [d.full_name for d in bus.devices()] == ["nova-core.other.1", "nova-core.nova-drm.2"]
    assert bus.find("nova-core.other.1") is b
    with pytest.raises(AuxError, match="no auxiliary device 'nova-core.x.9'"):
        bus.find("nova-core.x.9")


def test_driver_binds_devices_published_before_and_after(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    early = core.publish("nova-drm")
    other = core.publish("vgpu-test")
    drv = bus.register_driver(Recorder())
    late = core.publish("nova-drm")
    assert drv.calls == [("probe", early.full_name), ("probe", late.full_name)]
    assert early.driver is drv and late.driver is drv and other.driver is None
    assert early.as_json() == {"name": early.full_name, "match": "nova-core.nova-drm", "id": early.id,
                               "parent": core.name, "driver": "rec", "probe_error": None}


def test_unregister_removes_then_revokes(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    adev = core.publish("nova-drm")
    drv = bus.register_driver(Recorder())
    handle = adev.device
    buf = adev.driver_data
    free_before = core.gpu.bars.allocator.stats().free
    bus.unregister_driver(drv)
    assert drv.calls[-1] == ("remove", adev.full_name)
    assert not adev.bound and handle.revoked and buf.freed
    assert core.gpu.bars.allocator.stats().free == free_before + (1 << 16)  # the probe's buffer went back
    with pytest.raises(Revoked, match="has no binding"):
        _ = adev.device
    bus.unregister_driver(drv)  # idempotent


def test_use_after_unbind_never_touches_the_device(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    adev = core.publish("nova-drm")
    bus.register_driver(Recorder())
    dev, buf = adev.device, adev.driver_data
    vm = dev.vaspace()
    bus.unbind(adev)
    before = device_accesses(core)
    for use in (lambda: buf.read(0, 4), lambda: buf.write(b"x"), lambda: vm.bind(buf), lambda: dev.alloc(4096),
                dev.info, lambda: dev.channel("ce0"), lambda: dev.rm_control("NV0000_CTRL_CMD_NULL")):
        with pytest.raises(Revoked, match="was revoked"):
            use()
    assert device_accesses(core) == before


def test_failed_probe_leaves_the_device_unbound_and_frees_what_it_took(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    free = core.gpu.bars.allocator.stats().free
    drv = bus.register_driver(Recorder(fail=True))
    adev = core.publish("nova-drm")
    assert drv.calls == [("probe", adev.full_name)]
    assert not adev.bound and adev.probe_error == "RuntimeError: refusing this device"
    assert core.gpu.bars.allocator.stats().free == free


def test_bind_and_unbind_by_hand(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    core = make_core(bus=bus)
    adev = core.publish("nova-drm")
    a, b = Recorder("a"), Recorder("b")
    bus.register_driver(a)
    bus.register_driver(b)
    assert adev.driver is a
    bus.unbind(adev)
    assert bus.bind(adev, b) is True and adev.driver is b
    assert bus.bind(adev, a) is False  # bound already
    with pytest.raises(AuxError, match="does not match"):
        bus.bind(core.publish("elsewhere"), a)


def test_register_refusals() -> None:
    bus = AuxBus(entry_points=list)
    bus.register_driver(Recorder("x"))
    with pytest.raises(AuxError, match="registered already"):
        bus.register_driver(Recorder("x"))
    with pytest.raises(AuxError, match="is not '<modname>.<devname>'"):
        bus.register_driver(Recorder("y", ("nova-drm",)))
    with pytest.raises(AuxError, match="empty id_table"):
        bus.register_driver(Recorder("z", ()))
    with pytest.raises(AuxError, match="is not an auxiliary driver"):
        bus.register_driver(object())  # type: ignore[arg-type]


def test_shutdown_removes_every_binding_before_the_gpu(make_core: Callable[..., NovaCore]) -> None:
    bus = AuxBus(entry_points=list)
    drv = bus.register_driver(Recorder())
    core = make_core(bus=bus, publish=("nova-drm",))
    adev = core.aux_devices()[0]
    repl = core.device("repl")
    buf = repl.alloc(4096)
    core.shutdown()
    assert drv.calls == [("probe", adev.full_name), ("remove", adev.full_name)]
    assert adev.deleted and bus.devices() == [] and core.gpu.closed
    assert repl.revoked and buf.freed
    with pytest.raises(Revoked, match="shut down"):
        core.device("late")
    core.shutdown()  # idempotent


def test_entry_points_load_on_demand(make_core: Callable[..., NovaCore]) -> None:
    eps = [metadata.EntryPoint("nova-core.nova-drm", "nova_drm.driver:DRIVER", ENTRY_POINT_GROUP),
           metadata.EntryPoint("nova-core.broken", "nova_drm.no_such_module:X", ENTRY_POINT_GROUP)]
    bus = AuxBus(entry_points=lambda: eps)
    core = make_core(bus=bus, publish=("nova-drm", "broken"))
    drm, broken = core.aux_devices()
    assert drm.driver_name == "nova-drm" and broken.driver is None
    assert list(bus.load_errors) == ["nova-core.broken=nova_drm.no_such_module:X"]
    assert "ModuleNotFoundError" in bus.load_errors["nova-core.broken=nova_drm.no_such_module:X"]


def test_nova_drm_entry_point_is_declared() -> None:
    eps = {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert eps.get("nova-core.nova-drm") == "nova_drm.driver:DRIVER"
