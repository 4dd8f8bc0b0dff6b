"""nova_core.regs.ptimer: PTIMER, the GPU's free-running nanosecond timer.

Source: open-gpu-kernel-modules 570.144 ``published/volta/gv100/dev_timer.h`` (NV_PTIMER_TIME_0 0x9400,
NV_PTIMER_TIME_1 0x9410, both RW) and ``published/maxwell/gm107/dev_timer.h`` (TIME_0_NSEC 31:5, TIME_1_NSEC 28:0,
RW) - the headers OpenRM reads and sets the timer with on Turing to Ada (``tmrGetTimeEx_GM107``,
``tmrSetCurrentTime_GV100`` writes TIME_1 then TIME_0); Hopper's ``published/hopper/gh100/dev_timer.h`` makes
TIME_0_NSEC read-only. The time is 61 bits of nanoseconds with a 32 ns resolution: TIME_0 bits 4:0 and TIME_1 bits
31:29 read as zero. Read TIME_1, TIME_0, TIME_1 and retry if the high word moved (see
:func:`nova_core.gpu.timer.read_gpu_time`).
"""

from __future__ import annotations

from .core import RO, Field, Register

#: TIME_0 holds nanoseconds 31:5 in place: the timer counts in units of 32 ns.
TIME_0_RESOLUTION_NS = 32


class NV_PTIMER_TIME_0(Register, offset=0x009400):
    """Low word of the GPU time in nanoseconds (bits 31:5 in place; 4:0 read as zero)."""

    nsec = Field(31, 5)


class NV_PTIMER_TIME_0_GH100(NV_PTIMER_TIME_0, chips="GH100+"):
    """Hopper and later: read-only (``hopper/gh100/dev_timer.h``)."""

    nsec = Field(31, 5, RO)


class NV_PTIMER_TIME_1(Register, offset=0x009410):
    """High word of the GPU time in nanoseconds (bits 60:32 of the time; 31:29 read as zero)."""

    nsec = Field(28, 0)
