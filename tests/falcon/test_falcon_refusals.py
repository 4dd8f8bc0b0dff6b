"""Every refusal of the falcon layer and of the simulated falcons, one test each."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from falcon_helpers import expected_of, setup, ucode_of

from nova_core.errors import FalconError, PollTimeout, SimViolation
from nova_core.falcon import BromParams, Falcon, FalconUcode, LoadMethod, UcodeSegment, sec2_falcon
from nova_core.falcon.facts import FalconEngine
from nova_core.gpu import Chipset
from nova_core.hw.clock import MS, SEC, US
from nova_core.hw.dma import DmaBuffer
from nova_core.regs import falcon as R
from nova_core.regs.fuse import (
    NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION,
    NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION,
    NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION,
)
from nova_core.sim import SimGpu
from nova_core.sim.falcon_check import ExpectedBrom, ExpectedLoad, ExpectedSegment, expect_ucode
from nova_core.sim.models.falcon import ExitCode, SimFalcon, StartResult, State

# -- the expected-ucode checker: first mismatch halts with a diagnostic --------------------------


def _boot_mismatch(chip: str, tamper: Callable[[SimGpu, Falcon, SimFalcon], None],
                   expected: ExpectedLoad | None = None) -> str:
    gpu, f, model, spec = setup(chip)
    if expected is not None:
        model.on_start = expect_ucode(expected)
    f.reset()
    f.load(ucode_of(spec))
    tamper(gpu, f, model)
    m0, _ = f.boot(0xC0FFEE)
    assert m0 == ExitCode.UCODE_MISMATCH and model.state is State.HALTED
    assert gpu.log.errors()[-1].message == model.diagnostics[-1]
    return model.diagnostics[-1]


def _poke(reg: type[R.Register], value: int, i: int | None = None) -> Callable[[SimGpu, Falcon, SimFalcon], None]:
    def tamper(gpu: SimGpu, f: Falcon, model: SimFalcon) -> None:
        gpu.bar0.write32(model.addr(reg, i), value)

    return tamper


def test_wrong_brom_engidmask() -> None:
    gpu, f, model, spec = setup("ga102")
    model.on_start = expect_ucode(expected_of(spec, "booter meta"))
    f.reset()
    f.load(ucode_of(spec))
    R.NV_PFALCON2_FALCON_BROM_ENGIDMASK.write(gpu.bar0, 0, base=f.base2)
    assert f.boot()[0] == ExitCode.UCODE_MISMATCH
    assert model.diagnostics == ["SEC2: BROM_ENGIDMASK 0x0, expected 0x1 from booter meta"]


@pytest.mark.parametrize(("reg", "value", "index", "message"), [
    (R.NV_PFALCON2_FALCON_BROM_PARAADDR, 0x20, 0, "SEC2: BROM_PARAADDR(0) 0x20, expected 0x10 from synthetic ucode"),
    (R.NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID, 4, None, "SEC2: BROM_CURR_UCODE_ID 0x4, expected 0x3"),
    (R.NV_PFALCON2_FALCON_MOD_SEL, 0, None, "SEC2: MOD_SEL 0x0, expected 0x1"),
    (R.NV_PFALCON_FALCON_BOOTVEC, 0, None, "SEC2: BOOTVEC 0x0, expected 0x100"),
])
def test_wrong_hs_boot_register(reg: type[R.Register], value: int, index: int | None, message: str) -> None:
    assert _boot_mismatch("ad102", _poke(reg, value, index)).startswith(message)


def test_wrong_mailbox_argument() -> None:
    _gpu, f, model, spec = setup("ga102")
    f.reset()
    f.load(ucode_of(spec))
    assert f.boot(0xC0FFEF)[0] == ExitCode.UCODE_MISMATCH
    assert model.diagnostics[-1] == "SEC2: MAILBOX0 0xc0ffef, expected 0xc0ffee from synthetic ucode"


def test_imem_tag_mismatch() -> None:
    _gpu, f, model, spec = setup("tu102")
    bad = ucode_of(spec)
    seg = bad.imem[1]
    bad = FalconUcode("bad tags", (bad.imem[0], UcodeSegment(seg.data, seg.dst, True, tag=0x800)), bad.dmem,
                      bad.boot_vector)
    f.reset()
    f.load(bad)
    assert f.boot(0xC0FFEE)[0] == ExitCode.UCODE_MISMATCH
    assert model.diagnostics[-1] == "SEC2: IMEM block 0x1 tag 0x8, expected 0x1 from synthetic ucode"


def test_imem_tag_written_after_the_data_tags_the_wrong_block() -> None:
    gpu, f, model, spec = setup("tu102")
    f.reset()
    f.load(ucode_of(spec))
    # rewrite block 2 word by word, tagging after the data: the tag lands on block 3 and block 2 keeps 0x2
    bar, base = gpu.bar0, f.base
    R.NV_PFALCON_FALCON_IMEMC.write(bar, base=base, i=0, blk=2, aincw=1, secure=1)
    for k in range(64):
        bar.write32(R.NV_PFALCON_FALCON_IMEMD.addr(base, 0), k)
    bar.write32(R.NV_PFALCON_FALCON_IMEMT.addr(base, 0), 0x7)
    assert model.imem_block(3).tag == 0x7 and model.imem_block(2).tag == 0x2


def test_secure_flag_mismatch() -> None:
    _gpu, f, model, spec = setup("tu102")
    seg = ucode_of(spec).imem[1]
    flipped = FalconUcode("ns", (ucode_of(spec).imem[0], UcodeSegment(seg.data, seg.dst, False, seg.tag)),
                          ucode_of(spec).dmem, 0)
    f.reset()
    f.load(flipped)
    assert f.boot(0xC0FFEE)[0] == ExitCode.UCODE_MISMATCH
    assert model.diagnostics[-1] == "SEC2: IMEM block 0x1 loaded non-secure, expected secure from synthetic ucode"


def test_imem_and_dmem_byte_mismatch() -> None:
    _gpu, f, model, spec = setup("tu102")
    u = ucode_of(spec)
    data = bytearray(u.imem[1].data)
    data[0x45] ^= 0xFF
    bad = FalconUcode("flip", (u.imem[0], UcodeSegment(bytes(data), 0x100, True, 0x100)), u.dmem, 0)
    f.reset()
    f.load(bad)
    f.boot(0xC0FFEE)
    assert model.diagnostics[-1].startswith("SEC2: IMEM 0x144 holds 0x")
    _gpu, f, model, spec = setup("tu102")
    d = bytearray(spec.dmem[0].data)
    d[600] ^= 1
    f.reset()
    f.load(FalconUcode("dmem", u.imem, (UcodeSegment(bytes(d), 0),), 0))
    f.boot(0xC0FFEE)
    assert model.diagnostics[-1].startswith("SEC2: DMEM 0x258 holds 0x")


def test_block_not_loaded() -> None:
    _gpu, f, model, spec = setup("tu102")
    u = ucode_of(spec)
    f.reset()
    f.load(FalconUcode("half", (u.imem[0],), u.dmem, 0))
    f.boot(0xC0FFEE)
    assert model.diagnostics[-1] == "SEC2: IMEM block 0x1 was not loaded, expected secure code from synthetic ucode"


# -- start protocol ------------------------------------------------------------------------------


def test_started_with_nothing_loaded() -> None:
    _gpu, f, model, _ = setup("ga102")
    f.reset()
    assert f.boot()[0] == ExitCode.NO_UCODE
    assert model.diagnostics == ["SEC2: started with nothing loaded in IMEM"]


def test_started_twice() -> None:
    _gpu, f, model, spec = setup("tu102")
    f.run(ucode_of(spec), 0xC0FFEE)
    assert f.boot(0xC0FFEE)[0] == ExitCode.STARTED_TWICE
    assert "started through CPUCTL while halted; a falcon runs one ucode per reset" in model.diagnostics[-1]


def test_no_checker_installed() -> None:
    _gpu, f, model, spec = setup("ga102")
    model.on_start = None
    f.reset()
    f.load(ucode_of(spec))
    assert f.boot()[0] == ExitCode.NO_CHECKER
    assert "no ucode check is installed" in model.diagnostics[-1]


def test_written_while_running_halts_with_an_error() -> None:
    gpu, f, model, spec = setup("tu102")
    model.on_start = lambda m: StartResult.halt(0, after_ns=10 * MS)
    f.reset()
    f.load(ucode_of(spec))
    f.start()
    assert model.state is State.RUNNING
    with pytest.raises(SimViolation, match="SEC2: IMEMD\\(0\\) written while the falcon is running"):
        gpu.bar0.write32(R.NV_PFALCON_FALCON_IMEMD.addr(f.base, 0), 0)
    assert model.state is State.HALTED and f.read_mailboxes()[0] == ExitCode.WRITE_WHILE_RUNNING
    f.wait_halted()
    gpu.clock.sleep(20 * MS)  # the cancelled halt does not come back
    assert f.read_mailboxes()[0] == ExitCode.WRITE_WHILE_RUNNING


def test_bootvec_written_while_running_is_refused() -> None:
    gpu, f, model, spec = setup("ga102")
    model.on_start = lambda m: StartResult.hang()
    f.reset()
    f.load(ucode_of(spec))
    f.start()
    with pytest.raises(SimViolation, match="NV_PFALCON_FALCON_BOOTVEC written while the falcon is running"):
        R.NV_PFALCON_FALCON_BOOTVEC.write(gpu.bar0, 0, base=f.base)


def test_start_through_the_wrong_cpuctl_register() -> None:
    gpu, f, model, spec = setup("ga102")
    f.reset()
    f.load(ucode_of(spec))
    model.alias_en = True
    with pytest.raises(SimViolation, match="CPUCTL.STARTCPU written while CPUCTL.ALIAS_EN is set"):
        R.NV_PFALCON_FALCON_CPUCTL.write(gpu.bar0, base=f.base, startcpu=1)
    model.alias_en = False
    with pytest.raises(SimViolation, match="CPUCTL_ALIAS.STARTCPU written while CPUCTL.ALIAS_EN is clear"):
        R.NV_PFALCON_FALCON_CPUCTL_ALIAS.write(gpu.bar0, base=f.base, startcpu=1)
    assert model.starts == 0


def test_falcon_start_with_riscv_core_selected() -> None:
    _gpu, f, model, spec = setup("ga102", FalconEngine.GSP)
    f.reset(core=R.CoreSelect.RISCV)
    f.load(ucode_of(spec))
    assert f.boot(0xC0FFEE)[0] == ExitCode.CORE_SELECT
    assert "RISCV_BCR_CTRL selects the RISC-V core" in model.diagnostics[-1]


def test_falcon_that_never_halts_times_out_naming_the_engine() -> None:
    gpu, f, model, spec = setup("ga102")
    model.on_start = lambda m: StartResult.hang("a ucode stuck in a loop")
    f.reset()
    f.load(ucode_of(spec))
    t0 = gpu.clock.now()
    with pytest.raises(PollTimeout, match=r"timed out after 2 s waiting for SEC2 falcon to halt \(CPUCTL.HALTED=1\)"):
        f.boot()
    assert gpu.clock.now() - t0 >= 2 * SEC
    assert "never halts (a ucode stuck in a loop)" in gpu.log.format(5)


# -- reset and scrubbing -------------------------------------------------------------------------


@pytest.mark.parametrize(("chip", "register"), [("tu102", "DMACTL.IMEM_SCRUBBING=0"),
                                                ("ga102", "HWCFG2.MEM_SCRUBBING=0")])
def test_scrubbing_that_never_ends(chip: str, register: str) -> None:
    _gpu, f, model, _ = setup(chip, FalconEngine.GSP)
    model.scrub_ns = None
    with pytest.raises(PollTimeout, match=rf"GSP falcon IMEM/DMEM scrubbing to finish \({register}"):
        f.reset()
    assert model.state is State.SCRUBBING


def test_reset_ready_that_never_comes_is_not_fatal() -> None:
    _gpu, f, model, spec = setup("ga102")
    model.reset_ready_stuck = True
    f.reset()
    f.reset()  # the stuck bit survives a reset
    assert len(f.notes) == 2 and "RESET_READY" in f.notes[0] and "resetting anyway" in f.notes[0]
    assert f.run(ucode_of(spec), 0xC0FFEE) == (0, 0)


def test_reset_pulse_shorter_than_10us_is_refused() -> None:
    gpu, f, model, _ = setup("ga102")
    R.NV_PFALCON_FALCON_ENGINE.write(gpu.bar0, base=f.base, reset=1)
    with pytest.raises(SimViolation, match="ENGINE reset released after .* ns; the reset pulse must last at least "
                                           "10 us"):
        R.NV_PFALCON_FALCON_ENGINE.write(gpu.bar0, base=f.base, reset=0)
    assert model.state is State.RESET


def test_loading_before_scrubbing_finished_is_refused() -> None:
    gpu, f, _model, _ = setup("tu102")
    R.NV_PFALCON_FALCON_ENGINE.write(gpu.bar0, base=f.base, reset=1)
    with pytest.raises(SimViolation, match="IMEMC\\(0\\) written while the falcon is in reset"):
        R.NV_PFALCON_FALCON_IMEMC.write(gpu.bar0, base=f.base, i=0, aincw=1)
    gpu.clock.sleep(10 * US)
    R.NV_PFALCON_FALCON_ENGINE.write(gpu.bar0, base=f.base, reset=0)
    with pytest.raises(SimViolation, match="DMEMD\\(0\\) written while the falcon is scrubbing"):
        gpu.bar0.write32(R.NV_PFALCON_FALCON_DMEMD.addr(f.base, 0), 1)
    with pytest.raises(SimViolation, match="started through CPUCTL while scrubbing"):
        R.NV_PFALCON_FALCON_CPUCTL.write(gpu.bar0, base=f.base, startcpu=1)


# -- PIO ----------------------------------------------------------------------------------------


def test_pio_on_ga102_is_refused_by_driver_and_sim() -> None:
    gpu, f, _model, spec = setup("ga102")
    f.reset()
    with pytest.raises(FalconError, match="PIO loads are not available on the ga102 falcon HAL"):
        f.load(ucode_of(spec), method=LoadMethod.PIO)
    with pytest.raises(SimViolation, match="IMEMD\\(0\\): PIO access to falcon memory on GA102"):
        gpu.bar0.write32(R.NV_PFALCON_FALCON_IMEMD.addr(f.base, 0), 1)


def test_pio_past_the_end_of_imem() -> None:
    gpu, f, _model, _ = setup("tu102")
    f.reset()
    R.NV_PFALCON_FALCON_IMEMC.write(gpu.bar0, base=f.base, i=1, blk=0xFF, offs=0x3F, aincw=1)
    gpu.bar0.write32(R.NV_PFALCON_FALCON_IMEMD.addr(f.base, 1), 1)  # last word: fine
    with pytest.raises(SimViolation, match="IMEMD\\(1\\): address 0x10000 is past the end of the 0x10000-byte memory"):
        gpu.bar0.write32(R.NV_PFALCON_FALCON_IMEMD.addr(f.base, 1), 2)


def test_ucode_larger_than_imem_is_refused_by_the_driver() -> None:
    _gpu, f, _model, _ = setup("tu102")
    big = FalconUcode("big", (UcodeSegment(bytes(0x200), 0xFF00),), (), 0)
    f.reset()
    with pytest.raises(FalconError, match="SEC2: big needs IMEM up to 0x10100 but the falcon has 0x10000 bytes"):
        f.load(big)


# -- DMA ----------------------------------------------------------------------------------------


class _HighAllocator:
    """Hands out memory at a bus address at the 49-bit limit (an IOMMU giving out high IOVAs)."""

    def __init__(self, bus: int) -> None:
        self.bus = bus

    def alloc(self, size: int, *, align: int = 4096, name: str = "") -> DmaBuffer:
        return DmaBuffer(memoryview(bytearray(size)), self.bus, name)

    def free(self, buf: DmaBuffer) -> None:
        buf.mark_freed()


def test_driver_refuses_dma_above_49_bits() -> None:
    _gpu, f, model, spec = setup("ga102")
    f.reset()
    f.dma = _HighAllocator((1 << 49) - 0x200)  # type: ignore[assignment]
    with pytest.raises(FalconError, match="reaches above the 49-bit falcon DMA limit 0x2000000000000"):
        f.load(ucode_of(spec))
    assert model.dma_transfers == 0


def test_driver_refuses_dma_without_allocator_and_misaligned_dmem() -> None:
    gpu, f, _model, spec = setup("ga102")
    f.dma = None
    with pytest.raises(FalconError, match="needs a DMA allocator"):
        f.load(ucode_of(spec))
    f.dma = gpu.sysmem
    u = ucode_of(spec)
    with pytest.raises(FalconError, match="DMEM destination 0x40 is not 256-byte aligned"):
        f.load(FalconUcode("d", u.imem, (UcodeSegment(b"1234", 0x40),), 0x100, u.brom))


def test_brom_parameters_and_hal() -> None:
    _gpu, f, _model, spec = setup("tu102")
    u = ucode_of(spec)
    f.reset()
    with pytest.raises(FalconError, match="TU102 falcon HAL .* has no boot ROM parameter registers"):
        f.load(FalconUcode("x", u.imem, u.dmem, 0, BromParams(1, 1, 1)))
    _gpu, f, _model, spec = setup("ga102")
    u = ucode_of(spec)
    f.reset()
    with pytest.raises(FalconError, match="carries no BROM parameters"):
        f.load(FalconUcode("x", u.imem, u.dmem, 0x100, None))


def _raw_dma(gpu: SimGpu, model: SimFalcon, *, size: int = 0x1000) -> int:
    """Program a valid 256-byte IMEM DMA (not yet started); returns the DMATRFCMD value to write."""
    buf = gpu.sysmem.alloc(size, name="raw dma")
    b, bar = model.base, gpu.bar0
    R.NV_PFALCON_FBIF_CTL.write(bar, base=b, allow_phys_no_ctx=1)
    R.NV_PFALCON_FALCON_DMACTL.write(bar, 0, base=b)
    R.NV_PFALCON_FBIF_TRANSCFG.write(bar, base=b, i=0, target=R.FbifTarget.COHERENT_SYSMEM,
                                     mem_type=R.FbifMemType.PHYSICAL)
    R.NV_PFALCON_FALCON_DMATRFBASE.write(bar, (buf.bus_addr >> 8) & 0xFFFFFFFF, base=b)
    R.NV_PFALCON_FALCON_DMATRFBASE1.write(bar, buf.bus_addr >> 40, base=b)
    R.NV_PFALCON_FALCON_DMATRFMOFFS.write(bar, 0, base=b)
    R.NV_PFALCON_FALCON_DMATRFFBOFFS.write(bar, 0, base=b)
    return R.NV_PFALCON_FALCON_DMATRFCMD.encode(size=R.DmaTrfSize.SIZE_256B, imem=1, sec=1)


def _cmd(gpu: SimGpu, model: SimFalcon, value: int) -> None:
    gpu.bar0.write32(model.addr(R.NV_PFALCON_FALCON_DMATRFCMD), value)


def _reg(gpu: SimGpu, model: SimFalcon, reg: type[R.Register], value: int, i: int | None = None) -> None:
    gpu.bar0.write32(model.addr(reg, i), value)


@pytest.mark.parametrize(("setup_fault", "message"), [
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMATRFBASE1, 0x200),
     "DMATRFBASE1 0x200 has bits above 8:0 \\(address above 49 bits\\)"),
    (lambda g, m: (_reg(g, m, R.NV_PFALCON_FALCON_DMATRFBASE1, 0x1FF),
                   _reg(g, m, R.NV_PFALCON_FALCON_DMATRFBASE, 0xFFFFFFFF),
                   _reg(g, m, R.NV_PFALCON_FALCON_DMATRFFBOFFS, 0x100)),
     "reaches past the 49-bit DMA limit"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMATRFBASE, 0x10),  # DMATRFBASE1 still holds bits 48:40
     "DMA to unmapped bus address range \\[0x10000001000, 0x10000001100\\)"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMATRFFBOFFS, 0x80),
     "external address 0x[0-9a-f]+ is not aligned to the 256-byte transfer"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMATRFMOFFS, 0x40),
     "DMATRFMOFFS 0x40 is not aligned to the 256-byte transfer"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMATRFMOFFS, 0x10000),
     "\\[0x10000, 0x10100\\) is past the end of the 0x10000-byte IMEM"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FBIF_TRANSCFG, R.NV_PFALCON_FBIF_TRANSCFG.encode(target=1), 0),
     "asks for virtual addressing"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FBIF_TRANSCFG, 0b111, 0),
     "target 3 is not an aperture"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FBIF_CTL, 0),
     "physical DMA without a context needs FBIF_CTL.ALLOW_PHYS_NO_CTX"),
    (lambda g, m: _reg(g, m, R.NV_PFALCON_FALCON_DMACTL, 1),
     "DMACTL.REQUIRE_CTX is set"),
])
def test_sim_refuses_bad_dma(setup_fault: Callable[[SimGpu, SimFalcon], object], message: str) -> None:
    gpu, f, model, _ = setup("ga102")
    f.reset()
    cmd = _raw_dma(gpu, model)
    setup_fault(gpu, model)
    with pytest.raises(SimViolation, match=message):
        _cmd(gpu, model, cmd)
    assert model.dma_transfers == 0
    assert gpu.log.errors()[-1].component == "falcon"


def test_sim_refuses_bad_dma_size_and_overlapping_commands() -> None:
    gpu, f, model, _ = setup("ga102")
    f.reset()
    cmd = _raw_dma(gpu, model)
    for size in (0, 5, 7):  # 4 and 128 bytes are not published sizes; 7 is no size at all
        with pytest.raises(SimViolation, match=f"SIZE {size} is not SIZE_256B"):
            _cmd(gpu, model, (cmd & ~R.NV_PFALCON_FALCON_DMATRFCMD.size.mask) | (size << 8))
    _cmd(gpu, model, cmd)
    assert model.dma_transfers == 1
    with pytest.raises(SimViolation, match="written while the previous transfer is in flight \\(IDLE=0\\)"):
        _cmd(gpu, model, cmd)
    gpu.clock.sleep(2 * US)
    _cmd(gpu, model, cmd)
    assert model.dma_transfers == 2


def test_turing_moffs_is_16_bits() -> None:
    gpu, f, model, _ = setup("tu102")
    f.reset()
    cmd = _raw_dma(gpu, model)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFMOFFS, 0x10000)
    with pytest.raises(SimViolation, match=r"DMATRFMOFFS 0x10000 does not fit the OFFS field of TU102 \(0xffff\)"):
        _cmd(gpu, model, cmd)


def test_driver_refuses_a_dma_destination_past_the_turing_moffs_field() -> None:
    """DMATRFMOFFS.OFFS is 15:0 on TU102 (turing/tu102/dev_falcon_v4.h), 23:0 from GA100: the driver says so."""
    gpu, f, model, _ = setup("tu102")
    hwcfg = R.NV_PFALCON_FALCON_HWCFG
    model.dmem_size = hwcfg.dmem_size.max * 256  # a falcon with more than 64 KiB of DMEM (HWCFG allows 0x1ff00)
    gpu.bar0.poke(model.addr(hwcfg), hwcfg.encode(imem_size=model.imem_size // 256, dmem_size=hwcfg.dmem_size.max))
    f.reset()
    big = FalconUcode("big", (UcodeSegment(bytes(256), 0),), (UcodeSegment(bytes(256), 0x10000),), 0)
    with pytest.raises(FalconError, match=r"falcon address 0x10000 does not fit DMATRFMOFFS.OFFS on TU102 "
                                          r"\(at most 0xffff\)"):
        f.dma_load(big)


def test_dma_into_imem_tags_blocks_with_fboffs_and_can_write_back() -> None:
    gpu, f, model, _ = setup("tu102")
    f.reset()
    cmd = _raw_dma(gpu, model, size=0x2000)
    base = (R.NV_PFALCON_FALCON_DMATRFBASE.read(gpu.bar0, base=f.base) << 8) | (
        R.NV_PFALCON_FALCON_DMATRFBASE1.read(gpu.bar0, base=f.base) << 40)
    assert base >> 40, "the simulated IOMMU hands out bus addresses at and above 1 TiB"
    buf = gpu.sysmem.find(base)
    assert buf is not None
    buf.write(0x300, bytes(range(256)))
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFFBOFFS, 0x300)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFMOFFS, 0x500)
    _cmd(gpu, model, cmd)
    assert model.imem_block(5) == type(model.imem_block(5))(5, 3, True, True)
    assert model.read_imem(0x500, 256) == bytes(range(256))
    gpu.clock.sleep(2 * US)
    # falcon -> system memory (WRITE), from DMEM
    R.NV_PFALCON_FALCON_DMEMC.write(gpu.bar0, base=f.base, i=0, aincw=1)
    gpu.bar0.write32(R.NV_PFALCON_FALCON_DMEMD.addr(f.base, 0), 0x11223344)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFMOFFS, 0)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFFBOFFS, 0x1000)
    _cmd(gpu, model, R.NV_PFALCON_FALCON_DMATRFCMD.encode(size=R.DmaTrfSize.SIZE_256B, write_=1))
    assert buf.read_u32(0x1000) == 0x11223344


def test_dma_from_vram_through_local_fb() -> None:
    gpu, f, model, _ = setup("tu102")
    f.reset()
    cmd = _raw_dma(gpu, model)
    gpu.vram.write(0x100000, b"\xAB" * 256)
    _reg(gpu, model, R.NV_PFALCON_FBIF_TRANSCFG, R.NV_PFALCON_FBIF_TRANSCFG.encode(
        target=R.FbifTarget.LOCAL_FB, mem_type=R.FbifMemType.PHYSICAL), 0)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFBASE, 0x1000)
    _reg(gpu, model, R.NV_PFALCON_FALCON_DMATRFBASE1, 0)
    _cmd(gpu, model, cmd)
    assert model.read_imem(0, 256) == b"\xAB" * 256


# -- fuses and engines --------------------------------------------------------------------------


def test_fuse_version_ga102() -> None:
    gpu, f, _, _ = setup("ga102")
    bar = gpu.bar0
    bar.poke(NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION.addr(i=2), 0b101)  # ucode 3: highest bit 2 -> version 3
    bar.poke(NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION.addr(i=8), 0x8000)  # ucode 9: bit 15 -> 16
    bar.poke(NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION.addr(i=0), 0xFFFF0001)  # only 15:0 count
    assert f.fuse_version(0x1, 3) == 3
    assert f.fuse_version(0x400, 9) == 16
    assert f.fuse_version(0x4, 1) == 1
    assert f.fuse_version(0x1, 4) == 0
    with pytest.raises(FalconError, match="ucode id 0 has no fuse version register"):
        f.fuse_version(0x1, 0)
    with pytest.raises(FalconError, match="ucode id 17"):
        f.fuse_version(0x1, 17)
    with pytest.raises(FalconError, match="engine-id mask 0x2 names no engine"):
        f.fuse_version(0x2, 1)


def test_fuse_version_tu102_hal_is_zero() -> None:
    gpu, f, _, _ = setup("ga100")
    gpu.bar0.poke(NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION.addr(i=2), 0b101)
    assert f.fuse_version(0x1, 3) == 0


@pytest.mark.parametrize("chip", [Chipset.GH100, Chipset.GB100, Chipset.GB202, Chipset.GB206])
def test_fsp_chips_refuse_the_sec2_path(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    with pytest.raises(FalconError, match=f"{chip.name} .* boots GSP-RM through the FSP chain of trust "
                                          r"\(nova_core.fsp\), not through FWSEC"):
        sec2_falcon(gpu.device(), chip)


def test_sec2_path_allowed_on_sec2_booter_chips() -> None:
    for chip in (Chipset.TU102, Chipset.GA100, Chipset.GA102, Chipset.AD107):
        assert sec2_falcon(SimGpu(chip).device(), chip).base == R.SEC2_FALCON_BASE


def test_expected_load_with_imem_past_the_end() -> None:
    _gpu, f, model, spec = setup("tu102")
    model.on_start = expect_ucode(ExpectedLoad("huge", (ExpectedSegment(0xFF00, bytes(0x200)),),
                                               brom=ExpectedBrom(0, 0, 0)))
    f.reset()
    f.load(ucode_of(spec))
    f.boot()
    assert model.diagnostics[-1] == "SEC2: IMEM block 0xff was not loaded, expected code from huge"
