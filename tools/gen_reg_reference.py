#!/usr/bin/env python3
"""gen_reg_reference: the facts NVIDIA's published headers give for every register nova_core.regs declares.

Reads the ``dev_*.h`` headers (and ``nv_ref.h``) under ``src/common/inc/swref/published`` of an
open-gpu-kernel-modules checkout at tag 570.144 and writes ``src/nova_core/regs/reference/r570_144.py``: for
every register name in :data:`nova_core.regs.REGISTRY`, per register family (:data:`CHAINS`), its address,
array count and stride, access, and every field the header defines with its bits, access and named values; the
base address of each engine block; and, for what NVIDIA does not publish, the fact as transcribed from the
source the driver actually used (:data:`UNPUBLISHED`, with its citation). Facts only: no header text is copied.

A family's registers are looked up in its chain of directories, newest first: its own directory, then those of
the chips its hardware (and OpenRM's HAL for it) inherits from. The register's address and access come from the
first directory that defines the register; its fields from the first directory that defines any field of it
(so a newer header that redefines a register's fields replaces the older set, and a header that only adds a
field annotation, as Hopper's ``dev_timer.h`` does for ``NV_PTIMER_TIME_0_NSEC``, is used for it). Each entry
names the header files that decided.

Only the register *names* come from nova_core.regs (which registers to look up, and which are engine-relative);
no offset, field or value is taken from it. The output records the tag, the SHA-256 of this generator and of the
header files read, and is deterministic (sorted, no timestamps).

Usage::

    tools/gen_reg_reference.py --ogkm /work/ogkm/570.144          # an unpacked checkout at 570.144
    tools/gen_reg_reference.py --ogkm ~/src/open-gpu-kernel-modules  # or a git clone (bare or not) with the tag
    tools/gen_reg_reference.py --ogkm DIR --check                  # compare with the committed table, write nothing

``--ogkm`` defaults to ``$NOVA_OGKM_TREE``, else ``$NOVA_OGKM``. Exit status of ``--check``: 0 equal, 1 different,
2 headers not found (said on stderr, with nothing checked).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))

from nova_core.regs import REGISTRY  # noqa: E402  (the names only)
from nova_core.regs.core import FAMILIES  # noqa: E402

TAG = "570.144"
PUBLISHED = "src/common/inc/swref/published"
OUT = REPO_ROOT / "src" / "nova_core" / "regs" / "reference" / "r570_144.py"

#: Per register family (oldest first), the directories of swref/published its registers are looked up in, newest
#: first ("." = the top level: nv_ref.h; a path ending in ``.h``: that one header of a directory). Inheritance
#: follows the chips' lineage as OpenRM's HAL does (a GA102 function includes published/ampere/ga102 headers and is
#: used for AD10x; Hopper's falcon HAL is GA102's; the PTIMER of every chip is read with
#: published/maxwell/gm107/dev_timer.h; GB20x programs its sysmem flush page with the GB10B HAL,
#: ``kmemsysProgramSysmemFlushBuffer_GB10B`` in 570.144 ``g_kern_mem_sys_nvoc.c``, which includes
#: blackwell/gb10b/dev_fbhub.h - the only GB10B header taken for it). Display headers: the display class of the
#: family (TU10x NVC57x v04_00, GA10x and AD10x NVC67x v04_01, GB20x NVCA7x v05_01); GA100, GH100 and GB10x have no
#: display engine.
_TURING_ON = ("volta/gv100", "pascal/gp102", "pascal/gp100", "maxwell/gm200", "maxwell/gm107", "kepler/gk104", ".")
CHAINS: dict[str, tuple[str, ...]] = {
    "TU102": ("turing/tu102", "turing/tu104", "disp/v04_00", *_TURING_ON),
    "GA100": ("ampere/ga100", "turing/tu102", "turing/tu104", *_TURING_ON),
    "GA102": ("ampere/ga102", "disp/v04_01", "ampere/ga100", "turing/tu102", "turing/tu104", *_TURING_ON),
    "AD102": ("ada/ad102", "ampere/ga102", "disp/v04_01", "ampere/ga100", "turing/tu102", "turing/tu104",
              *_TURING_ON),
    "GH100": ("hopper/gh100", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104", *_TURING_ON),
    "GB100": ("blackwell/gb100", "hopper/gh100", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104",
              *_TURING_ON),
    "GB202": ("blackwell/gb202", "blackwell/gb100", "blackwell/gb10b/dev_fbhub.h", "disp/v05_01", "hopper/gh100",
              "ada/ad102", "ampere/ga102", "ampere/ga100", "turing/tu102", "turing/tu104", *_TURING_ON),
}

#: Engine-relative register prefixes: the block their header offsets are relative to.
BLOCK_OF_PREFIX = {
    "NV_PFALCON_FALCON_": "falcon",
    "NV_PFALCON_FBIF_": "fbif",
    "NV_PFALCON2_FALCON_": "falcon2",
    "NV_PRISCV_RISCV_": "falcon2",
    "NV_PFALCON_BAR0_": "falcon",  # the falcon's BAR0 master (not published for GPUs: see UNPUBLISHED)
}
#: Per engine, the unit prefix of its engine-specific defines (``NV_PGSP_FALCON_ENGINE``).
ENGINE_PREFIX = {"GSP": "NV_PGSP_", "SEC2": "NV_PSEC_", "FSP": "NV_PFSP_"}
#: Where each engine's blocks start: the header define giving it ("NAME:lo" = the low end of a device range).
BLOCK_BASE_DEFINES = {
    "falcon": {"GSP": "NV_PGSP:lo", "SEC2": "NV_PSEC:lo", "FSP": ""},
    "fbif": {"GSP": "NV_PGSP_FBIF_BASE", "SEC2": "NV_PSEC_FBIF_BASE", "FSP": ""},
    "falcon2": {"GSP": "NV_FALCON2_GSP_BASE", "SEC2": "NV_FALCON2_SEC_BASE", "FSP": ""},
}
#: Absolute registers whose header offsets are relative to a unit's base: name prefix (or whole name) -> the define
#: of that base ("base:NAME": a base NVIDIA does not publish, from UNPUBLISHED). dev_vm.h defines the VF's
#: registers in VF BAR0 space (the private ones and the usermode doorbell); the PF sees them at FULL_PHYS_OFFSET.
#: dev_hshub_base.h defines registers inside one HSHUB; the flush page goes in HSHUB0's.
UNIT_BASES = {"NV_VIRTUAL_FUNCTION_PRIV_": "NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET:lo",
              "NV_VIRTUAL_FUNCTION_DOORBELL": "NV_VIRTUAL_FUNCTION_FULL_PHYS_OFFSET:lo",
              "NV_PFB_HSHUB_": "base:NV_PFB_HSHUB0",
              "NV_XVE_": "NV_PCFG:lo"}  # dev_nv_xve.h: config-space offsets; BAR0 mirrors them at NV_PCFG
#: A register whose headers define none of its fields, where they publish the fields of the same register under
#: another name: gb100 dev_vm.h says NV_VIRTUAL_FUNCTION_DOORBELL's __VFALIAS is NV_CTRL_VF_DOORBELL(f), whose
#: VECTOR and RUNLIST_ID fields tu102/ga100 dev_ctrl.h define.
FIELDS_FROM = {"NV_VIRTUAL_FUNCTION_DOORBELL": "NV_CTRL_VF_DOORBELL"}

# -- facts NVIDIA does not publish, as transcribed from the source the driver uses ------------------------------

ALL = tuple(FAMILIES)


@dataclass(frozen=True)
class Unpublished:
    """A register (or field, or block base) absent from the published headers, with the fact's source."""

    source: str
    families: tuple[str, ...] = ALL
    where: tuple[tuple[str, int], ...] = ()
    count: int | None = None
    stride: int = 4
    access: str = "RW"
    fields: tuple[tuple[str, int, int, str, tuple[tuple[str, int], ...]], ...] = ()


