"""nova_core.fsp.facts: the FSP's message formats - MCTP packet headers, NVDM types, the chain-of-trust payload,
the command response and its error codes, and the GSP-FMC boot arguments (facts only).

Sources (open-gpu-kernel-modules 570.144): ``arch/nvalloc/common/inc/fsp/fsp_mctp_format.h`` (MCTP transport and
message headers), ``fsp_nvdm_format.h`` (NVDM types), ``fsp_emem_channels.h``, ``nvdm_payload_cmd_response.h``,
``src/nvidia/inc/kernel/gpu/fsp/kern_fsp_cot_payload.h`` (``NVDM_PAYLOAD_COT``, ``MCTP_HEADER``),
``kern_fsp_retval.h`` (error codes), ``arch/nvalloc/common/inc/gsp/gspifpub.h`` (``GSP_FMC_BOOT_PARAMS``);
Linux nouveau ``nvkm/subdev/fsp/gh100.c`` (the same message, built for a COT boot). The per-chip COT version and
key/signature sizes are columns of :data:`nova_core.gpu.chips.CHIPS`. The struct formats are byte-exact
(``tests/fsp/test_fsp_formats.py`` compiles NVIDIA's headers where they are at hand and compares).
"""

from __future__ import annotations

import enum
import struct

from ..regs.core import Bitfield, Field

# -- MCTP (one dword per packet) and the NVDM message header (one dword, first packet only) ----------------


class MCTP_HEADER(Bitfield, width=32):
    """MCTP transport header, dword 0 of every packet (``fsp_mctp_format.h`` ``MCTP_HEADER_*``)."""

    version = Field(3, 0)
    rsvd = Field(7, 4)
    deid = Field(15, 8, doc="destination endpoint id")
    seid = Field(23, 16, doc="source endpoint id (RM: 0, NVDM_TYPE_INFOROM: 1)")
    tag = Field(26, 24)
    to = Field(27, 27, doc="tag owner")
    seq = Field(29, 28, doc="packet sequence number, modulo 4")
    eom = Field(30, 30, doc="end of message")
    som = Field(31, 31, doc="start of message")


class MCTP_MSG_HEADER(Bitfield, width=32):
    """MCTP message header (the NVDM header), dword 1 of a message's first packet (``MCTP_MSG_HEADER_*``)."""

    type = Field(6, 0, doc="0x7e: vendor defined, PCI")
    ic = Field(7, 7, doc="integrity check")
    vendor_id = Field(23, 8, doc="0x10de: NVIDIA")
    nvdm_type = Field(31, 24)


MCTP_MSG_HEADER_TYPE_VENDOR_PCI = 0x7E
MCTP_MSG_HEADER_VENDOR_ID_NV = 0x10DE
#: bytes of the two header dwords (``HEADER_DWORD_MAX``, kern_fsp.c); continuation packets carry only MCTP's
MCTP_PACKET_HEADER_SIZE = 4
NVDM_MESSAGE_HEADER_SIZE = 8
#: ``sizeof(MCTP_HEADER)`` of kern_fsp_cot_payload.h (packed u32 + u8 + u16): a received message's NVDM payload
#: starts here, at the NVDM type byte (``kfspReadMessage``)
MCTP_HEADER_STRUCT_SIZE = 7


class NvdmType(enum.IntEnum):
    """``NVDM_TYPE_*`` (fsp_nvdm_format.h)."""

    RESET = 0x04
    HULK = 0x11
    FIRMWARE_UPDATE = 0x12
    PRC = 0x13
    COT = 0x14
    FSP_RESPONSE = 0x15
    CAPS_QUERY = 0x16
    INFOROM = 0x17
    SMBPBI = 0x18
    ROMREAD = 0x1A
    UEFI_RM = 0x1C
    UEFI_XTL_DEBUG_INTR = 0x1D
    TNVL = 0x1F
    CLOCK_BOOST = 0x20
    FSP_GSP_COMM = 0x21


def nvdm_to_seid(nvdm_type: int) -> int:
    """The MCTP source endpoint of an NVDM type (``kfspNvdmToSeid_GH100``: INFOROM 1, everything else 0)."""
    return 1 if nvdm_type == NvdmType.INFOROM else 0


# -- the chain-of-trust payload (NVDM_TYPE_COT) ---------------------------------------------------------------

