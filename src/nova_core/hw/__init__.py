"""nova_core.hw: device access, the one seam every hardware touch goes through.

- :mod:`.bar`     the ``Bar`` protocol (32-bit MMIO) and buffer/mmap backends (read-only for sysfs);
- :mod:`.trace`   record/replay wrappers whose traces are plain JSON lines;
- :mod:`.dma`     the ``DmaAllocator`` protocol, ``DmaBuffer`` (coherent memory with bus addresses) and
                  ``ForeignMemory`` (memory the driver does not own, mapped without copying);
- :mod:`.sg`      ``SgTable``: scatter-gather lists with coalescing and page iteration;
- :mod:`.clock`   ``Clock``: the real monotonic clock and a virtual clock for the simulated GPU;
- :mod:`.poll`    ``poll_timeout``: every bounded wait of the driver;
- :mod:`.irq`     ``IrqManager``: interrupt vectors, their handler thread, ``wait_woken`` (a wait an interrupt ends);
- :mod:`.device`  ``Device``: the bundle (BAR0, DMA, clock) that driver code receives as a parameter;
- :mod:`.sysfs`   opening a real PCI device read-only through sysfs;
- :mod:`.vfio`    the owned-device backend (VFIO container/group/device, IOMMU DMA, MSI-X eventfds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .bar import Bar, BufferBar, MmapBar
    from .clock import MS, NS, SEC, US, Clock, MonotonicClock, VirtualClock
    from .device import Device
    from .dma import DmaAllocator, DmaBuffer, ForeignMemory
    from .poll import poll_timeout
    from .sg import SgSegment, SgTable

__getattr__, __dir__ = lazy_exports(__name__, {
    "Bar": ".bar",
    "BufferBar": ".bar",
    "MmapBar": ".bar",
    "MS": ".clock",
    "NS": ".clock",
    "SEC": ".clock",
    "US": ".clock",
    "Clock": ".clock",
    "MonotonicClock": ".clock",
    "VirtualClock": ".clock",
    "Device": ".device",
    "DmaAllocator": ".dma",
    "DmaBuffer": ".dma",
    "ForeignMemory": ".dma",
    "poll_timeout": ".poll",
    "SgSegment": ".sg",
    "SgTable": ".sg",
})

__all__ = [
    "MS",
    "NS",
    "SEC",
    "US",
    "Bar",
    "BufferBar",
    "Clock",
    "Device",
    "DmaAllocator",
    "DmaBuffer",
    "ForeignMemory",
    "MmapBar",
    "MonotonicClock",
    "SgSegment",
    "SgTable",
    "VirtualClock",
    "poll_timeout",
]
