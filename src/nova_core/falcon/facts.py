"""nova_core.falcon.facts: the falcon engines, their engine-id masks, and load geometry (facts only).

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_{gsp,sec_pri}.h`` (bases; also in
:mod:`nova_core.regs.falcon`); nova-core ``falcon/hal/ga102.rs`` and OpenRM ``kflcnGetFuseVersion``
(engine-id mask bits 0x0001 SEC2, 0x0004 NVDEC, 0x0400 GSP, the same bits the HS ucode descriptors and
the boot ROM's ``BROM_ENGIDMASK`` use); nova-core ``falcon.rs`` (one PIO port, 256-byte blocks).
"""

from __future__ import annotations

import enum
import struct

from ..regs.falcon import FALCON_BLOCK, FALCON_DMA_ADDR_BITS, FSP_FALCON_BASE, GSP_FALCON_BASE, SEC2_FALCON_BASE

#: engine-id mask bits (HS ucode descriptors, BROM_ENGIDMASK, fuse array selection)
ENGINE_ID_MASK_SEC2 = 0x0001
ENGINE_ID_MASK_NVDEC = 0x0004
ENGINE_ID_MASK_GSP = 0x0400

#: bytes per IMEM/DMEM block, per IMEM tag, and per 256-byte DMA command
BLOCK = FALCON_BLOCK
#: the largest bus address + 1 a falcon DMA reaches (DMATRFBASE bits 39:8 + DMATRFBASE1 bits 48:40)
DMA_ADDR_LIMIT = 1 << FALCON_DMA_ADDR_BITS
#: falcons have up to four IMEM ports and eight DMEM ports; loads use port 0 (nova-core ``PIO_PORT``)
PIO_PORT = 0
#: the FBIF context (TRANSCFG index) DMA loads use (nova-core: 0; the Turing FWSEC bootloader uses 4)
DMA_CTX = 0
#: fused ucode versions: 16 entries per engine, indexed by ucode_id - 1
FUSE_UCODE_IDS = range(1, 17)


class FalconEngine(enum.Enum):
    """A falcon instance: its name, register base and engine-id mask."""

    GSP = ("GSP", GSP_FALCON_BASE, ENGINE_ID_MASK_GSP)
    SEC2 = ("SEC2", SEC2_FALCON_BASE, ENGINE_ID_MASK_SEC2)
    FSP = ("FSP", FSP_FALCON_BASE, 0)  #: Hopper and later (chain of trust); no HS ucode of ours runs there

    def __init__(self, label: str, base: int, engine_id_mask: int) -> None:
        self.label = label
        self.base = base
        self.engine_id_mask = engine_id_mask

# -- the generic falcon bootloader (FWSEC v2 on Turing/GA100) ----------------------------------------
#
# nouveau ``nvkm_gsp_fwsec_v2``/``tu102_gsp_fwsec_load_bld`` and ``include/nvfw/{fw,flcn}.h``; nova-core
# ``firmware/fwsec/bootloader.rs``; OpenRM ``RM_FLCN_BL_DMEM_DESC``. The file is an ``nvfw_bin_hdr``
# container whose header is ``nvfw_bl_desc``; the code is PIO-loaded (non-secure) into the last blocks of
# IMEM under tags from ``start_tag``, the falcon boots at ``start_tag << 8``, and the bootloader DMAs the
# real ucode in, as a ``flcn_bl_dmem_desc_v2`` at DMEM 0 describes it.

#: ``nvfw_bl_desc`` (OpenRM ``RM_FLCN_BL_DESC``), the file's header: :mod:`nova_core.firmware.genbl`
#: ``flcn_bl_dmem_desc_v2`` (``__packed``, 84 bytes): reserved[4], signature[4], ctx_dma, u64 code_dma_base,
#: non_sec_code_off/size, sec_code_off/size, code_entry_point, u64 data_dma_base, data_size, argc, argv
BL_DMEM_DESC_V2 = struct.Struct("<4I4IIQIIIIIQIII")
BL_DMEM_DESC_V2_FIELDS = (
    "reserved0", "reserved1", "reserved2", "reserved3", "signature0", "signature1", "signature2", "signature3",
    "ctx_dma", "code_dma_base", "non_sec_code_off", "non_sec_code_size", "sec_code_off", "sec_code_size",
    "code_entry_point", "data_dma_base", "data_size", "argc", "argv",
)
#: FBIF context the bootloader DMAs through: FALCON_DMAIDX_PHYS_SYS_NCOH (nouveau, nova-core)
GENERIC_BL_CTX_DMA = 4
#: where linux-firmware keeps it: nouveau's ``acr/bl`` (Debian firmware-nvidia-graphics ships it for every
#: Turing chip), and nova-core's ``gen_bootloader`` of the 570.144 release
GENERIC_BL_NAMES = ("nvidia/{chip}/gsp/gen_bootloader-{version}.bin", "nvidia/{chip}/acr/bl.bin")

# -- HS booters ----------------------------------------------------------------------------------------

#: mailbox values booter_unload runs with on a cold unload (nouveau ``tu102_gsp_fini``: 0xff/0xff; a
#: suspend passes the suspend/resume meta address instead)
BOOTER_UNLOAD_MAILBOX = 0xFF
