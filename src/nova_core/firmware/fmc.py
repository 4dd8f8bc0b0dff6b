"""nova_core.firmware.fmc: the Hopper/Blackwell GSP-FMC container (``fmc-<version>.bin``).

On Hopper and Blackwell the driver does not load GSP-RM's boot code itself: it hands the FSP the GSP-FMC
image with its SHA-384 hash, public key and signature (the chain-of-trust message, :mod:`nova_core.fsp`),
and the FSP checks them and starts the FMC on the GSP. linux-firmware ships the four blobs in one ELF32
file whose shape Linux nouveau (``nvkm/subdev/gsp/gh100.c``, NVIDIA 2025) pins down exactly
(:data:`~.facts.FMC_ELF_HEADER`): the 52-byte header byte for byte, six section headers right after it
(``SHT_NULL``; ``.shstrtab`` at index 1, ``SHT_STRTAB`` with ``SHF_STRINGS``; then ``hash``,
``signature``, ``publickey``, ``image``, each ``SHT_PROGBITS`` with flags 0xfff00102), every section after
the header table and inside the file, and a non-zero ``sh_info`` equal to the CRC-32 of the section.

What the sections hold (OpenRM 570.144 ``kern_fsp_cot_payload.h`` and ``g_kern_fsp_nvoc.c``): ``hash`` is
the 48-byte SHA-384 of ``image`` (checked here); ``publickey``/``signature`` are 384/384 bytes on GH100
(RSA-3072) and 97/96 on GB10x/GB20x (P-384); the sizes are the chip's COT sizes (``--chip`` checks them).
Signatures are verified by the FSP, not by the driver.

Every read is bounds-checked; a malformed file is a :class:`~nova_core.errors.FirmwareError` naming the
offset, the expected and the found value.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import read_input
from . import facts as F
from .reader import Reader


@dataclass(frozen=True)
class FmcSection:
    """One section header of the container and where its bytes are."""

    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    crc32: int  #: ``sh_info``: the CRC-32 of the bytes (0: none recorded)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FmcImage:
    """A parsed GSP-FMC container: :attr:`image`, :attr:`hash`, :attr:`public_key`, :attr:`signature` as views.

    Raises:
        FirmwareError: the header is not nouveau's, a section header is malformed or outside the file, a CRC
            does not match, a section is missing or twice, the hash is not 48 bytes or not the SHA-384 of
            the image, a key or signature is empty or larger than the COT payload's field.
    """

    def __init__(self, data: bytes | bytearray | memoryview, source: str = "<fmc>") -> None:
        self.reader = r = Reader(data, source)
        self.source = source
        head = bytes(r.slice(0, len(F.FMC_ELF_HEADER), "FMC ELF32 header"))
        if head != F.FMC_ELF_HEADER:
            at = next(i for i, (a, b) in enumerate(zip(head, F.FMC_ELF_HEADER, strict=True)) if a != b)
            raise r.error("FMC ELF32 header", at, f"byte {at:#x}: expected {F.FMC_ELF_HEADER[at]:#04x}, found "
                          f"{head[at]:#04x} (the header must be exactly nouveau's elf_header)")
        shoff = len(F.FMC_ELF_HEADER)  # e_shoff, fixed by the header
        count = F.FMC_ELF_HEADER[48]  # e_shnum
        strndx = F.FMC_ELF_HEADER[50]  # e_shstrndx
        data_start = shoff + count * F.ELF32_SHDR.size
        r.need(shoff, count * F.ELF32_SHDR.size, "FMC section header table")
        heads = [r.fields(F.ELF32_SHDR, F.ELF32_SHDR_FIELDS, shoff + i * F.ELF32_SHDR.size, f"FMC section header {i}")
                 for i in range(count)]
        for i, h in enumerate(heads[1:], start=1):
            at = shoff + i * F.ELF32_SHDR.size
            want_type, want_flags = ((F.SHT_STRTAB, F.SHF_STRINGS) if i == strndx
                                     else (F.SHT_PROGBITS, F.FMC_SHF_FLAGS))
            r.expect(f"FMC section header {i} sh_type", at + 4, h["sh_type"], want_type)
            r.expect(f"FMC section header {i} sh_flags", at + 8, h["sh_flags"], want_flags)
            if h["sh_offset"] < data_start:
                raise r.error(f"FMC section header {i} sh_offset", at + 0x10,
                              f"{h['sh_offset']:#x} lies inside the headers (sections start at {data_start:#x})")
            blob = r.slice(h["sh_offset"], h["sh_size"], f"FMC section {i} data (sh_offset/sh_size)")
            if h["sh_info"] and (crc := zlib.crc32(blob)) != h["sh_info"]:
                raise r.error(f"FMC section {i} sh_info (CRC-32)", at + 0x1C,
                              f"expected {h['sh_info']:#010x}, found {crc:#010x} for the section's bytes")
        names_hdr = heads[strndx]
        names = r.slice(names_hdr["sh_offset"], names_hdr["sh_size"], "FMC .shstrtab")
        self.sections: list[FmcSection] = []
        for i, h in enumerate(heads[1:], start=1):
            name = Reader(names, source, base=names_hdr["sh_offset"]).cstring(h["sh_name"], f"FMC section {i} name")
            self.sections.append(FmcSection(i, name, h["sh_type"], h["sh_flags"], h["sh_offset"], h["sh_size"],
                                            h["sh_info"]))
        self._blobs: dict[str, memoryview] = {}
        for s in self.sections[1:]:
            if s.name not in F.FMC_SECTIONS:
                raise r.error(f"FMC section {s.index} name", shoff + s.index * F.ELF32_SHDR.size,
                              f"{s.name!r} is none of {', '.join(F.FMC_SECTIONS)}")
            if s.name in self._blobs:
                raise r.error(f"FMC section {s.index}", shoff + s.index * F.ELF32_SHDR.size,
                              f"{s.name!r} appears twice")
            self._blobs[s.name] = r.slice(s.offset, s.size, f"FMC {s.name}")
        missing = [n for n in F.FMC_SECTIONS if n not in self._blobs]
        if missing:  # pragma: no cover - six sections, four distinct known names: none can be missing
            raise r.error("FMC section table", shoff, f"no {', '.join(missing)} section")
        self._check_sizes()

    def _check_sizes(self) -> None:
        r = self.reader
        h = self.section(F.FMC_SECTION_HASH)
        r.expect("FMC hash size (SHA-384)", h.offset, h.size, F.FMC_HASH_SIZE)
        digest = hashlib.sha384(self.image).digest()
        if digest != bytes(self.hash):
            raise r.error("FMC hash", h.offset, f"expected the SHA-384 of the image, {digest.hex()[:16]}..., found "
                          f"{bytes(self.hash).hex()[:16]}...")
        for name, limit in ((F.FMC_SECTION_PUBLIC_KEY, F.FMC_PUBLIC_KEY_MAX), (F.FMC_SECTION_SIGNATURE,
                                                                              F.FMC_SIGNATURE_MAX)):
            s = self.section(name)
            if not 0 < s.size <= limit:
                raise r.error(f"FMC {name} size", s.offset, f"expected 1..{limit} bytes (the COT payload's field), "
                              f"found {s.size:#x}")
        if not self.image.nbytes:
            raise r.error("FMC image size", self.section(F.FMC_SECTION_IMAGE).offset, "is 0")

    @classmethod
    def open(cls, path: str | Path) -> FmcImage:
        """Read and parse ``path``: refused up front (:data:`~.facts.FMC_FILE`) if it is not a regular file of at
        most the GSP-FMC's cap."""
        return cls(read_input(path, F.FMC_FILE), str(path))

    def section(self, name: str) -> FmcSection:
        return next(s for s in self.sections if s.name == name)

    @property
    def image(self) -> memoryview:
        """The GSP-FMC code the FSP starts (copied to system memory: ``gspFmcSysmemOffset``)."""
        return self._blobs[F.FMC_SECTION_IMAGE]

    @property
    def hash(self) -> memoryview:
        """SHA-384 of :attr:`image` (``NVDM_PAYLOAD_COT.hash384``)."""
        return self._blobs[F.FMC_SECTION_HASH]

    @property
    def public_key(self) -> memoryview:
        return self._blobs[F.FMC_SECTION_PUBLIC_KEY]

    @property
    def signature(self) -> memoryview:
        return self._blobs[F.FMC_SECTION_SIGNATURE]

    @property
    def scheme(self) -> str:
        """The signature scheme the key and signature sizes name, or ``"unknown"``."""
        return F.FMC_KEY_SCHEMES.get((self.public_key.nbytes, self.signature.nbytes), "unknown")

    def check_sizes_for(self, public_key_size: int, signature_size: int, chip: str) -> None:
        """Refuse a file whose key or signature does not have the sizes ``chip``'s FSP takes (nouveau
        ``nvkm_fsp_verify_gsp_fmc``).

        Raises:
            FirmwareError: naming the section, the expected and the found size.
        """
        for name, want in ((F.FMC_SECTION_PUBLIC_KEY, public_key_size), (F.FMC_SECTION_SIGNATURE, signature_size)):
            s = self.section(name)
            if s.size != want:
                raise self.reader.error(f"FMC {name} size", s.offset,
                                        f"{chip}'s FSP takes {want} bytes, found {s.size}")

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "sections": [s.as_json() for s in self.sections], "scheme": self.scheme,
                "image_bytes": self.image.nbytes, "hash": bytes(self.hash).hex(),
                "public_key_bytes": self.public_key.nbytes, "signature_bytes": self.signature.nbytes}

    def __repr__(self) -> str:
        return f"<FmcImage {self.source!r} image={self.image.nbytes:#x} {self.scheme}>"
