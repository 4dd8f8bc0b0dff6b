"""``nova fw FILE``: what a GSP firmware file holds - GSP image, SEC2 booter, RISC-V bootloader, GSP-FMC
container (Hopper/Blackwell) or generic falcon bootloader (Turing/GA100)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ...gpu.chips import Chipset
from ..common import JsonOpt, console, human_bytes, print_json


def describe(path: Path, chip: Chipset | None, fused_version: int) -> dict[str, Any]:
    """The JSON document of ``nova fw`` for one file."""
    from ...firmware import (
        BooterFirmware,
        FmcImage,
        GenericBootloaderImage,
        GspImage,
        RiscvBootloader,
        open_firmware,
        version_from_name,
    )

    fw = open_firmware(path)  # a regular file within the cap, or a FirmwareError before any read
    out: dict[str, Any] = {"path": str(path), "file_bytes": path.stat().st_size}
    if isinstance(fw, GspImage):
        with fw:
            info = fw.as_json()
            nested = fw.nested_elf()
            out.update(
                kind="gsp", version=fw.version,
                sections=[{"name": s["name"], "size": s["size"], "offset": s["offset"], "type": s["type"]}
                          for s in info["sections"]],
                signatures=info["signatures"], radix3=info["radix3"],
                image={"offset": fw.image_offset, "bytes": fw.image_size, "is_elf": nested is not None,
                       "entry": None if nested is None else nested.entry,
                       "sections": None if nested is None else [{"name": s.name, "size": s.size, "addr": s.addr}
                                                                for s in nested.sections if s.index]},
            )
            if chip is not None:
                out["selected_signature"] = fw.signature_section(chip)
        return out
    out["version"] = version_from_name(path)
    if isinstance(fw, BooterFirmware):
        name = path.name
        ld = fw.load
        out.update(
            kind="booter",
            role="unload" if name.startswith("booter_unload") else "load" if name.startswith("booter_load") else None,
            sections=[{"name": "os_code", "offset": ld.os_code.offset, "size": ld.os_code.size},
                      {"name": "app0_code", "offset": ld.app_code.offset, "size": ld.app_code.size},
                      {"name": "os_data", "offset": ld.os_data.offset, "size": ld.os_data.size},
                      {"name": "signature_slot", "offset": fw.patch_loc, "size": fw.sig_size}],
            signatures=[f"sig_prod[{i}]" for i in range(fw.num_sig)],
            hs_header=fw.as_json(),
        )
        if chip is not None:
            layout = fw.load_layout(chip.facts.falcon_hal, fused_version)
            out["selected_signature"] = f"sig_prod[{layout.signature_index}]"
            out["load_layout"] = {"falcon_hal": chip.facts.falcon_hal.value, **layout.as_json()}
        return out
    if isinstance(fw, FmcImage):
        if chip is not None:
            f = chip.facts
            if not f.cot_version:
                raise NovaError(f"{chip.name} boots through the SEC2 booter: it has no FSP to take a GSP-FMC")
            fw.check_sizes_for(f.cot_public_key_size, f.cot_signature_size, chip.name)
        out.update(kind="fmc", sections=[{"name": s.name, "offset": s.offset, "size": s.size, "crc32": s.crc32}
                                         for s in fw.sections],
                   signatures=[fw.scheme], fmc=fw.as_json())
        return out
    if isinstance(fw, GenericBootloaderImage):
        gd = fw.desc
        out.update(kind="gen_bootloader", sections=[{"name": "code", "offset": gd.code_off, "size": gd.code_size},
                                                    {"name": "data", "offset": gd.data_off, "size": gd.data_size}],
                   signatures=[], bl_desc=dict(gd.__dict__), boot_vector=fw.boot_vector)
        return out
    assert isinstance(fw, RiscvBootloader)
    d = fw.desc
    regions = [("manifest", d.manifest_offset, d.manifest_size), ("monitor_data", d.monitor_data_offset,
               d.monitor_data_size), ("monitor_code", d.monitor_code_offset, d.monitor_code_size),
               ("bootloader", d.bootloader_offset, d.bootloader_size),
               ("bootloader_params", d.bootloader_param_offset, d.bootloader_param_size),
               ("riscv_elf", d.riscv_elf_offset, d.riscv_elf_size), ("swbrom_code", d.swbrom_code_offset,
               d.swbrom_code_size), ("swbrom_data", d.swbrom_data_offset, d.swbrom_data_size)]
    out.update(kind="bootloader",
               sections=[{"name": n, "offset": o, "size": s} for n, o, s in regions if s],
               signatures=[], riscv_desc=d.as_json(), payload_bytes=len(fw.payload), fmc_loaded=fw.fmc_loaded)
    return out


FileArg = typer.Argument(None, metavar="[FILE]",
                         help="A gsp-*.bin/gsp_*.bin, booter_*.bin, bootloader-*.bin, fmc-*.bin or "
                              "gen_bootloader-*.bin (none: the --chip's set).")
ChipOpt = typer.Option(None, "--chip", metavar="CHIP",
                       help="Select the chip's GSP signature, the booter's load layout, or check an FMC's key sizes; "
                            "without FILE, show the chip's whole firmware set as found.")
FusedOpt = typer.Option(0, "--fused-version", metavar="N", min=0,
                        help="Booters: the chip's fused ucode version (0: none fused).")
VersionOpt = typer.Option(None, "--firmware-version", metavar="V",
                          help="Without FILE: the GSP-RM version of the set (default: the first complete one).")


def _find_set(chip: Chipset, version: str | None) -> list[Path]:
    """The files of ``chip``'s firmware set: the search path (NOVA_FIRMWARE_PATH, /lib/firmware), then the copies
    ./dev test fetched (``$NOVA_CACHE/firmware/...``, ``$NOVA_CACHE/firmware-sid/...``) - the error says everywhere
    it looked."""
    from ...firmware.discovery import fetched_firmware_roots, open_firmware_set, search_path

    roots = search_path()
    fetched = fetched_firmware_roots()
    roots += [f for f in fetched if f.is_dir() and f not in roots]
    try:
        with open_firmware_set(chip, version, roots=roots) as fw_set:
            return [f.path for f in fw_set.files.values()]
    except NovaError as e:
        raise NovaError(f"{e} (./dev test fetches NVIDIA's sets into {' and '.join(map(str, fetched))}: nova fw "
                        f"looks there too)") from None


def fw(
    file: Path | None = FileArg,
    chip: str | None = ChipOpt,
    fused_version: int = FusedOpt,
    firmware_version: str | None = VersionOpt,
    json_: bool = JsonOpt,
) -> None:
    """Show what a GSP firmware file holds: kind, version, sections, signatures, headers, radix3.

    GSP images: ELF sections, signature sections, the nested ELF of TU10x images, the radix3 geometry; --chip names
    the signature that chip uses. Booters: the HS headers, signatures and payload ranges; --chip (with
    --fused-version) gives the signature chosen and the falcon load layout. Bootloaders: the RM_RISCV_UCODE_DESC
    (v5 without a RISC-V bootloader: the Hopper/Blackwell GSP-FMC layout). GSP-FMC (fmc-*.bin): its ELF32 sections
    (CRC-32 checked), the SHA-384 hash of the image checked, the key scheme; --chip checks the key and signature
    sizes the chip's FSP takes. Generic bootloaders: RM_FLCN_BL_DESC. Without FILE, --chip CHIP shows every file of
    the chip's set, found as a boot finds it (NOVA_FIRMWARE_PATH, /lib/firmware) or in the copies ./dev test
    fetched.

    JSON keys: path, file_bytes, kind (gsp/booter/bootloader/fmc/gen_bootloader), version, sections
    [{name, size, ...}], signatures, and radix3 + image (gsp), hs_header (booter), riscv_desc + fmc_loaded
    (bootloader), fmc (fmc), bl_desc + boot_vector (gen_bootloader), selected_signature (with --chip); without
    FILE, {"chip", "files": [one such document per file]}.
    """
    chipset = Chipset.parse(chip) if chip is not None else None
    if file is None:
        if chipset is None:
            raise NovaError("give a firmware FILE, or --chip CHIP for the chip's whole set")
        docs = [describe(p, chipset, fused_version) for p in _find_set(chipset, firmware_version)]
        if json_:
            print_json({"chip": chipset.name, "files": docs})
            return
        for doc in docs:
            _print(doc, chipset)
        return
    if firmware_version is not None:
        raise NovaError("--firmware-version chooses a set, and applies without FILE")
    doc = describe(file, chipset, fused_version)
    if json_:
        print_json(doc)
        return
    _print(doc, chipset)


def _print(doc: dict[str, Any], chipset: Chipset | None) -> None:
    out = console()
    out.print(f"[bold]{doc['path']}[/bold]: {doc['kind']}{' ' + doc['role'] if doc.get('role') else ''}, "
              f"version {doc['version'] or 'unknown'} ({human_bytes(doc['file_bytes'])})")
    out.print("  sections:")
    for s in doc["sections"]:
        off = f" @ {s['offset']:#x}" if "offset" in s else ""
        out.print(f"    {s['name']:<28} {s['size']:>#12x}{off}")
    if doc["kind"] == "gsp":
        out.print(f"  signatures: {', '.join(doc['signatures'])}")
        img, r = doc["image"], doc["radix3"]
        out.print(f"  image: {img['bytes']:#x} bytes at {img['offset']:#x}, "
                  f"{'nested ELF, entry ' + hex(img['entry']) if img['is_elf'] else 'raw code'}")
        out.print(f"  radix3: {r['image_pages']} image pages, {r['level2_pages']} level-2 pages, "
                  f"{r['level1_entries']} level-1 entries, 1 level-0 page")
    elif doc["kind"] == "booter":
        h = doc["hs_header"]
        p = h["signature_params"]
        out.print(f"  signatures: {h['num_sig']} x {h['signature_size']} bytes; patch_loc {h['patch_loc']:#x} "
                  f"(DMEM {h['pkc_data_offset']:#x}); fuse_ver {p['fuse_ver']}, engine mask "
                  f"{p['engine_id_mask']:#x}, ucode id {p['ucode_id']:#x}")
        if "load_layout" in doc:
            lay = doc["load_layout"]
            out.print(f"  on {chipset.name if chipset else ''} ({lay['falcon_hal']} HAL), fused version "
                      f"{lay['fused_version']}: {doc['selected_signature']}, boot vector {lay['boot_vector']:#x}")
    elif doc["kind"] == "fmc":
        f = doc["fmc"]
        out.print(f"  GSP-FMC image {f['image_bytes']:#x} bytes, SHA-384 {f['hash'][:32]}... (matches the image); "
                  f"{f['public_key_bytes']}-byte public key, {f['signature_bytes']}-byte signature: {f['scheme']}")
    elif doc["kind"] == "gen_bootloader":
        b = doc["bl_desc"]
        out.print(f"  RM_FLCN_BL_DESC: start tag {b['start_tag']:#x} (boot vector {doc['boot_vector']:#x}), DMEM "
                  f"descriptor at {b['dmem_load_off']:#x}")
    else:
        d = doc["riscv_desc"]
        out.print(f"  RM_RISCV_UCODE_DESC v{d['version']} ({d['size']} bytes), app version {d['app_version']:#x}, "
                  f"payload {doc['payload_bytes']:#x} bytes"
                  + ("; no RISC-V bootloader: the GSP-FMC loads the monitor" if doc["fmc_loaded"] else ""))
    if "selected_signature" in doc and doc["kind"] == "gsp":
        out.print(f"  {chipset.name if chipset else ''} uses {doc['selected_signature']}")


def register(app: typer.Typer) -> None:
    app.command("fw")(fw)
