"""GR facts, pinned three ways: literals from other sources (nouveau, tinygrad, reference §11), the generated bindings
(NVIDIA's headers compiled per release), and NVIDIA's class and control headers themselves, with NVIDIA's open-gpu-doc
for the methods of the Ada/Hopper/Blackwell compute classes - through the committed tables of
:mod:`nova_core.engines.reference` (``tests/engines/test_class_reference.py`` regenerates them when the headers are at
hand)."""

from __future__ import annotations

import ctypes
import re
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.engines.gr import facts as G
from nova_core.engines.pushbuf import Pushbuffer
from nova_core.engines.reference import open_gpu_doc as doc
from nova_core.engines.reference import r570_144 as ref
from nova_core.gpu.chips import Chipset
from nova_core.gsp import bindings
from nova_core.sim.gsp_rm.objects import ARCH_CLASSES

VERSIONS = ("535.113.01", "550.163.01", "570.144")
#: reference §11 (g_allclasses.h / g_gpu_class_list.c): (compute, 3D) per chip
CHIP_CLASSES = {Chipset.TU102: (0xC5C0, 0xC597), Chipset.TU117: (0xC5C0, 0xC597), Chipset.GA100: (0xC6C0, 0xC697),
                Chipset.GA102: (0xC7C0, 0xC797), Chipset.GA107: (0xC7C0, 0xC797), Chipset.AD102: (0xC9C0, 0xC997),
                Chipset.GH100: (0xCBC0, 0xCB97), Chipset.GB100: (0xCDC0, 0xCD97), Chipset.GB202: (0xCEC0, 0xCE97)}
COMPUTE = {"TURING_COMPUTE_A": 0xC5C0, "AMPERE_COMPUTE_A": 0xC6C0, "AMPERE_COMPUTE_B": 0xC7C0,
           "ADA_COMPUTE_A": 0xC9C0, "HOPPER_COMPUTE_A": 0xCBC0, "BLACKWELL_COMPUTE_A": 0xCDC0,
           "BLACKWELL_COMPUTE_B": 0xCEC0}
THREED = {"TURING_A": 0xC597, "AMPERE_A": 0xC697, "AMPERE_B": 0xC797, "ADA_A": 0xC997, "HOPPER_A": 0xCB97,
          "BLACKWELL_A": 0xCD97, "BLACKWELL_B": 0xCE97}


def test_class_table_per_chip() -> None:
    for chip, (compute, threed) in CHIP_CLASSES.items():
        c = G.gr_classes_for(chip)
        assert (c.compute, c.threed) == (compute, threed), chip
        key = "AMPERE_GA100" if chip is Chipset.GA100 else chip.architecture.name
        if key == "BLACKWELL":
            key = "BLACKWELL_GB20X" if chip is Chipset.GB202 else "BLACKWELL_GB10X"
        assert {compute, threed} <= ARCH_CLASSES[key], chip  # the simulated GSP-RM's list (written apart) has them
    for name, value in {**COMPUTE, **THREED}.items():
        assert getattr(G, name) == value and G.CLASS_NAMES[value] == name


@pytest.mark.parametrize("version", VERSIONS)
def test_facts_agree_with_the_generated_bindings(version: str) -> None:
    m = bindings.load(version)
    for name, value in {**COMPUTE, **THREED}.items():
        if hasattr(m, name):  # the Blackwell classes are not in 535/550
            assert getattr(m, name) == value, (version, name)
        else:
            assert version != "570.144" and "BLACKWELL" in name, name
    assert m.NVA06F_SUBCHANNEL_COMPUTE == G.SUBCHANNEL_COMPUTE and m.NVA06F_SUBCHANNEL_3D == G.SUBCHANNEL_3D
    assert m.NV2080_ENGINE_TYPE_GR0 == G.GR_ENGINE_TYPE
    assert m.NV2080_CTRL_GPU_PROMOTE_CONTEXT_MAX_ENTRIES == G.PROMOTE_MAX_ENTRIES
    for pid in G.PromoteId:
        assert getattr(m, f"NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ID_{pid.name}") == pid, pid
    count = m.NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_COUNT
    assert count == m.NV2080_CTRL_INTERNAL_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_COUNT
    assert count == (0x19 if version == "535.113.01" else 0x1A)  # GRAPHICS_SETUP from 550
    for eid in G.EngineCtxId:
        if eid < count:
            assert getattr(m, f"NV0080_CTRL_FIFO_GET_ENGINE_CONTEXT_PROPERTIES_ENGINE_ID_{eid.name}") == eid, eid
    apertures = [getattr(m, f"NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE_{a.name}") for a in G.CtxAperture]
    assert apertures == [0, 1, 2] == list(G.CtxAperture)
    assert G.PhysAttr.encode(gpu_cacheable=m.NV2080_CTRL_GPU_INITIALIZE_CTX_GPU_CACHEABLE_NO) == 4
    # the layouts (tinygrad's autogen: promoteEntry at +48, the entry 32 bytes; 8 engines x COUNT x {size, align})
    assert ctypes.sizeof(m.NV2080_CTRL_GPU_PROMOTE_CTX_BUFFER_ENTRY) == 0x20
    assert m.NV2080_CTRL_GPU_PROMOTE_CTX_PARAMS.promoteEntry.offset == 48
    info = m.NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS
    assert ctypes.sizeof(info) == m.NV2080_CTRL_INTERNAL_GR_MAX_ENGINES * count * 8
    assert m.NV2080_CTRL_CMD_INTERNAL_STATIC_KGR_GET_CONTEXT_BUFFERS_INFO == 0x20800A32  # nouveau, tinygrad
    assert m.NV2080_CTRL_CMD_GPU_PROMOTE_CTX == 0x2080012B  # reference §11


