"""The simulated GSP-RM's command dispatch: what it keeps per function number (its name, its handler's name) answers
exactly as a fresh look-up would - an unknown function, a function the version lacks a handler for, a handler
replaced on the instance after the first command - and the kept table follows the version GSP-RM runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nova_core.gsp.boot import GspDevice
from nova_core.gsp.fw import Nop, RpcFailure
from nova_core.gsp.rpc import GspRpc
from nova_core.sim import SimGpu
from nova_core.sim_boot import boot_sim

UNKNOWN = 0x7FF0  #: no FUNCTIONS or EVENTS entry of any version has this number


@pytest.fixture(scope="module")
def dev() -> Iterator[GspDevice]:
    d = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    yield d
    d.close()


def _rpc(d: GspDevice) -> GspRpc:
    assert d.rpc is not None
    return d.rpc


def _rm(d: GspDevice) -> Any:
    return d.dev.sim.models["gsp_rm"]  # type: ignore[attr-defined]


def test_an_unknown_function_is_answered_unknown_every_time(dev: GspDevice) -> None:
    rm = _rm(dev)
    for _ in range(3):  # the first look-up and the kept one answer alike
        with pytest.raises(RpcFailure, match="NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION"):
            _rpc(dev).rpc(UNKNOWN, b"")
    assert rm.handled[f"function {UNKNOWN:#x}"] >= 3
    assert _rpc(dev).call(Nop(b"\x5a" * 64)) == b"\x5a" * 64  # the queue is still in step


def test_a_handler_replaced_on_the_instance_answers_the_next_command(dev: GspDevice) -> None:
    rm = _rm(dev)
    assert _rpc(dev).call(Nop(b"\x01" * 64)) == b"\x01" * 64  # NOP's entry is kept now
    rm._rpc_nop = lambda payload: (0, bytes(reversed(payload)))
    try:
        assert _rpc(dev).call(Nop(bytes(range(64)))) == bytes(reversed(range(64)))
    finally:
        del rm._rpc_nop
    assert _rpc(dev).call(Nop(bytes(range(64)))) == bytes(range(64))


def test_a_function_without_a_handler_is_not_supported(dev: GspDevice) -> None:
    rm = _rm(dev)
    name, attr = next((n, f"_rpc_{n.lower()}") for n in rm.m.FUNCTIONS
                      if not hasattr(rm, f"_rpc_{n.lower()}") and n != "CONTINUATION_RECORD")
    for _ in range(2):
        with pytest.raises(RpcFailure, match="NV_ERR_NOT_SUPPORTED"):
            _rpc(dev).rpc(int(rm.m.FUNCTIONS[name]), b"")
    assert rm._handler_names[int(rm.m.FUNCTIONS[name])] == (name, attr)
    assert any(f"{name} is not modelled" in e.message for e in dev.dev.sim.log.entries())  # type: ignore[attr-defined]


def test_the_kept_table_is_dropped_with_the_bindings() -> None:
    gpu = SimGpu("ga102")
    rm: Any = gpu.models["gsp_rm"]
    rm._handler_names = {0x7FF1: ("STALE", None)}  # as kept for other bindings
    rm.boot("550.163.01", 0)  # nothing at address 0: this GSP-RM halts, after taking its version's bindings
    try:
        assert rm._handler_names == {}
    finally:
        rm.stop()



def test_the_function_table_is_bounded_against_a_driver_sending_every_number(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile function numbers are each answered (unknown) but not all remembered: the table stays bounded."""
    d = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    try:
        rm = _rm(d)
        answered: list[int] = []
        monkeypatch.setattr(rm, "_publish_msg", lambda fn, result, payload, when: answered.append(fn))
        for fn in range(0x10000, 0x10000 + 4200):
            rm._dispatch(fn, b"", rm.clock.now())
        monkeypatch.undo()
        assert len(answered) == 4200 and len(rm._handler_names) <= 4096
    finally:
        d.close()
