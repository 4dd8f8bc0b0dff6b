"""nova_core.firmware.facts: layouts, names and constants of NVIDIA's GSP firmware files (facts only).

Sources (see ``shared/reference/nvidia-facts.md`` §3-§4):

- ``nvfw_bin_hdr``, ``nvfw_hs_header_v2``, ``nvfw_hs_load_header_v2``: Linux nouveau
  ``include/nvfw/{fw,hs}.h``; nova-core ``firmware.rs``/``firmware/booter.rs``; OpenRM
  ``kernel_gsp_booter.c`` (``s_allocateUcodeFromBinArchive``: one app, ``patch_sig`` 0, signature
  total size a multiple of the count).
- ``RM_RISCV_UCODE_DESC``: OpenRM 535 ``arch/nvalloc/common/inc/rmRiscvUcode.h`` (84 bytes); the
  version-4 files for TU102/GA100 carry only the first 76 bytes.
- ELF64: the System V gABI (``Elf64_Ehdr``/``Elf64_Shdr``/``Elf64_Phdr``); ``EM_RISCV`` = 243.
- The Hopper/Blackwell GSP-FMC container (``fmc-<version>.bin``): an ELF32 file of exactly the header,
  section flags and names Linux nouveau ``nvkm/subdev/gsp/gh100.c`` (``elf_header``, ``FMC_SHF_FLAGS``,
  ``elf_validate_sections``, ``gh100_gsp_oneinit``; NVIDIA, 2025) accepts; what the sections hold is OpenRM
  570.144's ``NVDM_PAYLOAD_COT`` (``kern_fsp_cot_payload.h``): a 48-byte SHA-384 ``hash384`` of the image,
  the public key and signature whose sizes are the chip's (``g_kern_fsp_nvoc.c``: 384/384 on GH100, 97/96 on
  GB10x/GB20x).
- The generic falcon bootloader (``gen_bootloader-570.144.bin``, nouveau ``acr/bl.bin``): OpenRM 570.144
  ``arch/nvalloc/common/inc/rmflcnbl.h`` ``RM_FLCN_BL_DESC`` {blStartTag, blDmemDescLoadOff,
  RM_FLCN_BL_IMG_HEADER {blCodeOffset, blCodeSize, blDataOffset, blDataSize}} = nouveau ``nvfw_bl_desc``.
- Radix3: nouveau ``nvkm_gsp_radix3_sg``, nova-core ``firmware/gsp.rs``, OpenRM ``kgspCreateRadix3``.
- Names: linux-firmware ``nvidia/<chip>/gsp/<kind>-<version>.bin`` (Debian
  ``firmware-nvidia-graphics``); NVIDIA driver ``nvidia/<version>/gsp_<family>.bin`` (Debian
  ``firmware-nvidia-gsp``).

Struct formats are little-endian ``struct`` strings with the field names beside them, so a parser and
a builder (the synthetic firmware) read the same fact.
"""

from __future__ import annotations

import enum
import struct

from ..errors import FirmwareError
from ..files import InputFormat

# -- nvfw_bin_hdr ------------------------------------------------------------------------------------

NVFW_BIN_MAGIC = 0x10DE
NVFW_BIN_VERSION = 1
BIN_HDR = struct.Struct("<6I")
BIN_HDR_FIELDS = ("bin_magic", "bin_ver", "bin_size", "header_offset", "data_offset", "data_size")
#: observed in every linux-firmware file: ``bin_size`` = file size rounded up to 256 bytes (not checked)
BIN_SIZE_ALIGN = 256

# -- HS (heavy-secure) booter headers ----------------------------------------------------------------

HS_HEADER_V2 = struct.Struct("<9I")
HS_HEADER_V2_FIELDS = (
    "sig_prod_offset",   # file offset of the production signatures
    "sig_prod_size",     # their total size (num_sig x signature size)
    "patch_loc",         # file offset of a u32: payload offset to patch the signature at
    "patch_sig",         # file offset of a u32: offset added to sig_prod_offset (OpenRM requires 0)
    "meta_data_offset",  # file offset of the signature parameters
    "meta_data_size",
    "num_sig",           # file offset of a u32: the number of signatures
    "header_offset",     # file offset of the load header
    "header_size",
)
HS_LOAD_HEADER_V2 = struct.Struct("<5I")
HS_LOAD_HEADER_V2_FIELDS = ("os_code_offset", "os_code_size", "os_data_offset", "os_data_size", "num_apps")
HS_LOAD_APP = struct.Struct("<2I")  #: {u32 offset, u32 size} per app, after the load header
HS_SIGNATURE_PARAMS = struct.Struct("<3I")
HS_SIGNATURE_PARAMS_FIELDS = ("fuse_ver", "engine_id_mask", "ucode_id")

