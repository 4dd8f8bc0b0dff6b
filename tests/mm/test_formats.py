"""Page-table entry formats, MMU registers and the instance-block words: checked against NVIDIA's headers."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import MmError, RegisterError
from nova_core.gpu.chips import Chipset
from nova_core.mm.pte import PteFlags, describe_v3_pcf, format_for, format_version
from nova_core.regs import REGISTRY
from nova_core.regs import mmu as m
from nova_core.regs.core import Bitfield

# Bit positions transcribed from open-gpu-kernel-modules hwref/turing/tu102/dev_mmu.h (NV_MMU_VER2_*) and
# hwref/hopper/gh100/dev_mmu.h (NV_MMU_VER3_*), as listed in shared/reference/nvidia-facts.md §10.
REFERENCE: dict[str, dict[str, tuple[int, int]]] = {
    "NV_MMU_VER2_PDE": {
        "is_pte": (0, 0), "aperture": (2, 1), "vol": (3, 3), "no_ats": (5, 5),
        "address_sys": (53, 8), "address_vid": (32, 8), "address_vid_peer": (35, 33),
    },
    "NV_MMU_VER2_DUAL_PDE": {
        "is_pte": (0, 0), "aperture_big": (2, 1), "vol_big": (3, 3), "address_big_sys": (53, 4),
        "address_big_vid": (32, 4), "address_big_vid_peer": (35, 33), "aperture_small": (66, 65),
        "vol_small": (67, 67), "address_small_sys": (117, 72), "address_small_vid": (96, 72),
        "address_small_vid_peer": (99, 97),
    },
    "NV_MMU_VER2_PTE": {
        "valid": (0, 0), "aperture": (2, 1), "vol": (3, 3), "encrypted": (4, 4), "privilege": (5, 5),
        "read_only": (6, 6), "atomic_disable": (7, 7), "address_sys": (53, 8), "address_vid": (32, 8),
        "address_vid_peer": (35, 33), "comptagline": (55, 36), "kind": (63, 56),
    },
    "NV_MMU_VER3_PDE": {"is_pte": (0, 0), "aperture": (2, 1), "pcf": (5, 3), "address": (51, 12)},
    "NV_MMU_VER3_DUAL_PDE": {
        "is_pte": (0, 0), "aperture_big": (2, 1), "pcf_big": (5, 3), "address_big": (51, 8),
        "aperture_small": (66, 65), "pcf_small": (69, 67), "address_small": (115, 76),
    },
    "NV_MMU_VER3_PTE": {
        "valid": (0, 0), "aperture": (2, 1), "pcf": (7, 3), "kind": (11, 8), "address_sys": (51, 12),
        "address_vid": (39, 12), "peer_id": (63, 61),
    },
}

VIEWS: dict[str, tuple[type[Bitfield], ...]] = {
    "NV_MMU_VER2_PDE": (m.NV_MMU_VER2_PDE, m.NV_MMU_VER2_PDE_VID),
    "NV_MMU_VER2_DUAL_PDE": (m.NV_MMU_VER2_DUAL_PDE, m.NV_MMU_VER2_DUAL_PDE_VID),
    "NV_MMU_VER2_PTE": (m.NV_MMU_VER2_PTE, m.NV_MMU_VER2_PTE_VID),
    "NV_MMU_VER3_PDE": (m.NV_MMU_VER3_PDE,),
    "NV_MMU_VER3_DUAL_PDE": (m.NV_MMU_VER3_DUAL_PDE,),
    "NV_MMU_VER3_PTE": (m.NV_MMU_VER3_PTE, m.NV_MMU_VER3_PTE_VID),
}

#: header fields deliberately not declared (see regs/mmu.py's docstring)
NOT_DECLARED = {("NV_MMU_VER2_DUAL_PDE", "no_ats")}


def _declared(struct: str, name: str) -> tuple[int, int] | None:
    for view in VIEWS[struct]:
        f = view._BY_NAME.get(name)
        if f is not None:
            return f.hi, f.lo
    return None


@pytest.mark.parametrize("struct", sorted(REFERENCE))
def test_field_positions_match_the_reference(struct: str) -> None:
    for name, bits in REFERENCE[struct].items():
        if (struct, name) in NOT_DECLARED:
            assert _declared(struct, name) is None
            continue
        assert _declared(struct, name) == bits, f"{struct}.{name}"
    declared = {f.name for view in VIEWS[struct] for f in view.FIELDS}
    assert declared <= set(REFERENCE[struct]), declared - set(REFERENCE[struct])


def test_the_dual_pde_no_ats_alias_really_lies_in_the_big_address() -> None:
    hi, lo = REFERENCE["NV_MMU_VER2_DUAL_PDE"]["address_big_sys"]
    assert lo <= m.VER2_DUAL_PDE_NO_ATS_BIT <= hi


def _tinygrad_mmu() -> object:
    try:
        return importlib.import_module("tinygrad.runtime.autogen.nv_regs.dev_mmu")
    except ImportError:  # a test dependency (pyproject.toml [test]): its absence is a broken environment, not a skip
        pytest.fail("tinygrad==0.14.0 (whose dev_mmu facts are generated from NVIDIA's headers) is not installed: "
                    "pip install -e '.[test]' (./dev test does)")


@pytest.mark.parametrize(("chip", "struct"), [
    ("tu102", "NV_MMU_VER2_PDE"), ("tu102", "NV_MMU_VER2_DUAL_PDE"), ("tu102", "NV_MMU_VER2_PTE"),
    ("gh100", "NV_MMU_VER3_PDE"), ("gh100", "NV_MMU_VER3_DUAL_PDE"), ("gh100", "NV_MMU_VER3_PTE"),
])
def test_field_positions_match_the_headers_via_tinygrad(chip: str, struct: str) -> None:
    """tinygrad 0.14 ships dev_mmu.h as generated dicts: {field: (lo, hi)}; every field of ours must agree."""
    ref = getattr(_tinygrad_mmu(), chip)[struct][2]
    for view in VIEWS[struct]:
        for f in view.FIELDS:
            assert f.name in ref, f"{struct}.{f.name} is not in the header"
            assert (f.lo, f.hi) == tuple(ref[f.name]), f"{struct}.{f.name}"


def test_enums_match_the_headers_via_tinygrad() -> None:
    tu, gh = _tinygrad_mmu().tu102, _tinygrad_mmu().gh100  # type: ignore[attr-defined]
    for ap in m.PteAperture:
        assert tu[f"NV_MMU_VER2_PTE_APERTURE_{ap.name}"] == ap
        assert gh[f"NV_MMU_VER3_PTE_APERTURE_{ap.name}"] == ap
    for pap in m.PdeAperture:
        assert tu[f"NV_MMU_VER2_PDE_APERTURE_{pap.name}"] == pap
        assert gh[f"NV_MMU_VER3_PDE_APERTURE_{pap.name}"] == pap
    for kind in m.PteKind:
        assert tu[f"NV_MMU_PTE_KIND_{kind.name}"] == kind
    for pcf in m.PdePcf:
        assert gh[f"NV_MMU_VER3_PDE_PCF_{pcf.name}"] == pcf
    for ipcf in m.PtePcfInvalid:
        assert gh[f"NV_MMU_VER3_PTE_PCF_{ipcf.name}"] == ipcf
    names = [k.removeprefix("NV_MMU_VER3_PTE_PCF_") for k in gh if k.startswith("NV_MMU_VER3_PTE_PCF_")
             and ("REGULAR" in k or "PRIVILEGE" in k)]
    assert len(names) == 32
    for name in names:
        assert describe_v3_pcf(gh[f"NV_MMU_VER3_PTE_PCF_{name}"], True) == name
    assert tu["NV_MMU_VER2_DUAL_PDE_ADDRESS_BIG_SHIFT"] == m.DUAL_PDE_ADDRESS_BIG_SHIFT
    assert tu["NV_MMU_VER2_PTE_ADDRESS_SHIFT"] == m.ADDRESS_SHIFT


def test_v3_pcf_names_from_the_reference_bits() -> None:
    # nvidia-facts.md §10: 0 REGULAR_RW_ATOMIC_CACHED_ACE, +1 UNCACHED, +2 PRIVILEGE, +4 RO, +8 NO_ATOMIC, +0x10 ACD
    assert describe_v3_pcf(0, True) == "REGULAR_RW_ATOMIC_CACHED_ACE"
    assert describe_v3_pcf(1, True) == "REGULAR_RW_ATOMIC_UNCACHED_ACE"
    assert describe_v3_pcf(0x1F, True) == "PRIVILEGE_RO_NO_ATOMIC_UNCACHED_ACD"
    assert describe_v3_pcf(3, False) == "NO_VALID_4KB_PAGE"


@pytest.mark.parametrize(("reg", "offset"), [
    (m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB, 0xB830A0),
    (m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB, 0xB830A4),
    (m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE, 0xB830B0),
    (m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK, 0xB80F48),
    (m.NV_VIRTUAL_FUNCTION_PRIV_BIND_STATUS, 0xB80F50),
    (m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR, 0xB80F70),
    (m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_HIGH_ADDR, 0xB80F74),
])
def test_register_offsets(reg: type, offset: int) -> None:
    assert reg.addr() == offset
    assert REGISTRY.lookup(offset).register is reg  # type: ignore[union-attr]


def test_invalidate_field_positions() -> None:
    inv = m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE
    want = {"all_va": "0:0", "all_pdb": "1:1", "hubtlb_only": "2:2", "replay": "5:3", "sys_membar": "6:6",
            "ack": "8:7", "cancel_client_id": "14:9", "cancel_gpc_id": "19:15", "cancel_client_type": "20:20",
            "use_pasid": "21:21", "use_size": "22:22", "prop_flush": "23:23", "cache_level": "26:24",
            "trigger": "31:31"}
    assert {f.name: f.bits() for f in inv.FIELDS} == want
    assert m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.addr_.bits() == "31:4"
    assert m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_PDB.aperture.bits() == "1:1"
    assert m.NV_VIRTUAL_FUNCTION_PRIV_MMU_INVALIDATE_UPPER_PDB.addr_.bits() == "19:0"
    # nouveau tu102_vmm_flush writes 0x80000000 | PAGE_ALL(1) | HUB_ONLY(4)
    assert inv.encode(trigger=1, all_va=1, hubtlb_only=1) == 0x80000005


def test_bar2_block_fields() -> None:
    blk = m.NV_VIRTUAL_FUNCTION_PRIV_BAR2_BLOCK
    # nouveau tu102_bar_bar2_init: 0x80000000 | (inst >> 12)
    assert blk.encode(mode=m.BarBlockMode.VIRTUAL, ptr=0x12345, target=m.InstTarget.VID_MEM) == 0x80012345
    low = m.NV_VIRTUAL_FUNCTION_PRIV_FUNC_BAR2_BLOCK_LOW_ADDR
    assert (low.mode.bits(), low.target.bits(), low.ptr.bits()) == ("9:9", "11:10", "31:12")


def test_instance_block_words_match_dev_ram() -> None:
    # published/pascal/gp100/dev_ram.h: (128*32+hi):(128*32+lo) relative to word 128
    pd = m.NV_RAMIN_PAGE_DIR_BASE
    want = {"target": "1:0", "vol": "2:2", "fault_replay_tex": "4:4", "fault_replay_gcc": "5:5",
            "use_ver2_pt_format": "10:10", "big_page_size": "11:11", "lo": "31:12", "hi": "63:32",
            "adr_limit_lo": "95:76", "adr_limit_hi": "127:96"}
    assert {f.name: f.bits() for f in pd.FIELDS} == want
    assert m.RAMIN_PAGE_DIR_OFFSET == 0x200


def test_level_geometry() -> None:
    v2, v3 = m.MMU_V2, m.MMU_V3
    assert [(lv.name, lv.va_hi, lv.va_lo, lv.entries, lv.entry_size) for lv in v2.directories] == [
        ("PD3", 48, 47, 4, 8), ("PD2", 46, 38, 512, 8), ("PD1", 37, 29, 512, 8), ("PD0", 28, 21, 256, 16)]
    assert [(lv.name, lv.va_hi, lv.va_lo) for lv in v3.directories] == [
        ("PD4", 56, 56), ("PD3", 55, 47), ("PD2", 46, 38), ("PD1", 37, 29), ("PD0", 28, 21)]
    for g in (v2, v3):
        assert (g.pt_big.entries, g.pt_big.table_size, g.pt_big.align) == (32, 256, 256)
        assert (g.pt_small.entries, g.pt_small.table_size) == (512, 4096)
        assert g.pd0.table_size == 4096
    assert (v2.va_bits, v3.va_bits) == (49, 57)


def test_format_per_chip() -> None:
    assert (format_for(Chipset.TU102).version, format_for(Chipset.TU102).page_shifts) == (2, (21, 16, 12))
    assert format_for(Chipset.GA102).page_shifts == (29, 21, 16, 12)
    assert format_for(Chipset.AD104).version == 2
    assert format_for(Chipset.GH100).version == 3
    assert format_for(Chipset.GB202).version == 3
    with pytest.raises(MmError, match="version 4"):
        format_version(4)


def test_known_encodings() -> None:
    v2 = format_version(2)
    # nouveau gp100_vmm_pde for VRAM: (addr >> 4) | 1 << 1; plus NO_ATS (bit 5) as tinygrad sets it
    assert v2.pde(0x12345000) == (0x12345000 >> 4) | 2 | 0x20
    # a VRAM PTE: VALID, APERTURE video 0, address >> 4, kind GENERIC_MEMORY (6) in 63:56
    assert v2.pte(0x20000000) == (0x20000000 >> 4) | 1 | (6 << 56)
    # sysmem: aperture 2 (coherent), VOL set by default
    assert v2.pte(0x1000, m.PteAperture.SYSTEM_COHERENT_MEMORY) == (0x1000 >> 4) | 1 | 4 | 8 | (6 << 56)
    v3 = format_version(3)
    # v3: address in place; PCF REGULAR_RW_ATOMIC_CACHED_ACD = 0x10 at 7:3; kind 6 at 11:8
    assert v3.pte(0x20000000) == 0x20000000 | 1 | (0x10 << 3) | (6 << 8)
    # nouveau gh100_vmm_pde for VRAM: aperture video, PCF VALID_CACHED_ATS_NOT_ALLOWED, address in place
    assert v3.pde(0x7000) == 0x7000 | 2 | (2 << 3)
    dual = v2.dual_pde((0x100, m.PdeAperture.VIDEO_MEMORY), (0x3000, m.PdeAperture.VIDEO_MEMORY))
    assert dual & ((1 << 64) - 1) == (0x100 >> 8 << 4) | 2
    assert dual >> 64 == (0x3000 >> 12 << 8) | 2


def test_out_of_range_fields_are_refused_with_the_values() -> None:
    v2, v3 = format_version(2), format_version(3)
    with pytest.raises(RegisterError, match="does not fit the 25-bit address field"):
        v2.pte(1 << 37)  # ADDRESS_VID is 32:8: 128 GiB of VRAM
    v2.pte((1 << 37) - 0x1000)
    with pytest.raises(RegisterError, match="46-bit"):
        v2.pte(1 << 58, m.PteAperture.SYSTEM_COHERENT_MEMORY)
    with pytest.raises(RegisterError, match="28-bit"):
        v3.pte(1 << 40)
    with pytest.raises(RegisterError, match="kind"):
        v2.pte(0, flags=PteFlags(kind=0x100))
    with pytest.raises(RegisterError, match="kind"):
        v3.pte(0, flags=PteFlags(kind=0x10))  # v3 kind is 4 bits
    with pytest.raises(RegisterError, match="comptagline"):
        v2.pte(0, flags=PteFlags(comptagline=1 << 20))
    with pytest.raises(MmError, match="not 4 KiB aligned"):
        v2.pte(0x1800)
    with pytest.raises(MmError, match="only for video/peer"):
        v2.pte(0, m.PteAperture.SYSTEM_COHERENT_MEMORY, PteFlags(comptagline=1))
    with pytest.raises(MmError, match="no ENCRYPTED"):
        v3.pte(0, flags=PteFlags(encrypted=True))
    with pytest.raises(MmError, match="0x100-byte aligned"):
        v2.dual_pde((0x180, m.PdeAperture.VIDEO_MEMORY), None)
    with pytest.raises(MmError, match="0x1000-byte"):
        v2.pde(0x1100)


ALL_VIEWS = [v for views in VIEWS.values() for v in views]


@pytest.mark.parametrize("view", ALL_VIEWS, ids=lambda v: v.NAME)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_encode_decode_round_trip(view: type[Bitfield], data: st.DataObject) -> None:
    fields = {f.name: data.draw(st.integers(0, f.max), label=f.name) for f in view.FIELDS}
    value = view.encode(**fields)
    assert view.decode(value) == fields
    assert view.undeclared_bits(value) == 0


@settings(max_examples=150, deadline=None)
@given(version=st.sampled_from([2, 3]), page=st.integers(0, (1 << 36) - 1),
       ap=st.sampled_from(list(m.PteAperture)), ro=st.booleans(), priv=st.booleans(), vol=st.booleans(),
       atomic=st.booleans(), kind=st.sampled_from(list(m.PteKind)))
def test_pte_round_trip_through_decode(version: int, page: int, ap: m.PteAperture, ro: bool, priv: bool, vol: bool,
                                       atomic: bool, kind: m.PteKind) -> None:
    fmt = format_version(version)
    vid_view = ap is m.PteAperture.VIDEO_MEMORY or (version == 2 and ap is m.PteAperture.PEER_MEMORY)
    addr = (page << 12) & ((1 << 37) - 1) if vid_view else page << 12
    flags = PteFlags(read_only=ro, privileged=priv, volatile=vol, atomic_disable=atomic, kind=kind)
    raw = fmt.pte(addr, ap, flags)
    info = fmt.decode_pte(raw)
    assert (info.kind, info.aperture, info.address) == ("pte", ap, addr)
    assert info.fields["kind"] == kind
    if version == 2:
        assert (info.fields["read_only"], info.fields["privilege"], info.fields["vol"],
                info.fields["atomic_disable"]) == (ro, priv, vol, atomic)
    else:
        pcf = info.fields["pcf"]
        assert ("_RO_" in pcf, pcf.startswith("PRIVILEGE"), "UNCACHED" in pcf, "NO_ATOMIC" in pcf) == (
            ro, priv, vol, atomic)


@settings(max_examples=100, deadline=None)
@given(version=st.sampled_from([2, 3]), big=st.one_of(st.none(), st.integers(1, (1 << 29) - 1)),
       small=st.one_of(st.none(), st.integers(1, (1 << 25) - 1)),
       big_ap=st.sampled_from([m.PdeAperture.VIDEO_MEMORY, m.PdeAperture.SYSTEM_COHERENT_MEMORY]),
       small_ap=st.sampled_from([m.PdeAperture.VIDEO_MEMORY, m.PdeAperture.SYSTEM_NON_COHERENT_MEMORY]))
def test_dual_pde_round_trip(version: int, big: int | None, small: int | None, big_ap: m.PdeAperture,
                             small_ap: m.PdeAperture) -> None:
    fmt = format_version(version)
    b = None if big is None else (big << 8, big_ap)
    s = None if small is None else (small << 12, small_ap)
    assert fmt.dual_halves(fmt.dual_pde(b, s)) == (b, s)
