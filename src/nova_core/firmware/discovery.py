"""nova_core.firmware.discovery: finding a chip's GSP firmware files, and the set a boot consumes.

Search path: the directories of ``NOVA_FIRMWARE_PATH`` (``os.pathsep``-separated), then
``/lib/firmware``. Names, per chip and GSP-RM version:

- linux-firmware (Debian ``firmware-nvidia-graphics``): ``nvidia/<chip>/gsp/{gsp,booter_load,
  booter_unload,bootloader}-<version>.bin``, e.g. 535.113.01 and 570.144. Many are symlinks (the
  TU104/TU106 ``gsp`` directories point at TU102's, every GA10x/AD10x GSP image is GA102's file);
  they are followed, and the resolved file is recorded.
- NVIDIA's driver packages (Debian ``firmware-nvidia-gsp``): ``nvidia/<version>/gsp_<family>.bin``
  (``tu10x``/``ga10x``, from ``CHIPS[chip].gsp_image_family``), e.g. 550.163.01. These ship only the
  GSP image: NVIDIA's driver carries the booters and bootloader inside itself.

A missing file is a :class:`FirmwareNotFound` listing every path tried and the package that provides
it. :func:`open_firmware_set` returns a :class:`FirmwareSet`: every file the chip's boot path needs,
parsed, with the version read back from the image.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FirmwareError
from ..files import cache_dir
from ..gpu.chips import BootPath, Chipset
from ..hw.dma import DmaAllocator
from . import facts as F
from .booter import BooterFirmware
from .fmc import FmcImage
from .gsp import GspImage, PreparedGsp
from .riscv import RiscvBootloader


class FirmwareNotFound(FirmwareError):
    """A firmware file is not in any directory of the search path.

    Attributes:
        tried: every path looked at, in order.
    """

    def __init__(self, message: str, tried: list[Path]) -> None:
        super().__init__(message)
        self.tried = tried


def search_path(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The firmware roots, in order: ``NOVA_FIRMWARE_PATH`` entries, then ``/lib/firmware``."""
    env = os.environ if environ is None else environ
    roots = [Path(p) for p in env.get(F.FIRMWARE_PATH_ENV, "").split(os.pathsep) if p]
    roots.append(Path(F.DEFAULT_FIRMWARE_ROOT))
    return list(dict.fromkeys(roots))


def fetched_firmware_roots() -> list[Path]:
    """Where ``./dev test`` puts NVIDIA's firmware (they may not exist): the 535/550 packages
    (``$NOVA_CACHE/firmware/root/usr/lib/firmware``), then Debian sid's 570.144 tree
    (``$NOVA_CACHE/firmware-sid/current/usr/lib/firmware``). Not on the search path: ``./dev`` sets
    ``NOVA_FIRMWARE_PATH`` to them."""
    return [cache_dir() / F.FETCHED_FIRMWARE_DIR, cache_dir() / F.FETCHED_SID_FIRMWARE_DIR]


def candidate_names(chip: Chipset, kind: F.FirmwareKind, version: str) -> list[tuple[str, str]]:
    """``(relative name, Debian package)`` candidates for one file, in preference order."""
    names = [(F.LINUX_FIRMWARE_NAME.format(chip=chip.facts.fw_dir, kind=kind.value, version=version),
              F.DEBIAN_PACKAGE_LINUX_FIRMWARE)]
    if kind is F.FirmwareKind.GSP:
        names.append((F.NVIDIA_DRIVER_GSP_NAME.format(version=version, family=chip.facts.gsp_image_family),
                      F.DEBIAN_PACKAGE_NVIDIA_GSP))
    return names


def required_kinds(chip: Chipset) -> tuple[F.FirmwareKind, ...]:
    """The files the chip's boot path needs (the FSP path of Hopper/Blackwell: the GSP-FMC, no SEC2 booter)."""
    if chip.facts.boot_path is BootPath.SEC2_BOOTER:
        return (F.FirmwareKind.GSP, F.FirmwareKind.BOOTER_LOAD, F.FirmwareKind.BOOTER_UNLOAD,
                F.FirmwareKind.BOOTLOADER)
    return (F.FirmwareKind.GSP, F.FirmwareKind.BOOTLOADER, F.FirmwareKind.FMC)


