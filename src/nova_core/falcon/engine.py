"""nova_core.falcon.engine: one falcon microcontroller at any base - reset, load, boot, mailboxes.

The sequence, as nova-core ``falcon.rs`` and nouveau ``nvkm/falcon`` run it (facts: reference §9):

1. :meth:`Falcon.reset`: the HAL's engine reset (GA102+: RESET_READY wait that may time out; ENGINE
   reset held 10 us; scrubbing wait), core select (falcon), scrubbing wait again, BOOT_0 copied to the
   falcon's RM register.
2. :meth:`Falcon.load` a :class:`~nova_core.falcon.ucode.FalconUcode`:

   - PIO (TU102 HAL): IMEMC(0) = {destination, AINCW, SECURE}; per 256-byte block one IMEMT tag, then
     64 IMEMD words; DMEMC(0) = {destination, AINCW}, DMEMD words.
   - DMA (GA102+): the segments are staged in one DMA buffer (each on a 256-byte boundary, zero
     padded); FBIF_CTL.ALLOW_PHYS_NO_CTX, DMACTL = 0, TRANSCFG(ctx) = coherent sysmem + physical;
     per segment DMATRFBASE/BASE1 = source base >> 8 / >> 40; per 256-byte block MOFFS (falcon
     address), FBOFFS (source offset), DMATRFCMD {SIZE 256B, IMEM, SEC}, then wait for IDLE. For IMEM
     the falcon tags each block with FBOFFS >> 8, so the base is chosen so that FBOFFS runs over the
     segment's virtual address (``tag``). Bases above 49 bits or off 256 bytes are refused.
   - then the HAL's BROM parameters (GA102+) and BOOTVEC.
3. :meth:`Falcon.boot`: MAILBOX0/1, start through CPUCTL_ALIAS when CPUCTL.ALIAS_EN reads 1, else
   CPUCTL.STARTCPU; wait for CPUCTL.HALTED (2 s); return the mailboxes.

Every wait names the engine, so a hung SEC2 reads "timed out after 2 s waiting for SEC2 falcon to halt".
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from ..errors import FalconError
from ..gpu.chips import Chipset, FalconHal
from ..hw.bar import Bar
from ..hw.clock import MS, SEC, US, Clock
from ..hw.dma import DmaAllocator, DmaBuffer
from ..hw.poll import poll_timeout
from ..regs.falcon import (
    FALCON2_OFFSET,
    IRQ_HALT,
    IRQ_SWGEN0,
    IRQ_SWGEN1,
    NV_PFALCON_FALCON_BOOTVEC,
    NV_PFALCON_FALCON_CPUCTL,
    NV_PFALCON_FALCON_CPUCTL_ALIAS,
    NV_PFALCON_FALCON_DMACTL,
    NV_PFALCON_FALCON_DMATRFBASE,
    NV_PFALCON_FALCON_DMATRFBASE1,
    NV_PFALCON_FALCON_DMATRFCMD,
    NV_PFALCON_FALCON_DMATRFFBOFFS,
    NV_PFALCON_FALCON_DMATRFMOFFS,
    NV_PFALCON_FALCON_DMEMC,
    NV_PFALCON_FALCON_DMEMD,
    NV_PFALCON_FALCON_HWCFG,
    NV_PFALCON_FALCON_IMEMC,
    NV_PFALCON_FALCON_IMEMD,
    NV_PFALCON_FALCON_IMEMT,
    NV_PFALCON_FALCON_IRQSCLR,
    NV_PFALCON_FALCON_IRQSTAT,
    NV_PFALCON_FALCON_MAILBOX0,
    NV_PFALCON_FALCON_MAILBOX1,
    NV_PFALCON_FALCON_OS,
    NV_PFALCON_FALCON_RM,
    NV_PFALCON_FBIF_CTL,
    NV_PFALCON_FBIF_TRANSCFG,
    CoreSelect,
    DmaTrfSize,
    FbifMemType,
    FbifTarget,
)
from ..regs.pmc import NV_PMC_BOOT_0
from .facts import BLOCK, DMA_ADDR_LIMIT, DMA_CTX, PIO_PORT
from .hal import HAL_FAMILY, FalconHalOps, LoadMethod, falcon_hal
from .ucode import FalconUcode, UcodeSegment

# TIMEOUT: nova-core dma_wr: "arbitrarily large", no 256-byte transfer into falcon memory takes that long.
DMA_IDLE_TIMEOUT = 2 * SEC
# TIMEOUT: nova-core wait_till_halted: HS ucodes (FWSEC, booter) complete in less than 2 s.
HALT_TIMEOUT = 2 * SEC
# TIMEOUT: nova-core gsp/boot.rs: GSP-RM's RISC-V core is active within 5 s of the booter (polled every 10 ms).
RISCV_ACTIVE_TIMEOUT = 5 * SEC
RISCV_ACTIVE_INTERVAL = 10 * MS

_WORDS_PER_BLOCK = BLOCK // 4
_LITTLE = sys.byteorder == "little"


def _words(data: bytes) -> Sequence[int]:
    """``data`` (zero padded to 4 bytes) as little-endian 32-bit words."""
    if len(data) % 4:
        data = data + bytes(-len(data) % 4)
    words = array("I")
    if words.itemsize != 4:  # pragma: no cover - every supported platform has a 4-byte unsigned int
        return memoryview(data).cast("I").tolist()
    words.frombytes(data)
    if not _LITTLE:  # pragma: no cover - big-endian hosts
        words.byteswap()
    return words


class Falcon:
    """A falcon engine at ``base`` (GSP 0x110000, SEC2 0x840000); its falcon2/RISC-V block is at base + 0x1000.

    Args:
        bar: BAR0.
        clock: for waits.
        base: the falcon's register base.
        hal: the generation (a :class:`~nova_core.gpu.chips.FalconHal`, a chipset, or a HAL object).
        name: for messages (``"GSP"``, ``"SEC2"``).
        dma: allocator for DMA staging buffers (DMA loads only).
    """

    def __init__(self, bar: Bar, clock: Clock, *, base: int, hal: FalconHal | Chipset | FalconHalOps, name: str,
                 dma: DmaAllocator | None = None) -> None:
        self.bar = bar
        self.clock = clock
        self.base = base
        self.base2 = base + FALCON2_OFFSET
        self.hal = hal if isinstance(hal, FalconHalOps) else falcon_hal(hal)
        #: the register family (``regs.core.FAMILIES``) whose layouts this falcon's registers have
        self.family = hal.facts.reg_family if isinstance(hal, Chipset) else HAL_FAMILY[self.hal.kind]
        self.name = name
        self.dma = dma
        #: non-fatal events (a RESET_READY that never came), oldest first
        self.notes: list[str] = []
        self._imemc = NV_PFALCON_FALCON_IMEMC.for_family(self.family).bind(bar, base=base, i=PIO_PORT)
        self._imemd = NV_PFALCON_FALCON_IMEMD.addr(base, PIO_PORT)
        self._imemt = NV_PFALCON_FALCON_IMEMT.addr(base, PIO_PORT)
        self._dmemc = NV_PFALCON_FALCON_DMEMC.for_family(self.family).bind(bar, base=base, i=PIO_PORT)
        self._dmemd = NV_PFALCON_FALCON_DMEMD.addr(base, PIO_PORT)
        self._dmatrfcmd = NV_PFALCON_FALCON_DMATRFCMD.bind(bar, base=base)
        self._moffs = NV_PFALCON_FALCON_DMATRFMOFFS.addr(base)
        self._moffs_max = NV_PFALCON_FALCON_DMATRFMOFFS.for_family(self.family).offs.max
        self._fboffs = NV_PFALCON_FALCON_DMATRFFBOFFS.addr(base)

    def __repr__(self) -> str:
        return f"<Falcon {self.name} @ {self.base:#x} hal={self.hal.kind.value}>"

    # -- reset --------------------------------------------------------------------------------------

    def reset(self, core: CoreSelect = CoreSelect.FALCON) -> None:
        """Reset the engine, select ``core``, wait for scrubbing, write BOOT_0 to the RM register.

        Raises:
            PollTimeout: scrubbing never finished, or the core select was not acknowledged.
        """
        self.hal.reset_engine(self)
        self.hal.select_core(self, core)
        self.hal.wait_scrubbing(self)
        NV_PFALCON_FALCON_RM.write(self.bar, NV_PMC_BOOT_0.read(self.bar), base=self.base)

    # -- memory geometry ----------------------------------------------------------------------------

    def imem_size(self) -> int:
        """IMEM bytes (HWCFG.IMEM_SIZE blocks)."""
        return NV_PFALCON_FALCON_HWCFG.imem_size.get(NV_PFALCON_FALCON_HWCFG.read(self.bar, base=self.base)) * BLOCK

    def dmem_size(self) -> int:
        """DMEM bytes (HWCFG.DMEM_SIZE blocks)."""
        return NV_PFALCON_FALCON_HWCFG.dmem_size.get(NV_PFALCON_FALCON_HWCFG.read(self.bar, base=self.base)) * BLOCK

    def _check_fits(self, ucode: FalconUcode) -> None:
        for mem, end, size in (("IMEM", ucode.imem_end, self.imem_size()), ("DMEM", ucode.dmem_end, self.dmem_size())):
            if end > size:
                raise FalconError(f"{self.name}: {ucode.name} needs {mem} up to {end:#x} but the falcon has "
                                  f"{size:#x} bytes (HWCFG)")

    # -- loading ------------------------------------------------------------------------------------

    def load(self, ucode: FalconUcode, *, method: LoadMethod | None = None) -> None:
        """Load ``ucode`` (IMEM, DMEM, BROM parameters, boot vector) by ``method`` (default: the HAL's)."""
        method = method or self.hal.load_method
        if method is LoadMethod.PIO:
            self.pio_load(ucode)
        else:
            self.dma_load(ucode)

    def _prepare_load(self) -> None:
        NV_PFALCON_FBIF_CTL.update(self.bar, base=self.base, allow_phys_no_ctx=1)
        NV_PFALCON_FALCON_DMACTL.write(self.bar, 0, base=self.base)

    def _finish_load(self, ucode: FalconUcode) -> None:
        self.hal.program_brom(self, ucode.brom)
        NV_PFALCON_FALCON_BOOTVEC.write(self.bar, base=self.base, value=ucode.boot_vector)

    def pio_load(self, ucode: FalconUcode) -> None:
        """Load through the PIO ports (TU102 HAL).

        Raises:
            FalconError: the GA102+ HAL (its PIO ports are masked to the CPU), or the ucode does not fit.
        """
        if not self.hal.pio_allowed:
            raise FalconError(f"{self.name}: PIO loads are not available on the {self.hal.kind.value} falcon HAL "
                              f"(the IMEM/DMEM ports are masked to the CPU); load {ucode.name} by DMA")
        self._check_fits(ucode)
        self._prepare_load()
        for seg in ucode.imem:
            self._pio_imem(seg)
        for seg in ucode.dmem:
            self._pio_dmem(seg)
        self._finish_load(ucode)

    def _pio_imem(self, seg: UcodeSegment) -> None:
        self._imemc.write(offs=(seg.dst >> 2) & 0x3F, blk=seg.dst >> 8, aincw=1, secure=int(seg.secure))
        words = _words(seg.data)
        wr = self.bar.write32
        imemd, imemt, tag = self._imemd, self._imemt, seg.virt >> 8
        for n, start in enumerate(range(0, len(words), _WORDS_PER_BLOCK)):
            wr(imemt, tag + n)
            for w in words[start:start + _WORDS_PER_BLOCK]:
                wr(imemd, w)

    def _pio_dmem(self, seg: UcodeSegment) -> None:
        self._dmemc.write(offs=(seg.dst >> 2) & 0x3F, blk=seg.dst >> 8, aincw=1)
        wr, dmemd = self.bar.write32, self._dmemd
        for w in _words(seg.data):
            wr(dmemd, w)

    def configure_dma(self, ctx: int = DMA_CTX) -> None:
        """Physical DMA from coherent system memory through FBIF context ``ctx`` (nova-core ``dma_reset``)."""
        self._prepare_load()
        NV_PFALCON_FBIF_TRANSCFG.update(self.bar, base=self.base, i=ctx, target=FbifTarget.COHERENT_SYSMEM,
                                        mem_type=FbifMemType.PHYSICAL)

    def dma_load(self, ucode: FalconUcode, *, ctx: int = DMA_CTX) -> None:
        """Load by DMA from a staging buffer of :attr:`dma`.

        Raises:
            FalconError: no allocator, the staging buffer lies above 49 bits or off 256 bytes, a DMEM
                destination off 256 bytes, or the ucode does not fit.
        """
        if self.dma is None:
            raise FalconError(f"{self.name}: a DMA load of {ucode.name} needs a DMA allocator (Falcon(dma=...))")
        self._check_fits(ucode)
        for seg in ucode.dmem:
            if seg.dst % BLOCK:
                raise FalconError(f"{self.name}: {ucode.name}: DMEM destination {seg.dst:#x} is not 256-byte aligned; "
                                  f"256-byte DMA transfers need DMATRFMOFFS on a block boundary")
        plan: list[tuple[int, UcodeSegment, bool]] = []
        total = 0
        for seg, imem in [(s, True) for s in ucode.imem] + [(s, False) for s in ucode.dmem]:
            plan.append((total, seg, imem))
            total += -(-seg.size // BLOCK) * BLOCK
        buf = self.dma.alloc(total, name=f"{self.name} {ucode.name} DMA staging")
        try:
            buf.fill(0)
            for off, seg, _ in plan:
                buf.write(off, seg.data)
            self.configure_dma(ctx)
            for off, seg, imem in plan:
                self._dma_segment(buf, off, seg, imem, ctx, ucode.name)
        finally:
            self.dma.free(buf)
        self._finish_load(ucode)

    def _dma_segment(self, buf: DmaBuffer, off: int, seg: UcodeSegment, imem: bool, ctx: int, what: str) -> None:
        fb_start = seg.virt if imem else 0  # IMEM blocks are tagged with FBOFFS >> 8
        length = -(-seg.size // BLOCK) * BLOCK
        base = buf.bus_addr + off - fb_start
        mem = "IMEM" if imem else "DMEM"
        if base < 0 or base % BLOCK:
            raise FalconError(f"{self.name}: {what} {mem} segment {seg.describe()}: DMA base {base:#x} (staging bus "
                              f"address {buf.bus_addr + off:#x} - tag {fb_start:#x}) is not a 256-byte aligned address")
        if base + fb_start + length > DMA_ADDR_LIMIT:
            raise FalconError(f"{self.name}: {what} {mem} segment {seg.describe()}: DMA source "
                              f"[{buf.bus_addr + off:#x}, {buf.bus_addr + off + length:#x}) reaches above the 49-bit "
                              f"falcon DMA limit {DMA_ADDR_LIMIT:#x} (DMATRFBASE/DMATRFBASE1)")
        if seg.dst + length - BLOCK > self._moffs_max:
            raise FalconError(f"{self.name}: {what} {mem} segment {seg.describe()}: falcon address "
                              f"{seg.dst + length - BLOCK:#x} does not fit DMATRFMOFFS.OFFS on {self.family} "
                              f"(at most {self._moffs_max:#x})")
        NV_PFALCON_FALCON_DMATRFBASE.write(self.bar, (base >> 8) & 0xFFFFFFFF, base=self.base)
        NV_PFALCON_FALCON_DMATRFBASE1.write(self.bar, base >> 40, base=self.base)
        cmd = NV_PFALCON_FALCON_DMATRFCMD.encode(size=DmaTrfSize.SIZE_256B, imem=int(imem),
                                                 sec=int(imem and seg.secure), ctxdma=ctx)
        wr, moffs, fboffs, trf = self.bar.write32, self._moffs, self._fboffs, self._dmatrfcmd
        for pos in range(0, length, BLOCK):
            wr(moffs, seg.dst + pos)
            wr(fboffs, fb_start + pos)
            trf.write(cmd)
            trf.wait(self.clock, timeout=DMA_IDLE_TIMEOUT, interval=1 * US,
                     what=f"{self.name} falcon DMA of {mem} block {seg.dst + pos:#x} to finish (DMATRFCMD.IDLE=1)",
                     idle=1)

    # -- running ------------------------------------------------------------------------------------

    def write_mailboxes(self, mbox0: int | None = None, mbox1: int | None = None) -> None:
        if mbox0 is not None:
            NV_PFALCON_FALCON_MAILBOX0.write(self.bar, mbox0, base=self.base)
        if mbox1 is not None:
            NV_PFALCON_FALCON_MAILBOX1.write(self.bar, mbox1, base=self.base)

    def read_mailboxes(self) -> tuple[int, int]:
        return (NV_PFALCON_FALCON_MAILBOX0.read(self.bar, base=self.base),
                NV_PFALCON_FALCON_MAILBOX1.read(self.bar, base=self.base))

    def start(self) -> None:
        """Start the falcon CPU at BOOTVEC: through CPUCTL_ALIAS when CPUCTL.ALIAS_EN is set, else CPUCTL."""
        cpuctl = NV_PFALCON_FALCON_CPUCTL.read(self.bar, base=self.base)
        if NV_PFALCON_FALCON_CPUCTL.alias_en.is_set(cpuctl):
            NV_PFALCON_FALCON_CPUCTL_ALIAS.write(self.bar, base=self.base, startcpu=1)
        else:
            NV_PFALCON_FALCON_CPUCTL.write(self.bar, base=self.base, startcpu=1)

    def is_halted(self) -> bool:
        return NV_PFALCON_FALCON_CPUCTL.halted.is_set(NV_PFALCON_FALCON_CPUCTL.read(self.bar, base=self.base))

    def wait_halted(self, timeout: int = HALT_TIMEOUT) -> None:
        """Wait for CPUCTL.HALTED.

        Raises:
            PollTimeout: naming the engine.
        """
        NV_PFALCON_FALCON_CPUCTL.wait(self.bar, self.clock, base=self.base, timeout=timeout, interval=10 * US,
                                      what=f"{self.name} falcon to halt (CPUCTL.HALTED=1) after start", halted=1)

    def boot(self, mbox0: int | None = None, mbox1: int | None = None, *,
             timeout: int = HALT_TIMEOUT) -> tuple[int, int]:
        """Write the mailboxes, start, wait for the halt; returns (MAILBOX0, MAILBOX1)."""
        self.write_mailboxes(mbox0, mbox1)
        self.start()
        self.wait_halted(timeout)
        return self.read_mailboxes()

    def run(self, ucode: FalconUcode, mbox0: int | None = None, mbox1: int | None = None, *,
            reset: bool = True, method: LoadMethod | None = None) -> tuple[int, int]:
        """Reset (optionally), load, boot, and require MAILBOX0 = 0 (the HS ucodes' success code).

        Raises:
            FalconError: the ucode halted with a non-zero MAILBOX0.
        """
        if reset:
            self.reset()
        self.load(ucode, method=method)
        m0, m1 = self.boot(mbox0, mbox1)
        if m0 != 0:
            raise FalconError(f"{self.name}: {ucode.name} halted with MAILBOX0 {m0:#010x} (MAILBOX1 {m1:#010x}); "
                              f"0 means success")
        return m0, m1

    def write_os_version(self, app_version: int) -> None:
        """The OS register: the GSP bootloader's appVersion, written before GSP-RM starts."""
        NV_PFALCON_FALCON_OS.write(self.bar, app_version, base=self.base)

    # -- RISC-V -------------------------------------------------------------------------------------

    def is_riscv_active(self) -> bool:
        return self.hal.riscv_active(self)

    def wait_riscv_active(self, timeout: int = RISCV_ACTIVE_TIMEOUT) -> None:
        """Wait until the RISC-V core reports active (the GSP after booter_load).

        Raises:
            PollTimeout: naming the engine and the HAL's status register.
        """
        reg = "RISCV_CPUCTL" if self.hal.kind is FalconHal.GA102 else "RISCV_CORE_SWITCH_RISCV_STATUS"
        poll_timeout(self.is_riscv_active, bool, clock=self.clock, timeout=timeout, interval=RISCV_ACTIVE_INTERVAL,
                     what=f"{self.name} RISC-V core active ({reg}.ACTIVE_STAT=1)")

    # -- interrupts and fuses -----------------------------------------------------------------------

    def irq_status(self) -> int:
        """Pending interrupts (IRQSTAT; bit 4 HALT, bit 6 SWGEN0, bit 7 SWGEN1)."""
        return NV_PFALCON_FALCON_IRQSTAT.read(self.bar, base=self.base)

    def clear_irq(self, mask: int = IRQ_HALT | IRQ_SWGEN0 | IRQ_SWGEN1) -> None:
        """Clear the interrupts in ``mask`` (IRQSCLR is write-1-to-clear)."""
        NV_PFALCON_FALCON_IRQSCLR.write(self.bar, mask, base=self.base)

    def fuse_version(self, engine_id_mask: int, ucode_id: int) -> int:
        """The fused minimum version of ``ucode_id`` for the engine in ``engine_id_mask`` (picks a signature)."""
        return self.hal.fuse_version(self, engine_id_mask, ucode_id)
