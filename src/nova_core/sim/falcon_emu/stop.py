"""nova_core.sim.falcon_emu.stop: why an emulated falcon stopped - the one way execution ends.

Every end of a run is a :class:`Stop`: the normal halt (``exit``) and each fault. A fault stops the
emulated falcon with its reason and the instruction address; it never raises into the host.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class StopReason(enum.Enum):
    """Why the emulated falcon stopped."""

    HALTED = "halted"                  #: ``exit``: the ucode ran to its end
    DOUBLE_TRAP = "double-trap"        #: a trap while a trap handler ran: the falcon halts (envytools)
    UNKNOWN_OPCODE = "unknown-opcode"  #: an encoding the ISA tables do not know
    UNIMPLEMENTED = "unimplemented"    #: a known instruction whose effect the emulator does not model
    IMEM_MISS = "imem-miss"            #: no IMEM block is tagged with the fetched virtual page
    IMEM_MULTI_HIT = "imem-multi-hit"  #: more than one IMEM block is tagged with it
    BUDGET = "budget"                  #: the instruction budget ran out (a runaway loop)
    DMA_FAULT = "dma-fault"            #: a transfer outside memory, an unmapped bus address, a bad FBIF context
    DMEM_FAULT = "dmem-fault"          #: a load or store outside DMEM
    SLEEP = "sleep"                    #: ``sleep`` with no interrupt source modelled: it would never wake
    ENCRYPTED = "encrypted"            #: heavy-secure code that is stored encrypted: nothing to execute
    NOT_RUN = "not-run"                #: the emulator was not started (the reason says why)

    @property
    def fault(self) -> bool:
        return self is not StopReason.HALTED


@dataclass(frozen=True)
class StopInfo:
    """How a run ended."""

    reason: StopReason
    pc: int | None  #: the address of the instruction that stopped it (None: before the first)
    message: str

    def __str__(self) -> str:
        at = "" if self.pc is None else f" at {self.pc:#x}"
        return f"{self.reason.value}{at}: {self.message}"


class Stop(Exception):
    """Raised inside the emulator to end a run (caught by :meth:`FalconCore.run`; never leaves it)."""

    def __init__(self, reason: StopReason, message: str, pc: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.pc = pc
