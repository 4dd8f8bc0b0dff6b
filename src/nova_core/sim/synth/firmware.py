"""nova_core.sim.synth.firmware: a synthetic, format-correct GSP firmware set for any chip.

Written with its own minimal writers (not the driver's parsers), from the facts of
``shared/reference/nvidia-facts.md`` §3 and the structure of the real linux-firmware files:

- ``gsp-<version>.bin``: ELF64 RISC-V ``ET_REL`` with ``.fwimage`` at 0x40, ``.fwversion``
  ("<version>\\0"), one 4 KiB ``.fwsignature_<family>`` per family of the image, ``.symtab``/``.strtab``
  (the ``_binary_..._start/_end/_size`` symbols of an ``objcopy``'d blob) and ``.shstrtab``. The TU10x
  image's ``.fwimage`` is itself an ELF64 RISC-V ``ET_EXEC`` (per-family text/data, ``.bootstrap`` at the
  entry point, ``.manifest``, ``.memory_region_init_arguments`` ...) and ends mid-page, like the real one;
  the GA10x image's is raw code, a whole number of pages. About 2-3 MiB each.
- ``booter_load``/``booter_unload-<version>.bin``: ``nvfw_bin_hdr``, HS header v2, the signatures,
  the patch location/index, signature params, signature count, the HS load header v2 (os code, os data,
  one app), the payload. 16-byte signatures x1 on Turing (params 0/0x1/0xd), RSA-3072 x1 on GA100
  (0/0x1/0x3), RSA-3072 x2 on GA102 and later (1/0x1/0x3); the signature slot is at os data + 0x200
  (Turing/GA100) or + 0x10 (GA102+), as in the real files. Hopper/Blackwell boot through the FSP and
  get no booter.
- ``bootloader-<version>.bin``: ``RM_RISCV_UCODE_DESC`` version 4 on Turing/GA100 - 76 bytes, the
  payload right after, as the real TU102/GA100 files have it - and version 5 (84 bytes) on GA102+; on
  Hopper/Blackwell version 5 in the GSP-FMC layout of the 570.144 files (no RISC-V bootloader: manifest
  0xa00 bytes at 0, monitor data, monitor code; ``appVersion`` and ``fbReservedSize`` 0).
- ``fmc-<version>.bin`` (Hopper/Blackwell): the ELF32 container exactly as nouveau accepts it (the 52-byte
  header, ``.shstrtab`` then ``hash``, ``signature``, ``publickey``, ``image`` with flags 0xfff00102 and their
  CRC-32 in ``sh_info``, as the real files lay them out); ``hash`` is the SHA-384 of the image and the image
  is signed with a synthetic key of the chip's scheme (:mod:`nova_core.sim.crypto`: RSA-3072 PSS on GH100,
  P-384 ECDSA on GB10x/GB20x), so the simulated FSP verifies it exactly as it verifies NVIDIA's.

Everything is deterministic (content from SHAKE-256 of the chip, kind and version) and labelled: the
tree gets :data:`MANIFEST_NAME` at its root, which the driver's discovery reads as "synthetic", and
which tells the sim's models what to expect (booter ranges, signatures per fused version, image and
signature digests) without importing driver code. The GSP signatures are a function of the image
(:func:`gsp_signature`), so a model that reads the image back through radix3 can check it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import NovaError
from ...gpu.chips import CHIPS, Architecture, BootPath, Chipset
from .. import crypto

#: manifest file at the root of a synthetic tree (the driver's ``firmware.facts`` names the same file)
MANIFEST_NAME = "nova-synthetic-firmware.json"
DEFAULT_VERSION = "535.113.01"
VERSIONS = ("535.113.01", "570.144")
#: Hopper/Blackwell: the first release linux-firmware ships a GSP-FMC for
FSP_DEFAULT_VERSION = "570.144"
GENERATOR = "nova_core.sim.synth.firmware"

_PAGE = 0x1000
_SIG_SECTION_SIZE = 0x1000
_FAMILY_LEADER = {"tu10x": "tu102", "ga10x": "ga102"}
_SIG_SECTIONS = {
    "tu10x": (".fwsignature_ga100", ".fwsignature_tu11x", ".fwsignature_tu10x"),
    "ga10x": (".fwsignature_cc_gh100", ".fwsignature_gh100", ".fwsignature_ad10x", ".fwsignature_ga10x"),
}
_SIG_SECTIONS_570_EXTRA = {"tu10x": (), "ga10x": (".fwsignature_gb10x", ".fwsignature_gb20x")}


def _stream(*parts: str | bytes, n: int) -> bytes:
    """``n`` deterministic bytes for the given labels."""
    h = hashlib.shake_256(b"nova-synthetic-firmware")
    for p in parts:
        h.update(b"\0" + (p.encode() if isinstance(p, str) else p))
    return h.digest(n)


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


def gsp_signature(section: str, image: bytes | bytearray | memoryview) -> bytes:
    """The synthetic signature of ``image`` for ``section``: what a sim booter recomputes to verify it."""
    return _stream("gsp-signature", section, hashlib.sha256(image).digest(), n=_SIG_SECTION_SIZE)


# -- ELF64 writer ------------------------------------------------------------------------------------

_EM_RISCV = 243


@dataclass
class _Sec:
    name: str
    type: int
    data: bytes
    flags: int = 0
    addr: int = 0
    align: int = 1
    link: int = 0
    info: int = 0
    entsize: int = 0
    size: int | None = None  #: for NOBITS
    offset: int = 0


def _elf(etype: int, sections: list[_Sec], *, entry: int = 0, segments: bool = False,
         data_start: int = 0x40) -> bytes:
    """Lay out and write an ELF64 LE RISC-V file: data in order, section headers last (8-aligned)."""
    all_secs = [*sections, _Sec(".shstrtab", 3, b"")]
    shstr = bytearray(b"\0")
    name_off = []
    for s in all_secs:
        name_off.append(len(shstr))
        shstr += s.name.encode() + b"\0"
    all_secs[-1].data = bytes(shstr)
    phnum = sum(1 for s in all_secs if s.flags & 0x2) if segments else 0
    pos = max(data_start, 0x40 + phnum * 56)
    body = bytearray(pos)
    for s in all_secs:
        if s.type == 8:  # NOBITS
            s.offset = pos
            continue
        pos = _align(pos, max(s.align, 1))
        body += bytes(pos - len(body))
        s.offset = pos
        body += s.data
        pos += len(s.data)
    shoff = _align(pos, 8)
    body += bytes(shoff - len(body))
    shdrs = bytearray(64)  # the null section
    for s, no in zip(all_secs, name_off, strict=True):
        size = s.size if s.type == 8 and s.size is not None else len(s.data)
        shdrs += struct.pack("<IIQQQQIIQQ", no, s.type, s.flags, s.addr, s.offset, size, s.link, s.info, s.align,
                             s.entsize)
    body += shdrs
    phdrs = bytearray()
    if segments:
        for s in all_secs:
            if s.flags & 0x2:
                filesz = 0 if s.type == 8 else len(s.data)
                memsz = s.size if s.type == 8 and s.size is not None else len(s.data)
                pflags = 0x4 | (0x1 if s.flags & 0x4 else 0) | (0x2 if s.flags & 0x1 else 0)
                phdrs += struct.pack("<IIQQQQQQ", 1, pflags, s.offset, s.addr, s.addr, filesz, memsz, _PAGE)
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), etype, _EM_RISCV, 1, entry,
                       0x40 if phnum else 0, shoff, 0, 64, 56 if phnum else 0, phnum, 64, len(all_secs) + 1,
                       len(all_secs))
    body[0:64] = ehdr
    body[0x40:0x40 + len(phdrs)] = phdrs
    return bytes(body)


def _nested_tu10x_image(version: str) -> bytes:
    """The TU10x ``.fwimage``: an ELF64 RISC-V executable laid out like the real one, ~2.3 MiB."""
    base = 0x4000000
    secs: list[_Sec] = []
    addr = base + _PAGE
    for fam in ("ga100", "tu10x"):
        secs.append(_Sec(f".{fam}_data", 1, _stream("nested", version, fam, "data", n=0x1170), 0x3, addr, _PAGE))
        addr += 0x2000
    for fam in ("ga100", "tu10x"):
        secs.append(_Sec(f".{fam}_text", 1, _stream("nested", version, fam, "text", n=0x13E4), 0x6, addr, _PAGE))
        addr += 0x2000
    entry = addr
    secs.append(_Sec(".bootstrap", 1, _stream("nested", version, "bootstrap", n=0xEC), 0x6, addr, _PAGE))
    addr += _PAGE
    secs.append(_Sec(".manifest", 1, _stream("nested", version, "manifest", n=0xE98), 0x2, addr, 8))
    addr += _PAGE
    regions = b"".join(struct.pack("<Q8s", rid, name) for rid, name in (
        (0x4, b"SWAGVMR\0"), (0x8, b"UPAEHMR\0"), (0x9, b"CPAEHMR\0"), (0xC, b"MRGOL\0\0\0"),
        (0xE, b"SGRAMR\0\0"), (0x11, b"TINIGOL\0")))
    secs.append(_Sec(".memory_region_init_arguments", 1, regions, 0x2, addr, 8))
    addr += _PAGE
    secs.append(_Sec(".section_task_rm_elf_text_instance", 1,
                     _stream("nested", version, "rm-text", n=0x200000), 0x6, addr, _PAGE))
    addr += 0x200000
    secs.append(_Sec(".section_task_rm_elf_data_instance", 1,
                     _stream("nested", version, "rm-data", n=0x31350), 0x3, addr, _PAGE))
    addr += 0x32000
    secs.append(_Sec(".section_log_rm_buffer_instance", 8, b"", 0x3, addr, _PAGE, size=0x40000))
    secs.append(_Sec(".comment", 1, b"nova-core synthetic GSP-RM " + version.encode() + b"\0", 0x30, 0, 1))
    return _elf(2, secs, entry=entry, segments=True, data_start=_PAGE)


def _family_image(family: str, version: str) -> bytes:
    if family == "tu10x":
        return _nested_tu10x_image(version)
    return _stream("ga10x-image", version, n=0x300000)


@dataclass(frozen=True)
class SynthGsp:
    """A synthetic ``gsp-<version>.bin``."""

    family: str
    version: str
    data: bytes = field(repr=False)
    image: bytes = field(repr=False)
    signatures: dict[str, bytes] = field(repr=False)

    def manifest(self) -> dict[str, Any]:
        return {"family": self.family, "version": self.version, "size": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest(), "image_offset": 0x40, "image_bytes": len(self.image),
                "image_sha256": hashlib.sha256(self.image).hexdigest(), "image_is_elf": self.image[:4] == b"\x7fELF",
                "signatures": {k: hashlib.sha256(v).hexdigest() for k, v in self.signatures.items()}}


@functools.lru_cache(maxsize=8)
def build_gsp(family: str, version: str = DEFAULT_VERSION) -> SynthGsp:
    """The GSP image of ``family`` (``"tu10x"``/``"ga10x"``) for ``version``."""
    if family not in _SIG_SECTIONS:
        raise NovaError(f"no synthetic GSP image family {family!r}; families: {', '.join(_SIG_SECTIONS)}")
    image = _family_image(family, version)
    names = _SIG_SECTIONS[family] + (_SIG_SECTIONS_570_EXTRA[family] if not version.startswith("535.") else ())
    sigs = {n: gsp_signature(n, image) for n in names}
    ver = version.encode() + b"\0"
    blob = f"_binary_nova_synthetic_gsp_{family}_{version.replace('.', '_')}_bin".encode()
    strtab = b"\0" + blob + b"_start\0" + blob + b"_end\0" + blob + b"_size\0"
    syms = bytearray(24)  # null symbol
    for i in range(1, 3 + len(sigs)):
        syms += struct.pack("<IBBHQQ", 0, 0x03, 0, i, 0, 0)  # STB_LOCAL STT_SECTION
    first_global = len(syms) // 24
    o_start, o_end, o_size = 1, 1 + len(blob) + 7, 1 + 2 * len(blob) + 12
    syms += struct.pack("<IBBHQQ", o_start, 0x10, 0, 1, 0, 0)
    syms += struct.pack("<IBBHQQ", o_end, 0x10, 0, 1, len(image), 0)
    syms += struct.pack("<IBBHQQ", o_size, 0x10, 0, 0xFFF1, len(image), 0)
    nsec = 3 + len(sigs)  # .fwimage, .fwversion, sigs... -> .symtab is section nsec, .strtab nsec+1
    secs = [_Sec(".fwimage", 1, image, 0x3), _Sec(".fwversion", 1, ver)]
    secs += [_Sec(n, 1, s) for n, s in sigs.items()]
    secs += [_Sec(".symtab", 2, bytes(syms), align=8, link=nsec + 1, info=first_global, entsize=24),
             _Sec(".strtab", 3, strtab)]
    return SynthGsp(family, version, _elf(1, secs), image, sigs)


# -- booters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthBooter:
    """A synthetic ``booter_load``/``booter_unload`` file and what a SEC2 model must expect of it."""

    chip: str
    kind: str
    version: str
    data: bytes = field(repr=False)
    payload: bytes = field(repr=False)  #: unpatched (zeros in the signature slot)
    data_offset: int
    os_code: tuple[int, int]
    os_data: tuple[int, int]
    app0: tuple[int, int]
    patch_loc: int
    signatures: tuple[bytes, ...] = field(repr=False)
    fuse_ver: int
    engine_id_mask: int
    ucode_id: int

    @property
    def sig_size(self) -> int:
        return len(self.signatures[0])

    @property
    def pkc_data_offset(self) -> int:
        return self.patch_loc - self.os_data[0]

    def signature_index(self, fused_version: int) -> int | None:
        """OpenRM's choice (``s_patchBooterUcodeSignature``); ``None`` where it refuses."""
        n = len(self.signatures)
        if n == 1:
            return 0
        return None if fused_version > n - 1 else n - 1 - fused_version

    def manifest(self) -> dict[str, Any]:
        fuse_bits = 16
        by_fuse = {str(v): self.signature_index(v) for v in range(fuse_bits + 1) if self.signature_index(v) is not None}
        return {
            "size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest(), "data_offset": self.data_offset,
            "payload_bytes": len(self.payload), "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
            "os_code": list(self.os_code), "os_data": list(self.os_data), "app0": list(self.app0),
            "patch_loc": self.patch_loc, "pkc_data_offset": self.pkc_data_offset, "sig_size": self.sig_size,
            "signatures": [s.hex() for s in self.signatures],
            "signature_index_by_fused_version": by_fuse,
            "fuse_ver": self.fuse_ver, "engine_id_mask": self.engine_id_mask, "ucode_id": self.ucode_id,
            "boot_vector": {"tu102": self.os_code[0], "ga102": self.app0[0]},
        }


