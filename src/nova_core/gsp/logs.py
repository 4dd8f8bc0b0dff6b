"""nova_core.gsp.logs: GSP-RM's libos log rings (LOGINIT, LOGINTR, LOGRM) read as records, decoded with a logging ELF.

A ring (reference §6; OpenRM ``libos_log.h``, ``liblogdecode.c`` ``libosExtractLog_ReadRecord``) is u64 words:
word 0 is the put pointer - words written since boot, monotonic - and the ``n = size/8 - 1`` words after it are
the ring, word number ``k`` stored at index ``1 + k mod n``. GSP-RM writes a record forward as
``args..., metadata pointer, timestamp``; a reader walks back from ``put``: the timestamp, the metadata pointer,
then the ``argumentCount`` arguments the metadata names (at most ``LIBOS_LOG_MAX_ARGS`` = 20). The metadata
pointer is a GSP virtual address of a ``libosLogMetadata`` {filename, format, lineNumber, argumentCount,
printLevel, specialType} in the firmware's *logging ELF*; format and file name - and every ``%s`` argument - are
pointers to C strings there too.

The logging ELF, as OpenRM finds it (``kernel_gsp.c`` ``GSP_LOGGING_SECTION_NAME``, ``logInitValues``;
``liblogdecode.c`` ``_checkIsElfContainer``; ``libelf.c`` ``LibosElfMapVirtual``): the ``gsp_log_*.bin`` file is
an ELF whose ``.fwversion`` names the driver version and whose ``.fwlogging`` section holds the logging ELF; that
one is either a *container* (a ``.fwIsContainerElf`` section, then one nested task ELF per section
``.fwlogging_init`` (LOGINIT), ``.fwlogging_rm`` (LOGINTR and LOGRM) ...) or one task ELF for every ring. A VA
is looked up in the task ELF's program headers first, then its sections' ``sh_addr``. :class:`LogDecoder` takes
any of the three levels (the file, the container, a task ELF).

linux-firmware ships no logging ELF. Without one the record boundaries are unknown - the argument counts live
only there - and :func:`read_log` reports what the ring truthfully carries: the put pointer and the raw words,
oldest first (``records`` empty, ``note`` saying why). With a decoder the records are delimited and formatted
as OpenRM's decoder does (its printf: every argument is the whole u64, length modifiers are parsed and ignored).
Every walk is bounded by the ring size; a pointer outside the ELF, an argument count over the maximum or over
the words left, a put pointer that cannot be right: a precise :class:`~nova_core.errors.GspError`, or the walk
stops with a ``note`` naming the word - never an IndexError.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FirmwareError, GspError
from ..files import InputFormat, read_input
from ..firmware.elf import ElfFile
from ..hw.dma import DmaBuffer

# -- facts (OpenRM 535.113.01 .. 570.144) ---------------------------------------------------------------------

VERSION_SECTION = ".fwversion"  #: GSP_VERSION_SECTION_NAME (g_kernel_gsp_nvoc.h)
LOGGING_SECTION = ".fwlogging"  #: GSP_LOGGING_SECTION_NAME: the logging ELF inside gsp_log_*.bin
CONTAINER_MARK = ".fwIsContainerElf"  #: liblogdecode.c _checkIsElfContainer
#: ring -> its task's logging ELF inside a container (kernel_gsp.c logInitValues; INTR runs in the RM ELF)
RING_SECTIONS = {"LOGINIT": ".fwlogging_init", "LOGINTR": ".fwlogging_rm", "LOGRM": ".fwlogging_rm",
                 "LOGMNOC": ".fwlogging_mnoc", "LOGVGPU": ".fwlogging_vgpu"}
#: libosLogMetadata (libos_log.h): filename, format (8-aligned pointers), lineNumber (8-aligned u32),
#: argumentCount, printLevel, specialType (r550+; zero padding on r535) - 0x18 bytes in every version
METADATA = struct.Struct("<QQIBBBx")
#: libosLogMetadata_extended: versionExtended (bit 63 set), elfSectionName pointer, then the metadata
EXTENDED = struct.Struct("<QQ")
EXTENDED_FLAG = 0x8000_0000_0000_0000
MAX_ARGS = 20  #: LIBOS_LOG_MAX_ARGS (liblogdecode.h)
#: printLevel: RM's LEVEL_* (nvprintf_level.h), as liblogdecode's printfLevelToString names them
LEVELS = {0: "SILENT", 1: "INFO", 2: "NOTICE", 3: "WARNING", 4: "ERROR", 5: "HW_ERROR", 6: "FATAL"}
#: specialType (RM_GSP_LOG_SPECIAL_*): (prefix, takes an NV_STATUS argument); the format is then a fixed string
SPECIAL = {1: ("Assertion failed: ", False), 2: ("Assertion failed: ", True),
           3: ("Check failed: ", False), 4: ("Check failed: ", True)}

MAX_STRING = 4096  #: longest C string read from the ELF (a longer one is not a string: bad pointer)
MAX_FIELD = 1024  #: printf widths and precisions are clamped to this (they come from untrusted words)
#: a record's text is cut at this many characters, marked (liblogdecode prints any length through its 128-byte
#: line buffer; here a hostile format of 20 ``%s`` could make 80 KiB of one record): with at most ``slots / 2``
#: records in a 64 KiB ring, a ring renders to at most 16 MiB, whatever the logging ELF says
MAX_MESSAGE = 4096
#: the largest logging ELF read: 128 MiB. It holds the metadata and format strings of GSP-RM's log calls (NVIDIA
#: ships it with its driver as gsp_log_*.bin; linux-firmware does not, and it was not measured here): it cannot
#: outgrow the image whose calls it describes - 63.6 MB measured (ga102 gsp-570.144.bin) - by much.
LOGGING_ELF_FILE = InputFormat("logging ELF", 128 << 20,
                               "2x the largest GSP image measured, 63,571,696 bytes (ga102 gsp-570.144.bin), whose "
                               "log calls it describes", FirmwareError)
MAX_PUT = 1 << 62  #: a put pointer above this is not a count of words written (corrupt ring)


# -- the logging ELF ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metadata:
    """One ``libosLogMetadata``: strings resolved (``None`` when the pointer is outside the ELF)."""

    va: int
    file: str | None
    format: str | None
    format_va: int
    line: int
    argc: int
    level: int
    special: int = 0


class _TaskElf:
    """One task's logging ELF: bytes by GSP virtual address (program headers first, then sections)."""

    def __init__(self, elf: ElfFile, data: memoryview, name: str) -> None:
        self.name = name
        self.ranges: list[tuple[int, int, memoryview]] = []
        for p in elf.segments:
            if p.filesz:
                self.ranges.append((p.vaddr, p.vaddr + p.filesz, data[p.offset:p.offset + p.filesz]))
        for s in elf:
            if s.has_data and s.addr and s.size:
                self.ranges.append((s.addr, s.addr + s.size, s.data))
        self._meta: dict[int, Metadata | None] = {}

    def read(self, va: int, length: int) -> bytes | None:
        for lo, hi, data in self.ranges:
            if lo <= va and va + length <= hi:
                return bytes(data[va - lo:va - lo + length])
        return None

    def string(self, va: int) -> str | None:
        """The NUL-terminated string at ``va``, wholly inside one range, else ``None``."""
        for lo, hi, data in self.ranges:
            if lo <= va < hi:
                raw = bytes(data[va - lo:min(hi - lo, va - lo + MAX_STRING)])
                end = raw.find(b"\0")
                if end >= 0:
                    return raw[:end].decode("utf-8", "replace")
        return None

    def metadata(self, va: int) -> Metadata | None:
        if va not in self._meta:
            self._meta[va] = self._metadata(va)
        return self._meta[va]

    def _metadata(self, va: int) -> Metadata | None:
        raw = self.read(va, METADATA.size)
        if raw is None:
            return None
        fname, fmt, line, argc, level, special = METADATA.unpack(raw)
        file = self.string(fname)
        if file is None and fname == EXTENDED_FLAG:  # libosLogMetadata_extended (liblogdecode _getLoggingMetadata)
            raw = self.read(va + EXTENDED.size, METADATA.size)
            if raw is None:
                return None
            fname, fmt, line, argc, level, special = METADATA.unpack(raw)
            file = self.string(fname)
        return Metadata(va, file, self.string(fmt), fmt, line, argc, level, special)


