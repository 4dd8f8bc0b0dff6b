"""nova_core.engines.facts: channel, pushbuffer and copy-engine facts - class ids, method offsets, formats.

A fact module (no logic; the simulated GPU imports it too). Sources, open-gpu-kernel-modules 570.144:

- class ids: ``src/common/sdk/nvidia/inc/class/`` (``cl90f1.h`` FERMI_VASPACE_A, ``cla06c.h``
  KEPLER_CHANNEL_GROUP_A, ``clc46f.h``/``clc56f.h``/``clc86f.h``/``clc96f.h``/``clca6f.h`` GPFIFO channels,
  ``clc5b5.h``..``clcab5.h`` copy engines, ``clc461.h``/``clc561.h``/``clc661.h``/``clc761.h`` usermode); the
  per-architecture choice as ``g_gpu_class_list.c`` and reference §11 list it;
- method offsets and fields: the complete class headers UVM carries, ``kernel-open/nvidia-uvm/clc46f.h`` ..
  ``clc9b5.h`` (the SDK copies of the Hopper/Blackwell ones list only a few methods). ``clca6f.h`` and
  ``clcab5.h`` there hold only what BLACKWELL_CHANNEL_GPFIFO_B / BLACKWELL_DMA_COPY_B add: UVM's class table
  (``uvm_hal.c``) gives them ``parent_id`` BLACKWELL_..._A, so their method sets are the A class's plus that;
- the GPFIFO entry (``NVC46F_GP_ENTRY0_*``/``_ENTRY1_*``) and the pushbuffer method header (``NVC46F_DMA_*``):
  the same bits in every GPFIFO class header;
- ``NVA06F_SUBCHANNEL_COPY_ENGINE`` = 4 (``class/cla06fsubch.h``);
- RAMUSERD (``NV_RAMUSERD_GP_GET``/``GP_PUT`` words 34/35, 512 bytes per channel): ``published/ampere/ga100/
  dev_ram.h`` and ``maxwell/gm107/dev_ram.h``, the ``Nvc46fControl`` layout of ``clc46f.h``;
- instance-block subcontext page directories (``NV_RAMIN_SC_PAGE_DIR_BASE_*(i)`` at word 168 + 4i,
  ``SC_PDB_VALID`` words 166/167): ``published/volta/gv100/dev_ram.h``, written as nouveau
  ``gv100_vmm_join`` does;
- RAMFC (the first 0x200 bytes of the instance block, written by GSP-RM): the offsets nouveau's pre-GSP
  ``gv100_fifo_gpfifo_new_`` (``nvkm/engine/fifo/gpfifogv100.c``) writes; NVIDIA does not publish them;
- ``NV_CHANNEL_ALLOC_PARAMS.flags`` (NVOS04_FLAGS_*): ``sdk/nvidia/inc/alloc/alloc_channel.h``;
  ``internalFlags`` (NV_KERNELCHANNEL_ALLOC_INTERNALFLAGS_*): ``src/nvidia/generated/g_kernel_channel_nvoc.h``;
- the single-copy limit of a linear CE transfer (LINE_LENGTH_IN is 32 bits; UVM ``uvm_hal_maxwell_ce_memcopy``
  splits at 0xFFFFFFFF bytes); the channel-id space of a GSP-RM FIFO (2048, nouveau ``r535_fifo_runl_ctor``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..gpu.chips import Architecture, Chipset
from ..regs.core import Bitfield, Field
from ..regs.usermode import NV_VIRTUAL_FUNCTION_DOORBELL_GB202

# -- class ids ---------------------------------------------------------------------------------------------

FERMI_VASPACE_A = 0x90F1
KEPLER_CHANNEL_GROUP_A = 0xA06C
KEPLER_CHANNEL_GPFIFO_A = 0xA06F  #: interface of NVA06F_CTRL_CMD_BIND / _GPFIFO_SCHEDULE on every GPFIFO class
VOLTA_CHANNEL_GPFIFO_A = 0xC36F  #: interface of NVC36F_CTRL_CMD_GPFIFO_GET_WORK_SUBMIT_TOKEN

TURING_CHANNEL_GPFIFO_A = 0xC46F
AMPERE_CHANNEL_GPFIFO_A = 0xC56F
HOPPER_CHANNEL_GPFIFO_A = 0xC86F
BLACKWELL_CHANNEL_GPFIFO_A = 0xC96F
BLACKWELL_CHANNEL_GPFIFO_B = 0xCA6F

TURING_DMA_COPY_A = 0xC5B5
AMPERE_DMA_COPY_A = 0xC6B5
AMPERE_DMA_COPY_B = 0xC7B5
HOPPER_DMA_COPY_A = 0xC8B5
BLACKWELL_DMA_COPY_A = 0xC9B5
BLACKWELL_DMA_COPY_B = 0xCAB5

TURING_USERMODE_A = 0xC461
AMPERE_USERMODE_A = 0xC561
HOPPER_USERMODE_A = 0xC661
BLACKWELL_USERMODE_A = 0xC761

CLASS_NAMES: dict[int, str] = {
    FERMI_VASPACE_A: "FERMI_VASPACE_A", KEPLER_CHANNEL_GROUP_A: "KEPLER_CHANNEL_GROUP_A",
    TURING_CHANNEL_GPFIFO_A: "TURING_CHANNEL_GPFIFO_A", AMPERE_CHANNEL_GPFIFO_A: "AMPERE_CHANNEL_GPFIFO_A",
    HOPPER_CHANNEL_GPFIFO_A: "HOPPER_CHANNEL_GPFIFO_A", BLACKWELL_CHANNEL_GPFIFO_A: "BLACKWELL_CHANNEL_GPFIFO_A",
    BLACKWELL_CHANNEL_GPFIFO_B: "BLACKWELL_CHANNEL_GPFIFO_B", TURING_DMA_COPY_A: "TURING_DMA_COPY_A",
    AMPERE_DMA_COPY_A: "AMPERE_DMA_COPY_A", AMPERE_DMA_COPY_B: "AMPERE_DMA_COPY_B",
    HOPPER_DMA_COPY_A: "HOPPER_DMA_COPY_A", BLACKWELL_DMA_COPY_A: "BLACKWELL_DMA_COPY_A",
    BLACKWELL_DMA_COPY_B: "BLACKWELL_DMA_COPY_B", TURING_USERMODE_A: "TURING_USERMODE_A",
    AMPERE_USERMODE_A: "AMPERE_USERMODE_A", HOPPER_USERMODE_A: "HOPPER_USERMODE_A",
    BLACKWELL_USERMODE_A: "BLACKWELL_USERMODE_A",
}


@dataclass(frozen=True)
class ChipClasses:
    """The FIFO and copy-engine classes of one chip family."""

    gpfifo: int  #: the channel class a driver allocates
    gpfifo_all: tuple[int, ...]  #: every GPFIFO class the chip accepts (GB20x: A and B)
    copy: int  #: the copy-engine class
    usermode: int  #: the usermode (doorbell) class
    token_has_runlist: bool  #: GSP-RM's work-submit token already carries the runlist id (Turing)
    doorbell_runlist_enable: bool  #: the doorbell needs RUNLIST_DOORBELL (bit 30) set (GB20x)


_CLASSES: dict[str, ChipClasses] = {
    # OpenRM kfifoGenerateWorkSubmitTokenHal_TU102 builds RUNLIST_ID | chid itself; on GA100+ GSP-RM answers
    # with kfifoGenerateInternalWorkSubmitToken (the chid) and the driver adds runlist << 16 (tinygrad
    # ops_nv.py / nv/ip.py: "gsp only fills in the channel id"), plus bit 30 on GB20x (dev_vm.h
    # NV_VIRTUAL_FUNCTION_DOORBELL_RUNLIST_DOORBELL, kfifoGenerateWorkSubmitTokenHal_GB202).
    "TURING": ChipClasses(TURING_CHANNEL_GPFIFO_A, (TURING_CHANNEL_GPFIFO_A,), TURING_DMA_COPY_A,
                          TURING_USERMODE_A, True, False),
    "GA100": ChipClasses(AMPERE_CHANNEL_GPFIFO_A, (AMPERE_CHANNEL_GPFIFO_A,), AMPERE_DMA_COPY_A,
                         AMPERE_USERMODE_A, False, False),
    "AMPERE": ChipClasses(AMPERE_CHANNEL_GPFIFO_A, (AMPERE_CHANNEL_GPFIFO_A,), AMPERE_DMA_COPY_B,
                          AMPERE_USERMODE_A, False, False),
    "ADA": ChipClasses(AMPERE_CHANNEL_GPFIFO_A, (AMPERE_CHANNEL_GPFIFO_A,), AMPERE_DMA_COPY_B,
                       AMPERE_USERMODE_A, False, False),
    "HOPPER": ChipClasses(HOPPER_CHANNEL_GPFIFO_A, (HOPPER_CHANNEL_GPFIFO_A,), HOPPER_DMA_COPY_A,
                          HOPPER_USERMODE_A, False, False),
    "BLACKWELL_GB10X": ChipClasses(BLACKWELL_CHANNEL_GPFIFO_A, (BLACKWELL_CHANNEL_GPFIFO_A,), BLACKWELL_DMA_COPY_A,
                                   BLACKWELL_USERMODE_A, False, False),
    "BLACKWELL_GB20X": ChipClasses(BLACKWELL_CHANNEL_GPFIFO_B, (BLACKWELL_CHANNEL_GPFIFO_A, BLACKWELL_CHANNEL_GPFIFO_B),
                                   BLACKWELL_DMA_COPY_B, BLACKWELL_USERMODE_A, False, True),
}


def family_key(chipset: Chipset) -> str:
    """The key of :data:`_CLASSES` for ``chipset`` (GA100 differs from the other Ampere chips)."""
    return "GA100" if chipset is Chipset.GA100 else chipset.architecture.name


def classes_for(chipset: Chipset) -> ChipClasses:
    """The channel, copy-engine and usermode classes of ``chipset``."""
    return _CLASSES[family_key(chipset)]


def all_classes(arch: Architecture, *, ga100: bool = False) -> ChipClasses:
    return _CLASSES["GA100" if ga100 else arch.name]


# -- methods -----------------------------------------------------------------------------------------------

#: host (PBDMA) methods of TURING_CHANNEL_GPFIFO_A (UVM ``clc46f.h``); addresses below 0x100 are host methods
_HOST_C46F: dict[str, int] = {
    "SET_OBJECT": 0x00, "ILLEGAL": 0x04, "NOP": 0x08, "SEMAPHOREA": 0x10, "SEMAPHOREB": 0x14,
    "SEMAPHOREC": 0x18, "SEMAPHORED": 0x1C, "NON_STALL_INTERRUPT": 0x20, "FB_FLUSH": 0x24, "MEM_OP_A": 0x28,
    "MEM_OP_B": 0x2C, "MEM_OP_C": 0x30, "MEM_OP_D": 0x34, "SET_REFERENCE": 0x50, "SEM_ADDR_LO": 0x5C,
    "SEM_ADDR_HI": 0x60, "SEM_PAYLOAD_LO": 0x64, "SEM_PAYLOAD_HI": 0x68, "SEM_EXECUTE": 0x6C, "WFI": 0x78,
    "CRC_CHECK": 0x7C, "YIELD": 0x80, "CLEAR_FAULTED": 0x84,
}
_HOST_C56F = {k: v for k, v in _HOST_C46F.items() if k != "CRC_CHECK"}
_HOST_C86F = dict(_HOST_C56F)  # (QUADRO_VERIFY 0xA0 is not a channel method a driver uses; left out)
_HOST_C96F = {k: v for k, v in _HOST_C56F.items()
              if k not in ("ILLEGAL", "SEMAPHOREA", "SEMAPHOREB", "SEMAPHOREC", "SEMAPHORED", "SET_REFERENCE")}

#: host method name -> byte address, per GPFIFO class
HOST_METHODS: dict[int, dict[str, int]] = {
    TURING_CHANNEL_GPFIFO_A: _HOST_C46F,
    AMPERE_CHANNEL_GPFIFO_A: _HOST_C56F,
    HOPPER_CHANNEL_GPFIFO_A: _HOST_C86F,
    BLACKWELL_CHANNEL_GPFIFO_A: _HOST_C96F,
    BLACKWELL_CHANNEL_GPFIFO_B: _HOST_C96F,
}
HOST_METHOD_LIMIT = 0x100  #: methods below this byte address are executed by host (the PBDMA) on any subchannel

_CE_C5B5: dict[str, int] = {
    "NOP": 0x100, "PM_TRIGGER": 0x140, "SET_SEMAPHORE_A": 0x240, "SET_SEMAPHORE_B": 0x244,
    "SET_SEMAPHORE_PAYLOAD": 0x248, "SET_RENDER_ENABLE_A": 0x254, "SET_RENDER_ENABLE_B": 0x258,
    "SET_RENDER_ENABLE_C": 0x25C, "SET_SRC_PHYS_MODE": 0x260, "SET_DST_PHYS_MODE": 0x264, "LAUNCH_DMA": 0x300,
    "OFFSET_IN_UPPER": 0x400, "OFFSET_IN_LOWER": 0x404, "OFFSET_OUT_UPPER": 0x408, "OFFSET_OUT_LOWER": 0x40C,
    "PITCH_IN": 0x410, "PITCH_OUT": 0x414, "LINE_LENGTH_IN": 0x418, "LINE_COUNT": 0x41C,
    "SET_REMAP_CONST_A": 0x700, "SET_REMAP_CONST_B": 0x704, "SET_REMAP_COMPONENTS": 0x708,
    "SET_DST_BLOCK_SIZE": 0x70C, "SET_DST_WIDTH": 0x710, "SET_DST_HEIGHT": 0x714, "SET_DST_DEPTH": 0x718,
    "SET_DST_LAYER": 0x71C, "SET_DST_ORIGIN": 0x720, "SET_SRC_BLOCK_SIZE": 0x728, "SET_SRC_WIDTH": 0x72C,
    "SET_SRC_HEIGHT": 0x730, "SET_SRC_DEPTH": 0x734, "SET_SRC_LAYER": 0x738, "SET_SRC_ORIGIN": 0x73C,
    "SRC_ORIGIN_X": 0x744, "SRC_ORIGIN_Y": 0x748, "DST_ORIGIN_X": 0x74C, "DST_ORIGIN_Y": 0x750,
    "PM_TRIGGER_END": 0x1114,
}
_CE_C7B5 = _CE_C5B5 | {"SET_MONITORED_FENCE_TYPE": 0x21C, "SET_MONITORED_FENCE_SIGNAL_ADDR_BASE_UPPER": 0x220,
                       "SET_MONITORED_FENCE_SIGNAL_ADDR_BASE_LOWER": 0x224, "SET_SEMAPHORE_PAYLOAD_UPPER": 0x24C}
_CE_C8B5 = _CE_C7B5 | {
    "SET_SECURE_COPY_MODE": 0x500, "SET_DECRYPT_IV0": 0x504, "SET_DECRYPT_IV1": 0x508, "SET_DECRYPT_IV2": 0x50C,
    "RESERVED_SET_AESCOUNTER": 0x510, "SET_DECRYPT_AUTH_TAG_COMPARE_ADDR_UPPER": 0x514,
    "SET_DECRYPT_AUTH_TAG_COMPARE_ADDR_LOWER": 0x518, "SET_ENCRYPT_AUTH_TAG_ADDR_UPPER": 0x530,
    "SET_ENCRYPT_AUTH_TAG_ADDR_LOWER": 0x534, "SET_ENCRYPT_IV_ADDR_UPPER": 0x538, "SET_ENCRYPT_IV_ADDR_LOWER": 0x53C,
    "SET_MEMORY_SCRUB_PARAMETERS": 0x6FC,
}
_CE_C9B5 = _CE_C8B5 | {"SET_COMPRESSION_PARAMETERS": 0x580, "SET_DECOMPRESS_OUT_LENGTH": 0x584,
                       "SET_DECOMPRESS_OUT_LENGTH_ADDR_UPPER": 0x588, "SET_DECOMPRESS_OUT_LENGTH_ADDR_LOWER": 0x58C,
                       "SET_DECOMPRESS_CHECKSUM": 0x590}
_CE_CAB5 = _CE_C9B5 | {"REQ_ATTR": 0x754}

#: copy-engine method name -> byte address, per CE class
CE_METHODS: dict[int, dict[str, int]] = {
    TURING_DMA_COPY_A: _CE_C5B5,
    AMPERE_DMA_COPY_A: dict(_CE_C5B5),
    AMPERE_DMA_COPY_B: _CE_C7B5,
    HOPPER_DMA_COPY_A: _CE_C8B5,
    BLACKWELL_DMA_COPY_A: _CE_C9B5,
    BLACKWELL_DMA_COPY_B: _CE_CAB5,
}

#: NVA06F_SUBCHANNEL_COPY_ENGINE: the subchannel a copy engine is bound to (cla06fsubch.h)
SUBCHANNEL_COPY_ENGINE = 4
SUBCHANNELS = 8  #: NVC46F_NUMBER_OF_SUBCHANNELS
CE_MAX_LINE_LENGTH = 0xFFFFFFFF  #: one LAUNCH_DMA moves at most this many bytes per line (LINE_LENGTH_IN)
CE_SEMAPHORE_UPPER_BITS = {TURING_DMA_COPY_A: 17, AMPERE_DMA_COPY_A: 17, AMPERE_DMA_COPY_B: 17,
                           HOPPER_DMA_COPY_A: 25, BLACKWELL_DMA_COPY_A: 25, BLACKWELL_DMA_COPY_B: 25}
#: SET_SEMAPHORE_PAYLOAD_UPPER / LAUNCH_DMA_SEMAPHORE_PAYLOAD_SIZE exist from AMPERE_DMA_COPY_B on
CE_64BIT_SEMAPHORE = {AMPERE_DMA_COPY_B, HOPPER_DMA_COPY_A, BLACKWELL_DMA_COPY_A, BLACKWELL_DMA_COPY_B}


# -- method fields ------------------------------------------------------------------------------------------


class SecOp(enum.IntEnum):
    """NVC46F_DMA_SEC_OP: the kind of a pushbuffer method header."""

    GRP0_USE_TERT = 0
    INC_METHOD = 1
    GRP2_USE_TERT = 2
    NON_INC_METHOD = 3
    IMMD_DATA_METHOD = 4
    ONE_INC = 5
    RESERVED6 = 6
    END_PB_SEGMENT = 7


class TertOp(enum.IntEnum):
    """NVC46F_DMA_TERT_OP (with SEC_OP GRP0_USE_TERT)."""

    GRP0_INC_METHOD = 0
    GRP0_SET_SUB_DEV_MASK = 1
    GRP0_STORE_SUB_DEV_MASK = 2
    GRP0_USE_SUB_DEV_MASK = 3


class PbHeader(Bitfield, width=32):
    """A pushbuffer method header (``NVC46F_DMA_INCR_*``, ``_NONINCR_*``, ``_ONEINCR_*``, ``_IMMD_*``)."""

    address = Field(11, 0, doc="method byte address >> 2")
    subchannel = Field(15, 13)
    count = Field(28, 16, doc="data dwords that follow; IMMD_DATA_METHOD: the immediate data itself")
    sec_op = Field(31, 29, enum=SecOp)


TERT_OP_SHIFT = 16  #: NVC46F_DMA_TERT_OP 17:16, meaningful with SEC_OP GRP0_USE_TERT only
PB_MAX_COUNT = (1 << 13) - 1  #: largest method count / immediate value a header holds


class GpEntryOpcode(enum.IntEnum):
    """NVC46F_GP_ENTRY1_OPCODE of a control entry (LENGTH 0)."""

    NOP = 0
    ILLEGAL = 1
    GP_CRC = 2
    PB_CRC = 3
    SET_PB_SEGMENT_EXTENDED_BASE = 4  #: Blackwell (clc96f.h)


class GpEntry(Bitfield, width=64):
    """A GPFIFO entry: word 0 (``NVC46F_GP_ENTRY0_*``) and word 1 (``_ENTRY1_*``, bits 63:32 here)."""

    fetch = Field(0, 0, doc="0 UNCONDITIONAL, 1 CONDITIONAL")
    get = Field(31, 2, doc="pushbuffer address bits 31:2")
    get_hi = Field(39, 32, doc="pushbuffer address bits 39:32 (ENTRY1_GET_HI; also ENTRY1_OPCODE when LENGTH=0)")
    level = Field(41, 41, doc="0 MAIN, 1 SUBROUTINE")
    length = Field(62, 42, doc="dwords of pushbuffer; 0 = a control entry")
    sync = Field(63, 63, doc="0 PROCEED, 1 WAIT")


GP_ENTRY_SIZE = 8  #: NVC46F_GP_ENTRY__SIZE
GP_ENTRY_MAX_ADDRESS = 1 << 40  #: GET/GET_HI reach 40 address bits


class SemExecuteOp(enum.IntEnum):
    """NVC46F_SEM_EXECUTE_OPERATION."""

    ACQUIRE = 0
    RELEASE = 1
    ACQ_STRICT_GEQ = 2
    ACQ_CIRC_GEQ = 3
    ACQ_AND = 4
    ACQ_NOR = 5
    REDUCTION = 6


class SemExecute(Bitfield, width=32):
    """The SEM_EXECUTE method's data (``NVC46F_SEM_EXECUTE_*``; the same bits through Blackwell)."""

    operation = Field(2, 0, enum=SemExecuteOp)
    acquire_switch_tsg = Field(12, 12)
    release_wfi = Field(20, 20, doc="1 EN: wait for idle before the release")
    payload_size = Field(24, 24, doc="0 32BIT, 1 64BIT")
    release_timestamp = Field(25, 25, doc="1 EN: a 16-byte release (payload, then the timestamp)")
    reduction = Field(30, 27)
    reduction_format = Field(31, 31, doc="0 SIGNED, 1 UNSIGNED")


