"""nova_core.sim.synth.vbios: a synthetic vBIOS ROM for any chip, laid out like NVIDIA's.

Written from NVIDIA's formats (``shared/reference/nvidia-facts.md`` §2, the BIT specification in
NVIDIA's open-gpu-doc) with its own struct formats - the driver's :mod:`nova_core.vbios` is not
imported, so the two cannot share a mistake. Layout (ROM offsets; the real GA102/AD102/TU10x dumps
look the same)::

    0x00000  PCI-AT image (code type 0x00, 64 KiB): 55 AA, PCIR at 0x40, NPDE after it;
             BIT at 0x280 (found by signature - deliberately not at the usual 0x1B0) with tokens
             'B' BIOSDATA v2, 'N' NOP, 'p' FALCON_DATA v2; BIOSDATA at 0x300, FALCON_DATA at 0x330
    0x10000  EFI image (0x03, 24 KiB): its PCIR says "last image" but its NPDE (rev 1.0, 16 bytes)
             says "not last" - as on real boards, only the NPDE rule walks on to the FwSec images
    0x16000  FwSec image 1 (0xE0, 8 KiB, 'VN' signature, "NPDS"): Turing/GA100 keep the falcon ucode
             table here (as the real TU106/TU117 dumps do)
    0x18000  FwSec image 2 (0xE0): GA102+ keep the table here (as GA102/AD102 do), then the FWSEC_PROD
             descriptor (v2 for Turing/GA100, v3 with 2-3 RSA3K signatures for GA102+), then its ucode
    (Turing) an NBSI image (0x70, no NPDE) flagged last, as the real Turing dumps end

The FALCON_DATA and descriptor pointers are expansion-ROM pointers: they count the FwSec images as if
they followed the PCI-AT image directly, so a parser must skip the EFI image (the "EFI gap"). The FWSEC
ucode's DMEM holds an application interface table (v1, entries DMEMMAPPER and one other) and a
DMEMMAPPER v3 ("DMAP") with a 64-byte command buffer; the signature slot (v3) is zero-filled as in real
ROMs. Every byte is deterministic (SHAKE-256 of the chip name for code and data), and each image's bytes
sum to zero (the legacy checksum). The version encodes the architecture like NVIDIA's (0x90 Turing,
0x94 Ampere, 0x95 Ada ...) with OEM byte 0x5A ("Z"), so a synthetic ROM is recognisable in any output.

Every chip gets a full FWSEC, Hopper and Blackwell included (real Blackwell ROMs have no FWSEC_PROD
entry: the FSP runs it), so the whole FRTS path can be exercised on every simulated chip.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass

from ...errors import NovaError
from ...gpu.chips import Architecture, Chipset

PCI_AT_SIZE = 0x10000
PCIR_OFFSET = 0x40
BIT_OFFSET = 0x280
BIOSDATA_OFFSET = 0x300
FALCON_DATA_OFFSET = 0x330
BIOSDATA_SIZE = 37  #: BIT_BIOSDATA v2 as real ROMs size it
SYNTHETIC_OEM = 0x5A
EFI_SIZE = 0x6000
FWSEC1_SIZE = 0x2000
NBSI_SIZE = 0x1000

# The synthetic FWSEC ucode (sizes of a real one scaled down).
IMEM_SIZE = 0x3000
IMEM_NS_SIZE = 0x400  #: v2 only: the non-secure head of IMEM
DMEM_SIZE = 0x800
INTERFACE_OFFSET_V3 = 0x1C  #: as in the real GA102/AD102 ucodes
INTERFACE_OFFSET_V2 = 0xE0  #: as in the real TU106/TU117 ucodes
DMEMMAPPER_OFFSET = 0x100
OTHER_APPIF_OFFSET = 0x180
PKC_DATA_OFFSET = 0x200
CMD_IN_OFFSET = 0x700
CMD_IN_SIZE = 0x40
UCODE_ID = 9  #: real FWSEC_PROD ucode id
ENGINE_ID_MASK_GSP = 0x0400
SIG_SIZE = 384
TABLE_ENTRIES = 4
FWSEC_PROD = 0x85
FWSEC_TABLE_INDEX = 1

_VERSION_MAJOR = {
    Architecture.TURING: 0x90,
    Architecture.AMPERE: 0x94,
    Architecture.ADA: 0x95,
    Architecture.HOPPER: 0x96,
    Architecture.BLACKWELL_GB10X: 0x97,
    Architecture.BLACKWELL_GB20X: 0x98,
}


def synthetic_version(chipset: Chipset) -> tuple[int, int]:
    """(u32 Version, u8 OEM) of the synthetic ROM for ``chipset``."""
    major = _VERSION_MAJOR[chipset.architecture]
    return (major << 24) | (chipset.implementation << 16) | 0x0001, SYNTHETIC_OEM


def format_version(version: int, oem: int) -> str:
    """NVIDIA's vBIOS version string: ``"%02X.%02X.%02X.%02X.%02X"`` of the four bytes and OEM."""
    return "%02X.%02X.%02X.%02X.%02X" % (  # noqa: UP031 - mirrors NVIDIA's format string
        version >> 24 & 0xFF, version >> 16 & 0xFF, version >> 8 & 0xFF, version & 0xFF, oem)


