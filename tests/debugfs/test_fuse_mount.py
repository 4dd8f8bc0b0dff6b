"""A real FUSE mount of a booted simulated GPU (``nova mount``), read with plain ``open()``, ended by SIGINT.

Skipped, with the reason, where libfuse cannot be loaded (``./dev test`` fetches Debian's libfuse3 and sets
``FUSE_LIBRARY_PATH``), where /dev/fuse is missing, or where this machine does not permit mounting.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nova_core.debugfs.fuse import FuseUnavailable, check_mountpoint, is_mounted, load_fuse
from nova_core.errors import NovaError
from nova_core.sim import SimGpu

MOUNT_TIMEOUT = 60.0


def _fuse_or_skip() -> None:
    try:
        load_fuse()
    except FuseUnavailable as e:
        pytest.skip(f"FUSE unusable here: {e}")


def _wait_mounted(proc: subprocess.Popen[str], mnt: Path) -> None:
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while not is_mounted(mnt):
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            if "Operation not permitted" in err or "fusermount" in err or "Permission denied" in err:
                pytest.skip(f"mounting is not permitted here: {err.strip().splitlines()[-1]}")
            pytest.fail(f"the mount exited {proc.returncode} before mounting: {err}")
        if time.monotonic() > deadline:
            pytest.fail(f"nothing mounted within {MOUNT_TIMEOUT:.0f} s")
        time.sleep(0.05)


def _cleanup(proc: subprocess.Popen[str], mnt: Path) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if is_mounted(mnt):
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], check=False, capture_output=True)
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


#: serves the export of a fake device at argv[1]; argv[2] == "crash" makes reading info.json a fatal error
SCRIPT = '''
import sys
from nova_core.debugfs import ExportTree
from nova_core.debugfs.fuse import mount
from nova_core.hw.bar import BufferBar

class Fake:
    name = "fake"
    bar0 = BufferBar(bytearray(0x1000))
    def log_buffers(self): return {}
    def vbios_rom(self): return None
    def info(self):
        if sys.argv[2] == "crash":
            raise SystemExit("info() crashed")
        return {}

mount(ExportTree([] if sys.argv[2] == "empty" else [Fake()]), sys.argv[1])
'''


def _serve(mnt: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(mnt), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_mount_read_and_unmount_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    _fuse_or_skip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, NOVA_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen([sys.executable, "-c", "from nova_core.cli.main import run; run()", "mount", str(mnt),
                             "--sim", "tu117", "--synthetic"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_mounted(proc, mnt)
        dev = mnt / "sim-tu117"
        assert sorted(os.listdir(dev)) == ["gsp", "info.json", "irq", "regs", "vbios.rom"]
        vectors = (dev / "irq" / "vectors").read_text()
        assert vectors.startswith("mode msi ") and " GSP " in vectors and "GspInterrupt" in vectors
        info = json.loads((dev / "info.json").read_text())
        assert info["chipset"] == "TU117" and info["gsp_ready"] is True and info["firmware_synthetic"] is True
        boot0 = SimGpu("tu117").boot0
        assert (dev / "regs" / "NV_PMC_BOOT_0").read_text().splitlines()[0] == f"NV_PMC_BOOT_0 @ 0x0 = {boot0:#010x}"
        ring = (dev / "gsp" / "loginit").read_bytes()
        assert len(ring) == 0x10000 and int.from_bytes(ring[:8], "little") > 0
        assert os.stat(dev / "gsp" / "loginit").st_size == 0x10000
        assert (dev / "vbios.rom").read_bytes()[:2] == b"\x55\xaa"
        with pytest.raises(OSError) as ei:
            (dev / "info.json").write_text("x")
        assert ei.value.errno in (errno.EROFS, errno.EACCES)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=MOUNT_TIMEOUT)
        assert proc.returncode == 0, err
        assert not is_mounted(mnt)
        assert "unmounted" in err and "shut down (clean)" in err
    finally:
        _cleanup(proc, mnt)


def test_a_mount_point_in_use_is_refused(tmp_path: Path) -> None:
    _fuse_or_skip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = _serve(mnt, "empty")  # an export of no device: an empty directory that is a mount point
    try:
        _wait_mounted(proc, mnt)
        assert os.listdir(mnt) == []
        with pytest.raises(NovaError, match="is already a mount point"):
            check_mountpoint(mnt)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=MOUNT_TIMEOUT)
        assert proc.returncode == 0, err
        assert not is_mounted(mnt)
    finally:
        _cleanup(proc, mnt)


def test_a_fatal_error_while_serving_leaves_nothing_mounted(tmp_path: Path) -> None:
    _fuse_or_skip()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    proc = _serve(mnt, "crash")
    try:
        _wait_mounted(proc, mnt)
        with pytest.raises(OSError):
            (mnt / "fake" / "info.json").read_bytes()
        _out, err = proc.communicate(timeout=MOUNT_TIMEOUT)
        assert proc.returncode != 0 and "info() crashed" in err
        assert not is_mounted(mnt)
    finally:
        _cleanup(proc, mnt)


def test_mountpoint_must_be_an_existing_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(NovaError, match="not an existing directory"):
        check_mountpoint(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    with pytest.raises(NovaError, match="is not empty"):
        check_mountpoint(tmp_path)


def test_cli_refuses_a_bad_mountpoint_before_booting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nova_core.cli.main import main

    assert main(["mount", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an existing directory" in err