def _booter_params(chip: Chipset) -> tuple[int, int, tuple[int, int, int], int]:
    """(signature size, count, (fuse_ver, engine mask, ucode id), patch offset in os data)."""
    if chip.architecture is Architecture.TURING:
        return 16, 1, (0, 0x1, 0xD), 0x200
    if chip is Chipset.GA100:
        return 384, 1, (0, 0x1, 0x3), 0x200
    return 384, 2, (1, 0x1, 0x3), 0x10


@functools.lru_cache(maxsize=128)
def build_booter(chip: Chipset, kind: str, version: str = DEFAULT_VERSION) -> SynthBooter:
    """``booter_load`` or ``booter_unload`` for ``chip``."""
    if kind not in ("booter_load", "booter_unload"):
        raise NovaError(f"no synthetic booter kind {kind!r}; kinds: booter_load, booter_unload")
    if chip.facts.boot_path is not BootPath.SEC2_BOOTER:
        raise NovaError(f"{chip.name} boots through the FSP: it has no SEC2 booter")
    sig_size, nsig, (fuse_ver, engines, ucode), patch_rel = _booter_params(chip)
    app_size, data_size = (0x1F00, 0x1200) if kind == "booter_load" else (0xF00, 0xC00)
    os_code, app0 = (0, 0x100), (0x100, app_size)
    os_data = (0x100 + app_size, data_size)
    payload = bytearray(_stream("booter", chip.name, kind, version, n=os_data[0] + data_size))
    patch_loc = os_data[0] + patch_rel
    payload[patch_loc:patch_loc + sig_size] = bytes(sig_size)
    sigs = tuple(_stream("booter-signature", chip.name, kind, version, str(i), n=sig_size) for i in range(nsig))
    hs_off = 0x18
    sig_off = hs_off + 36
    patch_loc_off = sig_off + sig_size * nsig
    patch_sig_off, meta_off = patch_loc_off + 4, patch_loc_off + 8
    num_sig_off = meta_off + 12
    load_off = num_sig_off + 4
    data_offset = load_off + 36
    load_hdr = struct.pack("<9I", *os_code, *os_data, 1, *app0, 0x100, 0)
    body = bytearray()
    body += struct.pack("<9I", sig_off, sig_size * nsig, patch_loc_off, patch_sig_off, meta_off, 12, num_sig_off,
                        load_off, 36)
    body += b"".join(sigs)
    body += struct.pack("<II3II", patch_loc, 0, fuse_ver, engines, ucode, nsig)
    body += load_hdr
    total = data_offset + len(payload)
    head = struct.pack("<6I", 0x10DE, 1, _align(total, 256), hs_off, data_offset, len(payload))
    data = head + bytes(body) + bytes(payload)
    return SynthBooter(chip.name, kind, version, data, bytes(payload), data_offset, os_code, os_data, app0, patch_loc,
                       sigs, fuse_ver, engines, ucode)


