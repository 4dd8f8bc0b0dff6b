"""nova_core.fsp.channel: RM's channel to the FSP - EMEM through the EMEMC/EMEMD ports, the command and message
queues, and whole messages over them.

As OpenRM 570.144 ``kern_fsp_gh100.c`` does it (the GH100 HAL serves GB10x and GB20x too):

- **send** (``kfspSendPacket_GH100``): wait until the command queue is empty (QUEUE_HEAD == QUEUE_TAIL; a reply
  arriving meanwhile is an error, ``kfspPollForCanSend``), set EMEMC to offset 0 with AINCW, write the packet a
  dword at a time through EMEMD (the last dword zero-padded), check that EMEMC advanced by the dwords written,
  then QUEUE_TAIL = the offset of the last dword and QUEUE_HEAD = 0 - TAIL first: the HEAD write interrupts the FSP;
- **receive** (``kfspReadPacket_GH100``): a reply is waiting when MSGQ_HEAD != MSGQ_TAIL; its size is
  TAIL - HEAD + 4 (at most the channel's 1 KiB); EMEMC at 0 with AINCR, read the dwords, check EMEMC advanced,
  then MSGQ_TAIL = MSGQ_HEAD: the reply is consumed.

Every wait is bounded; every failure is an :class:`~nova_core.errors.FspError` (or a
:class:`~nova_core.errors.PollTimeout` naming what was awaited).
"""

from __future__ import annotations

from ..errors import FspError
from ..hw.bar import Bar
from ..hw.clock import MS, SEC, US, Clock
from ..hw.poll import poll_timeout
from ..regs.fsp import (
    FSP_EMEM_CHANNEL_RM,
    FSP_EMEM_CHANNEL_RM_SIZE,
    FSP_EMEM_DWORDS_PER_BLOCK,
    NV_PFSP_EMEMC,
    NV_PFSP_EMEMD,
    NV_PFSP_MSGQ_HEAD,
    NV_PFSP_MSGQ_TAIL,
    NV_PFSP_QUEUE_HEAD,
    NV_PFSP_QUEUE_TAIL,
)
from . import mctp

# TIMEOUT: nouveau gh100_fsp_send/gh100_fsp_wait poll 1000 times 1-2 ms apart for the queue to empty and for
# a reply; OpenRM uses GPU_TIMEOUT_DEFAULT. 2 s of device time, polled every 1 ms.
SEND_TIMEOUT = 2 * SEC
REPLY_TIMEOUT = 2 * SEC
POLL_INTERVAL = 1 * MS
_WORD_INTERVAL = 1 * US


