"""nova_core.engines.gr.facts: GR engine facts - compute and 3D classes, compute methods, context buffers.

A fact module (no logic; the simulated GPU imports it too). Sources, open-gpu-kernel-modules 570.144 unless said:

- class ids: ``src/common/sdk/nvidia/inc/class/clc5c0.h`` .. ``clcec0.h`` (TURING_COMPUTE_A .. BLACKWELL_COMPUTE_B)
  and ``clc597.h`` .. ``clce97.h`` (TURING_A .. BLACKWELL_B); the per-chip choice as ``g_gpu_class_list.c`` and
  reference §11 list it; the subchannels ``NVA06F_SUBCHANNEL_COMPUTE`` 1 and ``_3D`` 0 (``class/cla06fsubch.h``);
- compute-class methods: ``clc5c0.h``, ``clc6c0.h``, ``clc7c0.h`` (the SDK's copies are complete); the SDK copies
  of ``clc9c0.h``/``clcbc0.h``/``clcdc0.h``/``clcec0.h`` hold the class id only, their methods are NVIDIA's
  ``open-gpu-doc`` (``classes/compute/clc9c0.h`` .. ``clcec0.h``): the same offsets as AMPERE_COMPUTE_B for every
  method listed here, SET_REPORT_SEMAPHORE_A's OFFSET_UPPER widened to 24:0 from HOPPER_COMPUTE_A. Only the
  methods the driver sends or the simulated GR executes or refuses by name are listed;
- the context-buffer description: ``ctrl/ctrl2080/ctrl2080internal.h``
  (``NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO``: per GR engine an array of {size, alignment}
  indexed by ``NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_*``, ``ctrl/ctrl0080/ctrl0080fifo.h``; 25
  entries in 535.113.01, 26 from 550 - GRAPHICS_SETUP was added);
- the promotion: ``ctrl/ctrl2080/ctrl2080gpu.h`` (``NV2080_CTRL_CMD_GPU_PROMOTE_CTX``, its buffer ids, at most 16
  entries; ``physAttr`` is ``NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE`` 1:0 | ``_GPU_CACHEABLE`` 2:2);
- which description entry sizes which promoted buffer: OpenRM's kernel side, ``kgrctxGlobalCtxBufferToFifoEngineId``
  / ``kgrctxCtxBufferToFifoEngineId`` (``src/kernel/gpu/gr/kernel_graphics_context.c``) - the global page pool is
  sized by GRAPHICS_PAGEPOOL_GLOBAL (nouveau's ``r535_gr_oneinit`` reads GRAPHICS_PAGEPOOL, the per-channel
  graphics-preemption pool, instead);
- which buffers are global, initialized by GSP-RM, read-only, left unmapped in the golden promotion or promoted with
  the golden context only: nouveau ``r535_gr_oneinit``/``r535_gr_promote_ctx``
  (``drivers/gpu/drm/nouveau/nvkm/subdev/gsp/rm/r535/gr.c``) - OpenRM's ``kgrobjGetPromoteIds`` lists the same;
- the main context buffer's per-subcontext headers (the size rounded up to 4 KiB, then one 4 KiB header per
  subcontext, 64): ``kgraphicsGetMainCtxBufferSize`` (``kernel_graphics.c``), nouveau likewise;
- the attribute buffer mapped at an offset naturally aligned to its size: ``kgraphicsConstructEngine``'s
  ``bSizeAligned[GR_GLOBALCTX_BUFFER_ATTRIBUTE_CB]`` (``kernel_graphics.c``);
- mappings of context buffers privileged (``kgraphicsShouldSetContextBuffersGPUPrivileged``; nouveau maps them with
  ``priv = 1``), the access maps read-only (nouveau ``ro``);
- ``ROBUST_CHANNEL_GR_EXCEPTION`` 13 (``nverror.h``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ...gpu.chips import Chipset
from ...regs.core import Bitfield, Field
from ..facts import family_key

# -- classes -----------------------------------------------------------------------------------------------

TURING_COMPUTE_A = 0xC5C0
AMPERE_COMPUTE_A = 0xC6C0
AMPERE_COMPUTE_B = 0xC7C0
ADA_COMPUTE_A = 0xC9C0
HOPPER_COMPUTE_A = 0xCBC0
BLACKWELL_COMPUTE_A = 0xCDC0
BLACKWELL_COMPUTE_B = 0xCEC0

TURING_A = 0xC597
AMPERE_A = 0xC697
AMPERE_B = 0xC797
ADA_A = 0xC997
HOPPER_A = 0xCB97
BLACKWELL_A = 0xCD97
BLACKWELL_B = 0xCE97

CLASS_NAMES: dict[int, str] = {
    TURING_COMPUTE_A: "TURING_COMPUTE_A", AMPERE_COMPUTE_A: "AMPERE_COMPUTE_A", AMPERE_COMPUTE_B: "AMPERE_COMPUTE_B",
    ADA_COMPUTE_A: "ADA_COMPUTE_A", HOPPER_COMPUTE_A: "HOPPER_COMPUTE_A", BLACKWELL_COMPUTE_A: "BLACKWELL_COMPUTE_A",
    BLACKWELL_COMPUTE_B: "BLACKWELL_COMPUTE_B", TURING_A: "TURING_A", AMPERE_A: "AMPERE_A", AMPERE_B: "AMPERE_B",
    ADA_A: "ADA_A", HOPPER_A: "HOPPER_A", BLACKWELL_A: "BLACKWELL_A", BLACKWELL_B: "BLACKWELL_B",
}


@dataclass(frozen=True)
class GrClasses:
    """The GR classes of one chip family."""

    compute: int  #: the compute class a channel on GR allocates
    threed: int  #: the 3D class (allocated once, on the golden channel, so that GSP-RM builds the golden image)


_GR_CLASSES: dict[str, GrClasses] = {
    "TURING": GrClasses(TURING_COMPUTE_A, TURING_A),
    "GA100": GrClasses(AMPERE_COMPUTE_A, AMPERE_A),
    "AMPERE": GrClasses(AMPERE_COMPUTE_B, AMPERE_B),
    "ADA": GrClasses(ADA_COMPUTE_A, ADA_A),
    "HOPPER": GrClasses(HOPPER_COMPUTE_A, HOPPER_A),
    "BLACKWELL_GB10X": GrClasses(BLACKWELL_COMPUTE_A, BLACKWELL_A),
    "BLACKWELL_GB20X": GrClasses(BLACKWELL_COMPUTE_B, BLACKWELL_B),
}


def gr_classes_for(chipset: Chipset) -> GrClasses:
    """The compute and 3D classes of ``chipset``."""
    return _GR_CLASSES[family_key(chipset)]


SUBCHANNEL_COMPUTE = 1  #: NVA06F_SUBCHANNEL_COMPUTE
SUBCHANNEL_3D = 0  #: NVA06F_SUBCHANNEL_3D
GR_ENGINE_TYPE = 1  #: NV2080_ENGINE_TYPE_GR0 (= RM_ENGINE_TYPE_GR0): ``engineType`` of a GR promotion
RC_GR_EXCEPTION = 13  #: ROBUST_CHANNEL_GR_EXCEPTION

# -- compute-class methods ---------------------------------------------------------------------------------

_COMPUTE_C5C0: dict[str, int] = {
    "NO_OPERATION": 0x100, "WAIT_FOR_IDLE": 0x110, "LAUNCH_DMA": 0x1B0, "LOAD_INLINE_DATA": 0x1B4,
    "SET_I2M_SEMAPHORE_A": 0x1DC, "SET_I2M_SEMAPHORE_B": 0x1E0, "SET_I2M_SEMAPHORE_C": 0x1E4,
    "SEND_PCAS_A": 0x2B4, "SEND_PCAS_B": 0x2B8, "SEND_SIGNALING_PCAS_B": 0x2BC,
    "SET_INLINE_QMD_ADDRESS_A": 0x318, "SET_INLINE_QMD_ADDRESS_B": 0x31C, "LOAD_INLINE_QMD_DATA": 0x320,
    "SET_REPORT_SEMAPHORE_A": 0x1B00, "SET_REPORT_SEMAPHORE_B": 0x1B04, "SET_REPORT_SEMAPHORE_C": 0x1B08,
    "SET_REPORT_SEMAPHORE_D": 0x1B0C,
}
_COMPUTE_C6C0 = _COMPUTE_C5C0 | {"SEND_SIGNALING_PCAS2_B": 0x2C0}
#: AMPERE_COMPUTE_B adds the 64-bit report semaphore (payload, address, then REPORT_SEMAPHORE_EXECUTE)
_COMPUTE_C7C0 = _COMPUTE_C6C0 | {
    "SET_REPORT_SEMAPHORE_PAYLOAD_LOWER": 0x158, "SET_REPORT_SEMAPHORE_PAYLOAD_UPPER": 0x15C,
    "SET_REPORT_SEMAPHORE_ADDRESS_LOWER": 0x160, "SET_REPORT_SEMAPHORE_ADDRESS_UPPER": 0x164,
    "REPORT_SEMAPHORE_EXECUTE": 0x168,
}

#: compute method name -> byte address, per compute class (the subset described in the module docstring)
COMPUTE_METHODS: dict[int, dict[str, int]] = {
    TURING_COMPUTE_A: _COMPUTE_C5C0,
    AMPERE_COMPUTE_A: _COMPUTE_C6C0,
    AMPERE_COMPUTE_B: _COMPUTE_C7C0,
    ADA_COMPUTE_A: dict(_COMPUTE_C7C0),
    HOPPER_COMPUTE_A: dict(_COMPUTE_C7C0),
    BLACKWELL_COMPUTE_A: dict(_COMPUTE_C7C0),
    BLACKWELL_COMPUTE_B: dict(_COMPUTE_C7C0),
}
#: LOAD_INLINE_QMD_DATA(i) is (0x0320 + i * 4); the next method of every class header is SET_FALCON00 at 0x500
INLINE_QMD_END = 0x500
#: SET_REPORT_SEMAPHORE_A OFFSET_UPPER: 7:0 through ADA_COMPUTE_A, 24:0 from HOPPER_COMPUTE_A
REPORT_SEMAPHORE_UPPER_BITS: dict[int, int] = {
    TURING_COMPUTE_A: 8, AMPERE_COMPUTE_A: 8, AMPERE_COMPUTE_B: 8, ADA_COMPUTE_A: 8, HOPPER_COMPUTE_A: 25,
    BLACKWELL_COMPUTE_A: 25, BLACKWELL_COMPUTE_B: 25,
}
#: the methods that start shader work: a QMD sent to the compute work distributor, or an inline QMD loaded
LAUNCH_METHODS = ("SEND_PCAS_B", "SEND_SIGNALING_PCAS_B", "SEND_SIGNALING_PCAS2_B", "LOAD_INLINE_QMD_DATA")
QMD_ADDRESS_SHIFT = 8  #: SEND_PCAS_A QMD_ADDRESS_SHIFTED8


class ReportSemaphoreOp(enum.IntEnum):
    """SET_REPORT_SEMAPHORE_D_OPERATION."""

    RELEASE = 0
    TRAP = 3


class ReportSemaphoreD(Bitfield, width=32):
    """SET_REPORT_SEMAPHORE_D's data (``NVC5C0_SET_REPORT_SEMAPHORE_D_*``; the same through BLACKWELL_COMPUTE_B)."""

    operation = Field(1, 0, enum=ReportSemaphoreOp)
    flush_disable = Field(2, 2)
    reduction_enable = Field(3, 3)
    reduction_op = Field(11, 9)
    reduction_format = Field(18, 17)
    conditional_trap = Field(19, 19)
    awaken_enable = Field(20, 20)
    structure_size = Field(28, 28, doc="0 FOUR_WORDS (payload, 0, 64-bit timestamp), 1 ONE_WORD")


