"""nova_core.irq.vfn: the VFN interrupt tree (``NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_*``): decode, acknowledge, re-arm.

The CPU's interrupt tree of a Turing-or-later GPU (GSP-RM has its own, ``NV_GSP_INTR_*``): a TOP register whose
bit n says leaf registers 2n/2n+1 have enabled interrupts pending, LEAF registers of 32 vectors each
(write-1-to-clear), per-leaf enables (LEAF_EN_SET/CLEAR) and top-level enables (TOP_EN_SET/CLEAR) that gate the
message to the CPU. Per-chip geometry: ``ChipFacts.vfn_leaves`` (facts in :mod:`nova_core.regs.vfn`).

:meth:`VfnController.service` is the device's interrupt handler, in nouveau's order (``nvkm_intr`` with
``tu102_vfn_intr``):

1. *unarm*: TOP_EN_CLEAR of every subtree (the line drops; anything still pending when it is set again sends a
   new message) and, with MSI on TU102..AD107, the MSI re-arm write (``NV_XVE_CYA_2``; :mod:`nova_core.regs.xve`);
2. read TOP, then each LEAF whose subtree bit is set, masked with the enables this driver set (nouveau's
   ``allowed``; LEAF_EN_SET is read only when a pending bit is outside them): the enabled, pending vectors;
3. for each pending vector with a handler: *reset* it (LEAF write-1-to-clear) **before** calling the handler, so
   an interrupt raised while the handler runs is not lost;
4. a pending, enabled vector with no handler is *blocked* (LEAF_EN_CLEAR) and reported once - an interrupt
   nobody services would otherwise fire forever (nouveau blocks what nothing handled);
5. *rearm*: TOP_EN_SET of every subtree.

:meth:`VfnController.request` installs a vector handler and *allows* the vector (reset, then LEAF_EN_SET:
nouveau ``nvkm_intr_allow_locked``); :meth:`VfnController.free` blocks it and guarantees the handler is not called
again. A handler that raises is reported and counted; its vector stays allowed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import IrqError, RegisterError
from ..hw.bar import Bar
from ..hw.irq import IrqManager
from ..regs.pmc import NV_PMC_BOOT_0
from ..regs.vfn import (
    LEAVES_PER_SUBTREE,
    MAX_LEAVES,
    NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP,
    NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR,
    NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET,
    leaf_registers,
)
from ..regs.xve import NV_XVE_CYA_2
from .table import VECTORS_PER_LEAF, VectorTable, vector_leaf

log = logging.getLogger(__name__)

KINDS = ("stall", "nonstall", "other")
VectorHandler = Callable[[int], bool]


@dataclass
class Vector:
    """One vector of the tree: its handler, and what happened to it."""

    vector: int
    name: str
    kind: str
    handler: VectorHandler | None
    allowed: bool = False
    count: int = 0  #: handler calls
    unclaimed: int = 0  #: calls where the handler said "not mine"
    errors: int = 0  #: handler exceptions

    @property
    def handler_name(self) -> str | None:
        h = self.handler
        if h is None:
            return None
        return str(getattr(h, "__qualname__", None) or type(h).__qualname__)

    def as_json(self) -> dict[str, Any]:
        return {"vector": self.vector, "name": self.name, "kind": self.kind, "count": self.count,
                "handler": self.handler_name, "allowed": self.allowed, "errors": self.errors,
                "unclaimed": self.unclaimed}


class VfnController:
    """The CPU interrupt tree of one GPU, serviced by an :class:`~nova_core.hw.irq.IrqManager`'s vectors.

    Args:
        bar: BAR0.
        leaves: the chip's LEAF count (``ChipFacts.vfn_leaves``: 8 or 16).
        irq: where the device's interrupts arrive (its every vector runs :meth:`service`).
        msi_rearm: write ``NV_XVE_CYA_2`` in the handler (MSI, not MSI-X, on TU102..AD107).
    """

    def __init__(self, bar: Bar, leaves: int, irq: IrqManager, *, msi_rearm: bool = False) -> None:
        if not 1 <= leaves <= MAX_LEAVES or leaves % LEAVES_PER_SUBTREE:
            raise IrqError(f"a VFN tree of {leaves} leaves: 2..{MAX_LEAVES}, an even number, expected")
        try:
            leaf, leaf_en_set, leaf_en_clear = leaf_registers(leaves)
        except RegisterError as e:
            raise IrqError(f"a VFN tree of {leaves} leaves: {e}") from None
        self.bar = bar
        self.leaves = leaves
        self.subtrees = leaves // LEAVES_PER_SUBTREE
        self.top_mask = (1 << self.subtrees) - 1
        self.irq = irq
        self.msi_rearm = msi_rearm
        self._top = NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP.bind(bar, i=0)
        self._top_en_set = NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET.bind(bar, i=0)
        self._top_en_clear = NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR.bind(bar, i=0)
        self._leaf = [leaf.bind(bar, i=i) for i in range(leaves)]
        self._leaf_set = [leaf_en_set.bind(bar, i=i) for i in range(leaves)]
        self._leaf_clear = [leaf_en_clear.bind(bar, i=i) for i in range(leaves)]
        self._rearm_msi = NV_XVE_CYA_2.bind(bar) if msi_rearm else None
        self._rearm_msi_at = None if self._rearm_msi is None else self._rearm_msi.offset
        # the handler's writes go straight to the BAR (their offsets and values were checked above)
        self._w = bar.write32
        self._top_en_set_at, self._top_en_clear_at = self._top_en_set.offset, self._top_en_clear.offset
        self._leaf_at = [r.offset for r in self._leaf]
        self._boot_0 = NV_PMC_BOOT_0.bind(bar)
        #: per TOP bit: the leaves of that subtree
        self._subtree_leaves = [range(n * LEAVES_PER_SUBTREE, (n + 1) * LEAVES_PER_SUBTREE)
                                for n in range(self.subtrees)]
        self._lock = threading.RLock()  #: register programming and servicing, one at a time (nouveau intr.lock)
        self._en = [0] * leaves  #: what this driver enabled (LEAF_EN), per leaf
        self._vectors: dict[int, Vector] = {}
        #: the vectors in service order (by number) with their leaf and bit: rebuilt by request(), read by service()
        self._order: list[tuple[int, int, Vector]] = []
        self._blocked_reported: set[int] = set()
        self.armed = False
        self.attached = False
        self.services = 0  #: handler invocations
        self.spurious = 0  #: invocations that found nothing pending
        self.lost = False  #: BOOT_0 read as all ones while servicing

    # -- setting up ---------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Block every leaf, take every hardware vector of :attr:`irq`, and arm the top level.

        In poll mode nothing is requested (:meth:`service` may still be called)."""
        with self._lock:
            for i in range(self.leaves):
                self._leaf_clear[i].write(0xFFFFFFFF)
                self._en[i] = 0
            for v in self._vectors.values():
                if v.allowed:
                    self._allow_locked(v.vector)
            if self.irq.delivers:
                for hw in range(self.irq.count):
                    self.irq.request(hw, self.service, f"VFN tree ({self.leaves} leaves)")
            self.attached = True
            self.arm()

    def detach(self) -> None:
        """Disarm, block every leaf, release the hardware vectors (idempotent)."""
        with self._lock:
            if not self.attached:
                return
            self.attached = False
            self.disarm()
            for i in range(self.leaves):
                self._leaf_clear[i].write(0xFFFFFFFF)
                self._en[i] = 0
        if self.irq.delivers:
            for hw in range(self.irq.count):
                try:
                    self.irq.free(hw)
                except IrqError as e:
                    self.irq.report(f"VFN detach: {e}")

    def arm(self) -> None:
        """TOP_EN_SET every subtree (nouveau ``tu102_vfn_intr_rearm``)."""
        with self._lock:
            self._top_en_set.write(self.top_mask)
            self.armed = True

    def disarm(self) -> None:
        """TOP_EN_CLEAR every subtree (nouveau ``tu102_vfn_intr_unarm``)."""
        with self._lock:
            self._top_en_clear.write(self.top_mask)
            self.armed = False

    # -- vectors ------------------------------------------------------------------------------------------

    def _check(self, vector: int) -> None:
        if not 0 <= vector < self.leaves * VECTORS_PER_LEAF:
            raise IrqError(f"vector {vector} is outside this chip's tree ({self.leaves} leaves: vectors "
                           f"0..{self.leaves * VECTORS_PER_LEAF - 1})")

    def request(self, vector: int, handler: VectorHandler, name: str, kind: str = "stall") -> None:
        """Install ``handler`` for ``vector`` and allow it.

        Raises:
            IrqError: the vector is outside the tree, already has a handler, or ``kind`` is unknown.
        """
        self._check(vector)
        if kind not in KINDS:
            raise IrqError(f"vector kind {kind!r}; kinds: {', '.join(KINDS)}")
        with self._lock:
            old = self._vectors.get(vector)
            if old is not None and old.handler is not None:
                raise IrqError(f"vector {vector} already has a handler ({old.name})")
            v = self._vectors[vector] = Vector(vector, name, kind, handler)
            self._order = [(*vector_leaf(n), self._vectors[n]) for n in sorted(self._vectors)]
            self._blocked_reported.discard(vector)
            self._allow_locked(vector)
            v.allowed = True

    def free(self, vector: int) -> None:
        """Block ``vector`` and drop its handler; once this returns the handler is not called again."""
        with self._lock:  # service() holds the lock while it calls handlers: none is running now
            v = self._vectors.get(vector)
            if v is None or v.handler is None:
                raise IrqError(f"vector {vector} has no handler to free")
            self._block_locked(vector)
            v.handler = None
            v.allowed = False

    def allow(self, vector: int) -> None:
        """Let ``vector`` interrupt again (its handler must be installed)."""
        with self._lock:
            v = self._vectors.get(vector)
            if v is None or v.handler is None:
                raise IrqError(f"vector {vector} has no handler; request() it first")
            self._allow_locked(vector)
            v.allowed = True

    def block(self, vector: int) -> None:
        """Stop ``vector`` from interrupting; a raise meanwhile stays pending in its LEAF (hardware latches it)."""
        self._check(vector)
        with self._lock:
            self._block_locked(vector)
            v = self._vectors.get(vector)
            if v is not None:
                v.allowed = False

    def _allow_locked(self, vector: int) -> None:
        leaf, bit = vector_leaf(vector)
        self._leaf[leaf].write(bit)  # reset a stale raise first (nouveau: ->reset, then ->allow)
        self._leaf_set[leaf].write(bit)
        self._en[leaf] |= bit

    def _block_locked(self, vector: int) -> None:
        leaf, bit = vector_leaf(vector)
        self._leaf_clear[leaf].write(bit)
        self._en[leaf] &= ~bit

    def vectors(self) -> list[Vector]:
        with self._lock:
            return [v for _, v in sorted(self._vectors.items())]

    def vector(self, vector: int) -> Vector:
        try:
            return self._vectors[vector]
        except KeyError:
            raise IrqError(f"vector {vector} was never requested") from None

    # -- servicing ----------------------------------------------------------------------------------------

    def service(self, hw_vector: int | None = None) -> bool:
        """Handle what the tree has pending (nouveau ``nvkm_intr``); True when something of ours was pending.

        It is also the hardware vectors' handler (``hw_vector``: which one fired; every one leads to the same tree)."""
        with self._lock:
            if not self.armed:
                return False
            self.services += 1
            w = self._w
            w(self._top_en_clear_at, self.top_mask)
            if self._rearm_msi_at is not None:
                w(self._rearm_msi_at, 0)
            top = self._top.read()
            stat: dict[int, int] = {}  # leaf -> its pending vectors, only the leaves with some (in leaf order)
            for n, leaves in enumerate(self._subtree_leaves):
                if top >> n & 1:
                    for i in leaves:
                        # LEAF(i)'s enabled, pending vectors (a vector blocked stays latched, unseen). Like nouveau
                        # (tu102_vfn_intr_pending reads LEAF only; nvkm_intr then goes by its own allowed state), the
                        # enables are this driver's copy (_en: it alone writes LEAF_EN); only a pending bit outside
                        # that copy (a vector enabled behind our back) makes it read LEAF_EN, so that the vector is
                        # blocked and reported
                        bits = self._leaf[i].read()
                        en = self._en[i]
                        bits = int(bits & self._leaf_set[i].read()) if bits & ~en else bits & en
                        if bits:
                            stat[i] = bits
            try:
                if not stat:
                    self.spurious += 1
                    return False
                if self._boot_0.read() == 0xFFFFFFFF:
                    if not self.lost:
                        self.lost = True
                        self.irq.report("VFN: BOOT_0 reads 0xffffffff while servicing: the GPU is gone; its "
                                        "interrupts are left pending")
                    return True
                for leaf, bit, v in self._order:
                    if not stat.get(leaf, 0) & bit:
                        continue
                    if v.handler is None or not v.allowed:
                        continue
                    stat[leaf] &= ~bit
                    w(self._leaf_at[leaf], bit)  # reset before the handler runs (nouveau)
                    self._call(v)
                for leaf, bits in stat.items():
                    if bits:
                        self._leaf_clear[leaf].write(bits)
                        self._en[leaf] &= ~bits
                        self._report_blocked(leaf, bits)
                return True
            finally:
                self._w(self._top_en_set_at, self.top_mask)

    def _call(self, v: Vector) -> None:
        handler = v.handler
        if handler is None:
            return
        v.count += 1
        try:
            if not handler(v.vector):
                v.unclaimed += 1
        except Exception as e:  # a handler's bug: reported, the vector stays allowed
            v.errors += 1
            if v.errors <= 10 or v.errors % 1000 == 0:
                self.irq.report(f"VFN vector {v.vector} ({v.name}): handler raised {type(e).__name__}: {e} "
                                f"({v.errors} so far); the vector stays allowed")

    def _report_blocked(self, leaf: int, bits: int) -> None:
        for b in range(VECTORS_PER_LEAF):
            if bits >> b & 1:
                vec = leaf * VECTORS_PER_LEAF + b
                if vec not in self._blocked_reported:
                    self._blocked_reported.add(vec)
                    self.irq.report(f"VFN vector {vec} pending with no handler: blocked (LEAF_EN_CLEAR)")

    # -- the view -----------------------------------------------------------------------------------------

    def view(self, table: VectorTable | None = None) -> dict[str, Any]:
        """``{"mode", "top", "subtrees", "leaves", "vectors": [...]}`` (what ``nova irq`` prints): the requested
        vectors, and with ``table`` every engine vector it names (``handler`` None where none is installed)."""
        with self._lock:
            rows = {vec: v.as_json() for vec, v in self._vectors.items()}
        for e in table.entries if table is not None else ():
            for kind, vec in (("stall", e.stall), ("nonstall", e.nonstall)):
                if vec is not None and vec not in rows:
                    rows[vec] = Vector(vec, e.engine if kind == "stall" else f"{e.engine} non-stall", kind,
                                       None).as_json()
        return {"mode": self.irq.mode, "top": NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP.COUNT or 1,
                "subtrees": self.subtrees, "leaves": self.leaves, "vectors": [rows[v] for v in sorted(rows)]}
