"""Revocable and Scope: refused after revocation, released once, newest first, never under a live guard."""

from __future__ import annotations

import threading
import time

import pytest

from nova_core.api import Revocable, Revoked, Scope
from nova_core.errors import ApiError, NovaError


def test_access_then_revoke_releases_once() -> None:
    released: list[str] = []
    r = Revocable("obj", "thing 1", released.append)
    with r.access() as obj:
        assert obj == "obj"
    assert r.revoke("unbound") is True
    assert r.revoke("again") is False
    assert released == ["obj"]
    assert r.revoked and r.released and r.reason == "unbound"
    with pytest.raises(Revoked, match=r"thing 1 was revoked: unbound; nothing reached the device"), r.access():
        pass
    assert r.try_access() is None


def test_revoked_has_enodev() -> None:
    r = Revocable(1, "x")
    r.revoke("gone")
    with pytest.raises(Revoked) as ei, r.access():
        pass
    assert ei.value.errno == 19 and isinstance(ei.value, ApiError)


def test_release_waits_for_the_guard_of_the_revoking_thread() -> None:
    released: list[int] = []
    r = Revocable(7, "x", released.append)
    with r.access():
        r.revoke("removed while in use")  # would wait for itself: the release is left to the guard
        assert released == []
    assert released == [7]


def test_revoke_waits_for_other_threads_guards() -> None:
    released: list[float] = []
    r = Revocable(1, "x", lambda _: released.append(time.monotonic()))
    inside, leave = threading.Event(), threading.Event()
    left: list[float] = []

    def user() -> None:
        with r.access():
            inside.set()
            leave.wait(5)
            left.append(time.monotonic())

    t = threading.Thread(target=user)
    t.start()
    inside.wait(5)
    threading.Timer(0.05, leave.set).start()
    r.revoke("unbind")
    t.join(5)
    assert released and left and released[0] >= left[0]  # released only after the user left


def test_a_new_access_is_refused_while_revocation_waits() -> None:
    r = Revocable(1, "x")
    inside, leave = threading.Event(), threading.Event()

    def user() -> None:
        with r.access():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=user)
    t.start()
    inside.wait(5)
    revoker = threading.Thread(target=r.revoke, args=("unbind",))
    revoker.start()
    deadline = time.monotonic() + 5
    while not r.revoked and time.monotonic() < deadline:
        time.sleep(0.001)
    with pytest.raises(Revoked), r.access():
        pass
    leave.set()
    t.join(5)
    revoker.join(5)
    assert r.released


def test_release_error_is_kept_not_raised() -> None:
    def bad(_: object) -> None:
        raise NovaError("free failed")

    r = Revocable(1, "x", bad)
    r.revoke("unbind")
    assert isinstance(r.release_error, NovaError) and "free failed" in str(r.release_error)


def test_scope_revokes_newest_first_and_collects_problems() -> None:
    order: list[str] = []

    def bad(_: object) -> None:
        order.append("bad")
        raise NovaError("boom")

    s = Scope("binding")
    s.add(Revocable("a", "a", order.append))
    s.add(Revocable("b", "b", bad))
    s.add(Revocable("c", "c", order.append))
    problems = s.revoke("device removed")
    assert order == ["c", "bad", "a"]
    assert [str(p) for p in problems] == ["boom"]
    assert s.revoke("twice") == []


def test_scope_add_after_revoke_releases_at_once() -> None:
    released: list[str] = []
    s = Scope("binding")
    s.revoke("gone")
    r = Revocable("late", "late thing", released.append)
    with pytest.raises(Revoked, match="late thing was released at once"):
        s.add(r)
    assert released == ["late"] and r.revoked


def test_scope_discard_forgets_items_freed_by_their_owner() -> None:
    s = Scope("binding")
    r = s.add(Revocable(1, "one"))
    r.revoke("freed")
    s.discard(r)
    assert s.live() == []
