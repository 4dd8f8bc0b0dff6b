"""nova_core.sim.synth.vbios: a synthetic vBIOS ROM for any chip.

Layout (offsets inside the ROM)::

    0x0000  PCI expansion ROM header (0x55AA), PCIR at 0x40, NPDE at 0x60 - PCI-AT (code type 0x00)
    0x0280  BIT header (found by signature, deliberately not at the usual 0x1B0), tokens after it
    0x0300  BIOSDATA ('B', version 2): u32 version, u8 OEM version
    ...     the image's last byte makes the 8-bit sum of the image zero (legacy checksum)

The version encodes the architecture like NVIDIA's do (0x90 Turing, 0x94 Ampere, 0x95 Ada ...), and the
OEM byte is 0x5A ("Z") so that a synthetic ROM is recognisable in any output.
"""

from __future__ import annotations

import struct

from ...gpu.chips import Architecture, Chipset

PCI_AT_SIZE = 0x10000
PCIR_OFFSET = 0x40
BIT_OFFSET = 0x280
BIOSDATA_OFFSET = 0x300
SYNTHETIC_OEM = 0x5A

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


def _pcir(vendor: int, device: int, image_len: int, code_type: int, last: bool) -> bytes:
    return struct.pack(
        "<4sHHHHB3sHHBBH",
        b"PCIR", vendor, device, 0, 0x18, 0, bytes([0x00, 0x00, 0x03]),
        image_len // 512, 0, code_type, 0x80 if last else 0, 0,
    )


def _npde(image_len: int, last: bool) -> bytes:
    return struct.pack("<4sHHHBB", b"NPDE", 0x0101, 0x10, image_len // 512, 0x80 if last else 0, 0) + b"\0" * 4


def build_vbios(chipset: Chipset, *, pci_device: int | None = None) -> bytes:
    """A minimal, valid vBIOS for ``chipset``: one PCI-AT image with a BIT and BIOSDATA."""
    device = chipset.facts.pci_device_id if pci_device is None else pci_device
    img = bytearray(PCI_AT_SIZE)
    img[0:3] = bytes([0x55, 0xAA, PCI_AT_SIZE // 512 & 0xFF])
    struct.pack_into("<H", img, 0x18, PCIR_OFFSET)
    img[PCIR_OFFSET:PCIR_OFFSET + 0x18] = _pcir(0x10DE, device, PCI_AT_SIZE, 0x00, True)
    npde = (PCIR_OFFSET + 0x18 + 15) & ~15
    img[npde:npde + 0x10] = _npde(PCI_AT_SIZE, True)

    tokens = [
        (0x42, 2, 8, BIOSDATA_OFFSET),  # 'B' BIOSDATA
    ]
    header = struct.pack("<HIHBBBB", 0xB8FF, 0x00544942, 0x0100, 12, 6, len(tokens), 0)
    checksum = (-sum(header)) & 0xFF
    header = header[:11] + bytes([checksum])
    img[BIT_OFFSET:BIT_OFFSET + 12] = header
    for n, (tid, ver, size, ptr) in enumerate(tokens):
        struct.pack_into("<BBHH", img, BIT_OFFSET + 12 + 6 * n, tid, ver, size, ptr)
    version, oem = synthetic_version(chipset)
    struct.pack_into("<IB", img, BIOSDATA_OFFSET, version, oem)

    img[-1] = (-sum(img[:-1])) & 0xFF
    return bytes(img)
