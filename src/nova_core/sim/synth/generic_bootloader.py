"""nova_core.sim.synth.generic_bootloader: a synthetic generic falcon bootloader (``acr/bl.bin``).

Turing and GA100 run the vBIOS's v2 FWSEC through the generic falcon bootloader; linux-firmware ships it
as ``nvidia/<chip>/acr/bl.bin`` (Turing only; GA100 has none). This writer lays a synthetic one out like
the real file (``gp102/acr/bl.bin``, which every Turing chip links to): an ``nvfw_bin_hdr`` (magic
0x10DE, version 1) with the ``nvfw_bl_desc`` header at 0x100 and the payload at 0x200 - 0x200 bytes of
code, then 0x100 bytes of data - and start tag 0xFD, DMEM descriptor offset 0. The code bytes are
deterministic (SHAKE-256 of the chip name), so a simulated falcon can tell them from anything else.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from ...gpu.chips import Chipset

HEADER_OFFSET = 0x100
DATA_OFFSET = 0x200
CODE_SIZE = 0x200
DATA_SIZE = 0x100
START_TAG = 0xFD  #: as in the real gp102/acr/bl.bin


def build_generic_bootloader(chip: Chipset | str) -> bytes:
    """The synthetic ``acr/bl.bin`` of ``chip``."""
    c = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    payload = hashlib.shake_256(f"nova-synthetic generic falcon bootloader {c.lower}".encode()).digest(
        CODE_SIZE + DATA_SIZE)
    head = struct.pack("<6I", 0x10DE, 1, DATA_OFFSET + len(payload), HEADER_OFFSET, DATA_OFFSET, len(payload))
    desc = struct.pack("<6I", START_TAG, 0, 0, CODE_SIZE, CODE_SIZE, DATA_SIZE)
    out = bytearray(DATA_OFFSET)
    out[:len(head)] = head
    out[HEADER_OFFSET:HEADER_OFFSET + len(desc)] = desc
    return bytes(out) + payload


def write_generic_bootloader(root: str | os.PathLike[str], chips: list[Chipset | str] | None = None) -> list[Path]:
    """Write ``root/nvidia/<chip>/acr/bl.bin`` for ``chips`` (default: every chip whose FWSEC needs it)."""
    chip_list = [c if isinstance(c, Chipset) else Chipset.parse(c) for c in chips] if chips is not None else \
        [c for c in Chipset if c.facts.needs_fwsec_bootloader]
    out = []
    for c in chip_list:
        p = Path(root) / "nvidia" / c.facts.fw_dir / "acr" / "bl.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(build_generic_bootloader(c))
        out.append(p)
    return out
