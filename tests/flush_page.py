"""A simulated GPU made ready for falcon resets as the boot makes a real one: the sysmem flush page registered."""

from __future__ import annotations

from nova_core.fb.sysmem_flush import SysmemFlush
from nova_core.sim import SimGpu


def registered(gpu: SimGpu) -> SimGpu:
    """``gpu`` with a sysmem flush page registered (the boot's ``sysmem-flush`` stage), so falcons may be reset."""
    SysmemFlush.register(gpu.bar0, gpu.sysmem, gpu.chipset)
    return gpu
