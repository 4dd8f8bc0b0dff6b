"""The committed class tables (:mod:`nova_core.engines.reference`) are what NVIDIA's headers give.

``tests/engines/test_engine_facts.py`` and ``test_gr_facts.py`` compare the channel, copy and GR facts with the
tables on every run; here: that the tables were written by the current ``tools/gen_class_reference.py``, that it
says so when it has no headers, and - with open-gpu-kernel-modules 570.144 (``NOVA_OGKM_TREE``: an unpacked tree;
``NOVA_OGKM``: a clone with the tag) or an open-gpu-doc clone (``NOVA_OPEN_GPU_DOC``) at hand - that regenerating
gives the committed table.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nova_core.engines.reference import open_gpu_doc, r570_144
from ogkm_tree import ogkm_570_source

REPO = Path(__file__).resolve().parent.parent.parent
GENERATOR = REPO / "tools" / "gen_class_reference.py"
_ENV = ("NOVA_OGKM", "NOVA_OGKM_TREE", "NOVA_OPEN_GPU_DOC")


@pytest.mark.parametrize("table", [r570_144, open_gpu_doc], ids=["r570_144", "open_gpu_doc"])
def test_the_table_was_written_by_this_generator(table: ModuleType) -> None:
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()
    assert digest == table.GENERATOR_SHA256, (
        f"src/nova_core/engines/reference/{table.__name__.rsplit('.', 1)[1]}.py was written by another version of "
        f"tools/gen_class_reference.py: regenerate it (tools/gen_class_reference.py --ogkm DIR --open-gpu-doc DIR)")
    assert len(table.INPUTS_SHA256) == 64 and table.HEADERS
    for kind in (table.CLASSES, table.METHODS, table.NUMBERS, table.ARRAYS, table.FIELDS, table.STATEMENTS):
        assert set(kind) <= set(table.HEADERS)
    assert r570_144.SOURCE_REVISION == "570.144" and len(open_gpu_doc.SOURCE_REVISION) == 40


def _generator(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(GENERATOR), *args], capture_output=True, text=True, timeout=600,
                          check=False, env=env)


def _only(*unset: str) -> dict[str, str]:
    """The environment without ``unset``: one source per run of the generator."""
    return {k: v for k, v in os.environ.items() if k not in unset}


def test_check_without_the_headers_says_so(tmp_path: Path) -> None:
    env = _only(*_ENV)
    res = _generator("--check", env=env)
    assert res.returncode == 2 and "no headers: pass --ogkm DIR" in res.stderr and "nothing was checked" in res.stderr
    assert res.stdout == ""
    res = _generator("--ogkm", str(tmp_path), "--check", env=env)
    assert res.returncode == 2 and f"no NVIDIA headers at {tmp_path}" in res.stderr
    res = _generator("--open-gpu-doc", str(tmp_path), "--check", env=env)
    assert res.returncode == 2 and f"no open-gpu-doc at {tmp_path}" in res.stderr
    (tmp_path / "kernel-open/nvidia-uvm").mkdir(parents=True)
    (tmp_path / "kernel-open/nvidia-uvm/clc46f.h").write_text("#define NVC46F_SET_OBJECT (0x00000000)\n")
    (tmp_path / "version.mk").write_text("NVIDIA_VERSION = 550.163.01\n")
    res = _generator("--ogkm", str(tmp_path), "--check", env=env)
    assert res.returncode == 2 and "is open-gpu-kernel-modules 550.163.01, not 570.144" in res.stderr
    (tmp_path / "version.mk").write_text("NVIDIA_VERSION = 570.144\n")
    res = _generator("--ogkm", str(tmp_path), "--check", env=env)
    assert res.returncode == 2 and "clc46f.h: no methods/fields define starting with 'NVC46F_'" in res.stderr
    assert "nothing was checked" in res.stderr and res.stdout == ""


def test_a_changed_table_is_reported(tmp_path: Path) -> None:
    """--check exits 1 when the committed table differs from what the headers give (a planted fact)."""
    source = ogkm_570_source()
    text = (REPO / "src/nova_core/engines/reference/r570_144.py").read_text()
    planted = text.replace('"NVC5B5_LAUNCH_DMA": 0x300,', '"NVC5B5_LAUNCH_DMA": 0x304,', 1)
    assert planted != text
    (tmp_path / "r570_144.py").write_text(planted)
    res = _generator("--ogkm", source, "--check", "--out-dir", str(tmp_path), env=_only("NOVA_OPEN_GPU_DOC"))
    assert res.returncode == 1 and "r570_144.py: differs from what the headers give" in res.stderr


def test_regenerating_from_570_144_gives_the_committed_table() -> None:
    res = _generator("--ogkm", ogkm_570_source(), "--check", env=_only("NOVA_OPEN_GPU_DOC"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "r570_144.py: up to date" in res.stdout


def test_regenerating_from_open_gpu_doc_gives_the_committed_table() -> None:
    doc = os.environ.get("NOVA_OPEN_GPU_DOC")
    if not doc:
        pytest.skip("NOVA_OPEN_GPU_DOC is not set (a clone of NVIDIA/open-gpu-doc)")
    if shutil.which("git") is None:
        pytest.skip("git is needed to read the headers out of a clone")
    res = _generator("--open-gpu-doc", doc, "--check", env=_only("NOVA_OGKM", "NOVA_OGKM_TREE"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "open_gpu_doc.py: up to date" in res.stdout