def test_buffer_table_matches_nouveau_and_openrm() -> None:
    """nouveau r535_gr_oneinit's map (id0, id1, global, init, ro) - with OpenRM's PAGEPOOL_GLOBAL for the page pool."""
    want = [(0x00, 0, False, True, False), (0x10, 2, False, True, False), (0x11, 3, True, False, False),
            (0x12, 4, True, False, False), (0x13, 5, True, False, False), (0x14, 6, True, False, False),
            (0x17, 9, True, True, False), (0x18, 10, True, True, True), (0x18, 11, True, True, True)]
    got = [(int(k.engine_id), int(k.promote_id), k.global_, k.initialize, k.read_only) for k in G.CTX_BUFFERS]
    assert got == want
    assert [k.name for k in G.CTX_BUFFERS if k.size_aligned] == ["ATTRIBUTE_CB"]
    assert [k.name for k in G.CTX_BUFFERS if k.golden_only] == ["UNRESTRICTED_PRIV_ACCESS_MAP"]
    assert [k.name for k in G.CTX_BUFFERS if k.golden_unmapped] == ["PRIV_ACCESS_MAP"]


@pytest.mark.parametrize("reported, size", [(0x2E000, 0x2E000 + 0x40000), (0x2E001, 0x2F000 + 0x40000),
                                            (1, 0x1000 + 0x40000)])
def test_main_buffer_has_64_subcontext_headers(reported: int, size: int) -> None:
    # tinygrad: round_up(size + 0x40000, alignment); nouveau: ALIGN(size, 0x1000) + 64 * 0x1000
    assert G.main_buffer_size(reported) == size


def test_compute_methods_by_name_in_pushbuffers() -> None:
    pb = Pushbuffer(0xC56F).set_object(1, G.AMPERE_COMPUTE_B)
    pb.method(1, "SET_REPORT_SEMAPHORE_A", 0, 0x1000, 7, G.ReportSemaphoreD.encode(structure_size=1))
    # tinygrad nvm(): (2 << 28) | (count << 16) | (subc << 13) | (mthd >> 2)
    assert pb.words[2:] == [2 << 28 | 4 << 16 | 1 << 13 | 0x1B00 >> 2, 0, 0x1000, 7, 1 << 28]
    from nova_core.errors import PushbufferError

    with pytest.raises(PushbufferError, match="AMPERE_COMPUTE_B has no method 'SET_REPORT_SEMAPHORE_X'"):
        pb.method(1, "SET_REPORT_SEMAPHORE_X", 0)
    assert "SEND_SIGNALING_PCAS2_B" not in G.COMPUTE_METHODS[G.TURING_COMPUTE_A]
    bits = G.REPORT_SEMAPHORE_UPPER_BITS
    assert bits[G.ADA_COMPUTE_A] == 8 and bits[G.HOPPER_COMPUTE_A] == 25


# -- against NVIDIA's headers (the committed tables tools/gen_class_reference.py writes) --------------------------

SDK = "src/common/sdk/nvidia/inc"


def _check_methods(table: ModuleType, header: str, prefix: str, methods: dict[str, int]) -> None:
    numbers, arrays = table.NUMBERS[header], table.ARRAYS[header]
    for name, addr in methods.items():
        if name == "LOAD_INLINE_QMD_DATA":  # the array (base + i * 4)
            assert arrays.get(f"{prefix}_{name}") == (addr, 4), (prefix, name)
        else:
            assert numbers.get(f"{prefix}_{name}") == addr, (prefix, name)
    assert numbers.get(f"{prefix}_SET_FALCON00") == G.INLINE_QMD_END


