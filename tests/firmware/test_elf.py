"""The ELF64 reader: zero-copy sections, nested ELF, and a FirmwareError for every malformation."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.errors import FirmwareError
from nova_core.firmware.elf import ElfFile
from nova_core.sim.synth.firmware import build_gsp


def tiny_elf(sections: list[tuple[str, int, bytes]], *, etype: int = 1, ident: bytes | None = None) -> bytes:
    """An ELF64 LE file: data from 0x40, then .shstrtab, then the section headers (8-aligned)."""
    names = b"\0" + b"".join(n.encode() + b"\0" for n, _, _ in sections) + b".shstrtab\0"
    body = bytearray(0x40)
    hdrs = [bytes(64)]
    pos = 1
    for name, typ, data in [*sections, (".shstrtab", 3, names)]:
        hdrs.append(struct.pack("<IIQQQQIIQQ", pos, typ, 0, 0, len(body), len(data), 0, 0, 1, 0))
        pos += len(name) + 1
        body += data
    body += bytes(-len(body) % 8)
    shoff = len(body)
    body += b"".join(hdrs)
    body[0:64] = struct.pack("<16sHHIQQQIHHHHHH", ident or b"\x7fELF\x02\x01\x01" + bytes(9), etype, 243, 1, 0, 0,
                             shoff, 0, 64, 0, 0, 64, len(hdrs), len(hdrs) - 1)
    return bytes(body)


SAMPLE = tiny_elf([(".fwimage", 1, b"IMAGE" * 20), (".fwversion", 1, b"535.113.01\0"), (".bss", 8, b"")])


def test_sections_are_views_of_the_data() -> None:
    buf = bytearray(SAMPLE)
    e = ElfFile(buf, source="tiny")
    assert e.section_names == [".fwimage", ".fwversion", ".bss", ".shstrtab"]
    img = e.section(".fwimage")
    assert img.offset == 0x40 and img.size == 100 and img.type_name == "PROGBITS"
    assert bytes(img.data[:5]) == b"IMAGE"
    buf[0x40] = ord("X")  # a view, not a copy
    assert bytes(img.data[:1]) == b"X"
    assert e.get(".bss") is not None and e.get(".bss").data.nbytes == 0  # type: ignore[union-attr]
    assert e.get(".nothing") is None


def test_missing_section_lists_the_present_ones() -> None:
    with pytest.raises(FirmwareError, match=r"tiny: ELF has no section '\.fwsignature_ga10x'; sections present: "
                                            r"\.fwimage, \.fwversion, \.bss, \.shstrtab"):
        ElfFile(SAMPLE, source="tiny").section(".fwsignature_ga10x")


@pytest.mark.parametrize(("offset", "value", "match"), [
    (0, b"\x7fELG", r"e_ident magic at 0x0: expected b'\\x7fELF', found b'\\x7fELG'"),
    (4, b"\x01", r"EI_CLASS at 0x4: expected 2 \(ELFCLASS64\), found 1"),
    (5, b"\x02", r"EI_DATA at 0x5: expected 1 \(little-endian\), found 2"),
    (6, b"\x00", r"version at 0x6: expected 1, found 0"),
    (0x34, b"\x40\x01", r"e_ehsize at 0x34: expected 0x40, found 0x140"),
    (0x3A, b"\x20\x00", r"e_shentsize at 0x3a: expected 0x40, found 0x20"),
    (0x3C, b"\xff\x00", r"section header table \(255 entries\) at .*run past the end"),
    (0x3E, b"\x09\x00", r"e_shstrndx at 0x3e: section 9 does not exist \(5 sections\)"),
])
def test_corrupt_headers(offset: int, value: bytes, match: str) -> None:
    bad = bytearray(SAMPLE)
    bad[offset:offset + len(value)] = value
    with pytest.raises(FirmwareError, match=match):
        ElfFile(bad, source="bad")


def test_section_data_outside_the_file() -> None:
    e = ElfFile(SAMPLE)
    bad = bytearray(SAMPLE)
    shoff = struct.unpack_from("<Q", SAMPLE, 0x28)[0]
    struct.pack_into("<Q", bad, shoff + 64 + 0x20, 0x7FFFFFFFFFFFFFFF)  # .fwimage sh_size
    with pytest.raises(FirmwareError, match=r"ELF section 1 '\.fwimage' data at 0x40: 0x7fffffffffffffff bytes"):
        ElfFile(bad, source="bad")
    struct.pack_into("<Q", bad, shoff + 64 + 0x20, 100)
    struct.pack_into("<I", bad, shoff + 64, 0x5000)  # sh_name outside .shstrtab
    with pytest.raises(FirmwareError, match=r"section header 1 sh_name .*name offset 0x5000 outside the name table"):
        ElfFile(bad, source="bad")
    assert e.section(".fwversion").size == 11


def test_name_table_must_be_a_strtab_and_terminated() -> None:
    bad = bytearray(SAMPLE)
    shoff = struct.unpack_from("<Q", SAMPLE, 0x28)[0]
    struct.pack_into("<I", bad, shoff + 4 * 64 + 4, 1)  # .shstrtab sh_type PROGBITS
    with pytest.raises(FirmwareError, match=r"section names\) at .*sh_type expected 3 \(STRTAB\), found 0x1"):
        ElfFile(bad)
    bad = bytearray(SAMPLE)
    st_off, st_size = struct.unpack_from("<QQ", SAMPLE, shoff + 4 * 64 + 0x18)
    bad[st_off:st_off + st_size] = b"A" * st_size
    with pytest.raises(FirmwareError, match="no NUL terminator"):
        ElfFile(bad)


def test_extended_section_numbering() -> None:
    """e_shnum 0 and e_shstrndx SHN_XINDEX: the real values live in section header 0."""
    ext = bytearray(SAMPLE)
    shoff = struct.unpack_from("<Q", SAMPLE, 0x28)[0]
    struct.pack_into("<HH", ext, 0x3C, 0, 0xFFFF)
    struct.pack_into("<Q", ext, shoff + 0x20, 5)  # sh_size of section 0 = count
    struct.pack_into("<I", ext, shoff + 0x28, 4)  # sh_link of section 0 = name table index
    assert ElfFile(ext).section_names == ElfFile(SAMPLE).section_names
    struct.pack_into("<Q", ext, shoff + 0x20, 1 << 40)
    with pytest.raises(FirmwareError, match="run past the end"):
        ElfFile(ext)


def test_truncated_anywhere_is_a_firmware_error() -> None:
    """Every prefix of the file that loses a header or data byte is refused with a FirmwareError."""
    for n in range(len(SAMPLE)):
        try:
            ElfFile(SAMPLE[:n], source="cut")
        except FirmwareError as e:
            assert "cut:" in str(e)
        else:
            pytest.fail(f"a {n}-byte prefix parsed")


def test_nested_elf_reports_outer_offsets() -> None:
    g = build_gsp("tu10x")
    outer = ElfFile(g.data, source="gsp")
    inner = outer.nested(".fwimage")
    assert inner.base == 0x40 and inner.type == 2 and inner.machine == 243
    assert inner.entry == inner.section(".bootstrap").addr
    assert inner.section_file_offset(".bootstrap") == 0x40 + inner.section(".bootstrap").offset
    assert len(inner.segments) == sum(1 for s in inner.sections if s.flags & 0x2)
    corrupt = bytearray(g.data)
    corrupt[0x40 + 0x3A] = 0x20  # nested e_shentsize
    with pytest.raises(FirmwareError, match=r"gsp: ELF header e_shentsize at 0x7a"):
        ElfFile(corrupt, source="gsp").nested(".fwimage")
    with pytest.raises(FirmwareError, match=r"section '\.fwversion' at 0x[0-9a-f]+ does not hold an ELF"):
        outer.nested(".fwversion")


def test_program_headers_checked() -> None:
    g = bytearray(build_gsp("tu10x").data)
    inner = ElfFile(g).nested(".fwimage")
    phoff = 0x40 + 0x40  # nested ELF at 0x40, program headers right after its header
    struct.pack_into("<Q", g, phoff + 0x20, 1 << 50)  # p_filesz of segment 0
    with pytest.raises(FirmwareError, match=r"program header 0 file data"):
        ElfFile(g).nested(".fwimage")
    assert inner.segments[0].filesz < 1 << 50


@pytest.mark.parametrize("family", ["tu10x", "ga10x"])
def test_agrees_with_pyelftools(family: str) -> None:
    elftools = pytest.importorskip("elftools.elf.elffile")
    data = build_gsp(family).data
    ours = ElfFile(data)
    theirs = elftools.ELFFile(io.BytesIO(data))
    assert [s.name for s in ours.sections] == [s.name for s in theirs.iter_sections()]
    for a, b in zip(ours.sections, theirs.iter_sections(), strict=True):
        assert (a.offset, a.size, a.addr, a.flags, a.link, a.info) == (
            b["sh_offset"], b["sh_size"], b["sh_addr"], b["sh_flags"], b["sh_link"], b["sh_info"])
        if a.has_data:
            assert bytes(a.data) == b.data()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(SAMPLE)))
def test_fuzz_mutations_never_escape_as_other_errors(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SAMPLE)
    for off, val in edits:
        data[off] = val
    try:
        e = ElfFile(bytes(data[:cut] if cut else data))
        for s in e.sections:
            assert s.data.nbytes in (0, s.size)
    except FirmwareError:
        pass
