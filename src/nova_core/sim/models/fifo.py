"""nova_core.sim.models.fifo: attaches the simulated host (:mod:`nova_core.sim.engines.host`) to a SimGpu.

Installs the usermode doorbell (``NV_VIRTUAL_FUNCTION_DOORBELL``); channels appear when the simulated GSP-RM
allocates them. ``gpu.models["fifo"]`` is the :class:`~nova_core.sim.engines.host.SimHost`.

A non-stall interrupt of an engine (a CE launch with INTERRUPT_TYPE NON_BLOCKING, host's NON_STALL_INTERRUPT)
raises that engine's non-stall vector in the CPU interrupt tree (``gpu.models["intr"]``,
:meth:`~nova_core.sim.models.intr.SimIntr.raise_vector`) - the vector GSP-RM's kernel interrupt table gives it
(:func:`~nova_core.sim.gsp_rm.intr.engine_vectors`). The driver allows it only while a channel listens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..engines.host import SimHost
from ..gsp_rm.intr import engine_vectors
from .intr import SimIntr

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "fifo"
ORDER = 55  #: after the MMU (50), BAR2 (51) and PRAMIN (52); before GSP-RM (60), which drives it


def attach(gpu: SimGpu) -> SimHost:
    host = SimHost(gpu)
    vectors = {name: nonstall for name, _stall, nonstall in engine_vectors(gpu.chipset) if nonstall is not None}
    names = {(e.runlist, e.rm_engine_type): e.name for e in host.engines}

    def raise_nonstall(runlist: int, engine: int) -> None:
        name = names.get((runlist, engine), "")
        vector = vectors.get(name)
        intr = gpu.models.get("intr")
        if vector is None or not isinstance(intr, SimIntr):
            gpu.log.debug("fifo", f"non-stall interrupt of {name or engine} (runlist {runlist}): no vector")
            return
        intr.raise_vector(vector, f"{name} non-stall")

    host.nonstall_listeners.append(raise_nonstall)
    return host
