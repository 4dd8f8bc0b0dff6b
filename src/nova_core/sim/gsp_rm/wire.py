"""nova_core.sim.gsp_rm.wire: GSP-RM's side of the message queues, written for the sim alone.

The simulated GSP-RM reads what the driver wrote with its own code (never ``nova_core.gsp.cmdq``), so
that a mistake shared by both sides cannot pass unnoticed. It takes only facts from the bindings: the
structure layouts (field offsets) and constants of the firmware version it runs.

- :class:`PagedRegion`: memory GSP-RM reaches through a page list (the shared region's PTE array, a log
  buffer's page list), page by page in simulated system memory, as the GSP's MMU would.
- :func:`xor32`: the queue checksum as GSP-RM checks it - the XOR of all little-endian u32 words of an
  element (the same value as OpenRM's hi32 ^ lo32 of the u64 XOR, computed another way).
- :class:`GspQueues`: the command queue as a reader (with SWAP_RX: GSP's read pointer lives in the
  status queue's rx header) and the status queue as a writer.
"""

from __future__ import annotations

import ctypes
import itertools
import operator
import struct
from dataclasses import dataclass
from types import ModuleType

from ...errors import SimViolation
from ..memory import SimSystemMemory

PAGE = 0x1000
MAX_ELEMENT_PAGES = 16
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_ZEROS = bytes(MAX_ELEMENT_PAGES * PAGE)


_FOLD_MAX = 64  #: below this many bytes folding one integer beats numpy's per-call cost


def xor32(data: bytes | bytearray | memoryview) -> int:
    """XOR of all u32 words (``data`` is a whole number of words)."""
    n = len(data) >> 2
    if len(data) < _FOLD_MAX:  # a few words: fold them as one integer
        x = int.from_bytes(data, "little")
        while n > 1:  # word i is XORed with word i + n//2 (XOR is associative and commutative)
            bits = (n >> 1) * 32
            x = (x >> bits) ^ (x & ((1 << bits) - 1))
            n -= n >> 1
        return x
    import numpy as np  # imported on first use: a simulated GPU that never runs GSP-RM needs no numpy

    return int(np.bitwise_xor.reduce(np.frombuffer(data, dtype="<u4")))


class _Scratch:
    """A buffer of one largest element with a u32 view of it made once (the XOR of a prefix is one numpy call)."""

    __slots__ = ("buf", "reduce", "view", "words")

    def __init__(self) -> None:
        import numpy as np

        self.buf = bytearray(MAX_ELEMENT_PAGES * PAGE)
        self.view = memoryview(self.buf)
        self.words = np.frombuffer(self.buf, dtype="<u4")
        self.reduce = np.bitwise_xor.reduce

    def xor(self, nbytes: int) -> int:
        """:func:`xor32` of the first ``nbytes`` (a multiple of 4)."""
        return int(self.reduce(self.words[:nbytes >> 2]))


