"""``nova gr`` on the chips the issue names - TU102, GA100, GA102, AD102 with NVIDIA's 535.113.01 firmware, GH100 and
GB202 (booted through the FSP) with its 570.144 - and on synthetic firmware."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nova_core.cli.main import main
from nova_core.engines.gr import facts as G
from nova_core.gpu.chips import Chipset

COMPUTE = {"tu102": 0xC5C0, "ga100": 0xC6C0, "ga102": 0xC7C0, "ad102": 0xC9C0}
COMPUTE_FSP = {"gh100": 0xCBC0, "gb202": 0xCEC0}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["gr", *args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def _check(r: dict[str, Any], chip: str, compute_class: int, version: str) -> None:
    assert list(r) == ["chip", "firmware_version", "golden_context", "context_buffers_info", "compute_class",
                       "channel", "semaphore_released", "seconds"]
    assert r["chip"] == chip and r["firmware_version"] == version
    assert r["compute_class"] == compute_class and r["semaphore_released"] is True
    golden = r["golden_context"]
    assert golden["promoted"] is True and golden["threed_class"] == G.gr_classes_for(Chipset[chip.upper()]).threed
    buffers = golden["buffers"]
    assert [b["name"] for b in buffers] == [k.name for k in G.CTX_BUFFERS]
    for b in buffers:
        assert {"name", "size", "alignment", "va"} <= set(b) and b["size"] > 0
        assert b["va"] is None if b["name"] == "PRIV_ACCESS_MAP" else b["va"] % b["alignment"] == 0
    info = {e["name"]: e for e in r["context_buffers_info"]}
    assert buffers[0]["size"] == G.main_buffer_size(info["GRAPHICS"]["size"])
    assert len(r["channel"]["buffers"]) == 8


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(COMPUTE))
def test_gr_with_nvidia_firmware(chip: str, firmware_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(firmware_path))
    _check(_run(capsys, "--sim", chip, "--real"), chip, COMPUTE[chip], "535.113.01")


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(COMPUTE_FSP))
def test_gr_on_fsp_chips_with_nvidia_firmware(chip: str, firmware_570_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(firmware_570_path))
    _check(_run(capsys, "--sim", chip, "--real"), chip, COMPUTE_FSP[chip], "570.144")


@pytest.mark.parametrize("chip, version", [("tu102", "535.113.01"), ("gb202", "570.144")])
def test_gr_synthetic(chip: str, version: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = _run(capsys, "--sim", chip, "--synthetic", "--firmware-version", version)
    _check(r, chip, {**COMPUTE, "tu102": 0xC5C0, **COMPUTE_FSP}[chip], version)
    names = {e["name"] for e in r["context_buffers_info"]}
    assert ("GRAPHICS_SETUP" in names) == chip.startswith("gb")  # the sim reports it on Blackwell (550+ has it)


def test_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gr", "--sim", "tu102", "--synthetic"]) == 0
    out = capsys.readouterr().out
    assert "compute class 0xc5c0" in out and "golden context promoted" in out and "TURING_A" not in out
    assert "ATTRIBUTE_CB" in out and "released by the compute class" in out
