"""nova_core.api.revocable: access to a resource that can be taken away - the kernel's ``Revocable``, in Python.

The concept is Linux's (``rust/kernel/revocable.rs``, and ``devres`` behind it): a driver is handed resources
(memory, channels, a device handle) that stay valid only while its binding lasts. When the binding ends - the
driver is unbound, the device is removed or shut down - every one of them is *revoked*: new accesses fail at
once, accesses already running finish, then the resource is released. A use after revocation raises
:class:`~nova_core.errors.Revoked` and never reaches the device.

- :class:`Revocable` wraps one object. ``with r.access() as obj:`` is the guard (``RevocableGuard``): while it is
  held the object is not released. :meth:`Revocable.revoke` refuses new guards, waits a bounded time for the
  guards other threads hold, and releases the object once the last guard is gone - at once when none is held,
  otherwise when the last holder leaves (Linux waits in ``synchronize_rcu``; here a guard may block, so the
  release is deferred to the last guard instead of blocking the revoker without bound).
- :class:`Scope` is a set of revocables revoked together, newest first (devres releases in reverse order of
  acquisition): a channel before the VA space it runs in, a binding before the buffer it maps.

Everything here is thread-safe.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ..errors import NovaError, Revoked

T = TypeVar("T")

# TIMEOUT: how long revoke() waits (host time) for guards other threads hold before it leaves the release to the
# last of them. A guard covers one API call; the longest bounded wait under one is a fence wait (nouveau's
# 15 s of device time, nova_core.engines.fence.FENCE_TIMEOUT), so 20 s of host time covers any call.
REVOKE_WAIT_S = 20.0


class Revocable(Generic[T]):
    """An object whose access can be revoked (see the module docstring).

    Args:
        obj: the resource.
        what: how messages name it (``"buffer object 3 of nova-drm on nova-core.nova-drm.0"``).
        release: called once with ``obj`` after revocation, when no guard is held any more (frees it).
    """

    def __init__(self, obj: T, what: str, release: Callable[[T], None] | None = None) -> None:
        self.what = what
        self._obj: T | None = obj
        self._release = release
        self._cond = threading.Condition()
        self._guards: dict[int, int] = {}  # thread id -> guards it holds
        self._revoked = False
        self._released = False
        self.reason = ""  #: why it was revoked
        self.release_error: NovaError | None = None  #: what the release raised, if anything

    def __repr__(self) -> str:
        state = f"revoked ({self.reason})" if self._revoked else "available"
        return f"<Revocable {self.what}: {state}>"

    @property
    def revoked(self) -> bool:
        return self._revoked

    def _refused(self) -> Revoked:
        return Revoked(f"{self.what} was revoked: {self.reason or 'its binding ended'}; nothing reached the device")

    @contextlib.contextmanager
    def access(self) -> Iterator[T]:
        """The guard: the object, kept from release until the ``with`` block ends.

        Raises:
            Revoked: the object was revoked.
        """
        me = threading.get_ident()
        with self._cond:
            if self._revoked or self._obj is None:
                raise self._refused()
            obj = self._obj
            self._guards[me] = self._guards.get(me, 0) + 1
        try:
            yield obj
        finally:
            with self._cond:
                n = self._guards[me] - 1
                if n:
                    self._guards[me] = n
                else:
                    del self._guards[me]
                last = not self._guards
                self._cond.notify_all()
            if last and self._revoked:
                self._do_release()

    def try_access(self) -> T | None:
        """The object without a guard, or None once revoked (for messages and listings only)."""
        with self._cond:
            return None if self._revoked else self._obj

    def revoke(self, reason: str = "") -> bool:
        """Refuse new accesses, wait (bounded) for other threads' guards, release the object once none is held.

        Returns True if this call revoked it (False: it was revoked before). A guard of the calling thread is
        not waited for (it would wait for itself); the release then runs when that guard ends.
        """
        me = threading.get_ident()
        with self._cond:
            if self._revoked:
                return False
            self._revoked = True
            self.reason = reason
            self._cond.wait_for(lambda: not (set(self._guards) - {me}), timeout=REVOKE_WAIT_S)
            idle = not self._guards
        if idle:
            self._do_release()
        return True

    def _do_release(self) -> None:
        with self._cond:
            if self._released or self._obj is None:
                return
            self._released = True
            obj, self._obj = self._obj, None
        if self._release is not None:
            try:
                self._release(obj)
            except NovaError as e:  # recorded: revocation itself cannot fail (the owner reads release_error)
                self.release_error = e

    @property
    def released(self) -> bool:
        """The release has run (revoked and no guard left)."""
        return self._released


class Scope:
    """Revocables revoked together, newest first (a binding's devres list).

    ``add`` after :meth:`revoke` revokes the newcomer at once (a resource handed out while its scope ends is
    never left behind).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._items: list[Revocable[object]] = []
        self._revoked = False
        self.reason = ""

    def __repr__(self) -> str:
        return f"<Scope {self.what}: {len(self._items)} resource(s){' revoked' if self._revoked else ''}>"

    @property
    def revoked(self) -> bool:
        return self._revoked

    def add(self, item: Revocable[T]) -> Revocable[T]:
        with self._lock:
            late = self._revoked
            if not late:
                self._items.append(item)  # type: ignore[arg-type]
        if late:
            item.revoke(self.reason)
            raise Revoked(f"{self.what} was revoked ({self.reason}): {item.what} was released at once")
        return item

    def discard(self, item: Revocable[T]) -> None:
        """Forget an item its owner released itself (freed before the scope ended)."""
        with self._lock, contextlib.suppress(ValueError):
            self._items.remove(item)  # type: ignore[arg-type]

    def live(self) -> list[Revocable[object]]:
        with self._lock:
            return [r for r in self._items if not r.revoked]

    def revoke(self, reason: str) -> list[NovaError]:
        """Revoke every item, newest first; returns what their releases raised (each is also kept on its item)."""
        with self._lock:
            if self._revoked:
                return []
            self._revoked = True
            self.reason = reason
            items, self._items = self._items[::-1], []
        problems: list[NovaError] = []
        for item in items:
            item.revoke(reason)
            if item.release_error is not None:
                problems.append(item.release_error)
        return problems
