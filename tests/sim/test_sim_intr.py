"""The simulated interrupt tree (sim/models/intr.py): per-chip geometry, write-1-to-clear rules, masked vectors that
stay pending, the message edge, MSI re-arm, the GSP falcon's edge and retrigger - and each refusal."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nova_core.errors import SimViolation
from nova_core.pci import ConfigSpace
from nova_core.pci.msi import MsiController, MsixController
from nova_core.regs import falcon as F
from nova_core.regs import vfn as V
from nova_core.regs.xve import NV_XVE_CYA_2
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.intr import engine_vectors, stall_vector
from nova_core.sim.models.intr import SimIntr
from nova_core.sim.regfile import PRI_ERROR

#: the LEAF arrays at their widest (Hopper's 16): their first 8 entries are every chip's
LEAF, LEAF_SET, LEAF_CLR = V.leaf_registers(V.MAX_LEAVES)
TOP, TOP_SET, TOP_CLR = (V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP, V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET,
                         V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR)


def tree(gpu: SimGpu) -> SimIntr:
    model = gpu.models["intr"]
    assert isinstance(model, SimIntr)
    return model


def with_msi(chip: str) -> tuple[SimGpu, list[tuple[int, int]]]:
    gpu = SimGpu(chip)
    cs = ConfigSpace(gpu.device().config)  # type: ignore[arg-type]
    cs.write16(4, cs.u16(4) | 0x4)  # bus master
    MsiController(cs).enable(1, 0xFEE00000, 0x40)
    msgs: list[tuple[int, int]] = []
    gpu.models["pci"].on_message(lambda a, d: msgs.append((a, d)))  # type: ignore[attr-defined]
    return gpu, msgs


@pytest.mark.parametrize(("chip", "leaves"), [("tu102", 8), ("ga100", 8), ("ga102", 8), ("ad102", 8), ("gh100", 16),
                                              ("gb100", 16), ("gb202", 16)])
def test_geometry_per_chip(chip: str, leaves: int) -> None:
    gpu = SimGpu(chip)
    t = tree(gpu)
    assert (t.leaves, t.subtrees) == (leaves, leaves // 2)
    last = leaves * 32 - 1
    t.raise_vector(last, "test")
    assert gpu.bar0.read32(LEAF.addr(i=leaves - 1)) == 1 << 31
    with pytest.raises(SimViolation, match=f"outside the {leaves} leaves"):
        t.raise_vector(last + 1, "test")


def test_leaves_beyond_the_chip_are_refused() -> None:
    gpu = SimGpu("ga102")
    with pytest.raises(SimViolation, match=r"LEAF_EN_SET\(8\): GA102 has 8 interrupt leaves"):
        gpu.bar0.write32(LEAF_SET.addr(i=8), 1)
    assert any("GA102 has 8 interrupt leaves" in e.message for e in gpu.log.errors())
    assert gpu.bar0.read32(LEAF.addr(i=15)) == PRI_ERROR  # a register GA102 does not have
    assert any("reads as a PRI error" in e.message for e in gpu.log.entries())
    SimGpu("gh100").bar0.write32(LEAF_SET.addr(i=15), 1)  # Hopper has 16


def test_top_enable_beyond_the_subtrees_is_refused() -> None:
    gpu = SimGpu("ga102")
    gpu.bar0.write32(TOP_SET.addr(i=0), 0xF)
    with pytest.raises(SimViolation, match="TOP_EN_SET 0x10: GA102 has 4 subtrees"):
        gpu.bar0.write32(TOP_SET.addr(i=0), 0x10)
    assert gpu.bar0.read32(TOP_CLR.addr(i=0)) == 0xF  # both enable registers read the mask
    SimGpu("gh100").bar0.write32(TOP_SET.addr(i=0), 0xFF)


def test_write_one_to_clear_ignores_what_is_not_pending() -> None:
    gpu = SimGpu("ad102")
    t = tree(gpu)
    t.raise_vector(5)
    leaf = LEAF.addr(i=0)
    gpu.bar0.write32(leaf, 1 << 6)  # not pending: no effect
    assert gpu.bar0.read32(leaf) == 1 << 5
    assert any("not pending: no effect" in e.message for e in gpu.log.entries())
    gpu.bar0.write32(leaf, 1 << 5)
    assert gpu.bar0.read32(leaf) == 0


def test_masked_vector_stays_pending_and_interrupts_once_enabled() -> None:
    gpu, msgs = with_msi("ga102")
    t = tree(gpu)
    gpu.bar0.write32(TOP_SET.addr(i=0), 0xF)
    t.raise_vector(200)  # leaf 6, bit 8: not enabled
    assert t.pending(200) and gpu.bar0.read32(TOP.addr(i=0)) == 0 and msgs == []
    gpu.bar0.write32(LEAF_SET.addr(i=6), 1 << 8)
    assert gpu.bar0.read32(TOP.addr(i=0)) == 1 << 3 and msgs == [(0xFEE00000, 0x40)]
    assert gpu.bar0.read32(LEAF_CLR.addr(i=6)) == 1 << 8


def test_the_message_is_an_edge_and_the_top_level_rearm_retriggers() -> None:
    gpu = SimGpu("gh100")  # MSI-X part; no config-space MSI gate
    t = tree(gpu)
    b = gpu.bar0
    b.write32(LEAF_SET.addr(i=0), 0b11)
    b.write32(TOP_SET.addr(i=0), 0xFF)
    t.raise_vector(0)
    t.raise_vector(1)  # the line is already up: no second message
    assert t.messages == 1
    b.write32(TOP_CLR.addr(i=0), 0xFF)  # unarm
    b.write32(LEAF.addr(i=0), 0b01)  # one acknowledged, vector 1 still pending
    b.write32(TOP_SET.addr(i=0), 0xFF)  # rearm with something pending: a new message
    assert t.messages == 2


def test_msi_needs_the_xve_rearm_on_pre_hopper_chips() -> None:
    gpu, msgs = with_msi("tu102")
    t = tree(gpu)
    b = gpu.bar0
    b.write32(LEAF_SET.addr(i=0), 1)
    b.write32(TOP_SET.addr(i=0), 0xF)
    t.raise_vector(0)
    assert len(msgs) == 1
    b.write32(LEAF.addr(i=0), 1)  # acknowledged...
    t.raise_vector(0)  # ...and raised again: the line rises, but MSI was not re-armed
    assert len(msgs) == 1 and t.held
    assert gpu.log.entries(component="intr")[-1].message == "tree asserted: MSI not re-armed (NV_XVE_CYA_2): held"
    b.write32(NV_XVE_CYA_2.addr(), 0)  # re-arm while asserted: sent now
    assert len(msgs) == 2 and not t.held


def test_xve_rearm_is_refused_on_hopper() -> None:
    gpu = SimGpu("gh100")
    with pytest.raises(SimViolation, match="re-arms MSI through the top-level enables"):
        gpu.bar0.write32(NV_XVE_CYA_2.addr(), 0)


def test_gsp_falcon_raises_its_vector_on_an_edge_of_its_host_causes() -> None:
    gpu = SimGpu("ga102")
    t = tree(gpu)
    falcon = gpu.models["falcon"].gsp  # type: ignore[attr-defined]
    vec = stall_vector(gpu.chipset, "GSP")
    falcon.raise_irq(F.IRQ_SWGEN0)  # not routed to the host yet (no RISC-V firmware): nothing
    assert not t.pending(vec)
    falcon.start_riscv()  # GSP-RM routes SWGEN0|HALT to the host: the latched SWGEN0 is an edge now
    assert t.pending(vec) and t.raised[vec] == 1
    falcon.raise_irq(F.IRQ_SWGEN0)  # still pending: no new edge
    assert t.raised[vec] == 1
    gpu.bar0.write32(F.NV_PFALCON_FALCON_IRQSCLR.addr(F.FALCON.GSP), F.IRQ_SWGEN0)
    falcon.raise_irq(F.IRQ_SWGEN0)
    assert t.raised[vec] == 2
    retrigger = F.NV_PFALCON_FALCON_INTR_RETRIGGER.addr(F.FALCON.GSP, 0)
    gpu.bar0.write32(retrigger, 1)  # GA100+: raised again while a cause is latched
    assert t.raised[vec] == 3
    gpu.bar0.write32(F.NV_PFALCON_FALCON_IRQSCLR.addr(F.FALCON.GSP), F.IRQ_SWGEN0)
    gpu.bar0.write32(retrigger, 1)  # nothing latched: nothing raised
    assert t.raised[vec] == 3


def test_retrigger_is_refused_on_turing() -> None:
    gpu = SimGpu("tu102")
    with pytest.raises(SimViolation, match="TU10x falcons have no retrigger register"):
        gpu.bar0.write32(F.NV_PFALCON_FALCON_INTR_RETRIGGER.addr(F.FALCON.GSP, 0), 1)


def test_engine_vectors_fit_every_chip() -> None:
    for chip in ("tu102", "ga100", "ga102", "ad102", "gh100", "gb202"):
        gpu = SimGpu(chip)
        vecs = engine_vectors(gpu.chipset)
        used = [v for _, s, n in vecs for v in (s, n) if v is not None]
        assert len(used) == len(set(used)) and max(used) < gpu.facts.vfn_leaves * 32
        assert ("DISP" in [e for e, _, _ in vecs]) == gpu.facts.has_display


@settings(max_examples=80, deadline=None)
@example([("raise", 37, 0), ("raise", 200, 0), ("ack", 200, 0), ("top_set", 0, 8)])  # one subtree drops, another stays
@example([("raise", 5, 0), ("leaf_en_on", 5, 0), ("raise", 37, 0), ("leaf_en_off", 5, 0), ("top_set", 0, 1)])
@given(st.lists(st.tuples(st.sampled_from(["raise", "ack", "top_clear", "top_set", "leaf_en_off", "leaf_en_on"]),
                          st.sampled_from([37, 36, 5, 200, 250]), st.integers(0, 15)), max_size=40))
def test_the_tree_output_and_messages_match_a_full_recompute(ops: list[tuple[str, int, int]]) -> None:
    """The tree keeps TOP per leaf (a LEAF or LEAF_EN change recomputes that leaf's subtree only); whatever the
    sequence - vectors sharing a leaf (36, 37), sharing a subtree (5 in leaf 0, 37 in leaf 1), in other subtrees
    (200, 250), TOP_EN masks of any subtrees - TOP equals the full recompute from every leaf, the output equals
    TOP & TOP_EN, and a message goes out on every rise - no raise is lost."""
    gpu = SimGpu("ga102")
    tree = gpu.models["intr"]
    assert isinstance(tree, SimIntr)
    b = gpu.bar0
    leaf_reg, en_set, en_clear = V.leaf_registers(8)
    for v in (37, 200):
        b.write32(en_set.addr(i=v // 32), 1 << v % 32)
    sent = 0
    line = tree.line
    for op, vec, mask in ops:
        leaf, bit = divmod(vec, 32)
        if op == "raise":
            tree.raise_vector(vec, "test")
        elif op == "ack":
            b.write32(leaf_reg.addr(i=leaf), 1 << bit)
        elif op == "leaf_en_off":
            b.write32(en_clear.addr(i=leaf), 1 << bit)
        elif op == "leaf_en_on":
            b.write32(en_set.addr(i=leaf), 1 << bit)
        elif op == "top_clear":
            b.write32(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_CLEAR.addr(i=0), mask)
        else:
            b.write32(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP_EN_SET.addr(i=0), mask)
        assert tree.top() == tree.top_from_leaves()
        assert b.read32(V.NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_TOP.addr(i=0)) == tree.top_from_leaves()
        want = bool(tree.top_from_leaves() & tree.top_en)
        assert tree.line == want
        if want and not line:
            sent += 1
        line = want
        assert tree.messages == sent


def _lock_free(gpu: SimGpu) -> bool:
    """Another thread can take the sim lock now (signal() left it as it found it)."""
    got: list[bool] = []

    def take() -> None:
        ok = gpu.clock.lock.acquire(timeout=5)
        got.append(ok)
        if ok:
            gpu.clock.lock.release()
    th = threading.Thread(target=take)
    th.start()
    th.join(10)
    return got == [True]


def test_a_refused_or_violating_signal_leaves_the_sim_lock_free() -> None:
    gpu, msgs = with_msi("ga102")
    pci: Any = gpu.models["pci"]
    assert pci.signal(0) and len(msgs) == 1 and _lock_free(gpu)
    assert not pci.signal(1) and len(msgs) == 1 and _lock_free(gpu)  # one vector granted
    assert gpu.log.errors()[-1].message == "MSI vector 1 raised but only 1 granted"
    gpu = SimGpu("gh100")
    cs = ConfigSpace(gpu.device().config)  # type: ignore[arg-type]
    cs.write16(4, cs.u16(4) | 0x4)  # bus master
    MsixController(cs, {0: gpu.bar0}).enable()
    with pytest.raises(SimViolation, match="outside the"):
        gpu.models["pci"].signal(1 << 12)  # type: ignore[attr-defined]
    assert _lock_free(gpu)
