"""GSP-RM's log rings: records decoded end to end with the simulated GSP-RM's logging ELF, for every bound
version; the honest raw view without an ELF; wrap-around; a crash's last record; corrupt rings."""

from __future__ import annotations

import struct

import pytest
from gsp_helpers import SYSINFO, VERSIONS, make
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import FirmwareError, GspError
from nova_core.gsp.fw import Nop, SetRegistry, SetSystemInfo
from nova_core.gsp.libos import LibosArgs
from nova_core.gsp.logs import LogDecoder, format_printf, read_log, read_logs
from nova_core.sim.synth.firmware import _elf, _Sec
from nova_core.sim.synth.logging_elf import build_logging_elf


def _texts(snap_records: list) -> list[str]:  # type: ignore[type-arg]
    return [r.text.rstrip("\n") for r in snap_records]


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_records_decode_to_the_exact_lines(version: str) -> None:
    b = make("ga102", version)
    try:
        dec = LogDecoder.from_bytes(build_logging_elf(version))
        rings = {n: lb.buf.read(0, lb.buf.size) for n, lb in b.libos.logs.items()}
        init = read_log("LOGINIT", rings["LOGINIT"], dec)
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
        assert init.note == "" and not init.wrapped
        assert init.put == sum(len(r.args) + 2 for r in init.records)  # every word accounted for
        assert [r.meta.file for r in init.records if r.meta][:2] == ["gsp_init.c", "gsp_init.c"]
        assert all(a.timestamp <= b_.timestamp for a, b_ in zip(init.records, init.records[1:], strict=False))
        rendered = init.render()
        assert rendered[0].startswith("LOGINIT: put ") and "gsp_init.c:455 GSP-RM init done" in rendered[-1]
    finally:
        b.gsp.stop()


def test_without_the_elf_only_the_words_are_reported() -> None:
    b = make("tu102")
    try:
        lb = b.libos.logs["LOGINIT"]
        snap = read_log("LOGINIT", lb.buf.read(0, lb.buf.size))
        assert snap.records == [] and "no logging ELF" in snap.note
        assert len(snap.words) == snap.put > 0
        assert snap.words[-1] == lb.buf.read_u64(8 * snap.put)  # newest word (timestamp) where put says
        j = snap.as_json(last=2)
        assert j["records"] == [] and len(j["words"]) == 2
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
        snap = read_log("LOGINTR", lb.buf.read(0, lb.buf.size), dec)
        assert snap.wrapped and snap.put > snap.slots
        assert len(snap.words) == snap.slots
        assert all(t == "doorbell: 1 command element(s)" for t in _texts(snap.records))
        assert len(snap.records) == snap.slots // 3  # 170 whole records fit; the oldest was cut
        assert "partly overwritten" in snap.note
        assert snap.records[-1].seq + 3 == snap.put
    finally:
        rm.stop()  # type: ignore[attr-defined]


def test_a_crash_leaves_its_record_in_logrm() -> None:
    b = make("ga104")
    try:
        b.gsp.inject("crash")
        lb = b.libos.logs["LOGRM"]
        snap = read_log("LOGRM", lb.buf.read(0, lb.buf.size), LogDecoder.from_bytes(build_logging_elf()))
        assert _texts(snap.records)[-1] == "GSP-RM halted: error 0xdead"
        assert snap.records[-1].meta is not None and snap.records[-1].meta.level == 5
        assert "FATAL" in snap.render()[-1]
    finally:
        b.gsp.stop()


def test_read_logs_keeps_ring_order() -> None:
    b = make("ga102")
    try:
        rings = {n: lb.buf.read(0, lb.buf.size) for n, lb in b.libos.logs.items()}
        assert [s.name for s in read_logs(rings)] == ["LOGINIT", "LOGINTR", "LOGRM"]
    finally:
        b.gsp.stop()


