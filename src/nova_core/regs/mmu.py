"""nova_core.regs.mmu: GPU MMU facts: page-table entry formats (MMU v2, v3), level geometry, TLB invalidate,
BAR2 binding and the page-directory words of an instance block.

Sources (nvidia-facts.md §10 and the headers it cites):

- Entry formats: open-gpu-kernel-modules ``kernel-open/nvidia-uvm/hwref/turing/tu102/dev_mmu.h`` (``NV_MMU_VER2_*``)
  and ``hwref/hopper/gh100/dev_mmu.h`` (``NV_MMU_VER3_*``); levels from OpenRM ``kern_gmmu_fmt_gp10x.c``,
  ``kern_gmmu_fmt_ga10x.c`` (512 MiB PTEs at PD1) and ``kern_gmmu_fmt_gh10x.c``; nouveau ``vmmgp100.c``,
  ``vmmgh100.c`` (page-table alignments, dual-PDE halves: big table in the low quadword).
- TLB invalidate: ``published/turing/tu102/dev_vm.h`` (same offsets in ``ampere/ga100/dev_vm.h``), used by OpenRM
  ``kgmmuCommitTlbInvalidate_TU102``/``kgmmuSetPdbToInvalidate_TU102`` (write PDB, UPPER_PDB, then INVALIDATE with
  TRIGGER; poll TRIGGER back to 0), nouveau ``tu102_vmm_flush`` (also used for GH100 by ``vmmgh100.c``; 2 s poll) and
  tinygrad's ``NVMemoryManager.on_range_mapped`` (ALL_VA|ALL_PDB|SYS_MEMBAR|TRIGGER, on GA10x/AD10x/GB20x).
- BAR1/BAR2 binding: ``tu102/dev_vm.h`` (``NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK`` 0xF40, ``_BAR2_BLOCK`` 0xF48,
  ``_BIND_STATUS`` 0xF50; nouveau ``bar/tu102.c``), ``hopper/gh100/dev_vm.h``
  (``_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR``/``_HIGH_ADDR`` 0xF60/0xF64, ``_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR``/``_HIGH_ADDR``
  0xF70/0xF74).
- Instance block page directory: ``published/pascal/gp100/dev_ram.h`` (``NV_RAMIN_PAGE_DIR_BASE_*`` at word 128,
  ``NV_RAMIN_ADR_LIMIT_*``), written the same way for Turing to Hopper by nouveau ``gp100_vmm_join_``.

The address fields of a PDE/PTE depend on the aperture (``ADDRESS_SYS 53:8`` overlaps ``ADDRESS_VID 32:8`` and
``ADDRESS_VID_PEER 35:33``, and on a v2 PTE also ``COMPTAGLINE 55:36``), so each entry is declared as two
non-overlapping *views*: the class named after the header structure is the system-memory view, the ``_VID``
class the video/peer-memory view. The two halves of a dual PDE never overlap, so a dual PDE whose halves
have different apertures is encoded half by half from the two views.

One header overlap has no view that removes it: the v2 dual PDE declares ``NO_ATS 5:5`` inside
``ADDRESS_BIG_SYS 53:4`` (the big page table is only 256-byte aligned, so address bit 9 lands on bit 5). It is
not declared here; :data:`VER2_DUAL_PDE_NO_ATS_BIT` records it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .core import RO, WO, Bitfield, Field, Register
from .vfn import VFN_BASE

# -- apertures, kinds, PCF ----------------------------------------------------------------------------


class PdeAperture(enum.IntEnum):
    """Aperture of a page-directory entry (``NV_MMU_VER{2,3}_PDE_APERTURE``); 0 = no table."""

    INVALID = 0
    VIDEO_MEMORY = 1
    SYSTEM_COHERENT_MEMORY = 2
    SYSTEM_NON_COHERENT_MEMORY = 3


class PteAperture(enum.IntEnum):
    """Aperture of a page-table entry (``NV_MMU_VER{2,3}_PTE_APERTURE``); validity is the VALID bit."""

    VIDEO_MEMORY = 0
    PEER_MEMORY = 1
    SYSTEM_COHERENT_MEMORY = 2
    SYSTEM_NON_COHERENT_MEMORY = 3


class PteKind(enum.IntEnum):
    """Memory kinds every format shares (``NV_MMU_PTE_KIND_*``, ``NV_MMU_CLIENT_KIND_*``; TU102/GH100)."""

    PITCH = 0x00
    GENERIC_MEMORY = 0x06
    INVALID = 0x07
    SMSKED_MESSAGE = 0x0F


class PdePcf(enum.IntEnum):
    """MMU v3 PDE PCF (``NV_MMU_VER3_PDE_PCF``) when the aperture is valid.

    With ``APERTURE_INVALID`` the same values read INVALID_ATS_ALLOWED (0), SPARSE_ATS_ALLOWED (1),
    INVALID_ATS_NOT_ALLOWED (2), SPARSE_ATS_NOT_ALLOWED (3): see :class:`PdePcfInvalid`.
    """

    VALID_CACHED_ATS_ALLOWED = 0
    VALID_UNCACHED_ATS_ALLOWED = 1
    VALID_CACHED_ATS_NOT_ALLOWED = 2
    VALID_UNCACHED_ATS_NOT_ALLOWED = 3


class PdePcfInvalid(enum.IntEnum):
    """MMU v3 PDE PCF values when the aperture is INVALID."""

    INVALID_ATS_ALLOWED = 0
    SPARSE_ATS_ALLOWED = 1
    INVALID_ATS_NOT_ALLOWED = 2
    SPARSE_ATS_NOT_ALLOWED = 3


class PtePcfInvalid(enum.IntEnum):
    """MMU v3 PTE PCF values when VALID is 0 (``NV_MMU_VER3_PTE_PCF_*``)."""

    INVALID = 0
    SPARSE = 1
    MAPPING_NOWHERE = 2
    NO_VALID_4KB_PAGE = 3  #: on a big-page PTE: the MMU ignores the small PTEs below it (nouveau gh100_vmm_lpt_invalid)


# MMU v3 PTE PCF when VALID is 1: five independent bits (the 32 NV_MMU_VER3_PTE_PCF_{REGULAR,PRIVILEGE}_{RW,RO}_
# {ATOMIC,NO_ATOMIC}_{CACHED,UNCACHED}_{ACE,ACD} values are their combinations; tests check every name).
PTE_PCF_UNCACHED = 0x01
PTE_PCF_PRIVILEGE = 0x02
PTE_PCF_READ_ONLY = 0x04
PTE_PCF_NO_ATOMIC = 0x08
PTE_PCF_ACD = 0x10  #: access counting disabled (ACE = enabled, value 0)


class InstTarget(enum.IntEnum):
    """Where an instance block or page directory lives (``*_TARGET`` of RAMIN and the BAR2 block)."""

    VID_MEM = 0
    SYS_MEM_COHERENT = 2
    SYS_MEM_NONCOHERENT = 3


# -- MMU v2 (Turing, Ampere, Ada) -----------------------------------------------------------------------


class NV_MMU_VER2_PDE_COMMON(Bitfield, width=64):
    """MMU v2 PDE (PD3, PD2, PD1), the fields of every aperture."""

    is_pte = Field(0, 0, doc="0 = this entry points to a table; 1 = it is a PTE (PD1: 512 MiB page, GA10x+)")
    aperture = Field(2, 1, enum=PdeAperture)
    vol = Field(3, 3, doc="volatile (uncached) table reads")
    no_ats = Field(5, 5)


class NV_MMU_VER2_PDE(NV_MMU_VER2_PDE_COMMON):
    """MMU v2 PDE, system-memory view: ADDRESS_SYS holds the table address >> 12."""

    address_sys = Field(53, 8)


class NV_MMU_VER2_PDE_VID(NV_MMU_VER2_PDE_COMMON):
    """MMU v2 PDE, video-memory view: ADDRESS_VID holds the table address >> 12."""

    address_vid = Field(32, 8)
    address_vid_peer = Field(35, 33)


class NV_MMU_VER2_DUAL_PDE_COMMON(Bitfield, width=128):
    """MMU v2 dual PDE (PD0, 16 bytes): the 64 KiB-page table in the low half, the 4 KiB-page table in the high.

    ``is_pte`` set makes the whole entry a 2 MiB PTE (PTE format in the low quadword, high quadword zero).
    """

    is_pte = Field(0, 0)
    aperture_big = Field(2, 1, enum=PdeAperture)
    vol_big = Field(3, 3)
    aperture_small = Field(66, 65, enum=PdeAperture)
    vol_small = Field(67, 67)


class NV_MMU_VER2_DUAL_PDE(NV_MMU_VER2_DUAL_PDE_COMMON):
    """MMU v2 dual PDE, system-memory view: big table address >> 8, small table address >> 12."""

    address_big_sys = Field(53, 4)
    address_small_sys = Field(117, 72)


class NV_MMU_VER2_DUAL_PDE_VID(NV_MMU_VER2_DUAL_PDE_COMMON):
    """MMU v2 dual PDE, video-memory view."""

    address_big_vid = Field(32, 4)
    address_big_vid_peer = Field(35, 33)
    address_small_vid = Field(96, 72)
    address_small_vid_peer = Field(99, 97)


#: ``NV_MMU_VER2_DUAL_PDE_NO_ATS`` is 5:5, inside ADDRESS_BIG_SYS 53:4 (see the module docstring).
VER2_DUAL_PDE_NO_ATS_BIT = 5


class NV_MMU_VER2_PTE_COMMON(Bitfield, width=64):
    """MMU v2 PTE (4 KiB, 64 KiB, and the 2 MiB / 512 MiB PTEs at PD0 / PD1)."""

    valid = Field(0, 0)
    aperture = Field(2, 1, enum=PteAperture)
    vol = Field(3, 3, doc="volatile: uncached GPU access (system memory)")
    encrypted = Field(4, 4)
    privilege = Field(5, 5, doc="privileged access only; with VALID 0 on a big PTE: ignore the small PTEs")
    read_only = Field(6, 6)
    atomic_disable = Field(7, 7)
    kind = Field(63, 56, enum=PteKind)


class NV_MMU_VER2_PTE(NV_MMU_VER2_PTE_COMMON):
    """MMU v2 PTE, system-memory view: ADDRESS_SYS holds the page address >> 12."""

    address_sys = Field(53, 8)


class NV_MMU_VER2_PTE_VID(NV_MMU_VER2_PTE_COMMON):
    """MMU v2 PTE, video/peer-memory view (compression tags exist only here)."""

    address_vid = Field(32, 8)
    address_vid_peer = Field(35, 33)
    comptagline = Field(55, 36)


# -- MMU v3 (Hopper, Blackwell) -------------------------------------------------------------------------


class NV_MMU_VER3_PDE(Bitfield, width=64):
    """MMU v3 PDE (PD4 to PD1): ADDRESS holds the table's address bits 51:12 in place."""

    is_pte = Field(0, 0)
    aperture = Field(2, 1, enum=PdeAperture)
    pcf = Field(5, 3, enum=PdePcf)
    address = Field(51, 12)


