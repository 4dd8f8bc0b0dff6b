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

from .decode import Insn, decode, decode_all
from .disasm import Walk, disassemble, format_insn, reachable

__all__ = ["Insn", "Walk", "decode", "decode_all", "disassemble", "format_insn", "reachable"]