def _open(data: bytes | bytearray | memoryview, source: str, base: int = 0) -> tuple[ElfFile, memoryview]:
    view = memoryview(data)
    return ElfFile(view, source=source, base=base), view


class LogDecoder:
    """The formats of a logging ELF (``gsp_log_*.bin``, its ``.fwlogging`` container, or one task ELF).

    Raises:
        FirmwareError: not an ELF, or nothing in it is at a virtual address (no formats to decode with).
    """

    def __init__(self, data: bytes | bytearray | memoryview, *, source: str = "<logging ELF>") -> None:
        self.source = source
        self.version: str | None = None  #: the ``.fwversion`` of a gsp_log file
        elf, view = _open(data, source)
        if (sec := elf.get(LOGGING_SECTION)) is not None:
            self.version = self._version(elf)
            if not ElfFile.is_elf(sec.data):
                raise FirmwareError(f"{source}: section {LOGGING_SECTION} at {sec.offset:#x} does not hold an ELF "
                                    f"(starts {bytes(sec.data[:4]).hex()})")
            elf, view = _open(sec.data, source, elf.base + sec.offset)
        self.tasks: dict[str, _TaskElf] = {}  #: container section name -> task ELF ("" when not a container)
        if elf.get(CONTAINER_MARK) is not None:
            for s in elf:
                if s.name.startswith(LOGGING_SECTION + "_") and s.has_data and ElfFile.is_elf(s.data):
                    task, tview = _open(s.data, source, elf.base + s.offset)
                    self.tasks[s.name] = _TaskElf(task, tview, s.name)
        else:
            self.tasks[""] = _TaskElf(elf, view, "")
        if not any(t.ranges for t in self.tasks.values()):
            raise FirmwareError(
                f"{source}: not a GSP logging ELF: no {LOGGING_SECTION} section, no {LOGGING_SECTION}_* task ELF "
                f"in a container, nothing at a virtual address (sections: {', '.join(elf.section_names) or 'none'})")

    @staticmethod
    def _version(elf: ElfFile) -> str | None:
        s = elf.get(VERSION_SECTION)
        if s is None or not 0 < s.size < 64 or s.data[s.size - 1] != 0:
            return None  # OpenRM's sanity check of .fwversion (kernel_gsp.c _kgspFwContainerVerifyVersion)
        return bytes(s.data[:s.size - 1]).decode("ascii", "replace")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, *, source: str = "<logging ELF>") -> LogDecoder:
        return cls(data, source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> LogDecoder:
        """Read a logging ELF (refused up front if it is not a regular file within :data:`LOGGING_ELF_FILE`)."""
        p = Path(path)
        return cls(read_input(p, LOGGING_ELF_FILE), source=str(p))

    def task(self, ring: str) -> _TaskElf | None:
        """The task ELF that decodes ``ring`` (``None``: a container without that ring's section)."""
        if "" in self.tasks:
            return self.tasks[""]
        return self.tasks.get(RING_SECTIONS.get(ring.upper(), ""))

    def metadata(self, va: int, ring: str = "LOGRM") -> Metadata | None:
        t = self.task(ring)
        return None if t is None else t.metadata(va)

    def string(self, va: int, ring: str = "LOGRM") -> str | None:
        t = self.task(ring)
        return None if t is None else t.string(va)

    def message(self, meta: Metadata, args: tuple[int, ...], ring: str = "LOGRM") -> str:
        """The record's text, as liblogdecode prints it (special types' prefixes included)."""
        if meta.format is None:
            return f"<format pointer {meta.format_va:#x} outside {self.source}> args {[hex(a) for a in args]}"
        special = SPECIAL.get(meta.special)
        if special is None:
            t = self.task(ring)
            return format_printf(meta.format, args, None if t is None else t.string)
        prefix, with_status = special
        if with_status:
            if not args:
                return prefix + "<missing status>"
            status = args[0] & 0xFFFF_FFFF
            prefix += f"{_status_string(status, self.version)} (0x{status:08X}) returned from "
        return prefix + meta.format


def _status_string(code: int, version: str | None) -> str:
    """nvstatusToString: ``"text [NAME]"`` (nvstatus.c), from the bindings' NV_STATUS table."""
    from . import bindings

    versions = bindings.supported_versions()
    v = version if version is not None and version in versions else versions[-1]
    entry = bindings.load(v).NV_STATUS.get(code)
    return "Unknown error code!" if entry is None else f"{entry[1]} [{entry[0]}]"


# -- the rings ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogRecord:
    """One decoded record: ``seq`` is the word number of its first word (monotonic since boot)."""

    seq: int
    timestamp: int
    metadata_va: int
    args: tuple[int, ...]
    meta: Metadata
    text: str  #: the formatted message, its newline(s) kept

    @property
    def level(self) -> str:
        return LEVELS.get(self.meta.level, f"LEVEL{self.meta.level}")

    def lines(self) -> list[str]:
        """``[timestamp] LEVEL file:line message``, one per line of the message (as OpenRM splits them)."""
        head = f"[{self.timestamp:>16}] {self.level:<7} {self.meta.file or '?'}:{self.meta.line} "
        return [head + ln for ln in (self.text.rstrip("\n").split("\n") or [""])]

    def render(self) -> str:
        return "\n".join(self.lines())

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "timestamp": self.timestamp, "metadata": self.metadata_va, "args": list(self.args),
                "file": self.meta.file, "line": self.meta.line, "level": self.meta.level,
                "level_name": self.level, "text": self.text}


