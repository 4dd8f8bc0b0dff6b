"""The C API loaded into this (Python) process with ctypes: libnova then runs in the interpreter that is already here,
so the test sees its sessions and checks that what C callers allocate and free leaves the GPU as it was, and that
``nova_close`` releases what a careless caller left behind and shuts GSP-RM down cleanly."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from nova_core.api.c import impl
from nova_core.api.c.build import build

u32, u64 = ctypes.c_uint32, ctypes.c_uint64


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("capi-inproc")
    _, so = build(out)
    lib = ctypes.CDLL(str(so))
    lib.nova_last_error.restype = ctypes.c_char_p
    lib.nova_open_sim.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.nova_close.argtypes = [ctypes.c_void_p]
    lib.nova_close.restype = None
    lib.nova_fb_alloc.argtypes = [ctypes.c_void_p, u64, u64, ctypes.POINTER(u64)]
    lib.nova_fb_free.argtypes = [ctypes.c_void_p, u64]
    lib.nova_chid_alloc.argtypes = [ctypes.c_void_p, u32, ctypes.POINTER(u32)]
    lib.nova_chid_free.argtypes = [ctypes.c_void_p, u32, u32]
    lib.nova_gsp_client_alloc.argtypes = [ctypes.c_void_p, ctypes.POINTER(u32)]
    lib.nova_vgpu_enable_vfs.argtypes = [ctypes.c_void_p, u32]
    lib.nova_vgpu_create.argtypes = [ctypes.c_void_p, u32, u32, ctypes.POINTER(u32)]
    lib.nova_vgpu_destroy.argtypes = [ctypes.c_void_p, u32]
    return lib


def _open(lib: Any) -> tuple[ctypes.c_void_p, impl.Session]:
    dev = ctypes.c_void_p()
    rc = lib.nova_open_sim(b"ad102", ctypes.byref(dev))
    assert rc == 0, lib.nova_last_error()
    assert dev.value is not None
    return dev, impl._sessions[dev.value]


def _state(s: impl.Session) -> tuple[int, int, int, int]:
    gpu = s.core.gpu
    assert gpu.bars is not None and gpu.fifo is not None and gpu.rpc is not None and s.core.gpu.dev.sim is not None
    rm: Any = s.core.gpu.dev.sim.models["gsp_rm"]  # type: ignore[attr-defined]
    return (gpu.bars.allocator.stats().used, gpu.fifo.chids.in_use, rm.objects.count(), len(rm.vgpu.tasks))


def test_calls_leave_the_gpu_as_it_was(lib: Any) -> None:
    dev, s = _open(lib)
    try:
        before = _state(s)
        addr, first, gfid = u64(), u32(), u32()
        assert lib.nova_fb_alloc(dev, 1 << 26, 1 << 21, ctypes.byref(addr)) == 0
        assert lib.nova_chid_alloc(dev, 32, ctypes.byref(first)) == 0
        assert lib.nova_vgpu_enable_vfs(dev, 2) == 0
        assert lib.nova_vgpu_create(dev, 2, 1004, ctypes.byref(gfid)) == 0 and gfid.value == 2
        assert _state(s) != before
        assert lib.nova_vgpu_destroy(dev, 2) == 0
        assert lib.nova_chid_free(dev, first.value, 32) == 0
        assert lib.nova_fb_free(dev, addr.value) == 0
        assert _state(s) == before
        assert lib.nova_vgpu_destroy(dev, 2) == -19 and b"gfid 2" in lib.nova_last_error()
    finally:
        lib.nova_close(dev)


def test_close_releases_what_the_caller_left(lib: Any) -> None:
    dev, s = _open(lib)
    addr, first, handle, gfid = u64(), u32(), u32(), u32()
    assert lib.nova_fb_alloc(dev, 1 << 20, 0, ctypes.byref(addr)) == 0
    assert lib.nova_chid_alloc(dev, 8, ctypes.byref(first)) == 0
    assert lib.nova_gsp_client_alloc(dev, ctypes.byref(handle)) == 0
    assert lib.nova_vgpu_enable_vfs(dev, 1) == 0
    assert lib.nova_vgpu_create(dev, 1, 1001, ctypes.byref(gfid)) == 0
    lib.nova_close(dev)
    assert dev.value not in impl._sessions
    assert s.core.closed and s.core.shutdown_problems == [] and s.ops.resources() == []
    assert s.core.gpu.teardown_status == "clean"
    assert lib.nova_fb_free(dev, addr.value) == -22 and b"not an open device" in lib.nova_last_error()