class SemaphoreDOp(enum.IntEnum):
    """NVC46F_SEMAPHORED_OPERATION (the legacy host semaphore, Turing to Hopper)."""

    ACQUIRE = 1
    RELEASE = 2
    ACQ_GEQ = 4
    ACQ_AND = 8
    REDUCTION = 0x10


class SemaphoreD(Bitfield, width=32):
    """The SEMAPHORED method's data (``NVC46F_SEMAPHORED_*``)."""

    operation = Field(4, 0)
    acquire_switch = Field(12, 12)
    release_wfi = Field(20, 20, doc="0 EN, 1 DIS (inverted, as the header has it)")
    release_size = Field(24, 24, doc="0 16BYTE, 1 4BYTE")
    reduction = Field(30, 27)
    format_ = Field(31, 31)


class SetObject(Bitfield, width=32):
    """SET_OBJECT's data (``NVC46F_SET_OBJECT_*``): the class bound to the subchannel."""

    nvclass = Field(15, 0)
    engine = Field(20, 16, doc="0x1F = SW")


class MemOpDOperation(enum.IntEnum):
    """NVC46F_MEM_OP_D_OPERATION (the ones a driver sends on a copy channel)."""

    MEMBAR = 0x5
    MMU_TLB_INVALIDATE = 0x9
    MMU_TLB_INVALIDATE_TARGETED = 0xA
    L2_PEERMEM_INVALIDATE = 0xD
    L2_SYSMEM_INVALIDATE = 0xE
    L2_CLEAN_COMPTAGS = 0xF
    L2_FLUSH_DIRTY = 0x10
    L2_WAIT_FOR_SYS_PENDING_READS = 0x15
    ACCESS_COUNTER_CLR = 0x16


