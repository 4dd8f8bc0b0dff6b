"""nova_core.regs.fuse: fuse arrays holding the minimum ucode version per ucode id.

Source: open-gpu-kernel-modules 570.144 ``published/ampere/ga100/dev_fuse.h`` (``..._UCODE1_VERSION`` to
``..._UCODE16_VERSION``, 4 bytes apart: declared here as one array, as nova-core ``regs.rs`` does); nova-core
``falcon/hal/ga102.rs``. Each array has 16 entries indexed by ucode_id - 1; the fused version is the index of the
highest set bit + 1. The header marks them RW; the fuses are burned, not written, and nothing here writes them.
Turing has none (its TU102 falcon HAL reports version 0).
The engine-id mask of a ucode picks the array: 0x0001 SEC2, 0x0004 NVDEC, 0x0400 GSP.
"""

from __future__ import annotations

from .core import Field, Register


class NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION(Register, offset=0x824100, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for NVDEC ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


class NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION(Register, offset=0x824140, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for SEC2 ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


class NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION(Register, offset=0x8241C0, count=16, stride=4, chips="GA100+"):
    """Fused minimum ucode version for GSP ucodes (index = ucode_id - 1)."""

    data = Field(15, 0)


#: engine-id mask bit -> fuse array register (nova-core ``falcon/hal/ga102.rs``)
FUSE_VERSION_BY_ENGINE: dict[int, type[Register]] = {
    0x0001: NV_FUSE_OPT_FPF_SEC2_UCODE1_VERSION,
    0x0004: NV_FUSE_OPT_FPF_NVDEC_UCODE1_VERSION,
    0x0400: NV_FUSE_OPT_FPF_GSP_UCODE1_VERSION,
}
