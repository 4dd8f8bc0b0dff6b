"""``nova falcon``: falcon code - disassemble it (``disasm``), run FWSEC in the simulated GPU (``run``)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ...falcon_isa import CODE_FILE
from ...falcon_isa.disasm import Walk, disassemble, io_namer, render
from ...falcon_isa.entropy import entropy, looks_encrypted
from ...files import read_input
from ...gpu.chips import Chipset
from ...vbios import FwsecCommand, FwsecUcode, Vbios
from ..common import JsonOpt, console, find_rom, human_bytes, parse_int, print_json

app = typer.Typer(help="Falcon code: disassemble it; run the vBIOS's FWSEC on the simulated GPU's falcon.",
                  no_args_is_help=True)

MiB = 1 << 20
_NVFW_MAGIC = 0x10DE  #: nvfw_bin_hdr.bin_magic (the generic bootloader file, acr/bl.bin)


@dataclass
class Code:
    """Falcon code to disassemble: bytes at ``base``, where execution starts, and its secure part."""

    what: str
    code: bytes
    base: int
    entries: list[int]
    secure: tuple[int, int] | None = None  #: [start, end) of heavy-secure code


def fwsec_code(fw: FwsecUcode) -> Code:
    """FWSEC's IMEM as the falcon sees it (virtual addresses) with its entry point and secure part."""
    d = fw.desc
    f = d.fields
    base = f["imem_virt_base"]
    code = fw.image[:d.imem_load_size]
    if d.version == 2:
        sec = (f["imem_sec_base"], f["imem_sec_base"] + f["imem_sec_size"])
        return Code(f"{fw.source}: FWSEC (descriptor v2, application {fw.app_id:#04x})", code, base,
                    [f["virtual_entry"]], sec)
    return Code(f"{fw.source}: FWSEC (descriptor v3, application {fw.app_id:#04x})", code, base, [base],
                (base, base + len(code)))


def file_code(path: Path, base: int | None, entries: list[int]) -> Code:
    """A raw code file at ``base`` (0), or a generic bootloader file (``nvfw_bin_hdr``: its code at its tag)."""
    data = read_input(path, CODE_FILE)
    if len(data) >= 0x30 and struct.unpack_from("<I", data)[0] == _NVFW_MAGIC:
        _, _, _, hdr_off, data_off, data_size = struct.unpack_from("<6I", data)
        if hdr_off + 24 <= len(data) and data_off + data_size <= len(data):
            tag, _, code_off, code_size, _, _ = struct.unpack_from("<6I", data, hdr_off)
            if data_off + code_off + code_size <= len(data):
                start = tag << 8 if base is None else base
                return Code(f"{path}: generic bootloader (start tag {tag:#x})",
                            data[data_off + code_off:data_off + code_off + code_size], start, entries or [start])
    start = 0 if base is None else base
    return Code(str(path), data, start, entries or [start])


def unreached(code: Code, walk: Walk) -> list[tuple[int, int]]:
    """Non-zero byte ranges outside the secure part that the walk did not reach."""
    covered = bytearray(len(code.code))
    for insn in walk.insns.values():
        lo = insn.addr - code.base
        covered[lo:lo + max(insn.length, 1)] = b"\x01" * max(insn.length, 1)
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, b in enumerate(code.code):
        a = code.base + i
        inside = code.secure is not None and code.secure[0] <= a < code.secure[1]
        hole = not covered[i] and b != 0 and not inside
        if hole and start is None:
            start = a
        elif not hole and start is not None:
            out.append((start, a))
            start = None
    if start is not None:
        out.append((start, code.base + len(code.code)))
    return out


_FileArg = typer.Argument(None, help="Raw falcon code, or a generic bootloader file (acr/bl.bin).")
_DisVbiosOpt = typer.Option(None, "--vbios", metavar="ROM", help="Take the code from this ROM.")
_FwsecOpt = typer.Option(False, "--fwsec", help="With --vbios: its FWSEC ucode (the default).")
_BaseOpt = typer.Option(None, "--base", metavar="ADDR", help="Address of the file's first byte.")
_EntryOpt = typer.Option([], "--entry", metavar="ADDR", help="Entry point (repeatable).")
_EngineOpt = typer.Option("GSP", "--engine", help="Falcon whose registers name I/O accesses (GSP, SEC2).")
_LinearOpt = typer.Option(False, "--linear", help="Every byte in order (a linear sweep), not what is reachable.")
_RunVbiosOpt = typer.Option(..., "--vbios", metavar="ROM", help="The ROM whose FWSEC runs.")
_CommandOpt = typer.Option("frts", "--command", help="frts or sb.")
_FrtsOffsetOpt = typer.Option(None, "--frts-offset", metavar="N",
                              help="FRTS region's VRAM offset (default: where the FB layout puts it).")
