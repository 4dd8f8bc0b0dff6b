"""nova_core.falcon.genbl: the generic falcon bootloader that loads FWSEC v2 (Turing, GA100).

Turing and GA100 vBIOSes carry FWSEC with a v2 descriptor and no signature for the driver to patch;
every driver that runs it (nouveau ``nvkm_gsp_fwsec_v2``, OpenRM's ``BOOT_WITH_LOADER`` path, nova-core
``FwsecFirmwareWithBl``) loads it through a small generic bootloader:

1. the FWSEC image is staged in DMA memory as a mirror of IMEM (non-secure code at its IMEM address,
   secure code at ``IMEMSecBase - IMEMVirtBase + IMEMPhysBase``), its DMEM data 256-byte aligned after;
2. the bootloader's code is PIO-loaded, non-secure, into the last blocks of IMEM under tags
   ``start_tag, start_tag + 1 ...``; a ``flcn_bl_dmem_desc_v2`` (:data:`~.facts.BL_DMEM_DESC_V2`) is
   PIO-written to DMEM 0, naming the FBIF context (4, physical system memory; TRANSCFG(4) set to
   coherent sysmem + physical, as nouveau sets it), the code and data bus addresses and sizes, and the
   entry point;
3. the falcon boots at ``start_tag << 8``: the bootloader DMAs the non-secure and secure code and the
   data in, and jumps to the entry point.

The file: nouveau's ``nvidia/<chip>/acr/bl.bin`` (Debian firmware-nvidia-graphics ships it for every
Turing chip; it is an ``nvfw_bin_hdr`` container with an ``nvfw_bl_desc`` header), or nova-core's
``gen_bootloader-570.144.bin`` where present (same container and header in the nova-core series that
introduced it; not in the Debian packages, so unverified here). GA100 has neither in Debian's packages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FalconError, FirmwareError
from ..firmware.discovery import search_path
from ..firmware.nvfw import BinFile, read_firmware_file
from ..gpu.chips import Chipset
from . import facts as F
from .ucode import FalconUcode, UcodeSegment


@dataclass(frozen=True)
class BlDesc:
    """``nvfw_bl_desc``: where the bootloader's code is in the payload and under which tag it runs."""

    start_tag: int
    dmem_load_off: int
    code_off: int
    code_size: int
    data_off: int
    data_size: int


@dataclass(frozen=True)
class BlDmemDesc:
    """``flcn_bl_dmem_desc_v2``: what the bootloader loads (offsets are from the DMA bases)."""

    ctx_dma: int
    code_dma_base: int
    non_sec_code_off: int
    non_sec_code_size: int
    sec_code_off: int
    sec_code_size: int
    code_entry_point: int
    data_dma_base: int
    data_size: int
    argc: int = 0
    argv: int = 0

    def pack(self) -> bytes:
        """The 84 bytes the bootloader reads from DMEM (reserved words and the legacy signature zero)."""
        return F.BL_DMEM_DESC_V2.pack(0, 0, 0, 0, 0, 0, 0, 0, self.ctx_dma, self.code_dma_base,
                                      self.non_sec_code_off, self.non_sec_code_size, self.sec_code_off,
                                      self.sec_code_size, self.code_entry_point, self.data_dma_base,
                                      self.data_size, self.argc, self.argv)

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


class GenericBootloader:
    """A parsed generic bootloader file.

    Raises:
        FirmwareError: a bad container, a descriptor outside the file, no code, a start tag past 16 bits.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<generic bootloader>") -> None:
        self.bin = b = BinFile(data, source)
        self.source = source
        r = b.reader
        self.desc = BlDesc(**r.fields(F.BL_DESC, F.BL_DESC_FIELDS, b.header.header_offset, "nvfw_bl_desc"))
        d = self.desc
        if d.code_size == 0:
            raise r.error("nvfw_bl_desc.code_size", b.header.header_offset + 0xC, "is 0: no bootloader code")
        if not 0 <= d.start_tag < 1 << F.IMEM_TAG_BITS:
            raise r.error("nvfw_bl_desc.start_tag", b.header.header_offset, f"{d.start_tag:#x} is not a 16-bit tag")
        self.code = bytes(b.payload_range(d.code_off, d.code_size, "nvfw_bl_desc code"))

    @classmethod
    def open(cls, path: str | Path) -> GenericBootloader:
        return cls(read_firmware_file(path), str(path))

    @property
    def boot_vector(self) -> int:
        """Where the falcon starts: the bootloader's first tag, as an IMEM virtual address."""
        return self.desc.start_tag << 8

    @property
    def padded_code(self) -> bytes:
        """The code zero-padded to whole 256-byte blocks (what lands in IMEM)."""
        return self.code + bytes(-len(self.code) % F.BLOCK)

    def ucode(self, imem_size: int, dmem_desc: BlDmemDesc, name: str = "generic bootloader") -> FalconUcode:
        """The PIO load: code at the top of an ``imem_size``-byte IMEM, the descriptor at ``dmem_load_off`` (0).

        Raises:
            FalconError: the code does not fit the IMEM, or its tags run past 16 bits.
        """
        code = self.padded_code
        dst = imem_size - len(code)
        if dst < 0:
            raise FalconError(f"{self.source}: {len(code):#x} bytes of bootloader code do not fit the "
                              f"{imem_size:#x}-byte IMEM")
        seg = UcodeSegment(code, dst, secure=False, tag=self.boot_vector)
        return FalconUcode(name, (seg,), (UcodeSegment(dmem_desc.pack(), self.desc.dmem_load_off),), self.boot_vector)

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "bin_header": self.bin.header.as_json(), "desc": dict(self.desc.__dict__),
                "boot_vector": self.boot_vector}

    def __repr__(self) -> str:
        return f"<GenericBootloader {self.source!r} start_tag={self.desc.start_tag:#x} code={len(self.code):#x}>"


def generic_bootloader_names(chipset: Chipset, version: str | None = None) -> list[str]:
    """Relative names the generic bootloader of ``chipset`` may have, in preference order."""
    out = []
    for pattern in F.GENERIC_BL_NAMES:
        if "{version}" in pattern and version is None:
            continue
        out.append(pattern.format(chip=chipset.facts.fw_dir, version=version))
    return out


def find_generic_bootloader(chipset: Chipset, version: str | None = None, *,
                            roots: Iterable[Path] | None = None) -> GenericBootloader | None:
    """The chip's generic bootloader from the firmware search path, or ``None`` when no root has one.

    Raises:
        FirmwareError: a file was found but is malformed.
    """
    root_list = search_path() if roots is None else [Path(r) for r in roots]
    for root in root_list:
        for name in generic_bootloader_names(chipset, version):
            p = root / name
            if p.is_file():
                try:
                    return GenericBootloader.open(p)
                except FirmwareError as e:
                    raise FirmwareError(f"generic falcon bootloader for {chipset.name}: {e}") from None
    return None
