"""Engines' non-stall interrupts to registered listeners (nova_core.irq.nonstall), on the simulated GPU's tree with
the kernel interrupt table its GSP-RM gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nova_core.errors import IrqError
from nova_core.gsp.fw import GspAbi
from nova_core.gsp.intr import parse_vector_table
from nova_core.irq import NonstallListeners, VfnController, open_irq
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.intr import kernel_table


@pytest.fixture
def rig() -> Iterator[tuple[SimGpu, VfnController, NonstallListeners]]:
    gpu = SimGpu("ad102")
    dev = gpu.device()
    irq = open_irq(dev)
    vfn = VfnController(dev.bar0, gpu.facts.vfn_leaves, irq, msi_rearm=True)
    vfn.attach()
    abi = GspAbi.for_version("570.144")
    table = parse_vector_table(abi, kernel_table(abi.module, gpu.chipset))
    yield gpu, vfn, NonstallListeners(vfn, table)
    vfn.detach()
    irq.close()


def test_listeners_get_their_engine_and_the_vector_is_allowed_only_while_listened(
        rig: tuple[SimGpu, VfnController, NonstallListeners]) -> None:
    gpu, vfn, ns = rig
    tree = gpu.models["intr"]
    gr = ns.table.engine("GR0").nonstall
    # the copy engines of the simulated host's device info table (five on AD102)
    assert gr is not None and ns.engines() == ["GR0", "CE0", "CE1", "CE2", "CE3", "CE4", "NVDEC0"]
    got: list[str] = []
    stop_a = ns.listen("GR0", got.append)
    stop_b = ns.listen("GR0", lambda e: got.append(e.lower()))
    leaf, bit = divmod(gr, 32)
    assert tree.en[leaf] >> bit & 1  # type: ignore[attr-defined]
    tree.raise_vector(gr)  # type: ignore[attr-defined]
    vfn.irq.synchronize()
    assert got == ["GR0", "gr0"] and ns.delivered == {"GR0": 1}
    assert vfn.vector(gr).kind == "nonstall" and vfn.vector(gr).name == "GR0 non-stall"
    stop_a()
    assert tree.en[leaf] >> bit & 1  # type: ignore[attr-defined]  # still one listener
    stop_b()
    stop_b()  # twice: nothing
    assert not tree.en[leaf] >> bit & 1  # type: ignore[attr-defined]  # blocked with the last one


def test_a_listener_that_raises_does_not_starve_the_others(rig: tuple[SimGpu, VfnController, NonstallListeners]) \
        -> None:
    gpu, vfn, ns = rig
    got: list[str] = []

    def bad(engine: str) -> None:
        raise KeyError("oops")

    ns.listen("CE2", bad)
    ns.listen("CE2", got.append)
    ce2 = ns.table.engine("CE2").nonstall
    assert ce2 is not None
    gpu.models["intr"].raise_vector(ce2)  # type: ignore[attr-defined]
    vfn.irq.synchronize()
    assert got == ["CE2"] and any("CE2 non-stall listener" in r and "KeyError" in r for r in vfn.irq.reports)


def test_engines_without_a_non_stall_vector_are_refused(rig: tuple[SimGpu, VfnController, NonstallListeners]) -> None:
    _, _, ns = rig
    with pytest.raises(IrqError, match="GSP has no non-stall interrupt vector"):
        ns.listen("GSP", print)
    with pytest.raises(IrqError, match="no engine 'GR9'"):
        ns.listen("GR9", print)