_VramOpt = typer.Option(None, "--vram", metavar="BYTES", help="VRAM size of the simulated GPU.")
_RunSimOpt = typer.Option(None, "--sim", metavar="CHIP", help="Chip (default: from the ROM's device id).")
_BudgetOpt = typer.Option(20_000_000, "--budget", help="Instructions before a run counts as runaway.")


@app.command("disasm")
def disasm_cmd(
    file: Path | None = _FileArg,
    vbios: Path | None = _DisVbiosOpt,
    fwsec: bool = _FwsecOpt,
    base: str | None = _BaseOpt,
    entry: list[str] = _EntryOpt,
    engine: str = _EngineOpt,
    linear: bool = _LinearOpt,
    json_: bool = JsonOpt,
) -> None:
    """Disassemble falcon v5/v6 code.

    From the entry points, the walk follows fall-through, branches, calls and the trap and interrupt vectors
    the code installs; it does not enter heavy-secure code stored encrypted, and says so. I/O accesses are
    named after the registers they reach (the engine's falcon block, from nova_core.regs).
    """
    if (file is None) == (vbios is None):
        raise NovaError("give a code FILE or --vbios ROM (with --fwsec)")
    if fwsec and vbios is None:
        raise NovaError("--fwsec takes the code from --vbios ROM")
    if engine.upper() not in ("GSP", "SEC2"):
        raise NovaError(f"--engine {engine!r}: GSP or SEC2")
    entries = [parse_int(e, "--entry") for e in entry]
    if vbios is not None:
        vb = Vbios.from_file(find_rom(vbios, "--vbios"))
        if vb.fwsec is None:
            raise NovaError(f"{vbios}: no FWSEC ucode" + (f" ({vb.fwsec_note})" if vb.fwsec_note else ""))
        code = fwsec_code(vb.fwsec)
        if base is not None:
            raise NovaError("--base applies to a code FILE; a ROM's FWSEC sits where its descriptor says")
        if entries:
            code.entries = entries
    else:
        assert file is not None
        code = file_code(file, None if base is None else parse_int(base, "--base"), entries)
    secure_info: dict[str, Any] | None = None
    opaque: list[tuple[int, int]] = []
    if code.secure is not None:
        lo, hi = code.secure
        data = code.code[lo - code.base:hi - code.base]
        enc = looks_encrypted(data)
        secure_info = {"start": lo, "end": hi, "entropy": round(entropy(data), 3), "encrypted": enc}
        if enc:
            opaque.append(code.secure)
    lines, walk = disassemble(code.code, base=code.base, entries=None if linear else code.entries, opaque=opaque,
                              namer=io_namer(engine.upper()))
    holes = [] if walk is None else unreached(code, walk)
    if json_:
        print_json({
            "source": code.what, "base": code.base, "size": len(code.code), "entries": code.entries,
            "secure": secure_info, "coverage": None if walk is None else walk.as_json(),
            "unreached": [{"start": s, "end": e} for s, e in holes],
            "lines": [{"addr": ln.addr, "bytes": ln.insn.raw.hex(), "text": ln.text, "label": ln.label}
                      for ln in lines],
        })
        return
    out = console()
    out.print(f"; {code.what}: {len(code.code):#x} bytes at {code.base:#x}, entry "
              + ", ".join(f"{e:#x}" for e in code.entries), markup=False)
    if secure_info is not None:
        out.print(f"; heavy-secure code [{secure_info['start']:#x}, {secure_info['end']:#x}): "
                  f"{secure_info['entropy']:.2f} bits/byte"
                  + (" - stored encrypted, not disassembled" if secure_info["encrypted"] else ""), markup=False)
    out.print(render(lines), markup=False)
    if walk is not None:
        j = walk.as_json()
        out.print(f"; reachable: {j['instructions']} instructions, {j['reached_bytes']} bytes, "
                  f"{100 * j['share_decoded']:.2f}% decoded", markup=False)
        for item in j["invalid"]:
            out.print(f";   not decoded at {item['addr']:#x}: {item['bytes']} ({item['error']})", markup=False)
        for item in j["unresolved"]:
            out.print(f";   not followed (target in a register) at {item['addr']:#x}: {item['insn']}", markup=False)
        for item in j["opaque_targets"]:
            out.print(f";   into encrypted secure code: {item['target']:#x} from {item['from']:#x}", markup=False)
        for item in j["outside_targets"]:
            out.print(f";   outside the code: {item['target']:#x} from {item['from']:#x}", markup=False)
        if holes:
            out.print("; not reached from the entry points (non-zero bytes outside secure code): "
                      + ", ".join(f"[{s:#x}, {e:#x})" for s, e in holes), markup=False)


