"""Helpers for the PCI tests: the public config-space fixtures and fake sysfs trees."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from nova_core.pci.lspci import HexDump, parse_hex_dump

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pci"


def load_dump(name: str, *, size: int | None = None) -> HexDump:
    """A fixture's hex rows (gaps allowed), padded to ``size`` bytes (the size the device had)."""
    dump = parse_hex_dump((FIXTURES / name).read_text(), allow_gaps=True)
    if size is not None and len(dump.data) < size:
        return HexDump(dump.data + bytes(size - len(dump.data)), dump.known)
    return dump


def make_function(root: Path, bdf: str, *, vendor: int = 0x10DE, device: int = 0x2684, klass: int = 0x030000,
                  config: bytes | None = None, driver: str | None = None, group: int | None = None,
                  resources: list[tuple[int, int, int]] | None = None, extra: dict[str, str] | None = None) -> Path:
    """A directory shaped like /sys/bus/pci/devices/BDF (links to fake driver and iommu_group dirs)."""
    devs = root / "devices"
    path = devs / bdf
    path.mkdir(parents=True)
    (path / "vendor").write_text(f"{vendor:#06x}\n")
    (path / "device").write_text(f"{device:#06x}\n")
    (path / "class").write_text(f"{klass:#08x}\n")
    (path / "revision").write_text("0xa1\n")
    (path / "subsystem_vendor").write_text("0x10de\n")
    (path / "subsystem_device").write_text("0x0000\n")
    if config is None:
        config = (vendor.to_bytes(2, "little") + device.to_bytes(2, "little") + bytes(4)
                  + bytes([0xA1, klass & 0xFF, klass >> 8 & 0xFF, klass >> 16]) + bytes(52))
    (path / "config").write_bytes(config)
    lines = resources or []
    (path / "resource").write_text("".join(f"{s:#018x} {e:#018x} {f:#018x}\n" for s, e, f in lines)
                                   + "0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * (13 - len(lines)))
    if driver is not None:
        ddir = root / "drivers" / driver
        ddir.mkdir(parents=True, exist_ok=True)
        os.symlink(ddir, path / "driver")
    if group is not None:
        gdir = root / "iommu_groups" / str(group)
        (gdir / "devices").mkdir(parents=True, exist_ok=True)
        os.symlink(gdir, path / "iommu_group")
        os.symlink(path, gdir / "devices" / bdf)
    for name, text in (extra or {}).items():
        (path / name).write_text(text)
    return path


@pytest.fixture
def fake_sysfs(tmp_path: Path) -> Callable[..., Path]:
    """``fake_sysfs(bdf, **kw)`` adds a function; the tree's device directory is ``tmp_path/devices``."""
    (tmp_path / "devices").mkdir(exist_ok=True)

    def add(bdf: str, **kw: object) -> Path:
        return make_function(tmp_path, bdf, **kw)  # type: ignore[arg-type]

    return add
