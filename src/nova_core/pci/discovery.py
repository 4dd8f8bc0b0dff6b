"""nova_core.pci.discovery: finding PCI functions under /sys/bus/pci/devices (read-only).

:func:`list_devices` reads, for each function, the small sysfs attribute files (``vendor``,
``device``, ``class``, ``revision``, ``subsystem_*``), the ``driver`` and ``iommu_group`` links, and
``resource`` (one line per resource: start, end, flags; lines 0-5 are the BARs, 6 the expansion ROM,
7-12 the SR-IOV VF BARs, where a size is that of all VFs together). None of these needs privileges.
By default only NVIDIA display controllers (class 03xx) are listed; ``all_devices=True`` lists every
function. An empty or missing sysfs directory (a container) gives an empty list, never an error; a
function whose attributes vanish mid-read (hot unplug) is skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PciError
from . import facts as F
from .source import SysfsConfig

SYSFS_PCI = Path("/sys/bus/pci/devices")
_BDF = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")
ROM_RESOURCE = 6
IOV_RESOURCE_FIRST = 7  #: lines 7..12 of ``resource``: the VF BARs (PCI_IOV_RESOURCES)
IORESOURCE_IO = 0x100
IORESOURCE_MEM = 0x200
IORESOURCE_PREFETCH = 0x2000
IORESOURCE_MEM_64 = 0x100000


@dataclass(frozen=True)
class Resource:
    """One line of sysfs ``resource``."""

    index: int
    start: int
    end: int
    flags: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1 if self.end > self.start or self.flags else 0

    @property
    def is_io(self) -> bool:
        return bool(self.flags & IORESOURCE_IO)

    @property
    def is_64bit(self) -> bool:
        return bool(self.flags & IORESOURCE_MEM_64)

    @property
    def prefetchable(self) -> bool:
        return bool(self.flags & IORESOURCE_PREFETCH)


def read_resources(path: Path) -> list[Resource]:
    """Parse a sysfs ``resource`` file (bounded: one entry per line, at most 17 lines are meaningful)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise PciError(f"cannot read {str(path)!r}: {e.strerror}") from None
    out = []
    for i, line in enumerate(text.splitlines()[:32]):
        parts = line.split()
        if len(parts) != 3:
            raise PciError(f"{str(path)!r} line {i + 1}: expected 'start end flags', found {line!r}")
        try:
            start, end, flags = (int(p, 16) for p in parts)
        except ValueError:
            raise PciError(f"{str(path)!r} line {i + 1}: not hex numbers: {line!r}") from None
        out.append(Resource(i, start, end, flags))
    return out


def bar_sizes(resources: list[Resource]) -> dict[int, int]:
    """BAR index -> size from ``resource`` lines 0-5 (unimplemented BARs are left out)."""
    return {r.index: r.size for r in resources[:6] if r.size and (r.start or r.end)}


def vf_bar_sizes(resources: list[Resource], total_vfs: int) -> dict[int, int]:
    """VF BAR index -> size of one VF's BAR, from ``resource`` lines 7-12 (which span all TotalVFs)."""
    out = {}
    for r in resources[IOV_RESOURCE_FIRST:IOV_RESOURCE_FIRST + 6]:
        if r.size and total_vfs:
            out[r.index - IOV_RESOURCE_FIRST] = r.size // total_vfs
    return out


@dataclass
class PciFunction:
    """A function as sysfs describes it."""

    bdf: str
    path: Path
    vendor: int
    device: int
    class_code: int
    revision: int | None
    subsystem_vendor: int | None
    subsystem_device: int | None
    driver: str | None
    iommu_group: int | None
    resources: list[Resource] = field(default_factory=list)

    @property
    def base_class(self) -> int:
        return self.class_code >> 16

    @property
    def subclass(self) -> int:
        return self.class_code >> 8 & 0xFF

    @property
    def class_name(self) -> str:
        return F.class_name(self.base_class, self.subclass)

    @property
    def is_nvidia_display(self) -> bool:
        return self.vendor == F.NVIDIA_VENDOR_ID and self.base_class == F.CLASS_DISPLAY

    @property
    def bar_sizes(self) -> dict[int, int]:
        return bar_sizes(self.resources)

    def config(self, *, writable: bool = False) -> SysfsConfig:
        """The function's ``config`` file as a :class:`~nova_core.pci.source.ConfigSource`."""
        return SysfsConfig(self.path / "config", writable=writable, name=self.bdf)

    def as_json(self) -> dict[str, Any]:
        return {
            "bdf": self.bdf, "vendor": self.vendor, "device": self.device, "class": self.class_code,
            "class_name": self.class_name, "revision": self.revision,
            "subsystem_vendor": self.subsystem_vendor, "subsystem_device": self.subsystem_device,
            "driver": self.driver, "iommu_group": self.iommu_group,
            "bars": [{"index": i, "size": s} for i, s in sorted(self.bar_sizes.items())],
        }


def _hex_attr(path: Path, name: str) -> int:
    """A hex attribute file (FileNotFoundError propagates: the function is gone or not a PCI function)."""
    text = (path / name).read_text().strip()
    try:
        return int(text, 16)
    except ValueError:
        raise PciError(f"{str(path / name)!r} does not hold a hex number: {text[:40]!r}") from None


def _hex_attr_opt(path: Path, name: str) -> int | None:
    try:
        return _hex_attr(path, name)
    except FileNotFoundError:
        return None


def _link_name(path: Path) -> str | None:
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def read_function(path: Path) -> PciFunction:
    """Describe the function at ``path`` (a directory of /sys/bus/pci/devices)."""
    vendor, device, klass = _hex_attr(path, "vendor"), _hex_attr(path, "device"), _hex_attr(path, "class")
    group = _link_name(path / "iommu_group")
    res_path = path / "resource"
    return PciFunction(
        bdf=path.name, path=path, vendor=vendor, device=device, class_code=klass,
        revision=_hex_attr_opt(path, "revision"),
        subsystem_vendor=_hex_attr_opt(path, "subsystem_vendor"),
        subsystem_device=_hex_attr_opt(path, "subsystem_device"),
        driver=_link_name(path / "driver"),
        iommu_group=int(group) if group is not None and group.isdigit() else None,
        resources=read_resources(res_path) if res_path.exists() else [],
    )


def list_devices(root: Path = SYSFS_PCI, *, all_devices: bool = False) -> list[PciFunction]:
    """Every function under ``root`` (NVIDIA display controllers only unless ``all_devices``), by BDF."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    except OSError as e:
        raise PciError(f"cannot list {str(root)!r}: {e.strerror}") from None
    out = []
    for name in names:
        if not _BDF.match(name):
            continue
        try:
            fn = read_function(root / name)
        except FileNotFoundError:
            continue  # removed while we looked (hot unplug)
        if all_devices or fn.is_nvidia_display:
            out.append(fn)
    return out


def find_function(bdf: str, root: Path = SYSFS_PCI) -> PciFunction:
    """The function at ``bdf`` (e.g. ``0000:01:00.0``, or ``01:00.0``: normalised before it becomes a path); a
    clear error if it is not a PCI address or absent."""
    from ..errors import DeviceAccessError
    from ..hw.sysfs import normalize_bdf

    try:
        bdf = normalize_bdf(bdf)
    except DeviceAccessError as e:
        raise PciError(str(e)) from None
    path = root / bdf
    if not path.is_dir():
        raise PciError(f"no PCI function {bdf} (looked for {str(path)!r})")
    try:
        return read_function(path)
    except FileNotFoundError as e:
        raise PciError(f"PCI function {bdf}: {e.filename!r} is missing") from None
