"""nova_core.sim.falcon_emu.ops: what each falcon instruction does, as closures.

:func:`compile_insn` turns one decoded :class:`~nova_core.falcon_isa.decode.Insn` into a closure that
performs it on a :class:`~.core.FalconCore` and returns the next ``$pc``. The semantics follow envytools'
pseudocode (``docs/hw/falcon/{arith,branch,data,io,xfer,intr,proc,vm}.rst``): flag updates bit for bit
(c = bit 8, o = 9, s = 10, z = 11), sized operations that leave the destination's upper bits alone, the
unaligned-store penalty, division by zero, the trap sequence.

Where envytools is silent, the emulator makes a choice and says so here:

- the v5 compare-and-branch (``cbra``, envytools: "not verified yet") compares the register's low
  ``size`` bits with the zero-extended immediate and leaves $flags alone;
- ``mpush $rN`` pushes $r0..$rN (``$r0`` first), ``mpop $rN`` pops them back ($rN first); ``mpopadd``
  adds to $sp *before* popping (the prologue of NVIDIA's falcon code is ``mpush`` then ``add $sp, -n``;
  the epilogue undoes it in reverse order);
- ``iords`` reads like ``iord`` (envytools names the variant, not its difference);
- ``iret`` also clears $flags.ta, leaving the trap handler (envytools does not say what clears it);
- ``cxset`` routes the next data transfer to the crypto unit (16 bytes: DMEM to the crypto stream for
  ``xdst``, the stream to DMEM for ``xdld``); no external memory is touched;
- the crypto operations that need the AES unit or a hardware secret (``csecret``, ``ckeyreg``, ``cenc``,
  ``cdec``, ``ckexp``, ``ckrexp``, ``crnd``, the scripts and the signature commands) are not modelled: they
  stop the falcon with :attr:`~.stop.StopReason.UNIMPLEMENTED`, naming the instruction.
"""

from __future__ import annotations

from collections.abc import Callable

from ...falcon_isa.decode import Crypto, FlagBit, Imm, Insn, Mem, Reg, SpecialReg
from ...falcon_isa.opcodes import PAGE, SR_FLAGS, SR_PC, SR_SP, Form
from .core import FLAG_IE0, FLAG_IE1, FLAG_IE2, FLAG_IS0, FLAG_IS1, FLAG_IS2, FalconCore, Op
from .stop import Stop, StopReason

_U32 = 0xFFFFFFFF
_NOT_COSZ = _U32 & ~0xF00
_C, _O, _S, _Z = 0x100, 0x200, 0x400, 0x800
_NOT_CZ = _U32 & ~(_C | _Z)
_NOT_OSZ = _U32 & ~(_O | _S | _Z)
_NOT_SZ = _U32 & ~(_S | _Z)


def _idx(core: FalconCore, op: object) -> int:
    """The R slot of a register or immediate operand."""
    if isinstance(op, Reg):
        return op.n
    if isinstance(op, Imm):
        return core.const(op.value)
    raise AssertionError(op)  # pragma: no cover - forms are checked by the callers


def _size(insn: Insn) -> tuple[int, int, int, int]:
    """(size, value mask, sign bit, mask of the bits a sized result leaves alone)."""
    sz = insn.size or 32
    m = (1 << sz) - 1
    return sz, m, 1 << (sz - 1), _U32 & ~m


def _dst_a_b(core: FalconCore, insn: Insn) -> tuple[int, int, int]:
    """Destination, first and second source of a two-source instruction in any of its forms."""
    ops = insn.operands
    if len(ops) == 3:
        return _idx(core, ops[0]), _idx(core, ops[1]), _idx(core, ops[2])
    d = _idx(core, ops[0])  # hi, hi, lo|imm: the destination is also the first source
    return d, d, _idx(core, ops[1])


def _unimplemented(core: FalconCore, insn: Insn, why: str) -> Op:
    pc = insn.addr

    def f() -> int:
        raise Stop(StopReason.UNIMPLEMENTED, f"{insn.mnemonic} ({insn.raw.hex()}): {why}", pc)

    return f


# -- sized arithmetic ---------------------------------------------------------------------------------------