def _chipset_of(vb: Vbios, sim: str | None) -> Chipset:
    if sim is not None:
        return Chipset.parse(sim)
    dev = vb.pci_at.pcir.device_id if vb.pci_at is not None else None
    for c in Chipset:
        if c.facts.pci_device_id == dev:
            return c
    raise NovaError(f"the ROM's PCI device id {dev:#06x} is not one the simulator knows a chip for; give --sim CHIP"
                    if dev is not None else "the ROM has no PCI-AT image; give --sim CHIP")


@app.command("run")
def run_cmd(
    vbios: Path = _RunVbiosOpt,
    command: str = _CommandOpt,
    frts_offset: str | None = _FrtsOffsetOpt,
    vram: str | None = _VramOpt,
    sim: str | None = _RunSimOpt,
    budget: int = _BudgetOpt,
    json_: bool = JsonOpt,
) -> None:
    """Load the ROM's FWSEC on the simulated GPU's GSP falcon as the driver does, and let the falcon emulator
    execute it.

    The result says whether NVIDIA's code ran to its halt, how many instructions it executed, where and why it
    stopped otherwise, what it wrote (falcon registers, BAR0 through its BAR0 master), and WPR2 as it left it -
    compared with where the driver's FB layout expects FRTS. Where the code cannot run, the simulator's model
    decides what the driver sees; that is reported as the fallback, apart.
    """
    import time

    from ...falcon import gsp_falcon, run_fwsec
    from ...falcon.fwsec import Wpr2, read_wpr2
    from ...falcon.genbl import find_generic_bootloader
    from ...fb.layout import frts_region
    from ...fb.sysmem_flush import SysmemFlush
    from ...regs.pdisp import NV_PDISP_VGA_WORKSPACE_BASE
    from ...sim import SimGpu
    from ...sim_boot import sim_firmware

    vbios = find_rom(vbios, "--vbios")
    try:
        cmd = FwsecCommand[command.upper()]
    except KeyError:
        raise NovaError(f"--command {command!r}: frts or sb") from None
    vb = Vbios.from_file(vbios)
    if vb.fwsec is None:
        raise NovaError(f"{vbios}: no FWSEC ucode to run" + (f" ({vb.fwsec_note})" if vb.fwsec_note else ""))
    chip = _chipset_of(vb, sim)
    vram_bytes = chip.facts.sim_vram_mib * MiB if vram is None else parse_int(vram, "--vram")
    if vram_bytes <= 0 or vram_bytes % MiB:
        raise NovaError(f"--vram {vram_bytes:#x}: a positive whole number of MiB")
    pci = vb.pci_at.pcir.device_id if vb.pci_at is not None else None
    gpu = SimGpu(chip, vbios=vbios, vram_mib=vram_bytes // MiB, pci_device=pci)
    em = gpu.models["secure_chain"].fwsec_emulation  # type: ignore[attr-defined]
    em.budget = budget
    bootloader = None
    fwset = None
    if chip.facts.needs_fwsec_bootloader:
        fwset = sim_firmware(chip)
        root = next(iter(fwset.files.values())).root
        gpu.models["secure_chain"].expect_firmware(root, fwset.version)  # type: ignore[attr-defined]
        bootloader = find_generic_bootloader(chip, fwset.version, roots=[root])
    dev = gpu.device()
    flush = SysmemFlush.register(dev.bar0, dev.dma, chip)  # before any falcon reset, as the boot does
    vga = NV_PDISP_VGA_WORKSPACE_BASE.read(dev.bar0) if chip.facts.has_display else None
    expected = frts_region(chip, fb_size=vram_bytes, vga_workspace_base=vga) if chip.facts.frts_size else None
    offset = None
    size = None
    if cmd is FwsecCommand.FRTS:
        offset = expected.start if frts_offset is None and expected is not None else \
            parse_int(frts_offset or "0", "--frts-offset")
        size = expected.size if expected is not None else 1 * MiB
    t0 = time.perf_counter()
    try:
        run = run_fwsec(gsp_falcon(dev, chip), vb.fwsec, cmd, frts_offset=offset, frts_size=size,
                        bootloader=bootloader)
    finally:
        flush.unregister()
        if fwset is not None:
            fwset.close()
    wall = time.perf_counter() - t0
    rep = em.last
    if rep is None:  # pragma: no cover - run_fwsec always starts the falcon
        raise NovaError("the GSP falcon was not started")
    after = read_wpr2(dev.bar0)
    left = Wpr2(rep.wpr2_lo, rep.wpr2_hi)
    emu_wpr2 = {"lo": left.lo, "hi": left.hi, "start": left.start, "end": left.end}
    matches = None
    if rep.executed and expected is not None and cmd is FwsecCommand.FRTS:
        matches = (emu_wpr2["start"], emu_wpr2["end"]) == (expected.start, expected.end)
    out: dict[str, Any] = {
        "rom": str(vbios), "chipset": chip.name, "frts_offset": offset, "frts_size": size,
        "vram": vram_bytes, **rep.as_json(), "wpr2": emu_wpr2,
        "expected_wpr2": None if expected is None else {"start": expected.start, "end": expected.end},
        "wpr2_matches_layout": matches, "run_seconds": wall,
        "fallback": None if rep.executed else {
            "note": "the simulator's oracle model decided what the driver saw (not NVIDIA's code)",
            "error": run.error, "mailbox0": run.mailbox0,
            "wpr2": {"lo": after.lo, "hi": after.hi, "start": after.start, "end": after.end}},
    }
    if json_:
        print_json(out)
        return
    con = console()
    con.print(f"{chip.name} FWSEC-{cmd.name} from {vbios.name} ({human_bytes(vram_bytes)} VRAM"
              + (f", FRTS at {offset:#x}" if offset is not None else "") + ")", markup=False)
    state = "ran to its halt" if rep.executed else "did not run to its halt"
    con.print(f"  NVIDIA's code {state}: {rep.instructions} instructions in {rep.host_seconds * 1e3:.1f} ms",
              markup=False)
    for note in rep.notes:
        con.print(f"  note: {note}", markup=False)
    if not rep.executed:
        con.print(f"  stopped: {rep.reason}", markup=False)
    con.print(f"  MAILBOX0 {rep.mailbox0:#x}; WPR2 as the code left it: LO {rep.wpr2_lo:#x} HI {rep.wpr2_hi:#x}",
              markup=False)
    if expected is not None:
        con.print(f"  the driver's layout expects WPR2 = FRTS [{expected.start:#x}, {expected.end:#x})"
                  + ("" if matches is None else (": matches" if matches else ": DIFFERS")), markup=False)
    writes = [a for a in rep.accesses if a.write]
    con.print(f"  {len(writes)} register writes, {len(rep.unknown_io)} unknown falcon registers", markup=False)
    for a in writes[:40]:
        where = f"I[{a.addr:#x}]" if a.space == "io" else f"BAR0 {a.addr:#08x}"
        con.print(f"    {a.pc:#06x}: {where} = {a.value:#010x}  {a.name or ''}{' (' + a.note + ')' if a.note else ''}",
                  markup=False)
    if out["fallback"] is not None:
        fb = out["fallback"]
        con.print(f"  fallback (the simulator's model, not NVIDIA's code): error {fb['error']:#x}, WPR2 "
                  f"[{fb['wpr2']['start']:#x}, {fb['wpr2']['end']:#x})", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="falcon")