@dataclass
class LogSnapshot:
    """A ring as read at one moment (a copy: consistent even while GSP-RM writes)."""

    name: str
    size: int
    put: int
    words: tuple[int, ...]  #: the valid words, oldest first (at most ``size/8 - 1``)
    records: list[LogRecord] = field(default_factory=list)
    undecoded: int = 0  #: oldest words not in a decoded record (all of them without a decoder)
    note: str = ""

    @property
    def slots(self) -> int:
        return self.size // 8 - 1

    @property
    def wrapped(self) -> bool:
        return self.put > self.slots

    def render(self, *, last: int | None = None) -> list[str]:
        """A header line, then the records (or, undecoded, the raw words), the newest ``last`` only if given."""
        head = (f"{self.name}: put {self.put} word(s), ring of {self.slots}" + (", wrapped" if self.wrapped else "")
                + (f", {self.undecoded} older word(s) not decoded" if self.records and self.undecoded else "")
                + (f"; {self.note}" if self.note else ""))
        if self.records:
            recs = self.records if last is None else self.records[max(0, len(self.records) - last):]
            return [head, *(ln for r in recs for ln in r.lines())]
        words = self.words if last is None else self.words[max(0, len(self.words) - last):]
        return [head, *(f"  word {self.put - len(words) + i}: {w:#018x}" for i, w in enumerate(words))]

    def as_json(self, *, last: int | None = None) -> dict[str, Any]:
        recs = self.records if last is None else self.records[max(0, len(self.records) - last):]
        raw = self.words if last is None or self.records else self.words[max(0, len(self.words) - last):]
        return {"name": self.name, "size": self.size, "put": self.put, "wrapped": self.wrapped, "note": self.note,
                "records": [r.as_json() for r in recs], "undecoded": self.undecoded,
                "words": [] if self.records else list(raw)}