def signature_count(chipset: Chipset) -> int:
    """RSA3K signatures of the synthetic v3 FWSEC (3 on Ampere like the real GA102, 2 elsewhere); 0 for v2."""
    if chipset.facts.needs_fwsec_bootloader:
        return 0
    return 3 if chipset.architecture is Architecture.AMPERE else 2


@dataclass(frozen=True)
class SyntheticLayout:
    """Where the builder put everything (ROM offsets) - the ground truth tests compare a parse with."""

    rom_base: int
    images: tuple[tuple[int, int, int], ...]  #: (offset, size, code type)
    bit: int
    biosdata: int
    falcon_data: int
    table: int
    table_in_fwsec: int  #: 1 or 2
    desc: int
    desc_version: int
    desc_size: int
    ucode: int
    ucode_size: int
    imem_size: int
    dmem_size: int
    signatures: int
    pkc_data_offset: int | None
    dmemmapper: int  #: DMEM offset
    cmd_in: int  #: DMEM offset
    interface_offset: int


def _stream(label: str, n: int) -> bytes:
    return hashlib.shake_256(f"nova-core synthetic vbios: {label}".encode()).digest(n)


def _pcir(sig: bytes, vendor: int, device: int, length: int, rev: int, image_len: int, code_type: int,
          last: bool) -> bytes:
    body = struct.pack("<4sHHHHB3sHHBBH", sig, vendor, device, 0, length, rev, bytes([0x00, 0x00, 0x03]),
                       image_len // 512, 0, code_type, 0x80 if last else 0, 0)
    return body + bytes(max(0, length - len(body)))


def _npde(rev: int, length: int, image_len: int, last: bool) -> bytes:
    body = struct.pack("<4sHHHBB", b"NPDE", rev, length, image_len // 512, 0x80 if last else 0, 0)
    return (body + bytes(16))[:max(length, 12)]


def _image(size: int, *, sig: int, pcir_at: int, pcir: bytes, npde: bytes | None, fill: str) -> bytearray:
    img = bytearray(_stream(fill, size))
    struct.pack_into("<H", img, 0, sig)
    img[2] = min(size // 512, 0xFF)
    img[3:0x18] = bytes(0x15)
    struct.pack_into("<H", img, 0x18, pcir_at)
    img[pcir_at:pcir_at + len(pcir)] = pcir
    if npde is not None:
        at = (pcir_at + len(pcir) + 15) & ~15
        img[at:at + len(npde)] = npde
    return img


def _seal(img: bytearray) -> bytes:
    """Make the image's bytes sum to zero (legacy checksum) through its last byte."""
    img[-1] = 0
    img[-1] = (-sum(img)) & 0xFF
    return bytes(img)


def _ucode(chipset: Chipset, v2: bool) -> tuple[bytes, int]:
    """The synthetic FWSEC ucode image (IMEM then DMEM) and its interface offset."""
    name = chipset.lower
    imem = bytearray(_stream(f"{name} fwsec imem", IMEM_SIZE))
    dmem = bytearray(_stream(f"{name} fwsec dmem", DMEM_SIZE))
    io = INTERFACE_OFFSET_V2 if v2 else INTERFACE_OFFSET_V3
    struct.pack_into("<4B", dmem, io, 1, 4, 8, 2)
    struct.pack_into("<IIII", dmem, io + 4, 0x4, DMEMMAPPER_OFFSET, 0x5, OTHER_APPIF_OFFSET)
    struct.pack_into("<IHH14I", dmem, DMEMMAPPER_OFFSET, int.from_bytes(b"DMAP", "little"), 3, 0x40,
                     CMD_IN_OFFSET, CMD_IN_SIZE, CMD_IN_OFFSET + CMD_IN_SIZE, CMD_IN_SIZE, 0, 0, 0,
                     0x20250101, 0, 0, 0x4, (1 << 0x15) | (1 << 0x19), 0, 0)
    dmem[CMD_IN_OFFSET:CMD_IN_OFFSET + 2 * CMD_IN_SIZE] = bytes(2 * CMD_IN_SIZE)
    if not v2:
        dmem[PKC_DATA_OFFSET:PKC_DATA_OFFSET + SIG_SIZE] = bytes(SIG_SIZE)
    return bytes(imem) + bytes(dmem), io


def _desc(chipset: Chipset, v2: bool, io: int) -> bytes:
    stored = IMEM_SIZE + DMEM_SIZE
    if v2:
        size = 60
        return struct.pack("<15I", size << 16 | 2 << 8 | 1, stored, stored, 0, io, 0, IMEM_SIZE, 0,
                           IMEM_NS_SIZE, IMEM_SIZE - IMEM_NS_SIZE, IMEM_SIZE, 0, DMEM_SIZE, IMEM_SIZE, DMEM_SIZE)
    n = signature_count(chipset)
    size = 44 + n * SIG_SIZE
    head = struct.pack("<9IHBBHH", size << 16 | 3 << 8 | 1, stored, PKC_DATA_OFFSET, io, 0, IMEM_SIZE, 0, 0,
                       DMEM_SIZE, ENGINE_ID_MASK_GSP, UCODE_ID, n, (1 << n) - 1, 0)
    return head + b"".join(_stream(f"{chipset.lower} fwsec signature {i}", SIG_SIZE) for i in range(n))


@functools.lru_cache(maxsize=64)
def _build(chipset: Chipset, pci_device: int, ifr: int | None) -> tuple[bytes, SyntheticLayout]:
    facts = chipset.facts
    v2 = facts.needs_fwsec_bootloader
    turing = chipset.architecture is Architecture.TURING
    base_id = pci_device & 0xFFF0
    name = chipset.lower

    # -- the FWSEC pieces and FwSec image 2 ------------------------------------------------------------
    ucode, io = _ucode(chipset, v2)
    desc = _desc(chipset, v2, io)
    table_size = 6 + 6 * TABLE_ENTRIES
    table_in_fwsec = 1 if v2 else 2
    fw2_pcir_at = 0x20
    fw2_body = 0x80  # after the ROM header, PCIR and NPDE
    table_rel2 = fw2_body if table_in_fwsec == 2 else None
    desc_rel = fw2_body + (0x40 if table_in_fwsec == 2 else 0)
    ucode_rel = desc_rel + len(desc)  # the ucode follows the descriptor (and its signatures) directly
    fw2_size = (ucode_rel + len(ucode) + 0x100 + 511) & ~511

    pci_at_off = 0
    efi_off = pci_at_off + PCI_AT_SIZE
    fw1_off = efi_off + EFI_SIZE
    fw2_off = fw1_off + FWSEC1_SIZE
    nbsi_off = fw2_off + fw2_size
    table_abs = fw1_off + 0x80 if table_in_fwsec == 1 else fw2_off + (table_rel2 or 0)

    def xptr(abs_off: int) -> int:  # expansion-ROM pointer: FwSec images as if right after the PCI-AT image
        return PCI_AT_SIZE + (abs_off - fw1_off)

    # -- PCI-AT image -------------------------------------------------------------------------------
    pci = _image(PCI_AT_SIZE, sig=0xAA55, pcir_at=PCIR_OFFSET,
                 pcir=_pcir(b"PCIR", 0x10DE, pci_device, 0x18, 0, PCI_AT_SIZE, 0x00, False),
                 npde=_npde(0x101, 0x14, PCI_AT_SIZE, False), fill=f"{name} x86 code")
    tokens = [(0x42, 2, BIOSDATA_SIZE, BIOSDATA_OFFSET), (0x4E, 0, 0, 0), (0x70, 2, 4, FALCON_DATA_OFFSET)]
    header = bytearray(struct.pack("<HIHBBBB", 0xB8FF, 0x00544942, 0x0100, 12, 6, len(tokens), 0))
    header[11] = (-sum(header)) & 0xFF
    pci[BIT_OFFSET:BIT_OFFSET + 12] = header
    for n, tok in enumerate(tokens):
        struct.pack_into("<BBHH", pci, BIT_OFFSET + 12 + 6 * n, *tok)
    version, oem = synthetic_version(chipset)
    biosdata = struct.pack("<IB", version, oem) + bytes(BIOSDATA_SIZE - 5)
    pci[BIOSDATA_OFFSET:BIOSDATA_OFFSET + BIOSDATA_SIZE] = biosdata
    struct.pack_into("<I", pci, FALCON_DATA_OFFSET, xptr(table_abs))

    # -- EFI image: PCIR says last, NPDE (authoritative) says not last -------------------------------------
    efi = _image(EFI_SIZE, sig=0xAA55, pcir_at=0x1C,
                 pcir=_pcir(b"PCIR", 0x10DE, pci_device, 0x1C, 3, EFI_SIZE, 0x03, True),
                 npde=_npde(0x100, 0x10, EFI_SIZE, False), fill=f"{name} efi driver")
    struct.pack_into("<HHH", efi, 0x04, 0x0EF1, 0x000B, 0x8664)  # EFI signature, subsystem, machine type

    # -- FwSec images -------------------------------------------------------------------------------------
    fw1 = _image(FWSEC1_SIZE, sig=0x4E56, pcir_at=0x20,
                 pcir=_pcir(b"NPDS", 0x10DE, base_id, 0x18, 0, FWSEC1_SIZE, 0xE0, False),
                 npde=_npde(0x101, 0x14, FWSEC1_SIZE, False), fill=f"{name} fwsec image 1")
    fw2_last = not turing
    fw2 = _image(fw2_size, sig=0x4E56, pcir_at=fw2_pcir_at,
                 pcir=_pcir(b"NPDS", 0x10DE, base_id, 0x18, 0, fw2_size, 0xE0, fw2_last),
                 npde=_npde(0x101, 0x14, fw2_size, fw2_last), fill=f"{name} fwsec image 2")
    desc_abs = fw2_off + desc_rel
    table = bytearray(struct.pack("<6B", 1, 6, 6, TABLE_ENTRIES, 1, 0x30) + bytes(6 * TABLE_ENTRIES))
    struct.pack_into("<BBI", table, 6 + 6 * FWSEC_TABLE_INDEX, FWSEC_PROD, 0x07, xptr(desc_abs))
    if table_in_fwsec == 1:
        fw1[0x80:0x80 + table_size] = table
    else:
        fw2[fw2_body:fw2_body + table_size] = table
    fw2[desc_rel:desc_rel + len(desc)] = desc
    fw2[ucode_rel:ucode_rel + len(ucode)] = ucode

    images = [(pci_at_off, PCI_AT_SIZE, 0x00, _seal(pci)), (efi_off, EFI_SIZE, 0x03, _seal(efi)),
              (fw1_off, FWSEC1_SIZE, 0xE0, _seal(fw1)), (fw2_off, fw2_size, 0xE0, _seal(fw2))]
    if turing:
        nbsi = _image(NBSI_SIZE, sig=0x4E56, pcir_at=0x20,
                      pcir=_pcir(b"NPDS", 0x10DE, 0x0000, 0x18, 0, NBSI_SIZE, 0x70, True), npde=None,
                      fill=f"{name} nbsi")
        images.append((nbsi_off, NBSI_SIZE, 0x70, _seal(nbsi)))
    rom = b"".join(data for _, _, _, data in images)

    prefix = _ifr_prefix(ifr) if ifr is not None else b""
    shift = len(prefix)
    n_sigs = signature_count(chipset)
    layout = SyntheticLayout(
        rom_base=shift,
        images=tuple((off + shift, size, ct) for off, size, ct, _ in images),
        bit=shift + BIT_OFFSET, biosdata=shift + BIOSDATA_OFFSET, falcon_data=shift + FALCON_DATA_OFFSET,
        table=shift + table_abs, table_in_fwsec=table_in_fwsec, desc=shift + desc_abs,
        desc_version=2 if v2 else 3, desc_size=len(desc), ucode=shift + fw2_off + ucode_rel, ucode_size=len(ucode),
        imem_size=IMEM_SIZE, dmem_size=DMEM_SIZE, signatures=n_sigs,
        pkc_data_offset=None if v2 else PKC_DATA_OFFSET, dmemmapper=DMEMMAPPER_OFFSET, cmd_in=CMD_IN_OFFSET,
        interface_offset=io,
    )
    return prefix + rom, layout


def _ifr_prefix(version: int) -> bytes:
    """An IFR ("NVGI") region of 16 KiB putting the expansion ROM at 0x4000 (versions 1, 2, 3)."""
    size = 0x4000
    buf = bytearray(_stream(f"ifr v{version}", size))
    fixed_data_size = 0x24
    total_data_size = 0x100
    struct.pack_into("<4sII", buf, 0, b"NVGI", (fixed_data_size << 16) | (version << 8), total_data_size)
    if version in (1, 2):
        struct.pack_into("<I", buf, fixed_data_size + 4, size)
    elif version == 3:
        flash_status = 0x2000
        struct.pack_into("<I", buf, total_data_size, flash_status)
        struct.pack_into("<4sII", buf, flash_status + 0x1000, b"RFRD", 0x00280003, size)
    else:
        raise NovaError(f"IFR version {version} is not 1, 2 or 3")
    return bytes(buf)


def build_vbios(chipset: Chipset, *, pci_device: int | None = None, ifr: int | None = None) -> bytes:
    """The synthetic vBIOS of ``chipset`` (see the module docstring); ``ifr`` prefixes an IFR v1-3 header."""
    device = chipset.facts.pci_device_id if pci_device is None else pci_device
    return _build(chipset, device, ifr)[0]


def synthetic_layout(chipset: Chipset, *, pci_device: int | None = None, ifr: int | None = None) -> SyntheticLayout:
    """Where :func:`build_vbios` put each structure (ROM offsets)."""
    device = chipset.facts.pci_device_id if pci_device is None else pci_device
    return _build(chipset, device, ifr)[1]
