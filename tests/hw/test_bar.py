"""BAR backends: buffer and mmap (read-only refusals, bounds, alignment), sysfs opening."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nova_core.errors import BarRangeError, DeviceAccessError, ReadOnlyError
from nova_core.hw.bar import Bar, BufferBar, MmapBar
from nova_core.hw.sysfs import normalize_bdf, open_sysfs_device


def test_buffer_bar_roundtrip_and_protocol() -> None:
    bar = BufferBar(bytearray(64))
    assert isinstance(bar, Bar)
    bar.write32(8, 0xDEADBEEF)
    assert bar.read32(8) == 0xDEADBEEF
    bar.write_block(16, bytes(range(16)))
    assert bar.read_block(16, 16) == bytes(range(16))
    assert bar.read_block(8, 4) == (0xDEADBEEF).to_bytes(4, "little")


@pytest.mark.parametrize(("off", "msg"), [(2, "unaligned"), (64, "outside the BAR"), (-4, "outside")])
def test_bad_offsets(off: int, msg: str) -> None:
    bar = BufferBar(bytearray(64))
    with pytest.raises(BarRangeError, match=msg):
        bar.read32(off)
    with pytest.raises(BarRangeError, match=msg):
        bar.write32(off, 0)


def test_bad_blocks_and_values() -> None:
    bar = BufferBar(bytearray(64))
    with pytest.raises(BarRangeError, match="aligned"):
        bar.read_block(2, 4)
    with pytest.raises(BarRangeError, match="outside the BAR"):
        bar.read_block(60, 8)
    with pytest.raises(BarRangeError, match="not 32-bit"):
        bar.write32(0, 1 << 32)


def test_mmap_bar_is_read_only(tmp_path: Path) -> None:
    f = tmp_path / "resource0"
    f.write_bytes((0x192000A1).to_bytes(4, "little") + bytes(4092))
    bar = MmapBar(f)
    assert bar.read32(0) == 0x192000A1
    with pytest.raises(ReadOnlyError, match=r"write32\(0x0, 0x1\) refused: the BAR is mapped read-only"):
        bar.write32(0, 1)
    with pytest.raises(ReadOnlyError):
        bar.write_block(0, b"\0" * 4)
    assert f.read_bytes()[:4] == (0x192000A1).to_bytes(4, "little")
    bar.close()


def test_mmap_bar_errors(tmp_path: Path) -> None:
    with pytest.raises(DeviceAccessError, match="no such file"):
        MmapBar(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(DeviceAccessError, match="is empty"):
        MmapBar(empty)


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file permissions")
def test_mmap_bar_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "resource0"
    f.write_bytes(bytes(4096))
    f.chmod(0)
    with pytest.raises(DeviceAccessError, match="permission denied"):
        MmapBar(f)


def test_bdf_normalisation() -> None:
    assert normalize_bdf("1:00.0".rjust(7, "0")) == "0000:01:00.0"
    assert normalize_bdf("0000:AF:00.1") == "0000:af:00.1"
    with pytest.raises(DeviceAccessError, match="not a PCI address"):
        normalize_bdf("gpu0")


def _fake_sysfs(root: Path, bdf: str, vendor: str) -> None:
    d = root / bdf
    d.mkdir(parents=True)
    (d / "vendor").write_text(vendor + "\n")
    (d / "device").write_text("0x2684\n")
    (d / "resource0").write_bytes((0x192000A1).to_bytes(4, "little") + bytes(0xFFC))


def test_open_sysfs_device(tmp_path: Path) -> None:
    _fake_sysfs(tmp_path, "0000:01:00.0", "0x10de")
    dev = open_sysfs_device("01:00.0", root=tmp_path)
    assert dev.kind == "sysfs" and dev.pci_device == 0x2684
    assert dev.bar0.read32(0) == 0x192000A1
    with pytest.raises(ReadOnlyError):
        dev.bar0.write32(0, 0)
    with pytest.raises(Exception, match="read-only through sysfs"):
        dev.dma.alloc(4096)
    dev.close()


def test_open_sysfs_refuses_other_vendors_and_missing(tmp_path: Path) -> None:
    _fake_sysfs(tmp_path, "0000:02:00.0", "0x8086")
    with pytest.raises(DeviceAccessError, match=r"vendor 0x8086, not NVIDIA"):
        open_sysfs_device("0000:02:00.0", root=tmp_path)
    with pytest.raises(DeviceAccessError, match="no PCI device 0000:03:00.0"):
        open_sysfs_device("0000:03:00.0", root=tmp_path)