@dataclass(frozen=True)
class FirmwareFile:
    """One firmware file as found: the path on the search path and the file it resolves to."""

    kind: F.FirmwareKind
    name: str  #: relative name, e.g. ``nvidia/ga104/gsp/gsp-535.113.01.bin``
    root: Path
    path: Path  #: ``root / name`` (may be a symlink, or under a symlinked directory)
    real_path: Path  #: the file it resolves to
    package: str
    size: int

    @property
    def via_symlink(self) -> bool:
        return self.path.absolute() != self.real_path

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "name": self.name, "path": str(self.path), "real_path": str(self.real_path),
                "package": self.package, "size": self.size}


def find_file(chip: Chipset | str, kind: F.FirmwareKind, version: str, *,
              roots: Iterable[Path] | None = None) -> FirmwareFile:
    """Find one file on the search path; :class:`FirmwareNotFound` listing every path tried otherwise."""
    chipset = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    roots = search_path() if roots is None else [Path(r) for r in roots]
    tried: list[Path] = []
    notes: list[str] = []
    candidates = candidate_names(chipset, kind, version)
    for root in roots:
        for name, package in candidates:
            p = root / name
            tried.append(p)
            found = _regular_file(p)
            if found is not None:
                return FirmwareFile(kind, name, root, p, found[1], package, found[0])
            if os.path.lexists(p):
                notes.append(f"{p} exists but is not a readable file"
                             + (f" (broken symlink to {os.readlink(p)})" if p.is_symlink() else ""))
    packages = sorted({pkg for _, pkg in candidates})
    msg = (f"no {kind.value} firmware for {chipset.name} version {version}; tried: "
           f"{', '.join(map(str, tried))}")
    if notes:
        msg += "; " + "; ".join(notes)
    msg += (f". Provided by the Debian package{'s' if len(packages) > 1 else ''} {' or '.join(packages)}"
            + ("" if kind is F.FirmwareKind.GSP else
               " (NVIDIA's driver packages ship only the GSP image; booters and bootloaders come from linux-firmware)"
               if kind is not F.FirmwareKind.FMC else
               " (the Hopper/Blackwell GSP-FMC is in linux-firmware from GSP-RM 570.144: Debian sid's package)")
            + f"; point {F.FIRMWARE_PATH_ENV} at a directory holding nvidia/...")
    raise FirmwareNotFound(msg, tried)


_O_PATH: int | None = getattr(os, "O_PATH", None)  # Linux


def _regular_file(p: Path) -> tuple[int, Path] | None:
    """``(size, the file p resolves to)`` when ``p`` is a regular file (symlinks followed), else None.

    On Linux both come from one ``O_PATH`` descriptor: its ``fstat`` and the kernel's own name for it
    (``/proc/self/fd``), the path ``Path.resolve()`` gives - of the very file found, in four syscalls where resolving
    takes an lstat per path component (each syscall hands the GIL to another thread when simulated GPUs boot in
    threads). Elsewhere, or without /proc: ``stat`` and ``Path.resolve()``."""
    if _O_PATH is not None:
        try:
            fd = os.open(p, _O_PATH | os.O_CLOEXEC)
        except (OSError, ValueError):  # what Path.is_file() takes as "not a file"
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            try:
                real = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                real = ""
        finally:
            os.close(fd)
        if real.startswith("/") and not real.endswith(" (deleted)"):
            return st.st_size, Path(real)
        return st.st_size, p.resolve()
    try:
        st = p.stat()
    except (OSError, ValueError):
        return None
    return (st.st_size, p.resolve()) if stat.S_ISREG(st.st_mode) else None