class PagedRegion:
    """``len(pages)`` pages of simulated system memory, addressed by offset as one region.

    Pages at consecutive bus addresses of one mapping (how the driver's DMA allocator hands out a small region)
    are reached through one view of them all; scattered pages one page at a time.
    """

    def __init__(self, sysmem: SimSystemMemory, pages: list[int], who: str) -> None:
        self.pages = pages
        self.size = len(pages) * PAGE
        self.who = who
        self._views = [sysmem.view(p, PAGE, who=who, write=True) for p in pages]
        self._flat: memoryview | None = None
        if pages and all(b == a + PAGE for a, b in itertools.pairwise(pages)):
            try:
                self._flat = sysmem.view(pages[0], self.size, who=who, write=True)
            except SimViolation:  # consecutive addresses of two mappings: page by page
                self._flat = None

    def page(self, off: int) -> memoryview:
        """The view of the page holding byte ``off`` (what the GSP's MMU maps it to)."""
        self._check(off, 1)
        return self._views[off // PAGE]

    def _check(self, off: int, n: int) -> None:
        if off < 0 or n < 0 or off + n > self.size:
            raise SimViolation(f"{self.who}: access [{off:#x}, {off + n:#x}) outside its {self.size:#x} bytes")

    def read(self, off: int, n: int) -> bytes:
        self._check(off, n)
        flat = self._flat
        if flat is not None:
            return bytes(flat[off:off + n])
        p, o = divmod(off, PAGE)
        if o + n <= PAGE:  # inside one page
            return bytes(self._views[p][o:o + n])
        out = bytearray()
        while n:
            p, o = divmod(off, PAGE)
            k = min(n, PAGE - o)
            out += self._views[p][o:o + k]
            off += k
            n -= k
        return bytes(out)

    def read_into(self, off: int, n: int, dest: memoryview) -> None:
        """Copy ``n`` bytes at ``off`` to the start of ``dest`` (a byte view of at least ``n`` bytes)."""
        flat = self._flat
        if flat is not None and off >= 0 and n >= 0 and off + n <= self.size:
            dest[:n] = flat[off:off + n]
            return
        dest[:n] = self.read(off, n)

    def unpack(self, st: struct.Struct, off: int) -> tuple[int, ...]:
        """``st`` unpacked from the bytes at ``off``."""
        flat = self._flat
        if flat is not None and 0 <= off <= self.size - st.size:
            return st.unpack_from(flat, off)
        return st.unpack(self.read(off, st.size))

    def pack_into(self, st: struct.Struct, off: int, values: list[int] | tuple[int, ...]) -> None:
        """Write ``values`` packed with ``st`` at ``off``."""
        flat = self._flat
        if flat is not None and 0 <= off <= self.size - st.size:
            st.pack_into(flat, off, *values)
            return
        self.write(off, st.pack(*values))

    def write(self, off: int, data: bytes | bytearray | memoryview) -> None:
        data = memoryview(data).cast("B")
        self._check(off, len(data))
        flat = self._flat
        if flat is not None:
            flat[off:off + len(data)] = data
            return
        p, o = divmod(off, PAGE)
        if o + len(data) <= PAGE:  # inside one page
            self._views[p][o:o + len(data)] = data
            return
        i = 0
        while i < len(data):
            p, o = divmod(off + i, PAGE)
            k = min(len(data) - i, PAGE - o)
            self._views[p][o:o + k] = data[i:i + k]
            i += k

    def u32(self, off: int) -> int:
        flat = self._flat
        if flat is not None and 0 <= off <= self.size - 4:
            return int(_U32.unpack_from(flat, off)[0])
        p, o = divmod(off, PAGE)
        if o > PAGE - 4 or not 0 <= p < len(self._views):  # across pages, or outside (read() says so)
            return int.from_bytes(self.read(off, 4), "little")
        return int(_U32.unpack_from(self._views[p], o)[0])

    def set_u32(self, off: int, value: int) -> None:
        flat = self._flat
        if flat is not None and 0 <= off <= self.size - 4:
            _U32.pack_into(flat, off, value)
            return
        p, o = divmod(off, PAGE)
        if o > PAGE - 4 or not 0 <= p < len(self._views):
            self.write(off, value.to_bytes(4, "little"))
            return
        _U32.pack_into(self._views[p], o, value)

    def u64(self, off: int) -> int:
        return int.from_bytes(self.read(off, 8), "little")

    def set_u64(self, off: int, value: int) -> None:
        flat = self._flat
        if flat is not None and 0 <= off <= self.size - 8:
            _U64.pack_into(flat, off, value)
            return
        p, o = divmod(off, PAGE)
        if o > PAGE - 8 or not 0 <= p < len(self._views):  # across pages, or outside (write() says so)
            self.write(off, value.to_bytes(8, "little"))
            return
        _U64.pack_into(self._views[p], o, value)


class _FieldsStruct:
    """Reads u32 fields at given offsets with one :class:`struct.Struct` (values in the order given)."""

    def __init__(self, offsets: tuple[int, ...]) -> None:
        order = sorted(range(len(offsets)), key=lambda i: offsets[i])
        fmt, pos = "<", 0
        for i in order:
            fmt += "x" * (offsets[i] - pos) + "I"
            pos = offsets[i] + 4
        self._struct = struct.Struct(fmt)
        self._pick = operator.itemgetter(*[order.index(i) for i in range(len(offsets))])
        self._place = operator.itemgetter(*order)  #: the values given -> the struct's order
        self._in_order = order == list(range(len(offsets)))  #: offsets given ascending: no reordering

    def __call__(self, data: bytes | bytearray | memoryview) -> tuple[int, ...]:
        values: tuple[int, ...] = self._pick(self._struct.unpack_from(data, 0))
        return values

    def read(self, region: PagedRegion, off: int) -> tuple[int, ...]:
        """The fields of the structure at ``off`` in ``region`` (in the order of the offsets given)."""
        values: tuple[int, ...] = self._pick(region.unpack(self._struct, off))
        return values

    def pack_into(self, buf: bytearray | memoryview, *values: int) -> None:
        """Write ``values`` (in the order of the offsets given) into ``buf``; the bytes between them become 0."""
        self._struct.pack_into(buf, 0, *(values if self._in_order else self._place(values)))


def _fields_struct(offsets: tuple[int, ...]) -> _FieldsStruct:
    if len(set(offsets)) != len(offsets):
        raise SimViolation(f"element fields overlap: offsets {offsets}")
    return _FieldsStruct(offsets)


@dataclass(slots=True)
class Element:
    """A command element as GSP-RM reads it."""

    slot: int
    count: int  #: elemCount
    seq: int
    function: int
    length: int  #: rpc length (header + payload)
    result: int
    result_private: int
    rpc_seq: int
    header_version: int
    signature: int
    payload: bytes


class GspQueues:
    """The two queues of a shared region, from GSP-RM's side.

    ``cmdq_off``/``statq_off`` are offsets in ``region`` (GSP_ARGUMENTS_CACHED's cmdQueueOffset and
    statQueueOffset); the layouts come from the version's bindings module ``m``.
    """

    def __init__(self, region: PagedRegion, cmdq_off: int, statq_off: int, m: ModuleType, *,
                 direct: bool = True) -> None:
        self.r = region
        #: reach each queue through one view of its pages when they allow it (False: always page by page)
        self.direct = direct
        self.cmdq = cmdq_off
        self.statq = statq_off
        tx, rx = m.msgqTxHeader, m.msgqRxHeader
        self.tx_size = ctypes.sizeof(tx)
        self.f_version = tx.version.offset
        self.f_size = tx.size.offset
        self.f_msg_size = tx.msgSize.offset
        self.f_msg_count = tx.msgCount.offset
        self.f_write_ptr = tx.writePtr.offset
        self.f_flags = tx.flags.offset
        self.f_rx_hdr_off = tx.rxHdrOff.offset
        self.f_entry_off = tx.entryOff.offset
        self.f_read_ptr = rx.readPtr.offset
        el = m.GSP_MSG_QUEUE_ELEMENT
        self.el_checksum = el.checkSum.offset
        self.el_seq = el.seqNum.offset
        self.el_count = el.elemCount.offset
        self.el_rpc = el.rpc.offset
        self.el_hdr = int(m.GSP_MSG_QUEUE_ELEMENT_HDR_SIZE)
        rpc = m.rpc_message_header_v
        self.rpc_size = ctypes.sizeof(rpc)
        self.rpc_fields = {name: self.el_rpc + getattr(rpc, name).offset for name in (
            "header_version", "signature", "length", "function", "rpc_result", "rpc_result_private", "sequence")}
        self.swap_rx = int(m.MSGQ_FLAGS_SWAP_RX)
        self.msgq_version = int(m.MSGQ_VERSION)
        # the element's u32 fields in Element's order, read with one Struct (offsets from the bindings)
        f = self.rpc_fields
        self._el_fields = _fields_struct((self.el_count, self.el_seq, f["function"], f["length"], f["rpc_result"],
                                          f["rpc_result_private"], f["sequence"], f["header_version"],
                                          f["signature"]))
        self._build_at = _fields_struct((self.el_seq, self.el_count, f["header_version"], f["signature"],
                                         f["length"], f["function"], f["rpc_result"], f["rpc_result_private"],
                                         f["sequence"]))
        self._head = _fields_struct((self.el_count, self.el_seq))
        # GSP-RM's working buffers: the command element being read, the status element being built (one reader,
        # GSP-RM's command processing, and one writer, its publication under the sim lock)
        self._in = _Scratch()
        self._out = _Scratch()
        # filled by check_cmdq_header()
        self.size = 0
        self.msg_size = PAGE
        self.count = 0
        self.entry_off = PAGE
        self.rx_hdr_off = self.tx_size
        self._place()

    def _place(self) -> None:
        """Where the pointers and slots lie in the region, from the geometry (worked out once per header check)."""
        self._cmd_wptr_at = self.cmdq + self.f_write_ptr  # the CPU's write pointer
        self._cpu_rptr_at = self.cmdq + self.rx_hdr_off + self.f_read_ptr  # the CPU's read pointer (SWAP_RX)
        self._stat_wptr_at = self.statq + self.f_write_ptr  # GSP's write pointer
        self._gsp_rptr_at = self.statq + self.rx_hdr_off + self.f_read_ptr  # GSP's read pointer (SWAP_RX)
        self._cmd_slots = self.cmdq + self.entry_off
        self._stat_slots = self.statq + self.entry_off
        # the pages of the four pointers and of every slot, looked up once (a slot is one page: msgSize is PAGE,
        # entryOff and both queues page aligned); a pointer that straddles two pages: every access by offset
        self._ptrs: tuple[tuple[memoryview, int], ...] | None = None
        self._cmd_pages: list[memoryview] = []
        self._stat_pages: list[memoryview] = []
        offs = (self._cmd_wptr_at, self._cpu_rptr_at, self._stat_wptr_at, self._gsp_rptr_at)
        if self.direct and self.count and all(o % PAGE <= PAGE - 4 for o in offs) \
                and not (self.cmdq | self.statq | self.entry_off) % PAGE:
            self._ptrs = tuple((self.r.page(o), o % PAGE) for o in offs)
            self._cmd_pages = [self.r.page(self._cmd_slots + k * PAGE) for k in range(self.count)]
            self._stat_pages = [self.r.page(self._stat_slots + k * PAGE) for k in range(self.count)]

    # -- the command queue header (written by the CPU) ----------------------------------------------

    def check_cmdq_header(self) -> list[str]:
        """Problems with the CPU's command-queue header (empty: fine); sets the geometry."""
        r, q = self.r, self.cmdq
        h = {name: r.u32(q + off) for name, off in (
            ("version", self.f_version), ("size", self.f_size), ("msgSize", self.f_msg_size),
            ("msgCount", self.f_msg_count), ("writePtr", self.f_write_ptr), ("flags", self.f_flags),
            ("rxHdrOff", self.f_rx_hdr_off), ("entryOff", self.f_entry_off))}
        problems = []
        if h["version"] != self.msgq_version:
            problems.append(f"version {h['version']:#x}, expected {self.msgq_version:#x}")
        if h["msgSize"] != PAGE:
            problems.append(f"msgSize {h['msgSize']:#x}, expected {PAGE:#x}")
        if h["size"] != self.statq - self.cmdq:
            problems.append(f"size {h['size']:#x}, expected {self.statq - self.cmdq:#x} (the status queue follows)")
        if h["entryOff"] % PAGE or not PAGE <= h["entryOff"] < h["size"]:
            problems.append(f"entryOff {h['entryOff']:#x} is not a page inside the queue")
        elif h["msgSize"] == PAGE and h["msgCount"] != (h["size"] - h["entryOff"]) // PAGE:
            problems.append(f"msgCount {h['msgCount']:#x}, expected {(h['size'] - h['entryOff']) // PAGE:#x}")
        if not h["flags"] & self.swap_rx:
            problems.append(f"flags {h['flags']:#x} without MSGQ_FLAGS_SWAP_RX")
        if h["rxHdrOff"] < self.tx_size or h["rxHdrOff"] + 4 > h["entryOff"]:
            problems.append(f"rxHdrOff {h['rxHdrOff']:#x} outside [{self.tx_size:#x}, entryOff)")
        if h["msgCount"] and h["writePtr"] >= h["msgCount"]:
            problems.append(f"writePtr {h['writePtr']:#x} outside the ring of {h['msgCount']:#x}")
        if self.statq + h["size"] > self.r.size:
            problems.append(f"status queue [{self.statq:#x}, +{h['size']:#x}) past the shared region "
                            f"({self.r.size:#x} bytes)")
        if not problems:
            self.size, self.count = h["size"], h["msgCount"]
            self.entry_off, self.rx_hdr_off = h["entryOff"], h["rxHdrOff"]
            self._place()
        return problems

    def init_msgq_header(self) -> None:
        """GSP-RM writes the status-queue header (same geometry as the command queue) and zeroes its rx."""
        s = self.statq
        r = self.r
        for off, value in ((self.f_version, self.msgq_version), (self.f_size, self.size),
                           (self.f_msg_size, PAGE), (self.f_msg_count, self.count), (self.f_write_ptr, 0),
                           (self.f_flags, self.swap_rx), (self.f_rx_hdr_off, self.rx_hdr_off),
                           (self.f_entry_off, self.entry_off)):
            r.set_u32(s + off, value)
        r.set_u32(self._gsp_rptr_at, 0)  # GSP's read pointer of the command queue

    # -- pointers (SWAP_RX) ---------------------------------------------------------------------------

    def cpu_write_ptr(self) -> int:
        if self._ptrs is not None:
            return int(_U32.unpack_from(*self._ptrs[0])[0])
        return self.r.u32(self._cmd_wptr_at)

    def set_gsp_read_ptr(self, value: int) -> None:
        if self._ptrs is not None:
            _U32.pack_into(*self._ptrs[3], value)
            return
        self.r.set_u32(self._gsp_rptr_at, value)

    def cpu_read_ptr(self) -> int:
        if self._ptrs is not None:
            return int(_U32.unpack_from(*self._ptrs[1])[0])
        return self.r.u32(self._cpu_rptr_at)

    def gsp_write_ptr(self) -> int:
        if self._ptrs is not None:
            return int(_U32.unpack_from(*self._ptrs[2])[0])
        return self.r.u32(self._stat_wptr_at)

    def msgq_free(self) -> int:
        return (self.cpu_read_ptr() + self.count - self.gsp_write_ptr() - 1) % self.count

    # -- elements -----------------------------------------------------------------------------------

    def _slot(self, queue: int, slot: int) -> int:
        return queue + self.entry_off + slot * PAGE

    def read_pages(self, queue: int, slot: int, n: int) -> bytes:
        first = min(n, self.count - slot)
        data = self.r.read(self._slot(queue, slot), first * PAGE)
        if first < n:
            data += self.r.read(self._slot(queue, 0), (n - first) * PAGE)
        return data

    def read_element(self, slot: int, n: int) -> tuple[memoryview, int]:
        """The ``n`` slots of the command element at ``slot`` (wrapping), copied into GSP-RM's read buffer (valid
        until the next call), and the XOR of all its u32 words (0 when its checksum is right)."""
        s = self._in
        first = min(n, self.count - slot)
        pages = self._cmd_pages
        if pages:
            view, count = s.view, self.count
            for k in range(n):
                view[k * PAGE:(k + 1) * PAGE] = pages[(slot + k) % count]
        else:
            self.r.read_into(self._cmd_slots + slot * PAGE, first * PAGE, s.view)
            if first < n:
                self.r.read_into(self._cmd_slots, (n - first) * PAGE, s.view[first * PAGE:])
        return s.view[:n * PAGE], s.xor(n * PAGE)

    def head(self, slot: int) -> tuple[int, int]:
        """(elemCount, seqNum) of the command element at ``slot``."""
        if self._cmd_pages:
            count, seq = self._head(self._cmd_pages[slot])
        else:
            count, seq = self._head.read(self.r, self._cmd_slots + slot * PAGE)
        return count, seq

    def parse(self, slot: int, data: bytes | memoryview) -> Element:
        count, seq, function, length, result, result_private, rpc_seq, hv, sig = self._el_fields(data)
        end = min(self.el_hdr + length, len(data))
        return Element(slot, count, seq, function, length, result, result_private, rpc_seq, hv, sig,
                       bytes(data[self.el_hdr + self.rpc_size:end]))

    def build(self, *, seq: int, function: int, result: int, rpc_seq: int, payload: bytes,
              header_version: int, signature: int, result_private: int = 0) -> tuple[bytearray, int]:
        """A status element (zero-padded to whole pages) with its checksum; returns (bytes, elemCount)."""
        view, n = self.stage(seq=seq, function=function, result=result, rpc_seq=rpc_seq, payload=payload,
                             header_version=header_version, signature=signature, result_private=result_private)
        return bytearray(view), n

    def stage(self, *, seq: int, function: int, result: int, rpc_seq: int, payload: bytes,
              header_version: int, signature: int, result_private: int = 0) -> tuple[memoryview, int]:
        """:meth:`build` in GSP-RM's write buffer: a view of the element (valid until the next call) and its
        elemCount."""
        length = self.rpc_size + len(payload)
        end = self.el_hdr + length
        n = -(-end // PAGE)
        s = self._out
        buf = s.view[:n * PAGE]
        buf[:] = _ZEROS[:n * PAGE]  # the bytes between the fields (the checksum's too) and the padding are 0
        self._build_at.pack_into(buf, seq, n, header_version, signature, length, function, result, result_private,
                                 rpc_seq)
        buf[self.el_hdr + self.rpc_size:end] = payload
        # makes the element XOR to 0 (the zero padding after the RPC adds nothing to the XOR)
        _U32.pack_into(buf, self.el_checksum, int(s.reduce(s.words[:(end + 3) >> 2])))
        return buf, n

    def write_status(self, data: bytes | bytearray | memoryview, n: int) -> None:
        """Put an element at the status queue's write pointer (wrapping) and advance it by ``n``."""
        data = memoryview(data)
        pages, ptrs = self._stat_pages, self._ptrs
        if pages and ptrs is not None:
            count = self.count
            view, at = ptrs[2]
            w = _U32.unpack_from(view, at)[0]
            for k in range(n):
                pages[(w + k) % count][:] = data[k * PAGE:(k + 1) * PAGE]
            _U32.pack_into(view, at, (w + n) % count)
            return
        w = self.gsp_write_ptr()
        first = min(n, self.count - w)
        r = self.r
        r.write(self._stat_slots + w * PAGE, data[:first * PAGE])
        if first < n:
            r.write(self._stat_slots, data[first * PAGE:n * PAGE])
        r.set_u32(self._stat_wptr_at, (w + n) % self.count)
