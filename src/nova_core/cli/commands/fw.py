"""``nova fw FILE``: what a GSP firmware file holds - GSP image, SEC2 booter or RISC-V bootloader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ...errors import NovaError
from ...gpu.chips import Chipset
from ..common import JsonOpt, console, human_bytes, print_json


def describe(path: Path, chip: Chipset | None, fused_version: int) -> dict[str, Any]:
    """The JSON document of ``nova fw`` for one file."""
    from ...firmware import BooterFirmware, GspImage, RiscvBootloader, open_firmware, version_from_name

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
               signatures=[], riscv_desc=d.as_json(), payload_bytes=len(fw.payload))
    return out


FileArg = typer.Argument(None, metavar="[FILE]",
                         help="A gsp-*.bin/gsp_*.bin, booter_*.bin or bootloader-*.bin (none: the --chip's set).")
ChipOpt = typer.Option(None, "--chip", metavar="CHIP",
                       help="Select the chip's GSP signature, or the booter's load layout; without FILE, show the "
                            "chip's whole firmware set as found.")
FusedOpt = typer.Option(0, "--fused-version", metavar="N", min=0,
                        help="Booters: the chip's fused ucode version (0: none fused).")
VersionOpt = typer.Option(None, "--firmware-version", metavar="V",
                          help="Without FILE: the GSP-RM version of the set (default: the first complete one).")


def _find_set(chip: Chipset, version: str | None) -> list[Path]:
    """The files of ``chip``'s firmware set: the search path (NOVA_FIRMWARE_PATH, /lib/firmware), then the copy
    ./dev test fetched (``$NOVA_CACHE/firmware/...``) - the error says everywhere it looked."""
    from ...firmware.discovery import fetched_firmware_root, open_firmware_set, search_path

    roots = search_path()
    fetched = fetched_firmware_root()
    if fetched.is_dir() and fetched not in roots:
        roots.append(fetched)
    try:
        with open_firmware_set(chip, version, roots=roots) as fw_set:
            return [f.path for f in fw_set.files.values()]
    except NovaError as e:
        raise NovaError(f"{e} (./dev test fetches NVIDIA's set into {fetched}: nova fw looks there too)") from None


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
    --fused-version) gives the signature chosen and the falcon load layout. Bootloaders: the RM_RISCV_UCODE_DESC.
    Without FILE, --chip CHIP shows every file of the chip's set, found as a boot finds it (NOVA_FIRMWARE_PATH,
    /lib/firmware) or in the copy ./dev test fetched.

    JSON keys: path, file_bytes, kind (gsp/booter/bootloader), version, sections [{name, size, ...}], signatures,
    and radix3 + image (gsp), hs_header (booter), riscv_desc (bootloader), selected_signature (with --chip);
    without FILE, {"chip", "files": [one such document per file]}.
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
    else:
        d = doc["riscv_desc"]
        out.print(f"  RM_RISCV_UCODE_DESC v{d['version']} ({d['size']} bytes), app version {d['app_version']:#x}, "
                  f"payload {doc['payload_bytes']:#x} bytes")
    if "selected_signature" in doc and doc["kind"] == "gsp":
        out.print(f"  {chipset.name if chipset else ''} uses {doc['selected_signature']}")


def register(app: typer.Typer) -> None:
    app.command("fw")(fw)
