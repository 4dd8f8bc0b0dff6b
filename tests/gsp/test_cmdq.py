"""Message queues: shared-memory layout, elements byte by byte, checksums, wrap-around, element counts,
and every way a status element can be bad (the queue stays usable after each). The GSP side of these
tests is the simulated GSP-RM's own queue code (nova_core.sim.gsp_rm.wire), never the driver's."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import GspError, PollTimeout
from nova_core.gsp.cmdq import CommandQueue, SharedMemory, StatusQueue, checksum
from nova_core.gsp.fw import GspAbi
from nova_core.hw.clock import SEC
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.wire import GspQueues, PagedRegion, xor32

PAGE = 0x1000
ABI = GspAbi.for_version("535.113.01")
HV = 0x03000000
SIG = 0x43505256


def _ref_checksum(data: bytes) -> int:
    """OpenRM _checkSum32, literally: XOR of u64 words, hi32 ^ lo32."""
    data = data + bytes(-len(data) % 8)
    x = 0
    for (w,) in struct.iter_unpack("<Q", data):
        x ^= w
    return (x >> 32) ^ (x & 0xFFFFFFFF)


class Rig:
    """A simulated GPU's shared memory with the driver's queues and the sim's GSP side over the same pages."""

    def __init__(self, version: str = "535.113.01") -> None:
        self.gpu = SimGpu("ga102")
        self.abi = GspAbi.for_version(version)
        self.shm = SharedMemory(self.gpu.sysmem, self.abi)
        self.cmdq = CommandQueue(self.shm, self.gpu.clock)
        self.msgq = StatusQueue(self.shm)
        region = PagedRegion(self.gpu.sysmem, [int(p) for p in self.shm.table.page_addrs()], "test GSP")
        self.gsp = GspQueues(region, self.shm.cmdq_offset, self.shm.statq_offset, self.abi.module)
        assert self.gsp.check_cmdq_header() == []
        self.gsp.init_msgq_header()
        self.gsp_seq = 0

    def post(self, function: int, payload: bytes, *, seq: int | None = None, rpc_seq: int = 0,
             patch: dict[int, int] | None = None, fix_checksum: bool = True) -> int:
        """GSP writes a status element (optionally with u32 fields patched); returns its elemCount."""
        s = self.gsp_seq if seq is None else seq
        buf, n = self.gsp.build(seq=s, function=function, result=0, rpc_seq=rpc_seq, payload=payload,
                                header_version=HV, signature=SIG)
        for off, value in (patch or {}).items():
            struct.pack_into("<I", buf, off, value)
        if patch and fix_checksum:
            struct.pack_into("<I", buf, 0x20, 0)
            struct.pack_into("<I", buf, 0x20, xor32(buf))
        self.gsp.write_status(buf, n)
        self.gsp_seq = s + 1
        return n


def test_shared_memory_layout() -> None:
    r = Rig()
    shm = r.shm
    assert (shm.pte_count, shm.cmdq_offset, shm.statq_offset) == (129, 0x1000, 0x41000)
    ptes = struct.unpack_from("<129Q", shm.view)
    assert list(ptes) == [int(p) for p in shm.table.page_addrs()] and ptes[0] == shm.bus_addr
    assert len(shm.view) == 0x81000
    hdr = struct.unpack_from("<8I", shm.cmdq)
    assert hdr == (0, 0x40000, 0x1000, 63, 0, 1, 0x20, 0x1000)
    assert struct.unpack_from("<I", shm.cmdq, 0x20)[0] == 0
    args = ABI.parse("GSP_ARGUMENTS_CACHED", shm.arguments_cached())
    mq = args.messageQueueInitArguments
    assert (mq.sharedMemPhysAddr, mq.pageTableEntryCount, mq.cmdQueueOffset, mq.statQueueOffset) == (
        shm.bus_addr, 129, 0x1000, 0x41000)


@given(st.binary(max_size=3 * PAGE))
@settings(max_examples=200, deadline=None)
def test_checksum_matches_openrm_and_the_sims_formulation(data: bytes) -> None:
    ours = checksum(data)
    assert ours == _ref_checksum(data)
    padded = data + bytes(-len(data) % 8)
    assert ours == xor32(padded)


def test_push_writes_the_element_byte_by_byte() -> None:
    r = Rig()
    fn = ABI.function("GSP_RM_CONTROL")
    payload = bytes(range(256)) * 5
    n = r.cmdq.push(fn, payload, rpc_sequence=7)
    assert n == 1 and r.cmdq.write_ptr == 1 and struct.unpack_from("<I", r.shm.cmdq, 0x10)[0] == 1
    el = bytes(r.shm.cmdq[PAGE:2 * PAGE])
    assert el[:0x20] == bytes(0x20)  # auth tag and AAD unused
    cs, seq, count, pad = struct.unpack_from("<4I", el, 0x20)
    assert (seq, count, pad) == (0, 1, 0)
    assert struct.unpack_from("<8I", el, 0x30) == (HV, SIG, 0x20 + len(payload), fn, 0xFFFFFFFF, 0xFFFFFFFF, 7, 0)
    assert el[0x50:0x50 + len(payload)] == payload and el[0x50 + len(payload):] == bytes(PAGE - 0x50 - len(payload))
    assert _ref_checksum(el) == 0 and cs != 0
    r.cmdq.push(fn, b"")
    assert struct.unpack_from("<I", r.shm.cmdq, 2 * PAGE + 0x24)[0] == 1  # seqNum counts elements


