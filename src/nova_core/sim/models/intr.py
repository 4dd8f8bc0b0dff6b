"""nova_core.sim.models.intr: the simulated GPU's CPU interrupt tree (``NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_*``).

Geometry per chip as ``dev_vm.h`` gives it (``ChipFacts.vfn_leaves``: 8 leaves on Turing/Ampere/Ada, 16 on
Hopper/Blackwell; one TOP register, TOP bit n covering leaves 2n and 2n+1). What it models:

- **LEAF(i)**: the pending vectors, latched when raised (:meth:`SimIntr.raise_vector`) whether enabled or not
  ("masked vectors stay pending"); write-1-to-clear, and writing 1 to a bit that is not pending does nothing
  (logged at debug level: hardware ignores it);
- **LEAF_EN_SET/CLEAR(i)**: write 1 to enable/disable vectors; both read the enable mask;
- **TOP**: read-only, bit n = leaves 2n/2n+1 have a pending *enabled* vector;
- **TOP_EN_SET/CLEAR**: the subtrees allowed to interrupt the CPU; both read the mask;
- **the message**: the tree's output is TOP & TOP_EN != 0; when it *rises* the PCI function signals its vector 0
  (MSI-X entry 0 or MSI, :meth:`~nova_core.sim.models.pci.SimPciFunction.signal`). Re-enabling the top level while
  something is pending is such a rise - that is how a driver's unarm/rearm re-triggers. With MSI on TU102..AD107
  (``ChipFacts.msi_rearm_xve``) a message is sent only once re-armed by a write to ``NV_XVE_CYA_2`` (BAR0
  0x88704; OpenRM ``kbifRearmMSI_GM107``): a rise while not re-armed is held and sent at the re-arm;
- **engines**: the GSP falcon's host-routed causes (IRQSTAT & RISCV_IRQMASK & RISCV_IRQDEST, OpenRM
  ``kflcnRiscvReadIntrStatus``) raise its stall vector when they go from none to some (an edge);
  ``INTR_RETRIGGER(0)`` (GA100+) raises it again while any is still pending. Vector numbers:
  :mod:`nova_core.sim.gsp_rm.intr` (a sim choice).

Refused (logged, :class:`~nova_core.errors.SimViolation` in strict mode): a write to a LEAF/LEAF_EN register beyond
the chip's leaves (a read of one returns the PRI error pattern, logged); TOP_EN bits beyond its subtrees;
``INTR_RETRIGGER`` on TU10x (it has none); ``NV_XVE_CYA_2`` on Hopper and later (they re-arm through TOP_EN).
Raising a vector outside the tree is a :class:`~nova_core.errors.SimViolation` for the model that tried.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...gpu.chips import Architecture
from ...regs import Register
from ...regs import falcon as F
from ...regs import vfn as V
from ...regs.xve import NV_XVE_CYA_2
from ..gsp_rm.intr import stall_vector
from ..regfile import PRI_ERROR

if TYPE_CHECKING:
    from ..gpu import SimGpu

#: the LEAF arrays at their widest (16 leaves): the sim serves a chip's leaves and refuses the rest
_LEAF, _LEAF_EN_SET, _LEAF_EN_CLEAR = V.leaf_registers(V.MAX_LEAVES)
_LEAF_EN: tuple[type[Register], ...] = (_LEAF_EN_SET, _LEAF_EN_CLEAR)
_LEAF_ALL: tuple[type[Register], ...] = (_LEAF, *_LEAF_EN)

NAME = "intr"
ORDER = 70  #: after the PCI function (5), the falcons (40) and GSP-RM (60)


class SimIntr:
    """The CPU interrupt tree of a :class:`~nova_core.sim.gpu.SimGpu` (``gpu.models["intr"]``)."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.bar = gpu.bar0
        self._stored = gpu.bar0.stored  #: LEAF(i) lives there (declared registers: always stored)
        self.log = gpu.log
        self.leaves = gpu.facts.vfn_leaves
        self.subtrees = self.leaves // V.LEAVES_PER_SUBTREE
        self.en = [0] * self.leaves
        self.top_en = 0
        self.line = False  #: TOP & TOP_EN != 0
        #: bit i: LEAF(i) has an enabled vector pending; kept per leaf as LEAF(i) or its enables change (this model
        #: alone writes the LEAF storage), so TOP and the output are never re-derived from all leaves
        self._hot = 0
        self._top = 0  #: TOP, from ``_hot``
        self.msi_gate = gpu.facts.msi_rearm_xve
        self.msi_armed = True
        self.held = False  #: a rise while MSI was not re-armed
        self.messages = 0  #: rises that reached the PCI function
        self.raised: dict[int, int] = {}  #: raises per vector
        self._turing = gpu.chipset.architecture is Architecture.TURING
        #: the PCI function (attached before the tree: ORDER 5); its ``signal`` and routing are looked up per message
        #: (a test may replace them on the instance: a message lost on the way)
        self._pci: object = gpu.models.get("pci")
        self._leaf_at = [_LEAF.addr(i=i) for i in range(V.MAX_LEAVES)]
        self._install()
        self._gsp_vector = stall_vector(gpu.chipset, "GSP")
        self._gsp_host = 0
        falcon = gpu.models.get("falcon")
        self._gsp = getattr(falcon, "gsp", None)
        self._gsp_regs: tuple[int, int, int] | None = None  #: the GSP's IRQSTAT, RISCV IRQMASK and IRQDEST
        if self._gsp is not None:
            g = self._gsp
            mask, dest = (F.NV_PRISCV_RISCV_IRQMASK.for_family(g.family),
                          F.NV_PRISCV_RISCV_IRQDEST.for_family(g.family))
            self._gsp_regs = (g.addr(F.NV_PFALCON_FALCON_IRQSTAT), g.addr(mask), g.addr(dest))
            g.on_irq.append(self._gsp_irq)

    # -- registers --------------------------------------------------------------------------------------

    def _install(self) -> None:
        b = self.bar
        for i in range(V.MAX_LEAVES):
            if i < self.leaves:
                b.on_write(self._leaf_at[i], self._leaf_writer(i))
                b.on_write(_LEAF_EN_SET.addr(i=i), self._en_writer(i, True))
                b.on_write(_LEAF_EN_CLEAR.addr(i=i), self._en_writer(i, False))
                for reg in _LEAF_EN:
                    b.on_read(reg.addr(i=i), self._en_reader(i))
            else:
                for absent in _LEAF_ALL:
                    b.on_write(absent.addr(i=i), self._absent_leaf(absent.NAME, i))
                    b.on_read(absent.addr(i=i), self._absent_leaf_read(absent.NAME, i))
        b.on_read(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP.addr(i=0), lambda _off: self._top)  # what top() returns
        b.on_write(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET.addr(i=0), self._top_en_write(True))
        b.on_write(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR.addr(i=0), self._top_en_write(False))
        for top_reg in (V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET,
                        V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR):
            b.on_read(top_reg.addr(i=0), lambda _off: self.top_en)
        b.on_write(NV_XVE_CYA_2.addr(), self._msi_rearm)
        for i in range(F.NV_PFALCON_FALCON_INTR_RETRIGGER.COUNT or 1):
            b.on_write(F.NV_PFALCON_FALCON_INTR_RETRIGGER.addr(F.FALCON.GSP, i), self._retrigger(i))

    def _refuse(self, msg: str) -> None:
        self.log.error("intr", msg)
        if self.bar.strict:
            raise SimViolation(f"simulated GPU refused {msg}")

    def _absent_leaf(self, name: str, i: int) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            self._refuse(f"write of {value:#x} to {name}({i}): {self.gpu.chipset.name} has {self.leaves} interrupt "
                         f"leaves (dev_vm.h LEAF__SIZE_1)")
        return write

    def _absent_leaf_read(self, name: str, i: int) -> Callable[[int], int]:
        def read(off: int) -> int:
            self.log.warning("intr", f"read of {name}({i}): {self.gpu.chipset.name} has {self.leaves} leaves; "
                                     f"reads as a PRI error ({PRI_ERROR:#x}), as a register the chip lacks")
            return PRI_ERROR
        return read

    def _leaf_writer(self, i: int) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            stored = self._stored
            pending = stored[off]
            stray = value & ~pending
            if stray:
                self.log.debug("intr", f"LEAF({i}): write-1-to-clear of {stray:#x}, not pending: no effect")
            stored[off] = pending & ~value  # a write hook: the BAR's lock is held, the offset is stored
            self._leaf_changed(i)
        return write

    def _en_writer(self, i: int, on: bool) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            self.en[i] = (self.en[i] | value) if on else (self.en[i] & ~value)
            self._leaf_changed(i)
        return write

    def _en_reader(self, i: int) -> Callable[[int], int]:
        return lambda _off: self.en[i]

    def _top_en_write(self, on: bool) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            beyond = value >> self.subtrees
            if beyond:
                self._refuse(f"TOP_EN_{'SET' if on else 'CLEAR'} {value:#x}: {self.gpu.chipset.name} has "
                             f"{self.subtrees} subtrees (bits {(1 << self.subtrees) - 1:#x})")
                return
            self.top_en = (self.top_en | value) if on else (self.top_en & ~value)
            self._update()
        return write

    def _msi_rearm(self, off: int, value: int) -> None:
        if not self.msi_gate:
            self._refuse(f"write to NV_XVE_CYA_2 ({off:#x}): {self.gpu.chipset.name} re-arms MSI through the "
                         f"top-level enables, not the config space (PDB_PROP_KBIF_USE_CONFIG_SPACE_TO_REARM_MSI)")
            return
        self.msi_armed = True
        if self.held and self.line:
            self.held = False
            self._send("re-armed with the tree still asserted")
        else:
            self.held = False

    def _retrigger(self, i: int) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            if self._turing:
                self._refuse(f"write to GSP NV_PFALCON_FALCON_INTR_RETRIGGER({i}): TU10x falcons have no "
                             f"retrigger register (GA100+; OpenRM's TU10x HAL does nothing)")
                return
            if i == 0 and value & 1 and self._gsp_host_pending():
                self.raise_vector(self._gsp_vector, "GSP retrigger")
        return write

    # -- the tree ---------------------------------------------------------------------------------------

    def top(self) -> int:
        """TOP: subtrees with an enabled vector pending."""
        return self._top

    def top_from_leaves(self) -> int:
        """TOP derived from every leaf's pending and enabled vectors (what :meth:`top` keeps incrementally: a check)."""
        t = 0
        peek = self.bar.peek
        for i, en in enumerate(self.en):
            if en and peek(self._leaf_at[i]) & en:
                t |= 1 << (i // V.LEAVES_PER_SUBTREE)
        return t

    def pending(self, vector: int) -> bool:
        leaf, bit = divmod(vector, 32)
        return leaf < self.leaves and bool(self.bar.peek(self._leaf_at[leaf]) >> bit & 1)

    def raise_vector(self, vector: int, source: str = "") -> None:
        """An engine raises ``vector`` (latched in its LEAF; a message if that makes the tree's output rise)."""
        leaf, bit = divmod(vector, 32)
        if not 0 <= leaf < self.leaves:
            raise SimViolation(f"{source or 'a model'} raised vector {vector}: outside the {self.leaves} leaves of "
                               f"{self.gpu.chipset.name}")
        lock = self.gpu.clock.lock
        lock.acquire()  # not ``with``: half the cost on CPython 3.11 (once per raise)
        try:
            off = self._leaf_at[leaf]
            self._stored[off] |= 1 << bit  # under the BAR's lock; LEAF(leaf) is stored
            self.raised[vector] = self.raised.get(vector, 0) + 1
            self._leaf_changed(leaf)
        finally:
            lock.release()

    def _leaf_changed(self, i: int) -> None:
        """LEAF(i) or its enables changed: its bit of ``_hot``, then (when that moved) its subtree's bit of TOP, then
        the output."""
        hot = self._hot
        bit = 1 << i
        now = (hot | bit) if self.en[i] & self._stored[self._leaf_at[i]] else (hot & ~bit)
        if now == hot:
            return  # TOP, and so the output, unchanged
        self._hot = now
        n = i // V.LEAVES_PER_SUBTREE
        subtree = ((1 << V.LEAVES_PER_SUBTREE) - 1) << (n * V.LEAVES_PER_SUBTREE)
        self._top = (self._top | 1 << n) if now & subtree else (self._top & ~(1 << n))
        self._update()

    def _update(self) -> None:
        # the output from TOP (kept per leaf) and TOP_EN; a message on a rise only
        line = bool(self._top & self.top_en)
        rose = line and not self.line
        self.line = line
        if rose:
            self._send("tree asserted")

    def _send(self, why: str) -> None:
        pci = self._pci
        if self.msi_gate:
            mode = getattr(pci, "interrupt_mode", None)  # the function's cached routing: no config read per message
            if mode is not None and mode() == "msi":  # plain MSI: held until re-armed through NV_XVE_CYA_2
                if not self.msi_armed:
                    self.held = True
                    self.log.debug("intr", "%s: MSI not re-armed (NV_XVE_CYA_2): held", why)
                    return
                self.msi_armed = False
        signal = getattr(pci, "signal", None)
        if signal is not None:
            self.messages += 1
            signal(0)

    # -- engines ----------------------------------------------------------------------------------------

    def _gsp_host_pending(self) -> int:
        regs = self._gsp_regs
        if regs is None:
            return 0
        get = self._stored.get
        return get(regs[0], 0) & get(regs[1], 0) & get(regs[2], 0)

    def _gsp_irq(self) -> None:
        now = self._gsp_host_pending()
        if now and not self._gsp_host:
            self.raise_vector(self._gsp_vector, "GSP falcon")
        self._gsp_host = now


def attach(gpu: SimGpu) -> SimIntr:
    return SimIntr(gpu)
