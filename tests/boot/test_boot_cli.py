"""``nova boot``: JSON keys, the Chrome/Perfetto trace, --until, failures as one line, and the refusals."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.gpu.chips import Chipset
from nova_core.gsp.boot import STAGES, stages_for


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
    assert [s["name"] for s in d["stages"]] == list(stages_for(Chipset.GA106))
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
    n = len(stages_for(Chipset.AD102))  # progress lines on a non-terminal stderr count AD102's own stages
    assert f"[{n}/{n}] engines" in err


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


@pytest.fixture
def booter_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every simulated GPU's booter_load reports an error (the boot fails at booter-load)."""
    from nova_core.sim.models.secure_chain import SecureChainModel

    orig = SecureChainModel.__init__

    def with_booter_error(self: SecureChainModel, gpu: object) -> None:
        orig(self, gpu)  # type: ignore[arg-type]
        self.booter_error = True

    monkeypatch.setattr(SecureChainModel, "__init__", with_booter_error)


def test_failure_is_one_line_and_logs_are_saved(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                booter_error: None) -> None:
    rc, out, err = _run(capsys, "boot", "--sim", "ad104", "--synthetic", "--save-logs", str(tmp_path))
    assert rc == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("nova:")]
    assert len(lines) == 1 and "boot failed at stage 'booter-load'" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loginit", "logintr", "logrm"]
    assert all(p.stat().st_size == 0x10000 for p in tmp_path.iterdir())
    assert "shutdown: clean" in out