def test_push_sizes_and_limits() -> None:
    r = Rig()
    assert r.cmdq.push(0, bytes(PAGE - 0x50)) == 1
    assert r.cmdq.push(0, bytes(PAGE - 0x50 + 1)) == 2
    assert r.cmdq.push(0, bytes(ABI.payload_max)) == 16
    with pytest.raises(GspError, match="more than one element's 16"):
        r.cmdq.push(0, bytes(ABI.payload_max + 1))


def test_push_wraps_around_the_ring() -> None:
    r = Rig()
    for _ in range(61):
        r.cmdq.push(0, b"x")
    r.gsp.set_gsp_read_ptr(61)  # GSP consumed everything
    payload = bytes(i & 0xFF for i in range(3 * PAGE))
    n = r.cmdq.push(ABI.function("NOP"), payload)
    assert n == 4 and r.cmdq.write_ptr == (61 + 4) % 63
    data = r.gsp.read_pages(r.gsp.cmdq, 61, 4)  # the sim reads slots 61, 62, 0, 1
    el = r.gsp.parse(61, data)
    assert el.payload == payload and xor32(data) == 0 and el.count == 4


def test_back_pressure_is_bounded_and_writes_nothing() -> None:
    r = Rig()
    for _ in range(62):
        r.cmdq.push(0, b"")
    assert r.cmdq.free_slots() == 0
    before = bytes(r.shm.cmdq)
    t0 = r.gpu.clock.now()
    with pytest.raises(PollTimeout, match="free slot.*GSP command queue.*NOP"):
        r.cmdq.push(0, b"")
    assert r.gpu.clock.now() - t0 >= 1 * SEC
    assert bytes(r.shm.cmdq) == before and r.cmdq.write_ptr == 62
    r.gsp.set_gsp_read_ptr(10)  # GSP catches up: sending works again
    assert r.cmdq.push(0, b"again") == 1


def test_bad_gsp_read_pointer() -> None:
    r = Rig()
    r.gsp.set_gsp_read_ptr(63)
    with pytest.raises(GspError, match="read pointer.*0x3f, outside the ring of 0x3f"):
        r.cmdq.push(0, b"")


# -- receiving ------------------------------------------------------------------------------------


def test_header_not_written_yet_then_checked() -> None:
    gpu = SimGpu("ga102")
    shm = SharedMemory(gpu.sysmem, ABI)
    q = StatusQueue(shm)
    assert q.available() == 0 and q.receive() is None  # GSP-RM has not written its header
    struct.pack_into("<8I", shm.msgq, 0, 0, 0x40000, 0x1000, 64, 0, 1, 0x20, 0x1000)
    with pytest.raises(GspError, match="msgCount 0x40, expected 0x3f"):
        q.available()


