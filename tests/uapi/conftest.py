"""The uAPI suite's GPUs: nova-drm bound to a simulated TU102, GA102 and AD102 (synthetic firmware).

Everything under tests/uapi talks to the driver only through ``nova_drm``: ``open_device``, ``DrmDevice.open`` /
``remove`` / ``close``, the ``File`` calls, ``DrmError``, the parameter ids and ``nova_drm.push`` (the client-side
pushbuffer builder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import nova_drm

CHIPS = ("tu102", "ga102", "ad102")


@pytest.fixture(scope="module", params=CHIPS)
def drm(request: pytest.FixtureRequest, _synthetic_cache_dir: Path) -> Iterator[nova_drm.DrmDevice]:
    """nova-drm on each chip, booted once per module (tests open and close their own clients)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
        dev = nova_drm.open_device(chip=request.param, synthetic=True)
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def client(drm: nova_drm.DrmDevice) -> Iterator[nova_drm.File]:
    """A client of :func:`drm`, closed after the test."""
    f = drm.open()
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def fresh(_synthetic_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], nova_drm.DrmDevice]]:
    """``fresh(chip)``: a device of its own (for removal), closed after the test."""
    monkeypatch.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
    made: list[nova_drm.DrmDevice] = []

    def make(chip: str) -> nova_drm.DrmDevice:
        dev = nova_drm.open_device(chip=chip, synthetic=True)
        made.append(dev)
        return dev

    yield make
    for dev in made:
        dev.close()
