"""The falcon decoder: encodings from envytools' tables, the hand-written assembler against the table decoder,
and properties every byte sequence must keep (never raising, bounded length, no look-ahead)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.falcon_isa import asm
from nova_core.falcon_isa.decode import Crypto, FlagBit, Imm, Mem, Reg, SpecialReg, Target, decode, decode_all
from nova_core.falcon_isa.disasm import format_insn
from nova_core.falcon_isa.opcodes import MAX_LENGTH, SIZED, UNSIZED, Flow


def text(code: bytes, addr: int = 0) -> str:
    insn = decode(code, addr, base=addr)
    assert insn.valid, insn.error
    assert insn.length == len(code)
    return format_insn(insn)


# Encodings written out from envydis/falcon.c (v5/v6 rows) and the envytools docs: byte 0, then byte 1
# (lo nibble / hi nibble), byte 2 ...
@pytest.mark.parametrize(("hexcode", "addr", "want"), [
    ("3ec10000", 0, "lbra 0xc1"),                        # 0x3e: 24-bit absolute branch
    ("7eef0200", 0, "lcall 0x2ef"),
    ("d960030000", 0, "mov $r9 0x360"),                  # 0xd0|r: 32-bit immediate
    ("0918", 0, "mov $r9 0x18"),                         # 0x00|r: sign-extended 8 bits
    ("4f00ff", 0, "mov $r15 0xffffff00"),                # 0x40|r: sign-extended 16 bits
    ("8415953a", 0, "mov $r4 0x3a9515"),                 # 0x80|r: 24 bits
    ("98990b", 0, "ld b32 $r9 D[$r9+0x2c]"),             # 0x18: index scaled by the size
    ("18ef09", 0, "ld b8 $r15 D[$r14+0x9]"),
    ("3ff9", 0, "ld b8 $r9 D[$r15]"),                    # 0x3f (v5)
    ("20f9", 0, "st b8 D[$r15] $r9"),                    # 0x20 (v5)
    ("a1d3", 0, "st b32 D[$sp+$r3*4] $r13"),             # 0x21 (v5)
    ("351902", 0, "st b8 D[$r1+0x2] $r9"),               # 0x35 (v5)
    ("bcf9f8", 0, "ld b32 $r15 D[$r15+$r9*4]"),          # 0x3c sub-opcode 8
    ("920901", 0, "sub b32 $r9 $r0 0x1"),
    ("b09618", 0, "cmp b32 $r9 0x18"),                   # 0x30 sub-opcode 6
    ("a69f", 0, "cmp b32 $r9 $r15"),                     # 0x26 (v5)
    ("f40d05", 0x17, "bra na 0x1c"),                     # displacement from the branch itself
    ("f408f9", 0x24F, "bra c 0x248"),
    ("f50c80fb", 0x6078, "bra a 0x5bf8"),
    ("b3940f2f", 0x14C, "cbra.ne b32 $r9 0xf 0x17b"),    # 0x33 short form
    ("b39001fa", 0x25E, "cbra.e b32 $r9 0x1 0x258"),
    ("3394006c", 0x281, "cbra.ne b8 $r9 0x0 0x2ed"),
    ("c79914", 0, "extr $r9 $r9 0x14"),
    ("e799e202", 0, "extr $r9 $r9 0x2e2"),
    ("f1b50010", 0, "or $r11 0x1000"),
    ("fd9f05", 0, "or $r9 $r15"),
    ("ffa9b4", 0, "and $r11 $r10 $r9"),
    ("cf9900", 0, "iord $r9 I[$r9]"),
    ("fa9f01", 0, "iowrs I[$r9] $r15"),
    ("f6de89", 0, "iowr I[$r13+0x224] $r14"),            # 0xf6 (v5): index scaled by 4
    ("fe9a00", 0, "mov $cauth $r9"),
    ("fec001", 0, "mov $r0 $tstatus"),
    ("f43c02", 0, "cxset 0x2"),
    ("faf906", 0, "xdst $r15 $r9"),
    ("fa9d04", 0, "xcld $r9 $r13"),
    ("f912", 0, "mpush $r1"),
    ("fb11", 0, "mpopret $r1"),
    ("fb854c", 0, "mpopaddret $r8 0x4c"),
    ("f430f4", 0, "add $sp -0xc"),
    ("f99a", 0, "bclr $flags $r9"),
    ("f43210", 0, "bclr $flags ie0"),
    ("f802", 0, "exit"),
    ("f808", 0, "trap 0x0"),
    ("f9c5", 0, "call $r12"),
    ("f3e000", 0, "call 0xe0"),                          # 0xf3 (v5): 16-bit absolute call
    ("b899000100", 0, "add b32 $r9 $r9 0x100"),          # 0x38 (v5): 5 bytes, sub-opcode in byte 4
])
def test_known_encodings(hexcode: str, addr: int, want: str) -> None:
    assert text(bytes.fromhex(hexcode), addr) == want


@pytest.mark.parametrize(("hexcode", "why"), [
    ("16c3f6", "opcode 0x16"),          # sized group 0x16 has no instruction
    ("e24866b8", "opcode 0xe2"),        # unsized 0xe2 is not an instruction
    ("f96e", "sub-opcode 0xe"),         # 0xf9 sub-opcode 0xe
    ("f5214433", "sub-opcode 0x21"),    # f5 call: v0-v4 only (v5 uses 0xf3)
    ("7d5a", "opcode 0x7d"),            # 0x3d sub-opcode 0xa
])
def test_unknown_encodings_are_reported_not_raised(hexcode: str, why: str) -> None:
    insn = decode(bytes.fromhex(hexcode), 0)
    assert not insn.valid and insn.mnemonic is None
    assert insn.error is not None and why in insn.error


def test_truncated_instruction_is_reported() -> None:
    insn = decode(bytes.fromhex("d96003"), 0)  # a 5-byte mov cut to 3
    assert not insn.valid and "runs past the end" in (insn.error or "")
    assert decode(b"", 0).length == 0 and not decode(b"", 0).valid


def test_operand_structure() -> None:
    i = decode(bytes.fromhex("bcf9f8"), 0)
    assert i.operands == (Reg(15), Mem("D", 15, Reg(9), 4)) and i.size == 32
    i = decode(bytes.fromhex("f43210"), 0)
    assert i.operands == (FlagBit(16),)
    i = decode(bytes.fromhex("fe9a00"), 0)
    assert i.operands == (SpecialReg(10), Reg(9))
    i = decode(bytes.fromhex("f40d05"), 0x17, base=0x17)
    assert i.flow is Flow.BRANCH and i.cond == 0x0D and i.target == 0x1C and i.operands == (Target(0x1C),)
    i = decode(bytes.fromhex("0918"), 0)
    assert i.size is None  # the short mov writes all 32 bits: not a sized instruction
    i = decode(bytes.fromhex("f5 3c 12 d0".replace(" ", "")), 0)  # ccmd: cenc $c2 $c1
    assert i.mnemonic == "cenc" and i.operands == (Crypto("cenc", (2, 1)),)


def test_every_group_has_a_length_for_every_byte_0() -> None:
    for op in range(256):
        group = UNSIZED.get(op) if op >= 0xC0 else SIZED.get(op & 0x3F)
        assert group is not None, f"{op:#x}"


@pytest.mark.parametrize(("code", "want"), [
    (asm.mov(3, 5), "mov $r3 0x5"),
    (asm.mov(3, -2), "mov $r3 0xfffffffe"),
    (asm.mov(3, 0x1234), "mov $r3 0x1234"),
    (asm.mov(3, 0x123456), "mov $r3 0x123456"),
    (asm.mov(3, 0x12345678), "mov $r3 0x12345678"),
    (asm.alu_imm8("add", 16, 1, 2, 7), "add b16 $r1 $r2 0x7"),
    (asm.alu_imm("sub", 32, 4, 0x1234), "sub b32 $r4 0x1234"),
    (asm.alu_imm("shl", 8, 4, 3), "shl b8 $r4 0x3"),
    (asm.alu_rr("sbb", 32, 1, 2, 3), "sbb b32 $r1 $r2 $r3"),
    (asm.unary("neg", 16, 1, 2), "neg b16 $r1 $r2"),
    (asm.clear(32, 7), "clear b32 $r7"),
    (asm.setf(8, 7), "setf b8 $r7"),
    (asm.mov_rr(16, 1, 2), "mov b16 $r1 $r2"),
    (asm.cmp("cmps", 32, 1, 2), "cmps b32 $r1 $r2"),
    (asm.cmp_imm("cmpu", 16, 1, 0x300), "cmpu b16 $r1 0x300"),
    (asm.cmp_imm("cmp", 32, 1, -1), "cmp b32 $r1 -0x1"),
    (asm.op3("div", 1, 2, 3), "div $r1 $r2 $r3"),
    (asm.op_imm8("xbit", 1, 2, 31), "xbit $r1 $r2 0x1f"),
    (asm.extr(1, 2, 4, 3), "extr $r1 $r2 0x44"),
    (asm.ld(16, 1, 2, 3), "ld b16 $r1 D[$r2+0x6]"),
    (asm.st(32, 2, 3, 1), "st b32 D[$r2+0xc] $r1"),
    (asm.ld_sp(32, 1, 2), "ld b32 $r1 D[$sp+0x8]"),
    (asm.st_sp(8, 2, 1), "st b8 D[$sp+0x2] $r1"),
    (asm.push(4), "push $r4"), (asm.pop(4), "pop $r4"), (asm.mpush(4), "mpush $r4"),
    (asm.mpop(4), "mpop $r4"), (asm.mpop(4, ret=True), "mpopret $r4"),
    (asm.mpop(4, add=8), "mpopadd $r4 0x8"), (asm.mpop(4, ret=True, add=-8), "mpopaddret $r4 -0x8"),
    (asm.add_sp(-0x100), "add $sp -0x100"),
    (asm.iord(1, 2, 3), "iord $r1 I[$r2+0xc]"),
    (asm.iowr(2, 3, 1, sync=True), "iowrs I[$r2+0xc] $r1"),
    (asm.mov_to_sr(4, 1), "mov $sp $r1"), (asm.mov_from_sr(1, 8), "mov $r1 $flags"),
    (asm.xfer("xdld", 1, 2), "xdld $r1 $r2"),
    (asm.setp(3, 1), "setp p3 $r1"), (asm.flag_op("btgl", 9), "btgl $flags o"),
    (asm.sleep(0), "sleep p0"), (asm.cxset(0x80), "cxset 0x80"),
    (asm.ret(), "ret"), (asm.iret(), "iret"), (asm.exit_(), "exit"), (asm.trap(3), "trap 0x3"),
    (asm.call(0x1234), "call 0x1234"), (asm.lcall(0x12345), "lcall 0x12345"), (asm.lbra(0x40), "lbra 0x40"),
    (asm.jmp_reg(5), "jmp $r5"), (asm.call_reg(5), "call $r5"),
    (asm.bra("ge", 0x30), "bra ge 0x30"), (asm.bra("", 0x300), "bra 0x300"),
    (asm.cbra(16, 2, 9, 4, ne=True), "cbra.ne b16 $r2 0x9 0x4"),
])
def test_assembler_and_decoder_agree(code: bytes, want: str) -> None:
    assert text(code) == want


def test_assembler_refuses_what_does_not_fit() -> None:
    with pytest.raises(asm.AsmError, match="register 16"):
        asm.push(16)
    with pytest.raises(asm.AsmError, match="8 unsigned bits"):
        asm.ld(32, 1, 2, 0x100)
    with pytest.raises(asm.AsmError, match="8-bit immediate only"):
        asm.alu_imm("shr", 32, 1, 0x100)
    with pytest.raises(asm.AsmError, match="not defined"):
        asm.Program().branch("z", "nowhere").assemble()


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=16), st.integers(0, 0xFFFF))
def test_decoding_never_raises_and_stays_inside(data: bytes, addr: int) -> None:
    insn = decode(data, addr, base=addr)
    assert 0 <= insn.length <= MAX_LENGTH
    assert insn.raw == data[:insn.length]
    if insn.valid:
        assert insn.length >= 2 and insn.mnemonic and insn.error is None
        assert format_insn(insn)
    else:
        assert insn.error


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=6, max_size=6), st.binary(min_size=0, max_size=6))
def test_decoding_does_not_look_past_the_instruction(data: bytes, tail: bytes) -> None:
    first = decode(data, 0)
    if first.valid:
        again = decode(first.raw + tail, 0)
        assert again == first


def test_linear_sweep_steps_over_everything() -> None:
    code = asm.mov(1, 2) + b"\x16\x00\x00" + asm.exit_()
    insns = decode_all(code)
    assert [i.mnemonic for i in insns] == ["mov", None, "exit"]
    assert sum(max(i.length, 1) for i in insns) == len(code)


def test_immediates_keep_their_sign_rules() -> None:
    assert decode(asm.cmp_imm("cmps", 32, 1, -5), 0).operands[1] == Imm(-5)
    assert decode(asm.alu_imm8("add", 32, 1, 2, 0xFF), 0).operands[2] == Imm(0xFF)  # add: zero-extended
    assert decode(bytes.fromhex("c112ff"), 0).operands[2] == Imm(-1)  # muls imm8: sign-extended
    assert decode(bytes.fromhex("c012ff"), 0).operands[2] == Imm(0xFF)  # mulu imm8: zero-extended
