"""The simulated GPU's diagnostic log: bounded, thread-safe, lines kept compact and read back as Entries."""

from __future__ import annotations

import gc
import threading

from nova_core.hw.clock import VirtualClock
from nova_core.sim.log import Entry, Level, SimLog


def test_lines_read_back_as_entries_with_their_level_and_time() -> None:
    vc = VirtualClock(start=1_500_000)
    log = SimLog(vc)
    log.debug("pci", "MSI vector 0: wrote 0x40 to 0xfee00000")
    vc.advance(10)
    log.error("intr", "refused")
    e = log.record("gsp", "hello", Level.WARNING)
    assert e == Entry(1_500_010, "gsp", Level.WARNING, "hello")
    d, r, w = log.entries()
    assert d == Entry(1_500_000, "pci", Level.DEBUG, "MSI vector 0: wrote 0x40 to 0xfee00000")
    assert type(d.level) is Level and r.level is Level.ERROR and w == e
    assert log.errors() == [r] and log.entries(Level.WARNING) == [r, w] and log.entries(component="gsp") == [w]
    assert str(d) == "[    1.500000 ms] DEBUG   pci: MSI vector 0: wrote 0x40 to 0xfee00000"
    assert log.format(1) == str(w) and [x.message for x in log] == ["MSI vector 0: wrote 0x40 to 0xfee00000",
                                                                      "refused", "hello"]


def test_the_log_is_bounded_and_counts_what_it_dropped() -> None:
    log = SimLog(VirtualClock(), limit=3)
    for i in range(5):
        log.info("m", f"line {i}")
    assert len(log) == 3 and log.dropped == 2 and [e.message for e in log.entries()] == ["line 2", "line 3",
                                                                                          "line 4"]


def test_kept_lines_are_not_tracked_by_the_cyclic_gc() -> None:
    """What the compact form is for: 100k kept lines do not make every full collection walk 100k objects."""
    log = SimLog(VirtualClock())
    for i in range(100):
        log.debug("pci", f"message {i}")
    gc.collect()
    assert not any(gc.is_tracked(line) for line in log._entries)


def test_threads_logging_at_once_lose_nothing() -> None:
    log = SimLog(VirtualClock(), limit=10_000)

    def work(n: int) -> None:
        for i in range(1000):
            log.debug(f"t{n}", str(i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 4000 and log.dropped == 0
    assert sorted(int(e.message) for e in log.entries(component="t2")) == list(range(1000))


def test_a_deferred_line_is_formatted_when_read_and_a_bad_format_is_shown_not_raised() -> None:
    log = SimLog(VirtualClock())
    log.debug("pci", "%s vector %d%s: wrote %#x to %#x", "MSI", 0, "", 0x40, 0xFEE00000)
    log.debug("pci", "100% plain")  # no args: the text as given, never %-formatted
    log.debug("pci", "%d and %d", 1)  # a logging bug
    a, b, c = (e.message for e in log.entries())
    assert a == "MSI vector 0: wrote 0x40 to 0xfee00000" and b == "100% plain"
    assert c.startswith("%d and %d % (1,)") and "unformattable" in c
    gc.collect()
    gc.collect()  # a line whose args tuple the first pass untracked is untracked by the next
    assert not any(gc.is_tracked(line) for line in log._entries)
