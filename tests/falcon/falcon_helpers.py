"""Synthetic ucodes for the falcon tests: one placement spec -> the driver's FalconUcode and the sim's ExpectedLoad.

The spec is a list of raw placements (bytes, destination, secure, tag); the driver and the simulated falcon
each get their own description built from it, so neither is built from the other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from flush_page import registered
from nova_core.falcon import BromParams, Falcon, FalconUcode, UcodeSegment, falcon
from nova_core.falcon.facts import FalconEngine
from nova_core.gpu import Chipset
from nova_core.gpu.chips import FalconHal
from nova_core.sim import SimGpu
from nova_core.sim.falcon_check import ExpectedBrom, ExpectedLoad, ExpectedSegment, expect_ucode
from nova_core.sim.models.falcon import SimFalcon

#: one chip per family (Turing, Turing TU11x, GA100, Ampere, Ada, Hopper, Blackwell GB10x and GB20x)
FAMILY_CHIPS = [Chipset.TU102, Chipset.TU117, Chipset.GA100, Chipset.GA102, Chipset.AD102, Chipset.GH100,
                Chipset.GB100, Chipset.GB202]


@dataclass(frozen=True)
class Placement:
    data: bytes
    dst: int
    secure: bool = False
    tag: int | None = None


@dataclass(frozen=True)
class Spec:
    imem: tuple[Placement, ...]
    dmem: tuple[Placement, ...]
    boot_vector: int
    brom: tuple[int, int, int] | None


def make_spec(hal: FalconHal, seed: int = 1, *, engine_mask: int = 0x1) -> Spec:
    """A booter-like synthetic ucode: TU102 HAL = non-secure + secure IMEM, GA102 HAL = secure IMEM at 0 + BROM."""
    rng = random.Random(seed)

    def blob(n: int) -> bytes:
        return bytes(rng.getrandbits(8) for _ in range(n))

    dmem = (Placement(blob(602), 0),)  # not a multiple of 4: loaders pad
    if hal is FalconHal.TU102:
        return Spec((Placement(blob(256), 0, False, 0), Placement(blob(700), 0x100, True, 0x100)), dmem, 0, None)
    return Spec((Placement(blob(768), 0, True, 0x100),), dmem, 0x100, (16, engine_mask, 3))


def ucode_of(spec: Spec, name: str = "synthetic") -> FalconUcode:
    return FalconUcode(name, tuple(UcodeSegment(p.data, p.dst, p.secure, p.tag) for p in spec.imem),
                       tuple(UcodeSegment(p.data, p.dst) for p in spec.dmem), spec.boot_vector,
                       None if spec.brom is None else BromParams(*spec.brom))


def expected_of(spec: Spec, source: str = "synthetic ucode", **kw: int) -> ExpectedLoad:
    return ExpectedLoad(source, tuple(ExpectedSegment(p.dst, p.data, p.secure, p.tag) for p in spec.imem),
                        tuple(ExpectedSegment(p.dst, p.data) for p in spec.dmem), spec.boot_vector,
                        None if spec.brom is None else ExpectedBrom(*spec.brom), **kw)


def setup(chip: Chipset | str, engine: FalconEngine = FalconEngine.SEC2, *, seed: int = 1,
          **sim_kw: object) -> tuple[SimGpu, Falcon, SimFalcon, Spec]:
    gpu = registered(SimGpu(chip, **sim_kw))  # type: ignore[arg-type]
    f = falcon(gpu.device(), gpu.chipset, engine)
    model: SimFalcon = gpu.models["falcon"][engine.label]  # type: ignore[index]
    spec = make_spec(gpu.facts.falcon_hal, seed, engine_mask=engine.engine_id_mask)
    model.on_start = expect_ucode(expected_of(spec, mailbox0=0xC0FFEE))
    return gpu, f, model, spec
