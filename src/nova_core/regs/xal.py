"""nova_core.regs.xal: the XAL endpoint's BAR0 window (Hopper and later).

From Hopper on, the PRAMIN window at BAR0 + 0x700000 is moved by ``NV_XAL_EP_BAR0_WINDOW`` instead of
``NV_PBUS_BAR0_WINDOW``: BASE is the VRAM address >> 16 and there is no TARGET field ("It's always VIDMEM",
OpenRM 570.144 ``kbusSetBAR0WindowVidOffset_GH100``). Sources: open-gpu-kernel-modules 570.144
``published/hopper/gh100/pri_nv_xal_ep.h`` (0x0010FD40, BASE 21:0, BASE_SHIFT 16) and
``blackwell/gb100/pri_nv_xal_ep.h`` (BASE 22:0); ``blackwell/gb202/pri_nv_xal_ep.h`` gives the offset only, and
OpenRM drives GB20x's window with the GB100 HAL (the GB100 header's 22:0). The issue's name
``NV_XAL_EP_ZB_BAR0_WINDOW`` is not in these headers.
"""

from __future__ import annotations

from .core import Field, Register

XAL_BAR0_WINDOW_BASE_SHIFT = 16  #: NV_XAL_EP_BAR0_WINDOW_BASE_SHIFT


class NV_XAL_EP_BAR0_WINDOW(Register, offset=0x10FD40, chips="GH100+"):
    """Base of the PRAMIN window in VRAM, in 64 KiB units (22:0 from GB100 on; GB20x takes GB100's HAL,
    ``kbusWriteBAR0WindowBase_GB100``, ``g_kern_bus_nvoc.c``)."""

    base_ = Field(22, 0, doc="VRAM address >> 16 (NV name BASE)")


class NV_XAL_EP_BAR0_WINDOW_GH100(NV_XAL_EP_BAR0_WINDOW, chips="GH100"):
    """Hopper: BASE 21:0 (``hopper/gh100/pri_nv_xal_ep.h``)."""

    base_ = Field(21, 0, doc="VRAM address >> 16 (NV name BASE)")
