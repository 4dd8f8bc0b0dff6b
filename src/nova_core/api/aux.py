"""nova_core.api.aux: the auxiliary bus - how a booted GPU hands itself to second-level drivers.

The model is Linux's auxiliary bus (``include/linux/auxiliary_bus.h``, ``rust/kernel/auxiliary.rs``,
``Documentation/driver-api/auxiliary_bus.rst``); the facts that carry over:

- a parent driver (here :class:`~nova_core.api.core.NovaCore`, one per booted GPU) *publishes* auxiliary devices.
  A device is named ``<modname>.<devname>.<id>``: ``modname`` is the publishing module (``nova-core``), ``devname``
  the function (``nova-drm``; issue 19 adds ``vgpu-mgr``), ``id`` a number unique on the bus and never reused
  (Linux nova-core takes it from a counter that never recycles ids, so every GPU of a machine gets its own);
- a driver *matches by name*: its id table lists ``<modname>.<devname>`` strings (``nova-core.nova-drm``), and the
  bus calls ``probe(adev, matched_name)`` for every device whose name matches, ``remove(adev)`` when the binding
  ends (driver unregistered, device unbound or deleted);
- drivers come from this process (:meth:`AuxBus.register_driver`) or are *loaded on demand*: when a device appears
  and no registered driver matches, the bus loads the Python entry points of group :data:`ENTRY_POINT_GROUP`
  whose name is the device's match name - the way the kernel loads a module by its modalias
  (``auxiliary:nova-core.nova-drm``). An entry point names an :class:`AuxDriver` object, or a class or function
  returning one::

      [project.entry-points."nova_core.aux_drivers"]
      "nova-core.nova-drm" = "nova_drm.driver:DRIVER"

- a binding's resources are *revoked* when it ends (see :mod:`.revocable`): the base-API
  :class:`~nova_core.api.device.Device` a driver gets from :attr:`AuxDevice.device` belongs to the binding, and
  every buffer, VA space, channel and event subscription made through it is released after ``remove`` returns;
  a later use raises :class:`~nova_core.errors.Revoked` and never touches the GPU.

:data:`bus` is the process's bus. From a REPL::

    >>> from nova_core.api import NovaCore, bus
    >>> core = NovaCore(nova_core.boot_sim("ga102"))          # publishes nova-core.nova-drm.<id>
    >>> [(d.full_name, d.driver_name) for d in bus.devices()]
    [('nova-core.nova-drm.0', 'nova-drm')]                   # nova_drm loaded through its entry point
    >>> core.shutdown()                                       # unbinds, revokes, shuts GSP-RM down
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import AuxError, NovaError, Revoked

if TYPE_CHECKING:
    from .device import Device

ENTRY_POINT_GROUP = "nova_core.aux_drivers"  #: Python entry-point group of auxiliary drivers (pyproject.toml)
MODNAME = "nova-core"  #: the module name nova-core publishes its auxiliary devices under

_NAME = re.compile(r"[A-Za-z0-9_-]+")


def match_name(modname: str, devname: str) -> str:
    """``modname.devname``: what a driver's id table lists (auxiliary_match_id compares this part)."""
    for part, what in ((modname, "module name"), (devname, "device name")):
        if not isinstance(part, str) or not _NAME.fullmatch(part):
            raise AuxError(f"auxiliary {what} {part!r}: letters, digits, '-' and '_' only (the name is "
                           f"<modname>.<devname>.<id>)")
    return f"{modname}.{devname}"


@runtime_checkable
class AuxDriver(Protocol):
    """What the bus needs of a driver (subclass :class:`AuxDriverBase` or provide these attributes).

    Attributes:
        name: the driver's name (``"nova-drm"``).
        id_table: the ``<modname>.<devname>`` names it binds to.
    """

    @property
    def name(self) -> str: ...

    @property
    def id_table(self) -> Sequence[str]: ...

    def probe(self, adev: AuxDevice, matched: str) -> None:
        """Bind to ``adev`` (``matched`` is the id-table entry that matched). Raise to refuse: the device stays
        unbound, the error is kept in ``adev.probe_error``, and what the probe acquired is revoked."""

    def remove(self, adev: AuxDevice) -> None:
        """The binding ends: stop using the device. Its resources are revoked right after this returns."""


class AuxDriverBase:
    """A convenient base for drivers: set ``name`` and ``id_table``, override :meth:`probe` / :meth:`remove`."""

    name: str = ""
    id_table: Sequence[str] = ()

    def probe(self, adev: AuxDevice, matched: str) -> None:
        """Bind (the default accepts and does nothing)."""

    def remove(self, adev: AuxDevice) -> None:
        """Unbind (the default does nothing)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} for {', '.join(self.id_table)}>"


class AuxParent(Protocol):
    """The publisher of auxiliary devices (a :class:`~nova_core.api.core.NovaCore`)."""

    @property
    def name(self) -> str:
        """The GPU's name (``sim:ad102``, a PCI address)."""

    def device(self, owner: str) -> Device:
        """A new base-API handle on the GPU, for ``owner`` (revoked with the binding that asked for it)."""


