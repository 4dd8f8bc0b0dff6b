"""nova_core.irq.nonstall: engines' non-stall interrupts, delivered to whoever listens (the fence path).

A host-driven engine (graphics, copy engines, video) raises its *non-stall* vector when a channel's work asks for
a notification (a semaphore release with an interrupt): the CPU wakes whoever waits for that fence. The vector of
each engine comes from the kernel interrupt table (:class:`~nova_core.irq.table.VectorTable`). A vector is
allowed while at least one listener wants it and blocked again when the last one leaves, as nouveau allows an
engine's non-stall interrupt only while its event has users (``nvkm_event``).

Listeners run on the interrupt thread (keep them short: set an event, bump a counter). One that raises is
reported and stays registered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..errors import IrqError
from .table import VectorTable
from .vfn import VfnController

Listener = Callable[[str], None]


class NonstallListeners:
    """Listeners of engines' non-stall interrupts, by engine name (``"GR0"``, ``"CE2"``)."""

    def __init__(self, vfn: VfnController, table: VectorTable) -> None:
        self.vfn = vfn
        self.table = table
        self._lock = threading.Lock()
        self._listeners: dict[str, list[Listener]] = {}
        self.delivered: dict[str, int] = {}

    def engines(self) -> list[str]:
        """Engines that have a non-stall vector."""
        return [e.engine for e in self.table.entries if e.nonstall is not None]

    def listen(self, engine: str, fn: Listener) -> Callable[[], None]:
        """Call ``fn(engine)`` on each non-stall interrupt of ``engine``; returns a function that stops it.

        Raises:
            IrqError: the engine is not in the table or has no non-stall vector.
        """
        entry = self.table.engine(engine)
        if entry.nonstall is None:
            raise IrqError(f"{engine} has no non-stall interrupt vector (engines that have one: "
                           f"{', '.join(self.engines()) or 'none'})")
        vector = entry.nonstall
        with self._lock:
            first = engine not in self._listeners
            self._listeners.setdefault(engine, []).append(fn)
        if first:
            self.vfn.request(vector, lambda _v: self._dispatch(engine), f"{engine} non-stall", "nonstall")

        def remove() -> None:
            with self._lock:
                fns = self._listeners.get(engine, [])
                if fn not in fns:
                    return
                fns.remove(fn)
                last = not fns
                if last:
                    del self._listeners[engine]
            if last:
                self.vfn.free(vector)

        return remove

    def _dispatch(self, engine: str) -> bool:
        with self._lock:
            fns = list(self._listeners.get(engine, ()))
            self.delivered[engine] = self.delivered.get(engine, 0) + 1
        for fn in fns:
            try:
                fn(engine)
            except Exception as e:  # one listener's bug must not starve the others
                self.vfn.irq.report(f"{engine} non-stall listener {getattr(fn, '__qualname__', fn)!s} raised "
                                    f"{type(e).__name__}: {e}")
        return bool(fns)