HS_SIG_LEGACY_SIZE = 16  #: Turing booters: legacy 128-bit HS signatures
RSA3K_SIG_SIZE = 384  #: GA100+ booters: RSA-3072 (``BCRT30_RSA3K_SIG_SIZE``), checked by the BROM on GA102+
#: fuse version registers hold 16 significant bits (``NV_FUSE_OPT_FPF_*_UCODE*_VERSION`` 15:0)
FUSE_VERSION_BITS = 16
#: a fused version is 0..16 (highest set bit + 1 of those 16 bits), and each selects one signature (nova-core's
#: and OpenRM's rules alike): a booter with more signatures carries some no chip can select. Measured: 1 or 2.
MAX_HS_SIGNATURES = FUSE_VERSION_BITS + 1

# -- RM_RISCV_UCODE_DESC (bootloader-*.bin) ---------------------------------------------------------

RISCV_DESC_FIELDS = (
    "version", "bootloader_offset", "bootloader_size", "bootloader_param_offset", "bootloader_param_size",
    "riscv_elf_offset", "riscv_elf_size", "app_version", "manifest_offset", "manifest_size",
    "monitor_data_offset", "monitor_data_size", "monitor_code_offset", "monitor_code_size",
    "is_monitor_enabled", "swbrom_code_offset", "swbrom_code_size", "swbrom_data_offset", "swbrom_data_size",
    "fb_reserved_size", "signed_as_code",
)
#: descriptor size by version: v4 (TU102/TU116/GA100 files) stops before fbReservedSize
RISCV_DESC_SIZE = {4: 19 * 4, 5: 21 * 4}
#: v5 without a RISC-V boot-ROM bootloader (``bootloaderSize`` 0): the Hopper/Blackwell files, whose
#: manifest, monitor data and monitor code the GSP-FMC loads (OpenRM ``_kgspBootstrapGspFmc_GH100`` points
#: the RISC-V BCR DMA registers at them; nouveau ``gh100_gsp_wpr_meta_init``)
RISCV_DESC_FMC_VERSION = 5
#: (offset, size) field pairs that must lie inside the payload
RISCV_DESC_RANGES = (
    ("bootloader_offset", "bootloader_size"), ("bootloader_param_offset", "bootloader_param_size"),
    ("riscv_elf_offset", "riscv_elf_size"), ("manifest_offset", "manifest_size"),
    ("monitor_data_offset", "monitor_data_size"), ("monitor_code_offset", "monitor_code_size"),
    ("swbrom_code_offset", "swbrom_code_size"), ("swbrom_data_offset", "swbrom_data_size"),
)

# -- RM_FLCN_BL_DESC (gen_bootloader-*.bin, acr/bl.bin) ---------------------------------------------

BL_DESC = struct.Struct("<6I")
BL_DESC_FIELDS = ("start_tag", "dmem_load_off", "code_off", "code_size", "data_off", "data_size")
#: falcon IMEM tags are 16 bits (NV_PFALCON_FALCON_IMEMT_TAG 15:0)
IMEM_TAG_BITS = 16

# -- ELF64 -------------------------------------------------------------------------------------------

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
EV_CURRENT = 1
ET_REL = 1
ET_EXEC = 2
EM_RISCV = 243
SHN_UNDEF = 0
SHN_LORESERVE = 0xFF00
SHN_XINDEX = 0xFFFF
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_RISCV_ATTRIBUTES = 0x70000003
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
PT_LOAD = 1
ELF64_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  #: 64 bytes
ELF64_EHDR_FIELDS = ("e_ident", "e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags",
                     "e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx")
ELF64_SHDR = struct.Struct("<IIQQQQIIQQ")  #: 64 bytes
ELF64_SHDR_FIELDS = ("sh_name", "sh_type", "sh_flags", "sh_addr", "sh_offset", "sh_size", "sh_link", "sh_info",
                     "sh_addralign", "sh_entsize")
ELF64_PHDR = struct.Struct("<IIQQQQQQ")  #: 56 bytes
ELF64_PHDR_FIELDS = ("p_type", "p_flags", "p_offset", "p_vaddr", "p_paddr", "p_filesz", "p_memsz", "p_align")
ELF64_SYM = struct.Struct("<IBBHQQ")  #: 24 bytes
SECTION_TYPE_NAMES = {SHT_NULL: "NULL", SHT_PROGBITS: "PROGBITS", SHT_SYMTAB: "SYMTAB", SHT_STRTAB: "STRTAB",
                      SHT_NOBITS: "NOBITS", SHT_RISCV_ATTRIBUTES: "RISCV_ATTRIBUTES", 4: "RELA", 9: "REL"}

