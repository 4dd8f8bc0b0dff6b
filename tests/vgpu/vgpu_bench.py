"""The vGPU tests' bench: a simulated vGPU board booted, its nova-core.vgpu-mgr manager bound, types loaded."""

from __future__ import annotations

from dataclasses import dataclass

from nova_core.api import NovaCore
from nova_core.api.vgpu import VgpuManager, vgpu_manager
from nova_core.gsp.boot import GspDevice
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm.model import SimGspRm
from nova_core.sim_boot import boot_sim, sim_vgpu_types


@dataclass
class Bench:
    gpu: GspDevice
    core: NovaCore
    mgr: VgpuManager

    @property
    def sim(self) -> SimGpu:
        s = self.gpu.dev.sim
        assert isinstance(s, SimGpu)
        return s

    @property
    def rm(self) -> SimGspRm:
        rm = self.sim.models["gsp_rm"]
        assert isinstance(rm, SimGspRm)
        return rm


def open_bench(chip: str = "ad102", version: str | None = None, vfs: int = 4) -> Bench:
    gpu = boot_sim(chip, vgpu=True, synthetic=True, firmware_version=version)
    core = NovaCore(gpu)
    mgr = vgpu_manager(core)
    mgr.load_types(sim_vgpu_types(gpu))
    if vfs:
        mgr.enable_vfs(vfs)
    return Bench(gpu, core, mgr)


