"""nova_core.gpu.timer: the GPU's nanosecond timer (PTIMER), read consistently.

TIME_0 and TIME_1 are two 32-bit halves of a 64-bit counter that keeps running between the two reads,
so the high word is read before and after the low word and the read is retried when it moved (the
low word wrapped in between), as OpenRM and nouveau do.
"""

from __future__ import annotations

from ..errors import DeviceError, DeviceLost
from ..hw.bar import Bar
from ..regs.ptimer import NV_PTIMER_TIME_0, NV_PTIMER_TIME_1

#: A consistent read needs at most two tries unless the timer is broken; allow a few more.
MAX_TRIES = 8


def read_gpu_time(bar: Bar) -> int:
    """GPU time in nanoseconds (hi-lo-hi read with bounded retry).

    Raises:
        DeviceLost: the timer reads all ones (the device does not answer).
        DeviceError: the high word changed on every one of ``MAX_TRIES`` attempts.
    """
    hi = NV_PTIMER_TIME_1.read(bar)
    for _ in range(MAX_TRIES):
        lo = NV_PTIMER_TIME_0.read(bar)
        hi2 = NV_PTIMER_TIME_1.read(bar)
        if hi2 == hi:
            if hi == 0xFFFFFFFF and lo == 0xFFFFFFFF:
                raise DeviceLost("PTIMER reads 0xffffffff_ffffffff: the GPU does not answer")
            return (hi << 32) | lo
        hi = hi2
    raise DeviceError(f"PTIMER high word changed on each of {MAX_TRIES} reads (last TIME_1 {hi:#x})")
