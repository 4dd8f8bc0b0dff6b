"""GSP message queues: element checksum, sending a 1 KiB RPC, the driver's cost per round trip, round trips with GSP-RM.

Against tinygrad 0.14.0's ``NVRpcQueue`` run over a bytearray (shared/reference/tinygrad-nv.md §7): its
``_checksum`` (a per-u64 ``struct.unpack_from`` loop) and ``send_rpc`` (ctypes headers, checksum, copy
into the ring, write pointer, doorbell on a fake register). Ours: ``nova_core.gsp.cmdq.checksum`` (numpy
XOR reduce) and ``CommandQueue.push`` over the same 256 KiB queue, its doorbell a ``BufferBar`` write.
In both send loops a fake consumer moves the read pointer so the ring never fills. The driver's own cost per
round trip (``CommandQueue.push`` + ``StatusQueue.receive``: element build, checksum, copy, pointers; then the
reply's validation and parse) is measured against an echo peer in the same thread: GSP-RM's side of the queues
reduced to consuming each command and answering it with an element of the same function, sequence and payload;
only the driver's two calls are timed, the peer's work is not.

Round trips with the simulated GSP-RM: NOP RPCs (``GspRpc.call``) on booted GA102s (synthetic firmware), wall
clock, the configurations interleaved round by round - polling (the RPC wait sleeps 10 us of virtual time and
looks again), woken by the GSP interrupt (the default after a boot: the waiting thread, moving simulated time,
takes the MSI message and runs the interrupt handler, which wakes it - nouveau's handler order, every register access
of it simulated), and, as a reference, the simulated GSP-RM serving every doorbell in its own thread (its old way: two
thread switches per RPC) - plus four threads sharing one GPU. tinygrad cannot do this without a GPU: the round
trips carry rate targets of their own.

Targets (issues 6 and 14): checksum >= 5x, send >= 4x, the driver's cost per round trip <= 10 us, round trips with
the simulated GSP-RM >= 20k/s (issue 14 Deliver 3; its table's first figure was 50k/s).
"""

from __future__ import annotations

import ctypes
import statistics
import struct
import threading
import time
from typing import Any, ClassVar

from _harness import Harness, Target
from nova_core.gsp.cmdq import CommandQueue, SharedMemory, StatusQueue, checksum
from nova_core.gsp.fw import GspAbi, Nop
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


class _EchoPeer:
    """GSP-RM's side of the two queues reduced to an echo, run in the caller's thread (benchmark only).

    Writes the status-queue header as GSP-RM does at boot; :meth:`serve` consumes every command element and
    answers each with one of the same function, RPC sequence and payload (result 0, the status queue's own
    seqNum, a fresh checksum), moving the pointers as GSP-RM does (SWAP_RX).
    """

    def __init__(self, shm: SharedMemory, abi: GspAbi) -> None:
        lay, g = shm._lay, shm.geometry
        hdr = abi.pack("msgqTxHeader", version=lay.msgq_version, size=g.size, msgSize=g.msg_size,
                       msgCount=g.msg_count, writePtr=0, flags=lay.msgq_flags_swap_rx, rxHdrOff=g.rx_hdr_off,
                       entryOff=g.entry_off)
        shm.msgq[:len(hdr)] = hdr
        self.cmdq, self.msgq, self.lay, self.g = shm.cmdq, shm.msgq, lay, g
        self.rptr = self.wptr = self.seq = 0

    def _slots(self, queue: memoryview, slot: int, n: int) -> list[tuple[int, int]]:
        g = self.g
        first = min(n, g.msg_count - slot)
        out = [(g.entry_off + slot * PAGE, first * PAGE)]
        if first < n:
            out.append((g.entry_off, (n - first) * PAGE))
        return out

    def serve(self) -> None:
        lay, g = self.lay, self.g
        w = struct.unpack_from("<I", self.cmdq, lay.tx_write_ptr)[0]
        while self.rptr != w:
            n = struct.unpack_from("<I", self.cmdq, g.entry_off + self.rptr * PAGE + lay.el_count)[0]
            element = bytearray().join(self.cmdq[a:a + k] for a, k in self._slots(self.cmdq, self.rptr, n))
            struct.pack_into("<II", element, lay.el_checksum, 0, self.seq)
            struct.pack_into("<II", element, lay.el_rpc + 16, 0, 0)  # rpc_result, rpc_result_private
            struct.pack_into("<I", element, lay.el_checksum, checksum(element))
            pos = 0
            for a, k in self._slots(self.msgq, self.wptr, n):
                self.msgq[a:a + k] = element[pos:pos + k]
                pos += k
            self.seq += 1
            self.wptr = (self.wptr + n) % g.msg_count
            struct.pack_into("<I", self.msgq, lay.tx_write_ptr, self.wptr)
            self.rptr = (self.rptr + n) % g.msg_count
            struct.pack_into("<I", self.msgq, g.rx_hdr_off + lay.rx_read_ptr, self.rptr)


