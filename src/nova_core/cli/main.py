"""nova_core.cli.main: the ``nova`` entry point.

``main(argv)`` runs in-process and returns the exit status (tests call it directly); ``run()`` is the
console script. Subcommands are discovered from :mod:`nova_core.cli.commands`: a module there that
defines ``register(app)`` adds its commands, so adding a command never edits this file.

Start-up: a command module is imported only when its command runs (its imports - the boot sequence, numpy, the
simulated GPU - are what a command costs). The names and help lines ``nova --help`` lists are read from the
modules' source instead (:func:`_index`): what ``register`` adds (``app.command("name", help=H)(fn)`` and
``root.add_typer(app, name="name")``) and the help each would show (``help=``, the function's docstring, the
sub-app's ``typer.Typer(help=...)``). A module whose ``register`` says anything else is imported to find out.
"""

from __future__ import annotations

import _ast
import contextlib
import importlib
import inspect
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
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


def _literal(node: Any, consts: dict[str, str]) -> str | None:
    """A string the source states: a literal, a module-level constant, or an f-string's first paragraph when no
    placeholder comes before its end (all that ``nova --help`` lists of a command's help)."""
    if isinstance(node, _ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, _ast.Name):
        return consts.get(node.id)
    if isinstance(node, _ast.JoinedStr):
        head = ""
        for part in node.values:
            if not (isinstance(part, _ast.Constant) and isinstance(part.value, str)):
                break
            head += part.value
        first, sep, _ = head.partition("\n\n")
        return first if sep else None
    return None


def _keyword(call: Any, name: str, consts: dict[str, str]) -> str | None:
    return next((_literal(k.value, consts) for k in call.keywords if k.arg == name), None)


def _index_source(path: Path) -> list[tuple[str, str]] | None:
    """``(command name, help)`` of what the module's ``register`` adds, read from its source; ``None`` when its
    ``register`` holds anything but ``X.command("name"[, help=...])(function)`` and ``X.add_typer(app,
    name="name")`` with a literal or module-level constant for each string."""
    try:
        tree = compile(path.read_text(encoding="utf-8"), str(path), "exec", _ast.PyCF_ONLY_AST)
    except (OSError, SyntaxError, ValueError):
        return None
    consts: dict[str, str] = {}
    funcs: dict[str, Any] = {}
    typers: dict[str, Any] = {}
    register = None
    for node in tree.body:  # type: ignore[attr-defined]
        if isinstance(node, _ast.FunctionDef):
            funcs[node.name] = node
            if node.name == "register":
                register = node
        elif isinstance(node, _ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], _ast.Name):
            target, value = node.targets[0].id, node.value
            text = _literal(value, consts)
            if text is not None:
                consts[target] = text
            elif isinstance(value, _ast.Call) and isinstance(value.func, _ast.Attribute) \
                    and value.func.attr == "Typer":
                typers[target] = value
    if register is None:
        return None
    out: list[tuple[str, str]] = []
    for stmt in register.body:
        call = stmt.value if isinstance(stmt, _ast.Expr) else None
        if not isinstance(call, _ast.Call):
            return None
        inner = call.func
        if isinstance(inner, _ast.Call) and isinstance(inner.func, _ast.Attribute) and inner.func.attr == "command" \
                and len(inner.args) == 1 and len(call.args) == 1 and isinstance(call.args[0], _ast.Name):
            name = _literal(inner.args[0], consts)
            text = _keyword(inner, "help", consts)
            if text is None:
                fn = funcs.get(call.args[0].id)
                doc = None if fn is None else _docstring(fn)
                text = doc
            if name is None or text is None:
                return None
            out.append((name, text))
        elif isinstance(inner, _ast.Attribute) and inner.attr == "add_typer" and len(call.args) == 1 \
                and isinstance(call.args[0], _ast.Name) and call.args[0].id in typers:
            name = _keyword(call, "name", consts)
            text = _keyword(call, "help", consts) or _keyword(typers[call.args[0].id], "help", consts)
            if name is None or text is None:
                return None
            out.append((name, text))
        else:
            return None
    return out


def _docstring(fn: Any) -> str | None:
    first = fn.body[0] if fn.body else None
    if isinstance(first, _ast.Expr):
        text = _literal(first.value, {})
        return None if text is None else inspect.cleandoc(text)
    return None


def _index() -> dict[str, tuple[str, str]]:
    """Every command: ``{name: (module, help)}``, in the order ``nova --help`` lists them (modules by name)."""
    index: dict[str, tuple[str, str]] = {}
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        path = Path(commands.__path__[0]) / f"{mod.name}.py"
        found = _index_source(path) if not mod.ispkg else None
        if found is None:  # register() in another shape: ask the module itself
            found = [(c.name or "", c.help or "") for c in _load(mod.name).values()]
        for name, text in found:
            index[name] = (mod.name, text)
    return index


def _load(module: str) -> dict[str, Any]:
    """The click commands a command module's ``register`` adds."""
    mod = importlib.import_module(f"{commands.__name__}.{module}")
    register = getattr(mod, "register", None)
    if register is None:
        return {}
    sub = typer.Typer(rich_markup_mode="rich")
    register(sub)
    _use_nova_classes(sub)
    group = typer.main.get_group(sub)
    return dict(group.commands)


class _LazyGroup(NovaGroup):
    """The root group: lists commands from :func:`_index`, imports a command's module when it is used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index: dict[str, tuple[str, str]] | None = None
        self._listing = False

    def _commands(self) -> dict[str, tuple[str, str]]:
        if self._index is None:
            self._index = _index()
        return self._index

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in self._commands() if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        if not self._listing and self._index is None:
            # a command runs: the module of its own name (``gsp-log``: gsp_log.py) is tried before the index
            # (which reads every command module's source)
            module = cmd_name.replace("-", "_")
            if module.isidentifier() and (Path(commands.__path__[0]) / f"{module}.py").is_file():
                for name, command in _load(module).items():
                    self.commands.setdefault(name, command)
                if cmd_name in self.commands:
                    return self.commands[cmd_name]
        entry = self._commands().get(cmd_name)
        if entry is None:
            return None
        module, text = entry
        if self._listing:  # nova --help: the name and help line, without importing the module
            return NovaCommand(cmd_name, help=text)
        for name, command in _load(module).items():
            self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="nova",
        help=HELP,
        cls=_LazyGroup,
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

    return app  # the commands: _LazyGroup


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
