"""nova_core.sim.fw_oracle: the simulated GPU's own reading of the firmware files it is told to expect.

The simulated SEC2 and GSP falcons judge what the driver loaded and handed over against these readings,
so they must not share the driver's code (:mod:`nova_core.firmware` and :mod:`nova_core.falcon` are not
imported) nor its shape: a few plain functions over ``bytes`` and file offsets, from the formats as
nouveau and OpenRM use them (nvidia-facts §3):

- ``nvfw_bin_hdr`` (magic 0x10DE): header offset, payload offset and size;
- a booter (``nvfw_hs_header_v2`` -> patch location, signatures, ``{fuse_ver, engine_id_mask, ucode_id}``,
  ``nvfw_hs_load_header_v2`` os code / os data / app 0): what SEC2 must hold for a fused version, with
  OpenRM's signature choice (``s_patchBooterUcodeSignature``: one signature -> index 0, else
  ``num_sig - 1 - fused``, refused past the last);
- the RISC-V bootloader (``RM_RISCV_UCODE_DESC``: appVersion, manifest, monitor data and code offsets);
- the generic falcon bootloader (``nvfw_bl_desc``: start tag, DMEM descriptor offset, code);
- the GSP-RM ELF: ``.fwimage``, ``.fwversion`` and the ``.fwsignature_*`` sections, located by a minimal
  ELF64 section-table walk and read by offset (the 38 MB image is never held twice);
- the Hopper/Blackwell GSP-FMC (``fmc-<version>.bin``): an ELF32 section-table walk to ``hash``, ``signature``,
  ``publickey`` and ``image`` (what the simulated FSP trusts and compares the chain-of-trust message with).

:func:`load_firmware` finds a chip's files under a linux-firmware-like root. Malformed files raise
:class:`~nova_core.errors.FirmwareError`.

A sim choice, not hardware's: each file's reading is kept per process, keyed by the file's identity (device, inode,
size, modification and change times), and a later load of the same file reuses it - a real GPU learns its signed
firmware once, and hashing the real 38 MB image again on every simulated boot took about 30 ms of a 143 ms boot. A
file replaced or rewritten gets a new identity and is read afresh; a file that could not be read is never kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from ..errors import FirmwareError

T = TypeVar("T")

_BIN_MAGIC = 0x10DE
_ELF_MAGIC = b"\x7fELF"


def _u32s(data: bytes, off: int, n: int, what: str, name: str) -> tuple[int, ...]:
    if off < 0 or off + 4 * n > len(data):
        raise FirmwareError(f"sim firmware oracle: {name}: {what} at {off:#x} ({4 * n} bytes) is outside the "
                            f"{len(data):#x}-byte file")
    return struct.unpack_from(f"<{n}I", data, off)


def _bin(data: bytes, name: str) -> tuple[int, bytes]:
    """(header offset, payload) of an ``nvfw_bin_hdr`` file."""
    magic, _ver, _size, hdr, doff, dsize = _u32s(data, 0, 6, "nvfw_bin_hdr", name)
    if magic != _BIN_MAGIC:
        raise FirmwareError(f"sim firmware oracle: {name}: bin magic {magic:#x}, expected {_BIN_MAGIC:#x}")
    if doff + dsize > len(data) or hdr >= len(data):
        raise FirmwareError(f"sim firmware oracle: {name}: header {hdr:#x} / payload [{doff:#x}, +{dsize:#x}) "
                            f"outside the {len(data):#x}-byte file")
    return hdr, data[doff:doff + dsize]


def _range(payload: bytes, off: int, size: int, what: str, name: str) -> bytes:
    if off < 0 or size < 0 or off + size > len(payload):
        raise FirmwareError(f"sim firmware oracle: {name}: {what} [{off:#x}, +{size:#x}) outside the "
                            f"{len(payload):#x}-byte payload")
    return payload[off:off + size]


@dataclass(frozen=True)
class ExpectedPart:
    """``data`` at falcon address ``dst``; IMEM: ``secure`` and the virtual address ``tag`` of the first block."""

    dst: int
    data: bytes
    secure: bool = False
    tag: int = 0


@dataclass(frozen=True)
class BooterExpectation:
    """What SEC2 must hold to run a booter for one fused version."""

    imem: tuple[ExpectedPart, ...]
    dmem: bytes  #: at DMEM 0, signature patched
    boot_vector: int
    brom: tuple[int, int, int] | None  #: (PKC DMEM offset, engine-id mask, ucode id) on GA102+
    signature_index: int
    pkc_dmem_offset: int  #: where the signature sits in DMEM


@dataclass(frozen=True)
class OracleBooter:
    """A ``booter_load``/``booter_unload`` file."""

    name: str
    kind: str
    payload: bytes = field(repr=False)
    os_code: tuple[int, int]
    os_data: tuple[int, int]
    app: tuple[int, int]
    patch_loc: int
    signatures: tuple[bytes, ...] = field(repr=False)
    fuse_ver: int
    engine_id_mask: int
    ucode_id: int

    @property
    def pkc_dmem_offset(self) -> int:
        return self.patch_loc - self.os_data[0]

    def signature_index(self, fused: int) -> int | None:
        """OpenRM's choice for ``fused`` (``None``: no signature fits it)."""
        n = len(self.signatures)
        if n == 1:
            return 0
        return None if not 0 <= fused <= n - 1 else n - 1 - fused

    def expected(self, ga102: bool, fused: int) -> BooterExpectation | None:
        """The load for the falcon generation (GA102+ ``ga102``) and ``fused``; ``None`` without a signature."""
        index = self.signature_index(fused)
        if index is None:
            return None
        sig = self.signatures[index]
        dmem = bytearray(_range(self.payload, self.os_data[0], self.os_data[1], "os data", self.name))
        at = self.pkc_dmem_offset
        dmem[at:at + len(sig)] = sig
        app = _range(self.payload, self.app[0], self.app[1], "app 0 code", self.name)
        if ga102:  # nova-core / nouveau ga102: the app alone, secure, at IMEM 0, tagged with its offset
            return BooterExpectation((ExpectedPart(0, app, True, self.app[0]),), bytes(dmem), self.app[0],
                                     (at, self.engine_id_mask, self.ucode_id), index, at)
        code = _range(self.payload, self.os_code[0], self.os_code[1], "os code", self.name)
        imem = (ExpectedPart(self.os_code[0], code, False, self.os_code[0]),
                ExpectedPart(self.app[0], app, True, self.app[0]))
        return BooterExpectation(imem, bytes(dmem), self.os_code[0], None, index, at)