MEM_OP_D_OPERATION_SHIFT = 27  #: NVC46F_MEM_OP_D_OPERATION 31:27


class CeTransferType(enum.IntEnum):
    NONE = 0
    PIPELINED = 1
    NON_PIPELINED = 2
    PREFETCH = 3  #: BLACKWELL_DMA_COPY_B


class CeSemaphoreType(enum.IntEnum):
    """LAUNCH_DMA_SEMAPHORE_TYPE (c5b5 names; c7b5+ call 1/2 RELEASE_SEMAPHORE_NO/WITH_TIMESTAMP)."""

    NONE = 0
    RELEASE_ONE_WORD = 1
    RELEASE_FOUR_WORD = 2
    RELEASE_CONDITIONAL_INTR = 3  #: c5b5/c6b5 only


class CeInterruptType(enum.IntEnum):
    NONE = 0
    BLOCKING = 1
    NON_BLOCKING = 2


class CeLayout(enum.IntEnum):
    BLOCKLINEAR = 0
    PITCH = 1


class CeAddressType(enum.IntEnum):
    VIRTUAL = 0
    PHYSICAL = 1


class LaunchDma(Bitfield, width=32):
    """LAUNCH_DMA's data: the bits every copy-engine class from TURING_DMA_COPY_A on shares.

    Bit 11 (FORCE_RMWDISABLE; COMPRESSION_ENABLE on Blackwell), 20-23 (BYPASS_L2 / VPRMODE on c5b5;
    COPY_TYPE / VPRMODE / MEMORY_SCRUB_ENABLE from c8b5) and 27 (SEMAPHORE_PAYLOAD_SIZE from c7b5) differ
    per class and are declared in :class:`LaunchDmaC7B5`/:class:`LaunchDmaC8B5`.
    """

    data_transfer_type = Field(1, 0, enum=CeTransferType)
    flush_enable = Field(2, 2)
    semaphore_type = Field(4, 3, enum=CeSemaphoreType)
    interrupt_type = Field(6, 5, enum=CeInterruptType)
    src_memory_layout = Field(7, 7, enum=CeLayout)
    dst_memory_layout = Field(8, 8, enum=CeLayout)
    multi_line_enable = Field(9, 9)
    remap_enable = Field(10, 10)
    src_type = Field(12, 12, enum=CeAddressType)
    dst_type = Field(13, 13, enum=CeAddressType)
    semaphore_reduction = Field(17, 14)
    semaphore_reduction_sign = Field(18, 18)
    semaphore_reduction_enable = Field(19, 19)
    reserved_start_of_copy = Field(24, 24)
    flush_type = Field(25, 25, doc="0 SYS, 1 GL")
    disable_plc = Field(26, 26)
    reserved_err_code = Field(31, 28)


