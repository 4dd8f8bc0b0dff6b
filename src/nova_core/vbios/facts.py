"""nova_core.vbios.facts: layouts, ids and constants of the NVIDIA vBIOS (facts only, no logic).

Sources (``shared/reference/nvidia-facts.md`` §2 gives the details):

- PCI expansion ROM header, PCIR/NPDS, NPDE, code types: OpenRM 570.144
  ``src/nvidia/inc/kernel/platform/pci_exp_table.h`` and ``kernel_gsp_vbios_tu102.c``
  (``s_locateExpansionRoms``); Linux nova-core ``vbios.rs``.
- IFR ("NVGI") header and the "RFRD" ROM directory: OpenRM ``published/turing/tu102/dev_bus.h``
  (``NV_PBUS_IFR_FMT_FIXED*``) and ``s_romImgFindPciHeader_TU102``; nova-core ``vbios_rom_offset``.
- BIT header, tokens and token ids: NVIDIA open-gpu-doc "BIOS Information Table" (2018); OpenRM
  ``kernel_gsp_fwsec.c`` (header checksum, token formats).
- FALCON_DATA, the falcon ucode ("PMU lookup") table, ucode descriptors v2/v3: OpenRM
  ``kernel_gsp_fwsec.c``; nouveau ``nvkm/subdev/gsp/fwsec.c``; nova-core ``firmware.rs``.
- Application interface table, DMEMMAPPER v3, FWSEC commands and their arguments: OpenRM
  ``arch/turing/kernel_gsp_frts_tu102.c``; nouveau ``fwsec.c``; nova-core ``firmware/fwsec.rs``.

Struct formats are little-endian ``struct`` strings with their field names beside them, so the parser
and the synthetic-ROM builder read the same fact.
"""

from __future__ import annotations

import enum
import struct

from ..errors import RomError
from ..files import InputFormat
from ..regs.core import RO, Bitfield, Field
from ..regs.prom import PROM_SIZE

# -- where the ROM is and how far it is read --------------------------------------------------------

#: OpenRM ``s_getBaseBiosMaxSize_TU102`` and nova-core ``BIOS_MAX_SCAN_LEN``: 1 MiB, counted from the
#: start of the PCI expansion ROM (what the PROM window shows once the IFR offset is applied)
SCAN_LIMIT = PROM_SIZE
#: PCI expansion ROM images start on 512-byte boundaries and are sized in 512-byte blocks
IMAGE_BLOCK = 512
#: at most this many images in one chain (real ROMs have 2-6): a longer chain is refused as absurd
MAX_IMAGES = 32
#: the largest ROM *file* read: 8 MiB. The ROM proper is scanned for SCAN_LIMIT (1 MiB) from its start, which an
#: IFR header may move into the file; the largest dump measured (shared/vbios: the AD102 ROM, IFR header first)
#: is 2,048,000 bytes. Four times that is no vBIOS dump (nvflash/sysfs dumps are the EEPROM's 1-2 MiB).
MAX_ROM_FILE = 8 << 20
ROM_FILE = InputFormat("vBIOS ROM file", MAX_ROM_FILE,
                       "4x the largest dump measured, 2,048,000 bytes; the ROM is scanned for 1 MiB", RomError)

# -- IFR (init-from-ROM) header, "NVGI" ----------------------------------------------------------------

IFR_SIGNATURE = b"NVGI"  #: NV_PBUS_IFR_FMT_FIXED0_SIGNATURE_VALUE (0x4947564E) at ROM offset 0
IFR_FIXED1_OFFSET = 0x4
IFR_FIXED2_OFFSET = 0x8
IFR_HEADER_SIZE = 0xC  #: FIXED0..FIXED2
#: v1/v2: the PCI ROM offset is the dword at FIXED_DATA_SIZE + 4 (``IFR_SW_EXT_ROM_ADDR_OFFSET``)
IFR_EXT_ROM_ADDR_OFFSET = 4
#: v3: the dword at TOTAL_DATA_SIZE is the flash-status offset; the ROM directory follows 4 KiB later
IFR_FLASH_STATUS_SIZE = 0x1000
ROM_DIRECTORY_SIGNATURE = b"RFRD"  #: NV_ROM_DIRECTORY_IDENTIFIER 0x44524652
ROM_DIRECTORY_PCI_ROM_OFFSET = 8  #: the dword at directory + 8 is the PCI option ROM offset
ROM_DIRECTORY_SIZE = 0xC  #: the part of the directory that is read (signature, -, PCI ROM offset)
IFR_VERSIONS = (1, 2, 3)


