"""nova_core.sim.falcon_emu: a falcon instruction-set emulator inside the simulated GPU.

- :mod:`.core`   the processor: registers, $flags, stack, IMEM blocks with their tags, DMEM, the run loop;
- :mod:`.ops`    what each instruction does, compiled once per address into a closure;
- :mod:`.bus`    the simulated GPU as the falcon reaches it: its I/O space, BAR0 through its BAR0 master,
  transfers through FBIF;
- :mod:`.stop`   why a run ended (the halt, or a fault with its reason - never an exception into the host);
- :mod:`.fwsec`  the GSP falcon running the FWSEC the driver loaded, with the fallback to the oracle model.

The instruction encodings come from :mod:`nova_core.falcon_isa` (facts shared with the disassembler).
"""

from __future__ import annotations

from .core import Block, FalconCore
from .fwsec import EmulationReport, FwsecEmulator
from .stop import Stop, StopInfo, StopReason

__all__ = ["Block", "EmulationReport", "FalconCore", "FwsecEmulator", "Stop", "StopInfo", "StopReason"]