def test_metadata_outside_the_elf_stops_decoding_with_a_note() -> None:
    ring = bytearray(0x100)
    dec = LogDecoder.from_bytes(build_logging_elf())
    struct.pack_into("<Q", ring, 0, 2)
    struct.pack_into("<QQ", ring, 8, 0x1234, 99)  # metadata pointer 0x1234: not in the ELF
    snap = read_log("LOGRM", bytes(ring), dec)
    assert snap.records == [] and "metadata pointer 0x1234 is outside" in snap.note


def test_argument_count_overrunning_the_words_is_named() -> None:
    dec = LogDecoder.from_bytes(build_logging_elf())
    from nova_core.gsp import bindings
    from nova_core.sim.gsp_rm.logs import LogFormats

    alloc = LogFormats(bindings.load("535.113.01")).by_key["alloc"]  # 5 arguments
    ring = bytearray(0x100)
    struct.pack_into("<Q", ring, 0, 3)
    struct.pack_into("<QQQ", ring, 8, 7, alloc.va, 1000)  # only one argument word before it
    snap = read_log("LOGRM", bytes(ring), dec)
    assert snap.records == [] and "wants 5 argument(s), only 1 word(s) precede it" in snap.note


@pytest.mark.parametrize("size,put,match", [(12, 0, "multiple of 8"), (8, 0, "at least 16"),
                                             (0x100, 1 << 63, "put pointer")])
def test_impossible_rings_are_refused(size: int, put: int, match: str) -> None:
    data = bytearray(size)
    if size >= 8:
        struct.pack_into("<Q", data, 0, put)
    with pytest.raises(GspError, match=match):
        read_log("LOGINIT", bytes(data))


def test_an_elf_without_logging_sections_is_refused() -> None:
    other = _elf(1, [_Sec(".text", 1, b"\x00" * 16, flags=0x6, addr=0x1000)])
    with pytest.raises(FirmwareError, match=r"no \.fwlogging_\* section.*\.text"):
        LogDecoder.from_bytes(other, source="x.elf")


_DECODER = LogDecoder.from_bytes(build_logging_elf())


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 64).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n)), st.booleans())
def test_arbitrary_rings_never_raise_anything_but_gsp_error(data: bytes, with_elf: bool) -> None:
    try:
        snap = read_log("LOGRM", data, _DECODER if with_elf else None)
    except GspError:
        return
    assert len(snap.words) <= snap.slots
    assert sum(len(r.args) + 2 for r in snap.records) <= len(snap.words)


@pytest.mark.parametrize("fmt,args,want", [
    ("%d %i %u", (0xFFFFFFFF, 5, 0xFFFFFFFF), "-1 5 4294967295"),
    ("%lld %llu", (0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF), "-1 18446744073709551615"),
    ("%x %X %#x %08x", (0x1_0000_00AB, 0xAB, 0xAB, 0xAB), "ab AB 0xab 000000ab"),
    ("%llx %p", (0x1_0000_00AB, 0xDEAD), "1000000ab 0xdead"),
    ("%5d|%-5d|%c|%%", (42, 42, 0x41), "   42|42   |A|%"),
    ("%hhu %hu", (0x1FF, 0x1FFFF), "255 65535"),
    ("%d %d", (1,), "1 <missing>"),
    ("%y literal", (), "%y literal"),
    ("%*d", (4, 7), "   7"),
])
def test_printf(fmt: str, args: tuple[int, ...], want: str) -> None:
    assert format_printf(fmt, args) == want


def test_printf_strings_come_from_the_elf() -> None:
    from nova_core.gsp import bindings
    from nova_core.gsp.logs import METADATA
    from nova_core.sim.gsp_rm.logs import LogFormats

    formats = LogFormats(bindings.load("535.113.01"))
    boot = formats.by_key["boot"]
    base, section = formats.section()
    file_va = METADATA.unpack_from(section, boot.va - base)[0]
    meta = _DECODER.metadata(boot.va)
    assert meta is not None and meta.file == "gsp_init.c" and meta.line == 112 and meta.argc == 5
    assert format_printf("file %s!", (file_va,), _DECODER.string) == "file gsp_init.c!"
    assert format_printf("%s", (0x10,), _DECODER.string) == "<string at 0x10>"
