"""``nova boot``: JSON keys, the Chrome/Perfetto trace, --until, failures as one line, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.gsp.boot import STAGES


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_boot_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "boot", "--sim", "ga106", "--synthetic", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["chipset"] == "GA106" and d["firmware_version"] == "535.113.01" and d["firmware_synthetic"] is True
    assert d["gsp_ready"] is True  # GSP-RM was ready before the shutdown at the end of the command
    assert [s["name"] for s in d["stages"]] == list(STAGES)
    assert all(s["ok"] is True and isinstance(s["seconds"], float) and s["seconds"] >= 0 for s in d["stages"])
    assert [o["class"] for o in d["objects"]] == [0x0, 0x80, 0x2080]
    assert all(isinstance(o["handle"], int) and o["handle"] for o in d["objects"])
    assert d["shutdown"]["status"] == "clean" and d["error"] is None
    assert d["static_info"]["gpu_short_name"] == "GA106"


def test_boot_default_is_ad102_and_says_which_firmware(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(tmp_path))  # nothing installed there
    rc, out, err = _run(capsys, "boot")
    assert rc == 0
    assert "sim:ad102" in out and "AD102" in out
    assert "firmware    GSP-RM 535.113.01, synthetic" in out or "GSP-RM 535.113.01, real" in out
    assert "shutdown: clean" in out
    assert f"[{len(STAGES)}/{len(STAGES)}] bar-pde" in err  # progress lines on a non-terminal stderr


def test_trace_is_valid_chrome_trace_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "boot.json"
    rc, _, _ = _run(capsys, "boot", "--sim", "tu106", "--synthetic", "--trace", str(trace), "--json")
    assert rc == 0
    doc = json.loads(trace.read_text())
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    for ev in events:
        assert ev["ph"] in ("X", "i", "M")
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int) and isinstance(ev["name"], str)
        if ev["ph"] != "M":
            assert isinstance(ev["ts"], (int, float)) and ev["ts"] >= 0
            assert ev["cat"] in ("stage", "rpc", "wait", "event")
        if ev["ph"] == "X":
            assert ev["dur"] >= 0
    names = {(ev["cat"], ev["name"]) for ev in events if ev["ph"] != "M"}
    assert ("stage", "booter-load") in names and ("rpc", "GET_GSP_STATIC_INFO") in names
    assert any(cat == "wait" for cat, _ in names) and any(cat == "event" for cat, _ in names)
    # both clocks: the device's (pid 1) and the host's (pid 2)
    assert {ev["pid"] for ev in events if ev["ph"] == "X"} == {1, 2}


def test_until_stops_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "boot", "--sim", "ga102", "--synthetic", "--until", "booter-load", "--json")
    assert rc == 0
    d = json.loads(out)
    assert [s["name"] for s in d["stages"]][-1] == "booter-load"
    assert d["stopped_after"] == "booter-load" and d["gsp_ready"] is False and d["objects"] == []
    assert d["shutdown"]["status"] == "clean"


def test_until_bad_stage_lists_stages(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "boot", "--until", "init")
    assert rc == 1
    assert "--until 'init' is not a stage" in err and "init-done" in err


def test_failure_is_one_line_and_logs_are_saved(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from nova_core.sim.models.secure_chain import SecureChainModel

    orig = SecureChainModel.__init__

    def with_booter_error(self: SecureChainModel, gpu: object) -> None:
        orig(self, gpu)  # type: ignore[arg-type]
        self.booter_error = True

    monkeypatch.setattr(SecureChainModel, "__init__", with_booter_error)
    rc, out, err = _run(capsys, "boot", "--sim", "ad104", "--synthetic", "--save-logs", str(tmp_path))
    assert rc == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("nova:")]
    assert len(lines) == 1 and "boot failed at stage 'booter-load'" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loginit", "logintr", "logrm"]
    assert all(p.stat().st_size == 0x10000 for p in tmp_path.iterdir())
    assert "shutdown: clean" in out


def test_hopper_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "boot", "--sim", "gh100")
    assert rc == 1 and "FSP" in err and "not implemented yet" in err and err.count("\n") == 1


def test_device_without_vfio_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "boot", "--device", "0000:7f:1f.7")
    assert rc == 1
    assert err.startswith("nova: error: ") and err.count("\n") == 1
    assert "0000:7f:1f.7" in err


def test_device_and_sim_options_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "boot", "--device", "0000:01:00.0", "--sim", "ga102")
    assert rc == 1 and "--device boots a real GPU" in err


def test_help_lists_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "boot", "--help")
    assert rc == 0
    for name in STAGES:
        assert name in out


def test_mm_stats_after_a_boot(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "mm", "stats", "--boot", "--sim", "ad104", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["booted"] is True and d["chipset"] == "AD104"
    tags = sorted(a["tag"] for a in d["allocations"])
    assert tags == ["bar1 PD3", "bar2 PD3", "bar2 instance block"]
    wpr2 = next(r for r in d["regions"] if r["name"] == "WPR2")
    assert all(not wpr2["start"] <= a["start"] < wpr2["start"] + wpr2["size"] for a in d["allocations"])
    assert d["stats"]["allocations"] == 3 + sum(1 for r in d["regions"] if r["inside"] is None)


def test_mm_stats_boot_refuses_device(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "mm", "stats", "--boot", "--device", "0000:01:00.0")
    assert rc == 1 and "--boot boots the simulated GPU" in err
