"""``nova pci`` (one function's config space, decoded like ``lspci -vvv``) and ``nova list`` (discovery)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ...pci import facts as F
from ...pci.caps import decode
from ...pci.config import ConfigSpace, probe_bar_sizes, probe_rom_size
from ...pci.discovery import ROM_RESOURCE, SYSFS_PCI, PciFunction, find_function, list_devices
from ...pci.lspci import read_config_dump
from ...pci.source import BytesConfig
from ..common import JsonOpt, console, human_bytes, print_json

FileOpt = typer.Option(None, "--file", metavar="DUMP",
                       help="A config-space dump: raw bytes, or lspci -x/-xxx/-xxxx text.")
SysfsOpt = typer.Option(SYSFS_PCI, "--sysfs", hidden=True, help="Root of the PCI device tree (for tests).")


class _Plain:
    """Console output without rich markup: lspci's brackets ([60], [size=16M]) are text here."""

    def __init__(self) -> None:
        self._console = console()

    def print(self, text: str) -> None:
        self._console.print(text, markup=False, highlight=False)


def _pm(flag: bool) -> str:
    return "+" if flag else "-"


def _lspci_size(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _open(bdf: str | None, sim: str | None, file: Path | None,
          sysfs: Path) -> tuple[ConfigSpace, str, int | None]:
    """The config space the options name, a title, and the expansion ROM size when known."""
    chosen = [n for n, v in (("BDF", bdf), ("--sim", sim), ("--file", file)) if v]
    if len(chosen) != 1:
        raise NovaError("give exactly one of a PCI address (BDF), --sim CHIP or --file DUMP"
                        + (f" (got {', '.join(chosen)})" if chosen else ""))
    if sim is not None:
        from ...sim import SimGpu

        gpu = SimGpu(sim)
        cs = ConfigSpace(gpu.device().config or BytesConfig(b""))
        sizes = probe_bar_sizes(cs)
        return ConfigSpace(cs.source, sizes=sizes), f"sim:{gpu.chipset.lower}", probe_rom_size(cs)
    if file is not None:
        data, _kind = read_config_dump(file)
        return ConfigSpace(BytesConfig(data, name=Path(file).name)), str(file), None
    from ...hw.sysfs import normalize_bdf

    fn = find_function(normalize_bdf(bdf or ""), sysfs)
    rom = fn.resources[ROM_RESOURCE].size if len(fn.resources) > ROM_RESOURCE else 0
    return ConfigSpace(fn.config(), sizes=fn.bar_sizes), fn.bdf, rom or None


def _report(cs: ConfigSpace, title: str, rom: int | None) -> dict[str, Any]:
    h = cs.header()
    walk = cs.capabilities()
    caps = []
    for c in walk.capabilities:
        d = decode(cs, c)
        caps.append({**c.as_json(), "summary": d.summary, "lines": d.lines(), "decoded": d.as_json()})
    return {
        "source": title, "size": cs.size, "vendor": h.vendor, "device": h.device, "class": h.class_code,
        "class_name": h.class_name, "revision": h.revision, "header": h.as_json(),
        "bars": [b.as_json() for b in cs.bars()], "rom": {"address": h.rom_address, "size": rom},
        "capabilities": caps, "notes": walk.notes, "problems": walk.problems,
    }


def pci(
    bdf: str | None = typer.Argument(None, metavar="[BDF]", help="PCI address, e.g. 0000:01:00.0."),
    sim: str | None = typer.Option(None, "--sim", metavar="CHIP", help="The simulated GPU of this chip."),
    file: Path | None = FileOpt,
    json_: bool = JsonOpt,
    sysfs: Path = SysfsOpt,
) -> None:
    """Decode one function's PCI config space: header, BARs, capabilities (like lspci -vvv).

    An unprivileged read of sysfs config returns only the 64-byte header, so capabilities need root;
    a 256-byte source has no extended capabilities. Both are said in the output, never guessed.

    JSON keys: source, size, vendor, device, class, class_name, revision, header, bars (index, address,
    size, is_64bit, prefetchable, is_io), rom, capabilities (id, name, offset, extended, version,
    summary, lines, decoded), notes, problems.
    """
    cs, title, rom = _open(bdf, sim, file, sysfs)
    rep = _report(cs, title, rom)
    if json_:
        print_json(rep)
        return
    out = _Plain()
    h = cs.header()
    vendor = "NVIDIA Corporation" if h.vendor == F.NVIDIA_VENDOR_ID else f"Vendor {h.vendor:04x}"
    out.print(f"{title} {h.class_name} [{h.class_code >> 8:04x}]: {vendor} Device {h.device:04x} "
              f"(rev {h.revision:02x})")
    if h.subsystem_vendor is not None:
        out.print(f"\tSubsystem: {h.subsystem_vendor:04x}:{h.subsystem_device or 0:04x}")
    c, s = F.Command, F.Status
    out.print(f"\tControl: I/O{_pm(c.io.is_set(h.command))} Mem{_pm(c.memory.is_set(h.command))} "
              f"BusMaster{_pm(c.master.is_set(h.command))} SERR{_pm(c.serr.is_set(h.command))} "
              f"DisINTx{_pm(c.intx_disable.is_set(h.command))}")
    out.print(f"\tStatus: Cap{_pm(s.cap_list.is_set(h.status))} INTx{_pm(s.interrupt.is_set(h.status))}")
    for b in rep["bars"]:
        size = f" [size={_lspci_size(b['size'])}]" if b["size"] else ""
        if b["is_io"]:
            out.print(f"\tRegion {b['index']}: I/O ports at {b['address']:x}{size}")
        else:
            kind = f"{'64' if b['is_64bit'] else '32'}-bit, {'' if b['prefetchable'] else 'non-'}prefetchable"
            out.print(f"\tRegion {b['index']}: Memory at {b['address']:x} ({kind}){size}")
    if rep["rom"]["address"] or rep["rom"]["size"]:
        size = f" [size={_lspci_size(rep['rom']['size'])}]" if rep["rom"]["size"] else ""
        state = "enabled" if (rep["rom"]["address"] or 0) & F.ROM_ENABLE else "disabled"
        out.print(f"\tExpansion ROM at {(rep['rom']['address'] or 0) & F.ROM_ADDR_MASK:x} [{state}]{size}")
    for cap in rep["capabilities"]:
        where = f"[{cap['offset']:x} v{cap['version']}]" if cap["extended"] else f"[{cap['offset']:x}]"
        out.print(f"\tCapabilities: {where} {cap['name']}{': ' + cap['summary'] if cap['summary'] else ''}")
        for line in cap["lines"]:
            out.print(f"\t\t{line}")
    for note in rep["notes"]:
        out.print(f"\t[note] {note}")
    for problem in rep["problems"]:
        out.print(f"\t[problem] {problem}")


def _bars_text(fn: PciFunction) -> str:
    return " ".join(f"{i}:{human_bytes(s)}" for i, s in sorted(fn.bar_sizes.items())) or "-"


def list_(
    all_: bool = typer.Option(False, "--all", help="Every PCI function, not only NVIDIA GPUs."),
    json_: bool = JsonOpt,
    sysfs: Path = SysfsOpt,
) -> None:
    """List NVIDIA GPUs (PCI display controllers of vendor 10de) under /sys/bus/pci/devices.

    Columns: PCI address, vendor:device, class, bound driver, IOMMU group, BAR sizes. Reads only
    world-readable sysfs attributes. JSON: a list of objects with keys bdf, vendor, device, class,
    class_name, revision, subsystem_vendor, subsystem_device, driver, iommu_group, bars.
    """
    devices = list_devices(sysfs, all_devices=all_)
    if json_:
        print_json([d.as_json() for d in devices])
        return
    out = _Plain()
    if not devices:
        if all_:
            out.print(f"no PCI functions under {sysfs} (a container without a PCI tree?)")
        else:
            total = len(list_devices(sysfs, all_devices=True))
            out.print(f"no NVIDIA GPU found under {sysfs} ({total} other PCI function{'s' if total != 1 else ''}; "
                      f"`nova list --all` shows them)")
        return
    out.print(f"{'BDF':<13} {'ID':<9} {'class':<28} {'driver':<12} {'iommu':<5} BARs")
    for d in devices:
        group = "-" if d.iommu_group is None else str(d.iommu_group)
        out.print(f"{d.bdf:<13} {d.vendor:04x}:{d.device:04x} {d.class_name[:28]:<28} {d.driver or '-':<12} "
                  f"{group:<5} {_bars_text(d)}")


def register(app: typer.Typer) -> None:
    app.command("pci")(pci)
    app.command("list")(list_)
