"""``nova boot``: bring GSP-RM up end to end (the simulated GPU by default), show what happened, shut down."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ...errors import NovaError
from ...files import check_output_dir, check_output_file, write_atomically
from ...gpu.chips import Chipset
from ...gsp.boot import STAGE_HELP, STAGES, BootFailed, GspDevice, boot, stages_for
from ...hw.events import Span, Timeline
from ...sim_boot import boot_sim
from ..common import (
    DEFAULT_SIM,
    FirmwareVersionOpt,
    JsonOpt,
    RecordOpt,
    SimOpt,
    SyntheticOpt,
    VbiosOpt,
    console,
    find_rom,
    human_bytes,
    parse_int,
    print_json,
)

_STAGE_LIST = "\n\n".join(f"  [cyan]{name}[/cyan]  {STAGE_HELP[name]}" for name in STAGES)

HELP = f"""Bring GSP-RM up end to end, show what it did, and shut it down again.

With no options it boots the default simulated GPU (AD102) with NVIDIA's firmware when it is found
(NOVA_FIRMWARE_PATH, then /lib/firmware; ./dev test fetches it into $NOVA_CACHE/firmware/root/usr/lib/firmware and
./dev boot uses that copy) and otherwise with a synthetic, format-correct firmware set it generates once into
$NOVA_CACHE/synthetic-firmware; the summary says which.
The device is shut down at the end (UNLOADING_GUEST_DRIVER, FWSEC-SB, booter_unload, WPR2 cleared).

[bold]Stages[/bold] (--until STAGE stops after one; everything brought up is torn down):

{_STAGE_LIST}

[bold]Examples[/bold]

  [cyan]nova boot[/cyan]  boot the simulated AD102

  [cyan]nova boot --sim tu117 --vbios turing-tu117_1f82_gtx1650.rom --json[/cyan]  a TU117 serving a real ROM
  (a bare name is looked for in $NOVA_VBIOS_DIR and ../shared/vbios), as JSON

  [cyan]nova boot --sim ga102 --until booter-load --trace boot.json[/cyan]  stop after the booter; open the
  trace in ui.perfetto.dev

  [cyan]nova boot --sim tu102 --record boot.jsonl[/cyan]  every BAR0/BAR2 access of the boot and shutdown, as
  JSON lines (the format of nova probe --record)

Hopper and Blackwell take the FSP chain of trust (fmc-load, fsp-cot, gsp-lockdown) where the others run
FWSEC-FRTS and the SEC2 booter; --device BDF boots a real GPU owned through VFIO (bound to vfio-pci).
"""


class _LiveProgress:
    """One status line on an interactive terminal - the stage running, how far, the RPCs so far - erased when the
    boot ends, so the stages are listed once (by the summary). One line fits any terminal: a live table taller
    than the terminal cannot be erased and would leave the stages on screen twice. ``order``: the chip's stages."""

    def __init__(self, con: Console, order: Sequence[str]) -> None:
        self.index = {name: i + 1 for i, name in enumerate(order)}
        self.current = ""
        self.rpcs = 0
        self.live = Live(self._render(), console=con, refresh_per_second=12, transient=True)

    def _render(self) -> Text:
        if not self.current:
            return Text("nova boot: starting", style="dim")
        n = self.index.get(self.current, 0)
        return Text.assemble(("nova boot: ", "dim"), f"[{n:>2}/{len(self.index)}] ", (self.current, "bold"), "  ",
                             (STAGE_HELP.get(self.current, ""), "dim"), (f"  ({self.rpcs} RPCs)", "dim"),
                             overflow="ellipsis", no_wrap=True)

    def __call__(self, phase: str, span: Span) -> None:
        if span.kind == "rpc" and phase == "end":
            self.rpcs += 1
        elif span.kind == "stage" and span.name in STAGE_HELP and phase == "begin":
            self.current = span.name
        else:
            return
        self.live.update(self._render())


def _progress_lines(err: Any, order: Sequence[str]) -> Any:
    """A line per stage on a stderr that is not an interactive terminal (a log file, CI); ``order``: the chip's
    stages."""
    index = {name: i + 1 for i, name in enumerate(order)}

    def listener(phase: str, span: Span) -> None:
        if phase != "end" or span.kind != "stage":
            return
        n = index.get(span.name)
        pos = f"[{n:>2}/{len(order)}]" if n else "       "
        state = "ok" if span.ok else "FAILED"
        err.write(f"nova boot: {pos} {span.name:<30} {state} ({span.dev_ns / 1e6:.3f} ms device, "
                  f"{span.host_ns / 1e6:.1f} ms host)\n")
        err.flush()

    return listener