#: NVIDIA publishes some falcon v4 facts only in the headers of its NVSwitch (the same falcon core): consulted for
#: what the GPU headers lack, and listed as not published (for GPUs) with that header as the source.
SECONDARY: dict[str, tuple[str, ...]] = {"NV_PFALCON_FALCON_": ("nvswitch/lr10",)}
SECONDARY_NOTE = " (NVSwitch LR10's falcon v4; not published for GPUs)"

_NOVA = "Linux nova-core drivers/gpu/nova-core/"
#: register name -> facts NVIDIA publishes for no GPU family (where=/fields= as in the reference), or a supplement
#: to what it publishes ("NAME.WHAT": count=, a field, or named values); "block:BLOCK:ENGINE" -> a block base.
UNPUBLISHED: dict[str, Unpublished] = {
    "NV_PDISP_VGA_WORKSPACE_BASE": Unpublished(
        f"{_NOVA}regs.rs NV_PDISP_VGA_WORKSPACE_BASE, read by fb.rs on every chip with a display; nouveau "
        "tu102_gsp_oneinit", families=("GA102", "AD102", "GB202"), where=(("", 0x625F04),), access="",
        fields=(("STATUS", 3, 3, "", (("VALID", 1),)), ("ADDR", 31, 8, "", ()))),
    "NV_PBUS_SW_SCRATCH.count": Unpublished(f"{_NOVA}regs.rs NV_PBUS_SW_SCRATCH(u32)[64]", families=("TU102",),
                                            count=64),
    "NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.count": Unpublished(
        f"{_NOVA}regs.rs NV_PGC6_AON_SECURE_SCRATCH_GROUP_05(u32)[1] (the header declares no size; entry 0 is "
        "the only one named)", count=1),
    "NV_PFALCON2_FALCON_BROM_PARAADDR.count": Unpublished(
        f"{_NOVA}regs.rs NV_PFALCON2_FALCON_BROM_PARAADDR[1] (the header declares no size; OpenRM and nova-core "
        "use entry 0 only)", families=("GA102", "AD102", "GH100", "GB100", "GB202"), count=1),
    "NV_PFALCON_FALCON_HWCFG.DMEM_SIZE": Unpublished(
        "nouveau nvkm/engine/falcon.c nvkm_falcon_oneinit: data.limit = (HWCFG & 0x0003fe00) >> 1",
        fields=(("DMEM_SIZE", 17, 9, "", ()),)),
    "NV_PFALCON_FBIF_TRANSCFG.values": Unpublished(
        f"{_NOVA}falcon.rs FalconFbifTarget (LocalFb 0, NoncoherentSysmem 2), FalconFbifMemType (Virtual 0)",
        fields=(("TARGET", 1, 0, "", (("LOCAL_FB", 0), ("NONCOHERENT_SYSMEM", 2))),
                ("MEM_TYPE", 2, 2, "", (("VIRTUAL", 0),)))),
    "NV_PFALCON2_FALCON_MOD_SEL.values": Unpublished(
        f"{_NOVA}falcon.rs FalconModSelAlgo (Aes 0)", families=("GA102", "AD102", "GH100", "GB100", "GB202"),
        fields=(("ALGO", 7, 0, "", (("AES", 0),)),)),
    # The falcon's BAR0 master (0x700..0x70c of a falcon): the GPU headers do not have it.
    "NV_PFALCON_BAR0_CSR": Unpublished(
        "envytools docs/hw/pm/pdaemon/mmio.rst (the PMU's MMIO_CTRL: command 1:0, byte mask 7:4, status 14:12 - "
        "1 busy, 2 timeout, 4 fault) with the trigger at bit 31 as the GSP's FWSEC writes it (0x800000f1 read, "
        "0x800000f2 write); nova-core's names", where=(("falcon", 0x700),),
        fields=(("CMD", 1, 0, "", (("READ", 1), ("WRITE", 2))), ("BYTE_MASK", 7, 4, "", ()),
                ("STATUS", 14, 12, "RO", (("IDLE", 0), ("BUSY", 1), ("TIMEOUT", 2), ("FAULT", 4))),
                ("TRIGGER", 31, 31, "", ()))),
    "NV_PFALCON_BAR0_ADDR": Unpublished(
        "envytools docs/hw/pm/pdaemon/mmio.rst (MMIO_ADDR, next to MMIO_CTRL), as the GSP's FWSEC uses it",
        where=(("falcon", 0x704),), fields=(("ADDR", 31, 0, "", ()),)),
    "NV_PFALCON_BAR0_DATA": Unpublished(
        "envytools docs/hw/pm/pdaemon/mmio.rst (MMIO_WRDATA/MMIO_RDDATA), as the GSP's FWSEC uses it",
        where=(("falcon", 0x708),), fields=(("DATA", 31, 0, "", ()),)),
    "NV_PFALCON_BAR0_TMOUT": Unpublished(
        "nvswitch/ls10/dev_soe_ip.h NV_SOE_BAR0_TMOUT 0x70c, CYCLES 31:0 (the SOE falcon's; not published for "
        "GPUs)", where=(("falcon", 0x70C),), fields=(("CYCLES", 31, 0, "", ()),)),
    "base:NV_PFB_HSHUB0": Unpublished(
        "OpenRM 570.144 src/nvidia/src/kernel/gpu/mem_sys/arch/blackwell/kern_mem_sys_gb100.c "
        "_kmemsysInitHshub0Aperture_GB100 (#define NV_PFB_HSHUB0 0x00870fff:0x00870000); nova-core fb/hal/gb100.rs",
        families=("GB100",), where=(("NV_PFB_HSHUB0", 0x870000),)),
    "NV_FUSE_STATUS_OPT_DISPLAY.values": Unpublished(
        f"{_NOVA}regs.rs NV_FUSE_STATUS_OPT_DISPLAY 0:0 display_disabled (1: the display engine is fused off; the "
        "headers name only DATA_ENABLE 0)", fields=(("DATA", 0, 0, "", (("DISABLE", 1),)),)),
    "block:falcon:FSP": Unpublished(
        f"{_NOVA}falcon/fsp.rs (Fsp BASE 0x8f2000); hopper/gh100/dev_fsp_pri.h has NV_PFSP_EMEMC(0) at 0x8F2AC0, "
        "base + 0xAC0 as NV_PGSP_EMEMC(0) is for the GSP", families=("GH100", "GB100", "GB202"),
        where=(("FSP falcon", 0x8F2000),)),
    "block:falcon2:FSP": Unpublished(
        f"{_NOVA}falcon.rs (PFalcon2Base: the falcon base + 0x1000, as NV_FALCON2_GSP_BASE/NV_FALCON2_SEC_BASE)",
        families=("GH100", "GB100", "GB202"), where=(("FSP falcon2", 0x8F3000),)),
}