class SendSignalingPcas2Action(enum.IntEnum):
    """SEND_SIGNALING_PCAS2_B PCAS_ACTION (3:0; AMPERE_COMPUTE_A and later)."""

    NOP = 0x0
    INVALIDATE = 0x1
    SCHEDULE = 0x2
    INVALIDATE_COPY_SCHEDULE = 0x3
    INCREMENT_PUT = 0x6
    DECREMENT_DEPENDENCE = 0x7
    PREFETCH = 0x8
    PREFETCH_SCHEDULE = 0x9
    INVALIDATE_PREFETCH_COPY_SCHEDULE = 0xA
    INVALIDATE_PREFETCH_COPY_FORCE_REQUIRE_SCHEDULING = 0xB


SEND_SIGNALING_PCAS_B_SCHEDULE = 1 << 1  #: SEND_SIGNALING_PCAS_B SCHEDULE (1:1); INVALIDATE is 0:0

# -- context buffers -----------------------------------------------------------------------------------------


class EngineCtxId(enum.IntEnum):
    """NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_*: the index into the context-buffer description."""

    GRAPHICS = 0x00
    VLD = 0x01
    VIDEO = 0x02
    MPEG = 0x03
    CAPTURE = 0x04
    DISPLAY = 0x05
    ENCRYPTION = 0x06
    POSTPROCESS = 0x07
    GRAPHICS_ZCULL = 0x08
    GRAPHICS_PM = 0x09
    COMPUTE_PREEMPT = 0x0A
    GRAPHICS_PREEMPT = 0x0B
    GRAPHICS_SPILL = 0x0C
    GRAPHICS_PAGEPOOL = 0x0D
    GRAPHICS_BETACB = 0x0E
    GRAPHICS_RTV = 0x0F
    GRAPHICS_PATCH = 0x10
    GRAPHICS_BUNDLE_CB = 0x11
    GRAPHICS_PAGEPOOL_GLOBAL = 0x12
    GRAPHICS_ATTRIBUTE_CB = 0x13
    GRAPHICS_RTV_CB_GLOBAL = 0x14
    GRAPHICS_GFXP_POOL = 0x15
    GRAPHICS_GFXP_CTRL_BLK = 0x16
    GRAPHICS_FECS_EVENT = 0x17
    GRAPHICS_PRIV_ACCESS_MAP = 0x18
    GRAPHICS_SETUP = 0x19  #: from 550 (the array has 0x1a entries there, 0x19 in 535.113.01)