class NV_MMU_VER3_DUAL_PDE(Bitfield, width=128):
    """MMU v3 dual PDE (PD0): addresses in place (big: bits 51:8, small: bits 51:12 of the high quadword)."""

    is_pte = Field(0, 0)
    aperture_big = Field(2, 1, enum=PdeAperture)
    pcf_big = Field(5, 3, enum=PdePcf)
    address_big = Field(51, 8)
    aperture_small = Field(66, 65, enum=PdeAperture)
    pcf_small = Field(69, 67, enum=PdePcf)
    address_small = Field(115, 76)


class NV_MMU_VER3_PTE_COMMON(Bitfield, width=64):
    """MMU v3 PTE: PCF replaces v2's vol/privilege/read-only/atomic bits; KIND is 4 bits."""

    valid = Field(0, 0)
    aperture = Field(2, 1, enum=PteAperture)
    pcf = Field(7, 3, doc="VALID=1: PTE_PCF_* bits; VALID=0: PtePcfInvalid")
    kind = Field(11, 8, enum=PteKind)
    peer_id = Field(63, 61)


class NV_MMU_VER3_PTE(NV_MMU_VER3_PTE_COMMON):
    """MMU v3 PTE, system/peer-memory view: ADDRESS_SYS (= ADDRESS_PEER) holds bits 51:12 in place."""

    address_sys = Field(51, 12)