class LaunchDmaC7B5(LaunchDma, width=32):
    """LAUNCH_DMA of AMPERE_DMA_COPY_B: adds SEMAPHORE_PAYLOAD_SIZE."""

    semaphore_payload_size = Field(27, 27, doc="0 ONE_WORD, 1 TWO_WORD")


class LaunchDmaC8B5(LaunchDmaC7B5, width=32):
    """LAUNCH_DMA of HOPPER_DMA_COPY_A and later: COPY_TYPE, VPRMODE, MEMORY_SCRUB_ENABLE."""

    copy_type = Field(21, 20, doc="0 DEFAULT/PROT2PROT, 1 SECURE, 2 NONPROT2NONPROT")
    vprmode = Field(22, 22)
    memory_scrub_enable = Field(23, 23)


def launch_dma_format(ce_class: int) -> type[LaunchDma]:
    """The LAUNCH_DMA layout of ``ce_class``."""
    if ce_class in (TURING_DMA_COPY_A, AMPERE_DMA_COPY_A):
        return LaunchDma
    if ce_class == AMPERE_DMA_COPY_B:
        return LaunchDmaC7B5
    return LaunchDmaC8B5


class PhysTarget(enum.IntEnum):
    """SET_SRC_PHYS_MODE / SET_DST_PHYS_MODE TARGET (bits 1:0)."""

    LOCAL_FB = 0
    COHERENT_SYSMEM = 1
    NONCOHERENT_SYSMEM = 2
    PEERMEM = 3  #: from AMPERE_DMA_COPY_A


