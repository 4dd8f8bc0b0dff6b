"""The pushbuffer builder, GPFIFO entries and the channel-id allocator."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.engines import facts as F
from nova_core.engines.fifo import ChidAllocator
from nova_core.engines.pushbuf import Pushbuffer, gp_entry, header
from nova_core.errors import ChannelError, ChannelExhausted, PushbufferError


def _decode(words: list[int]) -> list[tuple[int, int, int]]:
    """A reference decoder (NVC46F_DMA_*): (subchannel, method, value) per method write."""
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < len(words):
        h = words[i]
        i += 1
        op, sub, addr, count = h >> 29, (h >> 13) & 7, (h & 0xFFF) << 2, (h >> 16) & 0x1FFF
        if op == F.SecOp.IMMD_DATA_METHOD:
            out.append((sub, addr, count))
            continue
        for k in range(count):
            step = {F.SecOp.INC_METHOD: k, F.SecOp.NON_INC_METHOD: 0, F.SecOp.ONE_INC: min(k, 1)}[F.SecOp(op)]
            out.append((sub, addr + 4 * step, words[i]))
            i += 1
    return out


def test_golden_words() -> None:
    pb = Pushbuffer(F.AMPERE_CHANNEL_GPFIFO_A)
    pb.set_object(4, F.AMPERE_DMA_COPY_B).method(4, "OFFSET_IN_UPPER", 0x1, 0x2000, 0x0, 0x4000)
    pb.non_inc(0, 0x50, 7, 8).one_inc(0, 0x64, 1, 2, 3).immd(4, 0x300, 0x1FFF)
    assert pb.words == [0x20018000, 0xC7B5, 0x20048100, 0x1, 0x2000, 0x0, 0x4000,
                        0x60020014, 7, 8, 0xA0030019, 1, 2, 3, 0x9FFF80C0]
    assert pb.to_bytes()[:8] == bytes.fromhex("00800120b5c70000")  # little-endian words, as the PBDMA reads them


def test_method_names_are_checked_against_the_classes() -> None:
    pb = Pushbuffer(F.TURING_CHANNEL_GPFIFO_A)
    with pytest.raises(PushbufferError, match="nothing is bound to the subchannel"):
        pb.method(4, "LAUNCH_DMA", 0)
    pb.set_object(4, F.TURING_DMA_COPY_A)
    with pytest.raises(PushbufferError, match="TURING_DMA_COPY_A has no method 'SET_SEMAPHORE_PAYLOAD_UPPER'"):
        pb.method(4, "SET_SEMAPHORE_PAYLOAD_UPPER", 0)  # from AMPERE_DMA_COPY_B on
    with pytest.raises(PushbufferError, match="did you mean 'LAUNCH_DMA'"):
        pb.method(4, "LAUNCH_DMAA", 0)
    blackwell = Pushbuffer(F.BLACKWELL_CHANNEL_GPFIFO_B)
    with pytest.raises(PushbufferError, match="not a host method of BLACKWELL_CHANNEL_GPFIFO_B"):
        blackwell.method(0, "SEMAPHOREA", 0)  # gone on Blackwell
    assert blackwell.address_of(0, "SEM_EXECUTE") == 0x6C


@pytest.mark.parametrize("call, match", [
    (lambda pb: pb.inc(8, 0x100, 1), "subchannel 8"),
    (lambda pb: pb.inc(0, 0x102, 1), "not a dword address"),
    (lambda pb: pb.inc(0, 0x4000, 1), "not a dword address"),
    (lambda pb: pb.immd(0, 0x50, 0x2000), "immediate value 0x2000 does not fit 13 bits"),
    (lambda pb: pb.inc(0, 0x50, *([0] * 0x2000)), "method count 0x2000 does not fit 13 bits"),
    (lambda pb: pb.inc(0, 0x50, 1 << 32), "not a 32-bit unsigned value"),
    (lambda pb: pb.inc(0, 0x50), "at least one data word"),
])
def test_bad_input_is_refused(call: object, match: str) -> None:
    with pytest.raises(PushbufferError, match=match):
        call(Pushbuffer(F.AMPERE_CHANNEL_GPFIFO_A))  # type: ignore[operator]


def test_gp_entry() -> None:
    e = gp_entry(0xAB_1234_5678, 100, sync=True)
    d = F.GpEntry.decode(e)
    assert d["get"] << 2 | d["get_hi"] << 32 == 0xAB_1234_5678 and d["length"] == 100 and d["sync"] == 1
    for bad in (0x1001, -4, 1 << 40):
        with pytest.raises(PushbufferError, match="below 1 TiB"):
            gp_entry(bad, 1)
    with pytest.raises(PushbufferError, match="GP_ENTRY1_LENGTH"):
        gp_entry(0x1000, 1 << 21)


_METHOD = st.tuples(st.sampled_from(["inc", "non_inc", "one_inc", "immd"]), st.integers(0, 7),
                    st.integers(0x40, 0xFFF).map(lambda a: a * 4),
                    st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=20))


@settings(max_examples=200, deadline=None)
@given(st.lists(_METHOD, max_size=30))
def test_builder_round_trips_through_a_decoder(calls: list[tuple[str, int, int, list[int]]]) -> None:
    pb = Pushbuffer(F.HOPPER_CHANNEL_GPFIFO_A)
    want: list[tuple[int, int, int]] = []
    for kind, sub, addr, data in calls:
        if kind == "immd":
            v = data[0] & 0x1FFF
            pb.immd(sub, addr, v)
            want.append((sub, addr, v))
            continue
        getattr(pb, kind)(sub, addr, *data)
        for k, v in enumerate(data):
            step = {"inc": k, "non_inc": 0, "one_inc": min(k, 1)}[kind]
            want.append((sub, addr + 4 * step, v))
    assert _decode(pb.words) == want
    assert len(pb.to_bytes()) == 4 * len(pb)


def test_header_helper() -> None:
    assert header(F.SecOp.END_PB_SEGMENT, 0, 0, 0) == 7 << 29


# -- channel ids ---------------------------------------------------------------------------------------------


def test_chid_allocator() -> None:
    a = ChidAllocator(4)
    assert [a.alloc() for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(ChannelExhausted, match="all 4 channel ids are in use"):
        a.alloc()
    a.free(2)
    a.free(0)
    assert a.alloc() == 0 and a.alloc() == 2  # lowest first
    with pytest.raises(ChannelError, match="not allocated"):
        a.free(9)
    with pytest.raises(ChannelError, match="1..2048"):
        ChidAllocator(2049)


def test_chid_allocator_threads() -> None:
    a = ChidAllocator(2048)
    got: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            c = a.alloc()
            with lock:
                got.append(c)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1600)) and a.in_use == 1600
