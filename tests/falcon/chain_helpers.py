"""A simulated GPU wired for the secure chain: the driver's inputs (vBIOS, firmware set, FB layout, LibOS page)
built the way the boot issue will build them, and the sim told which firmware to expect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flush_page import registered
from nova_core.falcon.chain import ChainResult, UnloadResult, run_secure_chain, unload_secure_chain
from nova_core.fb import FbLayout, read_fb_layout
from nova_core.firmware import FirmwareSet, open_firmware_set
from nova_core.gpu import identify
from nova_core.gpu.identify import Spec
from nova_core.hw.device import Device
from nova_core.hw.dma import DmaBuffer
from nova_core.sim import SimGpu
from nova_core.sim.models.falcon import SimFalcon
from nova_core.sim.models.secure_chain import SecureChainModel
from nova_core.vbios import Vbios

#: every chip that boots through FWSEC and the SEC2 booter
SEC2_CHIPS = ["tu102", "tu104", "tu106", "tu116", "tu117", "ga100", "ga102", "ga103", "ga104", "ga106", "ga107",
              "ad102", "ad103", "ad104", "ad106", "ad107"]


@dataclass
class Rig:
    gpu: SimGpu
    dev: Device
    spec: Spec
    vbios: Vbios
    fw: FirmwareSet
    layout: FbLayout
    libos: DmaBuffer
    handoffs: list[int]  #: LibOS addresses the booter handed the GSP RISC-V core over with

    @property
    def model(self) -> SecureChainModel:
        return self.gpu.models["secure_chain"]  # type: ignore[return-value]

    @property
    def gsp(self) -> SimFalcon:
        return self.gpu.models["falcon"].gsp  # type: ignore[attr-defined,no-any-return]

    @property
    def sec2(self) -> SimFalcon:
        return self.gpu.models["falcon"].sec2  # type: ignore[attr-defined,no-any-return]

    def run(self, **kw: Any) -> ChainResult:
        return run_secure_chain(self.dev, self.spec, self.vbios, self.fw, self.layout, self.libos.bus_addr, **kw)

    def unload(self, **kw: Any) -> UnloadResult:
        return unload_secure_chain(self.dev, self.spec, self.vbios, self.fw, **kw)

    def last_error(self) -> str:
        errs = self.gpu.log.errors()
        return errs[-1].message if errs else ""


def make_rig(chip: str, root: Path, *, rom: Path | None = None, expect: bool = True, **gpu_kw: Any) -> Rig:
    gpu = registered(SimGpu(chip, vbios=rom, **gpu_kw))
    if expect:
        gpu.models["secure_chain"].expect_firmware(root)  # type: ignore[attr-defined]
    dev = gpu.device()
    spec = identify(dev.bar0)
    vbios = Vbios.from_bar(dev.bar0, f"sim:{chip}")
    fw = open_firmware_set(spec.chipset, roots=[root])
    layout = read_fb_layout(dev.bar0, spec, bootloader_size=len(fw.bootloader.payload),
                            gsp_image_size=fw.gsp.image_size, version=fw.version)
    libos = gpu.sysmem.alloc(0x1000, name="LibOS arguments")
    handoffs: list[int] = []
    # record the handoff instead of booting the simulated GSP-RM (these tests build no real LibOS arguments)
    gpu.models["secure_chain"].on_gsp_riscv_start = handoffs.append  # type: ignore[attr-defined]
    return Rig(gpu, dev, spec, vbios, fw, layout, libos, handoffs)
