"""nova_core.cli.main: the ``nova`` entry point.

``main(argv)`` runs in-process and returns the exit status (tests call it directly); ``run()`` is the
console script. Subcommands are discovered from :mod:`nova_core.cli.commands`: a module there that
defines ``register(app)`` adds its commands, so adding a command never edits this file.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

import typer

from ..errors import NovaError
from . import commands

HELP = """\
A driver core for NVIDIA GPUs with a GSP (Turing to Blackwell), with a strict simulated GPU.

Every command works on the simulated GPU by default: --sim CHIP picks the chip (AD102 if not given).
--device BDF reads a real GPU through sysfs, read-only; --replay FILE answers from a recorded trace;
--json gives machine-readable output.

[bold]Examples[/bold]

  [cyan]nova boot[/cyan]  bring GSP-RM up on the default simulated GPU (AD102) and shut it down again

  [cyan]nova boot --sim tu117 --until booter-load --trace boot.json[/cyan]  part of a boot, as a Perfetto trace

  [cyan]nova probe[/cyan]  identify the default simulated GPU (AD102)

  [cyan]nova probe --sim tu117 --json[/cyan]  the same for a simulated TU117, as JSON

  [cyan]nova probe --device 0000:01:00.0 --record probe.jsonl[/cyan]  a real GPU, recording every access

  [cyan]nova probe --replay probe.jsonl[/cyan]  the same probe, answered from the recording

  [cyan]nova regs decode 0x0 0x192000a1[/cyan]  what a BOOT_0 value means
"""


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="nova",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        traceback_: bool = typer.Option(False, "--traceback", help="Show the full Python traceback on errors."),
    ) -> None:
        """Root options (handled before parsing by :func:`main`)."""

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nova`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_tb = "--traceback" in args or os.environ.get("NOVA_TRACEBACK") == "1"
    try:
        build_app()(args=args, prog_name="nova", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except NovaError as exc:
        if show_tb:
            traceback.print_exc()
        print(f"nova: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 1
    except KeyboardInterrupt:
        print("nova: interrupted", file=sys.stderr)
        return 130
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
