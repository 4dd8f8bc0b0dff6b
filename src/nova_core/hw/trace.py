"""nova_core.hw.trace: record every BAR access as plain data, and replay it.

A trace is JSON lines: one header object, then one object per access::

    {"nova_trace": 1, "device": "0000:01:00.0", "kind": "sysfs", "bar_size": 16777216, ...}
    {"op": "r32", "off": 0, "val": 419430561}
    {"op": "w32", "off": 1114176, "val": 1}
    {"op": "rblk", "off": 3145728, "len": 1024, "data": "55aa..."}
    {"op": "wblk", "off": 16773120, "data": "cdabcdab", "bar": 2}

An entry without ``"bar"`` is a BAR0 access; ``"bar": 2`` is one through the BAR2 aperture (instance memory;
the header's ``bar2_size`` gives its size). ``nova boot --record FILE`` records a whole boot and shutdown this
way (every access the driver makes; what the GPU's own firmware and GSP-RM do is not a BAR access of the host).

Record a run on real hardware (``nova probe --device BDF --record probe.jsonl``), commit the trace, and
CI replays it (``--replay probe.jsonl``): the replayed code must perform the same accesses in the same
order, and gets the recorded values back. Any divergence is a :class:`ReplayMismatch` that names the
entry and both sides. Errors are never rebuilt with ``eval``: a trace holds only numbers and hex.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, overload

from ..errors import DeviceAccessError, ReplayMismatch
from ..files import InputFormat, check_output_file, read_input
from ..regs.pbus import NV_PBUS_BAR0_WINDOW, Bar0WindowTarget
from ..regs.prom import PRAMIN
from ..regs.xal import NV_XAL_EP_BAR0_WINDOW, XAL_BAR0_WINDOW_BASE_SHIFT
from .bar import Bar, check_block
from .clock import VirtualClock
from .device import Device, NoDma

TRACE_VERSION = 1


class TraceWriter:
    """Writes a trace file: header first, then one line per access (flushed on close). ``lock`` makes an access
    and its line one step: a device used from several threads (the boot's interrupt handlers) records its accesses
    in the order the device saw them, one whole line each."""

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.path = check_output_file(Path(path), "trace", DeviceAccessError)
        try:
            self._fh: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise DeviceAccessError(f"cannot write trace {str(self.path)!r}: {exc.strerror}") from exc
        self._fh.write(json.dumps({"nova_trace": TRACE_VERSION, **header}, sort_keys=True) + "\n")
        self.count = 0
        self.lock = threading.RLock()

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


class RecordingBar:
    """Wraps a ``Bar``, passing every access through and recording it to a :class:`TraceWriter` (``bar``: which
    BAR it is, written into each entry unless it is BAR0)."""

    #: not buffer-backed: register reads come through :meth:`read32` (see ``regs.core._make_read``)
    words32: memoryview | None = None

    def __init__(self, inner: Bar, writer: TraceWriter, *, bar: int = 0) -> None:
        self.inner = inner
        self.writer = writer
        self._tag: dict[str, Any] = {} if bar == 0 else {"bar": bar}

    @property
    def size(self) -> int:
        return self.inner.size

    def read32(self, offset: int) -> int:
        with self.writer.lock:
            value = self.inner.read32(offset)
            self.writer.write({"op": "r32", "off": offset, "val": value, **self._tag})
        return value

    def write32(self, offset: int, value: int) -> None:
        with self.writer.lock:
            self.inner.write32(offset, value)
            self.writer.write({"op": "w32", "off": offset, "val": value, **self._tag})

    def read_block(self, offset: int, length: int) -> bytes:
        with self.writer.lock:
            data = self.inner.read_block(offset, length)
            self.writer.write({"op": "rblk", "off": offset, "len": length, "data": data.hex(), **self._tag})
        return data

    def write_block(self, offset: int, data: bytes) -> None:
        with self.writer.lock:
            self.inner.write_block(offset, data)
            self.writer.write({"op": "wblk", "off": offset, "data": bytes(data).hex(), **self._tag})


#: the largest trace read: 64 MiB. A trace line is about 44 bytes; the largest recording a read-only command
#: makes is a whole PROM window read as 32-bit words (1 MiB / 4 = 262,144 r32 lines, 11.5 MiB; ``nova vbios
#: --record`` of a real ROM reads less); the cap is 5x that, and bounds the entries held (about 1.5 M).
MAX_TRACE = 64 << 20
TRACE_FILE = InputFormat("replay trace", MAX_TRACE, "5x a whole 1 MiB PROM window read as 32-bit words",
                         DeviceAccessError)
_U32 = 1 << 32
_HEX = re.compile(r"[0-9a-fA-F]*")
_OPS = ("r32", "w32", "rblk", "wblk")
#: an r32/w32 line exactly as :class:`TraceWriter` writes it (validated like any other entry afterwards)
_FAST_LINE = re.compile(rb'\{"op":"([rw]32)","off":(\d{1,20}),"val":(\d{1,20})\}\r?\n?')
#: what each op carries: key -> the bound on its value (``None``: a hex string)
_ENTRY_KEYS: dict[str, dict[str, int | None]] = {
    "r32": {"off": _U32, "val": _U32}, "w32": {"off": _U32, "val": _U32},
    "rblk": {"off": _U32, "len": _U32, "data": None}, "wblk": {"off": _U32, "data": None},
}


class TraceEntries(Sequence[dict[str, Any]]):
    """The accesses of a trace, held compactly (an op byte and two u64 per access, block data apart): a
    ``Sequence`` of the entry objects as the writer wrote them, each made when asked for."""

    def __init__(self) -> None:
        self._op = array("B")
        self._off = array("Q")
        self._num = array("Q")  #: val (r32/w32) or len (rblk)
        self._bar2: set[int] = set()  #: indices of BAR2 accesses (the rest are BAR0's)
        self._data: dict[int, str] = {}

    def append(self, e: dict[str, Any]) -> None:
        """Add a validated entry."""
        op = e["op"]
        if "data" in e:
            self._data[len(self._op)] = e["data"]
        if e.get("bar", 0) == 2:
            self._bar2.add(len(self._op))
        self._op.append(_OPS.index(op))
        self._off.append(e["off"])
        self._num.append(e.get("val", e.get("len", 0)))

    def add_word(self, write: bool, off: int, val: int) -> None:
        """Add a validated r32 (``write`` false) or w32."""
        self._op.append(write)
        self._off.append(off)
        self._num.append(val)

    def __len__(self) -> int:
        return len(self._op)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        op = _OPS[self._op[index]]
        i = index % len(self)
        e: dict[str, Any] = {"op": op, "off": self._off[i]}
        if op in ("r32", "w32"):
            e["val"] = self._num[i]
        elif op == "rblk":
            e["len"] = self._num[i]
        if i in self._data:
            e["data"] = self._data[i]
        if i in self._bar2:
            e["bar"] = 2
        return e

    def select(self, bar: int) -> TraceEntries:
        """The accesses to BAR ``bar`` (0 or 2), in their order."""
        if bar == 0 and not self._bar2:
            return self
        out = TraceEntries()
        for i in range(len(self)):
            if (i in self._bar2) == (bar == 2):
                out.append(self[i])
        return out


def read_trace(path: str | Path) -> tuple[dict[str, Any], TraceEntries]:
    """Load a trace file; returns ``(header, entries)``.

    Raises:
        DeviceAccessError: the file cannot be read or is not a regular file within :data:`MAX_TRACE`; a line
            that is not UTF-8, not JSON (nested too deep included) or not an object; a header that is not this
            trace version; an entry whose op, offset, value, length or data is not what a recording writes
            (u32 values, hex data of the stated length, offsets inside the BAR).
    """
    p = Path(path)
    raw = read_input(p, TRACE_FILE)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        raise DeviceAccessError(f"trace {str(p)!r} line {bad_line}: not UTF-8 text (byte {raw[exc.start]:#04x} at "
                                f"offset {exc.start:#x}): not a trace") from None
    header: dict[str, Any] | None = None
    entries = TraceEntries()
    fast = _FAST_LINE.fullmatch
    last_word = 0
    for lineno, line in enumerate(io.BytesIO(raw), 1):
        m = fast(line) if header is not None else None
        if m is not None:  # the writer's own r32/w32 line, checked here without a JSON parse (the bulk of a trace)
            off, val = int(m[2]), int(m[3])
            if off <= last_word and val < _U32:
                entries.add_word(m[1] == b"w32", off, val)
                continue
        if not line.strip():
            continue
        obj = _parse_line(p, lineno, line)
        if header is None:
            header = _check_header(p, obj)
            last_word = header["bar_size"] - 4
        else:
            _validate_entry(p, len(entries), obj, header["bar_size"], header.get("bar2_size"))
            entries.append(obj)
    if header is None:
        raise DeviceAccessError(f"trace {str(p)!r} has no header line (only blank lines)")
    return header, entries


def _parse_line(path: Path, lineno: int, line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DeviceAccessError(f"trace {str(path)!r} line {lineno}: not JSON ({exc.msg})") from None
    except RecursionError:
        raise DeviceAccessError(f"trace {str(path)!r} line {lineno}: JSON nested too deeply (a trace line is one "
                                f"flat object)") from None
    if not isinstance(obj, dict):
        raise DeviceAccessError(f"trace {str(path)!r} line {lineno}: expected an object, found "
                                f"{type(obj).__name__}")
    return obj


def _is_count(v: Any, bound: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < bound


def _check_header(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    if header.get("nova_trace") != TRACE_VERSION:
        raise DeviceAccessError(
            f"trace {str(path)!r}: header has nova_trace={header.get('nova_trace')!r}, expected {TRACE_VERSION}"
        )
    size = header.get("bar_size")
    if not _is_count(size, 1 << 40) or size == 0:
        raise DeviceAccessError(f"trace {str(path)!r}: header has no valid bar_size ({size!r})")
    size2 = header.get("bar2_size")
    if size2 is not None and (not _is_count(size2, 1 << 40) or size2 == 0):
        raise DeviceAccessError(f"trace {str(path)!r}: header has an invalid bar2_size ({size2!r})")
    for key in ("pci_vendor", "pci_device"):
        if header.get(key) is not None and not _is_count(header[key], 1 << 16):
            raise DeviceAccessError(f"trace {str(path)!r}: header {key}={header[key]!r} is not a 16-bit PCI id")
    return header


def _validate_entry(path: Path, index: int, e: dict[str, Any], bar_size: int, bar2_size: int | None) -> None:
    op = e.get("op")
    needed = _ENTRY_KEYS.get(op) if isinstance(op, str) else None
    where = f"trace {str(path)!r} entry {index}"
    if needed is None:
        raise DeviceAccessError(f"{where}: unknown op {op!r}")
    for key, bound in needed.items():
        if key not in e:
            raise DeviceAccessError(f"{where}: {op} without {key!r}")
        v = e[key]
        if bound is None:
            if not isinstance(v, str) or len(v) % 2 or not _is_hex(v):
                raise DeviceAccessError(f"{where}: {key} is not a hex string of whole bytes")
        elif not _is_count(v, bound):
            raise DeviceAccessError(f"{where}: {key}={v!r} is not a u32 (0 to 0xffffffff)")
    bar = e.get("bar", 0)
    if bar not in (0, 2) or isinstance(bar, bool):
        raise DeviceAccessError(f"{where}: bar={bar!r} (0 or 2 expected)")
    size = bar_size if bar == 0 else bar2_size
    if size is None:
        raise DeviceAccessError(f"{where}: a BAR2 access, but the header has no bar2_size")
    width = e["len"] if op == "rblk" else len(e["data"]) // 2 if op == "wblk" else 4
    if e["off"] + width > size:
        raise DeviceAccessError(f"{where}: {op} at {e['off']:#x} (+{width:#x}) is outside the "
                                f"{size:#x}-byte BAR{bar} of the header")
    if op == "rblk" and len(e["data"]) != 2 * e["len"]:
        raise DeviceAccessError(f"{where}: rblk of {e['len']:#x} bytes carries {len(e['data']) // 2:#x}")


def _is_hex(text: str) -> bool:
    return _HEX.fullmatch(text) is not None


class ReplayBar:
    """A ``Bar`` that answers from a recorded trace and checks the code does the same accesses."""

    #: not buffer-backed: register reads come through :meth:`read32` (see ``regs.core._make_read``)
    words32: memoryview | None = None

    def __init__(self, entries: Iterable[dict[str, Any]], *, size: int, name: str = "replay") -> None:
        self._entries: Sequence[dict[str, Any]] = entries if isinstance(entries, TraceEntries) else list(entries)
        self._pos = 0
        self._size = size
        self.name = name

    @property
    def size(self) -> int:
        return self._size

    @property
    def remaining(self) -> int:
        return len(self._entries) - self._pos

    def _next(self, doing: str, op: str, offset: int) -> dict[str, Any]:
        if self._pos >= len(self._entries):
            raise ReplayMismatch(
                f"{self.name}: trace exhausted after {len(self._entries)} entries; the code then did {doing}"
            )
        entry = self._entries[self._pos]
        if entry["op"] != op or entry["off"] != offset:
            raise ReplayMismatch(
                f"{self.name}: entry {self._pos} recorded {_describe(entry)}, but the code did {doing}"
            )
        self._pos += 1
        return entry

    def read32(self, offset: int) -> int:
        return int(self._next(f"r32 {offset:#x}", "r32", offset)["val"])

    def write32(self, offset: int, value: int) -> None:
        entry = self._next(f"w32 {offset:#x} = {value:#x}", "w32", offset)
        if entry["val"] != value:
            raise ReplayMismatch(
                f"{self.name}: entry {self._pos - 1} recorded w32 {offset:#x} = {entry['val']:#x}, "
                f"but the code wrote {value:#x}"
            )

    def read_block(self, offset: int, length: int) -> bytes:
        check_block(self._size, offset, length, self.name)
        entry = self._next(f"rblk {offset:#x} +{length:#x}", "rblk", offset)
        data = bytes.fromhex(entry["data"])
        if entry["len"] != length or len(data) != length:
            raise ReplayMismatch(
                f"{self.name}: entry {self._pos - 1} recorded rblk of {entry['len']:#x} bytes, "
                f"the code asked for {length:#x}"
            )
        return data

    def write_block(self, offset: int, data: bytes) -> None:
        entry = self._next(f"wblk {offset:#x} +{len(data):#x}", "wblk", offset)
        if bytes.fromhex(entry["data"]) != bytes(data):
            raise ReplayMismatch(f"{self.name}: entry {self._pos - 1}: block written differs from the trace")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._entries)


def pramin_writes(entries: Iterable[dict[str, Any]]) -> list[tuple[int, int]]:
    """``(VRAM address, length)`` of every write the trace makes through the PRAMIN window into VRAM, following
    ``NV_PBUS_BAR0_WINDOW`` as the hardware does (system-memory targets are left out) - and, from Hopper on,
    ``NV_XAL_EP_BAR0_WINDOW`` (always VRAM). A trace of one chip moves the window through one of them only."""
    base: int | None = 0
    window, xal_window = NV_PBUS_BAR0_WINDOW.addr(), NV_XAL_EP_BAR0_WINDOW.addr()
    out: list[tuple[int, int]] = []
    for e in entries:
        if e.get("bar", 0) != 0 or e["op"] not in ("w32", "wblk"):
            continue
        off = e["off"]
        if off == window and e["op"] == "w32":
            v = e["val"]
            vid = NV_PBUS_BAR0_WINDOW.target.get(v) == Bar0WindowTarget.VID_MEM
            base = NV_PBUS_BAR0_WINDOW.base_.get(v) << 16 if vid else None
            continue
        if off == xal_window and e["op"] == "w32":
            base = NV_XAL_EP_BAR0_WINDOW.base_.get(e["val"]) << XAL_BAR0_WINDOW_BASE_SHIFT
            continue
        length = 4 if e["op"] == "w32" else len(e["data"]) // 2
        if base is not None and PRAMIN.start <= off < PRAMIN.start + PRAMIN.size:
            out.append((base + off - PRAMIN.start, length))
    return out


def _describe(entry: dict[str, Any]) -> str:
    op = entry["op"]
    if op in ("r32", "w32"):
        sep = " -> " if op == "r32" else " = "
        return f"{op} {entry['off']:#x}{sep}{entry['val']:#x}"
    return f"{op} {entry['off']:#x}"


def record_device(dev: Device, path: str | os.PathLike[str], **header: Any) -> Device:
    """Return a view of ``dev`` whose BAR0 and BAR2 accesses are recorded to ``path`` (closed with the device);
    ``header`` adds keys to the trace's header line."""
    writer = TraceWriter(path, {
        "device": dev.name, "kind": dev.kind, "bar_size": dev.bar0.size,
        "pci_vendor": dev.pci_vendor, "pci_device": dev.pci_device,
        **({} if dev.bar2 is None else {"bar2_size": dev.bar2.size}), **header,
    })
    rec = Device(bar0=RecordingBar(dev.bar0, writer), dma=dev.dma, clock=dev.clock, name=dev.name,
                 kind=dev.kind, pci_vendor=dev.pci_vendor, pci_device=dev.pci_device, sim=dev.sim,
                 config=dev.config, bar2=None if dev.bar2 is None else RecordingBar(dev.bar2, writer, bar=2),
                 vfio=dev.vfio, msi_sink=dev.msi_sink)  # its interrupts are the device's
    rec.on_close(dev.close)
    rec.on_close(writer.close)
    return rec


def open_replay(path: str | Path) -> Device:
    """A device that replays ``path``: answers from the trace, on virtual time, with no DMA (BAR0 and BAR2 each
    replay their own entries, in order)."""
    header, entries = read_trace(path)
    name = f"replay of {Path(path).name}"
    bar = ReplayBar(entries.select(0), size=header["bar_size"], name=name)
    bar2_entries = entries.select(2)
    bar2 = None
    if len(bar2_entries):
        bar2 = ReplayBar(bar2_entries, size=header["bar2_size"], name=f"{name} (BAR2)")
    name = str(header.get("device", "replay"))
    return Device(bar0=bar, dma=NoDma("a replayed trace has no DMA memory"), clock=VirtualClock(),
                  name=name, kind="replay", pci_vendor=header.get("pci_vendor"),
                  pci_device=header.get("pci_device"), bar2=bar2)
