"""nova_core.gsp.cmdq: the GSP message queues - shared memory, elements, checksums, pointers.

Layout (reference §7; OpenRM ``message_queue_cpu.c``, nouveau ``r535_gsp_shared_init``, nova-core
``gsp/cmdq.rs``): one DMA region, page aligned::

    +0x00000  PTE array: the bus address of every 4 KiB page of the region (itself included), u64 each
    +0x01000  command queue (CPU -> GSP), 0x40000 bytes:  page 0 = msgqTxHeader + msgqRxHeader,
              pages 1..63 = 63 ring slots of 4 KiB
    +0x41000  status queue (GSP -> CPU), same shape; its header page is written by GSP-RM

With ``MSGQ_FLAGS_SWAP_RX`` each queue's rx header holds the *other* side's read pointer: the CPU's
write pointer is cmdq.tx.writePtr, GSP's read pointer of the command queue is msgq.rx.readPtr, GSP's
write pointer is msgq.tx.writePtr and the CPU's read pointer of the status queue is cmdq.rx.readPtr.
Free slots = readPtr + msgCount - writePtr - 1 (mod msgCount): one slot always stays empty.

A message is one *element* of ``elemCount`` consecutive slots (wrapping around the ring):
``GSP_MSG_QUEUE_ELEMENT`` (0x30: auth tag, AAD, checkSum, seqNum, elemCount) + ``rpc_message_header_v``
(0x20: version 3.0, 'VRPC', length = 0x20 + payload, function, result, result_private, sequence) +
payload, zero-padded to whole slots; elemCount = ceil((0x30 + length) / 4096), at most 16. The checksum
makes the XOR of all u64 words of the element, folded hi32 ^ lo32, zero. seqNum counts elements per
queue from 0. The read pointer advances by ``elemCount`` - never by a count derived from ``length``
alone (tinygrad advances by ceil(length / 4096), which wedges its reader when length % 4096 is 0 or
above 0xFD0; ``tests/gsp/test_cmdq.py`` holds the regression test).

Untrusted input: the status queue is written by GSP-RM. Every field is checked (header geometry, the
pointers, elemCount against the ring and the written slots, length against elemCount, the checksum,
the sequence number, the RPC signature and version) and a bad element is a :class:`GspError` naming
the slot, the field, the expected and the found value. The queue is left consistent: a corrupt element
is skipped (by its elemCount when that is sane, else by resynchronising to the write pointer) and the
next element's seqNum is taken as it comes; a sequence gap is reported once and the element then
delivered.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import GspError
from ..hw.clock import SEC, US, Clock
from ..hw.dma import PAGE_SIZE, DmaAllocator
from ..hw.poll import poll_timeout
from ..hw.sg import SgTable
from .fw import GspAbi

QUEUE_SIZE = 0x40000  #: each queue (OpenRM default command/status queue size; nouveau, nova-core)
MAX_ELEMENT_PAGES = 16  #: GSP_MSG_QUEUE_ELEMENT_SIZE_MAX / GSP_MSG_QUEUE_ELEMENT_SIZE_MIN

# TIMEOUT: OpenRM GspMsgQueueSendCommand waits 1 s for queue space ("Set a timeout of 1 sec");
# nouveau r535_gsp_cmdq_push retries 10^6 times with usleep(1..2).
SPACE_TIMEOUT = 1 * SEC
SPACE_POLL_INTERVAL = 10 * US
_ZEROS = memoryview(bytes(MAX_ELEMENT_PAGES * PAGE_SIZE))  #: a view: slicing it copies nothing
_U32 = struct.Struct("<I")


_U64 = np.dtype("<u8")
_XOR_REDUCE = np.bitwise_xor.reduce


def checksum(data: bytes | bytearray | memoryview) -> int:
    """GSP queue checksum: XOR of the little-endian u64 words (zero-padded to 8 bytes), hi32 ^ lo32."""
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    n = view.nbytes
    if n & 7:
        view = memoryview(bytes(view) + bytes(8 - (n & 7)))
    if not n:
        return 0
    return _fold(np.frombuffer(view, dtype=_U64))


def _fold(words: np.ndarray) -> int:
    """The checksum of u64 words already viewed as an array (the queues keep such views of their memory)."""
    x = int(_XOR_REDUCE(words)) if words.size else 0
    return ((x >> 32) ^ x) & 0xFFFFFFFF


class Message(NamedTuple):
    """One element received from the status queue (or a reassembled large RPC); immutable (a named tuple: made once
    per reply, it is the cheapest immutable record Python has)."""

    function: int
    result: int
    result_private: int
    sequence: int  #: the RPC header's sequence as GSP-RM wrote it (replies are not matched by it: see gsp.rpc)
    payload: bytes
    element_seq: int  #: the element's seqNum (per-queue counter)
    elements: int  #: elemCount (for a reassembled RPC: of its first element)


@dataclass(frozen=True)
class QueueGeometry:
    """The shape of one queue (identical for both; from the bindings' msgq header layout)."""

    size: int = QUEUE_SIZE
    msg_size: int = PAGE_SIZE
    entry_off: int = PAGE_SIZE
    rx_hdr_off: int = 0x20  #: right after msgqTxHeader

    @property
    def msg_count(self) -> int:
        return (self.size - self.entry_off) // self.msg_size


class _Layout:
    """Offsets of the header fields, from the bindings (checked: the fast paths pack them in one go)."""

    def __init__(self, abi: GspAbi) -> None:
        m = abi.module
        tx = m.msgqTxHeader
        self.tx_size = ctypes.sizeof(tx)
        self.tx_version = tx.version.offset
        self.tx_qsize = tx.size.offset
        self.tx_msg_size = tx.msgSize.offset
        self.tx_msg_count = tx.msgCount.offset
        self.tx_write_ptr = tx.writePtr.offset
        self.tx_flags = tx.flags.offset
        self.tx_rx_hdr_off = tx.rxHdrOff.offset
        self.tx_entry_off = tx.entryOff.offset
        self.rx_read_ptr = m.msgqRxHeader.readPtr.offset
        el = m.GSP_MSG_QUEUE_ELEMENT
        rpc = m.rpc_message_header_v
        self.el_checksum = el.checkSum.offset
        self.el_seq = el.seqNum.offset
        self.el_count = el.elemCount.offset
        self.el_rpc = el.rpc.offset
        self.hdr = abi.element_header_size + abi.rpc_header_size  # 0x50: payload offset in the element
        words = [self.el_checksum, self.el_seq, self.el_count]
        rpc_fields = ["header_version", "signature", "length", "function", "rpc_result", "rpc_result_private",
                      "sequence"]
        rpc_offs = [self.el_rpc + getattr(rpc, f).offset for f in rpc_fields]
        if words != [0x20, 0x24, 0x28] or rpc_offs != [self.el_rpc + 4 * i for i in range(7)] or self.el_rpc != 0x30:
            raise GspError(f"{abi.version}: unexpected GSP_MSG_QUEUE_ELEMENT/rpc_message_header_v layout "
                           f"(element words at {words}, rpc fields at {rpc_offs})")
        # checkSum, seqNum, elemCount, pad, then the rpc header words
        self.element_head = struct.Struct("<IIII8I")
        self.msgq_flags_swap_rx = int(m.MSGQ_FLAGS_SWAP_RX)
        self.msgq_version = int(m.MSGQ_VERSION)


# -- shared memory -----------------------------------------------------------------------------------


class SharedMemory:
    """The queues' DMA region: PTE array, command queue, status queue.

    Allocated scattered (``alloc_sg``) as OpenRM does - the PTE array is how GSP-RM finds the pages.
    ``GSP_ARGUMENTS_CACHED`` takes :attr:`bus_addr` (the PTE page), :attr:`pte_count`,
    :attr:`cmdq_offset` and :attr:`statq_offset`.
    """

    def __init__(self, dma: DmaAllocator, abi: GspAbi, *, queue_size: int = QUEUE_SIZE,
                 name: str = "gsp queues") -> None:
        if queue_size % PAGE_SIZE or queue_size < 3 * PAGE_SIZE:
            raise GspError(f"GSP queue size {queue_size:#x}: a multiple of 4 KiB, at least 3 pages")
        self.abi = abi
        self.geometry = QueueGeometry(size=queue_size)
        self._lay = _Layout(abi)
        npages = 2 * queue_size // PAGE_SIZE
        npages += -(-npages * 8 // PAGE_SIZE)  # the PTE pages map themselves too (nouveau)
        self.pte_count = npages
        pte_bytes = -(-npages * 8 // PAGE_SIZE) * PAGE_SIZE
        self.cmdq_offset = pte_bytes
        self.statq_offset = pte_bytes + queue_size
        total = pte_bytes + 2 * queue_size
        if total // PAGE_SIZE != npages:
            raise GspError(f"GSP queues: {npages} PTEs do not cover the {total:#x}-byte region")
        self._dma = dma
        self.table: SgTable = dma.alloc_sg(total, name=name)
        self.view = self.table.view
        ptes = self.table.page_addrs()
        self.view[:npages * 8] = ptes.astype("<u8").tobytes()
        self.bus_addr = int(ptes[0])
        self.cmdq = self.view[self.cmdq_offset:self.cmdq_offset + queue_size]
        self.msgq = self.view[self.statq_offset:self.statq_offset + queue_size]
        self._init_cmdq_header()

    def _init_cmdq_header(self) -> None:
        g, lay = self.geometry, self._lay
        hdr = self.abi.pack("msgqTxHeader", version=lay.msgq_version, size=g.size, msgSize=g.msg_size,
                            msgCount=g.msg_count, writePtr=0, flags=lay.msgq_flags_swap_rx,
                            rxHdrOff=g.rx_hdr_off, entryOff=g.entry_off)
        self.cmdq[:len(hdr)] = hdr
        struct.pack_into("<I", self.cmdq, g.rx_hdr_off + lay.rx_read_ptr, 0)

    def arguments_cached(self, **kwargs: int | bool) -> bytes:
        """``GSP_ARGUMENTS_CACHED`` describing these queues (the RMARGS region's content)."""
        return self.abi.arguments_cached(shared_mem_phys=self.bus_addr, pte_count=self.pte_count,
                                         cmdq_offset=self.cmdq_offset, statq_offset=self.statq_offset,
                                         **kwargs)  # type: ignore[arg-type]

    def free(self) -> None:
        self._dma.free_sg(self.table)


# -- CPU -> GSP ------------------------------------------------------------------------------------------


class CommandQueue:
    """The CPU's side of the command queue: writes elements, advances the write pointer.

    Not thread-safe by itself (:class:`~nova_core.gsp.rpc.GspRpc` serialises senders). The doorbell is
    the caller's (it rings once per element).
    """

    def __init__(self, shm: SharedMemory, clock: Clock) -> None:
        self.shm = shm
        self.abi = shm.abi
        self.clock = clock
        self._lay = shm._lay
        g = shm.geometry
        self._count = g.msg_count
        self._page = g.msg_size
        self._ring = shm.cmdq[g.entry_off:g.entry_off + g.msg_count * g.msg_size]
        self._ring_words = np.frombuffer(self._ring, dtype=_U64)  # made once: checksums of elements built in place
        self._wptr_at = self._lay.tx_write_ptr
        self._gsp_rptr_at = g.rx_hdr_off + self._lay.rx_read_ptr  # in the status queue's page (SWAP_RX)
        self._cmdq, self._msgq = shm.cmdq, shm.msgq
        self._rpc_header_size = self.abi.rpc_header_size
        self.write_ptr = 0
        self.seq = 0  #: next element seqNum
        self._hv = self.abi.header_version
        self._sig = self.abi.signature
        self._pending = self.abi.result_pending

    def gsp_read_ptr(self) -> int:
        rptr = int(_U32.unpack_from(self._msgq, self._gsp_rptr_at)[0])
        if rptr >= self._count:
            raise GspError(f"command queue: GSP's read pointer (msgq rx readPtr) is {rptr:#x}, outside the "
                           f"ring of {self._count:#x} slots")
        return rptr

    def free_slots(self) -> int:
        return (self.gsp_read_ptr() + self._count - self.write_ptr - 1) % self._count

    def elements_for(self, payload_len: int) -> int:
        return -(-(self._lay.hdr + payload_len) // self._page)

    def push(self, function: int, payload: bytes | bytearray | memoryview, *, rpc_sequence: int = 0,
             timeout: int = SPACE_TIMEOUT, while_waiting: Callable[[], object] | None = None) -> int:
        """Write one element carrying ``payload``; return its elemCount.

        Waits (bounded: ``timeout``) for enough free slots; raises :class:`PollTimeout` naming them
        when GSP-RM does not free them, with nothing written. ``while_waiting`` runs before each look
        (the RPC layer drains the status queue there: GSP-RM may be waiting for room to answer).
        """
        lay = self._lay
        plen = len(payload)
        n = -(-(lay.hdr + plen) // self._page)
        if n > MAX_ELEMENT_PAGES:
            raise GspError(f"{self.abi.name_of(function)}: payload of {plen:#x} bytes needs {n} pages, more than "
                           f"one element's {MAX_ELEMENT_PAGES} (split it into continuation records)")
        count = self._count
        w = self.write_ptr
        if (self.gsp_read_ptr() + count - w - 1) % count < n:  # free slots (one always stays empty)
            self._wait_space(n, function, timeout, while_waiting)
        page = self._page
        end = lay.hdr + plen
        if w + n <= count:  # the element does not wrap: built in place in the ring
            at = w * page
            buf = self._ring[at:at + n * page]
        else:
            at = -1
            buf = memoryview(bytearray(n * page))
        pending = self._pending
        lay.element_head.pack_into(buf, lay.el_checksum, 0, self.seq, n, 0, self._hv, self._sig,
                                   self._rpc_header_size + plen, function, pending, pending, rpc_sequence, 0)
        buf[lay.hdr:end] = payload
        if at >= 0:
            buf[end:] = _ZEROS[:n * page - end]  # the slots' old contents: the element is zero-padded
            cs = _fold(self._ring_words[at >> 3:(at + end + 7) >> 3])
        else:
            cs = checksum(buf[:(end + 7) & ~7])
        _U32.pack_into(buf, lay.el_checksum, cs)
        if at < 0:
            first = count - w
            self._ring[w * page:] = buf[:first * page]
            self._ring[:(n - first) * page] = buf[first * page:]
        self.write_ptr = w = (w + n) % count
        _U32.pack_into(self._cmdq, self._wptr_at, w)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return n

    def _wait_space(self, n: int, function: int, timeout: int, while_waiting: Callable[[], object] | None) -> None:
        def look() -> int:
            if while_waiting is not None:
                while_waiting()
            return self.free_slots()

        poll_timeout(look, lambda free: free >= n, clock=self.clock, timeout=timeout,
                     interval=SPACE_POLL_INTERVAL,
                     what=f"{n} free slot(s) in the GSP command queue for {self.abi.name_of(function)} "
                          f"(GSP-RM not consuming commands)")


# -- GSP -> CPU -------------------------------------------------------------------------------------------


class StatusQueue:
    """The CPU's side of the status queue: validates and reads elements, advances its read pointer."""

    def __init__(self, shm: SharedMemory) -> None:
        self.shm = shm
        self.abi = shm.abi
        self._lay = shm._lay
        g = shm.geometry
        self.geometry = g
        self._count = g.msg_count
        self._page = g.msg_size
        self._ring = shm.msgq[g.entry_off:g.entry_off + g.msg_count * g.msg_size]
        # the element being received is copied here first (what is checked is what is delivered: GSP-RM cannot
        # change it in between); one receiver at a time (GspRpc drains from one thread at a time)
        self._snap = bytearray(MAX_ELEMENT_PAGES * g.msg_size)
        self._snap_words = np.frombuffer(self._snap, dtype=_U64)
        self._rptr_at = g.rx_hdr_off + self._lay.rx_read_ptr  # in the command queue's page (SWAP_RX)
        self._wptr_at = self._lay.tx_write_ptr
        self._cmdq, self._msgq = shm.cmdq, shm.msgq
        abi = self.abi
        self._sig, self._hv = abi.signature, abi.header_version
        self._rpc_header_size, self._el_header_size = abi.rpc_header_size, abi.element_header_size
        self.read_ptr = 0
        self.seq = 0  #: the seqNum expected next
        self._seq_unknown = False  #: after a skipped corrupt element: take the next seqNum as it comes
        self.ready = False  #: GSP-RM has written a valid status-queue header

    def check_header(self) -> bool:
        """Validate the header GSP-RM writes at boot; ``False`` while it is still all zero."""
        if self.ready:
            return True
        lay, g, q = self._lay, self.geometry, self.shm.msgq
        got = {name: int(struct.unpack_from("<I", q, off)[0]) for name, off in (
            ("version", lay.tx_version), ("size", lay.tx_qsize), ("msgSize", lay.tx_msg_size),
            ("msgCount", lay.tx_msg_count), ("writePtr", lay.tx_write_ptr), ("rxHdrOff", lay.tx_rx_hdr_off),
            ("entryOff", lay.tx_entry_off))}
        if got["msgSize"] == 0 and got["entryOff"] == 0:
            return False
        want = {"version": lay.msgq_version, "size": g.size, "msgSize": g.msg_size, "msgCount": g.msg_count,
                "rxHdrOff": g.rx_hdr_off, "entryOff": g.entry_off}
        for name, value in want.items():
            if got[name] != value:
                raise GspError(f"status queue header (written by GSP-RM): {name} {got[name]:#x}, expected "
                               f"{value:#x}")
        self.ready = True
        return True

    def write_ptr(self) -> int:
        w = int(_U32.unpack_from(self._msgq, self._wptr_at)[0])
        if w >= self._count:
            raise self._bad_write_ptr(w)
        return w

    def _bad_write_ptr(self, w: int) -> GspError:
        return GspError(f"status queue: GSP's writePtr {w:#x} is outside the ring of {self._count:#x} slots")

    def available(self) -> int:
        """Slots written by GSP-RM and not yet read (0 before GSP-RM has set up the queue)."""
        if not self.ready and not self.check_header():
            return 0
        w = _U32.unpack_from(self._msgq, self._wptr_at)[0]  # (what write_ptr() reads and checks)
        if w >= self._count:
            raise self._bad_write_ptr(w)
        return int((w - self.read_ptr) % self._count)

    def _advance(self, n: int) -> None:
        self.read_ptr = r = (self.read_ptr + n) % self._count
        _U32.pack_into(self._cmdq, self._rptr_at, r)

    def _resync(self) -> None:
        """Drop everything written: the element headers can no longer be trusted."""
        w = self.write_ptr()
        self._advance((w - self.read_ptr) % self._count)
        self._seq_unknown = True

    def _gather(self, slot: int, n: int) -> memoryview:
        """Copy the element's ``n`` slots (wrapping) into the snapshot buffer; a view of the copy."""
        page = self._page
        first = min(n, self._count - slot)
        snap = self._snap
        snap[:first * page] = self._ring[slot * page:(slot + first) * page]
        if first < n:
            snap[first * page:n * page] = self._ring[:(n - first) * page]
        return memoryview(snap)[:n * page]

    def receive(self) -> Message | None:
        """The next element, or ``None`` if there is none (raises :class:`GspError` for a bad one)."""
        if not self.ready and not self.check_header():
            return None
        slot = self.read_ptr
        w = _U32.unpack_from(self._msgq, self._wptr_at)[0]  # (what write_ptr() reads and checks)
        if w >= self._count:
            raise self._bad_write_ptr(w)
        avail = (w - slot) % self._count
        if avail == 0:
            return None
        lay = self._lay
        page = self._page
        head = lay.element_head.unpack_from(self._ring, slot * page + lay.el_checksum)
        seq, n = head[1], head[2]
        if not 1 <= n <= MAX_ELEMENT_PAGES:
            self._resync()
            raise GspError(f"{_where(slot, seq)}: elemCount {n:#x} outside 1..{MAX_ELEMENT_PAGES} (the element "
                           f"count runs past the ring); resynchronised to the write pointer, {avail} slot(s) dropped")
        if n > avail:
            self._resync()
            raise GspError(f"{_where(slot, seq)}: elemCount {n:#x} but only {avail:#x} slot(s) written; "
                           f"resynchronised to the write pointer")
        if slot + n <= self._count:  # a snapshot: what is checked is what is delivered
            self._snap[:n * page] = self._ring[slot * page:(slot + n) * page]
            data = memoryview(self._snap)
        else:
            data = self._gather(slot, n)
        cs = _fold(self._snap_words[:n * page >> 3])
        if cs:
            self._advance(n)
            self._seq_unknown = True  # the skipped element's seqNum cannot be trusted
            raise GspError(f"{_where(slot, seq)}: checksum mismatch: stored {head[0]:#010x}, the element XORs to "
                           f"{cs:#010x} instead of 0 ({n} slot(s) skipped)")
        if self._seq_unknown:
            self._seq_unknown = False
            self.seq = seq
        if seq != self.seq:
            expected = self.seq
            self.seq = seq  # reported once; the element is delivered on the next receive
            raise GspError(f"status queue slot {slot:#x}: sequence gap: expected seqNum {expected:#x}, found "
                           f"{seq:#x} ({(seq - expected) & 0xFFFFFFFF} element(s) lost)")
        hv, sig, length, function, result, result_private, rpc_seq = head[4:11]
        ehs = self._el_header_size
        self._advance(n)
        self.seq = (seq + 1) & 0xFFFFFFFF
        if sig != self._sig or hv != self._hv or length < self._rpc_header_size \
                or -(-(ehs + length) // page) != n:  # (the element is then skipped, and the problem named)
            raise GspError(f"{_where(slot, seq)}, {self.abi.name_of(function)}: {self._rpc_problem(hv, sig, length, n)}"
                           f"; element skipped")
        return Message(function, result, result_private, rpc_seq, bytes(data[lay.hdr:ehs + length]), seq, n)

    def _rpc_problem(self, hv: int, sig: int, length: int, n: int) -> str:
        """What is wrong with an element's RPC header (its signature, version or length against elemCount)."""
        abi, page = self.abi, self._page
        if sig != abi.signature:
            return f"rpc signature {sig:#010x}, expected {abi.signature:#010x} ('VRPC')"
        if hv != abi.header_version:
            return f"rpc header_version {hv:#010x}, expected {abi.header_version:#010x}"
        if length < abi.rpc_header_size:
            return f"rpc length {length:#x} shorter than the rpc header ({abi.rpc_header_size:#x})"
        if abi.element_header_size + length > n * page:
            return (f"rpc length {length:#x} larger than the element ({n} slot(s) hold "
                    f"{n * page - abi.element_header_size:#x})")
        return (f"elemCount {n} does not match rpc length {length:#x} (needs "
                f"{-(-(abi.element_header_size + length) // page)})")


def _where(slot: int, seq: int) -> str:
    """An element's place, for errors (formatted only when one is raised)."""
    return f"status queue slot {slot:#x} (seqNum {seq:#x})"


__all__ = ["MAX_ELEMENT_PAGES", "QUEUE_SIZE", "SPACE_TIMEOUT", "CommandQueue", "Message", "QueueGeometry",
           "SharedMemory", "StatusQueue", "checksum"]
