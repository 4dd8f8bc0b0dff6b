"""nova_core.sim.synth.logging_elf: the logging ELF of the simulated GSP-RM.

Real GSP-RM's log records point into a *logging ELF* NVIDIA does not ship in linux-firmware: ``.fwlogging_*``
sections of ``libosLogMetadata`` records and their strings, at the GSP virtual addresses the records carry.
The simulated GSP-RM (:mod:`nova_core.sim.gsp_rm.logs`) lays its formats out exactly so; this writes them as
an ELF64 (RISC-V, ``ET_REL``) with one ``.fwlogging_rm`` section at that address, so that the driver's decoder
(``nova_core.gsp.logs``) is tested end to end: ``nova gsp-log --log-elf`` takes the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...gsp import bindings
from ..gsp_rm.logs import LogFormats
from .firmware import _elf, _Sec

SECTION = ".fwlogging_rm"
_SHT_PROGBITS = 1
_SHF_ALLOC = 0x2


def build_logging_elf(version: str = "535.113.01") -> bytes:
    """The ELF bytes for the simulated GSP-RM of ``version`` (metadata layout of that version's bindings)."""
    base, data = LogFormats(bindings.load(bindings.normalize(version))).section()
    return _elf(1, [_Sec(SECTION, _SHT_PROGBITS, data, flags=_SHF_ALLOC, addr=base, align=8)])


def write_logging_elf(path: str | os.PathLike[str], version: str = "535.113.01") -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(build_logging_elf(version))
    return p
