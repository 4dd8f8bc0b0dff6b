"""GSP-RM's log rings: records decoded end to end with the simulated GSP-RM's logging ELF (OpenRM's
``gsp_log_*.bin`` shape) for every bound version; the honest raw view without an ELF; wrap-around; a crash's
last record; the three shapes of logging ELF; extended metadata, special types, ``%s`` pointers; corrupt
rings and ELFs; OpenRM's printf."""

from __future__ import annotations

import ctypes
import struct
import time
from pathlib import Path

import pytest
from gsp_helpers import SYSINFO, VERSIONS, make
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import FirmwareError, GspError
from nova_core.gsp import bindings
from nova_core.gsp.fw import Nop, SetRegistry, SetSystemInfo
from nova_core.gsp.libos import LibosArgs
from nova_core.gsp.logs import (
    EXTENDED,
    EXTENDED_FLAG,
    MAX_FIELD,
    MAX_MESSAGE,
    METADATA,
    LogDecoder,
    LogRecord,
    format_printf,
    read_log,
    read_logs,
)
from nova_core.sim.gsp_rm.logs import FORMATS, LogFormats
from nova_core.sim.synth.firmware import _elf, _Sec
from nova_core.sim.synth.logging_elf import build_logging_elf, build_task_elf


def _texts(records: list[LogRecord]) -> list[str]:
    return [r.text.rstrip("\n") for r in records]


def _ring(words: list[int], size: int = 0x100, put: int | None = None) -> bytes:
    """A ring holding ``words`` as words 0.. (no wrap), put = their count unless given."""
    ring = bytearray(size)
    struct.pack_into("<Q", ring, 0, len(words) if put is None else put)
    struct.pack_into(f"<{len(words)}Q", ring, 8, *words)
    return bytes(ring)


# -- a hand-built task ELF: metadata and strings at chosen VAs ------------------------------------------------

BASE = 0x9000_0000


def _task_elf(records: list[tuple[str, str, int, int, int, int]], strings: tuple[str, ...] = (),
              extended: bool = False, base: int = BASE) -> tuple[bytes, list[int], dict[str, int]]:
    """A task ELF with one metadata record per (file, format, line, argc, level, special) from ``base``; returns the
    ELF, the records' VAs and the VAs of ``strings`` (extra strings for %s)."""
    rec_size = METADATA.size + (EXTENDED.size if extended else 0)
    str_base = base + rec_size * len(records) + 0x100
    blob = bytearray()
    va_of: dict[str, int] = {}

    def put(s: str) -> int:
        if s not in va_of:
            va_of[s] = str_base + len(blob)
            blob.extend(s.encode() + b"\0")
        return va_of[s]

    meta = bytearray()
    vas = []
    for file, fmt, line, argc, level, special in records:
        vas.append(base + len(meta))
        if extended:
            meta += EXTENDED.pack(EXTENDED_FLAG, put(".fwlogging_rm"))
        meta += METADATA.pack(put(file), put(fmt), line, argc, level, special)
    for s in strings:
        put(s)
    elf = _elf(2, [_Sec(".logging_metadata", 1, bytes(meta), flags=0x2, addr=base, align=8),
                   _Sec(".logging_const", 1, bytes(blob), flags=0x32, addr=str_base, entsize=1)], segments=True)
    return elf, vas, va_of


