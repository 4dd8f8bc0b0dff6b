"""The emulated falcon processor: instruction semantics against envytools' pseudocode, and every fault stopping
the falcon with its reason - never the host."""

from __future__ import annotations

import pytest
from emu_helpers import DMEM, make_core, run
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.falcon_isa import asm
from nova_core.sim.falcon_emu.stop import StopReason

C, O, S, Z = 1 << 8, 1 << 9, 1 << 10, 1 << 11  # noqa: E741 - the flags' names


# -- envytools' pseudocode, transcribed as the reference (docs/hw/falcon/arith.rst) -------------------------


def ref_c(a: bool, b: bool, c: bool) -> bool:
    return (a and b) or ((a or b) and not c)


def ref_o(a: bool, b: bool, c: bool) -> bool:
    return a == b and a != c


def sign(x: int, sz: int) -> bool:
    return bool(x >> (sz - 1) & 1)


def ref_arith(op: str, a: int, b: int, cin: int, sz: int) -> tuple[int, int]:
    m = (1 << sz) - 1
    a, b = a & m, b & m
    res = {"add": a + b, "adc": a + b + cin, "sub": a - b, "sbb": a - b - cin}[op] & m
    if op in ("add", "adc"):
        c, o = ref_c(sign(a, sz), sign(b, sz), sign(res, sz)), ref_o(sign(a, sz), sign(b, sz), sign(res, sz))
    else:
        c = not ref_c(sign(a, sz), not sign(b, sz), sign(res, sz))
        o = ref_o(sign(a, sz), not sign(b, sz), sign(res, sz))
    return res, C * c | O * o | S * sign(res, sz) | Z * (res == 0)


SIZES = st.sampled_from([8, 16, 32])
U32 = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["add", "adc", "sub", "sbb"]), U32, U32, st.booleans(), SIZES)
def test_add_sub_match_the_pseudocode(op: str, a: int, b: int, carry: bool, sz: int) -> None:
    code = (asm.mov(1, a) + asm.mov(2, b) + asm.mov(3, 0x5A5A5A5A) + asm.mov(4, C if carry else 0)
            + asm.mov_to_sr(8, 4) + asm.alu_rr(op, sz, 3, 1, 2) + asm.mov_from_sr(5, 8) + asm.exit_())
    core, stop, _ = run(code)
    assert stop.reason is StopReason.HALTED
    res, flags = ref_arith(op, a, b, int(carry), sz)
    m = (1 << sz) - 1
    assert core.R[3] == (0x5A5A5A5A & ~m & 0xFFFFFFFF) | res, "a sized result leaves the upper bits alone"
    assert core.R[5] & 0xF00 == flags


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["cmp", "cmpu", "cmps"]), U32, U32, SIZES)
def test_compares_match_the_pseudocode(kind: str, a: int, b: int, sz: int) -> None:
    code = (asm.mov(1, a) + asm.mov(2, b) + asm.mov(4, O | S) + asm.mov_to_sr(8, 4) + asm.cmp(kind, sz, 1, 2)
            + asm.mov_from_sr(5, 8) + asm.exit_())
    core, _, _ = run(code)
    m = (1 << sz) - 1
    x, y = a & m, b & m
    diff = (x - y) & m
    z = Z * (diff == 0)
    if kind == "cmp":
        want = C * (not ref_c(sign(x, sz), not sign(y, sz), sign(diff, sz))) | \
            O * ref_o(sign(x, sz), not sign(y, sz), sign(diff, sz)) | S * sign(diff, sz) | z
    elif kind == "cmpu":
        want = C * (not ref_c(sign(x, sz), not sign(y, sz), sign(diff, sz))) | z | O | S  # o, s untouched
    else:
        want = C * (ref_o(sign(x, sz), not sign(y, sz), sign(diff, sz)) ^ sign(diff, sz)) | z | O | S
    assert core.R[5] & 0xF00 == want


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["shl", "shr", "sar", "shlc", "shrc"]), U32, st.integers(0, 63), st.booleans(), SIZES)
def test_shifts_match_the_pseudocode(op: str, a: int, n: int, carry: bool, sz: int) -> None:
    code = (asm.mov(1, a) + asm.mov(2, n) + asm.mov(4, C if carry else 0) + asm.mov_to_sr(8, 4)
            + asm.alu_rr(op, sz, 3, 1, 2) + asm.mov_from_sr(5, 8) + asm.exit_())
    core, _, _ = run(code)
    m = (1 << sz) - 1
    x = a & m
    cnt = n & (sz - 1)
    if op in ("shl", "shlc"):
        res = (x << cnt) & m
        if op == "shlc" and cnt:
            res |= int(carry) << (cnt - 1)
        c = bool(x >> (sz - cnt) & 1) if cnt else False
    else:
        res = x >> cnt
        if op == "shrc" and cnt:
            res |= int(carry) << (sz - cnt)
        if op == "sar" and sign(x, sz):
            res |= (m << (sz - cnt)) & m
        c = bool(x >> (cnt - 1) & 1) if cnt else False
    assert core.R[3] & m == res
    assert core.R[5] & 0xF00 == C * c | S * sign(res, sz) | Z * (res == 0)


