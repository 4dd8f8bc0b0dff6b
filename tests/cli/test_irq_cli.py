"""``nova irq``: the interrupt view after a simulated boot - mode, geometry, every vector, the GSP's count."""

from __future__ import annotations

import json

import pytest

from nova_core.cli.main import main

Capture = pytest.CaptureFixture[str]


@pytest.mark.parametrize(("chip", "mode", "leaves", "display"),
                         [("tu102", "msi", 8, True), ("ga102", "msi", 8, True), ("ad102", "msi", 8, True),
                          ("ga100", "msi-x", 8, False)])
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
def test_irq_tree_only_for_chips_that_do_not_boot_yet(chip: str, mode: str, leaves: int, capsys: Capture) -> None:
    assert main(["irq", "--sim", chip, "--no-boot", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = (out["mode"], out["top"], out["subtrees"], out["leaves"], out["vectors"])
    assert got == (mode, 1, leaves // 2, leaves, [])
