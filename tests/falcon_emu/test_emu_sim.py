"""The emulated GSP falcon inside the simulated GPU: its I/O space, BAR0 through its BAR0 master, DMA through
FBIF, the HS rules - and FWSEC from the real ROMs, which stops at its encrypted HS code and says so."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.falcon_isa import asm
from nova_core.gpu.chips import Chipset
from nova_core.regs import falcon as F
from nova_core.regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO
from nova_core.regs.pmc import NV_PMC_BOOT_0
from nova_core.sim import SimGpu
from nova_core.sim.falcon_emu import FwsecEmulator, StopReason
from nova_core.sim.models.falcon import SimFalcon

Capture = pytest.CaptureFixture[str]
SHIFT = F.FALCON_IO_INDEX_SHIFT


def io(reg: type[F.Register]) -> int:
    return reg.addr(0) << SHIFT


def bar0_write(addr: int, value: int) -> bytes:
    """Through the BAR0 master (clobbers $r13, $r14)."""
    return (asm.mov(13, io(F.NV_PFALCON_BAR0_ADDR)) + asm.mov(14, addr) + asm.iowr(13, 0, 14)
            + asm.mov(13, io(F.NV_PFALCON_BAR0_DATA)) + asm.mov(14, value) + asm.iowr(13, 0, 14)
            + asm.mov(13, io(F.NV_PFALCON_BAR0_CSR)) + asm.mov(14, 0x800000F2) + asm.iowr(13, 0, 14))


def bar0_read(dst: int, addr: int) -> bytes:
    return (asm.mov(13, io(F.NV_PFALCON_BAR0_ADDR)) + asm.mov(14, addr) + asm.iowr(13, 0, 14)
            + asm.mov(13, io(F.NV_PFALCON_BAR0_CSR)) + asm.mov(14, 0x800000F1) + asm.iowr(13, 0, 14)
            + asm.mov(13, io(F.NV_PFALCON_BAR0_DATA)) + asm.iord(dst, 13, 0))


def csr_status(dst: int) -> bytes:
    return asm.mov(13, io(F.NV_PFALCON_BAR0_CSR)) + asm.iord(dst, 13, 0) + asm.extr(dst, dst, 12, 3)


def load(gpu: SimGpu, code: bytes, *, secure: bool) -> SimFalcon:
    gsp: SimFalcon = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    padded = code + bytes(-len(code) % 0x100)
    gsp.poke_imem(0, padded, secure=secure, tag=0)
    return gsp


def emulate(gpu: SimGpu, code: bytes, *, hs: bool, secure: bool | None = None):  # type: ignore[no-untyped-def]
    gsp = load(gpu, code, secure=hs if secure is None else secure)
    em: FwsecEmulator = gpu.models["secure_chain"].fwsec_emulation  # type: ignore[attr-defined]
    return em.run_loaded(gsp, "test ucode", entry=0, hs_start=hs)


def test_hs_code_programs_wpr2_through_the_bar0_master() -> None:
    gpu = SimGpu("ga102")
    lo, hi = NV_PFB_PRI_MMU_WPR2_ADDR_LO, NV_PFB_PRI_MMU_WPR2_ADDR_HI
    code = (bar0_write(lo.addr(), lo.encode(val=0x5FFE00000 >> 12)) + bar0_write(hi.addr(), hi.encode(val=0x5FFF00))
            + bar0_read(3, NV_PMC_BOOT_0.addr()) + csr_status(4)
            + asm.mov(1, io(F.NV_PFALCON_FALCON_MAILBOX0)) + asm.mov(2, 0x600D) + asm.iowr(1, 0, 2) + asm.exit_())
    rep = emulate(gpu, code, hs=True)
    assert rep.executed and rep.stop.reason is StopReason.HALTED
    assert (rep.wpr2_lo >> 4, rep.wpr2_hi >> 4) == (0x5FFE00, 0x5FFF00)
    assert rep.mailbox0 == 0x600D and gpu.bar0.peek(io(F.NV_PFALCON_FALCON_MAILBOX0) >> SHIFT | F.GSP_FALCON_BASE) \
        == 0x600D
    writes = [a for a in rep.accesses if a.space == "bar0" and a.write]
    assert [a.name for a in writes] == ["NV_PFB_PRI_MMU_WPR2_ADDR_LO", "NV_PFB_PRI_MMU_WPR2_ADDR_HI"]
    assert any(a.space == "bar0" and a.value == gpu.boot0 for a in rep.accesses), "BOOT_0 read through PRI"
    assert "not checked" in rep.notes[0]


def test_non_secure_code_cannot_write_wpr2() -> None:
    gpu = SimGpu("ga102")
    lo = NV_PFB_PRI_MMU_WPR2_ADDR_LO
    rep = emulate(gpu, bar0_write(lo.addr(), 0x1230) + csr_status(4)
                  + asm.mov(1, io(F.NV_PFALCON_FALCON_MAILBOX1)) + asm.iowr(1, 0, 4) + asm.exit_(), hs=False)
    assert rep.executed and rep.wpr2_lo == 0
    assert rep.mailbox1 == F.Bar0Status.FAULT, "the BAR0 master reports the refused write"
    assert any("priv-level protected" in (a.note or "") for a in rep.accesses)
    assert any("priv-level protected" in e.message for e in gpu.log.entries(component="falcon-emu"))


def test_unmodelled_registers_are_kept_and_listed_once() -> None:
    gpu = SimGpu("tu117")
    code = (asm.mov(1, 0x138 << SHIFT) + asm.mov(2, 77) + asm.iowr(1, 0, 2) + asm.iord(3, 1, 0) + asm.iord(4, 1, 0)
            + bar0_write(0x1724, 5) + bar0_read(5, 0x1724)
            + asm.mov(6, io(F.NV_PFALCON_FALCON_MAILBOX0)) + asm.iowr(6, 0, 3) + asm.exit_())
    rep = emulate(gpu, code, hs=False)
    assert rep.executed and rep.mailbox0 == 77
    assert list(rep.unknown_io) == [0x138]
    dropped = [a for a in rep.accesses if a.space == "bar0" and not a.modelled]
    assert [(a.write, a.addr) for a in dropped] == [(True, 0x1724), (False, 0x1724)]
    assert dropped[1].value == 0xBADF1100, "what the register file answers for an unbacked address"


def test_dma_goes_through_fbif_and_the_iommu() -> None:
    gpu = SimGpu("ga102")
    # the code's DMA base (the xdbase special register) holds address bits 39:8: below 1 TiB, where the sim's IOMMU
    # puts nothing unless asked
    buf = gpu.sysmem.alloc(0x1000, name="test dma", limit=1 << 40)
    buf.write(0, bytes(range(256)))
    gsp = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    gpu.bar0.poke(gsp.addr(F.NV_PFALCON_FBIF_TRANSCFG, 2), F.NV_PFALCON_FBIF_TRANSCFG.encode(
        target=F.FbifTarget.COHERENT_SYSMEM, mem_type=F.FbifMemType.PHYSICAL))
    gpu.bar0.poke(gsp.addr(F.NV_PFALCON_FBIF_CTL), F.NV_PFALCON_FBIF_CTL.encode(allow_phys_no_ctx=1))

    def prog(bus_addr: int) -> bytes:
        return (asm.mov(1, bus_addr >> 8) + asm.mov_to_sr(7, 1) + asm.mov(1, 2 << 8 | 2 << 12) + asm.mov_to_sr(11, 1)
                + asm.mov(2, 0) + asm.mov(3, 0x800 | 6 << 16) + asm.xfer("xdld", 2, 3) + asm.mov(3, 0x800)
                + asm.ld(32, 4, 3, 1) + asm.mov(5, io(F.NV_PFALCON_FALCON_MAILBOX0)) + asm.iowr(5, 0, 4) + asm.exit_())

    rep = emulate(gpu, prog(buf.bus_addr), hs=False)
    assert rep.executed and rep.mailbox0 == 0x07060504
    assert gsp.read_dmem(0x800, 8) == bytes(range(8)), "DMEM written back into the simulated falcon"
    rep = emulate(gpu, prog(buf.bus_addr + 0x100000), hs=False)
    assert rep.stop.reason is StopReason.DMA_FAULT and "unmapped bus address" in rep.stop.message


def test_encrypted_secure_code_is_not_executed() -> None:
    gpu = SimGpu("ga102")
    rep = emulate(gpu, random.Random(7).randbytes(0x2000), hs=True)
    assert not rep.executed and rep.stop.reason is StopReason.ENCRYPTED and rep.instructions == 0
    assert "stored encrypted" in rep.stop.message and "decoded as plain code" in rep.stop.message


def test_a_non_secure_loader_entering_encrypted_hs_code_stops_there() -> None:
    gpu = SimGpu("tu117")
    gsp = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    gsp.poke_imem(0, (asm.mov(1, 1) + asm.lcall(0x400) + asm.exit_()).ljust(0x400, b"\0"), secure=False, tag=0)
    gsp.poke_imem(0x400, random.Random(8).randbytes(0x1000), secure=True, tag=0x400)
    em = gpu.models["secure_chain"].fwsec_emulation  # type: ignore[attr-defined]
    rep = em.run_loaded(gsp, "loader", entry=0, hs_start=False)
    assert rep.stop.reason is StopReason.ENCRYPTED and rep.stop.pc == 0x400 and rep.instructions == 2
    assert rep.hs_entries == [(0x400, 2)] and "(from 0x2)" in rep.stop.message


def test_runaway_code_stops_at_the_budget() -> None:
    gpu = SimGpu("ga102")
    em = gpu.models["secure_chain"].fwsec_emulation  # type: ignore[attr-defined]
    em.budget = 10_000
    p = asm.Program().label("x")
    p.branch("", "x")
    rep = emulate(gpu, p.assemble(), hs=True)
    assert rep.stop.reason is StopReason.BUDGET and rep.instructions == 10_000


def test_a_synthetic_rom_is_not_run_and_the_boot_says_so(capsys: Capture) -> None:
    assert main(["boot", "--sim", "ga102", "--synthetic", "--until", "fwsec-frts", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fwsec_executed"] is False
    run = out["fwsec_emulation"][0]
    assert run["command"] == "FWSEC-FRTS" and run["stop_reason"] == "not-run" and "synthetic" in run["reason"]


# -- the real ROMs ------------------------------------------------------------------------------------------

REAL = [("turing-tu117_1f82_gtx1650.rom", "tu117", 0x400), ("turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom", "tu106",
                                                                 0x400),
        ("ampere-ga102_2204_gigabyte-rtx3090.rom", "ga102", 0x0), ("ada-ad102_2684_asus-strix-rtx4090-nvgi.rom",
                                                                   "ad102", 0x0)]


def _rom(vbios_path: Path, name: str) -> Path:
    p = vbios_path / name
    if not p.is_file():
        pytest.skip(f"{name} is not in {vbios_path}")
    return p


@pytest.mark.artifacts
@pytest.mark.parametrize(("rom", "chip", "hs_entry"), REAL)
def test_real_fwsec_frts_run_stops_at_its_encrypted_hs_code(vbios_path: Path, rom: str, chip: str, hs_entry: int,
                                                           capsys: Capture) -> None:
    path = _rom(vbios_path, rom)
    assert main(["falcon", "run", "--vbios", str(path), "--command", "frts", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chipset"] == chip.upper()
    assert out["executed"] is False and out["stop_reason"] == "encrypted" and out["stop_pc"] == hs_entry
    assert out["wpr2"] == {"lo": 0, "hi": 0, "start": 0, "end": 0}, "NVIDIA's code never reached WPR2"
    assert out["wpr2_matches_layout"] is None and out["unknown_opcodes"] == []
    exp = out["expected_wpr2"]
    assert exp["end"] - exp["start"] == 1 << 20 and out["frts_offset"] == exp["start"]
    fb = out["fallback"]
    assert (fb["wpr2"]["start"], fb["wpr2"]["end"]) == (exp["start"], exp["end"]), "the model's WPR2 = the layout"
    if hs_entry:
        # Turing: the non-secure loader ran - in the generic bootloader too when the real one is installed
        assert out["instructions"] > 50 and out["hs_entries"] == [{"pc": 0x400, "from": 0xB9}]
        writes = {w["register"] for w in out["io_writes"]}
        assert "GSP.NV_PFALCON_BAR0_TMOUT" in writes and "NV_PBUS_SW_SCRATCH(5)" in writes
    else:
        assert out["instructions"] == 0 and out["hs_start"] is True


@pytest.mark.artifacts
def test_real_rom_boot_reports_fwsec_not_executed(vbios_path: Path, capsys: Capture) -> None:
    path = _rom(vbios_path, "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom")
    assert main(["boot", "--sim", "ad102", "--vbios", str(path), "--synthetic", "--until", "fwsec-frts",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fwsec_executed"] is False
    assert out["fwsec_emulation"][0]["stop_reason"] == "encrypted"
    assert "encrypted" in out["fwsec_emulation"][0]["reason"]


@pytest.mark.parametrize(("args", "msg"), [
    (["falcon", "run", "--vbios", "/nonexistent.rom"], "No such file"),
    (["falcon", "run", "--vbios", "{rom}", "--command", "xyz"], "frts or sb"),
    (["falcon", "run", "--vbios", "{rom}", "--vram", "1000"], "whole number of MiB"),
])
def test_run_errors_are_one_line(args: list[str], msg: str, tmp_path: Path, capsys: Capture) -> None:
    from nova_core.sim.synth.vbios import build_vbios

    rom = tmp_path / "synthetic.rom"
    rom.write_bytes(build_vbios(Chipset.GA102))
    assert main([a.replace("{rom}", str(rom)) for a in args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err


@pytest.mark.parametrize("chip", [Chipset.GA102, Chipset.TU117])
def test_a_synthetic_rom_file_does_not_pass_for_nvidia_code(chip: Chipset, tmp_path: Path, capsys: Capture) -> None:
    """The simulator's generated FWSEC bytes, served from a file: random bytes are not run as code to a halt."""
    from nova_core.sim.synth.vbios import build_vbios

    rom = tmp_path / "synthetic.rom"
    rom.write_bytes(build_vbios(chip))
    assert main(["falcon", "run", "--vbios", str(rom), "--sim", chip.lower, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["executed"] is False and out["stop_reason"] in ("encrypted", "unknown-opcode")
    assert out["fallback"]["wpr2"]["start"] == out["expected_wpr2"]["start"]


@pytest.mark.artifacts
def test_run_refuses_a_rom_without_fwsec(vbios_path: Path, capsys: Capture) -> None:
    path = _rom(vbios_path, "ampere-ga102_2206_msi-rtx3080-ventus-short.rom")
    assert main(["falcon", "run", "--vbios", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no FWSEC ucode to run" in err


@pytest.mark.artifacts
def test_real_fwsec_sb_run(vbios_path: Path, capsys: Capture) -> None:
    path = _rom(vbios_path, "turing-tu117_1f82_gtx1650.rom")
    assert main(["falcon", "run", "--vbios", str(path), "--command", "sb", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["command"] == "FWSEC-SB" and out["frts_offset"] is None
    assert out["stop_reason"] == "encrypted" and out["fallback"]["error"] == 0