# -- parsing ----------------------------------------------------------------------------------------------------

_DEFINE = re.compile(r"^#define\s+(NV\w+)(\([a-z, ]+\))?\s+(.*?)\s*(?:/\*(.*?)\*/)?\s*$")
_ARRAY = re.compile(r"^\(\s*(0x[0-9a-fA-F]+|\d+)\s*\+\s*\(i\)\s*\*\s*(0x[0-9a-fA-F]+|\d+)\s*\)$")
_RANGE = re.compile(r"^([0-9a-fA-Fx()+\-*/ ]+):([0-9a-fA-Fx()+\-*/ ]+)$")
_INT = re.compile(r"^(0x[0-9a-fA-F]+|\d+)U?$")
_ARITH = re.compile(r"^[0-9a-fA-Fx()+\-* ]+$")
_ALIAS = re.compile(r"^(NV\w+)(?:\((\d+)\))?$")


class GenError(Exception):
    pass


def _num(text: str) -> int | None:
    m = _INT.match(text.strip())
    return int(m.group(1), 0) if m else None


def _arith(text: str) -> int | None:
    """A small integer expression of a bit position (``(2*8+7)``), or None."""
    t = text.strip()
    if not _ARITH.match(t) or "**" in t:
        return None
    try:
        v = eval(t, {"__builtins__": {}}, {})  # only digits, hex, + - * and parentheses pass _ARITH
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError):
        return None
    return v if isinstance(v, int) else None


