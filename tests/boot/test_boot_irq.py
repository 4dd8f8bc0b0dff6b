"""Boots use interrupts: the GSP's vector wakes RPC waiters from the 'interrupts' stage on, on every family - the
SEC2-booted ones and Hopper/Blackwell through the FSP (16 leaves, no MSI re-arm through config space); polling still
works; the interrupt that never comes ends a bounded wait naming what it waited for; a lost
interrupt is noticed and survived; the interrupts are released at shutdown."""

from __future__ import annotations

import pytest
from boot_helpers import rm

from nova_core.errors import PollTimeout
from nova_core.gsp.boot import BootFailed
from nova_core.gsp.fw import Nop
from nova_core.hw.clock import SEC
from nova_core.sim import SimGpu
from nova_core.sim.models.intr import SimIntr
from nova_core.sim_boot import boot_sim


def tree(gpu: SimGpu) -> SimIntr:
    t = gpu.models["intr"]
    assert isinstance(t, SimIntr)
    return t


@pytest.mark.parametrize(("chip", "mode", "leaves"), [("tu102", "msi", 8), ("ga102", "msi", 8), ("ad102", "msi", 8),
                                                      ("ga100", "msi-x", 8), ("gh100", "msi-x", 16),
                                                      ("gb202", "msi", 16)])
def test_boot_uses_interrupts(chip: str, mode: str, leaves: int) -> None:
    gpu = SimGpu(chip)
    g = boot_sim(chip, synthetic=True, gpu=gpu)
    assert g.rpc is not None and g.gsp_irq is not None and g.irq is not None
    view = g.interrupts()
    assert view is not None and view["mode"] == mode and view["leaves"] == leaves and view["reports"] == []
    gsp = next(v for v in view["vectors"] if v["name"] == "GSP")
    assert gsp["count"] > 0 and gsp["handler"] == "GspInterrupt" and gsp["kind"] == "stall"
    assert view["gsp"]["messages"] > 0 and view["gsp"]["missed"] == 0
    assert g.rpc.wakeup is g.gsp_irq.handler.wakeup  # RPC waits sleep on the GSP interrupt
    before = g.gsp_irq.handler.stats.messages
    assert g.rpc.call(Nop(b"irq")) == b"irq"
    assert g.gsp_irq.handler.stats.messages > before
    stage = next(s for s in g.stages if s.name == "interrupts")
    assert stage.ok and f"{mode} (" in stage.detail and "GSP stall vector 192" in stage.detail
    g.close()
    assert g.teardown_status == "clean"
    assert g.rpc.wakeup is None and not g.irq.delivers
    t = tree(gpu)
    assert t.top_en == 0 and t.en == [0] * leaves  # disarmed and blocked at shutdown
    assert gpu.log.errors() == []


def test_boot_without_interrupts_polls() -> None:
    g = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    view = g.interrupts()
    assert view is not None and view["mode"] == "poll"
    assert "polling was asked for" in view["backend"]
    assert next(v for v in view["vectors"] if v["name"] == "GSP")["count"] == 0
    assert g.rpc is not None and g.rpc.wakeup is None and g.rpc.call(Nop(b"p")) == b"p"
    g.close()
    assert g.teardown_status == "clean"


def test_interrupt_that_never_comes_ends_the_wait_naming_it() -> None:
    gpu = SimGpu("ad102")
    g = boot_sim("ad102", synthetic=True, gpu=gpu)
    assert g.rpc is not None
    rm(gpu).inject("hang")
    t0 = gpu.clock.now()
    with pytest.raises(PollTimeout, match=r"GSP-RM's reply to NOP \(RPC #\d+ of this channel\) \(interrupt-driven "
                                          r"wait, 0 interrupt\(s\) seen\)"):
        g.rpc.call(Nop(b"?"))
    assert 5 * SEC <= gpu.clock.now() - t0 < 6 * SEC  # the RPC's own bound, in device time
    g.close()  # GSP-RM stopped answering: the shutdown skips its RPCs and still tears down
    assert "skipped" in next(s.detail for s in g.shutdown_stages if s.name == "unload:unloading-guest-driver")


def test_a_stage_whose_reply_never_comes_is_named() -> None:
    gpu = SimGpu("ga102")
    rm(gpu).inject("delay", function="GSP_RM_CONTROL", delay_ns=30 * SEC)  # the interrupt table's reply
    with pytest.raises(BootFailed) as ei:
        boot_sim("ga102", synthetic=True, gpu=gpu)
    assert ei.value.stage == "interrupts" and isinstance(ei.value.cause, PollTimeout)
    assert "GSP-RM's reply to GSP_RM_CONTROL" in str(ei.value)


def test_a_lost_interrupt_costs_one_recheck_and_is_counted() -> None:
    gpu = SimGpu("ga102")
    g = boot_sim("ga102", synthetic=True, gpu=gpu)
    assert g.rpc is not None and g.gsp_irq is not None
    pci = gpu.models["pci"]
    sent = pci.signal  # type: ignore[attr-defined]
    pci.signal = lambda vector=0: False  # type: ignore[attr-defined]  # the message is lost on the way
    try:
        t0 = gpu.clock.now()
        assert g.rpc.call(Nop(b"lost")) == b"lost"
        assert gpu.clock.now() - t0 <= 110_000_000  # found at the 100 ms recheck, not after the 5 s bound
        assert g.gsp_irq.handler.wakeup.missed >= 1
    finally:
        pci.signal = sent  # type: ignore[attr-defined]
    view = g.interrupts()
    assert view is not None and view["gsp"]["missed"] >= 1
    g.close()
    assert g.teardown_status == "clean"


def test_nonstall_listeners_are_ready_after_boot() -> None:
    gpu = SimGpu("ad102")
    g = boot_sim("ad102", synthetic=True, gpu=gpu)
    assert g.nonstall is not None and g.irq is not None
    got: list[str] = []
    stop = g.nonstall.listen("CE1", got.append)
    vec = g.nonstall.table.engine("CE1").nonstall
    assert vec is not None
    tree(gpu).raise_vector(vec)
    g.irq.synchronize()
    assert got == ["CE1"]
    stop()
    g.close()


def test_the_interrupt_table_is_answered_on_gsp_rms_own_subdevice_only() -> None:
    from nova_core.gsp.fw import RmControl, RpcFailure

    gpu = SimGpu("tu102")
    g = boot_sim("tu102", synthetic=True, gpu=gpu)
    assert g.rpc is not None and g.subdevice is not None and g.static is not None and g.abi is not None
    m = g.abi.module
    cmd, size = int(m.NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE), g.abi.sizeof(
        "NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS")
    with pytest.raises(RpcFailure, match="NV_ERR_INSUFFICIENT_PERMISSIONS"):
        g.subdevice.control(cmd, bytes(size))  # our own client's subdevice
    assert any("internal commands go to GSP-RM's own subdevice" in e.message for e in gpu.log.errors())
    with pytest.raises(RpcFailure, match="NV_ERR_INVALID_PARAM_STRUCT"):
        g.rpc.call(RmControl(g.static.internal_client, g.static.internal_subdevice, cmd, bytes(size - 4)))
    assert any("params of 0x810 bytes, the structure is 0x814" in e.message for e in gpu.log.errors())
    g.close()
