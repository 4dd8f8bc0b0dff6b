"""nova_core.mm: memory management: the VRAM allocator, GPU page tables (MMU v2/v3), address spaces, BAR2.

- :mod:`.allocator`  ``RangeAllocator``/``VramAllocator``: drm_mm's capabilities (best/low/high fit, ranges,
  fixed reservations, coalescing, statistics, eviction scan);
- :mod:`.layout`     the fixed VRAM regions of a chip (WPR2, FRTS, GSP heap, VGA workspace);
- :mod:`.pte`        page-table entry encode/decode for MMU v2 and v3 (through :mod:`nova_core.regs.mmu`);
- :mod:`.vram`       ``VramAccess``: how page tables reach VRAM (sim memory, PRAMIN, BAR2);
- :mod:`.tlb`        TLB invalidation through ``NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE``;
- :mod:`.vmm`        ``Vmm``: a GPU virtual address space (map, unmap, remap, walk), thread safe per range;
- :mod:`.instmem`    instance memory: objects in VRAM the GPU reads, reached through the BAR2 mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .allocator import Allocation, AllocatorStats, EvictionScan, Placement, RangeAllocator, VramAllocator
    from .instmem import Bar2Space, InstMemory, InstObject
    from .layout import Region, regions_from_layout, reservations, typical_regions
    from .pte import DEFAULT_FLAGS, MmuFormat, PteFlags, format_for, format_version
    from .tlb import TlbInvalidator
    from .vmm import Mapping, Segment, Translation, Vmm, sys_segments, vram_segments
    from .vram import PraminVram, VramAccess

__getattr__, __dir__ = lazy_exports(__name__, {
    "Allocation": ".allocator",
    "AllocatorStats": ".allocator",
    "EvictionScan": ".allocator",
    "Placement": ".allocator",
    "RangeAllocator": ".allocator",
    "VramAllocator": ".allocator",
    "Bar2Space": ".instmem",
    "InstMemory": ".instmem",
    "InstObject": ".instmem",
    "Region": ".layout",
    "regions_from_layout": ".layout",
    "reservations": ".layout",
    "typical_regions": ".layout",
    "DEFAULT_FLAGS": ".pte",
    "MmuFormat": ".pte",
    "PteFlags": ".pte",
    "format_for": ".pte",
    "format_version": ".pte",
    "TlbInvalidator": ".tlb",
    "Mapping": ".vmm",
    "Segment": ".vmm",
    "Translation": ".vmm",
    "Vmm": ".vmm",
    "sys_segments": ".vmm",
    "vram_segments": ".vmm",
    "PraminVram": ".vram",
    "VramAccess": ".vram",
})

__all__ = [
    "DEFAULT_FLAGS",
    "Allocation",
    "AllocatorStats",
    "Bar2Space",
    "EvictionScan",
    "InstMemory",
    "InstObject",
    "Mapping",
    "MmuFormat",
    "Placement",
    "PraminVram",
    "PteFlags",
    "RangeAllocator",
    "Region",
    "Segment",
    "TlbInvalidator",
    "Translation",
    "Vmm",
    "VramAccess",
    "VramAllocator",
    "format_for",
    "format_version",
    "regions_from_layout",
    "reservations",
    "sys_segments",
    "typical_regions",
    "vram_segments",
]
