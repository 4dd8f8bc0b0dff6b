"""The generated bindings are what tools/gen_bindings.py makes of NVIDIA's headers.

Without the headers (CI has no network): every module records the SHA-256 of the generator that wrote
it, so changing the generator without regenerating fails here. With a local clone of
open-gpu-kernel-modules (``NOVA_OGKM=/path/to/clone``), the modules are regenerated and compared.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nova_core.gsp import bindings

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "tools" / "gen_bindings.py"


def _generator_module() -> object:
    spec = importlib.util.spec_from_file_location("gen_bindings", GENERATOR)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_bindings"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("version", list(bindings.SUPPORTED))
def test_modules_were_generated_by_this_generator(version: str) -> None:
    m = bindings.load(version)
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()
    assert digest == m.GENERATOR_SHA256, (
        f"{m.__name__} was written by another version of tools/gen_bindings.py: regenerate it "
        f"(tools/gen_bindings.py --source <open-gpu-kernel-modules clone>)")
    assert m.VERSION == m.SOURCE_TAG == version
    assert len(m.SOURCE_COMMIT) == 40 and len(m.INPUTS_SHA256) == 64


def test_generator_and_package_agree_on_versions() -> None:
    gen = _generator_module()
    assert gen.VERSIONS == bindings.SUPPORTED  # type: ignore[attr-defined]


@pytest.mark.slow
def test_regenerate_matches_committed_modules() -> None:
    source = os.environ.get("NOVA_OGKM")
    if not source:
        pytest.skip("NOVA_OGKM is not set (a clone of NVIDIA/open-gpu-kernel-modules with the release tags)")
    if shutil.which("gcc") is None or shutil.which("git") is None:
        pytest.skip("gcc and git are needed to regenerate the bindings")
    res = subprocess.run([sys.executable, str(GENERATOR), "--source", source, "--check"], capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