@dataclass
class FirmwareSet:
    """The firmware a chip's GSP boot consumes, found and parsed.

    Attributes:
        chip: the chip it is for.
        version: the GSP-RM version (the image's ``.fwversion``, checked against the file names).
        files: where each file was found.
        gsp: the GSP image (mapped, not read).
        bootloader: the RISC-V bootloader.
        booter_load / booter_unload: the SEC2 booters (``None`` on the FSP boot path).
        fmc: the GSP-FMC container the FSP verifies and starts (FSP boot path only).
        synthetic: the files come from :mod:`nova_core.sim.synth.firmware` (its manifest is in the root).
    """

    chip: Chipset
    version: str
    files: dict[F.FirmwareKind, FirmwareFile]
    gsp: GspImage
    bootloader: RiscvBootloader
    booter_load: BooterFirmware | None = None
    booter_unload: BooterFirmware | None = None
    synthetic: bool = False
    fmc: FmcImage | None = None

    def prepare_gsp(self, dma: DmaAllocator) -> PreparedGsp:
        """The GSP image, radix3 tree and this chip's signature in DMA memory."""
        return self.gsp.prepare(dma, self.chip)

    def close(self) -> None:
        self.gsp.close()

    def __enter__(self) -> FirmwareSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def as_json(self) -> dict[str, Any]:
        return {
            "chip": self.chip.name, "version": self.version, "synthetic": self.synthetic,
            "files": {k.value: f.as_json() for k, f in self.files.items()},
            "gsp_signature_section": self.gsp.signature_section(self.chip),
            "bootloader_desc_version": self.bootloader.desc.version,
            "fmc": None if self.fmc is None else {"image_bytes": self.fmc.image.nbytes, "scheme": self.fmc.scheme},
        }

    def __repr__(self) -> str:
        return (f"<FirmwareSet {self.chip.name} {self.version}{' (synthetic)' if self.synthetic else ''}: "
                f"{', '.join(str(f.real_path) for f in self.files.values())}>")


def open_firmware_set(chip: Chipset | str, version: str | None = None, *,
                      roots: Iterable[Path] | None = None) -> FirmwareSet:
    """Find and parse every file ``chip`` needs for ``version`` (default: the first known complete set).

    Raises:
        FirmwareNotFound: a file is missing (for every version tried, when none was asked).
        FirmwareError: a file is malformed, the GSP image's version differs from the requested one, or
            it has no signature for the chip.
    """
    chipset = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    root_list = search_path() if roots is None else [Path(r) for r in roots]
    versions = [version] if version is not None else list(F.KNOWN_VERSIONS)
    missing: list[FirmwareNotFound] = []
    for v in versions:
        try:
            files = {k: find_file(chipset, k, v, roots=root_list) for k in required_kinds(chipset)}
        except FirmwareNotFound as e:
            missing.append(e)
            continue
        return _parse_set(chipset, v, files)
    if len(missing) == 1:
        raise missing[0]
    raise FirmwareNotFound(
        f"no complete firmware set for {chipset.name} (versions tried: {', '.join(versions)}): "
        + " | ".join(str(e) for e in missing),
        [p for e in missing for p in e.tried],
    )


def _parse_set(chip: Chipset, version: str, files: dict[F.FirmwareKind, FirmwareFile]) -> FirmwareSet:
    gsp = GspImage.open(files[F.FirmwareKind.GSP].path)
    try:
        if gsp.version != version:
            raise FirmwareError(f"{gsp.source}: .fwversion says {gsp.version!r}, but the file is named for "
                                f"version {version!r}")
        gsp.signature_section(chip)
        bootloader = RiscvBootloader.open(files[F.FirmwareKind.BOOTLOADER].path)
        load = unload = fmc = None
        if F.FirmwareKind.BOOTER_LOAD in files:
            load = BooterFirmware.open(files[F.FirmwareKind.BOOTER_LOAD].path)
            unload = BooterFirmware.open(files[F.FirmwareKind.BOOTER_UNLOAD].path)
        if F.FirmwareKind.FMC in files:
            fmc = FmcImage.open(files[F.FirmwareKind.FMC].path)
            fmc.check_sizes_for(chip.facts.cot_public_key_size, chip.facts.cot_signature_size, chip.name)
            if not bootloader.fmc_loaded:
                raise FirmwareError(f"{bootloader.source}: {chip.name} boots through the GSP-FMC, but this "
                                    f"bootloader carries a RISC-V boot-ROM bootloader "
                                    f"({bootloader.desc.bootloader_size:#x} bytes) instead of the FMC layout")
    except BaseException:
        gsp.close()
        raise
    roots = {f.root for f in files.values()}
    synthetic = all((r / F.SYNTHETIC_MANIFEST_NAME).is_file() for r in roots)
    return FirmwareSet(chip, version, files, gsp, bootloader, load, unload, synthetic, fmc)
