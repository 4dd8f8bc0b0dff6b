"""nova_core.hw.sysfs: a real PCI device opened read-only through sysfs.

Safe beside a loaded vendor driver: BAR0 (``resource0``) is opened ``O_RDONLY`` and mapped
``PROT_READ``; nothing is written to the device, its config space or its driver binding.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DeviceAccessError, NovaError
from .bar import MmapBar
from .clock import MonotonicClock
from .device import Device, NoDma

if TYPE_CHECKING:
    from ..pci.source import SysfsConfig

SYSFS_PCI = Path("/sys/bus/pci/devices")
NVIDIA_VENDOR_ID = 0x10DE
_BDF = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$")


def normalize_bdf(bdf: str) -> str:
    """``"1:00.0"``-style input to the canonical ``"0000:01:00.0"``; raises on malformed input."""
    m = _BDF.match(bdf.strip())
    if not m:
        raise DeviceAccessError(
            f"{bdf!r} is not a PCI address; expected DOMAIN:BUS:DEVICE.FUNCTION such as 0000:01:00.0"
        )
    domain = m.group(1) or "0000"
    return f"{domain.lower()}:{m.group(2).lower()}:{m.group(3).lower()}.{m.group(4)}"


def _read_hex(path: Path) -> int:
    try:
        return int(path.read_text().strip(), 16)
    except OSError as exc:
        raise DeviceAccessError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except ValueError as exc:
        raise DeviceAccessError(f"{str(path)!r} does not hold a hex number") from exc


def open_sysfs_device(bdf: str, *, root: Path = SYSFS_PCI) -> Device:
    """Open ``bdf`` read-only: BAR0 mapped ``PROT_READ``, no DMA, the host's monotonic clock.

    Raises:
        DeviceAccessError: no such device, not an NVIDIA device, or no permission to map BAR0.
    """
    name = normalize_bdf(bdf)
    path = root / name
    if not path.exists():
        raise DeviceAccessError(f"no PCI device {name} (looked for {str(path)!r})")
    vendor = _read_hex(path / "vendor")
    device = _read_hex(path / "device")
    if vendor != NVIDIA_VENDOR_ID:
        raise DeviceAccessError(
            f"PCI device {name} has vendor {vendor:#06x}, not NVIDIA ({NVIDIA_VENDOR_ID:#06x})"
        )
    bar = MmapBar(path / "resource0", readonly=True)
    dev = Device(
        bar0=bar,
        dma=NoDma(f"{name} is opened read-only through sysfs (owning it needs the VFIO backend)"),
        clock=MonotonicClock(),
        name=name,
        kind="sysfs",
        pci_vendor=vendor,
        pci_device=device,
        config=_config(path, name),
    )
    dev.on_close(bar.close)
    return dev


def _config(path: Path, name: str) -> SysfsConfig | None:
    """The function's config space, read-only (None when it cannot be opened)."""
    from ..pci.source import SysfsConfig

    try:
        return SysfsConfig(path / "config", name=name)
    except NovaError:
        return None
