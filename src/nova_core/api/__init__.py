"""nova_core.api: what second-level drivers (nova-drm, the vGPU manager) build on.

==============  ==================================================================================================
module          what
==============  ==================================================================================================
``core``        :class:`NovaCore`: a booted GPU that publishes auxiliary devices and takes them down before the GPU
``aux``         the auxiliary bus (:data:`bus`): devices ``nova-core.<function>.<id>``, drivers matched by name,
                registered in-process or loaded through the entry-point group ``nova_core.aux_drivers``, probe
                and remove
``device``      the base API (:class:`Device`): device information, RM-control passthrough limited to an
                allowlist, events; and what it hands out:
``memory``      buffer objects in VRAM or system memory with CPU mappings (BAR1), VA spaces with page-size choice
``channel``     channels on the engines, fences
``revocable``   :class:`Revocable` and :class:`Scope`: every resource handed out is revoked when its binding ends;
                a use after that raises :class:`~nova_core.errors.Revoked` and never touches the GPU
``vgpu``        the vGPU manager API (the RFC's ``nvkm_vgpu_mgr_vfio_ops``), the manager, and the driver of
                ``nova-core.vgpu-mgr`` (published on GPUs that can carry vGPUs)
``c``           the C API: ``libnova.so`` and ``nova.h`` (cffi embedding), for NVIDIA's vGPU manager
==============  ==================================================================================================

A driver in twenty lines::

    from nova_core.api import AuxDriverBase, bus

    class Hello(AuxDriverBase):
        name, id_table = "hello", ("nova-core.nova-drm",)

        def probe(self, adev, matched):
            dev = adev.device                                 # this binding's base-API handle
            adev.driver_data = dev.alloc(1 << 20)             # revoked when the binding ends

    bus.register_driver(Hello())
"""

from __future__ import annotations

from ..errors import ApiError, AuxError, Busy, NotAllowed, OutOfMemory, Revoked
from .aux import ENTRY_POINT_GROUP, MODNAME, AuxBus, AuxDevice, AuxDriver, AuxDriverBase, bus, match_name
from .channel import Channel, Fence
from .core import DEFAULT_AUX_DEVICES, NovaCore
from .device import RM_CONTROL_ALLOWLIST, Device, DeviceInfo, Event, EventKind, RmControlRule, allow_rm_control
from .memory import USER_VA_START, BufferObject, CpuMapping, Placement, VaBinding, VaSpace
from .revocable import Revocable, Scope

__all__ = [
    "DEFAULT_AUX_DEVICES",
    "ENTRY_POINT_GROUP",
    "MODNAME",
    "RM_CONTROL_ALLOWLIST",
    "USER_VA_START",
    "ApiError",
    "AuxBus",
    "AuxDevice",
    "AuxDriver",
    "AuxDriverBase",
    "AuxError",
    "BufferObject",
    "Busy",
    "Channel",
    "CpuMapping",
    "Device",
    "DeviceInfo",
    "Event",
    "EventKind",
    "Fence",
    "NotAllowed",
    "NovaCore",
    "OutOfMemory",
    "Placement",
    "Revocable",
    "Revoked",
    "RmControlRule",
    "Scope",
    "VaBinding",
    "VaSpace",
    "allow_rm_control",
    "bus",
    "match_name",
]