def _access(comment: str | None) -> tuple[str, str]:
    """(access, kind) of a header annotation such as ``RW-4R``: kind R register, A array, F field, V value, D range."""
    c = (comment or "").strip()
    if len(c) != 5:
        return "", ""
    r, w = c[0] in "RC", c[1] == "W"
    return ("RW" if r and w else "RO" if r else "WO" if w else ""), c[4]


@dataclass
class Define:
    name: str
    file: str  #: relative to swref/published
    kind: str  #: reg, field, value, size, range, alias, bitfield
    value: int = 0
    hi: int = 0
    lo: int = 0
    stride: int = 0
    array: bool = False
    access: str = ""
    target: str = ""  #: alias: the register it names
    index: int | None = None  #: alias: the array entry
    owner: str | None = None  #: field: register in scope in its file; value: field in scope


@dataclass
class Directory:
    """Every define of the headers of one directory of swref/published."""

    path: str
    regs: dict[str, Define] = field(default_factory=dict)
    fields: dict[str, Define] = field(default_factory=dict)
    values: dict[str, Define] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    plain: dict[str, Define] = field(default_factory=dict)  #: numbers and ranges (bases)
    aliases: dict[str, Define] = field(default_factory=dict)


def parse_file(path: Path, rel: str, into: Directory) -> None:
    in_file_regs: list[str] = []
    in_file_fields: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("//", 1)[0].rstrip()
        m = _DEFINE.match(line)
        if not m:
            continue
        name, params, body, comment = m.group(1), m.group(2), m.group(3).strip(), m.group(4)
        access, kind = _access(comment)
        if name.endswith("__SIZE_1"):
            n = _num(body)
            if n is not None:
                into.sizes[name[: -len("__SIZE_1")]] = n
            continue
        if "__" in name:
            continue
        am = _ARRAY.match(body)
        if params == "(i)" and am:
            into.regs[name] = Define(name, rel, "reg", value=int(am.group(1), 0), stride=int(am.group(2), 0),
                                     array=True, access=access)
            in_file_regs.append(name)
            continue
        if params:
            continue  # bit-indexed fields (SUBTREE(i)), two-dimensional arrays: not register facts we compare
        rm = _RANGE.match(body)
        if rm:
            hi, lo = _arith(rm.group(1)), _arith(rm.group(2))
            if hi is None or lo is None:
                continue
            if kind == "D" or hi > 127:
                into.plain[name] = Define(name, rel, "range", hi=hi, lo=lo)
                continue
            owner = next((r for r in reversed(in_file_regs) if name.startswith(r + "_")), None)
            if owner is None:
                owner = next((a for a in reversed(list(into.aliases)) if name.startswith(a + "_")), None)
            into.fields[name] = Define(name, rel, "field", hi=hi, lo=lo, access=access, owner=owner)
            in_file_fields.append(name)
            continue
        n = _num(body)
        if n is not None:
            fowner = next((f for f in reversed(in_file_fields) if name.startswith(f + "_")), None)
            if kind == "R" or (kind == "" and fowner is None and access and comment and comment.strip()[4:] == "R"):
                into.regs[name] = Define(name, rel, "reg", value=n, access=access)
                in_file_regs.append(name)
            elif fowner is not None:
                into.values[name] = Define(name, rel, "value", value=n, owner=fowner)
            else:
                into.plain[name] = Define(name, rel, "value", value=n, access=access)
            continue
        al = _ALIAS.match(body)
        if al:
            into.aliases[name] = Define(name, rel, "alias", target=al.group(1),
                                        index=int(al.group(2)) if al.group(2) else None)
            in_file_regs.append(name)
    # A header without access annotations (hopper/gh100/pri_nv_xal_ep.h) still names a register: an offset whose
    # name heads fields of the same file. Such a register has no access ("").
    for name in [n for n, p in into.plain.items() if p.file == rel and p.kind == "value" and not p.access]:
        heads = [f for f in in_file_fields if f.startswith(name + "_")]
        if heads and into.plain[name].value < 1 << 24:
            p = into.plain.pop(name)
            into.regs[name] = Define(name, rel, "reg", value=p.value, access="")
            for f in heads:
                fd = into.fields[f]
                if fd.owner is None or len(fd.owner) < len(name):
                    fd.owner = name


def parse_tree(root: Path) -> tuple[dict[str, Directory], list[Path]]:
    dirs: dict[str, Directory] = {}
    read: list[Path] = []
    wanted = sorted({d for chain in [*CHAINS.values(), *SECONDARY.values()] for d in chain})
    for d in wanted:
        directory = Directory(d)
        base = root if d == "." else root / d
        if d.endswith(".h"):  # one header of a directory
            files = [base]
        else:
            files = [base / "nv_ref.h"] if d == "." else sorted([*base.glob("dev_*.h"), *base.glob("pri_*.h")])
        for p in files:
            if p.is_file():
                parse_file(p, str(p.relative_to(root)), directory)
                read.append(p)
        dirs[d] = directory
    return dirs, read


# -- resolution -------------------------------------------------------------------------------------------------


@dataclass
class Resolved:
    where: tuple[tuple[str, int], ...]
    count: int | None
    stride: int
    access: str
    fields: tuple[tuple[str, int, int, str, tuple[tuple[str, int], ...]], ...]
    sources: tuple[str, ...]


