"""End to end on the simulated falcons: reset, PIO/DMA load, HS boot parameters, start, mailboxes, RISC-V, IRQs."""

from __future__ import annotations

import pytest
from falcon_helpers import FAMILY_CHIPS, expected_of, make_spec, setup, ucode_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_core.errors import FalconError
from nova_core.falcon import LoadMethod, falcon_hal, gsp_falcon
from nova_core.falcon.facts import FalconEngine
from nova_core.gpu import Chipset
from nova_core.gpu.chips import FalconHal
from nova_core.hw.clock import MS, US
from nova_core.regs import falcon as R
from nova_core.regs.pmc import NV_PMC_BOOT_0
from nova_core.sim import SimGpu
from nova_core.sim.falcon_check import ExpectedLoad, ExpectedSegment, expect_ucode
from nova_core.sim.models.falcon import ExitCode, StartResult, State


def _methods(chip: Chipset) -> list[LoadMethod]:
    return [LoadMethod.PIO, LoadMethod.DMA] if chip.facts.falcon_hal is FalconHal.TU102 else [LoadMethod.DMA]


CASES = [(c, m, e) for c in FAMILY_CHIPS for m in _methods(c) for e in (FalconEngine.SEC2, FalconEngine.GSP)]


@pytest.mark.parametrize(("chip", "method", "engine"), CASES,
                         ids=[f"{c.name}-{m.value}-{e.label}" for c, m, e in CASES])
def test_load_and_boot_synthetic_ucode(chip: Chipset, method: LoadMethod, engine: FalconEngine) -> None:
    gpu, f, model, spec = setup(chip, engine)
    f.reset()
    assert model.state is State.READY and model.resets == 1
    assert gpu.bar0.peek(R.NV_PFALCON_FALCON_RM.addr(f.base)) == gpu.bar0.peek(NV_PMC_BOOT_0.addr())
    f.load(ucode_of(spec), method=method)
    assert (model.dma_transfers > 0) is (method is LoadMethod.DMA)
    assert f.boot(0xC0FFEE, 0x55) == (0, 0x55)
    assert model.state is State.HALTED and model.diagnostics == []
    assert gpu.log.errors() == []
    # the bytes really are where the spec says, padding included
    for p in spec.imem:
        assert model.read_imem(p.dst, len(p.data)) == p.data
        blk = model.imem_block(p.dst >> 8)
        assert blk.loaded and blk.secure is p.secure and blk.tag == (p.dst if p.tag is None else p.tag) >> 8
    assert model.read_dmem(0, 604) == spec.dmem[0].data + b"\0\0"
    assert f.irq_status() & R.IRQ_HALT
    f.clear_irq(R.IRQ_HALT)
    assert not f.irq_status() & R.IRQ_HALT


@pytest.mark.parametrize("chip", [Chipset.TU102, Chipset.GA102])
def test_run_resets_loads_and_checks_mailbox0(chip: Chipset) -> None:
    _gpu, f, model, spec = setup(chip)
    assert f.run(ucode_of(spec), 0xC0FFEE) == (0, 0)
    model.on_start = lambda m: StartResult.halt(0xDEAD, 7)
    with pytest.raises(FalconError, match=r"SEC2: synthetic halted with MAILBOX0 0x0000dead \(MAILBOX1 0x00000007\)"):
        f.run(ucode_of(spec))


def test_hal_choice_follows_chip_facts() -> None:
    for chip in Chipset:
        hal = falcon_hal(chip)
        assert hal.kind is chip.facts.falcon_hal
        turing_like = chip.architecture.name == "TURING" or chip is Chipset.GA100
        assert hal.load_method is (LoadMethod.PIO if turing_like else LoadMethod.DMA)