# -- bootloader --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthBootloader:
    """A synthetic ``bootloader-<version>.bin``."""

    chip: str
    version: str
    data: bytes = field(repr=False)
    payload: bytes = field(repr=False)
    desc: dict[str, int]

    def manifest(self) -> dict[str, Any]:
        return {"size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest(),
                "payload_bytes": len(self.payload), "payload_sha256": hashlib.sha256(self.payload).hexdigest(),
                "desc": dict(self.desc)}


_DESC_NAMES = ("version", "bootloader_offset", "bootloader_size", "bootloader_param_offset", "bootloader_param_size",
               "riscv_elf_offset", "riscv_elf_size", "app_version", "manifest_offset", "manifest_size",
               "monitor_data_offset", "monitor_data_size", "monitor_code_offset", "monitor_code_size",
               "is_monitor_enabled", "swbrom_code_offset", "swbrom_code_size", "swbrom_data_offset",
               "swbrom_data_size", "fb_reserved_size", "signed_as_code")


@functools.lru_cache(maxsize=64)
def build_bootloader(chip: Chipset, version: str = DEFAULT_VERSION) -> SynthBootloader:
    """The RISC-V bootloader for ``chip``: descriptor v4 (76 bytes) up to GA100, v5 (84 bytes) after, in the
    GSP-FMC layout (no RISC-V bootloader) on Hopper and Blackwell."""
    v4 = chip.architecture is Architecture.TURING or chip is Chipset.GA100
    d = dict.fromkeys(_DESC_NAMES, 0)
    names: tuple[str, ...]
    if chip.facts.boot_path is BootPath.FSP:  # as the 570.144 gh100/gb100/gb202 files: manifest, data, code
        d.update(version=5, manifest_offset=0, manifest_size=0xA00, monitor_data_offset=0xA00,
                 monitor_data_size=0x2000, monitor_code_offset=0x2A00, monitor_code_size=0x5600, is_monitor_enabled=1)
        payload_size, names = 0x8000, tuple(_DESC_NAMES)
    elif v4:
        d.update(version=4, bootloader_size=0x488, bootloader_param_offset=0x488, bootloader_param_size=0x10)
        payload_size, names = 0x1000, tuple(_DESC_NAMES[:19])
    else:
        d.update(version=5, bootloader_offset=0x4000, bootloader_size=0x458, bootloader_param_offset=0x4458,
                 bootloader_param_size=0x10, manifest_offset=0, manifest_size=0x800, monitor_data_offset=0x800,
                 monitor_data_size=0x1000, monitor_code_offset=0x1800, monitor_code_size=0x2500,
                 is_monitor_enabled=1, fb_reserved_size=0x5000)
        payload_size, names = 0x5000, tuple(_DESC_NAMES)
    payload = _stream("bootloader", chip.name, version, n=payload_size)
    desc = struct.pack(f"<{len(names)}I", *(d[n] for n in names))
    data_offset = 0x18 + len(desc)
    head = struct.pack("<6I", 0x10DE, 1, _align(data_offset + payload_size, 256), 0x18, data_offset, payload_size)
    return SynthBootloader(chip.name, version, head + desc + payload, payload, {n: d[n] for n in names})


