"""VM binds and exec through nova_drm's uAPI: overlaps, alignment, a copy and a fill on the copy engine from the
client's own pushbuffers, in- and out-fences, syncobj waits, a channel the GPU stops."""

from __future__ import annotations

import errno
import os

import pytest

import nova_drm
from nova_drm import push

KiB, MiB = 1 << 10, 1 << 20


def classes(f: nova_drm.File) -> tuple[int, int]:
    return f.getparam(nova_drm.GETPARAM_GPFIFO_CLASS), f.getparam(nova_drm.GETPARAM_COPY_CLASS)


def code(exc: pytest.ExceptionInfo[nova_drm.DrmError]) -> int:
    return exc.value.errno


def test_vm_bind_unbind_and_overlaps(client: nova_drm.File) -> None:
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    end = client.getparam(nova_drm.GETPARAM_VA_END)
    a = client.gem_create(2 * MiB)
    b = client.gem_create(64 * KiB)
    client.vm_bind(a, va)
    client.vm_bind(b, va + 2 * MiB, page_size=4 * KiB)
    assert client.vm_bindings() == [(va, 2 * MiB), (va + 2 * MiB, 64 * KiB)]
    for where, size in ((va, None), (va + MiB, None), (va + 2 * MiB - 4 * KiB, 8 * KiB), (va + 2 * MiB + 60 * KiB,
                                                                                         4 * KiB)):
        with pytest.raises(nova_drm.DrmError, match="overlaps") as ei:
            client.vm_bind(b, where, size=size)
        assert code(ei) == errno.EEXIST
    cases = [
        (dict(va=va - 4 * KiB), errno.EINVAL, "GPU VAs for binds"),
        (dict(va=end - 4 * KiB), errno.EINVAL, "GPU VAs for binds"),
        (dict(va=va + 8 * MiB + 4 * KiB, page_size=64 * KiB), errno.EINVAL, "not a multiple of the page size"),
        (dict(va=va + 8 * MiB, page_size=12 * KiB), errno.EINVAL, "page size"),
        (dict(va=va + 8 * MiB, offset=64 * KiB), errno.EINVAL, "offset"),
        (dict(va=va + 8 * MiB, size=128 * KiB), errno.EINVAL, "not inside"),
        (dict(va=va + 8 * MiB + 1), errno.EINVAL, "not a multiple"),
    ]
    for kw, want, text in cases:
        with pytest.raises(nova_drm.DrmError, match=text) as ei:
            client.vm_bind(b, **kw)  # type: ignore[arg-type]
        assert code(ei) == want, kw
    with pytest.raises(nova_drm.DrmError) as ei:
        client.vm_bind(999, va + 8 * MiB)
    assert code(ei) == errno.ENOENT
    client.vm_unbind(va + 2 * MiB)
    with pytest.raises(nova_drm.DrmError, match="no binding starts") as ei:
        client.vm_unbind(va + 2 * MiB)
    assert code(ei) == errno.ENOENT
    client.vm_bind(b, va + 2 * MiB + 64 * KiB, page_size=64 * KiB)  # the hole is free again
    client.vm_unbind(va)
    client.vm_unbind(va + 2 * MiB + 64 * KiB)
    assert client.vm_bindings() == []


def test_gem_close_while_bound_keeps_the_memory_until_unbind(client: nova_drm.File) -> None:
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    h = client.gem_create(64 * KiB)
    client.gem_pwrite(h, 0, b"kept")
    client.vm_bind(h, va)
    client.gem_close(h)
    with pytest.raises(nova_drm.DrmError) as ei:
        client.gem_info(h)
    assert code(ei) == errno.ENOENT
    assert client.vm_bindings() == [(va, 64 * KiB)]  # the mapping (and its memory) live on
    client.vm_unbind(va)
    assert client.vm_bindings() == []


