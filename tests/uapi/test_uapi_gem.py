"""GETPARAM and GEM objects through nova_drm's uAPI: lifecycle, bad handles and sizes, double close, pread/pwrite,
and the byte-level ioctl path with nova_drm.h's request numbers and struct layouts."""

from __future__ import annotations

import errno
import os
import struct

import pytest

import nova_drm
from nova_drm import uapi

KiB, MiB = 1 << 10, 1 << 20


def enoent(exc: pytest.ExceptionInfo[nova_drm.DrmError]) -> bool:
    return exc.value.errno == errno.ENOENT


def test_getparam(client: nova_drm.File) -> None:
    assert nova_drm.GETPARAM_VRAM_BAR_SIZE == 0x1
    assert client.getparam(nova_drm.GETPARAM_VRAM_BAR_SIZE) == 256 * MiB  # the GeForce boards' PCI BAR1
    assert client.getparam(nova_drm.GETPARAM_VRAM_SIZE) > 256 * MiB
    assert client.getparam(nova_drm.GETPARAM_VA_START) < client.getparam(nova_drm.GETPARAM_VA_END)
    pages = 4 * KiB | 64 * KiB | 2 * MiB
    assert client.getparam(nova_drm.GETPARAM_PAGE_SIZES) & pages == pages
    assert client.getparam(nova_drm.GETPARAM_CHIPSET) in (0x162, 0x172, 0x192)
    for bad in (0, 2, 0x1000, -1, 1 << 64, "1"):
        with pytest.raises(nova_drm.DrmError, match="unknown parameter") as ei:
            client.getparam(bad)  # type: ignore[arg-type]
        assert ei.value.errno == errno.EINVAL and ei.value.call == "getparam"


def test_gem_lifecycle(client: nova_drm.File) -> None:
    h = client.gem_create(1)
    assert h == 1 and client.gem_info(h) == 4 * KiB  # rounded up to a page, as nova-drm's NovaObject::new
    h2 = client.gem_create(5 * MiB + 1)
    assert h2 == 2 and client.gem_info(h2) == 5 * MiB + 4 * KiB
    h3 = client.gem_create(64 * KiB, placement="sysmem")
    assert client.gem_pread(h2, 5 * MiB - 8, 16) == bytes(16)  # zero-filled, VRAM included
    data = os.urandom(10_000)
    client.gem_pwrite(h2, 123, data)
    assert client.gem_pread(h2, 123, len(data)) == data
    client.gem_pwrite(h3, 0, b"sys")
    assert client.gem_pread(h3, 0, 3) == b"sys"
    client.gem_close(h)
    client.gem_close(h2)
    h4 = client.gem_create(4096)
    assert h4 == 4  # handles are not reused while the file is open
    client.gem_close(h3)
    client.gem_close(h4)


def test_bad_sizes(client: nova_drm.File) -> None:
    for size in (0, -4096, 1 << 41, True, 4096.0):
        with pytest.raises(nova_drm.DrmError, match="gem_create: EINVAL") as ei:
            client.gem_create(size)  # type: ignore[arg-type]
        assert ei.value.errno == errno.EINVAL
    with pytest.raises(nova_drm.DrmError) as ei:
        client.gem_create(1 << 40)  # more VRAM than any board has
    assert ei.value.errno == errno.ENOMEM
    with pytest.raises(nova_drm.DrmError, match="placement 'gtt'"):
        client.gem_create(4096, placement="gtt")


def test_bad_handles_and_double_close(client: nova_drm.File) -> None:
    h = client.gem_create(4096)
    for bad in (0, h + 1, 0xFFFFFFFF):
        with pytest.raises(nova_drm.DrmError, match=f"no GEM object with handle {bad}") as ei:
            client.gem_info(bad)
        assert enoent(ei)
    for bad in (-1, 1 << 32, "1", None):
        with pytest.raises(nova_drm.DrmError, match="not a 32-bit unsigned integer") as ei:
            client.gem_info(bad)  # type: ignore[arg-type]
        assert ei.value.errno == errno.EINVAL
    client.gem_close(h)
    with pytest.raises(nova_drm.DrmError, match="gem_close: ENOENT") as ei:
        client.gem_close(h)
    assert enoent(ei)
    with pytest.raises(nova_drm.DrmError) as ei:
        client.gem_info(h)
    assert enoent(ei)


