"""nova_core.falcon_isa.opcodes: the falcon v5/v6 instruction encodings, as data.

Facts only: which byte holds the sub-opcode, how long each instruction is, which operand layout it
uses, and the names of condition codes, special registers and flag bits. :mod:`.decode` turns bytes into
instructions from these tables; the disassembler and the simulated falcon's emulator both use them.

Source: envytools (``envydis/falcon.c``, the v5/v6 rows: features ``fuc5op``/``fuc6op``, and
``docs/hw/falcon/{isa,arith,branch,data,io,xfer,vm,proc}.rst``), read at commit f102b823. The v5
encoding (GK208 and later: every falcon nova-core drives - GSP and SEC2 from Turing on) replaced the
v0-v4 forms of ``mov``, ``st``, ``call`` and ``iowr``; the v0-v4-only rows are not listed.

Notation of the operand layouts (:class:`Form`): ``lo`` is the low nibble of byte 1, ``hi`` its high
nibble, ``r3`` the high nibble of byte 2; ``op`` is byte 0. Immediates are little-endian. "scaled" memory
indexes are multiplied by the access size in bytes. Branch displacements are relative to the address of
the branch instruction itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SubopAt(enum.Enum):
    """Where a group's sub-opcode sits."""

    NONE = "none"        #: the group is one instruction
    B1_LO = "b1&0xf"     #: low nibble of byte 1
    B1_LO6 = "b1&0x3f"   #: low 6 bits of byte 1 (the f4/f5 group)
    B1_LO3 = "b1&0x7"    #: low 3 bits of byte 1 (the fb group)
    B2_LO = "b2&0xf"     #: low nibble of byte 2
    B4_LO = "b4&0xf"     #: low nibble of byte 4 (the 5-byte 0x38 group)
    OP_HI = "op>>6"      #: the two size bits of byte 0 (the 0x3e group: lbra/lcall)


class Length(enum.Enum):
    """How a group's instruction length is found."""

    FIXED = "fixed"      #: :attr:`Group.length`
    OL0 = "ol0"          #: bit 0 of byte 0: 0 = 3 bytes (8-bit immediate), 1 = 4 bytes (16-bit immediate)
    SIZE = "size"        #: size bits of byte 0: 2, 3 or 4 bytes (the short ``mov`` forms)
    ENTRY = "entry"      #: each entry gives its own (the 0x33 and 0xfb groups)


