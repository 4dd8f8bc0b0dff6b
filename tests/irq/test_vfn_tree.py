"""The VFN interrupt tree controller (nova_core.irq.vfn) against the simulated GPU: geometry, the acknowledge and
re-arm order, MSI re-arm, and the fault cases (a handler that raises, a vector pending with no handler, a spurious
message storm, a lost device)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from nova_core.errors import IrqError
from nova_core.hw.irq import IrqManager, PollBackend
from nova_core.irq import VfnController, open_irq
from nova_core.regs.vfn import NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET
from nova_core.sim import SimGpu
from nova_core.sim.models.intr import SimIntr


class Rig:
    def __init__(self, chip: str, *, msi_rearm: bool | None = None) -> None:
        self.gpu = SimGpu(chip)
        self.dev = self.gpu.device()
        self.irq = open_irq(self.dev)
        rearm = self.gpu.facts.msi_rearm_xve and self.irq.mode == "msi" if msi_rearm is None else msi_rearm
        self.vfn = VfnController(self.dev.bar0, self.gpu.facts.vfn_leaves, self.irq, msi_rearm=rearm)
        self.vfn.attach()
        model = self.gpu.models["intr"]
        assert isinstance(model, SimIntr)
        self.tree = model

    def raise_and_sync(self, vector: int) -> None:
        self.tree.raise_vector(vector, "test")
        self.irq.synchronize()

    def close(self) -> None:
        self.vfn.detach()
        self.irq.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig("ga102")
    yield r
    r.close()


@pytest.mark.parametrize(("chip", "mode", "leaves"), [("tu102", "msi", 8), ("ga102", "msi", 8), ("ad102", "msi", 8),
                                                      ("ga100", "msi-x", 8), ("gh100", "msi-x", 16)])
def test_attach_and_deliver_per_chip(chip: str, mode: str, leaves: int) -> None:
    r = Rig(chip)
    try:
        assert r.irq.mode == mode and r.vfn.leaves == leaves and r.vfn.subtrees == leaves // 2
        assert r.tree.top_en == (1 << (leaves // 2)) - 1 and r.tree.en == [0] * leaves  # armed, all blocked
        seen: list[tuple[int, str]] = []
        last = leaves * 32 - 1
        r.vfn.request(last, lambda v: seen.append((v, threading.current_thread().name)) is None, "last", "stall")
        assert r.tree.en[leaves - 1] == 1 << 31
        for _ in range(3):
            r.raise_and_sync(last)
        assert [v for v, _ in seen] == [last] * 3 and all(t.startswith("nova irq") for _, t in seen)
        assert r.vfn.vector(last).count == 3 and r.tree.messages == 3
        view = r.vfn.view()
        assert (view["mode"], view["top"], view["leaves"]) == (mode, 1, leaves)
        with pytest.raises(IrqError, match=f"outside this chip's tree .{leaves} leaves"):
            r.vfn.request(leaves * 32, lambda v: True, "too far")
    finally:
        r.close()


def test_acknowledge_before_the_handler_and_rearm_after(rig: Rig) -> None:
    observed: dict[str, object] = {}

    def handler(v: int) -> bool:
        observed.update(pending=rig.tree.pending(v), top_en=rig.tree.top_en)
        return True

    rig.vfn.request(200, handler, "probe")
    rig.raise_and_sync(200)
    assert observed == {"pending": False, "top_en": 0}  # reset before the handler, top level unarmed meanwhile
    assert rig.tree.top_en == 0xF  # re-armed


def test_msi_rearm_lets_the_next_interrupt_through() -> None:
    ok, broken = Rig("tu102"), Rig("tu102", msi_rearm=False)
    try:
        for r in (ok, broken):
            calls: list[int] = []
            r.vfn.request(193, lambda v, calls=calls: calls.append(v) is None, "x")
            r.raise_and_sync(193)
            r.raise_and_sync(193)
            r.calls = calls  # type: ignore[attr-defined]
        assert ok.calls == [193, 193]  # type: ignore[attr-defined]
        assert broken.calls == [193] and broken.tree.held  # type: ignore[attr-defined]  # no NV_XVE_CYA_2 write
    finally:
        ok.close()
        broken.close()


def test_handler_that_raises_is_reported_and_the_vector_stays_allowed(rig: Rig) -> None:
    n = {"calls": 0}

    def flaky(v: int) -> bool:
        n["calls"] += 1
        if n["calls"] == 1:
            raise RuntimeError("handler bug")
        return True

    rig.vfn.request(64, flaky, "flaky", "nonstall")
    rig.raise_and_sync(64)
    rig.raise_and_sync(64)
    v = rig.vfn.vector(64)
    assert n["calls"] == 2 and v.errors == 1 and v.allowed and v.count == 2
    assert sum("handler raised RuntimeError: handler bug" in r for r in rig.irq.reports) == 1


def test_pending_vector_with_no_handler_is_blocked_and_reported_once(rig: Rig) -> None:
    rig.dev.bar0.write32(NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF_EN_SET.addr(i=1), 1 << 3)  # enabled behind our back
    rig.raise_and_sync(35)
    assert rig.tree.en[1] == 0 and rig.tree.pending(35)  # blocked; the raise stays latched
    rig.raise_and_sync(35)  # blocked now: no interrupt at all
    reports = [r for r in rig.irq.reports if "vector 35 pending with no handler" in r]
    assert len(reports) == 1 and rig.tree.messages == 1


def test_blocked_vector_stays_pending_until_allowed(rig: Rig) -> None:
    calls: list[int] = []
    rig.vfn.request(100, lambda v: calls.append(v) is None, "x")
    rig.vfn.block(100)
    rig.raise_and_sync(100)
    assert calls == [] and rig.tree.pending(100)
    rig.vfn.allow(100)  # nouveau's allow resets a stale raise first: it does not fire
    rig.irq.synchronize()
    assert calls == [] and not rig.tree.pending(100)
    rig.raise_and_sync(100)
    assert calls == [100]


def test_free_guarantees_no_later_call(rig: Rig) -> None:
    calls: list[int] = []
    rig.vfn.request(10, lambda v: calls.append(v) is None, "x")
    rig.raise_and_sync(10)
    rig.vfn.free(10)
    rig.raise_and_sync(10)
    assert calls == [10] and rig.tree.en[0] == 0
    with pytest.raises(IrqError, match="no handler to free"):
        rig.vfn.free(10)


def test_spurious_messages_make_a_storm_that_is_cut_off_once() -> None:
    r = Rig("ga100")  # MSI-X
    try:
        r.irq.storm_threshold = 20
        pci = r.gpu.models["pci"]
        for _ in range(30):
            pci.signal(0)  # type: ignore[attr-defined]  # a message with nothing pending in the tree
        r.irq.synchronize()
        hw = r.irq.vectors[0]
        assert hw.storm and hw.unhandled == 20 and r.vfn.spurious == 20
        assert sum("interrupt storm" in x for x in r.irq.reports) == 1
        assert r.irq.backend.msix is not None and r.irq.backend.msix.is_masked(0)  # type: ignore[attr-defined]
    finally:
        r.close()


def test_a_lost_device_is_reported_once(rig: Rig) -> None:
    rig.vfn.request(7, lambda v: True, "x")
    rig.gpu.fall_off_bus()
    pci = rig.gpu.models["pci"]
    for _ in range(3):
        pci.signal(0)  # type: ignore[attr-defined]
        rig.irq.synchronize()
    assert rig.vfn.lost and sum("the GPU is gone" in x for x in rig.irq.reports) == 1


def test_poll_mode_requests_nothing_and_services_on_demand() -> None:
    gpu = SimGpu("ga102")
    irq = IrqManager(PollBackend("test"), gpu.clock)
    vfn = VfnController(gpu.bar0, 8, irq)
    vfn.attach()
    calls: list[int] = []
    vfn.request(5, lambda v: calls.append(v) is None, "x")
    gpu.models["intr"].raise_vector(5)  # type: ignore[attr-defined]
    assert calls == [] and irq.vectors == {}
    assert vfn.service() and calls == [5]
    assert not vfn.service() and vfn.spurious == 1
    vfn.detach()
    assert not vfn.service()  # disarmed


def test_geometry_is_checked() -> None:
    irq = IrqManager(PollBackend("test"))
    with pytest.raises(IrqError, match="a VFN tree of 7 leaves"):
        VfnController(SimGpu("ga102").bar0, 7, irq)
    vfn = VfnController(SimGpu("ga102").bar0, 8, irq)
    with pytest.raises(IrqError, match="vector kind 'fast'"):
        vfn.request(1, lambda v: True, "x", "fast")
