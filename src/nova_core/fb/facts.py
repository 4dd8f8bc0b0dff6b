"""nova_core.fb.facts: the sizes and alignments of the GSP framebuffer layout, per GSP-RM branch (facts only).

Sources: open-gpu-kernel-modules ``src/nvidia/inc/kernel/gpu/gsp/gsp_fw_heap.h`` at 535.113.01, 550.163.01 and
570.144 (nvidia-facts §5): the WPR2 heap is LibOS carveout + base RM size + 96 KiB per GiB of VRAM (rounded up
to 1 MiB) + 48 KiB x 2048 client channels (rounded up to 1 MiB), clamped to the LibOS generation's
[min, max]. LibOS 2 (Turing, GA100) has no carveout; LibOS 3 (GA102+) has 20 MiB in r535
(``GSP_FW_HEAP_PARAM_OS_SIZE_LIBOS3``) and 22 MiB bare metal from r550 on
(``GSP_FW_HEAP_PARAM_OS_SIZE_LIBOS3_BAREMETAL``); the LibOS 3 bare-metal bounds are 84..276 MiB in r535,
86..278 MiB in r550 and 88..280 MiB in r570. Base RM is 8 MiB through Ada and 14 MiB from Hopper on.
Alignments and the fixed region sizes: nouveau ``r535_gsp_oneinit``/``tu102_gsp_oneinit``, nova-core ``fb.rs``
``FbLayout::new``.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

# -- fixed regions and alignments -------------------------------------------------------------------

#: default VGA workspace: the last MiB of VRAM (NV_PRAMIN size); the vBIOS may place it higher
VGA_WORKSPACE_DEFAULT_SIZE = 1 * MiB
#: VGA workspace when the display reports one below the default: the last 128 KiB (VBIOS workspace)
VGA_WORKSPACE_FALLBACK_SIZE = 128 * KiB
#: FSP chips: GspFwWprMeta.vgaWorkspaceSize (OpenRM kgspCalculateFbLayout_GH100, nouveau gh100_gsp_wpr_meta_init)
FSP_VGA_WORKSPACE_SIZE = 128 * KiB
#: FSP chips: FRTS is 1 MiB (the COT's frtsVidmemSize: NV_PGC6_AON_FRTS_INPUT_WPR_SIZE_..._1MB_IN_4K 0x100 << 12)
FSP_FRTS_SIZE = 0x100 << 12
#: FSP chips with PMU-reserved FB: 4 KiB more above FRTS (kfspGetExtraReservedMemorySize_GH100, bug 3763996),
#: and the FRTS offset from the end of FB aligned up to 2 MiB (kfspPrepareBootCommands_GH100)
FSP_FRTS_EXTRA_RESERVE = 4 * KiB
FSP_FRTS_PMU_ALIGN = 2 * MiB
FRTS_ALIGN = 128 * KiB  #: FRTS ends at the VGA workspace aligned down to 128 KiB (= gspFwWprEnd)
BOOT_ALIGN = 4 * KiB  #: the GSP bootloader below FRTS
ELF_ALIGN = 64 * KiB  #: the GSP-RM image below the bootloader
HEAP_ALIGN = 1 * MiB  #: the WPR2 heap, and WPR2's start
NON_WPR_HEAP_SIZE = 1 * MiB  #: the non-WPR heap just below WPR2
GSP_FW_WPR_META_SIZE = 0x100  #: sizeof(GspFwWprMeta) (r535 and r570), at the start of WPR2

# -- WPR2 heap (gsp_fw_heap.h) ----------------------------------------------------------------------

HEAP_SIZE_PER_GB_FB = 96 * KiB  #: GSP_FW_HEAP_PARAM_SIZE_PER_GB_FB
HEAP_CLIENT_ALLOC_SIZE = 48 * KiB * 2048  #: GSP_FW_HEAP_PARAM_CLIENT_ALLOC_SIZE (2048 channels)
BASE_RM_SIZE_TU10X = 8 * MiB  #: GSP_FW_HEAP_PARAM_BASE_RM_SIZE_TU10X (Turing through Ada)
BASE_RM_SIZE_GH100 = 14 * MiB  #: GSP_FW_HEAP_PARAM_BASE_RM_SIZE_GH100 (Hopper and later)


@dataclass(frozen=True)
class LibosHeap:
    """The LibOS part of the heap formula for one GSP-RM branch and LibOS generation."""

    branch: str  #: "r535", "r550" or "r570"
    libos: int  #: 2 or 3
    os_carveout: int  #: GSP_FW_HEAP_PARAM_OS_SIZE_LIBOS{2,3_BAREMETAL}
    min_size: int  #: GSP_FW_HEAP_SIZE_OVERRIDE_LIBOS*_MIN_MB
    max_size: int  #: GSP_FW_HEAP_SIZE_OVERRIDE_LIBOS*_MAX_MB


#: (branch, libos) -> parameters
LIBOS_HEAP: dict[tuple[str, int], LibosHeap] = {(h.branch, h.libos): h for h in (
    LibosHeap("r535", 2, 0, 64 * MiB, 256 * MiB),
    LibosHeap("r535", 3, 20 * MiB, 84 * MiB, 276 * MiB),
    LibosHeap("r550", 2, 0, 64 * MiB, 256 * MiB),
    LibosHeap("r550", 3, 22 * MiB, 86 * MiB, 278 * MiB),
    LibosHeap("r570", 2, 0, 64 * MiB, 256 * MiB),
    LibosHeap("r570", 3, 22 * MiB, 88 * MiB, 280 * MiB),
)}

#: the first driver branch of each heap-parameter set (the gsp_fw_heap.h read); branches in between take the
#: earlier set (e.g. 560 takes r550's: not read)
HEAP_BRANCHES: tuple[tuple[int, str], ...] = ((535, "r535"), (550, "r550"), (570, "r570"))