def _arith(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    sz, M, SB, KEEP = _size(insn)
    d, a, b = _dst_a_b(core, insn)
    nxt = insn.next_addr
    mn = insn.mnemonic
    if mn in ("add", "adc"):
        cin = mn == "adc"

        def add() -> int:
            x = R[a] & M
            y = R[b] & M
            r = x + y + ((S[8] >> 8) & 1 if cin else 0)
            res = r & M
            f = (S[8] & _NOT_COSZ) | ((r >> sz) & 1) << 8
            if (x ^ res) & (y ^ res) & SB:
                f |= _O
            if res & SB:
                f |= _S
            if not res:
                f |= _Z
            S[8] = f
            R[d] = (R[d] & KEEP) | res
            return nxt

        return add
    bin_ = mn == "sbb"

    def sub() -> int:
        x = R[a] & M
        y = R[b] & M
        r = x - y - ((S[8] >> 8) & 1 if bin_ else 0)
        res = r & M
        f = S[8] & _NOT_COSZ
        if r < 0:
            f |= _C
        if (x ^ y) & (x ^ res) & SB:
            f |= _O
        if res & SB:
            f |= _S
        if not res:
            f |= _Z
        S[8] = f
        R[d] = (R[d] & KEEP) | res
        return nxt

    return sub


def _add32_fast(core: FalconCore, insn: Insn) -> Op | None:
    """The commonest loop forms at 32 bits, without the size masks (same result as :func:`_arith`)."""
    if insn.size != 32 or insn.mnemonic not in ("add", "sub"):
        return None
    R, S = core.R, core.S
    d, a, b = _dst_a_b(core, insn)
    nxt = insn.next_addr
    if insn.mnemonic == "add":
        def add32() -> int:
            x = R[a]
            y = R[b]
            r = x + y
            res = r & 0xFFFFFFFF
            f = (S[8] & _NOT_COSZ) | (r >> 32) << 8 | ((x ^ res) & (y ^ res)) >> 31 << 9 | res >> 31 << 10
            S[8] = f | _Z if not res else f
            R[d] = res
            return nxt

        return add32

    def sub32() -> int:
        x = R[a]
        y = R[b]
        res = (x - y) & 0xFFFFFFFF
        f = (S[8] & _NOT_COSZ) | (x < y) << 8 | ((x ^ y) & (x ^ res)) >> 31 << 9 | res >> 31 << 10
        S[8] = f | _Z if not res else f
        R[d] = res
        return nxt

    return sub32


def _shift(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    sz, M, SB, KEEP = _size(insn)
    d, a, b = _dst_a_b(core, insn)
    nxt = insn.next_addr
    cmask = sz - 1  # 7, 15, 31
    mn = insn.mnemonic
    left = mn in ("shl", "shlc")
    cin = mn in ("shlc", "shrc")
    arith = mn == "sar"

    def shift() -> int:
        x = R[a] & M
        n = R[b] & cmask
        f = S[8] & _NOT_COSZ
        if left:
            res = (x << n) & M
            if n:
                if cin:
                    res |= ((S[8] >> 8) & 1) << (n - 1)
                if (x >> (sz - n)) & 1:
                    f |= _C
        else:
            res = x >> n
            if n:
                if cin:
                    res |= ((S[8] >> 8) & 1) << (sz - n)
                if arith and x & SB:
                    res |= (M << (sz - n)) & M
                if (x >> (n - 1)) & 1:
                    f |= _C
        if res & SB:
            f |= _S
        if not res:
            f |= _Z
        S[8] = f
        R[d] = (R[d] & KEEP) | res
        return nxt

    return shift


def _compare(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    _, M, SB, _ = _size(insn)
    a, b = _idx(core, insn.operands[0]), _idx(core, insn.operands[1])
    nxt = insn.next_addr
    mn = insn.mnemonic

    if mn == "cmp" and M == _U32:
        def cmp32() -> int:
            x = R[a]
            y = R[b]
            res = (x - y) & 0xFFFFFFFF
            f = (S[8] & _NOT_COSZ) | (x < y) << 8 | ((x ^ y) & (x ^ res)) >> 31 << 9 | res >> 31 << 10
            S[8] = f | _Z if not res else f
            return nxt

        return cmp32
    if mn == "cmp":
        def cmp() -> int:
            x = R[a] & M
            y = R[b] & M
            res = (x - y) & M
            f = S[8] & _NOT_COSZ
            if x < y:
                f |= _C
            if (x ^ y) & (x ^ res) & SB:
                f |= _O
            if res & SB:
                f |= _S
            if not res:
                f |= _Z
            S[8] = f
            return nxt

        return cmp
    if mn == "cmpu":
        def cmpu() -> int:
            x = R[a] & M
            y = R[b] & M
            f = S[8] & _NOT_CZ
            if x < y:
                f |= _C
            if x == y:
                f |= _Z
            S[8] = f
            return nxt

        return cmpu

    def cmps() -> int:  # c = signed less-than, z = equal (envytools: O(...) ^ S(diff))
        x = R[a] & M
        y = R[b] & M
        sx = x - (M + 1) if x & SB else x
        sy = y - (M + 1) if y & SB else y
        f = S[8] & _NOT_CZ
        if sx < sy:
            f |= _C
        if x == y:
            f |= _Z
        S[8] = f
        return nxt

    return cmps


def _unary(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    sz, M, SB, KEEP = _size(insn)
    ops = insn.operands
    d = _idx(core, ops[0])
    s = _idx(core, ops[1]) if len(ops) > 1 else d
    nxt = insn.next_addr
    mn = insn.mnemonic
    half = sz // 2

    if mn == "clear":
        def clear() -> int:
            R[d] &= KEEP
            return nxt

        return clear
    if mn == "mov":  # 0x3d sub-opcode 2: a register moved onto itself
        return lambda: nxt

    def unary() -> int:
        x = R[s] & M
        f = S[8] & _NOT_OSZ
        if mn == "not":
            res = ~x & M
        elif mn == "neg":
            res = -x & M
            if res == SB:
                f |= _O
        elif mn == "hswap":
            res = ((x >> half) | (x << half)) & M
        else:  # setf: flags only
            res = x
        if res & SB:
            f |= _S
        if not res:
            f |= _Z
        S[8] = f
        if mn != "setf":
            R[d] = (R[d] & KEEP) | res
        return nxt

    return unary


def _mov(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    f = insn.entry.form if insn.entry else None
    nxt = insn.next_addr
    ops = insn.operands
    if f in (Form.R0_SIMM, Form.R0_IMM32):
        d, v = _idx(core, ops[0]), ops[1].value & _U32  # type: ignore[union-attr]

        def movi() -> int:
            R[d] = v
            return nxt

        return movi
    if f is Form.LO_HI:
        _, M, _, KEEP = _size(insn)
        d, s = _idx(core, ops[0]), _idx(core, ops[1])
        if M == _U32:
            def mov32() -> int:
                R[d] = R[s]
                return nxt

            return mov32

        def movs() -> int:
            R[d] = (R[d] & KEEP) | (R[s] & M)
            return nxt

        return movs
    if f is Form.SR_LO_HI:
        sr = ops[0]
        src = _idx(core, ops[1])
        assert isinstance(sr, SpecialReg)
        n = sr.n
        if n == SR_PC:
            return _unimplemented(core, insn, "a write to $pc (read-only)")
        spm = core.sp_mask

        def to_sr() -> int:
            S[n] = R[src] & spm if n == SR_SP else R[src]
            return nxt

        return to_sr
    if f is Form.LO_SR_HI:
        d = _idx(core, ops[0])
        sr = ops[1]
        assert isinstance(sr, SpecialReg)
        n = sr.n
        if n == SR_PC:
            here = insn.addr

            def from_pc() -> int:
                R[d] = here
                return nxt

            return from_pc

        def from_sr() -> int:
            R[d] = S[n] & _U32
            return nxt

        return from_sr
    return _unary(core, insn)


# -- unsized arithmetic and logic ---------------------------------------------------------------------------


def _logic(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    d, a, b = _dst_a_b(core, insn)
    nxt = insn.next_addr
    mn = insn.mnemonic

    def logic() -> int:
        x, y = R[a], R[b]
        res = x & y if mn == "and" else (x | y if mn == "or" else x ^ y)
        f = (S[8] & _NOT_COSZ) | res >> 31 << 10
        S[8] = f | _Z if not res else f
        R[d] = res
        return nxt

    return logic


def _unsized(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    nxt = insn.next_addr
    mn = insn.mnemonic
    f = insn.entry.form if insn.entry else None
    ops = insn.operands
    if mn == "sethi":
        d, v = _idx(core, ops[0]), ops[1].value & _U32  # type: ignore[union-attr]

        def sethi() -> int:
            R[d] = (R[d] & 0xFFFF) | v
            return nxt

        return sethi
    if mn == "xbit" and f in (Form.HI_FLAGS_IMM, Form.LO_FLAGS_HI):
        d, b = _idx(core, ops[0]), _idx(core, ops[1])

        def xbit_flags() -> int:
            res = (S[8] >> (R[b] & 31)) & 1
            S[8] = (S[8] & _NOT_SZ) | (0 if res else _Z)
            R[d] = res
            return nxt

        return xbit_flags
    d, a, b = _dst_a_b(core, insn)

    if mn == "mulu":
        def mulu() -> int:
            R[d] = (R[a] & 0xFFFF) * (R[b] & 0xFFFF)
            return nxt

        return mulu
    if mn == "muls":
        def muls() -> int:
            x, y = R[a] & 0xFFFF, R[b] & 0xFFFF
            x -= (x & 0x8000) << 1
            y -= (y & 0x8000) << 1
            R[d] = (x * y) & _U32
            return nxt

        return muls
    if mn in ("div", "mod"):
        want_mod = mn == "mod"

        def divmod_() -> int:
            x, y = R[a], R[b]
            q = 0xFFFFFFFF if y == 0 else x // y
            R[d] = (x - q * y) & _U32 if want_mod else q
            return nxt

        return divmod_
    if mn in ("bset", "bclr", "btgl"):
        op = mn

        def bit() -> int:
            m = 1 << (R[b] & 31)
            v = R[d]
            R[d] = v | m if op == "bset" else (v & ~m & _U32 if op == "bclr" else v ^ m)
            return nxt

        return bit

    def other() -> int:
        x, y = R[a], R[b]
        fl = S[8] & _NOT_SZ
        if mn == "sext":
            bitn = y & 31
            low = x & ((1 << bitn) - 1)
            res = (low | (_U32 & -(1 << bitn))) if (x >> bitn) & 1 else low
        elif mn in ("extr", "extrs"):
            low, sm1 = y & 31, (y >> 5) & 31
            res = (x >> low) & ((2 << sm1) - 1)
            fill = mn == "extrs" and (x >> ((low + sm1) & 31)) & 1
            if fill:
                res = (res | -(2 << sm1)) & _U32
                fl |= _S
            if not res:
                fl |= _Z
            S[8] = fl
            R[d] = res
            return nxt
        elif mn == "ins":
            low, size = y & 31, ((y >> 5) & 31) + 1
            if low + size <= 32:
                m = ((1 << size) - 1) << low
                R[d] = (R[d] & ~m & _U32) | ((x << low) & m)
            return nxt
        else:  # xbit
            res = (x >> (y & 31)) & 1
            S[8] = fl | (0 if res else _Z)
            R[d] = res
            return nxt
        if res >> 31:
            fl |= _S
        if not res:
            fl |= _Z
        S[8] = fl
        R[d] = res
        return nxt

    return other


# -- $flags bits --------------------------------------------------------------------------------------------


def _flagbit(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    nxt = insn.next_addr
    mn = insn.mnemonic
    op0 = insn.operands[0]
    if mn == "setp":
        if isinstance(op0, FlagBit):
            bit_const, v = op0.bit, _idx(core, insn.operands[1])

            def setp_i() -> int:
                S[8] = (S[8] & ~(1 << bit_const) & _U32) | (R[v] & 1) << bit_const
                return nxt

            return setp_i
        bi, v = _idx(core, op0), _idx(core, insn.operands[1])

        def setp_r() -> int:
            bit = R[bi] & 31
            S[8] = (S[8] & ~(1 << bit) & _U32) | (R[v] & 1) << bit
            return nxt

        return setp_r
    if isinstance(op0, FlagBit):
        bi = core.const(op0.bit)
    else:
        bi = _idx(core, op0)

    def flags() -> int:
        m = 1 << (R[bi] & 31)
        v = S[8]
        S[8] = v | m if mn == "bset" else (v & ~m & _U32 if mn == "bclr" else v ^ m)
        return nxt

    return flags


# -- data memory --------------------------------------------------------------------------------------------


def _address(core: FalconCore, mem: Mem) -> Callable[[], int]:
    R, S = core.R, core.S
    base, idx, scale = mem.base, mem.index, mem.scale
    B, bi = (S, SR_SP) if base == "sp" else (R, int(base))
    if idx is None:
        return lambda: B[bi]
    if isinstance(idx, Imm):
        off = idx.value * scale
        return lambda: (B[bi] + off) & _U32
    ri = idx.n
    return lambda: (B[bi] + R[ri] * scale) & _U32


def _data_operands(core: FalconCore, mem: object, reg: object) -> tuple[int, Callable[[], int], int, int | None]:
    """(register slot, address closure, base register, constant offset) of a load or store; the constant
    offset is ``None`` unless the address is a register plus a constant (the fast forms)."""
    assert isinstance(mem, Mem)
    fast = isinstance(mem.base, int) and not isinstance(mem.index, Reg)
    off = (mem.index.value * mem.scale if isinstance(mem.index, Imm) else 0) if fast else None
    return _idx(core, reg), _address(core, mem), mem.base if isinstance(mem.base, int) else -1, off


def _load(core: FalconCore, insn: Insn) -> Op:
    R = core.R
    sz, _, _, KEEP = _size(insn)
    d, addr, bi, off = _data_operands(core, insn.operands[1], insn.operands[0])
    D, W = core.dmem, core.dmem_words
    size = len(D)
    nxt, pc = insn.next_addr, insn.addr
    fault = core.dmem_fault
    if sz == 32 and off is not None:
        const = off

        def ld32_ri() -> int:
            a = (R[bi] + const) & 0xFFFFFFFC
            if a + 4 > size:
                raise fault(a, 4, pc)
            R[d] = W[a >> 2]
            return nxt

        return ld32_ri
    if sz == 32:
        def ld32() -> int:
            a = addr() & 0xFFFFFFFC
            if a + 4 > size:
                raise fault(a, 4, pc)
            R[d] = W[a >> 2]
            return nxt

        return ld32
    if sz == 16:
        def ld16() -> int:
            a = addr() & 0xFFFFFFFE
            if a + 2 > size:
                raise fault(a, 2, pc)
            R[d] = (R[d] & KEEP) | D[a] | D[a + 1] << 8
            return nxt

        return ld16

    def ld8() -> int:
        a = addr()
        if a >= size:
            raise fault(a, 1, pc)
        R[d] = (R[d] & KEEP) | D[a]
        return nxt

    return ld8


def _store(core: FalconCore, insn: Insn) -> Op:
    R = core.R
    sz = _size(insn)[0]
    s, addr, bi, off = _data_operands(core, insn.operands[0], insn.operands[1])
    D, W = core.dmem, core.dmem_words
    size = len(D)
    nxt, pc = insn.next_addr, insn.addr
    fault = core.dmem_fault
    if sz == 32 and off is not None:
        const = off

        def st32_ri() -> int:
            a = (R[bi] + const) & 0xFFFFFFFF
            if a & 3:
                return st32()
            if a + 4 > size:
                raise fault(a, 4, pc)
            W[a >> 2] = R[s]
            return nxt

    if sz == 32:
        def st32() -> int:
            a = addr()
            v = R[s]
            if a & 3:  # the documented penalty for an unaligned store
                v = ((v & 0xFF) if a & 1 else (v & 0xFFFF)) << ((a & 3) * 8) & _U32
                a &= 0xFFFFFFFC
            if a + 4 > size:
                raise fault(a, 4, pc)
            W[a >> 2] = v
            return nxt

        return st32_ri if off is not None else st32
    if sz == 16:
        def st16() -> int:
            a = addr()
            v = R[s] & 0xFFFF
            if a & 1:
                v = ((v & 0xFF) << 8) & 0xFFFF
                a &= 0xFFFFFFFE
            if a + 2 > size:
                raise fault(a, 2, pc)
            D[a] = v & 0xFF
            D[a + 1] = v >> 8
            return nxt

        return st16

    def st8() -> int:
        a = addr()
        if a >= size:
            raise fault(a, 1, pc)
        D[a] = R[s] & 0xFF
        return nxt

    return st8


def _stack(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    mn = insn.mnemonic
    nxt, pc = insn.next_addr, insn.addr
    spm = core.sp_mask
    push, pop = core.push, core.pop
    ops = insn.operands
    if mn == "add":  # $sp += imm or register
        v = _idx(core, ops[0])

        def add_sp() -> int:
            S[SR_SP] = (S[SR_SP] + R[v]) & spm
            return nxt

        return add_sp
    n = _idx(core, ops[0])
    if mn == "push":
        def push1() -> int:
            push(R[n], pc)
            return nxt

        return push1
    if mn == "pop":
        def pop1() -> int:
            R[n] = pop(pc)
            return nxt

        return pop1
    if mn == "mpush":
        def mpush() -> int:
            for i in range(n + 1):
                push(R[i], pc)
            return nxt

        return mpush
    adjust = ops[1].value if len(ops) > 1 else 0  # type: ignore[union-attr]
    ret = (mn or "").endswith("ret")

    def mpop() -> int:
        if adjust:
            S[SR_SP] = (S[SR_SP] + adjust) & spm
        for i in range(n, -1, -1):
            R[i] = pop(pc)
        return pop(pc) if ret else nxt

    return mpop


# -- control flow -------------------------------------------------------------------------------------------


def _cond(cc: int) -> Callable[[int], bool]:
    if cc < 0x08:
        return lambda f: bool(f >> cc & 1)
    if 0x10 <= cc < 0x18:
        return lambda f: not f >> (cc - 0x10) & 1
    c = {0x08: lambda f: bool(f & _C), 0x09: lambda f: bool(f & _O), 0x0A: lambda f: bool(f & _S),
         0x0B: lambda f: bool(f & _Z), 0x0C: lambda f: not f & (_C | _Z), 0x0D: lambda f: bool(f & (_C | _Z)),
         0x0E: lambda f: True, 0x18: lambda f: not f & _C, 0x19: lambda f: not f & _O, 0x1A: lambda f: not f & _S,
         0x1B: lambda f: not f & _Z, 0x1C: lambda f: not ((f >> 9 ^ f >> 10) & 1) and not f & _Z,
         0x1D: lambda f: bool((f >> 9 ^ f >> 10) & 1) or bool(f & _Z), 0x1E: lambda f: bool((f >> 9 ^ f >> 10) & 1),
         0x1F: lambda f: not (f >> 9 ^ f >> 10) & 1}
    return c[cc]


def _branch(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    mn = insn.mnemonic or ""
    nxt, pc = insn.next_addr, insn.addr
    tgt = insn.target
    push, pop = core.push, core.pop
    if mn == "bra" and insn.cond is not None:
        cc = insn.cond
        assert tgt is not None
        if cc == 0x0E:
            return lambda: tgt
        bit = {0x08: _C, 0x09: _O, 0x0A: _S, 0x0B: _Z, **{p: 1 << p for p in range(8)}}.get(cc)
        if bit is not None:
            def bra_set() -> int:
                return tgt if S[8] & bit else nxt

            return bra_set
        nbit = {0x18: _C, 0x19: _O, 0x1A: _S, 0x1B: _Z, **{0x10 + p: 1 << p for p in range(8)}}.get(cc)
        if nbit is not None:
            def bra_clear() -> int:
                return nxt if S[8] & nbit else tgt

            return bra_clear
        test = _cond(cc)
        return lambda: tgt if test(S[8]) else nxt
    if mn.startswith("cbra"):
        reg_op, imm_op, _ = insn.operands
        _, M, _, _ = _size(insn)
        r = _idx(core, reg_op)
        v = imm_op.value & M  # type: ignore[union-attr]
        assert tgt is not None
        if insn.cond == 0:
            return lambda: tgt if R[r] & M == v else nxt
        return lambda: nxt if R[r] & M == v else tgt
    if mn in ("jmp", "lbra", "bra"):
        if tgt is not None:
            return lambda: tgt
        ri = _idx(core, insn.operands[0])
        return lambda: R[ri] & _U32
    if mn in ("call", "lcall"):
        if tgt is not None:
            def call() -> int:
                push(nxt, pc)
                return tgt

            return call
        ri = _idx(core, insn.operands[0])

        def call_r() -> int:
            push(nxt, pc)
            return R[ri] & _U32

        return call_r
    if mn == "ret":
        return lambda: pop(pc)
    if mn == "iret":
        def iret() -> int:
            to = pop(pc)
            f = S[SR_FLAGS]
            for ie, is_ in ((FLAG_IE0, FLAG_IS0), (FLAG_IE1, FLAG_IS1), (FLAG_IE2, FLAG_IS2)):
                f = (f & ~(1 << ie)) | ((f >> is_ & 1) << ie)
            S[SR_FLAGS] = f & ~(1 << 24) & _U32  # leaving a trap handler: ta cleared
            return to

        return iret
    if mn == "exit":
        def exit_() -> int:
            raise core.halt_pc(pc)

        return exit_
    if mn == "trap":
        n = insn.operands[0].value  # type: ignore[union-attr]
        return lambda: core.trap(n, pc, nxt)
    return _unimplemented(core, insn, "no semantics for this control-flow form")  # pragma: no cover


# -- I/O, transfers, TLB, crypto --------------------------------------------------------------------------


def _io(core: FalconCore, insn: Insn) -> Op:
    R = core.R
    io = core.io
    stats = core.stats
    nxt, pc = insn.next_addr, insn.addr
    if insn.mnemonic in ("iord", "iords"):
        d_op, mem = insn.operands
        assert isinstance(mem, Mem)
        d = _idx(core, d_op)
        addr = _address(core, mem)

        def iord() -> int:
            stats.io_reads += 1
            R[d] = io.io_read(addr(), pc) & _U32
            return nxt

        return iord
    mem, s_op = insn.operands
    assert isinstance(mem, Mem)
    s = _idx(core, s_op)
    addr = _address(core, mem)

    def iowr() -> int:
        stats.io_writes += 1
        io.io_write(addr(), R[s], pc)
        return nxt

    return iowr


def _xfer(core: FalconCore, insn: Insn) -> Op:
    R, S = core.R, core.S
    mn = insn.mnemonic
    ext_op, loc_op = insn.operands
    e, loc = _idx(core, ext_op), _idx(core, loc_op)
    nxt, pc = insn.next_addr, insn.addr

    def xfer() -> int:
        core.stats.xfers += 1
        ext_off, local = R[e], R[loc]
        if mn == "xcld":
            port = S[11] & 7
            ext = (S[6] << 8) + (S[14] << 40) + ext_off
            phys = (local & 0xFFFF) >> 8
            if phys >= len(core.blocks):
                raise Stop(StopReason.DMA_FAULT, f"xcld to IMEM {local & 0xffff:#x}: past the {len(core.imem):#x}-byte "
                                                 f"IMEM", pc)
            data = core.xfer.xfer_read(port, ext, PAGE, pc)  # a misaligned address is refused there
            core.load_code_block(phys, data, (ext_off >> 8) & 0xFFFF, bool(S[10] >> 16 & 1))
            return nxt
        n = 4 << ((local >> 16) & 7)
        la = local & 0xFFFF
        if (local >> 16) & 7 > 6:
            raise Stop(StopReason.DMA_FAULT, f"{mn}: size code {(local >> 16) & 7} is not a transfer size (0-6)", pc)
        if core.crypto_xfers:
            core.crypto_xfers -= 1
            if la + 16 > len(core.dmem):
                raise core.dmem_fault(la, 16, pc)
            if mn == "xdst":
                core.crypto_stream.append(bytes(core.dmem[la:la + 16]))
            else:
                chunk = core.crypto_stream.pop(0) if core.crypto_stream else bytes(16)
                core.dmem[la:la + 16] = chunk
            return nxt
        if la % n or la + n > len(core.dmem):
            raise Stop(StopReason.DMA_FAULT, f"{mn}: DMEM [{la:#x}, +{n:#x}) is misaligned or past the "
                                             f"{len(core.dmem):#x}-byte DMEM", pc)
        if mn == "xdld":
            port = (S[11] >> 8) & 7
            ext = (S[7] << 8) + (S[15] << 40) + ext_off
            core.dmem[la:la + n] = core.xfer.xfer_read(port, ext, n, pc)
        else:
            port = (S[11] >> 12) & 7
            ext = (S[7] << 8) + (S[15] << 40) + ext_off
            core.xfer.xfer_write(port, ext, bytes(core.dmem[la:la + n]), pc)
        return nxt

    return xfer


def _tlb(core: FalconCore, insn: Insn) -> Op:
    R = core.R
    mn = insn.mnemonic
    nxt = insn.next_addr
    if mn == "itlb":
        s = _idx(core, insn.operands[0])

        def itlb() -> int:
            i = R[s] & 0xFFFFFF
            if i < len(core.blocks) and not core.blocks[i].secure:
                b = core.blocks[i]
                b.valid, b.tag = False, 0
                core.invalidate()
            return nxt

        return itlb
    d, s = _idx(core, insn.operands[0]), _idx(core, insn.operands[1])
    if mn == "ptlb":
        def ptlb() -> int:
            i = R[s] & 0xFFFFFF
            b = core.blocks[i] if i < len(core.blocks) else None
            R[d] = 0 if b is None else ((b.valid | b.secure << 2) << 24 | (b.tag & 0xFFFF) << 8)
            return nxt

        return ptlb

    def vtlb() -> int:
        page = (R[s] & 0xFFFFFF) >> 8
        hits = [i for i, b in enumerate(core.blocks) if b.valid and b.tag == page]
        flags = 0
        for i in hits:
            flags |= core.blocks[i].valid | core.blocks[i].secure << 2
        res = (hits[-1] if hits else 0) | flags << 24
        if not hits:
            res |= 0x80000000
        elif len(hits) > 1:
            res |= 0x40000000
        R[d] = res
        return nxt

    return vtlb


_CRYPTO_PURE = {"cmov", "cxor", "cand", "crev", "cadd", "cgfmul", "cxsin", "cxsout"}


def _crypto(core: FalconCore, insn: Insn) -> Op:
    nxt = insn.next_addr
    mn = insn.mnemonic or ""
    if mn == "cxset":
        def cxset() -> int:
            core.crypto_xfers = 1
            return nxt

        return cxset
    op = insn.operands[0]
    if not isinstance(op, Crypto) or op.via_reg is not None or mn not in _CRYPTO_PURE:
        return _unimplemented(core, insn, "a crypto-unit operation the emulator does not model (the AES unit, "
                                          "hardware secrets, crypto scripts and code signatures are not simulated)")
    args = op.args
    C = core.crypto

    def crypto() -> int:
        if mn == "cxsin":
            C[args[0]] = core.crypto_stream.pop(0) if core.crypto_stream else bytes(16)
        elif mn == "cxsout":
            core.crypto_stream.append(C[args[0]])
        elif mn == "cmov":
            C[args[0]] = C[args[1]]
        elif mn in ("cxor", "cand"):
            x, y = int.from_bytes(C[args[0]], "little"), int.from_bytes(C[args[1]], "little")
            C[args[0]] = (x ^ y if mn == "cxor" else x & y).to_bytes(16, "little")
        elif mn == "crev":
            C[args[0]] = C[args[1]][::-1]
        elif mn == "cadd":  # add an immediate to the low 64 bits, modulo 2**64 (envydis)
            v = C[args[0]]
            lo = (int.from_bytes(v[:8], "little") + args[1]) & (2 ** 64 - 1)
            C[args[0]] = lo.to_bytes(8, "little") + v[8:]
        else:  # cgfmul: shift left by one; a carry out of bit 127 xors in 0x87 (envydis)
            x = int.from_bytes(C[args[1]], "little") << 1
            if x >> 128:
                x = (x ^ 0x87) & (2 ** 128 - 1)
            C[args[0]] = x.to_bytes(16, "little")
        return nxt

    return crypto


def _sleep(core: FalconCore, insn: Insn) -> Op:
    S = core.S
    bit = insn.operands[0].bit  # type: ignore[union-attr]
    nxt, pc = insn.next_addr, insn.addr

    def sleep() -> int:
        if S[SR_FLAGS] >> bit & 1:
            raise Stop(StopReason.SLEEP, f"sleep on $flags bit {bit}: no interrupt source is simulated, the falcon "
                                         f"would never wake", pc)
        return nxt

    return sleep


def _nop(core: FalconCore, insn: Insn) -> Op:
    nxt = insn.next_addr
    return lambda: nxt


_BUILDERS: dict[str, Callable[[FalconCore, Insn], Op]] = {
    **dict.fromkeys(("add", "adc", "sub", "sbb"), _arith),
    **dict.fromkeys(("shl", "shr", "sar", "shlc", "shrc"), _shift),
    **dict.fromkeys(("cmp", "cmpu", "cmps"), _compare),
    **dict.fromkeys(("not", "neg", "hswap", "clear", "setf"), _unary),
    "mov": _mov,
    **dict.fromkeys(("and", "or", "xor"), _logic),
    **dict.fromkeys(("mulu", "muls", "sext", "extr", "extrs", "ins", "xbit", "div", "mod", "sethi", "bset", "bclr",
                     "btgl"), _unsized),
    "ld": _load, "st": _store,
    **dict.fromkeys(("push", "pop", "mpush", "mpop", "mpopret", "mpopadd", "mpopaddret"), _stack),
    **dict.fromkeys(("bra", "jmp", "call", "lbra", "lcall", "ret", "iret", "exit", "trap", "cbra.e", "cbra.ne"),
                    _branch),
    **dict.fromkeys(("iord", "iords", "iowr", "iowrs"), _io),
    **dict.fromkeys(("xcld", "xdld", "xdst"), _xfer),
    **dict.fromkeys(("xdwait", "xcwait", "xdfence"), _nop),
    **dict.fromkeys(("itlb", "ptlb", "vtlb"), _tlb),
    "sleep": _sleep,
}


def compile_insn(core: FalconCore, insn: Insn) -> Op:
    """The closure performing ``insn`` (one that stops the falcon where the semantics are not modelled)."""
    mn = insn.mnemonic or ""
    form = insn.entry.form if insn.entry else None
    if mn in ("bset", "bclr", "btgl", "setp") and form in (Form.FLAG_B2, Form.FLAGS_HI, Form.FLAG_B2_HI,
                                                           Form.FLAG_LO_HI):
        return _flagbit(core, insn)
    if mn == "add" and form in (Form.SP_SIMM, Form.SP_HI):
        return _stack(core, insn)
    if mn in ("call", "jmp", "bra") and form in (Form.HI,):
        return _branch(core, insn)
    if any(isinstance(o, Crypto) for o in insn.operands) or mn == "cxset":
        return _crypto(core, insn)
    fast = _add32_fast(core, insn)
    if fast is not None:
        return fast
    builder = _BUILDERS.get(mn)
    if builder is None:
        note = insn.entry.note if insn.entry else ""
        return _unimplemented(core, insn, note or "no semantics known")
    return builder(core, insn)
