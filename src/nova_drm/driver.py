"""nova_drm.driver: the auxiliary driver, and the DRM device it makes of each GPU it binds.

Linux's nova-drm (``drivers/gpu/drm/nova/driver.rs``) is an auxiliary driver matching ``<nova-core>.nova-drm``;
its probe registers a DRM device, whose files are the clients. Here:

- :data:`DRIVER` (an :class:`~nova_core.api.aux.AuxDriver`) matches ``nova-core.nova-drm``; the bus loads it
  through the entry point ``nova-core.nova-drm`` of group ``nova_core.aux_drivers`` (pyproject.toml) when a GPU
  publishes that device, or :func:`register` adds it in-process;
- its probe makes a :class:`NovaDrm` (the DRM device) from the binding's base-API handle; ``remove`` *unplugs*
  it (``drm_dev_unplug``): every call of every open :class:`~nova_drm.file.File` fails with ENODEV from then on,
  and the bus revokes what the clients held;
- :class:`DrmDevice` is what :func:`nova_drm.open_device` returns: ``open()`` a client, ``remove()`` the
  driver's binding (as a device removal would), ``close()`` the GPU.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nova_core.api import AuxDevice, AuxDriverBase, Device, NovaCore, bus
from nova_core.errors import NovaError

from .errors import DrmError

if TYPE_CHECKING:
    from .file import File

NAME = "nova-drm"  #: the driver's name (INFO.name "nova" in Linux is the DRM driver name: :data:`DRM_NAME`)
DRM_NAME = "nova"  #: drm::DriverInfo name
MATCH = "nova-core.nova-drm"  #: the auxiliary device it binds to


class NovaDrm:
    """The DRM device of one bound GPU (``drm::Device<NovaDriver>``): its clients and the unplug state."""

    def __init__(self, adev: AuxDevice) -> None:
        self.adev = adev
        self.device: Device = adev.device
        self.name = adev.full_name
        self.info = self.device.info()
        self._lock = threading.Lock()
        self._active = 0  # calls between enter() and exit (drm_dev_enter / drm_dev_exit)
        self._idle = threading.Condition(self._lock)
        self.unplugged = False
        self.files: list[File] = []

    def __repr__(self) -> str:
        return f"<NovaDrm {self.name} ({self.info.chipset}){' unplugged' if self.unplugged else ''}>"

    @contextmanager
    def enter(self, call: str) -> Iterator[Device]:
        """``drm_dev_enter``: the base-API handle while the device is plugged; ENODEV after unplug."""
        with self._lock:
            if self.unplugged:
                raise DrmError(errno.ENODEV, call, f"{self.name} was removed")
            self._active += 1
        try:
            yield self.device
        finally:
            with self._lock:
                self._active -= 1
                self._idle.notify_all()

    def open(self) -> File:
        """A new client (opening the render node)."""
        from .file import File

        with self.enter("open"):
            f = File(self)
            with self._lock:
                self.files.append(f)
            return f

    def forget(self, f: File) -> None:
        with self._lock:
            if f in self.files:
                self.files.remove(f)

    def unplug(self) -> None:
        """``drm_dev_unplug``: refuse new calls; calls already inside finish (the bus revokes the resources after
        ``remove`` returns, and a call still running then gets ENODEV from the revoked handle)."""
        with self._lock:
            self.unplugged = True


class NovaDrmDriver(AuxDriverBase):
    """The auxiliary driver (see the module docstring)."""

    name = NAME
    id_table = (MATCH,)

    def probe(self, adev: AuxDevice, matched: str) -> None:
        adev.driver_data = NovaDrm(adev)

    def remove(self, adev: AuxDevice) -> None:
        drm = adev.driver_data
        if isinstance(drm, NovaDrm):
            drm.unplug()


DRIVER = NovaDrmDriver()  #: the driver object (the entry point names it)


def register() -> NovaDrmDriver:
    """Register :data:`DRIVER` on the process's bus unless it is there already (loaded through its entry point)."""
    if not any(d is DRIVER or d.name == NAME for d in bus.drivers()):
        bus.register_driver(DRIVER)
    return DRIVER


class DrmDevice:
    """A GPU with nova-drm bound (what :func:`nova_drm.open_device` returns)."""

    def __init__(self, core: NovaCore, adev: AuxDevice) -> None:
        self.core = core
        self.adev = adev
        self.name = adev.full_name

    def __repr__(self) -> str:
        state = "removed" if not self.adev.bound else f"bound to {self.adev.driver_name}"
        return f"<DrmDevice {self.name} on {self.core.name}: {state}>"

    def __enter__(self) -> DrmDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drm(self, call: str) -> NovaDrm:
        drm = self.adev.driver_data
        if not isinstance(drm, NovaDrm) or drm.unplugged:
            raise DrmError(errno.ENODEV, call, f"{self.name} has no nova-drm binding (removed, or the probe "
                                               f"failed: {self.adev.probe_error or 'not bound'})")
        return drm

    def open(self) -> File:
        """Open a client (a render-node file)."""
        return self._drm("open").open()

    def remove(self) -> None:
        """Unbind nova-drm as a device removal would: every open client gets ENODEV from its next call, and
        everything the clients held is released. The GPU stays up (:meth:`close` shuts it down)."""
        self.core.unpublish(self.adev)

    def close(self) -> None:
        """Remove the driver and shut the GPU down (idempotent)."""
        self.core.shutdown()

    @property
    def removed(self) -> bool:
        return not self.adev.bound

    def as_json(self) -> dict[str, Any]:
        return {"device": self.name, "gpu": self.core.name, "bound": self.adev.bound}


def bind(core: NovaCore) -> DrmDevice:
    """The nova-drm device of ``core`` (registering the driver first if needed)."""
    register()
    adev = next((a for a in core.aux_devices() if a.name == MATCH), None)
    if adev is None:
        adev = core.publish("nova-drm")
    if not adev.bound:
        try:
            bus.bind(adev, DRIVER)
        except NovaError as e:
            raise DrmError(errno.ENODEV, "open_device", str(e)) from None
    if not adev.bound:
        raise DrmError(errno.ENODEV, "open_device", f"nova-drm did not bind to {adev.full_name}: {adev.probe_error}")
    return DrmDevice(core, adev)