class NV_MMU_VER3_PTE_VID(NV_MMU_VER3_PTE_COMMON):
    """MMU v3 PTE, video-memory view: ADDRESS_VID holds bits 39:12 in place."""

    address_vid = Field(39, 12)


#: Every page-table address field holds ``address >> ADDRESS_SHIFT`` (``NV_MMU_VER*_ADDRESS_SHIFT``), except
#: the v2 dual PDE's big-table address (``NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SHIFT``, 8); v3 fields sit in
#: place, which is the same thing with the field starting at the shift.
ADDRESS_SHIFT = 12
DUAL_PDE_ADDRESS_BIG_SHIFT = 8

# -- level geometry ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MmuLevel:
    """One level of a GPU page-table tree.

    Attributes:
        name: OpenRM's name for the level (``PD3`` ... ``PD0``, ``PT_BIG``, ``PT_SMALL``).
        va_hi, va_lo: the virtual-address bits that index this level.
        entry_size: 8, or 16 for the dual PDE.
        pte_shift: page shift of a PTE at this level, when the level may hold PTEs (PD1: 29, only where
            512 MiB pages exist; PD0: 21; page tables: 16 and 12); ``None`` for pure directories.
        align: byte alignment the table itself needs (PDE address fields: 4 KiB; the big page table,
            addressed in 256-byte units by the dual PDE: 256).
    """

    name: str
    va_hi: int
    va_lo: int
    entry_size: int
    pte_shift: int | None = None
    align: int = 4096
    mask: int = field(init=False, repr=False, compare=False)  #: entries - 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask", (1 << (self.va_hi - self.va_lo + 1)) - 1)

    @property
    def dual(self) -> bool:
        return self.entry_size == 16

    @property
    def entries(self) -> int:
        return self.mask + 1

    @property
    def table_size(self) -> int:
        return self.entries * self.entry_size

    @property
    def coverage(self) -> int:
        """Bytes of VA one entry of this level covers."""
        return 1 << self.va_lo

    def index(self, va: int) -> int:
        return (va >> self.va_lo) & self.mask


