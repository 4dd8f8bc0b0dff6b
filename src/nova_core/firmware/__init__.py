"""nova_core.firmware: NVIDIA's GSP firmware files - found, parsed, checked and prepared for boot.

- :mod:`.facts`      layouts, names and constants (the facts; no logic);
- :mod:`.reader`     bounds-checked reads whose errors name file, structure, offset, expected/found;
- :mod:`.elf`        a zero-copy ELF64 reader (also for the ELF nested in the TU10x ``.fwimage``);
- :mod:`.gsp`        the GSP-RM image: version, image, per-chip signature, preparation for boot;
- :mod:`.radix3`     the radix3 tree GSP finds its image through, and a walker;
- :mod:`.booter`     the SEC2 HS booters: headers, signature choice, patched image, load layout;
- :mod:`.riscv`      the GSP RISC-V bootloader descriptor (v4 / v5, and the v5 GSP-FMC layout of Hopper+);
- :mod:`.fmc`        the Hopper/Blackwell GSP-FMC container (ELF32: hash, signature, public key, image);
- :mod:`.genbl`      the generic falcon bootloader (``RM_FLCN_BL_DESC``) Turing/GA100 load FWSEC with;
- :mod:`.discovery`  the search path, file names, and the :class:`FirmwareSet` a boot consumes.

From a REPL::

    >>> from nova_core.firmware import open_firmware_set
    >>> fw = open_firmware_set("ga102")              # NOVA_FIRMWARE_PATH, then /lib/firmware
    >>> fw.gsp.version, fw.gsp.signature_section(fw.chip), fw.booter_load.num_sig
    ('535.113.01', '.fwsignature_ga10x', 2)
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FirmwareError
from ..files import check_input
from . import facts
from .booter import BooterFirmware, HsLoadLayout, fused_version_from_fuse
from .discovery import FirmwareFile, FirmwareNotFound, FirmwareSet, find_file, open_firmware_set, search_path
from .elf import ElfFile, ElfSection, ElfSegment
from .facts import FirmwareKind
from .fmc import FmcImage
from .genbl import GenericBootloaderImage
from .gsp import GspImage, PreparedGsp
from .hs import BromParams, LoadSegment
from .nvfw import BinFile, read_firmware_file
from .radix3 import Radix3, Radix3Geometry, radix3_resolve
from .riscv import RiscvBootloader, RiscvUcodeDesc

AnyFirmware = GspImage | BooterFirmware | RiscvBootloader | FmcImage | GenericBootloaderImage


def detect_kind(data: bytes | bytearray | memoryview, name: str = "") -> FirmwareKind:
    """What a firmware file is: from its magic (an ELF32 is the GSP-FMC container, an ELF64 the GSP image),
    then its linux-firmware name, then its header.

    ``BOOTER_LOAD`` stands for either booter when the name does not say which.
    """
    head = bytes(memoryview(data)[:5])
    if head[:4] == facts.ELF_MAGIC:
        return FirmwareKind.FMC if head[4:5] == bytes([facts.ELFCLASS32]) else FirmwareKind.GSP
    if len(head) < 4 or int.from_bytes(head[:4], "little") != facts.NVFW_BIN_MAGIC:
        raise FirmwareError(f"{name or 'firmware'}: neither an ELF (GSP image, GSP-FMC) nor an nvfw_bin_hdr "
                            f"container (booter, bootloader): starts {head[:4].hex() or 'empty'}")
    base = Path(name).name
    for kind in (FirmwareKind.BOOTER_UNLOAD, FirmwareKind.BOOTER_LOAD, FirmwareKind.GEN_BOOTLOADER,
                 FirmwareKind.BOOTLOADER):
        if base.startswith(kind.value + "-") or base == kind.value + ".bin":
            return kind
    # no telling name: a bootloader descriptor starts with its version (4 or 5) right where a booter's
    # HS header starts with a file offset of the signatures (past both headers)
    # and a generic bootloader's RM_FLCN_BL_DESC is exactly the 24 bytes between header and payload
    hdr = BinFile(data, name or "firmware").header
    if hdr.data_offset - hdr.header_offset == facts.BL_DESC.size:
        return FirmwareKind.GEN_BOOTLOADER
    first = int.from_bytes(memoryview(data)[hdr.header_offset:hdr.header_offset + 4], "little")
    return FirmwareKind.BOOTLOADER if first in facts.RISCV_DESC_SIZE else FirmwareKind.BOOTER_LOAD


def open_firmware(path: str | Path) -> AnyFirmware:
    """Open any GSP firmware file: a :class:`GspImage`, :class:`BooterFirmware`, :class:`RiscvBootloader`,
    :class:`FmcImage` or :class:`GenericBootloaderImage`."""
    p = Path(path)
    check_input(p, facts.FIRMWARE_FILE)  # a regular file, not empty, within the larger cap
    try:
        with open(p, "rb") as f:
            head = f.read(len(facts.ELF_MAGIC) + 1)  # the magic and EI_CLASS: ELF64 GSP image or ELF32 GSP-FMC
    except OSError as e:
        raise FirmwareError(f"{p}: cannot read: {e.strerror or e}") from None
    if head[:4] == facts.ELF_MAGIC:
        if detect_kind(head, str(p)) is FirmwareKind.FMC:
            return FmcImage.open(p)  # the GSP-FMC's own cap (facts.FMC_FILE)
        return GspImage.open(p)
    data = read_firmware_file(p)  # the nvfw_bin_hdr files' own, smaller cap
    kind = detect_kind(data, str(p))
    if kind is FirmwareKind.BOOTLOADER:
        return RiscvBootloader(data, str(p))
    if kind is FirmwareKind.GEN_BOOTLOADER:
        return GenericBootloaderImage(data, str(p))
    return BooterFirmware(data, str(p))


def version_from_name(path: str | Path) -> str | None:
    """The version in a linux-firmware (``gsp-535.113.01.bin``) or NVIDIA (``nvidia/550.163.01/...``) name."""
    p = Path(path)
    stem = p.name.removesuffix(".bin")
    if "-" in stem:
        return stem.rsplit("-", 1)[1]
    if p.parent.name[:1].isdigit():
        return p.parent.name
    return None


__all__ = [
    "AnyFirmware",
    "BinFile",
    "BooterFirmware",
    "BromParams",
    "ElfFile",
    "ElfSection",
    "ElfSegment",
    "FirmwareFile",
    "FirmwareKind",
    "FirmwareNotFound",
    "FirmwareSet",
    "FmcImage",
    "GenericBootloaderImage",
    "GspImage",
    "HsLoadLayout",
    "LoadSegment",
    "PreparedGsp",
    "Radix3",
    "Radix3Geometry",
    "RiscvBootloader",
    "RiscvUcodeDesc",
    "detect_kind",
    "find_file",
    "fused_version_from_fuse",
    "open_firmware",
    "open_firmware_set",
    "radix3_resolve",
    "search_path",
    "version_from_name",
]
