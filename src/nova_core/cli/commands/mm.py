"""``nova mm``: memory management: walk a GPU virtual address through its page tables; VRAM allocator statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import MmError, NovaError
from ...gpu import identify, vram_size
from ...gpu.chips import Chipset
from ...mm.allocator import Allocation, VramAllocator
from ...mm.layout import regions_from_layout, reservations, typical_regions
from ...mm.pte import format_for
from ...mm.tlb import TlbInvalidator
from ...mm.vmm import Mapping, Segment, Translation, Vmm
from ...regs.mmu import PteAperture
from ..common import (
    DEFAULT_SIM,
    DeviceOpt,
    JsonOpt,
    ReplayOpt,
    SimOpt,
    console,
    human_bytes,
    open_device,
    parse_int,
    print_json,
)

app = typer.Typer(help="Memory management: page-table walks, VRAM allocator statistics.", no_args_is_help=True)

DEMO_VA = 0x1_0000_0000
MapOpt = typer.Option([], "--map", metavar="VA:PHYS:SIZE[:vid|sys]",
                      help="Build this mapping instead of the demo (repeatable).")


def _parse_map(text: str) -> tuple[int, Segment]:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise NovaError(f"--map {text!r}: expected VA:PHYS:SIZE[:vid|sys]")
    va = parse_int(parts[0], "--map VA")
    phys = parse_int(parts[1], "--map PHYS")
    size = parse_int(parts[2], "--map SIZE")
    where = parts[3].lower() if len(parts) == 4 else "vid"
    if where not in ("vid", "sys"):
        raise NovaError(f"--map {text!r}: memory {where!r} is not vid or sys")
    ap = PteAperture.VIDEO_MEMORY if where == "vid" else PteAperture.SYSTEM_COHERENT_MEMORY
    return va, Segment(ap, phys, size)


def _demo(vmm: Vmm, dev: Any, chip: Chipset, vram: int) -> list[Mapping]:
    """A small address space that uses every page size the chip has."""
    out = [
        vmm.map_vram(DEMO_VA, 0x2000_0000, 2 << 20),  # one 2 MiB page
        vmm.map_vram(DEMO_VA + 0x20_0000, 0x2020_0000, 0x4_0000),  # four 64 KiB pages
        vmm.map_vram(DEMO_VA + 0x24_0000, 0x2024_1000, 0x4000),  # four 4 KiB pages (PA not 64 KiB aligned)
    ]
    buf = dev.dma.alloc(0x4000, name="nova mm walk demo")
    out.append(vmm.map_sys(DEMO_VA + 0x30_0000, buf))  # system memory, 4 KiB pages
    if format_for(chip).huge_512m and vram >= 2 << 30:
        out.append(vmm.map_vram(DEMO_VA + 0x2000_0000, 0x4000_0000, 512 << 20))  # one 512 MiB page
    return out


def _sim_check(dev: Any, vmm: Vmm, va: int) -> str:
    """What the simulated GPU's own MMU walker says about ``va`` (independent of the driver's walk)."""
    mmu = dev.sim.models["mmu"]
    try:
        w = mmu.walk(vmm.pdb, va)
    except NovaError as exc:
        return f"faults ({str(exc).split('MMU fault: ', 1)[-1]})"
    return f"{w.space} {w.addr(va):#x} ({human_bytes(w.page_size)} page)"


@app.command("walk")
def walk(
    va: str = typer.Argument(..., metavar="VA", help="GPU virtual address to walk (hex with 0x)."),
    sim: str | None = SimOpt,
    map_: list[str] = MapOpt,
    json_: bool = JsonOpt,
) -> None:
    """Walk VA through a GPU address space built on the simulated GPU, showing every level's entry decoded.

    Without --map the address space is a demo that uses every page size of the chip: at 0x100000000 a
    2 MiB page, then four 64 KiB pages (+0x200000), four 4 KiB pages (+0x240000), 16 KiB of system memory
    (+0x300000) and, on Ampere and later with 2 GiB of VRAM or more, a 512 MiB page (+0x20000000).
    The simulated MMU's own walker checks the result.
    """
    target = parse_int(va, "VA")
    with open_device(sim=sim) as dev:
        spec = identify(dev.bar0)
        vram = vram_size(dev.bar0, spec)
        alloc = VramAllocator(vram, reservations(typical_regions(spec.chipset, vram)))
        vmm = Vmm(format_for(spec.chipset), dev.sim.vram, alloc,  # type: ignore[attr-defined]
                  TlbInvalidator(dev.bar0, dev.clock), name="demo")
        if map_:
            maps = [vmm.map(v, [seg]) for v, seg in (_parse_map(m) for m in map_)]
        else:
            maps = _demo(vmm, dev, spec.chipset, vram)
        tr = vmm.walk(target)
        check = _sim_check(dev, vmm, target)
    if json_:
        out = tr.as_json()
        out.update(chipset=spec.chipset.name, mmu_version=vmm.fmt.version, pdb=vmm.pdb, sim_mmu=check,
                   mappings=[{"va": m.va, "size": m.size, "pages": {str(k): v for k, v in m.page_sizes().items()}}
                             for m in maps])
        print_json(out)
        return
    _print_walk(spec.chipset, vmm, maps, tr, check)


def _print_walk(chip: Chipset, vmm: Vmm, maps: list[Mapping], tr: Translation, check: str) -> None:
    out = console()
    out.print(f"[bold]{chip.name}[/bold]: MMU v{vmm.fmt.version}, {vmm.geometry.va_bits}-bit VA, "
              f"page directory base {vmm.pdb:#x}")
    for m in maps:
        pages = ", ".join(f"{n} x {human_bytes(size)}" for size, n in sorted(m.page_sizes().items(), reverse=True))
        seg = m.segments[0]
        out.print(f"  mapped [{m.va:#x}, {m.end:#x}) -> {seg.aperture.name} {seg.addr:#x}: {pages}")
    out.print(f"[bold]walk of {tr.va:#x}[/bold]")
    for s in tr.steps:
        out.print(f"  {s.level:<8} table {s.table:#x}[{s.index}] @ {s.entry_addr:#x} = {s.raw:#0{2 + 2 * s.size}x}")
        out.print(f"           {s.info.text}")
    if tr.mapped:
        assert tr.aperture is not None and tr.page_size is not None and tr.phys is not None
        out.print(f"  -> {tr.aperture.name} {tr.phys:#x} ({human_bytes(tr.page_size)} page)")
    else:
        out.print(f"  -> fault: {tr.fault}")
    out.print(f"  simulated MMU: {check}")


_BootOpt = typer.Option(False, "--boot", help="Boot GSP-RM on the simulated GPU first and show its allocator "
                                            "(only the FB regions GSP-RM leaves the driver; the BAR2 page tables).")


@app.command("stats")
def stats(
    sim: str | None = SimOpt,
    device: str | None = DeviceOpt,
    replay: Path | None = ReplayOpt,
    vram_mib: int | None = typer.Option(None, "--vram-mib", help="Override the VRAM size (MiB)."),
    boot: bool = _BootOpt,
    json_: bool = JsonOpt,
) -> None:
    """VRAM allocator statistics with the chip's fixed regions reserved (WPR2, FRTS, GSP heap, VGA workspace).

    Without --boot the regions are the typical GSP layout computed from the VRAM size; this reads only the
    identification and VRAM-size registers, so --device works on a GPU another driver owns. With --boot the
    simulated GPU is booted (nova boot) and the allocator is the one the boot used: it hands out only the FB
    regions GSP-RM's static info reports neither reserved nor protected (JSON "fb_regions"; the rest is in
    "reservations"), and "allocations" is what the boot took from them (the BAR2 page tables).
    """
    allocations: list[Allocation] = []
    reserved: list[Allocation] = []
    fb_regions: list[dict[str, object]] = []
    if boot:
        if device or replay or vram_mib is not None:
            raise NovaError("--boot boots the simulated GPU; --device, --replay and --vram-mib do not apply")
        from ...sim_boot import boot_sim

        with boot_sim(sim or DEFAULT_SIM) as gpu:
            if gpu.bars is None or gpu.layout is None or gpu.spec is None or gpu.vram_size is None:
                raise NovaError("the boot did not reach the bar-pde stage: no allocator to show")
            chip, vram = gpu.spec.chipset, gpu.vram_size
            regions = regions_from_layout(gpu.layout)
            alloc: VramAllocator = gpu.bars.allocator
            allocations = [a for a in alloc.allocations() if not a.reserved]
            reserved = [a for a in alloc.allocations() if a.reserved]
            st = alloc.stats()
            if gpu.static is not None:
                fb_regions = [{"base": r.base, "limit": r.limit, "reserved": r.reserved, "protected": r.protected}
                              for r in gpu.static.fb_regions]
    else:
        with open_device(sim=sim, device=device, replay=replay) as dev:
            spec = identify(dev.bar0)
            vram = vram_size(dev.bar0, spec) if vram_mib is None else vram_mib << 20
        if vram <= 0:
            raise MmError(f"--vram-mib {vram_mib}: VRAM size must be positive")
        chip = spec.chipset
        regions = typical_regions(chip, vram)
        st = VramAllocator(vram, reservations(regions)).stats()
    if json_:
        print_json({"chipset": chip.name, "vram": vram, "booted": boot, "stats": st.as_json(),
                    "regions": [{"name": r.name, "start": r.start, "size": r.size, "inside": r.inside}
                                for r in regions],
                    "fb_regions": fb_regions,
                    "reservations": [{"start": a.start, "size": a.size, "tag": a.tag} for a in reserved],
                    "allocations": [{"start": a.start, "size": a.size, "tag": a.tag} for a in allocations]})
        return
    out = console()
    out.print(f"[bold]{chip.name}[/bold]: {human_bytes(vram)} of VRAM" + (" (after a boot)" if boot else ""))
    for r in regions:
        indent = "    " if r.inside else "  "
        out.print(f"{indent}{r.name:<26} [{r.start:#013x}, {r.end:#013x})  {human_bytes(r.size)}")
    for a in reserved:
        out.print(f"  not the driver's: {a.tag:<35} [{a.start:#013x}, {a.end:#013x})  {human_bytes(a.size)}")
    for a in allocations:
        out.print(f"  {a.tag:<26} [{a.start:#013x}, {a.end:#013x})  {human_bytes(a.size)}")
    rows = [("free", f"{human_bytes(st.free)} ({st.free:#x})"),
            ("reserved", f"{human_bytes(st.reserved)} ({st.reserved:#x})"),
            ("largest free block", f"{human_bytes(st.largest_free)} ({st.largest_free:#x})"),
            ("fragmentation", f"{st.fragmentation:.4f}"),
            ("holes / allocations", f"{st.holes} / {st.allocations}")]
    for k, v in rows:
        out.print(f"  {k:<26} {v}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="mm")
