"""vBIOS parse of a 2 MiB ROM and FWSEC patching, against a plain ``bytes`` copy of the ROM.

``parse``: the whole :class:`~nova_core.vbios.Vbios` parse (IFR header, image chain, legacy checksum, BIT,
falcon ucode table with every descriptor, FWSEC validation) of the real AD102 dump (2,048,000 bytes,
NVGI header) when ``shared/vbios`` has it, else of the synthetic AD102 ROM padded with erased flash to
2 MiB (reported). ``patch``: FWSEC patched for FRTS (DMEMMAPPER, command, signature) - against the
same ROM copy, and against a copy of just the ucode image (the least a patch must do).
Informational: the same parse through the simulated GPU's PROM window (32-bit reads of BAR0, as a boot reads it),
against the parse from bytes: what the window costs.
"""

from __future__ import annotations

import os
from pathlib import Path

from _harness import Harness, Target
from nova_core.gpu.chips import Chipset
from nova_core.sim import SimGpu
from nova_core.sim.synth.vbios import build_vbios
from nova_core.vbios import FwsecCommand, Vbios

REAL = "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom"


def _rom() -> tuple[bytes, str]:
    env = os.environ.get("NOVA_VBIOS_DIR")
    for d in ([Path(env)] if env else []) + [Path(__file__).resolve().parents[2] / "shared" / "vbios"]:
        if (d / REAL).is_file():
            return (d / REAL).read_bytes(), f"real {REAL}"
    rom = build_vbios(Chipset.AD102)
    return rom + b"\xff" * ((2 << 20) - len(rom)), "synthetic AD102 padded to 2 MiB (no real ROM found)"


def run(h: Harness) -> None:
    rom, what = _rom()

    def copy() -> bytes:
        return bytes(memoryview(rom))  # one copy of the ROM's bytes

    h.compare("parse vBIOS (images, checksum, BIT, table, FWSEC)", lambda: Vbios.from_bytes(rom), "bytes copy of ROM",
              copy, target=Target(max_ratio=10), rom=what, bytes=len(rom))
    h.compare("parse version only (probe path)", lambda: Vbios.from_bytes(rom, full=False), "bytes copy of ROM", copy)

    fw = Vbios.from_bytes(rom).fwsec
    if fw is None:
        h.report("FWSEC patch", 0.0, skipped="the ROM has no FWSEC")
        return
    fuse = fw.signature_versions[-1] if fw.desc.version == 3 else None

    def patch() -> object:
        return fw.patch(FwsecCommand.FRTS, frts_offset=0x5FE00000, fuse_version=fuse)

    h.compare("patch FWSEC for FRTS", patch, "bytes copy of ROM", copy, target=Target(max_ratio=1.0))
    ucode = fw.image
    h.compare("patch FWSEC for FRTS", patch, "bytes copy of the ucode image", lambda: bytes(memoryview(ucode)),
              ucode_bytes=len(ucode))

    gpu = SimGpu("ad102", vbios=rom)
    reads = gpu.bar0.reads
    Vbios.from_bar(gpu.bar0, "sim")
    reads = gpu.bar0.reads - reads
    h.compare("parse through the simulated PROM window (32-bit reads of BAR0)", lambda: Vbios.from_bar(gpu.bar0, "sim"),
              "the same parse from bytes", lambda: Vbios.from_bytes(rom), number=1, bar0_32bit_reads=reads)
