"""nova_core.falcon.booter: the SEC2 half of the secure chain - booter_load starts GSP-RM, booter_unload stops it.

Bring-up (nouveau ``tu102_gsp_oneinit``/``tu102_gsp_init``/``r535_gsp_init``, nova-core ``gsp/boot.rs``,
OpenRM ``kgspBootstrap_TU102``; facts: nvidia-facts §9):

1. :func:`prepare_gsp_riscv`: reset the GSP falcon into RISC-V mode (GA102+: RISCV_BCR_CTRL selects the
   RISC-V core and boot ROM fetch; Turing/GA100: the reset alone - the booter switches the core) and put
   the LibOS arguments' bus address in its MAILBOX0 (low) / MAILBOX1 (high);
2. :func:`booter_load`: reset SEC2, load ``booter_load`` with the signature for SEC2's fused version (the
   fuse array of the booter's engine-id mask; 0 on Turing/GA100), MAILBOX0/1 = the ``GspFwWprMeta`` bus
   address, start, wait for the halt; MAILBOX0 must read 0 - anything else is the booter's error code;
3. :func:`start_gsp_rm`: the GSP falcon's OS register = the RISC-V bootloader's ``appVersion``, then wait
   for the GSP's RISC-V core to report active (5 s).

Unload (nouveau ``tu102_gsp_fini``): the GSP falcon is reset and FWSEC-SB runs (:mod:`.fwsec`), then
:func:`booter_unload` - skipped when WPR2 is not set, as nouveau skips it - runs ``booter_unload`` with
mailboxes 0xff/0xff and requires WPR2_ADDR_HI to read 0 after it: a WPR2 left behind makes the next
bring-up fail (nova-core's known failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FalconError
from ..firmware.booter import BooterFirmware
from ..gpu.chips import Chipset
from ..hw.device import Device
from ..regs.falcon import CoreSelect
from .engine import RISCV_ACTIVE_TIMEOUT, Falcon
from .engines import gsp_falcon, sec2_falcon
from .facts import BOOTER_UNLOAD_MAILBOX
from .fwsec import Wpr2, Wpr2Error, read_wpr2
from .ucode import FalconUcode


@dataclass(frozen=True)
class BooterRun:
    """What one booter run did."""

    kind: str  #: "booter_load" / "booter_unload"
    source: str  #: the firmware file
    load: str  #: "pio" (TU102 HAL) / "dma" (GA102+)
    fused_version: int
    signature_index: int
    mailbox_in: tuple[int, int]
    mailbox_out: tuple[int, int]
    wpr2: Wpr2  #: after the run

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "load": self.load, "fused_version": self.fused_version,
                "signature_index": self.signature_index, "mailbox_in": list(self.mailbox_in),
                "mailbox_out": list(self.mailbox_out), "wpr2": {"start": self.wpr2.start, "end": self.wpr2.end}}


def _split(addr: int, what: str) -> tuple[int, int]:
    if not isinstance(addr, int) or not 0 < addr < 1 << 64:
        raise FalconError(f"{what} {addr!r} is not a 64-bit bus address")
    return addr & 0xFFFFFFFF, addr >> 32


def run_booter(sec2: Falcon, booter: BooterFirmware, kind: str, mbox0: int, mbox1: int) -> BooterRun:
    """Reset SEC2, load ``booter`` signed for SEC2's fused version, run it with the mailboxes; MAILBOX0 must be 0.

    Raises:
        FirmwareError: no signature for the fused version.
        FalconError: the booter halted with a non-zero MAILBOX0 (its error code, in hex).
        PollTimeout: SEC2 never halted.
    """
    meta = booter.meta
    sec2.reset()
    fused = sec2.fuse_version(meta.engine_id_mask, meta.ucode_id)
    layout = booter.load_layout(sec2.hal.kind, fused)
    sec2.load(FalconUcode.from_layout(layout, kind))
    m0, m1 = sec2.boot(mbox0, mbox1)
    if m0 != 0:
        raise FalconError(f"{sec2.name}: {kind} ({booter.source}) failed: MAILBOX0 {m0:#010x}, MAILBOX1 {m1:#010x} "
                          f"(the booter's error code; 0 means success); it ran with MAILBOX0/1 {mbox0:#010x}/"
                          f"{mbox1:#010x}, signature {layout.signature_index} for fused version {fused}")
    return BooterRun(kind, booter.source, sec2.hal.load_method.value, fused, layout.signature_index, (mbox0, mbox1),
                     (m0, m1), read_wpr2(sec2.bar))


def prepare_gsp_riscv(dev: Device, chipset: Chipset, libos_args_bus: int) -> Falcon:
    """Reset the GSP falcon into RISC-V mode and give it the LibOS arguments' address (MAILBOX0 low, MAILBOX1 high)."""
    lo, hi = _split(libos_args_bus, "LibOS arguments address")
    gsp = gsp_falcon(dev, chipset)
    gsp.reset(core=CoreSelect.RISCV)
    gsp.write_mailboxes(lo, hi)
    return gsp


def booter_load(dev: Device, chipset: Chipset, booter: BooterFirmware, wpr_meta_bus: int) -> BooterRun:
    """Run ``booter_load`` on SEC2 with the ``GspFwWprMeta`` address in its mailboxes.

    Raises:
        FalconError: the chip boots through the FSP (Hopper, Blackwell), or the booter failed.
        FirmwareError / PollTimeout: see :func:`run_booter`.
    """
    lo, hi = _split(wpr_meta_bus, "GspFwWprMeta address")
    return run_booter(sec2_falcon(dev, chipset), booter, "booter_load", lo, hi)


def start_gsp_rm(dev: Device, chipset: Chipset, app_version: int, *, timeout: int = RISCV_ACTIVE_TIMEOUT) -> None:
    """Write the bootloader's ``appVersion`` to the GSP falcon's OS register and wait for its RISC-V core.

    Raises:
        PollTimeout: the RISC-V core did not report active (naming the GSP and the status register).
    """
    gsp = gsp_falcon(dev, chipset)
    gsp.write_os_version(app_version)
    gsp.wait_riscv_active(timeout)


def booter_unload(dev: Device, chipset: Chipset, booter: BooterFirmware) -> BooterRun | None:
    """Run ``booter_unload`` (mailboxes 0xff/0xff) and require WPR2 gone; ``None`` when WPR2 was not set.

    Raises:
        Wpr2Error: WPR2 is still set after a successful run.
        FalconError / FirmwareError / PollTimeout: see :func:`run_booter`.
    """
    sec2 = sec2_falcon(dev, chipset)
    if not read_wpr2(dev.bar0).is_set:
        return None
    run = run_booter(sec2, booter, "booter_unload", BOOTER_UNLOAD_MAILBOX, BOOTER_UNLOAD_MAILBOX)
    if run.wpr2.is_set:
        raise Wpr2Error(f"{sec2.name}: booter_unload succeeded but WPR2 is still set {run.wpr2} (WPR2_ADDR_HI "
                        f"{run.wpr2.hi:#010x}); the next bring-up would fail until the GPU is reset",
                        run.wpr2.start, run.wpr2.end)
    return run