def test_pread_pwrite_bounds(client: nova_drm.File) -> None:
    h = client.gem_create(4096)
    for off, n in ((4096, 1), (-1, 1), (4000, 97)):
        with pytest.raises(nova_drm.DrmError, match="outside the object") as ei:
            client.gem_pread(h, off, n)
        assert ei.value.errno == errno.EINVAL
    with pytest.raises(nova_drm.DrmError, match="outside the object"):
        client.gem_pwrite(h, 4095, b"ab")
    client.gem_close(h)


def test_ioctl_numbers_and_layouts() -> None:
    # include/uapi/drm/nova_drm.h with DRM_IOWR('d', DRM_COMMAND_BASE + nr, struct) and DRM_IOW(0x09, drm_gem_close)
    assert (uapi.DRM_IOCTL_NOVA_GETPARAM, uapi.DRM_IOCTL_NOVA_GEM_CREATE, uapi.DRM_IOCTL_NOVA_GEM_INFO,
            uapi.DRM_IOCTL_GEM_CLOSE) == (0xC0106440, 0xC0106441, 0xC0106442, 0x40086409)
    assert (uapi.GETPARAM_STRUCT.size, uapi.GEM_CREATE_STRUCT.size, uapi.GEM_INFO_STRUCT.size,
            uapi.GEM_CLOSE_STRUCT.size) == (16, 16, 16, 8)


def test_ioctl_byte_path(client: nova_drm.File) -> None:
    arg = bytearray(struct.pack("<QQ", uapi.GETPARAM_VRAM_BAR_SIZE, 0))
    assert client.ioctl(uapi.DRM_IOCTL_NOVA_GETPARAM, arg) == 0
    assert struct.unpack("<QQ", arg) == (1, 256 * MiB)
    create = bytearray(struct.pack("<IIQ", 0, 0, 5000))
    client.ioctl(uapi.DRM_IOCTL_NOVA_GEM_CREATE, create)
    handle, pad, size = struct.unpack("<IIQ", create)
    assert handle >= 1 and pad == 0 and size == 5000
    info = bytearray(struct.pack("<IIQ", handle, 0, 0))
    client.ioctl(uapi.DRM_IOCTL_NOVA_GEM_INFO, info)
    assert struct.unpack("<IIQ", info) == (handle, 0, 8192)
    client.ioctl(uapi.DRM_IOCTL_GEM_CLOSE, bytearray(struct.pack("<II", handle, 0)))
    with pytest.raises(nova_drm.DrmError) as ei:
        client.ioctl(uapi.DRM_IOCTL_NOVA_GEM_INFO, bytearray(struct.pack("<IIQ", handle, 0, 0)))
    assert enoent(ei)
    for request, arg, code in ((0xC0106443, bytearray(16), errno.ENOTTY),
                               (uapi.DRM_IOCTL_NOVA_GETPARAM, bytearray(8), errno.EFAULT),
                               (uapi.DRM_IOCTL_NOVA_GEM_CREATE, bytearray(struct.pack("<IIQ", 0, 1, 4096)),
                                errno.EINVAL)):
        with pytest.raises(nova_drm.DrmError) as ei:
            client.ioctl(request, arg)
        assert ei.value.errno == code


def test_open_device_refusals() -> None:
    for kw, want, says in ((dict(bdf="0000:ff:1f.7"), errno.ENODEV, "no PCI device 0000:ff:1f.7"),
                           (dict(chip="ad102", bdf="0000:ff:1f.7"), errno.EINVAL, "not both"),
                           (dict(chip="gx100"), errno.ENODEV, "unknown chipset 'gx100'")):
        with pytest.raises(nova_drm.DrmError, match=says) as ei:
            nova_drm.open_device(**kw)  # type: ignore[arg-type]
        assert ei.value.errno == want and ei.value.call == "open_device"