class Form(enum.Enum):
    """Operand layouts (see the module docstring for ``lo``/``hi``/``r3``)."""

    NONE = "none"
    R0_SIMM = "rOP, simm(8/16/24 by size bits)"        # mov, short forms; register = op & 0xf
    R0_IMM32 = "rOP, imm32"                             # mov (0xd0-0xdf)
    LO_HI_IMM8 = "lo, hi, imm8"                         # dst, src1, src2
    LO_HI_IMM16 = "lo, hi, imm16 (bytes 2-3)"
    LO_MEM_HI_IMM8 = "lo, D[hi + imm8 scaled]"          # ld
    MEM_HI_IMM8_LO = "D[hi + imm8 scaled], lo"          # st
    MEM_HI_LO = "D[hi], lo"                             # st
    LO_MEM_HI = "lo, D[hi]"                             # ld
    MEM_SP_LO_HI = "D[sp + lo scaled], hi"              # st
    MEM_SP_IMM8_HI = "D[sp + imm8 scaled], hi"          # st
    HI_MEM_SP_IMM8 = "hi, D[sp + imm8 scaled]"          # ld
    HI_MEM_SP_LO = "hi, D[sp + lo scaled]"              # ld
    R3_MEM_HI_LO = "r3, D[hi + lo scaled]"              # ld
    MEM_HI_R3_LO = "D[hi + r3 scaled], lo"              # st
    HI_LO = "hi, lo"                                    # two-register ops: hi = hi op lo; cmp hi, lo
    LO_HI = "lo, hi"                                    # lo = op hi
    R3_HI_LO = "r3, hi, lo"                             # r3 = hi op lo
    HI_IMM = "hi, imm(8/16 by ol0)"                     # hi = hi op imm; cmp hi, imm
    HI = "hi"
    HI_SIMM8 = "hi, simm8 (byte 2)"                     # mpopadd (3 bytes)
    HI_SIMM16 = "hi, simm16 (bytes 2-3)"                # mpopadd (4 bytes)
    HI_FLAGS_IMM = "hi, $flags, imm(8/16 by ol0)"       # xbit
    LO_FLAGS_HI = "lo, $flags, hi"                      # xbit
    FLAG_B2_HI = "$flags bit (b2 & 0x1f) = hi"          # setp
    FLAG_LO_HI = "$flags bit (lo) = hi"                 # setp
    LO_IO_HI_IMM8 = "lo, I[hi + imm8 * 4]"              # iord
    R3_IO_HI_LO = "r3, I[hi + lo * 4]"                  # iord
    IO_HI_IMM8_LO = "I[hi + imm8 * 4], lo"              # iowr
    IO_HI_LO = "I[hi], lo"                              # iowr
    SR_LO_HI = "$sr(lo), hi"                            # mov to special register
    LO_SR_HI = "lo, $sr(hi)"                            # mov from special register
    COND_REL = "cc (b1 & 0x1f), pc + simm(8/16 by ol0)" # bra
    ABS = "imm(8/16 by ol0), absolute"                  # jmp/call
    ABS16 = "imm16 (bytes 1-2), absolute"               # call (0xf3)
    ABS24 = "imm24 (bytes 1-3), absolute"               # lbra/lcall
    SP_SIMM = "$sp, simm(8/16 by ol0)"                  # add sp
    SP_HI = "$sp, hi"                                   # add sp, register
    FLAG_B2 = "$flags bit (b2 & 0x1f)"                  # sleep, bset/bclr/btgl $flags
    FLAGS_HI = "$flags bit (hi)"                        # bset/bclr/btgl $flags, register
    TRAP = "trap number (b1 & 3)"
    IMM8 = "imm8 (byte 2)"                              # cxset
    CCMD = "crypto command (bytes 2-3)"                 # ccmd (0xf5 0x3c)
    CI_HI = "crypto command (b2 & 0x1f) with hi"        # indirect crypto (0xf2 sub-opcode 0xc)
    CBRA = "cmp hi, imm; branch on (in)equality"        # 0x33 compare-and-branch (v5)


class Flow(enum.Enum):
    """What an instruction does to the program counter."""

    NEXT = "next"
    BRANCH = "branch"      #: conditional, pc-relative; falls through
    JUMP = "jump"          #: unconditional, absolute or pc-relative ('bra' with cc 0xe)
    CALL = "call"          #: absolute; returns to the next instruction
    JUMP_REG = "jump-reg"  #: to a register (a jump table): the target is not known statically
    CALL_REG = "call-reg"
    RET = "ret"            #: ret, iret, mpopret, mpopaddret
    EXIT = "exit"          #: halts
    TRAP = "trap"          #: software trap: to $tv


@dataclass(frozen=True)
class Entry:
    """One instruction of a group."""

    mnemonic: str
    form: Form
    length: int | None = None  #: for :attr:`Length.ENTRY` groups
    flow: Flow = Flow.NEXT
    signed: bool = False  #: the immediate is sign-extended (else zero-extended)
    version: int = 5  #: first falcon version with it
    note: str = ""  #: what is known of its semantics where envytools marks it unverified or unknown


@dataclass(frozen=True)
class Group:
    """The instructions sharing byte 0 (sized: byte 0 & 0x3f; unsized: byte 0)."""

    subop: SubopAt
    length_rule: Length
    length: int  #: FIXED: the length; OL0/SIZE: unused (0); ENTRY: the length of an invalid sub-opcode
    entries: dict[int, Entry]
    sized: bool = True


def _e(mn: str, form: Form, **kw: object) -> Entry:
    return Entry(mn, form, **kw)  # type: ignore[arg-type]


