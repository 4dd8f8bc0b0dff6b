"""The CPU sequencer: every opcode against a plain BAR and a fake falcon layer, and every refusal."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import BarRangeError, GspError, PollTimeout
from nova_core.gsp.fw import GspAbi, SequencerRequest
from nova_core.gsp.sequencer import CpuSequencer
from nova_core.hw.bar import BufferBar
from nova_core.hw.clock import MS, SEC, US, VirtualClock
from nova_core.regs import falcon as F
from nova_core.regs.gc6 import NV_PGC6_BSI_SECURE_SCRATCH_14

ABI = GspAbi.for_version("570.144")
GSP = F.FALCON.GSP
SEC2 = F.FALCON.SEC2
LIBOS = 0x1_2345_6000


class FakeFalcons:
    def __init__(self, bar: BufferBar, *, riscv: bool = True, reload_done: bool = True) -> None:
        self.bar = bar
        self.calls: list[str] = []
        self.riscv = riscv
        self.reload_done = reload_done

    def reset_gsp(self) -> None:
        self.calls.append("reset_gsp")

    def reset_gsp_into_riscv(self) -> None:
        self.calls.append("reset_gsp_into_riscv")

    def start_sec2(self) -> None:
        self.calls.append("start_sec2")
        if self.reload_done:  # the booter reloads GSP-RM and flags the hand-off
            self.bar.write32(NV_PGC6_BSI_SECURE_SCRATCH_14.addr(), 1 << 26)

    def gsp_riscv_active(self) -> bool:
        self.calls.append("gsp_riscv_active")
        return self.riscv


Rig = tuple[CpuSequencer, BufferBar, VirtualClock, "FakeFalcons"]


def request(*commands: tuple[str, tuple[int, ...]], size: int = 64,
            save: tuple[int, ...] = (0,) * 8) -> SequencerRequest:
    words: list[int] = []
    for op, args in commands:
        words += [getattr(ABI.module, f"GSP_SEQ_BUF_OPCODE_{op}"), *args]
    return SequencerRequest(size, len(words), save, struct.pack(f"<{len(words)}I", *words))


@pytest.fixture
def rig() -> Rig:
    bar = BufferBar(bytearray(16 << 20))
    clock = VirtualClock()
    fake = FakeFalcons(bar)
    return CpuSequencer(ABI, bar, clock, fake, libos_args_addr=LIBOS, app_version=0x4321), bar, clock, fake


def test_register_opcodes(rig: Rig) -> None:
    seq, bar, clock, _ = rig
    bar.write32(0x1000, 0xFFFF0000)
    bar.write32(0x2000, 0x5)
    t0 = clock.now()
    res = seq.run(request(("REG_WRITE", (0x3000, 0xCAFE)), ("REG_MODIFY", (0x1000, 0x00FF0000, 0x00000012)),
                          ("REG_POLL", (0x2000, 0x4, 0x4, 100, 0xE1)), ("DELAY_US", (250,)),
                          ("REG_STORE", (0x1000, 3)), ("REG_STORE", (0x3000, 7))))
    assert bar.read32(0x3000) == 0xCAFE and bar.read32(0x1000) == 0xFF000012
    assert res.reg_save_area == [0, 0, 0, 0xFF000012, 0, 0, 0, 0xCAFE] and res.commands == 6
    assert clock.now() - t0 >= 250 * US
    assert "REG_MODIFY" in res.trace[1] and seq.runs == 1


def test_reg_poll_timeout_names_register_and_error(rig: Rig) -> None:
    seq, _, clock, _ = rig
    with pytest.raises(PollTimeout, match=r"REG_POLL 0x2000 & 0x1 == 0x1 \(GSP error code 0xbad\)") as e:
        seq.run(request(("REG_POLL", (0x2000, 1, 1, 500, 0xBAD))))
    assert e.value.timeout_ns == 500 * US
    t0 = clock.now()
    with pytest.raises(PollTimeout):
        seq.run(request(("REG_POLL", (0x2000, 1, 1, 0, 0))))  # 0 = the 4 s default
    assert clock.now() - t0 >= 4 * SEC


@pytest.mark.parametrize("req,match", [
    (SequencerRequest(0, 0, (0,) * 8, b""), "bufferSizeDWord is 0"),
    (SequencerRequest(4, 4, (0,) * 8, bytes(16)), "cmdIndex 0x4 not below bufferSizeDWord 0x4"),
    (SequencerRequest(8, 2, (0,) * 8, struct.pack("<2I", 0x77, 0)), "unknown opcode 0x77 at dword 0x0"),
    (SequencerRequest(8, 2, (0,) * 8, struct.pack("<2I", 0, 0x100)), "REG_WRITE at dword 0x0 needs 2 payload"),
    (SequencerRequest(8, 3, (0,) * 8, struct.pack("<3I", 4, 0x100, 8)), "REG_STORE at dword 0x0: index 8"),
    (SequencerRequest(8, 3, (0,) * 8, b"\0" * 4), "cmdIndex 0x3 dwords but only 0x4 bytes"),
])
def test_malformed_buffers(rig: Rig, req: SequencerRequest,
                           match: str) -> None:
    with pytest.raises(GspError, match=match):
        rig[0].run(req)


def test_core_reset_and_start(rig: Rig) -> None:
    seq, bar, _, fake = rig
    fbif = F.NV_PFALCON_FBIF_CTL.addr(GSP)
    bar.write32(fbif, 0x3)
    bar.write32(F.NV_PFALCON_FALCON_DMACTL.addr(GSP), 0x1)
    seq.run(request(("CORE_RESET", ()), ("CORE_START", ())))
    assert fake.calls == ["reset_gsp"]
    assert bar.read32(fbif) == 0x83 and bar.read32(F.NV_PFALCON_FALCON_DMACTL.addr(GSP)) == 0
    assert bar.read32(F.NV_PFALCON_FALCON_CPUCTL.addr(GSP)) == 0x2
    bar.write32(F.NV_PFALCON_FALCON_CPUCTL.addr(GSP), 0x40)  # ALIAS_EN: start through CPUCTL_ALIAS
    seq.run(request(("CORE_START", ())))
    assert bar.read32(F.NV_PFALCON_FALCON_CPUCTL_ALIAS.addr(GSP)) == 0x2
    assert bar.read32(F.NV_PFALCON_FALCON_CPUCTL.addr(GSP)) == 0x40


def test_core_wait_for_halt(rig: Rig) -> None:
    seq, bar, clock, _ = rig
    t0 = clock.now()
    with pytest.raises(PollTimeout, match="GSP falcon halted"):
        seq.run(request(("CORE_WAIT_FOR_HALT", ())))
    assert clock.now() - t0 >= 2 * SEC
    clock.call_later(5 * MS, lambda: bar.write32(F.NV_PFALCON_FALCON_CPUCTL.addr(GSP), 0x10))
    seq.run(request(("CORE_WAIT_FOR_HALT", ())))


def test_core_resume(rig: Rig) -> None:
    seq, bar, _, fake = rig
    seq.run(request(("CORE_RESUME", ())))
    assert fake.calls == ["reset_gsp_into_riscv", "start_sec2", "gsp_riscv_active"]
    assert bar.read32(F.NV_PFALCON_FALCON_MAILBOX0.addr(GSP)) == LIBOS & 0xFFFFFFFF
    assert bar.read32(F.NV_PFALCON_FALCON_MAILBOX1.addr(GSP)) == LIBOS >> 32
    assert bar.read32(F.NV_PFALCON_FALCON_OS.addr(GSP)) == 0x4321


def test_core_resume_failures() -> None:
    bar = BufferBar(bytearray(16 << 20))
    clock = VirtualClock()
    seq = CpuSequencer(ABI, bar, clock, FakeFalcons(bar, reload_done=False), libos_args_addr=LIBOS)
    with pytest.raises(PollTimeout, match="BOOT_STAGE_3_HANDOFF"):
        seq.run(request(("CORE_RESUME", ())))
    bar.write32(F.NV_PFALCON_FALCON_MAILBOX0.addr(SEC2), 0xB)
    seq.falcons = FakeFalcons(bar)
    with pytest.raises(GspError, match="SEC2 MAILBOX0 0xb after the reload, expected 0"):
        seq.run(request(("CORE_RESUME", ())))
    bar.write32(F.NV_PFALCON_FALCON_MAILBOX0.addr(SEC2), 0)
    seq.falcons = FakeFalcons(bar, riscv=False)
    with pytest.raises(GspError, match="RISC-V core is not active"):
        seq.run(request(("CORE_RESUME", ())))


def test_core_opcodes_need_falcons() -> None:
    seq = CpuSequencer(ABI, BufferBar(bytearray(16 << 20)), VirtualClock())
    with pytest.raises(GspError, match="CORE_RESET at dword 0x0 needs the falcons"):
        seq.run(request(("CORE_RESET", ())))


# -- issue 22, defect 6: waits GSP-RM asks for are capped; the fuzzed buffer ends in a GspError or PollTimeout ------

@pytest.mark.parametrize(("cmd", "match"), [
    (("REG_POLL", (0x2000, 1, 1, 0x80000000, 0)), r"REG_POLL at dword 0x0 asks for a 2147\.48 s wait; a sequencer "
                                                  r"wait is at most 30 s"),
    (("REG_POLL", (0x2000, 1, 1, 0xFFFFFFFF, 0)), r"asks for a 4294\.97 s wait"),
    (("DELAY_US", (0x80000000,)), r"DELAY_US at dword 0x0 asks for a 2147\.48 s wait"),
    (("DELAY_US", (30_000_001,)), r"DELAY_US .* 30 s wait"),
])
def test_sequencer_waits_over_the_cap_are_refused_at_once(rig: Rig, cmd: tuple[str, tuple[int, ...]],
                                                          match: str) -> None:
    seq, _, clock, _ = rig
    t0 = clock.now()
    with pytest.raises(GspError, match=match):
        seq.run(request(cmd))
    assert clock.now() == t0  # refused before waiting at all


def test_a_buffer_of_waits_is_bounded_in_all(rig: Rig) -> None:
    """Many waits each under the cap: the buffer stops at the 30 s budget, not after 1000 x 20 s."""
    seq, _, clock, _ = rig
    t0 = clock.now()
    with pytest.raises(GspError, match=r"DELAY_US at dword 0x2 asks for a 20 s wait with 10 s left of the 30 s"):
        seq.run(request(*[("DELAY_US", (20_000_000,))] * 1000, size=4096))
    assert clock.now() - t0 == 20 * SEC
    t0 = clock.now()
    with pytest.raises(PollTimeout) as e:  # a poll is cut to what is left, then times out
        seq.run(request(("DELAY_US", (28_000_000,)), ("REG_POLL", (0x2000, 1, 1, 0, 0))))
    assert e.value.timeout_ns == 2 * SEC and clock.now() - t0 <= 30 * SEC + 10 * US


_OPS = [int(getattr(ABI.module, f"GSP_SEQ_BUF_OPCODE_{n}")) for n in
        ("REG_WRITE", "REG_MODIFY", "REG_POLL", "DELAY_US", "REG_STORE")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_OPS), st.integers(0, 2**32 - 1)), max_size=48),
       st.integers(0, 64), st.integers(0, 64))
def test_fuzzed_sequencer_buffers_end_in_project_errors_in_bounded_time(words: list[int], size: int,
                                                                        index: int) -> None:
    bar = BufferBar(bytearray(1 << 16))
    clock = VirtualClock()
    seq = CpuSequencer(ABI, bar, clock, None)
    req = SequencerRequest(size, index, (0,) * 8, struct.pack(f"<{len(words)}I", *words))
    t0 = clock.now()
    with contextlib.suppress(GspError, PollTimeout, BarRangeError):  # BarRangeError: outside the BAR, unaligned
        seq.run(req)
    assert clock.now() - t0 <= 30 * SEC + 10 * US
