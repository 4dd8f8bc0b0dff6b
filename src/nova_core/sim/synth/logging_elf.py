"""nova_core.sim.synth.logging_elf: the logging ELF of the simulated GSP-RM, in the shape of OpenRM's ``gsp_log_*.bin``.

Real GSP-RM's log records point into a *logging ELF* that linux-firmware does not ship. OpenRM finds it
(``kernel_gsp.c``: ``.fwversion`` checked against the driver, then ``GSP_LOGGING_SECTION_NAME`` ``.fwlogging``;
``liblogdecode.c`` ``_checkIsElfContainer``) as an ELF file whose ``.fwlogging`` section holds a *container*
ELF - marked by a ``.fwIsContainerElf`` section - with one task logging ELF per ``.fwlogging_<task>`` section
(``.fwlogging_init`` decodes LOGINIT, ``.fwlogging_rm`` LOGINTR and LOGRM). A task ELF maps the metadata and
strings at the GSP virtual addresses the records carry (libos_log.h puts them in ``.logging_metadata`` and
``.logging_const``).

This writes that file for the simulated GSP-RM (:mod:`nova_core.sim.gsp_rm.logs` ``LogFormats``, whose
``libosLogMetadata`` layout is the version's bindings'), so the driver's decoder (``nova_core.gsp.logs``) is
tested end to end on the real shape: ``nova gsp-log --log-elf FILE`` takes it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...gsp import bindings
from ..gsp_rm.logs import LogFormats
from .firmware import _elf, _Sec

TASK_SECTIONS = (".fwlogging_init", ".fwlogging_rm")  #: the tasks whose rings the sim writes
_ET_REL, _ET_EXEC = 1, 2
_SHT_PROGBITS = 1
_SHF_ALLOC, _SHF_MERGE, _SHF_STRINGS = 0x2, 0x10, 0x20


def build_task_elf(version: str = "535.113.01") -> bytes:
    """One task logging ELF: ``.logging_metadata`` and ``.logging_const`` at their VAs, with program headers."""
    formats = LogFormats(bindings.load(bindings.normalize(version)))
    base, data = formats.section()
    cut = formats.metadata_size
    return _elf(_ET_EXEC, [
        _Sec(".logging_metadata", _SHT_PROGBITS, data[:cut], flags=_SHF_ALLOC, addr=base, align=8),
        _Sec(".logging_const", _SHT_PROGBITS, data[cut:], flags=_SHF_ALLOC | _SHF_MERGE | _SHF_STRINGS,
             addr=base + cut, align=1, entsize=1),
    ], segments=True)


def build_logging_elf(version: str = "535.113.01") -> bytes:
    """The ``gsp_log_*.bin``-shaped file for the simulated GSP-RM of ``version``."""
    task = build_task_elf(version)
    container = _elf(_ET_REL, [_Sec(".fwIsContainerElf", _SHT_PROGBITS, b""),
                               *(_Sec(name, _SHT_PROGBITS, task, align=8) for name in TASK_SECTIONS)])
    return _elf(_ET_REL, [_Sec(".fwversion", _SHT_PROGBITS, bindings.normalize(version).encode() + b"\0"),
                          _Sec(".fwlogging", _SHT_PROGBITS, container, align=8)])


def write_logging_elf(path: str | os.PathLike[str], version: str = "535.113.01") -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(build_logging_elf(version))
    return p