_ARITH = {0x0: "add", 0x1: "adc", 0x2: "sub", 0x3: "sbb"}
_SHIFT = {0x4: "shl", 0x5: "shr", 0x7: "sar", 0xC: "shlc", 0xD: "shrc"}

#: sized groups, keyed by byte 0 & 0x3f (byte 0 < 0xc0; bits 7:6 = size 8/16/32)
SIZED: dict[int, Group] = {
    **{r: Group(SubopAt.NONE, Length.SIZE, 0, {0: _e("mov", Form.R0_SIMM, signed=True)}) for r in range(16)},
    0x10: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("add", Form.LO_HI_IMM8)}),
    0x11: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("adc", Form.LO_HI_IMM8)}),
    0x12: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("sub", Form.LO_HI_IMM8)}),
    0x13: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("sbb", Form.LO_HI_IMM8)}),
    0x14: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("shl", Form.LO_HI_IMM8)}),
    0x15: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("shr", Form.LO_HI_IMM8)}),
    0x17: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("sar", Form.LO_HI_IMM8)}),
    0x18: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("ld", Form.LO_MEM_HI_IMM8)}),
    0x1C: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("shlc", Form.LO_HI_IMM8)}),
    0x1D: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("shrc", Form.LO_HI_IMM8)}),
    **{k: Group(SubopAt.NONE, Length.FIXED, 3, {}) for k in (0x16, 0x19, 0x1A, 0x1B, 0x1E, 0x1F)},
    0x20: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("st", Form.MEM_HI_LO)}),
    0x21: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("st", Form.MEM_SP_LO_HI)}),
    0x24: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("cmpu", Form.HI_LO)}),
    0x25: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("cmps", Form.HI_LO)}),
    0x26: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("cmp", Form.HI_LO)}),
    **{k: Group(SubopAt.NONE, Length.FIXED, 2, {}) for k in (0x22, 0x23, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D,
                                                            0x2E, 0x2F)},
    # 0x30 (imm8) / 0x31 (imm16): st [sp] only with an 8-bit offset
    0x30: Group(SubopAt.B1_LO, Length.OL0, 0, {0x1: _e("st", Form.MEM_SP_IMM8_HI), 0x4: _e("cmpu", Form.HI_IMM),
                                               0x5: _e("cmps", Form.HI_IMM, signed=True),
                                               0x6: _e("cmp", Form.HI_IMM, signed=True)}),
    0x31: Group(SubopAt.B1_LO, Length.OL0, 0, {0x4: _e("cmpu", Form.HI_IMM),
                                               0x5: _e("cmps", Form.HI_IMM, signed=True),
                                               0x6: _e("cmp", Form.HI_IMM, signed=True)}),
    0x32: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("mov", Form.LO_HI)}),
    # compare-and-branch; envytools: "not verified yet". Sub-opcode bits: 0 = 16-bit displacement,
    # 1 = 16-bit immediate, 2 = branch if not equal; 0 and 4 are the short (4-byte) forms.
    0x33: Group(SubopAt.B1_LO, Length.ENTRY, 0, {
        0x0: _e("cbra.e", Form.CBRA, length=4, flow=Flow.BRANCH, note="imm8, 8-bit displacement"),
        0x4: _e("cbra.ne", Form.CBRA, length=4, flow=Flow.BRANCH, note="imm8, 8-bit displacement"),
        0x9: _e("cbra.e", Form.CBRA, length=5, flow=Flow.BRANCH, note="imm8, 16-bit displacement"),
        0xA: _e("cbra.e", Form.CBRA, length=5, flow=Flow.BRANCH, note="imm16, 8-bit displacement"),
        0xB: _e("cbra.e", Form.CBRA, length=6, flow=Flow.BRANCH, note="imm16, 16-bit displacement"),
        0xD: _e("cbra.ne", Form.CBRA, length=5, flow=Flow.BRANCH, note="imm8, 16-bit displacement"),
        0xE: _e("cbra.ne", Form.CBRA, length=5, flow=Flow.BRANCH, note="imm16, 8-bit displacement"),
        0xF: _e("cbra.ne", Form.CBRA, length=6, flow=Flow.BRANCH, note="imm16, 16-bit displacement"),
    }),
    0x34: Group(SubopAt.B1_LO, Length.FIXED, 3, {0x0: _e("ld", Form.HI_MEM_SP_IMM8)}),
    0x35: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("st", Form.MEM_HI_IMM8_LO)}),
    0x36: Group(SubopAt.B1_LO, Length.OL0, 0, {**{k: _e(v, Form.HI_IMM) for k, v in _ARITH.items()},
                                               **{k: _e(v, Form.HI_IMM) for k, v in _SHIFT.items()}}),
    0x37: Group(SubopAt.B1_LO, Length.OL0, 0, {k: _e(v, Form.HI_IMM) for k, v in _ARITH.items()}),
    0x38: Group(SubopAt.B4_LO, Length.FIXED, 5, {k: _e(v, Form.LO_HI_IMM16) for k, v in _ARITH.items()}),
    0x39: Group(SubopAt.B2_LO, Length.FIXED, 3, {0x0: _e("not", Form.LO_HI), 0x1: _e("neg", Form.LO_HI),
                                                 0x3: _e("hswap", Form.LO_HI)}),
    0x3A: Group(SubopAt.B2_LO, Length.FIXED, 3, {0x0: _e("ld", Form.HI_MEM_SP_LO)}),
    0x3B: Group(SubopAt.B2_LO, Length.FIXED, 3, {**{k: _e(v, Form.HI_LO) for k, v in _ARITH.items()},
                                                 **{k: _e(v, Form.HI_LO) for k, v in _SHIFT.items()}}),
    0x3C: Group(SubopAt.B2_LO, Length.FIXED, 3, {**{k: _e(v, Form.R3_HI_LO) for k, v in _ARITH.items()},
                                                 **{k: _e(v, Form.R3_HI_LO) for k, v in _SHIFT.items()},
                                                 0x8: _e("ld", Form.R3_MEM_HI_LO), 0x9: _e("st", Form.MEM_HI_R3_LO)}),
    0x3D: Group(SubopAt.B1_LO, Length.FIXED, 2, {0x0: _e("not", Form.HI), 0x1: _e("neg", Form.HI),
                                                 0x2: _e("mov", Form.HI, note="moves a register onto itself"),
                                                 0x3: _e("hswap", Form.HI), 0x4: _e("clear", Form.HI),
                                                 0x5: _e("setf", Form.HI)}),
    # not sized: bits 7:6 of byte 0 select lbra (0x3e) / lcall (0x7e)
    0x3E: Group(SubopAt.OP_HI, Length.FIXED, 4, {0: _e("lbra", Form.ABS24, flow=Flow.JUMP),
                                                 1: _e("lcall", Form.ABS24, flow=Flow.CALL)}),
    0x3F: Group(SubopAt.NONE, Length.FIXED, 2, {0: _e("ld", Form.LO_MEM_HI)}),
}

