"""nova_core.regs.pbus: PBUS: software scratch registers and the BAR0 (PRAMIN) window control.

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_bus.h``; nouveau and nova-core
(NV_PBUS_SW_SCRATCH(i) = NV_PBUS_VBIOS_SCRATCH(i) at 0x1400 + 4i; FWSEC reports the FRTS result in
scratch 0xE bits 31:16 and the SB result in scratch 0x15 bits 15:0). NV_PBUS_BAR0_WINDOW (0x1700)
selects which 64 KiB-aligned part of VRAM the 1 MiB PRAMIN window at BAR0+0x700000 shows (nouveau,
nova-core MM series).
"""

from __future__ import annotations

import enum

from .core import Field, Register

#: Index of the scratch register FWSEC writes the FRTS command's error code to (bits 31:16).
FRTS_ERR_SCRATCH = 0xE
#: Index of the scratch register FWSEC writes the SB command's error code to (bits 15:0).
SB_ERR_SCRATCH = 0x15


class NV_PBUS_SW_SCRATCH(Register, offset=0x001400, count=64, stride=4):
    """Software scratch registers shared by the vBIOS, FWSEC and the driver (VBIOS_SCRATCH)."""

    value = Field(31, 0, nv="FIELD")


class Bar0WindowTarget(enum.IntEnum):
    VID_MEM = 0
    SYS_MEM_COHERENT = 2
    SYS_MEM_NONCOHERENT = 3


class NV_PBUS_BAR0_WINDOW(Register, offset=0x001700):
    """Base of the PRAMIN window (BAR0 0x700000-0x7FFFFF) in VRAM, in 64 KiB units."""

    base_ = Field(23, 0, doc="VRAM address >> 16 (NV name BASE)")
    target = Field(25, 24, enum=Bar0WindowTarget)