@dataclass(frozen=True)
class MmuGeometry:
    """The level tree of one MMU format: directories root first (ending with the dual PD0), then the two
    page tables the dual PDE points to."""

    version: int
    va_bits: int
    directories: tuple[MmuLevel, ...]
    pt_big: MmuLevel
    pt_small: MmuLevel

    @property
    def pd0(self) -> MmuLevel:
        return self.directories[-1]

    @property
    def pd1(self) -> MmuLevel:
        return self.directories[-2]

    @property
    def va_limit(self) -> int:
        return 1 << self.va_bits


#: MMU v2: 49-bit VA, 5 levels (OpenRM kgmmuFmtInitLevels_GP10X; PD1 PTEs of 512 MiB from GA10x).
MMU_V2 = MmuGeometry(
    version=2, va_bits=49,
    directories=(
        MmuLevel("PD3", 48, 47, 8),
        MmuLevel("PD2", 46, 38, 8),
        MmuLevel("PD1", 37, 29, 8, pte_shift=29),
        MmuLevel("PD0", 28, 21, 16, pte_shift=21),
    ),
    pt_big=MmuLevel("PT_BIG", 20, 16, 8, pte_shift=16, align=256),
    pt_small=MmuLevel("PT_SMALL", 20, 12, 8, pte_shift=12),
)

