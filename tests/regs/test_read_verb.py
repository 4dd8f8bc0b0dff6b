"""The ``read`` verb each register gets when its class is created (regs/core.py ``_make_read``): the same value and
the same refusals as the declared verb, on buffer-backed BARs (a direct word load) and on any other BAR (read32)."""

from __future__ import annotations

import pytest

from nova_core.errors import BarRangeError, RegisterError
from nova_core.hw.bar import BufferBar
from nova_core.regs.core import Bitfield, Field
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_CPUCTL, NV_PFALCON_FALCON_IMEMC
from nova_core.regs.pmc import NV_PMC_BOOT_0, NV_PMC_BOOT_42


class CountingBar:
    """A BAR that is not buffer-backed (no ``words32``): every read must come through read32."""

    def __init__(self, size: int = 16 << 20) -> None:
        self.inner = BufferBar(bytearray(size))
        self.size = size
        self.reads: list[int] = []

    def read32(self, offset: int) -> int:
        self.reads.append(offset)
        return self.inner.read32(offset)

    def write32(self, offset: int, value: int) -> None:
        self.inner.write32(offset, value)


class NoneWordsBar(CountingBar):
    words32 = None  # as the simulated BAR0 and the recorder declare it


@pytest.fixture
def filled() -> BufferBar:
    bar = BufferBar(bytearray(16 << 20))
    for off in (NV_PMC_BOOT_0.addr(), NV_PMC_BOOT_42.addr(), NV_PFALCON_FALCON_CPUCTL.addr(FALCON.GSP),
                NV_PFALCON_FALCON_CPUCTL.addr(FALCON.SEC2), NV_PFALCON_FALCON_IMEMC.addr(FALCON.GSP, 0)):
        bar.write32(off, (off * 2654435761) & 0xFFFFFFFF)
    return bar


def test_reads_match_read32_on_a_buffer_bar(filled: BufferBar) -> None:
    assert NV_PMC_BOOT_0.read(filled) == filled.read32(0)
    assert NV_PMC_BOOT_42.read(filled) == filled.read32(0xA00)
    for name in ("GSP", "SEC2"):
        base = FALCON.base(name)
        assert NV_PFALCON_FALCON_CPUCTL.read(filled, base=base) == filled.read32(base + 0x100)
    # a base that is not one of the domain's (an engine.base computed elsewhere) still works
    assert NV_PFALCON_FALCON_CPUCTL.read(filled, base=0x1000) == filled.read32(0x1100)
    assert NV_PFALCON_FALCON_IMEMC.read(filled, base=FALCON.GSP, i=0) == \
        filled.read32(NV_PFALCON_FALCON_IMEMC.addr(FALCON.GSP, 0))


@pytest.mark.parametrize("kind", [CountingBar, NoneWordsBar])
def test_other_bars_are_read_through_read32(kind: type[CountingBar]) -> None:
    bar = kind()
    bar.inner.write32(0xA00, 0x1234)
    assert NV_PMC_BOOT_42.read(bar) == 0x1234  # type: ignore[arg-type]
    assert NV_PFALCON_FALCON_CPUCTL.read(bar, base=FALCON.GSP) == 0  # type: ignore[arg-type]
    assert bar.reads == [0xA00, FALCON.GSP + 0x100]


def test_refusals_are_the_dsl_s() -> None:
    bar = BufferBar(bytearray(16 << 20))
    with pytest.raises(RegisterError, match="fixed offset 0x0; base= does not apply"):
        NV_PMC_BOOT_0.read(bar, base=FALCON.GSP)
    with pytest.raises(RegisterError, match="not an array; i= does not apply"):
        NV_PMC_BOOT_0.read(bar, i=1)
    with pytest.raises(RegisterError, match="relative to the falcon block; pass base="):
        NV_PFALCON_FALCON_CPUCTL.read(bar)
    with pytest.raises(RegisterError, match="is out of range"):
        NV_PFALCON_FALCON_IMEMC.read(bar, base=FALCON.GSP, i=99)
    with pytest.raises(RegisterError, match="pass i="):
        NV_PFALCON_FALCON_IMEMC.read(bar, base=FALCON.GSP)


def test_a_register_past_a_small_bar_is_the_bar_s_error() -> None:
    small = BufferBar(bytearray(0x100))
    with pytest.raises(BarRangeError, match="outside the BAR"):
        NV_PMC_BOOT_42.read(small)
    with pytest.raises(BarRangeError, match="outside the BAR"):
        NV_PFALCON_FALCON_CPUCTL.read(small, base=FALCON.GSP)


def test_a_closed_bar_is_not_read() -> None:
    bar = BufferBar(bytearray(0x1000))
    bar.close()
    with pytest.raises(ValueError, match="released"):
        NV_PMC_BOOT_0.read(bar)


def test_duplicate_field_as_the_last_declaration_refused() -> None:
    with pytest.raises(RegisterError, match="'b' is declared twice"):
        class Bad(Bitfield):
            a = Field(1, 0)
            b = Field(3, 2)
            b = Field(5, 4)


def test_field_rebound_to_a_non_field_is_allowed_and_the_bookkeeping_is_removed() -> None:
    class Fine(Bitfield):
        a = Field(1, 0)
        b = Field(3, 2)
        c = Field(5, 4)
        b = 3  # type: ignore[assignment]

    assert [f.name for f in Fine.FIELDS] == ["a", "c"]
    assert "__nova_fields_seen__" not in vars(Fine)


def test_fields_made_outside_a_class_body_are_not_tracked() -> None:
    loose = Field(7, 0)

    class Other(Bitfield):
        x = Field(7, 0)

    assert loose.name == "?" and Other.x.name == "x"
