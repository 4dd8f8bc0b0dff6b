"""nova_core.hw.vfio.irq: a VFIO-owned device's interrupts as an :class:`~nova_core.hw.irq.IrqBackend`.

MSI-X is tried first, then MSI, then INTx (what the device offers: ``VFIO_DEVICE_GET_IRQ_INFO``); every vector
signals its own eventfd, bound with ``VFIO_DEVICE_SET_IRQS`` (``DATA_EVENTFD | ACTION_TRIGGER``), and the
handler thread ``poll()`` s them all together with a private eventfd that :meth:`VfioIrqBackend.wake` writes.
As NVIDIA's driver does (``nv-msi.c``: every MSI-X line to one ISR), all vectors are enabled, up to
:data:`MAX_VECTORS`; the VFN tree is read whichever one fires.

Masking: vfio-pci masks only INTx (``VFIO_IRQ_INFO_MASKABLE``; the kernel owns the MSI/MSI-X tables), so
:meth:`VfioIrqBackend.mask` reports False for MSI/MSI-X and the manager masks in software. INTx is
automasked on delivery (``VFIO_IRQ_INFO_AUTOMASKED``): :meth:`VfioIrqBackend.end_of_interrupt` unmasks it
after the handlers ran. A storm detaches the vector's eventfd (``-1``).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Sequence

from ...errors import DeviceError, IrqError
from . import uapi as U
from .device import EventFd, VfioDevice

MAX_VECTORS = 32  #: vectors enabled at most (NVIDIA: NV_RM_MAX_MSIX_LINES is 8 on most builds; any one serves)
_INDEX = {"msi-x": U.VFIO_PCI_MSIX_IRQ_INDEX, "msi": U.VFIO_PCI_MSI_IRQ_INDEX, "intx": U.VFIO_PCI_INTX_IRQ_INDEX}


class VfioIrqBackend:
    """The eventfds of one VFIO IRQ index; use :meth:`open` to pick the index."""

    def __init__(self, vdev: VfioDevice, mode: str, fds: list[EventFd], maskable: bool) -> None:
        self.vdev = vdev
        self._mode = mode
        self.index = _INDEX[mode]
        self.fds = fds
        self.maskable = maskable
        self._by_fd = {f.fd: i for i, f in enumerate(fds)}
        self._wake = EventFd(vdev.sys, vdev.sys.eventfd())
        self._lock = threading.Lock()
        self._taken = 0
        self._detached: set[int] = set()
        self._poller = select.poll()
        for f in [*fds, self._wake]:
            self._poller.register(f.fd, select.POLLIN)

    @classmethod
    def open(cls, vdev: VfioDevice, prefer: Sequence[str] = ("msi-x", "msi", "intx"),
             max_vectors: int = MAX_VECTORS) -> VfioIrqBackend:
        """Enable the first mode of ``prefer`` the device offers.

        Raises:
            IrqError: none of them can signal an eventfd (the message lists what each offered).
        """
        tried = []
        for mode in prefer:
            if mode not in _INDEX:
                raise IrqError(f"{vdev.bdf}: no interrupt mode {mode!r}; modes: {', '.join(_INDEX)}")
            try:
                info = vdev.irq_info(_INDEX[mode])
            except DeviceError as e:
                tried.append(f"{mode}: {e}")
                continue
            if info.count == 0 or not info.flags & U.VFIO_IRQ_INFO_EVENTFD:
                tried.append(f"{mode}: {info.count} vector(s), flags {info.flags:#x}")
                continue
            count = min(info.count, max_vectors)
            try:
                fds = vdev.enable_irq(_INDEX[mode], count)
            except DeviceError as e:
                tried.append(f"{mode}: {e}")
                continue
            return cls(vdev, mode, fds, bool(info.flags & U.VFIO_IRQ_INFO_MASKABLE))
        raise IrqError(f"{vdev.bdf}: no interrupt can be enabled through VFIO ({'; '.join(tried)})")

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def count(self) -> int:
        return len(self.fds)

    def describe(self) -> str:
        return f"VFIO {self._mode} ({len(self.fds)} vector(s)) of {self.vdev.bdf}"

    def wait(self, timeout_s: float) -> list[int]:
        try:
            ready = self._poller.poll(max(int(timeout_s * 1000), 0))
        except InterruptedError:
            return []
        fired = []
        for fd, _ev in ready:
            if fd == self._wake.fd:
                self._wake.consume()
                continue
            i = self._by_fd.get(fd)
            if i is not None and self.fds[i].consume():
                fired.append(i)
        with self._lock:
            self._taken += len(fired)
        return fired

    def pending(self) -> int:
        with self._lock:
            taken = self._taken
        probe = select.poll()
        for f in self.fds:
            probe.register(f.fd, select.POLLIN)
        return taken + len(probe.poll(0))

    def done(self, count: int) -> None:
        with self._lock:
            self._taken = max(self._taken - count, 0)

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake.fd, (1).to_bytes(8, "little"))

    def mask(self, vector: int) -> bool:
        if not self.maskable:
            return False
        self.vdev.irq_action(self.index, vector, 1, U.VFIO_IRQ_SET_ACTION_MASK)
        return True

    def unmask(self, vector: int) -> bool:
        if not self.maskable:
            return False
        self.vdev.irq_action(self.index, vector, 1, U.VFIO_IRQ_SET_ACTION_UNMASK)
        return True

    def detach(self, vector: int) -> None:
        if vector in self._detached:
            return
        self._detached.add(vector)
        with contextlib.suppress(ValueError):
            self._poller.unregister(self.fds[vector].fd)
        self.vdev.detach_vector(vector, self.index)

    def end_of_interrupt(self, vector: int) -> None:
        if self._mode == "intx" and vector not in self._detached:
            self.vdev.irq_action(self.index, vector, 1, U.VFIO_IRQ_SET_ACTION_UNMASK)

    def close(self) -> None:
        with contextlib.suppress(DeviceError):
            self.vdev.disable_irqs(self.index)  # closes the vector eventfds
        self._wake.close()
