"""``nova vbios``: what a vBIOS holds - images, BIT, version, falcon ucodes, FWSEC - and the patched FWSEC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ...errors import NovaError
from ...files import check_output_file, write_atomically
from ...hw.device import Device
from ...regs.fuse import FUSE_VERSION_BY_ENGINE
from ...vbios import FwsecCommand, FwsecImage, Vbios
from ...vbios.facts import CodeType
from ..common import (
    DeviceOpt,
    JsonOpt,
    RecordOpt,
    ReplayOpt,
    SimOpt,
    VbiosOpt,
    console,
    find_rom,
    human_bytes,
    open_device,
    parse_int,
    print_json,
)

_CODE_NAMES = {CodeType.PCI_AT: "PCI-AT", CodeType.EFI: "EFI", CodeType.NBSI: "NBSI", CodeType.FWSEC: "FwSec"}


def fused_version_of(dev: Device, vb: Vbios) -> int | None:
    """The fused version of FWSEC's ucode id read from ``dev``'s fuses (read-only), ``None`` if unknown."""
    fw = vb.fwsec
    if fw is None or fw.desc.version != 3:
        return None
    mask, ucode_id = fw.desc.get("engine_id_mask") or 0, fw.desc.get("ucode_id") or 0
    reg = next((r for bit, r in FUSE_VERSION_BY_ENGINE.items() if mask & bit), None)
    if reg is None or not 1 <= ucode_id <= 16:
        return None
    return (reg.read(dev.bar0, i=ucode_id - 1) & 0xFFFF).bit_length()


def choose_fuse_version(vb: Vbios, given: int | None, from_device: int | None) -> int | None:
    """``--fuse-version``, else the device's fuses, else the only signature version; v2 needs none."""
    fw = vb.fwsec
    if fw is None or fw.desc.version != 3:
        return None
    if given is not None:
        return given
    if from_device is not None:
        return from_device
    versions = fw.signature_versions
    if len(versions) == 1:
        return versions[0]
    raise NovaError(f"--fuse-version is required: the FWSEC ucode carries signatures for fuse versions "
                    f"{', '.join(map(str, versions))} and a ROM file does not say which one this board's fuses "
                    f"accept (read NV_FUSE_OPT_FPF_*_UCODE{fw.desc.get('ucode_id')}_VERSION: highest set bit + 1)")


FileArg = typer.Argument(None, metavar="[FILE]", help="ROM file (a dump of the vBIOS); a bare NAME is also looked "
                                                     "for in $NOVA_VBIOS_DIR and the checkout's ../shared/vbios.")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Add coverage: claimed and unclaimed byte ranges.")
ExtractOpt = typer.Option(None, "--extract-fwsec", metavar="OUT",
                          help="Write the patched FWSEC image (IMEM then DMEM) to OUT.")
CommandOpt = typer.Option("frts", "--command", metavar="frts|sb", help="FWSEC command to patch in.")
FrtsOffsetOpt = typer.Option(None, "--frts-offset", metavar="N",
                             help="FRTS: VRAM offset of the FRTS region (4 KiB aligned).")
FrtsSizeOpt = typer.Option("0x100000", "--frts-size", metavar="N", help="FRTS: region size (default 1 MiB).")
FuseVersionOpt = typer.Option(None, "--fuse-version", metavar="V",
                              help="Fused ucode version (picks the v3 signature); read from the device's fuses "
                                   "when omitted with --sim/--device.")