# -- GSP-FMC (Hopper, Blackwell) --------------------------------------------------------------------------

#: the ELF32 header of every FMC file (nouveau ``elf_header``; the driver's ``firmware.facts`` has its own copy)
_FMC_EHDR = struct.pack("<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 0, 0, 1, 0, 0, 52, 0, 52, 0, 0,
                        40, 6, 1)
_FMC_FLAGS = 0xF0000000 | 0x0FF00000 | 0x100 | 0x2
_FMC_IMAGE_BYTES = 0x9648


@dataclass(frozen=True)
class SynthFmc:
    """A synthetic ``fmc-<version>.bin`` and its parts."""

    chip: str
    version: str
    data: bytes = field(repr=False)
    image: bytes = field(repr=False)
    hash: bytes
    public_key: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def manifest(self) -> dict[str, Any]:
        return {"size": len(self.data), "sha256": hashlib.sha256(self.data).hexdigest(),
                "image_bytes": len(self.image), "hash": self.hash.hex(), "public_key_bytes": len(self.public_key),
                "signature_bytes": len(self.signature)}


def fmc_key_label(chip: Chipset) -> str:
    """The label of the synthetic signing key of ``chip``'s FMC (one per architecture)."""
    return f"fmc {chip.architecture.name.lower()}"