class IfrFixed1(Bitfield):
    """NV_PBUS_IFR_FMT_FIXED1 (ROM offset 4)."""

    versionsw = Field(15, 8, RO, doc="IFR header version (1, 2 or 3)")
    fixed_data_size = Field(30, 16, RO, doc="size of the fixed IFR data; v1/v2 ROM-offset dword at +4")


class IfrFixed2(Bitfield):
    """NV_PBUS_IFR_FMT_FIXED2 (ROM offset 8)."""

    total_data_size = Field(19, 0, RO, doc="v3: offset of the dword holding the flash-status offset")


# -- PCI expansion ROM header ---------------------------------------------------------------------

#: accepted ROM signatures (u16 at image offset 0): OpenRM ``IS_VALID_PCI_ROM_SIG``, nova-core
ROM_SIGNATURES: dict[int, str] = {0xAA55: "PCI (55 AA)", 0x4E56: "NVIDIA 'VN'", 0xBB77: "NVIDIA (77 BB)"}
ERASED_SIGNATURE = 0xFFFF  #: erased flash where the next image should start
ROM_HEADER_SIZE = 0x1A  #: signature .. PCI data structure pointer (+0x18, u16)
ROM_HEADER_PCIR_PTR = 0x18
ROM_HEADER_NBSI_DATA_OFFSET = 0x16  #: NBSI images only

# -- PCI data structure (PCIR / NPDS) -----------------------------------------------------------------

PCIR_SIGNATURES = (b"PCIR", b"NPDS", b"RGIS")  #: OpenRM ``IS_VALID_PCI_DATA_SIG``
PCIR = struct.Struct("<4sHHHHB3sHHBBH")
PCIR_FIELDS = ("signature", "vendor_id", "device_id", "device_list_ptr", "length", "revision", "class_code",
               "image_len", "vendor_rom_rev", "code_type", "last_image", "max_runtime_image_len")
PCIR_SIZE = PCIR.size  #: 0x18
LAST_IMAGE = 0x80  #: PCIR +0x15 and NPDE +0x0A: bit 7 marks the last image


class CodeType(enum.IntEnum):
    """PCIR code type (+0x14); OpenRM calls 0x00 ``VBIOS_BASE`` and 0xE0 ``VBIOS_EXT``."""

    PCI_AT = 0x00  #: x86 legacy image: holds the BIT
    EFI = 0x03  #: UEFI GOP driver
    NBSI = 0x70  #: notebook system information
    FWSEC = 0xE0  #: NVIDIA firmware-security images: falcon ucodes and their table


# -- NVIDIA PCI data extension (NPDE) -----------------------------------------------------------------

NPDE_SIGNATURE = b"NPDE"
NPDE = struct.Struct("<4sHHHBB")
NPDE_FIELDS = ("signature", "revision", "length", "subimage_len", "last_image", "flags")
NPDE_REVISIONS = (0x100, 0x101)  #: NV_PCI_DATA_EXT_REV_10 / _11: the only ones OpenRM trusts
NPDE_ALIGN = 16  #: the NPDE sits at ALIGN_UP(PCIR + PCIR.length, 16)
NPDE_LAST_IMAGE_END = 0x0B  #: the NPDE's last-image byte counts only when its length reaches +0x0B
NPDE_FLAG_CHECKSUM_DISABLED = 0x04

# -- BIT (BIOS information table) ---------------------------------------------------------------------

BIT_PATTERN = b"\xff\xb8BIT\x00"  #: Id 0xB8FF then "BIT\0", little-endian
BIT_HEADER = struct.Struct("<HIHBBBB")
BIT_HEADER_FIELDS = ("id", "signature", "bcd_version", "header_size", "token_size", "token_entries", "checksum")
BIT_HEADER_SIZE = BIT_HEADER.size  #: 12
BIT_BCD_VERSION = 0x0100
BIT_TOKEN = struct.Struct("<BBHH")  #: id, data version, data size, u16 data pointer
BIT_TOKEN_FIELDS = ("id", "version", "size", "ptr")
BIT_TOKEN_SIZE = BIT_TOKEN.size  #: 6
BIT_TOKEN_PTR32 = struct.Struct("<BBHI")  #: OpenRM's 8-byte token form ("2b1w1d"): u32 data pointer


