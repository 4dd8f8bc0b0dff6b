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


@pytest.mark.parametrize("chip", ["gh100", "gb202"])
def test_exec_on_gpus_booted_through_the_fsp(chip: str, _synthetic_cache_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the uAPI suite's three chips: nova-drm on Hopper and Blackwell (their classes, MMU v3, 52-bit
    BAR pointers) - a copy on the copy engine from the client's pushbuffer."""
    from nova_drm import push

    monkeypatch.setenv("NOVA_CACHE", str(_synthetic_cache_dir))
    with nova_drm.open_device(chip=chip, synthetic=True) as dev, dev.open() as f:
        va = f.getparam(nova_drm.GETPARAM_VA_START)
        src, dst, cmd = f.gem_create(MiB, placement="sysmem"), f.gem_create(MiB), f.gem_create(4096)
        data = bytes(range(256)) * 4096
        f.gem_pwrite(src, 0, data)
        for h, at in ((src, va), (dst, va + 2 * MiB), (cmd, va + 4 * MiB)):
            f.vm_bind(h, at)
        words = push.copy(f.getparam(nova_drm.GETPARAM_GPFIFO_CLASS), f.getparam(nova_drm.GETPARAM_COPY_CLASS),
                          va + 2 * MiB, va, MiB)
        f.gem_pwrite(cmd, 0, words)
        s = f.syncobj_create()
        f.exec(f.channel_create(), [(va + 4 * MiB, len(words))], signal=[s])
        f.syncobj_wait([s], timeout_ns=10**9)
        assert f.gem_pread(dst, 0, MiB) == data
