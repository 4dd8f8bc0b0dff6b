"""nova_core.debugfs.tree: the files ``nova mount`` exposes per device, as plain logic (no FUSE here).

Per device, a directory named after it (``sim:ad102`` becomes ``sim-ad102``; a PCI address stays as is)::

    gsp/loginit  gsp/logintr  gsp/logrm     the raw libos log rings (read when opened: live while GSP-RM runs)
    gsp/loginit.txt ...                     the same rings as text (:mod:`nova_core.gsp.logs`; raw words
                                            unless a logging ELF decoder is given)
    vbios.rom                               the ROM bytes the vBIOS was parsed from
    info.json                               the boot summary
    regs/<NAME>, regs/<NAME>[i]             one register, read when opened, decoded field by field
    regs/<engine>/<NAME>                    engine-relative registers (falcon blocks: gsp/, sec2/, fsp/)
    irq/vectors                             the interrupt view (``nova irq``): delivery mode, VFN tree geometry,
                                            every vector with its kind, handler and count, the faults reported
    irq/info.json                           the same as JSON (devices that offer ``interrupts()``)
    vgpu/vf<N>/creatable_vgpu_types         with a vGPU manager: the types VF N could take now, and its vGPU's type
    vgpu/vf<N>/current_vgpu_type            (0: none) - NVIDIA's /sys/bus/pci/devices/<VF>/nvidia/ files, read-only
                                            here (one directory per VF enabled when the tree was built)

Contents are produced when a file is opened (its size is that of the produced bytes), so ``cat`` and ``cp``
see one consistent snapshot. A register read that fails gives a file that says why, never an I/O error.
Data-port registers (IMEMD, DMEMD, EMEMD) are left out: reading them advances the port's auto-increment,
and looking must never change the device.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import NovaError
from ..gsp.logs import LogDecoder, read_log
from ..hw.bar import Bar
from ..regs import REGISTRY
from ..regs.core import Register

#: registers whose read has a side effect (auto-incrementing data ports): never read by the export
SIDE_EFFECT_READS = ("NV_PFALCON_FALCON_IMEMD", "NV_PFALCON_FALCON_DMEMD", "NV_PGSP_EMEMD")
_RINGS = ("LOGINIT", "LOGINTR", "LOGRM")


class ExportSource(Protocol):
    """What a booted device offers the export (:class:`~nova_core.gsp.boot.GspDevice` implements it)."""

    @property
    def name(self) -> str: ...

    @property
    def bar0(self) -> Bar: ...

    def log_buffers(self) -> Mapping[str, bytes]: ...

    def vbios_rom(self) -> bytes | None: ...

    def info(self) -> dict[str, Any]: ...


class VgpuView(Protocol):
    """The per-VF view of a vGPU manager (:class:`~nova_core.api.vgpu.manager.VgpuManager` implements it)."""

    def vfs(self) -> Sequence[Any]: ...

    def creatable_text(self, vf: int) -> str: ...

    def current_text(self, vf: int) -> str: ...


class NotFound(NovaError):
    """No such file or directory in the export."""


@dataclass
class Dir:
    children: dict[str, Dir | File] = field(default_factory=dict)


@dataclass
class File:
    produce: Callable[[], bytes]


def _dirname(name: str) -> str:
    return name.replace("/", "-").replace(":", "-") if name.startswith("sim:") else name.replace("/", "-")


def register_text(reg: type[Register], bar: Bar, base: int | None, i: int | None) -> bytes:
    """``NAME @ 0xOFFSET = 0xVALUE`` then one line per field; a failed read says why."""
    addr = reg.addr(base=base, i=i)
    label = reg.NAME if i is None else f"{reg.NAME}[{i}]"
    try:
        value = bar.read32(addr)
    except NovaError as e:
        return f"{label} @ {addr:#x}: read failed: {e}\n".encode()
    lines = [f"{label} @ {addr:#x} = {value:#010x}"]
    for f in reg.FIELDS:
        raw = f.get(value)
        sym = f.symbolic(raw)
        name = getattr(sym, "name", None)
        lines.append(f"  {f.name:<24} [{f.hi}:{f.lo}] = {raw:#x}" + (f" ({name})" if name else ""))
    stray = reg.undeclared_bits(value)
    if stray:
        lines.append(f"  (undeclared bits {stray:#x})")
    return ("\n".join(lines) + "\n").encode()


def _ring_bytes(src: ExportSource, ring: str) -> bytes:
    return bytes(src.log_buffers().get(ring, b""))


def _rom_bytes(src: ExportSource) -> bytes:
    return src.vbios_rom() or b""


def _info_json(src: ExportSource) -> bytes:
    return (json.dumps(src.info(), indent=2, default=str) + "\n").encode()


def _irq_view(src: ExportSource) -> dict[str, Any] | None:
    interrupts = getattr(src, "interrupts", None)
    return None if interrupts is None else interrupts()


def _irq_json(src: ExportSource) -> bytes:
    return (json.dumps(_irq_view(src), indent=2, default=str) + "\n").encode()


def irq_text(view: Mapping[str, Any] | None) -> bytes:
    """The interrupt view as text: one header line, one line per vector, the reports."""
    if view is None:
        return b"no interrupts: the boot did not reach the interrupts stage\n"
    lines = [f"mode {view['mode']} ({view.get('backend', '')}); TOP registers {view['top']}, subtrees "
             f"{view['subtrees']}, leaves {view['leaves']}",
             f"{'vector':>6} {'leaf':>4} {'bit':>3} {'kind':<8} {'name':<16} {'count':>8} handler"]
    for v in view["vectors"]:
        vec = int(v["vector"])
        lines.append(f"{vec:>6} {vec // 32:>4} {vec % 32:>3} {v['kind']:<8} {v['name']:<16} {v['count']:>8} "
                     f"{v['handler'] or '-'}")
    lines += [f"report: {r}" for r in view.get("reports", [])]
    return ("\n".join(lines) + "\n").encode()


def _view_text(fn: Callable[[int], str], vf: int) -> bytes:
    try:
        return fn(vf).encode()
    except NovaError as e:
        return f"VF {vf}: {e}\n".encode()


def _vgpu_dir(view: VgpuView) -> Dir:
    """``vf<N>/creatable_vgpu_types`` and ``vf<N>/current_vgpu_type`` for every VF enabled now."""
    d = Dir()
    for vf in view.vfs():
        d.children[f"vf{vf.index}"] = Dir({
            "creatable_vgpu_types": File(functools.partial(_view_text, view.creatable_text, vf.index)),
            "current_vgpu_type": File(functools.partial(_view_text, view.current_text, vf.index)),
        })
    return d


class ExportTree:
    """The directory tree of one or more devices.

    Args:
        sources: the devices.
        decoder: a logging-ELF decoder for the ``gsp/*.txt`` files (raw words without one).
        vgpu: the vGPU managers of devices that have one, by device name (their ``vgpu/`` directories).
    """

    def __init__(self, sources: list[ExportSource], *, decoder: LogDecoder | None = None,
                 vgpu: Mapping[str, VgpuView] | None = None) -> None:
        self.root = Dir()
        self.decoder = decoder
        for src in sources:
            name = _dirname(src.name)
            if name in self.root.children:
                raise NovaError(f"two devices export as {name!r}")
            node = self._device(src)
            view = (vgpu or {}).get(src.name)
            if view is not None:
                node.children["vgpu"] = _vgpu_dir(view)
            self.root.children[name] = node

    def _device(self, src: ExportSource) -> Dir:
        gsp = Dir()
        for ring in _RINGS:
            gsp.children[ring.lower()] = File(functools.partial(_ring_bytes, src, ring))
            gsp.children[ring.lower() + ".txt"] = File(functools.partial(self._ring_text, src, ring))
        regs = Dir()
        bar = src.bar0
        for reg in REGISTRY:
            if reg.NAME in SIDE_EFFECT_READS:
                continue
            bases: list[tuple[Dir, int | None]]
            if reg.DOMAIN is not None:
                bases = []
                for inst, engine_base in reg.DOMAIN.bases.items():
                    sub = regs.children.setdefault(inst.lower(), Dir())
                    if isinstance(sub, Dir):
                        bases.append((sub, engine_base))
            else:
                bases = [(regs, None)]
            indices: list[int | None] = [None] if reg.COUNT is None else list(range(reg.COUNT))
            for d, base in bases:
                for i in indices:
                    fname = reg.NAME if i is None else f"{reg.NAME}[{i}]"
                    d.children[fname] = File(functools.partial(register_text, reg, bar, base, i))
        tree = Dir({
            "gsp": gsp,
            "vbios.rom": File(functools.partial(_rom_bytes, src)),
            "info.json": File(functools.partial(_info_json, src)),
            "regs": regs,
        })
        if getattr(src, "interrupts", None) is not None:
            tree.children["irq"] = Dir({"vectors": File(lambda: irq_text(_irq_view(src))),
                                        "info.json": File(functools.partial(_irq_json, src))})
        return tree

    def _ring_text(self, src: ExportSource, ring: str) -> bytes:
        data = src.log_buffers().get(ring)
        if not data:
            return f"{ring}: not allocated\n".encode()
        try:
            return ("\n".join(read_log(ring, data, self.decoder).render()) + "\n").encode()
        except NovaError as e:
            return f"{ring}: {e}\n".encode()

    # -- queries ------------------------------------------------------------------------------------------

    def lookup(self, path: str) -> Dir | File:
        node: Dir | File = self.root
        for part in (p for p in path.split("/") if p):
            if not isinstance(node, Dir) or part not in node.children:
                raise NotFound(f"no {path!r} in the export")
            node = node.children[part]
        return node

    def listdir(self, path: str) -> list[str]:
        node = self.lookup(path)
        if not isinstance(node, Dir):
            raise NotFound(f"{path!r} is a file, not a directory")
        return list(node.children)

    def read(self, path: str) -> bytes:
        """The file's contents, produced now."""
        node = self.lookup(path)
        if not isinstance(node, File):
            raise NotFound(f"{path!r} is a directory")
        return node.produce()
