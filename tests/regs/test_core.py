"""The register DSL: declarations are validated at import, verbs refuse what does not fit."""

from __future__ import annotations

import enum

import pytest

from nova_core.errors import RegisterError
from nova_core.hw.bar import BufferBar
from nova_core.regs.core import RO, W1C, WO, Bitfield, Domain, Field, Register, Registry, Window


class Color(enum.IntEnum):
    RED = 1
    BLUE = 2


class Demo(Bitfield, width=64):
    low = Field(3, 0)
    flag = Field(4)
    color = Field(6, 5, enum=Color)
    high = Field(63, 40)


def test_field_bits_and_masks() -> None:
    assert (Demo.low.mask, Demo.flag.mask, Demo.high.shift) == (0xF, 0x10, 40)
    assert Demo.flag.bits() == "4:4" and Demo.high.bits() == "63:40"
    assert [f.name for f in Demo.FIELDS] == ["low", "flag", "color", "high"]


def test_encode_decode_roundtrip_and_symbolic() -> None:
    v = Demo.encode(low=5, flag=True, color=Color.BLUE, high=0xABCDEF)
    assert v == 5 | 0x10 | (2 << 5) | (0xABCDEF << 40)
    assert Demo.decode(v) == {"low": 5, "flag": 1, "color": 2, "high": 0xABCDEF}
    assert Demo.decode(v, symbolic=True)["color"] is Color.BLUE
    assert "color=BLUE" in Demo.describe(v)


def test_value_that_does_not_fit_is_refused() -> None:
    with pytest.raises(RegisterError, match=r"Demo.low \(3:0\) is 4 bits wide; value 0x10 does not fit"):
        Demo.encode(low=16)
    with pytest.raises(RegisterError, match="does not fit"):
        Demo.encode(low=-1)
    with pytest.raises(RegisterError, match="not a 64-bit unsigned"):
        Demo.decode(1 << 64)


def test_unknown_field_suggests_names() -> None:
    with pytest.raises(RegisterError, match="no field 'colour'; did you mean 'color'"):
        Demo.encode(colour=1)


def test_undeclared_bits_are_reported() -> None:
    assert Demo.undeclared_bits(1 << 20) == 1 << 20
    assert "undeclared bits 0x100000" in Demo.describe(1 << 20)


def test_overlapping_fields_refused() -> None:
    with pytest.raises(RegisterError, match="field 'b' .* overlaps field 'a'"):
        class Bad(Bitfield):
            a = Field(7, 0)
            b = Field(9, 4)


def test_duplicate_field_name_refused() -> None:
    with pytest.raises(RegisterError, match="declared twice"):
        class Bad(Bitfield):
            a = Field(1, 0)
            a = Field(3, 2)


def test_field_past_width_refused() -> None:
    with pytest.raises(RegisterError, match="do not fit a 32-bit register"):
        class Bad(Bitfield):
            a = Field(32, 30)


def test_bad_bit_range_refused() -> None:
    with pytest.raises(RegisterError, match="not a valid hi:lo"):
        Field(3, 5)


def test_enum_that_does_not_fit_refused() -> None:
    class Big(enum.IntEnum):
        HUGE = 8

    with pytest.raises(RegisterError, match="does not fit a 3-bit field"):
        Field(2, 0, enum=Big)


def test_field_name_hiding_a_verb_refused() -> None:
    with pytest.raises(RegisterError, match="hides the 'decode' attribute"):
        class Bad(Bitfield):
            decode = Field(1, 0)


# -- MMIO registers on a throw-away registry -----------------------------------------------------

@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    from nova_core.regs import core

    reg = Registry()
    monkeypatch.setattr(core, "REGISTRY", reg)
    return reg


def test_register_verbs_on_a_bar(registry: Registry) -> None:
    class R(Register, offset=0x10):
        a = Field(7, 0)
        st = Field(8, 8, RO)
        irq = Field(9, 9, W1C)

    bar = BufferBar(bytearray(0x100))
    assert R.write(bar, a=0x12) == 0x12
    assert bar.read32(0x10) == 0x12
    bar.write32(0x10, 0x312)  # hardware sets st and irq
    # update must not echo the W1C bit back (that would clear it)
    assert R.update(bar, a=0x34) == 0x134
    assert R.decode(R.read(bar)) == {"a": 0x34, "st": 1, "irq": 0}
    with pytest.raises(RegisterError, match=r"R.st is read-only"):
        R.write(bar, st=1)
    with pytest.raises(RegisterError, match=r"R.st is read-only"):
        R.update(bar, st=0)


