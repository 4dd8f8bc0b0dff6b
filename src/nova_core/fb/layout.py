"""nova_core.fb.layout: the framebuffer layout GSP-RM boots into, computed top-down from VRAM's end.

A pure function of its inputs (:func:`compute_fb_layout`), as nouveau ``r535_gsp_oneinit`` and nova-core
``FbLayout::new`` compute it (nvidia-facts §5; sizes and alignments in :mod:`nova_core.fb.facts`)::

    fb size ............................................................ VRAM end
    VGA workspace   [vga, fb)      vga = fb - 1 MiB; with a display whose VGA_WORKSPACE_BASE is valid:
                                   its ADDR << 16, or fb - 128 KiB when that lies below fb - 1 MiB
    FRTS            [frts, +size)  ends at align_down(vga, 128 KiB) (= gspFwWprEnd); 1 MiB, none on GA100
    boot            [boot, +bl)    align_down(frts - bootloader size, 4 KiB)
    GSP-RM ELF      [elf, +img)    align_down(boot - image size, 64 KiB)
    WPR2 heap       [heap, elf')   heap = align_down(elf - heap size, 1 MiB); elf' = align_down(elf, 1 MiB)
    WPR2            [wpr2, FRTS end)  wpr2 = align_down(heap - sizeof(GspFwWprMeta), 1 MiB); GspFwWprMeta at wpr2
    non-WPR heap    [wpr2 - 1 MiB, wpr2)

Hopper and Blackwell (the FSP boot path) place it differently (:func:`compute_fsp_fb_layout`): the driver sends
only sizes - in ``GspFwWprMeta`` and, for FRTS, in the FSP's chain-of-trust message, which puts FRTS at a given
distance from the end of FB - and the GSP-FMC's ACR lays WPR2 out below FRTS (OpenRM 570.144
``kgspCalculateFbLayout_GH100``, whose diagram this follows)::

    fb size ............................................................ VRAM end
    VGA workspace   [fb - 128 KiB, fb)
    FB end reserve  [frts end, fb)   the COT's frtsVidmemOffset: the FB-end estimate, the PMU's FB (Blackwell)
    FRTS            [frts, +1 MiB)   frts end = fb - frtsVidmemOffset = gspFwWprEnd (WPR2 ends with FRTS, as on the
                                     SEC2 path: the GH100 diagram leaves it open, so this is a prediction)
    boot, ELF, heap, WPR2, non-WPR heap: as above, below FRTS; the non-WPR heap is the chip's size (2 MiB on
    GH100/GB10x, 0x220000 on GB20x)

Those offsets are the driver's prediction (:attr:`FbLayout.acr_placed`); GSP-RM reports where the ACR put the
non-WPR heap and FRTS (``GspStaticConfigInfo.fwWprLayoutOffset``) and the boot checks the prediction against it.

The heap size comes from :func:`wpr2_heap_size` (LibOS generation from the chip facts, parameters from
the GSP-RM branch of the firmware: r535, r550, r570). :func:`read_fb_layout` reads the hardware inputs
(VRAM size, display fuse, VGA workspace register) from a device. Filling ``GspFwWprMeta`` from the layout is the GSP
bindings' job; :meth:`FbLayout.wpr_meta_fields` gives the layout half of it under the struct's names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..errors import MmError
from ..gpu.chips import Architecture, BootPath, Chipset
from ..gpu.identify import Spec
from ..gpu.vram import vram_size
from ..hw.bar import Bar
from ..regs.fuse import DisplayFuse
from ..regs.pdisp import NV_PDISP_VGA_WORKSPACE_BASE, VGA_WORKSPACE_ADDR_SHIFT
from . import facts as F


class FbLayoutError(MmError):
    """The framebuffer cannot hold the GSP layout, or an input is out of range."""


def _down(x: int, a: int) -> int:
    return x - x % a


def _up(x: int, a: int) -> int:
    return -(-x // a) * a


@dataclass(frozen=True)
class FbRegion:
    """``[start, end)`` of VRAM."""

    name: str
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end

    def __str__(self) -> str:
        size = self.size
        human = f"{size >> 20} MiB" if size >= F.MiB and size % F.MiB == 0 else f"{size / 1024:g} KiB"
        return f"{self.name:<14} [{self.start:#012x}, {self.end:#012x}) {human}"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end, "size": self.size}


@dataclass(frozen=True)
class HeapParams:
    """Everything the WPR2 heap formula takes for one chip and GSP-RM branch."""

    branch: str
    libos: int
    os_carveout: int
    base_rm: int
    min_size: int
    max_size: int


def gsp_branch(version: str) -> str:
    """The heap-parameter branch (``"r535"``/``"r550"``/``"r570"``) of a GSP-RM version string (``"535.113.01"``).

    Raises:
        FbLayoutError: not a version, or older than r535 (no GSP-RM nova_core knows).
    """
    head = version.strip().lstrip("rR").split(".")[0]
    if not head.isdigit():
        raise FbLayoutError(f"GSP-RM version {version!r} does not start with a driver branch number (e.g. 535.113.01)")
    major = int(head)
    chosen = None
    for first, name in F.HEAP_BRANCHES:
        if major >= first:
            chosen = name
    if chosen is None:
        raise FbLayoutError(f"GSP-RM version {version!r}: branch {major} predates r{F.HEAP_BRANCHES[0][0]}, the oldest "
                            f"whose heap parameters are known")
    return chosen


def heap_params(chipset: Chipset, version: str) -> HeapParams:
    """The WPR2 heap parameters of ``chipset`` running GSP-RM ``version``."""
    branch = gsp_branch(version)
    libos = chipset.facts.libos
    h = F.LIBOS_HEAP[(branch, libos)]
    arch = chipset.architecture
    base_rm = F.BASE_RM_SIZE_TU10X if arch in (Architecture.TURING, Architecture.AMPERE, Architecture.ADA) \
        else F.BASE_RM_SIZE_GH100
    return HeapParams(branch, libos, h.os_carveout, base_rm, h.min_size, h.max_size)


def wpr2_heap_size(params: HeapParams, fb_size: int) -> int:
    """carveout + base RM + align_up(96 KiB x ceil(fb / 1 GiB), 1 MiB) + align_up(96 MiB, 1 MiB), clamped to [min, max].

    OpenRM clamps to the LibOS generation's bounds; nouveau (r535) applies only the minimum and nova-core
    (r570) clamps below the maximum - the three agree for every VRAM size a board has.
    """
    gib = -(-fb_size // F.GiB)
    size = (params.os_carveout + params.base_rm + _up(F.HEAP_SIZE_PER_GB_FB * gib, F.HEAP_ALIGN)
            + _up(F.HEAP_CLIENT_ALLOC_SIZE, F.HEAP_ALIGN))
    return min(max(size, params.min_size), params.max_size)


def vga_workspace_start(fb_size: int, vga_workspace_base: int | None) -> int:
    """Where the VGA workspace starts: ``vga_workspace_base`` is the NV_PDISP_VGA_WORKSPACE_BASE value on
    chips with a display (``None`` otherwise).

    Raises:
        FbLayoutError: the register points at or past the end of VRAM.
    """
    default = fb_size - F.VGA_WORKSPACE_DEFAULT_SIZE
    reg = NV_PDISP_VGA_WORKSPACE_BASE
    if vga_workspace_base is None or not reg.status_valid.get(vga_workspace_base):
        return default
    addr = reg.address.get(vga_workspace_base) << VGA_WORKSPACE_ADDR_SHIFT
    if addr < default:
        return fb_size - F.VGA_WORKSPACE_FALLBACK_SIZE
    if addr >= fb_size:
        raise FbLayoutError(f"NV_PDISP_VGA_WORKSPACE_BASE {vga_workspace_base:#010x} places the VGA workspace at "
                            f"{addr:#x}, at or past the end of the {fb_size:#x}-byte framebuffer")
    return addr


@dataclass(frozen=True)
class FbLayout:
    """The GSP framebuffer layout (see the module docstring); every region is a :class:`FbRegion`."""

    chipset: Chipset
    version: str
    heap_params: HeapParams
    fb: FbRegion
    vga_workspace: FbRegion
    frts: FbRegion
    boot: FbRegion
    elf: FbRegion
    wpr2_heap: FbRegion
    wpr2: FbRegion
    non_wpr_heap: FbRegion
    #: FSP chips: the FB above FRTS kept for the PMU and the FSP's estimate (empty on the SEC2 path)
    fb_end_reserve: FbRegion | None = None
    #: FSP chips: the GSP-FMC's ACR places the regions; these offsets are the driver's prediction and
    #: ``GspFwWprMeta`` carries only sizes
    acr_placed: bool = False
    #: GspFwWprMeta.pmuReservedSize (FSP chips: the PMU's part of :attr:`fb_end_reserve`)
    pmu_reserved_size: int = 0

    @property
    def wpr2_end(self) -> int:
        """gspFwWprEnd: the end of FRTS and of WPR2 (on the SEC2 path the VGA workspace aligned down to 128 KiB)."""
        return self.wpr2.end

    def regions(self) -> list[FbRegion]:
        """Every region, from the top of VRAM down (FRTS and the FB end reserve omitted when empty)."""
        regs = [self.vga_workspace, self.fb_end_reserve, self.frts, self.boot, self.elf, self.wpr2_heap, self.wpr2,
                self.non_wpr_heap]
        return [r for r in regs if r is not None and r.size]

    def wpr_meta_fields(self) -> dict[str, int]:
        """The layout part of ``GspFwWprMeta``, under its field names (nouveau ``r535_gsp_wpr_meta_init``); on the
        FSP path only the sizes the ACR lays WPR2 out with (``kgspCalculateFbLayout_GH100``,
        ``gh100_gsp_wpr_meta_init``)."""
        if self.acr_placed:
            return {
                "nonWprHeapSize": self.non_wpr_heap.size,
                "gspFwHeapSize": self.wpr2_heap.size,
                "frtsSize": self.frts.size,
                "vgaWorkspaceSize": self.vga_workspace.size,
                "pmuReservedSize": self.pmu_reserved_size,
            }
        return {
            "gspFwRsvdStart": self.non_wpr_heap.start,
            "nonWprHeapOffset": self.non_wpr_heap.start,
            "nonWprHeapSize": self.non_wpr_heap.size,
            "gspFwWprStart": self.wpr2.start,
            "gspFwHeapOffset": self.wpr2_heap.start,
            "gspFwHeapSize": self.wpr2_heap.size,
            "gspFwOffset": self.elf.start,
            "bootBinOffset": self.boot.start,
            "frtsOffset": self.frts.start,
            "frtsSize": self.frts.size,
            "gspFwWprEnd": self.wpr2_end,
            "fbSize": self.fb.size,
            "vgaWorkspaceOffset": self.vga_workspace.start,
            "vgaWorkspaceSize": self.vga_workspace.size,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "chipset": self.chipset.name,
            "version": self.version,
            "heap_params": dict(self.heap_params.__dict__),
            "regions": {r.name: r.as_json() for r in (self.fb, *self.regions())},
            "wpr_meta": self.wpr_meta_fields(),
            "acr_placed": self.acr_placed,
        }

    def __str__(self) -> str:
        head = (f"{self.chipset.name} framebuffer layout for GSP-RM {self.version} "
                f"({self.heap_params.branch}, LibOS {self.heap_params.libos})")
        return "\n".join([head, *(f"  {r}" for r in (self.fb, *self.regions()))])


def compute_fb_layout(chipset: Chipset, *, fb_size: int, bootloader_size: int, gsp_image_size: int,
                      version: str, vga_workspace_base: int | None = None,
                      frts_size: int | None = None) -> FbLayout:
    """The layout for ``chipset`` with ``fb_size`` bytes of VRAM.

    Args:
        fb_size: usable VRAM bytes (:func:`~nova_core.gpu.vram.vram_size`).
        bootloader_size: bytes of the GSP RISC-V bootloader image (its ucode payload).
        gsp_image_size: bytes of the GSP-RM image (``.fwimage``).
        version: GSP-RM version (``"535.113.01"``), which picks the heap parameters.
        vga_workspace_base: NV_PDISP_VGA_WORKSPACE_BASE on chips with a display, else ``None``.
        frts_size: default from the chip facts (1 MiB; 0 on GA100).

    On the FSP boot path this is :func:`compute_fsp_fb_layout`.

    Raises:
        FbLayoutError: a negative or zero size, or VRAM too small for the layout.
    """
    if chipset.facts.boot_path is BootPath.FSP:
        return compute_fsp_fb_layout(chipset, fb_size=fb_size, bootloader_size=bootloader_size,
                                     gsp_image_size=gsp_image_size, version=version, frts_size=frts_size)
    _check_sizes(fb_size, bootloader_size, gsp_image_size)
    frts_size = chipset.facts.frts_size if frts_size is None else frts_size
    if frts_size < 0 or frts_size % F.BOOT_ALIGN:
        raise FbLayoutError(f"FB layout: FRTS size {frts_size:#x} must be a non-negative multiple of 4 KiB")
    params = heap_params(chipset, version)
    vga = vga_workspace_start(fb_size, vga_workspace_base)
    frts = frts_region(chipset, fb_size=fb_size, vga_workspace_base=vga_workspace_base, frts_size=frts_size)
    return _below_frts(chipset, version, params, FbRegion("fb", 0, fb_size), FbRegion("vga_workspace", vga, fb_size),
                       frts, bootloader_size, gsp_image_size, chipset.facts.non_wpr_heap_size)


def fsp_frts_offset_from_end(chipset: Chipset) -> int:
    """Where FRTS ends, counted back from the end of FB, on an FSP chip (``NVDM_PAYLOAD_COT.frtsVidmemOffset``):
    the FB-end reserve estimate, plus - when the PMU reserves FB - 4 KiB and the PMU's size, aligned up to 2 MiB
    (OpenRM ``kfspPrepareBootCommands_GH100``). GH100: 2 MiB; GB10x/GB20x: 0x1c00000 (nouveau and tinygrad send
    the same)."""
    f = chipset.facts
    offset = f.fb_end_reserve
    if f.pmu_reserved_size:
        offset = _up(offset + F.FSP_FRTS_EXTRA_RESERVE + f.pmu_reserved_size, F.FSP_FRTS_PMU_ALIGN)
    return offset


def compute_fsp_fb_layout(chipset: Chipset, *, fb_size: int, bootloader_size: int, gsp_image_size: int,
                          version: str, frts_size: int | None = None) -> FbLayout:
    """The Hopper/Blackwell layout as the GSP-FMC's ACR places it (see the module docstring); ``frts_size`` defaults
    to the chain-of-trust's 1 MiB.

    Raises:
        FbLayoutError: a negative or zero size, or VRAM too small for the layout.
    """
    _check_sizes(fb_size, bootloader_size, gsp_image_size)
    f = chipset.facts
    frts_size = F.FSP_FRTS_SIZE if frts_size is None else frts_size
    if frts_size <= 0 or frts_size % F.BOOT_ALIGN:
        raise FbLayoutError(f"FB layout: FRTS size {frts_size:#x} must be a positive multiple of 4 KiB")
    params = heap_params(chipset, version)
    frts_end = fb_size - fsp_frts_offset_from_end(chipset)
    if frts_end - frts_size <= 0:
        raise FbLayoutError(f"FB layout: {fb_size:#x} bytes of VRAM leave no room for FRTS below the "
                            f"{fsp_frts_offset_from_end(chipset):#x}-byte FB end reserve")
    frts = FbRegion("frts", frts_end - frts_size, frts_end)
    fb = FbRegion("fb", 0, fb_size)
    vga = FbRegion("vga_workspace", fb_size - F.FSP_VGA_WORKSPACE_SIZE, fb_size)
    layout = _below_frts(chipset, version, params, fb, vga, frts, bootloader_size, gsp_image_size,
                         f.non_wpr_heap_size)
    return replace(layout, fb_end_reserve=FbRegion("fb_end_reserve", frts_end, vga.start), acr_placed=True,
                   pmu_reserved_size=f.pmu_reserved_size)


def _check_sizes(fb_size: int, bootloader_size: int, gsp_image_size: int) -> None:
    for name, value in (("fb_size", fb_size), ("bootloader_size", bootloader_size),
                        ("gsp_image_size", gsp_image_size)):
        if not isinstance(value, int) or value <= 0:
            raise FbLayoutError(f"FB layout: {name} {value!r} must be a positive byte count")
    if fb_size < 2 * F.VGA_WORKSPACE_DEFAULT_SIZE:
        raise FbLayoutError(f"FB layout: {fb_size:#x} bytes of VRAM cannot hold a GSP layout")


def _below_frts(chipset: Chipset, version: str, params: HeapParams, fb: FbRegion, vga: FbRegion, frts_r: FbRegion,
                bootloader_size: int, gsp_image_size: int, non_wpr_heap_size: int) -> FbLayout:
    """The regions below FRTS, top-down (both paths): boot binary, ELF, heap, WPR2 with the meta, non-WPR heap."""
    fb_size, frts, frts_end, frts_size = fb.size, frts_r.start, frts_r.end, frts_r.size
    boot = _down(frts - bootloader_size, F.BOOT_ALIGN)
    elf = _down(boot - gsp_image_size, F.ELF_ALIGN)
    heap_size = wpr2_heap_size(params, fb_size)
    heap = _down(elf - heap_size, F.HEAP_ALIGN)
    heap_end = heap + _down(elf - heap, F.HEAP_ALIGN)
    wpr2 = _down(heap - F.GSP_FW_WPR_META_SIZE, F.HEAP_ALIGN)
    non_wpr = wpr2 - non_wpr_heap_size
    if non_wpr < 0:
        raise FbLayoutError(
            f"FB layout: {chipset.name} with {fb_size:#x} bytes of VRAM cannot hold the GSP layout: the FRTS "
            f"({frts_size:#x}), bootloader ({bootloader_size:#x}), GSP-RM image ({gsp_image_size:#x}), "
            f"{heap_size >> 20} MiB WPR2 heap and {non_wpr_heap_size:#x}-byte non-WPR heap need "
            f"{fb_size - non_wpr:#x} bytes")
    return FbLayout(
        chipset=chipset,
        version=version,
        heap_params=params,
        fb=fb,
        vga_workspace=vga,
        frts=FbRegion("frts", frts, frts_end),
        boot=FbRegion("boot", boot, boot + bootloader_size),
        elf=FbRegion("elf", elf, elf + gsp_image_size),
        wpr2_heap=FbRegion("wpr2_heap", heap, heap_end),
        wpr2=FbRegion("wpr2", wpr2, frts_end),
        non_wpr_heap=FbRegion("non_wpr_heap", non_wpr, wpr2),
    )


def display_enabled(bar: Bar, spec: Spec) -> bool:
    """Whether the chip has a display engine, from its display fuse (``NV_FUSE_STATUS_OPT_DISPLAY`` DATA 0 =
    ENABLE; nova-core ``supports_display``) - a board fact the chip id does not tell."""
    fuse = spec.facts.display_fuse
    return fuse.field("data").get(fuse.read(bar)) == DisplayFuse.ENABLE


def _frts(vga: int, frts_size: int) -> tuple[int, int]:
    end = _down(vga, F.FRTS_ALIGN)
    return end - frts_size, end


def frts_region(chipset: Chipset, *, fb_size: int, vga_workspace_base: int | None = None,
                frts_size: int | None = None) -> FbRegion:
    """Where the layout puts FRTS (= WPR2 after FWSEC-FRTS): the part of :func:`compute_fb_layout` that needs
    no firmware sizes."""
    size = chipset.facts.frts_size if frts_size is None else frts_size
    if fb_size < 2 * F.VGA_WORKSPACE_DEFAULT_SIZE:
        raise FbLayoutError(f"FB layout: {fb_size:#x} bytes of VRAM cannot hold a GSP layout")
    start, end = _frts(vga_workspace_start(fb_size, vga_workspace_base), size)
    return FbRegion("frts", start, end)


def read_fb_layout(bar: Bar, spec: Spec, *, bootloader_size: int, gsp_image_size: int, version: str) -> FbLayout:
    """:func:`compute_fb_layout` with the VRAM size and VGA workspace register read from the device (the
    workspace register only where the display fuse says there is a display)."""
    vga = NV_PDISP_VGA_WORKSPACE_BASE.read(bar) if display_enabled(bar, spec) else None
    return compute_fb_layout(spec.chipset, fb_size=vram_size(bar, spec), bootloader_size=bootloader_size,
                             gsp_image_size=gsp_image_size, version=version, vga_workspace_base=vga)
