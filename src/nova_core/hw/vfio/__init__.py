"""nova_core.hw.vfio: the owned-device backend (VFIO type-1 IOMMU): BARs, config, DMA, MSI-X, reset.

- :mod:`.uapi`    the kernel ABI as facts (ioctl numbers, structures, flags), CI-checked against
                  ``linux/vfio.h``;
- :mod:`.device`  container/group/device, region info, BAR mmap, :class:`VfioDma` (a
                  ``DmaAllocator`` over ``VFIO_IOMMU_MAP_DMA``), MSI-X through eventfds, reset, and
                  :func:`open_vfio_device` (a :class:`~nova_core.hw.device.Device` of kind ``"vfio"``).
"""

from __future__ import annotations

from .device import (
    EventFd,
    IrqInfo,
    LinuxVfioSys,
    RegionInfo,
    VfioConfig,
    VfioContainer,
    VfioDevice,
    VfioDma,
    VfioGroup,
    VfioSys,
    check_vfio_ready,
    open_vfio_device,
)

__all__ = [
    "EventFd",
    "IrqInfo",
    "LinuxVfioSys",
    "RegionInfo",
    "VfioConfig",
    "VfioContainer",
    "VfioDevice",
    "VfioDma",
    "VfioGroup",
    "VfioSys",
    "check_vfio_ready",
    "open_vfio_device",
]
