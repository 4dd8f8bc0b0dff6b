"""Bad config spaces: loops, pointers into the header, truncation, partial sources; and a bounded fuzz."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import NovaError, PciError
from nova_core.pci import BytesConfig, ConfigSpace, decode
from nova_core.pci import facts as F
from nova_core.pci.caps import decode_strict
from nova_core.pci.lspci import parse_hex_dump, parse_listing

from .conftest import load_dump


def base(size: int = F.EXTENDED_SIZE) -> bytearray:
    """A well-formed endpoint: caps at 0x40 (PM) -> 0x50 (MSI), extended 0x100 (AER) -> 0x140 (ARI)."""
    b = bytearray(size)
    struct.pack_into("<HH", b, 0, 0x10DE, 0x2204)
    struct.pack_into("<H", b, F.STATUS, F.Status.cap_list.mask)
    b[F.CAPABILITY_LIST] = 0x40
    b[0x40:0x42] = bytes([F.CapId.PM, 0x50])
    b[0x50:0x52] = bytes([F.CapId.MSI, 0x00])
    if size >= 0x148:
        struct.pack_into("<I", b, 0x100, F.ExtCapHeader.encode(id=F.ExtCapId.ERR, version=2, next=0x140))
        struct.pack_into("<I", b, 0x140, F.ExtCapHeader.encode(id=F.ExtCapId.ARI, version=1, next=0))
    return b


def offsets(b: bytes | bytearray, **kw: bool) -> list[tuple[int, bool]]:
    return [(c.offset, c.extended) for c in ConfigSpace(bytes(b)).capabilities(**kw).capabilities]


def test_well_formed() -> None:
    assert offsets(base()) == [(0x40, False), (0x50, False), (0x100, True), (0x140, True)]


def test_truncated_file_is_an_error_naming_the_size() -> None:
    with pytest.raises(PciError, match="config space of 20 bytes is truncated; the common header alone is 64"):
        ConfigSpace(bytes(20))


def test_64_byte_unprivileged_read_is_a_documented_partial_result() -> None:
    walk = ConfigSpace(bytes(base()[:64])).capabilities(strict=True)
    assert walk.capabilities == [] and walk.problems == []
    assert "only the 64-byte header is readable" in walk.notes[0]
    with pytest.raises(PciError, match="only the 64-byte header is readable"):
        ConfigSpace(bytes(base()[:64])).u8(0x40)


def test_256_byte_config_has_no_extended_list_even_if_bytes_look_like_one() -> None:
    b = base()[:256]
    walk = ConfigSpace(bytes(b)).capabilities(strict=True)
    assert [c.offset for c in walk.capabilities] == [0x40, 0x50]
    assert "256 bytes" in walk.notes[0]


def test_truncated_extended_space() -> None:
    b = base()[:0x120]  # the AER header is there, its next (0x140) is past the end
    walk = ConfigSpace(bytes(b)).capabilities()
    assert [c.offset for c in walk.extended] == [0x100]
    assert any("past the 0x120-byte config space" in p for p in walk.problems)
    assert any("truncated at 0x120" in n for n in walk.notes)


def test_standard_loop() -> None:
    b = base()
    b[0x51] = 0x40  # MSI -> PM -> MSI ...
    walk = ConfigSpace(bytes(b)).capabilities()
    assert [c.offset for c in walk.standard] == [0x40, 0x50]
    assert "loops" in walk.problems[0]
    with pytest.raises(PciError, match="capability pointer at 0x51 is 0x40 again: the standard capability list loops"):
        ConfigSpace(bytes(b)).capabilities(strict=True)


def test_self_loop_and_pointer_into_header() -> None:
    b = base()
    b[0x41] = 0x40
    assert "loops" in ConfigSpace(bytes(b)).capabilities().problems[0]
    b = base()
    b[0x41] = 0x30
    walk = ConfigSpace(bytes(b)).capabilities()
    assert [c.offset for c in walk.standard] == [0x40]
    assert "points into the header" in walk.problems[0]


def test_low_pointer_bits_are_masked_as_the_spec_says() -> None:
    b = base()
    b[F.CAPABILITY_LIST] = 0x43
    assert offsets(b, strict=True)[0] == (0x40, False)


def test_extended_loop_and_backward_pointer() -> None:
    b = base()
    struct.pack_into("<I", b, 0x140, F.ExtCapHeader.encode(id=F.ExtCapId.ARI, version=1, next=0x100))
    walk = ConfigSpace(bytes(b)).capabilities()
    assert [c.offset for c in walk.extended] == [0x100, 0x140]
    assert "the extended list loops" in walk.problems[0]
    struct.pack_into("<I", b, 0x140, F.ExtCapHeader.encode(id=F.ExtCapId.ARI, version=1, next=0x80))
    assert "inside the PCI-compatible space" in ConfigSpace(bytes(b)).capabilities().problems[0]


def test_all_ones_function() -> None:
    walk = ConfigSpace(b"\xff" * 4096).capabilities()
    assert walk.capabilities == [] and "all-ones" in walk.problems[0]


def test_all_ones_extended_header_means_no_extended_space() -> None:
    b = base()
    struct.pack_into("<I", b, 0x100, 0xFFFFFFFF)
    assert offsets(b, strict=True) == [(0x40, False), (0x50, False)]


def test_unknown_ids_are_listed_not_fatal() -> None:
    b = base()
    b[0x50] = 0xE7
    struct.pack_into("<I", b, 0x140, F.ExtCapHeader.encode(id=0x0BAD, version=3, next=0))
    cs = ConfigSpace(bytes(b))
    caps = cs.capabilities(strict=True).capabilities
    assert caps[1].name == "Unknown (0xe7)" and caps[3].name == "Unknown (0x0bad)"
    assert decode(cs, caps[3]).summary == "<?>"


def test_64bit_bar_in_last_slot_is_refused() -> None:
    b = base()
    struct.pack_into("<I", b, F.BAR0 + 20, F.BAR_MEM_TYPE_64)
    with pytest.raises(PciError, match="BAR5 is marked 64-bit but is the last BAR"):
        ConfigSpace(bytes(b)).bars()


def test_capability_registers_past_the_end_decode_opaque() -> None:
    b = base()[:256]
    b[0x51] = 0xF8  # MSI -> 0xf8: a PCIe capability there would run past 0x100
    b[0xF8:0xFA] = bytes([F.CapId.EXP, 0])
    cs = ConfigSpace(bytes(b))
    cap = cs.capabilities().standard[-1]
    assert cap.offset == 0xF8 and decode(cs, cap).summary == "<?>"
    with pytest.raises(PciError, match="outside"):
        decode_strict(cs, cap)


def test_rebar_with_bad_entry_count_is_refused_strictly() -> None:
    b = base()
    struct.pack_into("<I", b, 0x140, F.ExtCapHeader.encode(id=F.ExtCapId.REBAR, version=1, next=0))
    cs = ConfigSpace(bytes(b))  # entry count 0
    with pytest.raises(PciError, match="declares 0 BARs"):
        decode_strict(cs, cs.capabilities().extended[-1])


def test_dump_sources_refuse_writes_and_bad_reads() -> None:
    src = BytesConfig(bytes(base()), name="dump")
    with pytest.raises(PciError, match="dump: config write at 0x4 refused: this dump is read-only"):
        src.write(4, b"\0\0")
    with pytest.raises(PciError, match="outside the 0x1000 readable bytes"):
        src.read(0xFFC, 8)
    with pytest.raises(PciError, match="larger than a 4 KiB"):
        BytesConfig(bytes(4097))
    rw = BytesConfig(bytearray(base()), writable=True)
    with pytest.raises(PciError, match="naturally aligned"):
        rw.write(3, b"\0\0")


def test_hex_dump_parser_errors() -> None:
    with pytest.raises(PciError, match="no rows"):
        parse_hex_dump("nothing here")
    with pytest.raises(PciError, match="appears twice"):
        parse_hex_dump("00: 00 01\n00: 00 01\n")
    with pytest.raises(PciError, match="not consecutive"):
        parse_hex_dump("00: " + " ".join(["00"] * 16) + "\n20: 00\n")
    with pytest.raises(PciError, match="past the 4 KiB"):
        parse_hex_dump("ffc: 00 00 00 00 00 00 00 00\n")
    with pytest.raises(PciError, match="overlaps"):
        parse_hex_dump("00: 00 00 00 00 00 00 00 00\n04: 00\n", allow_gaps=True)
    gaps = parse_hex_dump("00: 01 02\n10: 03\n", allow_gaps=True)
    assert gaps.data == b"\x01\x02" + bytes(14) + b"\x03" and gaps.known == ((0, 2), (0x10, 0x11))


def test_listing_parser_reads_the_fixture() -> None:
    assert load_dump("ga104-rtx3060ti.lspci").is_known(0xBCC, 4)
    assert not load_dump("ga104-rtx3060ti.lspci").is_known(0x140, 4)
    devs = parse_listing("0000:00:01.0 Bridge: x\n\tCapabilities: <access denied>\n\tRegion 0: Memory at 1 [size=2K]\n")
    assert devs[0].caps_denied and devs[0].regions == {0: 2048}


# -- fuzz: what the parser must return for any bytes, and what it must refuse ------------------------------
#
# The reference walk below follows PCI Local Bus 3.0 section 6.7 and PCIe 6.0 section 7.6 (the low two bits of a
# pointer are reserved; 0 ends a list; standard capabilities live in 0x40-0xff, extended ones from 0x100;
# a header of all-ones is no capability), written apart from nova_core.pci so the two can disagree.


def _reference_walk(b: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int]], bool]:
    """(standard (offset, id), extended (offset, id), whether a list ended malformed) for a >= 256-byte space."""
    std: list[tuple[int, int]] = []
    broken = False
    if struct.unpack_from("<H", b, F.STATUS)[0] & F.Status.cap_list.mask:
        ptr, seen = b[F.CAPABILITY_LIST] & 0xFC, set()
        while ptr:
            if ptr < 0x40 or ptr + 2 > 0x100 or ptr in seen or len(seen) >= F.MAX_STD_CAPS or b[ptr] == 0xFF:
                broken = True
                break
            seen.add(ptr)
            std.append((ptr, b[ptr]))
            ptr = b[ptr + 1] & 0xFC
    ext: list[tuple[int, int]] = []
    if len(b) >= 0x104 and struct.unpack_from("<I", b, 0x100)[0] not in (0, 0xFFFFFFFF):
        off, seen = 0x100, set()
        while True:
            if off in seen or len(seen) >= F.MAX_EXT_CAPS:
                broken = True
                break
            seen.add(off)
            header = struct.unpack_from("<I", b, off)[0]
            if header == 0xFFFFFFFF:
                broken = True
                break
            ext.append((off, header & 0xFFFF))
            nxt = (header >> 20) & 0xFFC
            if nxt == 0:
                break
            if nxt < 0x100 or nxt + 4 > len(b):
                broken = True
                break
            off = nxt
    return std, ext, broken


def _check_against_the_reference(b: bytes) -> None:
    cs = ConfigSpace(b)
    walk = cs.capabilities()
    std, ext, broken = _reference_walk(b)
    assert [(c.offset, c.id) for c in walk.standard] == std
    assert [(c.offset, c.id) for c in walk.extended] == ext
    assert bool(walk.problems) == broken, walk.problems
    if broken:
        with pytest.raises(PciError, match=r"^config: |capability|loops|all-ones|points"):
            cs.capabilities(strict=True)
    else:
        assert cs.capabilities(strict=True).capabilities == walk.capabilities


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=F.EXTENDED_SIZE))
def test_fuzz_random_config_spaces(data: bytes) -> None:
    if len(data) < F.HEADER_SIZE:
        with pytest.raises(PciError, match=f"config space of {len(data)} bytes is truncated"):
            ConfigSpace(data)
        return
    cs = ConfigSpace(data)
    h = cs.header()
    assert (h.vendor_id, h.device_id) == struct.unpack_from("<HH", data, 0)
    walk = cs.capabilities()
    for c in walk.capabilities:
        assert c.offset >= (0x100 if c.extended else 0x40) and c.offset < len(data) and not c.offset & 3
        decode(cs, c)
    if len(data) >= F.LEGACY_SIZE and data[:4] != b"\xff" * 4:
        _check_against_the_reference(data)
    try:
        bars = cs.bars()
    except PciError as e:
        assert "BAR" in str(e)
    else:
        assert [b.index for b in bars] == sorted({b.index for b in bars}) and all(0 <= b.index < 6 for b in bars)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0x40, 0xFF), st.integers(0, 0xFF), st.integers(0, 0xFF)), max_size=64),
       st.lists(st.tuples(st.integers(0x40, 0x3FF), st.integers(0, 0xFFFFFFFF)), max_size=64))
def test_fuzz_mutated_lists(std: list[tuple[int, int, int]], ext: list[tuple[int, int]]) -> None:
    b = base()
    for off, cap_id, nxt in std:
        b[off] = cap_id
        if off + 1 < 0x100:
            b[off + 1] = nxt
    for dword, value in ext:
        struct.pack_into("<I", b, dword * 4, value)
    walk = ConfigSpace(bytes(b)).capabilities()
    assert len(walk.standard) <= F.MAX_STD_CAPS and len(walk.extended) <= F.MAX_EXT_CAPS
    offs = [c.offset for c in walk.capabilities]
    assert len(offs) == len(set(offs))  # never revisits
    _check_against_the_reference(bytes(b))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=F.EXTENDED_SIZE), st.integers(1, 16))
def test_fuzz_hex_dumps_round_trip(data: bytes, per_row: int) -> None:
    """A dump written the way lspci -xxxx writes one (16 bytes a row, or fewer) parses back to the same bytes."""
    text = "00:01.0 VGA compatible controller: NVIDIA\n" + "".join(
        f"{off:02x}: {' '.join(f'{x:02x}' for x in data[off:off + per_row])}\n" for off in range(0, len(data), per_row))
    dump = parse_hex_dump(text)
    assert dump.data == data and dump.known == ((0, len(data)),)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789abcdef: \n>xz", max_size=400))
def test_fuzz_hex_dump_text(text: str) -> None:
    try:
        dump = parse_hex_dump(text, allow_gaps=True)
    except PciError as e:
        assert str(e).startswith("hex dump")
    else:
        # what it returns is what the text's rows say: re-rendering the known ranges parses back to the same
        assert dump.known and all(0 <= a < b <= F.EXTENDED_SIZE for a, b in dump.known)
        rows = "".join(f"{a:x}: {' '.join(f'{x:02x}' for x in dump.data[a:b])}\n" for a, b in dump.known)
        assert parse_hex_dump(rows, allow_gaps=True) == dump
    try:
        parse_listing(text)
    except NovaError as e:
        assert isinstance(e, PciError)
