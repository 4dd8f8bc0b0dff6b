"""nova_core.gsp.intr: the GSP's interrupt - GSP-RM's messages wake their waiters - and the vector table GSP-RM gives.

After GET_GSP_STATIC_INFO the kernel driver asks GSP-RM which vector each engine raises
(``NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE`` on GSP-RM's own client and subdevice, the handles of the
static info: OpenRM ``intrInitInterruptTable_KERNEL``, nouveau ``r535_gsp_intr_get_table``), installs a handler
on the GSP's stall vector, allows it, and clears a stale SWGEN0 (nouveau ``r535_gsp_postinit``: ``0x110004 =
0x40``) so that the next message makes a fresh edge.

The handler (:class:`GspInterrupt`) is OpenRM's ``kgspService_TU102`` / nouveau's ``r535_gsp_intr``:

- the causes routed to the host: ``IRQSTAT & RISCV_IRQMASK & RISCV_IRQDEST`` (OpenRM
  ``kflcnRiscvReadIntrStatus``; nouveau reads the mask only); none: not ours;
- **SWGEN0** (a message in the status queue, reference §7): acknowledged through IRQSCLR *before* the queue is
  read ("clear edge triggered interrupt before, and never after, servicing it"), then the RPC waiters are woken;
- **HALT** (GSP-RM's CrashCat signal): acknowledged and counted (OpenRM then dumps the logs);
- anything else: masked (IRQMCLR) and cleared, reported (nouveau);
- GA100 and later: ``INTR_RETRIGGER(0)``, so a cause still latched sends the interrupt again (OpenRM
  ``kflcnIntrRetrigger_GA100``; TU10x has none).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..errors import GspError, IrqError
from ..gpu.chips import Architecture, Chipset
from ..hw.bar import Bar
from ..hw.irq import Wakeup
from ..irq.table import EngineVectors, VectorTable
from ..irq.vfn import VfnController
from ..regs import falcon as F
from .fw import GspAbi, GspStaticInfo, RmControl
from .rpc import GspRpc

GSP_HOST_CAUSES = F.IRQ_SWGEN0 | F.IRQ_HALT  #: what the handler services; anything else is masked


def engine_names(abi: GspAbi) -> dict[int, str]:
    """``MC_ENGINE_IDX_*`` numbers of this firmware version -> engine names (``"GR0"``, ``"NVENC0"``)."""
    m = abi.module
    names: dict[int, str] = {}
    for attr in dir(m):
        if attr.startswith("MC_ENGINE_IDX_") and attr not in ("MC_ENGINE_IDX_MAX",):
            name = attr.removeprefix("MC_ENGINE_IDX_")
            name = {"MSENC": "NVENC0", "NVENC": "NVENC0"}.get(name, name)
            names.setdefault(int(getattr(m, attr)), name)
    return names


def get_vector_table(rpc: GspRpc, static: GspStaticInfo) -> VectorTable:
    """Ask GSP-RM for the kernel interrupt table (on its internal client and subdevice) and decode it.

    Raises:
        RpcFailure: GSP-RM refused the control.
        GspError: the reply is malformed (a table longer than its array).
    """
    abi = rpc.abi
    m = abi.module
    size = abi.sizeof("NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS")
    reply = rpc.call(RmControl(static.internal_client, static.internal_subdevice,
                               int(m.NV2080_CTRL_CMD_INTERNAL_INTR_GET_KERNEL_TABLE), bytes(size)))
    return parse_vector_table(abi, reply)


def parse_vector_table(abi: GspAbi, data: bytes) -> VectorTable:
    """``NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS`` bytes to a :class:`VectorTable`."""
    m = abi.module
    p = abi.parse("NV2080_CTRL_INTERNAL_INTR_GET_KERNEL_TABLE_PARAMS", data, what="INTR_GET_KERNEL_TABLE reply")
    limit = int(m.NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE)
    if not 0 <= p.tableLen <= limit:
        raise GspError(f"INTR_GET_KERNEL_TABLE: tableLen {p.tableLen} > NV2080_CTRL_INTERNAL_INTR_MAX_TABLE_SIZE "
                       f"{limit}")
    names = engine_names(abi)
    invalid = int(m.NV_INTR_VECTOR_INVALID)
    entries = []
    for i in range(p.tableLen):
        e = p.table[i]
        name = names.get(int(e.engineIdx), f"ENGINE{int(e.engineIdx)}")
        entries.append(EngineVectors(name, int(e.engineIdx), None if e.vectorStall == invalid else int(e.vectorStall),
                                     None if e.vectorNonStall == invalid else int(e.vectorNonStall),
                                     int(e.pmcIntrMask)))
    cats = {int(v): k.removeprefix("NV2080_INTR_CATEGORY_") for k, v in vars(m).items()
            if k.startswith("NV2080_INTR_CATEGORY_") and isinstance(v, int) and k != "NV2080_INTR_CATEGORY_ENUM_COUNT"}
    bad = int(m.NV2080_INTR_INVALID_SUBTREE)
    subtrees = {cats.get(c, f"CATEGORY{c}"): (int(p.subtreeMap[c].subtreeStart), int(p.subtreeMap[c].subtreeEnd))
                for c in range(len(p.subtreeMap)) if p.subtreeMap[c].subtreeStart != bad}
    return VectorTable(tuple(entries), subtrees)


@dataclass
class GspIrqStats:
    messages: int = 0  #: SWGEN0 acknowledged
    halts: int = 0  #: HALT acknowledged
    other: int = 0  #: other causes masked
    unclaimed: int = 0  #: calls with nothing routed to the host pending


class GspInterrupt:
    """The GSP stall vector's handler (see the module docstring); ``wakeup`` is what RPC waiters wait on."""

    def __init__(self, bar: Bar, chipset: Chipset, *, base: int = F.FALCON.GSP) -> None:
        self.bar = bar
        self.chipset = chipset
        mask = F.NV_PRISCV_RISCV_IRQMASK.for_family(chipset.facts.reg_family)
        dest = F.NV_PRISCV_RISCV_IRQDEST.for_family(chipset.facts.reg_family)
        base2 = base + F.FALCON2_OFFSET
        self._irqstat = F.NV_PFALCON_FALCON_IRQSTAT.bind(bar, base=base)
        self._irqsclr = F.NV_PFALCON_FALCON_IRQSCLR.bind(bar, base=base)
        self._irqmclr = F.NV_PFALCON_FALCON_IRQMCLR.bind(bar, base=base)
        self._mask = mask.bind(bar, base=base2)
        self._dest = dest.bind(bar, base=base2)
        self._retrigger = (None if chipset.architecture is Architecture.TURING
                           else F.NV_PFALCON_FALCON_INTR_RETRIGGER.bind(bar, base=base, i=0))
        # the handler's writes go straight to the BAR, their offsets and values encoded (and checked) once here
        self._w = bar.write32
        self._irqsclr_at = self._irqsclr.offset
        self._swgen0 = F.NV_PFALCON_FALCON_IRQSCLR.encode(swgen0=1)
        self._retrigger_at: int | None = None if self._retrigger is None else self._retrigger.offset
        self._trigger = F.NV_PFALCON_FALCON_INTR_RETRIGGER.encode(trigger=1)
        self.wakeup = Wakeup("GSP message queue")
        self.stats = GspIrqStats()
        self.reports: list[str] = []

    def host_pending(self) -> int:
        return int(self._irqstat.read() & self._mask.read() & self._dest.read())

    def __call__(self, vector: int) -> bool:
        stat = self.host_pending()
        if not stat:
            self.stats.unclaimed += 1
            return False
        if stat & F.IRQ_SWGEN0:
            self._w(self._irqsclr_at, self._swgen0)  # before the queue is read: a message written now raises it again
            self.stats.messages += 1
            self.wakeup.signal()
        if stat & F.IRQ_HALT:
            self._irqsclr.write(F.IRQ_HALT)
            self.stats.halts += 1
            self.reports.append("GSP HALT interrupt (GSP-RM signals a crash report: read its log rings)")
            self.wakeup.signal()  # waiters look again (and time out naming what they waited for)
        other = stat & ~GSP_HOST_CAUSES
        if other:
            self._irqmclr.write(other)
            self._irqsclr.write(other)
            self.stats.other += 1
            self.reports.append(f"GSP interrupt causes {other:#x} not serviced: masked (IRQMCLR)")
        if self._retrigger_at is not None:
            self._w(self._retrigger_at, self._trigger)
        return True