@functools.lru_cache(maxsize=16)
def build_fmc(chip: Chipset, version: str = "570.144") -> SynthFmc:
    """The GSP-FMC container of a Hopper/Blackwell ``chip``, signed with the synthetic key of its scheme."""
    facts = chip.facts
    if facts.boot_path is not BootPath.FSP:
        raise NovaError(f"{chip.name} boots through the SEC2 booter: it has no GSP-FMC")
    image = _stream("fmc-image", chip.architecture.name, version, n=_FMC_IMAGE_BYTES)
    digest = hashlib.sha384(image).digest()
    label = fmc_key_label(chip)
    if facts.cot_public_key_size == 384:
        rsa = crypto.rsa_keypair(label)
        key = rsa.modulus
        sig = crypto.pss_sign(rsa.n, rsa.d, digest, _stream("fmc-salt", label, version, n=crypto.PSS_SALT_LEN))
    else:
        ec = crypto.ecdsa_keypair(label)
        key, sig = ec.public_key, crypto.ecdsa_sign(ec, digest)
    names = b"\0.shstrtab\0hash\0signature\0publickey\0image\0"
    blobs = [(b"hash", digest, 4), (b"signature", sig, 4), (b"publickey", key, 4), (b"image", image, 4)]
    pos = 52 + 6 * 40
    body = bytearray(names)
    headers = [bytes(40), struct.pack("<10I", names.index(b".shstrtab"), 3, 0x20, 0, pos, len(names), 0, 0, 1, 0)]
    pos += len(names)
    for name, blob, align in blobs:
        pad = -pos % align
        body += bytes(pad)
        pos += pad
        headers.append(struct.pack("<10I", names.index(b"\0" + name + b"\0") + 1, 1, _FMC_FLAGS, 0, pos, len(blob), 0,
                                   zlib.crc32(blob), align, 0))
        body += blob
        pos += len(blob)
    data = _FMC_EHDR + b"".join(headers) + bytes(body)
    return SynthFmc(chip.name, version, data, image, digest, key, sig)


