"""nova_core.gsp.logs: GSP-RM's libos log rings (LOGINIT, LOGINTR, LOGRM) read as records, decoded with a logging ELF.

A ring (reference §6; OpenRM ``libos_log.h``, ``liblogdecode.c`` ``libosExtractLog_ReadRecord``) is u64 words:
word 0 is the put pointer - words written since boot, monotonic - and the ``n = size/8 - 1`` words after it are
the ring, word number ``k`` stored at index ``1 + k mod n``. GSP-RM writes a record forward as
``args..., metadata pointer, timestamp``; a reader walks back from ``put``: the timestamp, the metadata pointer,
then the ``argumentCount`` arguments the metadata names. The metadata pointer is a GSP virtual address of a
``libosLogMetadata`` {filename, format, lineNumber, argumentCount, printLevel} in the firmware's *logging ELF*
(its ``.fwlogging_*`` sections); format and file name are pointers to C strings there too.

So without that ELF the record boundaries are unknown - the argument counts live only in it. linux-firmware
ships no logging ELF, and :func:`read_log` then reports what the ring truthfully carries: the put pointer and
the raw words, oldest first (``records`` empty, ``note`` saying why). With a :class:`LogDecoder` the records are
delimited, and formatted with their printf format. Every walk is bounded by the ring size; a pointer outside the
ELF, an argument count that overruns the words left, a put pointer that cannot be right: a precise
:class:`~nova_core.errors.GspError` or a record marked undecodable - never an IndexError.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FirmwareError, GspError
from ..firmware.elf import ElfFile

LOG_SECTION_PREFIX = ".fwlogging_"
METADATA = struct.Struct("<QQIBB2x")  #: libosLogMetadata (OpenRM libos_log.h; 0x18 bytes in every version)
MAX_STRING = 4096  #: longest C string read from the ELF
LEVELS = {0: "DEBUG", 1: "INFO", 2: "NOTICE", 3: "WARN", 4: "ERROR", 5: "FATAL"}  #: sim/OpenRM-style print levels


@dataclass(frozen=True)
class Metadata:
    va: int
    file: str
    format: str
    line: int
    argc: int
    level: int


@dataclass(frozen=True)
class LogRecord:
    """One decoded record: ``seq`` is the word number of its first word (monotonic since boot)."""

    seq: int
    timestamp: int
    metadata_va: int
    args: tuple[int, ...]
    meta: Metadata | None
    text: str

    def render(self) -> str:
        if self.meta is None:
            return f"[{self.timestamp:>16}] ?      <metadata {self.metadata_va:#x} unknown> args {list(self.args)}"
        lvl = LEVELS.get(self.meta.level, f"L{self.meta.level}")
        return f"[{self.timestamp:>16}] {lvl:<6} {self.meta.file}:{self.meta.line} {self.text.rstrip()}"

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "timestamp": self.timestamp, "metadata": self.metadata_va, "args": list(self.args),
                "file": None if self.meta is None else self.meta.file,
                "line": None if self.meta is None else self.meta.line,
                "level": None if self.meta is None else self.meta.level, "text": self.text}


@dataclass
class LogSnapshot:
    """A ring as read at one moment (a copy: consistent even while GSP-RM writes)."""

    name: str
    size: int
    put: int
    words: tuple[int, ...]  #: the valid words, oldest first (at most ``size/8 - 1``)
    records: list[LogRecord] = field(default_factory=list)
    note: str = ""

    @property
    def wrapped(self) -> bool:
        return self.put > self.slots

    @property
    def slots(self) -> int:
        return self.size // 8 - 1

    def render(self, *, last: int | None = None) -> list[str]:
        head = (f"{self.name}: put {self.put} word(s), ring of {self.slots}"
                + (", wrapped" if self.wrapped else "") + (f"; {self.note}" if self.note else ""))
        if self.records:
            recs = self.records if last is None else self.records[-last:]
            return [head, *(r.render() for r in recs)]
        words = self.words if last is None else self.words[-last:]
        return [head, *(f"  word {self.put - len(words) + i}: {w:#018x}" for i, w in enumerate(words))]

    def as_json(self, *, last: int | None = None) -> dict[str, Any]:
        recs = self.records if last is None else self.records[-last:]
        return {"name": self.name, "size": self.size, "put": self.put, "wrapped": self.wrapped, "note": self.note,
                "records": [r.as_json() for r in recs],
                "words": [] if self.records else list(self.words if last is None else self.words[-last:])}


class LogDecoder:
    """The formats of a logging ELF: ``libosLogMetadata`` and strings by GSP virtual address."""

    def __init__(self, elf: ElfFile, *, source: str = "<logging ELF>") -> None:
        self.source = source
        self._ranges: list[tuple[int, int, bytes]] = []
        for s in elf:
            if s.has_data and s.addr and s.size:
                self._ranges.append((s.addr, s.addr + s.size, bytes(s.data)))
        if not any(s.name.startswith(LOG_SECTION_PREFIX) for s in elf):
            raise FirmwareError(f"{source}: no {LOG_SECTION_PREFIX}* section: not a GSP-RM logging ELF "
                                f"(sections: {', '.join(elf.section_names) or 'none'})")
        self._ranges.sort()
        self._cache: dict[int, Metadata | None] = {}

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "<logging ELF>") -> LogDecoder:
        return cls(ElfFile(data, source=source), source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> LogDecoder:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as e:
            raise FirmwareError(f"cannot read logging ELF {str(p)!r}: {e.strerror}") from e
        return cls.from_bytes(data, source=str(p))

    def _read(self, va: int, length: int) -> bytes | None:
        for lo, hi, data in self._ranges:
            if lo <= va and va + length <= hi:
                return data[va - lo:va - lo + length]
        return None

    def string(self, va: int) -> str | None:
        for lo, hi, data in self._ranges:
            if lo <= va < hi:
                raw = data[va - lo:min(hi - lo, va - lo + MAX_STRING)]
                return raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return None

    def metadata(self, va: int) -> Metadata | None:
        if va in self._cache:
            return self._cache[va]
        raw = self._read(va, METADATA.size)
        meta = None
        if raw is not None:
            fname, fmt, line, argc, level = METADATA.unpack(raw)
            f, s = self.string(fname), self.string(fmt)
            if f is not None and s is not None:
                meta = Metadata(va, f, s, line, argc, level)
        self._cache[va] = meta
        return meta

    def format(self, fmt: str, args: tuple[int, ...]) -> str:
        return format_printf(fmt, args, self.string)


def _words(data: bytes | bytearray | memoryview, name: str) -> tuple[int, tuple[int, ...], int]:
    size = len(data)
    if size < 16 or size % 8:
        raise GspError(f"{name}: a log ring of {size} bytes (a multiple of 8, at least 16, expected)")
    slots = size // 8 - 1
    put = int.from_bytes(bytes(data[:8]), "little")
    if put > 1 << 62:
        raise GspError(f"{name}: put pointer {put:#x} is not a word count GSP-RM can have reached (corrupt ring?)")
    n = min(put, slots)
    ring = struct.unpack_from(f"<{slots}Q", data, 8)
    first = put - n
    return put, tuple(ring[(first + i) % slots] for i in range(n)), slots


def read_log(name: str, data: bytes | bytearray | memoryview, decoder: LogDecoder | None = None) -> LogSnapshot:
    """The ring ``name`` from its bytes (copy them first when GSP-RM may be writing), as records when
    ``decoder`` knows the formats, else as words (see the module docstring).

    Raises:
        GspError: the buffer cannot be a log ring (size, put pointer).
    """
    put, words, _slots = _words(data, name)
    snap = LogSnapshot(name, len(data), put, words)
    if decoder is None:
        snap.note = ("no logging ELF: record boundaries and formats are unknown (linux-firmware ships none; "
                     "pass one with --log-elf)")
        return snap
    recs: list[LogRecord] = []
    i = len(words)  # walk back from the newest word
    while i >= 2:
        ts, va = words[i - 1], words[i - 2]
        meta = decoder.metadata(va)
        if meta is None:
            snap.note = (f"word {put - len(words) + i - 2}: metadata pointer {va:#x} is outside {decoder.source}; "
                         f"older records not decoded")
            break
        if meta.argc > i - 2:
            if len(words) < put:  # the ring wrapped: the oldest record lost its first words
                snap.note = "the oldest record was partly overwritten (the ring wrapped)"
            else:
                snap.note = (f"word {put - len(words) + i - 2}: metadata {va:#x} wants {meta.argc} argument(s), "
                             f"only {i - 2} word(s) precede it (corrupt ring?)")
            break
        args = tuple(words[i - 2 - meta.argc:i - 2])
        seq = put - len(words) + i - 2 - meta.argc
        recs.append(LogRecord(seq, ts, va, args, meta, decoder.format(meta.format, args)))
        i -= 2 + meta.argc
    else:
        if i > 0:
            snap.note = (f"{i} older word(s): the rest of a record the ring overwrote (it wrapped); the oldest "
                         f"record was partly overwritten" if len(words) < put else
                         f"{i} word(s) before the oldest record do not form a record (corrupt ring?)")
    recs.reverse()
    snap.records = recs
    return snap


def read_logs(rings: Mapping[str, bytes], decoder: LogDecoder | None = None) -> list[LogSnapshot]:
    """:func:`read_log` for each ring (LOGINIT, LOGINTR, LOGRM order kept)."""
    return [read_log(name, data, decoder) for name, data in rings.items()]


# -- printf ---------------------------------------------------------------------------------------------------

_SPEC = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|z|j|t|L|q)?([diouxXcspn%])")
_BITS = {"hh": 8, "h": 16, None: 32, "l": 64, "ll": 64, "z": 64, "j": 64, "t": 64, "L": 64, "q": 64}


def format_printf(fmt: str, args: tuple[int, ...], string: Any = None) -> str:
    """C printf of u64 ``args`` as GSP-RM's logger passes them; ``string(va)`` resolves ``%s`` pointers.

    Unknown or malformed conversions are kept literally; missing arguments render as ``<missing>``.
    """
    out: list[str] = []
    pos = 0
    it = iter(args)

    def take() -> int | None:
        return next(it, None)

    for m in _SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, length, conv = m.groups()
        if conv == "%":
            out.append("%")
            continue
        if width == "*":
            w = take()
            width = str((w or 0) & 0xFFFF)
        if prec == "*":
            p_ = take()
            prec = str((p_ or 0) & 0xFFFF)
        value = take()
        if value is None:
            out.append("<missing>")
            continue
        bits = _BITS.get(length, 64)
        mask = (1 << bits) - 1
        spec = "%" + (flags or "") + (width or "") + (f".{prec}" if prec is not None else "")
        if conv in "di":
            v = value & mask
            v = v - (1 << bits) if v >> (bits - 1) else v
            out.append((spec + "d") % v)
        elif conv in "ouxX":
            out.append((spec + ("d" if conv == "u" else conv)) % (value & mask))
        elif conv == "p":
            out.append((spec.replace(".", "") + "s") % f"{value:#x}")
        elif conv == "c":
            out.append((spec + "c") % chr(value & 0xFF))
        elif conv == "s":
            s = string(value) if string is not None else None
            out.append((spec + "s") % (s if s is not None else f"<string at {value:#x}>"))
        else:  # %n and friends: never written, shown as is
            out.append(m.group(0))
    out.append(fmt[pos:])
    return "".join(out)
