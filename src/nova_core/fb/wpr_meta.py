"""nova_core.fb.wpr_meta: ``GspFwWprMeta``, the page booter_load reads to place GSP-RM into WPR2.

Filled as nouveau ``r535_gsp_wpr_meta_init`` and nova-core ``GspFwWprMeta::new`` fill it (nvidia-facts §5):

- the firmware in system memory: ``sysmemAddrOfRadix3Elf`` = the radix3 level-0 page,
  ``sizeOfRadix3Elf`` = the ``.fwimage`` size; ``sysmemAddrOfBootloader``/``sizeOfBootloader`` = the
  RISC-V bootloader payload copied to DMA memory; its monitor code, monitor data and manifest offsets;
  ``sysmemAddrOfSignature``/``sizeOfSignature`` = the chip's ``.fwsignature_*`` section in DMA memory;
- the FB layout (:meth:`FbLayout.wpr_meta_fields`): non-WPR heap, WPR2 start, heap, ELF, boot binary,
  FRTS, ``gspFwWprEnd``, FB size, VGA workspace;
- ``bootCount`` 0, the partition RPC fields 0, ``verified`` 0 (GSP-RM sets it); r550/r570's ``flags`` and
  r570's ``pmuReservedSize`` stay 0 (nova-core sets 0 on Turing through Ada).

The structure comes from the generated bindings of the firmware's version, through the GSP layer's
version-neutral packer (``GspAbi.wpr_meta``), so r535 and r570 are byte-exact each to its own header.
Inputs that do not belong together - a layout computed for another image or bootloader size, or for
another GSP-RM version - are refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..firmware.gsp import PreparedGsp
from ..firmware.riscv import RiscvBootloader
from ..hw.dma import DmaAllocator, DmaBuffer
from . import facts as F
from .layout import FbLayout, FbLayoutError

#: the page the meta is written to (nouveau allocates one GSP page for it)
WPR_META_ALLOC = 0x1000


def wpr_meta_fields(layout: FbLayout, gsp: PreparedGsp, bootloader: RiscvBootloader,
                    bootloader_bus: int) -> dict[str, int]:
    """Every ``GspFwWprMeta`` field the driver sets, by its OpenRM name (magic and revision aside).

    Raises:
        FbLayoutError: ``layout`` was computed for another GSP-RM version, image size or bootloader size.
    """
    payload = len(bootloader.payload)
    for what, mine, theirs in (("GSP-RM version", layout.version, gsp.version),
                               ("GSP-RM image (.fwimage) size", layout.elf.size, gsp.image_size),
                               ("bootloader payload size", layout.boot.size, payload)):
        if mine != theirs:
            m = f"{mine:#x}" if isinstance(mine, int) else repr(mine)
            t = f"{theirs:#x}" if isinstance(theirs, int) else repr(theirs)
            raise FbLayoutError(f"GspFwWprMeta: the FB layout was computed for a {what} of {m}, the prepared "
                                f"firmware has {t}")
    fields = layout.wpr_meta_fields()
    fields.update(
        sysmemAddrOfRadix3Elf=gsp.radix3_bus,
        sizeOfRadix3Elf=gsp.image_size,
        sysmemAddrOfBootloader=bootloader_bus,
        sizeOfBootloader=payload,
        bootloaderCodeOffset=bootloader.code_offset,
        bootloaderDataOffset=bootloader.data_offset,
        bootloaderManifestOffset=bootloader.manifest_offset,
        sysmemAddrOfSignature=gsp.signature_bus,
        sizeOfSignature=gsp.signature_size,
        bootCount=0,
    )
    return fields


def pack_wpr_meta(version: str, fields: dict[str, int]) -> bytes:
    """``GspFwWprMeta`` of GSP-RM ``version`` (0x100 bytes, magic and revision set).

    Raises:
        GspError: a field the version does not have, or a value that does not fit it.
        UnsupportedVersion: no bindings for ``version``.
    """
    from ..gsp.fw import GspAbi  # the GSP layer sits above fb; imported when needed, never at import time

    data = GspAbi.for_version(version).wpr_meta(**fields)
    if len(data) != F.GSP_FW_WPR_META_SIZE:  # pragma: no cover - the bindings' own test pins the size
        raise FbLayoutError(f"GspFwWprMeta of {version} is {len(data):#x} bytes, not {F.GSP_FW_WPR_META_SIZE:#x}")
    return data


@dataclass
class WprMeta:
    """A ``GspFwWprMeta`` written to DMA memory (its bus address goes to SEC2's mailboxes)."""

    version: str
    fields: dict[str, int]
    data: bytes = field(repr=False)
    buffer: DmaBuffer

    @property
    def bus_addr(self) -> int:
        return self.buffer.bus_addr

    def free(self, dma: DmaAllocator) -> None:
        dma.free(self.buffer)

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "bus_addr": self.bus_addr, "fields": dict(self.fields)}


def write_wpr_meta(dma: DmaAllocator, layout: FbLayout, gsp: PreparedGsp, bootloader: RiscvBootloader,
                   bootloader_buf: DmaBuffer) -> WprMeta:
    """Fill ``GspFwWprMeta`` for ``layout`` and the prepared firmware, and write it to a fresh DMA page."""
    fields = wpr_meta_fields(layout, gsp, bootloader, bootloader_buf.bus_addr)
    data = pack_wpr_meta(gsp.version, fields)
    buf = dma.alloc(WPR_META_ALLOC, name="GspFwWprMeta")
    buf.fill(0)
    buf.write(0, data)
    return WprMeta(gsp.version, fields, data, buf)
