"""nova_core.api.vgpu: the vGPU manager API - what NVIDIA's vGPU manager needs from nova-core, and a manager on it.

==============  =================================================================================================
module          what
==============  =================================================================================================
``ops``         :class:`VgpuOps`: the operations of the RFC's ``nvkm_vgpu_mgr_vfio_ops`` (GSP clients, RM controls,
                channel ids, FB and BAR1, the engine bitmap, plugin-task bootload/shutdown/cleanup, vGPU types) and
                the PF's SR-IOV
``manager``     :class:`VgpuManager`: vGPU types, vGPUs created on VFs and destroyed, the per-VF view
                (``creatable_vgpu_types`` / ``current_vgpu_type``)
``types``       :class:`VgpuType` from NVIDIA's ``NVA081_CTRL_VGPU_INFO`` records; OpenRM's channel and guest-FB
                rules
``driver``      :data:`DRIVER`, the auxiliary driver of ``nova-core.vgpu-mgr``; :func:`vgpu_manager`
``facts``       the plugin heap's layout and markers (NVIDIA's RFC ``dev_vgpu_gsp.h``)
==============  =================================================================================================

The C API (:mod:`nova_core.api.c`) wraps it for NVIDIA's vGPU manager, which is C.
"""

from __future__ import annotations

from .driver import DEVNAME, DRIVER, MATCH, VgpuMgrDriver, vgpu_capable, vgpu_manager
from .manager import Vgpu, VgpuManager
from .ops import Bar1Mapping, BootloadParams, GspClient, RmCtrl, Vf, VgpuMem, VgpuOps
from .types import VgpuType, channel_count, decode_types, guest_fb_length

__all__ = [
    "DEVNAME",
    "DRIVER",
    "MATCH",
    "Bar1Mapping",
    "BootloadParams",
    "GspClient",
    "RmCtrl",
    "Vf",
    "Vgpu",
    "VgpuManager",
    "VgpuMem",
    "VgpuMgrDriver",
    "VgpuOps",
    "VgpuType",
    "channel_count",
    "decode_types",
    "guest_fb_length",
    "vgpu_capable",
    "vgpu_manager",
]
