"""Load: several threads, 100k RPCs of mixed sizes (up to multi-element and continuation records) through the
simulated GSP-RM; zero lost, duplicated or reordered replies."""

from __future__ import annotations

import random
import struct
import threading
from collections.abc import Callable

import pytest
from gsp_helpers import Booted

from nova_core.gsp.fw import RmAlloc, device_alloc_params, root_alloc_params, subdevice_alloc_params

C, D, S = 0xC1D00001, 0xDE1D0000, 0x5D1D0000
THREADS = 4
TOTAL = 100_000
WINDOW = 3  #: RPCs each thread keeps in flight


def _size(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.90:
        return rng.randrange(8, 1024)  # one element
    if r < 0.995:
        return rng.randrange(4096, 60_000)  # multi-page elements
    return rng.randrange(70_000, 140_000)  # split into CONTINUATION_RECORDs


@pytest.mark.slow
def test_100k_rpcs_from_several_threads(gsp_boot: Callable[..., Booted]) -> None:
    b = gsp_boot("ad102", "570.144")
    abi, rpc = b.abi, b.rpc
    rpc.call(RmAlloc(C, C, C, 0, root_alloc_params(abi, C)))
    rpc.call(RmAlloc(C, C, D, 0x80, device_alloc_params(abi, h_client_share=C)))
    rpc.call(RmAlloc(C, D, S, 0x2080, subdevice_alloc_params(abi)))
    fn = abi.function("GSP_RM_CONTROL")
    head = abi.sizeof("rpc_gsp_rm_control_v")
    errors: list[BaseException] = []
    done = [0] * THREADS

    def worker(k: int) -> None:
        rng = random.Random(k)
        n = TOTAL // THREADS
        try:
            inflight = []
            for i in range(n):
                tag = struct.pack("<II", k, i)
                params = tag + rng.randbytes(_size(rng))
                payload = abi.pack("rpc_gsp_rm_control_v", hClient=C, hObject=S, cmd=0,
                                   paramsSize=len(params)) + params
                inflight.append((params, rpc.post(fn, payload, awaited=True)))
                if len(inflight) == WINDOW or i == n - 1:
                    for sent, pending in inflight:  # replies in the order sent, each its own
                        reply = rpc.wait(pending)
                        assert reply.result == 0 and reply.function == fn
                        assert reply.payload[head:] == sent, f"thread {k}: reply mismatch"
                        done[k] += 1
                    inflight.clear()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == []
    assert done == [TOTAL // THREADS] * THREADS
    assert b.gsp.handled["GSP_RM_CONTROL"] == TOTAL and rpc.sent == TOTAL + 5
    assert rpc.backlog() == [] and rpc.posted_failures == [] and b.gpu.log.errors() == []
