"""nova_core.fsp.boot: Hopper and Blackwell bring GSP-RM up through the FSP's chain of trust, stage by stage.

Where Turing to Ada run FWSEC and the SEC2 booter (:mod:`nova_core.falcon.chain`), Hopper and Blackwell hand the
FSP a signed GSP-FMC and let it start GSP-RM (OpenRM 570.144 ``kgspPrepareForBootstrap_GH100``/
``kgspBootstrap_GH100``, ``kfspPrepareBootCommands_GH100``/``kfspSendBootCommands_GH100``; nouveau
``gh100_gsp_oneinit``/``gh100_gsp_init``). The FSP's own boot was awaited in the ``gfw-boot`` stage
(:func:`nova_core.gpu.devinit.wait_gfw_boot`).

================  ==========================================================================================
stage             what happens
================  ==========================================================================================
``wpr-meta``      the GSP-RM image, its radix3 tree and the chip's signature, and the RISC-V bootloader (the
                  GSP-FMC layout: manifest, monitor data and code) go to DMA memory; ``GspFwWprMeta`` carries
                  their addresses and only the *sizes* of the FB regions: the FMC's ACR places them
``fmc-load``      the FMC ``image`` in DMA memory; ``GSP_FMC_BOOT_PARAMS`` (the WPR meta, the LibOS arguments);
                  the ``NVDM_PAYLOAD_COT`` built from the FMC's hash, public key and signature
``fsp-cot``       the COT message over RM's EMEM channel (MCTP/NVDM framing, :mod:`.channel`); the FSP's
                  ``FSP_RESPONSE`` must carry error code 0 (it then checks the FMC and starts it on the GSP)
``gsp-lockdown``  the GSP's registers read 0xBADF41xx while its PRIV target mask is the FSP's; then either the
                  RISC-V boot ROM's PRIV lockdown is released (HWCFG2.RISCV_BR_PRIV_LOCKDOWN 0) or the FMC puts
                  an error code in MAILBOX0 (nouveau ``gh100_gsp_lockdown_released``)
``gsp-active``    the GSP falcon's OS register gets the bootloader's ``appVersion``; its RISC-V core is active
================  ==========================================================================================

:func:`unload_fsp_chain` follows GSP-RM's unload (nouveau ``gh100_gsp_fini``, OpenRM ``kgspTeardown_GH100``): the
GSP's RISC-V core must halt (the FMC's ACR shuts down with it); there is no FWSEC-SB and no booter_unload.
Every failure is a :class:`~nova_core.falcon.chain.ChainError` naming the stage, the partial
:class:`FspChainResult` attached so its DMA memory can be freed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BootError, FalconError
from ..falcon.booter import start_gsp_rm
from ..falcon.chain import ChainError, GspLoad, Stage, StageRunner
from ..fb.layout import FbLayout
from ..fb.wpr_meta import write_wpr_meta
from ..firmware.discovery import FirmwareSet
from ..gpu.chips import BootPath, Chipset
from ..gpu.identify import Spec
from ..hw.clock import MS, SEC
from ..hw.device import Device
from ..hw.dma import DmaAllocator, DmaBuffer
from ..hw.events import Timeline
from ..hw.poll import poll_timeout
from ..regs.falcon import (
    FALCON,
    FALCON2,
    NV_PFALCON_FALCON_HWCFG2,
    NV_PFALCON_FALCON_HWCFG2_GH100,
    NV_PFALCON_FALCON_MAILBOX0,
    NV_PFALCON_FALCON_MAILBOX1,
    NV_PRISCV_RISCV_CPUCTL,
)
from . import facts as F
from .channel import FspChannel
from .cot import CommandResponse, CotPayload, build_cot, pack_fmc_boot_params, parse_response

FSP_LOAD_STAGES = ("wpr-meta", "fmc-load", "fsp-cot", "gsp-lockdown", "gsp-active")
FSP_UNLOAD_STAGES = ("gsp-halt",)

# TIMEOUT: nouveau gh100_gsp_init polls the lockdown release 4000 times 1-2 ms apart (OpenRM: the default GPU
# timeout); the FSP checks the FMC's signature and the FMC lays WPR2 out in that time. 4 s, polled every 1 ms.
LOCKDOWN_TIMEOUT = 4 * SEC
# TIMEOUT: nouveau gh100_gsp_fini polls RISCV_CPUCTL.HALTED 4000 times 1-2 ms apart after GSP-RM unloaded.
HALT_TIMEOUT = 4 * SEC
POLL_INTERVAL = 1 * MS
_PAGE = 0x1000


@dataclass
class FspChainResult(GspLoad):
    """What :func:`run_fsp_chain` did, and the DMA memory GSP-RM and the FMC now use (free it with :meth:`free`
    only once the GSP's RISC-V core has halted)."""

    fmc_buf: DmaBuffer | None = None
    boot_args_buf: DmaBuffer | None = None
    cot: CotPayload | None = None
    response: CommandResponse | None = None

    TITLE = "chain of trust (FSP)"

    @property
    def completed(self) -> bool:
        return len(self.stages) == len(FSP_LOAD_STAGES)

    def free(self, dma: DmaAllocator) -> None:
        """Free everything the chain allocated (idempotent)."""
        super().free(dma)
        for name in ("fmc_buf", "boot_args_buf"):
            buf = getattr(self, name)
            if buf is not None:
                dma.free(buf)
                setattr(self, name, None)

    def as_json(self) -> dict[str, Any]:
        return {**self._load_json(), "boot_path": BootPath.FSP.value, "completed": self.completed,
                "fmc_bus": None if self.fmc_buf is None else self.fmc_buf.bus_addr,
                "boot_args_bus": None if self.boot_args_buf is None else self.boot_args_buf.bus_addr,
                "cot": None if self.cot is None else self.cot.as_json(),
                "response": None if self.response is None else self.response.as_json()}


@dataclass
class FspUnloadResult:
    """What :func:`unload_fsp_chain` did."""

    chipset: Chipset
    stages: list[Stage] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"chipset": self.chipset.name, "stages": [s.as_json() for s in self.stages]}