def read_booter(path: Path, kind: str) -> OracleBooter:
    data = path.read_bytes()
    name = str(path)
    hdr, payload = _bin(data, name)
    sig_off, sig_size, p_loc, p_sig, meta_off, _meta_size, p_num, load_off, _load_size = _u32s(
        data, hdr, 9, "nvfw_hs_header_v2", name)
    (loc,) = _u32s(data, p_loc, 1, "patch_loc value", name)
    (sig_index_add,) = _u32s(data, p_sig, 1, "patch_sig value", name)
    (num,) = _u32s(data, p_num, 1, "num_sig value", name)
    fuse_ver, engines, ucode_id = _u32s(data, meta_off, 3, "signature params", name)
    if not 0 < num <= sig_size or sig_size % num or sig_off + sig_size > len(data) or sig_index_add:
        raise FirmwareError(f"sim firmware oracle: {name}: {num} signatures in {sig_size:#x} bytes at {sig_off:#x}, "
                            f"patch_sig {sig_index_add:#x}")
    each = sig_size // num
    sigs = tuple(data[sig_off + i * each:sig_off + (i + 1) * each] for i in range(num))
    oc, ocs, od, ods, napps, app_off, app_size = _u32s(data, load_off, 7, "nvfw_hs_load_header_v2", name)
    if napps != 1:
        raise FirmwareError(f"sim firmware oracle: {name}: {napps} apps, expected 1")
    b = OracleBooter(name, kind, payload, (oc, ocs), (od, ods), (app_off, app_size), loc, sigs, fuse_ver, engines,
                     ucode_id)
    _range(payload, loc, each, "signature patch location", name)
    if not od <= loc <= od + ods - each:
        raise FirmwareError(f"sim firmware oracle: {name}: patch location {loc:#x} outside os data "
                            f"[{od:#x}, {od + ods:#x})")
    return b


