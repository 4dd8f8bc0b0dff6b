"""nova_core.mm.layout: the VRAM the driver's allocator must not hand out.

The GSP framebuffer layout (VGA workspace, FRTS, GSP bootloader and ELF, WPR2 heap, WPR2, non-WPR heap) is
computed once, by :func:`nova_core.fb.compute_fb_layout`; this module turns it into the named
:class:`Region` list the VRAM allocator reserves. The boot passes the layout it really used
(:func:`regions_from_layout`); before that, and for ``nova mm stats``, :func:`typical_regions` computes it
from the VRAM size and the sizes of the 535.113.01 GSP images.

Once GSP-RM runs, its static info says which FB regions are the driver's: those neither reserved nor protected
(nova-core ``usable_fb_region``; nouveau ``r535_gsp_get_static_info`` keeps those - of them, the ones supporting
compression and ISO - for ``r535_fb_ram_new``'s allocator; OpenRM ``memmgrInitBaseFbRegions_FWCLIENT`` counts the
rest as reserved).
:func:`ownership_reservations` reserves everything else - GSP-RM's reserved and protected regions, VRAM its table
does not cover, and the layout's regions should a usable one overlap them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..fb import FbLayout, compute_fb_layout
from ..gpu.chips import Chipset

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: sizes of the 535.113.01 images in linux-firmware (``.fwimage`` of gsp-535.113.01.bin; bootloader file),
#: per LibOS generation: TU102 0x16a3350 / 4196 bytes, GA102 0x2448000 / 20588 bytes
TYPICAL_FW_IMAGE = {2: 0x16A3350, 3: 0x2448000}
TYPICAL_BOOTLOADER = {2: 4196, 3: 20588}
TYPICAL_VERSION = "535.113.01"


@dataclass(frozen=True)
class Region:
    """A named range of VRAM; ``inside`` names the region containing it (``None`` for a top-level one)."""

    name: str
    start: int
    size: int
    inside: str | None = None

    @property
    def end(self) -> int:
        return self.start + self.size

    def as_tuple(self) -> tuple[int, int, str]:
        return self.start, self.size, self.name


def regions_from_layout(layout: FbLayout) -> list[Region]:
    """The regions of ``layout``: top-level ones first (non-WPR heap, WPR2, VGA workspace), then WPR2's parts."""
    wpr2, heap, elf, boot, frts = layout.wpr2, layout.wpr2_heap, layout.elf, layout.boot, layout.frts
    regions = [
        Region("non-WPR heap", layout.non_wpr_heap.start, layout.non_wpr_heap.size),
        Region("WPR2", wpr2.start, wpr2.size),
        Region("VGA workspace", layout.vga_workspace.start, layout.vga_workspace.size),
        Region("GspFwWprMeta + padding", wpr2.start, heap.start - wpr2.start, "WPR2"),
        Region("GSP heap", heap.start, heap.size, "WPR2"),
        Region("GSP firmware (ELF)", elf.start, boot.start - elf.start, "WPR2"),
        Region("GSP bootloader", boot.start, frts.start - boot.start, "WPR2"),
    ]
    if frts.size:
        regions.append(Region("FRTS", frts.start, frts.size, "WPR2"))
    end = layout.fb_end_reserve
    if end is not None and end.size:  # FSP chips: the PMU's FB and the FSP's estimate, between FRTS and the VGA ws
        regions.insert(3, Region("FB end reserve (PMU, FSP)", end.start, end.size))
    return regions


def typical_regions(chipset: Chipset, vram_size: int, *, fw_image_size: int | None = None,
                    bootloader_size: int | None = None) -> list[Region]:
    """The regions of the GSP layout for ``vram_size`` bytes of VRAM and the typical 535.113.01 images.

    Raises:
        FbLayoutError: (an :class:`~nova_core.errors.MmError`) VRAM too small to hold the layout.
    """
    libos = chipset.facts.libos
    layout = compute_fb_layout(
        chipset, fb_size=vram_size,
        bootloader_size=TYPICAL_BOOTLOADER[libos] if bootloader_size is None else bootloader_size,
        gsp_image_size=TYPICAL_FW_IMAGE[libos] if fw_image_size is None else fw_image_size,
        version=TYPICAL_VERSION)
    return regions_from_layout(layout)


def reservations(regions: list[Region]) -> list[tuple[int, int, str]]:
    """The top-level regions as ``(start, size, name)`` for :class:`~nova_core.mm.allocator.VramAllocator`."""
    return [r.as_tuple() for r in regions if r.inside is None]


@dataclass(frozen=True)
class FbClaim:
    """One FB region as GSP-RM reports it (``[start, end)``): the driver's to allocate from when ``usable``."""

    start: int
    end: int
    usable: bool
    label: str


def ownership_reservations(vram_size: int, claims: list[FbClaim],
                           fixed: list[Region] | None = None) -> list[tuple[int, int, str]]:
    """``(start, size, name)`` of all VRAM the driver may not allocate: the complement, inside ``[0, vram_size)``,
    of the usable claims less the top-level ``fixed`` regions. Each piece is named after the claim it lies in
    (or "not in GSP-RM's FB regions")."""
    free: list[tuple[int, int]] = []
    for c in sorted((c for c in claims if c.usable), key=lambda c: c.start):
        lo, hi = max(c.start, 0), min(c.end, vram_size)
        if lo < hi:
            free.append((lo, hi))
    for r in fixed or []:
        if r.inside is None:
            free = [piece for lo, hi in free for piece in ((lo, min(hi, r.start)), (max(lo, r.end), hi))
                    if piece[0] < piece[1]]
    free.sort()
    out: list[tuple[int, int, str]] = []
    pos = 0
    for lo, hi in [*free, (vram_size, vram_size)]:
        while pos < lo:
            owner = next((c for c in claims if c.start <= pos < c.end), None)
            end = lo if owner is None else min(lo, owner.end)
            name = "not in GSP-RM's FB regions" if owner is None else owner.label
            if owner is not None and owner.usable:
                name = next((f"{r.name} (inside {owner.label})" for r in fixed or []
                             if r.inside is None and r.start <= pos < r.end), owner.label)
            out.append((pos, end - pos, name))
            pos = end
        pos = max(pos, hi)
    return out
