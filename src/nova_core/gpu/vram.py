"""nova_core.gpu.vram: how much VRAM the GPU has, from the register the chip family uses.

Turing and GA100 encode it in NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE as (LOWER_MAG << LOWER_SCALE) MiB,
times 15/16 when ECC is on; GA102 and later publish the usable size in MiB in
NV_PGC6_AON_SECURE_SCRATCH_GROUP_42 (NV_USABLE_FB_SIZE_IN_MB). Sources: nova-core ``fb/hal/tu102.rs``
and ``ga102.rs``; nouveau.
"""

from __future__ import annotations

from ..errors import DeviceError
from ..hw.bar import Bar
from ..regs.gc6 import NV_PGC6_AON_SECURE_SCRATCH_GROUP_42
from ..regs.pfb import NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE
from .chips import FbSizeSource
from .identify import Spec

MiB = 1 << 20


def decode_local_memory_range(value: int) -> int:
    """VRAM bytes from a NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE value."""
    reg = NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE
    size = (reg.lower_mag.get(value) << reg.lower_scale.get(value)) * MiB
    if reg.ecc_mode.get(value):
        size = size // 16 * 15
    return size


def vram_size(bar: Bar, spec: Spec) -> int:
    """VRAM size in bytes.

    Raises:
        DeviceError: the register reads zero or all ones (GFW boot not finished, or the device is gone).
    """
    source = spec.facts.fb_size_source
    if source is FbSizeSource.USABLE_FB_SIZE_SCRATCH:
        raw = NV_PGC6_AON_SECURE_SCRATCH_GROUP_42.read(bar)
        size = raw * MiB
    else:
        raw = NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE.read(bar)
        size = decode_local_memory_range(raw)
    if raw in (0, 0xFFFFFFFF) or size == 0:
        raise DeviceError(
            f"{source.value} reads {raw:#010x}: no usable VRAM size (GFW boot not complete, or device lost)"
        )
    return size
