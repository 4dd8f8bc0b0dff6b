"""Shared fixtures: simulated GPUs, and the real artifacts (skipped cleanly where absent).

Real artifacts come from the environment that ``./dev test`` prepares:
- ``NOVA_FIRMWARE_PATH``: a firmware root holding ``nvidia/...`` (Debian firmware-nvidia-graphics and
  firmware-nvidia-gsp, fetched by ``tools/fetch_artifacts.py``);
- ``NOVA_VBIOS_DIR``: the vBIOS ROMs (default ``../shared/vbios`` beside the checkout).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from nova_core.sim import SimGpu

REPO = Path(__file__).resolve().parent.parent


def vbios_dir() -> Path | None:
    env = os.environ.get("NOVA_VBIOS_DIR")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "vbios"]:
        if cand.is_dir() and any(cand.glob("*.rom")):
            return cand
    return None


def firmware_root() -> Path | None:
    env = os.environ.get("NOVA_FIRMWARE_PATH")
    for cand in (env.split(os.pathsep) if env else []) + ["/lib/firmware"]:
        p = Path(cand)
        if (p / "nvidia").is_dir() and any((p / "nvidia").glob("*/gsp")):
            return p
    return None


@pytest.fixture
def sim_factory() -> Callable[..., SimGpu]:
    """Build simulated GPUs: ``sim_factory("ga102", vbios=...)``."""
    return SimGpu


@pytest.fixture
def sim() -> SimGpu:
    """A default simulated AD102."""
    return SimGpu("ad102")


@pytest.fixture
def vbios_path() -> Path:
    d = vbios_dir()
    if d is None:
        pytest.skip("no vBIOS ROMs (set NOVA_VBIOS_DIR or put shared/vbios beside the checkout)")
    return d


@pytest.fixture
def firmware_path() -> Path:
    d = firmware_root()
    if d is None:
        pytest.skip("no NVIDIA firmware (run through ./dev test, which fetches it, or set NOVA_FIRMWARE_PATH)")
    return d


#: test directories whose boots may generate the synthetic firmware set: they get a private NOVA_CACHE
_SYNTHETIC_CACHE_DIRS = ("boot", "debugfs", "engines", "falcon_emu", "vgpu")


@pytest.fixture(scope="session")
def _synthetic_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nova-cache")


@pytest.fixture(autouse=True)
def _private_synthetic_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Boots in tests/boot, tests/debugfs and tests/engines write the synthetic firmware set into a session directory
    (set and restored per test): the user's cache is never touched, and other tests still find the fetched
    artifacts in the real ``NOVA_CACHE``."""
    rel = Path(str(request.node.path)).resolve().relative_to(REPO / "tests")
    if rel.parts and rel.parts[0] in _SYNTHETIC_CACHE_DIRS:
        monkeypatch.setenv("NOVA_CACHE", str(request.getfixturevalue("_synthetic_cache_dir")))
