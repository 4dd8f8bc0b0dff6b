"""nova_core.sim.models.fifo: attaches the simulated host (:mod:`nova_core.sim.engines.host`) to a SimGpu.

Installs the usermode doorbell (``NV_VIRTUAL_FUNCTION_DOORBELL``); channels appear when the simulated GSP-RM
allocates them. ``gpu.models["fifo"]`` is the :class:`~nova_core.sim.engines.host.SimHost`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engines.host import SimHost

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "fifo"
ORDER = 55  #: after the MMU (50), BAR2 (51) and PRAMIN (52); before GSP-RM (60), which drives it


def attach(gpu: SimGpu) -> SimHost:
    return SimHost(gpu)
