"""nova_core.falcon.hal: what differs between falcon generations, chosen from the chip facts table.

Two behaviours, named after the first chip that has them (nova-core ``falcon/hal/{tu102,ga102}.rs``):

========================  =============================================  ============================================
                          TU102 (Turing, GA100)                          GA102 (GA102 and later)
========================  =============================================  ============================================
before reset              -                                              poll HWCFG2.RESET_READY <= 150 us; a timeout
                                                                         is not an error (OpenRM
                                                                         ``kflcnPreResetWait_GA102``: hardware
                                                                         sometimes never sets it); from GH100 on
                                                                         nothing (the field is not there)
scrubbing done            DMACTL.DMEM/IMEM_SCRUBBING clear, <= 10 ms     HWCFG2.MEM_SCRUBBING clear, <= 20 ms
core select               nothing (the booter switches the GSP core)     RISCV_BCR_CTRL: falcon = CORE_SELECT 0 and
                                                                         wait VALID (<= 10 ms); RISC-V =
                                                                         CORE_SELECT | BRFETCH (nouveau
                                                                         ``ga102_gsp_reset`` writes 0x111; VALID
                                                                         is read-only)
load method               PIO (DMA works too)                            DMA only (the PIO ports are masked to the
                                                                         CPU, nova-core ``FalconHal::load_method``)
boot ROM parameters       none                                           PARAADDR(0), ENGIDMASK, CURR_UCODE_ID,
                                                                         MOD_SEL = RSA3K
fused ucode version       0 (nova-core)                                  fuse array of the engine-id mask, entry
                                                                         ucode_id - 1, highest set bit + 1
RISC-V active             RISCV_CORE_SWITCH_RISCV_STATUS.ACTIVE_STAT     RISCV_CPUCTL.ACTIVE_STAT
========================  =============================================  ============================================
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from ..errors import FalconError, PollTimeout
from ..firmware.booter import fused_version_from_fuse
from ..firmware.hs import BromParams
from ..gpu.chips import Chipset, FalconHal
from ..hw.clock import MS, US
from ..regs.falcon import (
    NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID,
    NV_PFALCON2_FALCON_BROM_ENGIDMASK,
    NV_PFALCON2_FALCON_BROM_PARAADDR,
    NV_PFALCON2_FALCON_MOD_SEL,
    NV_PFALCON_FALCON_DMACTL,
    NV_PFALCON_FALCON_ENGINE,
    NV_PFALCON_FALCON_HWCFG2,
    NV_PRISCV_RISCV_BCR_CTRL,
    NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS,
    NV_PRISCV_RISCV_CPUCTL,
    CoreSelect,
    ModSelAlgo,
)
from ..regs.fuse import FUSE_VERSION_BY_ENGINE
from .facts import FUSE_UCODE_IDS

if TYPE_CHECKING:
    from .engine import Falcon

log = logging.getLogger(__name__)

# TIMEOUT: OpenRM kflcnPreResetWait_GA102 / nova-core: RESET_READY within 150 us, or give up and reset anyway.
RESET_READY_TIMEOUT = 150 * US
# TIMEOUT: nova-core reset_engine: the ENGINE reset bit is held for 10 us.
RESET_PULSE = 10 * US
# TIMEOUT: nova-core: memory scrubbing completes in less than 10 ms (Turing DMACTL) / 20 ms (GA102 HWCFG2).
SCRUB_TIMEOUT_TU102 = 10 * MS
SCRUB_TIMEOUT_GA102 = 20 * MS
# TIMEOUT: nova-core select_core_ga102: the falcon core reports VALID in less than 10 ms.
BCR_VALID_TIMEOUT = 10 * MS


class LoadMethod(enum.Enum):
    PIO = "pio"  #: programmed I/O through IMEMC/IMEMD/IMEMT and DMEMC/DMEMD
    DMA = "dma"  #: the falcon's FBIF DMA from system memory, 256 bytes per command


class FalconHalOps:
    """The generation-specific steps; one shared instance per :class:`~nova_core.gpu.chips.FalconHal`."""

    kind: FalconHal
    load_method: LoadMethod
    pio_allowed: bool

    def reset_engine(self, f: Falcon) -> None:
        """Pulse the engine reset (with the generation's pre-reset wait), then wait for scrubbing."""
        NV_PFALCON_FALCON_ENGINE.update(f.bar, base=f.base, reset=1)
        f.clock.sleep(RESET_PULSE)
        NV_PFALCON_FALCON_ENGINE.update(f.bar, base=f.base, reset=0)
        self.wait_scrubbing(f)

    def wait_scrubbing(self, f: Falcon) -> None:
        raise NotImplementedError

    def select_core(self, f: Falcon, core: CoreSelect) -> None:
        raise NotImplementedError

    def program_brom(self, f: Falcon, brom: BromParams | None) -> None:
        raise NotImplementedError

    def fuse_version(self, f: Falcon, engine_id_mask: int, ucode_id: int) -> int:
        raise NotImplementedError

    def riscv_active(self, f: Falcon) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<FalconHal {self.kind.value}>"


class Tu102Hal(FalconHalOps):
    kind = FalconHal.TU102
    load_method = LoadMethod.PIO
    pio_allowed = True

    def wait_scrubbing(self, f: Falcon) -> None:
        NV_PFALCON_FALCON_DMACTL.wait(
            f.bar, f.clock, base=f.base, timeout=SCRUB_TIMEOUT_TU102, interval=10 * US,
            what=f"{f.name} falcon IMEM/DMEM scrubbing to finish (DMACTL.IMEM_SCRUBBING=0, DMEM_SCRUBBING=0)",
            imem_scrubbing=0, dmem_scrubbing=0)

    def select_core(self, f: Falcon, core: CoreSelect) -> None:
        # Turing/GA100: nothing to select; the falcon core runs after reset and the booter starts the
        # GSP's RISC-V core itself (nova-core Tu102::select_core is empty).
        return

    def program_brom(self, f: Falcon, brom: BromParams | None) -> None:
        if brom is not None:
            raise FalconError(f"{f.name}: the TU102 falcon HAL (Turing, GA100) has no boot ROM parameter registers; "
                              f"a ucode carrying BROM parameters {brom} was built for a GA102+ chip")

    def fuse_version(self, f: Falcon, engine_id_mask: int, ucode_id: int) -> int:
        # nova-core Tu102::signature_reg_fuse_version: Turing and GA100 report 0 (their booters carry one
        # signature per fuse version and version 0 selects the last).
        return 0

    def riscv_active(self, f: Falcon) -> bool:
        return NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS.active_stat.is_set(
            NV_PRISCV_RISCV_CORE_SWITCH_RISCV_STATUS.read(f.bar, base=f.base2))


class Ga102Hal(FalconHalOps):
    kind = FalconHal.GA102
    load_method = LoadMethod.DMA
    pio_allowed = False

    def reset_engine(self, f: Falcon) -> None:
        hwcfg2 = NV_PFALCON_FALCON_HWCFG2.for_family(f.family)
        if "reset_ready" in hwcfg2._BY_NAME:  # GA102..AD107 (kflcnPreResetWait_GA102); a no-op from GH100 on
            hwcfg2.read(f.bar, base=f.base)
            try:
                hwcfg2.wait(f.bar, f.clock, base=f.base, timeout=RESET_READY_TIMEOUT, interval=1 * US,
                            what=f"{f.name} falcon RESET_READY (HWCFG2.RESET_READY=1)", reset_ready=1)
            except PollTimeout as e:
                note = f"{f.name}: {e}; resetting anyway (hardware does not always set it)"
                f.notes.append(note)
                log.warning(note)
        super().reset_engine(f)

    def wait_scrubbing(self, f: Falcon) -> None:
        NV_PFALCON_FALCON_HWCFG2.for_family(f.family).wait(
            f.bar, f.clock, base=f.base, timeout=SCRUB_TIMEOUT_GA102, interval=10 * US,
            what=f"{f.name} falcon IMEM/DMEM scrubbing to finish (HWCFG2.MEM_SCRUBBING=0)", mem_scrubbing=0)

    def select_core(self, f: Falcon, core: CoreSelect) -> None:
        bcr = NV_PRISCV_RISCV_BCR_CTRL
        if core is CoreSelect.RISCV:
            # nouveau ga102_gsp_reset writes 0x111; VALID (bit 0) is read-only (ampere/ga102/dev_riscv_pri.h
            # R-IVF), so the hardware takes CORE_SELECT and BRFETCH only.
            bcr.update(f.bar, base=f.base2, core_select=CoreSelect.RISCV, brfetch=1)
            return
        if bcr.core_select.get(bcr.read(f.bar, base=f.base2)) == CoreSelect.FALCON:
            return
        bcr.write(f.bar, base=f.base2, core_select=CoreSelect.FALCON)
        bcr.wait(f.bar, f.clock, base=f.base2, timeout=BCR_VALID_TIMEOUT, interval=10 * US,
                 what=f"{f.name} falcon core selected (RISCV_BCR_CTRL.VALID=1 after CORE_SELECT=FALCON)", valid=1)

    def program_brom(self, f: Falcon, brom: BromParams | None) -> None:
        if brom is None:
            raise FalconError(f"{f.name}: the GA102+ boot ROM verifies every heavy-secure ucode; this ucode carries "
                              f"no BROM parameters (PKC signature offset, engine-id mask, ucode id)")
        NV_PFALCON2_FALCON_BROM_PARAADDR.write(f.bar, base=f.base2, i=0, value=brom.pkc_data_offset)
        NV_PFALCON2_FALCON_BROM_ENGIDMASK.write(f.bar, base=f.base2, value=brom.engine_id_mask)
        NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID.write(f.bar, base=f.base2, ucode_id=brom.ucode_id)
        NV_PFALCON2_FALCON_MOD_SEL.write(f.bar, base=f.base2, algo=ModSelAlgo.RSA3K)

    def fuse_version(self, f: Falcon, engine_id_mask: int, ucode_id: int) -> int:
        if ucode_id not in FUSE_UCODE_IDS:
            raise FalconError(f"{f.name}: ucode id {ucode_id} has no fuse version register (valid ids "
                              f"{FUSE_UCODE_IDS.start}..{FUSE_UCODE_IDS.stop - 1})")
        for bit, reg in FUSE_VERSION_BY_ENGINE.items():  # nova-core order: SEC2, NVDEC, GSP
            if engine_id_mask & bit:
                return fused_version_from_fuse(reg.read(f.bar, i=ucode_id - 1))
        raise FalconError(f"{f.name}: engine-id mask {engine_id_mask:#x} names no engine with fuse version registers "
                          f"(expected one of {', '.join(hex(b) for b in FUSE_VERSION_BY_ENGINE)})")

    def riscv_active(self, f: Falcon) -> bool:
        return NV_PRISCV_RISCV_CPUCTL.active_stat.is_set(NV_PRISCV_RISCV_CPUCTL.read(f.bar, base=f.base2))


HALS: dict[FalconHal, FalconHalOps] = {FalconHal.TU102: Tu102Hal(), FalconHal.GA102: Ga102Hal()}
#: the register family a HAL named by itself stands for (its first chip's); a Chipset gives its own
HAL_FAMILY: dict[FalconHal, str] = {FalconHal.TU102: "TU102", FalconHal.GA102: "GA102"}


def falcon_hal(which: FalconHal | Chipset) -> FalconHalOps:
    """The HAL of a chip (from ``CHIPS[chip].falcon_hal``) or of a :class:`FalconHal` value."""
    kind = which.facts.falcon_hal if isinstance(which, Chipset) else which
    return HALS[kind]
