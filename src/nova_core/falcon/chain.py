"""nova_core.falcon.chain: the secure boot chain of Turing, Ampere and Ada, stage by stage, and its teardown.

:func:`run_secure_chain` takes a GPU whose GFW boot has completed to "GSP-RM's RISC-V core is active",
as nouveau and nova-core do it (nvidia-facts §9 "Boot order"):

==============  ==========================================================================================
stage           what happens
==============  ==========================================================================================
``fwsec-frts``  WPR2 must not be set (else: a clear error, or with ``recover=True`` the unload sequence a
                second bring-up needs); FWSEC-FRTS carves WPR2 out at the layout's FRTS region. Skipped
                where the chip has no FRTS (GA100: booter_load sets WPR2 up itself)
``wpr-meta``    the GSP-RM image, its radix3 tree and the chip's signature, and the RISC-V bootloader go
                to DMA memory; ``GspFwWprMeta`` is filled from them and the FB layout
``gsp-reset``   the GSP falcon is reset into RISC-V mode with the LibOS arguments' address in MAILBOX0/1
``booter-load`` booter_load runs on SEC2 with the ``GspFwWprMeta`` address in its mailboxes
``gsp-active``  the GSP falcon's OS register gets the bootloader's ``appVersion``; its RISC-V core must
                report active
==============  ==========================================================================================

``until=<stage>`` stops after that stage (the CLI's ``nova boot --until booter`` maps onto it). Each
failure is a :class:`ChainError` naming the stage, with the cause chained and the partial
:class:`ChainResult` attached (so its DMA memory can be freed).

:func:`unload_secure_chain` is nouveau's ``tu102_gsp_fini`` after GSP-RM has been told to unload: reset the
GSP falcon, FWSEC-SB, booter_unload (when WPR2 is set), and WPR2_ADDR_HI must read 0 - so a second
bring-up of the same GPU works. Hopper and Blackwell boot through the FSP: both functions refuse them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import BootError, NovaError, did_you_mean
from ..fb.layout import FbLayout
from ..fb.wpr_meta import WprMeta, write_wpr_meta
from ..firmware.discovery import FirmwareSet, search_path
from ..firmware.gsp import PreparedGsp
from ..gpu.chips import Chipset
from ..gpu.identify import Spec
from ..hw.device import Device
from ..hw.dma import DmaAllocator, DmaBuffer
from ..hw.events import Timeline
from ..vbios import Vbios
from .booter import BooterRun, booter_load, booter_unload, prepare_gsp_riscv, start_gsp_rm
from .engines import gsp_falcon, require_sec2_boot_path
from .fwsec import FwsecRun, Wpr2, Wpr2Error, fwsec_frts, fwsec_sb, read_wpr2
from .genbl import GenericBootloader, find_generic_bootloader

LOAD_STAGES = ("fwsec-frts", "wpr-meta", "gsp-reset", "booter-load", "gsp-active")
UNLOAD_STAGES = ("gsp-reset", "fwsec-sb", "booter-unload", "wpr2-check")

class _Auto:
    def __repr__(self) -> str:
        return "AUTO"


#: ``fwsec_bootloader=AUTO``: look for the chip's generic bootloader in the firmware set's own roots (only
#: where the vBIOS's FWSEC needs one: a v2 descriptor); files from different trees are never mixed
AUTO: Any = _Auto()


@dataclass(frozen=True)
class Stage:
    """One stage as it ran: ``status`` "done" or "skipped", a one-line ``detail``, virtual/real time in ns."""

    name: str
    status: str
    detail: str
    start_ns: int
    end_ns: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class UnloadResult:
    """What :func:`unload_secure_chain` did."""

    chipset: Chipset
    stages: list[Stage] = field(default_factory=list)
    fwsec: FwsecRun | None = None
    booter: BooterRun | None = None
    wpr2: Wpr2 | None = None

    def as_json(self) -> dict[str, Any]:
        return {"chipset": self.chipset.name, "stages": [s.as_json() for s in self.stages],
                "fwsec": None if self.fwsec is None else self.fwsec.as_json(),
                "booter": None if self.booter is None else self.booter.as_json(),
                "wpr2": None if self.wpr2 is None else {"start": self.wpr2.start, "end": self.wpr2.end}}


@dataclass
class GspLoad:
    """What a boot chain puts in DMA memory for GSP-RM - the image with its radix3 tree and signature, the bootloader
    copy, the ``GspFwWprMeta`` - and the stages it ran. :class:`ChainResult` (SEC2 booter) and the FSP path's
    :class:`~nova_core.fsp.boot.FspChainResult` add their own parts."""

    chipset: Chipset
    stages: list[Stage] = field(default_factory=list)
    gsp: PreparedGsp | None = None
    bootloader_buf: DmaBuffer | None = None
    wpr_meta: WprMeta | None = None
    stopped_after: str | None = None  #: the ``until`` stage, when the chain stopped before the end

    TITLE = "secure chain"

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def free(self, dma: DmaAllocator) -> None:
        """Free the WPR meta, the prepared GSP image and the bootloader copy (idempotent)."""
        if self.wpr_meta is not None:
            self.wpr_meta.free(dma)
            self.wpr_meta = None
        if self.gsp is not None:
            self.gsp.free(dma)
            self.gsp = None
        if self.bootloader_buf is not None:
            dma.free(self.bootloader_buf)
            self.bootloader_buf = None

    def _load_json(self) -> dict[str, Any]:
        return {"chipset": self.chipset.name, "stopped_after": self.stopped_after,
                "stages": [s.as_json() for s in self.stages],
                "gsp": None if self.gsp is None else self.gsp.as_json(),
                "bootloader_bus": None if self.bootloader_buf is None else self.bootloader_buf.bus_addr,
                "wpr_meta": None if self.wpr_meta is None else self.wpr_meta.as_json()}

    def __str__(self) -> str:
        lines = [f"{self.chipset.name} {self.TITLE}"
                 + (f" (stopped after {self.stopped_after})" if self.stopped_after else "")]
        lines += [f"  {s.name:<14} {s.status:<8} {s.detail}" for s in self.stages]
        return "\n".join(lines)


@dataclass
class ChainResult(GspLoad):
    """What :func:`run_secure_chain` did, and the DMA memory GSP-RM now uses (free it with :meth:`free`
    only after GSP-RM has been unloaded)."""

    recovery: UnloadResult | None = None
    fwsec: FwsecRun | None = None
    booter: BooterRun | None = None

    @property
    def completed(self) -> bool:
        """Every stage ran (GSP-RM's RISC-V core is active)."""
        return len(self.stages) == len(LOAD_STAGES)

    def as_json(self) -> dict[str, Any]:
        return {**self._load_json(), "completed": self.completed,
                "recovery": None if self.recovery is None else self.recovery.as_json(),
                "fwsec": None if self.fwsec is None else self.fwsec.as_json(),
                "booter": None if self.booter is None else self.booter.as_json()}


class ChainRecord(Protocol):
    """What a chain run records as it goes (:class:`ChainResult`, :class:`UnloadResult`, the FSP path's results)."""

    chipset: Chipset
    stages: list[Stage]


class ChainError(BootError):
    """A stage of the secure chain failed.

    Attributes:
        stage: the stage's name.
        cause: the underlying error (also chained as ``__cause__``).
        result: what had been done up to the failure (a :class:`ChainResult` or :class:`UnloadResult`, or the FSP
            path's :class:`~nova_core.fsp.boot.FspChainResult`).
    """

    def __init__(self, stage: str, cause: NovaError, result: ChainRecord) -> None:
        super().__init__(f"{result.chipset.name} secure chain, stage {stage!r}: {cause}")
        self.stage = stage
        self.cause = cause
        self.result = result


def _chipset(spec: Spec | Chipset) -> Chipset:
    return spec.chipset if isinstance(spec, Spec) else spec


class StageRunner:
    """Runs the stages of a chain: each reported to the timeline, recorded, and its failure a :class:`ChainError`."""

    def __init__(self, dev: Device, result: ChainRecord, timeline: Timeline | None, prefix: str = "") -> None:
        self.prefix = prefix  #: timeline span names: "unload:gsp-reset" is not the load's "gsp-reset"
        self.dev = dev
        self.result = result
        self.timeline = timeline

    def stage(self, name: str, fn: Callable[[], tuple[str, str]]) -> None:
        """Run ``fn`` (-> (status, detail)) as stage ``name``; wrap its failure in a ChainError."""
        t0 = self.dev.clock.now()
        span = None if self.timeline is None else self.timeline.begin("stage", self.prefix + name)
        try:
            status, detail = fn()
        except NovaError as e:
            if span is not None and self.timeline is not None:
                self.timeline.end(span, ok=False, error=str(e))
            raise ChainError(name, e, self.result) from e
        if span is not None and self.timeline is not None:
            span.args.update(status=status, detail=detail)
            self.timeline.end(span)
        self.result.stages.append(Stage(name, status, detail, t0, self.dev.clock.now()))

    def run_until(self, names: tuple[str, ...], fns: Sequence[Callable[[], tuple[str, str]]],
                  until: str | None) -> str | None:
        """Run the stages in order, stopping after ``until``; returns ``until`` when that cut the chain short."""
        for name, fn in zip(names, fns, strict=True):
            self.stage(name, fn)
            if name == until and name != names[-1]:
                return name
        return None


def _resolve_bootloader(chipset: Chipset, vbios: Vbios, fwset: FirmwareSet | None,
                        given: GenericBootloader | _Auto | None) -> GenericBootloader | None:
    if not isinstance(given, _Auto):
        return given
    if vbios.fwsec is None or vbios.fwsec.desc.version != 2:
        return None
    roots = [f.root for f in fwset.files.values()] if fwset is not None else search_path()
    return find_generic_bootloader(chipset, None if fwset is None else fwset.version,
                                   roots=list(dict.fromkeys(roots)))


def _check_until(until: str | None, stages: Iterable[str]) -> None:
    names = list(stages)
    if until is not None and until not in names:
        raise BootError(f"no secure chain stage {until!r}{did_you_mean(until, names)}")


def unload_secure_chain(dev: Device, spec: Spec | Chipset, vbios: Vbios, fwset: FirmwareSet, *,
                        fwsec_bootloader: GenericBootloader | _Auto | None = AUTO,
                        timeline: Timeline | None = None) -> UnloadResult:
    """Stop GSP-RM's core and tear WPR2 down: reset GSP, FWSEC-SB, booter_unload, WPR2_ADDR_HI must be 0.

    Call it after GSP-RM acknowledged the unload RPC (the GSP layer's job); on a GPU left behind by a
    previous run it is the recovery :func:`run_secure_chain` performs with ``recover=True``.

    Raises:
        ChainError: naming the stage that failed (its cause chained).
    """
    chipset = _chipset(spec)
    result = UnloadResult(chipset)
    run = StageRunner(dev, result, timeline, "unload:")
    bootloader = _resolve_bootloader(chipset, vbios, fwset, fwsec_bootloader)

    def reset_gsp() -> tuple[str, str]:
        require_sec2_boot_path(chipset)
        gsp_falcon(dev, chipset).reset()
        return "done", "GSP falcon reset (GSP-RM's RISC-V core stopped)"

    def sb() -> tuple[str, str]:
        result.fwsec = r = fwsec_sb(dev, chipset, vbios, bootloader=bootloader)
        return "done", f"FWSEC-SB (descriptor v{r.desc_version}, {r.load} load), error code 0"

    def unload() -> tuple[str, str]:
        if fwset.booter_unload is None:
            raise BootError(f"{chipset.name}: the firmware set has no booter_unload")
        result.booter = r = booter_unload(dev, chipset, fwset.booter_unload)
        if r is None:
            return "skipped", "WPR2 not set: nothing for booter_unload to tear down"
        return "done", f"booter_unload on SEC2 ({r.load}, signature {r.signature_index}), MAILBOX0 0"

    def check() -> tuple[str, str]:
        result.wpr2 = w = read_wpr2(dev.bar0)
        if w.is_set:
            raise Wpr2Error(f"WPR2 is still set {w} after the unload sequence (WPR2_ADDR_HI {w.hi:#010x})",
                            w.start, w.end)
        return "done", "WPR2_ADDR_HI reads 0: a new bring-up can run FWSEC-FRTS"

    run.run_until(UNLOAD_STAGES, (reset_gsp, sb, unload, check), None)
    return result


def run_secure_chain(dev: Device, spec: Spec | Chipset, vbios: Vbios, fwset: FirmwareSet, layout: FbLayout,
                     libos_args_bus: int, *, until: str | None = None, recover: bool = False,
                     fwsec_bootloader: GenericBootloader | _Auto | None = AUTO,
                     timeline: Timeline | None = None) -> ChainResult:
    """Bring GSP-RM's RISC-V core up through FWSEC-FRTS and booter_load (see the module docstring).

    Args:
        dev: the device (its DMA allocator receives the firmware, radix3 tree and WPR meta).
        spec: the chip.
        vbios: the parsed vBIOS (FWSEC comes from it).
        fwset: the firmware set (GSP image, RISC-V bootloader, booters).
        layout: the FB layout computed for this firmware (:func:`~nova_core.fb.read_fb_layout`).
        libos_args_bus: bus address of the LibOS arguments page (the GSP layer builds it).
        until: stop after this stage (one of :data:`LOAD_STAGES`).
        recover: if WPR2 is already set, run :func:`unload_secure_chain` first instead of failing.
        fwsec_bootloader: the generic bootloader for a v2 FWSEC (default: found in ``fwset``'s roots).
        timeline: where each stage is reported as it begins and ends (progress displays, traces).

    Raises:
        ChainError: naming the stage that failed; ``.result`` holds what was done (free its memory).
        BootError: ``until`` names no stage.
    """
    chipset = _chipset(spec)
    _check_until(until, LOAD_STAGES)
    result = ChainResult(chipset)
    run = StageRunner(dev, result, timeline)
    if dev.dma is None:
        raise ChainError(LOAD_STAGES[0], BootError("the device has no DMA allocator"), result)
    dma = dev.dma

    def frts() -> tuple[str, str]:
        require_sec2_boot_path(chipset)
        w = read_wpr2(dev.bar0)
        recovered = ""
        if w.is_set:
            if not recover:
                raise Wpr2Error(f"WPR2 is already set {w} (WPR2_ADDR_LO {w.lo:#010x}, HI {w.hi:#010x}): a previous "
                                f"GSP-RM was not unloaded; reset the GPU, or run the unload sequence "
                                f"(recover=True: FWSEC-SB + booter_unload)", w.start, w.end)
            try:
                result.recovery = unload_secure_chain(dev, chipset, vbios, fwset, fwsec_bootloader=fwsec_bootloader)
            except ChainError as e:
                raise Wpr2Error(f"WPR2 was set {w}; the recovery failed at {e.stage!r}: {e.cause}",
                                w.start, w.end) from e
            recovered = f"recovered WPR2 {w} (FWSEC-SB + booter_unload); "
        if layout.frts.size == 0:
            return "skipped", recovered + f"{chipset.name} has no FRTS region (booter_load sets WPR2 up)"
        bootloader = _resolve_bootloader(chipset, vbios, fwset, fwsec_bootloader)
        result.fwsec = r = fwsec_frts(dev, chipset, vbios, layout, bootloader=bootloader)
        return "done", recovered + f"FWSEC-FRTS (descriptor v{r.desc_version}, {r.load} load): WPR2 {r.wpr2}"

    def meta() -> tuple[str, str]:
        result.gsp = g = fwset.prepare_gsp(dma)
        result.bootloader_buf = bl = fwset.bootloader.prepare(dma)
        result.wpr_meta = m = write_wpr_meta(dma, layout, g, fwset.bootloader, bl)
        return "done", (f"GspFwWprMeta ({m.version}) at {m.bus_addr:#x}: radix3 level 0 {g.radix3_bus:#x} over "
                        f"{g.image_size:#x} bytes, {g.signature_section} at {g.signature_bus:#x}, bootloader at "
                        f"{bl.bus_addr:#x}")

    def gsp_reset() -> tuple[str, str]:
        prepare_gsp_riscv(dev, chipset, libos_args_bus)
        return "done", f"GSP falcon reset into RISC-V mode, MAILBOX0/1 = LibOS arguments at {libos_args_bus:#x}"

    def booter() -> tuple[str, str]:
        if fwset.booter_load is None:
            raise BootError(f"{chipset.name}: the firmware set has no booter_load")
        if result.wpr_meta is None:  # pragma: no cover - the wpr-meta stage runs first
            raise BootError("no GspFwWprMeta was written")
        result.booter = r = booter_load(dev, chipset, fwset.booter_load, result.wpr_meta.bus_addr)
        return "done", (f"booter_load on SEC2 ({r.load}, signature {r.signature_index} for fused version "
                        f"{r.fused_version}), MAILBOX0 0; WPR2 {r.wpr2}")

    def active() -> tuple[str, str]:
        start_gsp_rm(dev, chipset, fwset.bootloader.app_version)
        return "done", f"GSP OS register = appVersion {fwset.bootloader.app_version:#x}; GSP RISC-V core active"

    result.stopped_after = run.run_until(LOAD_STAGES, (frts, meta, gsp_reset, booter, active), until)
    return result