# -- a firmware set and a linux-firmware-like tree --------------------------------------------------------


@dataclass(frozen=True)
class SynthFirmware:
    """Every synthetic file for one chip and version."""

    chip: Chipset
    version: str
    gsp: SynthGsp
    bootloader: SynthBootloader
    booter_load: SynthBooter | None
    booter_unload: SynthBooter | None
    fmc: SynthFmc | None = None

    @property
    def gsp_signature_section(self) -> str:
        return CHIPS[self.chip].gsp_sig_section

    def files(self) -> dict[str, bytes]:
        """Relative linux-firmware name -> bytes (the GSP image under this chip's own name)."""
        d = CHIPS[self.chip].fw_dir
        out = {f"nvidia/{d}/gsp/gsp-{self.version}.bin": self.gsp.data,
               f"nvidia/{d}/gsp/bootloader-{self.version}.bin": self.bootloader.data}
        for b in (self.booter_load, self.booter_unload):
            if b is not None:
                out[f"nvidia/{d}/gsp/{b.kind}-{self.version}.bin"] = b.data
        if self.fmc is not None:
            out[f"nvidia/{d}/gsp/fmc-{self.version}.bin"] = self.fmc.data
        return out

    def manifest(self) -> dict[str, Any]:
        return {
            "chip": self.chip.name, "version": self.version, "gsp_signature_section": self.gsp_signature_section,
            "gsp": self.gsp.manifest(), "bootloader": self.bootloader.manifest(),
            "booter_load": None if self.booter_load is None else self.booter_load.manifest(),
            "booter_unload": None if self.booter_unload is None else self.booter_unload.manifest(),
            "fmc": None if self.fmc is None else self.fmc.manifest(),
        }