def _supplement(gpu: Resolved | None, other: Resolved | None) -> tuple[object, ...] | None:
    """What ``other`` (NVSwitch's falcon v4 header) adds to what the GPU headers say: the whole register where they
    have none, else the array size they lack and the fields and named values they do not define."""
    if other is None:
        return None
    if gpu is None:
        return other.where, other.count, other.stride, other.access, other.fields
    have = {f[0]: f for f in gpu.fields}
    fields = []
    for f in other.fields:
        mine = have.get(f[0])
        if mine is None:
            fields.append(f)
            continue
        known = {k for k, _ in mine[4]}
        vals = tuple(kv for kv in f[4] if kv[0] not in known)
        if vals:
            fields.append((f[0], mine[1], mine[2], mine[3], vals))
    count = other.count if gpu.count == 0 and other.count else None
    if not fields and count is None:
        return None
    return (), count, other.stride, "", tuple(fields)


def _lookup_plain(dirs: dict[str, Directory], chain: tuple[str, ...], spec: str) -> tuple[int, str] | None:
    name, _, part = spec.partition(":")
    for d in chain:
        p = dirs[d].plain.get(name)
        if p is None:
            p = dirs[d].regs.get(name)
        if p is not None:
            return (p.lo if part == "lo" and p.kind == "range" else p.value), p.file
    return None


def _fields_of(dirs: dict[str, Directory], chain: tuple[str, ...], reg: str,
               aliases: list[tuple[str, str]]) -> tuple[list[tuple[str, int, int, str, tuple[tuple[str, int], ...]]],
                                                        list[str]]:
    """The fields of ``reg`` along ``chain``: each field as the newest directory that defines it has it.

    The published headers are trimmed to what OpenRM uses, so a newer directory often defines only the fields it
    changed or added (Blackwell's ``dev_falcon_v4.h`` defines one IRQSTAT field): the older definitions of the
    other fields stand - unless they overlap bits a newer directory lays out otherwise (GH100's HWCFG2 has
    PRGN_RSVD_FUSE 31:24 where GA102's addendum has RESET_READY 31:31: the newer layout wins). Returns the fields
    (sorted by bit) and the files they came from.
    """
    all_regs = {r for d in chain for r in dirs[d].regs} | {a for d in chain for a in dirs[d].aliases}
    prefixes = [(reg, "")] + [(a, prefix) for a, prefix in aliases]
    found: dict[str, tuple[str, int, int, str, tuple[tuple[str, int], ...]]] = {}
    files: list[str] = []
    for d in chain:
        directory = dirs[d]
        newer = 0  # the bits the newer directories' fields cover
        for _, hi, lo, _, _ in found.values():
            newer |= ((1 << (hi - lo + 1)) - 1) << lo
        for fname, f in directory.fields.items():
            for owner, label in prefixes:
                if not fname.startswith(owner + "_"):
                    continue
                real_owner = f.owner
                if real_owner is None:  # no register in scope in its file: the longest known register name
                    real_owner = max((r for r in all_regs if fname.startswith(r + "_")), key=len, default=None)
                if real_owner != owner:
                    continue
                short = label + fname[len(owner) + 1:]
                if short in found or newer & (((1 << (f.hi - f.lo + 1)) - 1) << f.lo):
                    continue
                vals = tuple(sorted(((v.name[len(fname) + 1:], v.value) for v in directory.values.values()
                                     if v.owner == fname), key=lambda kv: (kv[1], kv[0])))
                found[short] = (short, f.hi, f.lo, f.access, vals)
                if f.file not in files:
                    files.append(f.file)
    return sorted(found.values(), key=lambda t: (t[2], t[1], t[0])), files


def _named_fields(dirs: dict[str, Directory], chain: tuple[str, ...], reg: str
                  ) -> tuple[list[tuple[str, int, int, str, tuple[tuple[str, int], ...]]], list[str]]:
    """The fields ``REG_*`` of a register no header defines by itself, from the first directory that has any."""
    for d in chain:
        directory = dirs[d]
        own = {n: f for n, f in directory.fields.items() if n.startswith(reg + "_") and f.owner is None}
        if own:
            out = []
            for fname, f in own.items():
                vals = tuple(sorted(((v.name[len(fname) + 1:], v.value) for v in directory.values.values()
                                     if v.owner == fname), key=lambda kv: (kv[1], kv[0])))
                out.append((fname[len(reg) + 1:], f.hi, f.lo, f.access, vals))
            return sorted(out, key=lambda t: (t[2], t[1], t[0])), sorted({f.file for f in own.values()})
    return [], []


_SERIES = re.compile(r"(?<=[A-Z])1(?=_)")
#: fewest numbered registers taken as one array: BAR1_BLOCK and BAR2_BLOCK are two registers, not an array
_SERIES_MIN = 3


def _series(dirs: dict[str, Directory], chain: tuple[str, ...], name: str) -> tuple[int, int] | None:
    """(count, stride) when ``name`` is the first of at least :data:`_SERIES_MIN` numbered registers
    (``UCODE1_VERSION``..``UCODE16_VERSION``) at a constant stride; None otherwise."""
    m = list(_SERIES.finditer(name))
    if len(m) != 1:
        return None

    def find(n: int) -> Define | None:
        sibling = name[:m[0].start()] + str(n) + name[m[0].end():]
        return next((dirs[d].regs[sibling] for d in chain if sibling in dirs[d].regs), None)

    first, second = find(1), find(2)
    if first is None or second is None:
        return None
    stride, n = second.value - first.value, 2
    while (nxt := find(n + 1)) is not None and nxt.value - first.value == n * stride:
        n += 1
    return (n, stride) if n >= _SERIES_MIN else None


