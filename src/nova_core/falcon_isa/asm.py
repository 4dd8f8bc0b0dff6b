"""nova_core.falcon_isa.asm: a small falcon v5 assembler for tests, benchmarks and test ucodes.

Each function encodes one form, written out by hand from envytools' encoding facts - on purpose apart from
the table-driven :mod:`.decode`, so that each checks the other. :class:`Program` places instructions and
resolves labels (branch displacements are relative to the branch instruction itself)::

    p = Program()
    p.emit(mov(1, 1000))
    p.label("loop")
    p.emit(alu_imm("sub", 32, 1, 1, 1))
    p.branch("nz", "loop")
    p.emit(exit_())
    code = p.assemble()

Register numbers are 0-15; sizes 8, 16 or 32.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import NovaError

_SIZE = {8: 0, 16: 1, 32: 2}
_ARITH = {"add": 0x0, "adc": 0x1, "sub": 0x2, "sbb": 0x3, "shl": 0x4, "shr": 0x5, "sar": 0x7, "shlc": 0xC, "shrc": 0xD}
_UNSIZED = {"mulu": 0x0, "muls": 0x1, "sext": 0x2, "extrs": 0x3, "and": 0x4, "or": 0x5, "xor": 0x6, "extr": 0x7,
            "xbit": 0x8, "ins": 0xB, "div": 0xC, "mod": 0xD}
_CC = {f"p{i}": i for i in range(8)} | {f"np{i}": 0x10 + i for i in range(8)} | {
    "c": 0x08, "b": 0x08, "o": 0x09, "s": 0x0A, "z": 0x0B, "e": 0x0B, "a": 0x0C, "na": 0x0D, "be": 0x0D, "": 0x0E,
    "nc": 0x18, "ae": 0x18, "no": 0x19, "ns": 0x1A, "nz": 0x1B, "ne": 0x1B, "g": 0x1C, "le": 0x1D, "l": 0x1E,
    "ge": 0x1F}


class AsmError(NovaError):
    """An operand does not fit the form asked for."""


def _r(*regs: int) -> None:
    for r in regs:
        if not 0 <= r <= 15:
            raise AsmError(f"register {r} is not $r0-$r15")


def _u(value: int, bits: int, what: str) -> int:
    if not 0 <= value < 1 << bits:
        raise AsmError(f"{what} {value:#x} does not fit {bits} unsigned bits")
    return value


def _s(value: int, bits: int, what: str) -> int:
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise AsmError(f"{what} {value} does not fit {bits} signed bits")
    return value & ((1 << bits) - 1)


def _sz(size: int) -> int:
    if size not in _SIZE:
        raise AsmError(f"size {size} is not 8, 16 or 32")
    return _SIZE[size] << 6


def mov(r: int, value: int) -> bytes:
    """``mov $r, imm``: the shortest of the sign-extended 8/16/24-bit forms and the 32-bit one."""
    _r(r)
    v = value & 0xFFFFFFFF
    sv = v - (1 << 32) if v >> 31 else v
    for size, bits in ((0, 8), (1, 16), (2, 24)):
        if -(1 << (bits - 1)) <= sv < 1 << (bits - 1):
            return bytes([size << 6 | r]) + (sv & ((1 << bits) - 1)).to_bytes(bits // 8, "little")
    return bytes([0xD0 | r]) + v.to_bytes(4, "little")


def alu_imm8(op: str, size: int, dst: int, src: int, imm: int) -> bytes:
    """``op size $dst, $src, imm8`` (opcode 0x10-0x1d)."""
    _r(dst, src)
    return bytes([_sz(size) | 0x10 | _ARITH[op], src << 4 | dst, _u(imm, 8, "immediate")])


def alu_imm(op: str, size: int, reg: int, imm: int) -> bytes:
    """``op size $reg, imm`` with the register as destination and first source (0x36/0x37)."""
    _r(reg)
    wide = imm > 0xFF
    if wide and _ARITH[op] > 3:
        raise AsmError(f"{op} takes an 8-bit immediate only")
    return bytes([_sz(size) | 0x36 | wide, reg << 4 | _ARITH[op]]) + _u(imm, 16 if wide else 8, "immediate").to_bytes(
        2 if wide else 1, "little")


def alu_rr(op: str, size: int, dst: int, a: int, b: int) -> bytes:
    """``op size $dst, $a, $b`` (opcode 0x3c)."""
    _r(dst, a, b)
    return bytes([_sz(size) | 0x3C, a << 4 | b, dst << 4 | _ARITH[op]])


def unary(op: str, size: int, dst: int, src: int) -> bytes:
    """``not``/``neg``/``hswap size $dst, $src`` (opcode 0x39)."""
    _r(dst, src)
    return bytes([_sz(size) | 0x39, src << 4 | dst, {"not": 0, "neg": 1, "hswap": 3}[op]])


def clear(size: int, reg: int) -> bytes:
    _r(reg)
    return bytes([_sz(size) | 0x3D, reg << 4 | 0x4])


def setf(size: int, reg: int) -> bytes:
    _r(reg)
    return bytes([_sz(size) | 0x3D, reg << 4 | 0x5])


def mov_rr(size: int, dst: int, src: int) -> bytes:
    """``mov size $dst, $src`` (opcode 0x32)."""
    _r(dst, src)
    return bytes([_sz(size) | 0x32, src << 4 | dst])


def cmp(kind: str, size: int, a: int, b: int) -> bytes:
    """``cmpu``/``cmps``/``cmp size $a, $b`` (opcodes 0x24-0x26)."""
    _r(a, b)
    return bytes([_sz(size) | {"cmpu": 0x24, "cmps": 0x25, "cmp": 0x26}[kind], a << 4 | b])


def cmp_imm(kind: str, size: int, reg: int, imm: int) -> bytes:
    """``cmpu``/``cmps``/``cmp size $reg, imm`` (0x30/0x31; cmps and cmp sign-extend)."""
    _r(reg)
    sub = {"cmpu": 4, "cmps": 5, "cmp": 6}[kind]
    signed = kind != "cmpu"
    wide = not (-128 <= imm < 128 if signed else 0 <= imm < 256)
    bits = 16 if wide else 8
    v = _s(imm, bits, "immediate") if signed else _u(imm, bits, "immediate")
    return bytes([_sz(size) | 0x30 | wide, reg << 4 | sub]) + v.to_bytes(bits // 8, "little")


def op3(op: str, dst: int, a: int, b: int) -> bytes:
    """Unsized ``op $dst, $a, $b`` (opcode 0xff: mulu, and, extr, div, ...)."""
    _r(dst, a, b)
    return bytes([0xFF, a << 4 | b, dst << 4 | _UNSIZED[op]])


def op_imm8(op: str, dst: int, src: int, imm: int) -> bytes:
    """Unsized ``op $dst, $src, imm8`` (opcodes 0xc0-0xcd)."""
    _r(dst, src)
    return bytes([0xC0 | _UNSIZED[op], src << 4 | dst, _u(imm, 8, "immediate")])


def extr(dst: int, src: int, low: int, width: int) -> bytes:
    """``extr $dst, $src, low:width`` (bitfield in an 8-bit immediate: width 1-8)."""
    return op_imm8("extr", dst, src, _u(low, 5, "low bit") | _u(width - 1, 3, "width - 1") << 5)


def ld(size: int, dst: int, base: int, index: int = 0) -> bytes:
    """``ld size $dst, D[$base + index * size/8]``."""
    _r(dst, base)
    return bytes([_sz(size) | 0x18, base << 4 | dst, _u(index, 8, "index")])


def st(size: int, base: int, index: int, src: int) -> bytes:
    """``st size D[$base + index * size/8], $src``."""
    _r(src, base)
    return bytes([_sz(size) | 0x35, base << 4 | src, _u(index, 8, "index")])


def ld_sp(size: int, dst: int, index: int) -> bytes:
    _r(dst)
    return bytes([_sz(size) | 0x34, dst << 4, _u(index, 8, "index")])


def st_sp(size: int, index: int, src: int) -> bytes:
    _r(src)
    return bytes([_sz(size) | 0x30, src << 4 | 1, _u(index, 8, "index")])


def push(r: int) -> bytes:
    _r(r)
    return bytes([0xF9, r << 4])


def pop(r: int) -> bytes:
    _r(r)
    return bytes([0xFC, r << 4])


def mpush(r: int) -> bytes:
    _r(r)
    return bytes([0xF9, r << 4 | 2])


def mpop(r: int, *, ret: bool = False, add: int = 0) -> bytes:
    """``mpop``/``mpopret``; with ``add``: ``mpopadd``/``mpopaddret`` (8-bit signed form)."""
    _r(r)
    if add:
        return bytes([0xFB, r << 4 | (5 if ret else 4), _s(add, 8, "adjustment")])
    return bytes([0xFB, r << 4 | (1 if ret else 0)])


def add_sp(imm: int) -> bytes:
    wide = not -128 <= imm < 128
    bits = 16 if wide else 8
    return bytes([0xF4 | wide, 0x30]) + _s(imm, bits, "adjustment").to_bytes(bits // 8, "little")


def iord(dst: int, base: int, index: int = 0) -> bytes:
    """``iord $dst, I[$base + index * 4]``."""
    _r(dst, base)
    return bytes([0xCF, base << 4 | dst, _u(index, 8, "index")])


def iowr(base: int, index: int, src: int, *, sync: bool = False) -> bytes:
    """``iowr``/``iowrs I[$base + index * 4], $src``."""
    _r(base, src)
    return bytes([0xF7 if sync else 0xF6, base << 4 | src, _u(index, 8, "index")])


def mov_to_sr(sr: int, r: int) -> bytes:
    _r(r)
    return bytes([0xFE, r << 4 | _u(sr, 4, "special register"), 0x00])


def mov_from_sr(r: int, sr: int) -> bytes:
    _r(r)
    return bytes([0xFE, _u(sr, 4, "special register") << 4 | r, 0x01])


def xfer(op: str, ext: int, local: int) -> bytes:
    """``xcld``/``xdld``/``xdst $ext, $local`` (external offset, local address | size << 16)."""
    _r(ext, local)
    return bytes([0xFA, ext << 4 | local, {"xcld": 4, "xdld": 5, "xdst": 6}[op]])


def setp(bit: int, r: int) -> bytes:
    _r(r)
    return bytes([0xF2, r << 4 | 0x8, _u(bit, 5, "flag bit")])


def flag_op(op: str, bit: int) -> bytes:
    """``bset``/``bclr``/``btgl $flags, bit``."""
    return bytes([0xF4, {"bset": 0x31, "bclr": 0x32, "btgl": 0x33}[op], _u(bit, 5, "flag bit")])


def sleep(bit: int) -> bytes:
    return bytes([0xF4, 0x28, _u(bit, 5, "flag bit")])


def cxset(value: int) -> bytes:
    return bytes([0xF4, 0x3C, _u(value, 8, "cxset argument")])


def ret() -> bytes:
    return b"\xf8\x00"


def iret() -> bytes:
    return b"\xf8\x01"


def exit_() -> bytes:
    return b"\xf8\x02"


def trap(n: int) -> bytes:
    return bytes([0xF8, 0x08 | _u(n, 2, "trap number")])


def call(target: int) -> bytes:
    """``call imm16`` (0xf3, v5)."""
    return bytes([0xF3]) + _u(target, 16, "target").to_bytes(2, "little")


def lcall(target: int) -> bytes:
    return bytes([0x7E]) + _u(target, 24, "target").to_bytes(3, "little")


def lbra(target: int) -> bytes:
    return bytes([0x3E]) + _u(target, 24, "target").to_bytes(3, "little")


def jmp_reg(r: int) -> bytes:
    _r(r)
    return bytes([0xF9, r << 4 | 0x4])


def call_reg(r: int) -> bytes:
    _r(r)
    return bytes([0xF9, r << 4 | 0x5])


def bra(cc: str, disp: int) -> bytes:
    """``bra cc``, ``disp`` relative to this instruction (3 bytes for 8 bits, else 4)."""
    wide = not -128 <= disp < 128
    bits = 16 if wide else 8
    return bytes([0xF4 | wide, _CC[cc]]) + _s(disp, bits, "displacement").to_bytes(bits // 8, "little")


def cbra(size: int, r: int, imm: int, disp: int, *, ne: bool = False) -> bytes:
    """The v5 compare-and-branch, short form: ``$r == imm8`` (``ne``: !=), 8-bit displacement."""
    _r(r)
    return bytes([_sz(size) | 0x33, r << 4 | (4 if ne else 0), _u(imm, 8, "immediate"),
                  _s(disp, 8, "displacement")])


class Program:
    """Instructions laid out from ``base``, with labels for branches."""

    def __init__(self, base: int = 0) -> None:
        self.base = base
        self._parts: list[bytes | tuple[int, Callable[[int], bytes]]] = []
        self._labels: dict[str, int] = {}
        self._size = 0

    @property
    def here(self) -> int:
        return self.base + self._size

    def emit(self, *code: bytes) -> Program:
        for c in code:
            self._parts.append(c)
            self._size += len(c)
        return self

    def label(self, name: str) -> Program:
        if name in self._labels:
            raise AsmError(f"label {name!r} defined twice")
        self._labels[name] = self.here
        return self

    def _later(self, length: int, make: Callable[[int], bytes]) -> Program:
        self._parts.append((length, make))
        self._size += length
        return self

    def branch(self, cc: str, label: str, *, wide: bool = False) -> Program:
        """``bra cc label`` (4 bytes with ``wide``, else 3)."""
        at = self.here

        def make(_: int) -> bytes:
            disp = self._target(label) - at
            if not wide:
                return bra(cc, disp)
            return bytes([0xF5, _CC[cc]]) + _s(disp, 16, "displacement").to_bytes(2, "little")

        return self._later(4 if wide else 3, make)

    def call(self, label: str) -> Program:
        return self._later(4, lambda _: lcall(self._target(label)))

    def jump(self, label: str) -> Program:
        return self._later(4, lambda _: lbra(self._target(label)))

    def cbranch(self, size: int, r: int, imm: int, label: str, *, ne: bool = False) -> Program:
        at = self.here
        return self._later(4, lambda _: cbra(size, r, imm, self._target(label) - at, ne=ne))

    def _target(self, label: str) -> int:
        try:
            return self._labels[label]
        except KeyError:
            raise AsmError(f"label {label!r} is not defined") from None

    def assemble(self) -> bytes:
        out = bytearray()
        for part in self._parts:
            if isinstance(part, bytes):
                out += part
            else:
                length, make = part
                code = make(0)
                if len(code) != length:  # pragma: no cover - the makers above keep their lengths
                    raise AsmError(f"internal: {len(code)} bytes where {length} were reserved")
                out += code
        return bytes(out)
