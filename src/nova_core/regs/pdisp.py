"""nova_core.regs.pdisp: the display block's VGA workspace pointer, used by the FB layout.

Source: open-gpu-kernel-modules ``published/disp/v04_00/dev_disp.h``; nouveau ``tu102_gsp_oneinit`` and
nova-core ``fb.rs``: when STATUS_VALID is set the workspace starts at ADDR << 16.
"""

from __future__ import annotations

from .core import RO, Field, Register

VGA_WORKSPACE_ADDR_SHIFT = 16


class NV_PDISP_VGA_WORKSPACE_BASE(Register, offset=0x625F04):
    """Where the VBIOS placed the VGA workspace in VRAM (64 KiB units)."""

    status_valid = Field(3, 3, RO)
    address = Field(31, 8, RO, doc="VGA workspace address >> 16 (NV name ADDR)")