@dataclass(frozen=True)
class OracleBootloader:
    """The GSP RISC-V bootloader (``bootloader-<version>.bin``)."""

    name: str
    payload: bytes = field(repr=False)
    version: int
    app_version: int
    manifest_offset: int
    monitor_data_offset: int
    monitor_code_offset: int


def read_bootloader(path: Path) -> OracleBootloader:
    data = path.read_bytes()
    name = str(path)
    hdr, payload = _bin(data, name)
    d = _u32s(data, hdr, 14, "RM_RISCV_UCODE_DESC", name)
    if d[0] not in (4, 5):
        raise FirmwareError(f"sim firmware oracle: {name}: RM_RISCV_UCODE_DESC version {d[0]}, expected 4 or 5")
    # +0x1C appVersion, +0x20 manifestOffset, +0x28 monitorDataOffset, +0x30 monitorCodeOffset
    return OracleBootloader(name, payload, d[0], d[7], d[8], d[10], d[12])


@dataclass(frozen=True)
class OracleGenericBootloader:
    """The generic falcon bootloader (``acr/bl.bin``, ``gen_bootloader-<version>.bin``)."""

    name: str
    start_tag: int
    dmem_load_off: int
    code: bytes = field(repr=False)

    @property
    def padded_code(self) -> bytes:
        return self.code + bytes(-len(self.code) % 256)


def read_generic_bootloader(path: Path) -> OracleGenericBootloader:
    data = path.read_bytes()
    name = str(path)
    hdr, payload = _bin(data, name)
    start_tag, dmem_load_off, code_off, code_size, _doff, _dsize = _u32s(data, hdr, 6, "nvfw_bl_desc", name)
    return OracleGenericBootloader(name, start_tag, dmem_load_off,
                                   _range(payload, code_off, code_size, "bootloader code", name))


SMALL_SECTION = 64 << 10  #: sections up to this size are read when the image is opened (a sim choice)