def setup_copy(f: nova_drm.File, size: int, *, src_placement: str = "sysmem",
               page: int | None = None) -> tuple[int, int, int, int, bytes]:
    """src, dst and a pushbuffer object bound in f's VM; returns (src va, dst va, push va, dst handle, data)."""
    va = f.getparam(nova_drm.GETPARAM_VA_START)
    src, dst, cmd = f.gem_create(size, placement=src_placement), f.gem_create(size), f.gem_create(4096)
    data = os.urandom(size)
    f.gem_pwrite(src, 0, data)
    span = max(size, 2 * MiB)
    f.vm_bind(src, va, page_size=page)
    f.vm_bind(dst, va + span, page_size=page)
    f.vm_bind(cmd, va + 2 * span)
    return va, va + span, va + 2 * span, dst, data


@pytest.mark.parametrize(("src_placement", "page"), [("sysmem", None), ("vram", 4 * KiB), ("vram", 64 * KiB)])
def test_exec_copies_with_the_ce_and_signals_its_fence(client: nova_drm.File, src_placement: str,
                                                      page: int | None) -> None:
    size = MiB
    src_va, dst_va, cmd_va, dst, data = setup_copy(client, size, src_placement=src_placement, page=page)
    words = push.copy(*classes(client), dst_va, src_va, size)
    cmd = next(h for h in range(1, 8) if h not in (dst,) and client.gem_info(h) == 4096)
    client.gem_pwrite(cmd, 0, words)
    ch = client.channel_create()
    done = client.syncobj_create()
    client.exec(ch, [(cmd_va, len(words))], signal=[done])
    assert client.syncobj_wait([done], timeout_ns=10**9) == 0
    assert client.gem_pread(dst, 0, size) == data
    client.channel_destroy(ch)


def test_exec_waits_for_its_in_fences(client: nova_drm.File) -> None:
    """A fill, then a copy of the filled bytes that waits for the fill's syncobj: the copy sees the fill."""
    gp, ce = classes(client)
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    a, b, cmd = client.gem_create(64 * KiB), client.gem_create(64 * KiB), client.gem_create(8192, placement="sysmem")
    for h, at in ((a, va), (b, va + 2 * MiB), (cmd, va + 4 * MiB)):
        client.vm_bind(h, at)
    fill = push.fill(gp, ce, va, 0xA5A5A5A5, 64 * KiB)
    copy = push.copy(gp, ce, va + 2 * MiB, va, 64 * KiB)
    client.gem_pwrite(cmd, 0, fill)
    client.gem_pwrite(cmd, 4096, copy)
    ch1, ch2 = client.channel_create(), client.channel_create()
    filled, copied = client.syncobj_create(), client.syncobj_create()
    client.exec(ch1, [(va + 4 * MiB, len(fill))], signal=[filled])
    client.exec(ch2, [(va + 4 * MiB + 4096, len(copy))], wait=[filled], signal=[copied])
    assert client.syncobj_wait([copied, filled], timeout_ns=10**9, wait_all=False) in (0, 1)
    client.syncobj_wait([copied, filled], timeout_ns=10**9)
    assert client.gem_pread(b, 0, 64 * KiB) == b"\xa5" * (64 * KiB)


def test_exec_and_syncobj_refusals(client: nova_drm.File) -> None:
    ch = client.channel_create()
    s = client.syncobj_create()
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    cases = [
        (lambda: client.exec(99, [(va, 8)]), errno.ENOENT),
        (lambda: client.exec(ch, []), errno.EINVAL),
        (lambda: client.exec(ch, [(va, 8)] * 513), errno.EINVAL),
        (lambda: client.exec(ch, [(va, 6)]), errno.EINVAL),
        (lambda: client.exec(ch, [(va + 2, 8)]), errno.EINVAL),
        (lambda: client.exec(ch, [(va, 8, 0)]), errno.EINVAL),  # type: ignore[list-item]
        (lambda: client.exec(ch, [(va, 8)], wait=[s]), errno.EINVAL),  # a syncobj nothing will signal
        (lambda: client.exec(ch, [(va, 8)], signal=[77]), errno.ENOENT),
        (lambda: client.syncobj_wait([s], timeout_ns=1000), errno.EINVAL),
        (lambda: client.syncobj_wait([], timeout_ns=1000), errno.EINVAL),
        (lambda: client.syncobj_wait([s], timeout_ns=-1), errno.EINVAL),
        (lambda: client.syncobj_destroy(77), errno.ENOENT),
        (lambda: client.channel_destroy(77), errno.ENOENT),
        (lambda: client.channel_create("nvdec0"), errno.EINVAL),
    ]
    for call, want in cases:
        with pytest.raises(nova_drm.DrmError) as ei:
            call()
        assert code(ei) == want, ei.value
    client.syncobj_destroy(s)
    client.channel_destroy(ch)