def _chipset(spec: Spec | Chipset) -> Chipset:
    return spec.chipset if isinstance(spec, Spec) else spec


def _require_fsp(chipset: Chipset) -> None:
    if chipset.facts.boot_path is not BootPath.FSP:
        raise BootError(f"{chipset.name} ({chipset.architecture.family}) boots GSP-RM through FWSEC and the SEC2 "
                        f"booter, not through the FSP")


def _lockdown_state(dev: Device, boot_args_bus: int) -> tuple[str, int, int]:
    """``(state, MAILBOX0, HWCFG2)``: "locked-to-fsp", "locked", "released" or "fmc-error"."""
    bar, base = dev.bar0, FALCON.GSP
    mbox0 = NV_PFALCON_FALCON_MAILBOX0.read(bar, base=base)
    if mbox0 & F.PRIV_TARGET_LOCKED_MASK == F.PRIV_TARGET_LOCKED:
        return "locked-to-fsp", mbox0, 0
    if mbox0:
        mbox1 = NV_PFALCON_FALCON_MAILBOX1.read(bar, base=base)
        if (mbox1 << 32 | mbox0) != boot_args_bus:  # anything but the boot arguments' address is an FMC error
            return "fmc-error", mbox0, 0
    hwcfg2 = NV_PFALCON_FALCON_HWCFG2.read(bar, base=base)
    locked = NV_PFALCON_FALCON_HWCFG2_GH100.riscv_br_priv_lockdown.get(hwcfg2)  # FSP chips: GH100+
    return ("locked" if locked else "released"), mbox0, hwcfg2


