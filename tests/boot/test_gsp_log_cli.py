"""``nova gsp-log``: the rings after a boot, decoded with a logging ELF file, raw without one, and after a
failed boot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.sim.synth.logging_elf import write_logging_elf


def test_decoded_with_a_logging_elf_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    elf = write_logging_elf(tmp_path / "gsp_log.elf", "535.113.01")
    rc = main(["gsp-log", "--sim", "tu106", "--synthetic", "--log-elf", str(elf), "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    d = json.loads(out)
    assert d["decoded"] is True and [r["name"] for r in d["rings"]] == ["LOGINIT", "LOGINTR", "LOGRM"]
    init, _intr, rm = d["rings"]
    assert init["records"][-1]["text"] == "GSP-RM init done\n" and init["records"][-1]["file"] == "gsp_init.c"
    assert rm["records"][-1]["text"].startswith("UNLOADING_GUEST_DRIVER")  # read after the shutdown
    assert [r["args"][3] for r in rm["records"] if r["text"].startswith("alloc")] == [0x0, 0x80, 0x2080]


def test_raw_without_an_elf_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["gsp-log", "--sim", "ga107", "--synthetic", "--ring", "loginit", "--last", "4"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "LOGINIT: put" in out and "no logging ELF" in out and out.count("  word ") == 4


def test_after_a_failed_boot_the_rings_are_shown_and_the_error_is_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_core.sim.gsp_rm.model import SimGspRm

    orig = SimGspRm._rpc_get_gsp_static_info  # type: ignore[attr-defined]

    def crash(self: SimGspRm, payload: bytes) -> object:
        self._halt("static info exploded")  # type: ignore[attr-defined]
        return orig(self, payload)

    monkeypatch.setattr(SimGspRm, "_rpc_get_gsp_static_info", crash)
    rc = main(["gsp-log", "--sim", "ad104", "--synthetic", "--sim-log-elf", "--ring", "LOGRM"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "GSP-RM halted: error 0xdead" in cap.out
    assert cap.err.count("\n") == 1 and "boot failed at stage 'static-info'" in cap.err


def test_bad_ring_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gsp-log", "--ring", "LOGX"]) == 1
    assert "the rings are LOGINIT, LOGINTR, LOGRM" in capsys.readouterr().err
