"""nova_core.irq.table: which interrupt vector each engine raises (what GSP-RM tells the kernel driver).

Under GSP-RM the kernel driver does not know the vectors itself: it asks with
``NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE`` (OpenRM ``intrInitInterruptTable_KERNEL``; nouveau
``r535_gsp_intr_get_table`` builds ``gsp->intr[]`` from it). Each entry names an engine (an ``MC_ENGINE_IDX_*``,
numbered differently per firmware version) with its stall vector and, for host-driven engines, a non-stall
vector (``NV_INTR_VECTOR_INVALID`` = 0xFFFFFFFF when it has none); ``subtreeMap`` gives each interrupt category
its range of TOP bits. :mod:`nova_core.gsp.intr` decodes the reply into a :class:`VectorTable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import IrqError, did_you_mean
from ..regs.vfn import LEAVES_PER_SUBTREE

VECTORS_PER_LEAF = 32


def vector_leaf(vector: int) -> tuple[int, int]:
    """``(leaf, bit mask)`` of ``vector`` (nouveau ``nvkm_intr_xlat``: leaf v/32, bit v%32)."""
    return vector // VECTORS_PER_LEAF, 1 << (vector % VECTORS_PER_LEAF)


def vector_subtree(vector: int) -> int:
    """The TOP bit that covers ``vector``'s leaf."""
    return vector // VECTORS_PER_LEAF // LEAVES_PER_SUBTREE


@dataclass(frozen=True)
class EngineVectors:
    """One entry: ``engine`` (``"GSP"``, ``"GR0"``, ``"CE2"``, ...) and its vectors (None: it has none)."""

    engine: str
    engine_idx: int
    stall: int | None
    nonstall: int | None
    pmc_mask: int = 0

    def as_json(self) -> dict[str, object]:
        return {"engine": self.engine, "engine_idx": self.engine_idx, "stall": self.stall,
                "nonstall": self.nonstall, "pmc_mask": self.pmc_mask}


@dataclass(frozen=True)
class VectorTable:
    """The kernel interrupt table: engines and their vectors, and the categories' TOP-bit ranges."""

    entries: tuple[EngineVectors, ...]
    subtrees: dict[str, tuple[int, int]] = field(default_factory=dict)

    def engine(self, name: str) -> EngineVectors:
        """The entry of ``name`` (an error listing the engines otherwise)."""
        for e in self.entries:
            if e.engine == name:
                return e
        raise IrqError(f"the interrupt table has no engine {name!r}" + did_you_mean(name, [e.engine for e in
                                                                                          self.entries]))

    def engines(self) -> list[str]:
        return [e.engine for e in self.entries]

    def check(self, leaves: int) -> None:
        """Refuse a table that names a vector the chip's tree does not have, or one vector twice.

        Raises:
            IrqError: naming the entry and the vector.
        """
        limit = leaves * VECTORS_PER_LEAF
        seen: dict[int, str] = {}
        for e in self.entries:
            for kind, v in (("stall", e.stall), ("nonstall", e.nonstall)):
                if v is None:
                    continue
                if not 0 <= v < limit:
                    raise IrqError(f"interrupt table: {e.engine} {kind} vector {v} is outside the {leaves} leaves "
                                   f"of this chip (vectors 0..{limit - 1})")
                if v in seen:
                    raise IrqError(f"interrupt table: vector {v} is both {seen[v]} and {e.engine} {kind}")
                seen[v] = f"{e.engine} {kind}"

    def as_json(self) -> dict[str, object]:
        return {"entries": [e.as_json() for e in self.entries],
                "subtrees": {k: list(v) for k, v in self.subtrees.items()}}
