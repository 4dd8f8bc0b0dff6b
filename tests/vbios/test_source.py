"""Byte sources: the PROM window is read with 32-bit reads only, lazily, and never written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nova_core.errors import RomError
from nova_core.gpu.chips import Chipset
from nova_core.hw.bar import BufferBar
from nova_core.regs.prom import PROM_BASE, PROM_SIZE
from nova_core.sim.synth.vbios import build_vbios
from nova_core.vbios import FileSource, PromSource, Vbios, read_vbios_version
from nova_core.vbios.facts import MAX_ROM_FILE
from nova_core.vbios.source import PROM_CHUNK

BAR0 = 16 << 20


class SpyBar:
    """A read-only BAR0 that records every access (and refuses writes)."""

    def __init__(self, rom: bytes) -> None:
        buf = bytearray(BAR0)
        buf[PROM_BASE:PROM_BASE + len(rom)] = rom
        self.inner = BufferBar(buf, writable=False, name="spy")
        self.reads32: list[int] = []
        self.blocks = 0

    @property
    def size(self) -> int:
        return self.inner.size

    def read32(self, offset: int) -> int:
        self.reads32.append(offset)
        return self.inner.read32(offset)

    def read_block(self, offset: int, length: int) -> bytes:
        # the Bar contract: length/4 consecutive aligned 32-bit reads
        assert offset % 4 == 0 and length % 4 == 0
        self.blocks += 1
        self.reads32.extend(range(offset, offset + length, 4))
        return self.inner.read_block(offset, length)

    def write32(self, offset: int, value: int) -> None:
        raise AssertionError(f"write32({offset:#x}) on a read-only device")

    def write_block(self, offset: int, data: bytes) -> None:
        raise AssertionError(f"write_block({offset:#x}) on a read-only device")


def test_prom_reads_are_32_bit_and_inside_the_window() -> None:
    bar = SpyBar(build_vbios(Chipset.GA102))
    vb = Vbios.from_bar(bar, "spy")
    assert vb.fwsec is not None
    assert bar.reads32 and all(o % 4 == 0 and PROM_BASE <= o < PROM_BASE + PROM_SIZE for o in bar.reads32)
    assert len(bar.reads32) == len(set(bar.reads32))  # nothing is read twice
    assert bar.blocks * 64 == len(bar.reads32)  # in 256-byte chunks, one block read each


def test_version_reads_only_a_few_chunks() -> None:
    bar = SpyBar(build_vbios(Chipset.AD102))
    assert read_vbios_version(bar, "spy") == "95.02.00.01.5A"  # type: ignore[arg-type]
    # the PCI-AT header, the BIT's chunk and the BIOSDATA/FALCON_DATA chunks, a few image headers
    assert len(bar.reads32) * 4 <= 8 * PROM_CHUNK


def test_prom_source_find_spans_chunks() -> None:
    data = bytearray(0x2000)
    data[PROM_CHUNK * 3 - 2:PROM_CHUNK * 3 + 4] = b"\xff\xb8BIT\x00"
    src = PromSource(SpyBar(bytes(data)), "spy")  # type: ignore[arg-type]
    assert src.find(b"\xff\xb8BIT\x00", 0, 0x2000) == PROM_CHUNK * 3 - 2
    assert src.find(b"\xff\xb8BIT\x00", PROM_CHUNK * 3, 0x2000) == -1
    assert src.find(b"\xff\xb8BIT\x00", 0, PROM_CHUNK * 3 + 3) == -1  # must lie wholly inside the range
    assert src.read(PROM_CHUNK - 1, 3) == bytes(3) and src.size == PROM_SIZE


def test_prom_window_clipped_to_the_bar() -> None:
    small = BufferBar(bytearray(PROM_BASE + 0x1000), writable=False)
    assert PromSource(small).size == 0x1000


def test_file_source(tmp_path: Path) -> None:
    p = tmp_path / "x.rom"
    p.write_bytes(build_vbios(Chipset.TU102))
    src = FileSource.open(p)
    assert src.name == "x.rom" and src.size == p.stat().st_size and src.read(0, 2) == b"\x55\xaa"
    with pytest.raises(RomError, match="cannot open vBIOS ROM file .*nope.rom': No such file"):
        FileSource.open(tmp_path / "nope.rom")


@pytest.mark.parametrize(("make", "match"), [
    (lambda d: Path("/dev/zero"), r"vBIOS ROM file '/dev/zero' is a character device, not a regular file"),
    (lambda d: d, r"is a directory, not a regular file"),
    (lambda d: (d / "empty.rom").touch() or d / "empty.rom", r"is empty \(0 bytes\)"),
])
def test_a_rom_that_is_not_a_file_is_refused_before_reading(tmp_path: Path, make: Any, match: str) -> None:
    """issue 22, defect 3: `nova vbios /dev/zero` read until MemoryError."""
    with pytest.raises(RomError, match=match):
        FileSource.open(make(tmp_path))


def test_a_rom_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.rom"
    with big.open("wb") as f:
        f.truncate(MAX_ROM_FILE + 1)
    with pytest.raises(RomError, match=r"has 8,388,609 bytes .*no vBIOS ROM file has more than 8 MiB \(4x the "
                                       r"largest dump measured, 2,048,000 bytes"):
        FileSource.open(big)


@pytest.mark.artifacts
def test_every_real_rom_is_within_the_cap(vbios_path: Path) -> None:
    sizes = [p.stat().st_size for p in vbios_path.glob("*.rom")]
    assert sizes and max(sizes) == 2_048_000 and max(sizes) * 4 <= MAX_ROM_FILE


def test_sysfs_like_read_only_device_is_never_written() -> None:
    rom = build_vbios(Chipset.TU117)
    buf = bytearray(BAR0)
    buf[PROM_BASE:PROM_BASE + len(rom)] = rom
    bar = BufferBar(bytes(buf), writable=False)
    assert Vbios.from_bar(bar).version == "90.07.00.01.5A"