#: MMU v3: 57-bit VA, 6 levels (OpenRM kern_gmmu_fmt_gh10x.c; nouveau gh100_vmm_desc_*).
MMU_V3 = MmuGeometry(
    version=3, va_bits=57,
    directories=(
        MmuLevel("PD4", 56, 56, 8),
        MmuLevel("PD3", 55, 47, 8),
        MmuLevel("PD2", 46, 38, 8),
        MmuLevel("PD1", 37, 29, 8, pte_shift=29),
        MmuLevel("PD0", 28, 21, 16, pte_shift=21),
    ),
    pt_big=MmuLevel("PT_BIG", 20, 16, 8, pte_shift=16, align=256),
    pt_small=MmuLevel("PT_SMALL", 20, 12, 8, pte_shift=12),
)

# -- TLB invalidate (NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE*, TU102 and later) ----------------------------


class InvalidateReplay(enum.IntEnum):
    NONE = 0
    START = 1
    START_ACK_ALL = 2
    CANCEL_TARGETED = 3
    CANCEL_GLOBAL = 4
    CANCEL_VA_GLOBAL = 5


class InvalidateAck(enum.IntEnum):
    NONE_REQUIRED = 0
    GLOBALLY = 1
    INTRANODE = 2


class InvalidateCacheLevel(enum.IntEnum):
    ALL = 0
    PTE_ONLY = 1
    UP_TO_PDE0 = 2
    UP_TO_PDE1 = 3
    UP_TO_PDE2 = 4
    UP_TO_PDE3 = 5
    UP_TO_PDE4 = 6
    UP_TO_PDE5 = 7


class InvalidatePdbAperture(enum.IntEnum):
    VID_MEM = 0
    SYS_MEM = 1


#: NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB_ADDR_ALIGNMENT: the PDB address is given >> 12
INVALIDATE_PDB_ADDR_ALIGNMENT = 12


class NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB(Register, offset=VFN_BASE + 0x30A0):
    """Page directory base whose translations the next invalidate drops (unless ALL_PDB)."""

    aperture = Field(1, 1, enum=InvalidatePdbAperture)
    addr_ = Field(31, 4, doc="PDB address bits 39:12")


class NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB(Register, offset=VFN_BASE + 0x30A4):
    """Upper bits of the PDB address (address >> 40)."""

    addr_ = Field(19, 0, doc="PDB address bits 59:40")


class NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE(Register, offset=VFN_BASE + 0x30B0):
    """TLB invalidate command: writing TRIGGER starts it; TRIGGER reads 1 until the MMU has finished."""

    all_va = Field(0, 0, doc="invalidate every VA (else only the range of the VA registers)")
    all_pdb = Field(1, 1, doc="every page directory (else the one in MMU_INVALIDATE_PDB)")
    hubtlb_only = Field(2, 2)
    replay = Field(5, 3, enum=InvalidateReplay)
    sys_membar = Field(6, 6)
    ack = Field(8, 7, enum=InvalidateAck)
    cancel_client_id = Field(14, 9)
    cancel_gpc_id = Field(19, 15)
    cancel_client_type = Field(20, 20)
    use_pasid = Field(21, 21)
    use_size = Field(22, 22)
    prop_flush = Field(23, 23)
    cache_level = Field(26, 24, enum=InvalidateCacheLevel)
    trigger = Field(31, 31, WO, doc="write 1 to start; the header marks it write-only (-WE), yet OpenRM "
                    "kgmmuCheckPendingInvalidates_TU102 and nouveau tu102_vmm_flush read it back until 0")


# -- BAR2 binding -------------------------------------------------------------------------------------------


class BarBlockMode(enum.IntEnum):
    PHYSICAL = 0
    VIRTUAL = 1


class NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK(Register, offset=VFN_BASE + 0xF48, chips="TU102-AD102"):
    """BAR2 instance block (Turing to Ada): writing it binds BAR2 to the page tables of that instance block."""

    ptr = Field(27, 0, doc="instance block address >> 12")
    target = Field(29, 28, enum=InstTarget)
    debug_cya = Field(30, 30)
    mode = Field(31, 31, enum=BarBlockMode)


