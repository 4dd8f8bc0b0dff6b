"""Every ``nova`` command against a table of bad arguments (issue 22): a path that is missing, a directory, empty,
``/dev/zero``, huge, unreadable, or a file of the wrong kind; outputs that cannot be written; bad numbers, names
and empty values. Each must end with a non-zero status, exactly one ``nova: error:`` line on stderr, no
traceback, and within a few seconds (nothing is booted or read in full first); with ``--json`` the failure is a
JSON document on stdout.

"Unreadable" is simulated in-process: these tests run as root, whom file modes do not stop, so ``os.open`` of that
one path raises ``PermissionError`` (EACCES) as the kernel would for another user. ``test_as_an_unprivileged_user``
runs the real thing in a subprocess under uid ``nobody`` (``setpriv``) where that is possible.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nova_core.cli.main import main
from nova_core.gpu.chips import Chipset
from nova_core.sim.synth.firmware import build_booter
from nova_core.sim.synth.vbios import build_vbios

HUGE = 300 << 20  #: over every input cap (the largest, a GSP image's, is 256 MiB); a sparse file, nothing is read

#: (name, argv with {} for the bad path) of every input a command reads from a file
INPUTS = [
    ("vbios FILE", ["vbios", "{}"]),
    ("vbios --vbios", ["vbios", "--vbios", "{}"]),
    ("vbios --replay", ["vbios", "--replay", "{}"]),
    ("fw FILE", ["fw", "{}"]),
    ("fw FILE --chip", ["fw", "{}", "--chip", "ga102", "--fused-version", "1"]),
    ("fw FILE --chip gh100", ["fw", "{}", "--chip", "gh100"]),
    ("pci --file", ["pci", "--file", "{}"]),
    ("probe --replay", ["probe", "--replay", "{}"]),
    ("probe --vbios", ["probe", "--vbios", "{}"]),
    ("regs read --replay", ["regs", "read", "NV_PMC_BOOT_0", "--replay", "{}"]),
    ("regs read --vbios", ["regs", "read", "NV_PMC_BOOT_0", "--vbios", "{}"]),
    ("mm stats --replay", ["mm", "stats", "--replay", "{}"]),
    ("boot --vbios", ["boot", "--vbios", "{}"]),
    ("gsp-log --vbios", ["gsp-log", "--vbios", "{}"]),
    ("irq --vbios", ["irq", "--vbios", "{}"]),
    ("irq --no-boot --vbios", ["irq", "--no-boot", "--vbios", "{}"]),
    ("gsp-log --log-elf", ["gsp-log", "--log-elf", "{}"]),
    ("mount --vbios", ["mount", "{mnt}", "--vbios", "{}"]),
    ("mount --log-elf", ["mount", "{mnt}", "--log-elf", "{}"]),
    ("ce copy --vbios", ["ce", "copy", "--size", "4k", "--vbios", "{}"]),
    ("gr --vbios", ["gr", "--vbios", "{}"]),
    ("aux --vbios", ["aux", "--vbios", "{}"]),
    ("falcon disasm FILE", ["falcon", "disasm", "{}"]),
    ("falcon disasm --vbios", ["falcon", "disasm", "--vbios", "{}"]),
    ("falcon run --vbios", ["falcon", "run", "--vbios", "{}"]),
    ("vgpu --vbios", ["vgpu", "--vfs", "1", "--vbios", "{}"]),
]
BAD_INPUTS = ["missing", "missing-dir", "directory", "empty", "/dev/zero", "huge", "unreadable", "text",
              "other-kind"]
#: served, not refused: the simulated GPU shows any ROM bytes through its PROM window - a board with a corrupt ROM
#: - and probe and regs read identify the chip without parsing it, irq --no-boot arms the tree without reading it
#: (tests/vbios: an unparseable ROM is survived)
ACCEPTED = {("probe --vbios", "text"), ("probe --vbios", "other-kind"), ("regs read --vbios", "text"),
            ("regs read --vbios", "other-kind"), ("irq --no-boot --vbios", "text"),
            ("irq --no-boot --vbios", "other-kind"),
            # any bytes are falcon code to a disassembler (undecodable ones are shown as such)
            ("falcon disasm FILE", "text"), ("falcon disasm FILE", "other-kind")}

#: (name, argv with {} for the bad path) of every output a command writes
OUTPUTS = [
    ("probe --record", ["probe", "--record", "{}"]),
    ("regs read --record", ["regs", "read", "NV_PMC_BOOT_0", "--record", "{}"]),
    ("vbios --extract-fwsec", ["vbios", "--sim", "ga102", "--extract-fwsec", "{}", "--frts-offset", "0x100000"]),
    ("boot --trace", ["boot", "--trace", "{}"]),
]
BAD_OUTPUTS = ["missing-dir", "directory", "/dev/zero", "/proc"]
OUTPUT_DIRS = [("boot --save-logs", ["boot", "--save-logs", "{}"]), ("mount DIR", ["mount", "{}"])]
BAD_OUTPUT_DIRS = ["a-file", "/dev/zero", "/proc"]

#: everything else: (argv, what the one error line says)
OTHERS = [
    (["fw"], "give a firmware FILE, or --chip CHIP"),
    (["mount"], "Missing argument 'DIR'"),
    (["regs", "decode"], "Missing argument"),
    (["regs", "decode", "0x0", "zz"], "is not a number"),
    (["regs", "show", "NV_NO_SUCH"], "NV_NO_SUCH"),
    (["regs", "find", ""], "an argument is given an empty value"),
    (["probe", "--sim", ""], "--sim is given an empty value"),
    (["probe", "--sim=", "--json"], "--sim is given an empty value"),
    (["probe", "--sim", "gx100"], "unknown chipset 'gx100'"),
    (["probe", "--device", "bogus"], "not a PCI address"),
    (["pci", "--sim", "ga102", "--file", "x"], "give exactly one of"),
    (["pci", "../decoy"], "not a PCI address"),
    (["list", "extra"], "unexpected extra argument"),
    (["mm", "walk", "--sim", "ad102", "notanumber"], "is not a number"),
    (["mm", "stats", "--vram-mib", "-5"], "-5"),
    (["boot", "--pci-device", "-1"], "a PCI device id is 16 bits"),
    (["boot", "--pci-device", "0x1ffff"], "a PCI device id is 16 bits"),
    (["boot", "--until", "nope"], "is not a stage"),
    (["boot", "--sim", "gh100", "--until", "booter-load", "--json"], "is not on GH100's boot path (fsp)"),
    (["boot", "--sim", "tu102", "--until", "fsp-cot"], "is not on TU102's boot path (sec2-booter)"),
    (["boot", "--sim", "gb202", "--firmware-version", "1.2.3"], "no synthetic firmware for version '1.2.3'"),
    (["fw", "--chip", "gh100", "--firmware-version", "1.2.3"], "1.2.3"),
    (["irq", "--mode", "msi-y"], "--mode 'msi-y': modes are msi-x, msi, intx, poll"),
    (["irq", "--sim", ""], "--sim is given an empty value"),
    (["irq", "--sim", "gb202", "--firmware-version", "1.2.3", "--json"], "no synthetic firmware for version"),
    (["gsp-log", "--last", "0"], "--last"),
    (["gsp-log", "--last", "-1"], "--last"),
    (["gsp-log", "--ring", "LOGX"], "the rings are"),
    (["vbios", "--command", "zap", "--sim", "ga102"], "expected frts or sb"),
    (["fw", "--chip", "ga102", "--fused-version", "-1"], "--fused-version"),
    (["ce", "copy", "--size", "zz"], "is not a size"),
    (["ce", "copy", "--size", "0"], "must be positive"),
    (["ce", "copy", "--size", "64G", "--json"], "at most 2 GiB"),
    (["ce", "copy", "--seed", "-1"], "non-negative"),
    (["ce", "copy", "--direction", "up"], "one of h2d, d2h, d2d, h2h"),
    (["ce", "copy", "--size", "4k", "--engine", "ce99"], "no engine 'ce99'"),
    (["ce", "copy", "--size", "4k", "--engine", "gr0"], "not a copy engine"),
    (["gr", "--sim", ""], "--sim is given an empty value"),
    (["gr", "--sim", "gx100", "--json"], "unknown chipset 'gx100'"),
    (["gr", "--sim", "gb202", "--firmware-version", "1.2.3"], "no synthetic firmware for version '1.2.3'"),
    (["aux", "--sim", "gx100"], "unknown chipset 'gx100'"),
    (["aux", "--sim", "", "--json"], "--sim is given an empty value"),
    (["aux", "--sim", "ga102", "--real", "--firmware-version", "9.9.9", "--json"], "no gsp firmware for GA102 version"),
    (["aux", "--vbios", ""], "--vbios is given an empty value"),
    (["aux", "--firmware-version", "1.2.3", "--synthetic"], "no synthetic firmware for version '1.2.3'"),
    (["aux", "extra"], "unexpected extra argument"),
    (["vgpu", "--vfs", "-1"], "not negative"),
    (["vgpu", "--vfs", "zz"], "Invalid value for '--vfs'"),
    (["vgpu", "--vfs", "99"], "the PF supports 1..16"),
    (["vgpu", "--create", "1:1004"], "--create needs VFs"),
    (["vgpu", "--vfs", "2", "--create", "nope"], "VF:TYPE_ID expected"),
    (["vgpu", "--vfs", "2", "--create", "0:1004"], "VFs are numbered from 1"),
    (["vgpu", "--vfs", "2", "--create", "1:0"], "a type id is a positive 32-bit number"),
    (["vgpu", "--vfs", "2", "--create", "1:0x100000000"], "a type id is a positive 32-bit number"),
    (["vgpu", "--vfs", "2", "--create", "3:1004"], "VF 3 is out of range: VFs 1..2"),
    (["vgpu", "--vfs", "2", "--create", "1:4242"], "no vGPU type 4242"),
    (["vgpu", "--vfs", "2", "--create", "1:1004", "--create", "1:1001", "--json"], "VF 1 is in use"),
    (["vgpu", "--vfs", "2", "--create", "1:1010", "--create", "2:1001"], "channel ids no longer fit"),
    (["vgpu", "--sim", "tu102"], "TU102 has no vGPU board"),
    (["vgpu", "--sim", "gx100"], "unknown chipset 'gx100'"),
    (["frobnicate"], "No such command"),
    (["probe", "--no-such-option"], "No such option"),
]


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("bad-args")
    (d / "adir").mkdir()
    (d / "mnt").mkdir()
    (d / "empty.bin").touch()
    with (d / "huge.bin").open("wb") as f:
        f.truncate(HUGE)
    (d / "text.txt").write_text("The quick brown fox jumps over the lazy dog.\n")
    (d / "secret.bin").write_bytes(build_booter(Chipset.GA102, "booter_load").data)
    (d / "secret.bin").chmod(0o600)
    (d / "rom.rom").write_bytes(build_vbios(Chipset.GA102))
    (d / "booter.bin").write_bytes(build_booter(Chipset.GA102, "booter_load").data)
    (d / "a-file").write_text("x")
    return {"missing": str(d / "nothere.bin"), "missing-dir": str(d / "no" / "such" / "dir" / "x.bin"),
            "directory": str(d / "adir"), "empty": str(d / "empty.bin"), "/dev/zero": "/dev/zero",
            "huge": str(d / "huge.bin"), "unreadable": str(d / "secret.bin"), "text": str(d / "text.txt"),
            "rom": str(d / "rom.rom"), "booter": str(d / "booter.bin"), "a-file": str(d / "a-file"),
            "/proc": "/proc/nova-nope/x", "mnt": str(d / "mnt")}


@pytest.fixture
def unreadable(bad: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``os.open`` of the "unreadable" file fails with EACCES, as it would for a user without read permission."""
    real = os.open
    target = os.path.realpath(bad["unreadable"])

    def fake_open(path: object, flags: int, *args: object, **kw: object) -> int:
        if os.path.realpath(os.fsdecode(path)) == target:  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))  # type: ignore[arg-type]
        return real(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)
    yield


