"""The RPC layer against the simulated GSP-RM: boot handshake, typed RPCs, large messages, events while a
caller waits, failures, and every injected fault followed by a working RPC."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import Any

import pytest
from gsp_helpers import SYSINFO, VERSIONS, Booted

from nova_core.errors import GspError, PollTimeout
from nova_core.gsp.fw import (
    Event,
    GetGspStaticInfo,
    LockdownNotice,
    Nop,
    OsErrorLog,
    RmAlloc,
    RmControl,
    RmFree,
    RpcFailure,
    SetRegistry,
    SetSystemInfo,
    device_alloc_params,
    root_alloc_params,
    subdevice_alloc_params,
)
from nova_core.gsp.rpc import GspRpc
from nova_core.hw.clock import MS, SEC
from nova_core.regs import falcon as F

CLIENT, DEVICE, SUBDEVICE = 0xC1D00001, 0xDE1D0000, 0x5D1D0000


def _objects(b: Booted) -> None:
    abi = b.abi
    b.rpc.call(RmAlloc(CLIENT, CLIENT, CLIENT, 0x0000, root_alloc_params(abi, CLIENT)))
    b.rpc.call(RmAlloc(CLIENT, CLIENT, DEVICE, 0x0080, device_alloc_params(abi, h_client_share=CLIENT)))
    b.rpc.call(RmAlloc(CLIENT, DEVICE, SUBDEVICE, 0x2080, subdevice_alloc_params(abi)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("chip", ["tu102", "ga100", "ad102"])
def test_boot_handshake(gsp_boot: Callable[..., Booted], chip: str, version: str) -> None:
    b = gsp_boot(chip, version)
    assert b.seq.runs == 1 and b.seq.last is not None and b.seq.last.commands == 6
    assert b.gsp.state == "running" and b.gsp.registry["RMSecBusResetEnable"] == 1
    assert b.gsp.system_info.gpuPhysAddr == 0xF000_0000
    info = b.rpc.call(GetGspStaticInfo())
    assert info.gpu_name == f"NVIDIA {b.gpu.chipset.facts.board}" and info.gpu_short_name == chip.upper()
    assert info.fb_length == b.gpu.vram_mib << 20
    _objects(b)
    assert b.gsp.objects is not None and b.gsp.objects.count() == 3
    b.rpc.call(RmFree(CLIENT, CLIENT, CLIENT))
    assert b.gsp.objects.count() == 0
    assert b.gpu.log.errors() == []


def test_swgen0_raised_and_acknowledged(booted: Booted) -> None:
    stat = F.NV_PFALCON_FALCON_IRQSTAT.addr(F.FALCON.GSP)
    pending = booted.rpc.post("NOP", b"ping")
    booted.dev.clock.sleep(1 * MS)  # GSP-RM answers and raises SWGEN0
    assert booted.gpu.bar0.peek(stat) & F.IRQ_SWGEN0
    booted.rpc.wait(pending)
    assert not booted.gpu.bar0.peek(stat) & F.IRQ_SWGEN0
    assert booted.gsp.doorbells == 3  # one per element: SET_SYSTEM_INFO, SET_REGISTRY, NOP


def test_failures_name_function_and_status(booted: Booted) -> None:
    _objects(booted)
    # the command's own words (its describe(), made only for a failure) name what was asked
    with pytest.raises(RpcFailure, match=rf"GSP_RM_ALLOC \(hClient {CLIENT:#x}, hParent {CLIENT:#x}, hObject "
                                         rf"{DEVICE:#x}, class 0x80\) .*NV_ERR_INSERT_DUPLICATE_NAME") as e:
        booted.rpc.call(RmAlloc(CLIENT, CLIENT, DEVICE, 0x80, device_alloc_params(booted.abi)))
    assert e.value.function == "GSP_RM_ALLOC" and e.value.result == 0x19
    with pytest.raises(RpcFailure, match=r"function 1023.*NV_VGPU_MSG_RESULT_RPC_UNKNOWN_FUNCTION \(0xff100001\)"):
        booted.rpc.rpc(1023, b"")
    with pytest.raises(RpcFailure, match="ALLOC_MEMORY .*NV_ERR_NOT_SUPPORTED"):
        booted.rpc.rpc("ALLOC_MEMORY", bytes(0x40))
    with pytest.raises(GspError, match="no RPC function 'GSP_RM_ALOC'; did you mean 'GSP_RM_ALLOC'"):
        booted.rpc.rpc("GSP_RM_ALOC")
    assert booted.rpc.call(Nop(b"still fine")) == b"still fine"


@pytest.mark.parametrize("size", [100, 0x3000, 0xFFB0 - 0x18, 0xFFB0 - 0x17, 200_000])
def test_large_rpcs_both_ways(booted: Booted, size: int) -> None:
    """Multi-page elements, and payloads split into CONTINUATION_RECORDs (and reassembled) both ways."""
    _objects(booted)
    params = bytes((i * 31 + 7) & 0xFF for i in range(size))
    out = booted.rpc.call(RmControl(CLIENT, SUBDEVICE, 0x0, params))  # NV0000_CTRL_CMD_NULL: params echoed
    assert out == params
    records = -(-(0x18 + size) // booted.abi.payload_max)
    assert booted.gsp.handled["GSP_RM_CONTROL"] == 1 and booted.gpu.log.errors() == []
    if records > 1:
        assert booted.rpc.received >= records


def test_events_reach_handlers_while_a_caller_waits(booted: Booted) -> None:
    got: list[object] = []
    booted.rpc.on_event(Event.OS_ERROR_LOG, lambda ev: got.append(ev.body()))
    remove = booted.rpc.on_event(Event.LOCKDOWN_NOTICE, lambda ev: got.append(ev.body()))
    g = booted.gsp
    g.emit("OS_ERROR_LOG", g.event_payload("rpc_os_error_log_v", exceptType=31, chid=3, errString="MMU fault"))
    g.emit("GSP_LOCKDOWN_NOTICE", g.event_payload("rpc_gsp_lockdown_notice_v", bLockdownEngaging=1))
    g.emit("MMU_FAULT_QUEUED", b"")
    assert booted.rpc.call(Nop(b"x" * 64)) == b"x" * 64
    assert got == [OsErrorLog(31, 0, 3, "MMU fault", None), LockdownNotice(True)]
    remove()
    g.emit("GSP_LOCKDOWN_NOTICE", g.event_payload("rpc_gsp_lockdown_notice_v", bLockdownEngaging=0))
    ev = booted.rpc.wait_event(Event.LOCKDOWN_NOTICE)
    assert ev.body() == LockdownNotice(False) and ev.number == 0x101D
    assert [e.name for e in booted.rpc.backlog()] == ["MMU_FAULT_QUEUED"]


def test_nocat_event_r570(gsp_boot: Callable[..., Booted]) -> None:
    b = gsp_boot("ad102", "570.144")
    b.gsp.emit("GSP_POST_NOCAT_RECORD", b.gsp.event_payload("rpc_gsp_post_nocat_record_v", data=0x77))
    ev = b.rpc.wait_event(Event.POST_NOCAT_RECORD)
    assert ev.number == 0x1020 and ev.body().data == 0x77  # type: ignore[union-attr]


def test_handler_exception_reaches_the_waiter_queue_stays_usable(booted: Booted) -> None:
    def boom(ev: object) -> None:
        raise GspError("handler failed")

    booted.rpc.on_event(Event.OS_ERROR_LOG, boom)
    booted.gsp.emit("OS_ERROR_LOG", bytes(0x10C))
    with pytest.raises(GspError, match="handler failed"):
        booted.rpc.call(Nop())
    assert booted.rpc.call(Nop(b"ok")) == b"ok"


def test_posted_failures_are_kept(booted: Booted) -> None:
    booted.rpc.post("GSP_RM_ALLOC", RmAlloc(1, 1, 1, 0x0000, bytes(8)).encode(booted.abi))
    booted.rpc.call(Nop())
    with pytest.raises(RpcFailure, match="posted without waiting.*NV_ERR_INVALID_PARAM_STRUCT"):
        booted.rpc.check_posted()
    booted.rpc.check_posted()  # reported once


# -- faults: each a precise error, then the next RPC works ------------------------------------------


@pytest.mark.parametrize("fault,error,match", [
    ("corrupt_checksum", GspError, "checksum mismatch"),
    ("bad_elem_count", GspError, "elemCount 0x44 outside 1..16"),
    ("bad_length", GspError, "rpc length 0x1000 larger than the element"),
    ("bad_signature", GspError, "rpc signature 0x435052a9, expected 0x43505256"),
    ("error_result", RpcFailure, r"NOP .*failed: NV_ERR_GENERIC"),
])
def test_reply_faults(booted: Booted, fault: str, error: type[Exception], match: str) -> None:
    booted.gsp.inject(fault, function="NOP")
    with pytest.raises(error, match=match):
        booted.rpc.call(Nop(b"faulty"))
    assert booted.rpc.call(Nop(b"next")) == b"next"


def test_dropped_message_is_a_sequence_gap(booted: Booted) -> None:
    booted.gsp.inject("drop", function="OS_ERROR_LOG")
    booted.gsp.emit("OS_ERROR_LOG", bytes(0x10C))
    with pytest.raises(GspError, match="sequence gap: expected seqNum 0x(.*), found .* \\(1 element\\(s\\) lost\\)"):
        booted.rpc.call(Nop(b"a"))
    assert booted.rpc.call(Nop(b"b")) == b"b"


def test_delayed_reply(booted: Booted) -> None:
    booted.gsp.inject("delay", function="NOP", delay_ns=300 * MS)
    t0 = booted.dev.clock.now()
    assert booted.rpc.call(Nop(b"late")) == b"late"
    assert booted.dev.clock.now() - t0 >= 300 * MS
    booted.gsp.inject("delay", function="NOP", delay_ns=6 * SEC)
    with pytest.raises(PollTimeout, match=r"GSP-RM's reply to NOP \(RPC #\d+ of this channel\)"):
        booted.rpc.call(Nop(b"too late"))
    assert booted.rpc.call(Nop(b"next")) == b"next"  # the late reply, when it comes, is absorbed


def test_peer_stops_consuming_then_resumes(booted: Booted) -> None:
    booted.gsp.inject("stop_consuming")
    pending = []
    with pytest.raises(PollTimeout, match="free slot.*GSP command queue.*GSP-RM not consuming"):
        for _ in range(100):
            pending.append(booted.rpc.post("NOP", b"q"))
    assert len(pending) == 62
    booted.gsp.clear_faults()
    for p in pending:
        assert booted.rpc.wait(p).payload == b"q"
    assert booted.rpc.call(Nop(b"resumed")) == b"resumed"


@pytest.mark.parametrize("fault", ["hang", "crash"])
def test_peer_that_stops_answering(booted: Booted, fault: str) -> None:
    booted.gsp.inject(fault)
    t0 = booted.dev.clock.now()
    with pytest.raises(PollTimeout, match="GSP-RM's reply to NOP"):
        booted.rpc.call(Nop())
    assert booted.dev.clock.now() - t0 >= 5 * SEC
    if fault == "crash":
        assert any("GSP-RM halted: crash injected" in e.message for e in booted.gpu.log.errors())


def test_runs_are_repeatable(gsp_boot: Callable[..., Booted]) -> None:
    def run() -> tuple[int, list[str]]:
        b = gsp_boot("ga102", "550.163.01")
        _objects(b)
        for i in range(20):
            b.rpc.call(Nop(bytes(i * 300)))
        return b.dev.clock.now(), [f"{e.time_ns} {e.message}" for e in b.gpu.log.entries()]

    assert run() == run()


def test_concurrent_callers(booted: Booted) -> None:
    _objects(booted)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(150):
                data = f"{k}:{i}".encode() * (1 + (i % 7) * 40)
                out = booted.rpc.call(RmControl(CLIENT, SUBDEVICE, 0, data))
                assert out == data
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and booted.gsp.handled["GSP_RM_CONTROL"] == 600


@pytest.mark.parametrize("rpc_length", [0x1000, 0x2000, 0xFD8, 0xFFF, 0x1FD1])
def test_tinygrad_edge_lengths_round_trip(booted: Booted, rpc_length: int) -> None:
    """RPC lengths (header + payload) whose size % 4096 is 0 or above 0xFD0 - where advancing by the length
    instead of elemCount wedges a reader - work both ways, followed by more traffic."""
    payload = bytes((i * 13) & 0xFF for i in range(rpc_length - 0x20))
    for _ in range(3):
        assert booted.rpc.call(Nop(payload)) == payload
        assert booted.rpc.call(Nop(b"small")) == b"small"
    assert booted.gpu.log.errors() == []


def _rig_rpc() -> tuple[Any, GspRpc]:
    from test_cmdq import Rig

    r = Rig()
    return r, GspRpc(r.abi, r.shm, r.gpu.bar0, r.gpu.clock)


def test_truncated_large_reply() -> None:
    """A split reply whose continuation records do not follow: its caller gets a GspError, and the message
    that came instead is delivered."""
    r, rpc = _rig_rpc()
    pending = rpc.post("GSP_RM_CONTROL", bytes(r.abi.payload_max + 100), awaited=True)
    r.post(r.abi.function("GSP_RM_CONTROL"), bytes(r.abi.payload_max))  # the first part only
    r.post(r.abi.event(Event.OS_ERROR_LOG), bytes(0x10C))
    rpc.poll()
    assert [e.name for e in rpc.backlog()] == ["OS_ERROR_LOG"] and pending.done and pending.reply is None
    with pytest.raises(GspError, match=r"reply to GSP_RM_CONTROL \(RPC #1 of this channel\) was cut short: "
                                       r"0xffb0 of its 0x10014 bytes arrived and the next message is OS_ERROR_LOG"):
        rpc.wait(pending)


def test_replies_matched_by_function_and_order_not_sequence() -> None:
    """Replies carry whatever sequence GSP-RM writes (here 0xdead, 0): each goes to the oldest RPC of its
    function, whatever the order of functions in between (nouveau r535_gsp_msg_recv, OpenRM
    _kgspRpcDrainOneEvent). Matching by sequence, as the driver did before, finds no owner for them."""
    r, rpc = _rig_rpc()
    a = rpc.post("NOP", b"a")
    b = rpc.post("GET_GSP_STATIC_INFO", b"")
    c = rpc.post("NOP", b"c")
    nop, info = r.abi.function("NOP"), r.abi.function("GET_GSP_STATIC_INFO")
    r.post(nop, b"first", rpc_seq=0xDEAD)
    r.post(info, b"info")
    r.post(nop, b"second")
    assert (rpc.wait(c).payload, rpc.wait(a).payload, rpc.wait(b).payload) == (b"second", b"first", b"info")
    r.post(nop, b"nobody")
    with pytest.raises(GspError, match="a reply to NOP .* that no RPC is waiting for"):
        rpc.poll()


def test_rpc_header_sequence_sent_as_zero(booted: Booted) -> None:
    """NVIDIA's GSP clients leave the RPC header's sequence 0 (OpenRM rpcWriteCommonHeader, nouveau
    r535_gsp_rpc_get); so does the driver."""
    slot = booted.rpc.cmdq.write_ptr
    booted.rpc.post("NOP", b"zero")
    base = booted.shm.geometry.entry_off + slot * 0x1000
    assert struct.unpack_from("<I", booted.shm.cmdq, base + 0x30 + 0x18)[0] == 0


@pytest.mark.parametrize("size", [81_920, 2 * 0xFFB0, 2 * 0xFFB0 + 1])
def test_large_nop_round_trips_whole(booted: Booted, size: int) -> None:
    """Issue 22 defect 5: an 81,920-byte NOP came back as 65,456 bytes with no error. The sim reassembles the
    command from its CONTINUATION_RECORDs (NOP has no size field: the records run until one is not full, or
    until the next command) and the driver reassembles the reply to the full length."""
    data = bytes((i * 7 + i // 251) & 0xFF for i in range(size))
    if size % booted.abi.payload_max == 0:  # no short last record: GSP-RM ends the command at the next one
        pending = booted.rpc.post("NOP", data, awaited=True)
        assert booted.rpc.call(Nop(b"next")) == b"next"
        assert booted.rpc.wait(pending).payload == data
    else:
        assert booted.rpc.call(Nop(data)) == data
    assert booted.gpu.log.errors() == [] and booted.gsp.handled["NOP"] >= 1


def _record(r: Any, function: int, payload: bytes, result: int = 0) -> None:
    buf, n = r.gsp.build(seq=r.gsp_seq, function=function, result=result, rpc_seq=0, payload=payload,
                         header_version=r.abi.header_version, signature=r.abi.signature)
    r.gsp.write_status(buf, n)
    r.gsp_seq += 1


def test_cut_short_reply_is_an_error_not_success() -> None:
    """A split reply that ends early (a short continuation record) is an error for its caller, and a failure
    reported in any record is the reply's result (before, 65,456 of 81,920 bytes came back as success)."""
    r, rpc = _rig_rpc()
    maxp = r.abi.payload_max
    nop, cont = r.abi.function("NOP"), r.abi.function("CONTINUATION_RECORD")
    short = rpc.post("NOP", bytes(maxp + 0x1000), awaited=True)
    _record(r, nop, bytes(maxp))
    _record(r, cont, bytes(0x10))
    with pytest.raises(GspError, match=r"cut short: 0xffc0 of its 0x10fb0 bytes arrived and CONTINUATION_RECORD "
                                       r"1 holds only 0x10 bytes"):
        rpc.wait(short)
    failed = rpc.post("NOP", bytes(maxp + 0x1000), awaited=True)
    _record(r, nop, bytes(maxp))
    _record(r, cont, bytes(0x1000), result=0xFF100002)  # NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT
    reply = rpc.wait(failed)
    assert reply.result == 0xFF100002 and len(reply.payload) == maxp + 0x1000
    cut = rpc.post("NOP", bytes(maxp + 0x1000), awaited=True)
    _record(r, nop, bytes(0x20), result=0xFF100002)  # GSP-RM refused it with a short reply
    with pytest.raises(RpcFailure, match="first record holds only 0x20 bytes; GSP-RM reported "
                                         "NV_VGPU_MSG_RESULT_RPC_INVALID_MESSAGE_FORMAT"):
        rpc.wait(cut)


