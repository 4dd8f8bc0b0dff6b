"""nova_core.sim.engines.gr: the simulated GR engine - the compute class's report semaphores; shader launches refused.

One :class:`SimGraphics` per GR engine (GR0). Host hands it every method (byte address 0x100 and up) of a
subchannel bound to the chip's compute class - SET_OBJECT of it is accepted once GSP-RM allocated the class under the
channel, which it does only after the channel's context was promoted (:mod:`nova_core.sim.gsp_rm.gr`). The method
state is kept per channel (:class:`GrContext`, as the hardware saves it with the channel's context). Methods by
their offsets in ``clc5c0.h``/``clc6c0.h``/``clc7c0.h`` and NVIDIA's ``open-gpu-doc`` for the later classes
(:mod:`nova_core.engines.gr.facts`).

**Executed**: NO_OPERATION; WAIT_FOR_IDLE (the simulated GR finishes each method before the next: nothing to wait
for); SEND_PCAS_A and SET_INLINE_QMD_ADDRESS_A/B (addresses, kept); SET_REPORT_SEMAPHORE_A/B/C (kept); and
SET_REPORT_SEMAPHORE_D with OPERATION RELEASE - STRUCTURE_SIZE ONE_WORD writes the 32-bit payload at the address of
A (bits 39:32, 56:32 from HOPPER_COMPUTE_A) and B, 4-byte aligned; FOUR_WORDS writes 16 bytes, 16-byte aligned: the
payload, a zero word and the GPU time in nanoseconds; FLUSH_DISABLE changes nothing here (the sim writes memory at
once). The write goes through the channel's page tables (:class:`~.memory.EngineMemory`).

**Refused** - the channel stops with ``ROBUST_CHANNEL_GR_EXCEPTION`` and the reason (a sim choice of code: real GR
raises an exception RM services for an illegal method; for what it does execute there is no code at all):

- a shader launch: SEND_PCAS_B (the QMD of SEND_PCAS_A to the work distributor), SEND_SIGNALING_PCAS_B with
  SCHEDULE, SEND_SIGNALING_PCAS2_B with an action that schedules, LOAD_INLINE_QMD_DATA (an inline QMD) - *shader
  execution is not simulated*;
- what the sim does not model: report-semaphore TRAP, REDUCTION_ENABLE, CONDITIONAL_TRAP and AWAKEN_ENABLE, the
  64-bit REPORT_SEMAPHORE_EXECUTE path (AMPERE_COMPUTE_B and later), inline-to-memory (LAUNCH_DMA,
  LOAD_INLINE_DATA, SET_I2M_SEMAPHORE_*), the work distributor's other signals, and every method of the class the
  sim keeps no state for (an unknown offset included: the sim knows only the methods listed in the facts);
- a semaphore address the MMU refuses: an MMU fault (``ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT``, unit GR0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...engines.gr import facts as G
from ...errors import SimViolation
from ..models.mmu import MmuFault
from .errors import ChannelStop, mmu_fault
from .memory import EngineMemory

_SCHEDULING_PCAS2 = {G.SendSignalingPcas2Action.SCHEDULE, G.SendSignalingPcas2Action.INVALIDATE_COPY_SCHEDULE,
                     G.SendSignalingPcas2Action.PREFETCH_SCHEDULE,
                     G.SendSignalingPcas2Action.INVALIDATE_PREFETCH_COPY_SCHEDULE,
                     G.SendSignalingPcas2Action.INVALIDATE_PREFETCH_COPY_FORCE_REQUIRE_SCHEDULING}
_STATE = {"SEND_PCAS_A", "SET_INLINE_QMD_ADDRESS_A", "SET_INLINE_QMD_ADDRESS_B", "SET_REPORT_SEMAPHORE_A",
          "SET_REPORT_SEMAPHORE_B", "SET_REPORT_SEMAPHORE_C"}
NOT_SIMULATED = "shader execution is not simulated"


def gr_exception(reason: str, unit: str = "GR0") -> ChannelStop:
    return ChannelStop(G.RC_GR_EXCEPTION, reason, unit=unit)


@dataclass
class GrContext:
    """One channel's compute-class state: the last value written to each method the sim keeps."""

    compute_class: int
    regs: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return self.regs.get(name, 0)


