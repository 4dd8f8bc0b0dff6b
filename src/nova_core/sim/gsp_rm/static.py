"""nova_core.sim.gsp_rm.static: GSP-RM's own memory and the GspStaticConfigInfo of each simulated chip.

:func:`fb_plan` lays out what GSP-RM keeps of VRAM, from the layout it was started with: the ``GspFwWprMeta``
booter_load accepted (the non-WPR heap, WPR2, the VGA workspace), on Hopper and Blackwell the offsets the GSP-FMC's
ACR chose (:mod:`..models.fsp`: the same fields, WPR2 ending with FRTS, the FB end reserve and the VGA workspace
above it) - or, for a GSP-RM started without either (the GSP-layer tests), from the top 512 MiB of VRAM:

================  ==========================================================  ==================
region            what                                                         static info
================  ==========================================================  ==================
0                 ``[0, rm_base)``: the driver's                               usable (compressible, ISO)
1 RM reserved     ``[rm_base, gspFwWprStart)``: GSP-RM's own memory - its      reserved
                  BAR2 and BAR1 page directories and BAR2 instance block - and
                  the non-WPR heap
2 WPR2            ``[gspFwWprStart, gspFwWprEnd)``                              reserved, protected
3 top             ``[gspFwWprEnd, fb)``: FRTS alignment slack, VGA workspace   reserved
                  (FSP chips: the PMU's FB and the FB end reserve too)
================  ==========================================================  ==================

``rm_base`` is :data:`RM_RESERVED` below the non-WPR heap (2 MiB aligned); ``bar2PdeBase``, ``bar1PdeBase`` and
the BAR2 instance block are its first pages. What GET_GSP_STATIC_INFO returns (the highlights a boot shows;
everything else zero): these regions and bases, ``fwWprLayoutOffset`` (r570+, FSP chips: where the ACR put the
non-WPR heap and FRTS), the board names (the representative board of each chip, or its vGPU
board),
GSP-RM's internal handles, the UUID (derived from the chip and PCI device id), the L2 cache sizes (public spec
sheets). Sim choices, all of them: GSP-RM's real reservation is larger and its layout not published (nouveau
``r535_gsp_get_static_info`` and OpenRM ``memmgrInitBaseFbRegions_FWCLIENT`` only consume the table).
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from ...gpu.chips import VGPU_BOARDS, Chipset
from ..models.fb import GspFbRegion

L2_MIB: dict[str, int] = {"TU": 6, "GA100": 40, "GA": 6, "AD102": 72, "AD": 48, "GH": 50, "GB": 64}

INTERNAL_CLIENT = 0xC1E00004  #: sim choice for GSP-RM's own client/device/subdevice handles
INTERNAL_DEVICE = 0xDE1D0000 | 0x4E
INTERNAL_SUBDEVICE = 0x5D1D0000 | 0x4E

MiB = 1 << 20
RESERVED_TOP = 512 * MiB  #: FB kept at the top when GSP-RM starts without a booter-accepted layout
RM_RESERVED = 32 * MiB  #: GSP-RM's own memory below the non-WPR heap (sim choice)


@dataclass(frozen=True)
class FbPlan:
    """Where GSP-RM's memory is (see the module docstring)."""

    regions: tuple[GspFbRegion, ...]
    bar2_pdb: int  #: GSP-RM's BAR2 root table (static info bar2PdeBase)
    bar1_pdb: int  #: GSP-RM's BAR1 root table (bar1PdeBase)
    bar2_inst: int  #: the instance block GSP-RM binds BAR2 to
    bar1_inst: int  #: the instance block GSP-RM binds BAR1 to (its page directory: bar1_pdb)


