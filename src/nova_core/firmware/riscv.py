"""nova_core.firmware.riscv: the GSP RISC-V bootloader (``bootloader-<version>.bin``).

An ``nvfw_bin_hdr`` container whose header is ``RM_RISCV_UCODE_DESC`` (OpenRM 535
``rmRiscvUcode.h``; u32 fields, see :data:`~nova_core.firmware.facts.RISCV_DESC_FIELDS`). Version 5
(GA102 and later) has all 21 fields, 84 bytes. Version 4 - the TU102/TU116/GA100 files - stops after
``swbromDataSize``: 76 bytes, and the payload starts right there (``data_offset - header_offset`` is
76 in the real files), so reading 84 bytes would take two words of RISC-V code for
``fbReservedSize``/``bSignedAsCode``. This parser reads exactly the version's size.

The Hopper/Blackwell files (570.144 ``gh100``/``gb100``/``gb202``) are version 5 too, but carry no RISC-V
boot-ROM bootloader: ``bootloaderSize`` (and its params, ``fbReservedSize``, ``appVersion``) are 0 and the
payload is the manifest, the monitor data and the monitor code, which the GSP-FMC loads (OpenRM
``_kgspBootstrapGspFmc_GH100``, ``kgspCalculateFbLayout_GH100``). :attr:`RiscvBootloader.fmc_loaded` tells
the two layouts apart; a zero ``bootloaderSize`` is accepted only in that shape.

The whole payload is copied to DMA memory (``GspFwWprMeta.sysmemAddrOfBootloader``/``sizeOfBootloader``);
nouveau and nova-core then take ``monitorCodeOffset`` -> ``bootloaderCodeOffset``,
``monitorDataOffset`` -> ``bootloaderDataOffset``, ``manifestOffset`` -> ``bootloaderManifestOffset``,
and write ``appVersion`` to the GSP falcon's ``NV_PFALCON_FALCON_OS`` register.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hw.dma import DmaAllocator, DmaBuffer
from . import facts as F
from .nvfw import BinFile, read_firmware_file


@dataclass(frozen=True)
class RiscvUcodeDesc:
    """``RM_RISCV_UCODE_DESC``; ``fb_reserved_size``/``signed_as_code`` are ``None`` in version 4."""

    version: int
    bootloader_offset: int
    bootloader_size: int
    bootloader_param_offset: int
    bootloader_param_size: int
    riscv_elf_offset: int
    riscv_elf_size: int
    app_version: int
    manifest_offset: int
    manifest_size: int
    monitor_data_offset: int
    monitor_data_size: int
    monitor_code_offset: int
    monitor_code_size: int
    is_monitor_enabled: int
    swbrom_code_offset: int
    swbrom_code_size: int
    swbrom_data_offset: int
    swbrom_data_size: int
    fb_reserved_size: int | None
    signed_as_code: int | None

    @property
    def size(self) -> int:
        """Bytes the descriptor occupies in the file (76 for v4, 84 for v5)."""
        return F.RISCV_DESC_SIZE[self.version]

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, **self.__dict__}


class RiscvBootloader:
    """A parsed GSP RISC-V bootloader file.

    Raises:
        FirmwareError: bad container, unknown descriptor version, descriptor overlapping the payload,
            an (offset, size) pair of the descriptor outside the payload.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<bootloader>") -> None:
        self.bin = b = BinFile(data, source)
        r = b.reader
        self.source = source
        off = b.header.header_offset
        version = r.u32(off, "RM_RISCV_UCODE_DESC.version")
        size = F.RISCV_DESC_SIZE.get(version)
        if size is None:
            raise r.error("RM_RISCV_UCODE_DESC.version", off,
                          f"expected one of {', '.join(map(str, sorted(F.RISCV_DESC_SIZE)))}, found {version:#x}")
        r.need(off, size, f"RM_RISCV_UCODE_DESC v{version} ({size} bytes)")
        if b.header.data_offset > off and b.header.data_offset - off < size:
            raise r.error(f"RM_RISCV_UCODE_DESC v{version}", off,
                          f"the {size}-byte descriptor overlaps the payload, which starts "
                          f"{b.header.data_offset - off} bytes after it")
        n = size // 4
        values: list[int | None] = [r.u32(off + 4 * i, f"RM_RISCV_UCODE_DESC.{F.RISCV_DESC_FIELDS[i]}")
                                    for i in range(n)]
        values += [None] * (len(F.RISCV_DESC_FIELDS) - n)
        fields: dict[str, Any] = dict(zip(F.RISCV_DESC_FIELDS, values, strict=True))
        self.desc = RiscvUcodeDesc(**fields)
        for o, s in F.RISCV_DESC_RANGES:
            b.payload_range(fields[o], fields[s], f"RM_RISCV_UCODE_DESC {o}/{s}")
        d = self.desc
        if d.bootloader_size == 0 and (version != F.RISCV_DESC_FMC_VERSION or not (
                d.manifest_size and d.monitor_data_size and d.monitor_code_size)):
            raise r.error("RM_RISCV_UCODE_DESC.bootloader_size", off + 8,
                          f"is 0, and the descriptor is not the v{F.RISCV_DESC_FMC_VERSION} GSP-FMC layout (manifest "
                          f"{d.manifest_size:#x}, monitor data {d.monitor_data_size:#x}, monitor code "
                          f"{d.monitor_code_size:#x} bytes: none may be 0)")

    @classmethod
    def open(cls, path: str | Path) -> RiscvBootloader:
        return cls(read_firmware_file(path), str(path))

    @property
    def payload(self) -> memoryview:
        return self.bin.payload

    @property
    def fmc_loaded(self) -> bool:
        """No RISC-V boot-ROM bootloader: the GSP-FMC loads the monitor (Hopper, Blackwell)."""
        return self.desc.bootloader_size == 0

    # -- what the WPR meta and the GSP falcon get ------------------------------------------------------

    @property
    def code_offset(self) -> int:
        """``GspFwWprMeta.bootloaderCodeOffset`` (the monitor code)."""
        return self.desc.monitor_code_offset

    @property
    def data_offset(self) -> int:
        """``GspFwWprMeta.bootloaderDataOffset`` (the monitor data)."""
        return self.desc.monitor_data_offset

    @property
    def manifest_offset(self) -> int:
        """``GspFwWprMeta.bootloaderManifestOffset``."""
        return self.desc.manifest_offset

    @property
    def app_version(self) -> int:
        """Written to the GSP falcon's ``NV_PFALCON_FALCON_OS`` before GSP-RM starts."""
        return self.desc.app_version

    def prepare(self, dma: DmaAllocator) -> DmaBuffer:
        """Copy the payload into coherent DMA memory (``sysmemAddrOfBootloader``/``sizeOfBootloader``)."""
        buf = dma.alloc(len(self.payload), name="gsp-bootloader")
        buf.write(0, self.payload)
        return buf

    def as_json(self) -> dict[str, Any]:
        return {"bin_header": self.bin.header.as_json(), "riscv_desc": self.desc.as_json(),
                "payload_bytes": len(self.payload), "fmc_loaded": self.fmc_loaded}

    def __repr__(self) -> str:
        return f"<RiscvBootloader {self.source!r} v{self.desc.version} payload={len(self.payload):#x}>"
