"""nova_core.gsp.boot: bring GSP-RM up on a GPU with a GSP (Turing to Blackwell), use it, and shut it down again.

:func:`boot` is the whole bring-up, one stage after the other, as nouveau (``r535_gsp_oneinit``/``_init``,
``tu102_gsp_init``), nova-core (``gsp/boot.rs``) and OpenRM (``kgspBootstrap_TU102``) do it (reference §9):

================  =====================================================================================
stage             what happens
================  =====================================================================================
``identify``      PMC_BOOT_0/BOOT_42: the chip and its revision (pre-Turing and unknown chips refused)
``gfw-boot``      wait for the GPU's own firmware (GFW/devinit) to finish; the VRAM size
``sysmem-flush``  a DMA page in NV_PFB_NISO_FLUSH_SYSMEM_ADDR(_HI) - from Hopper on the FB hub's PCIE flush
                  registers -: falcon resets flush through it, so it comes before any (nova-core ``SysmemFlush``;
                  :mod:`nova_core.fb.sysmem_flush`)
``vbios``         the vBIOS through the PROM window: BIT, falcon ucode table, FWSEC
``firmware``      the GSP-RM image, RISC-V bootloader and booters for this chip, found and parsed
``fb-layout``     the framebuffer layout top-down: VGA workspace, FRTS, bootloader, image, heap, WPR2
``libos``         message queues, the LOGINIT/LOGINTR/LOGRM rings and RMARGS in DMA memory, the libos page
``boot-rpcs``     SET_SYSTEM_INFO and SET_REGISTRY queued: GSP-RM reads them first when it starts
``fwsec-frts``    FWSEC-FRTS on the GSP falcon carves WPR2 out (:mod:`nova_core.falcon.chain`, to
``wpr-meta``      ``gsp-active``): the image, its radix3 tree, signature and bootloader in DMA memory,
``gsp-reset``     GspFwWprMeta; the GSP falcon reset into RISC-V mode with the libos page in MAILBOX0/1;
``booter-load``   booter_load on SEC2 with the WPR meta address; the GSP RISC-V core must come up
``gsp-active``
(FSP chips)       Hopper and Blackwell take the chain of trust instead (:mod:`nova_core.fsp.boot`): ``wpr-meta``
``fmc-load``      (sizes only: the GSP-FMC's ACR places WPR2), the FMC image and its boot arguments, the COT
``fsp-cot``       message to the FSP over EMEM and its response, the GSP's PRIV lockdown released by the FMC,
``gsp-lockdown``  ``gsp-active``; the ``gfw-boot`` stage waits for the FSP's own secure boot there
``sequencer``     GSP-RM's RUN_CPU_SEQUENCER, executed by the CPU (:mod:`.sequencer`)
``init-done``     GSP_INIT_DONE: GSP-RM is ready for RPCs
``static-info``   GET_GSP_STATIC_INFO: board name, FB regions, RM's own handles, BAR page-directory bases
``interrupts``    the kernel interrupt table from GSP-RM; the device's interrupts (MSI-X, MSI, INTx, or polling
                  where none can be had: :func:`nova_core.irq.open_irq`) serve the VFN tree; the GSP's vector
                  wakes the RPC waiters from here on (:mod:`.intr`); engines' non-stall listeners
``client``        a root client (NV01_ROOT), the device (NV01_DEVICE_0) and subdevice (NV20_SUBDEVICE_0)
``vram``          the VRAM allocator over the FB regions static info reports neither reserved nor protected
                  (nouveau ``r535_gsp_get_static_info``/``r535_fb_ram_new``): everything else is GSP-RM's
``bar-pde``       BAR2 is GSP-RM's (OpenRM ``kbusPatchBar2Pdb_GSPCLIENT``; the driver never writes the BAR2
                  block register): the driver's tables for the lower half of the aperture (nouveau
                  ``bar2_halve``), their root's entry 0 - the PDE of the level below the root, OpenRM's PDE3[0] -
                  merged by UPDATE_BAR_PDE (nouveau ``r535_bar_bar2_update_pde``), then BAR2 checked against the
                  BAR0 window (OpenRM ``kbusVerifyBar2_GM107``). BAR1 reuses GSP-RM's root table ``bar1PdeBase``
                  (nouveau ``r535_bar_bar1_init``; no UPDATE_BAR_PDE for BAR1: no NVIDIA client sends one)
``engines``       the engines and runlists (NV2080_CTRL_CMD_FIFO_GET_DEVICE_INFO_TABLE): the FIFO that opens
                  channels (:mod:`nova_core.engines.fifo`, ``GspDevice.channels``)
================  =====================================================================================

The result is a :class:`GspDevice` (a context manager). :meth:`GspDevice.close` shuts down in the order
nouveau uses (``r535_bar_bar2_fini`` before ``r535_gsp_fini``): the channels closed, a zero BAR2 entry sent with
UPDATE_BAR_PDE, the client freed, UNLOADING_GUEST_DRIVER and the wait for GSP MAILBOX0 to read 0x80000000, then
:func:`~nova_core.falcon.chain.unload_secure_chain` (GSP reset, FWSEC-SB, booter_unload, WPR2 must read 0; on
Hopper/Blackwell :func:`~nova_core.fsp.boot.unload_fsp_chain`: the GSP's RISC-V core halts as the GSP-FMC's ACR shuts
down), the DMA memory freed and the sysmem flush page released - so the next :func:`boot` of the same GPU works. The
interrupts are released once GSP-RM has unloaded (before the secure chain is torn down).

A failing stage raises :class:`BootFailed`: one line naming the stage and the cause (chained), with the log
rings copied out (``.logs``) before the device was torn down (``.teardown`` says how that went).
``until=STAGE`` stops after that stage; what was brought up is torn down by :meth:`GspDevice.close`.

Every stage, RPC and bounded wait goes to a :class:`~nova_core.hw.events.Timeline` (live progress, Chrome
traces, the device-time / host-time split). :func:`nova_core.sim_boot.boot_sim` does it all on the simulated
GPU (the driver here never imports the simulator).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engines.fifo import Fifo
from ..engines.gr.context import Graphics
from ..errors import BootError, NovaError, did_you_mean
from ..falcon.chain import LOAD_STAGES, ChainError, ChainResult, unload_secure_chain
from ..falcon.chain import run_secure_chain as _run_secure_chain
from ..falcon.engines import SequencerCores
from ..fb.layout import FbLayout, read_fb_layout
from ..fb.sysmem_flush import SysmemFlush
from ..firmware.discovery import FirmwareSet, open_firmware_set
from ..fsp.boot import FSP_LOAD_STAGES, FspChainResult, run_fsp_chain, unload_fsp_chain
from ..gpu.chips import BootPath, Chipset
from ..gpu.devinit import wait_gfw_boot
from ..gpu.identify import Spec, identify
from ..gpu.vram import vram_size as read_vram_size
from ..hw.bar import Bar
from ..hw.clock import SEC, US
from ..hw.device import Device, NoDma
from ..hw.events import ObservedClock, Timeline
from ..hw.irq import MODES, IrqManager
from ..hw.poll import poll_timeout
from ..irq import NonstallListeners, VfnController, open_irq
from ..mm.allocator import VramAllocator
from ..mm.instmem import Bar2Space, InstMemory
from ..mm.layout import FbClaim, ownership_reservations, regions_from_layout
from ..mm.pte import format_for
from ..mm.tlb import TlbInvalidator
from ..mm.vmm import Vmm
from ..mm.vram import PraminVram
from ..regs.falcon import FALCON, NV_PFALCON_FALCON_MAILBOX0
from ..vbios import Vbios
from .client import RmClient, RmObject
from .cmdq import SharedMemory
from .fw import (
    DEFAULT_REGISTRY,
    BarType,
    Event,
    GetGspStaticInfo,
    GspAbi,
    GspStaticInfo,
    SetRegistry,
    SetSystemInfo,
    SystemInfo,
    UnloadingGuestDriver,
    UpdateBarPde,
)
from .intr import GspInterrupts, disable_gsp_interrupts, enable_gsp_interrupts, get_vector_table
from .libos import LOG_NAMES, LibosArgs
from .rpc import GspRpc
from .sequencer import CpuSequencer

#: every stage of :func:`boot`, in order (``until=`` takes one of them)
_HEAD = ("identify", "gfw-boot", "sysmem-flush", "vbios", "firmware", "fb-layout", "libos", "boot-rpcs")
_TAIL = ("sequencer", "init-done", "static-info", "interrupts", "client", "vram", "bar-pde", "engines")
STAGES: tuple[str, ...] = (*_HEAD, *LOAD_STAGES, *(s for s in FSP_LOAD_STAGES if s not in LOAD_STAGES), *_TAIL)


def stages_for(chipset: Chipset) -> tuple[str, ...]:
    """The stages a boot of ``chipset`` runs, in order (the SEC2 booter or the FSP chain of trust in the middle)."""
    chain = FSP_LOAD_STAGES if chipset.facts.boot_path is BootPath.FSP else LOAD_STAGES
    return (*_HEAD, *chain, *_TAIL)


#: one line per stage (``nova boot --help`` lists them)
STAGE_HELP: dict[str, str] = {
    "identify": "read PMC_BOOT_0/BOOT_42: chip and revision",
    "gfw-boot": "wait for the GPU firmware's devinit (Hopper/Blackwell: the FSP's secure boot); VRAM size",
    "sysmem-flush": "register the sysmem flush page (before any falcon reset)",
    "vbios": "parse the vBIOS through the PROM window (BIT, FWSEC)",
    "firmware": "find and parse GSP-RM, its bootloader and the booters (or the GSP-FMC)",
    "fb-layout": "compute the FB/WPR2 layout for this firmware",
    "libos": "queues, log rings, RMARGS and the libos page in DMA memory",
    "boot-rpcs": "queue SET_SYSTEM_INFO and SET_REGISTRY",
    "fwsec-frts": "FWSEC-FRTS on the GSP falcon: WPR2 carved out",
    "wpr-meta": "image + radix3, signature, bootloader, GspFwWprMeta (FSP chips: sizes only)",
    "gsp-reset": "GSP falcon reset into RISC-V mode, libos address in MAILBOX0/1",
    "booter-load": "booter_load on SEC2 with the WPR meta address",
    "gsp-active": "GSP RISC-V core active (GSP-RM starts)",
    "fmc-load": "FSP chips: GSP-FMC image, GSP_FMC_BOOT_PARAMS, the chain-of-trust payload",
    "fsp-cot": "FSP chips: COT message over the FSP's EMEM queue; FSP_RESPONSE error code 0",
    "gsp-lockdown": "FSP chips: GSP PRIV lockdown released by the GSP-FMC (or its error in MAILBOX0)",
    "sequencer": "run GSP-RM's RUN_CPU_SEQUENCER on the CPU",
    "init-done": "GSP_INIT_DONE received",
    "static-info": "GET_GSP_STATIC_INFO",
    "interrupts": "interrupt table from GSP-RM; VFN tree armed; the GSP vector wakes RPC waiters",
    "client": "root client, device and subdevice allocated",
    "vram": "VRAM allocator over the FB regions GSP-RM leaves the driver",
    "bar-pde": "BAR2: driver's half merged into GSP-RM's table (UPDATE_BAR_PDE), verified; BAR1 on GSP-RM's root",
    "engines": "engines and runlists from GSP-RM: the FIFO for channels",
}

# TIMEOUT: nouveau r535_gsp_fini waits 2000 ms for GSP MAILBOX0 to read 0x80000000 after UNLOADING_GUEST_DRIVER.
UNLOAD_TIMEOUT = 2 * SEC
UNLOAD_INTERVAL = 100 * US
#: what GSP MAILBOX0 reads once GSP-RM has unloaded: nouveau r535_gsp_fini compares the whole register
#: (``== 0x80000000``), not bit 31 alone - other values with bit 31 set are not the acknowledgement
UNLOADED_MAILBOX0 = 0x80000000
# TIMEOUT: GSP-RM sends RUN_CPU_SEQUENCER and INIT_DONE within its boot; nova-core waits 10 s for the
# sequencer message, OpenRM's kgspWaitForRmInitDone about as long. 10 s of device time.
INIT_TIMEOUT = 10 * SEC
BAR1_DEFAULT = 256 << 20  #: BAR1 VA space when the BAR's size is not known


class BootFailed(BootError):
    """A boot stage failed.

    Attributes:
        stage: the stage's name (one of :data:`STAGES`).
        cause: the underlying error (also ``__cause__``).
        device: the (closed) :class:`GspDevice`: its stages, timeline and log copies.
        logs: the log rings (name -> raw bytes), copied before the device was torn down.
        teardown: what the teardown did (``"clean"`` or the error that stopped it).
    """

    def __init__(self, stage: str, cause: NovaError, device: GspDevice) -> None:
        self.stage = stage
        self.cause = cause
        self.device = device
        self.logs: dict[str, bytes] = dict(device.saved_logs)
        self.teardown = device.teardown_status
        super().__init__(f"{device.name}: boot failed at stage {stage!r}: {cause}")


@dataclass
class StageResult:
    """One stage as it ran: device (virtual on the sim) and host time, and host time spent waiting."""

    name: str
    ok: bool
    detail: str
    device_ns: int
    host_ns: int
    wait_host_ns: int  #: host time inside the clock's sleep (on the sim: the models catching up)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "seconds": self.host_ns / 1e9, "detail": self.detail,
                "device_seconds": self.device_ns / 1e9, "host_seconds": self.host_ns / 1e9,
                "host_wait_seconds": self.wait_host_ns / 1e9}


@dataclass
class BarSpaces:
    """The driver's VRAM and its BAR1/BAR2 address spaces, as GSP-RM shares them.

    ``allocator`` hands out only the FB regions GSP-RM's static info reports neither reserved nor protected
    (``claims``); ``bar2`` is the driver's half of BAR2, merged into GSP-RM's table with UPDATE_BAR_PDE
    (``bar2_shared`` once it is); ``bar1`` uses GSP-RM's BAR1 root table (static info ``bar1PdeBase``).
    """

    allocator: VramAllocator
    bar2: Bar2Space | None
    instmem: InstMemory | None
    bar1: Vmm
    claims: list[FbClaim]
    bar2_shared: bool = False


@dataclass
class GspDevice:
    """A GPU brought up by :func:`boot` (close it, or use it as a context manager).

    The useful attributes: ``spec``, ``vram_size``, ``vbios``, ``firmware``, ``layout``, ``abi``, ``rpc``
    (raw RPCs), ``static`` (:class:`~nova_core.gsp.fw.GspStaticInfo`), ``client`` / ``device`` / ``subdevice``
    (:class:`~nova_core.gsp.client.RmObject`), ``instmem`` (BAR2 instance memory), ``stages``, ``timeline``.
    """

    dev: Device
    timeline: Timeline
    name: str
    spec: Spec | None = None
    vram_size: int | None = None
    vbios: Vbios | None = None
    firmware: FirmwareSet | None = None
    layout: FbLayout | None = None
    abi: GspAbi | None = None
    shm: SharedMemory | None = None
    libos: LibosArgs | None = None
    rpc: GspRpc | None = None
    sequencer: CpuSequencer | None = None
    chain: ChainResult | FspChainResult | None = None
    sysmem_flush: SysmemFlush | None = None
    static: GspStaticInfo | None = None
    client: RmClient | None = None
    device: RmObject | None = None
    subdevice: RmObject | None = None
    bars: BarSpaces | None = None
    fifo: Fifo | None = None
    irq: IrqManager | None = None
    vfn: VfnController | None = None
    gsp_irq: GspInterrupts | None = None
    nonstall: NonstallListeners | None = None
    stopped_after: str | None = None
    init_done: bool = False
    closed: bool = False
    saved_logs: dict[str, bytes] = field(default_factory=dict)
    teardown_status: str = ""
    shutdown_stages: list[StageResult] = field(default_factory=list)
    _own_firmware: bool = True
    _on_close: list[Callable[[], None]] = field(default_factory=list)  #: run after the teardown (e.g. a trace)
    _gsp_alive: bool = False
    _chain_started: bool = False

    # -- what it is ------------------------------------------------------------------------------------

    @property
    def gsp_ready(self) -> bool:
        """GSP-RM signalled INIT_DONE and has not been shut down."""
        return self.init_done and not self.closed

    @property
    def bar0(self) -> Bar:
        return self.dev.bar0

    @property
    def instmem(self) -> InstMemory | None:
        return None if self.bars is None else self.bars.instmem

    @property
    def channels(self) -> Fifo:
        """The FIFO: engines, address spaces, channels (:class:`~nova_core.engines.fifo.Fifo`)."""
        if self.fifo is None or self.closed:
            why = "the device is closed" if self.closed else (
                f"the boot stopped after {self.stopped_after}" if self.stopped_after else "no instance memory (BAR2)")
            raise BootError(f"{self.name}: no channels: {why}")
        return self.fifo

    @property
    def gr(self) -> Graphics:
        """The GR engine: its context buffers, the golden context, compute objects on channels
        (:class:`~nova_core.engines.gr.context.Graphics`)."""
        graphics = self.channels.graphics
        if graphics is None:
            raise BootError(f"{self.name}: no GR engine in GSP-RM's device info table")
        return graphics

    @property
    def stages(self) -> list[StageResult]:
        return _stage_results(self.timeline, STAGES)

    def objects(self) -> list[RmObject]:
        """The live RM objects of the boot's client (client, device, subdevice, and what was added)."""
        return [] if self.client is None or self.client.freed else self.client.objects()

    def log_buffers(self) -> dict[str, bytes]:
        """The libos log rings (LOGINIT, LOGINTR, LOGRM) as raw bytes: live while the device is up, the copy
        taken at shutdown or failure afterwards."""
        if self.libos is not None and self.libos.logs:
            return {n: lb.buf.read(0, lb.buf.size) for n, lb in self.libos.logs.items()}
        return dict(self.saved_logs)

    def vbios_rom(self) -> bytes | None:
        """The ROM bytes the vBIOS was parsed from, ``[0, end of the image chain)``."""
        if self.vbios is None:
            return None
        return self.vbios.source.read(0, self.vbios.end)

    def info(self) -> dict[str, Any]:
        """The boot summary (what ``nova boot --json`` prints)."""
        fw = self.firmware
        st = self.static
        return {
            "device": self.name,
            "chipset": None if self.spec is None else self.spec.chipset.name,
            "architecture": None if self.spec is None else self.spec.architecture.family,
            "revision": None if self.spec is None else str(self.spec.revision),
            "vram_bytes": self.vram_size,
            "vbios_version": None if self.vbios is None else self.vbios.version,
            "firmware_version": None if fw is None else fw.version,
            "firmware_synthetic": None if fw is None else fw.synthetic,
            "firmware_files": None if fw is None else {k.value: str(f.path) for k, f in fw.files.items()},
            "gsp_ready": self.gsp_ready,
            "stopped_after": self.stopped_after,
            "static_info": None if st is None else {
                "gpu_name": st.gpu_name, "gpu_short_name": st.gpu_short_name, "fb_length": st.fb_length,
                "l2_cache_size": st.l2_cache_size, "bar1_pde_base": st.bar1_pde_base,
                "bar2_pde_base": st.bar2_pde_base, "uuid": "GPU-" + _uuid(st.gid) if st.gid else None,
                "fb_regions": [{"base": r.base, "limit": r.limit, "reserved": r.reserved, "protected": r.protected}
                               for r in st.fb_regions]},
            "engines": None if self.fifo is None else [e.as_json() for e in self.fifo.engines],
            "objects": [{"handle": o.handle, "class": o.cls, "class_name": o.class_name,
                         "parent": None if o.parent is None else o.parent.handle} for o in self.objects()],
            "layout": None if self.layout is None else self.layout.as_json(),
            "stages": [s.as_json() for s in self.stages],
            "rpcs": len(self.timeline.of_kind("rpc")),
            "interrupts": self.interrupts(),
            "closed": self.closed,
        }

    def interrupts(self) -> dict[str, Any] | None:
        """The interrupt view (``nova irq``): mode, geometry, every vector with its count and handler, the
        hardware vectors, the GSP handler's figures and the faults reported; None before the ``interrupts``
        stage."""
        if self.vfn is None or self.irq is None:
            return None
        view = self.vfn.view(None if self.gsp_irq is None else self.gsp_irq.table)
        view["backend"] = self.irq.backend.describe()
        view["hardware"] = self.irq.stats()
        if self.gsp_irq is not None:
            h = self.gsp_irq.handler
            view["gsp"] = {"vector": self.gsp_irq.vector, "messages": h.stats.messages, "halts": h.stats.halts,
                           "unclaimed": h.stats.unclaimed, "missed": h.wakeup.missed}
            view["table"] = self.gsp_irq.table.as_json()
        view["reports"] = list(self.irq.reports) + ([] if self.gsp_irq is None else self.gsp_irq.handler.reports)
        return view

    def __repr__(self) -> str:
        chip = self.spec.chipset.name if self.spec else "?"
        state = "closed" if self.closed else ("GSP-RM ready" if self.gsp_ready else
                                              f"stopped after {self.stopped_after}")
        return f"<GspDevice {self.name} {chip}: {state}>"

    # -- shutting down ---------------------------------------------------------------------------------

    def __enter__(self) -> GspDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut GSP-RM down and tear the secure boot state down (idempotent).

        Raises:
            BootError: a step failed; the GPU may need a reset before the next boot (the message says which).
        """
        if self.closed:
            return
        self.closed = True
        try:
            error = _teardown(self)
        finally:
            while self._on_close:
                self._on_close.pop()()
        self.teardown_status = "clean" if error is None else str(error)
        if error is not None:
            raise error


def _uuid(gid: bytes) -> str:
    h = gid.hex()
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:32])) if len(h) >= 32 else h


def _stage_results(timeline: Timeline, names: Sequence[str]) -> list[StageResult]:
    wanted = set(names)
    return [StageResult(s.name, s.ok, s.error if not s.ok else str(s.args.get("detail", "")), s.dev_ns, s.host_ns,
                        int(s.args.get("wait_host_ns", 0)))
            for s in timeline.of_kind("stage") if s.name in wanted]


# -- the stage runner ----------------------------------------------------------------------------------


class _Stop(Exception):
    """``until`` reached."""


class _Stages:
    def __init__(self, gpu: GspDevice, until: str | None) -> None:
        self.gpu = gpu
        self.until = until

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[dict[str, Any]]:
        """Run the ``with`` body as stage ``name``; the body may set ``detail`` in the yielded dict."""
        tl = self.gpu.timeline
        sleep0 = tl.host_sleep_ns
        span = tl.begin("stage", name)
        out: dict[str, Any] = {"detail": ""}
        try:
            yield out
        except NovaError as e:
            span.args["wait_host_ns"] = tl.host_sleep_ns - sleep0
            tl.end(span, ok=False, error=str(e))
            raise _Failed(name, e) from e
        span.args.update(detail=out["detail"], wait_host_ns=tl.host_sleep_ns - sleep0)
        tl.end(span)
        self.check_until(name)

    def check_until(self, name: str) -> None:
        if name == self.until and name != STAGES[-1]:
            self.gpu.stopped_after = name
            raise _Stop


class _Failed(Exception):
    def __init__(self, stage: str, cause: NovaError) -> None:
        self.stage = stage
        self.cause = cause


def _bdf_number(name: str) -> int:
    """``(bus << 8) | devfn`` of a PCI address; 0x0100 (01:00.0) for a device without one (the sim)."""
    try:
        _, bus, devfn = name.rsplit(":", 2)
        dev_s, fn_s = devfn.split(".")
        return int(bus, 16) << 8 | int(dev_s, 16) << 3 | int(fn_s, 16)
    except ValueError:
        return 0x0100


def system_info(dev: Device, chipset: Chipset | None = None) -> SystemInfo:
    """What SET_SYSTEM_INFO says about the host: BAR addresses from the config space, the PCI ids, and the chip's PCI
    config mirror (``ChipFacts.pci_config_mirror``)."""
    bar_addr: dict[int, int] = {}
    sizes: dict[int, int | None] = {}
    ids = (dev.pci_device or 0, 0, 0)
    if dev.config is not None:
        from ..pci.config import ConfigSpace

        cs = ConfigSpace(dev.config)
        for b in cs.bars():
            bar_addr[b.index] = b.address
            sizes[b.index] = b.size
        h = cs.header()
        ids = (h.device, (h.subsystem_device or 0) << 16 | (h.subsystem_vendor or 0), h.revision)
    if not bar_addr.get(0):
        raise BootError(f"{dev.name}: BAR0's bus address is unknown (no PCI config space or BAR0 unassigned); "
                        f"GSP-RM needs it in SET_SYSTEM_INFO")
    info = SystemInfo(bar0_phys=bar_addr[0], bar1_phys=bar_addr.get(1, 0), bar3_phys=bar_addr.get(3, 0),
                      pci_bdf=_bdf_number(dev.name), pci_device_id=ids[0], pci_subsystem_id=ids[1],
                      pci_revision_id=ids[2])
    if chipset is not None:
        info = dataclasses.replace(info, pci_config_mirror_base=chipset.facts.pci_config_mirror)
    return info


def _bar1_size(dev: Device) -> int:
    if dev.config is not None:
        from ..pci.config import ConfigSpace

        for b in ConfigSpace(dev.config).bars():
            if b.index == 1 and b.size:
                return int(b.size)
    return BAR1_DEFAULT


# -- the bring-up ----------------------------------------------------------------------------------------


def boot(dev: Device, *, firmware: FirmwareSet | None = None, firmware_version: str | None = None,
         firmware_roots: Sequence[str | os.PathLike[str]] | None = None, vbios: Vbios | None = None,
         until: str | None = None, timeline: Timeline | None = None,
         registry: Mapping[str, int | str | bytes] | None = None, recover: bool = True,
         interrupts: Sequence[str] = MODES) -> GspDevice:
    """Bring GSP-RM up on ``dev`` (see the module docstring for the stages).

    Args:
        dev: the GPU (the simulated one, or a VFIO-owned device).
        firmware: an opened firmware set (default: found for the chip on ``firmware_roots`` or the
            search path, ``firmware_version`` or the first complete known version). Not closed by the device
            when given.
        vbios: a parsed vBIOS (default: read through the PROM window).
        until: stop after this stage (one of :data:`STAGES`).
        timeline: where stages, RPCs and waits are reported (default: a new one, ``GspDevice.timeline``).
        registry: SET_REGISTRY entries (default: nouveau's).
        recover: a WPR2 left set by an earlier driver is torn down first (FWSEC-SB + booter_unload).
        interrupts: the delivery modes to try, in order (:data:`~nova_core.hw.irq.MODES`; ``("poll",)``: none,
            every wait polls as before the ``interrupts`` stage).

    Raises:
        BootFailed: naming the stage and the cause; the device is torn down, the logs copied.
        BootError: ``until`` names no stage; ``dev`` is read-only (no DMA: sysfs, a replayed trace).
    """
    if until is not None and until not in STAGES:
        raise BootError(f"no boot stage {until!r}{did_you_mean(until, STAGES)}; stages: {', '.join(STAGES)}")
    if isinstance(dev.dma, NoDma):  # a read-only device (sysfs, a replayed trace): refused before any access
        raise BootError(f"{dev.name}: cannot boot a {dev.kind} device: {dev.dma.why}; a boot owns the GPU (BAR0 "
                        f"writes, DMA memory): bind it to vfio-pci and boot it with --device")
    tl = timeline if timeline is not None else Timeline(dev.clock)
    tl.use_clock(dev.clock)
    # every wait of every layer reports to the timeline through the device's clock
    obs = Device(bar0=dev.bar0, dma=dev.dma, clock=ObservedClock(dev.clock, tl), name=dev.name, kind=dev.kind,
                 pci_vendor=dev.pci_vendor, pci_device=dev.pci_device, sim=dev.sim, config=dev.config, bar2=dev.bar2,
                 vfio=dev.vfio, msi_sink=dev.msi_sink, bar1=dev.bar1)
    gpu = GspDevice(obs, tl, dev.name, firmware=firmware, _own_firmware=firmware is None)
    stage = _Stages(gpu, until)
    try:
        _bring_up(gpu, stage, vbios=vbios, firmware_version=firmware_version, firmware_roots=firmware_roots,
                  registry=registry, recover=recover, interrupts=interrupts)
    except _Stop:
        pass
    except _Failed as f:
        gpu.saved_logs = _copy_logs(gpu)
        with contextlib.suppress(NovaError):
            gpu.close()
        raise BootFailed(f.stage, f.cause, gpu) from f.cause
    return gpu


def _bring_up(gpu: GspDevice, stage: _Stages, *, vbios: Vbios | None, firmware_version: str | None,
              firmware_roots: Sequence[str | os.PathLike[str]] | None,
              registry: Mapping[str, int | str | bytes] | None, recover: bool, interrupts: Sequence[str]) -> None:
    dev = gpu.dev
    bar, clock = dev.bar0, dev.clock

    with stage("identify") as s:
        gpu.spec = spec = identify(bar)
        own = stages_for(spec.chipset)
        if stage.until is not None and stage.until not in own:
            raise BootError(f"stage {stage.until!r} is not on {spec.chipset.name}'s boot path "
                            f"({spec.facts.boot_path.value}): {', '.join(own)}")
        s["detail"] = f"{spec}; boot path {spec.facts.boot_path.value}"
    chip: Chipset = spec.chipset

    with stage("gfw-boot") as s:
        waited = wait_gfw_boot(bar, clock, spec)
        gpu.vram_size = read_vram_size(bar, spec)
        what = "FSP secure boot" if spec.facts.boot_path is BootPath.FSP else "GFW boot"
        s["detail"] = f"{what} {'complete' if waited else 'not applicable'}; {gpu.vram_size >> 20} MiB of VRAM"

    with stage("sysmem-flush") as s:
        gpu.sysmem_flush = flush = SysmemFlush.register(bar, dev.dma, chip)
        s["detail"] = f"page at bus {flush.bus_addr:#x} in {chip.facts.sysmem_flush.name}"

    with stage("vbios") as s:
        gpu.vbios = vbios if vbios is not None else Vbios.from_bar(bar, dev.name)
        fwsec = gpu.vbios.fwsec
        s["detail"] = (f"version {gpu.vbios.version}, {len(gpu.vbios.images)} images, FWSEC "
                       + (f"descriptor v{fwsec.desc.version}" if fwsec else f"absent ({gpu.vbios.fwsec_note})"))

    with stage("firmware") as s:
        if gpu.firmware is None:
            roots = None if firmware_roots is None else [Path(r) for r in firmware_roots]
            gpu.firmware = open_firmware_set(chip, firmware_version, roots=roots)
        fw = gpu.firmware
        if firmware_version is not None and fw.version != firmware_version:
            raise BootError(f"the firmware set is {fw.version}, but {firmware_version} was asked for")
        gpu.abi = GspAbi.for_version(fw.version)
        s["detail"] = (f"GSP-RM {fw.version}{' (synthetic)' if fw.synthetic else ''}: image {fw.gsp.image_size:#x} "
                       f"bytes, signature {fw.gsp.signature_section(chip)}, bootloader v{fw.bootloader.desc.version}"
                       + (f", GSP-FMC {fw.fmc.image.nbytes:#x} bytes ({fw.fmc.scheme})" if fw.fmc is not None else ""))
    abi = gpu.abi

    with stage("fb-layout") as s:
        gpu.layout = layout = read_fb_layout(bar, spec, bootloader_size=len(fw.bootloader.payload),
                                             gsp_image_size=fw.gsp.image_size, version=fw.version)
        s["detail"] = f"WPR2 [{layout.wpr2.start:#x}, {layout.wpr2.end:#x}), FRTS {layout.frts.size >> 20} MiB"

    with stage("libos") as s:
        gpu.shm = shm = SharedMemory(dev.dma, abi)
        gpu.libos = libos = LibosArgs(dev.dma, abi, shm)
        gpu.rpc = rpc = GspRpc(abi, shm, bar, clock, timeline=gpu.timeline)
        gpu.sequencer = seq = CpuSequencer(abi, bar, clock, SequencerCores(dev, chip), libos_args_addr=libos.bus_addr,
                                           app_version=fw.bootloader.app_version)
        seq.attach(rpc)
        s["detail"] = (f"libos page {libos.bus_addr:#x}; queues {shm.pte_count} pages at {shm.bus_addr:#x}; "
                       f"{', '.join(LOG_NAMES)} {libos.logs['LOGRM'].buf.size >> 10} KiB each; RMARGS")

    with stage("boot-rpcs") as s:
        info = system_info(dev, chip)
        rpc.send(SetSystemInfo(info))
        rpc.send(SetRegistry(dict(DEFAULT_REGISTRY if registry is None else registry)))
        s["detail"] = f"SET_SYSTEM_INFO (BAR0 {info.bar0_phys:#x}, BDF {info.pci_bdf:#06x}) and SET_REGISTRY queued"

    # FWSEC-FRTS -> WPR meta -> GSP in RISC-V mode -> booter_load -> GSP RISC-V active (falcon.chain), or on
    # Hopper/Blackwell WPR meta -> GSP-FMC -> COT to the FSP -> lockdown released -> GSP RISC-V active (fsp.boot)
    fsp = spec.facts.boot_path is BootPath.FSP
    chain_stages = FSP_LOAD_STAGES if fsp else LOAD_STAGES
    until = stage.until if stage.until in chain_stages else None
    gpu._chain_started = True
    try:
        if fsp:
            gpu.chain = run_fsp_chain(dev, spec, fw, layout, libos.bus_addr, until=until, timeline=gpu.timeline)
        else:
            gpu.chain = _run_secure_chain(dev, spec, gpu.vbios, fw, layout, libos.bus_addr, until=until,
                                          recover=recover, timeline=gpu.timeline)
    except ChainError as e:
        if isinstance(e.result, (ChainResult, FspChainResult)):
            gpu.chain = e.result
        raise _Failed(e.stage, e.cause) from e
    if gpu.chain.stopped_after is not None:
        stage.check_until(gpu.chain.stopped_after)
    gpu._gsp_alive = True
    stage.check_until(chain_stages[-1])

    with stage("sequencer") as s:
        poll_timeout(lambda: (rpc.poll(), seq.runs)[1], lambda n: n > 0, clock=clock, timeout=INIT_TIMEOUT,
                     interval=10 * US, what="GSP-RM's RUN_CPU_SEQUENCER event (sent once it has read SET_SYSTEM_INFO)")
        last = seq.last
        s["detail"] = f"{last.commands if last else 0} sequencer command(s) executed"

    with stage("init-done") as s:
        rpc.wait_event(Event.INIT_DONE, timeout=INIT_TIMEOUT)
        rpc.check_posted()  # SET_SYSTEM_INFO / SET_REGISTRY replies
        gpu.init_done = True
        s["detail"] = f"GSP_INIT_DONE after {rpc.received} message(s) from GSP-RM"

    with stage("static-info") as s:
        gpu.static = st = rpc.call(GetGspStaticInfo())
        s["detail"] = f"{st.gpu_name}, FB {st.fb_length >> 20} MiB, {len(st.fb_regions)} FB region(s)"
        if layout.acr_placed:
            s["detail"] += "; " + _check_acr_layout(layout, st)

    with stage("interrupts") as s:
        table = get_vector_table(rpc, st)
        gpu.irq = irq = open_irq(dev, prefer=interrupts)
        gpu.vfn = vfn = VfnController(bar, chip.facts.vfn_leaves, irq,
                                      msi_rearm=chip.facts.msi_rearm_xve and irq.mode == "msi")
        vfn.attach()
        gpu.gsp_irq = gsp_irq = enable_gsp_interrupts(rpc, vfn, table, chip, bar)
        gpu.nonstall = NonstallListeners(vfn, table)
        s["detail"] = (f"{irq.backend.describe()}; {vfn.leaves} leaves; GSP stall vector {gsp_irq.vector}; "
                       f"{len(table.entries)} engine(s) in the table, {len(gpu.nonstall.engines())} with non-stall "
                       f"vectors")

    with stage("client") as s:
        gpu.client = RmClient.open(rpc)
        gpu.device = gpu.client.device()
        gpu.subdevice = gpu.device.subdevice()
        s["detail"] = ", ".join(f"{o.class_name} {o.handle:#010x}" for o in gpu.objects())

    with stage("vram") as s:
        gpu.bars = bars = _vram_and_bars(dev, spec, gpu.vram_size, layout, st)
        usable = bars.allocator.size - bars.allocator.stats().reserved
        s["detail"] = (f"{sum(1 for c in bars.claims if c.usable)} FB region(s) neither reserved nor protected: "
                       f"{usable >> 20} MiB for the driver; GSP-RM keeps {(bars.allocator.size - usable) >> 20} MiB")

    with stage("bar-pde") as s:
        notes = []
        if bars.bar2 is not None and bars.instmem is not None:
            space = bars.bar2
            entry = space.shared_entry()
            rpc.call(UpdateBarPde(BarType.BAR2, entry, space.root_level_shift))
            space.bound = True
            bars.bar2_shared = True
            notes.append(f"BAR2 [0, {space.vmm.va_end:#x}) merged into GSP-RM's root {st.bar2_pde_base:#x} (entry 0 "
                         f"= {entry:#x}, the driver's level-1 table); {bars.instmem.verify()}")
        else:
            notes.append("BAR2 aperture not mapped: no instance memory")
        notes.append(f"BAR1 reuses GSP-RM's root table {st.bar1_pde_base:#x}")
        s["detail"] = "; ".join(notes)

    with stage("engines") as s:
        if bars.bar2 is None or bars.instmem is None or dev.bar2 is None:
            s["detail"] = "no instance memory (BAR2 not mapped): channels are not available"
        else:
            assert gpu.client is not None and gpu.device is not None and gpu.subdevice is not None
            gpu.fifo = fifo = Fifo.create(
                chipset=chip, rpc=rpc, abi=abi, client=gpu.client, device=gpu.device, subdevice=gpu.subdevice,
                allocator=bars.allocator, vram=bars.bar2.vram, instmem=bars.instmem, bar2_space=bars.bar2,
                bar2=dev.bar2, dma=dev.dma, bar0=bar, clock=clock, timeline=gpu.timeline,
                interrupts=gpu.nonstall)
            s["detail"] = (f"{len(fifo.engines)} engines on {len({e.runlist for e in fifo.engines})} runlists: "
                           f"{', '.join(f'{e.name}@{e.runlist}' for e in fifo.engines)}; channel class "
                           f"{fifo.classes.gpfifo:#06x}, copy class {fifo.classes.copy:#06x}")
            if any(e.is_graphics for e in fifo.engines):  # its golden context is made on first use
                fifo.graphics = Graphics(fifo, rpc, internal_client=st.internal_client,
                                         internal_subdevice=st.internal_subdevice)


def _check_acr_layout(layout: FbLayout, st: GspStaticInfo) -> str:
    """FSP chips: GSP-RM reports where the GSP-FMC's ACR put the non-WPR heap and FRTS
    (``fwWprLayoutOffset``, OpenRM ``_kgspSetFwWprLayoutOffset``); the driver's layout must be the same.

    Raises:
        BootError: the ACR placed them elsewhere (expected and found offsets named).
    """
    if st.fw_wpr_layout is None:
        return "GSP-RM reports no fwWprLayoutOffset: the FB layout is the driver's prediction"
    non_wpr, frts = st.fw_wpr_layout
    for what, want, got in (("nonWprHeapOffset", layout.non_wpr_heap.start, non_wpr),
                            ("frtsOffset", layout.frts.start, frts)):
        if want != got:
            raise BootError(f"the GSP-FMC's ACR placed WPR2 differently than predicted: fwWprLayoutOffset.{what} "
                            f"expected {want:#x}, found {got:#x}")
    return f"ACR layout as predicted (non-WPR heap {non_wpr:#x}, FRTS {frts:#x})"


def _vram_and_bars(dev: Device, spec: Spec, vram: int, layout: FbLayout, static: GspStaticInfo) -> BarSpaces:
    """The VRAM allocator over what GSP-RM leaves the driver, BAR2 shared with GSP-RM, BAR1 on GSP-RM's root."""
    claims = [FbClaim(r.base, r.limit + 1, not r.reserved and not r.protected,
                      f"GSP-RM FB region {i}" + ("" if not r.reserved and not r.protected else
                                                 f" ({'reserved' if r.reserved else ''}"
                                                 f"{'+' if r.reserved and r.protected else ''}"
                                                 f"{'protected' if r.protected else ''})"))
              for i, r in enumerate(static.fb_regions)]
    if not any(c.usable for c in claims):
        raise BootError(f"GET_GSP_STATIC_INFO: none of the {len(claims)} FB region(s) is neither reserved nor "
                        f"protected: no VRAM for the driver")
    alloc = VramAllocator(vram, ownership_reservations(vram, claims, regions_from_layout(layout)))
    access = PraminVram(dev.bar0, vram, chipset=spec.chipset)
    space = inst = None
    if dev.bar2 is not None:
        space = Bar2Space(spec.chipset, dev.bar0, dev.clock, access, alloc, dev.bar2, gsp_pdb=static.bar2_pde_base)
        inst = InstMemory(space)
    fmt = format_for(spec.chipset)
    bar1 = Vmm(fmt, access, alloc, TlbInvalidator(dev.bar0, dev.clock, hub_only=True), va_start=0,
               va_end=_bar1_size(dev), name="bar1", root=static.bar1_pde_base)
    return BarSpaces(alloc, space, inst, bar1, claims)


def _copy_logs(gpu: GspDevice) -> dict[str, bytes]:
    if gpu.libos is None or not gpu.libos.logs:
        return dict(gpu.saved_logs)
    try:
        return {n: lb.buf.read(0, lb.buf.size) for n, lb in gpu.libos.logs.items()}
    except NovaError:
        return dict(gpu.saved_logs)


# -- the shutdown ------------------------------------------------------------------------------------------


def _reset_gsp(dev: Device, chipset: Chipset) -> str:
    """FSP chips, a boot that ended after the COT but before GSP-RM was handed over: reset the GSP falcon (OpenRM
    ``kgspResetHw_GH100`` resets it through its ENGINE register too), which stops the GSP-FMC and whatever it
    started."""
    from ..falcon.engines import gsp_falcon

    gsp_falcon(dev, chipset).reset()
    return "GSP falcon reset: the GSP-FMC (and a GSP-RM that was never initialized) stopped"


def _release_interrupts(gpu: GspDevice) -> None:
    """RPC waits poll again, the tree is disarmed and blocked, the vectors released (idempotent)."""
    if gpu.rpc is not None and gpu.gsp_irq is not None:
        disable_gsp_interrupts(gpu.rpc, gpu.gsp_irq)
    if gpu.vfn is not None:
        with contextlib.suppress(NovaError):  # a lost device: nothing to disarm
            gpu.vfn.detach()
    if gpu.irq is not None:
        gpu.irq.close()


def _teardown(gpu: GspDevice) -> BootError | None:
    """nouveau ``r535_gsp_fini`` + ``tu102_gsp_fini``; returns the error that stopped it (None: all done)."""
    tl = gpu.timeline
    dev = gpu.dev
    rpc = gpu.rpc
    problems: list[str] = []

    def step(name: str, fn: Callable[[], str]) -> bool:
        sleep0 = tl.host_sleep_ns
        try:
            with tl.span("stage", name) as span:
                span.args["detail"] = fn()
                span.args["wait_host_ns"] = tl.host_sleep_ns - sleep0
            return True
        except NovaError as e:
            problems.append(f"{name}: {e}")
            return False

    skipped = "skipped: GSP-RM stopped answering RPCs; its core is reset without its consent"

    def rpc_step(name: str, fn: Callable[[], str]) -> bool:
        """A step that talks to GSP-RM: skipped (``False``) once an RPC timed out (each would only wait out its
        timeout)."""
        assert rpc is not None
        if rpc.unresponsive:
            step(name, lambda: skipped)
            return False
        return step(name, fn)

    unloaded = False  #: GSP-RM acknowledged UNLOADING_GUEST_DRIVER
    if rpc is not None and gpu._gsp_alive and gpu.init_done and rpc.unresponsive:
        step("unload:unloading-guest-driver", lambda: skipped)
    elif rpc is not None and gpu._gsp_alive and gpu.init_done:
        fifo = gpu.fifo
        if fifo is not None and not fifo.closed:

            def close_fifo() -> str:
                n = len(fifo.channels())
                fifo.close()
                return f"{n} channel(s) closed"

            rpc_step("unload:channels", close_fifo)
        bars = gpu.bars
        if bars is not None and bars.bar2 is not None and bars.bar2_shared:
            space = bars.bar2

            def bar2_fini() -> str:
                space.bound = False  # nothing may go through BAR2 from here on
                bars.bar2_shared = False
                rpc.call(UpdateBarPde(BarType.BAR2, 0, space.root_level_shift))
                return "UPDATE_BAR_PDE BAR2 entry 0: the driver's half of BAR2 removed from GSP-RM's table"

            rpc_step("unload:bar2-pde", bar2_fini)
        client = gpu.client
        if client is not None and not client.freed:

            def free_client() -> str:
                client.close()
                return f"client {client.handle:#010x} and its objects freed"

            rpc_step("unload:client-free", free_client)

        def unload_rpc() -> str:
            rpc.call(UnloadingGuestDriver())
            poll_timeout(lambda: NV_PFALCON_FALCON_MAILBOX0.read(dev.bar0, base=FALCON.GSP),
                         lambda v: v == UNLOADED_MAILBOX0, clock=dev.clock, timeout=UNLOAD_TIMEOUT,
                         interval=UNLOAD_INTERVAL, what=f"GSP-RM unloaded (GSP MAILBOX0 == {UNLOADED_MAILBOX0:#x})")
            return f"UNLOADING_GUEST_DRIVER acknowledged; GSP MAILBOX0 = {UNLOADED_MAILBOX0:#x}"

        unloaded = rpc_step("unload:unloading-guest-driver", unload_rpc)
    _release_interrupts(gpu)
    gpu.saved_logs = _copy_logs(gpu)

    core_stopped = not gpu._chain_started
    if gpu._chain_started and gpu.spec is not None and gpu.spec.facts.boot_path is BootPath.FSP:
        if gpu._gsp_alive and unloaded:  # GSP-RM unloaded: the GSP-FMC shuts down and the core halts by itself
            try:
                unload_fsp_chain(dev, gpu.spec, timeline=tl)
                core_stopped = True
            except ChainError as e:
                problems.append(f"unload:{e.stage}: {e.cause}")
        else:  # stopped before GSP-RM was handed over or initialized, or it did not unload: stop the GSP ourselves
            chip = gpu.spec.chipset  # (a COT the FSP refused started nothing: the GSP is not ours to reset)
            accepted = isinstance(gpu.chain, FspChainResult) and gpu.chain.response is not None
            core_stopped = not accepted or step("unload:gsp-reset", lambda: _reset_gsp(dev, chip))
    elif gpu._chain_started and gpu.spec is not None and gpu.vbios is not None and gpu.firmware is not None:
        try:
            unload_secure_chain(dev, gpu.spec, gpu.vbios, gpu.firmware, timeline=tl)
            core_stopped = True
        except ChainError as e:
            problems.append(f"unload:{e.stage}: {e.cause}")
            core_stopped = e.stage != "gsp-reset"
    elif gpu._chain_started:
        core_stopped = True  # the chain never got the firmware or vBIOS it needs: nothing ran on the falcons
    gpu._gsp_alive = False

    # GSP-RM's memory - and the flush page falcons flush through - may be freed only once its core is stopped
    if core_stopped:
        if gpu.chain is not None and dev.dma is not None:
            gpu.chain.free(dev.dma)
        if gpu.libos is not None:
            gpu.libos.free()
        if gpu.shm is not None:
            gpu.shm.free()
        flush = gpu.sysmem_flush
        if flush is not None:
            step("unload:sysmem-flush", flush.unregister)
    else:
        problems.append("GSP-RM's DMA memory and the sysmem flush page were not freed: its core could not be "
                        "stopped (reset the GPU)")
    gpu.shutdown_stages = [r for r in _stage_results(tl, [s.name for s in tl.of_kind("stage")])
                           if r.name.startswith("unload:")]
    if gpu.firmware is not None and gpu._own_firmware:
        gpu.firmware.close()
    if problems:
        return BootError(f"{gpu.name}: shutdown incomplete: " + "; ".join(problems))
    return None
