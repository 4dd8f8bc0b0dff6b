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
    FSP = "fsp"  #: chain of trust through the FSP (Hopper, Blackwell) - not implemented yet


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
        has_display: the chip has a display engine (compute parts do not).
        pci_device_id: a representative PCI device id (``pci.ids``; Blackwell ids from board data).
        board: the board the representative id belongs to.
        sim_vram_mib: VRAM of that board, used by the simulated GPU.
        reg_family: the register family (:data:`nova_core.regs.core.FAMILIES`: the directory of NVIDIA's
            published headers that defines the chip's registers); ``Register.for_family`` takes it.
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


_MiB = 1 << 20


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
    compute_only = chipset in (Chipset.GA100, Chipset.GH100, Chipset.GB100, Chipset.GB102)
    reg_family = {Architecture.TURING: "TU102", Architecture.AMPERE: "GA102", Architecture.ADA: "AD102",
                  Architecture.HOPPER: "GH100", Architecture.BLACKWELL_GB10X: "GB100",
                  Architecture.BLACKWELL_GB20X: "GB202"}[arch]
    if chipset is Chipset.GA100:
        reg_family = "GA100"
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
