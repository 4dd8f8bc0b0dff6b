"""nova_core.regs.prom: the PROM window: the vBIOS ROM as seen through BAR0.

Source: open-gpu-kernel-modules ``published/turing/tu102/dev_ext_devices.h`` (NV_PROM_DATA(i) =
0x300000 + i); nova-core ``vbios.rs`` and OpenRM read it as 32-bit words with a 1 MiB scan limit.
"""

from __future__ import annotations

from .core import Window

PROM_BASE = 0x300000
PROM_SIZE = 0x100000  #: the window (and the scan limit of nova-core and OpenRM): 1 MiB

PROM = Window("NV_PROM_DATA", PROM_BASE, PROM_SIZE, doc="vBIOS ROM bytes, read as 32-bit words")

#: BAR0 0x700000-0x7FFFFF shows 1 MiB of VRAM at NV_PBUS_BAR0_WINDOW (nouveau, nova-core MM series)
PRAMIN = Window("NV_PRAMIN", 0x700000, 0x100000, doc="1 MiB window into VRAM (PRAMIN)")