class OracleGspImage:
    """The GSP-RM ELF: where ``.fwimage`` and the signature sections are (read on demand)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.sections: dict[str, tuple[int, int]] = {}
        size = path.stat().st_size
        with open(path, "rb") as f:
            ehdr = f.read(64)
            if len(ehdr) < 64 or ehdr[:4] != _ELF_MAGIC or ehdr[4] != 2 or ehdr[5] != 1:
                raise FirmwareError(f"sim firmware oracle: {self.name}: not a little-endian ELF64 file")
            shoff, = struct.unpack_from("<Q", ehdr, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ehdr, 0x3A)
            if shentsize != 64 or not 0 < shnum < 0xFF00 or shstrndx >= shnum or shoff + shnum * 64 > size:
                raise FirmwareError(f"sim firmware oracle: {self.name}: section table at {shoff:#x} "
                                    f"({shnum} x {shentsize}) does not fit the {size:#x}-byte file")
            f.seek(shoff)
            table = f.read(shnum * 64)
            heads = [struct.unpack_from("<IIQQQQ", table, i * 64) for i in range(shnum)]
            _n, _t, _fl, _a, str_off, str_size = heads[shstrndx]
            if str_off + str_size > size:
                raise FirmwareError(f"sim firmware oracle: {self.name}: .shstrtab outside the file")
            f.seek(str_off)
            strtab = f.read(str_size)
            for name_off, stype, _flags, _addr, off, length in heads:
                if stype == 8 or name_off >= len(strtab):  # NOBITS, or a nameless entry
                    continue
                end = strtab.find(b"\0", name_off)
                sname = strtab[name_off:end if end >= 0 else len(strtab)].decode("ascii", "replace")
                if off + length > size:
                    raise FirmwareError(f"sim firmware oracle: {self.name}: section {sname} [{off:#x}, "
                                        f"+{length:#x}) outside the file")
                self.sections[sname] = (off, length)
            # the small sections (version, signatures, ...) are read now, from this open file: a check later in the
            # boot reads them from memory, not by opening the file again (each open is syscalls that hand the GIL
            # over when simulated GPUs boot in threads); .fwimage is hashed by streaming, when first asked
            self._small: dict[str, bytes] = {}
            for sname, (off, length) in self.sections.items():
                if length <= SMALL_SECTION and sname != ".fwimage":
                    f.seek(off)
                    self._small[sname] = f.read(length)
        if ".fwimage" not in self.sections or ".fwversion" not in self.sections:
            raise FirmwareError(f"sim firmware oracle: {self.name}: no .fwimage/.fwversion section")
        self.version = self.read_section(".fwversion").split(b"\0", 1)[0].decode("ascii", "replace")
        self._sha: str | None = None

    @property
    def image_size(self) -> int:
        return self.sections[".fwimage"][1]

    def read_section(self, name: str, start: int = 0, length: int | None = None) -> bytes:
        off, size = self.sections[name]
        n = size - start if length is None else min(length, size - start)
        small = self._small.get(name)
        if small is not None and start >= 0:
            return small[start:start + max(n, 0)]
        with open(self.path, "rb") as f:
            f.seek(off + start)
            return f.read(max(n, 0))

    def image_sha256(self) -> str:
        if self._sha is None:
            h = hashlib.sha256()
            off, size = self.sections[".fwimage"]
            with open(self.path, "rb") as f:
                f.seek(off)
                left = size
                while left > 0:  # bounded by the section size
                    chunk = f.read(min(left, 1 << 22))
                    if not chunk:
                        raise FirmwareError(f"sim firmware oracle: {self.name}: .fwimage ends early")
                    h.update(chunk)
                    left -= len(chunk)
            self._sha = h.hexdigest()
        return self._sha


@dataclass(frozen=True)
class OracleFmc:
    """The GSP-FMC container: its four blobs (the simulated FSP's "fused" key is this file's public key)."""

    name: str
    image: bytes = field(repr=False)
    hash: bytes
    public_key: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def read_fmc(path: Path) -> OracleFmc:
    data = path.read_bytes()
    name = str(path)
    if data[:6] != b"\x7fELF\x01\x01":
        raise FirmwareError(f"sim firmware oracle: {name}: not a little-endian ELF32 file")
    shoff, = struct.unpack_from("<I", data, 0x20) if len(data) >= 0x34 else (0,)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E) if len(data) >= 0x34 else (0, 0, 0)
    if shentsize != 40 or not 0 < shnum <= 16 or shstrndx >= shnum or shoff + shnum * 40 > len(data):
        raise FirmwareError(f"sim firmware oracle: {name}: ELF32 section table at {shoff:#x} ({shnum} x {shentsize}) "
                            f"does not fit the {len(data):#x}-byte file")
    heads = [struct.unpack_from("<10I", data, shoff + i * 40) for i in range(shnum)]
    str_off, str_size = heads[shstrndx][4], heads[shstrndx][5]
    blobs: dict[str, bytes] = {}
    for h in heads[1:]:
        end = data.find(b"\0", str_off + h[0], str_off + str_size)
        sname = data[str_off + h[0]:end if end >= 0 else str_off + str_size].decode("ascii", "replace")
        if h[4] + h[5] > len(data):
            raise FirmwareError(f"sim firmware oracle: {name}: section {sname} outside the file")
        blobs[sname] = data[h[4]:h[4] + h[5]]
    missing = [n for n in ("hash", "signature", "publickey", "image") if n not in blobs]
    if missing:
        raise FirmwareError(f"sim firmware oracle: {name}: no {', '.join(missing)} section")
    return OracleFmc(name, blobs["image"], blobs["hash"], blobs["publickey"], blobs["signature"])


@dataclass
class SimFirmware:
    """The firmware files a simulated GPU expects the driver to use (no booters on the FSP path; there the FMC)."""

    root: Path
    version: str
    booter_load: OracleBooter | None
    booter_unload: OracleBooter | None
    bootloader: OracleBootloader
    gsp: OracleGspImage
    generic_bootloader: OracleGenericBootloader | None
    fmc: OracleFmc | None = None


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))


#: readings of firmware files kept per process (see the module's docstring): (reader, path, the file's identity) ->
#: what the reader made of it; the oldest goes beyond _KEEP
_readings: dict[tuple[object, ...], object] = {}
_readings_lock = threading.Lock()
_KEEP = 64


def _identity(path: Path) -> tuple[int, int, int, int, int] | None:
    """A regular file's identity (device, inode, size, mtime, ctime in ns), or None when it is not one."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _reading(read: Callable[[Path], T], path: Path, ident: tuple[int, ...]) -> T:
    """``read(path)``, or what it gave for this file with this identity before (a failure is not kept)."""
    key = (read, str(path), ident)
    with _readings_lock:
        found = _readings.get(key)
    if found is not None:
        return cast(T, found)
    made = read(path)
    with _readings_lock:
        _readings[key] = made
        while len(_readings) > _KEEP:
            del _readings[next(iter(_readings))]
    return made


