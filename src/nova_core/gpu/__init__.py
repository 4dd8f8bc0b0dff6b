"""nova_core.gpu: what GPU this is and what it has.

- :mod:`.chips`     ``Architecture``, ``Chipset`` and the per-chip facts table ``CHIPS`` (facts);
- :mod:`.identify`  ``identify(bar) -> Spec`` from BOOT_0/BOOT_42, with ``Revision``;
- :mod:`.timer`     ``read_gpu_time(bar)``: PTIMER in nanoseconds (hi-lo-hi);
- :mod:`.vram`      ``vram_size(bar, spec)``;
- :mod:`.probe`     ``probe(device) -> ProbeResult``: all of the above, read-only.
"""

from __future__ import annotations

from .chips import CHIPS, Architecture, ChipFacts, Chipset
from .identify import Revision, Spec, decode_boot, identify
from .timer import read_gpu_time
from .vram import vram_size

__all__ = [
    "CHIPS",
    "Architecture",
    "ChipFacts",
    "Chipset",
    "Revision",
    "Spec",
    "decode_boot",
    "identify",
    "read_gpu_time",
    "vram_size",
]