class SimGraphics:
    """GR engine ``instance`` executing ``compute_class``.

    Args:
        instance: the engine number (GR0 = 0).
        compute_class: the compute class it executes (3D is allocated by the golden context only; its methods are
            not modelled and SET_OBJECT of it is refused by host).
        now: GPU time in nanoseconds (semaphore timestamps).
    """

    def __init__(self, instance: int, compute_class: int, now: Callable[[], int]) -> None:
        self.instance = instance
        self.compute_class = compute_class
        self.classes = (compute_class,)
        self.methods = G.COMPUTE_METHODS[compute_class]
        self.names = {v: k for k, v in self.methods.items()}
        self.upper_mask = (1 << G.REPORT_SEMAPHORE_UPPER_BITS[compute_class]) - 1
        self._now = now
        self.semaphores = 0
        self.launches_refused = 0

    @property
    def unit(self) -> str:
        return f"GR{self.instance}"

    def __repr__(self) -> str:
        return f"<SimGraphics {self.unit} {G.CLASS_NAMES.get(self.compute_class, hex(self.compute_class))}>"

    def context(self) -> GrContext:
        return GrContext(self.compute_class)

    def _name(self, address: int) -> str | None:
        name = self.names.get(address)
        if name is None and self.methods["LOAD_INLINE_QMD_DATA"] <= address < G.INLINE_QMD_END:
            return "LOAD_INLINE_QMD_DATA"
        return name

    def method(self, ctx: GrContext, address: int, value: int, mem: EngineMemory) -> None:
        """Execute one method of the compute class for the channel whose state is ``ctx``."""
        cls = G.CLASS_NAMES.get(self.compute_class, hex(self.compute_class))
        name = self._name(address)
        if name is None:
            raise gr_exception(f"method {address:#06x} = {value:#x} of {cls} is not modelled by the simulated GR "
                               f"(it models {', '.join(sorted(self.methods))})", self.unit)
        if name in ("NO_OPERATION", "WAIT_FOR_IDLE"):
            return
        if name in _STATE:
            ctx.regs[name] = value
            return
        if name == "SET_REPORT_SEMAPHORE_D":
            self._report(ctx, value, mem)
            return
        if self._launches(name, value):
            self.launches_refused += 1
            qmd = ctx.get("SET_INLINE_QMD_ADDRESS_B") if name == "LOAD_INLINE_QMD_DATA" else ctx.get("SEND_PCAS_A")
            raise gr_exception(f"{name} = {value:#x} of {cls} launches the QMD at VA {qmd << G.QMD_ADDRESS_SHIFT:#x}: "
                               f"{NOT_SIMULATED}", self.unit)
        raise gr_exception(f"{name} = {value:#x} of {cls} is not modelled by the simulated GR", self.unit)

    @staticmethod
    def _launches(name: str, value: int) -> bool:
        if name in ("SEND_PCAS_B", "LOAD_INLINE_QMD_DATA"):
            return True
        if name == "SEND_SIGNALING_PCAS_B":
            return bool(value & G.SEND_SIGNALING_PCAS_B_SCHEDULE)
        if name == "SEND_SIGNALING_PCAS2_B":
            return (value & 0xF) in _SCHEDULING_PCAS2
        return False

    def _report(self, ctx: GrContext, value: int, mem: EngineMemory) -> None:
        d = G.ReportSemaphoreD.decode(value)
        unmodelled = [f for f in ("reduction_enable", "conditional_trap", "awaken_enable") if d[f]]
        if d["operation"] != G.ReportSemaphoreOp.RELEASE:
            unmodelled.insert(0, f"operation {d['operation']}")
        if unmodelled:
            raise gr_exception(f"SET_REPORT_SEMAPHORE_D {value:#010x}: {', '.join(unmodelled).upper()} is not modelled "
                               f"by the simulated GR (RELEASE only)", self.unit)
        va = (ctx.get("SET_REPORT_SEMAPHORE_A") & self.upper_mask) << 32 | ctx.get("SET_REPORT_SEMAPHORE_B")
        payload = ctx.get("SET_REPORT_SEMAPHORE_C").to_bytes(4, "little")
        data = payload if d["structure_size"] else payload + bytes(4) + self._now().to_bytes(8, "little")
        if va % len(data):
            raise gr_exception(f"report semaphore at VA {va:#x} is not {len(data)}-byte aligned for a "
                               f"{len(data)}-byte release", self.unit)
        try:
            mem.write(va, data)
        except MmuFault as e:
            raise mmu_fault(f"report semaphore at VA {va:#x}: {e}", e.reason, e.va, self.unit) from None
        except SimViolation as e:
            raise gr_exception(f"report semaphore at VA {va:#x}: {e}", self.unit) from None
        self.semaphores += 1