_LOGIC = {0x4: "and", 0x5: "or", 0x6: "xor"}

#: unsized groups, keyed by byte 0 (>= 0xc0)
UNSIZED: dict[int, Group] = {
    **{0xC0 | k: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e(v, Form.LO_HI_IMM8, signed=k == 1)}, sized=False)
       for k, v in {0x0: "mulu", 0x1: "muls", 0x2: "sext", 0x3: "extrs", **_LOGIC, 0x7: "extr", 0x8: "xbit",
                    0xB: "ins", 0xC: "div", 0xD: "mod"}.items()},
    0xC9: Group(SubopAt.NONE, Length.FIXED, 3, {}, sized=False),
    0xCA: Group(SubopAt.NONE, Length.FIXED, 3, {}, sized=False),
    0xCE: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("iords", Form.LO_IO_HI_IMM8,
                                                      note="an I/O read; envytools names the variant, not its effect")},
                sized=False),
    0xCF: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("iord", Form.LO_IO_HI_IMM8)}, sized=False),
    **{0xD0 | r: Group(SubopAt.NONE, Length.FIXED, 5, {0: _e("mov", Form.R0_IMM32)}, sized=False) for r in range(16)},
    **{0xE0 | k: Group(SubopAt.NONE, Length.FIXED, 4, {0: _e(v, Form.LO_HI_IMM16, signed=k == 1)}, sized=False)
       for k, v in {0x0: "mulu", 0x1: "muls", 0x3: "extrs", **_LOGIC, 0x7: "extr", 0xB: "ins", 0xC: "div",
                    0xD: "mod"}.items()},
    **{0xE0 | k: Group(SubopAt.NONE, Length.FIXED, 4, {}, sized=False) for k in (0x2, 0x8, 0x9, 0xA, 0xE, 0xF)},
    0xF0: Group(SubopAt.B1_LO, Length.OL0, 0, {
        0x0: _e("mulu", Form.HI_IMM), 0x1: _e("muls", Form.HI_IMM, signed=True), 0x2: _e("sext", Form.HI_IMM),
        0x3: _e("sethi", Form.HI_IMM), **{k: _e(v, Form.HI_IMM) for k, v in _LOGIC.items()},
        0x9: _e("bset", Form.HI_IMM), 0xA: _e("bclr", Form.HI_IMM), 0xB: _e("btgl", Form.HI_IMM),
        0xC: _e("xbit", Form.HI_FLAGS_IMM)}, sized=False),
    0xF1: Group(SubopAt.B1_LO, Length.OL0, 0, {
        0x0: _e("mulu", Form.HI_IMM), 0x1: _e("muls", Form.HI_IMM, signed=True), 0x3: _e("sethi", Form.HI_IMM),
        **{k: _e(v, Form.HI_IMM) for k, v in _LOGIC.items()}}, sized=False),
    0xF2: Group(SubopAt.B1_LO, Length.FIXED, 3, {0x8: _e("setp", Form.FLAG_B2_HI),
                                                 0xC: _e("ccmd", Form.CI_HI, note="indirect crypto command")},
                sized=False),
    0xF3: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("call", Form.ABS16, flow=Flow.CALL)}, sized=False),
    0xF4: Group(SubopAt.B1_LO6, Length.OL0, 0, {
        **{cc: _e("bra", Form.COND_REL, flow=Flow.BRANCH, signed=True) for cc in range(0x20) if cc not in (0xE, 0xF)},
        0x0E: _e("bra", Form.COND_REL, flow=Flow.JUMP, signed=True),
        0x20: _e("jmp", Form.ABS, flow=Flow.JUMP), 0x21: _e("call", Form.ABS, flow=Flow.CALL),
        0x28: _e("sleep", Form.FLAG_B2), 0x30: _e("add", Form.SP_SIMM, signed=True),
        0x31: _e("bset", Form.FLAG_B2), 0x32: _e("bclr", Form.FLAG_B2), 0x33: _e("btgl", Form.FLAG_B2),
        0x3C: _e("cxset", Form.IMM8)}, sized=False),
    0xF5: Group(SubopAt.B1_LO6, Length.OL0, 0, {
        **{cc: _e("bra", Form.COND_REL, flow=Flow.BRANCH, signed=True) for cc in range(0x20) if cc not in (0xE, 0xF)},
        0x0E: _e("bra", Form.COND_REL, flow=Flow.JUMP, signed=True),
        0x20: _e("jmp", Form.ABS, flow=Flow.JUMP), 0x30: _e("add", Form.SP_SIMM, signed=True),
        0x3C: _e("ccmd", Form.CCMD)}, sized=False),
    0xF6: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("iowr", Form.IO_HI_IMM8_LO)}, sized=False),
    0xF7: Group(SubopAt.NONE, Length.FIXED, 3, {0: _e("iowrs", Form.IO_HI_IMM8_LO)}, sized=False),
    0xF8: Group(SubopAt.B1_LO, Length.FIXED, 2, {
        0x0: _e("ret", Form.NONE, flow=Flow.RET), 0x1: _e("iret", Form.NONE, flow=Flow.RET),
        0x2: _e("exit", Form.NONE, flow=Flow.EXIT), 0x3: _e("xdwait", Form.NONE), 0x6: _e("xdfence", Form.NONE),
        0x7: _e("xcwait", Form.NONE), **{8 + t: _e("trap", Form.TRAP, flow=Flow.TRAP) for t in range(4)}},
        sized=False),
    0xF9: Group(SubopAt.B1_LO, Length.FIXED, 2, {
        0x0: _e("push", Form.HI), 0x1: _e("add", Form.SP_HI),
        0x2: _e("mpush", Form.HI, note="push $r0..$hi"), 0x4: _e("jmp", Form.HI, flow=Flow.JUMP_REG),
        0x5: _e("call", Form.HI, flow=Flow.CALL_REG), 0x8: _e("itlb", Form.HI),
        0x9: _e("bset", Form.FLAGS_HI), 0xA: _e("bclr", Form.FLAGS_HI), 0xB: _e("btgl", Form.FLAGS_HI)},
        sized=False),
    0xFA: Group(SubopAt.B2_LO, Length.FIXED, 3, {
        0x0: _e("iowr", Form.IO_HI_LO), 0x1: _e("iowrs", Form.IO_HI_LO), 0x4: _e("xcld", Form.HI_LO),
        0x5: _e("xdld", Form.HI_LO), 0x6: _e("xdst", Form.HI_LO),
        0x7: _e("fa.7", Form.LO_HI, version=6, note="v6; semantics unknown"), 0x8: _e("setp", Form.FLAG_LO_HI)},
        sized=False),
    0xFB: Group(SubopAt.B1_LO3, Length.ENTRY, 2, {
        0x0: _e("mpop", Form.HI, length=2, note="pop $hi..$r0"),
        0x1: _e("mpopret", Form.HI, length=2, flow=Flow.RET),
        0x2: _e("mpopadd", Form.HI_SIMM16, length=4, signed=True),
        0x3: _e("mpopaddret", Form.HI_SIMM16, length=4, flow=Flow.RET, signed=True),
        0x4: _e("mpopadd", Form.HI_SIMM8, length=3, signed=True),
        0x5: _e("mpopaddret", Form.HI_SIMM8, length=3, flow=Flow.RET, signed=True)}, sized=False),
    0xFC: Group(SubopAt.B1_LO, Length.FIXED, 2, {0x0: _e("pop", Form.HI)}, sized=False),
    0xFD: Group(SubopAt.B2_LO, Length.FIXED, 3, {
        0x0: _e("mulu", Form.HI_LO), 0x1: _e("muls", Form.HI_LO), 0x2: _e("sext", Form.HI_LO),
        **{k: _e(v, Form.HI_LO) for k, v in _LOGIC.items()}, 0x9: _e("bset", Form.HI_LO),
        0xA: _e("bclr", Form.HI_LO), 0xB: _e("btgl", Form.HI_LO)}, sized=False),
    0xFE: Group(SubopAt.B2_LO, Length.FIXED, 3, {
        0x0: _e("mov", Form.SR_LO_HI), 0x1: _e("mov", Form.LO_SR_HI), 0x2: _e("ptlb", Form.LO_HI),
        0x3: _e("vtlb", Form.LO_HI), 0x5: _e("fe.5", Form.LO_HI, version=6, note="v6; semantics unknown"),
        0xC: _e("xbit", Form.LO_FLAGS_HI)}, sized=False),
    0xFF: Group(SubopAt.B2_LO, Length.FIXED, 3, {
        **{k: _e(v, Form.R3_HI_LO) for k, v in {0x0: "mulu", 0x1: "muls", 0x2: "sext", 0x3: "extrs", **_LOGIC,
                                                0x7: "extr", 0x8: "xbit", 0xC: "div", 0xD: "mod"}.items()},
        0xE: _e("iords", Form.R3_IO_HI_LO), 0xF: _e("iord", Form.R3_IO_HI_LO)}, sized=False),
}

