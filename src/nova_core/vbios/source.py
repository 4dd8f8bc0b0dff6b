"""nova_core.vbios.source: where ROM bytes come from - a file, or a GPU's PROM window.

Two sources behind one small interface (:class:`RomSource`):

- :class:`FileSource`: a ROM dump in memory (``bytes`` or a file).
- :class:`PromSource`: BAR0's PROM window (``NV_PROM_DATA``, BAR0 0x300000, 1 MiB) of any
  :class:`~nova_core.hw.bar.Bar` - the simulated GPU, a real GPU opened read-only through sysfs, a
  replayed trace. Reads are aligned 32-bit reads (as nova-core and OpenRM read the PROM; the window
  must not be read with wider loads), made a 256-byte chunk at a time through ``Bar.read_block``, whose
  contract is exactly that: consecutive 32-bit reads (a buffer BAR loads them word by word in C; the
  simulated PROM serves them in one go; a trace records one block). Chunks are fetched only when a
  parser touches them, and never twice: the
  image walk reads each image's headers, the BIT search reads the PCI-AT image up to the BIT, and the
  FWSEC extraction reads the descriptor and the ucode - not the megabyte in between.

Offsets are ROM offsets (0 = the first byte the source shows). Bounds and error messages are the
reader's job (:mod:`.reader`); a source only refuses what it physically cannot serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..files import read_input
from ..hw.bar import Bar
from ..regs.prom import PROM_BASE, PROM_SIZE
from .facts import ROM_FILE

#: PROM reads are fetched in chunks of this many bytes (64 32-bit reads)
PROM_CHUNK = 256


class RomSource(Protocol):
    """ROM bytes by offset."""

    @property
    def name(self) -> str:
        """What the bytes are, for messages (a file name, ``"PROM of sim:ga102"``)."""
        ...

    @property
    def kind(self) -> str:
        """``"file"`` or ``"prom"``."""
        ...

    @property
    def size(self) -> int:
        """Bytes the source can serve (file size, or the PROM window)."""
        ...

    @property
    def end_reason(self) -> str:
        """Why there is nothing past :attr:`size` (``"the end of the file"``, ``"the PROM window"``)."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; the caller has checked ``offset + length <= size``."""
        ...

    def find(self, pattern: bytes, start: int, end: int) -> int:
        """Offset of the first ``pattern`` wholly inside ``[start, end)``, or -1."""
        ...


class FileSource:
    """A ROM image held in memory."""

    kind = "file"
    end_reason = "the end of the ROM file"

    def __init__(self, data: bytes | bytearray | memoryview, name: str = "<rom>") -> None:
        self.data = bytes(data)
        self._name = name

    @classmethod
    def open(cls, path: str | Path) -> FileSource:
        """Read a ROM file: a clear :class:`RomError` if it cannot be read, is not a regular file or is
        larger than any vBIOS (:data:`ROM_FILE`)."""
        p = Path(path)
        return cls(read_input(p, ROM_FILE), name=p.name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset:offset + length]

    def find(self, pattern: bytes, start: int, end: int) -> int:
        return self.data.find(pattern, start, end)


class PromSource:
    """The PROM window of a BAR0, read lazily as 32-bit words (see the module docstring).

    Args:
        bar: BAR0 of the device (only read).
        name: the device's name for messages.
        base: BAR0 offset of the window (``NV_PROM_DATA``).
        window: window size (1 MiB); clipped to what BAR0 holds.
    """

    kind = "prom"
    end_reason = "the PROM window (1 MiB at BAR0 0x300000)"

    def __init__(self, bar: Bar, name: str = "device", *, base: int = PROM_BASE, window: int = PROM_SIZE) -> None:
        self.bar = bar
        self._name = f"PROM of {name}"
        self.base = base
        self._size = max(0, min(window, bar.size - base)) & ~3
        self._chunks: dict[int, bytes] = {}
        self.bytes_read = 0  #: bytes fetched from the device so far (4 per 32-bit read)

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._size

    def _chunk(self, index: int) -> bytes:
        data = self._chunks.get(index)
        if data is None:
            start = index * PROM_CHUNK
            length = min(PROM_CHUNK, self._size - start)
            data = self.bar.read_block(self.base + start, length)  # length/4 consecutive 32-bit reads
            self.bytes_read += length
            self._chunks[index] = data
        return data

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        first, last = offset // PROM_CHUNK, (offset + length - 1) // PROM_CHUNK
        if first == last:
            rel = offset - first * PROM_CHUNK
            return self._chunk(first)[rel:rel + length]
        buf = b"".join(self._chunk(i) for i in range(first, last + 1))
        rel = offset - first * PROM_CHUNK
        return buf[rel:rel + length]

    def find(self, pattern: bytes, start: int, end: int) -> int:
        """Search chunk by chunk, so a pattern near ``start`` costs only the chunks before it."""
        end = min(end, self._size)
        step = PROM_CHUNK
        overlap = len(pattern) - 1
        pos = start
        while pos < end:
            stop = min(end, pos + step)
            window_end = min(end, stop + overlap)
            hit = self.read(pos, window_end - pos).find(pattern)
            if hit >= 0:
                return pos + hit
            pos = stop
        return -1