def build_firmware(chip: Chipset | str, version: str = DEFAULT_VERSION) -> SynthFirmware:
    """The synthetic firmware of ``chip`` for ``version`` (``"535.113.01"`` or ``"570.144"``), in memory."""
    c = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    if version not in VERSIONS:
        raise NovaError(f"no synthetic firmware for version {version!r}; versions: {', '.join(VERSIONS)}")
    facts = CHIPS[c]
    if version.startswith("535.") and facts.architecture in (Architecture.BLACKWELL_GB10X,
                                                             Architecture.BLACKWELL_GB20X):
        raise NovaError(f"GSP-RM {version} does not support {c.name} (Blackwell needs 570.144 or later)")
    gsp = build_gsp(facts.gsp_image_family, version)
    sec2 = facts.boot_path is BootPath.SEC2_BOOTER
    return SynthFirmware(
        c, version, gsp, build_bootloader(c, version),
        build_booter(c, "booter_load", version) if sec2 else None,
        build_booter(c, "booter_unload", version) if sec2 else None,
        None if sec2 else build_fmc(c, version),
    )


def write_firmware_tree(root: str | os.PathLike[str], chips: Chipset | str | list[Chipset | str] | None = None,
                        version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """Write a linux-firmware-like tree under ``root`` and its manifest; return the manifest.

    The manifest (``root/nova-synthetic-firmware.json``) is ``{"synthetic": true, "generator": ...,
    "versions": {version: {"chips": {CHIP: ...}}}}``; writing more chips or versions adds to it.

    ``chips``: one chip, a list, or ``None`` for every chip the version supports. The GSP image is
    written once per family under its leader (``tu102``/``ga102``) and linked from the other chips'
    directories, as linux-firmware does.
    """
    root_p = Path(root)
    if chips is None:
        blackwell = (Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
        chip_list = [c for c in Chipset if not (version.startswith("535.") and c.architecture in blackwell)]
    else:
        chip_list = [c if isinstance(c, Chipset) else Chipset.parse(c)
                     for c in (chips if isinstance(chips, list) else [chips])]
    manifest: dict[str, Any] = {"synthetic": True, "generator": GENERATOR, "versions": {}}
    path_existing = root_p / MANIFEST_NAME
    if path_existing.is_file():  # add to a tree written before (another version or other chips)
        try:
            old = json.loads(path_existing.read_text())
        except (OSError, ValueError):
            old = {}
        if isinstance(old, dict) and old.get("generator") == GENERATOR and isinstance(old.get("versions"), dict):
            manifest["versions"].update(old["versions"])
    chips_out: dict[str, Any] = manifest["versions"].setdefault(version, {}).setdefault("chips", {})
    for chip in chip_list:
        fw = build_firmware(chip, version)
        family = CHIPS[chip].gsp_image_family
        leader = _FAMILY_LEADER[family]
        for name, data in fw.files().items():
            path = root_p / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink() or path.exists():
                path.unlink()
            if name.endswith(f"/gsp-{version}.bin") and chip.lower != leader:
                target = root_p / f"nvidia/{leader}/gsp/gsp-{version}.bin"
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                path.symlink_to(os.path.relpath(target, path.parent))
            else:
                path.write_bytes(data)
        entry = fw.manifest()
        entry["files"] = sorted(fw.files())
        chips_out[chip.name] = entry
    root_p.mkdir(parents=True, exist_ok=True)
    (root_p / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def manifest(chip: Chipset | str, version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """What the sim's models must expect of ``chip``'s synthetic firmware (no files needed)."""
    return build_firmware(chip, version).manifest()