# -- end to end with the simulated GSP-RM ---------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_boot_records_decode_to_the_exact_lines(version: str) -> None:
    b = make("ga102", version)
    try:
        dec = LogDecoder.from_bytes(build_logging_elf(version))
        assert dec.version == version
        init = read_log("LOGINIT", b.libos.logs["LOGINIT"].buf, dec)  # the DmaBuffer itself: copied at once
        major, minor, patch = (int(x) for x in [*version.split("."), "0"][:3])  # 570.144 logs as 570.144.00
        shm = b.shm
        assert _texts(init.records) == [
            f"GSP-RM {major}.{minor}.{patch:02d} booting on chip 0x172, 24576 MiB FB",
            f"libos: 4 memory regions, RMARGS at {b.libos.rmargs.bus_addr:#x}",
            f"message queues: shared {shm.bus_addr:#x}, {shm.pte_count} PTEs, cmdq {shm.cmdq_offset:#x}, "
            f"statq {shm.statq_offset:#x}",
            f"SET_SYSTEM_INFO: BAR0 {SYSINFO.bar0_phys:#x}, BDF {SYSINFO.pci_bdf:#x}",
            "SET_REGISTRY: 3 entries",
            "RUN_CPU_SEQUENCER: 6 commands",
            "GSP-RM init done",
        ]
        assert init.note == "" and not init.wrapped and init.undecoded == 0
        assert init.put == sum(len(r.args) + 2 for r in init.records)  # every word accounted for
        assert [r.seq for r in init.records] == [0, *(r.seq + len(r.args) + 2 for r in init.records[:-1])]
        assert [r.meta.file for r in init.records[:2]] == ["gsp_init.c", "gsp_init.c"]
        assert all(a.timestamp <= b_.timestamp for a, b_ in zip(init.records, init.records[1:], strict=False))
        last = init.render()[-1]
        assert last == f"[{init.records[-1].timestamp:>16}] NOTICE  gsp_init.c:455 GSP-RM init done"
        assert init.render()[0] == f"LOGINIT: put {init.put} word(s), ring of {0x10000 // 8 - 1}"
    finally:
        b.gsp.stop()


def test_without_the_elf_only_the_words_are_reported() -> None:
    b = make("tu102")
    try:
        lb = b.libos.logs["LOGINIT"]
        snap = read_log("LOGINIT", lb.buf.read(0, lb.buf.size))
        assert snap.records == [] and "no logging ELF" in snap.note and snap.undecoded == snap.put
        assert len(snap.words) == snap.put > 0
        assert snap.words[-1] == lb.buf.read_u64(8 * snap.put)  # newest word (timestamp) where put says
        j = snap.as_json(last=2)
        assert j["records"] == [] and j["words"] == list(snap.words[-2:])
        lines = snap.render(last=2)
        assert lines[1] == f"  word {snap.put - 2}: {snap.words[-2]:#018x}" and len(lines) == 3
    finally:
        b.gsp.stop()


def test_wrapped_ring_decodes_the_newest_records() -> None:
    from nova_core.gsp.cmdq import SharedMemory
    from nova_core.gsp.fw import Event, GspAbi
    from nova_core.gsp.rpc import GspRpc
    from nova_core.gsp.sequencer import CpuSequencer
    from nova_core.sim import SimGpu

    gpu = SimGpu("ad102")
    dev = gpu.device()
    abi = GspAbi.for_version("535.113.01")
    shm = SharedMemory(dev.dma, abi)
    libos = LibosArgs(dev.dma, abi, shm, log_size=0x1000)  # 511 words per ring
    rpc = GspRpc(abi, shm, dev.bar0, dev.clock)
    CpuSequencer(abi, dev.bar0, dev.clock, libos_args_addr=libos.bus_addr).attach(rpc)
    rpc.send(SetSystemInfo(SYSINFO))
    rpc.send(SetRegistry())
    rm = gpu.models["gsp_rm"]
    rm.boot("535.113.01", libos.bus_addr)  # type: ignore[attr-defined]
    try:
        rpc.wait_event(Event.INIT_DONE)
        for i in range(250):  # one LOGINTR record (3 words) per doorbell: 750 words > 511 slots
            assert rpc.call(Nop(bytes([i]))) == bytes([i])
        lb = libos.logs["LOGINTR"]
        dec = LogDecoder.from_bytes(build_logging_elf("535.113.01"))
        snap = read_log("LOGINTR", lb.buf, dec)
        assert snap.wrapped and snap.put > snap.slots
        assert len(snap.words) == snap.slots
        assert all(t == "doorbell: 1 command element(s)" for t in _texts(snap.records))
        assert all(r.args == (1,) for r in snap.records)
        assert len(snap.records) == snap.slots // 3  # 170 whole records fit; the oldest one was cut
        assert snap.undecoded == snap.slots % 3 == 1
        assert "lost its first word(s) to the wrap" in snap.note
        assert snap.records[-1].seq + 3 == snap.put
        assert snap.records[0].seq == snap.put - 3 * len(snap.records)
        assert "wrapped, 1 older word(s) not decoded" in snap.render()[0]
        assert len(snap.render(last=5)) == 6
    finally:
        rm.stop()  # type: ignore[attr-defined]


