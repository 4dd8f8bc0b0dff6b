"""nova_core.regs.ptimer: PTIMER, the GPU's free-running nanosecond timer.

Source: open-gpu-kernel-modules ``published/volta/gv100/dev_timer.h`` (NV_PTIMER_TIME_0 0x9400,
NV_PTIMER_TIME_1 0x9410); the Turing header lists only the interrupt registers, the same offsets are
used by OpenRM and nouveau on Turing and later. Read TIME_1, TIME_0, TIME_1 and retry if the high word
moved (see :func:`nova_core.gpu.timer.read_gpu_time`).
"""

from __future__ import annotations

from .core import RO, Field, Register


class NV_PTIMER_TIME_0(Register, offset=0x009400):
    """Low 32 bits of the GPU time in nanoseconds (bits 4:0 read as zero on hardware)."""

    nsec = Field(31, 0, RO)


class NV_PTIMER_TIME_1(Register, offset=0x009410):
    """High 32 bits of the GPU time in nanoseconds (bits 31:29 are zero on hardware)."""

    nsec = Field(31, 0, RO)
