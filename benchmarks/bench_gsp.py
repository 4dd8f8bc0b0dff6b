"""GSP message queues: element checksum, sending a 1 KiB RPC, round trips with the simulated GSP-RM.

Against tinygrad 0.14.0's ``NVRpcQueue`` run over a bytearray (shared/reference/tinygrad-nv.md §7): its
``_checksum`` (a per-u64 ``struct.unpack_from`` loop) and ``send_rpc`` (ctypes headers, checksum, copy
into the ring, write pointer, doorbell on a fake register). Ours: ``nova_core.gsp.cmdq.checksum`` (numpy
XOR reduce) and ``CommandQueue.push`` over the same 256 KiB queue, its doorbell a ``BufferBar`` write.
In both send loops a fake consumer moves the read pointer so the ring never fills. Round trips: NOP
RPCs through ``GspRpc`` with the simulated GSP-RM thread answering (virtual time; wall clock measured),
which tinygrad cannot do without a GPU - reported as a figure. Targets (issue 6): checksum >= 5x,
send >= 2x.
"""

from __future__ import annotations

import ctypes
import struct
import time
from typing import Any, ClassVar

from _harness import Harness
from nova_core.gsp.cmdq import CommandQueue, SharedMemory, checksum
from nova_core.gsp.fw import GspAbi, Nop, SetRegistry, SetSystemInfo, SystemInfo
from nova_core.hw.bar import BufferBar
from nova_core.hw.clock import MonotonicClock
from nova_core.sim import SimGpu

PAGE = 4096


def _tinygrad_queue() -> tuple[Any, bytearray]:
    from tinygrad.runtime.autogen import nv
    from tinygrad.runtime.support.hcq import MMIOInterface
    from tinygrad.runtime.support.nv.ip import NVRpcQueue

    backing = bytearray(0x40000)
    hdr = nv.msgqTxHeader(  # type: ignore[no-untyped-call]
        version=0, size=0x40000, msgSize=PAGE, msgCount=63, writePtr=0, flags=1, rxHdrOff=0x20, entryOff=PAGE)
    backing[:ctypes.sizeof(hdr)] = bytes(hdr)
    addr = ctypes.addressof((ctypes.c_char * len(backing)).from_buffer(backing))
    view = MMIOInterface(addr, len(backing))

    class _Reg:
        def write(self, value: int) -> None:
            pass

    class _Dev:
        NV_PGSP_QUEUE_HEAD: ClassVar[list[_Reg]] = [_Reg()]

    class _Gsp:
        nvdev = _Dev()

    return NVRpcQueue(_Gsp(), view), backing  # type: ignore[arg-type]  # a stand-in for NV_GSP


def run(h: Harness) -> None:
    abi = GspAbi.for_version("535.113.01")
    element = bytearray(PAGE)
    element[0x30:0x50] = bytes(range(32))
    element[0x50:0x450] = bytes(i & 0xFF for i in range(1024))
    tg, backing = _tinygrad_queue()
    h.compare("checksum of one 4 KiB element", lambda: checksum(element), "tinygrad NVRpcQueue._checksum",
              lambda: tg._checksum(bytes(element)), min_speedup=5)

    # send of a 1 KiB RPC: ours over the sim's shared memory (plain memory), doorbell on a BufferBar
    gpu = SimGpu("ga102")
    shm = SharedMemory(gpu.sysmem, abi)
    cmdq = CommandQueue(shm, MonotonicClock())
    bar = BufferBar(bytearray(16 << 20))
    rptr_at = shm.geometry.rx_hdr_off  # GSP's read pointer of the cmdq (msgq rx header, SWAP_RX)
    payload = bytes(1024)
    fn = abi.function("GSP_RM_CONTROL")
    from nova_core.regs.gsp import NV_PGSP_QUEUE_HEAD

    doorbell = NV_PGSP_QUEUE_HEAD.addr(i=0)

    def ours() -> None:
        cmdq.push(fn, payload)
        bar.write32(doorbell, 0)
        struct.pack_into("<I", shm.msgq, rptr_at, cmdq.write_ptr)  # a consumer that keeps up

    def theirs() -> None:
        tg.send_rpc(76, payload)
        wp = struct.unpack_from("<I", backing, 0x10)[0]
        struct.pack_into("<I", backing, 0x20, wp)

    h.compare("send of a 1 KiB RPC", ours, "tinygrad NVRpcQueue.send_rpc", theirs, min_speedup=2)
    shm.free()

    # round trips with the simulated GSP-RM (after its boot handshake)
    from nova_core.gsp.libos import LibosArgs
    from nova_core.gsp.rpc import GspRpc
    from nova_core.gsp.sequencer import CpuSequencer

    gpu = SimGpu("ga102")
    dev = gpu.device()
    shm = SharedMemory(dev.dma, abi)
    libos = LibosArgs(dev.dma, abi, shm)
    rpc = GspRpc(abi, shm, dev.bar0, dev.clock)
    CpuSequencer(abi, dev.bar0, dev.clock).attach(rpc)
    rpc.send(SetSystemInfo(SystemInfo(bar0_phys=0xF000_0000, bar1_phys=0xE000_0000, bar3_phys=0xD000_0000,
                                      pci_bdf=0x100)))
    rpc.send(SetRegistry())
    gsp: Any = gpu.models["gsp_rm"]
    gsp.boot(abi.version, libos.bus_addr)
    from nova_core.gsp.fw import Event

    rpc.wait_event(Event.INIT_DONE)
    n = 200 if h.quick else 3000
    nop = Nop(bytes(64))
    t0 = time.perf_counter()
    for _ in range(n):
        rpc.call(nop)
    dt = (time.perf_counter() - t0) / n
    h.report("round trip (NOP, 64 B) with the simulated GSP-RM", dt, per_second=f"{1 / dt:,.0f}",
             note="tinygrad has no GSP peer to measure against")
    gsp.stop()
