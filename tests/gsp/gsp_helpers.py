"""Helpers for the GSP tests: a simulated GPU brought to "GSP-RM answering RPCs" with the gsp layer.

``gsp_boot(chip, version)`` does what the boot (issue 7) will do around the queues: shared memory,
libos arguments with RMARGS, SET_SYSTEM_INFO and SET_REGISTRY queued before GSP-RM runs, GSP-RM
started from the libos address (the sim's stand-in for the booter), the CPU sequencer attached,
INIT_DONE awaited. Threads are stopped at teardown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nova_core.gsp.cmdq import SharedMemory
from nova_core.gsp.fw import Event, GspAbi, SetRegistry, SetSystemInfo, SystemInfo
from nova_core.gsp.libos import LibosArgs
from nova_core.gsp.rpc import GspRpc
from nova_core.gsp.sequencer import CpuSequencer
from nova_core.hw.device import Device
from nova_core.sim import SimGpu
from nova_core.sim.gsp_rm import SimGspRm

VERSIONS = ["535.113.01", "550.163.01", "570.144"]
SYSINFO = SystemInfo(bar0_phys=0xF000_0000, bar1_phys=0xE000_0000, bar3_phys=0xD000_0000, pci_bdf=0x0100,
                     pci_device_id=0x2204)


@dataclass
class Booted:
    gpu: SimGpu
    dev: Device
    abi: GspAbi
    shm: SharedMemory
    libos: LibosArgs
    rpc: GspRpc
    seq: CpuSequencer
    gsp: SimGspRm


def make(chip: str = "ga102", version: str = "535.113.01", *, init: bool = True, boot: bool = True,
         before_boot: Callable[[Booted], Any] | None = None) -> Booted:
    gpu = SimGpu(chip)
    dev = gpu.device()
    abi = GspAbi.for_version(version)
    shm = SharedMemory(dev.dma, abi)
    libos = LibosArgs(dev.dma, abi, shm)
    rpc = GspRpc(abi, shm, dev.bar0, dev.clock)
    seq = CpuSequencer(abi, dev.bar0, dev.clock, libos_args_addr=libos.bus_addr)
    seq.attach(rpc)
    gsp = gpu.models["gsp_rm"]
    assert isinstance(gsp, SimGspRm)
    b = Booted(gpu, dev, abi, shm, libos, rpc, seq, gsp)
    if before_boot is not None:
        before_boot(b)
    else:
        mirror = gpu.facts.pci_config_mirror  # 0x92000 from Hopper on (NV_EP_PCFGM)
        rpc.send(SetSystemInfo(dataclasses.replace(SYSINFO, pci_config_mirror_base=mirror)))
        rpc.send(SetRegistry())
    if boot:
        gsp.boot(version, libos.bus_addr)
        if init:
            rpc.wait_event(Event.INIT_DONE)
    return b
