"""The VFIO interrupt backend (nova_core.hw.vfio.irq) against the fake kernel: MSI-X, then MSI, then INTx; eventfds
polled together; INTx masked and unmasked with VFIO_DEVICE_SET_IRQS; a storm detaches the vector's eventfd."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from nova_core.errors import IrqError
from nova_core.hw.irq import IrqManager
from nova_core.hw.vfio import open_vfio_device
from nova_core.hw.vfio import uapi as U
from nova_core.hw.vfio.irq import VfioIrqBackend
from nova_core.irq import open_irq

from .test_vfio import FakeVfio, owned, tree


def signal(fd: int) -> None:
    os.write(fd, (1).to_bytes(8, "little"))


def test_msix_first_every_vector_an_eventfd(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sys, v = owned(fake_sysfs, tmp_path)
    be = VfioIrqBackend.open(v)
    assert (be.mode, be.count) == ("msi-x", 6) and sys.irqs[U.VFIO_PCI_MSIX_IRQ_INDEX] == [f.fd for f in be.fds]
    signal(be.fds[4].fd)
    signal(be.fds[1].fd)
    assert be.pending() == 2
    assert sorted(be.wait(1.0)) == [1, 4] and be.pending() == 2  # taken, not yet done
    be.done(2)
    assert be.pending() == 0 and be.wait(0.01) == []
    assert not be.mask(0)  # vfio-pci owns the MSI-X table: the manager masks in software
    be.close()
    assert U.VFIO_PCI_MSIX_IRQ_INDEX not in sys.irqs
    v.close()


def test_falls_back_to_msi_then_intx(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sys, v = owned(fake_sysfs, tmp_path)
    sys.irq_counts[U.VFIO_PCI_MSIX_IRQ_INDEX] = 0
    be = VfioIrqBackend.open(v)
    assert (be.mode, be.count) == ("msi", 1)
    be.close()
    sys.irq_counts[U.VFIO_PCI_MSI_IRQ_INDEX] = 0
    be = VfioIrqBackend.open(v)
    assert (be.mode, be.count, be.maskable) == ("intx", 1, True)
    assert be.mask(0) and be.unmask(0)
    be.end_of_interrupt(0)  # INTx is automasked on delivery: unmasked after the handlers
    unmask = U.VFIO_IRQ_SET_ACTION_UNMASK
    assert sys.irq_actions == [(0, 0, 1, U.VFIO_IRQ_SET_ACTION_MASK), (0, 0, 1, unmask), (0, 0, 1, unmask)]
    be.close()
    sys.irq_counts[U.VFIO_PCI_INTX_IRQ_INDEX] = 0
    with pytest.raises(IrqError, match=r"no interrupt can be enabled through VFIO \(msi-x: 0 vector"):
        VfioIrqBackend.open(v)
    with pytest.raises(IrqError, match="no interrupt mode 'msi-y'"):
        VfioIrqBackend.open(v, ["msi-y"])
    v.close()


def test_handlers_run_from_eventfds_and_a_storm_detaches(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sys, v = owned(fake_sysfs, tmp_path)
    m = IrqManager(VfioIrqBackend.open(v), name="vfio", storm_threshold=5)
    got = threading.Event()
    m.request(2, lambda vec: got.set() is None, "two")
    be = m.backend
    assert isinstance(be, VfioIrqBackend)
    signal(be.fds[2].fd)
    assert got.wait(5)
    for _ in range(5):  # vector 3: nobody's
        signal(be.fds[3].fd)
        m.synchronize()
    assert m.vectors[3].storm and sys.irqs[U.VFIO_PCI_MSIX_IRQ_INDEX][3] == -1  # eventfd de-assigned
    assert sum("interrupt storm" in r for r in m.reports) == 1
    m.close()
    assert U.VFIO_PCI_MSIX_IRQ_INDEX not in sys.irqs
    v.close()


def test_open_irq_on_a_vfio_device(fake_sysfs: Callable[..., Path], tmp_path: Path) -> None:
    sysfs, dev_dir = tree(fake_sysfs, tmp_path)
    sys = FakeVfio(dev_dir)
    d = open_vfio_device("01:00.0", sys=sys, sysfs=sysfs, dev_vfio=dev_dir)
    assert d.vfio is not None
    m = open_irq(d)
    assert m.mode == "msi-x" and m.count == 6 and m.delivers
    m.close()
    m = open_irq(d, prefer=("intx",))
    assert m.mode == "intx"
    m.close()
    d.close()
