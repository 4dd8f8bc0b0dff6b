"""nova_core.gpu.probe: read-only identification of a device: chip, revision, VRAM, timer, vBIOS version.

Safe on a real GPU bound to its vendor driver: only BOOT_0, BOOT_42, the VRAM size register, PTIMER and
(for the vBIOS version) a few KiB of the PROM window - as 32-bit reads - are read; nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import RomError
from ..hw.device import Device
from ..vbios import read_vbios_version
from .identify import identify
from .timer import read_gpu_time
from .vram import vram_size


@dataclass(frozen=True)
class ProbeResult:
    """What ``nova probe`` reports (``as_json()`` gives the stable JSON keys)."""

    device: str
    kind: str
    chipset: str
    chipset_id: int
    architecture: str
    architecture_id: int
    revision: str
    boot0: int
    boot42: int
    vram_bytes: int
    gpu_time_ns: int
    pci_vendor: int | None
    pci_device: int | None
    vbios_version: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def probe(dev: Device) -> ProbeResult:
    """Identify ``dev`` and read its VRAM size, GPU time and vBIOS version (read-only)."""
    spec = identify(dev.bar0)
    vram = vram_size(dev.bar0, spec)
    now = read_gpu_time(dev.bar0)
    try:
        vbios_version = read_vbios_version(dev.bar0, dev.name)
    except RomError:
        vbios_version = None  # a ROM the parser refuses does not make the GPU unidentifiable
    return ProbeResult(
        device=dev.name,
        kind=dev.kind,
        chipset=spec.chipset.name,
        chipset_id=int(spec.chipset),
        architecture=spec.architecture.family,
        architecture_id=int(spec.architecture),
        revision=str(spec.revision),
        boot0=spec.boot0,
        boot42=spec.boot42,
        vram_bytes=vram,
        gpu_time_ns=now,
        pci_vendor=dev.pci_vendor,
        pci_device=dev.pci_device,
        vbios_version=vbios_version,
    )