@pytest.mark.parametrize(("code", "want"), [
    (asm.mov(1, 0x1234_ABCD) + asm.mov(2, 0x8001) + asm.op3("mulu", 3, 1, 2), 0xABCD * 0x8001),
    (asm.mov(1, 0xFFFF) + asm.mov(2, 3) + asm.op3("muls", 3, 1, 2), 0xFFFFFFFD),
    (asm.mov(1, 100) + asm.mov(2, 7) + asm.op3("div", 3, 1, 2), 14),
    (asm.mov(1, 100) + asm.mov(2, 7) + asm.op3("mod", 3, 1, 2), 2),
    (asm.mov(1, 100) + asm.mov(2, 0) + asm.op3("div", 3, 1, 2), 0xFFFFFFFF),   # no exception on /0
    (asm.mov(1, 100) + asm.mov(2, 0) + asm.op3("mod", 3, 1, 2), 100),
    (asm.mov(1, 0x80) + asm.mov(2, 7) + asm.op3("sext", 3, 1, 2), 0xFFFFFF80),
    (asm.mov(1, 0x7F) + asm.mov(2, 7) + asm.op3("sext", 3, 1, 2), 0x7F),
    (asm.mov(1, 0xABCD_1234) + asm.extr(3, 1, 8, 8), 0x12),
    (asm.mov(1, 0xABCD_1234) + asm.mov(2, 28 | 3 << 5) + asm.op3("extrs", 3, 1, 2), 0xFFFFFFFA),
    (asm.mov(1, 0xF0) + asm.mov(2, 5) + asm.op3("xbit", 3, 1, 2), 1),
    (asm.mov(3, 0xFFFF_FFFF) + asm.mov(1, 0) + asm.op_imm8("ins", 3, 1, 4 | 3 << 5), 0xFFFFFF0F),
    (asm.mov(3, 0x1234) + bytes([0xF0, 0x33, 0xAB]), 0x00AB1234),                   # sethi
    (asm.mov(3, 5) + bytes([0xF0, 0x39, 0x1F]), 0x80000005),                        # bset
    (asm.mov(1, 0x1234) + asm.unary("hswap", 16, 3, 1), 0x3412),
    (asm.mov(1, 0x80) + asm.mov(3, 0xAAAA0000) + asm.unary("neg", 8, 3, 1), 0xAAAA0080),
])
def test_unsized_and_unary_results(code: bytes, want: int) -> None:
    core, stop, _ = run(code + asm.exit_())
    assert stop.reason is StopReason.HALTED and core.R[3] == want


def test_loads_and_stores_with_sizes_and_the_unaligned_penalty() -> None:
    code = (asm.mov(1, 0x100) + asm.mov(2, 0x11223344) + asm.st(32, 1, 0, 2) + asm.mov(3, 0xAAAAAAAA)
            + asm.ld(8, 3, 1, 1) + asm.mov(4, 0xBBBBBBBB) + asm.ld(16, 4, 1, 1)
            + asm.mov(5, 0x101) + asm.st(32, 5, 0, 2)          # unaligned: envytools' penalty
            + asm.exit_())
    core, _, _ = run(code)
    assert core.R[3] == 0xAAAAAA33, "ld b8 leaves the upper 24 bits"
    assert core.R[4] == 0xBBBB1122
    assert core.dmem[0x100:0x104] == bytes([0x00, 0x44, 0x00, 0x00])


