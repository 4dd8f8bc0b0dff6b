"""``nova aux``: the auxiliary devices a booted GPU publishes, and the drivers bound to them.

``nova aux --sim CHIP`` boots the simulated GPU under :class:`~nova_core.api.core.NovaCore`, which publishes its
auxiliary devices (``nova-core.nova-drm.<id>``); the bus binds each to a registered driver or loads one through
the ``nova_core.aux_drivers`` entry points (nova_drm is declared there). It prints the devices, the drivers and
the entry points, then shuts everything down (every driver removed before the GPU)::

    {"gpu", "chip", "devices": [{"name", "match", "id", "parent", "driver", "probe_error"}],
     "drivers": [{"name", "id_table", "bound"}], "entry_points": [{"name", "value", "error"}]}
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import typer

from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    find_rom,
    print_json,
)


def run_aux(chip: str, *, vbios: Path | None = None, firmware_version: str | None = None,
            synthetic: bool | None = None) -> dict[str, Any]:
    """Boot ``chip``, publish its auxiliary devices, report the bus; shut down. What ``nova aux --json`` prints."""
    from ...api import ENTRY_POINT_GROUP, NovaCore, bus
    from ...sim_boot import boot_sim

    core = NovaCore(boot_sim(chip, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic), bus=bus)
    try:
        mine = core.aux_devices()
        drivers = [{"name": d.name, "id_table": list(d.id_table),
                    "bound": [a.full_name for a in mine if a.driver is d]} for d in bus.drivers()]
        eps = [{"name": ep.name, "value": ep.value,
                "error": bus.load_errors.get(f"{ep.name}={ep.value}")}
               for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
        spec = core.gpu.spec
        return {"gpu": core.name, "chip": spec.chipset.name.lower() if spec else chip,
                "devices": [a.as_json() for a in mine], "drivers": drivers, "entry_points": eps}
    finally:
        core.shutdown()


def aux(
    sim: str | None = SimOpt,
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    json_: bool = JsonOpt,
) -> None:
    """Boot the simulated GPU and list its auxiliary devices and the drivers bound to them."""
    r = run_aux(sim or DEFAULT_SIM, vbios=find_rom(vbios, "--vbios"), firmware_version=firmware_version,
                synthetic=synthetic)
    if json_:
        print_json(r)
        return
    out = console()
    out.print(f"[bold]{r['gpu']}[/bold] ({r['chip']}): {len(r['devices'])} auxiliary device(s)")
    for d in r["devices"]:
        state = f"bound to [bold]{d['driver']}[/bold]" if d["driver"] else (
            f"unbound (probe failed: {d['probe_error']})" if d["probe_error"] else "unbound (no driver matches)")
        out.print(f"  {d['name']:<28} {state}")
    for drv in r["drivers"]:
        out.print(f"  driver {drv['name']!r} matches {', '.join(drv['id_table'])}")
    for ep in r["entry_points"]:
        if ep["error"]:
            out.print(f"  [red]entry point {ep['name']} = {ep['value']} failed to load: {ep['error']}[/red]")


def register(root: typer.Typer) -> None:
    root.command("aux")(aux)
