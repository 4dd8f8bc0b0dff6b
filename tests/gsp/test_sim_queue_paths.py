"""The simulated GSP-RM's queue access: the page-table lookups made once per header check (``GspQueues(direct=True)``,
what GSP-RM uses) against the page-by-page access through the region (``direct=False``) and against a reference of
the status element written the plain way (a fresh zeroed buffer, the XOR of every word) - for random payload sizes
that need one to sixteen slots, continuation records, elements that wrap around the ring, and a libos record; and
when GSP's read pointer of the command queue is published, which rides on the reply it follows."""

from __future__ import annotations

import struct

from gsp_helpers import Booted
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.gsp.cmdq import CommandQueue, SharedMemory, StatusQueue
from nova_core.gsp.fw import GspAbi
from nova_core.hw.clock import MS
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.logs import FORMATS, LibosLog, LogFormats
from nova_core.sim.gsp_rm.model import EVENT_LATENCY_NS, LATENCY_NS
from nova_core.sim.gsp_rm.wire import GspQueues, PagedRegion, xor32

PAGE = 0x1000
ABI = GspAbi.for_version("535.113.01")
HV = 0x03000000
SIG = 0x43505256
NOP = ABI.function("NOP")
CONT = ABI.function("CONTINUATION_RECORD")


class _Side:
    """One simulated GPU's queues: the driver's command queue and status queue, GSP-RM's side over the same pages."""

    def __init__(self, direct: bool) -> None:
        self.gpu = SimGpu("ga102")
        self.shm = SharedMemory(self.gpu.sysmem, ABI)
        self.cmdq = CommandQueue(self.shm, self.gpu.clock)
        self.msgq = StatusQueue(self.shm)
        region = PagedRegion(self.gpu.sysmem, [int(p) for p in self.shm.table.page_addrs()], "test GSP")
        self.gsp = GspQueues(region, self.shm.cmdq_offset, self.shm.statq_offset, ABI.module, direct=direct)
        assert self.gsp.check_cmdq_header() == []
        self.gsp.init_msgq_header()
        self.rptr = self.seq = 0

    def serve(self) -> list[tuple[int, int, int, int, bytes]]:
        """Read every command as GSP-RM does and answer each with an element of the same function and payload."""
        seen = []
        g = self.gsp
        while (w := g.cpu_write_ptr()) != self.rptr:
            n, seq = g.head(self.rptr)
            assert 1 <= n <= (w - self.rptr) % g.count
            data, x = g.read_element(self.rptr, n)
            assert x == xor32(bytes(data)) == 0
            el = g.parse(self.rptr, data)
            seen.append((self.rptr, n, seq, el.function, el.payload))
            buf, k = g.stage(seq=self.seq, function=el.function, result=0, rpc_seq=7, payload=el.payload,
                             header_version=HV, signature=SIG)
            assert k == n and bytes(buf) == _reference_element(self.seq, el.function, 7, el.payload)
            assert g.msgq_free() >= k
            g.write_status(buf, k)
            self.seq += 1
            self.rptr = (self.rptr + n) % g.count
            g.set_gsp_read_ptr(self.rptr)
        return seen


