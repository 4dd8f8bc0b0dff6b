"""nova_core.cli.output: what every command shares at start-up, kept light (``cli.main`` imports it before any
command): re-flowed help text, and whether this run printed its JSON document (so a failure with ``--json`` adds
one only when the command did not)."""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

_json_state = {"printed": False}


def reset_json_state() -> None:
    _json_state["printed"] = False


def mark_json_printed() -> None:
    _json_state["printed"] = True


def emit_error_json(exc: BaseException, message: str) -> None:
    """With ``--json``, a failure is JSON too: ``{"error": {"type", "message", ...}}`` on stdout, unless the command
    already printed its own document (``nova boot --json`` puts the error in it)."""
    if _json_state["printed"]:
        return
    err: dict[str, Any] = {"type": type(exc).__name__, "message": message}
    stage = getattr(exc, "stage", None)
    if isinstance(stage, str):
        err["stage"] = stage
    sys.stdout.write(json.dumps({"error": err}, indent=2) + "\n")
    mark_json_printed()


def reflow_help(text: str | None) -> str | None:
    """Help text with each paragraph on one line (rich wraps it to the terminal; a hard wrap in the source would be
    kept and give ragged lines). Paragraphs are separated by blank lines; a line starting with ``- `` or ``* ``
    starts a new line of its paragraph; a paragraph starting with ``\\b`` is kept as written."""
    if not text:
        return text
    out = []
    for para in inspect.cleandoc(text).split("\n\n"):
        if para.startswith("\b"):
            out.append(para)
            continue
        lines: list[str] = []
        for raw in para.split("\n"):
            line = raw.strip()
            if not lines or line.startswith(("- ", "* ")):
                lines.append(raw.rstrip() if not lines else raw[:len(raw) - len(raw.lstrip())] + line)
            elif line:
                lines[-1] += " " + line
        out.append("\n".join(lines))
    return "\n\n".join(out)
