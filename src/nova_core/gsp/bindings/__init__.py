"""nova_core.gsp.bindings: GSP-RM's wire formats, one generated module per firmware version.

Each ``r<version>`` module is written by ``tools/gen_bindings.py`` from NVIDIA's published headers of
that release (open-gpu-kernel-modules at the release tag): ctypes structures with explicit offsets,
macro values, the RPC function and event numbers, and the NV_STATUS codes. Nothing else in the
driver reads these modules directly: :mod:`nova_core.gsp.fw` is the version-neutral layer above them.

This package is facts only (the simulated GSP-RM imports it too). A version is chosen at run time
from the string in the GSP firmware's ``.fwversion`` section::

    >>> from nova_core.gsp import bindings
    >>> bindings.load("535.113.01").EVENTS["GSP_LOCKDOWN_NOTICE"]
    4125
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ...errors import FirmwareError

#: firmware version (``.fwversion``) -> binding module
SUPPORTED: dict[str, str] = {
    "535.113.01": "r535_113_01",
    "550.163.01": "r550_163_01",
    "570.144": "r570_144",
}


class UnsupportedVersion(FirmwareError):
    """The GSP firmware is a version nova-core has no bindings for."""


def normalize(version: str | bytes) -> str:
    """The version as a plain string: ``.fwversion`` holds it NUL-terminated (``b"535.113.01\\0"``)."""
    if isinstance(version, (bytes, bytearray, memoryview)):
        version = bytes(version).split(b"\0", 1)[0].decode("ascii", errors="replace")
    return version.split("\0", 1)[0].strip()


def module_name(version: str | bytes) -> str:
    """``"535.113.01"`` -> ``"r535_113_01"``; an unknown version is an error listing the supported ones."""
    v = normalize(version)
    try:
        return SUPPORTED[v]
    except KeyError:
        raise UnsupportedVersion(
            f"GSP firmware version {v!r} is not supported; supported: {', '.join(SUPPORTED)}"
        ) from None


def load(version: str | bytes) -> ModuleType:
    """The generated binding module of ``version``."""
    return importlib.import_module(f"{__name__}.{module_name(version)}")


def supported_versions() -> list[str]:
    return list(SUPPORTED)
