"""``nova gr``: the GR engine - GSP-RM's context buffers, the golden context, a compute object and its semaphore."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    human_bytes,
    print_json,
)

HELP = """Boot the simulated GPU and set up its GR engine as nouveau's r535 code does: ask GSP-RM for the context
buffers' sizes and alignments (KGR_GET_CONTEXT_BUFFERS_INFO), make the golden context once (a channel on GR, its
buffers allocated, mapped and promoted with GPU_PROMOTE_CTX, the 3D class allocated so that GSP-RM builds the golden
image), then open a channel on GR, promote its own context, allocate the chip's compute class on it and release a
report semaphore (SET_REPORT_SEMAPHORE) into system memory - checked by reading it back.

The JSON: {"chip", "firmware_version", "golden_context": {"buffers": [{"name", "size", "alignment", "va", ...}],
"promoted"}, "context_buffers_info": [GSP-RM's entries], "compute_class", "channel": {"chid", "buffers"},
"semaphore_released", "seconds"}. A semaphore that did not arrive is an error (exit status 1).

[bold]Examples[/bold]
  [cyan]nova gr --sim ga102 --json[/cyan]   AMPERE_COMPUTE_B on a GA102
  [cyan]nova gr --sim tu102[/cyan]   TURING_COMPUTE_A, the buffers as a table
"""

PAYLOAD = 0x600D_C0DE  #: what the compute class releases


def run_gr(chip: str, *, vbios: Path | None = None, firmware_version: str | None = None,
           synthetic: bool | None = None) -> dict[str, Any]:
    """Boot, make the golden context, release a semaphore with the compute class; what ``nova gr --json`` prints."""
    import time

    from ...sim_boot import boot_sim

    with boot_sim(chip, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic) as gpu:
        gr = gpu.gr
        t0 = time.perf_counter()
        golden = gr.golden_context()
        with gpu.channels.open(gr.engine) as ch:
            compute = ch.compute()
            sem = ch.vaspace.alloc_sysmem(0x1000, name="semaphore")
            compute.semaphore_release(sem, PAYLOAD).wait()
            got = int.from_bytes(sem.read(0, 4), "little")
            channel = {"chid": ch.chid, "class": ch.gpfifo_class, "runlist": ch.engine.runlist,
                       "buffers": compute.context.as_json()}
        seconds = time.perf_counter() - t0
        fw = gpu.firmware
        result = {"chip": gpu.spec.chipset.name.lower() if gpu.spec else chip,
                  "firmware_version": None if fw is None else fw.version,
                  "golden_context": golden.as_json(), "context_buffers_info": gr.info().as_json(),
                  "compute_class": compute.compute_class, "channel": channel,
                  "semaphore_released": got == PAYLOAD, "seconds": seconds}
    if got != PAYLOAD:
        raise NovaError(f"{chip}: the compute class's semaphore reads {got:#x}, {PAYLOAD:#x} was released")
    return result


def gr_cmd(
    sim: str | None = SimOpt,
    vbios: Path | None = VbiosOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    json_: bool = JsonOpt,
) -> None:
    r = run_gr(sim or DEFAULT_SIM, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic)
    if json_:
        print_json(r)
        return
    out = console()
    out.print(f"[bold]{r['chip']}[/bold] (GSP-RM {r['firmware_version']}): compute class {r['compute_class']:#06x}, "
              f"golden context {'promoted' if r['golden_context']['promoted'] else 'not promoted'} on channel "
              f"{r['golden_context']['channel']} (3D class {r['golden_context']['threed_class']:#06x})")
    out.print(f"  {'buffer':<30} {'size':>10} {'alignment':>10} {'va':>14}  kind", markup=False)
    for b in r["golden_context"]["buffers"]:
        va = "-" if b["va"] is None else f"{b['va']:#x}"
        kind = ("global" if b["global"] else "per channel") + (", initialized" if b["initialized"] else "")
        out.print(f"  {b['name']:<30} {human_bytes(b['size']):>10} {b['alignment']:>#10x} {va:>14}  {kind}",
                  markup=False)
    ch = r["channel"]
    out.print(f"  channel {ch['chid']}: its context promoted ({len(ch['buffers'])} buffers); semaphore "
              f"{'released' if r['semaphore_released'] else 'NOT released'} by the compute class")


def register(app: typer.Typer) -> None:
    app.command("gr", help=HELP)(gr_cmd)
