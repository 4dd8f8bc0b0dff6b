"""Helpers for the boot tests: what the simulated GPU says happened."""

from __future__ import annotations

from typing import Any

from nova_core.sim import SimGpu

#: every chip that boots through FWSEC and the SEC2 booter (Turing, Ampere, Ada)
SEC2_CHIPS = ["tu102", "tu104", "tu106", "tu116", "tu117", "ga100", "ga102", "ga103", "ga104", "ga106", "ga107",
              "ad102", "ad103", "ad104", "ad106", "ad107"]

#: the vBIOS fixture of each chip's family (a ROM of another chip of the family is served as is)
_AD102_ROM = "ada-ad102_2684_asus-strix-rtx4090-nvgi.rom"
REAL_ROMS = {"tu102": "turing-tu106_1f08_asus-tuf-rtx2060-nvgi.rom", "tu116": "turing-tu117_1f82_gtx1650.rom",
             "ga100": None, "ga102": "ampere-ga102_2204_gigabyte-rtx3090.rom", "ad102": _AD102_ROM, "ad104": _AD102_ROM}


def wpr2(gpu: SimGpu) -> tuple[int, int]:
    return gpu.models["secure_chain"].wpr2  # type: ignore[attr-defined,no-any-return]


def rm(gpu: SimGpu) -> Any:
    return gpu.models["gsp_rm"]