class BitTokenId(enum.IntEnum):
    """BIT token ids (NVIDIA open-gpu-doc "BIOS Information Table": ``BIT_TOKEN_*``)."""

    I2C_PTRS = 0x32  # '2'
    DAC_PTRS = 0x41  # 'A'
    BIOSDATA = 0x42  # 'B'
    CLOCK_PTRS = 0x43  # 'C'
    DFP_PTRS = 0x44  # 'D'
    NVINIT_PTRS = 0x49  # 'I'
    LVDS_PTRS = 0x4C  # 'L'
    MEMORY_PTRS = 0x4D  # 'M'
    NOP = 0x4E  # 'N'
    PERF_PTRS = 0x50  # 'P'
    BRIDGE_FW_DATA = 0x52  # 'R'
    STRING_PTRS = 0x53  # 'S'
    TMDS_PTRS = 0x54  # 'T'
    DISPLAY_PTRS = 0x55  # 'U'
    VIRTUAL_PTRS = 0x56  # 'V'
    PTRS_32BIT = 0x63  # 'c'
    DP_PTRS = 0x64  # 'd'
    FALCON_DATA = 0x70  # 'p'
    UEFI_DATA = 0x75  # 'u'
    MXM_DATA = 0x78  # 'x'


#: BIT_BIOSDATA v1/v2 start: u32 BIOS binary version, u8 OEM version
BIOSDATA = struct.Struct("<IB")
BIOSDATA_VERSIONS = (1, 2)
#: BIT_FALCON_DATA v2: u32 pointer to the falcon ucode table (an expansion-ROM pointer)
FALCON_DATA_V2 = struct.Struct("<I")
FALCON_DATA_VERSION = 2

# -- falcon ucode table ("PMU lookup table") -------------------------------------------------------------

FALCON_UCODE_TABLE_HDR = struct.Struct("<6B")
FALCON_UCODE_TABLE_HDR_FIELDS = ("version", "header_size", "entry_size", "entry_count", "desc_version",
                                 "desc_size")
FALCON_UCODE_TABLE_VERSION = 1
FALCON_UCODE_TABLE_ENTRY = struct.Struct("<BBI")
FALCON_UCODE_TABLE_ENTRY_FIELDS = ("app_id", "target_id", "desc_ptr")


class AppId(enum.IntEnum):
    """Falcon ucode table application ids (OpenRM ``FALCON_UCODE_ENTRY_APPID_*``)."""

    FIRMWARE_SEC_LIC = 0x05
    FWSEC_DBG = 0x45
    FWSEC_PROD = 0x85


# -- falcon ucode descriptors -------------------------------------------------------------------


class UcodeDescHeader(Bitfield):
    """FALCON_UCODE_DESC_HEADER.vDesc (the first dword of every descriptor)."""

    version_available = Field(0, 0, RO, doc="1: the VERSION field is valid")
    reserved = Field(1, 1, RO)
    encrypted = Field(2, 2, RO, doc="1: the ucode is stored encrypted")
    version = Field(15, 8, RO, doc="descriptor version (2 or 3 for FWSEC)")
    size = Field(31, 16, RO, doc="descriptor size in bytes, signatures included; the ucode follows")


UCODE_DESC_V2 = struct.Struct("<15I")
UCODE_DESC_V2_FIELDS = (
    "hdr", "stored_size", "uncompressed_size", "virtual_entry", "interface_offset", "imem_phys_base",
    "imem_load_size", "imem_virt_base", "imem_sec_base", "imem_sec_size", "dmem_offset", "dmem_phys_base",
    "dmem_load_size", "alt_imem_load_size", "alt_dmem_load_size",
)
UCODE_DESC_V2_SIZE = UCODE_DESC_V2.size  #: 60
UCODE_DESC_V3 = struct.Struct("<9IHBBHH")
UCODE_DESC_V3_FIELDS = (
    "hdr", "stored_size", "pkc_data_offset", "interface_offset", "imem_phys_base", "imem_load_size",
    "imem_virt_base", "dmem_phys_base", "dmem_load_size", "engine_id_mask", "ucode_id", "signature_count",
    "signature_versions", "reserved",
)
UCODE_DESC_V3_SIZE = UCODE_DESC_V3.size  #: 44 (0x2C); the RSA3K signatures follow
RSA3K_SIGNATURE_SIZE = 384  #: BCRT30_RSA3K_SIG_SIZE
#: fuse versions are bit indices of the u16 SignatureVersions
MAX_FUSE_VERSION = 15

