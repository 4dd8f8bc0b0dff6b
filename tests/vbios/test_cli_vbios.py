"""``nova vbios``: summaries, JSON keys, coverage, FWSEC extraction (atomic), one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vbios_helpers import ROM_NAMES, SHORT_DUMP, rom_bytes

from nova_core.cli.main import main
from nova_core.gpu.chips import Chipset
from nova_core.sim.synth.vbios import build_vbios
from nova_core.vbios import FwsecCommand, Vbios

Capture = pytest.CaptureFixture[str]


def run_json(argv: list[str], capsys: Capture) -> dict[str, Any]:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.fixture
def synth_file(tmp_path: Path) -> Path:
    path = tmp_path / "ad102-synthetic.rom"
    path.write_bytes(build_vbios(Chipset.AD102))
    return path


def test_json_has_the_documented_keys(synth_file: Path, capsys: Capture) -> None:
    doc = run_json(["vbios", str(synth_file)], capsys)
    assert doc["version"] == "95.02.00.01.5A"
    assert set(doc["images"][0]) >= {"offset", "code_type", "size", "last", "pci_vendor", "pci_device"}
    assert [i["code_type"] for i in doc["images"]] == [0x00, 0x03, 0xE0, 0xE0]
    assert doc["bit"]["offset"] == 0x280
    assert set(doc["bit"]["tokens"][0]) >= {"id", "version", "size", "ptr"}
    fw = doc["fwsec"]
    assert {k: fw[k] for k in ("app_id", "desc_version", "imem_load_size", "dmem_load_size", "signature_count",
                               "ucode_id", "engine_id_mask")} == \
        {"app_id": 0x85, "desc_version": 3, "imem_load_size": 0x3000, "dmem_load_size": 0x800,
         "signature_count": 2, "ucode_id": 9, "engine_id_mask": 0x400}
    assert "unclaimed" not in doc["coverage"]


def test_sim_and_verbose(capsys: Capture) -> None:
    doc = run_json(["vbios", "--sim", "tu117", "--verbose"], capsys)
    assert doc["source"]["kind"] == "prom" and doc["fwsec"]["desc_version"] == 2
    assert doc["fwsec"]["signature_count"] == 0 and doc["fwsec"]["ucode_id"] is None
    assert doc["coverage"]["unclaimed"] and doc["coverage"]["claimed"]
    assert main(["vbios", "--sim", "tu117", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "unclaimed [" in out and "claimed   [" in out and "BIT at 0x280" in out and "NBSI" in out


def test_text_summary(synth_file: Path, capsys: Capture) -> None:
    assert main(["vbios", str(synth_file)]) == 0
    out = capsys.readouterr().out
    for text in ("95.02.00.01.5A", "PCI-AT", "EFI", "FwSec", "BIOSDATA", "FALCON_DATA", "FWSEC_PROD",
                 "descriptor v3", "2 RSA3K signatures for fuse versions 0, 1", "DMEMMAPPER at DMEM 0x100"):
        assert text in out, text


def test_extract_fwsec_writes_the_patched_image(synth_file: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "fwsec-frts.bin"
    doc = run_json(["vbios", str(synth_file), "--extract-fwsec", str(out), "--frts-offset", "0x5fe00000",
                    "--fuse-version", "1"], capsys)
    fw = Vbios.from_file(synth_file).fwsec
    assert fw is not None
    want = fw.patch(FwsecCommand.FRTS, frts_offset=0x5FE00000, fuse_version=1)
    assert out.read_bytes() == want.image
    assert doc["extracted"]["sha256"] == want.sha256 and doc["extracted"]["signature_index"] == 1
    assert out.stat().st_mode & 0o777 == 0o644
    assert not list(tmp_path.glob(".fwsec-frts.bin.*"))  # no temporary left behind


def test_extract_sb_and_device_fuses(tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "sb.bin"
    # --sim: the fuse version comes from the simulated fuses (0 at power-on)
    assert main(["vbios", "--sim", "ga102", "--extract-fwsec", str(out), "--command", "sb"]) == 0
    text = capsys.readouterr().out
    assert "FWSEC SB (0x19)" in text and "signature         #0 (fuse version 0)" in text
    fw = Vbios.from_bytes(build_vbios(Chipset.GA102)).fwsec
    assert fw is not None and out.read_bytes() == fw.patch(FwsecCommand.SB, fuse_version=0).image


@pytest.mark.parametrize(("argv", "message"), [
    (["--extract-fwsec", "{out}"], "needs --frts-offset N"),
    (["--extract-fwsec", "{out}", "--frts-offset", "0x100000"], "--fuse-version is required: the FWSEC ucode carries "
                                                               "signatures for fuse versions 0, 1"),
    (["--extract-fwsec", "{out}", "--frts-offset", "0x100001", "--fuse-version", "0"], "must be a non-zero multiple"),
    (["--extract-fwsec", "{out}", "--frts-offset", "0x100000", "--fuse-version", "3"],
     "no signature for fuse version 3"),
    (["--extract-fwsec", "{out}", "--command", "xx"], "--command 'xx': expected frts or sb"),
    (["--frts-offset", "0x100000"], "--frts-offset applies to --extract-fwsec"),
    (["--sim", "ga102"], "give either a ROM FILE or a device"),
])
def test_errors_write_nothing(argv: list[str], message: str, synth_file: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "out.bin"
    args = ["vbios", str(synth_file), *[a.replace("{out}", str(out)) for a in argv]]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".out.bin.*"))


def test_bad_rom_file_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    bad = tmp_path / "zero.rom"
    bad.write_bytes(bytes(8192))
    assert main(["vbios", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "zero.rom: PCI expansion ROM at 0x0: not found" in err and err.count("\n") == 1
    assert main(["vbios", str(tmp_path / "missing.rom")]) == 1
    assert "cannot open vBIOS ROM file" in capsys.readouterr().err


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ROM_NAMES)
def test_real_roms_through_the_cli(name: str, vbios_path: Path, capsys: Capture) -> None:
    rom_bytes(vbios_path, name)
    doc = run_json(["vbios", str(vbios_path / name)], capsys)
    if name == SHORT_DUMP:
        assert doc["fwsec"] is None and doc["fwsec_note"]
    assert main(["vbios", str(vbios_path / name), "--verbose"]) == 0
    assert "coverage:" in capsys.readouterr().out


@pytest.mark.artifacts
def test_real_rom_extraction_through_the_sim(vbios_path: Path, tmp_path: Path, capsys: Capture) -> None:
    rom = vbios_path / "ampere-ga102_2204_gigabyte-rtx3090.rom"
    out = tmp_path / "fwsec.bin"
    assert main(["vbios", "--sim", "ga102", "--vbios", str(rom), "--extract-fwsec", str(out),
                 "--frts-offset", "0x5fe00000"]) == 0
    capsys.readouterr()
    fw = Vbios.from_file(rom).fwsec
    assert fw is not None
    assert out.read_bytes() == fw.patch(FwsecCommand.FRTS, frts_offset=0x5FE00000, fuse_version=0).image


def test_probe_reports_the_vbios_version(capsys: Capture) -> None:
    doc = run_json(["probe", "--sim", "ga104"], capsys)
    assert doc["vbios_version"] == "94.04.00.01.5A"
    assert main(["probe", "--sim", "tu117"]) == 0
    assert "vBIOS           90.07.00.01.5A" in capsys.readouterr().out


def test_probe_survives_an_unparseable_rom(tmp_path: Path, capsys: Capture) -> None:
    bad = tmp_path / "bad.rom"
    bad.write_bytes(bytes(4096))
    doc = run_json(["probe", "--sim", "ga102", "--vbios", str(bad)], capsys)
    assert doc["vbios_version"] is None and doc["chipset"] == "GA102"


def test_record_and_replay_a_vbios_parse(tmp_path: Path, capsys: Capture) -> None:
    trace = tmp_path / "vbios.jsonl"
    recorded = run_json(["vbios", "--sim", "ga102", "--record", str(trace)], capsys)
    replayed = run_json(["vbios", "--replay", str(trace)], capsys)
    for doc in (recorded, replayed):
        doc.pop("source")
    assert recorded == replayed


@pytest.mark.artifacts
def test_the_gb206_table_says_which_entries_are_not_listed_and_why(vbios_path: Path, capsys: Capture) -> None:
    """issue 22: "35 entries" above 6 rows - the 29 empty slots are counted, the 6 undecoded say why."""
    rom = vbios_path / "blackwell-gb206_2d04_asus-prime-rtx5060ti.rom"
    assert main(["vbios", str(rom)]) == 0
    out = capsys.readouterr().out
    assert ("falcon ucode table at 0x91bde (second FwSec image): 35 entries, 6 listed; 29 empty (application 0, "
            "descriptor pointer 0) not listed") in out
    reasons = [ln for ln in out.splitlines() if ln.startswith("  not decoded: ")]
    assert len(reasons) == 6
    assert sum("descriptor version expected 2 or 3, found 6" in r for r in reasons) == 4
    assert sum("lies past the end of the expansion ROM" in r for r in reasons) == 2
    assert main(["vbios", str(rom), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["ucode_table"]
    assert (table["entry_count"], table["empty_entries"], len(table["entries"])) == (35, 29, 6)


def test_a_bare_rom_name_is_looked_for_in_the_vbios_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         synth_file: Path, capsys: Capture) -> None:
    roms = tmp_path / "roms"
    roms.mkdir()
    (roms / "my-board.rom").write_bytes(synth_file.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NOVA_VBIOS_DIR", str(roms))
    assert main(["vbios", "my-board.rom", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["name"] == "my-board.rom"
    assert main(["probe", "--vbios", "my-board.rom"]) == 0
    capsys.readouterr()
    assert main(["boot", "--vbios", "my-bord.rom"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"nova: error: --vbios 'my-bord.rom': no such file; looked in {tmp_path}, {roms}")
    assert "did you mean 'my-board.rom'?" in err and err.count("\n") == 1
