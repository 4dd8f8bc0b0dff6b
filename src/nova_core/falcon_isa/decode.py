"""nova_core.falcon_isa.decode: falcon bytes to :class:`Insn`, driven by the tables of :mod:`.opcodes`.

:func:`decode` reads one instruction at an address; it never raises on bad code: an encoding the tables
do not know is an :class:`Insn` with ``mnemonic`` ``None`` (``valid`` False) and the reason in ``error``,
and an instruction running past the end of the bytes given is one too. The result is structured (operands
are :class:`Reg`, :class:`Imm`, :class:`Mem`, ...), so that a disassembler prints it and an emulator
compiles it, each on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .opcodes import (
    CONDITIONS,
    CRYPTO_COMMANDS,
    CRYPTO_INDIRECT,
    SIZE_BITS,
    SIZED,
    UNSIZED,
    Entry,
    Flow,
    Form,
    Group,
    Length,
    SubopAt,
)


@dataclass(frozen=True, slots=True)
class Reg:
    """A general-purpose register $r0-$r15."""

    n: int

    def __str__(self) -> str:
        return f"$r{self.n}"


@dataclass(frozen=True, slots=True)
class SpecialReg:
    """A special register ($sr0-$sr15: $sp, $flags, $xdbase ...)."""

    n: int


@dataclass(frozen=True, slots=True)
class Imm:
    """An immediate (already sign- or zero-extended to a Python int)."""

    value: int


@dataclass(frozen=True, slots=True)
class FlagBit:
    """One bit of $flags (``$p0``, ``c``, ``ie0`` ...)."""

    bit: int


@dataclass(frozen=True, slots=True)
class Mem:
    """A data-space (``D``) or I/O-space (``I``) address: ``base + index * scale``.

    ``base`` is a register number or ``"sp"``; ``index`` a register (:class:`Reg`), an :class:`Imm` or ``None``.
    """

    space: str
    base: int | str
    index: Reg | Imm | None
    scale: int


@dataclass(frozen=True, slots=True)
class Target:
    """A code address (branch or call target)."""

    addr: int


@dataclass(frozen=True, slots=True)
class Crypto:
    """A crypto-coprocessor command: name and its raw operand fields."""

    name: str
    args: tuple[int, ...]
    via_reg: int | None = None  #: the indirect form takes its operands from this register


Operand = Reg | SpecialReg | Imm | FlagBit | Mem | Target | Crypto


@dataclass(frozen=True, slots=True)
class Insn:
    """One decoded instruction."""

    addr: int
    length: int
    raw: bytes
    mnemonic: str | None  #: None: not a known encoding (see ``error``)
    size: int | None  #: 8/16/32 for sized instructions
    operands: tuple[Operand, ...]
    flow: Flow
    cond: int | None = None  #: ``bra`` condition code; the compare-and-branch forms: 0 = equal, 1 = not equal
    target: int | None = None  #: the code address of a direct branch, jump or call
    entry: Entry | None = None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.mnemonic is not None

    @property
    def next_addr(self) -> int:
        return self.addr + self.length


def _s(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _u(code: bytes | memoryview, at: int, n: int) -> int:
    return int.from_bytes(code[at:at + n], "little")


def _group(op: int) -> tuple[Group | None, int | None]:
    if op >= 0xC0:
        return UNSIZED.get(op), None
    return SIZED.get(op & 0x3F), SIZE_BITS[op >> 6]


def _subop(g: Group, op: int, b1: int, b2: int, b4: int) -> int:
    at = g.subop
    if at is SubopAt.NONE:
        return 0
    if at is SubopAt.B1_LO:
        return b1 & 0xF
    if at is SubopAt.B1_LO6:
        return b1 & 0x3F
    if at is SubopAt.B1_LO3:
        return b1 & 0x7
    if at is SubopAt.B2_LO:
        return b2 & 0xF
    if at is SubopAt.B4_LO:
        return b4 & 0xF
    return op >> 6  # OP_HI


def _length(g: Group, op: int, entry: Entry | None) -> int | None:
    rule = g.length_rule
    if rule is Length.FIXED:
        return g.length
    if rule is Length.OL0:
        return 4 if op & 1 else 3
    if rule is Length.SIZE:
        return {0: 2, 1: 3, 2: 4}[op >> 6]
    return entry.length if entry is not None and entry.length is not None else None


def _bad(addr: int, code: bytes | memoryview, at: int, length: int, why: str) -> Insn:
    return Insn(addr, length, bytes(code[at:at + length]), None, None, (), Flow.NEXT, error=why)


def decode(code: bytes | memoryview, addr: int, *, base: int = 0) -> Insn:
    """The instruction at code address ``addr``; ``code[i]`` holds the byte at address ``base + i``."""
    at = addr - base
    end = len(code)
    if at < 0 or at >= end:
        return _bad(addr, code, 0, 0, f"address {addr:#x} is outside the code [{base:#x}, {base + end:#x})")
    op = code[at]
    g, size = _group(op)
    if g is None:  # pragma: no cover - every byte 0 has a group in the tables
        return _bad(addr, code, at, 1, f"opcode {op:#04x} has no group")
    b = [code[at + i] if at + i < end else 0 for i in range(6)]
    sub = _subop(g, op, b[1], b[2], b[4])
    entry = g.entries.get(sub)
    length = _length(g, op, entry)
    if length is None:
        return _bad(addr, code, at, 1, f"opcode {op:#04x} sub-opcode {sub:#x}: unknown encoding, length unknown")
    if at + length > end:
        return _bad(addr, code, at, end - at, f"{length}-byte instruction at {addr:#x} runs past the end of the code "
                                              f"({base + end:#x})")
    raw = bytes(code[at:at + length])
    if entry is None:
        return Insn(addr, length, raw, None, None, (), Flow.NEXT,
                    error=f"opcode {op:#04x} sub-opcode {sub:#x} ({g.subop.value}) is not a known v5/v6 encoding")
    if not g.sized or entry.form is Form.R0_SIMM:
        size = None  # the short mov forms: the size bits select the immediate's width; all 32 bits are written
    elif g.subop is SubopAt.OP_HI:
        size = None  # lbra/lcall: the size bits select the instruction
    return _operands(addr, raw, op, b, size, entry)


def _operands(addr: int, raw: bytes, op: int, b: list[int], size: int | None, e: Entry) -> Insn:
    f = e.form
    lo, hi, r3 = b[1] & 0xF, b[1] >> 4, b[2] >> 4
    scale = (size or 32) // 8
    wide = op & 1  # OL0 groups: 16-bit immediate
    length = len(raw)
    ops: tuple[Operand, ...] = ()
    target = cond = None
    mn = e.mnemonic

    def imm_ol0() -> int:
        v = _u(raw, 2, 2) if wide else b[2]
        return _s(v, 16 if wide else 8) if e.signed else v

    if f is Form.NONE:
        pass
    elif f is Form.R0_SIMM:
        bits = {2: 8, 3: 16, 4: 24}[length]
        ops = (Reg(op & 0xF), Imm(_s(_u(raw, 1, bits // 8), bits)))
    elif f is Form.R0_IMM32:
        ops = (Reg(op & 0xF), Imm(_u(raw, 1, 4)))
    elif f is Form.LO_HI_IMM8:
        ops = (Reg(lo), Reg(hi), Imm(_s(b[2], 8) if e.signed else b[2]))
    elif f is Form.LO_HI_IMM16:
        v = _u(raw, 2, 2)
        ops = (Reg(lo), Reg(hi), Imm(_s(v, 16) if e.signed else v))
    elif f is Form.LO_MEM_HI_IMM8:
        ops = (Reg(lo), Mem("D", hi, Imm(b[2]), scale))
    elif f is Form.MEM_HI_IMM8_LO:
        ops = (Mem("D", hi, Imm(b[2]), scale), Reg(lo))
    elif f is Form.MEM_HI_LO:
        ops = (Mem("D", hi, None, scale), Reg(lo))
    elif f is Form.LO_MEM_HI:
        ops = (Reg(lo), Mem("D", hi, None, scale))
    elif f is Form.MEM_SP_LO_HI:
        ops = (Mem("D", "sp", Reg(lo), scale), Reg(hi))
    elif f is Form.MEM_SP_IMM8_HI:
        ops = (Mem("D", "sp", Imm(b[2]), scale), Reg(hi))
    elif f is Form.HI_MEM_SP_IMM8:
        ops = (Reg(hi), Mem("D", "sp", Imm(b[2]), scale))
    elif f is Form.HI_MEM_SP_LO:
        ops = (Reg(hi), Mem("D", "sp", Reg(lo), scale))
    elif f is Form.R3_MEM_HI_LO:
        ops = (Reg(r3), Mem("D", hi, Reg(lo), scale))
    elif f is Form.MEM_HI_R3_LO:
        ops = (Mem("D", hi, Reg(r3), scale), Reg(lo))
    elif f is Form.HI_LO:
        ops = (Reg(hi), Reg(lo))
    elif f is Form.LO_HI:
        ops = (Reg(lo), Reg(hi))
    elif f is Form.R3_HI_LO:
        ops = (Reg(r3), Reg(hi), Reg(lo))
    elif f is Form.HI_IMM:
        v = imm_ol0()
        ops = (Reg(hi), Imm(v << 16 if mn == "sethi" else v))
    elif f is Form.HI:
        ops = (Reg(hi),)
    elif f is Form.HI_SIMM8:
        ops = (Reg(hi), Imm(_s(b[2], 8)))
    elif f is Form.HI_SIMM16:
        ops = (Reg(hi), Imm(_s(_u(raw, 2, 2), 16)))
    elif f is Form.HI_FLAGS_IMM:
        ops = (Reg(hi), Imm(imm_ol0()))
    elif f is Form.LO_FLAGS_HI:
        ops = (Reg(lo), Reg(hi))
    elif f is Form.FLAG_B2_HI:
        ops = (FlagBit(b[2] & 0x1F), Reg(hi))
    elif f is Form.FLAG_LO_HI:
        ops = (Reg(lo), Reg(hi))
    elif f is Form.LO_IO_HI_IMM8:
        ops = (Reg(lo), Mem("I", hi, Imm(b[2]), 4))
    elif f is Form.R3_IO_HI_LO:
        ops = (Reg(r3), Mem("I", hi, Reg(lo), 4))
    elif f is Form.IO_HI_IMM8_LO:
        ops = (Mem("I", hi, Imm(b[2]), 4), Reg(lo))
    elif f is Form.IO_HI_LO:
        ops = (Mem("I", hi, None, 4), Reg(lo))
    elif f is Form.SR_LO_HI:
        ops = (SpecialReg(lo), Reg(hi))
    elif f is Form.LO_SR_HI:
        ops = (Reg(lo), SpecialReg(hi))
    elif f is Form.COND_REL:
        cond = b[1] & 0x1F
        target = (addr + imm_ol0()) & 0xFFFFFFFF
        ops = (Target(target),)
        if cond not in CONDITIONS or (cond == 0x0F):  # pragma: no cover - 0xf has no entry
            return Insn(addr, length, raw, None, None, (), Flow.NEXT, error=f"bra condition {cond:#x}")
    elif f is Form.ABS:
        target = imm_ol0()
        ops = (Target(target),)
    elif f is Form.ABS16:
        target = _u(raw, 1, 2)
        ops = (Target(target),)
    elif f is Form.ABS24:
        target = _u(raw, 1, 3)
        ops = (Target(target),)
    elif f is Form.SP_SIMM:
        ops = (Imm(imm_ol0()),)
    elif f is Form.SP_HI:
        ops = (Reg(hi),)
    elif f is Form.FLAG_B2:
        ops = (FlagBit(b[2] & 0x1F),)
    elif f is Form.FLAGS_HI:
        ops = (Reg(hi),)
    elif f is Form.TRAP:
        ops = (Imm(b[1] & 3),)
    elif f is Form.IMM8:
        ops = (Imm(b[2]),)
    elif f is Form.CCMD:
        word = _u(raw, 2, 2)
        if not word & 0x8000:
            mn = "cxset"
            ops = (Imm(word & 0xFF),)
        else:
            cmd = CRYPTO_COMMANDS.get((word >> 10) & 0x1F)
            if cmd is None or (word >> 15) != 1:
                return Insn(addr, length, raw, None, None, (), Flow.NEXT,
                            error=f"crypto command word {word:#06x} is not a known command")
            name, shape = cmd
            args: tuple[int, ...] = ()
            if shape == "c":
                args = (word & 7,)
            elif shape == "c,c":
                args = (word & 7, (word >> 4) & 7)
            elif shape == "c,i":
                args = (word & 7, (word >> 4) & 0x3F)
            elif shape == "i":
                args = ((word >> 4) & 0x3F,)
            mn = name
            ops = (Crypto(name, args),)
    elif f is Form.CI_HI:
        name2 = CRYPTO_INDIRECT.get(b[2] & 0x1F)
        if name2 is None:
            return Insn(addr, length, raw, None, None, (), Flow.NEXT,
                        error=f"indirect crypto command {b[2] & 0x1f:#x} is not known")
        mn = name2
        ops = (Crypto(name2, (), via_reg=hi),)
    elif f is Form.CBRA:
        sub = b[1] & 0xF
        wide_imm = bool(sub & 0x2) and sub & 0x8
        wide_disp = bool(sub & 0x1) and sub & 0x8
        imm = _u(raw, 2, 2) if wide_imm else b[2]
        disp_at = 4 if wide_imm else 3
        disp = _s(_u(raw, disp_at, 2), 16) if wide_disp else _s(raw[disp_at], 8)
        target = (addr + disp) & 0xFFFFFFFF
        cond = 1 if sub & 0x4 else 0
        ops = (Reg(hi), Imm(imm), Target(target))
    else:  # pragma: no cover - every form is handled above
        raise AssertionError(f)
    return Insn(addr, length, raw, mn, size, ops, e.flow, cond, target, e)


def decode_all(code: bytes | memoryview, *, base: int = 0) -> list[Insn]:
    """A linear sweep: every instruction from ``base`` to the end (an unknown byte steps 1)."""
    out: list[Insn] = []
    addr, end = base, base + len(code)
    while addr < end:
        insn = decode(code, addr, base=base)
        out.append(insn)
        addr += max(insn.length, 1)
    return out