#: ``NVDM_PAYLOAD_COT`` (``#pragma pack(1)``): version, size, gspFmcSysmemOffset, frtsSysmemOffset,
#: frtsSysmemSize, frtsVidmemOffset (from the END of FB), frtsVidmemSize, hash384[12], publicKey[96],
#: signature[96] (u32 arrays, the FMC's bytes copied in), gspBootArgsSysmemOffset - 860 bytes
NVDM_PAYLOAD_COT = struct.Struct("<HHQQIQI48s384s384sQ")
NVDM_PAYLOAD_COT_FIELDS = ("version", "size", "gspFmcSysmemOffset", "frtsSysmemOffset", "frtsSysmemSize",
                           "frtsVidmemOffset", "frtsVidmemSize", "hash384", "publicKey", "signature",
                           "gspBootArgsSysmemOffset")
#: bytes of ``publicKey`` and ``signature`` (96 x u32); the FMC's key and signature are copied in, zero-padded
FMC_FIELD_SIZE = 384
#: the FRTS size and placement facts are the FB layout's: :data:`nova_core.fb.facts.FSP_FRTS_SIZE` and
#: :func:`nova_core.fb.layout.fsp_frts_offset_from_end`

# -- the command response (NVDM_TYPE_FSP_RESPONSE) ---------------------------------------------------------

#: ``NVDM_PAYLOAD_COMMAND_RESPONSE`` (packed): taskId, commandNvdmType, errorCode - after the NVDM type byte
NVDM_PAYLOAD_COMMAND_RESPONSE = struct.Struct("<III")
NVDM_PAYLOAD_COMMAND_RESPONSE_FIELDS = ("taskId", "commandNvdmType", "errorCode")


class FspErrorCode(enum.IntEnum):
    """``errorCode`` values of the FSP's response (kern_fsp_retval.h)."""

    OK = 0x00
    IFS_ERR_INVALID_STATE = 0x9E
    IFR_FILE_NOT_FOUND = 0x9F
    IFS_ERR_NOT_SUPPORTED = 0xA0
    IFS_ERR_INVALID_DATA = 0xA1


#: what OpenRM makes of each code (``kfspErrorCode2NvStatusMap_GH100``); anything else is NV_ERR_GENERIC
FSP_ERROR_STATUS = {
    FspErrorCode.OK: "NV_OK",
    FspErrorCode.IFR_FILE_NOT_FOUND: "NV_ERR_OBJECT_NOT_FOUND",
    FspErrorCode.IFS_ERR_INVALID_STATE: "NV_ERR_INVALID_DATA",
    FspErrorCode.IFS_ERR_INVALID_DATA: "NV_ERR_INVALID_DATA",
}

# -- GSP_FMC_BOOT_PARAMS (what gspBootArgsSysmemOffset points at) --------------------------------------------


class GspDmaTarget(enum.IntEnum):
    """``GSP_DMA_TARGET`` (gspifpub.h)."""

    LOCAL_FB = 0
    COHERENT_SYSTEM = 1
    NONCOHERENT_SYSTEM = 2
    COUNT = 3


#: ``GSP_FMC_BOOT_PARAMS`` (natural alignment, 80 bytes): initParams {regkeys} | pad |
#: bootGspRmParams {target, gspRmDescSize, gspRmDescOffset, wprCarveoutOffset, wprCarveoutSize, bIsGspRmBoot}
#: at 8 | gspRmParams {target, bootArgsOffset} at 40 | gspSpdmParams {target, payloadBufferOffset,
#: payloadBufferSize} at 56
GSP_FMC_BOOT_PARAMS = struct.Struct("<I4x" "IIQQIB3x" "I4xQ" "I4xQI4x")
GSP_FMC_BOOT_PARAMS_FIELDS = (
    "regkeys",
    "bootGspRmParams_target", "bootGspRmParams_gspRmDescSize", "bootGspRmParams_gspRmDescOffset",
    "bootGspRmParams_wprCarveoutOffset", "bootGspRmParams_wprCarveoutSize", "bootGspRmParams_bIsGspRmBoot",
    "gspRmParams_target", "gspRmParams_bootArgsOffset",
    "gspSpdmParams_target", "gspSpdmParams_payloadBufferOffset", "gspSpdmParams_payloadBufferSize",
)
#: allocation and alignment of the boot arguments (``kgspAllocBootArgs_GH100``: one 4 KiB-aligned page)
GSP_FMC_BOOT_PARAMS_ALIGN = 0x1000

# -- what the GSP reports while the FMC boots ----------------------------------------------------------------

#: reads of GSP registers while its PRIV target mask is locked to the FSP: 0xBADF41YY (YY: extra error
#: information); OpenRM ``_kfspIsGspTargetMaskReleased`` and nouveau ``gh100_gsp_lockdown_released``
PRIV_TARGET_LOCKED = 0xBADF4100
PRIV_TARGET_LOCKED_MASK = 0xFFFFFF00