def _words(data: bytes | bytearray | memoryview, name: str) -> tuple[int, tuple[int, ...]]:
    size = len(data)
    if size < 16 or size % 8:
        raise GspError(f"{name}: a log ring of {size} bytes (a multiple of 8, at least 16, expected)")
    slots = size // 8 - 1
    put = int.from_bytes(bytes(data[:8]), "little")
    if put > MAX_PUT:
        raise GspError(f"{name}: put pointer {put:#x} is not a word count GSP-RM can have reached (corrupt ring?)")
    n = min(put, slots)
    ring = struct.unpack_from(f"<{slots}Q", data, 8)
    first = put - n
    return put, tuple(ring[(first + i) % slots] for i in range(n))


def read_log(name: str, data: bytes | bytearray | memoryview | DmaBuffer,
             decoder: LogDecoder | None = None) -> LogSnapshot:
    """The ring ``name`` (LOGINIT, LOGINTR, LOGRM) from its bytes or its buffer (copied at once), as records
    when ``decoder`` knows the formats, else as words (see the module docstring).

    Raises:
        GspError: the buffer cannot be a log ring (size, put pointer).
    """
    if isinstance(data, DmaBuffer):
        data = data.read(0, data.size)
    else:
        data = bytes(data)  # one copy: the walk sees one moment of a ring GSP-RM may be writing
    put, words = _words(data, name)
    snap = LogSnapshot(name, len(data), put, words, undecoded=len(words))
    if decoder is None:
        snap.note = "no logging ELF: record boundaries and formats are unknown (linux-firmware ships none)"
        return snap
    task = decoder.task(name)
    if task is None:
        snap.note = (f"{decoder.source} has no {RING_SECTIONS.get(name.upper(), name)} task ELF for {name} "
                     f"(it has {', '.join(decoder.tasks) or 'none'})")
        return snap
    first = put - len(words)  # word number of words[0]
    wrapped = len(words) < put
    recs: list[LogRecord] = []
    i = len(words)  # words[:i] are not decoded yet; walk back from the newest
    while i > 0:
        if i < 2:
            snap.note = (f"word {first}: the oldest record lost its first word(s) to the wrap" if wrapped else
                         f"word {first}: one word before the oldest record is not a record (corrupt ring?)")
            break
        ts, va = words[i - 1], words[i - 2]
        meta = task.metadata(va)
        if meta is None or meta.argc > MAX_ARGS:
            what = (f"metadata pointer {va:#x} is outside {decoder.source}" if meta is None else
                    f"metadata {va:#x} has argumentCount {meta.argc} (at most {MAX_ARGS})")
            snap.note = f"word {first + i - 2}: {what}; older words not decoded"
            break
        if meta.argc > i - 2:
            snap.note = (f"word {first}: the oldest record lost its first word(s) to the wrap" if wrapped else
                         f"word {first + i - 2}: metadata {va:#x} wants {meta.argc} argument(s), only {i - 2} "
                         f"word(s) precede it (corrupt ring?)")
            break
        args = tuple(words[i - 2 - meta.argc:i - 2])
        recs.append(LogRecord(first + i - 2 - meta.argc, ts, va, args, meta, decoder.message(meta, args, name)))
        i -= 2 + meta.argc
    recs.reverse()
    snap.records = recs
    snap.undecoded = i
    return snap


