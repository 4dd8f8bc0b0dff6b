"""``nova mm walk`` and ``nova mm stats``, run in-process."""

from __future__ import annotations

import json

import pytest

from nova_core.cli.main import main


def test_walk_demo_every_page_size(capsys: pytest.CaptureFixture[str]) -> None:
    for va, page, level in ((0x100001234, "2 MiB", "PD0"), (0x100210008, "64 KiB", "PT_BIG"),
                            (0x100242000, "4 KiB", "PT_SMALL"), (0x120000100, "512 MiB", "PD1")):
        assert main(["mm", "walk", hex(va), "--sim", "ga102"]) == 0
        out = capsys.readouterr().out
        assert f"({page} page)" in out and f"\n  {level} " in out
        assert "simulated MMU: vid" in out
    assert main(["mm", "walk", "0x100301000", "--sim", "gh100"]) == 0
    out = capsys.readouterr().out
    assert "SYSTEM_COHERENT_MEMORY" in out and "MMU v3" in out and "simulated MMU: sys" in out


def test_walk_json_and_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mm", "walk", "0x100500000", "--sim", "tu102", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["phys"] is None and js["fault"] == "PD0 entry 2 is invalid" and js["mmu_version"] == 2
    assert [s["level"] for s in js["steps"]] == ["PD3", "PD2", "PD1", "PD0"]
    assert js["sim_mmu"].startswith("faults")
    assert not any(m["pages"].get(str(512 << 20)) for m in js["mappings"])  # no 512 MiB pages on Turing


def test_walk_custom_mappings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mm", "walk", "0x200010010", "--sim", "ad102", "--map", "0x200000000:0x40000000:0x20000",
                 "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["phys"] == 0x40010010 and js["page_size"] == 0x10000


@pytest.mark.parametrize(("argv", "msg"), [
    (["mm", "walk", "zz"], "VA 'zz' is not a number"),
    (["mm", "walk", "0x2000000000000", "--sim", "ad102"], "outside"),
    (["mm", "walk", "0x1000", "--map", "0x1000:0x2000"], "expected VA:PHYS:SIZE"),
    (["mm", "walk", "0x1000", "--map", "0x1000:0x2000:0x1000:peer"], "not vid or sys"),
    (["mm", "walk", "0x1000", "--map", "0x1800:0x2000:0x1000"], "4 KiB aligned"),
])
def test_walk_errors(capsys: pytest.CaptureFixture[str], argv: list[str], msg: str) -> None:
    assert main(argv) == 1
    assert msg in capsys.readouterr().err


def test_stats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mm", "stats", "--sim", "ga102", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["chipset"] == "GA102" and js["vram"] == 24 << 30
    names = [r["name"] for r in js["regions"]]
    assert names[:3] == ["non-WPR heap", "WPR2", "VGA workspace"] and "FRTS" in names
    st = js["stats"]
    assert st["free"] + st["reserved"] == js["vram"] and st["fragmentation"] == 0.0
    assert main(["mm", "stats", "--sim", "tu117", "--vram-mib", "2048"]) == 0
    out = capsys.readouterr().out
    assert "TU117: 2 GiB of VRAM" in out and "GSP heap" in out and "fragmentation" in out