class PromoteId(enum.IntEnum):
    """NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ID_*: ``bufferId`` of a promotion entry."""

    MAIN = 0
    PM = 1
    PATCH = 2
    BUFFER_BUNDLE_CB = 3
    PAGEPOOL = 4
    ATTRIBUTE_CB = 5
    RTV_CB_GLOBAL = 6
    GFXP_POOL = 7
    GFXP_CTRL_BLK = 8
    FECS_EVENT = 9
    PRIV_ACCESS_MAP = 10
    UNRESTRICTED_PRIV_ACCESS_MAP = 11
    GLOBAL_PRIV_ACCESS_MAP = 12


@dataclass(frozen=True)
class CtxBufferKind:
    """A context buffer the driver promotes (see the module docstring for the sources)."""

    promote_id: PromoteId
    engine_id: EngineCtxId  #: the description entry that gives its size and alignment
    global_: bool  #: one per device, mapped in every channel's address space; else one per channel
    initialize: bool  #: promoted with its physical address and size (``bInitialize``): GSP-RM initializes it
    read_only: bool = False  #: mapped read-only
    size_aligned: bool = False  #: mapped at a VA aligned to its size (rounded up to a power of two)
    golden_only: bool = False  #: promoted with the golden context only, never per channel
    golden_unmapped: bool = False  #: promoted without a VA (``bNonmapped``) in the golden promotion

    @property
    def name(self) -> str:
        return self.promote_id.name