def test_a_crash_leaves_its_record_in_logrm() -> None:
    b = make("ga104")
    try:
        b.gsp.inject("crash")
        snap = read_log("LOGRM", b.libos.logs["LOGRM"].buf, LogDecoder.from_bytes(build_logging_elf()))
        assert _texts(snap.records)[-1] == "GSP-RM halted: error 0xdead"
        assert snap.records[-1].meta.level == 6 and snap.records[-1].level == "FATAL"
        assert snap.render()[-1].endswith("] FATAL   gsp_init.c:600 GSP-RM halted: error 0xdead")
        assert snap.as_json(last=1)["records"][0]["level_name"] == "FATAL"
    finally:
        b.gsp.stop()


def test_read_logs_keeps_ring_order() -> None:
    b = make("ga102")
    try:
        rings = {n: lb.buf.read(0, lb.buf.size) for n, lb in b.libos.logs.items()}
        assert [s.name for s in read_logs(rings)] == ["LOGINIT", "LOGINTR", "LOGRM"]
    finally:
        b.gsp.stop()


# -- the logging ELF ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_metadata_layout_is_the_bindings(version: str) -> None:
    m = bindings.load(version)
    meta, ext = m.libosLogMetadata, m.libosLogMetadata_extended
    assert ctypes.sizeof(meta) == METADATA.size == 0x18
    assert [(f, getattr(meta, f).offset) for f in ("filename", "format", "lineNumber", "argumentCount",
                                                    "printLevel")] == [("filename", 0), ("format", 8),
                                                                       ("lineNumber", 0x10), ("argumentCount", 0x14),
                                                                       ("printLevel", 0x15)]
    if hasattr(meta, "specialType"):  # r550+
        assert meta.specialType.offset == 0x16
    assert (ext.versionExtended.offset, ext.elfSectionName.offset, ext.meta.offset) == (0, 8, EXTENDED.size)


def test_every_sim_format_is_in_the_elf() -> None:
    dec = LogDecoder.from_bytes(build_logging_elf("550.163.01"))
    formats = LogFormats(bindings.load("550.163.01"))
    for key, file, line, level, fmt in FORMATS:
        for ring in ("LOGINIT", "LOGINTR", "LOGRM"):
            meta = dec.metadata(formats.by_key[key].va, ring)
            assert meta is not None
            assert (meta.file, meta.line, meta.level, meta.format, meta.special) == (file, line, level, fmt, 0)


def test_the_three_shapes_of_logging_elf_decode_alike() -> None:
    from nova_core.firmware.elf import ElfFile

    file = build_logging_elf("535.113.01")
    container = bytes(ElfFile(file).section(".fwlogging").data)
    task = build_task_elf("535.113.01")
    b = make("ga102")
    try:
        b.gsp.inject("crash")  # a LOGRM record
        for ring, first in (("LOGINIT", "GSP-RM 535.113.01 booting"), ("LOGRM", "GSP-RM halted")):
            data = b.libos.logs[ring].buf.read(0, 0x10000)
            texts = [_texts(read_log(ring, data, LogDecoder.from_bytes(x)).records) for x in (file, container, task)]
            assert texts[0] == texts[1] == texts[2] and texts[0][0].startswith(first)
        assert LogDecoder.from_bytes(container).version is None and LogDecoder.from_bytes(task).tasks.keys() == {""}
    finally:
        b.gsp.stop()


def test_a_container_without_the_ring_s_task_says_so() -> None:
    task = build_task_elf()
    container = _elf(1, [_Sec(".fwIsContainerElf", 1, b""), _Sec(".fwlogging_init", 1, task, align=8)])
    dec = LogDecoder.from_bytes(container, source="c.elf")
    snap = read_log("LOGRM", _ring([1, 2]), dec)
    assert snap.records == [] and snap.note == "c.elf has no .fwlogging_rm task ELF for LOGRM (it has .fwlogging_init)"
    assert snap.undecoded == 2