# -- memory layouts -----------------------------------------------------------------------------------------

USERD_SIZE = 0x200  #: NV_RAMUSERD_CHAN_SIZE: 512 bytes of USERD per channel
USERD_ALIGN = 0x200  #: NV_RAMUSERD_BASE_SHIFT 9
USERD_PER_PAGE = 8  #: channels per 4 KiB USERD page (nouveau CHID_PER_USERD; the NVOS04 USERD_INDEX is 3 bits)
USERD_PUT = 16 * 4  #: NV_RAMUSERD_PUT (pushbuffer put, dwords 16)
USERD_GET = 17 * 4  #: NV_RAMUSERD_GET
USERD_REF = 18 * 4  #: NV_RAMUSERD_REF (SET_REFERENCE)
USERD_PUT_HI = 19 * 4
USERD_TOP_LEVEL_GET = 22 * 4
USERD_TOP_LEVEL_GET_HI = 23 * 4
USERD_GET_HI = 24 * 4
USERD_GP_GET = 34 * 4  #: NV_RAMUSERD_GP_GET: next GPFIFO entry the GPU will fetch (GPU writes)
USERD_GP_PUT = 35 * 4  #: NV_RAMUSERD_GP_PUT: one past the last entry the driver wrote (driver writes)

INSTANCE_SIZE = 0x1000  #: NV_RAMIN_ALLOC_SIZE
RAMFC_SIZE = 0x200  #: NV_RAMIN_RAMFC covers words 0..127
RAMFC_USERD = 0x008  #: USERD address bits 31:9 | aperture (bits 1:0)
RAMFC_USERD_HI = 0x00C
RAMFC_SIGNATURE = 0x010
RAMFC_SIGNATURE_VALUE = 0x0000FACE
RAMFC_ACQUIRE = 0x030
RAMFC_GP_BASE = 0x048
RAMFC_GP_BASE_HI = 0x04C  #: address bits 39:32 | LIMIT2 (log2 of the entry count) << 16
RAMFC_GP_BASE_HI_LIMIT2_SHIFT = 16
RAMFC_PB_HEADER = 0x084
RAMFC_SUBDEVICE = 0x094
RAMFC_HCE_CTRL = 0x0E4
RAMFC_CHID = 0x0E8
RAMFC_CONFIG = 0x0F4
RAMFC_CHANNEL_INFO = 0x0F8
RAMIN_ENGINE_WFI_VEID = 0x218  #: nouveau writes 0 here (gpfifogv100.c)
RAMIN_METHOD_BUFFER = 0x220  #: the CE fault method buffer address (lo, then hi at 0x224)
#: the values nouveau's gv100_fifo_gpfifo_new_ writes beside the addresses (priv channel: HCE_CTRL 0x20)
RAMFC_DEFAULTS = {RAMFC_ACQUIRE: 0x7FFFF902, RAMFC_PB_HEADER: 0x20400000, RAMFC_SUBDEVICE: 0x30000001,
                  RAMFC_CONFIG: 0x00001000, RAMFC_CHANNEL_INFO: 0x10003080}


