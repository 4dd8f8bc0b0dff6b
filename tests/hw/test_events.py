"""The timeline: spans on two clocks, waits reported by poll_timeout through ObservedClock, Chrome trace export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_core.errors import PollTimeout
from nova_core.hw.clock import MS, US, VirtualClock
from nova_core.hw.events import ObservedClock, Span, Timeline
from nova_core.hw.poll import poll_timeout


def test_waits_that_sleep_are_reported_and_immediate_ones_are_not() -> None:
    vc = VirtualClock()
    tl = Timeline(vc)
    clock = ObservedClock(vc, tl)
    poll_timeout(lambda: 1, bool, clock=clock, timeout=MS, what="already true")
    assert tl.of_kind("wait") == []
    start = vc.now()
    poll_timeout(lambda: vc.now() >= start + 50 * US, bool, clock=clock, timeout=MS, interval=10 * US,
                 what="50 us later")
    (w,) = tl.of_kind("wait")
    assert w.name == "50 us later" and w.ok and w.dev_ns == 50 * US and w.args["polls"] == 6
    assert tl.dev_sleep_ns == 50 * US and tl.host_sleep_ns >= 0
    with pytest.raises(PollTimeout):
        poll_timeout(lambda: 0, bool, clock=clock, timeout=100 * US, interval=10 * US, what="never")
    last = tl.of_kind("wait")[-1]
    assert last.name == "never" and not last.ok and last.dev_ns == 100 * US


def test_span_records_failure_and_listeners_see_both_phases() -> None:
    vc = VirtualClock()
    tl = Timeline(vc)
    seen: list[tuple[str, str]] = []
    tl.listeners.append(lambda phase, s: seen.append((phase, s.name)))
    with tl.span("stage", "ok-stage"):
        vc.advance(3 * MS)
    with pytest.raises(ValueError), tl.span("stage", "bad-stage"):
        raise ValueError("boom")
    a, b = tl.of_kind("stage")
    assert a.ok and a.dev_ns == 3 * MS
    assert not b.ok and b.error == "boom"
    assert seen == [("begin", "ok-stage"), ("end", "ok-stage"), ("begin", "bad-stage"), ("end", "bad-stage")]


def test_chrome_trace_format(tmp_path: Path) -> None:
    vc = VirtualClock()
    tl = Timeline(vc)
    with tl.span("stage", "s", detail="x"):
        vc.advance(2 * MS)
        tl.instant("event", "GSP_INIT_DONE")
    path = tl.write_chrome_trace(tmp_path / "t.json")
    doc = json.loads(path.read_text())
    evs = [e for e in doc["traceEvents"] if e["ph"] != "M"]
    dev = [e for e in evs if e["pid"] == 1]
    assert {e["name"] for e in dev} == {"s", "GSP_INIT_DONE"}
    stage = next(e for e in dev if e["name"] == "s")
    assert stage["ph"] == "X" and stage["dur"] == 2000.0 and stage["ts"] == 0 and stage["args"]["detail"] == "x"
    inst = next(e for e in dev if e["name"] == "GSP_INIT_DONE")
    assert inst["ph"] == "i" and inst["ts"] == 2000.0
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    assert {e["args"]["name"] for e in meta if e["name"] == "thread_name"} == {"stage", "rpc", "wait", "event"}


def test_timeline_is_bounded() -> None:
    tl = Timeline(VirtualClock(), max_spans=10)
    for i in range(25):
        tl.add(Span("rpc", f"r{i}", 0, 0, 0, 0))
    assert len(tl.spans) == 10 and tl.dropped == 15 and tl.spans[0].name == "r15"


def test_timeline_without_a_clock_takes_the_first_it_is_given() -> None:
    tl = Timeline()
    assert tl.begin("stage", "before").dev_start == 0
    vc = VirtualClock(start=5)
    tl.use_clock(vc)
    tl.use_clock(VirtualClock(start=99))  # the first one stays
    assert tl.begin("stage", "after").dev_start == 5


def test_a_compact_record_reads_back_as_the_span_it_stands_for() -> None:
    vc = VirtualClock(start=7)
    tl = Timeline(vc, max_spans=3)
    dev0 = vc.now()
    vc.advance(4 * US)
    tl.record("rpc", "NOP", dev0, 100, True, "", ("bytes", "ordinal", "result"), (64, 9, 0))
    tl.record("wait", "w", dev0, 100, False, "timed out", ("polls",), (3,), dev_end=dev0 + US)
    (r, w) = tl.spans
    assert (r.kind, r.name, r.dev_start, r.dev_end, r.host_start, r.ok, r.error) == \
        ("rpc", "NOP", 7, 7 + 4 * US, 100, True, "")
    assert r.host_end >= 100 and r.args == {"bytes": 64, "ordinal": 9, "result": 0}
    assert not w.ok and w.error == "timed out" and w.dev_ns == US and w.args == {"polls": 3}
    assert [s.name for s in tl.of_kind("rpc")] == ["NOP"]
    trace = json.loads(tl.chrome_trace_bytes())
    (ev,) = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["pid"] == 1 and e["name"] == "NOP"]
    assert ev["dur"] == 4.0 and ev["args"] == {"bytes": 64, "ordinal": 9, "result": 0}
    # records and spans share one bound, oldest dropped first
    tl.add(Span("stage", "s", 0, 0, 0, 0))
    tl.record("rpc", "last", 0, 0)
    assert [s.name for s in tl.spans] == ["w", "s", "last"] and tl.dropped == 1


def test_a_record_is_an_ended_span_for_listeners() -> None:
    vc = VirtualClock()
    tl = Timeline(vc)
    seen: list[tuple[str, str, dict[str, int]]] = []
    tl.listeners.append(lambda phase, s: seen.append((phase, s.name, dict(s.args))))
    tl.record("wait", "w", 0, 0, True, "", ("polls",), (2,))
    assert seen == [("end", "w", {"polls": 2})] and tl.spans[0].args == {"polls": 2}


def test_a_record_with_keys_and_values_unpaired_is_refused_where_it_is_made() -> None:
    tl = Timeline(VirtualClock())
    with pytest.raises(ValueError, match="2 keys for 1 values"):
        tl.record("rpc", "x", 0, 0, True, "", ("a", "b"), (1,))
    assert tl.spans == [] and tl.dropped == 0
