"""nova_core.gpu.chips: architectures, chipsets, and the one table of per-chip facts.

Ids are NVIDIA's (open-gpu-kernel-modules 570.144 ``published/nv_arch.h``; the same list as Linux
nova-core ``gpu.rs``): chipset = architecture << 4 | implementation, as BOOT_42 reports it. Everything
that differs per chip (firmware directory, GSP signature section, falcon HAL, FWSEC loader, boot path,
heap flavour) is a column of :data:`CHIPS`, not an ``if`` somewhere in the logic.

This module is a fact module: the simulated GPU imports it too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import ChipError, did_you_mean
from ..regs.core import Register
from ..regs.fuse import NV_FUSE_STATUS_OPT_DISPLAY
from ..regs.pfb import FLUSH_PAGE_REGS, FlushPageRegs, FlushPageScheme
from ..regs.therm import NV_THERM_I2CS_SCRATCH
from ..regs.vfn import NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF


class Architecture(enum.IntEnum):
    """GPU architecture ids (NV_PMC_BOOT_42.ARCHITECTURE)."""

    TURING = 0x16
    AMPERE = 0x17
    HOPPER = 0x18
    ADA = 0x19
    BLACKWELL_GB10X = 0x1A
    BLACKWELL_GB20X = 0x1B

    @property
    def family(self) -> str:
        """Marketing family name (``"Blackwell"`` for both Blackwell ids)."""
        return self.name.split("_")[0].capitalize()


#: architectures before Turing (no GSP): refused with a clear message, never guessed at
PRE_TURING_ARCHITECTURES = {
    0x04: "NV04", 0x05: "NV10", 0x06: "NV20", 0x07: "NV30", 0x08: "NV40", 0x09: "NV50",
    0x0C: "Fermi (GF100)", 0x0D: "Fermi (GF110)", 0x0E: "Kepler (GK100)", 0x0F: "Kepler (GK110)",
    0x10: "Kepler (GK200)", 0x11: "Maxwell (GM100)", 0x12: "Maxwell (GM200)",
    0x13: "Pascal (GP100)", 0x14: "Volta (GV100)", 0x15: "Volta (GV11B)",
}


class Chipset(enum.IntEnum):
    """Supported chipsets; the value is the BOOT_42 chip id (architecture << 4 | implementation)."""

    TU102 = 0x162
    TU104 = 0x164
    TU106 = 0x166
    TU117 = 0x167
    TU116 = 0x168
    GA100 = 0x170
    GA102 = 0x172
    GA103 = 0x173
    GA104 = 0x174
    GA106 = 0x176
    GA107 = 0x177
    GH100 = 0x180
    AD102 = 0x192
    AD103 = 0x193
    AD104 = 0x194
    AD106 = 0x196
    AD107 = 0x197
    GB100 = 0x1A0
    GB102 = 0x1A2
    GB202 = 0x1B2
    GB203 = 0x1B3
    GB205 = 0x1B5
    GB206 = 0x1B6
    GB207 = 0x1B7

    @classmethod
    def from_id(cls, chip_id: int) -> Chipset:
        """The chipset with BOOT_42 chip id ``chip_id``; a clear error for anything else."""
        try:
            return cls(chip_id)
        except ValueError:
            known = ", ".join(f"{c.name}={c.value:#x}" for c in cls)
            raise ChipError(f"unknown chipset id {chip_id:#x}; known chipsets: {known}") from None

    @classmethod
    def from_name(cls, name: str) -> Chipset:
        """``"ad102"``/``"AD102"`` to the chipset; a clear error naming the known ones."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ChipError(
                f"unknown chipset {name!r}" + did_you_mean(name.strip().upper(), cls.__members__)
            ) from None

    @classmethod
    def parse(cls, text: str | int) -> Chipset:
        """A chipset from a name (``"ga102"``) or an id (``0x172``, ``"0x172"``)."""
        if isinstance(text, int):
            return cls.from_id(text)
        t = text.strip()
        if t.lower().startswith("0x") or t.isdigit():
            try:
                return cls.from_id(int(t, 0))
            except ValueError:
                pass
        return cls.from_name(t)

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.value >> 4)

    @property
    def implementation(self) -> int:
        return self.value & 0xF

    @property
    def lower(self) -> str:
        """Lower-case name as used in firmware paths (``"ga102"``)."""
        return self.name.lower()

    @property
    def facts(self) -> ChipFacts:
        return CHIPS[self]