class UserdTarget(enum.IntEnum):
    """RAMFC USERD aperture (NV_PPBDMA_USERD_TARGET: as the instance-block targets)."""

    VID_MEM = 0
    SYS_MEM_COHERENT = 2
    SYS_MEM_NONCOHERENT = 3


RAMIN_SC_PDB_VALID = 166 * 4  #: NV_RAMIN_SC_PDB_VALID: one bit per subcontext (words 166-167)
RAMIN_SC_PAGE_DIR_BASE = 168 * 4  #: NV_RAMIN_SC_PAGE_DIR_BASE_*(i) at word 168 + 4i (16 bytes each)
RAMIN_SC_STRIDE = 16
RAMIN_SUBCONTEXTS = 64  #: NV_RAMIN_SC_PAGE_DIR_BASE_TARGET__SIZE_1
RAMIN_SC_INVALID = 0x00000001  #: SC_PAGE_DIR_BASE_TARGET_INVALID in both words of an unused subcontext
RAMIN_SC_CTX_WORD = 0x21C  #: nouveau gv100_vmm_join writes 0 here before the subcontext table

# -- channel allocation parameters --------------------------------------------------------------------------


class Nvos04Flags(Bitfield, width=32):
    """NV_CHANNEL_ALLOC_PARAMS.flags (NVOS04_FLAGS_*, ``alloc_channel.h``)."""

    channel_type = Field(1, 0, doc="0 PHYSICAL")
    vpr = Field(2, 2)
    channel_skip_map_refcounting = Field(3, 3)
    group_channel_runqueue = Field(4, 4)
    privileged_channel = Field(5, 5)
    delay_channel_scheduling = Field(6, 6)
    channel_deny_physical_mode_ce = Field(7, 7)
    channel_userd_index_value = Field(10, 8, doc="chid % 8 (with USERD_INDEX_PAGE_FIXED)")
    channel_userd_index_fixed = Field(11, 11)
    channel_userd_index_page_value = Field(20, 12, doc="chid / 8")
    channel_userd_index_page_fixed = Field(21, 21)
    channel_deny_auth_level_priv = Field(22, 22)
    channel_skip_scrubber = Field(23, 23)
    channel_client_map_fifo = Field(24, 24)
    set_evict_last_ce_prefetch_channel = Field(25, 25)
    channel_vgpu_plugin_context = Field(26, 26)
    channel_pbdma_acquire_timeout = Field(27, 27)
    group_channel_thread = Field(29, 28)
    map_channel = Field(30, 30)
    skip_ctxbuffer_alloc = Field(31, 31)


