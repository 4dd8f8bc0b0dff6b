"""nova_core.sim.models.gfw: GFW (devinit) boot progress, for a GPU that is still coming out of reset.

A fresh ``SimGpu`` has finished its GFW boot (AON scratch group 05 entry 0 progress 0xFF, level-0 reads
enabled). :meth:`GfwBootModel.cold_boot` turns it into a GPU whose vBIOS code is still running: the
priv level mask still protects scratch group 05 (FWSEC lowers READ_PROTECTION_LEVEL0 when it is done),
and the progress byte climbs over virtual time until it reaches 0xFF (``NV_PGC6_AON_SECURE_SCRATCH_
GROUP_05_0_GFW_BOOT_PROGRESS_COMPLETED``), or stalls (``never_completes``). While the mask protects it,
a read of the progress register returns a PRI error; such reads are counted in
:attr:`GfwBootModel.premature_reads` and logged, since a driver must check the mask first (nova-core
``wait_gfw_boot_completion``).

Nothing is hooked until ``cold_boot`` is called, so attaching the model costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...hw.clock import MS
from ...regs.gc6 import (
    GFW_BOOT_PROGRESS_COMPLETED,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK,
)
from ..regfile import PRI_ERROR

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "gfw"
ORDER = 30

COLD_BOOT_NS = 300 * MS  #: default GFW boot duration after power-on (virtual time)
STALLED_PROGRESS = 0x7F  #: where a boot that never completes stops


class GfwBootModel:
    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.premature_reads = 0
        self.completed_at: int | None = None
        self._hooked = False
        self._mask = NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.addr()
        self._progress = NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.addr(i=0)

    def cold_boot(self, *, duration_ns: int = COLD_BOOT_NS, steps: int = 8, never_completes: bool = False) -> None:
        """Restart the GFW boot now: progress 0, mask protecting; 0xFF and mask lowered after ``duration_ns``.

        ``never_completes``: a hardware condition, persistent until the next ``cold_boot`` (GSP-RM restarts do not
        end it)."""
        bar, clock = self.gpu.bar0, self.gpu.clock
        bar.poke(self._mask, 0)
        bar.poke(self._progress, 0)
        self.completed_at = None
        if not self._hooked:
            bar.on_read(self._progress, self._read_progress)
            self._hooked = True
        start = clock.now()
        steps = max(steps, 1)
        for k in range(1, steps):
            value = k * GFW_BOOT_PROGRESS_COMPLETED // steps
            if never_completes:
                value = min(value, STALLED_PROGRESS)
            clock.call_at(start + duration_ns * k // steps, self._setter(value))
        if never_completes:
            self.gpu.log.warning("gfw", "GFW boot restarted; it will never complete (fault injected)")
            return
        clock.call_at(start + duration_ns, self._complete)
        self.gpu.log.info("gfw", f"GFW boot restarted; completes after {duration_ns / MS:g} ms")

    def _setter(self, value: int) -> Callable[[], None]:
        def set_progress() -> None:
            self.gpu.bar0.poke(self._progress, value)

        return set_progress

    def _complete(self) -> None:
        bar = self.gpu.bar0
        bar.poke(self._progress, NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.encode(
            gfw_boot_progress=GFW_BOOT_PROGRESS_COMPLETED))
        bar.poke(self._mask, NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.encode(read_protection_level0=1))
        self.completed_at = self.gpu.clock.now()
        self.gpu.log.info("gfw", "GFW boot completed: progress 0xFF, level-0 reads of scratch group 05 enabled")

    def _read_progress(self, off: int) -> int:
        bar = self.gpu.bar0
        if NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.read_protection_level0.is_set(bar.peek(self._mask)):
            return bar.peek(off)
        self.premature_reads += 1
        self.gpu.log.warning("gfw", f"read of GFW_BOOT progress ({off:#x}) while its priv level mask does not allow "
                                    f"level-0 reads: returns {PRI_ERROR:#x}")
        return PRI_ERROR


def attach(gpu: SimGpu) -> GfwBootModel:
    return GfwBootModel(gpu)