class AuxDevice:
    """One auxiliary device on the bus (create with :meth:`AuxBus.add_device`)."""

    def __init__(self, bus: AuxBus, parent: AuxParent, modname: str, devname: str, dev_id: int) -> None:
        self.bus = bus
        self.parent = parent
        self.modname = modname
        self.devname = devname
        self.id = dev_id
        self.driver: AuxDriver | None = None
        self.driver_data: Any = None  #: what the bound driver keeps with the device (set in its probe)
        self.probe_error: str | None = None  #: why the last probe failed (None: no failure)
        self.deleted = False
        self._handle: Device | None = None
        self._lock = threading.RLock()  # the device lock: probe and remove run under it

    @property
    def name(self) -> str:
        """``<modname>.<devname>`` (the match name)."""
        return f"{self.modname}.{self.devname}"

    @property
    def full_name(self) -> str:
        """``<modname>.<devname>.<id>`` (its name on the bus, as /sys/bus/auxiliary/devices lists it)."""
        return f"{self.name}.{self.id}"

    @property
    def driver_name(self) -> str | None:
        return None if self.driver is None else self.driver.name

    @property
    def bound(self) -> bool:
        return self.driver is not None

    @property
    def device(self) -> Device:
        """The base-API device of the current binding (valid from the start of ``probe`` to the end of ``remove``).

        Raises:
            Revoked: no driver is bound (or the device was deleted).
        """
        h = self._handle
        if h is None:
            raise Revoked(f"auxiliary device {self.full_name} has no binding"
                          f"{' (deleted)' if self.deleted else ''}: its base-API device is gone")
        return h

    def __repr__(self) -> str:
        drv = f" bound to {self.driver.name!r}" if self.driver is not None else " unbound"
        return f"<AuxDevice {self.full_name} of {self.parent.name}{drv}>"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.full_name, "match": self.name, "id": self.id, "parent": self.parent.name,
                "driver": self.driver_name, "probe_error": self.probe_error}


