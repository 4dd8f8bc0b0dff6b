"""nova_core.api.core: :class:`NovaCore` - one booted GPU as the base of second-level drivers.

This is the role Linux's nova-core plays for nova-drm (``drivers/gpu/nova-core/driver.rs``): it owns the GPU
(here a :class:`~nova_core.gsp.boot.GspDevice`: GSP-RM running, the driver's VRAM, BARs and FIFO), publishes one
auxiliary device per function a second-level driver may take over - :data:`DEFAULT_AUX_DEVICES`, ``nova-drm``,
and ``vgpu-mgr`` on a GPU that can carry vGPUs (:mod:`nova_core.api.vgpu`) - and, when it goes away, takes them
all down before the GPU: every binding is removed, every resource handed out through the base API is revoked
(:mod:`.revocable`), then GSP-RM is shut down.

From a REPL::

    >>> core = NovaCore(nova_core.boot_sim("ad102"))
    >>> core.aux_devices()
    [<AuxDevice nova-core.nova-drm.0 of sim:ad102 bound to 'nova-drm'>]
    >>> dev = core.device("repl"); dev.info().vram_bar_bytes
    268435456
    >>> core.shutdown()
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import NovaError, Revoked
from .aux import AuxBus, AuxDevice, bus
from .device import Device
from .vgpu.driver import DEVNAME as VGPU_DEVNAME
from .vgpu.driver import vgpu_capable

if TYPE_CHECKING:
    from ..gsp.boot import GspDevice

#: the auxiliary devices every booted GPU publishes (``nova-core.<name>.<id>``)
DEFAULT_AUX_DEVICES: tuple[str, ...] = ("nova-drm",)


class NovaCore:
    """A booted GPU that second-level drivers bind to (see the module docstring).

    Args:
        gpu: the GPU brought up by :func:`~nova_core.gsp.boot.boot` (or ``nova_core.boot_sim``); the core owns it
            from now on and closes it in :meth:`shutdown`.
        bus: the auxiliary bus to publish on (default: the process's :data:`~nova_core.api.aux.bus`).
        publish: the auxiliary devices to publish at once.
        vgpu: also publish ``vgpu-mgr`` when the GPU can carry vGPUs (:func:`~nova_core.api.vgpu.vgpu_capable`: an
            SR-IOV PF whose GSP-RM reports a VMMU segment) - the device NVIDIA's vGPU manager binds to.
    """

    def __init__(self, gpu: GspDevice, *, bus: AuxBus = bus, publish: Sequence[str] = DEFAULT_AUX_DEVICES,
                 vgpu: bool = True) -> None:
        self.gpu = gpu
        self.bus = bus
        self.name = gpu.name
        self._lock = threading.RLock()
        self._aux: list[AuxDevice] = []
        self._handles: list[Device] = []
        self.closed = False
        self.shutdown_problems: list[str] = []  #: what the last shutdown could not release cleanly
        try:
            for devname in publish:
                self.publish(devname)
            if vgpu and VGPU_DEVNAME not in publish and vgpu_capable(gpu):
                self.publish(VGPU_DEVNAME)
        except BaseException:
            self.shutdown()
            raise

    @classmethod
    def open_vfio(cls, bdf: str, *, firmware_version: str | None = None, bus: AuxBus = bus,
                  publish: Sequence[str] = DEFAULT_AUX_DEVICES) -> NovaCore:
        """Boot the GPU at ``bdf`` (bound to vfio-pci) and publish its auxiliary devices."""
        from ..gsp.boot import boot
        from ..hw.vfio import open_vfio_device

        dev = open_vfio_device(bdf)
        try:
            gpu = boot(dev, firmware_version=firmware_version)
        except BaseException:
            dev.close()
            raise
        gpu._on_close.append(dev.close)
        return cls(gpu, bus=bus, publish=publish)

    def __repr__(self) -> str:
        state = "shut down" if self.closed else f"{len(self._aux)} auxiliary device(s)"
        return f"<NovaCore {self.name}: {state}>"

    def __enter__(self) -> NovaCore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- what second-level drivers get --------------------------------------------------------------------------

    def device(self, owner: str) -> Device:
        """A new base-API handle for ``owner`` (revoked at :meth:`shutdown` at the latest)."""
        with self._lock:
            if self.closed:
                raise Revoked(f"{self.name} was shut down: no new device handles")
            handle = Device(self, owner)
            self._handles = [h for h in self._handles if not h.revoked]
            self._handles.append(handle)
            return handle

    def publish(self, devname: str) -> AuxDevice:
        """Publish ``nova-core.<devname>.<id>`` on the bus (a matching driver binds at once)."""
        with self._lock:
            if self.closed:
                raise Revoked(f"{self.name} was shut down: nothing more is published")
        adev = self.bus.add_device(self, devname)
        with self._lock:
            self._aux.append(adev)
        return adev

    def unpublish(self, adev: AuxDevice) -> None:
        """Take ``adev`` off the bus (its driver is removed and its resources revoked)."""
        self.bus.delete_device(adev)
        with self._lock:
            if adev in self._aux:
                self._aux.remove(adev)

    def aux_devices(self) -> list[AuxDevice]:
        with self._lock:
            return list(self._aux)

    # -- going away -------------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Delete the auxiliary devices (their drivers removed, resources revoked), revoke every other handle,
        then shut GSP-RM down and release the GPU (idempotent).

        Raises:
            BootError: GSP-RM's shutdown failed (the message says which step); everything of the API was
                released before it.
        """
        with self._lock:
            if self.closed:
                return
            self.closed = True
            aux, self._aux = self._aux[::-1], []
            handles, self._handles = self._handles[::-1], []
        problems: list[str] = []
        for adev in aux:
            try:
                self.bus.delete_device(adev)
            except NovaError as e:  # pragma: no cover - delete_device records its driver's failures
                problems.append(f"{adev.full_name}: {e}")
            if adev.probe_error is not None and adev.probe_error.startswith("remove:"):
                problems.append(f"{adev.full_name}: {adev.probe_error}")
        for h in handles:
            problems.extend(f"{h.owner}: {e}" for e in h.revoke(f"{self.name} was shut down"))
        self.shutdown_problems = problems
        self.gpu.close()
