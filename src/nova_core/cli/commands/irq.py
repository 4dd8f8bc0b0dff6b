"""``nova irq``: boot the simulated GPU and show its interrupts - delivery mode, VFN tree geometry, every vector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ...hw.irq import MODES
from ...sim_boot import boot_sim
from ..common import DEFAULT_SIM, FirmwareVersionOpt, JsonOpt, SyntheticOpt, console, print_json

HELP = """Boot the simulated GPU and show its interrupts after the boot: how they are delivered (msi-x, msi, intx
or poll), the VFN interrupt tree's geometry (TOP registers, subtrees, leaves), and every vector of the interrupt
table GSP-RM gave - each engine's stall and non-stall vector - with the handler installed and how many times it ran.
The GSP's vector counts the messages that woke RPC waiters during the boot.

--mode tries the given delivery modes in order (default msi-x, msi, intx; the simulated GeForce parts offer MSI,
compute parts MSI-X); --mode poll boots without interrupts, as nova-core did before them. Hopper and Blackwell
(booted through the FSP, GSP-RM 570.144) have the larger tree: 16 leaves, re-armed through the top-level enables.
--no-boot only opens the interrupts and arms the tree (no GSP-RM, so no vector table): the geometry alone.

[bold]Examples[/bold]

  [cyan]nova irq --sim ga102 --json[/cyan]   mode, geometry and vectors as JSON

  [cyan]nova irq --sim tu102 --mode poll[/cyan]   the same boot, every wait polling

  [cyan]nova irq --sim gh100 --json[/cyan]   Hopper: 16 leaves, MSI-X, the GSP's vector from GSP-RM's table

  [cyan]nova irq --sim gb202 --no-boot --json[/cyan]   Blackwell's tree alone
"""

_SIM = typer.Option(None, "--sim", metavar="CHIP", help="Simulated chip (default ad102).")
_VBIOS = typer.Option(None, "--vbios", metavar="FILE", help="ROM file the simulated GPU serves.")
_MODE = typer.Option([], "--mode", metavar="MODE", help="Delivery mode to try (msi-x, msi, intx, poll; repeatable).")
_NO_BOOT = typer.Option(False, "--no-boot", help="Open the interrupts and arm the tree only (no GSP-RM).")


def irq_cmd(
    sim: str | None = _SIM,
    vbios: Path | None = _VBIOS,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    mode: list[str] = _MODE,
    no_boot: bool = _NO_BOOT,
    json_: bool = JsonOpt,
) -> None:
    modes = [m.lower() for m in mode] or list(MODES)
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise NovaError(f"--mode {bad[0]!r}: modes are {', '.join(MODES)}")
    if no_boot:
        _show(_tree_only(sim or DEFAULT_SIM, vbios, modes), json_)
        return
    gpu = boot_sim(sim or DEFAULT_SIM, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic,
                   interrupts=modes)
    try:
        view = gpu.interrupts()
    finally:
        gpu.close()
    if view is None:  # pragma: no cover - boot_sim runs every stage
        raise NovaError(f"{gpu.name}: the boot did not reach the interrupts stage")
    fw = gpu.firmware
    _show({"device": gpu.name, "chipset": gpu.spec.chipset.name if gpu.spec else None,
           "firmware_version": None if fw is None else fw.version,
           "firmware_synthetic": None if fw is None else fw.synthetic, **view, "teardown": gpu.teardown_status}, json_)


def _tree_only(chip: str, vbios: Path | None, modes: list[str]) -> dict[str, Any]:
    """The device's interrupts opened and its tree armed, with no GSP-RM (so no vector table)."""
    from ...irq import VfnController, open_irq
    from ...sim import SimGpu

    sim = SimGpu(chip, vbios=vbios)
    dev = sim.device()
    irq = open_irq(dev, prefer=modes)
    try:
        rearm = sim.facts.msi_rearm_xve and irq.mode == "msi"
        vfn = VfnController(dev.bar0, sim.facts.vfn_leaves, irq, msi_rearm=rearm)
        vfn.attach()
        view = vfn.view()
        vfn.detach()
    finally:
        irq.close()
    return {"device": dev.name, "chipset": sim.chipset.name, **view, "backend": irq.backend.describe(),
            "reports": list(irq.reports), "teardown": None}


def _show(out: dict[str, Any], json_: bool) -> None:
    view = out
    if json_:
        print_json(out)
        return
    con = console()
    con.print(f"[bold]{out['device']}[/bold]: {view['backend']}", markup=True)
    con.print(f"VFN tree: {view['top']} TOP register, {view['subtrees']} subtrees, {view['leaves']} leaves "
              f"(vectors 0..{view['leaves'] * 32 - 1})")
    con.print(f"{'vector':>6}  {'leaf':>4}  {'bit':>3}  {'kind':<8}  {'name':<16}  {'count':>6}  handler")
    for v in view["vectors"]:
        vec = v["vector"]
        con.print(f"{vec:>6}  {vec // 32:>4}  {vec % 32:>3}  {v['kind']:<8}  {v['name']:<16}  {v['count']:>6}  "
                  f"{v['handler'] or '-'}", markup=False)
    gsp = view.get("gsp")
    if gsp:
        con.print(f"GSP: {gsp['messages']} message interrupt(s), {gsp['halts']} halt(s), {gsp['missed']} wait(s) "
                  f"that found their message with no interrupt")
    for line in view.get("reports", []):
        con.print(f"report: {line}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("irq", help=HELP)(irq_cmd)