def _check_report_d(table: ModuleType, header: str, prefix: str, upper_bits: int) -> None:
    fields = table.FIELDS[header]
    for f in G.ReportSemaphoreD.FIELDS:
        assert fields[f"{prefix}_SET_REPORT_SEMAPHORE_D_{f.name.upper()}"] == (f.hi, f.lo), f.name
    hi, lo = fields[f"{prefix}_SET_REPORT_SEMAPHORE_A_OFFSET_UPPER"]
    assert lo == 0 and hi + 1 == upper_bits


@pytest.mark.parametrize("name, header", [*((n, f"cl{v:04x}.h") for n, v in {**COMPUTE, **THREED}.items())])
def test_class_ids_match_the_class_headers(name: str, header: str) -> None:
    assert ref.CLASSES[f"{SDK}/class/{header}"] == (name, getattr(G, name))


@pytest.mark.parametrize("cls", [G.TURING_COMPUTE_A, G.AMPERE_COMPUTE_A, G.AMPERE_COMPUTE_B])
def test_compute_methods_match_the_sdk_headers(cls: int) -> None:
    header = f"{SDK}/class/cl{cls:04x}.h"
    prefix = f"NV{cls:04X}"
    _check_methods(ref, header, prefix, G.COMPUTE_METHODS[cls])
    _check_report_d(ref, header, prefix, G.REPORT_SEMAPHORE_UPPER_BITS[cls])
    if "SEND_SIGNALING_PCAS2_B" in G.COMPUTE_METHODS[cls]:
        for action in G.SendSignalingPcas2Action:
            assert ref.NUMBERS[header].get(f"{prefix}_SEND_SIGNALING_PCAS2_B_PCAS_ACTION_{action.name}") == action
    _, lo = ref.FIELDS[header][f"{prefix}_SEND_SIGNALING_PCAS_B_SCHEDULE"]
    assert 1 << lo == G.SEND_SIGNALING_PCAS_B_SCHEDULE


@pytest.mark.parametrize("cls", [G.ADA_COMPUTE_A, G.HOPPER_COMPUTE_A, G.BLACKWELL_COMPUTE_A, G.BLACKWELL_COMPUTE_B])
def test_later_compute_methods_match_open_gpu_doc(cls: int) -> None:
    header = f"classes/compute/cl{cls:04x}.h"
    assert doc.CLASSES[header] == (G.CLASS_NAMES[cls], cls)
    _check_methods(doc, header, f"NV{cls:04X}", G.COMPUTE_METHODS[cls])
    _check_report_d(doc, header, f"NV{cls:04X}", G.REPORT_SEMAPHORE_UPPER_BITS[cls])


def test_promote_entry_attributes_match_the_header() -> None:
    header = f"{SDK}/ctrl/ctrl2080/ctrl2080gpu.h"
    assert ref.FIELDS[header]["NV2080_CTRL_GPU_INITIALIZE_CTX_APERTURE"] == (1, 0)
    assert ref.FIELDS[header]["NV2080_CTRL_GPU_INITIALIZE_CTX_GPU_CACHEABLE"] == (2, 2)
    # the sim's bNonmapped refusal ("It is illegal to set this flag and not set bInitialize")
    assert "PROMOTE_CTX_BUFFER_ENTRY: bNonmapped needs bInitialize" in ref.STATEMENTS[header]


# -- GSP-RM's description, from bytes (untrusted input) --------------------------------------------------------

_E = G.EngineCtxId
_TABLE = {_E.GRAPHICS: (0x4B000, 0x1000), _E.GRAPHICS_PATCH: (0x10000, 0x1000), _E.GRAPHICS_BUNDLE_CB: (0x21000, 0x100),
          _E.GRAPHICS_PAGEPOOL_GLOBAL: (0x80000, 0x1000), _E.GRAPHICS_ATTRIBUTE_CB: (0x170000, 0x10000),
          _E.GRAPHICS_RTV_CB_GLOBAL: (0x4000, 0), _E.GRAPHICS_FECS_EVENT: (0x10000, 0x1000),
          _E.GRAPHICS_PRIV_ACCESS_MAP: (0x2000, 0x1000)}