def test_read_only_register_refuses_write(registry: Registry) -> None:
    class ROREG(Register, offset=0x0):
        v = Field(31, 0, RO)

    bar = BufferBar(bytearray(0x10))
    with pytest.raises(RegisterError, match="ROREG is read-only"):
        ROREG.write(bar, 0)


def test_relative_and_array_addressing(registry: Registry) -> None:
    dom = Domain("eng", A=0x1000, B=0x2000)

    class CTL(Register, domain=dom, offset=0x40):
        go = Field(0)

    class ARR(Register, offset=0x100, count=4, stride=8):
        v = Field(31, 0)

    class RARR(Register, domain=dom, offset=0x80, count=2, stride=4):
        v = Field(31, 0)

    assert CTL.addr(dom.B) == 0x2040
    assert ARR.addr(i=3) == 0x118
    assert RARR.addr(dom.A, 1) == 0x1084
    with pytest.raises(RegisterError, match="relative to the eng block; pass base="):
        CTL.addr()
    with pytest.raises(RegisterError, match="fixed offset"):
        ARR.addr(base=0x1000, i=0)
    with pytest.raises(RegisterError, match=r"ARR\[4\] is out of range \(the array has 4 entries\)"):
        ARR.addr(i=4)
    with pytest.raises(RegisterError, match="pass i="):
        ARR.addr()
    with pytest.raises(RegisterError, match="not an array"):
        CTL.addr(dom.A, 0)
    # reverse lookup finds every instance and index
    assert registry.lookup(0x2040).label == "B.CTL"  # type: ignore[union-attr]
    assert registry.lookup(0x110).label == "ARR(2)"  # type: ignore[union-attr]
    assert registry.lookup(0x1084).label == "A.RARR(1)"  # type: ignore[union-attr]
    assert registry.lookup(0x104) is None


def test_duplicate_register_name_and_offset_refused(registry: Registry) -> None:
    class ONE(Register, offset=0x20):
        v = Field(31, 0)

    with pytest.raises(RegisterError, match="overlaps ONE"):
        class TWO(Register, offset=0x20):
            v = Field(31, 0)

    with pytest.raises(RegisterError, match="declared twice"):
        class ONE(Register, offset=0x40):  # type: ignore[no-redef]
            v = Field(31, 0)


def test_array_elements_may_interleave_but_not_collide(registry: Registry) -> None:
    class C(Register, offset=0x180, count=4, stride=16):
        v = Field(31, 0)

    class D(Register, offset=0x184, count=4, stride=16):
        v = Field(31, 0)

    with pytest.raises(RegisterError, match=r"overlaps C\(1\)"):
        class E(Register, offset=0x190):
            v = Field(31, 0)

    assert registry.lookup(0x194).label == "D(1)"  # type: ignore[union-attr]


def test_bad_register_declarations(registry: Registry) -> None:
    with pytest.raises(RegisterError, match="not 4-byte aligned"):
        class A(Register, offset=0x2):
            pass
    with pytest.raises(RegisterError, match="has no offset"):
        class B(Register):
            pass
    with pytest.raises(RegisterError, match="MMIO registers are 32 bits"):
        class C(Register, offset=0x0, width=64):
            pass
    with pytest.raises(RegisterError, match="count 0"):
        class D(Register, offset=0x0, count=0):
            pass


def test_windows(registry: Registry) -> None:
    w = Window("W", 0x1000, 0x100)
    assert registry.window_at(0x10FC) is w and registry.window_at(0x1100) is None
    with pytest.raises(RegisterError, match="overlaps window W"):
        Window("X", 0x10F0, 0x100)
    with pytest.raises(RegisterError, match="inside window W"):
        class R(Register, offset=0x1010):
            pass


def test_register_field_hiding_a_verb_refused(registry: Registry) -> None:
    with pytest.raises(RegisterError, match="hides the 'write' attribute.*name it 'write_'"):
        class Bad(Register, offset=0x0):
            write = Field(1, 0)


def test_register_field_colliding_with_a_verb_keyword_refused(registry: Registry) -> None:
    with pytest.raises(RegisterError, match="collides with the base= keyword.*name it 'base_'"):
        class Bad(Register, offset=0x0):
            base = Field(23, 0)


def test_write_only_fields_are_accepted_by_write(registry: Registry) -> None:
    class CLR(Register, offset=0x8):
        halt = Field(4, 4, WO)

    bar = BufferBar(bytearray(0x10))
    assert CLR.write(bar, halt=1) == 0x10


