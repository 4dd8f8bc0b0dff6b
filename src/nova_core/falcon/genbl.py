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

from ..errors import FalconError, FirmwareError
from ..firmware.discovery import search_path
from ..firmware.genbl import GenericBootloaderImage
from ..gpu.chips import Chipset
from . import facts as F
from .ucode import FalconUcode, UcodeSegment


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


class GenericBootloader(GenericBootloaderImage):
    """A parsed generic bootloader file (:class:`~nova_core.firmware.genbl.GenericBootloaderImage`) that can be
    loaded into a falcon (:meth:`ucode`)."""

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
