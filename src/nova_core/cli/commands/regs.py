"""``nova regs``: the register database both ways: decode values, find and show registers, read live."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError, RegisterError
from ...regs import REGISTRY, Register
from ...regs.core import Location
from ..common import (
    DeviceOpt,
    JsonOpt,
    RecordOpt,
    ReplayOpt,
    SimOpt,
    VbiosOpt,
    console,
    open_device,
    parse_int,
    print_json,
)

app = typer.Typer(help="The register database: decode values, find registers, read them live.",
                  no_args_is_help=True)


def _resolve(where: str, instance: str | None, index: int | None) -> Location:
    """An offset (``0x110100``) or a name (``NV_PMC_BOOT_42``, ``CPUCTL`` with ``--instance GSP``)."""
    if where[:1].isdigit():
        off = parse_int(where, "offset")
        loc = REGISTRY.lookup(off)
        if loc is None:
            win = REGISTRY.window_at(off)
            extra = f" (inside window {win.name} at +{off - win.start:#x})" if win else ""
            raise NovaError(f"no register is declared at offset {off:#x}{extra}")
        return loc
    reg = REGISTRY.get(where)
    base = None
    if reg.DOMAIN is not None:
        if instance is None:
            raise NovaError(f"{reg.NAME} is relative to the {reg.DOMAIN.name} block: add --instance "
                            f"({'/'.join(reg.DOMAIN.bases)})")
        base = reg.DOMAIN.base(instance.upper())
    if reg.COUNT is not None and index is None:
        raise NovaError(f"{reg.NAME} is an array of {reg.COUNT}: add --index")
    off = reg.addr(base, index)
    return Location(reg, off, instance.upper() if reg.DOMAIN is not None and instance else None, index)


def _fields_json(reg: type[Register], value: int) -> list[dict[str, Any]]:
    out = []
    for f in reg.FIELDS:
        raw = f.get(value)
        sym = f.symbolic(raw)
        out.append({"name": f.name, "bits": f.bits(), "value": raw, "access": str(f.access),
                    "meaning": sym.name if isinstance(sym, enum.IntEnum) else None})
    return out


def _print_decoded(loc: Location, value: int) -> None:
    out = console()
    reg = loc.register
    out.print(f"[bold]{loc.label}[/bold] @ {loc.offset:#08x} = {value:#010x}")
    if reg.DOC:
        out.print(f"  {reg.DOC}")
    for f in reg.FIELDS:
        raw = f.get(value)
        sym = f.symbolic(raw)
        meaning = f"  ({sym.name})" if isinstance(sym, enum.IntEnum) else ""
        out.print(f"  {f.bits():>6}  {f.name:<26} {raw:#x}{meaning}")
    stray = reg.undeclared_bits(value)
    if stray:
        out.print(f"  [yellow]bits set outside any declared field: {stray:#x}[/yellow]")


@app.command("decode")
def decode(
    where: str = typer.Argument(..., metavar="OFFSET|NAME", help="BAR0 offset (0x..) or register name."),
    value: str = typer.Argument(..., metavar="VALUE", help="32-bit register value (0x..)."),
    instance: str | None = typer.Option(None, "--instance", help="Engine for relative registers (GSP, SEC2)."),
    index: int | None = typer.Option(None, "--index", help="Index for register arrays."),
    json_: bool = JsonOpt,
) -> None:
    """Decode a register value into its fields: `nova regs decode 0x0 0x192000a1`."""
    loc = _resolve(where, instance, index)
    v = parse_int(value, "value")
    if not 0 <= v <= 0xFFFFFFFF:
        raise RegisterError(f"value {v:#x} is not a 32-bit register value")
    if json_:
        print_json({"register": loc.register.NAME, "label": loc.label, "offset": loc.offset,
                    "instance": loc.instance, "index": loc.index, "value": v,
                    "fields": _fields_json(loc.register, v), "undeclared_bits": loc.register.undeclared_bits(v)})
        return
    _print_decoded(loc, v)


@app.command("find")
def find(
    pattern: str = typer.Argument(..., help="Substring or glob of the register name (case-insensitive)."),
    json_: bool = JsonOpt,
) -> None:
    """Find registers by name: `nova regs find BOOT_42`, `nova regs find 'NV_PFALCON_*DMA*'`."""
    regs = REGISTRY.find(pattern)
    if not regs:
        raise RegisterError(f"no register matches {pattern!r}")
    if json_:
        print_json([_reg_json(r) for r in regs])
        return
    out = console()
    for r in regs:
        out.print(f"[bold]{r.summary()}[/bold]  {r.ACCESS}")
        locs = list(r.locations())
        if len(locs) == 1:
            continue
        for off, inst, idx in locs[:4]:
            label = " ".join(x for x in (inst, f"[{idx}]" if idx is not None else None) if x)
            out.print(f"    {off:#08x}  {label}")
        if len(locs) > 4:
            out.print(f"    ... {len(locs) - 4} more locations")


def _reg_json(r: type[Register]) -> dict[str, Any]:
    return {
        "name": r.NAME, "offset": r.OFFSET, "domain": r.DOMAIN.name if r.DOMAIN else None,
        "count": r.COUNT, "stride": r.STRIDE if r.COUNT else None, "access": str(r.ACCESS),
        "reset": r.RESET, "doc": r.DOC, "chips": r.CHIPS or None,
        "locations": [off for off, _, _ in r.locations()],
        "fields": [{"name": f.name, "bits": f.bits(), "access": str(f.access), "doc": f.doc,
                    "enum": {m.name: int(m) for m in f.enum} if f.enum else None} for f in r.FIELDS],
        "variants": [{"chips": v.CHIPS, "offset": v.OFFSET, "count": v.COUNT,
                      "fields": {f.name: {"bits": f.bits(), "access": str(f.access)} for f in v.FIELDS
                                 if r._BY_NAME.get(f.name) is not f}} for v in r.VARIANTS],
    }


@app.command("show")
def show(name: str = typer.Argument(..., help="Register name."), json_: bool = JsonOpt) -> None:
    """Show one register's definition: offset, fields, access, enums, documentation."""
    r = REGISTRY.get(name)
    if json_:
        print_json(_reg_json(r))
        return
    out = console()
    out.print(f"[bold]{r.summary()}[/bold]  access {r.ACCESS}, reset {r.RESET:#x}"
              + (f", chips {r.CHIPS}" if r.CHIPS else ""))
    if r.DOC:
        out.print(f"  {r.DOC}")
    if r.DOMAIN is not None:
        out.print("  instances: " + ", ".join(f"{k} {v + r.OFFSET:#x}" for k, v in r.DOMAIN.bases.items()))
    for f in r.FIELDS:
        enum_txt = ""
        if f.enum is not None:
            enum_txt = " [" + ", ".join(f"{m.name}={int(m)}" for m in f.enum) + "]"
        out.print(f"  {f.bits():>6}  {f.name:<26} {f.access!s:<4} {f.doc}{enum_txt}")
    for v in r.VARIANTS:
        diff = [f"{f.name} {f.bits()} {f.access}" for f in v.FIELDS if r._BY_NAME.get(f.name) is not f]
        if v.OFFSET != r.OFFSET:
            diff.insert(0, f"offset {v.OFFSET:#x}")
        if v.COUNT != r.COUNT:
            diff.insert(0, f"{v.COUNT} entries")
        out.print(f"  on {v.CHIPS}: " + ", ".join(diff))


@app.command("read")
def read(
    where: str = typer.Argument(..., metavar="OFFSET|NAME"),
    instance: str | None = typer.Option(None, "--instance", help="Engine for relative registers (GSP, SEC2)."),
    index: int | None = typer.Option(None, "--index", help="Index for register arrays."),
    sim: str | None = SimOpt,
    device: str | None = DeviceOpt,
    vbios: Path | None = VbiosOpt,
    replay: Path | None = ReplayOpt,
    record: Path | None = RecordOpt,
    json_: bool = JsonOpt,
) -> None:
    """Read a register from a device (simulated by default) and decode it."""
    loc = _resolve(where, instance, index)
    with open_device(sim, device, vbios, replay, record) as dev:
        v = dev.bar0.read32(loc.offset)
    if json_:
        print_json({"register": loc.register.NAME, "label": loc.label, "offset": loc.offset, "value": v,
                    "fields": _fields_json(loc.register, v)})
        return
    _print_decoded(loc, v)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="regs")