#: sizes of the sized instructions by bits 7:6 of byte 0
SIZE_BITS = {0: 8, 1: 16, 2: 32}

#: condition codes of ``bra`` (byte 1 & 0x1f); 0x0-0x7 test $p0-$p7, 0x10-0x17 their negation
CONDITIONS: dict[int, str] = {
    **{p: f"p{p}" for p in range(8)},
    0x08: "c", 0x09: "o", 0x0A: "s", 0x0B: "z", 0x0C: "a", 0x0D: "na", 0x0E: "",
    **{0x10 + p: f"np{p}" for p in range(8)},
    0x18: "nc", 0x19: "no", 0x1A: "ns", 0x1B: "nz", 0x1C: "g", 0x1D: "le", 0x1E: "l", 0x1F: "ge",
}

#: special registers ($sr0-$sr15); v6 adds cauth1, xcbase1, xdbase1
SPECIAL_REGS: dict[int, str] = {
    0x0: "iv0", 0x1: "iv1", 0x3: "tv", 0x4: "sp", 0x5: "pc", 0x6: "xcbase", 0x7: "xdbase", 0x8: "flags",
    0x9: "cx", 0xA: "cauth", 0xB: "xtargets", 0xC: "tstatus", 0xD: "cauth1", 0xE: "xcbase1", 0xF: "xdbase1",
}
SR_SP, SR_PC, SR_FLAGS = 0x4, 0x5, 0x8

