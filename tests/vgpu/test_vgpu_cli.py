"""``nova vgpu`` (its JSON, exactly the issue's keys) and the per-VF view in ``nova mount``'s tree."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from vgpu_bench import Bench

from nova_core.cli.commands.vgpu import parse_create
from nova_core.cli.main import main
from nova_core.debugfs import ExportTree
from nova_core.errors import NovaError


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["vgpu", *args, "--synthetic", "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_vgpu_json(capsys: pytest.CaptureFixture[str]) -> None:
    r = _json(capsys, "--sim", "ad102", "--vfs", "4", "--create", "1:1004", "--create", "2:1004", "--create", "4:1001")
    assert list(r) == ["types", "vgpus", "free_fb_bytes", "free_chids"]
    assert [list(t) for t in r["types"]] == [["id", "name", "fb_bytes", "max_instances"]] * 10
    assert r["types"][3] == {"id": 1004, "name": "NVIDIA L40-4Q", "fb_bytes": 3840 << 20, "max_instances": 12}
    assert [list(v) for v in r["vgpus"]] == [["vf", "type", "gfid", "fb", "chids"]] * 3
    assert [(v["vf"], v["type"], v["gfid"], v["chids"]["count"], v["fb"]["size"]) for v in r["vgpus"]] == [
        (1, 1004, 1, 128, 3840 << 20), (2, 1004, 2, 128, 3840 << 20), (4, 1001, 4, 64, 1 << 30)]
    assert all(list(v["fb"]) == ["addr", "size"] and list(v["chids"]) == ["first", "count"] for v in r["vgpus"])
    spans = sorted((v["fb"]["addr"], v["fb"]["addr"] + v["fb"]["size"]) for v in r["vgpus"])
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert r["free_chids"] == 2048 - 128 - 128 - 64
    assert 0 < r["free_fb_bytes"] < (48 << 30) - 2 * (3840 << 20) - (1 << 30)


def test_vgpu_other_boards(capsys: pytest.CaptureFixture[str]) -> None:
    r = _json(capsys, "--sim", "ga100", "--vfs", "2", "--create", "2:4008")
    assert r["types"][-1] == {"id": 4008, "name": "NVIDIA A100D-80C", "fb_bytes": 75 << 30, "max_instances": 1}
    assert r["vgpus"][0]["chids"] == {"first": 0, "count": 2048}
    assert r["free_chids"] == 0


def test_vgpu_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vgpu", "--vfs", "2", "--create", "1:1004", "--synthetic"]) == 0
    out = capsys.readouterr().out
    assert "ad102 (L40): 10 vGPU types, 2 VF(s), 1 vGPU(s)" in out
    assert "VF 1: type 1004 (gfid 1)" in out and "VF 1 creatable: none" in out
    assert "VF 2 creatable: 1001, 1002" in out


@pytest.mark.parametrize("text,want", [("1:1004", (1, 1004)), (" 2 : 0x3ec ", (2, 1004)), ("16:1", (16, 1))])
def test_parse_create(text: str, want: tuple[int, int]) -> None:
    assert parse_create(text) == want


@pytest.mark.parametrize("text", ["", "1", ":5", "1:", "a:b", "0:1", "1:-3", "-1:4"])
def test_parse_create_refused(text: str) -> None:
    with pytest.raises(NovaError, match="--create"):
        parse_create(text)


def test_tree_shows_the_per_vf_view(bench: Bench) -> None:
    v = bench.mgr.create(2, 1004)
    tree = ExportTree([bench.gpu], vgpu={bench.gpu.name: bench.mgr})
    root = "sim-ad102/vgpu"
    assert tree.listdir(root) == ["vf1", "vf2", "vf3", "vf4"]
    assert tree.listdir(f"{root}/vf1") == ["creatable_vgpu_types", "current_vgpu_type"]
    assert tree.read(f"{root}/vf2/current_vgpu_type") == b"1004\n"
    assert tree.read(f"{root}/vf2/creatable_vgpu_types") == b"ID    : vGPU Name\n"
    assert tree.read(f"{root}/vf1/current_vgpu_type") == b"0\n"
    assert b"1004  : NVIDIA L40-4Q\n" in tree.read(f"{root}/vf1/creatable_vgpu_types")
    bench.mgr.destroy(v.gfid)  # contents are produced when read: the tree follows the manager
    assert tree.read(f"{root}/vf2/current_vgpu_type") == b"0\n"
    bench.mgr.disable_vfs()
    assert tree.read(f"{root}/vf2/current_vgpu_type").startswith(b"VF 2: VF 2 is out of range")


def test_tree_without_a_manager_has_no_vgpu_dir(bench: Bench) -> None:
    tree = ExportTree([bench.gpu])
    assert "vgpu" not in tree.listdir("sim-ad102")
