"""nova_core.gpu.devinit: wait for the GPU's own firmware (GFW, "devinit") to finish, then size VRAM.

After reset the vBIOS code runs on the GPU's microcontrollers (the devinit script on the PMU, FWSEC on
the GSP: memory controller timings, clocks, power); most of the GPU is unusable until it reports
completion in the always-on scratch registers. Sequence (nova-core ``gpu/hal/tu102.rs``
``wait_gfw_boot_completion``; nvidia-facts §9):

1. poll, every 1 ms for at most 4 s: NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.
   READ_PROTECTION_LEVEL0 set (FWSEC lowered the protection, so the CPU may read the group) *and only
   then* NV_PGC6_AON_SECURE_SCRATCH_GROUP_05(0).GFW_BOOT_PROGRESS == 0xFF;
2. the VRAM size from the register the chip family publishes it in (:func:`~nova_core.gpu.vram.vram_size`).

Hopper and Blackwell boot through the FSP: the boot FSM starts it out of reset and it writes 0xFF to
``NV_THERM_I2CS_SCRATCH`` (at 0xAD00BC on GB20x) once its secure boot - FBFalcon training
included - is done; :func:`wait_gfw_boot` polls that instead (OpenRM ``kgspWaitForGfwBootOk_GH100`` ->
``kfspWaitForSecureBoot_GH100/GB100/GB202``: 4 s, 5 s on GB20x; nouveau ``gh100_fsp_wait_secure_boot``). On
GB100/GB102 the FSP's fuse error check must then read success (``NV_PFSP_FUSE_ERROR_CHECK`` 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BootError
from ..hw.bar import Bar
from ..hw.clock import MS, SEC, Clock
from ..hw.poll import poll_timeout
from ..regs.fsp import FSP_FUSE_ERROR_CHECK_INDEX, FSP_FUSE_ERROR_CHECK_SUCCESS, NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3
from ..regs.gc6 import (
    GFW_BOOT_PROGRESS_COMPLETED,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK,
)
from ..regs.therm import FSP_BOOT_COMPLETE_SUCCESS
from .chips import BootPath
from .identify import Spec, identify
from .vram import vram_size

# TIMEOUT: nova-core wait_gfw_boot_completion: "arbitrarily large"; GFW starts right after reset and
# completes well within 4 s. Polled every 1 ms.
GFW_BOOT_TIMEOUT = 4 * SEC
GFW_BOOT_INTERVAL = 1 * MS

_MASK = NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK
_PROGRESS = NV_PGC6_AON_SECURE_SCRATCH_GROUP_05


@dataclass(frozen=True)
class DevinitResult:
    """What devinit established: the chip, whether the GFW wait applied, and the VRAM size."""

    spec: Spec
    gfw_waited: bool
    vram_size: int


def gfw_boot_state(bar: Bar) -> tuple[bool, int | None]:
    """``(completed, progress)``: progress is ``None`` while the priv level mask forbids level-0 reads.

    The progress register is read only after the mask says it may be (a protected read returns a PRI
    error, not a progress value).
    """
    if not _MASK.read_protection_level0.is_set(_MASK.read(bar)):
        return False, None
    progress = _PROGRESS.gfw_boot_progress.get(_PROGRESS.read(bar, i=0))
    return progress == GFW_BOOT_PROGRESS_COMPLETED, progress


def wait_fsp_boot(bar: Bar, clock: Clock, spec: Spec) -> None:
    """Hopper/Blackwell: wait for the FSP's secure boot (0xFF in the chip's I2CS scratch), then its fuse check.

    Raises:
        PollTimeout: the FSP did not report completion within the chip's timeout (the last value is reported).
        BootError: GB10x: the FSP reports a fuse error.
    """
    f = spec.facts
    reg = f.fsp_boot_scratch
    if reg is None:  # pragma: no cover - FSP chips have one (the chip facts table)
        raise BootError(f"{spec.chipset.name} has no FSP boot scratch register")
    # TIMEOUT: OpenRM kfspWaitForSecureBoot: 4 s (FBFalcon training alone takes 2-3 s on HBM3), 5 s on GB20x.
    reg.wait(bar, clock, timeout=f.fsp_boot_timeout_ms * MS, interval=GFW_BOOT_INTERVAL,
             fsp_boot_complete_status=FSP_BOOT_COMPLETE_SUCCESS,
             what=f"{spec.chipset.name} FSP secure boot complete ({reg.NAME} at {reg.addr():#x} = "
                  f"{FSP_BOOT_COMPLETE_SUCCESS:#x})")
    if f.fsp_fuse_error_check:
        status = NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3.read(bar, i=FSP_FUSE_ERROR_CHECK_INDEX)
        if status != FSP_FUSE_ERROR_CHECK_SUCCESS:
            raise BootError(f"{spec.chipset.name}: the FSP's fuse error check failed: NV_PFSP_FUSE_ERROR_CHECK "
                            f"(NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3({FSP_FUSE_ERROR_CHECK_INDEX})) reads {status:#x}, "
                            f"expected {FSP_FUSE_ERROR_CHECK_SUCCESS:#x}")


def wait_gfw_boot(bar: Bar, clock: Clock, spec: Spec, *, timeout: int = GFW_BOOT_TIMEOUT) -> bool:
    """Wait for GFW boot completion - on the FSP boot path, for the FSP's secure boot (:func:`wait_fsp_boot`);
    returns True when a wait applied.

    Raises:
        PollTimeout: the GFW boot did not complete within ``timeout`` (the last progress value is reported).
    """
    if spec.facts.boot_path is BootPath.FSP:
        wait_fsp_boot(bar, clock, spec)
        return True
    poll_timeout(lambda: gfw_boot_state(bar), lambda s: s[0], clock=clock, timeout=timeout, interval=GFW_BOOT_INTERVAL,
                 what=f"{spec.chipset.name} GFW boot to complete (AON scratch group 05 readable at level 0 and "
                      f"GFW_BOOT progress {GFW_BOOT_PROGRESS_COMPLETED:#x}; (done, progress) shown)")
    return True


def devinit(bar: Bar, clock: Clock, spec: Spec | None = None) -> DevinitResult:
    """Identify the chip (unless given), wait for GFW boot, read the VRAM size.

    Raises:
        PollTimeout: GFW boot did not complete.
        DeviceError: the VRAM size register reads no usable size.
    """
    spec = identify(bar) if spec is None else spec
    waited = wait_gfw_boot(bar, clock, spec)
    return DevinitResult(spec, waited, vram_size(bar, spec))
