"""nova_core.mm.layout: the fixed regions at the top of VRAM that the VRAM allocator must not hand out.

The GSP boot computes the real framebuffer layout (FRTS, GSP firmware, WPR2 heap, non-WPR heap, VGA workspace)
from the firmware it loads and passes it to :class:`~nova_core.mm.allocator.VramAllocator` as a list of
:class:`Region`. Before that, and for ``nova mm stats``, :func:`typical_regions` computes the same layout from
the VRAM size with the algorithm of nvidia-facts.md §5 (nouveau ``r535_gsp_oneinit``/``tu102_gsp_oneinit``,
nova-core ``FbLayout::new``) and the sizes of the 535.113.01 GSP images for the firmware pieces:

1. VGA workspace: the last MiB of VRAM (the vBIOS default; the display engine may move it);
2. FRTS: 1 MiB (none on GA100) ending at the VGA workspace aligned down to 128 KiB;
3. the GSP bootloader below it (4 KiB aligned), the GSP ELF below that (64 KiB aligned);
4. the WPR2 heap below (1 MiB aligned): carveout + base RM + 96 KiB per GiB of VRAM + 96 MiB of client
   allocations, clamped to the LibOS generation's [min, max];
5. WPR2 = [heap start minus the 256-byte ``GspFwWprMeta``, aligned down to 1 MiB; end of FRTS);
6. the 1 MiB non-WPR heap just below WPR2.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MmError
from ..gpu.chips import Architecture, Chipset

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: sizes of the 535.113.01 images in linux-firmware (``.fwimage`` of gsp-535.113.01.bin; bootloader file),
#: measured with pyelftools: TU102 0x16a3350 / 4196 bytes, GA102 0x2448000 / 20588 bytes
TYPICAL_FW_IMAGE = {2: 0x16A3350, 3: 0x2448000}
TYPICAL_BOOTLOADER = {2: 4196, 3: 20588}
GSP_FW_WPR_META_SIZE = 0x100  #: sizeof(GspFwWprMeta)


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


def _down(x: int, a: int) -> int:
    return x & ~(a - 1)


def _up(x: int, a: int) -> int:
    return (x + a - 1) & ~(a - 1)


def wpr2_heap_size(chipset: Chipset, vram_size: int) -> int:
    """GSP-RM's WPR2 heap for this chip and VRAM size (r535 parameters, nvidia-facts.md §5)."""
    libos = chipset.facts.libos
    arch = chipset.architecture
    base_rm = 14 * MiB if arch >= Architecture.HOPPER and arch is not Architecture.ADA else 8 * MiB
    if libos == 2:
        carveout, lo, hi = 0, 64 * MiB, 256 * MiB
    else:
        carveout, lo, hi = 20 * MiB, 84 * MiB, 276 * MiB
    gib = (vram_size + GiB - 1) // GiB
    size = carveout + base_rm + _up(96 * KiB * gib, MiB) + _up(48 * KiB * 2048, MiB)
    return min(max(size, lo), hi)


def typical_regions(chipset: Chipset, vram_size: int, *, fw_image_size: int | None = None,
                    bootloader_size: int | None = None) -> list[Region]:
    """The regions of the GSP framebuffer layout, top-level ones first then their parts (see the module doc).

    Raises:
        MmError: VRAM too small to hold the layout.
    """
    libos = chipset.facts.libos
    fw = TYPICAL_FW_IMAGE[libos] if fw_image_size is None else fw_image_size
    boot = TYPICAL_BOOTLOADER[libos] if bootloader_size is None else bootloader_size
    frts_size = chipset.facts.frts_size
    vga_start = vram_size - MiB
    frts = _down(vga_start, 128 * KiB) - frts_size
    boot_off = _down(frts - boot, 4 * KiB)
    fw_off = _down(boot_off - fw, 64 * KiB)
    heap = wpr2_heap_size(chipset, vram_size)
    heap_off = _down(fw_off - heap, MiB)
    heap = _down(fw_off - heap_off, MiB)
    wpr_start = _down(heap_off - GSP_FW_WPR_META_SIZE, MiB)
    non_wpr = wpr_start - MiB
    if non_wpr < 0:
        raise MmError(f"{chipset.name}: {vram_size:#x} bytes of VRAM cannot hold the GSP layout "
                      f"(it needs {vram_size - non_wpr:#x})")
    wpr_end = frts + frts_size
    regions = [
        Region("non-WPR heap", non_wpr, MiB),
        Region("WPR2", wpr_start, wpr_end - wpr_start),
        Region("VGA workspace", vga_start, vram_size - vga_start),
        Region("GspFwWprMeta + padding", wpr_start, heap_off - wpr_start, "WPR2"),
        Region("GSP heap", heap_off, heap, "WPR2"),
        Region("GSP firmware (ELF)", fw_off, boot_off - fw_off, "WPR2"),
        Region("GSP bootloader", boot_off, frts - boot_off, "WPR2"),
    ]
    if frts_size:
        regions.append(Region("FRTS", frts, frts_size, "WPR2"))
    return regions


def reservations(regions: list[Region]) -> list[tuple[int, int, str]]:
    """The top-level regions as ``(start, size, name)`` for :class:`~nova_core.mm.allocator.VramAllocator`."""
    return [r.as_tuple() for r in regions if r.inside is None]
