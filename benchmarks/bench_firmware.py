"""GSP firmware preparation vs one read of the file; the ELF reader vs pyelftools.

``prepare``: open and parse the GSP ELF, read ``.fwimage`` into scattered DMA pages (simulated IOMMU),
build the radix3 tree, place the chip's signature - against reading the same file once into a
preallocated, page-aligned buffer (the least any preparation must do; a buffer that starts inside a page is read
into 2-3x more slowly, which would flatter the preparation). Uses the real GA102 image when
``NOVA_FIRMWARE_PATH``/``/lib/firmware`` has it, the synthetic one otherwise (reported).
"""

from __future__ import annotations

import mmap
import tempfile
from pathlib import Path

from _harness import Harness, Target
from nova_core.errors import FirmwareError
from nova_core.firmware import GspImage, find_file
from nova_core.firmware.elf import ElfFile
from nova_core.firmware.facts import FirmwareKind
from nova_core.hw.clock import VirtualClock
from nova_core.hw.dma import ForeignMemory
from nova_core.sim.log import SimLog
from nova_core.sim.memory import SimSystemMemory
from nova_core.sim.synth.firmware import write_firmware_tree


def _gsp_file(tmp: str) -> tuple[Path, str]:
    try:
        return find_file("ga102", FirmwareKind.GSP, "535.113.01").real_path, "real GA102 535.113.01"
    except FirmwareError:
        write_firmware_tree(tmp, "ga102")
        return Path(tmp) / "nvidia/ga102/gsp/gsp-535.113.01.bin", "synthetic GA102 (no real firmware found)"


def run(h: Harness) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, what = _gsp_file(tmp)
        size = path.stat().st_size
        aligned = mmap.mmap(-1, (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE)  # page-aligned
        buf = memoryview(aligned)[:size]
        buf[:] = bytes(size)  # touched once: the reads below never fault a page in
        mem = SimSystemMemory(SimLog(VirtualClock()))

        def read_once() -> None:
            with open(path, "rb", buffering=0) as f:
                f.readinto(buf)

        def prepare() -> None:
            with GspImage.open(path) as gsp:
                prepared = gsp.prepare(mem, "ga102")
                prepared.free(mem)

        h.compare("prepare GSP firmware (parse, DMA copy, radix3, sig)", prepare,
                  "read file once into a page-aligned buffer", read_once, target=Target(max_ratio=1.5), number=3,
                  file=what, bytes=size)

        fm = ForeignMemory.from_file(path)
        try:
            from elftools.elf.elffile import ELFFile
        except ImportError:
            ELFFile = None
        if ELFFile is not None:
            def ours() -> None:
                e = ElfFile(fm.view, source=str(path))
                e.section(".fwimage")
                e.section(".fwversion")
                e.section(".fwsignature_ga10x")

            with open(path, "rb") as f:
                def pyelftools() -> None:
                    e = ELFFile(f)
                    e.get_section_by_name(".fwimage")
                    e.get_section_by_name(".fwversion").data()
                    e.get_section_by_name(".fwsignature_ga10x").data()

                h.compare("ELF open + find 3 sections (own reader, mmap)", ours, "pyelftools", pyelftools,
                          target=Target(min_speedup=1.0))

                def pyelftools_image() -> None:
                    ELFFile(f).get_section_by_name(".fwimage").data()

                h.report("pyelftools .fwimage data() (a copy)", h.samples(pyelftools_image, number=3, rounds=3))
        fm.close()
        buf.release()
        aligned.close()