@dataclass
class GspInterrupts:
    """What :func:`enable_gsp_interrupts` set up: the table, the handler, its vector."""

    table: VectorTable
    handler: GspInterrupt
    vector: int
    vfn: VfnController


def enable_gsp_interrupts(rpc: GspRpc, vfn: VfnController, table: VectorTable, chipset: Chipset, bar: Bar) \
        -> GspInterrupts:
    """Install the GSP handler on its stall vector, allow it, clear a stale SWGEN0, and let RPC waits use it.

    Raises:
        IrqError: the table has no GSP stall vector, or it does not fit the tree.
    """
    table.check(vfn.leaves)
    gsp = table.engine("GSP")
    if gsp.stall is None:
        raise IrqError("the interrupt table gives the GSP no stall vector")
    handler = GspInterrupt(bar, chipset)
    vfn.request(gsp.stall, handler, "GSP", "stall")
    F.NV_PFALCON_FALCON_IRQSCLR.write(bar, base=F.FALCON.GSP, swgen0=1)
    if vfn.irq.delivers:
        rpc.use_wakeup(handler.wakeup, vfn.irq.settling)
    return GspInterrupts(table, handler, gsp.stall, vfn)


def disable_gsp_interrupts(rpc: GspRpc, irqs: GspInterrupts) -> None:
    """RPC waits poll again; the GSP vector is freed (its handler is not called after this returns)."""
    rpc.use_wakeup(None)
    with contextlib.suppress(IrqError):  # already freed (a detached tree)
        irqs.vfn.free(irqs.vector)