def _answer(version: str, table: dict[int, tuple[int, int]], engine: int = 0) -> bytes:
    from nova_core.gsp.fw import GspAbi

    abi = GspAbi.for_version(version)
    p = abi.struct("NV2080_CTRL_INTERNAL_STATIC_GR_GET_CONTEXT_BUFFERS_INFO_PARAMS")()
    for eid, (size, align) in table.items():
        p.engineContextBuffersInfo[engine].engine[eid].size = size
        p.engineContextBuffersInfo[engine].engine[eid].alignment = align
    return bytes(p)


@pytest.mark.parametrize("version", VERSIONS)
def test_description_from_bytes(version: str) -> None:
    from nova_core.engines.gr.context import buffer_specs, parse_context_buffers_info
    from nova_core.gsp.fw import GspAbi

    abi = GspAbi.for_version(version)
    info = parse_context_buffers_info(abi, _answer(version, _TABLE))
    assert info.version == version and len(info.entries) == (0x19 if version == "535.113.01" else 0x1A)
    specs = {s.kind.name: s for s in buffer_specs(info)}
    assert specs["MAIN"].size == 0x4B000 + 0x40000 and specs["MAIN"].place == 0x10000  # its size's 64 KiB page
    assert specs["ATTRIBUTE_CB"].alignment == specs["ATTRIBUTE_CB"].place == 0x200000
    assert specs["RTV_CB_GLOBAL"].alignment == 1 and specs["RTV_CB_GLOBAL"].place == 0x1000  # no alignment reported
    assert specs["BUFFER_BUNDLE_CB"].alignment == 0x100 and specs["BUFFER_BUNDLE_CB"].place == 0x10000
    assert specs["UNRESTRICTED_PRIV_ACCESS_MAP"].size == specs["PRIV_ACCESS_MAP"].size == 0x2000
    assert [e["name"] for e in info.as_json()] == [G.EngineCtxId(k).name for k in sorted(_TABLE)]


@pytest.mark.parametrize("change, says", [
    ({G.EngineCtxId.GRAPHICS_PATCH: (0, 0)}, "reports no GRAPHICS_PATCH context buffer (for PATCH): size 0x0"),
    ({G.EngineCtxId.GRAPHICS_FECS_EVENT: (G.SIZE_NOT_SUPPORTED, 0)}, "size 0xffffffff"),
    ({G.EngineCtxId.GRAPHICS: (0x1000, 0x3000)}, "power-of-two alignment"),
    ({G.EngineCtxId.GRAPHICS: (1 << 30, 0x1000)}, "at most 0x10000000 bytes"),
])
def test_a_bad_description_is_one_error(change: dict[int, tuple[int, int]], says: str) -> None:
    from nova_core.engines.gr.context import buffer_specs, parse_context_buffers_info
    from nova_core.errors import GrError
    from nova_core.gsp.fw import GspAbi

    abi = GspAbi.for_version("570.144")
    with pytest.raises(GrError, match=re.escape(says)):
        buffer_specs(parse_context_buffers_info(abi, _answer("570.144", _TABLE | change)))


def test_a_short_description_is_one_error() -> None:
    from nova_core.engines.gr.context import parse_context_buffers_info
    from nova_core.errors import GspError
    from nova_core.gsp.fw import GspAbi

    with pytest.raises(GspError, match="shorter than 570.144"):
        parse_context_buffers_info(GspAbi.for_version("570.144"), b"\0" * 100)


_SIZES = st.one_of(st.just(0), st.just(G.SIZE_NOT_SUPPORTED), st.integers(1, 1 << 29), st.integers(0, 0xFFFFFFFF))
_ALIGNS = st.one_of(st.just(0), st.sampled_from([1 << k for k in range(32)]), st.integers(0, 0xFFFFFFFF))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_SIZES, _ALIGNS), min_size=0x1A, max_size=0x1A))
def test_any_description_parses_or_is_refused(entries: list[tuple[int, int]]) -> None:
    """Whatever GSP-RM answers: buffer specs whose placement is a power of two at least the alignment, or GrError."""
    from nova_core.engines.gr.context import MAX_BUFFER_SIZE, buffer_specs, parse_context_buffers_info
    from nova_core.errors import GrError
    from nova_core.gsp.fw import GspAbi

    data = _answer("570.144", dict(enumerate(entries)))
    try:
        specs = buffer_specs(parse_context_buffers_info(GspAbi.for_version("570.144"), data))
    except GrError:
        return
    for s in specs:
        assert 0 < s.size <= MAX_BUFFER_SIZE + G.MAX_SUBCONTEXTS * G.SUBCONTEXT_HEADER + 0x1000
        assert s.place & (s.place - 1) == 0 and s.place >= s.alignment and s.place >= 0x1000
