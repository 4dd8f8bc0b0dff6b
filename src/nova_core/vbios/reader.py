"""nova_core.vbios.reader: bounds-checked, typed reads of untrusted ROM bytes.

Every read a vBIOS parser makes goes through :class:`RomReader`: it checks the range against the end
of the data (the file, the PROM window) and against the scan limit first, and raises
:class:`~nova_core.errors.RomError` naming the source, the structure, the ROM offset and what was
expected - never an ``IndexError``, a ``struct.error`` or a silently short slice. Structures that
parse claim their bytes in the reader's :class:`~.coverage.Coverage`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from ..errors import RomError
from .coverage import Coverage
from .source import RomSource


class RomReader:
    """Checked access to a :class:`RomSource`.

    Args:
        source: the bytes.
        coverage: where claims go (a new one by default).
        scan_end: reads must end at or before this offset (the scan limit; ``None``: the source size).
        scan_reason: how to name that limit in messages.
    """

    def __init__(self, source: RomSource, coverage: Coverage | None = None, *, scan_end: int | None = None,
                 scan_reason: str = "the scan limit") -> None:
        self.source = source
        self.coverage = coverage if coverage is not None else Coverage()
        self.scan_end = source.size if scan_end is None else scan_end
        self.scan_reason = scan_reason

    @property
    def end(self) -> int:
        """First offset that may not be read."""
        return min(self.source.size, self.scan_end)

    def limited(self, scan_end: int, scan_reason: str) -> RomReader:
        """The same source and coverage with a (new) scan limit."""
        return RomReader(self.source, self.coverage, scan_end=scan_end, scan_reason=scan_reason)

    # -- errors -------------------------------------------------------------------------------------

    def error(self, structure: str, offset: int, message: str) -> RomError:
        """``RomError("<source>: <structure> at <offset>: <message>")``."""
        return RomError(f"{self.source.name}: {structure} at {offset:#x}: {message}")

    def need(self, offset: int, size: int, structure: str) -> None:
        """Refuse a range that is negative or runs past the data or the scan limit."""
        if offset < 0 or size < 0:
            raise self.error(structure, max(offset, 0), f"invalid range (offset {offset:#x}, size {size:#x})")
        end = offset + size
        if end > self.source.size:
            raise self.error(structure, offset, f"needs {size:#x} bytes up to {end:#x}, past {self.source.end_reason} "
                                                f"at {self.source.size:#x}")
        if end > self.scan_end:
            raise self.error(structure, offset, f"needs {size:#x} bytes up to {end:#x}, past {self.scan_reason} "
                                                f"at {self.scan_end:#x}")

    def fits(self, offset: int, size: int) -> bool:
        return offset >= 0 and size >= 0 and offset + size <= self.end

    # -- reads -----------------------------------------------------------------------------------------

    def read(self, offset: int, size: int, structure: str) -> bytes:
        self.need(offset, size, structure)
        return self.source.read(offset, size)

    def u8(self, offset: int, structure: str) -> int:
        return self.read(offset, 1, structure)[0]

    def u16(self, offset: int, structure: str) -> int:
        return int.from_bytes(self.read(offset, 2, structure), "little")

    def u32(self, offset: int, structure: str) -> int:
        return int.from_bytes(self.read(offset, 4, structure), "little")

    def unpack(self, st: struct.Struct, offset: int, structure: str) -> tuple[Any, ...]:
        return st.unpack(self.read(offset, st.size, structure))

    def fields(self, st: struct.Struct, names: Sequence[str], offset: int, structure: str) -> dict[str, Any]:
        """Unpack ``st`` at ``offset`` into ``{name: value}``."""
        return dict(zip(names, self.unpack(st, offset, structure), strict=True))

    def find(self, pattern: bytes, start: int, end: int) -> int:
        """First ``pattern`` wholly inside ``[start, end)`` (clipped to the readable data), or -1."""
        end = min(end, self.end)
        if start < 0 or start >= end:
            return -1
        return self.source.find(pattern, start, end)

    def claim(self, offset: int, size: int, label: str) -> None:
        """Record that ``label`` occupies ``[offset, offset + size)``; a structure whose own length field runs
        past the data (a corrupt PCIR or NPDE length) is refused, as one cut in half is."""
        self.need(offset, size, label)
        self.coverage.claim(offset, size, label)