class ErrorNotifierType(enum.IntEnum):
    """ErrorNotifierType (``g_kernel_channel_nvoc.h``)."""

    UNKNOWN = 0
    NONE = 1
    CTXDMA = 2
    MEMORY = 3  #: an NvNotification array in system or video memory


class ChannelPrivilege(enum.IntEnum):
    USER = 0
    ADMIN = 1
    KERNEL = 2


class ChannelInternalFlags(Bitfield, width=32):
    """NV_CHANNEL_ALLOC_PARAMS.internalFlags (NV_KERNELCHANNEL_ALLOC_INTERNALFLAGS_*)."""

    privilege = Field(1, 0, enum=ChannelPrivilege)
    error_notifier_type = Field(3, 2, enum=ErrorNotifierType)
    ecc_error_notifier_type = Field(5, 4, enum=ErrorNotifierType)
    gsp_owned = Field(6, 6)
    uvm_owned = Field(7, 7)


class MemorySpace(enum.IntEnum):
    """NV_MEMORY_DESC_PARAMS.addressSpace (NV_ADDRESS_SPACE: ADDR_SYSMEM 1, ADDR_FBMEM 2; nouveau r535 fifo.c)."""

    UNKNOWN = 0
    SYSMEM = 1
    FBMEM = 2


NOTIFIER_SIZE = 16  #: sizeof(NvNotification)
NOTIFIER_STATUS_ERROR = 0xFFFF  #: the status krcErrorSendEventNotifications writes into an error notifier
CHIDS = 2048  #: channel ids of a GSP-RM FIFO (nouveau r535_fifo_runl_ctor: chids = cgids = 2048)
CE_MAX_INSTANCES = 10  #: RM_ENGINE_TYPE_COPY0..COPY9 are contiguous with NV2080_ENGINE_TYPE_COPY0..9

