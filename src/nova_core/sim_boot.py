"""nova_core.sim_boot: boot the simulated GPU - the driver's :func:`~nova_core.gsp.boot.boot` plus what only a
test bench knows (which firmware the simulated GPU's secure ucodes accept).

This module sits above both the driver and :mod:`nova_core.sim` (as the CLI does); the driver never imports
the simulator. :func:`sim_firmware` picks the firmware: the installed NVIDIA set when there is one
(``NOVA_FIRMWARE_PATH``, then /lib/firmware), otherwise a synthetic, format-correct set
(:mod:`nova_core.sim.synth.firmware`) generated once into ``$NOVA_CACHE/synthetic-firmware`` and reused.
From a REPL::

    >>> import nova_core
    >>> gpu = nova_core.boot_sim("ga102")
    >>> gpu.static.gpu_name, [o.class_name for o in gpu.objects()]
    ('NVIDIA GeForce RTX 3090', ['NV01_ROOT', 'NV01_DEVICE_0', 'NV20_SUBDEVICE_0'])
    >>> gpu.close()
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import BootError, NovaError
from .files import cache_dir
from .firmware.discovery import FirmwareNotFound, FirmwareSet, open_firmware_set
from .gpu.chips import BootPath, Chipset, vgpu_board
from .gsp.boot import GspDevice, boot
from .hw.events import Timeline
from .hw.irq import MODES
from .hw.trace import record_device


def synthetic_firmware_root() -> Path:
    """Where :func:`sim_firmware` writes the synthetic set (``$NOVA_CACHE/synthetic-firmware``)."""
    return cache_dir() / "synthetic-firmware"


def sim_firmware(chip: Chipset | str, version: str | None = None, *,
                 roots: Sequence[str | os.PathLike[str]] | None = None, synthetic: bool | None = None) -> FirmwareSet:
    """The firmware a simulated boot uses: the installed set when there is one (``roots`` or the search path:
    ``NOVA_FIRMWARE_PATH``, /lib/firmware), otherwise a synthetic set generated once into
    :func:`synthetic_firmware_root`. ``synthetic=True`` forces the synthetic set, ``False`` the real one."""
    chipset = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    if synthetic is not True:
        try:
            return open_firmware_set(chipset, version,
                                     roots=None if roots is None else [Path(r) for r in roots])
        except FirmwareNotFound:
            if synthetic is False:
                raise
    from .sim.synth import firmware as synth
    from .sim.synth.generic_bootloader import write_generic_bootloader

    ver = version or (synth.FSP_DEFAULT_VERSION if chipset.facts.boot_path is BootPath.FSP else synth.DEFAULT_VERSION)
    if ver not in synth.VERSIONS:
        raise BootError(f"no synthetic firmware for version {ver!r} (synthetic versions: {', '.join(synth.VERSIONS)})"
                        f"; install the real files (firmware-nvidia-graphics) or choose a synthetic version")
    root = synthetic_firmware_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        # processes sharing the cache write it one at a time (a bare descriptor: a file object's open is five
        # syscalls, and each hands the GIL over when simulated GPUs boot in threads)
        lock = os.open(root / ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return open_firmware_set(chipset, ver, roots=[root])
            except (FirmwareNotFound, NovaError):
                synth.write_firmware_tree(root, [chipset], ver)
                if chipset.facts.needs_fwsec_bootloader:
                    write_generic_bootloader(root, [chipset])
                return open_firmware_set(chipset, ver, roots=[root])
        finally:
            os.close(lock)  # (closing the last descriptor of the open file releases the lock)
    except OSError as e:
        raise BootError(f"cannot write the synthetic firmware set into {str(root)!r}: "
                        f"{e.strerror or e}{f' ({e.filename})' if e.filename else ''}; set NOVA_CACHE to a writable "
                        f"directory") from None


def boot_sim(chip: Chipset | str = "ad102", *, vbios: str | os.PathLike[str] | bytes | None = None,
             firmware_version: str | None = None, synthetic: bool | None = None,
             firmware_roots: Sequence[str | os.PathLike[str]] | None = None, pci_device: int | None = None,
             until: str | None = None, timeline: Timeline | None = None, gpu: Any = None,
             record: str | os.PathLike[str] | None = None, interrupts: Sequence[str] = MODES,
             vgpu: bool = False) -> GspDevice:
    """Boot a simulated GPU (a REPL shortcut: ``nova_core.boot_sim("ga102")``).

    The sim is told which firmware the driver uses (as a real GPU "knows" its signed firmware); ``gpu`` boots an
    existing :class:`~nova_core.sim.SimGpu` again (a second boot of the same device). ``record``: every BAR access
    of the boot and of its shutdown goes to this trace file (:mod:`nova_core.hw.trace`), closed with the device;
    ``interrupts`` the delivery modes to try (``("poll",)``: none). Closing the returned device also closes the
    firmware set. ``vgpu=True`` boots the chip's vGPU board
    (:data:`~nova_core.gpu.chips.VGPU_BOARDS`: the L40 for AD102 - SR-IOV linked, its VRAM) instead of the
    representative GeForce board; :func:`sim_vgpu_types` then gives the vGPU types its GSP-RM serves.
    """
    from .sim import SimGpu

    chipset = chip if isinstance(chip, Chipset) else Chipset.parse(chip)
    if vgpu:
        if pci_device is not None or gpu is not None:
            raise BootError("boot_sim(vgpu=True) picks the vGPU board's PCI id itself: no pci_device or gpu with it")
        pci_device = vgpu_board(chipset).pci_device_id
    if gpu is None:
        rom = Path(vbios) if isinstance(vbios, (str, os.PathLike)) else vbios
        gpu = SimGpu(chipset, vbios=rom, pci_device=pci_device)
    fw = sim_firmware(gpu.chipset, firmware_version, roots=firmware_roots, synthetic=synthetic)
    try:
        root = next(iter(fw.files.values())).root
        model = "fsp" if gpu.chipset.facts.boot_path is BootPath.FSP else "secure_chain"
        gpu.models[model].expect_firmware(root, fw.version)
        dev = gpu.device()
        if record is not None:
            dev = record_device(dev, record, command="boot", firmware=fw.version, synthetic=fw.synthetic)
    except BaseException:
        fw.close()
        raise
    try:
        result = boot(dev, firmware=fw, firmware_version=firmware_version, until=until, timeline=timeline,
                      interrupts=interrupts)
    except BaseException:
        fw.close()
        dev.close()  # a failed boot was torn down already: the trace is complete
        raise
    result._own_firmware = True
    result._on_close.append(dev.close)
    return result



def sim_vgpu_types(gpu: GspDevice) -> bytes:
    """The vGPU types the simulated GSP-RM of ``gpu`` serves (NVA081_CTRL_VGPU_INFO records of its version) - what a
    vGPU host package gives a real vGPU manager (:meth:`VgpuManager.load_types
    <nova_core.api.vgpu.manager.VgpuManager.load_types>`).

    Raises:
        BootError: ``gpu`` is not a simulated GPU, or its GSP-RM serves no types (not a vGPU board, not running).
    """
    from .sim.gsp_rm.model import SimGspRm

    sim = gpu.dev.sim
    rm = getattr(sim, "models", {}).get("gsp_rm")
    if not isinstance(rm, SimGspRm) or rm.vgpu is None:
        raise BootError(f"{gpu.name}: not a simulated GPU with GSP-RM running: no vGPU types to take from it")
    infos = rm.vgpu.type_infos()
    if not infos:
        raise BootError(f"{gpu.name}: its GSP-RM serves no vGPU types (a vGPU board boots with boot_sim(vgpu=True))")
    return infos
