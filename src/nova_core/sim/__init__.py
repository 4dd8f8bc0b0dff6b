"""nova_core.sim: the simulated GPU, beside the driver (never imported by it).

A strict, register-level model of every supported chip: it refuses what real hardware would refuse,
and says why in its diagnostic log. It is the default device of ``nova`` and the oracle of the tests.

- :mod:`.gpu`      ``SimGpu(chipset)``: identity, VRAM size, GFW boot state, PTIMER, PROM window;
- :mod:`.regfile`  ``SimBar``: the strict register file with read/write hooks and windows;
- :mod:`.memory`   system memory behind a simulated IOMMU (the sim's ``DmaAllocator``) and sparse VRAM;
- :mod:`.log`      the diagnostic log;
- :mod:`.synth`    synthetic artifacts (vBIOS ...) for chips without real ones.

The sim may import register facts, chip facts and firmware bindings (the facts the hardware obeys),
but no driver logic.
"""

from __future__ import annotations

from .gpu import SimGpu, open_sim
from .log import Level, SimLog
from .memory import SimSystemMemory, SparseMemory
from .regfile import PRI_ERROR, SimBar

__all__ = ["PRI_ERROR", "Level", "SimBar", "SimGpu", "SimLog", "SimSystemMemory", "SparseMemory", "open_sim"]
