"""nova_core.sim.models.gsp_rm: attaches the simulated GSP-RM (:mod:`nova_core.sim.gsp_rm`) to a SimGpu.

Attaching only installs the doorbell hook (NV_PGSP_QUEUE_HEAD(0)); GSP-RM's thread starts when
``gpu.models["gsp_rm"].boot(version)`` is called - by a test, or by the booter model when the GSP
RISC-V core is handed over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..gsp_rm import SimGspRm

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "gsp_rm"
ORDER = 60  #: after the falcons (40): GSP-RM runs on the GSP falcon's RISC-V core


def attach(gpu: SimGpu) -> SimGspRm:
    return SimGspRm(gpu)
