"""The FUSE operations over the export, called directly (no libfuse, no mount): sizes, snapshots, refusals.

:func:`~nova_core.debugfs.fuse.make_operations` takes the fuse module as an argument; a stand-in with mfusepy's
two names (``Operations``, ``FuseOSError``) lets these run where libfuse is absent. The real mount is
``test_fuse_mount.py``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from nova_core.debugfs import ExportTree
from nova_core.errors import DeviceLost
from nova_core.hw.bar import BufferBar


class FuseOSError(OSError):
    def __init__(self, code: int) -> None:
        super().__init__(code, os.strerror(code))


FAKE_FUSE = SimpleNamespace(Operations=object, FuseOSError=FuseOSError)
DEV = "/0000:01:00.0"


class _Source:
    name = "0000:01:00.0"

    def __init__(self) -> None:
        self.bar0 = BufferBar(bytearray(16 << 20))
        self.generation = 0
        self.lost = False

    def log_buffers(self) -> Mapping[str, bytes]:
        if self.lost:
            raise DeviceLost("BAR0 reads all ones: the GPU fell off the bus")
        self.generation += 1
        return {"LOGINIT": self.generation.to_bytes(8, "little") * (self.generation * 16)}

    def vbios_rom(self) -> bytes | None:
        return b"\x55\xaa" + bytes(510)

    def info(self) -> dict[str, Any]:
        return {"device": self.name}


def _ops(src: _Source) -> Any:
    from nova_core.debugfs.fuse import make_operations

    return make_operations(ExportTree([src]), FAKE_FUSE)


def _errno(fn: Any, *args: Any) -> int:
    with pytest.raises(FuseOSError) as ei:
        fn(*args)
    return ei.value.errno


def test_attributes_are_read_only_and_sizes_are_real() -> None:
    src = _Source()
    ops = _ops(src)
    root = ops.getattr("/")
    assert stat.S_ISDIR(root["st_mode"]) and root["st_mode"] & 0o777 == 0o555
    rom = ops.getattr(f"{DEV}/vbios.rom")
    assert stat.S_ISREG(rom["st_mode"]) and rom["st_mode"] & 0o777 == 0o444 and rom["st_size"] == 512
    assert ops.getattr(f"{DEV}/info.json")["st_size"] == len(b'{\n  "device": "0000:01:00.0"\n}\n')
    reg = ops.getattr(f"{DEV}/regs/NV_PMC_BOOT_0")["st_size"]
    assert reg == len(ExportTree([src]).read(f"{DEV}/regs/NV_PMC_BOOT_0"))
    assert _errno(ops.getattr, f"{DEV}/nope") == errno.ENOENT
    assert ops.readdir(DEV, 0) == [".", "..", "gsp", "vbios.rom", "info.json", "regs"]
    assert _errno(ops.readdir, f"{DEV}/info.json", 0) == errno.ENOTDIR


def test_an_open_handle_keeps_one_snapshot_and_its_size() -> None:
    src = _Source()
    ops = _ops(src)
    fh = ops.open(f"{DEV}/gsp/loginit", os.O_RDONLY)
    snap = ops.read(f"{DEV}/gsp/loginit", 1 << 20, 0, fh)
    assert ops.getattr(f"{DEV}/gsp/loginit", fh)["st_size"] == len(snap)
    ops.open(f"{DEV}/gsp/loginit", os.O_RDONLY)  # another reader: the ring grew meanwhile
    assert ops.read(f"{DEV}/gsp/loginit", 1 << 20, 0, fh) == snap  # still the first reader's bytes
    assert ops.read(f"{DEV}/gsp/loginit", 8, 8, fh) == snap[8:16]
    assert ops.read(f"{DEV}/gsp/loginit", 8, len(snap), fh) == b""
    assert ops.release(f"{DEV}/gsp/loginit", fh) == 0
    assert _errno(ops.open, DEV, os.O_RDONLY) == errno.EISDIR


@pytest.mark.parametrize("flags", [os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND])
def test_opening_for_writing_is_refused(flags: int) -> None:
    assert _errno(_ops(_Source()).open, f"{DEV}/info.json", flags) == errno.EROFS


def test_every_changing_operation_is_refused() -> None:
    ops = _ops(_Source())
    f = f"{DEV}/info.json"
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("write", (f, b"x", 0, 1)), ("create", (f"{DEV}/new", 0o644)), ("mkdir", (f"{DEV}/d", 0o755)),
        ("mknod", (f"{DEV}/n", 0o644, 0)), ("unlink", (f,)), ("rmdir", (f"{DEV}/regs",)), ("rename", (f, f + "2")),
        ("link", (f + "2", f)), ("symlink", (f + "2", f)), ("chmod", (f, 0o777)), ("chown", (f, 0, 0)),
        ("truncate", (f, 0)), ("utimens", (f, None)), ("setxattr", (f, "user.x", b"1", 0)),
        ("removexattr", (f, "user.x")), ("fallocate", (f, 0, 0, 4096, 1)),
    ]
    for name, args in calls:
        assert _errno(getattr(ops, name), *args) == errno.EROFS, name
    assert ops.access(f, os.R_OK) == 0 and ops.access(DEV, os.X_OK) == 0
    assert _errno(ops.access, f, os.W_OK) == errno.EROFS
    assert _errno(ops.access, f, os.X_OK) == errno.EACCES
    assert _errno(ops.access, f"{DEV}/nope", os.R_OK) == errno.ENOENT


def test_a_file_that_cannot_be_produced_reads_as_eio_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    src = _Source()
    ops = _ops(src)
    src.lost = True
    assert _errno(ops.open, f"{DEV}/gsp/loginit", os.O_RDONLY) == errno.EIO
    assert _errno(ops.getattr, f"{DEV}/gsp/loginit") == errno.EIO
    err = capsys.readouterr().err
    assert f"nova mount: {DEV}/gsp/loginit: BAR0 reads all ones" in err
    # registers say why in the file itself (the bar still answers here); the rings are raw bytes: EIO
    assert ops.open(f"{DEV}/regs/NV_PMC_BOOT_0", os.O_RDONLY) > 0

