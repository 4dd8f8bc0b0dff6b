"""nova_core.regs.gc6: the always-on GC6 island: GFW boot progress, usable VRAM size, boot handoff.

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_gc6_island.h`` and
``published/ampere/ga102/dev_gc6_island*.h``; nova-core ``regs.rs`` and ``gpu/hal/tu102.rs`` (GFW wait:
enable READ_PROTECTION_LEVEL0 in the group-05 priv level mask, then poll GFW_BOOT progress for 0xFF).
"""

from __future__ import annotations

from .core import Field, Register

#: NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_0_GFW_BOOT_PROGRESS_COMPLETED
GFW_BOOT_PROGRESS_COMPLETED = 0xFF


class NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK(Register, offset=0x118128):
    """Priv level mask of secure scratch group 05; level-0 reads must be enabled to read GFW_BOOT."""

    read_protection_level0 = Field(0, 0, doc="1 = level-0 (CPU) reads of group 05 allowed (FWSEC sets it)")


class NV_PGC6_AON_SECURE_SCRATCH_GROUP_05(Register, offset=0x118234, count=1, stride=4):
    """Secure scratch group 05; entry 0 holds the GFW (devinit) boot progress in bits 7:0.

    The header declares an array without a size; only entry 0 (``_0_GFW_BOOT``) is named, and nova-core declares
    one entry ("be conservative until we know the actual size"), as we do.
    """

    gfw_boot_progress = Field(7, 0, nv="0_GFW_BOOT_PROGRESS", doc="0xFF = GFW boot completed (entry 0)")


class NV_PGC6_AON_SECURE_SCRATCH_GROUP_42(Register, offset=0x1183A4, chips="GA102+"):
    """NV_USABLE_FB_SIZE_IN_MB: VRAM usable by the driver, in MiB (GA102 and later)."""

    usable_fb_size_mb = Field(31, 0, nv="NV_USABLE_FB_SIZE_IN_MB_VALUE")


class NV_PGC6_BSI_SECURE_SCRATCH_14(Register, offset=0x1180F8):
    """Boot handoff flags; BOOT_STAGE_3_HANDOFF is set when the GSP boot hands off (CORE_RESUME)."""

    boot_stage_3_handoff = Field(26, 26)
