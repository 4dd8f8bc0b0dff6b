"""``nova irq``: the interrupt view after a simulated boot - mode, geometry, every vector, the GSP's count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nova_core.cli.main import main

Capture = pytest.CaptureFixture[str]


@pytest.mark.parametrize(("chip", "mode", "leaves", "display"),
                         [("tu102", "msi", 8, True), ("ga102", "msi", 8, True), ("ad102", "msi", 8, True),
                          ("ga100", "msi-x", 8, False), ("gh100", "msi-x", 16, False), ("gb202", "msi", 16, True)])
def test_irq_json(chip: str, mode: str, leaves: int, display: bool, capsys: Capture) -> None:
    assert main(["irq", "--sim", chip, "--synthetic", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["mode"], out["top"], out["leaves"], out["subtrees"]) == (mode, 1, leaves, leaves // 2)
    assert out["chipset"] == chip.upper() and out["teardown"] == "clean" and out["reports"] == []
    vectors = {v["name"]: v for v in out["vectors"]}
    assert set(out["vectors"][0]) >= {"vector", "name", "kind", "count", "handler"}
    gsp = vectors["GSP"]
    assert gsp["kind"] == "stall" and gsp["count"] > 0 and gsp["handler"] == "GspInterrupt"
    assert vectors["GR0 non-stall"]["kind"] == "nonstall" and vectors["GR0 non-stall"]["handler"] is None
    assert ("DISP" in vectors) == display
    assert all(0 <= v["vector"] < leaves * 32 for v in out["vectors"])


def test_irq_poll_mode_and_text(capsys: Capture) -> None:
    assert main(["irq", "--sim", "ga102", "--synthetic", "--mode", "poll"]) == 0
    text = capsys.readouterr().out
    assert "polling (polling was asked for)" in text and "1 TOP register, 4 subtrees, 8 leaves" in text
    gsp = next(line for line in text.splitlines() if " GSP " in line)
    assert gsp.split()[:6] == ["192", "6", "0", "stall", "GSP", "0"]  # nothing delivered while polling


def test_irq_bad_mode_is_one_line(capsys: Capture) -> None:
    assert main(["irq", "--mode", "msi-y"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "nova: error: --mode 'msi-y': modes are msi-x, msi, intx, poll"


@pytest.mark.parametrize(("chip", "mode", "leaves"),
                         [("gh100", "msi-x", 16), ("gb202", "msi", 16), ("tu102", "msi", 8)])
def test_irq_tree_only(chip: str, mode: str, leaves: int, capsys: Capture) -> None:
    assert main(["irq", "--sim", chip, "--no-boot", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = (out["mode"], out["top"], out["subtrees"], out["leaves"], out["vectors"])
    assert got == (mode, 1, leaves // 2, leaves, [])


@pytest.mark.artifacts
@pytest.mark.parametrize(("chip", "mode"), [("gh100", "msi-x"), ("gb202", "msi")])
def test_irq_hopper_and_blackwell_with_real_570_firmware(chip: str, mode: str, firmware_570_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    """Booted through the FSP with NVIDIA's 570.144 files: the 16-leaf tree, and the GSP's vector - the one the
    simulated GSP-RM's kernel table gives - counted the messages of the boot."""
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(firmware_570_path))
    assert main(["irq", "--sim", chip, "--firmware-version", "570.144", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["firmware_version"] == "570.144" and out["firmware_synthetic"] is False
    assert (out["mode"], out["leaves"], out["teardown"]) == (mode, 16, "clean")
    gsp = next(v for v in out["vectors"] if v["name"] == "GSP")
    assert gsp["vector"] == out["gsp"]["vector"] and gsp["count"] > 0 and out["gsp"]["messages"] == gsp["count"]