def test_a_faulting_exec_fails_its_waiters_and_the_channel(client: nova_drm.File) -> None:
    """A copy from an address nothing is bound at: the GPU stops the channel (an MMU fault); the wait says EIO,
    and the next exec on that channel ENODEV (nouveau: a killed channel)."""
    gp, ce = classes(client)
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    dst, cmd = client.gem_create(4096), client.gem_create(4096)
    client.vm_bind(dst, va)
    client.vm_bind(cmd, va + 2 * MiB)
    words = push.copy(gp, ce, va, va + 512 * MiB, 4096)
    client.gem_pwrite(cmd, 0, words)
    ch = client.channel_create()
    s = client.syncobj_create()
    client.exec(ch, [(va + 2 * MiB, len(words))], signal=[s])
    with pytest.raises(nova_drm.DrmError, match="MMU") as ei:
        client.syncobj_wait([s], timeout_ns=10**9)
    assert code(ei) == errno.EIO
    with pytest.raises(nova_drm.DrmError) as ei:
        client.exec(ch, [(va + 2 * MiB, len(words))])
    assert code(ei) == errno.ENODEV
    client.channel_destroy(ch)
    other = client.channel_create()  # recovery: a new channel works
    words = push.fill(gp, ce, va, 7, 4096)
    client.gem_pwrite(cmd, 0, words)
    client.exec(other, [(va + 2 * MiB, len(words))], signal=[s])
    client.syncobj_wait([s], timeout_ns=10**9)
    assert client.gem_pread(dst, 0, 4) == (7).to_bytes(4, "little")


def test_syncobj_wait_times_out_then_completes(client: nova_drm.File) -> None:
    """A submission that waits (on the GPU) for a word the CPU has not written yet: a short wait ends in ETIME;
    once the client writes the word, the fill runs and the same syncobj signals."""
    gp, ce = classes(client)
    va = client.getparam(nova_drm.GETPARAM_VA_START)
    dst, cmd, flag = client.gem_create(64 * KiB), client.gem_create(8192), client.gem_create(4096, placement="sysmem")
    client.vm_bind(dst, va)
    client.vm_bind(cmd, va + 2 * MiB)
    client.vm_bind(flag, va + 4 * MiB)
    wait = push.acquire(gp, va + 4 * MiB, 1)
    fill = push.fill(gp, ce, va, 0x5EED, 64 * KiB)
    client.gem_pwrite(cmd, 0, wait)
    client.gem_pwrite(cmd, 4096, fill)
    ch = client.channel_create()
    s = client.syncobj_create()
    client.exec(ch, [(va + 2 * MiB, len(wait)), (va + 2 * MiB + 4096, len(fill))], signal=[s])
    with pytest.raises(nova_drm.DrmError, match="syncobj_wait: ETIME") as ei:
        client.syncobj_wait([s], timeout_ns=1_000_000)
    assert code(ei) == errno.ETIME
    with pytest.raises(nova_drm.DrmError, match="ETIME"):
        client.syncobj_wait([s], timeout_ns=1_000_000, wait_all=False)
    assert client.gem_pread(dst, 0, 4) == bytes(4)  # the fill has not run
    client.gem_pwrite(flag, 0, (1).to_bytes(4, "little"))
    assert client.syncobj_wait([s], timeout_ns=10**9) == 0
    assert client.gem_pread(dst, 65532, 4) == (0x5EED).to_bytes(4, "little")