# -- application interface table and DMEMMAPPER (in the ucode's DMEM) ---------------------------------

APPIF_HEADER = struct.Struct("<4B")
APPIF_HEADER_FIELDS = ("version", "header_size", "entry_size", "entry_count")
APPIF_VERSION = 1
APPIF_ENTRY = struct.Struct("<II")
APPIF_ENTRY_FIELDS = ("id", "dmem_offset")
APPIF_ID_DMEMMAPPER = 0x4
#: OpenRM refuses tables with fewer entries ("too few interface entries", open-gpu-kernel-modules #943)
APPIF_OPENRM_MIN_ENTRIES = 2

DMEMMAPPER_V3 = struct.Struct("<IHH14I")
DMEMMAPPER_V3_FIELDS = (
    "signature", "version", "size", "cmd_in_buffer_offset", "cmd_in_buffer_size", "cmd_out_buffer_offset",
    "cmd_out_buffer_size", "nvf_img_data_buffer_offset", "nvf_img_data_buffer_size", "printf_buffer_hdr",
    "ucode_build_time_stamp", "ucode_signature", "init_cmd", "ucode_feature", "ucode_cmd_mask0",
    "ucode_cmd_mask1", "multi_tgt_tbl",
)
DMEMMAPPER_V3_SIZE = DMEMMAPPER_V3.size  #: 0x40
DMEMMAPPER_INIT_CMD_OFFSET = 0x2C
#: the u32 signature of every DMEMMAPPER seen in real ROMs ("DMAP"; no driver checks it)
DMEMMAPPER_SIGNATURE = b"DMAP"
DMEMMAPPER_VERSION = 3


class FwsecCommand(enum.IntEnum):
    """DMEMMAPPER ``init_cmd`` values (``FALCON_APPLICATION_INTERFACE_DMEM_MAPPER_V3_CMD_*``)."""

    FRTS = 0x15  #: carve out WPR2 and copy a verified VBIOS (FRTS region) into it
    SB = 0x19  #: "secure boot": run at unload to tear the FRTS state down


#: FWSECLIC_READ_VBIOS_DESC: version, size, u64 gfwImageOffset, gfwImageSize, flags
READ_VBIOS_DESC = struct.Struct("<IIQII")
READ_VBIOS_DESC_VERSION = 1
READ_VBIOS_FLAGS = 2  #: FWSECLIC_READ_VBIOS_STRUCT_FLAGS
#: FWSECLIC_FRTS_REGION_DESC: version, size, frtsRegionOffset4K, frtsRegionSize (4K units), media type
FRTS_REGION_DESC = struct.Struct("<5I")
FRTS_REGION_DESC_VERSION = 1
FRTS_REGION_MEDIA_FB = 2  #: FWSECLIC_FRTS_REGION_MEDIA_FB
FRTS_REGION_SHIFT = 12  #: offsets and sizes are in 4 KiB units
#: FWSECLIC_FRTS_CMD = READ_VBIOS_DESC @0 + FRTS_REGION_DESC @0x18; SB takes READ_VBIOS_DESC alone
FRTS_CMD_SIZE = READ_VBIOS_DESC.size + FRTS_REGION_DESC.size  #: 44
SB_CMD_SIZE = READ_VBIOS_DESC.size  #: 24
#: FRTS size OpenRM always asks for (NV_PGC6_AON_FRTS_INPUT_WPR_SIZE_..._1MB_IN_4K = 0x100)
FRTS_SIZE_DEFAULT = 0x100 << FRTS_REGION_SHIFT


def format_version(version: int, oem: int) -> str:
    """NVIDIA's vBIOS version string, ``"%02X.%02X.%02X.%02X.%02X"`` (OpenRM ``_kgspVbiosVersionToStr``)."""
    return ".".join(f"{b:02X}" for b in (version >> 24 & 0xFF, version >> 16 & 0xFF, version >> 8 & 0xFF,
                                         version & 0xFF, oem & 0xFF))