def run_fsp_chain(dev: Device, spec: Spec | Chipset, fwset: FirmwareSet, layout: FbLayout, libos_args_bus: int, *,
                  until: str | None = None, timeline: Timeline | None = None) -> FspChainResult:
    """Bring GSP-RM's RISC-V core up through the FSP (see the module docstring).

    Args:
        dev: the device (its DMA allocator receives the firmware, the WPR meta, the FMC and its arguments).
        spec: the chip (Hopper or Blackwell).
        fwset: the firmware set (GSP image, RISC-V bootloader in the FMC layout, the GSP-FMC).
        layout: the FB layout (:func:`~nova_core.fb.read_fb_layout`: sizes for the ACR, the driver's prediction).
        libos_args_bus: bus address of the LibOS arguments page.
        until: stop after this stage (one of :data:`FSP_LOAD_STAGES`).
        timeline: where each stage is reported.

    Raises:
        ChainError: naming the stage that failed; ``.result`` holds what was done (free its memory).
        BootError: ``until`` names no stage of this path.
    """
    chipset = _chipset(spec)
    if until is not None and until not in FSP_LOAD_STAGES:
        raise BootError(f"no chain-of-trust stage {until!r}; stages: {', '.join(FSP_LOAD_STAGES)}")
    result = FspChainResult(chipset)
    run = StageRunner(dev, result, timeline)
    if dev.dma is None:
        raise ChainError(FSP_LOAD_STAGES[0], BootError("the device has no DMA allocator"), result)
    dma = dev.dma

    def meta() -> tuple[str, str]:
        _require_fsp(chipset)
        if fwset.fmc is None:
            raise BootError(f"{chipset.name}: the firmware set has no GSP-FMC (fmc-{fwset.version}.bin)")
        if not layout.acr_placed:
            raise BootError(f"{chipset.name}: the FB layout is not the FSP path's (GspFwWprMeta would carry offsets "
                            f"the ACR places itself)")
        result.gsp = g = fwset.prepare_gsp(dma)
        result.bootloader_buf = bl = fwset.bootloader.prepare(dma)
        result.wpr_meta = m = write_wpr_meta(dma, layout, g, fwset.bootloader, bl)
        return "done", (f"GspFwWprMeta ({m.version}, sizes only: the ACR places WPR2) at {m.bus_addr:#x}: radix3 "
                        f"level 0 {g.radix3_bus:#x} over {g.image_size:#x} bytes, {g.signature_section} at "
                        f"{g.signature_bus:#x}, GSP-FMC bootloader at {bl.bus_addr:#x}")

    def fmc_load() -> tuple[str, str]:
        fmc = fwset.fmc
        if fmc is None or result.wpr_meta is None:  # pragma: no cover - the wpr-meta stage checked and made them
            raise BootError("no GSP-FMC or WPR meta")
        image = fmc.image
        result.fmc_buf = buf = dma.alloc(-(-image.nbytes // _PAGE) * _PAGE, name="GSP-FMC image")
        buf.fill(0)
        buf.write(0, image)
        result.boot_args_buf = args = dma.alloc(_PAGE, name="GSP_FMC_BOOT_PARAMS")
        args.fill(0)
        args.write(0, pack_fmc_boot_params(wpr_meta_bus=result.wpr_meta.bus_addr,
                                           wpr_meta_size=len(result.wpr_meta.data), libos_args_bus=libos_args_bus))
        result.cot = cot = build_cot(chipset, fmc, buf.bus_addr, args.bus_addr)
        return "done", (f"GSP-FMC image ({image.nbytes:#x} bytes, {fmc.scheme}) at {buf.bus_addr:#x}; "
                        f"GSP_FMC_BOOT_PARAMS at {args.bus_addr:#x}; COT v{cot.version}, FRTS "
                        f"{cot.frts_vidmem_size >> 20} MiB ending {cot.frts_vidmem_offset:#x} before the end of FB")

    def cot() -> tuple[str, str]:
        if result.cot is None:  # pragma: no cover - the fmc-load stage built it
            raise BootError("no COT payload")
        channel = FspChannel(dev.bar0, dev.clock)
        packets = channel.send_message(result.cot.pack(), F.NvdmType.COT)
        nvdm_type, payload = channel.read_message()
        result.response = r = parse_response(nvdm_type, payload, F.NvdmType.COT)
        return "done", (f"NVDM COT ({F.NVDM_PAYLOAD_COT.size} bytes, {packets} MCTP packet(s)) over EMEM channel "
                        f"{channel.channel}; FSP_RESPONSE task {r.task_id:#x}, error code 0")

    def lockdown() -> tuple[str, str]:
        if result.boot_args_buf is None:  # pragma: no cover - the fmc-load stage made it
            raise BootError("no GSP-FMC boot arguments")
        args_bus = result.boot_args_buf.bus_addr
        seen_locked = [False]

        def state() -> tuple[str, int, int]:
            s = _lockdown_state(dev, args_bus)
            seen_locked[0] |= s[0] == "locked-to-fsp"
            return s

        st, mbox0, _ = poll_timeout(
            state, lambda s: s[0] in ("released", "fmc-error"), clock=dev.clock, timeout=LOCKDOWN_TIMEOUT,
            interval=POLL_INTERVAL,
            what="the GSP-FMC to release the GSP's PRIV lockdown (HWCFG2.RISCV_BR_PRIV_LOCKDOWN 0) or report an "
                 "error in MAILBOX0 ((state, MAILBOX0, HWCFG2) shown)")
        if st == "fmc-error":
            raise FalconError(f"GSP-FMC boot failed: GSP MAILBOX0 {mbox0:#010x} (the FMC's error code; 0 expected)")
        return "done", ("GSP PRIV target mask released by the FSP" if seen_locked[0] else "GSP registers readable")\
            + "; RISC-V boot ROM lockdown released by the GSP-FMC, MAILBOX0 0"

    def active() -> tuple[str, str]:
        start_gsp_rm(dev, chipset, fwset.bootloader.app_version)
        return "done", f"GSP OS register = appVersion {fwset.bootloader.app_version:#x}; GSP RISC-V core active"

    result.stopped_after = run.run_until(FSP_LOAD_STAGES, (meta, fmc_load, cot, lockdown, active), until)
    return result


def unload_fsp_chain(dev: Device, spec: Spec | Chipset, *, timeline: Timeline | None = None) -> FspUnloadResult:
    """After GSP-RM acknowledged the unload: wait for the GSP's RISC-V core to halt (the FMC's ACR shuts down).

    Raises:
        ChainError: naming the stage (``gsp-halt``: the core never halted).
    """
    chipset = _chipset(spec)
    result = FspUnloadResult(chipset)
    run = StageRunner(dev, result, timeline, "unload:")

    def halt() -> tuple[str, str]:
        _require_fsp(chipset)
        base2 = FALCON2.GSP
        poll_timeout(lambda: NV_PRISCV_RISCV_CPUCTL.read(dev.bar0, base=base2),
                     lambda v: bool(NV_PRISCV_RISCV_CPUCTL.halted.get(v)), clock=dev.clock, timeout=HALT_TIMEOUT,
                     interval=POLL_INTERVAL, what="the GSP's RISC-V core to halt after GSP-RM unloaded "
                                                  "(RISCV_CPUCTL.HALTED)")
        return "done", "GSP RISC-V core halted (GSP-RM and the GSP-FMC's ACR shut down)"

    run.stage("gsp-halt", halt)
    return result


__all__ = ["FSP_LOAD_STAGES", "FSP_UNLOAD_STAGES", "FspChainResult", "FspUnloadResult", "run_fsp_chain",
           "unload_fsp_chain"]