def read_logs(rings: Mapping[str, bytes], decoder: LogDecoder | None = None) -> list[LogSnapshot]:
    """:func:`read_log` for each ring (their order kept)."""
    return [read_log(name, data, decoder) for name, data in rings.items()]


# -- printf, as liblogdecode's (a musl-derived printf over u64 arguments) -------------------------------------

_SPEC = re.compile(r"%([-+ #0']*)(\d+|\*)?(?:\.(\d*|\*))?(hh|h|ll|l|j|z|t|L)?([diouxXpcsan%])")


def _clamp(v: int) -> int:
    return min(v, MAX_FIELD)


def format_printf(fmt: str, args: tuple[int, ...], string: Callable[[int], str | None] | None = None) -> str:
    """C printf of u64 ``args`` the way OpenRM's liblogdecode renders them.

    Every argument is the whole u64 (``%x`` of 0x1_0000_00ab is ``1000000ab``, ``%d`` is signed 64-bit);
    ``%p`` is ``%#x``; ``%s`` is a pointer resolved by ``string(va)`` (``(bad-pointer)`` when it does not
    resolve); ``%a`` (a symbol in OpenRM) is shown as ``%#x``; ``%n`` takes an argument and prints nothing.
    Unknown or malformed conversions are kept literally; a missing argument renders as ``<missing>``. Widths and
    precisions are clamped to :data:`MAX_FIELD`, and the text is cut at :data:`MAX_MESSAGE` characters (marked
    ``...[N more]`` with a lower bound of what was cut), so no format costs more than that.
    """
    out: list[str] = []
    pos = 0
    total = counted = 0
    it = iter(args)
    for m in _SPEC.finditer(fmt):
        total += sum(len(x) for x in out[counted:])
        counted = len(out)
        if total > MAX_MESSAGE:
            break
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, _length, conv = m.groups()  # length modifiers: parsed, ignored (OpenRM)
        if conv == "%":
            out.append("%")
            continue
        left, zero = "-" in flags, "0" in flags and "-" not in flags
        w = 0
        if width == "*":
            wa = next(it, None)
            if wa is None:
                out.append("<missing>")
                continue
            ws = (wa & 0xFFFF_FFFF) - ((wa & 0x8000_0000) << 1)  # an int
            left, zero, w = (True, False, -ws) if ws < 0 else (left, zero, ws)
        elif width:
            w = int(width) if len(width) <= 5 else MAX_FIELD  # (a 4000-digit width is parsed as the clamp)
        p = -1
        if prec == "*":
            pa = next(it, None)
            if pa is None:
                out.append("<missing>")
                continue
            ps = (pa & 0xFFFF_FFFF) - ((pa & 0x8000_0000) << 1)
            p = ps if ps >= 0 else -1
        elif prec is not None:
            p = int(prec or "0") if len(prec) <= 5 else MAX_FIELD
        w, p = _clamp(w), _clamp(p)
        value = next(it, None)
        if value is None:
            out.append("<missing>")
            continue
        if conv == "n":
            continue
        prefix = ""
        if conv in "cs":
            zero = False
            if conv == "c":
                body = chr(value & 0xFF)
            else:
                s = string(value) if string is not None else None
                body = "(bad-pointer)" if s is None else s
                if p >= 0:
                    body = body[:p]
        else:
            if conv in "pa":
                conv, flags = "x", flags + "#"
            if conv in "di":
                neg = value > 0x7FFF_FFFF_FFFF_FFFF
                value = (1 << 64) - value if neg else value
                prefix = "-" if neg else "+" if "+" in flags else " " if " " in flags else ""
            if conv in "xX":
                digits = f"{value:x}" if conv == "x" else f"{value:X}"
                if value and "#" in flags:
                    prefix = "0" + conv
            elif conv == "o":
                digits = f"{value:o}"
                if value and "#" in flags:
                    prefix = "0"
            else:
                digits = str(value)
            if value == 0:
                digits = ""
            if p >= 0:
                zero = False
            if value == 0 and p == 0:
                digits = ""
            else:
                p = max(p, len(digits) + (value == 0))
            body = "0" * (max(p, 0) - len(digits)) + digits
        fill = max(0, w - len(prefix) - len(body))
        if left:
            out.append(prefix + body + " " * fill)
        elif zero:
            out.append(prefix + "0" * fill + body)
        else:
            out.append(" " * fill + prefix + body)
    out.append(fmt[pos:])
    text = "".join(out)
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:MAX_MESSAGE]}...[{len(text) - MAX_MESSAGE}{'+' if pos < len(fmt) else ''} more]"