# -- the GSP-FMC container (fmc-<version>.bin, ELF32) -------------------------------------------------

ELFCLASS32 = 1
#: the 52 bytes every FMC file starts with (nouveau ``elf_header``): ELF32 LE, version 1, ET_NONE, EM_NONE,
#: no entry, no program headers, section headers right after this header (e_shoff 52), e_ehsize 52,
#: e_shentsize 40, six sections, the name table at index 1
FMC_ELF_HEADER = bytes([
    0x7F, 0x45, 0x4C, 0x46, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    52, 0, 0, 0, 0, 0, 0, 0, 52, 0, 0, 0, 0, 0, 40, 0,
    6, 0, 1, 0,
])
ELF32_SHDR = struct.Struct("<10I")  #: Elf32_Shdr, 40 bytes
ELF32_SHDR_FIELDS = ("sh_name", "sh_type", "sh_flags", "sh_addr", "sh_offset", "sh_size", "sh_link", "sh_info",
                     "sh_addralign", "sh_entsize")
SHF_STRINGS = 0x20
SHF_OS_NONCONFORMING = 0x100
SHF_MASKOS = 0x0FF00000
SHF_MASKPROC = 0xF0000000
#: sh_flags of the four blobs (nouveau ``FMC_SHF_FLAGS``) = 0xfff00102
FMC_SHF_FLAGS = SHF_MASKPROC | SHF_MASKOS | SHF_OS_NONCONFORMING | SHF_ALLOC
#: the blob sections by name; a non-zero ``sh_info`` is the CRC-32 (IEEE, as zlib) of the section's bytes
FMC_SECTION_HASH = "hash"
FMC_SECTION_SIGNATURE = "signature"
FMC_SECTION_PUBLIC_KEY = "publickey"
FMC_SECTION_IMAGE = "image"
FMC_SECTIONS = (FMC_SECTION_HASH, FMC_SECTION_SIGNATURE, FMC_SECTION_PUBLIC_KEY, FMC_SECTION_IMAGE)
FMC_HASH_SIZE = 48  #: SHA-384 (``NVDM_PAYLOAD_COT.hash384``: 12 x u32)
FMC_PUBLIC_KEY_MAX = 384  #: ``NVDM_PAYLOAD_COT.publicKey``: 96 x u32
FMC_SIGNATURE_MAX = 384  #: ``NVDM_PAYLOAD_COT.signature``: 96 x u32
#: (public key, signature) sizes and what they are (the scheme as the real files' bytes show it:
#: GH100's RSA-3072 modulus and a PSS signature with SHA-384 and 48-byte salt, e = 65537; GB10x/GB20x's
#: uncompressed P-384 point 0x04||X||Y and an r||s ECDSA signature over the SHA-384 hash)
FMC_KEY_SCHEMES = {(384, 384): "RSA-3072 PSS SHA-384", (97, 96): "ECDSA P-384 SHA-384"}

# -- GSP image (gsp-<version>.bin, gsp_<family>.bin) -------------------------------------------------

SECTION_FWIMAGE = ".fwimage"  #: the image GSP runs, mapped through radix3
SECTION_FWVERSION = ".fwversion"  #: ASCII version, NUL-terminated ("535.113.01\0")
SIGNATURE_SECTION_PREFIX = ".fwsignature_"
GSP_SIGNATURE_DMA_ALIGN = 256  #: nouveau copies the signature into ALIGN(size, 256) bytes of DMA memory

# -- radix3 ------------------------------------------------------------------------------------------

GSP_PAGE_SHIFT = 12
GSP_PAGE_SIZE = 1 << GSP_PAGE_SHIFT
RADIX3_ENTRY_SIZE = 8  #: little-endian u64 bus addresses
RADIX3_ENTRIES_PER_PAGE = GSP_PAGE_SIZE // RADIX3_ENTRY_SIZE
#: level 0 points at one level-1 page: at most 512 level-2 pages of 512 image pages = 1 GiB
RADIX3_MAX_IMAGE = RADIX3_ENTRIES_PER_PAGE * RADIX3_ENTRIES_PER_PAGE * GSP_PAGE_SIZE

# -- files, names, packages --------------------------------------------------------------------------


