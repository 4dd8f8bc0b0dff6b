"""nova_core.sim.engines.errors: how a simulated engine stops a channel.

An engine that meets something the hardware would not execute raises :class:`ChannelStop`; the host model
(:mod:`.host`) catches it, marks the channel errored (no further work runs on it; other channels go on) and
reports it to GSP-RM, which writes the channel's error notifier and sends MMU_FAULT_QUEUED / RC_TRIGGERED.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...engines.facts import RC_CE_ERROR, RC_MMU_FAULT, RC_NAMES, RC_PBDMA_ERROR, MmuFaultType


@dataclass
class ChannelStop(Exception):
    """A channel error.

    Attributes:
        rc: the ROBUST_CHANNEL_* code GSP-RM reports (31 MMU fault, 32 PBDMA error, 39.. CE error).
        reason: one sentence: what was refused and why.
        fault_type: for an MMU fault, FAULT_TYPE (``rpc_rc_triggered_v17_02.mmuFaultType``).
        fault_va: for an MMU fault, the faulting GPU virtual address.
        unit: who met it ("PBDMA", "CE2", ...).
    """

    rc: int
    reason: str
    fault_type: MmuFaultType | None = None
    fault_va: int | None = None
    unit: str = "PBDMA"

    def __str__(self) -> str:
        where = "" if self.fault_va is None else f" at VA {self.fault_va:#x}"
        kind = "" if self.fault_type is None else f" ({self.fault_type.name})"
        return f"{RC_NAMES.get(self.rc, str(self.rc))}{kind}{where} in {self.unit}: {self.reason}"


def pbdma_error(reason: str) -> ChannelStop:
    return ChannelStop(RC_PBDMA_ERROR, reason)


def ce_error(instance: int, reason: str) -> ChannelStop:
    rc = RC_CE_ERROR[instance] if 0 <= instance < len(RC_CE_ERROR) else RC_CE_ERROR[0]
    return ChannelStop(rc, reason, unit=f"CE{instance}")


def mmu_fault(reason: str, fault_type: MmuFaultType, va: int | None, unit: str) -> ChannelStop:
    return ChannelStop(RC_MMU_FAULT, reason, fault_type, va, unit)