def load_firmware(root: str | os.PathLike[str], fw_dir: str, version: str | None = None, *,
                  fsp: bool = False) -> SimFirmware:
    """Read ``root/nvidia/<fw_dir>/gsp/{booter_load,booter_unload,bootloader,gsp}-<version>.bin`` and, if
    present, the generic bootloader (``gsp/gen_bootloader-<version>.bin`` or ``acr/bl.bin``); with ``fsp``
    (Hopper/Blackwell) ``{fmc,bootloader,gsp}-<version>.bin`` instead.

    ``version`` defaults to the oldest release present (the driver's preference order starts there). A file read
    before in this process, unchanged since, is not read again (the module's docstring).
    """
    base = Path(root) / "nvidia" / fw_dir
    gsp_dir = base / "gsp"
    first = "fmc" if fsp else "booter_load"
    if version is None:
        found = sorted({m.group(1) for p in gsp_dir.glob(f"{first}-*.bin")
                        if (m := re.fullmatch(rf"{first}-(.+)\.bin", p.name))}, key=_version_key)
        if not found:
            raise FirmwareError(f"sim firmware oracle: no {first}-<version>.bin under {gsp_dir}")
        version = found[0]
    kinds = ("fmc", "bootloader", "gsp") if fsp else ("booter_load", "booter_unload", "bootloader", "gsp")
    paths = {k: gsp_dir / f"{k}-{version}.bin" for k in kinds}
    ids = {}
    for k, p in paths.items():
        ident = _identity(p)
        if ident is None:
            raise FirmwareError(f"sim firmware oracle: {k} for {fw_dir} version {version}: {p} is missing")
        ids[k] = ident
    gbl = None
    for cand in (gsp_dir / f"gen_bootloader-{version}.bin", base / "acr" / "bl.bin"):
        ident = _identity(cand)
        if ident is not None:
            gbl = _reading(read_generic_bootloader, cand, ident)
            break
    gsp = _reading(OracleGspImage, paths["gsp"], ids["gsp"])
    if gsp.version != version:
        raise FirmwareError(f"sim firmware oracle: {gsp.name}: .fwversion {gsp.version!r}, named {version!r}")
    bootloader = _reading(read_bootloader, paths["bootloader"], ids["bootloader"])
    if fsp:
        return SimFirmware(Path(root), version, None, None, bootloader, gsp, None,
                           _reading(read_fmc, paths["fmc"], ids["fmc"]))
    return SimFirmware(Path(root), version, _reading(_booter_load, paths["booter_load"], ids["booter_load"]),
                       _reading(_booter_unload, paths["booter_unload"], ids["booter_unload"]), bootloader, gsp, gbl)


def _booter_load(path: Path) -> OracleBooter:
    return read_booter(path, "booter_load")


def _booter_unload(path: Path) -> OracleBooter:
    return read_booter(path, "booter_unload")
