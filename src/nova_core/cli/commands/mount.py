"""``nova mount DIR``: boot a device and serve a read-only, debugfs-like view of it at DIR (FUSE)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ...debugfs import ExportTree
from ...debugfs.fuse import check_mountpoint, load_fuse, mount
from ...errors import NovaError
from ...gsp.logs import LogDecoder
from ...sim_boot import boot_sim
from ..common import DEFAULT_SIM, FirmwareVersionOpt, LogElfOpt, SimOpt, SyntheticOpt, VbiosOpt, find_rom
from .vgpu import open_vgpus, parse_create

HELP = """Boot a device and serve a read-only, debugfs-like view of it at DIR until Ctrl-C.

DIR: an existing, empty directory, not a mount point yet. Per device (sim-ad102/ for a simulated AD102):

  [cyan]gsp/loginit gsp/logintr gsp/logrm[/cyan]  the raw libos log rings, read live; [cyan]gsp/*.txt[/cyan] as text

  [cyan]vbios.rom[/cyan]  the ROM the vBIOS was parsed from;  [cyan]info.json[/cyan]  the boot summary

  [cyan]regs/NAME[/cyan], [cyan]regs/NAME\\[i][/cyan], [cyan]regs/gsp/NAME[/cyan]  a register, read at open, decoded

  [cyan]irq/vectors[/cyan], [cyan]irq/info.json[/cyan]  the interrupts: mode, tree geometry, every vector, its count

  [cyan]vgpu/vfN/creatable_vgpu_types vgpu/vfN/current_vgpu_type[/cyan]  with --vfs: the chip's vGPU board, its VFs
  (--create VF:TYPE_ID makes vGPUs first)

Ctrl-C (SIGINT) or SIGTERM unmounts, then the device is shut down (UNLOADING_GUEST_DRIVER ... WPR2 cleared).
Needs libfuse (./dev fetches Debian's libfuse3 privately and sets FUSE_LIBRARY_PATH) and /dev/fuse.

[bold]Example[/bold]

  [cyan]mkdir /tmp/gpu && nova mount /tmp/gpu --sim ga102 &[/cyan]

  [cyan]cat /tmp/gpu/sim-ga102/regs/NV_PMC_BOOT_0[/cyan]
"""



def mount_cmd(
    mountpoint: Path = typer.Argument(..., metavar="DIR", help="An existing, empty directory."),  # noqa: B008
    sim: str | None = SimOpt,
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    log_elf: Path | None = LogElfOpt,
    vfs: int = typer.Option(0, "--vfs", metavar="N",
                            help="Boot the chip's vGPU board and enable N VFs (their vgpu/vfN/ files)."),
    create: list[str] = typer.Option([], "--create", metavar="VF:TYPE_ID",  # noqa: B008
                                     help="With --vfs: create a vGPU of TYPE_ID on VF first (repeatable)."),
) -> None:
    check_mountpoint(mountpoint)
    vbios = find_rom(vbios, "--vbios")
    if vfs < 0:
        raise NovaError(f"--vfs {vfs}: a number of VFs is not negative")
    creates = [parse_create(c) for c in create]
    decoder = LogDecoder.from_file(log_elf) if log_elf is not None else None
    load_fuse()  # fail before booting when FUSE cannot work here
    chip = sim or DEFAULT_SIM
    core = mgr = None
    if vfs or creates:
        core, mgr = open_vgpus(chip, vfs, creates, vbios=vbios, firmware_version=firmware_version,
                               synthetic=synthetic)
        gpu = core.gpu
    else:
        gpu = boot_sim(chip, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic)
    try:
        views = {gpu.name: mgr} if mgr is not None else {}
        tree = ExportTree([gpu], decoder=decoder, vgpu=views)
        name = next(iter(tree.root.children))
        sys.stderr.write(f"nova mount: {gpu.name} booted; serving {mountpoint}/{name}/ (Ctrl-C to unmount)\n")
        sys.stderr.flush()
        mount(tree, mountpoint)
    finally:
        if core is not None:
            core.shutdown()
        else:
            gpu.close()
    sys.stderr.write(f"nova mount: unmounted {mountpoint}; {gpu.name} shut down ({gpu.teardown_status})\n")


def register(app: typer.Typer) -> None:
    app.command("mount", help=HELP)(mount_cmd)
