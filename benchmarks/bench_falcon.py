"""Falcon loads: PIO and DMA against the bare register sequence they are made of, and the whole secure chain.

- ``pio_load``: a booter-sized ucode (TU102 booter_load: 0x8000 bytes of IMEM, 0x6200 of DMEM) through
  IMEMC/IMEMT/IMEMD and DMEMC/DMEMD, on a plain ``BufferBar`` (no simulated hooks: the driver's own cost)
  - against a loop of ``write32`` of the same number of words to the same port (the least any PIO
  loader does);
- ``dma_load``: an FWSEC-sized ucode (AD102: 0xF200 + 0xD80 bytes) by DMA on the simulated GA102-class
  falcon - against the bare per-block register sequence (MOFFS, FBOFFS, DMATRFCMD, one IDLE read) on the
  same simulated BAR;
- ``secure chain``: FWSEC-FRTS -> WPR meta -> booter_load -> GSP RISC-V active -> unload on the simulated
  AD102 with synthetic firmware (reported; the simulated checks included).
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from _harness import Harness, Target
from nova_core.falcon import Falcon, FalconUcode, UcodeSegment
from nova_core.falcon.chain import run_secure_chain, unload_secure_chain
from nova_core.fb import read_fb_layout
from nova_core.fb.sysmem_flush import SysmemFlush
from nova_core.firmware import open_firmware_set
from nova_core.gpu import Chipset, identify
from nova_core.gpu.chips import FalconHal
from nova_core.hw.bar import BufferBar
from nova_core.hw.clock import VirtualClock
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_DMATRFCMD, NV_PFALCON_FALCON_HWCFG, NV_PFALCON_FALCON_IMEMD
from nova_core.sim import SimGpu
from nova_core.sim.models.falcon import StartResult
from nova_core.sim.synth.firmware import write_firmware_tree
from nova_core.vbios import Vbios


def _blob(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def run(h: Harness) -> None:
    # -- PIO, driver cost only ------------------------------------------------------------------------
    bar = BufferBar(bytearray(16 << 20))
    bar.write32(NV_PFALCON_FALCON_HWCFG.addr(FALCON.SEC2),  # 64 KiB of IMEM and DMEM
                NV_PFALCON_FALCON_HWCFG.encode(imem_size=0x100, dmem_size=0x100))
    f = Falcon(bar, VirtualClock(), base=FALCON.SEC2, hal=FalconHal.TU102, name="SEC2")
    pio = FalconUcode("booter-sized", (UcodeSegment(_blob(0x100, 1), 0), UcodeSegment(_blob(0x7F00, 2), 0x100, True)),
                      (UcodeSegment(_blob(0x6200, 3), 0),), 0)
    words = sum(s.size for s in pio.imem + pio.dmem) // 4
    port = NV_PFALCON_FALCON_IMEMD.addr(FALCON.SEC2, 0)

    def raw_pio() -> None:
        wr = bar.write32
        for _ in range(words):
            wr(port, 0x12345678)

    h.compare("Falcon.pio_load (56 KiB, BufferBar)", lambda: f.pio_load(pio), "bare write32 loop, same words",
              raw_pio, target=Target(max_ratio=1.5), number=3, words=words)

    # -- DMA on the simulated falcon ------------------------------------------------------------------
    gpu = SimGpu("ga102")
    SysmemFlush.register(gpu.bar0, gpu.sysmem, gpu.chipset)  # as the boot does before any falcon reset
    sim_sec2 = gpu.models["falcon"].sec2  # type: ignore[attr-defined]
    sim_sec2.on_start = lambda _f: StartResult.halt(0)
    dev = gpu.device()
    g = Falcon(dev.bar0, dev.clock, base=FALCON.SEC2, hal=FalconHal.GA102, name="SEC2", dma=dev.dma)
    from nova_core.falcon import BromParams

    dma = FalconUcode("fwsec-sized", (UcodeSegment(_blob(0xF200, 4), 0, True, 0),), (UcodeSegment(_blob(0xD80, 5), 0),),
                      0, BromParams(0x200, 0x400, 9))
    g.reset()
    blocks = (0xF200 + 0xE00) // 256
    cmd = NV_PFALCON_FALCON_DMATRFCMD.addr(FALCON.SEC2)
    moffs, fboffs = cmd - 4, cmd + 4
    sbar = dev.bar0
    staging = dev.dma.alloc(0x10000)
    from nova_core.regs.falcon import (
        NV_PFALCON_FALCON_DMATRFBASE,
        NV_PFALCON_FALCON_DMATRFBASE1,
        NV_PFALCON_FBIF_CTL,
        NV_PFALCON_FBIF_TRANSCFG,
    )

    def raw_dma() -> None:
        # the DMA set-up dma_load also does (and every call: the rounds interleave with dma_load, which points
        # DMATRFBASE at its own, since freed, buffer)
        sbar.write32(NV_PFALCON_FBIF_CTL.addr(FALCON.SEC2), 0x80)
        sbar.write32(NV_PFALCON_FBIF_TRANSCFG.addr(FALCON.SEC2, 0), 0x5)
        # the base as the driver writes it: bits 39:8 and 48:40 (the sim's IOVAs lie above 1 TiB)
        sbar.write32(NV_PFALCON_FALCON_DMATRFBASE.addr(FALCON.SEC2), (staging.bus_addr >> 8) & 0xFFFFFFFF)
        sbar.write32(NV_PFALCON_FALCON_DMATRFBASE1.addr(FALCON.SEC2), staging.bus_addr >> 40)
        for i in range(blocks):
            sbar.write32(moffs, (i * 256) & 0xFFFF)
            sbar.write32(fboffs, i * 256)
            sbar.write32(cmd, 0x600)
            dev.clock.sleep(1000)
            sbar.read32(cmd)

    h.compare("Falcon.dma_load (63 KiB, simulated GA102 SEC2)", lambda: g.dma_load(dma),
              "bare per-block DMA register sequence", raw_dma, target=Target(max_ratio=2.0), number=3, blocks=blocks)

    # -- the whole chain, simulated checks included ---------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        write_firmware_tree(tmp, "ad102")
        cgpu = SimGpu("ad102")
        SysmemFlush.register(cgpu.bar0, cgpu.sysmem, cgpu.chipset)
        cgpu.models["secure_chain"].expect_firmware(tmp)  # type: ignore[attr-defined]
        cgpu.models["secure_chain"].on_gsp_riscv_start = None  # type: ignore[attr-defined]
        cdev = cgpu.device()
        spec = identify(cdev.bar0)
        vb = Vbios.from_bar(cdev.bar0, "sim")
        fw = open_firmware_set(Chipset.AD102, roots=[Path(tmp)])
        lay = read_fb_layout(cdev.bar0, spec, bootloader_size=len(fw.bootloader.payload),
                             gsp_image_size=fw.gsp.image_size, version=fw.version)
        libos = cdev.dma.alloc(0x1000)

        def cycle() -> None:
            r = run_secure_chain(cdev, spec, vb, fw, lay, libos.bus_addr)
            unload_secure_chain(cdev, spec, vb, fw)
            r.free(cdev.dma)

        h.report("secure chain + unload (AD102, synthetic 3 MiB image)", h.samples(cycle, number=3, rounds=3))
        fw.close()
