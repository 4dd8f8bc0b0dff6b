"""The message backend's lock-free looks: ``busy()`` (a settler's "anything fired and not handled?") and the nestable
``hold()``/``release()`` under :meth:`~nova_core.hw.irq.IrqManager.settling`."""

from __future__ import annotations

import threading

from nova_core.irq.msi import MessageIrqBackend
from nova_core.sim import SimGpu
from nova_core.sim.models.pci import SimPciFunction


def _backend() -> tuple[SimGpu, SimPciFunction, MessageIrqBackend]:
    gpu = SimGpu("ga102")
    pci = gpu.models["pci"]
    assert isinstance(pci, SimPciFunction)
    return gpu, pci, MessageIrqBackend.open(gpu.device())


def test_busy_covers_queued_and_taken_vectors_until_done() -> None:
    _, pci, be = _backend()
    try:
        assert not be.busy() and be.pending() == 0
        assert pci.signal(0)
        assert be.busy() and be.pending() == 1
        assert be.take() == [0]
        assert be.busy() and be.pending() == 1  # taken, not yet handled: a settler must still wait for it
        assert pci.signal(0)
        assert be.take() == []  # nothing while the earlier take is not done
        be.done(1)
        assert be.busy() and be.pending() == 1  # the second message
        assert be.take() == [0]
        be.done(1)
        assert not be.busy() and be.pending() == 0
    finally:
        be.close()


def test_hold_is_per_thread_and_nests() -> None:
    _, pci, be = _backend()
    woke: list[list[int]] = []
    try:
        be.hold()
        be.hold()
        be.release()
        pci.signal(0)  # still held (depth 1): wakes no waiter
        t = threading.Thread(target=lambda: woke.append(be.wait(0.2)))
        t.start()
        t.join(5)
        assert woke == [[0]]  # the waiter found it queued (a wait looks at the queue), but was not notified early
        be.done(1)
        be.release()
        assert not be._holders
        woke.clear()
        t = threading.Thread(target=lambda: woke.append(be.wait(5)))
        t.start()
        pci.signal(0)  # not held: the waiter is woken at once
        t.join(5)
        assert woke == [[0]]
        be.done(1)
    finally:
        be.close()