def _reference_element(seq: int, function: int, rpc_seq: int, payload: bytes) -> bytes:
    """A status element built the plain way: zeroed whole slots, fields at their offsets, checksum of every word."""
    length = 0x20 + len(payload)
    n = -(-(0x30 + length) // PAGE)
    buf = bytearray(n * PAGE)
    struct.pack_into("<II", buf, 0x24, seq, n)
    struct.pack_into("<7I", buf, 0x30, HV, SIG, length, function, 0, 0, rpc_seq)
    buf[0x50:0x50 + len(payload)] = payload
    struct.pack_into("<I", buf, 0x20, xor32(bytes(buf)))
    return bytes(buf)


@given(sizes=st.lists(st.integers(0, ABI.payload_max), min_size=1, max_size=6),
       fill=st.integers(0, 255), skip=st.integers(0, 62))
@settings(max_examples=60, deadline=None)
def test_direct_and_page_by_page_access_see_and_publish_the_same(sizes: list[int], fill: int, skip: int) -> None:
    sides = [_Side(direct=True), _Side(direct=False)]
    assert sides[0].gsp._ptrs is not None and sides[1].gsp._ptrs is None  # the two paths under test
    for side in sides:  # move both rings to the same place first: elements then wrap around the end
        for _ in range(skip):
            side.cmdq.push(NOP, b"")
        side.serve()
        while side.msgq.receive() is not None:
            pass
    results = []
    for side in sides:
        got = []
        for i, size in enumerate(sizes):
            payload = bytes((fill + i + k) & 0xFF for k in range(size))
            # a payload beyond one record goes as a first record and a CONTINUATION_RECORD, as GspRpc sends it
            maxp = ABI.payload_max
            first, rest = payload[:PAGE * 2], payload[PAGE * 2:]
            side.cmdq.push(NOP, first)
            if rest:
                side.cmdq.push(CONT, rest[:maxp])
            seen = side.serve()
            replies = []
            while (msg := side.msgq.receive()) is not None:
                replies.append((msg.function, msg.payload, msg.element_seq, msg.elements))
            assert [s[3:] for s in seen] == [(f, p) for f, p, _, _ in replies]
            got.append((seen, replies))
        results.append((got, bytes(side.shm.view)))
    assert results[0] == results[1]  # what was read, what was delivered, and every byte of both queues


def test_libos_record_at_wrap_and_with_wide_arguments() -> None:
    """A record that wraps the ring and one with an argument below 0 or past 64 bits: its low 64 bits."""
    gpu = SimGpu("ga102")
    pa = gpu.sysmem.alloc(PAGE, name="log").bus_addr
    gpu.sysmem.write(pa + 8, struct.pack("<Q", pa))  # its page list: the one page
    log = LibosLog("LOGINTR", gpu.sysmem, pa, PAGE)
    fmt = LogFormats(ABI.module).by_key["refused"]
    assert any(k == "refused" for k, *_ in FORMATS) and fmt.argc == 3
    words = PAGE // 8 - 1
    n = 0
    while log.put + fmt.argc + 2 <= words:
        log.write(fmt, (n, -1, 1 << 64 | 5), 1000 + n)
        n += 1
    log.write(fmt, (n, -1, 1 << 64 | 5), 1000 + n)  # wraps
    ring = struct.unpack_from(f"<{words + 1}Q", gpu.sysmem.read(pa, PAGE))
    assert ring[0] == log.put == 5 * (n + 1)
    last = [ring[1 + (log.put - 5 + i) % words] for i in range(5)]
    assert last == [n, (1 << 64) - 1, 5, fmt.va, 1000 + n]


def test_read_pointer_published_with_the_reply_and_never_before_it(booted: Booted) -> None:
    """GSP's read pointer of the command queue rides on the reply it follows: published by the same pump at the same
    virtual time, right after it - at the doorbell's time plus the latency, after a delayed reply when the reply is
    delayed, and on its own when the command has no reply yet (a full first record waiting for more)."""
    clock, rpc = booted.gpu.clock, booted.rpc

    def seen() -> tuple[int, int]:
        return rpc.cmdq.gsp_read_ptr(), rpc.msgq.available()

    def step(ns: int) -> None:
        clock.sleep(ns)

    rpc.poll()
    r0 = rpc.cmdq.gsp_read_ptr()
    rpc.post("NOP", b"x" * 64, awaited=True)
    step(LATENCY_NS - 1)
    assert seen() == (r0, 0)  # nothing before the latency
    step(1)
    assert seen() == ((r0 + 1) % 63, 1)  # both at once
    rpc.poll()

    booted.gsp.inject("delay", function="NOP", delay_ns=300 * MS)
    r1 = rpc.cmdq.gsp_read_ptr()
    rpc.post("NOP", b"y", awaited=True)
    step(LATENCY_NS)
    assert seen() == (r1, 0)  # the pointer waits behind the delayed reply, as an item of its own did
    step(300 * MS)
    assert seen() == ((r1 + 1) % 63, 1)
    rpc.poll()

    r2 = rpc.cmdq.gsp_read_ptr()
    pending = rpc.post("NOP", bytes(ABI.payload_max), awaited=True)  # one full record: GSP-RM waits for more
    step(LATENCY_NS)
    n = rpc.cmdq.elements_for(ABI.payload_max)
    assert seen() == ((r2 + n) % 63, 0)  # consumed, no reply yet: the pointer on its own
    rpc.post("NOP", b"z", awaited=True)  # the next command ends it: both get their replies
    step(2 * LATENCY_NS)
    rpc.poll()
    assert pending.reply is not None and len(pending.reply.payload) == ABI.payload_max

    # an event queued before a command without a reply: the pointer is not published with the (earlier) event
    r3 = rpc.cmdq.gsp_read_ptr()
    booted.gsp.emit("OS_ERROR_LOG", bytes(0x10C), delay_ns=EVENT_LATENCY_NS)
    rpc.post("NOP", bytes(ABI.payload_max), awaited=True)
    step(EVENT_LATENCY_NS)
    assert seen() == (r3, 1)  # the event only
    step(LATENCY_NS)
    assert seen() == ((r3 + n) % 63, 1)
    rpc.post("NOP", b"w", awaited=True)
    step(2 * LATENCY_NS)
    rpc.poll()
    assert [e.name for e in rpc.backlog()][-1:] == ["OS_ERROR_LOG"]
    assert booted.gpu.log.errors() == []
