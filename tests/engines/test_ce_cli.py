"""``nova ce copy`` and ``nova boot --json``'s engines, on the chips the issue names - TU102, GA100, GA102, AD102
with NVIDIA's 535.113.01 firmware, GH100 and the Blackwells (booted through the FSP) with its 570.144 - and on
synthetic firmware."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from nova_core.cli.commands.ce import parse_size
from nova_core.cli.main import main
from nova_core.errors import NovaError

CLASSES = {"tu102": (0xC46F, 0xC5B5), "ga100": (0xC56F, 0xC6B5), "ga102": (0xC56F, 0xC7B5),
           "ad102": (0xC56F, 0xC7B5)}
#: the FSP-booted chips: HOPPER_CHANNEL_GPFIFO_A/HOPPER_DMA_COPY_A, BLACKWELL_CHANNEL_GPFIFO_A/B, DMA_COPY_A/B
CLASSES_FSP = {"gh100": (0xC86F, 0xC8B5), "gb100": (0xC96F, 0xC9B5), "gb202": (0xCA6F, 0xCAB5)}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["ce", "copy", *args, "--json"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(CLASSES))
def test_copy_with_nvidia_firmware(chip: str, firmware_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(firmware_path))
    size, seed = 3 << 20, 16
    _check(_run(capsys, "--sim", chip, "--size", str(size), "--seed", str(seed), "--real"), chip, size, seed,
           CLASSES[chip])


def _check(r: dict[str, object], chip: str, size: int, seed: int, classes: tuple[int, int]) -> None:
    assert list(r) == ["chip", "channel", "ce_class", "bytes", "dst_sha256", "seconds", "bytes_per_second"]
    assert r["chip"] == chip and r["bytes"] == size
    assert r["dst_sha256"] == hashlib.sha256(np.random.default_rng(seed).bytes(size)).hexdigest()
    channel = r["channel"]
    assert isinstance(channel, dict) and (channel["class"], r["ce_class"]) == classes
    assert channel["runlist"] == 1 and channel["chid"] == 0


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", sorted(CLASSES_FSP))
def test_copy_on_fsp_chips_with_nvidia_firmware(chip: str, firmware_570_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NOVA_FIRMWARE_PATH", str(firmware_570_path))
    _check(_run(capsys, "--sim", chip, "--size", str(1 << 20), "--seed", "5", "--real"), chip, 1 << 20, 5,
           CLASSES_FSP[chip])


@pytest.mark.parametrize("chip", ["gh100", "gb202"])
def test_copy_on_fsp_chips_synthetic(chip: str, capsys: pytest.CaptureFixture[str]) -> None:
    _check(_run(capsys, "--sim", chip, "--size", "0x30000", "--seed", "2", "--synthetic"), chip, 0x30000, 2,
           CLASSES_FSP[chip])


@pytest.mark.parametrize("direction", ["h2d", "d2h", "d2d", "h2h"])
def test_copy_directions_synthetic(direction: str, capsys: pytest.CaptureFixture[str]) -> None:
    r = _run(capsys, "--sim", "ga102", "--size", "0x10001", "--seed", "1", "--direction", direction, "--synthetic",
             "--engine", "ce3")
    assert r["dst_sha256"] == hashlib.sha256(np.random.default_rng(1).bytes(0x10001)).hexdigest()
    channel = r["channel"]
    assert isinstance(channel, dict) and channel["runlist"] == 4


def test_text_output_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ce", "copy", "--sim", "ad102", "--size", "64K", "--synthetic"]) == 0
    out = capsys.readouterr().out
    assert "copy engine class 0xc7b5" in out and "64 KiB copied (h2d)" in out
    assert main(["ce", "copy", "--size", "0"]) == 1
    assert "--size '0': the size must be positive" in capsys.readouterr().err
    assert main(["ce", "copy", "--direction", "sideways", "--synthetic"]) == 1
    assert "--direction 'sideways'" in capsys.readouterr().err


def test_parse_size() -> None:
    assert parse_size("16M") == parse_size("16MiB") == 16 << 20
    assert parse_size("0x1000") == 4096 and parse_size("1g") == 1 << 30 and parse_size("12345") == 12345
    with pytest.raises(NovaError):
        parse_size("lots")


def test_boot_json_lists_the_engines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boot", "--sim", "tu102", "--synthetic", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in d["engines"]] == ["GR0", "CE0", "CE1", "CE2", "CE3", "CE4"]
    assert [e["runlist"] for e in d["engines"]] == [0, 1, 2, 3, 4, 5]