def vbios(
    file: Path | None = FileArg,
    sim: str | None = SimOpt,
    device: str | None = DeviceOpt,
    vbios_file: Path | None = VbiosOpt,
    replay: Path | None = ReplayOpt,
    record: Path | None = RecordOpt,
    json_: bool = JsonOpt,
    verbose: bool = VerboseOpt,
    extract_fwsec: Path | None = ExtractOpt,
    command: str = CommandOpt,
    frts_offset: str | None = FrtsOffsetOpt,
    frts_size: str = FrtsSizeOpt,
    fuse_version: int | None = FuseVersionOpt,
) -> None:
    """Parse a vBIOS: PCI expansion ROM images, BIT tokens, version, falcon ucode table and FWSEC.

    The ROM comes from FILE, or from the PROM window of a GPU: --sim CHIP (the simulated GPU's ROM,
    synthetic or --vbios FILE), --device BDF (a real GPU, read-only, 32-bit reads), --replay FILE.
    --verbose adds the byte ranges each structure claims and the unclaimed regions.

    --extract-fwsec OUT --frts-offset N writes the FWSEC image patched for the FRTS command (or
    --command sb), with the v3 signature chosen by --fuse-version; OUT is written atomically.

    JSON keys: source, version, biosdata, rom_base, located_by, ifr, images (offset, code_type, size, last,
    pci_vendor, pci_device, ...), pci_at, bit (offset, header, tokens [id, name, version, size, ptr, ...],
    unknown_tokens), falcon_data, expansion_rom_offset, ucode_table, fwsec (app_id, desc_version,
    imem_load_size, dmem_load_size, signature_count, ucode_id, engine_id_mask, ...; null without FWSEC),
    fwsec_note, warnings, coverage; with --extract-fwsec also extracted.
    """
    if file is not None and (sim or device or replay or vbios_file):
        raise NovaError("give either a ROM FILE or a device (--sim/--device/--replay), not both")
    cmd = _command(command)
    frts = parse_int(frts_offset, "--frts-offset") if frts_offset is not None else None
    size = parse_int(frts_size, "--frts-size")
    if extract_fwsec is None and frts is not None:
        raise NovaError("--frts-offset applies to --extract-fwsec")
    if extract_fwsec is not None and cmd is FwsecCommand.FRTS and frts is None:
        raise NovaError("--extract-fwsec with the FRTS command needs --frts-offset N (the FRTS region's VRAM offset)")
    if extract_fwsec is not None:
        check_output_file(extract_fwsec, "--extract-fwsec")  # before the ROM is read: a bad path costs nothing
    device_fuse: int | None = None
    if file is not None:
        vb = Vbios.from_file(find_rom(file, "ROM file"))
    else:
        with open_device(sim, device, vbios_file, replay, record) as dev:
            vb = Vbios.from_bar(dev.bar0, dev.name)
            if extract_fwsec is not None and fuse_version is None:
                device_fuse = fused_version_of(dev, vb)
    extracted: FwsecImage | None = None
    if extract_fwsec is not None:
        if vb.fwsec is None:
            raise NovaError(f"{vb.source.name}: no FWSEC to extract: {vb.fwsec_note}")
        fv = choose_fuse_version(vb, fuse_version, device_fuse)
        extracted = vb.fwsec.patch(cmd, frts_offset=frts, frts_size=size, fuse_version=fv)
        write_atomically(extract_fwsec, extracted.image)
    if json_:
        doc = vb.as_json(verbose=verbose)
        if extracted is not None:
            doc["extracted"] = {"path": str(extract_fwsec), **extracted.as_json()}
        print_json(doc)
        return
    _print(vb, verbose)
    if extracted is not None:
        _print_extracted(extracted, extract_fwsec)


