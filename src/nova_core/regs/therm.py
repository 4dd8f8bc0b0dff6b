"""nova_core.regs.therm: the THERM I2CS scratch register the FSP reports its own boot completion in.

On Hopper and Blackwell the boot FSM starts the FSP out of reset; it writes 0xFF to ``NV_THERM_I2CS_SCRATCH``
when its secure boot is complete (``kfspWaitForSecureBoot_GH100/GB100/GB202``; nouveau
``gh100_fsp_wait_secure_boot``). The register moved on GB20x. Sources: open-gpu-kernel-modules 570.144
``published/hopper/gh100/dev_therm.h`` and ``blackwell/gb100/dev_therm.h`` (0x000200BC),
``blackwell/gb202/dev_therm.h`` (0x00AD00BC), their ``dev_therm_addendum.h`` (FSP_BOOT_COMPLETE_STATUS 31:0:
0xFF success, 0 failed).
"""

from __future__ import annotations

from .core import Field, Register

FSP_BOOT_COMPLETE_SUCCESS = 0xFF  #: NV_THERM_I2CS_SCRATCH_FSP_BOOT_COMPLETE_STATUS_SUCCESS
FSP_BOOT_COMPLETE_FAILED = 0x00


class NV_THERM_I2CS_SCRATCH(Register, offset=0x0200BC, chips="GH100+"):
    """I2CS scratch: the FSP writes 0xFF here when its boot is complete."""

    fsp_boot_complete_status = Field(31, 0)


class NV_THERM_I2CS_SCRATCH_GB202(NV_THERM_I2CS_SCRATCH, chips="GB202", offset=0xAD00BC):
    """GB20x: moved to 0xAD00BC (``blackwell/gb202/dev_therm.h``)."""