def _expect_one_error(argv: list[str], capsys: pytest.CaptureFixture[str], json_: bool = False) -> str:
    t0 = time.perf_counter()
    rc = main(argv)
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert rc != 0, (argv, out, err)
    lines = [ln for ln in err.splitlines() if "nova: error:" in ln]  # (nova boot's progress lines may precede it)
    assert len(lines) == 1 and lines[0].startswith("nova: error: ") and err.rstrip().endswith(lines[0]), (argv, err)
    assert "Traceback" not in err + out
    assert elapsed < 5.0, (argv, elapsed)
    if json_:
        assert "error" in json.loads(out), (argv, out)
    return lines[0]


def _other_kind(name: str, bad: dict[str, str]) -> str:
    """A real file of another format: firmware where a ROM is expected, a ROM everywhere else."""
    return bad["booter"] if "vbios" in name and "log-elf" not in name else bad["rom"]


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize(("name", "argv"), INPUTS, ids=[n for n, _ in INPUTS])
def test_bad_inputs(name: str, argv: list[str], kind: str, bad: dict[str, str], unreadable: None,
                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _other_kind(name, bad) if kind == "other-kind" else bad[kind]
    args = [a.replace("{mnt}", bad["mnt"]).replace("{}", path) for a in argv]
    if (name, kind) in ACCEPTED:
        assert main(args) == 0
        assert "Traceback" not in capsys.readouterr().err
        return
    line = _expect_one_error(args, capsys)
    if kind in ("/dev/zero", "directory"):
        assert "not a regular file" in line or "is a directory" in line, line
    if kind == "huge":
        assert "bytes (300 MiB)" in line, line
    if kind == "unreadable":
        assert "Permission denied" in line, line


@pytest.mark.parametrize(("name", "argv"), INPUTS[:6], ids=[n for n, _ in INPUTS[:6]])
def test_bad_inputs_with_json_fail_as_json(name: str, argv: list[str], bad: dict[str, str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.replace("{mnt}", bad["mnt"]).replace("{}", "/dev/zero") for a in argv]
    _expect_one_error([*args, "--json"], capsys, json_=True)


@pytest.mark.parametrize("kind", BAD_OUTPUTS)
@pytest.mark.parametrize(("name", "argv"), OUTPUTS, ids=[n for n, _ in OUTPUTS])
def test_bad_outputs(name: str, argv: list[str], kind: str, bad: dict[str, str],
                     capsys: pytest.CaptureFixture[str]) -> None:
    _expect_one_error([a.replace("{}", bad[kind]) for a in argv], capsys)


@pytest.mark.parametrize("kind", BAD_OUTPUT_DIRS)
@pytest.mark.parametrize(("name", "argv"), OUTPUT_DIRS, ids=[n for n, _ in OUTPUT_DIRS])
def test_bad_output_dirs(name: str, argv: list[str], kind: str, bad: dict[str, str],
                         capsys: pytest.CaptureFixture[str]) -> None:
    _expect_one_error([a.replace("{}", bad[kind]) for a in argv], capsys)


@pytest.mark.parametrize(("argv", "says"), OTHERS, ids=[" ".join(a) or "-" for a, _ in OTHERS])
def test_other_bad_arguments(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    line = _expect_one_error(argv, capsys, json_="--json" in argv)
    assert says in line, line


def test_a_gsp_fmc_over_its_own_cap_is_refused_before_it_is_read(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A file that starts like the GSP-FMC container (ELF32) is held to the FMC's cap (2 MiB, firmware/facts.py's
    FMC_FILE), not the GSP image's 256 MiB nor the booters' 4 MiB: refused up front, in one line."""
    from nova_core.firmware.facts import FMC_ELF_HEADER, MAX_FMC_FILE

    f = tmp_path / "fmc-570.144.bin"
    with f.open("wb") as out:
        out.write(FMC_ELF_HEADER)
        out.truncate(MAX_FMC_FILE + 1)
    line = _expect_one_error(["fw", str(f), "--chip", "gb202"], capsys)
    assert f"has {MAX_FMC_FILE + 1:,} bytes" in line and "no GSP-FMC file has more than 2 MiB" in line, line
    assert "199,820 bytes (gb202 fmc-570.144.bin)" in line, line


def test_every_command_is_in_the_table() -> None:
    """A new command must join the table: every command name appears in some row."""
    from typer.main import get_command

    from nova_core.cli.main import build_app

    root = get_command(build_app())
    names = set(root.list_commands(root.context_class(root)))  # type: ignore[attr-defined]
    tested = {row[1][0] for row in [*INPUTS, *OUTPUTS, *OUTPUT_DIRS]} | {argv[0] for argv, _ in OTHERS if argv}
    assert names - tested == set(), names - tested


# -- the real thing, as another user -------------------------------------------------------------------------

_SETPRIV = shutil.which("setpriv")
_NOBODY = 65534


def _as_nobody(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert _SETPRIV is not None
    cmd = [_SETPRIV, f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups", sys.executable, "-c",
           "import sys; from nova_core.cli.main import run; sys.argv[0] = 'nova'; run()", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory uid nobody can reach (pytest's own tmp_path lies under a root-only directory)."""
    with tempfile.TemporaryDirectory(prefix="nova-bad-args-") as d:
        os.chmod(d, 0o755)
        yield Path(d)


@pytest.mark.skipif(os.geteuid() != 0 or _SETPRIV is None, reason="needs root and setpriv to become nobody")
def test_as_an_unprivileged_user(bad: dict[str, str], world_dir: Path) -> None:
    """Run as uid nobody: a root-only firmware file and ROM (PermissionError before), an unwritable cache for the
    synthetic firmware (PermissionError on its lock file before)."""
    tmp_path = world_dir
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o700)  # nobody can neither read in it nor write to it
    (locked / "booter_load-535.113.01.bin").write_bytes(Path(bad["booter"]).read_bytes())
    (locked / "rom.rom").write_bytes(Path(bad["rom"]).read_bytes())
    secret = tmp_path / "secret.bin"
    secret.write_bytes(Path(bad["booter"]).read_bytes())
    secret.chmod(0o600)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "NOVA_CACHE": str(locked / "cache"),
           "NOVA_FIRMWARE_PATH": str(tmp_path / "none"), "PYTHONPATH": os.pathsep.join(sys.path)}
    hidden = str(locked / "booter_load-535.113.01.bin")  # in a directory nobody may search: stat fails too
    # a path that can be seen but not read is refused by the command-line parser itself (status 2); one in a
    # directory that cannot be searched reaches the readers, which say why (status 1)
    cases = [
        (["fw", str(secret)], "is not readable", 2),
        (["vbios", str(secret)], "is not readable", 2),
        (["pci", "--file", str(secret)], "is not readable", 2),
        (["fw", hidden], "Permission denied", 1),
        (["vbios", hidden], "Permission denied", 1),
        (["pci", "--file", hidden], "Permission denied", 1),
        (["probe", "--replay", hidden], "Permission denied", 1),
        (["probe", "--vbios", str(locked / "rom.rom")], "Permission denied", 1),
        (["gsp-log", "--log-elf", hidden], "Permission denied", 1),
        (["boot", "--sim", "ga102"], "cannot write the synthetic firmware set", 1),
    ]
    for argv, says, status in cases:
        r = _as_nobody(argv, env)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode == status, (argv, r.stderr)
        assert len(lines) == 1 and lines[0].startswith("nova: error: ") and says in lines[0], (argv, r.stderr)
        assert "Traceback" not in r.stderr
