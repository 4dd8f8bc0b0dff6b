"""nova_core.sim.gpu: ``SimGpu``, a register-level model of one supported chip.

What a fresh ``SimGpu`` looks like, as a real GPU after power-on and GFW (devinit) boot:

- BOOT_0 / BOOT_42 identify the chip (revision A1 unless told otherwise);
- VRAM size is published where the chip family publishes it (LOCAL_MEMORY_RANGE on Turing/GA100,
  the usable-FB-size scratch register on GA102+), and the VGA workspace pointer is valid on chips
  with a display;
- GFW boot has completed (AON scratch progress 0xFF, level-0 reads enabled);
- PTIMER (and its usermode copy) counts the virtual clock in nanoseconds;
- the PROM window at BAR0+0x300000 serves a vBIOS: a real ROM file given by the user, or a synthetic
  one built for the chip (:mod:`nova_core.sim.synth.vbios`);
- system memory (behind a simulated IOMMU) and VRAM exist for DMA and page tables.

Later models (falcons, GSP-RM) attach to :attr:`bar0` with hooks. The driver sees the device through
:meth:`SimGpu.device`, exactly like a real one.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ChipError, NovaError
from ..gpu.chips import Chipset, FbSizeSource
from ..hw.clock import VirtualClock
from ..hw.device import Device
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
from .log import SimLog
from .memory import SimSystemMemory, SparseMemory
from .models import discover as discover_models
from .regfile import SimBar
from .synth.vbios import build_vbios

MiB = 1 << 20
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
        vram_mib: VRAM size (default: the representative board's, from the chip facts table).
        revision: ``(major, minor)``, default ``(0xA, 1)`` = A1.
        strict: refuse (raise) rather than only log accesses hardware would not accept.
        pci_device: PCI device id (default: the representative board's).
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
        self.vram_mib = self.facts.sim_vram_mib if vram_mib is None else vram_mib
        self.vram = SparseMemory(self.vram_mib * MiB, name=f"{self.chipset.lower} vram")
        self.sysmem = SimSystemMemory(self.log)
        self.revision = revision
        self.pci_vendor = 0x10DE
        self.pci_device = self.facts.pci_device_id if pci_device is None else pci_device
        self.vbios_synthetic = vbios is None
        if vbios is None:
            self.rom = build_vbios(self.chipset, pci_device=self.pci_device)
        elif isinstance(vbios, (str, Path)):
            self.rom = Path(vbios).read_bytes()
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
        """PTIMER as ``dev_timer.h`` has it: 61 bits of nanoseconds at a 32 ns resolution (TIME_0.NSEC 31:5,
        TIME_1.NSEC 28:0; the other bits read 0), counting with the virtual clock. Writable on Turing to Ada:
        TIME_1 then TIME_0 sets the time (OpenRM ``tmrSetCurrentTime_GV100``; the sim applies it on the TIME_0
        write, with the TIME_1 value last written); Hopper's TIME_0 is read-only, so the write is refused there.
        The usermode copy (NV_VIRTUAL_FUNCTION_TIME_0/1, read-only) shows the same time."""
        time_0 = NV_PTIMER_TIME_0.for_family(self.facts.reg_family)
        lo_mask, hi_mask = time_0.nsec.mask, NV_PTIMER_TIME_1.nsec.mask
        #: PTIMER minus the virtual clock, in ns (0 until the driver sets the time)
        self.ptimer_offset = 0
        written_hi: list[int | None] = [None]

        def now() -> int:
            return (self.clock.now() + self.ptimer_offset) & ((1 << 61) - 1)

        def lo(_: int) -> int:
            return now() & lo_mask

        def hi(_: int) -> int:
            return (now() >> 32) & hi_mask

        def write_hi(_: int, value: int) -> None:
            written_hi[0] = value & hi_mask

        def write_lo(_: int, value: int) -> None:
            high = written_hi[0] if written_hi[0] is not None else hi(0)
            new = (high << 32) | (value & lo_mask)
            self.ptimer_offset = new - self.clock.now()
            written_hi[0] = None
            self.log.info("ptimer", f"PTIMER set to {new:#x} ns")

        for reg, fn in ((NV_PTIMER_TIME_0, lo), (NV_PTIMER_TIME_1, hi),
                        (NV_VIRTUAL_FUNCTION_TIME_0, lo), (NV_VIRTUAL_FUNCTION_TIME_1, hi)):
            self.bar0.on_read(reg.addr(), fn)
        self.bar0.on_write(NV_PTIMER_TIME_1.addr(), write_hi)
        self.bar0.on_write(NV_PTIMER_TIME_0.addr(), write_lo)

    def _init_prom(self) -> None:
        rom = self.rom
        padded = rom + b"\xff" * (-len(rom) % 4)
        limit = min(len(padded), PROM.size)
        view = memoryview(padded).cast("I")

        def read(rel: int) -> int:
            return int(view[rel >> 2]) if rel + 4 <= limit else ERASED_FLASH

        self.bar0.map_register_window(PROM, read)

    # -- the driver's view ----------------------------------------------------------------------

    def device(self) -> Device:
        """This GPU as the driver sees it: BAR0, DMA through the simulated IOMMU, virtual clock."""
        bar2 = getattr(self.models.get("bar2"), "bar", None)
        return Device(bar0=self.bar0, dma=self.sysmem, clock=self.clock, name=f"sim:{self.chipset.lower}",
                      kind="sim", pci_vendor=self.pci_vendor, pci_device=self.pci_device, sim=self,
                      config=self.models.get("pci"),  # type: ignore[arg-type]  # the PCI model is a ConfigSource
                      bar2=bar2)

    # -- fault injection ------------------------------------------------------------------------

    def fall_off_bus(self) -> None:
        """Every read returns 0xffffffff from now on (a lost device)."""
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
