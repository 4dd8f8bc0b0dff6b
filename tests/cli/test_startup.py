"""Start-up: ``nova --help`` lists every command without importing the command modules; a command imports only its
own module; the source index (cli/main.py ``_index``) says what the modules' ``register`` really adds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nova_core.cli import commands
from nova_core.cli.main import _index, _index_source, _load
from nova_core.cli.output import reflow_help

COMMANDS_DIR = Path(commands.__path__[0])
MODULES = sorted(p.stem for p in COMMANDS_DIR.glob("*.py") if p.stem != "__init__")


def _first_paragraph(text: str) -> str:
    return text.strip().split("\n\n")[0]


@pytest.mark.parametrize("module", MODULES)
def test_source_index_matches_what_register_adds(module: str) -> None:
    found = _index_source(COMMANDS_DIR / f"{module}.py")
    real = _load(module)
    assert found is not None, f"{module}: register() not understood from source (it would be imported for --help)"
    assert [name for name, _ in found] == list(real)
    for name, text in found:
        # the commands re-flow their help (cli.main.NovaCommand); so does the listing
        assert _first_paragraph(reflow_help(text) or "") == _first_paragraph(real[name].help or ""), name


def test_index_covers_every_command_once() -> None:
    index = _index()
    assert set(index) >= {"boot", "probe", "regs", "mm", "pci", "list", "vbios", "fw", "gsp-log", "mount",
                          "falcon", "irq", "ce", "aux"}
    assert {module for module, _ in index.values()} == set(MODULES)


def _modules_after(args: list[str]) -> tuple[int, list[str]]:
    code = (f"import json, sys\nfrom nova_core.cli.main import main\nrc = main({args!r})\n"
            "print(json.dumps([rc, sorted(m for m in sys.modules if m.startswith('nova_core') or m == 'numpy')]),"
            " file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    rc, mods = json.loads(proc.stderr.strip().splitlines()[-1])
    return rc, mods


def test_help_imports_no_command_module_no_numpy_no_boot() -> None:
    rc, mods = _modules_after(["--help"])
    assert rc == 0
    assert not [m for m in mods if m.startswith("nova_core.cli.commands.")]
    assert "numpy" not in mods and "nova_core.gsp.boot" not in mods and "nova_core.falcon" not in mods


def test_a_command_imports_only_its_own_module() -> None:
    rc, mods = _modules_after(["regs", "decode", "0x0", "0x192000a1"])
    assert rc == 0
    assert [m for m in mods if m.startswith("nova_core.cli.commands.")] == ["nova_core.cli.commands.regs"]
    assert "nova_core.gsp.boot" not in mods


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from nova_core.cli.main import main

    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_probe_on_the_sim_imports_no_numpy_no_emulator_no_boot() -> None:
    """`nova probe --sim` reads four registers and the vBIOS version: numpy, the falcon emulator, the FWSEC parser
    and the boot sequence are imported where they are used, not by probing."""
    rc, mods = _modules_after(["probe", "--sim", "ad102", "--json"])
    assert rc == 0
    assert [m for m in mods if m.startswith("nova_core.cli.commands.")] == ["nova_core.cli.commands.probe"]
    heavy = {"numpy", "nova_core.sim.falcon_emu", "nova_core.vbios.fwsec", "nova_core.gsp.boot", "nova_core.gsp.cmdq"}
    assert heavy.isdisjoint(mods), heavy & set(mods)