CTX_BUFFERS: tuple[CtxBufferKind, ...] = (
    CtxBufferKind(PromoteId.MAIN, EngineCtxId.GRAPHICS, global_=False, initialize=True),
    CtxBufferKind(PromoteId.PATCH, EngineCtxId.GRAPHICS_PATCH, global_=False, initialize=True),
    CtxBufferKind(PromoteId.BUFFER_BUNDLE_CB, EngineCtxId.GRAPHICS_BUNDLE_CB, global_=True, initialize=False),
    CtxBufferKind(PromoteId.PAGEPOOL, EngineCtxId.GRAPHICS_PAGEPOOL_GLOBAL, global_=True, initialize=False),
    CtxBufferKind(PromoteId.ATTRIBUTE_CB, EngineCtxId.GRAPHICS_ATTRIBUTE_CB, global_=True, initialize=False,
                  size_aligned=True),
    CtxBufferKind(PromoteId.RTV_CB_GLOBAL, EngineCtxId.GRAPHICS_RTV_CB_GLOBAL, global_=True, initialize=False),
    CtxBufferKind(PromoteId.FECS_EVENT, EngineCtxId.GRAPHICS_FECS_EVENT, global_=True, initialize=True),
    CtxBufferKind(PromoteId.PRIV_ACCESS_MAP, EngineCtxId.GRAPHICS_PRIV_ACCESS_MAP, global_=True, initialize=True,
                  read_only=True, golden_unmapped=True),
    CtxBufferKind(PromoteId.UNRESTRICTED_PRIV_ACCESS_MAP, EngineCtxId.GRAPHICS_PRIV_ACCESS_MAP, global_=True,
                  initialize=True, read_only=True, golden_only=True),
)
CTX_BUFFER_BY_ID: dict[PromoteId, CtxBufferKind] = {k.promote_id: k for k in CTX_BUFFERS}