class FirmwareKind(enum.Enum):
    """The files of one GSP-RM release for one chip (linux-firmware names)."""

    GSP = "gsp"
    BOOTER_LOAD = "booter_load"
    BOOTER_UNLOAD = "booter_unload"
    BOOTLOADER = "bootloader"
    FMC = "fmc"  #: Hopper/Blackwell: the GSP-FMC image the FSP verifies and starts (chain of trust)
    GEN_BOOTLOADER = "gen_bootloader"  #: Turing/GA100: the generic falcon bootloader FWSEC v2 loads through


DEFAULT_VERSION = "535.113.01"
#: GSP-RM releases whose linux-firmware files nova_core knows (preference order when none is asked)
KNOWN_VERSIONS = ("535.113.01", "570.144")
FIRMWARE_PATH_ENV = "NOVA_FIRMWARE_PATH"
#: where ``./dev test`` (tools/fetch_artifacts.py) unpacks the Debian packages, under the cache (``$NOVA_CACHE``)
FETCHED_FIRMWARE_DIR = "firmware/root/usr/lib/firmware"
#: and Debian sid's linux-firmware with GSP-RM 570.144 (its own tree, published by a symlink, ``current``)
FETCHED_SID_FIRMWARE_DIR = "firmware-sid/current/usr/lib/firmware"
DEFAULT_FIRMWARE_ROOT = "/lib/firmware"
LINUX_FIRMWARE_NAME = "nvidia/{chip}/gsp/{kind}-{version}.bin"
NVIDIA_DRIVER_GSP_NAME = "nvidia/{version}/gsp_{family}.bin"
DEBIAN_PACKAGE_LINUX_FIRMWARE = "firmware-nvidia-graphics"  #: linux-firmware nvidia/<chip>/gsp/*
DEBIAN_PACKAGE_NVIDIA_GSP = "firmware-nvidia-gsp"  #: NVIDIA driver nvidia/<version>/gsp_*.bin
#: the largest firmware files read or mapped (see nova_core.files). Measured, linux-firmware 20250410 and NVIDIA
#: 550.163.01 (Debian firmware-nvidia-graphics / firmware-nvidia-gsp): GSP images 23.7-38.1 MB (the largest
#: nvidia/ga102/gsp/gsp-535.113.01.bin, 38,061,600 bytes); booter_load at most 59,768 bytes, booter_unload
#: 39,800, bootloader 32,876. linux-firmware with GSP-RM 570.144 (Debian sid firmware-nvidia-graphics
#: 20260916-1): GSP images up to 63,571,696 bytes (nvidia/ga102/gsp/gsp-570.144.bin), booter_load at most 61,304
#: (ga102), the Hopper/Blackwell bootloaders 168,044 (gh100) and 200,812 (gb100, gb202), gen_bootloader 816,
#: scrubber 8,312; the GSP-FMC containers 166,600 (gh100), 198,028 (gb100) and 199,820 bytes (gb202). A GSP image
#: is mapped, never read whole; its cap is 4x the largest measured and a quarter of what a radix3 tree can map
#: (RADIX3_MAX_IMAGE, 1 GiB). An nvfw_bin_hdr file (booter, bootloader) is read whole and loaded into a falcon;
#: its cap is 20x the largest measured. A GSP-FMC container is read whole (its image goes to DMA memory, its hash
#: is checked); its own cap is 10x the largest measured.
MAX_GSP_FILE = 256 << 20
MAX_BIN_FILE = 4 << 20
MAX_FMC_FILE = 2 << 20
GSP_FILE = InputFormat("GSP firmware image", MAX_GSP_FILE,
                       "4x the largest measured, 63,571,696 bytes (ga102 gsp-570.144.bin)", FirmwareError)
#: any firmware file before its kind is known (the larger cap: ``open_firmware`` applies the kind's own after)
FIRMWARE_FILE = InputFormat("firmware file", MAX_GSP_FILE, GSP_FILE.cap_source, FirmwareError)
BIN_FILE = InputFormat("firmware file (nvfw_bin_hdr)", MAX_BIN_FILE,
                       "20x the largest booter/bootloader measured, 200,812 bytes (gb202 bootloader-570.144.bin)",
                       FirmwareError)
FMC_FILE = InputFormat("GSP-FMC file", MAX_FMC_FILE,
                       "10x the largest measured, 199,820 bytes (gb202 fmc-570.144.bin)", FirmwareError)

#: written by :mod:`nova_core.sim.synth.firmware` at the root of a synthetic tree (marks it synthetic)
SYNTHETIC_MANIFEST_NAME = "nova-synthetic-firmware.json"
