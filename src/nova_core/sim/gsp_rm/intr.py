"""nova_core.sim.gsp_rm.intr: the interrupt vectors the simulated GPU's engines raise, and GSP-RM's table of them.

Real GSP-RM reads each engine's vector from the chip's interrupt routing and answers
``NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE`` with them (OpenRM ``intrInitInterruptTable_KERNEL`` is the
kernel side). The layout of the answer and the engine numbering (``MC_ENGINE_IDX_*``, which moved between 535 and
550) come from the version's bindings; the **vector numbers and the engine list are a sim choice**, placed where
OpenRM's subtree map puts each category:

- stall vectors of engines in the ESCHED_DRIVEN_ENGINE subtree, ``NV_CPU_INTR_STALL_SUBTREE_START`` = TOP bit 3
  (``published/turing/tu102/dev_vm_addendum.h``, same in ga100 and gh100): vectors 192 and up;
- non-stall vectors in ESCHED_DRIVEN_ENGINE_NOTIFICATION, TOP bit 0: vectors 0 and up;
- the subtree map itself as ``intrInitSubtreeMap_TU102`` (TU102..AD107) / ``intrInitSubtreeMap_GH100`` set it,
  the categories they leave unset as ``NV2080_INTR_INVALID_SUBTREE`` (``intrConstruct``).

Engines: GSP and SEC2 (stall only), GR0, the copy engines of the simulated host's topology
(:func:`~nova_core.sim.engines.host.copy_engine_count`: the device info table's) and NVDEC0 (stall and non-stall),
DISP on chips with a display; ``pmcIntrMask`` 0 (unused since Turing's tree).
"""

from __future__ import annotations

import ctypes
from types import ModuleType

from ...gpu.chips import Architecture, Chipset
from ..engines.host import copy_engine_count

STALL_BASE = 3 * 2 * 32  #: first vector of TOP bit 3 (NV_CPU_INTR_STALL_SUBTREE_START)
NONSTALL_BASE = 0  #: TOP bit 0 (ESCHED_DRIVEN_ENGINE_NOTIFICATION)

#: subtree ranges per category (OpenRM intrInitSubtreeMap_TU102 / _GH100 with dev_vm_addendum.h)
_SUBTREES_TU102 = {"ESCHED_DRIVEN_ENGINE": (3, 3), "ESCHED_DRIVEN_ENGINE_NOTIFICATION": (0, 0),
                   "UVM_OWNED": (1, 1), "UVM_SHARED": (2, 2)}
_SUBTREES_GH100 = {"ESCHED_DRIVEN_ENGINE": (3, 3), "ESCHED_DRIVEN_ENGINE_NOTIFICATION": (0, 0),
                   "RUNLIST": (4, 4), "RUNLIST_NOTIFICATION": (5, 5), "UVM_OWNED": (1, 1), "UVM_SHARED": (2, 2)}


def engine_vectors(chipset: Chipset) -> list[tuple[str, int, int | None]]:
    """``(engine, stall vector, non-stall vector or None)`` of the simulated chip (a sim choice, see above)."""
    engines: list[tuple[str, bool]] = [("GSP", False), ("SEC2", False), ("GR0", True),
                                       *((f"CE{i}", True) for i in range(copy_engine_count(chipset))),
                                       ("NVDEC0", True)]
    if chipset.facts.has_display:
        engines.append(("DISP", False))
    out: list[tuple[str, int, int | None]] = []
    nonstall = NONSTALL_BASE
    for i, (name, host_driven) in enumerate(engines):
        out.append((name, STALL_BASE + i, nonstall if host_driven else None))
        nonstall += int(host_driven)
    return out


def stall_vector(chipset: Chipset, engine: str) -> int:
    for name, stall, _ in engine_vectors(chipset):
        if name == engine:
            return stall
    raise KeyError(engine)


def subtree_map(chipset: Chipset) -> dict[str, tuple[int, int]]:
    pre_hopper = chipset.architecture in (Architecture.TURING, Architecture.AMPERE, Architecture.ADA)
    return dict(_SUBTREES_TU102 if pre_hopper else _SUBTREES_GH100)


def kernel_table(m: ModuleType, chipset: Chipset) -> bytes:
    """The ``NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS`` GSP-RM ``m`` answers on ``chipset``."""
    p = m.NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS()
    entries = engine_vectors(chipset)
    invalid_vector = int(m.NV_INTR_VECTOR_INVALID)
    p.tableLen = len(entries)
    for i, (name, stall, nonstall) in enumerate(entries):
        e = p.table[i]
        e.engineIdx, e.pmcIntrMask, e.vectorStall = int(getattr(m, f"MC_ENGINE_IDX_{name}")), 0, stall
        e.vectorNonStall = invalid_vector if nonstall is None else nonstall
    invalid = int(m.NV2080_INTR_INVALID_SUBTREE)
    ranges = subtree_map(chipset)
    names = {v: k.removeprefix("NV2080_INTR_CATEGORY_") for k, v in vars(m).items()
             if k.startswith("NV2080_INTR_CATEGORY_") and isinstance(v, int) and k != "NV2080_INTR_CATEGORY_ENUM_COUNT"}
    for cat in range(int(m.NV2080_INTR_CATEGORY_ENUM_COUNT)):
        start, end = ranges.get(names.get(cat, ""), (invalid, invalid))
        p.subtreeMap[cat].subtreeStart, p.subtreeMap[cat].subtreeEnd = start, end
    return bytes(p)[:ctypes.sizeof(p)]