@pytest.mark.parametrize("length", [0x1000, 0x2000, 0xFD1, 0xFD8, 0xFFF, 0x1FD8, 0x3FF0, 0x1000 - 0x30])
def test_read_pointer_advances_by_elem_count(length: int) -> None:
    """tinygrad's bug: it advances by ceil(length / 4096), which for these lengths is not elemCount."""
    r = Rig()
    elem_count = -(-(0x30 + length) // PAGE)
    if length % PAGE == 0 or length % PAGE > 0xFD0:
        assert -(-length // PAGE) != elem_count  # what tinygrad's reader would skip
    big = bytes(i & 0xFF for i in range(length - 0x20))
    for i in range(3):
        r.post(0x1006, big, rpc_seq=i)
        r.post(0x1001, b"marker%d" % i)
    for i in range(3):
        m1 = r.msgq.receive()
        m2 = r.msgq.receive()
        assert m1 is not None and m2 is not None
        assert m1.payload == big and m1.elements == elem_count and m1.sequence == i
        assert m2.function == 0x1001 and m2.payload == b"marker%d" % i
    assert r.msgq.receive() is None and r.msgq.read_ptr == (3 * (elem_count + 1)) % 63
    assert struct.unpack_from("<I", r.shm.cmdq, 0x20)[0] == r.msgq.read_ptr  # CPU's read ptr, in the cmdq page


def test_messages_wrap_around_the_status_ring() -> None:
    r = Rig()
    for i in range(60):
        r.post(0x1001, b"%d" % i)
    for i in range(60):
        m = r.msgq.receive()
        assert m is not None and m.payload == b"%d" % i
    big = bytes(i * 7 & 0xFF for i in range(5 * PAGE))
    r.post(0x1006, big)
    m = r.msgq.receive()
    assert m is not None and m.payload == big and m.elements == 6 and r.msgq.read_ptr == (60 + 6) % 63


def _then_ok(r: Rig) -> None:
    r.post(0x1001, b"after")
    m = r.msgq.receive()
    assert m is not None and m.payload == b"after"


def test_checksum_mismatch_skips_the_element() -> None:
    r = Rig()
    r.post(0x1006, b"corrupt", patch={0x20: 0x1234}, fix_checksum=False)
    with pytest.raises(GspError, match=r"slot 0x0 \(seqNum 0x0\): checksum mismatch: stored 0x00001234"):
        r.msgq.receive()
    _then_ok(r)


def test_sequence_gap_reported_once_then_delivered() -> None:
    r = Rig()
    r.post(0x1001, b"first")
    assert r.msgq.receive() is not None
    r.post(0x1001, b"late", seq=3)
    with pytest.raises(GspError, match="sequence gap: expected seqNum 0x1, found 0x3 .2 element.s. lost"):
        r.msgq.receive()
    m = r.msgq.receive()
    assert m is not None and m.payload == b"late"
    _then_ok(r)


@pytest.mark.parametrize("count,match", [(0, "elemCount 0x0 outside"), (17, "elemCount 0x11 outside"),
                                         (5, "elemCount 0x5 but only 0x1 slot")])
def test_bad_elem_count_resynchronises(count: int, match: str) -> None:
    r = Rig()
    r.post(0x1001, b"x", patch={0x28: count})
    with pytest.raises(GspError, match=match):
        r.msgq.receive()
    assert r.msgq.read_ptr == r.gsp.gsp_write_ptr()
    _then_ok(r)


def test_length_larger_than_the_element() -> None:
    r = Rig()
    r.post(0x1001, b"x", patch={0x38: 0x2000})
    with pytest.raises(GspError, match="rpc length 0x2000 larger than the element"):
        r.msgq.receive()
    _then_ok(r)


def test_length_too_short_for_elem_count() -> None:
    r = Rig()
    r.post(0x1006, bytes(2 * PAGE), patch={0x38: 0x40})
    with pytest.raises(GspError, match="elemCount 3 does not match rpc length 0x40"):
        r.msgq.receive()
    _then_ok(r)


@pytest.mark.parametrize("off,match", [(0x34, "rpc signature"), (0x30, "rpc header_version"),
                                       (0x38, "shorter than the rpc header")])
def test_bad_rpc_header(off: int, match: str) -> None:
    r = Rig()
    r.post(0x1001, b"x", patch={off: 0x10})
    with pytest.raises(GspError, match=match):
        r.msgq.receive()
    _then_ok(r)


def test_write_pointer_outside_the_ring() -> None:
    r = Rig()
    struct.pack_into("<I", r.shm.msgq, 0x10, 70)
    with pytest.raises(GspError, match="writePtr 0x46 is outside the ring"):
        r.msgq.receive()


@given(sizes=st.lists(st.integers(0, 3 * PAGE), min_size=1, max_size=4),
       muts=st.lists(st.tuples(st.integers(0, 0x57), st.integers(0, 7), st.integers(0, 255)), max_size=6),
       fix=st.booleans(), wptr=st.one_of(st.none(), st.integers(0, 80)), seq=st.integers(0, 3))
@settings(max_examples=300, deadline=None)
def test_fuzz_receive(sizes: list[int], muts: list[tuple[int, int, int]], fix: bool, wptr: int | None,
                      seq: int) -> None:
    """Valid elements with header bytes mutated (checksum recomputed or not) and arbitrary write pointers:
    only messages or GspError, every loop bounded, the read pointer always inside the ring."""
    r = _FUZZ_RIG
    r.shm.view[r.shm.statq_offset + PAGE:r.shm.statq_offset + 0x40000] = bytes(0x40000 - PAGE)
    r.msgq.read_ptr, r.msgq.seq, r.gsp_seq = 0, seq, 0
    struct.pack_into("<I", r.shm.cmdq, 0x20, 0)
    struct.pack_into("<I", r.shm.msgq, 0x10, 0)
    slots = []
    for size in sizes:
        slots.append(r.gsp.gsp_write_ptr())
        r.post(0x1001 + len(slots), bytes(size))
    base = r.shm.statq_offset + PAGE
    for off, which, value in muts:
        slot = slots[which % len(slots)]
        r.shm.view[base + slot * PAGE + off] = value
        if fix:
            n = struct.unpack_from("<I", r.shm.view, base + slot * PAGE + 0x28)[0]
            n = min(max(n, 1), 16, 63 - slot)
            struct.pack_into("<I", r.shm.view, base + slot * PAGE + 0x20, 0)
            el = bytes(r.shm.view[base + slot * PAGE:base + (slot + n) * PAGE])
            struct.pack_into("<I", r.shm.view, base + slot * PAGE + 0x20, xor32(el))
    if wptr is not None:
        struct.pack_into("<I", r.shm.msgq, 0x10, wptr)
    for _ in range(70):
        try:
            if r.msgq.receive() is None:
                break
        except GspError:
            if wptr is not None and wptr >= 63:
                break
        assert 0 <= r.msgq.read_ptr < 63


_FUZZ_RIG = Rig()
