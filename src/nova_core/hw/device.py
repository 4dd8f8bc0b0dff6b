"""nova_core.hw.device: ``Device``, the bundle of resources driver code is handed.

Driver functions take a ``Device`` (or its parts) as a parameter and never reach for globals: the same
code runs on the simulated GPU, on a read-only real device, and on a replayed trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..errors import DmaError
from .bar import Bar
from .clock import Clock
from .dma import PAGE_SIZE, DmaAllocator, DmaBuffer, MemoryLike
from .sg import SgTable

if TYPE_CHECKING:
    from ..pci.source import ConfigSource
    from .vfio.device import VfioDevice


class MessageSink(Protocol):
    """Where a function's MSI/MSI-X writes land, for a device whose messages the driver can see (the simulated
    GPU's host bridge): ``on_message(fn)`` calls ``fn(address, data)`` for each and returns an unsubscribe."""

    def on_message(self, fn: Callable[[int, int], None]) -> Callable[[], None]: ...


class NoDma:
    """The DMA allocator of a device opened read-only: every allocation is refused."""

    def __init__(self, why: str) -> None:
        self.why = why

    def alloc(self, size: int, *, align: int = PAGE_SIZE, name: str = "", limit: int | None = None) -> DmaBuffer:
        raise DmaError(f"cannot allocate DMA memory {name!r} ({size:#x} bytes): {self.why}")

    def free(self, buf: DmaBuffer) -> None:
        raise DmaError(f"cannot free DMA memory {buf.name!r}: {self.why}")

    def alloc_sg(self, size: int, *, name: str = "", zero: bool = True) -> SgTable:
        raise DmaError(f"cannot allocate DMA memory {name!r} ({size:#x} bytes): {self.why}")

    def map_sg(self, memory: MemoryLike, *, name: str = "", device_writable: bool = True) -> SgTable:
        raise DmaError(f"cannot map memory {name!r} for DMA: {self.why}")

    def free_sg(self, table: SgTable) -> None:
        raise DmaError(f"cannot free DMA mapping {table.name!r}: {self.why}")


@dataclass
class Device:
    """What a driver needs of a GPU: BAR0, a DMA allocator, a clock, and a name for messages.

    Attributes:
        bar0: register space (16 MiB on every supported chip).
        dma: coherent-memory allocator (``NoDma`` for read-only devices).
        clock: real or virtual time.
        name: ``"sim:ad102"`` or a PCI address such as ``"0000:01:00.0"``.
        kind: ``"sim"``, ``"sysfs"`` (read-only real device), ``"replay"`` or ``"vfio"``.
        pci_vendor / pci_device: PCI ids when known.
        sim: the simulated GPU object behind this device, when there is one (for tests and the CLI).
        config: the function's PCI config space (:class:`~nova_core.pci.source.ConfigSource`) when
            the backend offers it: sysfs (read-only), VFIO, the simulated GPU.
        bar2: the BAR2 aperture (instance memory through the BAR2 page tables), when mapped.
        vfio: the VFIO device behind a ``"vfio"`` device (its interrupts are eventfds).
        msi_sink: where the function's MSI/MSI-X messages can be seen, when they can (the simulated GPU);
            :func:`nova_core.irq.open_irq` programs MSI through ``config`` and listens here.
        bar1: the BAR1 aperture (the VRAM BAR: VRAM through GSP-RM's BAR1 page tables), when mapped.
    """

    bar0: Bar
    dma: DmaAllocator
    clock: Clock
    name: str
    kind: str
    pci_vendor: int | None = None
    pci_device: int | None = None
    sim: object | None = None
    config: ConfigSource | None = None
    bar2: Bar | None = None
    vfio: VfioDevice | None = None
    msi_sink: MessageSink | None = None
    bar1: Bar | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_close(self, fn: Callable[[], None]) -> None:
        """Register a clean-up to run (in reverse order) when the device is closed."""
        self._closers.append(fn)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
