"""nova_core.sim.gsp_rm.logs: the simulated GSP-RM's libos log rings (LOGINIT, LOGINTR, LOGRM).

Record format (reference §6; OpenRM ``liblogdecode.c`` ``libosExtractLog_ReadRecord``, ``libos_log.h``):
a log buffer is u64 words; word 0 is the put pointer (words written since boot, monotonic), the ring
is the n = size/8 - 1 words after it, word ``put`` landing at index 1 + (put mod n). A record is written
forward as ``args..., metadata pointer, timestamp``; a decoder walks back from put: timestamp, the
metadata pointer, then ``argumentCount`` arguments (taken from the metadata, last first).

The metadata pointer is a GSP virtual address of a ``libosLogMetadata`` {filename, format, lineNumber,
argumentCount, printLevel} in the task's logging ELF (a ``.fwlogging_*`` section of the ``gsp_log_*.bin``
container). linux-firmware ships no logging ELF, so the sim keeps its own formats in :class:`LogFormats`, laid
out as a task ELF's logging sections would be (:meth:`LogFormats.section` gives the bytes and base address;
``nova_core.sim.synth.logging_elf`` wraps them as OpenRM's file), so a decoder can be tested end to end.

Before writing, GSP-RM maps the buffer through the page list the driver put at word 1 onwards (nouveau
``create_pte_array``): the sim checks that list (each entry mapped, page aligned) and then overwrites it
with records, as the real firmware does.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass
from types import ModuleType

from ...errors import SimViolation
from ..memory import SimSystemMemory
from .wire import PAGE, PagedRegion

LOG_SECTION_BASE = 0x8100_0000  #: GSP VA of the sim's metadata section (a sim choice)

#: (key, file, line, level, format) of what the simulated GSP-RM logs; arguments are u64; levels are RM's
#: LEVEL_* (nvprintf_level.h: 1 INFO, 2 NOTICE, 3 WARNING, 4 ERROR, 5 HW_ERROR, 6 FATAL)
FORMATS: list[tuple[str, str, int, int, str]] = [
    ("boot", "gsp_init.c", 112, 2, "GSP-RM %u.%u.%02u booting on chip %#x, %u MiB FB\n"),
    ("libos", "gsp_init.c", 140, 2, "libos: %u memory regions, RMARGS at %#llx\n"),
    ("queues", "message_queue_gsp.c", 77, 2, "message queues: shared %#llx, %u PTEs, cmdq %#x, statq %#x\n"),
    ("sysinfo", "gsp_init.c", 301, 2, "SET_SYSTEM_INFO: BAR0 %#llx, BDF %#x\n"),
    ("registry", "gsp_init.c", 330, 2, "SET_REGISTRY: %u entries\n"),
    ("sequencer", "gsp_init.c", 402, 2, "RUN_CPU_SEQUENCER: %u commands\n"),
    ("init_done", "gsp_init.c", 455, 2, "GSP-RM init done\n"),
    ("alloc", "rs_server.c", 1210, 1, "alloc hClient %#x hParent %#x hObject %#x class %#x: status %#x\n"),
    ("free", "rs_server.c", 1580, 1, "free hClient %#x hObject %#x: status %#x\n"),
    ("refused", "message_queue_gsp.c", 210, 4, "refused command element at slot %u (function %#x): code %u\n"),
    ("rpc_error", "rpc.c", 640, 4, "RPC function %#x failed: status %#x\n"),
    ("intr", "intr.c", 88, 1, "doorbell: %u command element(s)\n"),
    ("unload", "gsp_init.c", 520, 2, "UNLOADING_GUEST_DRIVER: GSP-RM shutting down\n"),
    ("crash", "gsp_init.c", 600, 6, "GSP-RM halted: error %#x\n"),
]


@dataclass(frozen=True)
class LogFormat:
    key: str
    va: int  #: address of its libosLogMetadata
    file: str
    line: int
    level: int
    format: str
    argc: int


class LogFormats:
    """The sim's logging data: ``libosLogMetadata`` records (``metadata_size`` bytes from the base) followed by
    their strings - what a task logging ELF's ``.logging_metadata`` and ``.logging_const`` sections hold."""

    def __init__(self, m: ModuleType) -> None:
        meta = m.libosLogMetadata
        size = ctypes.sizeof(meta)
        strings = bytearray()
        records = bytearray()
        self.by_key: dict[str, LogFormat] = {}
        self.by_va: dict[int, LogFormat] = {}
        str_base = LOG_SECTION_BASE + size * len(FORMATS)
        for i, (key, file, line, level, fmt) in enumerate(FORMATS):
            argc = fmt.count("%") - 2 * fmt.count("%%")
            file_va = str_base + len(strings)
            strings += file.encode() + b"\0"
            fmt_va = str_base + len(strings)
            strings += fmt.encode() + b"\0"
            rec = meta(filename=file_va, format=fmt_va, lineNumber=line, argumentCount=argc, printLevel=level)
            records += bytes(rec)
            lf = LogFormat(key, LOG_SECTION_BASE + i * size, file, line, level, fmt, argc)
            self.by_key[key] = lf
            self.by_va[lf.va] = lf
        self._section = bytes(records + strings)
        self.metadata_size = len(records)

    def section(self) -> tuple[int, bytes]:
        """(base VA, bytes): the metadata records, then the strings, contiguous at the base."""
        return LOG_SECTION_BASE, self._section