@pytest.mark.parametrize("event", ["GSP_INIT_DONE", "GSP_RUN_CPU_SEQUENCER"])
def test_event_with_an_error_result_is_a_failure(gsp_boot: Callable[..., Booted], event: str) -> None:
    """Issue 22 defect 10: an INIT_DONE or RUN_CPU_SEQUENCER carrying an error rpc_result was taken as the event
    (OpenRM kgspWaitForRmInitDone checks INIT_DONE's rpc_result; nouveau r535_gsp_msg_recv refuses any such
    message). The sequencer does not run it, and waiting for INIT_DONE fails naming the event and the status."""
    def arm(b: Booted) -> None:
        b.gsp.inject("error_result", function=event, status=0x40)  # NV_ERR_INVALID_STATE
        b.rpc.send(SetSystemInfo(SYSINFO))
        b.rpc.send(SetRegistry())

    b = gsp_boot("ga102", "535.113.01", init=False, before_boot=arm)
    with pytest.raises(RpcFailure, match=rf"GSP-RM event {event} \(0x[0-9a-f]+\) carries NV_ERR_INVALID_STATE"):
        b.rpc.wait_event(Event.INIT_DONE)
    assert b.seq.runs == (0 if event == "GSP_RUN_CPU_SEQUENCER" else 1)


def test_split_reply_longer_than_the_request_is_an_error() -> None:
    r, rpc = _rig_rpc()
    maxp = r.abi.payload_max
    pending = rpc.post("NOP", bytes(maxp + 0x10), awaited=True)
    _record(r, r.abi.function("NOP"), bytes(maxp))
    _record(r, r.abi.function("CONTINUATION_RECORD"), bytes(0x20))
    with pytest.raises(GspError, match=r"reply to NOP \(RPC #1 of this channel\) is longer than the request: 0xffd0 "
                                       r"of its 0xffc0 bytes arrived"):
        rpc.wait(pending)
    assert rpc.poll() == 0  # the queue is consistent afterwards
