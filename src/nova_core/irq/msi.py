"""nova_core.irq.msi: interrupts of a function whose config space the driver programs itself.

Where no kernel stands between the driver and the function (the simulated GPU), the driver does what the
host OS does for a PCI driver: it programs the MSI-X table (:class:`~nova_core.pci.msi.MsixController`: every
entry masked, programmed, then unmasked) or the MSI capability (:class:`~nova_core.pci.msi.MsiController`),
turns bus mastering on and INTx off (PCI 3.0: a function signals MSI only as a bus master), and listens where the
messages land (:class:`~nova_core.hw.device.MessageSink`). A message's data says which vector fired.

The message address is the x86 local-APIC window (0xFEE00000, Intel SDM vol. 3 §11.11.1) and the data
``MESSAGE_DATA_BASE + vector``: the values a host would hand out; the sim delivers any dword-aligned address.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

from ..errors import IrqError, PciError
from ..hw.device import Device
from ..pci import facts as F
from ..pci.config import ConfigSpace
from ..pci.msi import MsiController, MsixController

MESSAGE_ADDRESS = 0xFEE00000  #: x86 LAPIC message window
MESSAGE_DATA_BASE = 0x40  #: data of vector 0 (vector n: base + n); MSI needs the low log2(count) bits clear
MAX_VECTORS = 32


class MessageIrqBackend:
    """MSI-X or MSI programmed through config space; vectors reported from the messages the function writes."""

    def __init__(self, dev: Device, mode: str, count: int, msix: MsixController | None, msi: MsiController | None,
                 entries: list[int]) -> None:
        if dev.msi_sink is None:
            raise IrqError(f"{dev.name}: its MSI messages cannot be observed")
        self.dev = dev
        self._mode = mode
        self._count = count
        self.msix = msix
        self.msi = msi
        self.entries = entries
        self._data = {MESSAGE_DATA_BASE + i: i for i in range(count)}
        self._cond = threading.Condition()
        self._queue: list[int] = []
        self._taken = 0
        self._woken = False
        self._detached: set[int] = set()
        #: threads inside :meth:`holding` (id -> depth): a message they raise wakes no one; they deliver it
        self._holders: dict[int, int] = {}
        self.stray = 0  #: messages that named no vector of ours
        self._on_unheld: Callable[[], None] | None = None
        self._unsubscribe = dev.msi_sink.on_message(self._message)

    @classmethod
    def open(cls, dev: Device, prefer: Sequence[str] = ("msi-x", "msi"),
             max_vectors: int = MAX_VECTORS) -> MessageIrqBackend:
        """Enable the first of ``prefer`` that the function's capability list offers.

        Raises:
            IrqError: no MSI-X or MSI capability (or no config space), or programming it failed.
        """
        if dev.config is None or dev.msi_sink is None:
            raise IrqError(f"{dev.name}: no config space or no observable messages: MSI cannot be programmed here")
        cs = ConfigSpace(dev.config)
        tried = []
        for mode in prefer:
            try:
                if mode == "msi-x" and cs.find(F.CapId.MSIX) is not None:
                    ctl = MsixController(cs, {0: dev.bar0})
                    count = min(ctl.size, max_vectors)
                    _bus_master(cs)
                    ctl.enable()
                    entries = ctl.allocate(count)
                    backend = cls(dev, mode, count, ctl, None, entries)
                    for i, e in enumerate(entries):
                        ctl.program(e, MESSAGE_ADDRESS, MESSAGE_DATA_BASE + i)
                        ctl.unmask(e)
                    return backend
                if mode == "msi" and cs.find(F.CapId.MSI) is not None:
                    msi = MsiController(cs)
                    _bus_master(cs)
                    backend = cls(dev, mode, 1, None, msi, [0])
                    msi.enable(1, MESSAGE_ADDRESS, MESSAGE_DATA_BASE)
                    return backend
                tried.append(f"{mode}: no capability")
            except PciError as e:
                tried.append(f"{mode}: {e}")
        raise IrqError(f"{dev.name}: no message-signalled interrupt could be enabled ({'; '.join(tried) or 'none'})")

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def count(self) -> int:
        return self._count

    def describe(self) -> str:
        return f"{self._mode} ({self._count} vector(s)) of {self.dev.name}"

    def _message(self, address: int, data: int) -> None:
        """A message the function wrote (any thread; the simulated GPU's lock may be held: only queue it)."""
        vector = self._data.get(data) if address == MESSAGE_ADDRESS else None
        cond = self._cond
        cond.acquire()  # the condition's lock's own acquire/release: not ``with`` (a Python-level __enter__)
        try:
            if vector is None or vector in self._detached:
                self.stray += 1
                return
            self._queue.append(vector)
            if self._holders and threading.get_ident() in self._holders:
                return  # the holding thread delivers it
            cond.notify_all()
        finally:
            cond.release()
        start = self._on_unheld
        if start is not None:
            start()  # outside the lock: the handler thread's first wait takes it

    def on_unheld(self, start: Callable[[], None]) -> None:
        """Call ``start`` (outside this backend's lock) whenever a message arrives that no holding thread will
        deliver: the manager starts its handler thread then, not before (it must be idempotent)."""
        self._on_unheld = start

    def wait(self, timeout_s: float) -> list[int]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._woken, timeout_s)
            self._woken = False
            fired = self._queue
            self._taken += len(fired)  # before the queue empties: busy() never sees neither (it reads the queue first)
            self._queue = []
            return fired

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Inside the block, a message the calling thread raises does not wake :meth:`wait`: that thread takes it
        itself (:meth:`take`, as the settler of the simulated GPU's clock), so the handler thread is not switched to
        for each one. Messages from other threads wake it as always (:meth:`nova_core.hw.irq.IrqManager.settling`
        delivers what is left when the block ends)."""
        self.hold()
        try:
            yield
        finally:
            self.release()

    def hold(self) -> None:
        """Enter :meth:`holding` (nestable). No lock: only the calling thread changes its own entry, and a dict's
        single operations are atomic, so :meth:`_message` on another thread sees it in or out, never torn."""
        me = threading.get_ident()
        holders = self._holders
        holders[me] = holders.get(me, 0) + 1

    def release(self) -> None:
        """Leave :meth:`holding`."""
        me = threading.get_ident()
        holders = self._holders
        depth = holders.pop(me) - 1
        if depth:
            holders[me] = depth

    def take(self) -> list[int]:
        """What has fired, without blocking; nothing while an earlier :meth:`wait`/``take`` is not done (the
        thread that settles the simulated GPU's clock delivers it: :mod:`nova_core.hw.irq`)."""
        if not self._queue:
            return []  # nothing queued (a list only ever replaced whole: a look without the lock, as busy())
        cond = self._cond
        cond.acquire()
        try:
            if self._taken or not self._queue:
                return []
            fired = self._queue
            self._taken = len(fired)  # before the queue empties (see wait)
            self._queue = []
            return fired
        finally:
            cond.release()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._taken

    def busy(self) -> bool:
        """``pending() > 0`` without the lock (two reads of values only ever replaced whole: a settler's look)."""
        return bool(self._queue) or self._taken > 0

    def done(self, count: int) -> None:
        cond = self._cond
        cond.acquire()
        try:
            self._taken = max(self._taken - count, 0)
        finally:
            cond.release()

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def mask(self, vector: int) -> bool:
        if self.msix is None:
            return False  # NVIDIA's MSI capability has no per-vector masking (Message Control bit 8 clear)
        self.msix.mask(self.entries[vector])
        return True

    def unmask(self, vector: int) -> bool:
        if self.msix is None:
            return False
        self.msix.unmask(self.entries[vector])  # a message latched in the PBA meanwhile is sent now
        return True

    def detach(self, vector: int) -> None:
        with self._cond:
            self._detached.add(vector)
        if self.msix is not None:
            self.msix.mask(self.entries[vector])
        elif self.msi is not None:
            self.msi.disable()

    def end_of_interrupt(self, vector: int) -> None:
        pass

    def close(self) -> None:
        self._unsubscribe()
        with contextlib.suppress(PciError):
            if self.msix is not None:
                self.msix.free(self.entries)
                self.msix.disable()
            elif self.msi is not None:
                self.msi.disable()


def _bus_master(cs: ConfigSpace) -> None:
    """COMMAND: bus master on (messages are memory writes), INTx disabled (PCI 3.0 6.8.1)."""
    cmd = cs.u16(F.COMMAND)
    want = F.Command.encode(cmd, master=1, intx_disable=1)
    if want != cmd:
        cs.write16(F.COMMAND, want)
