"""nova_core.fsp.mctp: MCTP/NVDM framing of FSP messages (pure functions over bytes).

OpenRM ``kfspSendMessage``/``kfspReadMessage`` (kern_fsp.c, 570.144) and nouveau ``gh100_fsp_send_sync``: a message
is an NVDM type and a payload. Its first packet starts with the MCTP transport dword (SOM=1, EOM when it is also
the last, SEID of the type, SEQ 0) and the NVDM header dword (type 0x7e vendor-defined PCI, vendor 0x10de, the NVDM
type); packets after the first carry only the MCTP dword (SOM 0, SEQ counting modulo 4, EOM on the last). A packet
is at most the channel's size (1 KiB for RM's channel 0), header included. On receive, the first (or only) packet's
headers are checked (``kfspValidateMctpPayloadHeader_GH100``): message type 0x7e, vendor 0x10de, and at least the
NVDM type byte present; the received payload starts at that byte (``sizeof(MCTP_HEADER)`` = 7).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import FspError
from . import facts as F


def mctp_header(*, som: bool, eom: bool, seid: int, seq: int) -> int:
    """The MCTP transport dword (``kfspCreateMctpHeader_GH100``)."""
    return F.MCTP_HEADER.encode(som=int(som), eom=int(eom), seid=seid, seq=seq % 4)


def nvdm_header(nvdm_type: int) -> int:
    """The NVDM message header dword (``kfspCreateNvdmHeader_GH100``)."""
    return F.MCTP_MSG_HEADER.encode(type=F.MCTP_MSG_HEADER_TYPE_VENDOR_PCI, vendor_id=F.MCTP_MSG_HEADER_VENDOR_ID_NV,
                                    nvdm_type=nvdm_type)


def frame(payload: bytes | bytearray | memoryview, nvdm_type: int, max_packet: int) -> list[bytes]:
    """The packets of one message, as ``kfspSendMessage`` cuts it.

    Raises:
        FspError: ``max_packet`` leaves no room for payload.
    """
    data = bytes(payload)
    if max_packet <= F.NVDM_MESSAGE_HEADER_SIZE:
        raise FspError(f"FSP packets of {max_packet} bytes leave no room for a payload after the two header dwords")
    seid = F.nvdm_to_seid(nvdm_type)
    first_cap = max_packet - F.NVDM_MESSAGE_HEADER_SIZE
    single = len(data) <= first_cap
    head = (mctp_header(som=True, eom=single, seid=seid, seq=0).to_bytes(4, "little")
            + nvdm_header(nvdm_type).to_bytes(4, "little"))
    packets = [head + data[:first_cap]]
    pos, seq = first_cap, 0
    cap = max_packet - F.MCTP_PACKET_HEADER_SIZE
    while pos < len(data):  # bounded by the payload's length
        seq += 1
        chunk = data[pos:pos + cap]
        pos += len(chunk)
        last = pos >= len(data)
        packets.append(mctp_header(som=False, eom=last, seid=seid, seq=seq).to_bytes(4, "little") + chunk)
    return packets


@dataclass(frozen=True)
class Packet:
    """One received packet: its MCTP fields and the bytes after its header dword(s)."""

    header: int
    som: bool
    eom: bool
    seq: int
    tag: int
    nvdm_type: int | None  #: the first packet's NVDM type
    body: bytes  #: the payload part (the first packet's starts after the NVDM type byte)


def parse_packet(raw: bytes | bytearray | memoryview) -> Packet:
    """Check and split one received packet (``kfspGetPacketInfo_GH100`` + ``kfspValidateMctpPayloadHeader_GH100``).

    Raises:
        FspError: shorter than its headers, a message type that is not 0x7e or a vendor that is not 0x10de.
    """
    data = bytes(raw)
    if len(data) < F.MCTP_PACKET_HEADER_SIZE:
        raise FspError(f"FSP packet of {len(data)} bytes: no room for the MCTP header dword")
    header = int.from_bytes(data[:4], "little")
    h = F.MCTP_HEADER
    som, eom = bool(h.som.get(header)), bool(h.eom.get(header))
    if not som:
        return Packet(header, som, eom, h.seq.get(header), h.tag.get(header), None, data[4:])
    if len(data) < F.MCTP_HEADER_STRUCT_SIZE + 1:
        raise FspError(f"FSP packet of {len(data)} bytes at offset 0: expected at least "
                       f"{F.MCTP_HEADER_STRUCT_SIZE + 1} (MCTP and NVDM headers with the NVDM type byte)")
    msg = int.from_bytes(data[4:8], "little")
    m = F.MCTP_MSG_HEADER
    if m.type.get(msg) != F.MCTP_MSG_HEADER_TYPE_VENDOR_PCI:
        raise FspError(f"FSP packet NVDM header {msg:#010x} at offset 0x4: message type expected "
                       f"{F.MCTP_MSG_HEADER_TYPE_VENDOR_PCI:#x} (vendor defined PCI), found {m.type.get(msg):#x}")
    if m.vendor_id.get(msg) != F.MCTP_MSG_HEADER_VENDOR_ID_NV:
        raise FspError(f"FSP packet NVDM header {msg:#010x} at offset 0x4: vendor id expected "
                       f"{F.MCTP_MSG_HEADER_VENDOR_ID_NV:#x}, found {m.vendor_id.get(msg):#x}")
    return Packet(header, som, eom, h.seq.get(header), h.tag.get(header), m.nvdm_type.get(msg),
                  data[F.MCTP_HEADER_STRUCT_SIZE + 1:])


def reassemble(packets: Iterable[Packet]) -> tuple[int, bytes]:
    """``(nvdm type, payload)`` of a message from its packets, in order.

    Raises:
        FspError: the first packet is not a start of message, a later one is, the sequence numbers do not count
            up modulo 4, or the last packet does not end the message.
    """
    items = list(packets)
    if not items or not items[0].som or items[0].nvdm_type is None:
        raise FspError("FSP message does not begin with a start-of-message packet")
    body = bytearray(items[0].body)
    for i, p in enumerate(items[1:], start=1):
        if p.som:
            raise FspError(f"FSP message packet {i}: a second start of message (MCTP header {p.header:#010x})")
        if p.seq != i % 4:
            raise FspError(f"FSP message packet {i}: MCTP sequence expected {i % 4}, found {p.seq}")
        body += p.body
    if not items[-1].eom:
        raise FspError(f"FSP message of {len(items)} packet(s) has no end of message")
    return items[0].nvdm_type, bytes(body)
