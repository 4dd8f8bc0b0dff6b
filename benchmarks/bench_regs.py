"""Register access cost: the register layer against a raw memoryview read of the same mmap, the same kind of call.

Every pair is timed inline (``Harness.compare_stmt``: both statements in the same ``timeit`` loop, the empty loop
subtracted), so neither side pays a call the other does not:

- ``bind(bar).read()`` (a call with no argument) against the raw read as the same kind of call: a zero-argument
  callable that does nothing but ``words[i]`` (``functools.partial(operator.getitem, words, i)``, the cheapest such
  call CPython has: no Python frame, so unlike a ``def`` it cannot make the raw side look slow) (issue 14 row 1);
- the class verbs ``NV_PMC_BOOT_0.read(bar)`` and ``CPUCTL.read(bar, base=GSP)`` (a call that takes the BAR)
  against the same kind of call written by hand: a plain function taking the same arguments whose body is the raw
  read (``raw_read(bar)``: ``words[0]``; ``raw_read_rel(bar, base=GSP)``: ``words[(base + 0x100) >> 2]``);
- every one of them against the bare inline ``words[i]`` too (no target: what any Python call costs on top of a
  subscript), so the absolute overhead is on the table;
- the floor of ``bind().read()`` against the inline subscript: the same partial held in a ``__slots__`` attribute and
  called (bind's shape, with no register layer at all) - no call of a prebuilt callable held by an object comes
  within 2x of an inline memoryview subscript in CPython 3.11 (the attribute is not found on the type, so the call
  site's method lookup is not specialised).

The BAR is an ``MmapBar`` of a 16 MiB file (a sysfs ``resource0`` is mapped the same way).
"""

from __future__ import annotations

import functools
import mmap
import operator
import tempfile

from _harness import Harness, Target
from nova_core.hw.bar import MmapBar
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_CPUCTL
from nova_core.regs.pmc import NV_PMC_BOOT_0, NV_PMC_BOOT_42

CPUCTL_OFFSET = NV_PFALCON_FALCON_CPUCTL.OFFSET


class _Slot:
    __slots__ = ("read",)


def run(h: Harness) -> None:
    with tempfile.NamedTemporaryFile(suffix=".bar") as f:
        f.write(bytes(16 << 20))
        f.flush()
        bar = MmapBar(f.name)
        with open(f.name, "rb") as fh:
            raw = mmap.mmap(fh.fileno(), 0, prot=mmap.PROT_READ)
        words = memoryview(raw).cast("I")
        gsp = FALCON.GSP

        def raw_read(bar: object) -> int:
            return words[0]

        def raw_read_rel(bar: object, *, base: int) -> int:
            return words[(base + CPUCTL_OFFSET) >> 2]

        ns = {
            "words": words, "bar": bar, "GSP": gsp, "i_boot0": 0, "i_boot42": NV_PMC_BOOT_42.addr() >> 2,
            "i_cpuctl": NV_PFALCON_FALCON_CPUCTL.addr(gsp) >> 2, "raw_read": raw_read, "raw_read_rel": raw_read_rel,
            "NV_PMC_BOOT_0": NV_PMC_BOOT_0, "NV_PMC_BOOT_42": NV_PMC_BOOT_42, "CPUCTL": NV_PFALCON_FALCON_CPUCTL,
            "boot42": NV_PMC_BOOT_42.bind(bar), "cpuctl": NV_PFALCON_FALCON_CPUCTL.bind(bar, base=gsp),
            "arch": NV_PMC_BOOT_42.architecture,
        }
        two = Target(max_ratio=2)
        # the raw read as a zero-argument call (the same kind of call as bound.read())
        ns["raw_boot42"] = functools.partial(operator.getitem, words, ns["i_boot42"])
        ns["raw_cpuctl"] = functools.partial(operator.getitem, words, ns["i_cpuctl"])
        raw_call = "partial(getitem, words, i)(): the raw read as a zero-argument call"
        h.compare_stmt("NV_PMC_BOOT_42.bind(bar).read()", "boot42.read()", raw_call, "raw_boot42()", ns, target=two)
        h.compare_stmt("CPUCTL.bind(bar, base=GSP).read()", "cpuctl.read()", raw_call, "raw_cpuctl()", ns, target=two)
        h.compare_stmt("NV_PMC_BOOT_42.bind(bar).read(), absolute", "boot42.read()", "words[i] (inline)",
                       "words[i_boot42]", ns)
        h.compare_stmt("CPUCTL.bind(bar, base=GSP).read(), absolute", "cpuctl.read()", "words[i] (inline)",
                       "words[i_cpuctl]", ns)
        h.compare_stmt("NV_PMC_BOOT_0.read(bar)", "NV_PMC_BOOT_0.read(bar)", "raw_read(bar): def, words[0]",
                       "raw_read(bar)", ns, target=two)
        h.compare_stmt("CPUCTL.read(bar, base=GSP) (engine-relative)", "CPUCTL.read(bar, base=GSP)",
                       "raw_read_rel(bar, base=GSP): def, words[(base + off) >> 2]", "raw_read_rel(bar, base=GSP)",
                       ns, target=two)
        h.compare_stmt("NV_PMC_BOOT_0.read(bar), absolute", "NV_PMC_BOOT_0.read(bar)", "words[0] (inline)",
                       "words[i_boot0]", ns)
        h.compare_stmt("CPUCTL.read(bar, base=GSP), absolute", "CPUCTL.read(bar, base=GSP)", "words[i] (inline)",
                       "words[i_cpuctl]", ns)
        h.compare_stmt("Bar.read32 (MmapBar)", "bar.read32(0xA00)", "words[i] (inline)", "words[i_boot42]", ns)
        h.compare_stmt("BOOT_42.architecture.get(BOOT_42.read(bar))", "arch.get(NV_PMC_BOOT_42.read(bar))",
                       "(words[i] >> 24) & 0x3F (inline)", "(words[i_boot42] >> 24) & 0x3F", ns)
        # the floor of any bound read in CPython: the raw zero-argument call held in a slot and called, no register
        # layer at all (what bind().read() is made of), against the inline subscript
        slot = _Slot()
        slot.read = ns["raw_boot42"]
        ns["slot"] = slot
        h.compare_stmt("floor: the raw zero-argument call itself", "raw_boot42()", "words[i] (inline)",
                       "words[i_boot42]", ns)
        h.compare_stmt("floor: the same call held in a __slots__ attribute (bind's shape)", "slot.read()",
                       "words[i] (inline)", "words[i_boot42]", ns)
        del ns
        words.release()
        raw.close()
        bar.close()