class FspChannel:
    """EMEM channel ``channel`` (RM's: 0) of the FSP of ``bar``; packets of at most ``size`` bytes."""

    def __init__(self, bar: Bar, clock: Clock, *, channel: int = FSP_EMEM_CHANNEL_RM,
                 size: int = FSP_EMEM_CHANNEL_RM_SIZE) -> None:
        self.bar = bar
        self.clock = clock
        self.channel = channel
        self.size = size
        self.sent = 0
        self.received = 0

    # -- EMEM -------------------------------------------------------------------------------------------

    def _ememc(self, byte_offset: int, *, write: bool) -> None:
        dwords = byte_offset // 4
        NV_PFSP_EMEMC.write(self.bar, i=self.channel, offs=dwords % FSP_EMEM_DWORDS_PER_BLOCK,
                            blk=dwords // FSP_EMEM_DWORDS_PER_BLOCK, aincw=int(write), aincr=int(not write))

    def _emem_dword(self) -> int:
        v = NV_PFSP_EMEMC.read(self.bar, i=self.channel)
        return NV_PFSP_EMEMC.offs.get(v) + NV_PFSP_EMEMC.blk.get(v) * FSP_EMEM_DWORDS_PER_BLOCK

    def emem_write(self, byte_offset: int, data: bytes | bytearray | memoryview) -> int:
        """Write ``data`` at ``byte_offset`` of the channel's EMEM (zero-padded to dwords); returns dwords written.

        Raises:
            FspError: the range is outside the channel, or EMEMC did not auto-increment by the dwords written.
        """
        raw = bytes(data)
        if byte_offset % 4 or byte_offset < 0 or byte_offset + len(raw) > self.size:
            raise FspError(f"FSP EMEM write [{byte_offset:#x}, +{len(raw):#x}) is outside the {self.size:#x}-byte "
                           f"channel {self.channel} or not dword aligned")
        raw += bytes(-len(raw) % 4)
        self._ememc(byte_offset, write=True)
        start = self._emem_dword()
        words = memoryview(raw).cast("I")
        for w in words:
            NV_PFSP_EMEMD.write(self.bar, int(w), i=self.channel)
        end = self._emem_dword()
        if end - start != len(words):
            raise FspError(f"FSP EMEMC({self.channel}) at dword {end:#x} after writing {len(words)} dwords from "
                           f"{start:#x}: expected {start + len(words):#x} (EMEM auto-increment did not work)")
        return len(words)

    def emem_read(self, byte_offset: int, nbytes: int) -> bytes:
        """Read ``nbytes`` (a dword multiple) at ``byte_offset`` of the channel's EMEM.

        Raises:
            FspError: the range is outside the channel or not dwords, or EMEMC did not auto-increment.
        """
        if byte_offset % 4 or nbytes % 4 or byte_offset < 0 or nbytes < 0 or byte_offset + nbytes > self.size:
            raise FspError(f"FSP EMEM read [{byte_offset:#x}, +{nbytes:#x}) is outside the {self.size:#x}-byte "
                           f"channel {self.channel} or not dwords")
        self._ememc(byte_offset, write=False)
        start = self._emem_dword()
        out = bytearray()
        for _ in range(nbytes // 4):
            out += NV_PFSP_EMEMD.read(self.bar, i=self.channel).to_bytes(4, "little")
        end = self._emem_dword()
        if end - start != nbytes // 4:
            raise FspError(f"FSP EMEMC({self.channel}) at dword {end:#x} after reading {nbytes // 4} dwords from "
                           f"{start:#x}: expected {start + nbytes // 4:#x} (EMEM auto-increment did not work)")
        return bytes(out)

    # -- queues -----------------------------------------------------------------------------------------

    def queue(self) -> tuple[int, int]:
        """``(QUEUE_HEAD, QUEUE_TAIL)`` of the command queue."""
        return (NV_PFSP_QUEUE_HEAD.read(self.bar, i=self.channel), NV_PFSP_QUEUE_TAIL.read(self.bar, i=self.channel))

    def msgq(self) -> tuple[int, int]:
        """``(MSGQ_HEAD, MSGQ_TAIL)`` of the message (reply) queue."""
        return (NV_PFSP_MSGQ_HEAD.read(self.bar, i=self.channel), NV_PFSP_MSGQ_TAIL.read(self.bar, i=self.channel))

    def can_send(self) -> bool:
        head, tail = self.queue()
        return head == tail

    def reply_waiting(self) -> bool:
        head, tail = self.msgq()
        return head != tail

    def _wait_can_send(self) -> None:
        def state() -> tuple[bool, bool]:
            return self.can_send(), self.reply_waiting()

        def ready(s: tuple[bool, bool]) -> bool:
            if s[1] and not s[0]:
                raise FspError("the FSP sent a message while RM waited to send (an unsolicited reply means an earlier "
                               "command failed; OpenRM kfspPollForCanSend aborts too)")
            return s[0]

        poll_timeout(state, ready, clock=self.clock, timeout=SEND_TIMEOUT, interval=POLL_INTERVAL,
                     what=f"FSP command queue {self.channel} empty (QUEUE_HEAD == QUEUE_TAIL; (empty, reply) shown)")

    def send_packet(self, packet: bytes) -> None:
        """Write one packet at EMEM 0 and hand it to the FSP (TAIL, then HEAD).

        Raises:
            FspError: the packet does not fit the channel, or EMEM did not auto-increment.
            PollTimeout: the FSP never emptied the queue.
        """
        if not 0 < len(packet) <= self.size:
            raise FspError(f"FSP packet of {len(packet)} bytes: the channel takes 1..{self.size}")
        self._wait_can_send()
        words = self.emem_write(0, packet)
        NV_PFSP_QUEUE_TAIL.write(self.bar, (words - 1) * 4, i=self.channel)
        NV_PFSP_QUEUE_HEAD.write(self.bar, 0, i=self.channel)
        self.sent += 1

    def wait_reply(self, timeout: int = REPLY_TIMEOUT) -> None:
        """Wait until the FSP has put a reply in the message queue.

        Raises:
            PollTimeout: no reply within ``timeout``.
        """
        poll_timeout(self.msgq, lambda q: q[0] != q[1], clock=self.clock, timeout=timeout, interval=POLL_INTERVAL,
                     what=f"a reply from the FSP (MSGQ_HEAD != MSGQ_TAIL of channel {self.channel}; (head, tail) "
                          f"shown)")

    def read_packet(self) -> bytes:
        """Read the waiting reply packet and consume it (MSGQ_TAIL = MSGQ_HEAD).

        Raises:
            FspError: no reply, or its size is not a dword multiple inside the channel.
        """
        head, tail = self.msgq()
        if head == tail:
            raise FspError(f"no FSP reply to read (MSGQ_HEAD = MSGQ_TAIL = {head:#x})")
        size = tail - head + 4
        if size % 4 or not 4 <= size <= self.size or head:
            self._consume(head)
            raise FspError(f"FSP reply of MSGQ_HEAD {head:#x}, MSGQ_TAIL {tail:#x}: expected a dword-sized packet at "
                           f"EMEM 0 of 4..{self.size} bytes, found {size} bytes at {head:#x}")
        data = self.emem_read(0, size)
        self._consume(head)
        self.received += 1
        return data

    def _consume(self, head: int) -> None:
        """MSGQ_TAIL = MSGQ_HEAD: the reply is taken (``_kfspUpdateMsgQueueHeadTail_GH100`` writes TAIL, then HEAD)."""
        NV_PFSP_MSGQ_TAIL.write(self.bar, head, i=self.channel)
        NV_PFSP_MSGQ_HEAD.write(self.bar, head, i=self.channel)

    # -- messages ---------------------------------------------------------------------------------------

    def send_message(self, payload: bytes, nvdm_type: int) -> int:
        """Send one NVDM message (as many packets as it takes); returns the packet count."""
        packets = mctp.frame(payload, nvdm_type, self.size)
        for p in packets:
            self.send_packet(p)
        return len(packets)

    def read_message(self, timeout: int = REPLY_TIMEOUT) -> tuple[int, bytes]:
        """Wait for and read one NVDM message: ``(nvdm type, payload after the type byte)``.

        Raises:
            FspError: a malformed packet header or packet sequence.
            PollTimeout: a packet did not come within ``timeout``.
        """
        packets: list[mctp.Packet] = []
        max_packets = 1 + 64 * 1024 // self.size  # bounded: no NVDM message of RM's is larger than 64 KiB
        for _ in range(max_packets):
            self.wait_reply(timeout)
            p = mctp.parse_packet(self.read_packet())
            packets.append(p)
            if p.eom:
                return mctp.reassemble(packets)
        raise FspError(f"FSP message runs past {max_packets} packets without an end of message")