# -- the doorbell token --------------------------------------------------------------------------------------


#: what a work-submit token and a doorbell write carry: the doorbell register's layout (NV_CTRL_VF_DOORBELL,
#: ``published/turing/tu102/dev_ctrl.h``; NV_VIRTUAL_FUNCTION_DOORBELL, ``blackwell/gb202/dev_vm.h``), taken from
#: ``regs/`` - where the register reference checks it against the headers - in its widest form, GB20x's (VECTOR
#: 11:0, RUNLIST_ID 22:16, RUNLIST_DOORBELL 30:30, which the earlier chips do not have and leave 0)
DoorbellToken = NV_VIRTUAL_FUNCTION_DOORBELL_GB202


# -- faults and robust-channel recovery ---------------------------------------------------------------------


class MmuFaultType(enum.IntEnum):
    """FAULT_TYPE (``src/nvidia/generated/g_kern_gmmu_nvoc.h``; nouveau ``gv100_fifo_fault_reason`` names the same
    codes): ``rpc_rc_triggered_v17_02.mmuFaultType`` (r570)."""

    INVALID_PDE = 0x0
    INVALID_PDE_SIZE = 0x1
    INVALID_PTE = 0x2
    LIMIT_VIOLATION = 0x3
    UNBOUND_INST_BLOCK = 0x4
    PRIV_VIOLATION = 0x5
    WRITE = 0x6  #: a write through a read-only PTE (nouveau: RO_VIOLATION)
    READ = 0x7
    PITCH_MASK_VIOLATION = 0x8
    WORK_CREATION = 0x9
    UNSUPPORTED_APERTURE = 0xA
    COMPRESSION_FAILURE = 0xB
    UNSUPPORTED_KIND = 0xC
    REGION_VIOLATION = 0xD
    POISON = 0xE
    ATOMIC = 0xF


class RcScope(enum.IntEnum):
    """RC_NOTIFIER_SCOPE (``g_kernel_rc_nvoc.h``): who a robust-channel error is reported to."""

    CHANNEL = 0
    TSG = 1


class RcLevel(enum.IntEnum):
    """ROBUST_CHANNEL_ERROR_RECOVERY_LEVEL_* (``nverror.h``): ``rpc_rc_triggered_v17_02.exceptLevel`` (r570)."""

    INFO = 0
    NON_FATAL = 1
    FATAL = 2


#: ROBUST_CHANNEL_* error codes (``sdk/nvidia/inc/nverror.h``) a copy channel can end with
RC_MMU_FAULT = 31  #: ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT
RC_PBDMA_ERROR = 32  #: ROBUST_CHANNEL_PBDMA_ERROR
RC_PREEMPTIVE_REMOVAL = 45  #: ROBUST_CHANNEL_PREEMPTIVE_REMOVAL
#: ROBUST_CHANNEL_CE<n>_ERROR for copy engine n (not contiguous in nverror.h)
RC_CE_ERROR: tuple[int, ...] = (39, 40, 41, 70, 71, 72, 75, 76, 77, 85)
RC_NAMES: dict[int, str] = {
    13: "ROBUST_CHANNEL_GR_EXCEPTION", RC_MMU_FAULT: "ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT",
    RC_PBDMA_ERROR: "ROBUST_CHANNEL_PBDMA_ERROR", RC_PREEMPTIVE_REMOVAL: "ROBUST_CHANNEL_PREEMPTIVE_REMOVAL",
    **{code: f"ROBUST_CHANNEL_CE{n}_ERROR" for n, code in enumerate(RC_CE_ERROR)},
}