class LibosLog:
    """One log ring in simulated system memory, written as GSP-RM writes it."""

    def __init__(self, name: str, sysmem: SimSystemMemory, pa: int, size: int) -> None:
        if size % PAGE or size < PAGE:
            raise SimViolation(f"libos {name}: size {size:#x} is not a whole number of 4 KiB pages")
        npages = size // PAGE
        head = sysmem.read(pa, PAGE, who=f"GSP-RM {name}")
        if 8 * (npages + 1) > PAGE:
            raise SimViolation(f"libos {name}: {npages} pages do not fit the page list in its first page")
        pages = [int(x) for x in struct.unpack_from(f"<{npages}Q", head, 8)]
        for i, p in enumerate(pages):
            if p % PAGE:
                raise SimViolation(f"libos {name}: page list entry {i} = {p:#x} is not page aligned")
        if pages and pages[0] != pa:
            raise SimViolation(f"libos {name}: page list entry 0 = {pages[0]:#x}, expected the buffer's own "
                               f"address {pa:#x}")
        self.name = name
        self.region = PagedRegion(sysmem, pages, f"GSP-RM {name}")
        self.slots = size // 8 - 1
        self.put = 0
        self.region.set_u64(0, 0)
        self._head = self.region.page(0)  #: the page holding the put pointer (word 0)
        self.records = 0

    def write(self, fmt: LogFormat, args: tuple[int, ...], timestamp: int) -> None:
        if len(args) != fmt.argc:
            raise SimViolation(f"libos {self.name}: format {fmt.key!r} takes {fmt.argc} argument(s), got {len(args)}")
        words = (*args, fmt.va, timestamp)
        k = len(words)
        first = self.put % self.slots
        if first + k <= self.slots:  # no wrap: the record's words in one write
            st = _WORDS.get(k) or _words(k)
            try:
                self.region.pack_into(st, 8 * (1 + first), words)
            except struct.error:  # an argument below 0 or above 64 bits: its low 64 bits, as a slot holds it
                self.region.pack_into(st, 8 * (1 + first), [w & _U64_MAX for w in words])
            self.put += k
        else:
            for word in words:
                self.region.set_u64(8 * (1 + self.put % self.slots), word & _U64_MAX)
                self.put += 1
        _PUT.pack_into(self._head, 0, self.put)  # the put pointer (word 0, in the buffer's first page)
        self.records += 1


_U64_MAX = 0xFFFFFFFFFFFFFFFF
_PUT = struct.Struct("<Q")
_WORDS: dict[int, struct.Struct] = {}


def _words(k: int) -> struct.Struct:
    """``k`` little-endian u64 (one Struct per record length, made once)."""
    st = _WORDS.get(k)
    if st is None:
        st = _WORDS[k] = struct.Struct(f"<{k}Q")
    return st
