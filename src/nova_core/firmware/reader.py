"""nova_core.firmware.reader: bounds-checked reads of untrusted firmware bytes.

Every read a firmware parser makes goes through a :class:`Reader`: it checks the range against the
data first and raises :class:`~nova_core.errors.FirmwareError` naming the file, the structure, the
offset (in the file, even for a nested ELF), the expected and the found value - never an
``IndexError``, a ``struct.error`` or a silently short slice.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..errors import FirmwareError


class Reader:
    """Checked access to ``data`` (zero-copy: slices are views of it).

    Args:
        data: the bytes (a ``memoryview`` of an mmap, ``bytes`` ...).
        source: the file name (or description) used in messages.
        base: offset of ``data`` inside ``source``, so nested structures report file offsets.
    """

    __slots__ = ("base", "size", "source", "view")

    def __init__(self, data: bytes | bytearray | memoryview, source: str, base: int = 0) -> None:
        view = memoryview(data)
        self.view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        self.size = self.view.nbytes
        self.source = source
        self.base = base

    def error(self, structure: str, offset: int, message: str) -> FirmwareError:
        """A ``FirmwareError`` ``"<source>: <structure> at <file offset>: <message>"``."""
        return FirmwareError(f"{self.source}: {structure} at {self.base + offset:#x}: {message}")

    def need(self, offset: int, size: int, structure: str) -> None:
        """Refuse a range that is negative or runs past the end of the data."""
        if offset < 0 or size < 0 or offset + size > self.size:
            raise self.error(
                structure, offset,
                f"{size:#x} bytes [{self.base + offset:#x}, {self.base + offset + size:#x}) run past the end of "
                f"the data ({self.base + self.size:#x} bytes)" if size >= 0 and offset >= 0 else
                f"invalid range (offset {offset:#x}, size {size:#x})",
            )

    def slice(self, offset: int, size: int, structure: str) -> memoryview:
        """A view of ``size`` bytes at ``offset`` (no copy)."""
        self.need(offset, size, structure)
        return self.view[offset:offset + size]

    def unpack(self, st: struct.Struct, offset: int, structure: str) -> tuple[int, ...]:
        self.need(offset, st.size, structure)
        return st.unpack_from(self.view, offset)

    def fields(self, st: struct.Struct, names: Sequence[str], offset: int, structure: str) -> dict[str, int]:
        """Unpack ``st`` at ``offset`` into a ``{name: value}`` dict."""
        return dict(zip(names, self.unpack(st, offset, structure), strict=True))

    def u32(self, offset: int, structure: str) -> int:
        self.need(offset, 4, structure)
        return int.from_bytes(self.view[offset:offset + 4], "little")

    def expect(self, structure: str, offset: int, found: int, expected: int) -> None:
        """Refuse ``found != expected`` with both values in hex."""
        if found != expected:
            raise self.error(structure, offset, f"expected {expected:#x}, found {found:#x}")

    def cstring(self, offset: int, structure: str, limit: int | None = None) -> str:
        """A NUL-terminated ASCII string at ``offset`` (the NUL must be present before ``limit``)."""
        end_limit = self.size if limit is None else min(self.size, offset + limit)
        if not 0 <= offset < end_limit:
            raise self.error(structure, offset, f"string offset outside the data ({self.base + self.size:#x} bytes)")
        end = bytes(self.view[offset:end_limit]).find(b"\0")
        if end < 0:
            raise self.error(structure, offset, f"no NUL terminator before {self.base + end_limit:#x}")
        raw = bytes(self.view[offset:offset + end])
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.error(structure, offset, f"not ASCII: {raw[:32]!r}") from None
