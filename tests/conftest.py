"""Shared fixtures: simulated GPUs, and the real artifacts (skipped cleanly where absent).

Real artifacts come from the environment that ``./dev test`` prepares:
- ``NOVA_FIRMWARE_PATH``: firmware roots holding ``nvidia/...`` (Debian firmware-nvidia-graphics and
  firmware-nvidia-gsp, and sid's firmware-nvidia-graphics with GSP-RM 570.144, fetched by
  ``tools/fetch_artifacts.py``);
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


def _firmware_roots() -> list[Path]:
    env = os.environ.get("NOVA_FIRMWARE_PATH")
    return [Path(c) for c in (env.split(os.pathsep) if env else [])] + [Path("/lib/firmware")]


def firmware_root() -> Path | None:
    return next((p for p in _firmware_roots() if (p / "nvidia").is_dir() and any((p / "nvidia").glob("*/gsp"))),
                None)


#: a file only the 570.144 linux-firmware (Debian sid's firmware-nvidia-graphics) has
FIRMWARE_570_MARKER = "nvidia/gh100/gsp/fmc-570.144.bin"


def firmware_570_root() -> Path | None:
    """The root holding GSP-RM 570.144 for every chip (the Hopper/Blackwell FMC included), if any."""
    return next((p for p in _firmware_roots() if (p / FIRMWARE_570_MARKER).is_file()), None)


@pytest.fixture
def firmware_570_path() -> Path:
    d = firmware_570_root()
    if d is None:
        pytest.skip("no GSP-RM 570.144 linux-firmware (Debian sid firmware-nvidia-graphics; ./dev test fetches it)")
    return d


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
_SYNTHETIC_CACHE_DIRS = ("boot", "debugfs", "falcon_emu", "engines", "api", "uapi", "vgpu")


@pytest.fixture(scope="session")
def _synthetic_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nova-cache")


@pytest.fixture(autouse=True)
def _private_synthetic_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Boots in the directories above write the synthetic firmware set into a session directory
    (set and restored per test): the user's cache is never touched, and other tests still find the fetched
    artifacts in the real ``NOVA_CACHE``."""
    rel = Path(str(request.node.path)).resolve().relative_to(REPO / "tests")
    if rel.parts and rel.parts[0] in _SYNTHETIC_CACHE_DIRS:
        monkeypatch.setenv("NOVA_CACHE", str(request.getfixturevalue("_synthetic_cache_dir")))
