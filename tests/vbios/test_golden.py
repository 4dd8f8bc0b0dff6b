"""Golden JSON per real ROM: what ``nova vbios --json`` derives, plus the patched FWSEC images' digests.

The files under ``golden/`` hold derived facts only (offsets, sizes, ids, SHA-256 digests), never ROM
bytes. ``NOVA_REGEN_GOLDEN=1 pytest tests/vbios/test_golden.py`` rewrites them after a deliberate
change; the test then shows the diff in review. The goldens are also cross-checked against MANIFEST.tsv.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from vbios_helpers import ROM_NAMES, ManifestRom, rom_bytes

from nova_core.vbios import FwsecCommand, Vbios

pytestmark = pytest.mark.artifacts

GOLDEN = Path(__file__).parent / "golden"
FRTS_OFFSET = 0x5FE00000  #: an FRTS region 1 MiB below the top of a 1.5 GiB FB window, 4 KiB aligned


def derive(name: str, data: bytes) -> dict[str, Any]:
    vb = Vbios.from_bytes(data, name)
    doc = vb.as_json()
    patched: dict[str, Any] = {}
    fw = vb.fwsec
    if fw is not None:
        fuses: list[int | None] = list(fw.signature_versions) if fw.desc.version == 3 else [None]
        for fuse in fuses:
            for cmd in FwsecCommand:
                img = fw.patch(cmd, frts_offset=FRTS_OFFSET if cmd is FwsecCommand.FRTS else None, fuse_version=fuse)
                key = f"{cmd.name}" + ("" if fuse is None else f"@fuse{fuse}")
                patched[key] = img.as_json()
    doc["patched"] = patched
    return doc


@pytest.mark.parametrize("name", ROM_NAMES)
def test_golden(name: str, vbios_path: Path) -> None:
    doc = derive(name, rom_bytes(vbios_path, name))
    path = GOLDEN / (Path(name).stem + ".json")
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if os.environ.get("NOVA_REGEN_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden {path.name}; run with NOVA_REGEN_GOLDEN=1 to create it"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


@pytest.mark.parametrize("name", ROM_NAMES)
def test_golden_agrees_with_manifest(name: str, manifest: dict[str, ManifestRom]) -> None:
    path = GOLDEN / (Path(name).stem + ".json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    facts = manifest[name]
    assert doc["version"] == facts.version
    assert doc["bit"]["offset"] == facts.bit_offset
    pci_at = doc["images"][doc["pci_at"]["index"]]
    assert (pci_at["pci_vendor"], pci_at["pci_device"]) == (facts.pci_vendor, facts.pci_device)
    if facts.first_55aa is not None:
        assert doc["rom_base"] == facts.first_55aa
    assert doc["source"]["size"] == facts.size


def test_golden_files_hold_no_rom_bytes() -> None:
    for path in GOLDEN.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert len(text) < 64_000, f"{path.name} is suspiciously large"
        for value in _strings(json.loads(text)):
            assert len(value) <= 400, f"{path.name}: long string {value[:40]!r}... looks like data"


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []
