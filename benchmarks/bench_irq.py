"""Interrupts: delivery latency on the sim, and what waking RPC waiters by interrupt costs against the sleeping poll.

1. **Delivery latency** (simulated GPU, host time): a model raises a vector of the VFN tree -> the tree's output
   rises -> the PCI function writes its MSI -> the IRQ thread runs the tree's handler, which acknowledges, calls the
   vector's handler (it sets an Event) and re-arms; the raising thread waits for that Event. Reference: a bare
   ``threading.Event`` handoff to another thread and back - the least any threaded IRQ can cost in CPython.
2. **RPC round trip, interrupt vs sleeping poll** (simulated GPU): NOP RPCs on two booted GA102s, one woken by the
   GSP's interrupt, one polling every 10 us - host time per RPC, with device (virtual) time and BAR reads per RPC as
   figures. On the sim a poll step is free (virtual time), so this measures the interrupt path's own cost.
3. **The wait itself on the host clock**: a peer thread completes work ~200 us after it is asked; the waiter either
   sleeps on a :class:`~nova_core.hw.irq.Wakeup` the peer signals (what the GSP interrupt does) or polls with
   :func:`~nova_core.hw.poll.poll_timeout` every 10 us (what RPC waits did) - wall time per wait, with the CPU time the
   waiting thread burns as a figure.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from _harness import Harness, Target
from nova_core.gsp.fw import Nop
from nova_core.hw.clock import SEC, US, MonotonicClock
from nova_core.hw.irq import Wakeup, wait_woken
from nova_core.hw.poll import poll_timeout
from nova_core.irq import VfnController, open_irq
from nova_core.sim import SimGpu
from nova_core.sim_boot import boot_sim


class _Handoff:
    """The reference: wake a thread that wakes us back."""

    def __init__(self) -> None:
        self.go, self.back = threading.Event(), threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.go.wait()
            self.go.clear()
            if self.stop:
                return
            self.back.set()

    def __call__(self) -> None:
        self.back.clear()
        self.go.set()
        self.back.wait(5)

    def close(self) -> None:
        self.stop = True
        self.go.set()
        self.thread.join(5)


def _delivery(h: Harness) -> None:
    gpu = SimGpu("ga102")
    dev = gpu.device()
    irq = open_irq(dev)
    vfn = VfnController(dev.bar0, gpu.facts.vfn_leaves, irq, msi_rearm=gpu.facts.msi_rearm_xve and irq.mode == "msi")
    vfn.attach()
    done = threading.Event()

    def handler(v: int) -> bool:
        done.set()
        return True

    vfn.request(200, handler, "bench")
    tree: Any = gpu.models["intr"]

    def ours() -> None:
        done.clear()
        tree.raise_vector(200)
        done.wait(5)

    ref = _Handoff()
    h.compare(f"sim interrupt raise -> handler ({irq.mode}, GA102)", ours, "threading.Event handoff and back", ref,
              target=Target(max_ratio=10))
    ref.close()
    vfn.detach()
    irq.close()


def _rpc(h: Harness) -> None:
    woken = boot_sim("ga102", synthetic=True)
    polled = boot_sim("ga102", synthetic=True, interrupts=("poll",))
    nop = Nop(bytes(64))
    figures = {}
    for name, g in (("interrupt", woken), ("poll", polled)):
        assert g.rpc is not None
        sim: Any = g.dev.sim
        n = 100 if h.quick else 1000
        r0, d0 = sim.bar0.reads, sim.clock.now()
        for _ in range(n):
            g.rpc.call(nop)
        figures[name] = {"device_us": f"{(sim.clock.now() - d0) / n / 1000:.1f}",
                         "reads": f"{(sim.bar0.reads - r0) / n:.1f}"}
    rpc_i, rpc_p = woken.rpc, polled.rpc
    assert rpc_i is not None and rpc_p is not None
    h.compare("RPC round trip (NOP 64 B) woken by the GSP interrupt", lambda: rpc_i.call(nop),
              "the same RPC, sleeping poll every 10 us", lambda: rpc_p.call(nop),
              irq_device_us=figures["interrupt"]["device_us"], poll_device_us=figures["poll"]["device_us"],
              irq_reads=figures["interrupt"]["reads"], poll_reads=figures["poll"]["reads"])
    woken.close()
    polled.close()


class _Peer:
    """Completes a request ``time.sleep(200 us)`` after it is made (longer in practice), then signals a Wakeup."""

    DELAY_S = 200e-6

    def __init__(self) -> None:
        self.wakeup = Wakeup("bench")
        self.done = False
        self.req = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.req.wait()
            self.req.clear()
            if self.stop:
                return
            time.sleep(self.DELAY_S)  # the work (the GIL is free meanwhile, as when a GPU works)
            self.done = True
            self.wakeup.signal()

    def ask(self) -> None:
        self.done = False
        self.req.set()

    def close(self) -> None:
        self.stop = True
        self.req.set()
        self.thread.join(5)


def _host_wait(h: Harness) -> None:
    peer = _Peer()
    clock = MonotonicClock()

    def by_interrupt() -> None:
        peer.ask()
        wait_woken(peer.wakeup, lambda: peer.done, clock=clock, timeout=SEC, what="the peer")

    def by_poll() -> None:
        peer.ask()
        poll_timeout(lambda: peer.done, bool, clock=clock, timeout=SEC, interval=10 * US, what="the peer")

    cpu = {}
    for name, fn in (("interrupt", by_interrupt), ("poll", by_poll)):
        n = 50 if h.quick else 500
        c0 = time.thread_time()
        for _ in range(n):
            fn()
        cpu[name] = f"{(time.thread_time() - c0) / n * 1e6:.0f} us"
    h.compare("host-clock wait for a 200 us completion, woken", by_interrupt,
              "the same wait, poll_timeout every 10 us", by_poll,
              waiter_cpu_woken=cpu["interrupt"], waiter_cpu_poll=cpu["poll"])
    peer.close()


def run(h: Harness) -> None:
    _delivery(h)
    _rpc(h)
    _host_wait(h)
