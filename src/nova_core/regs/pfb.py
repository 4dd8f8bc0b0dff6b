"""nova_core.regs.pfb: PFB: framebuffer size, WPR2 bounds, sysmem flush page.

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_fb.h`` (WPR2 address registers: VAL 31:4
holds address >> 12, HI is exclusive and 0 means "no WPR2"; LOCAL_MEMORY_RANGE), nova-core
``regs.rs`` (NISO flush sysmem address registers) and ``fb/hal/tu102.rs`` (VRAM size decoding).
"""

from __future__ import annotations

from .core import Field, Register

#: WPR2 address registers hold addresses in 4 KiB units (NV_PFB_PRI_MMU_WPR2_ADDR_*_ALIGNMENT).
WPR2_ADDR_SHIFT = 12


class NV_PFB_PRI_MMU_WPR2_ADDR_LO(Register, offset=0x1FA824):
    """Start of the WPR2 region (write-protected region 2), set by FWSEC-FRTS."""

    val = Field(31, 4, doc="start address >> 12")


class NV_PFB_PRI_MMU_WPR2_ADDR_HI(Register, offset=0x1FA828):
    """End of the WPR2 region (exclusive); zero when no WPR2 is set."""

    val = Field(31, 4, doc="end address >> 12; 0 = WPR2 not set")


class NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE(Register, offset=0x100CE0):
    """VRAM size on Turing/GA100: (LOWER_MAG << LOWER_SCALE) MiB, times 15/16 with ECC on."""

    lower_scale = Field(3, 0)
    lower_mag = Field(9, 4)
    ecc_mode = Field(30, 30)


class NV_PFB_NISO_FLUSH_SYSMEM_ADDR(Register, offset=0x100C10):
    """Sysmem flush page address bits 39:8 (the GPU writes there to flush posted writes)."""

    adr_39_08 = Field(31, 0)


class NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI(Register, offset=0x100C40, chips="GA100+"):
    """Sysmem flush page address bits 63:40 (GA100 and later)."""

    adr_63_40 = Field(23, 0)