def _driver_round_trips(h: Harness, abi: GspAbi) -> None:
    """The driver's own cost per round trip, against the in-thread echo peer (only the driver's calls timed)."""
    gpu = SimGpu("ga102")
    shm = SharedMemory(gpu.sysmem, abi)
    cmdq, statq, peer = CommandQueue(shm, MonotonicClock()), StatusQueue(shm), _EchoPeer(shm, abi)
    fn = abi.function("GSP_RM_CONTROL")
    clock = time.perf_counter
    for size in (64, 1024):
        payload = bytes(range(256)) * (size // 256) if size >= 256 else bytes(size)
        push: list[float] = []
        recv: list[float] = []
        for k in range(2000 if h.quick else 20_000):
            t0 = clock()
            cmdq.push(fn, payload, rpc_sequence=k)
            t1 = clock()
            peer.serve()
            t2 = clock()
            msg = statq.receive()
            t3 = clock()
            push.append(t1 - t0)
            recv.append(t3 - t2)
            if msg is None or msg.sequence != k or msg.payload != payload:
                raise RuntimeError(f"echo peer: reply {k} lost or wrong ({msg!r})")
        trips = [p + r for p, r in zip(push, recv, strict=True)]
        # medians and minima over single calls; the table's figures are per call
        h.report(f"cmdq: push of one RPC ({size} B payload)", push)
        h.report(f"statq: receive + validate one reply ({size} B payload)", recv)
        h.report(f"driver's own cost per round trip, push + receive ({size} B, in-thread echo peer)", trips,
                 target=Target(max_seconds=10e-6))
    shm.free()


def run(h: Harness) -> None:
    abi = GspAbi.for_version("535.113.01")
    element = bytearray(PAGE)
    element[0x30:0x50] = bytes(range(32))
    element[0x50:0x450] = bytes(i & 0xFF for i in range(1024))
    tg, backing = _tinygrad_queue()
    h.compare("checksum of one 4 KiB element", lambda: checksum(element), "tinygrad NVRpcQueue._checksum",
              lambda: tg._checksum(bytes(element)), target=Target(min_speedup=5))

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

    h.compare("send of a 1 KiB RPC", ours, "tinygrad NVRpcQueue.send_rpc", theirs, target=Target(min_speedup=4))
    shm.free()
    _driver_round_trips(h, abi)

    _sim_round_trips(h)


def _sim_round_trips(h: Harness) -> None:
    """NOP round trips with the simulated GSP-RM of a booted GA102 (synthetic firmware): polling, woken by the GSP
    interrupt (the default), GSP-RM's doorbells served in its own thread (the sim's old way), and four threads."""
    from nova_core.sim_boot import boot_sim

    nop = Nop(bytes(64))
    woken = boot_sim("ga102", synthetic=True)
    polled = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    threaded = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    gsp: Any = threaded.dev.sim.models["gsp_rm"]  # type: ignore[attr-defined]
    gsp.inline_doorbells = False
    try:
        rpcs = {"poll": polled.rpc, "irq": woken.rpc, "threaded": threaded.rpc}
        assert all(r is not None for r in rpcs.values())
        calls = {k: (lambda r=r: r.call(nop)) for k, r in rpcs.items()}  # type: ignore[union-attr]
        n = 200 if h.quick else 1000
        for fn in calls.values():
            fn()
        samples: dict[str, list[float]] = {k: [] for k in calls}
        order = list(calls)
        for r in range(3 if h.quick else 7):  # interleaved: every configuration in every round, rotating order
            for k in order[r % len(order):] + order[:r % len(order)]:
                t0 = time.perf_counter()
                for _ in range(n):
                    calls[k]()
                samples[k].append((time.perf_counter() - t0) / n)
        target = Target(min_rate=20_000)
        devices = {"poll": polled, "irq": woken}
        for k, what in (("poll", "polling"), ("irq", "woken by the GSP interrupt (the default)")):
            xs = samples[k]
            bar: Any = devices[k].dev.bar0  # the simulated BAR0 counts its accesses
            before = bar.reads + bar.writes
            calls[k]()
            h.report(f"round trip (NOP, 64 B) with the simulated GSP-RM, {what}", xs, target=target,
                     per_second=f"{1 / min(xs):,.0f} best, {1 / statistics.median(xs):,.0f} median",
                     doorbells="served in the ringing thread",
                     bar0_accesses_per_round_trip=bar.reads + bar.writes - before)
        h.compare_samples("round trip, doorbells served in the ringing thread (polling)", samples["poll"],
                          "the same, every doorbell through GSP-RM's own thread", samples["threaded"])
        # four threads at once (one GPU, polling): the aggregate rate
        def four() -> None:
            ts = [threading.Thread(target=lambda: [calls["poll"]() for _ in range(n // 4)]) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        xs = [x / n for x in h.samples(four, rounds=3 if h.quick else 5)]
        h.report("round trips with the simulated GSP-RM, 4 threads at once (polling): per round trip", xs,
                 per_second=f"{1 / min(xs):,.0f} best")
    finally:
        for g in (woken, polled, threaded):
            g.close()