def resolve(dirs: dict[str, Directory], chain: tuple[str, ...], name: str, block: str | None,
            engines: Iterable[str]) -> Resolved | None:
    """What the headers of ``chain`` say about register ``name`` (None: none of them defines it)."""
    family = chain[0]
    sources: list[str] = []
    reg: Define | None = None
    for d in chain:
        reg = dirs[d].regs.get(name)
        if reg is not None:
            break
    where: list[tuple[str, int]] = []
    field_owners: list[str] = []
    if reg is not None:
        sources.append(reg.file)
        field_owners.append(name)
        if block is not None:
            where.append((block, reg.value))
        else:
            off = reg.value
            for prefix, base_spec in UNIT_BASES.items():
                if name.startswith(prefix):
                    un = UNPUBLISHED.get(base_spec)
                    if un is not None:  # a base NVIDIA does not publish: the entry says where it comes from
                        off += un.where[0][1]
                        sources.append(f"{base_spec[len('base:'):]} {un.where[0][1]:#x}: {un.source}")
                        continue
                    base = _lookup_plain(dirs, chain, base_spec)
                    if base is None:
                        raise GenError(f"{family}: {name}: no {base_spec} in {chain}")
                    off += base[0]
                    sources.append(base[1])
            where.append(("", off))
        count = dirs_size(dirs, chain, name) if reg.array else None
        stride, access = (reg.stride if reg.array else 4), reg.access
        series = None if reg.array else _series(dirs, chain, name)
        if series is not None:  # UCODE1..UCODE16: one array
            count, stride = series
    elif block is not None:  # defined per engine (NV_PGSP_FALCON_ENGINE for NV_PFALCON_FALCON_ENGINE)
        prefix = next(p for p, b in BLOCK_OF_PREFIX.items() if b == block and name.startswith(p))
        stem = name[len("NV_P"):]  # FALCON_FALCON_ENGINE -> the engine's FALCON_ENGINE
        stem = stem.split("_", 1)[1]
        per: list[Define] = []
        for eng in engines:
            for d in chain:
                r = dirs[d].regs.get(ENGINE_PREFIX[eng] + stem)
                if r is not None:
                    per.append(r)
                    where.append((eng, r.value))
                    break
        if not per:
            return None
        del prefix
        reg = per[0]
        sources.extend(sorted({r.file for r in per}))
        field_owners.append(reg.name)
        count = dirs_size(dirs, chain, reg.name) if reg.array else None
        stride, access = (reg.stride if reg.array else 4), reg.access
    else:
        return None
    aliases = []
    for d in chain:
        for a in dirs[d].aliases.values():
            if a.target == field_owners[0] and a.name not in [x for x, _ in aliases]:
                if a.name.startswith(field_owners[0] + "_"):
                    label = a.name[len(field_owners[0]) + 1:] + "_"
                else:
                    label = a.name + ("" if a.index is None else f"({a.index})") + "_"
                aliases.append((a.name, label))
    fields, fsrc = _fields_of(dirs, chain, field_owners[0], aliases)
    other = FIELDS_FROM.get(name)
    if not fields and other is not None:  # the fields published under the register's other name
        fields, fsrc = _named_fields(dirs, chain, other)
        fsrc = [f"{other} fields: {f}" for f in fsrc]
    sources.extend(fsrc)
    uniq = tuple(dict.fromkeys(sources))
    return Resolved(tuple(where), count, stride, access, tuple(fields), uniq)


def dirs_size(dirs: dict[str, Directory], chain: tuple[str, ...], name: str) -> int:
    """``__SIZE_1`` of array ``name`` (first directory that gives it), 0 where no header does."""
    for d in chain:
        if name in dirs[d].sizes:
            return dirs[d].sizes[name]
    return 0


# -- the registers nova_core.regs declares ----------------------------------------------------------------------