def _command(text: str) -> FwsecCommand:
    try:
        return FwsecCommand[text.strip().upper()]
    except KeyError:
        raise NovaError(f"--command {text!r}: expected frts or sb") from None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _print(vb: Vbios, verbose: bool) -> None:
    out = console()
    out.print(f"[bold]{vb.source.name}[/bold] ({vb.source.kind}, {human_bytes(vb.source.size)})")
    rows: list[tuple[str, str]] = [("version", vb.version or "unknown (no BIOSDATA)")]
    where = f"{vb.rom_base:#x} ({vb.located_by})"
    if vb.ifr is not None:
        where += f", IFR v{vb.ifr.version}"
    rows.append(("ROM start", where))
    if vb.pci_at is not None:
        p = vb.pci_at.pcir
        chk = "not checked" if vb.checksum is None else ("ok" if vb.checksum == 0 else f"BAD (sum {vb.checksum:#04x})")
        rows.append(("PCI id", f"{p.vendor_id:04x}:{p.device_id:04x}"))
        rows.append(("legacy checksum", chk))
    for k, v in rows:
        out.print(f"  {k:<16} {v}")

    t = Table(title="images", title_justify="left", box=None, pad_edge=False)
    for col in ("#", "offset", "size", "type", "code", "last", "pci id", "pcir", "npde"):
        t.add_column(col)
    for i in vb.images:
        name = _CODE_NAMES.get(CodeType(i.code_type), "?") if i.code_type in set(CodeType) else "unknown"
        npde = "-" if i.npde is None else f"rev {i.npde.revision:#x}" + ("" if i.npde.valid else " (ignored)")
        t.add_row(str(i.index), f"{i.offset:#07x}", f"{i.size:#07x}", name, f"{i.code_type:#04x}", _yes(i.last),
                  f"{i.pcir.vendor_id:04x}:{i.pcir.device_id:04x}", i.pcir.signature, npde)
    out.print(t)

    if vb.bit is not None:
        h = vb.bit.header
        t = Table(title=f"BIT at {h.offset:#x} (BCD {h.bcd_version:#06x}, {len(vb.bit.tokens)} tokens)",
                  title_justify="left", box=None, pad_edge=False)
        for col in ("id", "name", "ver", "size", "ptr", "data"):
            t.add_column(col)
        for tok in vb.bit.tokens:
            ch = chr(tok.id) if 0x20 < tok.id < 0x7F else "?"
            decoded = vb.bit.decoded.get((tok.id, tok.version))
            t.add_row(f"{tok.id:#04x} {ch!r}", tok.name or "[yellow]unknown[/yellow]", str(tok.version), str(tok.size),
                      f"{tok.ptr:#06x}", "-" if tok.data_offset is None else
                      f"{tok.data_offset:#x}" + (" decoded" if decoded is not None else ""))
        out.print(t)
        if vb.bit.unknown_ids:
            out.print("  unknown token ids: " + ", ".join(f"{i:#04x}" for i in vb.bit.unknown_ids))

    tab = vb.ucode_table
    if tab is not None:
        used = tab.used
        empty = len(tab.entries) - len(used)
        t = Table(title=f"falcon ucode table at {tab.offset:#x} ({tab.position} FwSec image): "
                        f"{tab.header['entry_count']} entries, {len(used)} listed"
                        + (f"; {empty} empty (application 0, descriptor pointer 0) not listed" if empty else ""),
                  title_justify="left", box=None, pad_edge=False)
        for col in ("app", "name", "target", "desc ptr", "descriptor"):
            t.add_column(col)
        for e in used:
            desc = (f"v{e.desc.version} at {e.desc.offset:#x}, {e.desc.stored_size:#x} bytes" if e.desc is not None
                    else "not decoded (below)")
            t.add_row(f"{e.app_id:#04x}", e.app_name or "", f"{e.target_id:#04x}", f"{e.desc_ptr:#x}", desc)
        out.print(t)
        for e in used:
            if e.error is not None:  # the reason, without the ROM's name the message starts with
                out.print(f"  not decoded: {e.error.removeprefix(vb.source.name + ': ')}",
                          markup=False)

    fw = vb.fwsec
    if fw is None:
        out.print(f"[bold]FWSEC[/bold]: none - {vb.fwsec_note}")
    else:
        d = fw.desc
        out.print(f"[bold]FWSEC[/bold] (application {fw.app_id:#04x}): descriptor v{d.version} at {d.offset:#x} "
                  f"({fw.position} FwSec image), ucode at {d.image_offset:#x}")
        out.print(f"  IMEM {d.imem_load_size:#x} bytes, DMEM {d.dmem_load_size:#x} bytes at image +{d.dmem_offset:#x}"
                  + (f", {len(fw.signatures)} RSA3K signatures for fuse versions "
                     f"{', '.join(map(str, fw.signature_versions))}, ucode id {d.get('ucode_id')}, engine mask "
                     f"{d.get('engine_id_mask'):#x}, signature at DMEM {d.get('pkc_data_offset'):#x}"
                     if d.version == 3 else f", secure IMEM {d.get('imem_sec_size'):#x} bytes at "
                                            f"{d.get('imem_sec_base'):#x} (generic-bootloader path)"))
        m = fw.dmemmapper
        out.print(f"  interface table at DMEM {fw.interface.dmem_offset:#x} ({len(fw.interface.entries)} entries); "
                  f"DMEMMAPPER at DMEM {m.dmem_offset:#x}, command buffer {m.cmd_in_buffer_offset:#x} "
                  f"({m.cmd_in_buffer_size:#x} bytes)")
    for w in vb.warnings:
        out.print(f"[yellow]warning[/yellow]: {w}")

    cov = vb.coverage.summary(0, vb.end)
    out.print(f"coverage: {cov['claimed_bytes']:#x} of {vb.end:#x} bytes claimed by {cov['claims']} structures, "
              f"{cov['unclaimed_regions']} unclaimed regions" + ("" if verbose else " (--verbose lists them)"))
    if verbose:
        for c in sorted(vb.coverage.claims, key=lambda c: (c.start, c.end)):
            out.print(f"  claimed   [{c.start:#08x}, {c.end:#08x}) {c.size:#8x}  {c.label}")
        for a, b in vb.unclaimed():
            out.print(f"  unclaimed [{a:#08x}, {b:#08x}) {b - a:#8x}")


def _print_extracted(img: FwsecImage, path: Path | None) -> None:
    out = console()
    info: dict[str, Any] = img.as_json()
    out.print(f"[bold]wrote[/bold] {path}: FWSEC {img.command.name} ({img.command:#x}), {len(img.image):#x} bytes, "
              f"sha256 {img.sha256}")
    segs = [("IMEM (non-secure)", img.imem_ns), ("IMEM (secure)", img.imem_sec), ("DMEM", img.dmem)]
    for name, seg in segs:
        if seg is not None:
            out.print(f"  {name:<18} image +{seg.src:#x}, {seg.size:#x} bytes -> falcon {seg.dst:#x}"
                      + (f" (tag {seg.tag:#x})" if seg.tag is not None else ""))
    out.print(f"  boot vector       {img.boot_vector:#x}")
    if img.brom is not None:
        out.print(f"  BROM              PKC signature at DMEM {img.brom.pkc_data_offset:#x}, engine mask "
                  f"{img.brom.engine_id_mask:#x}, ucode id {img.brom.ucode_id}")
    if img.signature_index is not None:
        out.print(f"  signature         #{img.signature_index} (fuse version {img.fused_version})")
    for p in info["patches"]:
        out.print(f"  patched           DMEM {p['dmem_offset']:#x} +{p['size']:#x}: {p['what']}")


def register(app: typer.Typer) -> None:
    app.command("vbios")(vbios)