#: $flags bits with names (others are $p0-$p7 = bits 0-7)
FLAG_BITS: dict[int, str] = {
    **{p: f"p{p}" for p in range(8)},
    8: "c", 9: "o", 10: "s", 11: "z", 16: "ie0", 17: "ie1", 18: "ie2", 20: "is0", 21: "is1", 22: "is2", 24: "ta",
}
FLAG_C, FLAG_O, FLAG_S, FLAG_Z = 8, 9, 10, 11

#: ``ccmd`` (0xf5 0x3c) commands by bits 14:10 of the 16-bit command (bit 15 clear: ``cxset imm8``)
CRYPTO_COMMANDS: dict[int, tuple[str, str]] = {
    0x01: ("cmov", "c,c"), 0x02: ("cxsin", "c"), 0x03: ("cxsout", "c"), 0x04: ("crnd", "c"),
    0x05: ("cs0begin", "i"), 0x06: ("cs0exec", "i"), 0x07: ("cs1begin", "i"), 0x08: ("cs1exec", "i"),
    0x0A: ("cchmod", "c,i"), 0x0B: ("cxor", "c,c"), 0x0C: ("cadd", "c,i"), 0x0D: ("cand", "c,c"),
    0x0E: ("crev", "c,c"), 0x0F: ("cgfmul", "c,c"), 0x10: ("csecret", "c,i"), 0x11: ("ckeyreg", "c"),
    0x12: ("ckexp", "c,c"), 0x13: ("ckrexp", "c,c"), 0x14: ("cenc", "c,c"), 0x15: ("cdec", "c,c"),
    0x16: ("csigcmp", "c,c"), 0x17: ("csigenc", "c,c"), 0x18: ("csigclr", ""),
}

#: the indirect crypto commands (0xf2 sub-opcode 0xc) by byte 2 & 0x1f: the same set, operands in a register
CRYPTO_INDIRECT: dict[int, str] = {
    0x01: "cimov", 0x02: "cixsin", 0x03: "cixsout", 0x04: "cirnd", 0x05: "cis0begin", 0x06: "cis0exec",
    0x07: "cis1begin", 0x08: "cis1exec", 0x0A: "cichmod", 0x0B: "cixor", 0x0C: "ciadd", 0x0D: "ciand",
    0x0E: "cirev", 0x0F: "cigfmul", 0x10: "cisecret", 0x11: "cikeyreg", 0x12: "cikexp", 0x13: "cikrexp",
    0x14: "cienc", 0x15: "cidec", 0x16: "cisigcmp", 0x17: "cisigenc", 0x18: "cisigclr",
}

#: the longest instruction (the 16-bit compare-and-branch forms)
MAX_LENGTH = 6
#: IMEM is paged in 256-byte blocks; each physical block is tagged with a virtual block number
PAGE = 0x100
