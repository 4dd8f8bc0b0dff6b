"""The disassembler: reachability from entry points, symbolic I/O names, coverage - on hand-made code and on
the real ROMs' FWSEC (and the firmware's clear falcon code when it is installed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.falcon_isa import asm
from nova_core.falcon_isa.disasm import disassemble, io_namer, reachable, render
from nova_core.falcon_isa.entropy import entropy, looks_encrypted
from nova_core.regs.falcon import FALCON_IO_INDEX_SHIFT, NV_PFALCON_BAR0_CSR, NV_PFALCON_FALCON_MAILBOX0
from nova_core.vbios import Vbios

Capture = pytest.CaptureFixture[str]


def program() -> bytes:
    p = asm.Program()
    p.emit(asm.mov(1, 3))
    p.label("loop").emit(asm.alu_imm("sub", 32, 1, 1))
    p.branch("nz", "loop")
    p.call("fn")
    p.emit(asm.mov(9, 0x140), asm.mov_to_sr(3, 9))   # $tv = 0x140: a vector the walk must find
    p.emit(asm.mov(5, 0x7000), asm.jmp_reg(5))       # not followed: the target is in a register
    p.label("fn").emit(asm.mov(2, NV_PFALCON_FALCON_MAILBOX0.addr(0) << FALCON_IO_INDEX_SHIFT))
    p.emit(asm.iowr(2, 0, 1), asm.ret())
    code = bytearray(p.assemble())
    code += bytes(0x140 - len(code))
    code += asm.mov(1, 0) + asm.exit_()               # the trap handler
    code += b"\x16\x00\x00"                             # never reached: not counted
    return bytes(code)


def test_reachable_follows_branches_calls_and_vectors() -> None:
    code = program()
    w = reachable(code, [0])
    assert w.share_decoded == 1.0 and not w.invalid
    assert 0x140 in w.insns, "the trap handler installed through $tv"
    assert [i.mnemonic for i in w.unresolved] == ["jmp"]
    assert len(code) - 3 not in w.insns


def test_reachable_reports_undecodable_and_opaque_and_outside() -> None:
    p = asm.Program()
    p.emit(asm.lcall(0x400), asm.lcall(0x9000), asm.mov(1, 1))
    p.emit(b"\x16\x00\x00")
    code = p.assemble() + bytes(0x400 - len(p.assemble())) + bytes(0x100)
    w = reachable(code, [0], opaque=[(0x400, 0x500)])
    assert w.opaque_targets == {0x400: 0} and w.outside_targets == {0x9000: 4}
    assert list(w.invalid) == [10] and w.share_decoded < 1.0  # lcall 4 + lcall 4 + mov 2
    assert w.as_json()["invalid"][0]["bytes"] == "160000"


def test_reachable_is_bounded() -> None:
    code = (asm.mov(1, 1) * 1000) + asm.exit_()
    assert len(reachable(code, [0], limit=10).insns) == 10


def test_io_accesses_are_named_from_regs() -> None:
    lines, _ = disassemble(program(), entries=[0], namer=io_namer("GSP"))
    iowr = next(ln for ln in lines if ln.text.startswith("iowr"))
    assert "GSP.NV_PFALCON_FALCON_MAILBOX0" in iowr.text and "I[0x1000]" in iowr.text
    assert io_namer("SEC2")(NV_PFALCON_BAR0_CSR.addr(0) << 6) == "SEC2.NV_PFALCON_BAR0_CSR"
    assert "not in regs/" in (io_namer("GSP")(0x408 << 6) or "")
    text = render(lines)
    assert "000140:" in text and "exit" in text


def test_a_constant_does_not_survive_a_call_or_a_label() -> None:
    p = asm.Program()
    p.emit(asm.mov(2, 0x1000), asm.lcall(0x20), asm.iowr(2, 0, 1), asm.exit_())
    code = p.assemble() + bytes(0x20 - len(p.assemble())) + asm.ret()
    lines, _ = disassemble(code, entries=[0], namer=io_namer())
    assert ";" not in next(ln for ln in lines if ln.text.startswith("iowr")).text


def test_entropy_tells_code_from_ciphertext() -> None:
    import random

    assert entropy(b"") == 0.0 and entropy(b"\x00" * 100) == 0.0
    noise = random.Random(1).randbytes(4096)
    assert entropy(noise) > 7.9 and looks_encrypted(noise)
    assert not looks_encrypted(noise[:512]), "too little to decide"
    assert not looks_encrypted(program() * 8)


def test_cli_disasm_file(tmp_path: Path, capsys: Capture) -> None:
    f = tmp_path / "code.bin"
    f.write_bytes(program())
    assert main(["falcon", "disasm", str(f)]) == 0
    out = capsys.readouterr().out
    assert "lcall" in out and "100.00% decoded" in out and "target in a register" in out
    assert main(["falcon", "disasm", str(f), "--json", "--entry", "0x140"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["entries"] == [0x140] and j["coverage"]["instructions"] == 2
    f.write_bytes(asm.exit_() + b"\x16\x00\x00")
    assert main(["falcon", "disasm", str(f), "--linear", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["coverage"] is None and [ln["text"].split()[0] for ln in j["lines"]] == ["exit", ".invalid"]


def test_cli_disasm_generic_bootloader_layout(tmp_path: Path, capsys: Capture) -> None:
    import struct

    code = asm.mov(1, 2) + asm.exit_()
    hdr = struct.pack("<6I", 0x10DE, 1, 0x200 + 0x100, 0x100, 0x200, 0x100)
    desc = struct.pack("<6I", 0xFD, 0, 0, 0x100, 0x100, 0)
    blob = hdr.ljust(0x100, b"\0") + desc.ljust(0x100, b"\0") + code.ljust(0x100, b"\0")
    f = tmp_path / "bl.bin"
    f.write_bytes(blob)
    assert main(["falcon", "disasm", str(f), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["base"] == 0xFD00 and j["entries"] == [0xFD00] and j["lines"][0]["text"] == "mov $r1 0x2"


@pytest.mark.parametrize("args", [
    ["falcon", "disasm"],
    ["falcon", "disasm", "/nonexistent/code.bin"],
    ["falcon", "disasm", "x.bin", "--vbios", "y.rom"],
    ["falcon", "disasm", "x.bin", "--engine", "PMU"],
])
def test_cli_disasm_errors_are_one_line(args: list[str], capsys: Capture) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nova: error:")


# -- the real ROMs ------------------------------------------------------------------------------------------

ROMS_WITH_FWSEC = {
    "turing-tu117_1f82_gtx1650.rom": 2,
    "turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom": 2,
    "ampere-ga102_2204_gigabyte-rtx3090.rom": 3,
    "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom": 3,
}


@pytest.mark.artifacts
@pytest.mark.parametrize(("rom", "version"), sorted(ROMS_WITH_FWSEC.items()))
def test_real_fwsec_reachable_code_decodes_completely(vbios_path: Path, rom: str, version: int,
                                                      capsys: Capture) -> None:
    path = vbios_path / rom
    if not path.is_file():
        pytest.skip(f"{rom} is not in {vbios_path}")
    assert main(["falcon", "disasm", "--vbios", str(path), "--fwsec", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    sec = j["secure"]
    assert sec["encrypted"] and sec["entropy"] > 7.9, "the HS code of every real FWSEC at hand is stored encrypted"
    cov = j["coverage"]
    assert cov["share_decoded"] == 1.0 and not cov["invalid"] and not cov["unresolved"]
    fw = Vbios.from_file(path).fwsec
    assert fw is not None and fw.desc.version == version
    if version == 2:
        # the non-secure loader: ~200 instructions, then a call into the (encrypted) secure part
        assert cov["instructions"] > 150
        assert [t["target"] for t in cov["opaque_targets"]] == [fw.desc.fields["imem_sec_base"]]
        assert any("NV_PFALCON_BAR0_TMOUT" in ln["text"] for ln in j["lines"])
    else:
        assert cov["instructions"] == 0, "v3: the entry point itself is encrypted secure code"


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ["gr/fecs_inst.bin", "gr/gpccs_inst.bin", "acr/bl.bin"])
def test_clear_firmware_code_decodes_completely(firmware_path: Path, name: str, capsys: Capture) -> None:
    """linux-firmware's falcon code in the clear (TU117): thousands of reachable instructions, all decoded."""
    path = firmware_path / "nvidia" / "tu117" / name
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    assert main(["falcon", "disasm", str(path), "--json"]) == 0
    cov = json.loads(capsys.readouterr().out)["coverage"]
    assert cov["share_decoded"] == 1.0 and not cov["invalid"]
    assert cov["instructions"] > (100 if name == "acr/bl.bin" else 3000)