def declared() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(NV name, block or None, engine names) for every register name nova_core.regs declares."""
    out = []
    for reg in sorted(REGISTRY, key=lambda r: r.NAME):
        block = next((b for p, b in BLOCK_OF_PREFIX.items() if reg.NAME.startswith(p)), None)
        if (block is None) != (reg.DOMAIN is None):
            raise GenError(f"{reg.NAME}: declared {'with' if reg.DOMAIN else 'without'} a domain, but its name "
                           f"{'is not' if block is None else 'is'} one of an engine-relative block "
                           f"({', '.join(BLOCK_OF_PREFIX)})")
        engines = tuple(reg.DOMAIN.bases) if reg.DOMAIN is not None else ()
        out.append((reg.NAME, block, engines))
    return out


# -- output -----------------------------------------------------------------------------------------------------


def _group(per_family: dict[str, tuple[object, str]]) -> Iterator[tuple[tuple[str, ...], object, str]]:
    """Families with equal facts, in family order, with the header(s) that decided for each of them."""
    groups: dict[str, list[str]] = {}
    keyed: dict[str, object] = {}
    for fam in FAMILIES:
        if fam not in per_family:
            continue
        k = repr(per_family[fam][0])
        groups.setdefault(k, []).append(fam)
        keyed[k] = per_family[fam][0]
    for k, fams in groups.items():
        by_source: dict[str, list[str]] = {}
        for fam in fams:
            by_source.setdefault(per_family[fam][1], []).append(fam)
        if len(by_source) == 1:
            source = next(iter(by_source))
        else:
            source = "; ".join(f"{' '.join(fs)}: {src}" for src, fs in by_source.items())
        yield tuple(fams), keyed[k], source


def _fmt_where(where: tuple[tuple[str, int], ...]) -> str:
    return "(" + ", ".join(f"({_q(w)}, {a:#x})" for w, a in where) + ("," if len(where) == 1 else "") + ")"


def render(dirs: dict[str, Directory], read: list[Path], root: Path) -> str:
    regs_out: list[str] = []
    counts = {"published": 0, "not published": 0, "registers": 0}
    for name, block, engines in declared():
        counts["registers"] += 1
        per: dict[str, tuple[object, str]] = {}
        extra: dict[str, tuple[object, str]] = {}
        for fam in FAMILIES:
            r = resolve(dirs, CHAINS[fam], name, block, engines)
            if r is not None:
                per[fam] = ((r.where, r.count, r.stride, r.access, r.fields), ", ".join(r.sources))
            sec = next((c for p, c in SECONDARY.items() if name.startswith(p)), None)
            if sec is not None:
                r2 = resolve(dirs, sec, name, block, engines)
                sup = _supplement(r, r2)
                if sup is not None:
                    extra[fam] = (sup, ", ".join(r2.sources) + SECONDARY_NOTE if r2 else "")
        entries: list[str] = []
        for fams, facts, source in _group(per):
            assert isinstance(facts, tuple)
            entries.append(_entry(fams, source, True, *facts))
        for fams, facts, source in _group(extra):
            assert isinstance(facts, tuple)
            entries.append(_entry(fams, source, False, *facts))
        for key, u in sorted(UNPUBLISHED.items()):
            if key == name or key.startswith(name + "."):
                fams = tuple(f for f in u.families if key != name or u.count is not None or f not in per)
                if fams:
                    entries.append(_entry(fams, u.source, False, u.where, u.count, u.stride, u.access, u.fields))
        if per:
            counts["published"] += 1
        else:
            counts["not published"] += 1
        regs_out.append(f"    {_q(name)}: (\n" + "".join(entries) + "    ),")
    bases_out = []
    for block, engines in BLOCK_BASE_DEFINES.items():
        for eng, spec in engines.items():
            per_b: dict[str, tuple[object, str]] = {}
            for fam in FAMILIES:
                got = _lookup_plain(dirs, CHAINS[fam], spec) if spec else None
                if got is not None:
                    per_b[fam] = ((spec.partition(":")[0], got[0]), got[1])
            lines = []
            for fams, val, source in _group(per_b):
                assert isinstance(val, tuple)
                lines.append(f"        RefBase(\n            families={_tup(fams)},\n{_source(source)}"
                             f"            published=True, define={_q(val[0])}, address={val[1]:#x},\n        ),\n")
            un = UNPUBLISHED.get(f"block:{block}:{eng}")
            if un is not None:
                missing = tuple(f for f in un.families if f not in per_b)
                if missing:
                    lines.append(f"        RefBase(\n            families={_tup(missing)},\n{_source(un.source)}"
                                 f"            published=False, define={_q(un.where[0][0])}, "
                                 f"address={un.where[0][1]:#x},\n        ),\n")
            if lines:
                bases_out.append(f"    ({_q(block)}, {_q(eng)}): (\n" + "".join(lines) + "    ),")
    digest = hashlib.sha256()
    for p in sorted(read):
        digest.update(str(p.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(p.read_bytes()).digest())
    gen = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    head = f'''"""Register facts of NVIDIA's published headers, open-gpu-kernel-modules {TAG} (generated: do not edit).

