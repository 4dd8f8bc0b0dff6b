"""Channel.submit_entries: GPFIFO entries pointing at pushbuffers in the caller's own memory (nouveau's EXEC)."""

from __future__ import annotations

import pytest

from nova_core.engines import facts as F
from nova_core.engines.fifo import Channel
from nova_core.engines.pushbuf import Pushbuffer
from nova_core.engines.vaspace import Buffer
from nova_core.errors import ChannelError, PushbufferError
from nova_core.gsp.boot import GspDevice


def fill_words(ch: Channel, dst: Buffer, value: int, nbytes: int) -> tuple[bytes, bytes]:
    """Two pushbuffer pieces of one fill: SET_OBJECT + addresses, then the length and the launch."""
    ce = ch.fifo.classes.copy
    first = Pushbuffer(ch.gpfifo_class).set_object(4, ce)
    first.method(4, "SET_REMAP_CONST_B", value, 5 | 3 << 16)
    first.method(4, "OFFSET_OUT_UPPER", dst.va >> 32, dst.va & 0xFFFFFFFF)
    second = Pushbuffer(ch.gpfifo_class, {4: ce})
    second.method(4, "LINE_LENGTH_IN", nbytes // 4)
    second.method(4, "LAUNCH_DMA", F.launch_dma_format(ce).encode(
        data_transfer_type=F.CeTransferType.NON_PIPELINED, flush_enable=1, remap_enable=1,
        src_memory_layout=F.CeLayout.PITCH, dst_memory_layout=F.CeLayout.PITCH))
    return first.to_bytes(), second.to_bytes()


def test_caller_pushbuffers_in_two_segments(ga102: GspDevice) -> None:
    with ga102.channels.open("ce1", entries=8) as ch:
        ch.copy_engine()  # the copy class under the channel (SET_OBJECT names it)
        dst = ch.vaspace.alloc_vram(64 << 10)
        cmd = ch.vaspace.alloc_sysmem(4096)
        a, b = fill_words(ch, dst, 0x01020304, 64 << 10)
        cmd.write(a)
        cmd.write(b, 2048)
        gets = ch.gp_get
        fence = ch.submit_entries([(cmd.va, len(a)), (cmd.va + 2048, len(b))])
        fence.wait()
        assert dst.read(0, 8) == bytes.fromhex("0403020104030201") and dst.read(65532, 4) == bytes.fromhex("04030201")
        assert (ch.gp_get - gets) % 8 == 3  # two entries of the caller's, one of the channel's own (the release)
        # the ring wraps: eight more rounds of three entries on an 8-entry ring (waits for room as it goes)
        for i in range(8):
            a, b = fill_words(ch, dst, i, 4096)
            cmd.write(a)
            cmd.write(b, 2048)
            ch.submit_entries([(cmd.va, len(a)), (cmd.va + 2048, len(b))]).wait()
            assert dst.read(0, 4) == i.to_bytes(4, "little")


def test_submit_entries_refusals(ga102: GspDevice) -> None:
    with ga102.channels.open("ce0", entries=4) as ch:
        for segs, err, text in (
                ([], ChannelError, "1..2 fit a ring of 4"),
                ([(0x200000, 8)] * 3, ChannelError, "1..2 fit a ring of 4"),
                ([(0x200000, 0)], ChannelError, "positive multiple of 4"),
                ([(0x200000, 6)], ChannelError, "positive multiple of 4"),
                ([(0x200002, 8)], PushbufferError, "not 4-byte aligned"),
                ([(1 << 40, 8)], PushbufferError, "below 1 TiB"),
                ([(0x200000, 4 << 21)], PushbufferError, "GP_ENTRY1_LENGTH")):
            with pytest.raises(err, match=text):
                ch.submit_entries(segs)
        assert ch.submissions == 0
