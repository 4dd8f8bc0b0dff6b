"""The simulated GSP-RM serves a doorbell in the ringing thread when it has nothing else in hand, and through its
own thread otherwise: the same virtual times either way, and a doorbell never overtakes earlier work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gsp_helpers import Booted

from nova_core.gsp.fw import Event, Nop


def _trace(b: Booted) -> list[tuple[int, int, bytes]]:
    """A fixed run of RPCs: (virtual time after each, reply length, reply) - what the driver observes."""
    out = []
    for i in range(40):
        payload = bytes([i]) * (64 + 512 * (i % 3))
        reply = b.rpc.call(Nop(payload))
        out.append((b.gpu.clock.now(), len(reply), reply))
    big = b.rpc.rpc("NOP", bytes(range(256)) * 40)  # split into CONTINUATION_RECORDs, each one a doorbell
    out.append((b.gpu.clock.now(), len(big.payload), big.payload))
    return out


def test_inline_and_threaded_doorbells_give_the_same_run(gsp_boot: Callable[..., Booted]) -> None:
    inline, threaded = gsp_boot(), gsp_boot()
    threaded.gsp.inline_doorbells = False
    before_inline, before_threaded = inline.gsp.inline_served, threaded.gsp.inline_served
    a, b = _trace(inline), _trace(threaded)
    assert a == b
    assert inline.gsp.inline_served - before_inline >= 41  # every doorbell of the run was served in this thread
    assert threaded.gsp.inline_served == before_threaded
    assert inline.gsp.handled == threaded.gsp.handled
    assert inline.gpu.log.errors() == [] and threaded.gpu.log.errors() == []


def test_a_doorbell_behind_work_in_hand_goes_to_gsp_rm_thread(booted: Booted) -> None:
    """While GSP-RM's thread handles an item, a doorbell is queued behind it (not served inline): the event emitted
    first reaches the CPU first, then the reply."""
    gsp: Any = booted.gsp
    entered, release = threading.Event(), threading.Event()
    real = gsp._handle_item

    def slow(item: tuple[Any, ...]) -> None:
        if item[0] == "emit":
            entered.set()
            assert release.wait(10)
        real(item)

    gsp._handle_item = slow
    seen: list[str] = []
    booted.rpc.on_event(Event.OS_ERROR_LOG, lambda ev: seen.append("event"))
    served = gsp.inline_served
    gsp.emit("OS_ERROR_LOG", gsp.event_payload("rpc_os_error_log_v", exceptType=1), delay_ns=0)
    assert entered.wait(10)
    pending = booted.rpc.post("NOP", bytes(64), awaited=True)  # its doorbell: GSP-RM's thread is busy
    assert gsp.inline_served == served and gsp._work  # queued, not served inline
    release.set()
    reply = booted.rpc.wait(pending)
    seen.append("reply")
    assert reply.payload == bytes(64)
    assert seen == ["event", "reply"]
    gsp._handle_item = real


def test_doorbells_from_many_threads(booted: Booted) -> None:
    """Threads ringing at once: each doorbell is served (inline or queued), every reply reaches its caller."""
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(30):
                payload = bytes([k, i]) * 32
                assert booted.rpc.call(Nop(payload)) == payload
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert booted.gpu.log.errors() == []


def test_a_simulated_boot_and_its_rpcs_start_no_thread() -> None:
    """GSP-RM's boot and its doorbells are served in the thread that started the core or rang, and every interrupt of
    a boot is delivered by the thread that waits for it: neither GSP-RM's thread nor the handler thread starts. An
    event (GSP-RM's own work) starts GSP-RM's thread; its interrupt, raised by a thread that does not settle it,
    starts the handler thread."""
    from nova_core.sim import SimGpu
    from nova_core.sim_boot import boot_sim

    gpu = SimGpu("ga102")
    before = set(threading.enumerate())
    d = boot_sim("ga102", synthetic=True, gpu=gpu)
    try:
        rm: Any = gpu.models["gsp_rm"]
        assert d.irq is not None and d.gsp_irq is not None and d.rpc is not None
        assert d.irq.delivers and d.irq._thread is None and rm._thread is None
        assert d.rpc.call(Nop(bytes(64))) == bytes(64)
        assert d.irq._thread is None and rm._thread is None and set(threading.enumerate()) <= before
        messages = d.gsp_irq.handler.stats.messages
        rm.emit("OS_ERROR_LOG", rm.event_payload("rpc_os_error_log_v", exceptType=1), delay_ns=0)
        assert rm._thread is not None and rm._thread.name == "sim GSP-RM GA102"
        rm.settle()
        gpu.clock.sleep(1_000_000)  # this thread publishes the event; it is in no settling block
        d.irq.synchronize()
        assert d.irq._thread is not None and d.gsp_irq.handler.stats.messages == messages + 1
        assert gpu.log.errors() == []
    finally:
        d.close()
    thread = rm._thread
    thread.join(5)  # the falcon's reset at shutdown ends GSP-RM, and its thread with it
    assert rm.state == "off" and not thread.is_alive()
