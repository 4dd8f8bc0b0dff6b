"""nova_drm: the reference second-level driver on nova-core - a DRM-style uAPI over the auxiliary bus.

It is Linux's nova-drm in Python: an auxiliary driver for ``nova-core.nova-drm`` (:mod:`.driver`) whose clients
(:class:`File`, one per open render node) get the uAPI of ``include/uapi/drm/nova_drm.h`` - GETPARAM with
``NOVA_GETPARAM_VRAM_BAR_SIZE``, GEM_CREATE, GEM_INFO - plus GEM close/pread/pwrite, VM bind/unbind, channels,
exec with in/out syncobjs and syncobj waits (:mod:`.file`; numbers and layouts in :mod:`.uapi`). Every failure is
a :class:`DrmError` with the errno an ioctl would return. From a REPL::

    >>> import nova_drm
    >>> dev = nova_drm.open_device(chip="ad102")          # boots the simulated GPU, binds nova-drm
    >>> f = dev.open()
    >>> f.getparam(nova_drm.GETPARAM_VRAM_BAR_SIZE)
    268435456
    >>> h = f.gem_create(5000); f.gem_info(h)
    8192
    >>> dev.remove(); f.gem_info(h)
    Traceback (most recent call last):
    nova_drm.errors.DrmError: gem_info: ENODEV (No such device): nova-core.nova-drm.0 was removed
    >>> dev.close()
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .driver import DRIVER, DrmDevice, NovaDrm, NovaDrmDriver, register
from .errors import DrmError
from .file import File
from .uapi import (
    COPY_SUBCHANNEL,
    GETPARAM_CHIPSET,
    GETPARAM_COPY_CLASS,
    GETPARAM_GPFIFO_CLASS,
    GETPARAM_PAGE_SIZES,
    GETPARAM_VA_END,
    GETPARAM_VA_START,
    GETPARAM_VRAM_BAR_SIZE,
    GETPARAM_VRAM_SIZE,
)

__all__ = [
    "COPY_SUBCHANNEL",
    "DRIVER",
    "GETPARAM_CHIPSET",
    "GETPARAM_COPY_CLASS",
    "GETPARAM_GPFIFO_CLASS",
    "GETPARAM_PAGE_SIZES",
    "GETPARAM_VA_END",
    "GETPARAM_VA_START",
    "GETPARAM_VRAM_BAR_SIZE",
    "GETPARAM_VRAM_SIZE",
    "DrmDevice",
    "DrmError",
    "File",
    "NovaDrm",
    "NovaDrmDriver",
    "open_device",
    "register",
]


def open_device(chip: str | None = None, *, bdf: str | None = None, firmware_version: str | None = None,
                synthetic: bool | None = None, firmware_roots: Sequence[str | os.PathLike[str]] | None = None,
                vbios: str | os.PathLike[str] | bytes | None = None) -> DrmDevice:
    """Boot a GPU - the simulated ``chip`` (default ad102), or the VFIO-owned GPU at ``bdf`` - and bind nova-drm
    to it through the auxiliary bus; returns the device (``open()`` clients, ``remove()``, ``close()``).

    Raises:
        DrmError: ENODEV if the boot failed or nova-drm could not bind (the message says why); EINVAL for both
            ``chip`` and ``bdf``.
    """
    import errno

    from nova_core.api import NovaCore
    from nova_core.errors import NovaError

    if chip is not None and bdf is not None:
        raise DrmError(errno.EINVAL, "open_device", "give chip (the simulated GPU) or bdf (a VFIO-owned GPU), not both")
    register()
    try:
        if bdf is not None:
            core = NovaCore.open_vfio(bdf, firmware_version=firmware_version)
        else:
            from nova_core.sim_boot import boot_sim

            core = NovaCore(boot_sim(chip or "ad102", firmware_version=firmware_version, synthetic=synthetic,
                                     firmware_roots=firmware_roots, vbios=vbios))
    except NovaError as e:
        raise DrmError(errno.ENODEV, "open_device", str(e)) from None
    from .driver import bind

    try:
        return bind(core)
    except BaseException:
        core.shutdown()
        raise
