"""nova_core.falcon.engines: the GSP and SEC2 falcons of a device, and which chips may use the SEC2 path.

Turing, Ampere and Ada boot GSP-RM through FWSEC-FRTS on the GSP falcon and the HS booter on SEC2
(``BootPath.SEC2_BOOTER``). Hopper and Blackwell boot through the FSP (a chain of trust the driver
only talks to through a message queue, ``BootPath.FSP``: :mod:`nova_core.fsp`), so asking for the SEC2
booter path there is refused with a clear error rather than attempted.
"""

from __future__ import annotations

from ..errors import FalconError
from ..gpu.chips import BootPath, Chipset
from ..hw.device import Device
from ..regs.falcon import CoreSelect
from .engine import Falcon
from .facts import FalconEngine


def require_sec2_boot_path(chipset: Chipset) -> None:
    """Refuse chips that do not boot GSP-RM through FWSEC and the SEC2 booter.

    Raises:
        FalconError: Hopper/Blackwell (FSP chain of trust: :mod:`nova_core.fsp.boot`).
    """
    facts = chipset.facts
    if facts.boot_path is not BootPath.SEC2_BOOTER:
        raise FalconError(
            f"{chipset.name} ({facts.architecture.family}) boots GSP-RM through the FSP chain of trust "
            f"(nova_core.fsp), not through FWSEC on the GSP falcon and the booter on SEC2"
        )


def falcon(dev: Device, chipset: Chipset, engine: FalconEngine) -> Falcon:
    """The falcon ``engine`` of ``dev`` with the chip's HAL and the device's DMA allocator."""
    return Falcon(dev.bar0, dev.clock, base=engine.base, hal=chipset, name=engine.label, dma=dev.dma)


def gsp_falcon(dev: Device, chipset: Chipset) -> Falcon:
    """The GSP falcon (0x110000): FWSEC runs here; later GSP-RM on its RISC-V core."""
    return falcon(dev, chipset, FalconEngine.GSP)


def sec2_falcon(dev: Device, chipset: Chipset) -> Falcon:
    """The SEC2 falcon (0x840000), which runs the HS booters.

    Raises:
        FalconError: the chip boots through the FSP (Hopper, Blackwell).
    """
    require_sec2_boot_path(chipset)
    return falcon(dev, chipset, FalconEngine.SEC2)


class SequencerCores:
    """The GSP and SEC2 cores of a device as the CPU sequencer's CORE_* commands drive them.

    Implements :class:`nova_core.gsp.sequencer.FalconCore` (OpenRM ``kgspExecuteSequencerCommand``:
    CORE_RESET resets the GSP falcon, CORE_RESUME resets it into RISC-V mode, CORE_START starts SEC2). On the FSP
    path there is no SEC2 booter to start: CORE_START is refused there.
    """

    def __init__(self, dev: Device, chipset: Chipset) -> None:
        self.chipset = chipset
        self.gsp = gsp_falcon(dev, chipset)
        self.sec2 = sec2_falcon(dev, chipset) if chipset.facts.boot_path is BootPath.SEC2_BOOTER else None

    def reset_gsp(self) -> None:
        self.gsp.reset()

    def reset_gsp_into_riscv(self) -> None:
        self.gsp.reset(core=CoreSelect.RISCV)

    def start_sec2(self) -> None:
        if self.sec2 is None:
            require_sec2_boot_path(self.chipset)
            return  # pragma: no cover - require_sec2_boot_path raised
        self.sec2.start()

    def gsp_riscv_active(self) -> bool:
        return self.gsp.is_riscv_active()