def test_calls_stack_and_multi_register_push_pop() -> None:
    p = asm.Program()
    p.emit(asm.mov(0, 10), asm.mov(1, 11), asm.mov(2, 12))
    p.call("fn")
    p.emit(asm.exit_())
    p.label("fn").emit(asm.mpush(2), asm.add_sp(-8), asm.mov(0, 0), asm.mov(1, 0), asm.mov(2, 0))
    p.emit(asm.mpop(2, ret=True, add=8))
    core, stop, _ = run(p.assemble())
    assert stop.reason is StopReason.HALTED
    assert core.R[:3] == [10, 11, 12] and core.sp == DMEM - 4


def test_branch_conditions() -> None:
    p = asm.Program()
    p.emit(asm.mov(1, 5), asm.mov(2, 7), asm.cmp("cmp", 32, 1, 2), asm.mov(3, 0))
    p.branch("l", "less").emit(asm.mov(3, 1)).label("less")         # 5 < 7 signed: taken
    p.emit(asm.mov(1, -1 & 0xFFFFFFFF), asm.cmp("cmp", 32, 1, 2), asm.mov(4, 0))
    p.branch("a", "above").emit(asm.mov(4, 1)).label("above")       # 0xffffffff > 7 unsigned: taken
    p.cbranch(32, 2, 7, "eq").emit(asm.mov(5, 1)).label("eq")       # $r2 == 7: taken
    p.emit(asm.exit_())
    core, _, _ = run(p.assemble())
    assert core.R[3:6] == [0, 0, 0]


def test_trap_handler_and_iret_and_double_trap() -> None:
    p = asm.Program()
    p.emit(asm.mov(9, 0x100), asm.mov_to_sr(3, 9), asm.trap(2), asm.mov(6, 6), asm.exit_())
    code = bytearray(p.assemble())
    code += bytes(0x100 - len(code))
    code += asm.mov_from_sr(7, 12) + asm.iret()
    core, stop, _ = run(bytes(code))
    assert stop.reason is StopReason.HALTED and core.R[6] == 6
    assert core.R[7] >> 20 == 2, "$tstatus holds the trap reason"
    code[0x100:0x100 + 4] = asm.trap(0) + asm.iret()   # a trap inside the handler
    _, stop, _ = run(bytes(code))
    assert stop.reason is StopReason.DOUBLE_TRAP


def test_io_reaches_the_bus() -> None:
    code = asm.mov(1, 0x1000) + asm.mov(2, 0xCAFE) + asm.iowr(1, 1, 2) + asm.iord(3, 1, 1) + asm.exit_()
    core, _, bus = run(code)
    assert bus.log == [("w", 0x1004, 0xCAFE), ("r", 0x1004, 0xCAFE)] and core.R[3] == 0xCAFE


def test_transfers_in_and_out_and_code_loads() -> None:
    loaded = asm.mov(7, 77) + asm.exit_()
    p = asm.Program()
    p.emit(asm.mov(1, 0x200), asm.mov_to_sr(7, 1))          # $xdbase: 0x200 << 8
    p.emit(asm.mov(2, 0x40), asm.mov(3, 0x300 | 4 << 16), asm.xfer("xdld", 2, 3), b"\xf8\x03")
    p.emit(asm.mov(3, 0x400 | 4 << 16), asm.xfer("xdst", 2, 3))  # 64 bytes back, from DMEM 0x400
    p.emit(asm.mov(1, 0x100), asm.mov_to_sr(6, 1))          # $xcbase: 0x100 << 8
    p.emit(asm.mov(2, 0x5000), asm.mov(3, 0x3000), asm.xfer("xcld", 2, 3), b"\xf8\x07")
    p.emit(asm.lbra(0x5000))
    core, bus = make_core(p.assemble(), dmem=bytes(0x400) + b"\x55" * 64)
    bus.ext[0x20040:0x20080] = b"\xab" * 64
    bus.ext[0x15000:0x15000 + len(loaded)] = loaded
    stop = core.run(1000)
    assert stop.reason is StopReason.HALTED and core.R[7] == 77, "code loaded by xcld ran at its tag"
    assert core.dmem[0x300:0x340] == b"\xab" * 64 and bus.ext[0x20040:0x20080] == b"\x55" * 64
    assert core.blocks[0x30].tag == 0x50 and core.blocks[0x30].valid


