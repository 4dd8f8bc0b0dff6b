"""nova_core.regs.pdisp: the display block's VGA workspace pointer, used by the FB layout.

Source: open-gpu-kernel-modules ``published/disp/v04_00/dev_disp.h`` (TU10x's display); for the GA10x, AD10x and
GB20x displays NVIDIA does not publish it, and the address and fields are nova-core's (``regs.rs``, read by
``fb.rs`` on every chip with a display), as nouveau ``tu102_gsp_oneinit`` does. When STATUS_VALID is set the
workspace starts at ADDR << 16. Chips without a display engine (GA100, GH100, GB10x) do not have it.
"""

from __future__ import annotations

from .core import Field, Register

VGA_WORKSPACE_ADDR_SHIFT = 16


class NV_PDISP_VGA_WORKSPACE_BASE(Register, offset=0x625F04, chips="TU102, GA102, AD102, GB202"):
    """Where the VBIOS placed the VGA workspace in VRAM (64 KiB units)."""

    status_valid = Field(3, 3, nv="STATUS", doc="1 = ADDR is valid (NV value STATUS_VALID)")
    address = Field(31, 8, nv="ADDR", doc="VGA workspace address >> 16")