def test_find_and_get(registry: Registry) -> None:
    class NV_X_CPUCTL(Register, offset=0x0):
        pass

    class NV_Y_CPUCTL(Register, offset=0x4):
        pass

    class NV_Y_BOOT(Register, offset=0x8):
        pass

    assert registry.get("nv_y_boot") is NV_Y_BOOT
    assert registry.get("BOOT") is NV_Y_BOOT
    with pytest.raises(RegisterError, match="ambiguous"):
        registry.get("CPUCTL")
    assert [r.NAME for r in registry.find("*CPUCTL")] == ["NV_X_CPUCTL", "NV_Y_CPUCTL"]
    with pytest.raises(RegisterError, match="no register named 'NV_Z'"):
        registry.get("NV_Z")


# -- register families and per-family variants -----------------------------------------------------


def test_chips_specs_name_register_families() -> None:
    from nova_core.regs.core import FAMILIES, families

    assert families("") == frozenset(FAMILIES)
    assert families("GA102+") == {"GA102", "AD102", "GH100", "GB100", "GB202"}
    assert families("TU102-AD102") == {"TU102", "GA100", "GA102", "AD102"}
    assert families("TU102, GA102, GB202") == {"TU102", "GA102", "GB202"}
    with pytest.raises(RegisterError, match=r"'AD10x' is not a register family .*did you mean 'AD102'"):
        families("TU102-AD10x")
    with pytest.raises(RegisterError, match=r"'GA102-TU102' runs backwards"):
        families("GA102-TU102")


def test_a_variant_overrides_what_differs_on_its_families(registry: Registry) -> None:
    class MEMC(Register, offset=0x180, count=4, stride=16):
        offs = Field(7, 2)
        blk = Field(23, 8)
        aincw = Field(24, 24)

    class MEMC_TU102(MEMC, chips="TU102"):
        blk = Field(15, 8)

    assert MEMC.for_family("TU102") is MEMC_TU102 and MEMC.for_family("GA100") is MEMC
    assert MEMC_TU102.NAME == "MEMC" and MEMC_TU102.addr(i=1) == MEMC.addr(i=1) == 0x190
    assert MEMC.VARIANTS == (MEMC_TU102,) and MEMC_TU102.VARIANT_OF is MEMC
    assert registry.lookup(0x190).register is MEMC  # the registry keeps one register per address
    assert MEMC_TU102.encode(blk=0xFF, aincw=1) == 0x0100FF00
    with pytest.raises(RegisterError, match=r"MEMC_TU102.blk \(15:8\) is 8 bits wide; value 0x100 does not fit"):
        MEMC_TU102.encode(blk=0x100)
    assert MEMC.encode(blk=0x100) == 0x10000
    with pytest.raises(RegisterError, match="is a variant; ask MEMC.for_family"):
        MEMC_TU102.for_family("TU102")
    with pytest.raises(RegisterError, match="'XY999' is not a register family"):
        MEMC.for_family("XY999")


def test_a_variant_may_have_more_entries_or_another_offset(registry: Registry) -> None:
    class LEAF(Register, offset=0x1000, count=8):
        value = Field(31, 0)

    class LEAF_GH100(LEAF, chips="GH100+", count=16):
        pass

    class MASK(Register, offset=0x528, chips="GA102+"):
        value = Field(31, 0)

    assert LEAF.for_family("AD102").COUNT == 8 and LEAF.for_family("GB202") is LEAF_GH100
    assert LEAF_GH100.addr(i=15) == 0x103C and registry.lookup(0x103C).register is LEAF_GH100
    assert registry.lookup(0x101C).register is LEAF
    with pytest.raises(RegisterError, match=r"LEAF\[8\] is out of range"):
        LEAF.addr(i=8)
    with pytest.raises(RegisterError, match=r"MASK does not exist on TU102 \(chips='GA102\+'\)"):
        MASK.for_family("TU102")


def test_variants_are_refused_where_they_would_be_ambiguous(registry: Registry) -> None:
    class R(Register, offset=0x10, chips="GA100+"):
        v = Field(7, 0)

    with pytest.raises(RegisterError, match="needs chips="):
        class R_ALL(R):
            v = Field(3, 0)
    with pytest.raises(RegisterError, match=r"chips='TU102' reaches beyond R's chips='GA100\+'"):
        class R_TU(R, chips="TU102"):
            v = Field(3, 0)

    class R_GH(R, chips="GH100+"):
        v = Field(5, 0)

    with pytest.raises(RegisterError, match="overlaps variant R_GH"):
        class R_GB(R, chips="GB202"):
            v = Field(4, 0)

    class OTHER(Register, offset=0x80):
        v = Field(31, 0)

    with pytest.raises(RegisterError, match="variant R_AT at 0x80 overlaps OTHER"):
        class R_AT(R, chips="GA100", offset=0x80):
            pass
