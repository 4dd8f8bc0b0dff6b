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
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ..errors import NovaError
from . import commands
from .output import emit_error_json, reflow_help, reset_json_state

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


class _NovaHelp:
    """What every ``nova`` command and group shares, applied here rather than per command: the help text
    re-flowed (paragraphs hard-wrapped in the source become one line each, which rich wraps to the terminal), and
    flags shown without a ``<bool>`` placeholder."""

    help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow_help(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for p in params:
            if getattr(p, "is_flag", False) and getattr(p, "metavar", "") is None:
                p.metavar = ""  # rich shows the metavar in the type column; a flag takes no value
        return params


class NovaCommand(_NovaHelp, TyperCommand):
    """A ``nova`` command (see :class:`_NovaHelp`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Refuse an empty value (``--sim ""``, ``--vbios=``) before typer turns it into a default or ``Path(".")``."""
        for i, arg in enumerate(args):
            if arg == "--":
                break
            if arg == "" or (arg.startswith("--") and arg.endswith("=")):
                opt = arg[:-1] if arg else (args[i - 1] if i and args[i - 1].startswith("-") else "an argument")
                raise typer.BadParameter(f"{opt} is given an empty value", ctx=ctx)
        result: list[str] = super().parse_args(ctx, args)
        return result


class NovaGroup(_NovaHelp, TyperGroup):
    """A ``nova`` command group (see :class:`_NovaHelp`)."""


def _use_nova_classes(app: typer.Typer) -> None:
    for info in app.registered_commands:
        if info.cls is None or info.cls is TyperCommand:  # typer's default; a command's own class is kept
            info.cls = NovaCommand
    for group in app.registered_groups:
        if group.typer_instance is not None:
            group.typer_instance.info.cls = NovaGroup
            _use_nova_classes(group.typer_instance)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="nova",
        help=HELP,
        cls=NovaGroup,
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
    _use_nova_classes(app)
    return app


def _is_usage_error(exc: BaseException) -> bool:
    """A command-line parsing error of click (as typer raises it, vendored or not): it formats its own message and
    carries its exit status (2 for usage errors)."""
    return callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int)


def _fail(args: list[str], message: str, exc: BaseException, code: int) -> int:
    """One ``nova: error:`` line on stderr; with ``--json``, also the failure as JSON on stdout (unless the command
    already printed its document, which then carries the error)."""
    print(f"nova: error: {message}", file=sys.stderr)
    if "--json" in (args[:args.index("--")] if "--" in args else args):
        emit_error_json(exc, message)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nova`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Every failure ends in one line on stderr, ``nova: error: ...``, and a non-zero status: 1 for a
    :class:`~nova_core.errors.NovaError`, 2 for a command line that does not parse (click's usage errors, shown the
    same way); with ``--json`` the failure is also a JSON document on stdout. ``--traceback`` (or
    ``NOVA_TRACEBACK=1``) adds the Python traceback of a ``NovaError``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    show_tb = "--traceback" in args or os.environ.get("NOVA_TRACEBACK") == "1"
    reset_json_state()
    try:
        rv = build_app()(args=args, prog_name="nova", standalone_mode=False)
    except NovaError as exc:
        if show_tb:
            traceback.print_exc()
        return _fail(args, str(exc), exc, 1)
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 1
    except (KeyboardInterrupt, typer.Abort):
        print("nova: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `nova`, `nova regs`: typer printed the help already
            return int(exc.exit_code)  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        where = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        return _fail(args, f"{exc.format_message()}{where}", exc, int(exc.exit_code))  # type: ignore[attr-defined]
    if rv == 130:  # typer turned a KeyboardInterrupt into Exit(130)
        print("nova: interrupted", file=sys.stderr)
    return rv if isinstance(rv, int) else 0  # in this mode typer returns an Exit's code (--help: 0), else None


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
