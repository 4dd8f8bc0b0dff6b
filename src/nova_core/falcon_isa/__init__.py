"""nova_core.falcon_isa: the falcon instruction set - encodings as data, a decoder, a disassembler.

- :mod:`.opcodes`  the v5/v6 encodings (envytools), condition codes, special registers, crypto commands;
- :mod:`.decode`   bytes to structured instructions, table-driven, never raising on bad code;
- :mod:`.disasm`   text with register names for I/O accesses, reachability from entry points, coverage;
- :mod:`.entropy`  whether code is stored encrypted (heavy-secure code is);
- :mod:`.asm`      a small hand-written assembler (tests, benchmarks, test ucodes).

This package imports nothing from the driver's layers but register facts, so the simulated GPU's falcon
emulator (:mod:`nova_core.sim.falcon_emu`) shares the encodings with the disassembler.
"""

from __future__ import annotations

from ..errors import FalconError
from ..files import InputFormat
from .decode import Insn, decode, decode_all
from .disasm import Walk, disassemble, format_insn, reachable

#: A code file (``nova falcon disasm FILE``): at most 1 MiB. Falcon IMEM is counted in 256-byte blocks by
#: ``NV_PFALCON_FALCON_HWCFG_IMEM_SIZE`` 8:0 (dev_falcon_v4.h), so no falcon holds 128 KiB of code; the largest
#: code file measured (linux-firmware tu117 gr/fecs_inst.bin) is 28,783 bytes.
CODE_FILE = InputFormat("falcon code file", 1 << 20,
                        "8x the 128 KiB a falcon's IMEM can hold (HWCFG IMEM_SIZE, 9 bits of 256-byte blocks)",
                        FalconError)

__all__ = ["CODE_FILE", "Insn", "Walk", "decode", "decode_all", "disassemble", "format_insn", "reachable"]
