"""nova_drm gives back everything it took: a closed client, a removed device (checked on the allocators, below
the uAPI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nova_drm

MiB = 1 << 20


@pytest.fixture
def drm(_synthetic_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[nova_drm.DrmDevice]:
    monkeypatch.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
    dev = nova_drm.open_device(chip="ga102", synthetic=True)
    try:
        yield dev
    finally:
        dev.close()


def held(dev: nova_drm.DrmDevice) -> tuple[int, dict[str, int], int]:
    """VRAM free, the FIFO's tables, DMA mappings. A first channel makes the FIFO take a USERD page it keeps (as
    nouveau allocates USERD once): warm that up before the first measure."""
    gpu: Any = dev.core.gpu
    if not gpu.fifo.stats()["userd_pages"]:
        with dev.open() as f:
            f.channel_create()
    return gpu.bars.allocator.stats().free, gpu.fifo.stats(), len(gpu.dev.sim.sysmem.mappings())


def busy_client(dev: nova_drm.DrmDevice) -> nova_drm.File:
    f = dev.open()
    va = f.getparam(nova_drm.GETPARAM_VA_START)
    kept = f.gem_create(MiB)
    f.vm_bind(kept, va)
    f.gem_close(kept)  # bound, handle closed: freed with its binding
    for i, (size, where) in enumerate(((4096, "vram"), (3 * MiB, "vram"), (64 << 10, "sysmem"))):
        h = f.gem_create(size, placement=where)
        f.vm_bind(h, va + (i + 1) * 4 * MiB)
    f.gem_create(8192)
    f.channel_create()
    f.syncobj_create()
    return f


def test_closing_a_client_gives_everything_back(drm: nova_drm.DrmDevice) -> None:
    before = held(drm)
    f = busy_client(drm)
    assert held(drm) != before
    f.close()
    assert f.close_problems == []
    assert held(drm) == before


def test_removal_gives_everything_back(drm: nova_drm.DrmDevice) -> None:
    before = held(drm)
    f, g = busy_client(drm), busy_client(drm)
    drm.remove()
    assert held(drm) == before  # the bus revoked the binding's resources: nothing left behind
    f.close()
    g.close()
    assert f.close_problems == g.close_problems == []