class FalconHal(enum.Enum):
    """Falcon behaviour family, named after the first chip that has it (nova-core ``falcon/hal``)."""

    TU102 = "tu102"  #: Turing and GA100: PIO loads, no BROM HS parameters, FWSEC via generic bootloader
    GA102 = "ga102"  #: GA102 and later: DMA loads, BROM PARAADDR/ENGIDMASK/UCODE_ID/MOD_SEL


class BootPath(enum.Enum):
    """How GSP-RM is started."""

    SEC2_BOOTER = "sec2-booter"  #: FWSEC-FRTS on GSP, then booter_load on SEC2 (Turing, Ampere, Ada)
    FSP = "fsp"  #: chain of trust through the FSP (Hopper, Blackwell): the FSP verifies and starts the GSP-FMC


class FbSizeSource(enum.Enum):
    LOCAL_MEMORY_RANGE = "NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE"
    USABLE_FB_SIZE_SCRATCH = "NV_PGC6_AON_SECURE_SCRATCH_GROUP_42"


@dataclass(frozen=True)
class ChipFacts:
    """Everything nova_core needs to know about one chipset.

    Attributes:
        chipset: the chip.
        gsp_sig_section: ELF section of the GSP image holding this chip's signature (nouveau
            ``gsp/*.c`` ``.sig_section``; Hopper/Blackwell names from the 535 ga102 image and nova-core).
        falcon_hal: falcon loading/boot behaviour.
        needs_fwsec_bootloader: FWSEC is loaded through the generic bootloader (Turing, GA100).
        boot_path: SEC2 booter or FSP chain of trust.
        libos: LibOS generation of GSP-RM (2: TU10x/GA100, 3: GA102+) - selects the heap formula.
        gsp_image_family: suffix of NVIDIA driver GSP images (``gsp_tu10x.bin``/``gsp_ga10x.bin``).
        fb_size_source: where VRAM size is read from (nova-core ``fb/hal``).
        frts_size: FRTS region size in bytes (nova-core: none on GA100).
        has_display: the representative board has a display engine (compute parts do not): what the
            simulated GPU's display fuse says. The driver reads the fuse (:attr:`display_fuse`), never this.
        pci_device_id: a representative PCI device id (``pci.ids``; Blackwell ids from board data).
        board: the board the representative id belongs to.
        sim_vram_mib: VRAM of that board, used by the simulated GPU.
        reg_family: the register family (:data:`nova_core.regs.core.FAMILIES`: the directory of NVIDIA's
            published headers that defines the chip's registers); ``Register.for_family`` takes it.
        msi_rearm_xve: with MSI, each interrupt is re-armed by a write to ``NV_XVE_CYA_2`` (TU102..AD107: OpenRM
            ``PDB_PROP_KBIF_USE_CONFIG_SPACE_TO_REARM_MSI``); Hopper and later re-arm through the top-level enables.
        pci_config_mirror: BAR0 offset of the PCI config space mirror GSP-RM is told about in SET_SYSTEM_INFO
            (OpenRM ``kbifGetPciConfigSpacePriMirror``: 0x88000 through Ada (nouveau, nova-core), ``NV_EP_PCFGM``
            0x92000 from Hopper, ``hopper/gh100/dev_xtl_ep_pri.h``).
        non_wpr_heap_size: GspFwWprMeta.nonWprHeapSize (OpenRM 570.144 ``kgspGetNonWprHeapSize``: 1 MiB through
            Ada, 2 MiB on GH100/GB10x, 0x220000 on GB20x; nouveau r570 ``heap_size_non_wpr`` agrees).
        pmu_reserved_size: GspFwWprMeta.pmuReservedSize: FB the PMU keeps above FRTS (nouveau r570
            ``rsvd_size_pmu``: ALIGN(0x800000 + 0x1000000 + 0x1000, 128 KiB) on Blackwell, none before).
        fb_end_reserve: FSP chips: what the driver leaves at the end of FB above FRTS and the PMU region (OpenRM
            ``memmgrGetFBEndReserveSizeEstimate``: 2 MiB, 0x220000 on Blackwell); 0 elsewhere.
        cot_version, cot_public_key_size, cot_signature_size: FSP chips: ``NVDM_PAYLOAD_COT.version`` and the
            sizes of the FMC's key and signature the FSP takes (OpenRM ``g_kern_fsp_nvoc.c``: 1/384/384 on GH100,
            2/97/96 on GB10x and GB20x; nouveau ``nvkm_fsp_func.cot``); 0 elsewhere.
        fsp_boot_timeout_ms: FSP chips: how long the FSP's own boot may take (``kfspWaitForSecureBoot``: 4 s,
            5 s on GB20x).
        fsp_boot_scratch: FSP chips: the register the FSP reports its boot completion in (``NV_THERM_I2CS_SCRATCH``,
            which moved on GB20x); ``None`` elsewhere.
        fsp_fuse_error_check: FSP chips whose FSP reports a fuse error check to be verified after its boot
            (``PDB_PROP_KFSP_FSP_FUSE_ERROR_CHECK_ENABLED``: GB100/GB102, ``g_kern_fsp_nvoc.c``).
        bar0_window_xal: the PRAMIN window is moved by ``NV_XAL_EP_BAR0_WINDOW`` (Hopper+), not ``NV_PBUS_BAR0_WINDOW``.
    """

    chipset: Chipset
    gsp_sig_section: str
    falcon_hal: FalconHal
    needs_fwsec_bootloader: bool
    boot_path: BootPath
    libos: int
    gsp_image_family: str
    fb_size_source: FbSizeSource
    frts_size: int
    has_display: bool
    pci_device_id: int
    board: str
    sim_vram_mib: int
    reg_family: str
    msi_rearm_xve: bool
    pci_config_mirror: int
    non_wpr_heap_size: int
    pmu_reserved_size: int
    fb_end_reserve: int
    cot_version: int
    cot_public_key_size: int
    cot_signature_size: int
    fsp_boot_timeout_ms: int
    fsp_boot_scratch: type[Register] | None
    fsp_fuse_error_check: bool
    bar0_window_xal: bool

    @property
    def name(self) -> str:
        return self.chipset.name

    @property
    def fw_dir(self) -> str:
        """Directory under ``nvidia/`` in linux-firmware (``"ga102"``)."""
        return self.chipset.lower

    @property
    def architecture(self) -> Architecture:
        return self.chipset.architecture

    @property
    def vfn_leaves(self) -> int:
        """``NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF__SIZE_1`` of the chip's register family: the interrupt leaf
        registers (32 vectors each) of the VFN tree - 8 on Turing/Ampere/Ada (``dev_vm.h`` of TU102/GA10x; Ada takes
        the TU102 HAL, ``g_intr_nvoc.c``), 16 on Hopper/Blackwell (GH100 and GB100 headers; GB20x takes the GH100 HAL
        ``intrGetNumLeaves_GH100``). The one source is the register's per-family declaration in ``regs/vfn.py``."""
        return NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF.for_family(self.reg_family).COUNT or 1

    @property
    def display_fuse(self) -> type[Register]:
        """The display fuse register: its gm107 address on Turing, the GA100 one from Ampere on (nova-core
        ``fb/hal``: ``display_enabled_gm107`` for TU10x, ``display_enabled_ga100`` for GA100 and later)."""
        return NV_FUSE_STATUS_OPT_DISPLAY.for_family(self.reg_family)

    @property
    def sysmem_flush(self) -> FlushPageRegs:
        """The registers the sysmem flush page goes in (``regs/pfb.py``; OpenRM 570.144
        ``kmemsysProgramSysmemFlushBuffer`` by chip, ``g_kern_mem_sys_nvoc.c``): the NISO register alone on Turing
        (``_GM107``), with ``_HI`` on GA100 to Ada (``_GA100``), FBHUB's PCIE pair on GH100, HSHUB0's two pairs on
        GB100/GB102, FBHUB0's pair on GB20x (the GB10B HAL)."""
        arch = self.architecture
        scheme = {Architecture.TURING: FlushPageScheme.NISO_GM107, Architecture.HOPPER: FlushPageScheme.FBHUB_GH100,
                  Architecture.BLACKWELL_GB10X: FlushPageScheme.HSHUB_GB100,
                  Architecture.BLACKWELL_GB20X: FlushPageScheme.FBHUB0_GB10B}.get(arch, FlushPageScheme.NISO_GA100)
        return FLUSH_PAGE_REGS[scheme]