MAX_SUBCONTEXTS = 64  #: per-subcontext headers in the main buffer (NV2080_CTRL_GR_INFO_INDEX_MAX_SUBCONTEXT_COUNT)
SUBCONTEXT_HEADER = 0x1000  #: each 4 KiB-aligned (RM_PAGE_SIZE), though only 256 bytes are used
SIZE_NOT_SUPPORTED = 0xFFFFFFFF  #: an entry GSP-RM does not support (NV_U32_MAX: NV_ERR_NOT_SUPPORTED upstream)
PROMOTE_MAX_ENTRIES = 16  #: NV2080_CTRL_GPU_PROMOTE_CONTEXT_MAX_ENTRIES


def main_buffer_size(reported: int) -> int:
    """The main context buffer: GSP-RM's size rounded up to 4 KiB, then a 4 KiB header per subcontext."""
    return ((reported + SUBCONTEXT_HEADER - 1) & ~(SUBCONTEXT_HEADER - 1)) + MAX_SUBCONTEXTS * SUBCONTEXT_HEADER


class CtxAperture(enum.IntEnum):
    """NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE."""

    VIDMEM = 0
    COH_SYS = 1
    NCOH_SYS = 2


class PhysAttr(Bitfield, width=32):
    """A promotion entry's ``physAttr`` (``NV2080_CTRL_GPU_INITIALIZE_CTX_*``)."""

    aperture = Field(1, 0, enum=CtxAperture)
    gpu_cacheable = Field(2, 2, doc="0 YES, 1 NO")
