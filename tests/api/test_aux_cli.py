"""``nova aux``: the auxiliary devices of a booted GPU and the drivers bound to them."""

from __future__ import annotations

import json

import pytest

from nova_core.cli.main import main


@pytest.mark.parametrize("chip", ["tu102", "ga102", "ad102"])
def test_aux_json(chip: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aux", "--sim", chip, "--synthetic", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["gpu"] == f"sim:{chip}" and r["chip"] == chip
    (dev,) = r["devices"]
    assert dev["match"] == "nova-core.nova-drm" and dev["name"] == f"nova-core.nova-drm.{dev['id']}"
    assert dev["parent"] == f"sim:{chip}" and dev["driver"] == "nova-drm" and dev["probe_error"] is None
    drm = next(d for d in r["drivers"] if d["name"] == "nova-drm")
    assert drm["id_table"] == ["nova-core.nova-drm"] and drm["bound"] == [dev["name"]]
    assert {"name": "nova-core.nova-drm", "value": "nova_drm.driver:DRIVER", "error": None} in r["entry_points"]


def test_aux_text_and_a_fresh_id_per_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aux", "--sim", "ga102", "--synthetic"]) == 0
    first = capsys.readouterr().out
    assert main(["aux", "--sim", "ga102", "--synthetic"]) == 0
    second = capsys.readouterr().out
    assert "sim:ga102 (ga102): 1 auxiliary device(s)" in first and "bound to nova-drm" in first
    n1 = int(first.split("nova-core.nova-drm.")[1].split()[0])
    n2 = int(second.split("nova-core.nova-drm.")[1].split()[0])
    assert n2 > n1  # ids are never reused on the bus
