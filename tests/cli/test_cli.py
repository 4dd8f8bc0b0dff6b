"""The nova command: probe and regs, JSON keys, one-line errors and exit codes."""

from __future__ import annotations

import json

import pytest

from nova_core.cli.main import main
from nova_core.gpu import Chipset

Capture = pytest.CaptureFixture[str]


def run_json(args: list[str], capsys: Capture) -> object:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("chip", list(Chipset))
def test_probe_json_is_right_for_every_chip(chip: Chipset, capsys: Capture) -> None:
    out = run_json(["probe", "--sim", chip.lower], capsys)
    assert isinstance(out, dict)
    assert out["chipset"] == chip.name and out["chipset_id"] == int(chip)
    assert out["architecture"] == chip.architecture.family
    assert out["revision"] == "A1"
    assert out["vram_bytes"] == chip.facts.sim_vram_mib << 20


def test_probe_default_is_ad102(capsys: Capture) -> None:
    assert main(["probe"]) == 0
    text = capsys.readouterr().out
    assert "AD102" in text and "24 GiB" in text and "A1" in text


def test_errors_are_one_line_and_exit_1(capsys: Capture) -> None:
    assert main(["probe", "--sim", "gx100"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nova: error: unknown chipset 'gx100'")


def test_traceback_option(capsys: Capture) -> None:
    assert main(["--traceback", "probe", "--sim", "gx100"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_device_errors(capsys: Capture) -> None:
    assert main(["probe", "--device", "9999:99:1f.7"]) == 1
    assert "no PCI device 9999:99:1f.7" in capsys.readouterr().err
    assert main(["probe", "--device", "bogus"]) == 1
    assert "not a PCI address" in capsys.readouterr().err
    assert main(["probe", "--sim", "tu102", "--device", "0000:01:00.0"]) == 1
    assert "choose one of --sim, --device" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: Capture) -> None:
    assert main(["probe", "--no-such-option"]) == 2
    assert main(["frobnicate"]) == 2


def test_help(capsys: Capture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "probe" in out and "regs" in out and "--sim" in out


def test_regs_decode(capsys: Capture) -> None:
    out = run_json(["regs", "decode", "0x0", "0x192000a1"], capsys)
    assert isinstance(out, dict) and out["register"] == "NV_PMC_BOOT_0"
    assert {f["name"]: f["value"] for f in out["fields"]}["architecture_0"] == 0x19
    assert main(["regs", "decode", "0x0", "0x192000a1"]) == 0
    assert "architecture_0" in capsys.readouterr().out


def test_regs_decode_relative_and_by_name(capsys: Capture) -> None:
    out = run_json(["regs", "decode", "0x840100", "0x10"], capsys)
    assert isinstance(out, dict) and out["label"] == "SEC2.NV_PFALCON_FALCON_CPUCTL"
    out = run_json(["regs", "decode", "NV_PFALCON_FALCON_CPUCTL", "0x10", "--instance", "gsp"], capsys)
    assert isinstance(out, dict) and out["offset"] == 0x110100
    assert main(["regs", "decode", "NV_PFALCON_FALCON_CPUCTL", "0x10"]) == 1
    assert "add --instance" in capsys.readouterr().err
    assert main(["regs", "decode", "0x123450", "0"]) == 1
    assert "no register is declared at offset 0x123450" in capsys.readouterr().err
    assert main(["regs", "decode", "0x300010", "0"]) == 1
    assert "inside window NV_PROM_DATA" in capsys.readouterr().err
    assert main(["regs", "decode", "0x0", "0x1ffffffff"]) == 1
    assert main(["regs", "decode", "0x0", "zz"]) == 1
    assert "not a number" in capsys.readouterr().err


def test_regs_find_and_show(capsys: Capture) -> None:
    out = run_json(["regs", "find", "BOOT_42"], capsys)
    assert isinstance(out, list) and [r["name"] for r in out] == ["NV_PMC_BOOT_42"]
    assert out[0]["offset"] == 0xA00
    assert main(["regs", "find", "nothing_like_this"]) == 1
    out = run_json(["regs", "show", "NV_PFALCON_FBIF_TRANSCFG"], capsys)
    assert isinstance(out, dict) and out["fields"][0]["enum"]["COHERENT_SYSMEM"] == 1
    assert main(["regs", "show", "NV_PFALCON_FALCON_DMATRFCMD"]) == 0
    assert "SIZE_256B=6" in capsys.readouterr().out
    assert main(["regs", "show", "NV_PFALCON_FALCON_IMEMC"]) == 0
    assert "on TU102: blk 15:8 RW" in capsys.readouterr().out
    out = run_json(["regs", "show", "NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF"], capsys)
    assert isinstance(out, dict) and out["count"] == 8 and out["variants"] == [
        {"chips": "GH100+", "offset": out["offset"], "count": 16, "fields": {}}]


def test_regs_read_live(capsys: Capture) -> None:
    out = run_json(["regs", "read", "NV_PMC_BOOT_42", "--sim", "gb202"], capsys)
    assert isinstance(out, dict)
    assert {f["name"]: f["value"] for f in out["fields"]}["architecture"] == 0x1B


# -- issue 22: help text as the terminal wraps it; flags without a type placeholder; no-argument help -----------

def _commands() -> list[tuple[str, object]]:
    from typer.main import get_command

    from nova_core.cli.main import build_app

    root = get_command(build_app())
    ctx = root.context_class(root)
    out: list[tuple[str, object]] = [("nova", root)]
    for name in root.list_commands(ctx):  # type: ignore[attr-defined]
        cmd = root.get_command(ctx, name)  # type: ignore[attr-defined]  # the root imports a module when asked
        out.append((name, cmd))
        for sub, subcmd in getattr(cmd, "commands", {}).items():
            out.append((f"{name} {sub}", subcmd))
    return out


def test_every_help_paragraph_is_one_line() -> None:
    """Docstrings are hard-wrapped in the source; rich would keep those breaks and give ragged lines."""
    for name, cmd in _commands():
        text = getattr(cmd, "help", None) or ""
        for para in text.split("\n\n"):
            lines = para.split("\n")
            assert len(lines) == 1 or all(ln.lstrip().startswith(("- ", "* ")) for ln in lines[1:]), (name, para)


@pytest.mark.parametrize("argv", [["--help"], ["boot", "--help"], ["gsp-log", "--help"], ["fw", "--help"],
                                  ["regs", "read", "--help"]])
def test_help_shows_no_bool_placeholder_and_no_ragged_lines(argv: list[str], capsys: Capture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "<bool>" not in out
    # prose lines (one space of indent, outside the option panels): a line followed by more of its paragraph was
    # filled to the width - its next word would not have fitted - or the source's hard wrap came through
    rows = [ln.rstrip() for ln in out.splitlines()]
    prose = [ln.startswith(" ") and ln[1:2].strip() != "" for ln in rows]
    for i in range(len(rows) - 1):
        if prose[i] and prose[i + 1]:
            assert len(rows[i]) + 1 + len(rows[i + 1].split()[0]) > 100 - 4, (rows[i], rows[i + 1])


def test_reflow_keeps_paragraphs_bullets_and_indentation() -> None:
    from nova_core.cli.output import reflow_help

    text = ("First line.\n\nA paragraph wrapped\n    in the source.\n\n  [cyan]x[/cyan]  an example\n  continued"
            "\n\n- a\n- b")
    assert reflow_help(text) == ("First line.\n\nA paragraph wrapped in the source.\n\n  [cyan]x[/cyan]  an example "
                                 "continued\n\n- a\n- b")
    assert reflow_help("\b\nkept\nas is") == "\b\nkept\nas is"
    assert reflow_help(None) is None


@pytest.mark.parametrize("argv", [[], ["regs"], ["mm"]])
def test_no_arguments_prints_the_help(argv: list[str], capsys: Capture) -> None:
    assert main(argv) == 2  # click's convention: the help, and a usage status
    out, err = capsys.readouterr()
    assert "Usage: nova" in out and "Traceback" not in err