def fb_plan(fb: int, meta: Mapping[str, int] | None) -> FbPlan:
    """GSP-RM's view of ``fb`` bytes of VRAM, from the ``GspFwWprMeta`` booter_load accepted (or none)."""
    if meta is not None:
        non_wpr, wpr, wpr_end = meta["nonWprHeapOffset"], meta["gspFwWprStart"], meta["gspFwWprEnd"]
    else:
        non_wpr = max(fb - RESERVED_TOP, 0)
        wpr, wpr_end = non_wpr + MiB, fb - MiB
    rm_base = max(non_wpr - RM_RESERVED, 0) & ~(2 * MiB - 1)
    regions = [GspFbRegion(0, rm_base, False, False, "usable"),
               GspFbRegion(rm_base, wpr, True, False, "RM reserved"),
               GspFbRegion(wpr, wpr_end, True, True, "WPR2")]
    if wpr_end < fb:
        regions.append(GspFbRegion(wpr_end, fb, True, False, "top"))
    return FbPlan(tuple(r for r in regions if r.end > r.base), bar2_pdb=rm_base + MiB, bar1_pdb=rm_base + 2 * MiB,
                  bar2_inst=rm_base + 3 * MiB, bar1_inst=rm_base + 3 * MiB + 4096)


def _l2(chip: str) -> int:
    for prefix in (chip, chip[:2]):
        if prefix in L2_MIB:
            return L2_MIB[prefix] * MiB
    return 4 * MiB


def static_info(m: ModuleType, chipset: Chipset, vram_mib: int, pci_device: int, plan: FbPlan, *,
                fw_wpr_layout: tuple[int, int] | None = None) -> bytes:
    """The ``GspStaticConfigInfo`` bytes of ``m``'s version for this chip, with ``plan``'s regions and bases;
    ``fw_wpr_layout`` (the non-WPR heap and FRTS offsets the GSP-FMC's ACR chose, Hopper and later) goes to
    ``fwWprLayoutOffset`` where the version has it."""
    s = m.GspStaticConfigInfo()
    vgpu = VGPU_BOARDS.get(chipset)
    name = f"NVIDIA {vgpu.board if vgpu is not None and vgpu.pci_device_id == pci_device else chipset.facts.board}"
    short = chipset.name.encode()
    ctypes.memmove(ctypes.addressof(s) + type(s).gpuNameString.offset, name.encode(), len(name))
    ctypes.memmove(ctypes.addressof(s) + type(s).gpuShortNameString.offset, short, len(short))
    for i, ch in enumerate(name[:len(s.gpuNameString_Unicode) - 1]):
        s.gpuNameString_Unicode[i] = ord(ch)
    fb = vram_mib * MiB
    s.fb_length = fb
    s.l2_cache_size = _l2(chipset.name)
    s.bar2PdeBase = plan.bar2_pdb
    s.bar1PdeBase = plan.bar1_pdb
    s.hInternalClient = INTERNAL_CLIENT
    s.hInternalDevice = INTERNAL_DEVICE
    s.hInternalSubdevice = INTERNAL_SUBDEVICE
    s.bVbiosValid = 1
    s.vbiosSubVendor = 0x10DE
    s.vbiosSubDevice = pci_device
    regions = s.fbRegionInfoParams
    regions.numFBRegions = len(plan.regions)
    for out, r in zip(regions.fbRegion, plan.regions, strict=False):
        out.base, out.limit = r.base, r.end - 1
        out.reserved = r.end - r.base if r.reserved else 0
        out.performance = 0 if r.reserved else 15
        out.supportCompressed = out.supportISO = int(not r.reserved and not r.protected)
        out.bProtected = int(r.protected)
    if fw_wpr_layout is not None and hasattr(s, "fwWprLayoutOffset"):
        s.fwWprLayoutOffset.nonWprHeapOffset, s.fwWprLayoutOffset.frtsOffset = fw_wpr_layout
    uuid = hashlib.sha1(f"nova-sim {chipset.name} {pci_device:#x}".encode()).digest()[:16]
    s.gidInfo.index = 0
    s.gidInfo.flags = 2  # binary UUID (NV2080_GPU_CMD_GPU_GET_GID_FLAGS_FORMAT_BINARY)
    s.gidInfo.length = len(uuid)
    for i, b in enumerate(uuid):
        s.gidInfo.data[i] = b
    return bytes(s)
