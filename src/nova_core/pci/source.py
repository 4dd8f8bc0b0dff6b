"""nova_core.pci.source: where configuration-space bytes come from.

A :class:`ConfigSource` is the narrow seam :class:`~nova_core.pci.config.ConfigSpace` reads through:

- :class:`SysfsConfig`: ``/sys/bus/pci/devices/BDF/config``. The kernel serves 64 bytes to an
  unprivileged reader (the type 0 header), 256 or 4096 bytes to root; :attr:`size` is what a read
  actually returned, so an unprivileged open gives a 64-byte source (capabilities not visible) rather
  than zeros. Read-only unless opened ``writable=True`` (root, and only for an owned device);
- :class:`BytesConfig`: a dump in memory (a fixture, ``lspci -xxxx`` text parsed by :mod:`.lspci`);
- the simulated GPU's config space (:mod:`nova_core.sim.models.pci`) and the VFIO config region
  (:mod:`nova_core.hw.vfio`) implement the same protocol.

Reads may span any range inside :attr:`size`; writes are 1, 2 or 4 bytes, naturally aligned (one
configuration write TLP). Everything outside is a :class:`~nova_core.errors.PciError` that names the
source, the offset and its size.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import PciError
from .facts import EXTENDED_SIZE, HEADER_SIZE


@runtime_checkable
class ConfigSource(Protocol):
    """Configuration space of one PCI function."""

    @property
    def name(self) -> str:
        """For messages: a BDF, a file name, ``sim:ga100``."""
        ...

    @property
    def size(self) -> int:
        """Bytes readable from offset 0 (64, 256 or 4096)."""
        ...

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...


def check_read(name: str, size: int, offset: int, length: int) -> None:
    """Shared bounds check for reads."""
    if offset < 0 or length < 0 or offset + length > size:
        hint = ""
        if size == HEADER_SIZE:
            hint = " (only the 64-byte header is readable: an unprivileged read of sysfs config; run as root)"
        raise PciError(f"{name}: config read [{offset:#x}, {offset + length:#x}) is outside the {size:#x} "
                       f"readable bytes{hint}")


def check_write(name: str, size: int, offset: int, length: int) -> None:
    """Shared check for writes: 1, 2 or 4 bytes, naturally aligned, inside the space."""
    if length not in (1, 2, 4) or offset % length:
        raise PciError(f"{name}: config write of {length} bytes at {offset:#x} is not a naturally aligned "
                       f"1, 2 or 4-byte access")
    if offset < 0 or offset + length > size:
        raise PciError(f"{name}: config write at {offset:#x} is outside the {size:#x}-byte config space")


class BytesConfig:
    """A config space held in memory (a dump); writable when built from a ``bytearray`` and asked to be."""

    def __init__(self, data: bytes | bytearray, *, name: str = "bytes", writable: bool = False) -> None:
        if len(data) > EXTENDED_SIZE:
            raise PciError(f"{name}: {len(data):#x} bytes is larger than a 4 KiB config space")
        self._data = bytearray(data)
        self._name = name
        self._writable = writable

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def data(self) -> bytes:
        return bytes(self._data)

    def read(self, offset: int, length: int) -> bytes:
        check_read(self._name, len(self._data), offset, length)
        return bytes(self._data[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        if not self._writable:
            raise PciError(f"{self._name}: config write at {offset:#x} refused: this dump is read-only")
        check_write(self._name, len(self._data), offset, len(data))
        self._data[offset:offset + len(data)] = data


class SysfsConfig:
    """The ``config`` file of a PCI function in sysfs (read-only unless ``writable``).

    Raises:
        PciError: the file is missing or cannot be opened (no such device, permission).
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool = False, name: str | None = None) -> None:
        self.path = Path(path)
        self._name = name or self.path.parent.name or str(self.path)
        try:
            self._fd = os.open(self.path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
        except FileNotFoundError:
            raise PciError(f"{self._name}: no config space at {str(self.path)!r}") from None
        except PermissionError:
            raise PciError(f"{self._name}: cannot open {str(self.path)!r} "
                           f"{'read-write' if writable else 'read-only'}: permission denied"
                           f"{' (writing config space needs root)' if writable else ''}") from None
        except OSError as e:
            raise PciError(f"{self._name}: cannot open {str(self.path)!r}: {e.strerror}") from None
        self._writable = writable
        try:
            # What the kernel serves this reader: 64 bytes unprivileged, 256/4096 to root.
            self._size = len(os.pread(self._fd, EXTENDED_SIZE, 0))
        except OSError as e:
            os.close(self._fd)
            raise PciError(f"{self._name}: cannot read {str(self.path)!r}: {e.strerror}") from None

    @property
    def name(self) -> str:
        return self._name

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        check_read(self._name, self._size, offset, length)
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as e:
            raise PciError(f"{self._name}: config read at {offset:#x} failed: {e.strerror}") from None
        if len(data) != length:
            raise PciError(f"{self._name}: config read at {offset:#x} returned {len(data)} of {length} bytes "
                           f"(the device went away?)")
        return data

    def write(self, offset: int, data: bytes) -> None:
        if not self._writable:
            raise PciError(f"{self._name}: config write at {offset:#x} refused: opened read-only")
        check_write(self._name, self._size, offset, len(data))
        try:
            n = os.pwrite(self._fd, data, offset)
        except OSError as e:
            hint = " (needs root)" if e.errno in (errno.EPERM, errno.EACCES) else ""
            raise PciError(f"{self._name}: config write at {offset:#x} failed: {e.strerror}{hint}") from None
        if n != len(data):
            raise PciError(f"{self._name}: config write at {offset:#x} wrote {n} of {len(data)} bytes")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SysfsConfig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.close()