def _same_destination(a: Any, b: Any) -> bool:
    """Whether two streams write to the same file (``nova boot 2>&1``, or both on one terminal)."""
    try:
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (OSError, ValueError, AttributeError):  # a stream without a file descriptor (captured by a test)
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _firmware_hint() -> str:
    """Where NVIDIA's real firmware is or can come from - what is true on this machine."""
    from ...firmware.discovery import fetched_firmware_roots

    fetched = fetched_firmware_roots()
    there = [str(f) for f in fetched if (f / "nvidia").is_dir()]
    if there:
        return (f"NVIDIA's sets, fetched by ./dev test, are in {' and '.join(there)}: ./dev boot uses them, or set "
                f"NOVA_FIRMWARE_PATH")
    return (f"./dev test fetches NVIDIA's sets into {' and '.join(map(str, fetched))}; or install Debian's "
            f"firmware-nvidia-graphics into /lib/firmware")


def _fwsec_emulation(gpu: GspDevice) -> list[Any] | None:
    """The simulated GPU's FWSEC emulation reports (``None`` on a real GPU)."""
    sim = getattr(gpu.dev, "sim", None)
    chain = getattr(sim, "models", {}).get("secure_chain")
    em = getattr(chain, "fwsec_emulation", None)
    return None if em is None else list(em.runs)


def _summary(gpu: GspDevice, info: dict[str, Any], out: Console, wall_s: float, tl: Timeline) -> None:
    spec, fw, st = gpu.spec, gpu.firmware, gpu.static
    ready = "ready" if info.get("gsp_ready") else "not ready"
    title = f"[bold]{gpu.name}[/bold]: " + (f"{spec}" if spec else "?")
    out.print(title)
    rows: list[tuple[str, str]] = []
    if gpu.vram_size is not None:
        rows.append(("VRAM", human_bytes(gpu.vram_size)))
    if gpu.vbios is not None:
        rows.append(("vBIOS", f"{gpu.vbios.version} ({len(gpu.vbios.images)} images)"))
    if fw is not None:
        kind = (f"[yellow]synthetic[/yellow] (generated by nova_core.sim.synth, not NVIDIA's; {_firmware_hint()})"
                if fw.synthetic else "real")
        rows.append(("firmware", f"GSP-RM {fw.version}, {kind}"))
        rows.append(("  from", str(next(iter(fw.files.values())).root)))
    if st is not None:
        rows.append(("GSP-RM", f"{ready}: {st.gpu_name} ({st.gpu_short_name}), FB {human_bytes(st.fb_length)}, "
                               f"L2 {human_bytes(st.l2_cache_size)}"))
        uuid = info["static_info"]["uuid"]
        if uuid:
            rows.append(("  UUID", uuid))
        rows.append(("  BAR roots", f"GSP-RM's BAR1 at {st.bar1_pde_base:#x} (reused), BAR2 at "
                                    f"{st.bar2_pde_base:#x} (the driver's half merged into it)"))
        usable = sum(r.limit + 1 - r.base for r in st.fb_regions if not r.reserved and not r.protected)
        rows.append(("  FB regions", f"{len(st.fb_regions)}; {human_bytes(usable)} neither reserved nor protected "
                                     f"(the driver's VRAM)"))
    elif gpu.stopped_after:
        rows.append(("stopped", f"after stage {gpu.stopped_after!r} (--until)"))
    for run in _fwsec_emulation(gpu) or []:
        how = (f"executed by the falcon emulator ({run.instructions} instructions)" if run.executed else
               f"[yellow]not executed[/yellow]: the simulator's model decided ({run.reason})")
        rows.append((run.command, how))
    objs = info["objects"]
    if objs:
        rows.append(("objects", ", ".join(f"{o['class_name']} {o['handle']:#010x}" for o in objs)))
    for k, v in rows:
        out.print(f"  {k:<11} {v}")
    out.print(f"  [bold]{'stage':<30} {'ok':<2} {'device ms':>10} {'host ms':>8}  detail[/bold]")
    for s in gpu.stages + gpu.shutdown_stages:
        mark = "[green]✓[/green] " if s.ok else "[red]✗[/red] "
        out.print(f"  {s.name:<30} {mark} {s.device_ns / 1e6:>10.3f} {s.host_ns / 1e6:>8.1f}  {s.detail}")
    dev_ns = sum(s.device_ns for s in gpu.stages)
    host_wait = tl.host_sleep_ns / 1e9
    out.print(f"  {len(tl.of_kind('rpc'))} RPCs, {len(tl.of_kind('wait'))} waits; device time {dev_ns / 1e6:.1f} ms; "
              f"host {wall_s * 1e3:.0f} ms wall, of which {host_wait * 1e3:.0f} ms inside device waits "
              f"(the simulated GPU catching up) and {(wall_s - host_wait) * 1e3:.0f} ms driver and register model")
    out.print(f"  shutdown: {gpu.teardown_status}")


_PciDeviceOpt = typer.Option(None, "--pci-device", metavar="ID",
                             help="PCI device id of the simulated GPU (e.g. that of the --vbios ROM).")
_UntilOpt = typer.Option(None, "--until", metavar="STAGE", help="Stop after this stage (see above).")
_TraceOpt = typer.Option(None, "--trace", metavar="FILE",
                         help="Write a Chrome/Perfetto trace of stages, RPCs and waits.")
