"""Bounded fuzzing: mutated real and synthetic ROMs never raise anything but a NovaError.

Mutations land mostly inside the byte ranges the parser claims on the clean ROM (headers, BIT, tables,
descriptors, the interface in DMEM), where a parser is most likely to trip, and sometimes anywhere;
some examples also truncate. Every mutant is parsed in full, its FWSEC (if any) patched for FRTS and SB,
and the simulated GPU's oracle is run on it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vbios_helpers import ROM_NAMES, rom_bytes

from nova_core.errors import NovaError
from nova_core.gpu.chips import Chipset
from nova_core.sim.synth.vbios import build_vbios
from nova_core.sim.vbios_oracle import expected_image, locate_fwsec
from nova_core.vbios import FwsecCommand, Vbios

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _targets(rom: bytes) -> list[tuple[int, int]]:
    vb = Vbios.from_bytes(rom)
    small = [(c.start, c.end) for c in vb.coverage.claims if c.end - c.start <= 0x400]
    return small or [(0, len(rom))]


def _exercise(rom: bytes) -> None:
    try:
        vb = Vbios.from_bytes(rom, "fuzz.rom")
        if vb.fwsec is not None:
            fuses = vb.fwsec.signature_versions or [0]
            for cmd in FwsecCommand:
                vb.fwsec.patch(cmd, frts_offset=0x100000 if cmd is FwsecCommand.FRTS else None,
                               fuse_version=fuses[-1])
        vb.as_json(verbose=True)
    except NovaError:
        pass
    try:
        fw = locate_fwsec(rom)
        if fw is not None:
            expected_image(fw, 0x15, frts_offset=0x100000, fuse_version=(fw.signature_versions.bit_length() or 1) - 1)
    except NovaError:
        pass


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


@pytest.mark.parametrize("chip", [Chipset.TU117, Chipset.GA100, Chipset.AD102], ids=lambda c: c.lower)
def test_fuzz_synthetic(chip: Chipset) -> None:
    rom = build_vbios(chip, ifr=3 if chip is Chipset.AD102 else None)
    targets = _targets(rom)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        _exercise(_mutant(data, rom, targets))

    run()


@pytest.mark.artifacts
@pytest.mark.parametrize("name", ROM_NAMES)
def test_fuzz_real(name: str, vbios_path: Path) -> None:
    rom = rom_bytes(vbios_path, name)
    targets = _targets(rom)

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        _exercise(_mutant(data, rom, targets))

    run()
