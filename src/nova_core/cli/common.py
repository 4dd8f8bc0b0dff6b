"""nova_core.cli.common: options shared by commands: which device, and how to print.

Device selection, in order of precedence: ``--replay FILE`` (a recorded trace), ``--device BDF`` (a real
GPU through sysfs, read-only), otherwise the simulated GPU ``--sim CHIP`` (AD102 by default, with
``--vbios FILE`` to serve a real ROM from its PROM window). ``--record FILE`` records every BAR access
of the run to a trace that ``--replay`` can answer from.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, overload

import typer
from rich.console import Console

from ..errors import NovaError, did_you_mean
from ..hw.device import Device
from .output import mark_json_printed

DEFAULT_SIM = "ad102"

SimOpt = typer.Option(None, "--sim", metavar="CHIP",
                      help="Simulated chip (tu102 ... gb207; default ad102 when no --device/--replay).")
DeviceOpt = typer.Option(None, "--device", metavar="BDF",
                         help="Real GPU at this PCI address, read-only through sysfs (needs root).")
VbiosOpt = typer.Option(None, "--vbios", metavar="FILE",
                        help="ROM file the simulated GPU serves through its PROM window (a bare NAME is also looked "
                             "for in $NOVA_VBIOS_DIR and the checkout's ../shared/vbios).")
ReplayOpt = typer.Option(None, "--replay", metavar="FILE", help="Answer from a recorded trace.")
RecordOpt = typer.Option(None, "--record", metavar="FILE", help="Record every BAR access to a trace.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")
# the options of commands that boot GSP-RM (boot, gsp-log, mount)
FirmwareVersionOpt = typer.Option(None, "--firmware-version", metavar="V",
                                  help="GSP-RM version (default: the first complete set found).")
SyntheticOpt = typer.Option(None, "--synthetic/--real",
                            help="Force the synthetic firmware set, or require the installed one.")
LogElfOpt = typer.Option(None, "--log-elf", metavar="FILE",
                         help="GSP-RM logging ELF (.fwlogging_* sections) to decode the log records with.")


def open_device(sim: str | None = None, device: str | None = None, vbios: Path | None = None,
                replay: Path | None = None, record: Path | None = None) -> Device:
    """Open what the options name (see the module docstring)."""
    chosen = [name for name, v in (("--sim", sim), ("--device", device), ("--replay", replay)) if v]
    if len(chosen) > 1:
        raise NovaError(f"choose one of {', '.join(chosen)}")
    if vbios is not None and (device or replay):
        raise NovaError("--vbios applies to the simulated GPU only")
    if replay is not None:
        from ..hw.trace import open_replay

        dev = open_replay(replay)
    elif device is not None:
        from ..hw.sysfs import open_sysfs_device

        dev = open_sysfs_device(device)
    else:
        from ..sim import SimGpu

        dev = SimGpu(sim or DEFAULT_SIM, vbios=find_rom(vbios, "--vbios")).device()
    if record is not None:
        from ..hw.trace import record_device

        dev = record_device(dev, record)
    return dev


#: where ROM files named without a directory are looked for: $NOVA_VBIOS_DIR, then the project's shared folder
#: beside a checkout (``../shared/vbios``; see DEVELOPERS.md)
VBIOS_DIR_ENV = "NOVA_VBIOS_DIR"


def rom_dirs() -> list[Path]:
    """The directories a bare ROM name is looked for in (those that exist), in order."""
    dirs = []
    env = os.environ.get(VBIOS_DIR_ENV)
    if env:
        dirs.append(Path(env))
    checkout = Path(__file__).resolve().parents[3]  # src/nova_core/cli/common.py -> the checkout (editable install)
    if (checkout / "pyproject.toml").is_file():
        dirs.append(checkout.parent / "shared" / "vbios")
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


@overload
def find_rom(path: None, option: str) -> None: ...
@overload
def find_rom(path: Path, option: str) -> Path: ...
def find_rom(path: Path | None, option: str) -> Path | None:
    """The ROM file ``path`` names: as given, or - a bare name - in :func:`rom_dirs`; checked to be a readable
    regular file within a ROM's size cap before anything else runs. A clear error saying where it looked (and the
    closest names there) otherwise."""
    from ..files import check_input
    from ..vbios.facts import ROM_FILE

    if path is None:
        return None
    found = path
    if not os.path.lexists(path) and path.parent == Path("."):  # (lexists: False, not an error, where not allowed)
        dirs = rom_dirs()
        hit = next((d / path for d in dirs if os.path.lexists(d / path)), None)
        if hit is None:
            names = [f.name for d in dirs for f in d.iterdir() if f.suffix == ".rom"]
            where = ", ".join([f"{Path.cwd()}"] + [str(d) for d in dirs])
            if not dirs:
                where += f" (set ${VBIOS_DIR_ENV} to a folder of ROMs to look there too)"
            raise NovaError(f"{option} {str(path)!r}: no such file; looked in {where}"
                            f"{did_you_mean(path.name, names)}")
        found = hit
    check_input(found, ROM_FILE)
    return found


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (stable key order as given)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
    mark_json_printed()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "as_json"):
        return obj.as_json()
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def parse_int(text: str, what: str) -> int:
    """Parse ``0x..``, ``0o..``, ``0b..`` or decimal; a clear error otherwise."""
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        raise NovaError(f"{what} {text!r} is not a number (use 0x for hex, e.g. 0x{text})") from None


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.2f} {unit}"
    return f"{n} B"
