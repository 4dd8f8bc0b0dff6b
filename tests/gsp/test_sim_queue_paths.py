"""The simulated GSP-RM's queue access: the page-table lookups made once per header check (``GspQueues(direct=True)``,
what GSP-RM uses) against the page-by-page access through the region (``direct=False``) and against a reference of
the status element written the plain way (a fresh zeroed buffer, the XOR of every word) - for random payload sizes
that need one to sixteen slots, continuation records, elements that wrap around the ring, and a libos record."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.gsp.cmdq import CommandQueue, SharedMemory, StatusQueue
from nova_core.gsp.fw import GspAbi
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.logs import FORMATS, LibosLog, LogFormats
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
