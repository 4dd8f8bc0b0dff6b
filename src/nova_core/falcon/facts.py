"""nova_core.falcon.facts: the falcon engines, their engine-id masks, and load geometry (facts only).

Sources: open-gpu-kernel-modules ``published/turing/tu102/dev_{gsp,sec_pri}.h`` (bases; also in
:mod:`nova_core.regs.falcon`); nova-core ``falcon/hal/ga102.rs`` and OpenRM ``kflcnGetFuseVersion``
(engine-id mask bits 0x0001 SEC2, 0x0004 NVDEC, 0x0400 GSP, the same bits the HS ucode descriptors and
the boot ROM's ``BROM_ENGIDMASK`` use); nova-core ``falcon.rs`` (one PIO port, 256-byte blocks).
"""

from __future__ import annotations

import enum

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
#: IMEMT holds 16 bits of tag (IMEM virtual address >> 8)
IMEM_TAG_BITS = 16
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
