"""nova_core.fb: the framebuffer layout GSP-RM boots into (VGA workspace, FRTS, WPR2, heaps); the sysmem flush page.

- :mod:`.facts`   sizes, alignments and the WPR2 heap parameters per GSP-RM branch (r535, r550, r570);
- :mod:`.layout`  :func:`compute_fb_layout` (pure) and :func:`read_fb_layout` (from a device: VRAM size, display
  fuse, VGA workspace);
- :mod:`.sysmem_flush` :class:`SysmemFlush`: the page falcon resets flush through, registered before any of them;
- :mod:`.wpr_meta` ``GspFwWprMeta`` filled from the layout and the prepared firmware (:func:`write_wpr_meta`).

    >>> from nova_core.fb import compute_fb_layout
    >>> from nova_core.gpu import Chipset
    >>> lay = compute_fb_layout(Chipset.GA102, fb_size=24 << 30, bootloader_size=20588,
    ...                         gsp_image_size=0x2448000, version="535.113.01")
    >>> hex(lay.wpr2.start), hex(lay.frts.start)
    ('0x5f5900000', '0x5ffe00000')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .layout import (
        FbLayout,
        FbLayoutError,
        FbRegion,
        HeapParams,
        compute_fb_layout,
        display_enabled,
        gsp_branch,
        heap_params,
        read_fb_layout,
        vga_workspace_start,
        wpr2_heap_size,
    )
    from .sysmem_flush import SysmemFlush, SysmemFlushError, read_flush_page, write_flush_page
    from .wpr_meta import WprMeta, pack_wpr_meta, wpr_meta_fields, write_wpr_meta

__getattr__, __dir__ = lazy_exports(__name__, {
    "FbLayout": ".layout",
    "FbLayoutError": ".layout",
    "FbRegion": ".layout",
    "HeapParams": ".layout",
    "compute_fb_layout": ".layout",
    "display_enabled": ".layout",
    "gsp_branch": ".layout",
    "heap_params": ".layout",
    "read_fb_layout": ".layout",
    "vga_workspace_start": ".layout",
    "wpr2_heap_size": ".layout",
    "SysmemFlush": ".sysmem_flush",
    "SysmemFlushError": ".sysmem_flush",
    "read_flush_page": ".sysmem_flush",
    "write_flush_page": ".sysmem_flush",
    "WprMeta": ".wpr_meta",
    "pack_wpr_meta": ".wpr_meta",
    "wpr_meta_fields": ".wpr_meta",
    "write_wpr_meta": ".wpr_meta",
})

__all__ = [
    "FbLayout",
    "FbLayoutError",
    "FbRegion",
    "HeapParams",
    "SysmemFlush",
    "SysmemFlushError",
    "WprMeta",
    "compute_fb_layout",
    "display_enabled",
    "gsp_branch",
    "heap_params",
    "pack_wpr_meta",
    "read_fb_layout",
    "read_flush_page",
    "vga_workspace_start",
    "wpr2_heap_size",
    "wpr_meta_fields",
    "write_flush_page",
    "write_wpr_meta",
]
