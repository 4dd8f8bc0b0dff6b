"""nova_core.files: files named by a user - inputs read the one safe way, outputs checked before the work.

**Inputs**: regular files only, size capped per format.

Every reader of an untrusted file (a ROM dump, a firmware file, a logging ELF, a replay trace, a config-space
dump) goes through :func:`read_input` (:func:`map_input` where the file is mapped rather than read;
:func:`check_input` where only its kind and size matter). Each
format declares an :class:`InputFormat` beside its other facts: what the file is, the most bytes it can
honestly have and where that bound comes from, and the error class of its layer. A directory, a device
(``/dev/zero``), a FIFO, a socket, an empty file, a file over the cap, a file that cannot be opened: each is
one error of that class, raised before any parsing and before any byte is read - never a ``MemoryError``, a
read that does not end, or an ``OSError`` traceback.

The file is opened once (``O_NONBLOCK``, so a FIFO cannot block the open), checked with ``fstat`` on that
descriptor (no race between the check and the read or the mapping), and read to at most ``cap + 1`` bytes (a file
that grows past the cap while being read is refused as well) or mapped at the size checked.

**Outputs** (a trace, saved log rings, an extracted image) are checked before the work that produces them
starts (:func:`check_output_file`, :func:`check_output_dir`: a real attempt to create a file there, so a
read-only file system or ``/proc`` is found even by root), and written by :func:`write_atomically`: a new
file created exclusively beside the target, then renamed over it - never a half-written file, and never a
write through a symbolic link or hard link planted at the target's name.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import NovaError


@dataclass(frozen=True)
class InputFormat:
    """A kind of input file and its bounds.

    Attributes:
        what: the file's kind in words, for messages (``"vBIOS ROM file"``).
        cap: the most bytes such a file can have.
        cap_source: why (measured files, the format's own limits), shown when a file is over the cap.
        error: the layer's :class:`~nova_core.errors.NovaError` subclass to raise.
    """

    what: str
    cap: int
    cap_source: str
    error: type[NovaError]


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def _describe_mode(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def _check(fmt: InputFormat, path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise fmt.error(f"{fmt.what} {str(path)!r} is {_describe_mode(st.st_mode)}, not a regular file")
    if st.st_size == 0:
        raise fmt.error(f"{fmt.what} {str(path)!r} is empty (0 bytes)")
    if st.st_size > fmt.cap:
        raise fmt.error(f"{fmt.what} {str(path)!r} has {st.st_size:,} bytes ({_size_text(st.st_size)}); no "
                        f"{fmt.what} has more than {_size_text(fmt.cap)} ({fmt.cap_source})")


def _open(fmt: InputFormat, path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise fmt.error(f"cannot open {fmt.what} {str(path)!r}: {exc.strerror or exc}") from None


def check_input(path: str | os.PathLike[str], fmt: InputFormat) -> os.stat_result:
    """Refuse ``path`` unless it is a readable, non-empty regular file within ``fmt``'s cap; its ``stat``."""
    p = Path(path)
    fd = _open(fmt, p)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    _check(fmt, p, st)
    return st


def map_input(path: str | os.PathLike[str], fmt: InputFormat) -> mmap.mmap:
    """``path`` mapped read-only, refused as :func:`check_input` says: the descriptor checked is the one mapped."""
    p = Path(path)
    fd = _open(fmt, p)
    try:
        st = os.fstat(fd)
        _check(fmt, p, st)
        try:
            return mmap.mmap(fd, st.st_size, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise fmt.error(f"cannot map {fmt.what} {str(p)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        os.close(fd)


def read_input(path: str | os.PathLike[str], fmt: InputFormat) -> bytes:
    """The bytes of ``path``, refused as :func:`check_input` says, read with a bound."""
    p = Path(path)
    fd = _open(fmt, p)
    try:
        _check(fmt, p, os.fstat(fd))
        chunks: list[bytes] = []
        total = 0
        while total <= fmt.cap:
            try:
                chunk = os.read(fd, min(1 << 20, fmt.cap + 1 - total))
            except OSError as exc:
                raise fmt.error(f"cannot read {fmt.what} {str(p)!r}: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > fmt.cap:
        raise fmt.error(f"{fmt.what} {str(p)!r} grew past {_size_text(fmt.cap)} while it was read "
                        f"({fmt.cap_source})")
    return b"".join(chunks)


def cache_dir() -> Path:
    """The project's cache (``$NOVA_CACHE``, default ``~/.cache/nova-core``): fetched firmware, synthetic firmware."""
    return Path(os.environ.get("NOVA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "nova-core"))


def _probe_writable(directory: Path, what: str, target: Path, error: type[NovaError] = NovaError) -> None:
    """Create (exclusively) and remove a file in ``directory``: the one honest test that writing will work."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nova-probe.", dir=directory)
    except OSError as exc:
        raise error(f"{what} {str(target)!r}: cannot write in {str(directory)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def check_output_file(path: str | os.PathLike[str], what: str, error: type[NovaError] = NovaError) -> Path:
    """Refuse, before any work, an output file that cannot be written: a directory, a missing or unwritable
    directory, a name that exists and is not a regular file (``/dev/zero`` would swallow the output)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise error(f"{what} {str(p)!r} is a directory; give a file name")
    if not parent.is_dir():
        raise error(f"{what} {str(p)!r}: no directory {str(parent)!r}")
    if p.exists() and not p.is_file():
        raise error(f"{what} {str(p)!r} exists and is not a regular file")
    _probe_writable(parent, what, p, error)
    return p


def check_output_dir(path: str | os.PathLike[str], what: str) -> Path:
    """A directory to write into: created if missing (parents too), refused unless files can be created in it."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NovaError(f"{what} {str(p)!r} exists and is not a directory") from None
    except OSError as exc:
        raise NovaError(f"{what} {str(p)!r}: cannot create the directory: {exc.strerror or exc}") from None
    if not p.is_dir():
        raise NovaError(f"{what} {str(p)!r} exists and is not a directory")
    _probe_writable(p, what, p)
    return p


def write_atomically(path: str | os.PathLike[str], data: bytes | bytearray | memoryview, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a new file created exclusively beside it, then a rename.

    The rename replaces whatever name is at ``path`` (a symbolic link included) without following it, so a
    link planted in an output directory never redirects the write; readers see the old file or the new one,
    never half of one.
    """
    p = Path(path)
    directory = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise NovaError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # mkstemp's 0600 is for the temporary name only
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise NovaError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from None
