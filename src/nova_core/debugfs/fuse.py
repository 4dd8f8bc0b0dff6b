"""nova_core.debugfs.fuse: mount an :class:`~.tree.ExportTree` read-only through libfuse (mfusepy).

mfusepy (a maintained ctypes binding of libfuse 2 and 3, pure Python) loads libfuse from
``FUSE_LIBRARY_PATH`` or the system; ``./dev`` fetches Debian's libfuse3 into its cache and sets that
variable. The mount runs in the foreground; libfuse's own SIGINT/SIGTERM/SIGHUP handlers end the loop and
unmount; whatever way the loop ends (a signal, ``fusermount3 -u``, an error), :func:`mount` returns or raises
only once nothing is left mounted. Each open produces the file's contents once (kept per handle until release),
so a reader sees one snapshot; everything that would write is refused with EROFS (also refused by the kernel:
the mount is ``ro``), and a file whose contents cannot be produced reads as EIO with the reason on stderr.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import NovaError
from .tree import Dir, ExportTree, File, NotFound


class FuseUnavailable(NovaError):
    """libfuse or /dev/fuse cannot be used here."""


def load_fuse() -> Any:
    """The mfusepy module, with libfuse loaded (a clear error naming what is missing otherwise)."""
    if not Path("/dev/fuse").exists():
        raise FuseUnavailable("/dev/fuse does not exist: the fuse kernel module is not loaded (modprobe fuse)")
    try:
        import mfusepy
    except ImportError as e:
        raise FuseUnavailable(f"mfusepy is not installed ({e}); install nova-core[cli]") from e
    except OSError as e:  # raised at import when libfuse cannot be found or loaded
        raise FuseUnavailable(f"libfuse cannot be loaded ({e}): ./dev fetches it (FUSE_LIBRARY_PATH), or "
                              f"apt install libfuse3-3") from e
    return mfusepy


def make_operations(tree: ExportTree, fuse: Any) -> Any:
    """The mfusepy ``Operations`` over ``tree``."""

    class Ops(fuse.Operations):  # type: ignore[misc]
        use_ns = True

        def __init__(self) -> None:
            self._handles: dict[int, bytes] = {}
            self._sizes: dict[str, int] = {}
            self._ids = itertools.count(1)
            self._lock = threading.Lock()
            self._t = time.time_ns()

        def _node(self, path: str) -> Any:
            try:
                return tree.lookup(path)
            except NotFound:
                raise fuse.FuseOSError(errno.ENOENT) from None

        def _produce(self, path: str, node: File) -> bytes:
            try:
                return node.produce()
            except NovaError as e:  # e.g. the device was lost: the reader gets EIO, the operator the reason
                sys.stderr.write(f"nova mount: {path}: {e}\n")
                raise fuse.FuseOSError(errno.EIO) from None

        def _refuse(self, *args: Any) -> int:
            raise fuse.FuseOSError(errno.EROFS)

        # every operation that would change the tree (mfusepy leaves utimens a silent success by default)
        write = create = mkdir = mknod = unlink = rmdir = rename = link = symlink = _refuse
        chmod = chown = truncate = utimens = setxattr = removexattr = fallocate = _refuse

        def access(self, path: str, amode: int) -> int:
            node = self._node(path)
            if amode & os.W_OK:
                raise fuse.FuseOSError(errno.EROFS)
            if amode & os.X_OK and not isinstance(node, Dir):
                raise fuse.FuseOSError(errno.EACCES)
            return 0

        def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
            node = self._node(path)
            base = {"st_uid": os.getuid(), "st_gid": os.getgid(), "st_atime": self._t, "st_mtime": self._t,
                    "st_ctime": self._t}
            if isinstance(node, Dir):
                return {**base, "st_mode": stat.S_IFDIR | 0o555, "st_nlink": 2}
            if fh is not None and fh in self._handles:
                size = len(self._handles[fh])
            else:  # produced to know its size; the open will produce it again, consistently for its reader
                size = len(self._produce(path, node))
            return {**base, "st_mode": stat.S_IFREG | 0o444, "st_nlink": 1, "st_size": size}

        def readdir(self, path: str, fh: int) -> list[str]:
            node = self._node(path)
            if not isinstance(node, Dir):
                raise fuse.FuseOSError(errno.ENOTDIR)
            return [".", "..", *node.children]

        def open(self, path: str, flags: int) -> int:
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC):
                raise fuse.FuseOSError(errno.EROFS)
            node = self._node(path)
            if isinstance(node, Dir):
                raise fuse.FuseOSError(errno.EISDIR)
            data = self._produce(path, node)
            with self._lock:
                fh = next(self._ids)
                self._handles[fh] = data
            return fh

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            data = self._handles.get(fh)
            if data is None:  # not opened through us (cannot happen with libfuse; kept total)
                node = self._node(path)
                if isinstance(node, Dir):
                    raise fuse.FuseOSError(errno.EISDIR)
                data = self._produce(path, node)
            return data[offset:offset + size]

        def release(self, path: str, fh: int) -> int:
            with self._lock:
                self._handles.pop(fh, None)
            return 0

        def statfs(self, path: str) -> dict[str, int]:
            return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 0, "f_bfree": 0, "f_bavail": 0,
                    "f_namemax": 255}

    return Ops()


def check_mountpoint(path: str | os.PathLike[str]) -> Path:
    """The mountpoint must be an existing, empty directory that is not already a mount point."""
    p = Path(path)
    if not p.is_dir():
        raise NovaError(f"mountpoint {str(p)!r} is not an existing directory")
    if any(p.iterdir()):
        raise NovaError(f"mountpoint {str(p)!r} is not empty")
    if is_mounted(p):
        raise NovaError(f"mountpoint {str(p)!r} is already a mount point (unmount it first)")
    return p


def mount(tree: ExportTree, mountpoint: str | os.PathLike[str]) -> None:
    """Serve ``tree`` at ``mountpoint`` until SIGINT/SIGTERM (or ``fusermount -u``), then return unmounted.

    Raises:
        FuseUnavailable: libfuse or /dev/fuse cannot be used.
        NovaError: the mountpoint is not an empty directory, or the mount failed.
    """
    fuse = load_fuse()
    mp = check_mountpoint(mountpoint)
    try:
        fuse.FUSE(make_operations(tree, fuse), str(mp), foreground=True, ro=True, nothreads=False,
                  fsname="nova-core", default_permissions=True)
    except RuntimeError as e:
        # libfuse 3's fuse_main returns 8 when its loop ended with an error - which includes being ended by
        # SIGINT/SIGTERM (the loop reports the signal): that is the normal way out, once it has unmounted.
        if str(e) == str(LOOP_ENDED) and not is_mounted(mp):
            return
        raise NovaError(f"mount at {str(mp)!r} failed (libfuse status {e}): it needs /dev/fuse access (root, "
                        f"or fusermount3 on the PATH)") from e
    finally:  # libfuse unmounts on every way out of its loop; should it not have, nothing may be left behind
        if is_mounted(mp):
            force_unmount(mp)


def force_unmount(path: Path) -> None:
    """Detach a FUSE mount left behind (``fusermount3 -u -z``, else umount2(MNT_DETACH) as root)."""
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool is not None:
        subprocess.run([tool, "-u", "-z", str(path)], check=False, capture_output=True)
    if is_mounted(path):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.umount2(os.fsencode(path), MNT_DETACH)
    if is_mounted(path):
        raise NovaError(f"{str(path)!r} is still mounted after the FUSE loop ended: run fusermount3 -u {path}")


MNT_DETACH = 2  #: umount2 flag (linux/fs.h): detach now, finish when no longer busy


LOOP_ENDED = 8  #: libfuse 3 fuse_main_real: "the event loop ended with an error" (also: ended by a signal)


def is_mounted(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a mount point (per /proc/self/mounts)."""
    target = os.path.realpath(path)
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            return any(line.split()[1] == target for line in f if len(line.split()) > 1)
    except OSError:
        return os.path.ismount(target)