def test_an_elf_with_nothing_at_an_address_is_refused() -> None:
    other = _elf(1, [_Sec(".text", 1, b"\x00" * 16, flags=0x6)])
    with pytest.raises(FirmwareError, match=r"x\.elf: not a GSP logging ELF: .*sections: \.text"):
        LogDecoder.from_bytes(other, source="x.elf")
    bad = _elf(1, [_Sec(".fwversion", 1, b"535.113.01\0"), _Sec(".fwlogging", 1, b"nope" * 8)])
    with pytest.raises(FirmwareError, match=r"section \.fwlogging at 0x[0-9a-f]+ does not hold an ELF"):
        LogDecoder.from_bytes(bad)
    with pytest.raises(FirmwareError, match="cannot open logging ELF .*No such file"):
        LogDecoder.from_file("/nonexistent/gsp_log_ga10x.bin")


def test_extended_metadata_strings_and_argument_pointers() -> None:
    elf, vas, va_of = _task_elf([("remote.c", "task %s said %d\n", 7, 2, 3, 0)], strings=("hello",), extended=True)
    dec = LogDecoder.from_bytes(elf)
    snap = read_log("LOGRM", _ring([va_of["hello"], (-5) & (2**64 - 1), vas[0], 1234]), dec)
    assert _texts(snap.records) == ["task hello said -5"] and snap.records[0].level == "WARNING"
    assert snap.records[0].meta.file == "remote.c" and snap.records[0].lines() == [
        f"[{1234:>16}] WARNING remote.c:7 task hello said -5"]
    bad = read_log("LOGRM", _ring([0x10, 1, vas[0], 5]), dec)
    assert _texts(bad.records) == ["task (bad-pointer) said 1"]


def test_special_types_render_as_openrm_does() -> None:
    elf, vas, _ = _task_elf([("a.c", "pGpu != NULL", 10, 0, 4, 1), ("b.c", "kgspFoo(pGpu)", 20, 1, 4, 2),
                             ("c.c", "x %d", 30, 1, 4, 3), ("d.c", "y", 40, 1, 4, 4)])
    dec = LogDecoder.from_bytes(elf)
    words = [vas[0], 1, 0x33, vas[1], 2, 5, vas[2], 3, 0x12345, vas[3], 4]
    assert _texts(read_log("LOGRM", _ring(words), dec).records) == [
        "Assertion failed: pGpu != NULL",
        "Assertion failed: Object handle is not valid [NV_ERR_INVALID_OBJECT_HANDLE] (0x00000033) returned from "
        "kgspFoo(pGpu)",
        "Check failed: x %d",  # a fixed string: not formatted
        "Check failed: Unknown error code! (0x00012345) returned from y",
    ]


def test_multi_line_messages_render_one_line_each() -> None:
    elf, vas, _ = _task_elf([("m.c", "first %u\nsecond\n", 1, 1, 1, 0)])
    rec = read_log("LOGRM", _ring([9, vas[0], 77]), LogDecoder.from_bytes(elf)).records[0]
    assert [ln.split(" m.c:1 ")[1] for ln in rec.lines()] == ["first 9", "second"]


# -- corrupt rings --------------------------------------------------------------------------------------------

def test_metadata_outside_the_elf_stops_decoding_with_a_note() -> None:
    dec = LogDecoder.from_bytes(build_logging_elf())
    fmts = LogFormats(bindings.load("535.113.01"))
    done = fmts.by_key["init_done"].va
    snap = read_log("LOGRM", _ring([0x1234, 99, done, 100]), dec)  # an undecodable record, then a good one
    assert _texts(snap.records) == ["GSP-RM init done"] and snap.undecoded == 2
    assert snap.note == "word 0: metadata pointer 0x1234 is outside <logging ELF>; older words not decoded"


def test_argument_count_overrunning_the_words_is_named() -> None:
    dec = LogDecoder.from_bytes(build_logging_elf())
    alloc = LogFormats(bindings.load("535.113.01")).by_key["alloc"]  # 5 arguments
    snap = read_log("LOGRM", _ring([7, alloc.va, 1000]), dec)  # only one argument word before it
    assert snap.records == [] and snap.note == (f"word 1: metadata {alloc.va:#x} wants 5 argument(s), only 1 "
                                                f"word(s) precede it (corrupt ring?)")


