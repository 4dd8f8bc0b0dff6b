"""nova_core.regs.xve: the PCI Express block's registers seen in BAR0 (NV_PCFG, the config-space mirror).

Sources: open-gpu-kernel-modules 570.144 ``published/turing/tu102/dev_nv_xve.h`` (``NV_PCFG`` = BAR0
0x88000-0x88FFF, the function's config space read-write through BAR0), ``published/maxwell/gm107/dev_nv_xve.h``
(``NV_XVE_CYA_2`` = 0x704). OpenRM ``kbifRearmMSI_GM107`` - the HAL of TU102..AD107
(``g_kernel_bif_nvoc.c``; ``PDB_PROP_KBIF_USE_CONFIG_SPACE_TO_REARM_MSI`` is false on GH100 and later) - writes it
to re-arm MSI after an interrupt ("the value doesn't matter, HW only looks at the offset"); nouveau
``gp100_pci_msi_rearm`` does the same (``nvkm_pci_wr32(pci, 0x0704, 0)``). Hopper and later re-arm through the
top-level interrupt enables instead (nouveau ``gh100_pci_msi_rearm`` is empty).
"""

from __future__ import annotations

from .core import Field, Register

PCFG_BASE = 0x088000  #: NV_PCFG: config space mirrored in BAR0 (Turing to Hopper)


class NV_XVE_CYA_2(Register, offset=PCFG_BASE + 0x704, chips="TU102-AD102"):
    """MSI re-arm: any write lets the function send its next MSI (TU102..AD107 with MSI, not MSI-X)."""

    value = Field(31, 0, doc="RW in the header; the write is what counts (the value does not matter)")
