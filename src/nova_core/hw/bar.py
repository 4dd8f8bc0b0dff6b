"""nova_core.hw.bar: the ``Bar`` protocol (32-bit MMIO) and its buffer/mmap backends.

Every register access of the driver goes through a ``Bar``: the simulated GPU's register file, a
read-only mapping of a real device's ``resource0``, a record/replay wrapper. GPU registers are 32 bits
wide and must be accessed as aligned 32-bit words; block reads (the PROM window) are done word by word,
as the hardware is read, never with wider loads.
"""

from __future__ import annotations

import array
import mmap
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import BarRangeError, DeviceAccessError, ReadOnlyError


@runtime_checkable
class Bar(Protocol):
    """A PCI BAR of 32-bit registers.

    ``offset`` is a byte offset from the start of the BAR and must be 4-byte aligned. ``read_block``
    and ``write_block`` move ``length`` bytes (a multiple of 4) as consecutive 32-bit accesses.
    """

    @property
    def size(self) -> int:
        """Size of the BAR in bytes."""
        ...

    def read32(self, offset: int) -> int: ...

    def write32(self, offset: int, value: int) -> None: ...

    def read_block(self, offset: int, length: int) -> bytes: ...

    def write_block(self, offset: int, data: bytes) -> None: ...


def check_block(bar_size: int, offset: int, length: int, name: str) -> None:
    """Validate a block access: aligned, a multiple of 4 bytes, inside the BAR."""
    if offset < 0 or length < 0 or offset & 3 or length & 3:
        raise BarRangeError(
            f"{name}: block access at {offset:#x} of {length:#x} bytes must be 4-byte aligned and sized"
        )
    if offset + length > bar_size:
        raise BarRangeError(
            f"{name}: block access [{offset:#x}, {offset + length:#x}) is outside the BAR (size {bar_size:#x})"
        )


class BufferBar:
    """A BAR backed by any writable or read-only buffer (bytearray, mmap, memoryview).

    Reads and writes are single 32-bit accesses through a ``memoryview`` cast to unsigned ints, the
    same access width real MMIO needs. Writes raise :class:`ReadOnlyError` when ``writable`` is false.
    """

    __slots__ = ("_buffer", "_name", "_size", "_words", "_writable", "words32")

    words32: memoryview

    def __init__(self, buffer: bytearray | memoryview | mmap.mmap | bytes, *, writable: bool = True,
                 name: str = "buffer") -> None:
        view = memoryview(buffer)
        if view.nbytes & 3:
            raise BarRangeError(f"{name}: BAR size {view.nbytes:#x} is not a multiple of 4 bytes")
        if writable and view.readonly:
            raise ReadOnlyError(f"{name}: buffer is read-only but a writable BAR was requested")
        self._buffer = buffer
        self._words = view.cast("B").cast("I")
        #: the BAR as 32-bit words, for register reads that load a fixed word directly (``regs.core``); a plain
        #: attribute, not a property: it is looked up on every such read
        self.words32 = self._words
        self._size = view.nbytes
        self._writable = writable
        self._name = name

    @property
    def size(self) -> int:
        return self._size

    @property
    def name(self) -> str:
        return self._name

    @property
    def writable(self) -> bool:
        return self._writable

    def _bad(self, offset: int, length: int) -> BarRangeError:
        if offset & 3:
            return BarRangeError(f"{self._name}: unaligned 32-bit access at {offset:#x}")
        return BarRangeError(
            f"{self._name}: access at {offset:#x} (+{length}) is outside the BAR (size {self._size:#x})"
        )

    def read32(self, offset: int) -> int:
        if offset & 3 or offset < 0:
            raise self._bad(offset, 4)
        try:
            return self._words[offset >> 2]
        except IndexError:
            raise self._bad(offset, 4) from None

    def write32(self, offset: int, value: int) -> None:
        if not self._writable:
            raise ReadOnlyError(
                f"{self._name}: write32({offset:#x}, {value:#x}) refused: the BAR is mapped read-only"
            )
        if offset & 3 or offset < 0:
            raise self._bad(offset, 4)
        if not 0 <= value <= 0xFFFFFFFF:
            raise BarRangeError(f"{self._name}: write32({offset:#x}, {value:#x}): value is not 32-bit")
        try:
            self._words[offset >> 2] = value
        except IndexError:
            raise self._bad(offset, 4) from None

    def read_block(self, offset: int, length: int) -> bytes:
        check_block(self._size, offset, length, self._name)
        first = offset >> 2
        # One 32-bit load per word (no memcpy with wider loads): the PROM window needs it. tolist() unpacks
        # the 'I' items one by one, each a 4-byte load, in C.
        values = self._words[first:first + (length >> 2)].tolist()
        return array.array("I", values).tobytes()

    def write_block(self, offset: int, data: bytes) -> None:
        if not self._writable:
            raise ReadOnlyError(
                f"{self._name}: write_block({offset:#x}, {len(data)} bytes) refused: the BAR is read-only"
            )
        check_block(self._size, offset, len(data), self._name)
        src = memoryview(bytes(data)).cast("I")
        first = offset >> 2
        for i in range(len(src)):
            self._words[first + i] = src[i]

    def close(self) -> None:
        """Release the view (and the mapping, when this object owns one)."""
        self._words.release()
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()

    def __repr__(self) -> str:
        mode = "rw" if self._writable else "ro"
        return f"<{type(self).__name__} {self._name} size={self._size:#x} {mode}>"


class MmapBar(BufferBar):
    """A BAR mapped from a file: a sysfs ``resource0`` or any file holding a BAR image.

    Read-only by default: the file is opened ``O_RDONLY`` and mapped ``PROT_READ``, so a write cannot
    reach the device even by mistake; :meth:`write32` raises :class:`ReadOnlyError` first.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str], *, size: int | None = None,
                 readonly: bool = True) -> None:
        self.path = Path(path)
        flags = os.O_RDONLY if readonly else os.O_RDWR
        try:
            fd = os.open(self.path, flags)
        except PermissionError as exc:
            raise DeviceAccessError(
                f"cannot open {str(self.path)!r} {'read-only' if readonly else 'read-write'}: permission "
                f"denied (mapping a PCI BAR needs root or CAP_SYS_ADMIN)"
            ) from exc
        except FileNotFoundError as exc:
            raise DeviceAccessError(f"cannot open {str(self.path)!r}: no such file") from exc
        except OSError as exc:
            raise DeviceAccessError(f"cannot open {str(self.path)!r}: {exc.strerror}") from exc
        try:
            length = os.fstat(fd).st_size if size is None else size
            if length <= 0:
                raise DeviceAccessError(f"{str(self.path)!r} is empty: nothing to map")
            prot = mmap.PROT_READ if readonly else mmap.PROT_READ | mmap.PROT_WRITE
            try:
                mm = mmap.mmap(fd, length, mmap.MAP_SHARED, prot)
            except OSError as exc:
                raise DeviceAccessError(
                    f"cannot map {str(self.path)!r} ({length:#x} bytes): {exc.strerror}"
                ) from exc
        finally:
            os.close(fd)
        super().__init__(mm, writable=not readonly, name=str(self.path))
