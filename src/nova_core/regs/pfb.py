"""nova_core.regs.pfb: PFB: framebuffer size, WPR2 bounds, sysmem flush page.

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_fb.h`` (WPR2 address registers: VAL 31:4
holds address >> 12, HI is exclusive and 0 means "no WPR2"; LOCAL_MEMORY_RANGE), nova-core
``regs.rs`` (NISO flush sysmem address registers) and ``fb/hal/tu102.rs`` (VRAM size decoding).

The sysmem flush page moved from Hopper on (570.144; :data:`FLUSH_PAGE_REGS` says which registers each chip
takes, ``ChipFacts.sysmem_flush`` picks them):

- Turing: ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR`` only, address bits 39:8 (OpenRM ``kmemsysProgramSysmemFlushBuffer_GM107``);
- GA100 to Ada: and ``NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI``, bits 63:40, written first (``..._GA100``);
- GH100: ``NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO``/``_HI`` (``published/hopper/gh100/dev_fb.h``: 0x100A34/0x100A38,
  ADR 31:0 each, HI's ADR_MASK 0x000FFFFF): address bits 31:0 and 51:32, HI first (``..._GH100``; nova-core
  ``fb/hal/gh100.rs``: "the hardware will trigger the flush on the LO write", bits 7:0 ignored);
- GB100/GB102: the HSHUB0 pair ``NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_LO``/``_HI`` and its egress twin
  ``NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO``/``_HI`` (``published/blackwell/gb100/dev_hshub_base.h``: 0xE50/0xE54,
  0x6C0/0x6C4 inside an HSHUB, LO's ADR_MASK 0xFFFFFF00, HI's 0x000FFFFF), HSHUB0 at BAR0 0x870000 (OpenRM
  ``_kmemsysInitHshub0Aperture_GB100``'s ``NV_PFB_HSHUB0`` 0x00870fff:0x00870000, bug 4313915; nova-core
  ``fb/hal/gb100.rs``), both pairs the same value, each HI first (``..._GB100``, bug 4503681);
- GB20x: ``NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO``/``_HI`` (``published/blackwell/gb10b/dev_fbhub.h``:
  0x8A1D58/0x8A1D5C; GB202-GB207 take the GB10B HAL, ``g_kern_mem_sys_nvoc.c``; nova-core ``fb/hal/gb202.rs``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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


class NV_PFB_NISO_FLUSH_SYSMEM_ADDR(Register, offset=0x100C10, chips="TU102-AD102"):
    """Sysmem flush page address bits 39:8 (the GPU writes there to flush posted writes)."""

    adr_39_08 = Field(31, 0)


class NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI(Register, offset=0x100C40, chips="GA100-AD102"):
    """Sysmem flush page address bits 63:40 (GA100 to Ada)."""

    adr_63_40 = Field(23, 0)


class NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO(Register, offset=0x100A34, chips="GH100"):
    """Sysmem flush page address bits 31:0 (bits 7:0 ignored); the write of LO triggers the flush."""

    adr = Field(31, 0, doc="address bits 31:0")


class NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI(Register, offset=0x100A38, chips="GH100"):
    """Sysmem flush page address bits 63:32 (ADR_MASK 0x000FFFFF: bits 51:32)."""

    adr = Field(31, 0, doc="address bits 63:32, of which 51:32 are kept")


HSHUB0_BASE = 0x870000  #: OpenRM NV_PFB_HSHUB0 (GB100/GB102), nova-core Gb100's Hshub0Base


class NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_LO(Register, offset=HSHUB0_BASE + 0xE50, chips="GB100"):
    """HSHUB0's sysmem flush page address bits 31:0 (ADR_MASK 0xFFFFFF00)."""

    adr = Field(31, 0, doc="address bits 31:0")


class NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_HI(Register, offset=HSHUB0_BASE + 0xE54, chips="GB100"):
    """HSHUB0's sysmem flush page address bits 63:32 (ADR_MASK 0x000FFFFF)."""

    adr = Field(31, 0, doc="address bits 63:32, of which 51:32 are kept")


class NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO(Register, offset=HSHUB0_BASE + 0x6C0, chips="GB100"):
    """HSHUB0's egress copy of the flush page address bits 31:0: must equal the primary pair's."""

    adr = Field(31, 0, doc="address bits 31:0")


class NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_HI(Register, offset=HSHUB0_BASE + 0x6C4, chips="GB100"):
    """HSHUB0's egress copy of the flush page address bits 63:32."""

    adr = Field(31, 0, doc="address bits 63:32, of which 51:32 are kept")


class NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO(Register, offset=0x8A1D58, chips="GB202"):
    """FBHUB0's sysmem flush page address bits 31:0 (ADR_MASK 0xFFFFFF00)."""

    adr = Field(31, 0, doc="address bits 31:0")


class NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_HI(Register, offset=0x8A1D5C, chips="GB202"):
    """FBHUB0's sysmem flush page address bits 63:32 (ADR_MASK 0x000FFFFF)."""

    adr = Field(31, 0, doc="address bits 63:32, of which 51:32 are kept")


class FlushPageScheme(enum.Enum):
    """Which registers hold a chip's sysmem flush page (OpenRM's ``kmemsysProgramSysmemFlushBuffer`` HALs)."""

    NISO_GM107 = "gm107"  #: Turing
    NISO_GA100 = "ga100"  #: GA100 to Ada
    FBHUB_GH100 = "gh100"
    HSHUB_GB100 = "gb100"  #: GB100, GB102
    FBHUB0_GB10B = "gb10b"  #: GB20x


@dataclass(frozen=True)
class FlushPageRegs:
    """A chip's sysmem flush page registers.

    Attributes:
        pairs: ``(LO, HI)`` register pairs, written in this order, each HI before LO; every pair holds the same
            address (GB100/GB102: the HSHUB pair, then its egress twin). HI is ``None`` on Turing.
        lo_shift: LO holds ``address >> lo_shift`` (8: NISO's bits 39:8; 0: the PCIE registers' bits 31:0).
        hi_shift: HI holds ``address >> hi_shift`` (40 on NISO, 32 on the PCIE registers).
        addr_bits: the addresses the registers can hold lie below ``1 << addr_bits`` (40 on Turing, 64 on NISO with
            HI: its field is 24 bits; 52 from Hopper on: HI's ADR_MASK 0x000FFFFF).
        name: the registers, for messages.
    """

    pairs: tuple[tuple[type[Register], type[Register] | None], ...]
    lo_shift: int
    hi_shift: int
    addr_bits: int
    name: str


FLUSH_PAGE_REGS: dict[FlushPageScheme, FlushPageRegs] = {
    FlushPageScheme.NISO_GM107: FlushPageRegs(((NV_PFB_NISO_FLUSH_SYSMEM_ADDR, None),), 8, 40, 40,
                                              "NV_PFB_NISO_FLUSH_SYSMEM_ADDR"),
    FlushPageScheme.NISO_GA100: FlushPageRegs(((NV_PFB_NISO_FLUSH_SYSMEM_ADDR, NV_PFB_NISO_FLUSH_SYSMEM_ADDR_HI),),
                                              8, 40, 64, "NV_PFB_NISO_FLUSH_SYSMEM_ADDR/_HI"),
    FlushPageScheme.FBHUB_GH100: FlushPageRegs(
        ((NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO, NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI),), 0, 32, 52,
        "NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_LO/_HI"),
    FlushPageScheme.HSHUB_GB100: FlushPageRegs(
        ((NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_LO, NV_PFB_HSHUB_PCIE_FLUSH_SYSMEM_ADDR_HI),
         (NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_LO, NV_PFB_HSHUB_EG_PCIE_FLUSH_SYSMEM_ADDR_HI)), 0, 32, 52,
        "NV_PFB_HSHUB(_EG)_PCIE_FLUSH_SYSMEM_ADDR_LO/_HI"),
    FlushPageScheme.FBHUB0_GB10B: FlushPageRegs(
        ((NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO, NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_HI),), 0, 32, 52,
        "NV_PFB_FBHUB0_PCIE_FLUSH_SYSMEM_ADDR_LO/_HI"),
}