@pytest.mark.parametrize("chip", ["gh100", "gb100", "gb202"])
def test_hopper_and_blackwell_boot_through_the_fsp(capsys: pytest.CaptureFixture[str], chip: str) -> None:
    rc, out, err = _run(capsys, "boot", "--sim", chip, "--firmware-version", "570.144", "--synthetic", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["chipset"] == chip.upper() and d["gsp_ready"] is True and d["firmware_synthetic"] is True
    assert d["firmware_version"] == "570.144" and d["shutdown"]["status"] == "clean"
    names = [s["name"] for s in d["stages"]]
    assert names == list(stages_for(Chipset.parse(chip)))
    assert {"fmc-load", "fsp-cot", "gsp-lockdown"} <= set(names) and "booter-load" not in names
    assert d["layout"]["acr_placed"] is True


def test_fsp_progress_counts_the_chips_own_stages(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "boot", "--sim", "gb202", "--synthetic", "--until", "fsp-cot")
    assert rc == 0
    order = stages_for(Chipset.GB202)
    assert f"[{order.index('fsp-cot') + 1}/{len(order)}] fsp-cot" in err and "booter" not in err


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


@pytest.mark.parametrize("chip", ["tu102", "ga100", "ga102", "ad104"])
def test_mm_stats_after_a_boot(capsys: pytest.CaptureFixture[str], chip: str) -> None:
    """Done-when of issue 13: `nova mm stats --boot --json` lists the driver's allocations, all outside the FB
    regions static info marks reserved or protected; everything but the usable regions is reserved."""
    rc, out, _ = _run(capsys, "mm", "stats", "--boot", "--sim", chip, "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["booted"] is True and d["chipset"] == chip.upper()
    # BAR2's directories, and page tables a boot's short-lived BAR2 mapping left idle in the VMM's table cache
    tags = sorted(a["tag"] for a in d["allocations"])
    assert [t for t in tags if t.startswith("bar2 PD")] == ["bar2 PD0", "bar2 PD1", "bar2 PD2", "bar2 PD3"], tags
    assert all(t in ("bar2 PT_SMALL", "bar2 PT_BIG") for t in tags[4:]), tags
    kept = [(r["base"], r["limit"] + 1) for r in d["fb_regions"] if r["reserved"] or r["protected"]]
    usable = [(r["base"], r["limit"] + 1) for r in d["fb_regions"] if not r["reserved"] and not r["protected"]]
    assert kept and usable
    for a in d["allocations"]:
        assert all(a["start"] + a["size"] <= lo or a["start"] >= hi for lo, hi in kept), a
        assert any(lo <= a["start"] and a["start"] + a["size"] <= hi for lo, hi in usable), a
    # the allocator's reservations cover every reserved/protected region and nothing usable
    res = [(r["start"], r["start"] + r["size"]) for r in d["reservations"]]
    for lo, hi in kept:
        assert sum(min(hi, e) - max(lo, s) for s, e in res if s < hi and e > lo) == hi - lo
    free = d["stats"]["free"] + sum(a["size"] for a in d["allocations"])
    assert free <= sum(hi - lo for lo, hi in usable)


def test_mm_stats_boot_refuses_device(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _run(capsys, "mm", "stats", "--boot", "--device", "0000:01:00.0")
    assert rc == 1 and "--boot boots the simulated GPU" in err


# -- issue 22: outputs checked before the boot, written without following planted links; JSON failures ----------

def test_save_logs_never_writes_through_a_planted_link(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    logs, victim = tmp_path / "logs", tmp_path / "victim"
    logs.mkdir()
    victim.write_text("precious\n")
    (logs / "loginit").symlink_to(victim)
    os.link(victim, logs / "logrm")  # a hard link too
    rc, _, _ = _run(capsys, "boot", "--sim", "tu102", "--synthetic", "--save-logs", str(logs))
    assert rc == 0
    assert victim.read_text() == "precious\n"  # neither link was written through
    for name in ("loginit", "logintr", "logrm"):
        p = logs / name
        assert not p.is_symlink() and p.stat().st_size == 0x10000 and p.stat().st_nlink == 1
    assert not list(logs.glob(".*"))  # no temporary file left behind


def test_bad_outputs_are_refused_before_the_boot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    t0 = time.perf_counter()
    for args, says in ((["--trace", "/nonexistent/t.json"], "no directory '/nonexistent'"),
                       (["--trace", str(tmp_path)], "is a directory; give a file name"),
                       (["--save-logs", "/proc/nope"], "cannot create the directory"),
                       (["--save-logs", str(tmp_path / "f")], "exists and is not a directory")):
        (tmp_path / "f").write_text("")
        rc, out, err = _run(capsys, "boot", "--sim", "ga102", *args)
        assert rc == 1 and err.startswith(f"nova: error: {args[0]} {args[1]!r}") and err.count("\n") == 1
        assert says in err and out == "" and "nova boot: [" not in err  # nothing booted
    assert time.perf_counter() - t0 < 2.0


def test_a_refused_chip_with_json_fails_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "boot", "--sim", "gk104", "--json")  # Kepler: no GSP (every GSP chip boots now)
    assert rc == 1 and err.startswith("nova: error: ") and err.count("\n") == 1
    doc = json.loads(out)
    assert doc["error"]["type"] == "ChipError" and "unknown chipset 'gk104'" in doc["error"]["message"]


def test_a_failed_boot_with_json_is_one_document(capsys: pytest.CaptureFixture[str], booter_error: None) -> None:
    rc, out, err = _run(capsys, "boot", "--sim", "ad104", "--synthetic", "--json")
    assert rc == 1 and err.count("nova: error:") == 1
    doc = json.loads(out)  # the boot's own document, carrying the error - not a second one
    assert doc["error"]["stage"] == "booter-load" and "stages" in doc


def test_the_synthetic_firmware_hint_says_what_is_true(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(tmp_path / "nothing"))
    monkeypatch.setenv("NOVA_CACHE", str(tmp_path / "cache"))
    fetched = tmp_path / "cache" / "firmware" / "root" / "usr" / "lib" / "firmware"
    sid = tmp_path / "cache" / "firmware-sid" / "current" / "usr" / "lib" / "firmware"
    rc, out, _ = _run(capsys, "boot", "--sim", "tu102", "--until", "firmware")
    assert rc == 0 and f"./dev test fetches NVIDIA's sets into {fetched} and {sid}" in out
    assert "install firmware-nvidia-graphics for the real set" not in out
    (fetched / "nvidia").mkdir(parents=True)  # as ./dev test leaves it
    rc, out, _ = _run(capsys, "boot", "--sim", "tu102", "--until", "firmware")
    assert rc == 0 and f"NVIDIA's sets, fetched by ./dev test, are in {fetched}: ./dev boot uses them" in out
    (sid / "nvidia").mkdir(parents=True)
    rc, out, _ = _run(capsys, "boot", "--sim", "tu102", "--until", "firmware")
    assert rc == 0 and f"are in {fetched} and {sid}: ./dev boot uses them" in out