_MiB = 1 << 20


def _align_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _chip(chipset: Chipset, pci: int, board: str, vram_gib: float) -> ChipFacts:
    arch = chipset.architecture
    turing_like = arch is Architecture.TURING or chipset is Chipset.GA100
    if arch is Architecture.TURING:
        sig = ".fwsignature_tu11x" if chipset in (Chipset.TU116, Chipset.TU117) else ".fwsignature_tu10x"
    elif chipset is Chipset.GA100:
        sig = ".fwsignature_ga100"
    elif arch is Architecture.AMPERE:
        sig = ".fwsignature_ga10x"
    elif arch is Architecture.ADA:
        sig = ".fwsignature_ad10x"
    elif arch is Architecture.HOPPER:
        sig = ".fwsignature_gh100"
    elif arch is Architecture.BLACKWELL_GB10X:
        sig = ".fwsignature_gb10x"
    else:
        sig = ".fwsignature_gb20x"
    fsp = arch in (Architecture.HOPPER, Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
    blackwell = arch in (Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
    compute_only = chipset in (Chipset.GA100, Chipset.GH100, Chipset.GB100, Chipset.GB102)
    reg_family = {Architecture.TURING: "TU102", Architecture.AMPERE: "GA102", Architecture.ADA: "AD102",
                  Architecture.HOPPER: "GH100", Architecture.BLACKWELL_GB10X: "GB100",
                  Architecture.BLACKWELL_GB20X: "GB202"}[arch]
    if chipset is Chipset.GA100:
        reg_family = "GA100"
    pre_hopper = arch in (Architecture.TURING, Architecture.AMPERE, Architecture.ADA)
    return ChipFacts(
        chipset=chipset,
        gsp_sig_section=sig,
        falcon_hal=FalconHal.TU102 if turing_like else FalconHal.GA102,
        needs_fwsec_bootloader=turing_like,
        boot_path=BootPath.FSP if fsp else BootPath.SEC2_BOOTER,
        libos=2 if turing_like else 3,
        gsp_image_family="tu10x" if turing_like else "ga10x",
        fb_size_source=FbSizeSource.LOCAL_MEMORY_RANGE if turing_like else FbSizeSource.USABLE_FB_SIZE_SCRATCH,
        frts_size=0 if chipset is Chipset.GA100 else _MiB,
        has_display=not compute_only,
        pci_device_id=pci,
        board=board,
        sim_vram_mib=int(vram_gib * 1024),
        reg_family=reg_family,
        msi_rearm_xve=pre_hopper,
        pci_config_mirror=0x92000 if fsp else 0x88000,
        non_wpr_heap_size=(0x220000 if arch is Architecture.BLACKWELL_GB20X else 2 * _MiB) if fsp else _MiB,
        pmu_reserved_size=_align_up(0x800000 + 0x1000000 + 0x1000, 128 << 10) if blackwell else 0,
        fb_end_reserve=(0x220000 if blackwell else 2 * _MiB) if fsp else 0,
        cot_version=(2 if blackwell else 1) if fsp else 0,
        cot_public_key_size=(97 if blackwell else 384) if fsp else 0,
        cot_signature_size=(96 if blackwell else 384) if fsp else 0,
        fsp_boot_timeout_ms=(5000 if arch is Architecture.BLACKWELL_GB20X else 4000) if fsp else 0,
        fsp_boot_scratch=NV_THERM_I2CS_SCRATCH.for_family(reg_family) if fsp else None,
        fsp_fuse_error_check=arch is Architecture.BLACKWELL_GB10X,
        bar0_window_xal=fsp,
    )


#: The per-chip facts table. Representative boards: PCI ids from pci.ids (2023-04-11) where listed;
#: Blackwell ids from the vBIOS fixture (GB206 0x2D04) and board lists (unverified: GB100/GB102/GB207).
CHIPS: dict[Chipset, ChipFacts] = {f.chipset: f for f in (
    _chip(Chipset.TU102, 0x1E04, "GeForce RTX 2080 Ti", 11),
    _chip(Chipset.TU104, 0x1E82, "GeForce RTX 2080", 8),
    _chip(Chipset.TU106, 0x1F08, "GeForce RTX 2060 Rev. A", 6),
    _chip(Chipset.TU117, 0x1F82, "GeForce GTX 1650", 4),
    _chip(Chipset.TU116, 0x2182, "GeForce GTX 1660 Ti", 6),
    _chip(Chipset.GA100, 0x20B0, "A100 SXM4 40GB", 40),
    _chip(Chipset.GA102, 0x2204, "GeForce RTX 3090", 24),
    _chip(Chipset.GA103, 0x2414, "GeForce RTX 3060 Ti", 8),
    _chip(Chipset.GA104, 0x2484, "GeForce RTX 3070", 8),
    _chip(Chipset.GA106, 0x2503, "GeForce RTX 3060", 12),
    _chip(Chipset.GA107, 0x2582, "GeForce RTX 3050 8GB", 8),
    _chip(Chipset.GH100, 0x2330, "H100 SXM5 80GB", 80),
    _chip(Chipset.AD102, 0x2684, "GeForce RTX 4090", 24),
    _chip(Chipset.AD103, 0x2704, "GeForce RTX 4080", 16),
    _chip(Chipset.AD104, 0x2782, "GeForce RTX 4070 Ti", 12),
    _chip(Chipset.AD106, 0x2803, "GeForce RTX 4060 Ti", 8),
    _chip(Chipset.AD107, 0x2882, "GeForce RTX 4060", 8),
    _chip(Chipset.GB100, 0x2901, "B200", 180),
    _chip(Chipset.GB102, 0x2941, "GB102 (unverified board id)", 96),
    _chip(Chipset.GB202, 0x2B85, "GeForce RTX 5090", 32),
    _chip(Chipset.GB203, 0x2C02, "GeForce RTX 5080", 16),
    _chip(Chipset.GB205, 0x2F04, "GeForce RTX 5070", 12),
    _chip(Chipset.GB206, 0x2D04, "GeForce RTX 5060 Ti", 16),
    _chip(Chipset.GB207, 0x2D83, "GeForce RTX 5050 (unverified board id)", 8),
)}

if set(CHIPS) != set(Chipset):  # pragma: no cover - a fact-table edit error, caught at import
    raise ChipError(f"CHIPS lacks {sorted(c.name for c in set(Chipset) - set(CHIPS))}")


@dataclass(frozen=True)
class VgpuBoard:
    """A board NVIDIA sells for vGPU on one chip: SR-IOV exposed (its VFs carry the vGPUs, Ampere and later).

    Attributes:
        chipset: the chip.
        pci_device_id: the board's PCI device id (``pci.ids`` 2023-04-11).
        board: its name (``pci.ids``).
        vram_mib: its memory (NVIDIA's data sheets).
    """

    chipset: Chipset
    pci_device_id: int
    board: str
    vram_mib: int


#: The vGPU board of each chip that has one (NVIDIA's vGPU-certified data-center boards; ids from pci.ids 2023-04-11:
#: ``20b5 GA100 [A100 PCIe 80GB]``, ``2235 GA102GL [A40]``, ``26b5 AD102GL [L40]``, ``27b8 AD104GL [L4]``). Hopper and
#: Blackwell boards boot through the FSP, which nova-core does not do yet. The simulated GPU built for one of these
#: ids links its SR-IOV capability (:mod:`nova_core.sim.models.pci`); GeForce boards of the same chip hide it.
VGPU_BOARDS: dict[Chipset, VgpuBoard] = {b.chipset: b for b in (
    VgpuBoard(Chipset.GA100, 0x20B5, "A100 PCIe 80GB", 80 * 1024),
    VgpuBoard(Chipset.GA102, 0x2235, "A40", 48 * 1024),
    VgpuBoard(Chipset.AD102, 0x26B5, "L40", 48 * 1024),
    VgpuBoard(Chipset.AD104, 0x27B8, "L4", 24 * 1024),
)}


def vgpu_board(chipset: Chipset) -> VgpuBoard:
    """The vGPU board of ``chipset`` (a :class:`~nova_core.errors.ChipError` naming the chips that have one)."""
    try:
        return VGPU_BOARDS[chipset]
    except KeyError:
        have = ", ".join(f"{c.lower} ({b.board})" for c, b in VGPU_BOARDS.items())
        raise ChipError(f"{chipset.name} has no vGPU board (SR-IOV with vGPU: {have})") from None


def is_vgpu_board(pci_device_id: int) -> bool:
    """Whether ``pci_device_id`` is one of :data:`VGPU_BOARDS`."""
    return any(b.pci_device_id == pci_device_id for b in VGPU_BOARDS.values())