_SaveLogsOpt = typer.Option(None, "--save-logs", metavar="DIR",
                            help="Write the raw log rings (loginit, logintr, logrm) here, also after a failed boot.")
_DeviceOpt = typer.Option(None, "--device", metavar="BDF",
                          help="Boot a real GPU owned through VFIO (bound to vfio-pci).")


def boot_cmd(
    sim: str | None = SimOpt,
    vbios: Path | None = VbiosOpt,
    pci_device: str | None = _PciDeviceOpt,
    firmware_version: str | None = FirmwareVersionOpt,
    synthetic: bool | None = SyntheticOpt,
    until: str | None = _UntilOpt,
    trace: Path | None = _TraceOpt,
    save_logs: Path | None = _SaveLogsOpt,
    device: str | None = _DeviceOpt,
    record: Path | None = RecordOpt,
    json_: bool = JsonOpt,
) -> None:
    if device is not None and (sim or vbios or pci_device):
        raise NovaError("--device boots a real GPU; --sim, --vbios and --pci-device are for the simulated one")
    vbios = find_rom(vbios, "--vbios")
    if until is not None and until not in STAGES:
        from ...errors import did_you_mean

        raise NovaError(f"--until {until!r} is not a stage{did_you_mean(until, STAGES)}; stages: {', '.join(STAGES)}")
    pid = None if pci_device is None else parse_int(pci_device, "--pci-device")
    if pid is not None and not 0 <= pid <= 0xFFFF:
        raise NovaError(f"--pci-device {pci_device!r}: a PCI device id is 16 bits (0 to 0xffff)")
    # outputs are checked before the boot: a bad path must not cost a boot, nor hide its result
    if trace is not None:
        check_output_file(trace, "--trace")
    if save_logs is not None:
        check_output_dir(save_logs, "--save-logs")
    tl = Timeline()
    order = STAGES if device is not None else stages_for(chipset := Chipset.parse(sim or DEFAULT_SIM))
    if until is not None and until not in order:  # a stage of the other boot path (a real GPU's chip is not known)
        raise NovaError(f"--until {until!r} is not on {chipset.name}'s boot path ({chipset.facts.boot_path.value}): "
                        f"{', '.join(order)}")
    live: _LiveProgress | None = None
    err_console = Console(file=sys.stderr, highlight=False)
    if err_console.is_interactive and not json_:
        live = _LiveProgress(err_console, order)
        tl.listeners.append(live)
    elif not json_ and not _same_destination(sys.stderr, sys.stdout):  # else the summary would repeat every line
        tl.listeners.append(_progress_lines(sys.stderr, order))
    import time

    t0 = time.perf_counter()
    failure: BootFailed | None = None
    gpu: GspDevice | None = None
    info: dict[str, Any] = {}
    try:
        if live is not None:
            live.live.start()
        if device is not None:
            from ...hw.vfio import open_vfio_device

            dev = open_vfio_device(device)
            if record is not None:
                from ...hw.trace import record_device

                dev = record_device(dev, record, command="boot")
            try:
                gpu = boot(dev, firmware_version=firmware_version, until=until, timeline=tl)
            except BaseException:
                dev.close()
                raise
        else:
            gpu = boot_sim(sim or DEFAULT_SIM, vbios=vbios, firmware_version=firmware_version, synthetic=synthetic,
                           pci_device=pid, until=until, timeline=tl, record=record)
        info = gpu.info()  # what was brought up, before the shutdown
        gpu.close()
    except BootFailed as e:
        failure = e
        gpu = e.device
        info = gpu.info()
    finally:
        if live is not None:
            live.live.stop()
    wall = time.perf_counter() - t0
    if trace is not None:
        write_atomically(trace, tl.chrome_trace_bytes())
    if save_logs is not None and gpu is not None:
        for name, data in gpu.log_buffers().items():
            write_atomically(save_logs / name.lower(), data)  # a new file renamed into place: no link is followed
    if gpu is None:  # pragma: no cover - boot either returns or raises BootFailed
        raise NovaError("boot produced no device")
    if json_:
        info["closed"] = gpu.closed
        info["shutdown"] = {"status": gpu.teardown_status, "stages": [s.as_json() for s in gpu.shutdown_stages]}
        info["host_seconds"] = wall
        info["host_wait_seconds"] = tl.host_sleep_ns / 1e9
        info["error"] = None if failure is None else {"stage": failure.stage, "message": str(failure)}
        runs = _fwsec_emulation(gpu)
        if runs is not None:
            frts = next((r for r in runs if r.command == "FWSEC-FRTS"), None)
            info["fwsec_executed"] = None if frts is None else frts.executed
            info["fwsec_emulation"] = [r.summary_json() for r in runs]
        print_json(info)
    else:
        _summary(gpu, info, console(), wall, tl)
        if trace is not None:
            console().print(f"  trace: {trace} (open in ui.perfetto.dev)")
        if record is not None:
            console().print(f"  BAR accesses recorded: {record}")
    if failure is not None:
        raise failure


def register(app: typer.Typer) -> None:
    app.command("boot", help=HELP)(boot_cmd)