def test_ga102_brom_registers_hold_the_parameters() -> None:
    _gpu, f, model, spec = setup("ad102")
    f.reset()
    f.load(ucode_of(spec))
    assert model.reg(R.NV_PFALCON2_FALCON_BROM_PARAADDR, 0) == 16
    assert model.reg(R.NV_PFALCON2_FALCON_BROM_ENGIDMASK) == 0x1
    assert model.reg(R.NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID) == 3
    assert model.reg(R.NV_PFALCON2_FALCON_MOD_SEL) == R.ModSelAlgo.RSA3K
    assert model.reg(R.NV_PFALCON_FALCON_BOOTVEC) == 0x100


def test_alias_en_starts_through_cpuctl_alias() -> None:
    gpu, f, model, spec = setup("ga102")
    f.reset()
    model.alias_en = True
    f.load(ucode_of(spec))
    assert f.boot(0xC0FFEE) == (0, 0)
    assert "started through CPUCTL_ALIAS" in gpu.log.format(50)


def test_reset_clears_memory_and_allows_a_second_run() -> None:
    _gpu, f, model, spec = setup("tu102")
    f.run(ucode_of(spec), 0xC0FFEE)
    f.reset()
    assert model.read_imem(0, 256) == bytes(256) and not model.imem_block(0).loaded
    assert f.run(ucode_of(spec), 0xC0FFEE, reset=False) == (0, 0)
    assert model.starts == 2


def test_booter_like_handoff_starts_gsp_riscv() -> None:
    for chip in (Chipset.TU102, Chipset.GA102):
        gpu, sec2, model, spec = setup(chip)
        gsp = gsp_falcon(gpu.device(), gpu.chipset)
        gsp_model = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
        model.on_start = expect_ucode(expected_of(spec), on_success=StartResult.halt(0, effect=gsp_model.start_riscv))
        gsp.reset(core=R.CoreSelect.RISCV)
        assert not gsp.is_riscv_active()
        sec2.run(ucode_of(spec))
        gsp.wait_riscv_active()
        assert gsp.is_riscv_active() and gsp_model.state is State.RISCV


def test_riscv_status_register_of_the_other_generation_reads_pri_error() -> None:
    gpu = SimGpu("ga102")
    v = gpu.bar0.read32(R.NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS.addr(R.FALCON2.GSP))
    assert v == 0xBADF1100 and "does not have" in gpu.log.format(3)
    tu = SimGpu("tu102")
    assert tu.bar0.read32(R.NV_PRISCV_RISCV_CPUCTL.addr(R.FALCON2.SEC2)) == 0xBADF1100


def test_ga102_select_core_switches_back_from_riscv() -> None:
    gpu, f, model, spec = setup("ga102", FalconEngine.GSP)
    f.reset(core=R.CoreSelect.RISCV)
    gpu.clock.sleep(10 * US)  # VALID follows a BCR_CTRL write after a short latency
    bcr = model.reg(R.NV_PRISCV_RISCV_BCR_CTRL)
    assert R.NV_PRISCV_RISCV_BCR_CTRL.decode(bcr) == {"valid": 1, "core_select": 1, "brfetch": 1}
    f.reset()
    assert model.core_select is R.CoreSelect.FALCON
    assert R.NV_PRISCV_RISCV_BCR_CTRL.valid.get(model.reg(R.NV_PRISCV_RISCV_BCR_CTRL)) == 1
    f.load(ucode_of(spec))
    assert f.boot(0xC0FFEE) == (0, 0)


def test_mailboxes_and_os_register() -> None:
    _gpu, f, model, _ = setup("ga102")
    f.write_mailboxes(1, None)
    f.write_mailboxes(None, 2)
    assert f.read_mailboxes() == (1, 2)
    f.write_os_version(0x5A5A)
    assert model.reg(R.NV_PFALCON_FALCON_OS) == 0x5A5A


def test_irq_set_and_clear() -> None:
    gpu, f, _, _ = setup("ga102", FalconEngine.GSP)
    gpu.bar0.write32(R.NV_PFALCON_FALCON_IRQSSET.addr(f.base), R.IRQ_SWGEN0 | R.IRQ_SWGEN1)
    assert f.irq_status() == R.IRQ_SWGEN0 | R.IRQ_SWGEN1
    f.clear_irq(R.IRQ_SWGEN0)
    assert f.irq_status() == R.IRQ_SWGEN1


