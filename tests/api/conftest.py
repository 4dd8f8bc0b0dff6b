"""Booted simulated GPUs under the base API (synthetic firmware: fast and the same everywhere)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nova_core.api import AuxBus, NovaCore
from nova_core.sim_boot import boot_sim


@pytest.fixture(scope="module")
def core(_synthetic_cache_dir: Path) -> Iterator[NovaCore]:
    """A GA102 under the base API, booted once per module, publishing nothing (each test takes its own handle)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
        c = NovaCore(boot_sim("ga102", synthetic=True), bus=AuxBus(entry_points=list), publish=())
    try:
        yield c
    finally:
        c.shutdown()


@pytest.fixture
def make_core(_synthetic_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., NovaCore]]:
    """``make_core(chip="ga102", bus=None, publish=())``: a fresh core, shut down after the test."""
    monkeypatch.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
    made: list[NovaCore] = []

    def make(chip: str = "ga102", bus: AuxBus | None = None, publish: tuple[str, ...] = ()) -> NovaCore:
        c = NovaCore(boot_sim(chip, synthetic=True), bus=bus or AuxBus(entry_points=list), publish=publish)
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()
