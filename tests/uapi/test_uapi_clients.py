"""Clients through nova_drm's uAPI: two clients isolated, removal while clients are open (ENODEV, nothing
crashes, everything released), many threads at once."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable

import pytest

import nova_drm
from nova_drm import push

from .conftest import CHIPS

KiB, MiB = 1 << 10, 1 << 20


def test_two_clients_are_isolated(drm: nova_drm.DrmDevice) -> None:
    a, b = drm.open(), drm.open()
    try:
        ha = a.gem_create(8 * KiB)
        a.gem_pwrite(ha, 0, b"a's secret")
        hb = b.gem_create(4 * KiB)
        assert ha == hb == 1  # each client numbers its own handles
        assert b.gem_info(hb) == 4 * KiB and a.gem_info(ha) == 8 * KiB
        assert b.gem_pread(hb, 0, 10) == bytes(10)  # b's object is b's (zero-filled), not a's
        ha2 = a.gem_create(4 * KiB)
        with pytest.raises(nova_drm.DrmError) as ei:
            b.gem_info(ha2)  # a's second handle means nothing to b
        assert ei.value.errno == errno.ENOENT
        ch = a.channel_create()
        s = a.syncobj_create()
        for call in (lambda: b.channel_destroy(ch), lambda: b.syncobj_destroy(s),
                     lambda: b.exec(ch, [(b.getparam(nova_drm.GETPARAM_VA_START), 8)])):
            with pytest.raises(nova_drm.DrmError) as ei:
                call()
            assert ei.value.errno == errno.ENOENT
        # the same GPU VA in both: separate address spaces
        va = a.getparam(nova_drm.GETPARAM_VA_START)
        a.vm_bind(ha, va)
        b.vm_bind(hb, va)
        b.gem_close(hb)
        with pytest.raises(nova_drm.DrmError):
            b.gem_close(hb)
        assert a.gem_pread(ha, 0, 10) == b"a's secret"  # b closing its handle 1 left a's handle 1 alone
    finally:
        a.close()
        b.close()


def test_closing_a_client(drm: nova_drm.DrmDevice) -> None:
    f = drm.open()
    va = f.getparam(nova_drm.GETPARAM_VA_START)
    hs = [f.gem_create(s) for s in (4 * KiB, MiB, 3 * MiB)]
    for i, h in enumerate(hs):
        f.vm_bind(h, va + i * 4 * MiB)
    f.channel_create()
    f.syncobj_create()
    f.close()
    f.close()  # idempotent
    with pytest.raises(nova_drm.DrmError) as ei:
        f.gem_info(hs[0])
    assert ei.value.errno == errno.EBADF
    g = drm.open()  # the device lives on for the others
    h = g.gem_create(4096)
    g.vm_bind(h, va)  # the same VA: the closed client's VM is gone with it
    g.close()


@pytest.mark.parametrize("chip", CHIPS)
def test_removal_while_clients_are_open(fresh: Callable[[str], nova_drm.DrmDevice], chip: str) -> None:
    dev = fresh(chip)
    f, g = dev.open(), dev.open()
    gp, ce = f.getparam(nova_drm.GETPARAM_GPFIFO_CLASS), f.getparam(nova_drm.GETPARAM_COPY_CLASS)
    va = f.getparam(nova_drm.GETPARAM_VA_START)
    src, dst, cmd = f.gem_create(MiB, placement="sysmem"), f.gem_create(MiB), f.gem_create(4096)
    for h, at in ((src, va), (dst, va + 2 * MiB), (cmd, va + 4 * MiB)):
        f.vm_bind(h, at)
    words = push.copy(gp, ce, va + 2 * MiB, va, MiB)
    f.gem_pwrite(cmd, 0, words)
    ch = f.channel_create()
    s = f.syncobj_create()
    f.exec(ch, [(va + 4 * MiB, len(words))], signal=[s])  # work in flight at removal
    hg = g.gem_create(4096)

    dev.remove()
    assert dev.removed
    calls: list[Callable[[], object]] = [
        lambda: f.getparam(nova_drm.GETPARAM_VRAM_BAR_SIZE), lambda: f.gem_create(4096), lambda: f.gem_info(src),
        lambda: f.gem_close(src), lambda: f.gem_pread(dst, 0, 4), lambda: f.gem_pwrite(dst, 0, b"x"),
        lambda: f.vm_bind(src, va + 8 * MiB), lambda: f.vm_unbind(va), f.channel_create,
        lambda: f.exec(ch, [(va + 4 * MiB, len(words))]), lambda: f.syncobj_wait([s], timeout_ns=10**6),
        f.syncobj_create, lambda: g.gem_info(hg), dev.open,
    ]
    for call in calls:
        with pytest.raises(nova_drm.DrmError) as ei:
            call()
        assert ei.value.errno == errno.ENODEV, ei.value
    f.close()  # closing after removal is quiet
    g.close()
    dev.remove()  # twice: nothing left to remove


@pytest.mark.parametrize("chip", CHIPS)
def test_removal_from_another_thread_during_calls(fresh: Callable[[str], nova_drm.DrmDevice], chip: str) -> None:
    """Clients hammer the device while it is removed: every call either works or fails with ENODEV."""
    dev = fresh(chip)
    files = [dev.open() for _ in range(4)]
    started = threading.Barrier(len(files) + 1)
    unexpected: list[BaseException] = []
    results = {"ok": 0, "enodev": 0}
    lock = threading.Lock()

    def client(f: nova_drm.File) -> None:
        started.wait(10)
        for _ in range(200):
            try:
                h = f.gem_create(4096)
                f.gem_pwrite(h, 0, b"abcd")
                assert f.gem_pread(h, 0, 4) == b"abcd"
                f.gem_close(h)
                with lock:
                    results["ok"] += 1
            except nova_drm.DrmError as e:
                if e.errno != errno.ENODEV:
                    unexpected.append(e)
                with lock:
                    results["enodev"] += 1
                return
            except BaseException as e:
                unexpected.append(e)
                return

    threads = [threading.Thread(target=client, args=(f,)) for f in files]
    for t in threads:
        t.start()
    started.wait(10)
    dev.remove()
    for t in threads:
        t.join(60)
    assert unexpected == []
    assert results["enodev"] + results["ok"] > 0


def test_many_threads_at_once(drm: nova_drm.DrmDevice) -> None:
    """Eight clients, each in its own thread: objects, binds, copies on their own channels, all checked."""
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            with drm.open() as f:
                gp, ce = f.getparam(nova_drm.GETPARAM_GPFIFO_CLASS), f.getparam(nova_drm.GETPARAM_COPY_CLASS)
                va = f.getparam(nova_drm.GETPARAM_VA_START)
                ch = f.channel_create()
                for round_ in range(3):
                    base = va + round_ * 16 * MiB
                    src, dst, cmd = f.gem_create(64 * KiB, placement="sysmem"), f.gem_create(64 * KiB), \
                        f.gem_create(4096)
                    data = os.urandom(64 * KiB)
                    f.gem_pwrite(src, 0, data)
                    for h, at in ((src, base), (dst, base + 2 * MiB), (cmd, base + 4 * MiB)):
                        f.vm_bind(h, at)
                    words = push.copy(gp, ce, base + 2 * MiB, base, 64 * KiB)
                    f.gem_pwrite(cmd, 0, words)
                    s = f.syncobj_create()
                    f.exec(ch, [(base + 4 * MiB, len(words))], signal=[s])
                    f.syncobj_wait([s], timeout_ns=10**9)
                    assert f.gem_pread(dst, 0, 64 * KiB) == data
                    for at in (base, base + 2 * MiB, base + 4 * MiB):
                        f.vm_unbind(at)
                    for h in (src, dst, cmd):
                        f.gem_close(h)
                    f.syncobj_destroy(s)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert errors == []
