"""nova_core.regs.fuse: fuse arrays holding the minimum ucode version per ucode id; the display fuse.

Source: open-gpu-kernel-modules 570.144 ``published/ampere/ga100/dev_fuse.h`` (``..._UCODE1_VERSION`` to
``..._UCODE16_VERSION``, 4 bytes apart: declared here as one array, as nova-core ``regs.rs`` does); nova-core
``falcon/hal/ga102.rs``. Each array has 16 entries indexed by ucode_id - 1; the fused version is the index of the
highest set bit + 1. The header marks them RW; the fuses are burned, not written, and nothing here writes them.
Turing has none (its TU102 falcon HAL reports version 0).
The engine-id mask of a ucode picks the array: 0x0001 SEC2, 0x0004 NVDEC, 0x0400 GSP.

``NV_FUSE_STATUS_OPT_DISPLAY`` says whether the display engine is fused off: 570.144
``published/maxwell/gm107/dev_fuse.h`` (0x021C04, the register Turing uses: nova-core ``fb/hal/tu102.rs``
``display_enabled_gm107``) and ``published/ampere/ga100/dev_fuse.h`` (0x820C04 from GA100 on: nova-core
``fb/hal/ga100.rs`` ``display_enabled_ga100``); DATA 0:0, ``_DATA_ENABLE`` = 0.
"""

from __future__ import annotations

import enum

from .core import RO, Field, Register


class NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION(Register, offset=0x824100, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for NVDEC ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


class NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION(Register, offset=0x824140, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for SEC2 ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


class NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION(Register, offset=0x8241C0, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for GSP ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


class DisplayFuse(enum.IntEnum):
    """NV_FUSE_STATUS_OPT_DISPLAY_DATA."""

    ENABLE = 0  #: the display engine is there (``_DATA_ENABLE``)
    DISABLE = 1  #: fused off (compute parts)


class NV_FUSE_STATUS_OPT_DISPLAY(Register, offset=0x820C04):
    """Display fuse (GA100 and later at this address): DATA 0 when the chip has a display engine."""

    data = Field(0, 0, RO, enum=DisplayFuse)


class NV_FUSE_STATUS_OPT_DISPLAY_TU102(NV_FUSE_STATUS_OPT_DISPLAY, chips="TU102", offset=0x021C04):
    """Turing keeps the display fuse at its gm107 address (``maxwell/gm107/dev_fuse.h``)."""


#: engine-id mask bit -> fuse array register (nova-core ``falcon/hal/ga102.rs``)
FUSE_VERSION_BY_ENGINE: dict[int, type[Register]] = {
    0x0001: NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION,
    0x0004: NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION,
    0x0400: NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION,
}
