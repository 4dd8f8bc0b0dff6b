"""``nova vgpu``: vGPUs on the simulated GPU's SR-IOV VFs - the types GSP-RM serves, vGPUs created, what is left.

``nova vgpu --sim ad102 --vfs 4 --create 1:1004 --create 2:1004 --json`` boots the chip's vGPU board (AD102: an L40;
:data:`~nova_core.gpu.chips.VGPU_BOARDS`), lets the ``nova-core.vgpu-mgr`` driver take it, loads the vGPU types the
simulated GSP-RM serves, enables the VFs, creates each vGPU (VFs numbered from 1) and prints::

    {"types": [{"id", "name", "fb_bytes", "max_instances"}],
     "vgpus": [{"vf", "type", "gfid", "fb": {"addr", "size"}, "chids": {"first", "count"}}],
     "free_fb_bytes", "free_chids"}

then shuts everything down (each vGPU destroyed, GSP-RM unloaded). A create GSP-RM or the manager refuses - a VF out
of range or in use, a type unknown or at its maximum, FB or channel ids that no longer fit - is an error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ...errors import NovaError
from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    find_rom,
    human_bytes,
    print_json,
)

if TYPE_CHECKING:
    from ...api import NovaCore
    from ...api.vgpu import VgpuManager

HELP = """Create vGPUs on the SR-IOV VFs of a simulated vGPU board and report types, vGPUs and what is left.

--sim CHIP boots the chip's vGPU board (ad102: L40, ga102: A40, ad104: L4, ga100: A100 PCIe 80GB); --vfs N enables N
VFs; each --create VF:TYPE_ID creates a vGPU of that type on that VF (VFs numbered from 1, type ids as listed).

[bold]Example[/bold]

  [cyan]nova vgpu --sim ad102 --vfs 4 --create 1:1004 --create 2:1004 --json[/cyan]
"""

MAX_CREATES = 64  #: --create given more often than any board has VFs is refused before the boot


def parse_create(text: str) -> tuple[int, int]:
    """``VF:TYPE_ID`` (decimal or 0x..) -> (vf, type id); VF from 1, type id positive and 32-bit."""
    vf_s, sep, type_s = text.partition(":")
    try:
        if not sep:
            raise ValueError
        vf, tid = int(vf_s.strip(), 0), int(type_s.strip(), 0)
    except ValueError:
        raise NovaError(f"--create {text!r}: VF:TYPE_ID expected (e.g. 1:1004)") from None
    if vf < 1:
        raise NovaError(f"--create {text!r}: VFs are numbered from 1")
    if not 0 < tid <= 0xFFFFFFFF:
        raise NovaError(f"--create {text!r}: a type id is a positive 32-bit number")
    return vf, tid


def open_vgpus(chip: str, vfs: int, creates: list[tuple[int, int]], **boot: Any) -> tuple[NovaCore, VgpuManager]:
    """Boot ``chip``'s vGPU board, take its bound manager, load the types its GSP-RM serves, enable ``vfs`` VFs and
    create ``creates`` (``nova vgpu``, ``nova mount --vfs``). The caller shuts the core down."""
    from ...api import NovaCore
    from ...api.vgpu import vgpu_manager
    from ...gpu.chips import Chipset, vgpu_board
    from ...sim_boot import boot_sim, sim_vgpu_types

    vgpu_board(Chipset.parse(chip))  # a chip without a vGPU board is refused before anything boots
    if creates and not vfs:
        raise NovaError("--create needs VFs: give --vfs N")
    gpu = boot_sim(chip, vgpu=True, **boot)
    core = NovaCore(gpu)
    try:
        mgr = vgpu_manager(core)
        mgr.load_types(sim_vgpu_types(gpu))
        if vfs:
            mgr.enable_vfs(vfs)
        for vf, tid in creates:
            mgr.create(vf, tid)
    except BaseException:
        core.shutdown()
        raise
    return core, mgr


def run_vgpu(chip: str, vfs: int, creates: list[tuple[int, int]], *, vbios: Path | None = None,
             firmware_version: str | None = None, synthetic: bool | None = None) -> dict[str, Any]:
    """Boot, enable ``vfs`` VFs, create ``creates``: what ``nova vgpu`` prints (see the module docstring)."""
    from ...gpu.chips import Chipset, vgpu_board

    core, mgr = open_vgpus(chip, vfs, creates, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic)
    with core:
        result = mgr.as_json()
        creatable = {v.index: mgr.creatable_types(v.index) for v in mgr.vfs()}
    return {"json": result, "board": vgpu_board(Chipset.parse(chip)).board, "creatable": creatable}


def vgpu_cmd(
    sim: str | None = SimOpt,
    vfs: int = typer.Option(0, "--vfs", metavar="N", help="Virtual functions to enable (1..TotalVFs)."),
    create: list[str] = typer.Option([], "--create", metavar="VF:TYPE_ID",  # noqa: B008
                                     help="Create a vGPU of TYPE_ID on VF (repeatable; VFs from 1)."),
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    json_: bool = JsonOpt,
) -> None:
    if vfs < 0:
        raise NovaError(f"--vfs {vfs}: a number of VFs is not negative")
    if len(create) > MAX_CREATES:
        raise NovaError(f"--create given {len(create)} times: at most {MAX_CREATES}")
    creates = [parse_create(c) for c in create]
    r = run_vgpu(sim or DEFAULT_SIM, vfs, creates, vbios=find_rom(vbios, "--vbios"),
                 firmware_version=firmware_version, synthetic=synthetic)
    if json_:
        print_json(r["json"])
        return
    out = console()
    j = r["json"]
    out.print(f"[bold]{(sim or DEFAULT_SIM).lower()}[/bold] ({r['board']}): {len(j['types'])} vGPU types, "
              f"{len(r['creatable'])} VF(s), {len(j['vgpus'])} vGPU(s)")
    for t in j["types"]:
        out.print(f"  type {t['id']:<6} {t['name']:<20} {human_bytes(t['fb_bytes']):>10}  at most {t['max_instances']}")
    for v in j["vgpus"]:
        out.print(f"  VF {v['vf']}: type {v['type']} (gfid {v['gfid']}), FB {v['fb']['addr']:#x} "
                  f"+{human_bytes(v['fb']['size'])}, channels {v['chids']['first']}..."
                  f"{v['chids']['first'] + v['chids']['count'] - 1}")
    for vf, types in r["creatable"].items():
        out.print(f"  VF {vf} creatable: {', '.join(str(t.type_id) for t in types) or 'none'}")
    out.print(f"  free: {human_bytes(j['free_fb_bytes'])} of FB, {j['free_chids']} channel ids")


def register(app: typer.Typer) -> None:
    app.command("vgpu", help=HELP)(vgpu_cmd)