class NV_VIRTUAL_FUNCTION_PRIV_BAR1_BLOCK(Register, offset=VFN_BASE + 0xF40, chips="TU102-AD102"):
    """BAR1 instance block (Turing to Ada; ``tu102/dev_vm.h``): writing it binds BAR1 - the VRAM BAR - to the page
    tables of that instance block. GSP-RM writes it (nouveau ``tu102_bar_bar1_init`` is the pre-GSP path)."""

    ptr = Field(27, 0, doc="instance block address >> 12")
    target = Field(29, 28, enum=InstTarget)
    mode = Field(31, 31, enum=BarBlockMode)


class NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS(Register, offset=VFN_BASE + 0xF50, chips="TU102-AD102"):
    """BAR1/BAR2 bind progress: all zero once a bind has completed."""

    bar1_pending = Field(0, 0, RO)
    bar1_outstanding = Field(1, 1, RO)
    bar2_pending = Field(2, 2, RO)
    bar2_outstanding = Field(3, 3, RO)


class NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_LOW_ADDR(Register, offset=VFN_BASE + 0xF60, chips="GH100+"):
    """BAR1 instance block, low word (Hopper and later, ``hopper/gh100/dev_vm.h``). Writing it binds BAR1."""

    bar1_pending = Field(0, 0, RO)
    bar1_outstanding = Field(1, 1, RO)
    mode = Field(9, 9, enum=BarBlockMode)
    target = Field(11, 10, enum=InstTarget)
    ptr = Field(31, 12, doc="instance block address bits 31:12 (in place)")


class NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR1_BLOCK_HIGH_ADDR(Register, offset=VFN_BASE + 0xF64, chips="GH100+"):
    """BAR1 instance block, high word: address bits 51:32 (write before the low word)."""

    ptr = Field(31, 0)


class NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR(Register, offset=VFN_BASE + 0xF70, chips="GH100+"):
    """BAR2 instance block, low word (Hopper and later; 52-bit pointers). Writing it binds BAR2."""

    bar2_pending = Field(0, 0, RO)
    bar2_outstanding = Field(1, 1, RO)
    mode = Field(9, 9, enum=BarBlockMode)
    target = Field(11, 10, enum=InstTarget)
    ptr = Field(31, 12, doc="instance block address bits 31:12 (in place)")


class NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR(Register, offset=VFN_BASE + 0xF74, chips="GH100+"):
    """BAR2 instance block, high word: address bits 51:32 (write before the low word)."""

    ptr = Field(19, 0)


# -- instance block (RAMIN) --------------------------------------------------------------------------------

RAMIN_SIZE = 4096  #: NV_RAMIN_ALLOC_SIZE
RAMIN_BASE_SHIFT = 12  #: NV_RAMIN_BASE_SHIFT: instance blocks are 4 KiB aligned
RAMIN_PAGE_DIR_OFFSET = 128 * 4  #: byte offset of word 128, where NV_RAMIN_PAGE_DIR_BASE_TARGET starts


class BigPageSize(enum.IntEnum):
    SIZE_128KB = 0
    SIZE_64KB = 1


class NV_RAMIN_PAGE_DIR_BASE(Bitfield, width=128):
    """Words 128-131 of an instance block: the address space it uses (page directory base and VA limit)."""

    target = Field(1, 0, enum=InstTarget)
    vol = Field(2, 2)
    fault_replay_tex = Field(4, 4)
    fault_replay_gcc = Field(5, 5)
    use_ver2_pt_format = Field(10, 10, doc="1 = the new (v2, and v3 on Hopper+) page-table format")
    big_page_size = Field(11, 11, enum=BigPageSize)
    lo = Field(31, 12, doc="page directory address bits 31:12 (in place)")
    hi = Field(63, 32, doc="page directory address >> 32")
    adr_limit_lo = Field(95, 76, doc="VA limit bits 31:12 (in place in word 130)")
    adr_limit_hi = Field(127, 96, doc="VA limit >> 32")