class AuxBus:
    """The auxiliary bus: devices, drivers, matching, binding (thread-safe; :data:`bus` is the process's)."""

    def __init__(self, *, entry_points: Callable[[], Sequence[metadata.EntryPoint]] | None = None) -> None:
        self._lock = threading.RLock()
        self._devices: list[AuxDevice] = []
        self._drivers: list[AuxDriver] = []
        self._ids = itertools.count()
        self._entry_points = entry_points or (lambda: list(metadata.entry_points(group=ENTRY_POINT_GROUP)))
        self._loaded: set[str] = set()  # entry points loaded (or tried) already: "name=value"
        self.load_errors: dict[str, str] = {}  #: entry point -> why it could not be loaded

    def __repr__(self) -> str:
        return f"<AuxBus {len(self._devices)} device(s), {len(self._drivers)} driver(s)>"

    # -- listings -------------------------------------------------------------------------------------------

    def devices(self) -> list[AuxDevice]:
        with self._lock:
            return list(self._devices)

    def drivers(self) -> list[AuxDriver]:
        with self._lock:
            return list(self._drivers)

    def find(self, full_name: str) -> AuxDevice:
        """The device named ``<modname>.<devname>.<id>``."""
        with self._lock:
            for d in self._devices:
                if d.full_name == full_name:
                    return d
            names = [d.full_name for d in self._devices]
        raise AuxError(f"no auxiliary device {full_name!r} on the bus"
                       + (f" (devices: {', '.join(names)})" if names else " (no devices)"))

    # -- drivers ----------------------------------------------------------------------------------------------

    def register_driver(self, driver: AuxDriver) -> AuxDriver:
        """Add ``driver`` and bind it to every unbound device it matches (auxiliary_driver_register); returns it.

        Raises:
            AuxError: not a driver, an id-table entry that is not ``<modname>.<devname>``, or a driver of the same
                name is registered already.
        """
        if not isinstance(driver, AuxDriver) or not isinstance(driver.name, str) or not driver.name:
            raise AuxError(f"{driver!r} is not an auxiliary driver: it needs a name, an id_table, probe and remove")
        table = list(driver.id_table)
        if not table:
            raise AuxError(f"auxiliary driver {driver.name!r} has an empty id_table: it would match nothing")
        for entry in table:
            parts = entry.split(".") if isinstance(entry, str) else []
            if len(parts) != 2:
                raise AuxError(f"auxiliary driver {driver.name!r}: id {entry!r} is not '<modname>.<devname>'")
            match_name(*parts)
        with self._lock:
            if any(d is driver or d.name == driver.name for d in self._drivers):
                raise AuxError(f"an auxiliary driver named {driver.name!r} is registered already")
            self._drivers.append(driver)
            candidates = [d for d in self._devices if not d.bound and d.name in table]
        for adev in candidates:
            self._try_bind(adev, driver)
        return driver

    def unregister_driver(self, driver: AuxDriver) -> None:
        """Unbind ``driver`` from every device (remove, then revoke) and forget it (idempotent)."""
        with self._lock:
            if driver not in self._drivers:
                return
            self._drivers.remove(driver)
            bound = [d for d in self._devices if d.driver is driver]
        for adev in bound:
            self.unbind(adev)

    def load_entry_points(self, match: str | None = None) -> list[str]:
        """Load the drivers of :data:`ENTRY_POINT_GROUP` (those named ``match``, or all) and register them; returns
        the names of those registered now. A failure is kept in :attr:`load_errors` (and not retried)."""
        done: list[str] = []
        for ep in self._entry_points():
            key = f"{ep.name}={ep.value}"
            if (match is not None and ep.name != match) or key in self._loaded:
                continue
            self._loaded.add(key)
            try:
                obj = ep.load()
                driver = obj if isinstance(obj, AuxDriver) else obj()
                self.register_driver(driver)
                done.append(driver.name)
            except (NovaError, ImportError, AttributeError, TypeError) as e:
                self.load_errors[key] = f"{type(e).__name__}: {e}"
        return done

    # -- devices ----------------------------------------------------------------------------------------------

    def add_device(self, parent: AuxParent, devname: str, *, modname: str = MODNAME) -> AuxDevice:
        """Publish ``<modname>.<devname>.<id>`` for ``parent`` and bind a matching driver, loading one through the
        entry points if none is registered (auxiliary_device_add, then the modalias load)."""
        match = match_name(modname, devname)
        with self._lock:
            adev = AuxDevice(self, parent, modname, devname, next(self._ids))
            self._devices.append(adev)
            have = any(match in d.id_table for d in self._drivers)
        if not have:
            self.load_entry_points(match)  # registering it binds it
        if not adev.bound:
            self.bind(adev)
        return adev

    def delete_device(self, adev: AuxDevice) -> None:
        """Unbind (remove, revoke) and take the device off the bus (auxiliary_device_delete; idempotent)."""
        with adev._lock:
            if adev.deleted:
                return
            self.unbind(adev, reason=f"auxiliary device {adev.full_name} was deleted")
            adev.deleted = True
        with self._lock:
            if adev in self._devices:
                self._devices.remove(adev)

    # -- binding ----------------------------------------------------------------------------------------------

    def bind(self, adev: AuxDevice, driver: AuxDriver | None = None) -> bool:
        """Bind ``adev`` to ``driver`` (or the first registered driver that matches); True if bound now."""
        if driver is None:
            with self._lock:
                driver = next((d for d in self._drivers if adev.name in d.id_table), None)
            if driver is None:
                return False
        elif adev.name not in driver.id_table:
            raise AuxError(f"auxiliary driver {driver.name!r} does not match {adev.full_name} "
                           f"(its id table: {', '.join(driver.id_table)})")
        return self._try_bind(adev, driver)

    def _try_bind(self, adev: AuxDevice, driver: AuxDriver) -> bool:
        with adev._lock:
            if adev.bound or adev.deleted:
                return False
            handle = adev.parent.device(f"{driver.name} on {adev.full_name}")
            adev._handle = handle
            adev.driver = driver
            try:
                driver.probe(adev, adev.name)
            except Exception as e:  # a failed probe leaves the device unbound, as the kernel does
                adev.probe_error = f"{type(e).__name__}: {e}"
                adev.driver = None
                adev.driver_data = None
                adev._handle = None
                with contextlib.suppress(NovaError):
                    handle.revoke(f"the probe of {driver.name!r} failed")
                return False
            adev.probe_error = None
            return True

    def unbind(self, adev: AuxDevice, *, reason: str | None = None) -> None:
        """End ``adev``'s binding: the driver's ``remove``, then every resource of the binding revoked
        (idempotent). An exception from ``remove`` is kept in ``adev.probe_error``; the revocation happens anyway."""
        with adev._lock:
            driver, handle = adev.driver, adev._handle
            if driver is None:
                return
            why = reason or f"{driver.name!r} was unbound from {adev.full_name}"
            try:
                driver.remove(adev)
            except Exception as e:
                adev.probe_error = f"remove: {type(e).__name__}: {e}"
            finally:
                adev.driver = None
                adev.driver_data = None
                adev._handle = None
                if handle is not None:
                    handle.revoke(why)


bus = AuxBus()  #: the process's auxiliary bus