def test_argument_count_over_the_maximum_is_bad_metadata() -> None:
    elf, vas, _ = _task_elf([("z.c", "%d" * 21, 1, 21, 1, 0)])
    snap = read_log("LOGRM", _ring([0] * 21 + [vas[0], 5], size=0x200), LogDecoder.from_bytes(elf))
    assert snap.records == [] and f"metadata {vas[0]:#x} has argumentCount 21 (at most 20)" in snap.note


def test_a_stray_word_before_the_oldest_record() -> None:
    dec = LogDecoder.from_bytes(build_logging_elf())
    done = LogFormats(bindings.load("535.113.01")).by_key["init_done"].va
    snap = read_log("LOGRM", _ring([42, done, 100]), dec)
    assert len(snap.records) == 1 and snap.undecoded == 1 and "word 0: one word before the oldest" in snap.note


@pytest.mark.parametrize("size,put,match", [(12, 0, "multiple of 8"), (8, 0, "at least 16"),
                                             (0x100, 1 << 63, "put pointer 0x8000000000000000")])
def test_impossible_rings_are_refused(size: int, put: int, match: str) -> None:
    data = bytearray(size)
    if size >= 8:
        struct.pack_into("<Q", data, 0, put)
    with pytest.raises(GspError, match=match):
        read_log("LOGINIT", bytes(data))


_DECODER = LogDecoder.from_bytes(build_logging_elf())
_VAS = [f.va for f in LogFormats(bindings.load("535.113.01")).by_key.values()]
_word = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from(_VAS), st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 64).flatmap(lambda n: st.lists(_word, min_size=n, max_size=n)),
       st.integers(0, 2**64 - 1) | st.integers(0, 200), st.booleans())
def test_arbitrary_rings_never_raise_anything_but_gsp_error(words: list[int], put: int, with_elf: bool) -> None:
    data = struct.pack(f"<Q{len(words)}Q", put, *words)
    t0 = time.monotonic()
    try:
        snap = read_log("LOGRM", data, _DECODER if with_elf else None)
    except GspError:
        return
    assert time.monotonic() - t0 < 1.0
    assert len(snap.words) <= snap.slots
    assert sum(len(r.args) + 2 for r in snap.records) + snap.undecoded == len(snap.words)
    for r in snap.records:
        r.render()
        assert len(r.args) <= 20


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_corrupted_logging_elfs_raise_only_firmware_error(data: st.DataObject) -> None:
    good = bytearray(build_logging_elf())
    for _ in range(data.draw(st.integers(1, 8))):
        good[data.draw(st.integers(0, len(good) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    try:
        dec = LogDecoder.from_bytes(bytes(good[:cut]) if data.draw(st.booleans()) else bytes(good))
    except FirmwareError:
        return
    b = _ring([data.draw(st.sampled_from(_VAS)) for _ in range(6)])
    read_log("LOGRM", b, dec)


# -- printf ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,args,want", [
    ("%d %i %u", (2**64 - 1, 5, 0xFFFFFFFF), "-1 5 4294967295"),  # args are whole u64s, as GSP-RM stores them
    ("%d", (0xFFFFFFFF,), "4294967295"),  # no truncation to int: OpenRM's decoder ignores length modifiers
    ("%lld %llu", (2**64 - 1, 2**64 - 1), "-1 18446744073709551615"),
    ("%x %X %#x %08x %#X", (0x1_0000_00AB, 0xAB, 0xAB, 0xAB, 0xAB), "1000000ab AB 0xab 000000ab 0XAB"),
    ("%llx %p %p %#x", (0x1_0000_00AB, 0xDEAD, 0, 0), "1000000ab 0xdead 0 0"),
    ("%5d|%-5d|%c|%%|%+d|% d", (42, 42, 0x41, 7, 7), "   42|42   |A|%|+7| 7"),
    ("%05d|%-05d|%5.3d|%.0d|%.0x|%#o|%o", (2**64 - 42, 42, 7, 0, 0, 8, 8), "-0042|42   |  007|||010|10"),
    ("%hhu %hu %zu", (0x1FF, 0x1FFFF, 3), "511 131071 3"),
    ("%d %d", (1,), "1 <missing>"),
    ("%y literal %", (), "%y literal %"),
    ("%*d|%-*d|%*d", (4, 7, 3, 1, 2**64 - 3, 2), "   7|1  |2  "),
    ("%.*x", (4, 0xA), "000a"),
    ("a%nb", (99,), "ab"),
    ("%a", (0x1234,), "0x1234"),
    ("%s|%.2s|%5s", (1, 1, 1), "(bad-pointer)|(b|(bad-pointer)"),
])
def test_printf(fmt: str, args: tuple[int, ...], want: str) -> None:
    assert format_printf(fmt, args) == want


def test_printf_widths_are_bounded() -> None:
    assert len(format_printf("%*d", (2**31 - 1, 1))) == MAX_FIELD
    assert len(format_printf("%999999999d", (1,))) == MAX_FIELD
    assert len(format_printf("%.999999999u", (1,))) == MAX_FIELD


def test_printf_strings_come_from_the_elf() -> None:
    formats = LogFormats(bindings.load("535.113.01"))
    boot = formats.by_key["boot"]
    base, section = formats.section()
    file_va = METADATA.unpack_from(section, boot.va - base)[0]
    meta = _DECODER.metadata(boot.va)
    assert meta is not None and meta.file == "gsp_init.c" and meta.line == 112 and meta.argc == 5
    assert format_printf("file %s!", (file_va,), _DECODER.string) == "file gsp_init.c!"
    assert format_printf("%-12s|%.3s", (file_va, file_va), _DECODER.string) == "gsp_init.c  |gsp"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="%-+ #0'123456789.*hlqjztLdiouxXpcsanyZ\n", max_size=40),
       st.lists(st.integers(0, 2**64 - 1), max_size=6))
