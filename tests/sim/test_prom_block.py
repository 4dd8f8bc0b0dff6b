"""The PROM window read in blocks: the same bytes, BAR0 read count and virtual time as word-by-word reads, erased
flash past the ROM, all-ones from a lost device; a block that is not wholly plain window memory goes word by word."""

from __future__ import annotations

import struct

import pytest

from nova_core.gpu import Chipset
from nova_core.hw.bar import BufferBar
from nova_core.regs.prom import PROM
from nova_core.sim import SimGpu
from nova_core.sim.synth.vbios import build_vbios


def _words(gpu: SimGpu, offset: int, length: int) -> bytes:
    return b"".join(struct.pack("<I", gpu.bar0.read32(offset + i)) for i in range(0, length, 4))


@pytest.mark.parametrize("at, length", [(0, 256), (0x1000, 4096), (None, 512), (PROM.size - 256, 256)])
def test_block_equals_words(at: int | None, length: int) -> None:
    rom = build_vbios(Chipset.GA102)
    if at is None:
        at = (len(rom) - 100) & ~3  # straddles the end of the ROM: erased flash after it
    a, b = SimGpu("ga102", vbios=rom), SimGpu("ga102", vbios=rom)
    r0, t0 = a.bar0.reads, a.clock.now()
    block = a.bar0.read_block(PROM.start + at, length)
    r1, t1 = b.bar0.reads, b.clock.now()
    words = _words(b, PROM.start + at, length)
    assert block == words
    assert a.bar0.reads - r0 == b.bar0.reads - r1 == length // 4
    assert a.clock.now() - t0 == b.clock.now() - t1
    if at >= len(rom):
        assert block == b"\xff" * length


def test_lost_device_reads_all_ones_in_blocks() -> None:
    gpu = SimGpu("ga102")
    gpu.fall_off_bus()
    assert gpu.bar0.read_block(PROM.start, 64) == b"\xff" * 64


def test_a_block_with_a_hook_inside_goes_word_by_word() -> None:
    gpu = SimGpu("ga102")
    gpu.bar0.on_read(PROM.start + 8, lambda _off: 0x12345678)
    data = gpu.bar0.read_block(PROM.start, 16)
    assert struct.unpack("<4I", data)[2] == 0x12345678


def test_buffer_bar_block_is_its_words() -> None:
    buf = bytearray(range(256)) * 16
    bar = BufferBar(buf)
    assert bar.read_block(0x40, 0x100) == bytes(buf[0x40:0x140])
    assert bar.read_block(0x40, 0x100) == b"".join(struct.pack("<I", bar.read32(0x40 + i)) for i in range(0, 256, 4))