Written by ``tools/gen_reg_reference.py`` from ``{PUBLISHED}`` ({len(read)} header files), for the
{counts["registers"]} register names nova_core.regs declares: {counts["published"]} published, \
{counts["not published"]} not published (their
entries say where the fact was taken from). See :mod:`nova_core.regs.reference` for the record types.
"""

from __future__ import annotations

from . import RefBase, RefField, RefRegister

SOURCE = "NVIDIA/open-gpu-kernel-modules"
SOURCE_TAG = "{TAG}"
GENERATOR_SHA256 = "{gen}"
INPUTS_SHA256 = "{digest.hexdigest()}"  # the {len(read)} header files read

#: register family -> the directories of {PUBLISHED} its registers were looked up in, newest first
CHAINS: dict[str, tuple[str, ...]] = {{
'''
    chains = "".join(f"    {_q(fam)}: {_tup(CHAINS[fam], 4)},\n" for fam in FAMILIES)
    text = (head + chains + "}\n\n#: (block, engine) -> where that engine's block starts\n"
            "BLOCKS: dict[tuple[str, str], tuple[RefBase, ...]] = {\n" + "\n".join(bases_out) + "\n}\n\n"
            "#: register name -> its facts, one entry per group of families that agree\n"
            "REGISTERS: dict[str, tuple[RefRegister, ...]] = {\n" + "\n".join(regs_out) + "\n}\n")
    for n, line in enumerate(text.splitlines(), 1):
        if len(line) > 120:
            raise GenError(f"generated line {n} is longer than 120 characters: {line[:80]}...")
    return text


def _q(text: str) -> str:
    return json.dumps(text)


def _tup(items: Iterable[str], indent: int = 12) -> str:
    """A tuple of strings, wrapped at 120 columns."""
    parts = [_q(x) for x in items]
    one = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    if len(one) + indent + 12 <= 120:
        return one
    lines, cur = [], ""
    for p in parts:
        if cur and len(cur) + len(p) + indent + 6 > 120:
            lines.append(cur.rstrip())
            cur = ""
        cur += p + ", "
    lines.append(cur.rstrip())
    pad = " " * (indent + 4)
    return "(\n" + "".join(f"{pad}{ln}\n" for ln in lines) + " " * indent + ")"


def _source(source: str, indent: int = 12) -> str:
    """``source=...,`` at ``indent``, wrapped into implicitly joined string pieces at 120 columns."""
    pad = " " * indent
    line = f"{pad}source={_q(source)},\n"
    if len(line) <= 121:
        return line
    width = 120 - indent - 4 - 2
    pieces, cur = [], ""
    for word in re.split(r"(?<= )", source):
        if cur and len(json.dumps(cur + word)) - 2 > width:
            pieces.append(cur)
            cur = ""
        cur += word
    pieces.append(cur)
    return f"{pad}source=(\n" + "".join(f"{pad}    {_q(x)}\n" for x in pieces) + f"{pad}),\n"


def _entry(fams: tuple[str, ...], source: str, published: bool, where: tuple[tuple[str, int], ...],
           count: int | None, stride: int, access: str,
           fields: tuple[tuple[str, int, int, str, tuple[tuple[str, int], ...]], ...]) -> str:
    out = [f"        RefRegister(\n            families={_tup(fams)},\n", _source(source)]
    out.append(f"            published={published}, where={_fmt_where(where)}, entries={count}, stride={stride:#x}, "
               f"access={_q(access)},\n")
    if not fields:
        out.append("            fields=(),\n        ),\n")
        return "".join(out)
    out.append("            fields=(\n")
    for n, hi, lo, acc, vals in fields:
        line = f"                RefField({_q(n)}, {hi}, {lo}, {_q(acc)}"
        if vals:
            vs = ", ".join(f"({_q(k)}, {v:#x})" for k, v in vals)
            one = line + f", ({vs}{',' if len(vals) == 1 else ''})),"
            if len(one) <= 120:
                out.append(one + "\n")
            else:
                out.append(line + ", (\n" + "".join(f"                    ({_q(k)}, {v:#x}),\n" for k, v in vals)
                           + "                )),\n")
        else:
            out.append(line + "),\n")
    out.append("            ),\n        ),\n")
    return "".join(out)


# -- the headers ------------------------------------------------------------------------------------------------


def headers_root(ogkm: Path, tmp: Path) -> Path:
    """``swref/published`` of the 570.144 tree at ``ogkm`` (an unpacked checkout, or a git clone with the tag)."""
    version_mk = ogkm / "version.mk"
    if (ogkm / PUBLISHED).is_dir():
        if version_mk.is_file():
            m = re.search(r"^NVIDIA_VERSION\s*=\s*(\S+)", version_mk.read_text(), re.M)
            if m is None or m.group(1) != TAG:
                raise GenError(f"{ogkm} is open-gpu-kernel-modules {m.group(1) if m else '(no NVIDIA_VERSION)'}, "
                               f"not {TAG}")
        return ogkm / PUBLISHED
    try:
        subprocess.run(["git", "-C", str(ogkm), "rev-parse", "--verify", f"refs/tags/{TAG}"], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        raise GenError(f"no NVIDIA headers at {ogkm / PUBLISHED}, and {ogkm} is not a git clone of "
                       f"open-gpu-kernel-modules with tag {TAG}") from None
    archive = subprocess.run(["git", "-C", str(ogkm), "archive", "--format=tar", TAG, PUBLISHED],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp / PUBLISHED


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--ogkm", type=Path,
                    default=os.environ.get("NOVA_OGKM_TREE") or os.environ.get("NOVA_OGKM") or None,
                    help=f"open-gpu-kernel-modules at tag {TAG}: an unpacked checkout or a git clone "
                         "(default $NOVA_OGKM_TREE, else $NOVA_OGKM)")
    ap.add_argument("--check", action="store_true", help="compare with the committed table, write nothing")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.ogkm is None:
        print(f"gen_reg_reference: no headers: pass --ogkm DIR (open-gpu-kernel-modules at tag {TAG}: an unpacked "
              f"tree or a git clone) or set NOVA_OGKM_TREE / NOVA_OGKM; "
              f"{'nothing was checked' if args.check else 'nothing was written'}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nova-ogkm-") as tmp:
        try:
            root = headers_root(args.ogkm, Path(tmp))
        except GenError as e:
            print(f"gen_reg_reference: {e}; {'nothing was checked' if args.check else 'nothing was written'}",
                  file=sys.stderr)
            return 2
        dirs, read = parse_tree(root)
        text = render(dirs, read, root)
    old = args.out.read_text() if args.out.exists() else None
    if old == text:
        print(f"{args.out}: up to date")
        return 0
    if args.check:
        print(f"{args.out}: differs from what the {TAG} headers give (run tools/gen_reg_reference.py --ogkm DIR)",
              file=sys.stderr)
        return 1
    args.out.write_text(text)
    print(f"{args.out}: written ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GenError as e:
        print(f"gen_reg_reference: {e}", file=sys.stderr)
        sys.exit(1)