def test_printf_never_raises(fmt: str, args: list[int]) -> None:
    out = format_printf(fmt, tuple(args), _DECODER.string)
    assert len(out) <= len(fmt) * (MAX_FIELD + 32)


# -- issue 22, defect 2: a hostile logging ELF (printf widths, precisions, lengths) costs bounded time and memory ----

_HOSTILE = ("%999999999d", "%.999999999u", "%*d", "%-*.*x", "%1024s", "%" + "9" * 5000 + "d")


def test_printf_output_is_bounded_whatever_the_format() -> None:
    t0 = time.perf_counter()
    for spec in _HOSTILE:
        out = format_printf(spec * 20, (2**31 - 1,) * 20)
        assert len(out) <= MAX_MESSAGE + 32, spec  # the cut text and its marker
    assert format_printf("%" + "9" * 5000 + "d", (7,)) == " " * (MAX_FIELD - 1) + "7"  # no int() digit-limit error
    cut = format_printf("%1000d" * 10, tuple(range(10)))
    assert cut.startswith(" " * 999 + "0") and cut.endswith(" more]") and "...[" in cut
    assert time.perf_counter() - t0 < 1.0


def _hostile_sim_elf(fmt: str) -> bytes:
    """A task logging ELF with the simulated GSP-RM's metadata addresses and argument counts, every format ``fmt``
    repeated once per argument: the records of a real boot decode through it."""
    from nova_core.sim.gsp_rm.logs import LOG_SECTION_BASE

    formats = LogFormats(bindings.load("535.113.01"))
    recs = [(f.file, fmt * max(f.argc, 1), f.line, f.argc, f.level, 0)
            for f in sorted(formats.by_va.values(), key=lambda f: f.va)]
    elf, vas, _ = _task_elf(recs, base=LOG_SECTION_BASE)
    assert vas == sorted(formats.by_va)
    return elf


