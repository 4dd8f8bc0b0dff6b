"""nova_core.irq: the GPU's interrupts - delivery, the VFN interrupt tree, the vector table, non-stall listeners.

- :func:`open_irq`: an :class:`~nova_core.hw.irq.IrqManager` for a device: VFIO eventfds (MSI-X, MSI, INTx) on a
  VFIO-owned GPU, MSI-X/MSI programmed through config space where the messages can be seen (the simulated GPU),
  else polling;
- :mod:`.vfn`: :class:`VfnController`, the ``NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR`` tree (decode, acknowledge,
  re-arm, per-vector handlers);
- :mod:`.table`: :class:`VectorTable`, each engine's stall and non-stall vectors (from GSP-RM:
  :mod:`nova_core.gsp.intr` asks for it);
- :mod:`.nonstall`: :class:`NonstallListeners`, engines' non-stall interrupts to registered listeners.

The GSP's own interrupt (its message queue doorbell) is :mod:`nova_core.gsp.intr`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import IrqError
from ..hw.device import Device
from ..hw.irq import MODES, IrqBackend, IrqManager, PollBackend
from .nonstall import NonstallListeners
from .table import EngineVectors, VectorTable, vector_leaf, vector_subtree
from .vfn import Vector, VfnController

__all__ = [
    "MODES",
    "EngineVectors",
    "IrqManager",
    "NonstallListeners",
    "Vector",
    "VectorTable",
    "VfnController",
    "open_irq",
    "vector_leaf",
    "vector_subtree",
]


def open_irq(dev: Device, *, prefer: Sequence[str] = ("msi-x", "msi", "intx"), name: str | None = None) -> IrqManager:
    """The interrupts of ``dev``, in the first mode of ``prefer`` it offers; polling when it offers none.

    ``prefer=("poll",)`` (or empty) asks for polling. A device whose interrupts cannot be had (read-only sysfs,
    a replayed trace) polls; the manager's backend says why (:meth:`~nova_core.hw.irq.IrqBackend.describe`).

    Raises:
        IrqError: an unknown mode in ``prefer``.
    """
    bad = [m for m in prefer if m not in MODES]
    if bad:
        raise IrqError(f"interrupt mode {bad[0]!r}; modes: {', '.join(MODES)}")
    wanted = [m for m in prefer if m != "poll"]
    backend: IrqBackend
    if not wanted:
        backend = PollBackend("polling was asked for")
    elif dev.vfio is not None:
        from ..hw.vfio.irq import VfioIrqBackend

        try:
            backend = VfioIrqBackend.open(dev.vfio, wanted)
        except IrqError as e:
            backend = PollBackend(str(e))
    elif dev.msi_sink is not None and dev.config is not None:
        from .msi import MessageIrqBackend

        try:
            backend = MessageIrqBackend.open(dev, [m for m in wanted if m != "intx"])
        except IrqError as e:
            backend = PollBackend(str(e))
    else:
        backend = PollBackend(f"{dev.name} ({dev.kind}) gives the driver no interrupts")
    return IrqManager(backend, dev.clock, name=name or dev.name)
