"""Bounded fuzzing: what the vBIOS parser must return or reject for mutated real and synthetic ROMs.

Mutations land mostly inside the byte ranges the parser claims on the clean ROM (headers, BIT, tables,
descriptors, the interface in DMEM), where a parser is most likely to trip, and sometimes anywhere;
some examples also truncate. Every mutant is parsed in full and its FWSEC (if any) patched for FRTS and SB,
and the simulated GPU's independent oracle (``sim.vbios_oracle``, which shares no code with the parser) is run
on it too. What must hold for every mutant:

- a refusal is a :class:`~nova_core.errors.RomError` naming the ROM or the oracle, never another error;
- an accepted ROM's claims lie inside the bytes it has (``0 <= start < end <= len(rom)``);
- where the parser and the oracle both produce a patched FWSEC, they are byte for byte the same image, IMEM,
  DMEM and signature choice - the parser may not decode a mutant into a different ucode than the oracle does;
- enough mutants are accepted and compared that the above is not vacuous.

A second property mutates only bytes no structure claims (outside the PCI-AT image, whose checksum covers
them): what the parser decodes must not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vbios_helpers import ROM_NAMES, rom_bytes

from nova_core.errors import RomError
from nova_core.gpu.chips import Chipset
from nova_core.sim.synth.vbios import build_vbios
from nova_core.sim.vbios_oracle import expected_image, locate_fwsec
from nova_core.vbios import FwsecCommand, Vbios

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FRTS = 0x100000
Patched = dict[tuple[FwsecCommand, int], tuple[bytes, bytes, bytes, int]]


def _targets(rom: bytes) -> list[tuple[int, int]]:
    vb = Vbios.from_bytes(rom)
    small = [(c.start, c.end) for c in vb.coverage.claims if c.end - c.start <= 0x400]
    return small or [(0, len(rom))]


def _refusal(e: RomError, who: str) -> str:
    assert type(e) is RomError or isinstance(e, RomError), f"{who}: {type(e).__name__}: {e}"
    assert str(e).startswith(("fuzz.rom", "vbios oracle")) or "0x" in str(e), f"{who}: vague refusal {e!r}"
    return str(e)


def _driver(rom: bytes) -> Patched | str:
    try:
        vb = Vbios.from_bytes(rom, "fuzz.rom")
        for c in vb.coverage.claims:
            assert 0 <= c.start < c.end <= len(rom), f"claim {c} outside the {len(rom):#x}-byte ROM"
        vb.as_json(verbose=True)
        if vb.fwsec is None:
            return "no FWSEC"
        out: Patched = {}
        for fuse in vb.fwsec.signature_versions or [0]:
            for cmd in FwsecCommand:
                got = vb.fwsec.patch(cmd, frts_offset=FRTS if cmd is FwsecCommand.FRTS else None,
                                     fuse_version=fuse if vb.fwsec.desc.version == 3 else None)
                out[cmd, fuse] = (got.image, got.imem_bytes, got.dmem_bytes, got.signature_index)
        return out
    except RomError as e:
        return _refusal(e, "parser")


def _oracle(rom: bytes, keys: list[tuple[FwsecCommand, int]]) -> Patched | str:
    try:
        fw = locate_fwsec(rom)
        if fw is None:
            return "no FWSEC"
        out: Patched = {}
        for cmd, fuse in keys:
            want = expected_image(fw, int(cmd), frts_offset=FRTS if cmd is FwsecCommand.FRTS else None,
                                  fuse_version=fuse)
            out[cmd, fuse] = (want.image, want.imem, want.dmem, want.signature_index)
        return out
    except RomError as e:
        return _refusal(e, "oracle")


def _exercise(rom: bytes, stats: dict[str, int]) -> None:
    drv = _driver(rom)
    if not isinstance(drv, dict):
        stats["refused"] += 1
        return
    orc = _oracle(rom, list(drv))
    if isinstance(orc, dict):
        for key, got in drv.items():
            assert got == orc[key], f"parser and oracle decode the mutant into different FWSEC images for {key}"
        stats["compared"] += 1
    else:
        stats["parser only"] += 1


def _check(stats: dict[str, int]) -> None:
    assert stats["compared"] >= 10, f"too few mutants were patched and compared to be a test: {stats}"


def _mutant(data: st.DataObject, rom: bytes, targets: list[tuple[int, int]]) -> bytes:
    buf = bytearray(rom)
    for _ in range(data.draw(st.integers(1, 4))):
        if data.draw(st.booleans()) or not targets:
            pos = data.draw(st.integers(0, len(buf) - 1))
        else:
            start, end = targets[data.draw(st.integers(0, len(targets) - 1))]
            pos = data.draw(st.integers(start, max(start, end - 1)))
        value = data.draw(st.binary(min_size=1, max_size=8))
        buf[pos:pos + len(value)] = value
    if data.draw(st.integers(0, 9)) == 0:
        del buf[data.draw(st.integers(0, len(buf) - 1)):]
    return bytes(buf)


def _fuzz(rom: bytes) -> None:
    """Every mutant checked; enough of them compared with the oracle when the clean ROM has an FWSEC."""
    targets = _targets(rom)
    stats = {"refused": 0, "compared": 0, "parser only": 0}

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        _exercise(_mutant(data, rom, targets), stats)

    run()
    if Vbios.from_bytes(rom).fwsec is not None:
        _check(stats)


@pytest.mark.parametrize("chip", [Chipset.TU117, Chipset.GA100, Chipset.AD102], ids=lambda c: c.lower)
def test_fuzz_synthetic(chip: Chipset) -> None:
    _fuzz(build_vbios(chip, ifr=3 if chip is Chipset.AD102 else None))


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ROM_NAMES)
def test_fuzz_real(name: str, vbios_path: Path) -> None:
    _fuzz(rom_bytes(vbios_path, name))


def _decoded(vb: Vbios) -> dict[str, Any]:
    """What the parser decoded, without what the PCI-AT checksum (over unclaimed bytes too) makes differ."""
    out = vb.as_json()
    for key in ("pci_at", "warnings", "source"):
        out.pop(key)
    return out


@pytest.mark.parametrize("chip", [Chipset.TU117, Chipset.GA102, Chipset.AD102], ids=lambda c: c.lower)
def test_bytes_no_structure_claims_do_not_change_what_is_decoded(chip: Chipset) -> None:
    rom = build_vbios(chip, ifr=3 if chip is Chipset.AD102 else None)
    clean = Vbios.from_bytes(rom)
    gaps = [(a, b) for a, b in clean.unclaimed() if b - a >= 16]
    assert gaps, "the synthetic ROM has unclaimed bytes (padding, the x86 stub) to mutate"
    want = _decoded(clean)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        buf = bytearray(rom)
        for _ in range(data.draw(st.integers(1, 8))):
            a, b = gaps[data.draw(st.integers(0, len(gaps) - 1))]
            pos = data.draw(st.integers(a, b - 1))
            buf[pos] = data.draw(st.integers(0, 255))
        assert _decoded(Vbios.from_bytes(bytes(buf))) == want

    run()
