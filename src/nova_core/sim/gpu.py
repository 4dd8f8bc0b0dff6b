"""nova_core.sim.gpu: ``SimGpu``, a register-level model of one supported chip.

What a fresh ``SimGpu`` looks like, as a real GPU after power-on and GFW (devinit) boot:

- BOOT_0 / BOOT_42 identify the chip (revision A1 unless told otherwise);
- VRAM size is published where the chip family publishes it (LOCAL_MEMORY_RANGE on Turing/GA100,
  the usable-FB-size scratch register on GA102+); the display fuse (``NV_FUSE_STATUS_OPT_DISPLAY``) says
  whether the board has a display, and the VGA workspace pointer is valid on those that do;
- GFW boot has completed (AON scratch progress 0xFF, level-0 reads enabled);
- PTIMER (and its usermode copy) counts the virtual clock in nanoseconds, in 32 ns steps as ``dev_timer.h``
  has it (TIME_0 bits 4:0 and TIME_1 bits 31:29 read 0), and may be set (TIME_1, then TIME_0 loads);
- the PROM window at BAR0+0x300000 serves a vBIOS: a real ROM file given by the user, or a synthetic
  one built for the chip (:mod:`nova_core.sim.synth.vbios`);
- system memory (behind a simulated IOMMU) and VRAM exist for DMA and page tables.

Later models (falcons, GSP-RM) attach to :attr:`bar0` with hooks. The driver sees the device through
:meth:`SimGpu.device`, exactly like a real one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ChipError, NovaError, PciError
from ..files import read_input
from ..gpu.chips import VGPU_BOARDS, Architecture, Chipset, FbSizeSource
from ..hw.clock import VirtualClock
from ..hw.device import Device
from ..regs.fuse import DisplayFuse
from ..regs.gc6 import (
    GFW_BOOT_PROGRESS_COMPLETED,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK,
    NV_PGC6_AON_SECURE_SCRATCH_GROUP_42,
)
from ..regs.pdisp import NV_PDISP_VGA_WORKSPACE_BASE
from ..regs.pfb import NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE
from ..regs.pmc import NV_PMC_BOOT_0, NV_PMC_BOOT_42
from ..regs.prom import PROM
from ..regs.ptimer import NV_PTIMER_TIME_0, NV_PTIMER_TIME_1
from ..regs.vfn import NV_VIRTUAL_FUNCTION_TIME_0, NV_VIRTUAL_FUNCTION_TIME_1
from ..vbios.facts import ROM_FILE
from .log import SimLog
from .memory import SimSystemMemory, SparseMemory
from .models import discover as discover_models
from .regfile import SimBar
from .synth.vbios import build_vbios

MiB = 1 << 20
TIME_0_NSEC_MASK = 0xFFFFFFE0  #: NV_PTIMER_TIME_0_NSEC 31:5 (dev_timer.h)
TIME_1_NSEC_MASK = 0x1FFFFFFF  #: NV_PTIMER_TIME_1_NSEC 28:0
TIME_MASK = (1 << 61) - 1  #: the 61 bits TIME_1:TIME_0 hold
ERASED_FLASH = 0xFFFFFFFF  #: PROM reads past the end of the ROM image (erased flash)


def encode_local_memory_range(mib: int) -> int:
    """NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE for ``mib`` MiB of VRAM (ECC off); exact or refused."""
    for scale in range(16):
        mag = mib >> scale
        if mag << scale == mib and mag < 64:
            return NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE.encode(lower_mag=mag, lower_scale=scale)
    raise ChipError(f"{mib} MiB cannot be expressed as LOWER_MAG << LOWER_SCALE MiB (MAG < 64)")


class SimGpu:
    """A simulated GPU of one chipset.

    Args:
        chipset: a :class:`Chipset` or its name/id (``"ad102"``, ``0x192``).
        vbios: ROM bytes or a path to a ROM file; ``None`` builds a synthetic ROM for the chip.
        clock: the virtual clock to run on (a new one by default).
        vram_mib: VRAM size (default: the board's - the representative board's from the chip facts table, or the
            vGPU board's, :data:`~nova_core.gpu.chips.VGPU_BOARDS`, when ``pci_device`` is its id).
        revision: ``(major, minor)``, default ``(0xA, 1)`` = A1.
        strict: refuse (raise) rather than only log accesses hardware would not accept.
        pci_device: PCI device id (default: the representative board's; a vGPU board's id gives the board's VRAM
            and a linked SR-IOV capability).
    """

    def __init__(self, chipset: Chipset | str | int = Chipset.AD102, *,
                 vbios: bytes | str | Path | None = None, clock: VirtualClock | None = None,
                 vram_mib: int | None = None, revision: tuple[int, int] = (0xA, 1), strict: bool = True,
                 pci_device: int | None = None) -> None:
        self.chipset = chipset if isinstance(chipset, Chipset) else Chipset.parse(chipset)
        self.facts = self.chipset.facts
        self.clock = clock or VirtualClock()
        self.log = SimLog(self.clock)
        self.bar0 = SimBar(self.clock, self.log, strict=strict, family=self.facts.reg_family)
        self.pci_vendor = 0x10DE
        self.pci_device = self.facts.pci_device_id if pci_device is None else pci_device
        if not 0 <= self.pci_device <= 0xFFFF:
            raise PciError(f"PCI device id {self.pci_device:#x} is not a 16-bit value (0 to 0xffff)")
        board = VGPU_BOARDS.get(self.chipset)
        default_mib = board.vram_mib if board is not None and board.pci_device_id == self.pci_device else \
            self.facts.sim_vram_mib
        self.vram_mib = default_mib if vram_mib is None else vram_mib
        self.vram = SparseMemory(self.vram_mib * MiB, name=f"{self.chipset.lower} vram")
        self.sysmem = SimSystemMemory(self.log)
        self.revision = revision
        self.vbios_synthetic = vbios is None
        if vbios is None:
            self.rom = build_vbios(self.chipset, pci_device=self.pci_device)
        elif isinstance(vbios, (str, Path)):
            self.rom = read_input(vbios, ROM_FILE)
        else:
            self.rom = bytes(vbios)
        self._init_identity()
        self._init_framebuffer()
        self._init_gfw_boot()
        self._init_timer()
        self._init_prom()
        #: the models attached from :mod:`nova_core.sim.models` (falcons, GSP-RM, ...), by NAME
        self.models: dict[str, object] = {}
        for module in discover_models():
            self.models[module.NAME] = module.attach(self)
        self.log.info("sim", f"{self.chipset.name} rev {revision[0]:X}{revision[1]:X}, "
                             f"{self.vram_mib} MiB VRAM, {'synthetic' if self.vbios_synthetic else 'file'} "
                             f"vBIOS of {len(self.rom)} bytes")

    # -- power-on state ---------------------------------------------------------------------------

    def _init_identity(self) -> None:
        arch = int(self.chipset.architecture)
        major, minor = self.revision
        self.boot0 = NV_PMC_BOOT_0.encode(
            minor_revision=minor, major_revision=major, architecture_1=arch >> 5,
            implementation=self.chipset.implementation, architecture_0=arch & 0x1F,
        )
        self.boot42 = NV_PMC_BOOT_42.encode(
            minor_revision=minor, major_revision=major,
            implementation=self.chipset.implementation, architecture=arch,
        )
        self.bar0.poke(NV_PMC_BOOT_0.addr(), self.boot0)
        self.bar0.poke(NV_PMC_BOOT_42.addr(), self.boot42)

    def _init_framebuffer(self) -> None:
        self.bar0.poke(NV_PFB_PRI_MMU_LOCAL_MEMORY_RANGE.addr(), encode_local_memory_range(self.vram_mib))
        if self.facts.fb_size_source is FbSizeSource.USABLE_FB_SIZE_SCRATCH:
            self.bar0.poke(NV_PGC6_AON_SECURE_SCRATCH_GROUP_42.addr(), self.vram_mib)
        fuse = self.facts.display_fuse
        self.bar0.poke(fuse.addr(), fuse.encode(data=DisplayFuse.ENABLE if self.facts.has_display else
                                                 DisplayFuse.DISABLE))
        if self.facts.has_display:
            # The VBIOS places the VGA workspace in the last MiB of VRAM (64 KiB units).
            vga = self.vram_mib * MiB - MiB
            self.bar0.poke(NV_PDISP_VGA_WORKSPACE_BASE.addr(),
                           NV_PDISP_VGA_WORKSPACE_BASE.encode(status_valid=1, address=vga >> 16))

    def _init_gfw_boot(self) -> None:
        self.bar0.poke(NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.addr(),
                       NV_PGC6_AON_SECURE_SCRATCH_GROUP_05_PRIV_LEVEL_MASK.encode(read_protection_level0=1))
        self.bar0.poke(NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.addr(i=0),
                       NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.encode(gfw_boot_progress=GFW_BOOT_PROGRESS_COMPLETED))

    def _init_timer(self) -> None:
        """PTIMER as ``dev_timer.h`` has it (the sim's own reading, not the regs module's, so that a wrong field in
        ``regs/ptimer.py`` shows): TIME_0_NSEC 31:5 (the low word in units of 32 ns: bits 4:0 read 0), TIME_1_NSEC
        28:0 (a 61-bit count: bits 31:29 read 0), counting with the virtual clock; both RW through Ada
        (gm107/gv100 ``dev_timer.h``), while gh100's makes TIME_0_NSEC read-only, so there a TIME_0 write is refused
        as a write to a read-only register. Writing TIME_0 loads the new time with the TIME_1 written before it
        (OpenRM ``tmrSetCurrentTime_GV100``: "Writing TIME_0 is the trigger to load the new time"; without one, the
        current high word). The usermode copy (``dev_vm.h`` NV_VIRTUAL_FUNCTION_TIME_0/1, R--) reads the same."""
        self._time_offset = 0  # the GPU time is the virtual clock plus this (changed by writes)
        self._time_hi_latch: int | None = None

        def now() -> int:
            return (self.clock.now() + self._time_offset) & TIME_MASK

        def lo(_: int) -> int:
            return now() & TIME_0_NSEC_MASK

        def hi(_: int) -> int:
            return (now() >> 32) & TIME_1_NSEC_MASK

        def write_hi(_: int, value: int) -> None:
            self._time_hi_latch = value & TIME_1_NSEC_MASK

        def write_lo(_: int, value: int) -> None:
            high = (now() >> 32) & TIME_1_NSEC_MASK if self._time_hi_latch is None else self._time_hi_latch
            self._time_hi_latch = None
            self._time_offset = (high << 32 | value & TIME_0_NSEC_MASK) - self.clock.now()
            self.log.info("ptimer", f"GPU time set to {high << 32 | value & TIME_0_NSEC_MASK:#x} ns")

        for reg, fn in ((NV_PTIMER_TIME_0, lo), (NV_PTIMER_TIME_1, hi),
                        (NV_VIRTUAL_FUNCTION_TIME_0, lo), (NV_VIRTUAL_FUNCTION_TIME_1, hi)):
            self.bar0.on_read(reg.addr(), fn)
        # RW through Ada; Hopper's gh100 dev_timer.h makes TIME_0_NSEC read-only
        if self.chipset.architecture in (Architecture.TURING, Architecture.AMPERE, Architecture.ADA):
            self.bar0.on_write(NV_PTIMER_TIME_1.addr(), write_hi, writable=True)
            self.bar0.on_write(NV_PTIMER_TIME_0.addr(), write_lo, writable=True)

    def _init_prom(self) -> None:
        rom = self.rom
        padded = rom + b"\xff" * (-len(rom) % 4)
        limit = min(len(padded), PROM.size)
        view = memoryview(padded).cast("I")

        def read(rel: int) -> int:
            return int(view[rel >> 2]) if rel + 4 <= limit else ERASED_FLASH

        def read_block(rel: int, length: int) -> bytes:  # the same words as read(), in one go
            data = padded[rel:min(rel + length, limit)]
            return data + b"\xff" * (length - len(data))

        self.bar0.map_register_window(PROM, read, read_block=read_block)

    # -- the driver's view ----------------------------------------------------------------------

    def device(self) -> Device:
        """This GPU as the driver sees it: BAR0, DMA through the simulated IOMMU, virtual clock."""
        bar2 = getattr(self.models.get("bar2"), "bar", None)
        bar1 = getattr(self.models.get("bar1"), "bar", None)
        pci = self.models.get("pci")
        return Device(bar0=self.bar0, dma=self.sysmem, clock=self.clock, name=f"sim:{self.chipset.lower}",
                      kind="sim", pci_vendor=self.pci_vendor, pci_device=self.pci_device, sim=self,
                      config=pci,  # type: ignore[arg-type]  # the PCI model is a ConfigSource
                      bar2=bar2, bar1=bar1, msi_sink=pci)  # type: ignore[arg-type]  # ... and its messages can be seen

    # -- fault injection ------------------------------------------------------------------------

    def fall_off_bus(self) -> None:
        """Every read returns 0xffffffff from now on (a lost device): a hardware condition, persistent - it outlives
        GSP-RM restarts and lasts as long as this simulated GPU."""
        self.bar0.fall_off_bus()

    def model(self, name: str) -> object:
        """The attached model called ``name`` (a clear error listing the attached ones otherwise)."""
        try:
            return self.models[name]
        except KeyError:
            raise NovaError(f"no simulated model {name!r}; attached: {', '.join(self.models) or 'none'}") from None

    def __repr__(self) -> str:
        return f"<SimGpu {self.chipset.name} t={self.clock.now()}ns>"


def open_sim(chipset: Chipset | str | int = Chipset.AD102, **kwargs: object) -> Device:
    """Shortcut for the REPL: ``dev = open_sim("ga102"); identify(dev.bar0)``."""
    return SimGpu(chipset, **kwargs).device()  # type: ignore[arg-type]