@pytest.mark.parametrize("spec", _HOSTILE)
def test_a_hostile_logging_elf_decodes_a_full_ring_in_bounded_time(spec: str) -> None:
    """The campaign's reproducer: widths from the ELF gave a ValueError, a MemoryError at 2 GiB, or 7 s of work;
    here a full 64 KiB ring of 20-argument records is decoded through the worst formats."""
    meta_fmt = spec * 20
    elf, vas, _ = _task_elf([("f.c", meta_fmt, 1, 20, 1, 0)])
    dec = LogDecoder.from_bytes(elf)
    slots = 0x10000 // 8 - 1
    per = 22
    words = [w for _ in range(slots // per) for w in ([2**31 - 1] * 20 + [vas[0], 1])]
    t0 = time.perf_counter()
    snap = read_log("LOGRM", _ring(words, size=0x10000), dec)
    lines = snap.render()
    assert time.perf_counter() - t0 < 1.0
    assert len(snap.records) == slots // per and snap.note == ""
    assert all(len(r.text) <= MAX_MESSAGE + 32 for r in snap.records)
    assert sum(map(len, lines)) <= len(snap.records) * (MAX_MESSAGE + 100) + 200


def test_a_hostile_logging_elf_through_nova_gsp_log_and_the_mount_text(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from nova_core.cli.main import main
    from nova_core.debugfs import ExportTree
    from nova_core.sim_boot import boot_sim

    f = tmp_path / "hostile.elf"
    f.write_bytes(_hostile_sim_elf("%999999999d"))
    assert main(["gsp-log", "--sim", "ga102", "--log-elf", str(f), "--ring", "LOGINIT"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) > 2 and all(len(ln) <= MAX_MESSAGE + 100 for ln in out)
    assert out[1].endswith(" more]")  # the first record's text was cut, not rendered at 10^9 characters
    gpu = boot_sim("ga102")
    try:
        t0 = time.perf_counter()
        text = ExportTree([gpu], decoder=LogDecoder.from_file(f)).read("/sim-ga102/gsp/loginit.txt")
        assert time.perf_counter() - t0 < 1.0 and b"more]" in text
    finally:
        gpu.close()


@pytest.mark.parametrize(("path", "msg"), [
    ("/dev/zero", r"logging ELF '/dev/zero' is a character device, not a regular file"),
    ("/", r"logging ELF '/' is a directory"),
])
def test_a_logging_elf_that_is_not_a_file_is_refused_before_reading(path: str, msg: str) -> None:
    with pytest.raises(FirmwareError, match=msg):
        LogDecoder.from_file(path)


_HOSTILE_SPEC = st.builds(lambda flags, width, prec, conv: f"%{flags}{width}{prec}{conv}",
                          st.sampled_from(["", "-", "0", "#", "+", " ", "-0#"]),
                          st.sampled_from(["", "*", "1", "1024", "999999999", "9" * 200]),
                          st.sampled_from(["", ".", ".*", ".0", ".999999999"]),
                          st.sampled_from(list("diouxXpcsan%")))


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.lists(st.one_of(_HOSTILE_SPEC, st.text("ab \n", max_size=8)), max_size=30),
                          st.integers(0, 25), st.integers(0, 8)), min_size=1, max_size=4),
       st.lists(st.integers(0, 2**64 - 1), max_size=200), st.data())
def test_hostile_logging_elfs_decode_in_bounded_time_and_text(recs: list[tuple[list[str], int, int]],
                                                              words: list[int], data: st.DataObject) -> None:
    """Formats, argument counts and levels a hostile logging ELF may hold, over a ring of random words that point
    at its records: only the corrupt-ring outcomes, every record's text within MAX_MESSAGE, within a second."""
    elf, vas, va_of = _task_elf([("f.c", "".join(parts), 1, argc, level, 0) for parts, argc, level in recs],
                                strings=("s" * 4000,))
    dec = LogDecoder.from_bytes(elf)
    pointers = [*vas, va_of["s" * 4000]]
    ring = [data.draw(st.sampled_from(pointers)) if w % 3 == 0 else w for w in words]
    t0 = time.perf_counter()
    try:
        snap = read_log("LOGRM", _ring(ring, size=0x2000), dec)
    except GspError:
        return
    lines = snap.render()
    assert time.perf_counter() - t0 < 1.0
    assert all(len(r.text) <= MAX_MESSAGE + 32 for r in snap.records)
    # the header, then each record's lines (a prefix each, its text once) - or the raw words when none decode
    assert sum(map(len, lines)) <= 300 + sum(len(r.text) + 80 * (r.text.count("\n") + 1) for r in snap.records) \
        + 30 * len(snap.words)