def test_reset_and_halt_wait_use_virtual_time() -> None:
    gpu, f, _model, spec = setup("ga102")
    t0 = gpu.clock.now()
    f.run(ucode_of(spec), 0xC0FFEE)
    assert gpu.clock.now() - t0 < 5 * MS


segment = st.tuples(st.integers(1, 3), st.integers(0, 40), st.booleans(), st.integers(0, 200))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segs=st.lists(segment, min_size=1, max_size=3), dmem_len=st.integers(1, 900),
       boot=st.integers(0, 0xFFFF), seed=st.integers(0, 1 << 16))
def test_any_placement_loads_byte_exact_by_pio_and_dma(segs: list[tuple[int, int, bool, int]], dmem_len: int,
                                                      boot: int, seed: int) -> None:
    """Random block-aligned IMEM segments (destination, tag, secure), any DMEM length: both load methods put
    every byte, tag and secure flag where the independent expectation says."""
    import random

    from falcon_helpers import Placement, Spec

    rng = random.Random(seed)
    placements, next_blk = [], 0
    for blocks, gap, secure, tag_blk in segs:
        dst = (next_blk + gap % 4) * 256
        size = blocks * 256 - rng.randrange(0, 252, 4)
        placements.append(Placement(rng.randbytes(size), dst, secure, tag_blk * 256))
        next_blk = dst // 256 + blocks
    dmem = (Placement(rng.randbytes(dmem_len), 0),)
    for chip, method in ((Chipset.TU102, LoadMethod.PIO), (Chipset.TU102, LoadMethod.DMA),
                         (Chipset.GA102, LoadMethod.DMA)):
        brom = (0x40, 0x1, 3) if chip is Chipset.GA102 else None
        spec = Spec(tuple(placements), dmem, boot, brom)
        _gpu, f, model, _ = setup(chip)
        model.on_start = expect_ucode(expected_of(spec))
        f.reset()
        f.load(ucode_of(spec), method=method)
        assert f.boot() == (0, 0), model.diagnostics


def test_expected_load_of_a_different_ucode_is_caught() -> None:
    _gpu, f, model, spec = setup("tu102")
    other = make_spec(FalconHal.TU102, seed=2)
    model.on_start = expect_ucode(ExpectedLoad("other ucode", tuple(
        ExpectedSegment(p.dst, p.data, p.secure, p.tag) for p in other.imem)))
    f.reset()
    f.load(ucode_of(spec))
    m0, _ = f.boot()
    assert m0 == ExitCode.UCODE_MISMATCH
    assert model.diagnostics[-1].startswith("SEC2: IMEM 0x0 holds") and "from other ucode" in model.diagnostics[-1]


def test_checker_effects_can_fill_memories_like_a_running_bootloader() -> None:
    _gpu, f, model, spec = setup("tu102", FalconEngine.GSP)
    payload = bytes(range(256)) * 3

    def bootloader_effect() -> None:
        model.poke_imem(0x400, payload, secure=True, tag=0x2000)
        model.poke_dmem(0x10, b"done")

    model.on_start = expect_ucode(expected_of(spec), on_success=StartResult.halt(0, effect=bootloader_effect))
    f.run(ucode_of(spec))
    assert model.read_imem(0x400, len(payload)) == payload and model.read_dmem(0x10, 4) == b"done"
    assert [model.imem_block(b).tag for b in (4, 5, 6)] == [0x20, 0x21, 0x22]
    from nova_core.errors import SimViolation

    with pytest.raises(SimViolation, match="poke_imem \\[0x80"):
        model.poke_imem(0x80, b"x", secure=False, tag=0)
    with pytest.raises(SimViolation, match="poke_dmem \\[0xfffe"):
        model.poke_dmem(0xFFFE, b"xyzw")