# -- faults: each one stops the falcon with its reason -------------------------------------------------------


def test_unknown_opcode_stops() -> None:
    core, stop, _ = run(asm.mov(1, 1) + b"\x16\x00\x00")
    assert stop.reason is StopReason.UNKNOWN_OPCODE and stop.pc == 2 and "0x16" in stop.message
    assert core.unknown == {2: stop.message.split(": ", 1)[1]}


def test_imem_miss_and_multi_hit_stop() -> None:
    _, stop, _ = run(asm.lbra(0x8000))
    assert stop.reason is StopReason.IMEM_MISS and stop.pc == 0x8000 and "page 0x80" in stop.message
    core, _ = make_core(asm.lbra(0x100))
    core.blocks[1].tag, core.blocks[1].valid = 1, True
    core.blocks[2].tag, core.blocks[2].valid = 1, True
    assert core.run(10).reason is StopReason.IMEM_MULTI_HIT


def test_runaway_loop_stops_at_the_budget() -> None:
    p = asm.Program().label("top")
    p.branch("", "top")
    core, stop, _ = run(p.assemble(), budget=5000)
    assert stop.reason is StopReason.BUDGET and core.stats.instructions == 5000 and stop.pc == 0


def test_dma_outside_memory_stops() -> None:
    code = asm.mov(1, 0xFFFF0) + asm.mov_to_sr(7, 1) + asm.mov(2, 0) + asm.mov(3, 6 << 16) + \
        asm.xfer("xdld", 2, 3) + asm.exit_()
    _, stop, _ = run(code)
    assert stop.reason is StopReason.DMA_FAULT and "past external memory" in stop.message
    _, stop, _ = run(asm.mov(3, 0xFFF0 | 6 << 16) + asm.xfer("xdld", 3, 3) + asm.exit_())
    assert stop.reason is StopReason.DMA_FAULT and "DMEM" in stop.message


def test_dmem_access_outside_dmem_stops() -> None:
    _, stop, _ = run(asm.mov(1, DMEM) + asm.ld(32, 2, 1, 0) + asm.exit_())
    assert stop.reason is StopReason.DMEM_FAULT and stop.pc == 4


def test_sleep_without_interrupts_stops() -> None:
    _, stop, _ = run(asm.flag_op("bset", 0) + asm.sleep(0))
    assert stop.reason is StopReason.SLEEP
    _, stop, _ = run(asm.sleep(1) + asm.exit_())  # flag clear: a no-op
    assert stop.reason is StopReason.HALTED


def test_unmodelled_crypto_stops_and_modelled_crypto_runs() -> None:
    _, stop, _ = run(bytes.fromhex("f53c12d0"))  # cenc: needs the AES unit
    assert stop.reason is StopReason.UNIMPLEMENTED and "cenc" in stop.message
    code = asm.cxset(2) + asm.mov(1, 0) + asm.mov(2, 0x10 | 6 << 16) + asm.xfer("xdst", 1, 2) + asm.exit_()
    core, stop, bus = run(code, dmem=bytes(0x10) + bytes(range(16)))
    assert stop.reason is StopReason.HALTED and core.crypto_stream == [bytes(range(16))]
    assert not any(bus.ext), "a crypto transfer does not reach external memory"


def test_hs_entry_hook_sees_the_caller_and_may_refuse() -> None:
    code = asm.lcall(0x100) + asm.exit_()
    core, _ = make_core(code + bytes(0x100 - len(code)) + asm.ret())
    core.blocks[1].secure = True
    seen: list[tuple[int, int | None]] = []
    core.on_hs_entry = lambda pc, frm: seen.append((pc, frm))
    assert core.run(100).reason is StopReason.HALTED
    assert seen == [(0x100, 0)] and core.stats.hs_entries == [(0x100, 0)]


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=256))
def test_any_bytes_end_in_a_stop_never_an_exception(code: bytes) -> None:
    _, stop, _ = run(code, budget=2000)
    assert stop.reason in StopReason
