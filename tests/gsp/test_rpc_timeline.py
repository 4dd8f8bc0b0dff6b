"""What an RPC leaves on the timeline (nova_core.gsp.rpc with nova_core.hw.events): its "rpc" span and its "wait",
the same whether a listener hears them (Span objects from Timeline.begin/end) or nobody does (records from
Timeline.record and ObservedClock.observe_wait, made into Spans when read)."""

from __future__ import annotations

from typing import Any

import pytest

from nova_core.errors import PollTimeout
from nova_core.gsp.fw import Nop, RpcFailure
from nova_core.hw.events import Span
from nova_core.hw.irq import MODES
from nova_core.sim import SimGpu
from nova_core.sim_boot import boot_sim


@pytest.mark.parametrize("interrupts", [("poll",), MODES])
@pytest.mark.parametrize("listening", [False, True])
def test_rpc_and_wait_spans(listening: bool, interrupts: tuple[str, ...]) -> None:
    gpu = SimGpu("ga102")
    d = boot_sim("ga102", synthetic=True, gpu=gpu, interrupts=interrupts)
    try:
        assert d.rpc is not None
        tl = d.timeline
        heard: list[tuple[str, str, str]] = []
        if listening:
            tl.listeners.append(lambda phase, s: heard.append((phase, s.kind, s.name)))
        first = len(tl.of_kind("rpc"))
        d.rpc.call(Nop(bytes(64)))
        with pytest.raises(RpcFailure) as failed:
            d.rpc.rpc(1023, b"xy")
        rm: Any = gpu.models["gsp_rm"]
        rm.inject("crash")
        with pytest.raises(PollTimeout):
            d.rpc.call(Nop(b""))
        nop, bad, lost = tl.of_kind("rpc")[first:]
        n = nop.args["ordinal"]
        assert (nop.name, nop.ok, nop.error, nop.args) == ("NOP", True, "", {"bytes": 64, "ordinal": n, "result": 0})
        assert (bad.name, bad.ok, bad.args) == (failed.value.function, False,
                                                {"bytes": 2, "ordinal": n + 1, "result": failed.value.result})
        assert "UNKNOWN_FUNCTION" in bad.error
        assert (lost.name, lost.ok, lost.args) == ("NOP", False, {"bytes": 0}) and "GSP-RM's reply to NOP" in lost.error
        for s in (nop, bad, lost):
            assert s.dev_end >= s.dev_start and s.host_end >= s.host_start
        waits = [w for w in tl.of_kind("wait") if w.name.startswith("GSP-RM's reply to ")]
        assert waits[-1].name == f"GSP-RM's reply to NOP (RPC #{n + 2} of this channel)" and not waits[-1].ok
        assert waits[-1].error == "timed out" and waits[-1].args["polls"] >= 0
        assert tl.chrome_trace()["traceEvents"][-1]["name"] == "NOP"  # the lost RPC, ended after its wait
        if listening:
            rpcs = [h for h in heard if h[1] == "rpc"]
            assert [p for p, _, _ in rpcs] == ["begin", "end"] * 3
            assert heard.index(("end", "wait", waits[-1].name)) < len(heard) - 1 == heard.index(("end", "rpc", "NOP"),
                                                                                               len(heard) - 1)
    finally:
        d.close()


def test_a_listener_sees_the_span_it_was_given() -> None:
    gpu = SimGpu("ga102")
    d = boot_sim("ga102", synthetic=True, gpu=gpu)
    try:
        assert d.rpc is not None
        spans: list[Span] = []
        d.timeline.listeners.append(lambda phase, s: spans.append(s) if s.kind == "rpc" else None)
        d.rpc.call(Nop(b"a"))
        began, ended = spans
        assert began is ended and ended == d.timeline.of_kind("rpc")[-1]  # what it heard is what is read back
    finally:
        d.close()
