"""nova_core.sim.gsp_rm.static: plausible GspStaticConfigInfo for each simulated chip.

What GET_GSP_STATIC_INFO returns (the highlights a boot shows; everything else zero). Sim choices,
labelled as such: the board names (the representative board of each chip), GSP-RM's internal handles,
the BAR1/BAR2 page-directory bases (in the top of VRAM, below the WPR2 region), the FB regions (one
usable region below a reserved top of 512 MiB), the UUID (derived from the chip and PCI device id),
the L2 cache sizes (public spec sheets). The board name is the chip facts' representative board.
"""

from __future__ import annotations

import ctypes
import hashlib
from types import ModuleType

from ...gpu.chips import Chipset

L2_MIB: dict[str, int] = {"TU": 6, "GA100": 40, "GA": 6, "AD102": 72, "AD": 48, "GH": 50, "GB": 64}

INTERNAL_CLIENT = 0xC1E00004  #: sim choice for GSP-RM's own client/device/subdevice handles
INTERNAL_DEVICE = 0xDE1D0000 | 0x4E
INTERNAL_SUBDEVICE = 0x5D1D0000 | 0x4E

MiB = 1 << 20
RESERVED_TOP = 512 * MiB  #: FB the sim reports as reserved at the top (WPR2, heaps, VGA workspace)


def _l2(chip: str) -> int:
    for prefix in (chip, chip[:2]):
        if prefix in L2_MIB:
            return L2_MIB[prefix] * MiB
    return 4 * MiB


def static_info(m: ModuleType, chipset: Chipset, vram_mib: int, pci_device: int, *,
                fw_wpr_layout: tuple[int, int] | None = None) -> bytes:
    """The ``GspStaticConfigInfo`` bytes of ``m``'s version for this chip; ``fw_wpr_layout`` (the non-WPR heap and
    FRTS offsets the GSP-FMC's ACR chose, Hopper and later) goes to ``fwWprLayoutOffset`` where the version has it."""
    s = m.GspStaticConfigInfo()
    name = f"NVIDIA {chipset.facts.board}"
    short = chipset.name.encode()
    ctypes.memmove(ctypes.addressof(s) + type(s).gpuNameString.offset, name.encode(), len(name))
    ctypes.memmove(ctypes.addressof(s) + type(s).gpuShortNameString.offset, short, len(short))
    for i, ch in enumerate(name[:len(s.gpuNameString_Unicode) - 1]):
        s.gpuNameString_Unicode[i] = ord(ch)
    fb = vram_mib * MiB
    usable = max(fb - RESERVED_TOP, 0)
    s.fb_length = fb
    s.l2_cache_size = _l2(chipset.name)
    s.bar2PdeBase = usable + 0x100000  # in the reserved top, as RM's own BAR2 page directory
    s.bar1PdeBase = usable + 0x200000
    s.hInternalClient = INTERNAL_CLIENT
    s.hInternalDevice = INTERNAL_DEVICE
    s.hInternalSubdevice = INTERNAL_SUBDEVICE
    s.bVbiosValid = 1
    s.vbiosSubVendor = 0x10DE
    s.vbiosSubDevice = pci_device
    regions = s.fbRegionInfoParams
    regions.numFBRegions = 2
    r0, r1 = regions.fbRegion[0], regions.fbRegion[1]
    r0.base, r0.limit, r0.reserved, r0.performance = 0, usable - 1, 0, 15
    r0.supportCompressed, r0.supportISO, r0.bProtected = 1, 1, 0
    r1.base, r1.limit, r1.reserved, r1.performance = usable, fb - 1, RESERVED_TOP, 0
    r1.supportCompressed, r1.supportISO, r1.bProtected = 0, 0, 1
    if fw_wpr_layout is not None and hasattr(s, "fwWprLayoutOffset"):
        s.fwWprLayoutOffset.nonWprHeapOffset, s.fwWprLayoutOffset.frtsOffset = fw_wpr_layout
    uuid = hashlib.sha1(f"nova-sim {chipset.name} {pci_device:#x}".encode()).digest()[:16]
    s.gidInfo.index = 0
    s.gidInfo.flags = 2  # binary UUID (NV2080_GPU_CMD_GPU_GET_GID_FLAGS_FORMAT_BINARY)
    s.gidInfo.length = len(uuid)
    for i, b in enumerate(uuid):
        s.gidInfo.data[i] = b
    return bytes(s)
