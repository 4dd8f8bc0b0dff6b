#!/usr/bin/env python3
"""plant_fact: plant one wrong hardware fact at a time in a copy of the tree and show that the test command fails.

The simulated GPU takes its offsets, fields, enums and chip table from the same modules as the driver, so a wrong
fact there can leave every boot test green; the facts are pinned by checks that read neither (the register
reference generated from NVIDIA's headers, tinygrad's dev_mmu, literals from NVIDIA's sources, an IOMMU that hands
out bus addresses above 1 TiB). This tool checks that claim: for each plant below (one text substitution, which must
match exactly once) it runs the test command in a copy of the tree - ruff and pytest as ``./dev test`` runs them
(and mypy --strict with ``--full``: a changed literal does not change a type, so mypy alone cannot catch a plant;
leaving it out can only miss a failure, never invent one) - and reports the first step or test that failed. A
plant that leaves the command green is reported as SURVIVED and the tool exits 1.

To stay cheap, the tree is copied once (the files git tracks plus the untracked ones it does not ignore) and each
plant is applied and reverted in that copy; pytest stops at the first failure (``-x``) and runs the fact-pinning
tests first (:data:`FACT_TESTS_FIRST`), then, in a second run, the rest. It runs with this checkout's virtual
environment and ``PYTHONPATH`` pointing at the copy's ``src``.

Usage::

    .venv/bin/python tools/plant_fact.py             # every plant (a few minutes)
    .venv/bin/python tools/plant_fact.py --list      # what would be planted
    .venv/bin/python tools/plant_fact.py --only dmactl-offset --only pde-aperture-swap
    .venv/bin/python tools/plant_fact.py --full      # mypy too, for each plant
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: run first, in this order (pytest merges overlapping paths into one collection, so the rest is a second run)
FACT_TESTS_FIRST = ["tests/regs", "tests/mm/test_formats.py", "tests/gpu", "tests/fsp", "tests/falcon", "tests/sim"]


@dataclass(frozen=True)
class Plant:
    id: str
    what: str  #: the wrong fact, in words
    path: str
    old: str
    new: str


PLANTS: list[Plant] = [
    # the five of issue 13 (four survived the suite before it)
    Plant("dmactl-offset", "NV_PFALCON_FALCON_DMACTL at 0xC8 instead of 0x10C", "src/nova_core/regs/falcon.py",
          "class NV_PFALCON_FALCON_DMACTL(Register, domain=FALCON, offset=0x10C)",
          "class NV_PFALCON_FALCON_DMACTL(Register, domain=FALCON, offset=0x0C8)"),
    Plant("sec2-fuse-offset", "the SEC2 fuse-version array at 0x824180 instead of 0x824140",
          "src/nova_core/regs/fuse.py", "offset=0x824140", "offset=0x824180"),
    Plant("dmatrfcmd-imem-bit", "DMATRFCMD.IMEM at bit 6 instead of 4", "src/nova_core/regs/falcon.py",
          'imem = Field(4, 4, doc=', 'imem = Field(6, 6, doc='),
    Plant("pde-aperture-swap", "PDE apertures: coherent and non-coherent system memory swapped (2 <-> 3)",
          "src/nova_core/regs/mmu.py",
          "    VIDEO_MEMORY = 1\n    SYSTEM_COHERENT_MEMORY = 2\n    SYSTEM_NON_COHERENT_MEMORY = 3\n\n\nclass PteAp",
          "    VIDEO_MEMORY = 1\n    SYSTEM_COHERENT_MEMORY = 3\n    SYSTEM_NON_COHERENT_MEMORY = 2\n\n\nclass PteAp"),
    Plant("dmatrfbase1-unwritten", "DMATRFBASE1 (DMA address bits 48:40) never written",
          "src/nova_core/falcon/engine.py",
          "NV_PFALCON_FALCON_DMATRFBASE1.write(self.bar, base >> 40, base=self.base)",
          "NV_PFALCON_FALCON_DMATRFBASE1.addr(self.base)  # planted: never written"),
    # more: a wrong offset, field bit, enum value, per-family fact, array geometry, chip table entry
    Plant("boot42-arch-bits", "NV_PMC_BOOT_42.ARCHITECTURE at 28:24 instead of 29:24", "src/nova_core/regs/pmc.py",
          "architecture = Field(29, 24, RO", "architecture = Field(28, 24, RO"),
    Plant("wpr2-hi-offset", "NV_PFB_PRI_MMU_WPR2_ADDR_HI at 0x1FA82C instead of 0x1FA828", "src/nova_core/regs/pfb.py",
          "offset=0x1FA828", "offset=0x1FA82C"),
    Plant("queue-head-offset", "NV_PGSP_QUEUE_HEAD at 0x110C08 instead of 0x110C00", "src/nova_core/regs/gsp.py",
          "offset=0x110C00", "offset=0x110C08"),
    Plant("bar0-window-enum", "NV_PBUS_BAR0_WINDOW.TARGET SYS_MEM_COHERENT = 1 instead of 2",
          "src/nova_core/regs/pbus.py",
          "SYS_MEM_COHERENT = 2", "SYS_MEM_COHERENT = 1"),
    Plant("fbif-target-swap", "FBIF TRANSCFG.TARGET coherent/non-coherent sysmem swapped (1 <-> 2)",
          "src/nova_core/regs/falcon.py", "    COHERENT_SYSMEM = 1\n    NONCOHERENT_SYSMEM = 2\n",
          "    COHERENT_SYSMEM = 2\n    NONCOHERENT_SYSMEM = 1\n"),
    Plant("invalidate-trigger-bit", "MMU_INVALIDATE.TRIGGER at bit 30 instead of 31", "src/nova_core/regs/mmu.py",
          "trigger = Field(31, 31, WO", "trigger = Field(30, 30, WO"),
    Plant("bcr-core-select-bit", "RISCV_BCR_CTRL.CORE_SELECT at bit 5 instead of 4", "src/nova_core/regs/falcon.py",
          "core_select = Field(4, 4, enum=CoreSelect)", "core_select = Field(5, 5, enum=CoreSelect)"),
    Plant("imemc-tu102-width", "IMEMC.BLK 23:8 on TU102 too (the header has 15:8 there)",
          "src/nova_core/regs/falcon.py",
          'blk = Field(15, 8, doc="256-byte block")', 'blk = Field(23, 8, doc="256-byte block")'),
    Plant("ptimer-nsec-bits", "PTIMER TIME_0.NSEC 31:0 instead of 31:5", "src/nova_core/regs/ptimer.py",
          "    nsec = Field(31, 5)\n\n\nclass NV_PTIMER_TIME_0_GH100",
          "    nsec = Field(31, 0)\n\n\nclass NV_PTIMER_TIME_0_GH100"),
    Plant("leaf-count-gh100", "8 VFN interrupt leaves on GH100+ instead of 16", "src/nova_core/regs/vfn.py",
          'CPU_INTR_LEAF, chips="GH100+", count=16)', 'CPU_INTR_LEAF, chips="GH100+", count=8)'),
    Plant("ga102-signature", "GA10x GSP signature section .fwsignature_tu10x", "src/nova_core/gpu/chips.py",
          'sig = ".fwsignature_ga10x"', 'sig = ".fwsignature_tu10x"'),
    Plant("ga104-id", "GA104 chip id 0x175 instead of 0x174", "src/nova_core/gpu/chips.py",
          "GA104 = 0x174", "GA104 = 0x175"),
    # Hopper and Blackwell only (registers the Turing-to-Ada boots never touch)
    Plant("fsp-queue-head-offset", "NV_PFSP_QUEUE_HEAD (GH100+) at 0x8F2C08 instead of 0x8F2C00",
          "src/nova_core/regs/fsp.py", "offset=0x8F2C00", "offset=0x8F2C08"),
    Plant("hwcfg2-lockdown-bit", "HWCFG2.RISCV_BR_PRIV_LOCKDOWN (GH100+) at bit 14 instead of 13",
          "src/nova_core/regs/falcon.py", "riscv_br_priv_lockdown = Field(13, 13, RO,",
          "riscv_br_priv_lockdown = Field(14, 14, RO,"),
    Plant("gh100-flush-hi-offset", "NV_PFB_FBHUB_PCIE_FLUSH_SYSMEM_ADDR_HI (GH100) at 0x100A3C instead of 0x100A38",
          "src/nova_core/regs/pfb.py", "offset=0x100A38", "offset=0x100A3C"),
    Plant("xal-window-gh100-width", "NV_XAL_EP_BAR0_WINDOW.BASE 22:0 on GH100 too (the gh100 header has 21:0)",
          "src/nova_core/regs/xal.py", "    base_ = Field(21, 0, ", "    base_ = Field(22, 0, "),
    Plant("gb202-doorbell-bit", "GB20x DOORBELL.RUNLIST_DOORBELL at bit 31 instead of 30",
          "src/nova_core/regs/usermode.py", "runlist_doorbell = Field(30, 30, WO",
          "runlist_doorbell = Field(31, 31, WO"),
    # an enum value
    Plant("display-fuse-enum", "NV_FUSE_STATUS_OPT_DISPLAY.DATA: ENABLE and DISABLE swapped (0 <-> 1)",
          "src/nova_core/regs/fuse.py",
          "    ENABLE = 0  #: the display engine is there (``_DATA_ENABLE``)\n    DISABLE = 1",
          "    ENABLE = 1  #: the display engine is there (``_DATA_ENABLE``)\n    DISABLE = 0"),
]


def copy_tree(dst: Path) -> None:
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           check=True, capture_output=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = REPO / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)


def environment(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree / "src")
    env.setdefault("NOVA_VBIOS_DIR", str(REPO.parent / "shared" / "vbios"))
    if "NOVA_FIRMWARE_PATH" not in env:  # what ./dev test fetched (cached; nothing is downloaded if it is there)
        res = subprocess.run([sys.executable, str(REPO / "tools" / "fetch_artifacts.py")], capture_output=True,
                             text=True, check=False)
        lines = res.stdout.strip().splitlines()
        if res.returncode == 0 and lines and Path(lines[-1]).is_dir():
            env["NOVA_FIRMWARE_PATH"] = lines[-1]
    return env


def run_test_command(tree: Path, env: dict[str, str], timeout: int, *, full: bool = False) -> tuple[str, str]:
    """(``"pass"`` or the step that failed, the first failing test or error line)."""
    bindir = Path(sys.executable).parent
    steps = [
        ("ruff", [str(bindir / "ruff"), "check", "src", "tests", "benchmarks", "tools"]),
        *([("mypy", [str(bindir / "mypy")])] if full else []),
        ("pytest", [sys.executable, "-m", "pytest", "-x", "-q", *FACT_TESTS_FIRST]),
        ("pytest", [sys.executable, "-m", "pytest", "-x", "-q", "tests",
                    *(f"--ignore={p}" for p in FACT_TESTS_FIRST)]),
    ]
    for name, cmd in steps:
        try:
            res = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout,
                                 check=False)
        except subprocess.TimeoutExpired:
            return name, f"timed out after {timeout} s"
        if res.returncode != 0:
            out = res.stdout + res.stderr
            first = next((m.group(1) for m in re.finditer(r"^(?:FAILED|ERROR) (\S+)", out, re.M)), None)
            return name, first or (out.strip().splitlines() or ["(no output)"])[-1]
    return "pass", ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=[p.id for p in PLANTS], help="only these plants")
    ap.add_argument("--list", action="store_true", help="list the plants and exit")
    ap.add_argument("--baseline", action="store_true", help="first run the unplanted copy (it must pass)")
    ap.add_argument("--timeout", type=int, default=2400, help="seconds per step")
    ap.add_argument("--full", action="store_true", help="run mypy --strict for each plant too")
    args = ap.parse_args(argv)
    plants = [p for p in PLANTS if not args.only or p.id in args.only]
    if args.list:
        for p in plants:
            print(f"{p.id:24} {p.path:34} {p.what}")
        return 0
    survived = 0
    with tempfile.TemporaryDirectory(prefix="nova-plant-") as tmp:
        tree = Path(tmp)
        copy_tree(tree)
        env = environment(tree)
        if args.baseline:
            step, detail = run_test_command(tree, env, args.timeout, full=True)
            print(f"baseline (nothing planted): {step} {detail}", flush=True)
            if step != "pass":
                return 2
        print("| plant | wrong fact | caught by | first failure | seconds |")
        print("|---|---|---|---|---|")
        for p in plants:
            target = tree / p.path
            original = target.read_text()
            if original.count(p.old) != 1:
                print(f"| {p.id} | {p.what} | (plant does not apply: {original.count(p.old)} matches) | | |")
                survived += 1
                continue
            target.write_text(original.replace(p.old, p.new))
            t0 = time.monotonic()
            try:
                step, detail = run_test_command(tree, env, args.timeout, full=args.full)
            finally:
                target.write_text(original)
            if step == "pass":
                survived += 1
            print(f"| {p.id} | {p.what} | {'SURVIVED' if step == 'pass' else step} | {detail} | "
                  f"{time.monotonic() - t0:.0f} |", flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
