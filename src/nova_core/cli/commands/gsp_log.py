"""``nova gsp-log``: boot the simulated GPU and print GSP-RM's log rings (LOGINIT, LOGINTR, LOGRM)."""

from __future__ import annotations

from pathlib import Path

import typer

from ...errors import NovaError
from ...gsp.boot import STAGES, BootFailed
from ...gsp.logs import LogDecoder, read_logs
from ...sim_boot import boot_sim
from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    LogElfOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    find_rom,
    print_json,
)

HELP = """Boot the simulated GPU and print GSP-RM's libos log rings (LOGINIT, LOGINTR, LOGRM).

The rings are read after the device was shut down (so the unload is in them), or after a failed boot -
the point of reading them. A record is (arguments..., metadata pointer, timestamp); the argument counts and
printf formats live in the firmware's logging ELF (.fwlogging_* sections), which linux-firmware does not
ship: without --log-elf the rings are shown as their put pointer and raw words, as they are.

[bold]Examples[/bold]

  [cyan]nova gsp-log --sim ga102 --sim-log-elf[/cyan]  decoded with the simulated GSP-RM's own logging ELF

  [cyan]nova gsp-log --log-elf gsp_log.elf --ring LOGRM --last 20 --json[/cyan]  the last 20 RM records
"""

_RINGS = ("LOGINIT", "LOGINTR", "LOGRM")


_UNTIL = typer.Option(None, "--until", metavar="STAGE", help="Stop the boot after this stage.")
_SIM_LOG_ELF = typer.Option(False, "--sim-log-elf",
                    help="Decode with the simulated GSP-RM's own logging ELF.")
_RING = typer.Option([], "--ring", metavar="NAME", help="LOGINIT, LOGINTR or LOGRM (repeatable).")
_LAST = typer.Option(None, "--last", metavar="N", min=1, help="Only the newest N records (or words).")


def gsp_log(
    sim: str | None = SimOpt,
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    until: str | None = _UNTIL,
    log_elf: Path | None = LogElfOpt,
    sim_log_elf: bool = _SIM_LOG_ELF,
    ring: list[str] = _RING,
    last: int | None = _LAST,
    json_: bool = JsonOpt,
) -> None:
    if log_elf is not None and sim_log_elf:
        raise NovaError("choose one of --log-elf and --sim-log-elf")
    wanted = [r.upper() for r in ring] or list(_RINGS)
    bad = [r for r in wanted if r not in _RINGS]
    if bad:
        raise NovaError(f"--ring {bad[0]!r}: the rings are {', '.join(_RINGS)}")
    if until is not None and until not in STAGES:
        raise NovaError(f"--until {until!r} is not a stage; stages: {', '.join(STAGES)}")
    vbios = find_rom(vbios, "--vbios")
    decoder = LogDecoder.from_file(log_elf) if log_elf is not None else None
    failure: BootFailed | None = None
    try:
        g = boot_sim(sim or DEFAULT_SIM, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic,
                     until=until)
        g.close()
        rings = g.log_buffers()
        version = g.firmware.version if g.firmware else None
    except BootFailed as e:
        failure = e
        rings = e.logs
        version = e.device.firmware.version if e.device.firmware else None
    if sim_log_elf:
        from ...sim.synth.logging_elf import build_logging_elf

        decoder = LogDecoder.from_bytes(build_logging_elf(version or "535.113.01"),
                                        source="the simulated GSP-RM's logging ELF")
    snaps = read_logs({n: rings[n] for n in wanted if n in rings}, decoder)
    if json_:
        print_json({"firmware_version": version, "decoded": decoder is not None,
                    "error": None if failure is None else str(failure),
                    "rings": [s.as_json(last=last) for s in snaps]})
    else:
        out = console()
        if not snaps:
            out.print("no log rings: the boot failed before they were allocated")
        for s in snaps:
            lines = s.render(last=last)
            out.print(f"[bold]{lines[0]}[/bold]", markup=True)
            for ln in lines[1:]:
                out.print(ln, markup=False)
    if failure is not None:
        raise failure


def register(app: typer.Typer) -> None:
    app.command("gsp-log", help=HELP)(gsp_log)
