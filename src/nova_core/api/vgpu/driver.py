"""nova_core.api.vgpu.driver: the auxiliary driver that binds ``nova-core.vgpu-mgr`` and runs a vGPU manager on it.

A GPU whose PF can carry vGPUs (:func:`vgpu_capable`: an SR-IOV capability and GSP-RM reporting a VMMU segment)
publishes ``nova-core.vgpu-mgr.<id>`` (:class:`~nova_core.api.core.NovaCore`); the bus loads :data:`DRIVER` through
the entry point ``nova-core.vgpu-mgr`` (pyproject.toml). Its probe makes a :class:`~.manager.VgpuManager` on the
binding's :class:`~.ops.VgpuOps` (``adev.driver_data``); ``remove`` destroys every vGPU, then the ops release what
is left - before the bus revokes the binding's base-API handle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import NovaError, VgpuError
from ..aux import AuxDevice, AuxDriverBase
from .manager import VgpuManager
from .ops import VgpuOps

if TYPE_CHECKING:
    from ...gsp.boot import GspDevice
    from ..core import NovaCore

NAME = "nova-vgpu-mgr"  #: the driver's name
DEVNAME = "vgpu-mgr"  #: the auxiliary device's function name
MATCH = "nova-core.vgpu-mgr"  #: the auxiliary device it binds to


def vgpu_capable(gpu: GspDevice) -> bool:
    """Whether ``gpu``'s PF can carry vGPUs: an SR-IOV capability in its config space, a FIFO, and GSP-RM answering
    NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE with a segment size."""
    from ...pci.config import ConfigSpace
    from ...pci.facts import ExtCapId

    if gpu.dev.config is None or gpu.fifo is None or gpu.abi is None or gpu.subdevice is None or gpu.closed:
        return False
    try:
        if ConfigSpace(gpu.dev.config).find(ExtCapId.SRIOV, extended=True) is None:
            return False
        m = gpu.abi.module
        raw = gpu.subdevice.control(int(m.NV2080_CTRL_CMD_GPU_GET_VMMU_SEGMENT_SIZE),
                                    gpu.abi.pack("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS"))
        return int(gpu.abi.parse("NV2080_CTRL_GPU_GET_VMMU_SEGMENT_SIZE_PARAMS", raw).vmmuSegmentSize) > 0
    except NovaError:
        return False


class VgpuMgrDriver(AuxDriverBase):
    """Binds ``nova-core.vgpu-mgr``: one :class:`~.manager.VgpuManager` per GPU."""

    name = NAME
    id_table = (MATCH,)

    def probe(self, adev: AuxDevice, matched: str) -> None:
        ops = VgpuOps(adev.device)
        try:
            adev.driver_data = VgpuManager(ops)
        except BaseException:
            ops.close()
            raise

    def remove(self, adev: AuxDevice) -> None:
        mgr = adev.driver_data
        if isinstance(mgr, VgpuManager):
            problems = mgr.close()
            problems += [str(e) for e in mgr.ops.close()]
            if problems:
                raise VgpuError(f"{adev.full_name}: vGPU manager removed with problems: {'; '.join(problems)}")


DRIVER = VgpuMgrDriver()


def vgpu_manager(core: NovaCore) -> VgpuManager:
    """The vGPU manager bound to ``core``'s ``vgpu-mgr`` device.

    Raises:
        VgpuError: the GPU published no ``vgpu-mgr`` device (not vGPU-capable), or no manager is bound to it.
    """
    for adev in core.aux_devices():
        if adev.devname == DEVNAME:
            if isinstance(adev.driver_data, VgpuManager):
                return adev.driver_data
            raise VgpuError(f"{adev.full_name} has no vGPU manager bound"
                            + (f" (its probe failed: {adev.probe_error})" if adev.probe_error else ""))
    raise VgpuError(f"{core.name} publishes no {DEVNAME} device: its PF cannot carry vGPUs (no SR-IOV, or GSP-RM "
                    f"reports no VMMU)")
