#!/usr/bin/env python3
"""gen_class_reference: the facts NVIDIA's class and control headers give for the channel, copy and GR classes.

Reads the headers ``tests/engines`` compares :mod:`nova_core.engines` with - the host (GPFIFO) and copy-engine class
headers of ``kernel-open/nvidia-uvm``, the compute and 3D class headers and ``alloc_channel.h``/``ctrl2080gpu.h`` of
``src/common/sdk/nvidia/inc``, and the doorbell registers of ``dev_ctrl.h``/``dev_vm.h`` - from
open-gpu-kernel-modules at tag 570.144, and writes ``src/nova_core/engines/reference/r570_144.py``; with
``--open-gpu-doc``, also the Ada/Hopper/Blackwell compute class headers of NVIDIA's open-gpu-doc (``HEAD`` of a git
clone), written to ``src/nova_core/engines/reference/open_gpu_doc.py``.

Per header (:data:`OGKM_HEADERS`, :data:`DOC_HEADERS`) it records, for the defines whose names start with the
header's prefix: the class the header defines (name and number), its methods, bare numbers, arrays and bit ranges
(:data:`KINDS`), and which of the statements of :data:`STATEMENTS` the header makes. Facts only: names and
numbers, no header text or comment is copied. No fact is taken from nova_core. The output records the source (tag
or commit), the SHA-256 of this generator and of the headers read, and is deterministic (sorted, no timestamps).

Usage::

    tools/gen_class_reference.py --ogkm /work/ogkm/570.144             # an unpacked checkout at 570.144
    tools/gen_class_reference.py --ogkm ~/src/open-gpu-kernel-modules  # or a git clone (bare or not) with the tag
    tools/gen_class_reference.py --open-gpu-doc ~/src/open-gpu-doc     # a git clone of NVIDIA/open-gpu-doc
    tools/gen_class_reference.py --ogkm DIR --check                    # compare with the committed table(s)

``--ogkm`` defaults to ``$NOVA_OGKM_TREE``, else ``$NOVA_OGKM``; ``--open-gpu-doc`` to ``$NOVA_OPEN_GPU_DOC``. Each
source given is read and its table written or checked. Exit status of ``--check``: 0 equal, 1 different, 2 no
headers (said on stderr, with nothing checked).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "src" / "nova_core" / "engines" / "reference"
TAG = "570.144"

UVM = "kernel-open/nvidia-uvm"
SDK = "src/common/sdk/nvidia/inc"
PUB = "src/common/inc/swref/published"

#: What a header's defines are recorded as: ``class`` the define whose value is the class number of the header's
#: file name (``clc5c0.h``: 0xC5C0); ``methods`` defines with a parenthesised number whose name has bit-range
#: defines under it (``NAME_FIELD hi:lo``; ``DMA_`` names excepted) - the methods of a uvm class header;
#: ``numbers`` defines with a bare number; ``arrays`` ``NAME(i)`` defines of the form ``(base+(i)*stride)``;
#: ``fields`` defines with a decimal bit range ``hi:lo``; ``statements`` the keys of :data:`STATEMENTS` the header
#: makes.
KINDS = ("class", "methods", "numbers", "arrays", "fields", "statements")

_HOST = ("methods", "fields")
_COMPUTE = ("class", "numbers", "arrays", "fields")
#: open-gpu-kernel-modules header -> (kinds recorded, the name prefix of the defines recorded)
OGKM_HEADERS: dict[str, tuple[tuple[str, ...], str]] = {
    **{f"{UVM}/cl{c}.h": (_HOST, f"NV{c.upper()}_")
       for c in ("c46f", "c56f", "c86f", "c96f", "ca6f", "c5b5", "c6b5", "c7b5", "c8b5", "c9b5", "cab5")},
    **{f"{SDK}/class/cl{c}.h": (_COMPUTE, f"NV{c.upper()}_") for c in ("c5c0", "c6c0", "c7c0")},
    **{f"{SDK}/class/cl{c}.h": (("class",), "") for c in ("c9c0", "cbc0", "cdc0", "cec0", "c597", "c697", "c797",
                                                           "c997", "cb97", "cd97", "ce97")},
    f"{SDK}/alloc/alloc_channel.h": (("fields",), "NVOS04_FLAGS_"),
    f"{SDK}/ctrl/ctrl2080/ctrl2080gpu.h": (("fields", "statements"), "NV2080_CTRL_GPU_INITIALIZE_CTX_"),
    f"{PUB}/turing/tu102/dev_ctrl.h": (("fields",), "NV_CTRL_VF_DOORBELL_"),
    f"{PUB}/turing/tu102/dev_vm.h": (("numbers",), "NV_VIRTUAL_FUNCTION_DOORBELL"),
    f"{PUB}/blackwell/gb202/dev_vm.h": (("fields",), "NV_VIRTUAL_FUNCTION_DOORBELL_"),
}
#: open-gpu-doc header -> (kinds, prefix): the compute classes open-gpu-kernel-modules has no methods of
DOC_HEADERS: dict[str, tuple[tuple[str, ...], str]] = {
    f"classes/compute/cl{c}.h": (_COMPUTE, f"NV{c.upper()}_") for c in ("c9c0", "cbc0", "cdc0", "cec0")}

#: header -> statement key -> the phrase of the header that makes it (the phrase is not copied to the table)
STATEMENTS: dict[str, dict[str, str]] = {
    f"{SDK}/ctrl/ctrl2080/ctrl2080gpu.h": {
        "PROMOTE_CTX_BUFFER_ENTRY: bNonmapped needs bInitialize":
            "It is illegal to set this flag and not set bInitialize"},
}


class GenError(Exception):
    pass


# -- parsing ----------------------------------------------------------------------------------------------------

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_NUMBER = re.compile(r"^#define[ \t]+(\w+)[ \t]+(0x[0-9a-fA-F]+|\d+)[uU]?[ \t]*$", re.M)
_PAREN = re.compile(r"^#define[ \t]+(\w+)[ \t]+\((0x[0-9a-fA-F]+)\)[ \t]*$", re.M)
_ARRAY = re.compile(r"^#define[ \t]+(\w+)\(i\)[ \t]+\((0x[0-9a-fA-F]+|\d+)\+\(i\)\*(0x[0-9a-fA-F]+|\d+)\)[ \t]*$",
                    re.M)
_FIELD = re.compile(r"^#define[ \t]+(\w+)[ \t]+(\d+):(\d+)[ \t]*$", re.M)
#: a bit range with arithmetic (``(2*8+7):(2*8)``): counts as a field under a method, not recorded as one
_ANY_FIELD = re.compile(r"^#define[ \t]+(\w+)[ \t]+\(?\d+\*?\d*\+?\d*\)?:\(?\d+", re.M)


@dataclass
class HeaderFacts:
    cls: tuple[str, int] | None = None
    methods: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, tuple[int, int]] = field(default_factory=dict)
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    statements: tuple[str, ...] = ()


def parse_header(path: str, text: str, kinds: tuple[str, ...], prefix: str) -> HeaderFacts:
    code = _COMMENT.sub("", text)
    out = HeaderFacts()
    if "class" in kinds:
        m = re.search(r"cl([0-9a-f]{4})\.h$", path)
        number = int(m.group(1), 16) if m else -1
        found = [(n, int(v, 0)) for n, v in _NUMBER.findall(code) if int(v, 0) == number and not n.startswith("NV")]
        if len(found) != 1:
            raise GenError(f"{path}: {len(found)} defines of class {number:#x} (want one)")
        out.cls = found[0]
    if "methods" in kinds:
        under = {n for n in _ANY_FIELD.findall(code) if n.startswith(prefix)}
        out.methods = {n: int(v, 16) for n, v in _PAREN.findall(code)
                       if n.startswith(prefix) and not n[len(prefix):].startswith("DMA_")
                       and any(f.startswith(n + "_") for f in under)}
    if "numbers" in kinds:
        out.numbers = {n: int(v, 0) for n, v in _NUMBER.findall(code) if n.startswith(prefix)}
    if "arrays" in kinds:
        out.arrays = {n: (int(b, 0), int(s, 0)) for n, b, s in _ARRAY.findall(code) if n.startswith(prefix)}
    if "fields" in kinds:
        out.fields = {n: (int(hi), int(lo)) for n, hi, lo in _FIELD.findall(code) if n.startswith(prefix)}
    if "statements" in kinds:
        flat = " ".join(text.split())
        out.statements = tuple(sorted(k for k, phrase in STATEMENTS.get(path, {}).items() if phrase in flat))
    if not any((out.cls, out.methods, out.numbers, out.arrays, out.fields, out.statements)):
        raise GenError(f"{path}: no {'/'.join(kinds)} define starting with {prefix!r}")
    return out


# -- the sources ------------------------------------------------------------------------------------------------


@dataclass
class Source:
    name: str  #: the module written
    title: str
    repo: str
    revision: str  #: the tag or commit read
    read: Callable[[str], bytes]


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def ogkm_source(ogkm: Path) -> Source:
    """open-gpu-kernel-modules 570.144 at ``ogkm``: an unpacked checkout, or a git clone with the tag."""
    probe = next(iter(OGKM_HEADERS))
    if (ogkm / probe).is_file():
        version_mk = ogkm / "version.mk"
        if version_mk.is_file():
            m = re.search(r"^NVIDIA_VERSION\s*=\s*(\S+)", version_mk.read_text(), re.M)
            if m is None or m.group(1) != TAG:
                raise GenError(f"{ogkm} is open-gpu-kernel-modules {m.group(1) if m else '(no NVIDIA_VERSION)'}, "
                               f"not {TAG}")

        def read_file(path: str) -> bytes:
            try:
                return (ogkm / path).read_bytes()
            except OSError as e:
                raise GenError(f"{ogkm}: cannot read {path}: {e.strerror}") from None

        return Source("r570_144", f"open-gpu-kernel-modules {TAG}", "NVIDIA/open-gpu-kernel-modules", TAG, read_file)
    try:
        _git(ogkm, "rev-parse", "--verify", f"refs/tags/{TAG}")
    except (OSError, subprocess.CalledProcessError):
        raise GenError(f"no NVIDIA headers at {ogkm} (no {probe}), and it is not a git clone of "
                       f"open-gpu-kernel-modules with tag {TAG}") from None

    def read_git(path: str) -> bytes:
        try:
            return _git(ogkm, "show", f"{TAG}:{path}")
        except subprocess.CalledProcessError:
            raise GenError(f"{ogkm}: no {path} at tag {TAG}") from None

    return Source("r570_144", f"open-gpu-kernel-modules {TAG}", "NVIDIA/open-gpu-kernel-modules", TAG, read_git)


def doc_source(doc: Path) -> Source:
    """NVIDIA open-gpu-doc: ``HEAD`` of the git clone at ``doc``."""
    try:
        commit = _git(doc, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    except (OSError, subprocess.CalledProcessError):
        raise GenError(f"no open-gpu-doc at {doc} (a git clone of NVIDIA/open-gpu-doc)") from None

    def read_git(path: str) -> bytes:
        try:
            return _git(doc, "show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            raise GenError(f"{doc}: no {path} at {commit}") from None

    return Source("open_gpu_doc", "open-gpu-doc", "NVIDIA/open-gpu-doc", commit, read_git)


# -- the table --------------------------------------------------------------------------------------------------


def _packed(items: Iterable[str], indent: int, width: int = 120) -> list[str]:
    lines: list[str] = []
    cur = " " * indent
    for item in items:
        if len(cur) + len(item) + 1 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = " " * indent
        cur += item + " "
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _table(name: str, doc: str, typ: str, per_header: dict[str, list[str]]) -> list[str]:
    out = [f"#: {doc}", f"{name}: dict[str, {typ}] = {{"]
    for header, items in per_header.items():
        if not items:
            continue
        out.append(f'    "{header}": {{')
        out += _packed(items, 8)
        out.append("    },")
    out += ["}", ""]
    return out


def render(src: Source, headers: dict[str, tuple[tuple[str, ...], str]]) -> str:
    facts: dict[str, HeaderFacts] = {}
    digest = hashlib.sha256()
    for path in sorted(headers):
        raw = src.read(path)
        digest.update(path.encode() + b"\0" + hashlib.sha256(raw).digest())
        kinds, prefix = headers[path]
        facts[path] = parse_header(path, raw.decode("utf-8", errors="replace"), kinds, prefix)
    gen = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    at = f"tag {src.revision}" if src.revision == TAG else f"commit {src.revision}"
    lines = [
        f'"""Class and control facts of NVIDIA\'s headers, {src.title} (generated: do not edit).',
        "",
        f"Written by ``tools/gen_class_reference.py`` from {len(headers)} headers of {src.repo}",
        f"at {at}. See :mod:`nova_core.engines.reference` for what each table holds.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f'SOURCE = "{src.repo}"',
        f'SOURCE_REVISION = "{src.revision}"',
        f'GENERATOR_SHA256 = "{gen}"',
        "#: over the headers read: the path and SHA-256 of each",
        f'INPUTS_SHA256 = "{digest.hexdigest()}"',
        "",
        "#: the headers read, relative to the repository root",
        "HEADERS: tuple[str, ...] = (",
        *[f'    "{h}",' for h in sorted(headers)],
        ")",
        "",
        "#: header -> the class it defines: (name, number)",
        "CLASSES: dict[str, tuple[str, int]] = {",
        *[f'    "{h}": ("{f.cls[0]}", {f.cls[1]:#06x}),' for h, f in facts.items() if f.cls is not None],
        "}",
        "",
    ]
    lines += _table("METHODS", "header -> method -> its offset (a parenthesised number with bit ranges under its name)",
                    "dict[str, int]", {h: [f'"{n}": {v:#x},' for n, v in sorted(f.methods.items())]
                                       for h, f in facts.items()})
    lines += _table("NUMBERS", "header -> define -> its value (a bare number)", "dict[str, int]",
                    {h: [f'"{n}": {v:#x},' for n, v in sorted(f.numbers.items())] for h, f in facts.items()})
    lines += _table("ARRAYS", "header -> array define NAME(i) -> (base, stride)", "dict[str, tuple[int, int]]",
                    {h: [f'"{n}": ({b:#x}, {s}),' for n, (b, s) in sorted(f.arrays.items())]
                     for h, f in facts.items()})
    lines += _table("FIELDS", "header -> define -> its bit range (hi, lo)", "dict[str, tuple[int, int]]",
                    {h: [f'"{n}": ({hi}, {lo}),' for n, (hi, lo) in sorted(f.fields.items())]
                     for h, f in facts.items()})
    lines += ["#: header -> the statements it makes (keys of tools/gen_class_reference.py STATEMENTS)",
              "STATEMENTS: dict[str, tuple[str, ...]] = {",
              *[line for h, f in facts.items() if f.statements
                for line in (f'    "{h}": (', *(f'        "{s}",' for s in f.statements), "    ),")],
              "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--ogkm", type=Path,
                    default=os.environ.get("NOVA_OGKM_TREE") or os.environ.get("NOVA_OGKM") or None,
                    help=f"open-gpu-kernel-modules at tag {TAG}: an unpacked checkout or a git clone "
                         "(default $NOVA_OGKM_TREE, else $NOVA_OGKM)")
    ap.add_argument("--open-gpu-doc", type=Path, default=os.environ.get("NOVA_OPEN_GPU_DOC") or None,
                    help="a git clone of NVIDIA/open-gpu-doc (default $NOVA_OPEN_GPU_DOC)")
    ap.add_argument("--check", action="store_true", help="compare with the committed table(s), write nothing")
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)
    nothing = "nothing was checked" if args.check else "nothing was written"
    if args.ogkm is None and args.open_gpu_doc is None:
        print(f"gen_class_reference: no headers: pass --ogkm DIR (open-gpu-kernel-modules at tag {TAG}: an "
              f"unpacked tree or a git clone) or --open-gpu-doc DIR, or set NOVA_OGKM_TREE / NOVA_OGKM / "
              f"NOVA_OPEN_GPU_DOC; {nothing}", file=sys.stderr)
        return 2
    jobs: list[tuple[Source, dict[str, tuple[tuple[str, ...], str]]]] = []
    try:
        if args.ogkm is not None:
            jobs.append((ogkm_source(args.ogkm), OGKM_HEADERS))
        if args.open_gpu_doc is not None:
            jobs.append((doc_source(args.open_gpu_doc), DOC_HEADERS))
        texts = [(args.out_dir / f"{src.name}.py", render(src, headers)) for src, headers in jobs]
    except GenError as e:
        print(f"gen_class_reference: {e}; {nothing}", file=sys.stderr)
        return 2
    status = 0
    for out, text in texts:
        old = out.read_text() if out.exists() else None
        if old == text:
            print(f"{out}: up to date")
        elif args.check:
            print(f"{out}: differs from what the headers give (run tools/gen_class_reference.py)", file=sys.stderr)
            status = 1
        else:
            out.write_text(text)
            print(f"{out}: written ({len(text.splitlines())} lines)")
    return status


if __name__ == "__main__":
    sys.exit(main())
