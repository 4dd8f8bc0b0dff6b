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

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import DeviceAccessError, ReplayMismatch
from ..regs.pbus import NV_PBUS_BAR0_WINDOW, Bar0WindowTarget
from ..regs.prom import PRAMIN
from .bar import Bar, check_block
from .clock import VirtualClock
from .device import Device, NoDma

TRACE_VERSION = 1


class TraceWriter:
    """Writes a trace file: header first, then one line per access (flushed on close)."""

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise DeviceAccessError(f"cannot write trace {str(self.path)!r}: {exc.strerror}") from exc
        self._fh.write(json.dumps({"nova_trace": TRACE_VERSION, **header}, sort_keys=True) + "\n")
        self.count = 0

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self.count += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


class RecordingBar:
    """Wraps a ``Bar``, passing every access through and recording it to a :class:`TraceWriter` (``bar``: which
    BAR it is, written into each entry unless it is BAR0)."""

    def __init__(self, inner: Bar, writer: TraceWriter, *, bar: int = 0) -> None:
        self.inner = inner
        self.writer = writer
        self._tag: dict[str, Any] = {} if bar == 0 else {"bar": bar}

    @property
    def size(self) -> int:
        return self.inner.size

    def read32(self, offset: int) -> int:
        value = self.inner.read32(offset)
        self.writer.write({"op": "r32", "off": offset, "val": value, **self._tag})
        return value

    def write32(self, offset: int, value: int) -> None:
        self.inner.write32(offset, value)
        self.writer.write({"op": "w32", "off": offset, "val": value, **self._tag})

    def read_block(self, offset: int, length: int) -> bytes:
        data = self.inner.read_block(offset, length)
        self.writer.write({"op": "rblk", "off": offset, "len": length, "data": data.hex(), **self._tag})
        return data

    def write_block(self, offset: int, data: bytes) -> None:
        self.inner.write_block(offset, data)
        self.writer.write({"op": "wblk", "off": offset, "data": bytes(data).hex(), **self._tag})


def read_trace(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Load a trace file; returns ``(header, entries)``. Malformed files raise ``DeviceAccessError``."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DeviceAccessError(f"cannot read trace {str(p)!r}: {exc.strerror}") from exc
    if not lines:
        raise DeviceAccessError(f"trace {str(p)!r} is empty")
    entries: list[dict[str, Any]] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DeviceAccessError(f"trace {str(p)!r} line {lineno}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise DeviceAccessError(f"trace {str(p)!r} line {lineno}: expected an object")
        entries.append(obj)
    header = entries.pop(0)
    if header.get("nova_trace") != TRACE_VERSION:
        raise DeviceAccessError(
            f"trace {str(p)!r}: header has nova_trace={header.get('nova_trace')!r}, expected {TRACE_VERSION}"
        )
    for i, e in enumerate(entries):
        _validate_entry(p, i, e)
    return header, entries


def _validate_entry(path: Path, index: int, e: dict[str, Any]) -> None:
    op = e.get("op")
    needed = {"r32": ("off", "val"), "w32": ("off", "val"), "rblk": ("off", "len", "data"),
              "wblk": ("off", "data")}.get(op if isinstance(op, str) else "")
    if needed is None:
        raise DeviceAccessError(f"trace {str(path)!r} entry {index}: unknown op {op!r}")
    for key in needed:
        if key not in e:
            raise DeviceAccessError(f"trace {str(path)!r} entry {index}: {op} without {key!r}")
    for key in ("off", "val", "len"):
        if key in e and not (isinstance(e[key], int) and e[key] >= 0):
            raise DeviceAccessError(f"trace {str(path)!r} entry {index}: {key}={e[key]!r} is not a count")
    if e.get("bar", 0) not in (0, 2):
        raise DeviceAccessError(f"trace {str(path)!r} entry {index}: bar={e['bar']!r} (0 or 2 expected)")


class ReplayBar:
    """A ``Bar`` that answers from a recorded trace and checks the code does the same accesses."""

    def __init__(self, entries: Iterable[dict[str, Any]], *, size: int, name: str = "replay") -> None:
        self._entries = list(entries)
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
    ``NV_PBUS_BAR0_WINDOW`` as the hardware does (system-memory targets are left out)."""
    base: int | None = 0
    window = NV_PBUS_BAR0_WINDOW.addr()
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
                 config=dev.config, bar2=None if dev.bar2 is None else RecordingBar(dev.bar2, writer, bar=2))
    rec.on_close(dev.close)
    rec.on_close(writer.close)
    return rec


def open_replay(path: str | Path) -> Device:
    """A device that replays ``path``: answers from the trace, on virtual time, with no DMA (BAR0 and BAR2 each
    replay their own entries, in order)."""
    header, entries = read_trace(path)
    size = header.get("bar_size")
    if not isinstance(size, int) or size <= 0:
        raise DeviceAccessError(f"trace {str(path)!r}: header has no valid bar_size")
    bar = ReplayBar([e for e in entries if e.get("bar", 0) == 0], size=size, name=f"replay of {Path(path).name}")
    bar2 = None
    bar2_entries = [e for e in entries if e.get("bar", 0) == 2]
    if bar2_entries:
        size2 = header.get("bar2_size")
        if not isinstance(size2, int) or size2 <= 0:
            raise DeviceAccessError(f"trace {str(path)!r}: BAR2 entries but no valid bar2_size in the header")
        bar2 = ReplayBar(bar2_entries, size=size2, name=f"replay of {Path(path).name} (BAR2)")
    name = str(header.get("device", "replay"))
    return Device(bar0=bar, dma=NoDma("a replayed trace has no DMA memory"), clock=VirtualClock(),
                  name=name, kind="replay", pci_vendor=header.get("pci_vendor"),
                  pci_device=header.get("pci_device"), bar2=bar2)
