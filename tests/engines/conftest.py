"""Booted simulated GPUs for the channel tests (synthetic firmware: fast and the same everywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nova_core.gsp.boot import GspDevice
from nova_core.sim_boot import boot_sim


@pytest.fixture(scope="module")
def ga102(_synthetic_cache_dir: Path) -> Iterator[GspDevice]:
    """A GA102 booted once per module (tests open and close their own channels on it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
        gpu = boot_sim("ga102", synthetic=True)
    try:
        yield gpu
    finally:
        gpu.close()


@pytest.fixture
def booter(_synthetic_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """``booter(chip, version=None)``: a fresh synthetic boot, closed after the test."""
    monkeypatch.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
    made: list[GspDevice] = []

    def boot(chip: str, version: str | None = None) -> GspDevice:
        gpu = boot_sim(chip, synthetic=True, firmware_version=version)
        made.append(gpu)
        return gpu

    yield boot
    for gpu in made:
        gpu.close()
