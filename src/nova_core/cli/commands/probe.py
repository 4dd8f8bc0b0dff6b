"""``nova probe``: identify a GPU: chipset, architecture, revision, VRAM, GPU timer (read-only)."""

from __future__ import annotations

from pathlib import Path

import typer

from ...gpu.probe import probe as do_probe
from ..common import (
    DeviceOpt,
    JsonOpt,
    RecordOpt,
    ReplayOpt,
    SimOpt,
    VbiosOpt,
    console,
    human_bytes,
    open_device,
    print_json,
)


def probe(
    sim: str | None = SimOpt,
    device: str | None = DeviceOpt,
    vbios: Path | None = VbiosOpt,
    replay: Path | None = ReplayOpt,
    record: Path | None = RecordOpt,
    json_: bool = JsonOpt,
) -> None:
    """Identify a GPU: chipset, architecture, revision, VRAM size and GPU time.

    Reads only BOOT_0, BOOT_42, the VRAM size register and PTIMER, so it is safe on a real GPU that
    its vendor driver owns (--device BDF, as root). Without --device it probes the simulated GPU.

    JSON keys: device, kind, chipset, chipset_id, architecture, architecture_id, revision, boot0,
    boot42, vram_bytes, gpu_time_ns, pci_vendor, pci_device, vbios_version.
    """
    with open_device(sim, device, vbios, replay, record) as dev:
        result = do_probe(dev)
    if json_:
        print_json(result.as_json())
        return
    out = console()
    out.print(f"[bold]{result.device}[/bold] ({result.kind})")
    rows = [
        ("chipset", f"{result.chipset} (id {result.chipset_id:#x})"),
        ("architecture", f"{result.architecture} ({result.architecture_id:#x})"),
        ("revision", result.revision),
        ("boot registers", f"BOOT_0 {result.boot0:#010x}  BOOT_42 {result.boot42:#010x}"),
        ("VRAM", f"{human_bytes(result.vram_bytes)} ({result.vram_bytes:#x} bytes)"),
        ("GPU time", f"{result.gpu_time_ns} ns"),
    ]
    if result.pci_device is not None:
        rows.append(("PCI id", f"{result.pci_vendor or 0:04x}:{result.pci_device:04x}"))
    if result.vbios_version is not None:
        rows.append(("vBIOS", result.vbios_version))
    for k, v in rows:
        out.print(f"  {k:<15} {v}")


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)
