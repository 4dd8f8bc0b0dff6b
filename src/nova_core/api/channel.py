"""nova_core.api.channel: channels and fences of the base API (made by :meth:`Device.channel
<nova_core.api.device.Device.channel>`), over :mod:`nova_core.engines`.

A :class:`Channel` runs on one engine in a :class:`~nova_core.api.memory.VaSpace`: copies and fills on the copy
engine, pushbuffers copied into its ring, or GPFIFO entries pointing at the caller's own pushbuffers
(:meth:`Channel.submit_entries`, what an EXEC uAPI needs). Each submission ends in a :class:`Fence`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..errors import ApiError
from .memory import VaBinding, VaSpace, _Space
from .revocable import Revocable

if TYPE_CHECKING:
    from ..engines.fence import Fence as _EngineFence
    from ..engines.fifo import Channel as _EngineChannel
    from ..engines.pushbuf import Pushbuffer
    from .device import Device


# -- channels and fences -----------------------------------------------------------------------------------------


class Fence:
    """The completion of one submission on a :class:`Channel` (the channel's timeline value ``value``)."""

    def __init__(self, channel: Channel, fence: _EngineFence) -> None:
        self.channel = channel
        self.value = fence.value
        self._fence = fence

    def __repr__(self) -> str:
        return f"<Fence {self.channel.name} value {self.value}>"

    @property
    def done(self) -> bool:
        """Signalled (never blocks). Raises Revoked once the channel is gone."""
        with self.channel._r.access():
            return self._fence.done

    def wait(self, timeout_ns: int | None = None) -> Fence:
        """Block until signalled (at most ``timeout_ns`` of device time; default nouveau's 15 s).

        Raises:
            PollTimeout: not signalled in time.
            ChannelFault: the GPU stopped the channel (the report names chid, engine, fault address, reason).
            Revoked: the channel was released.
        """
        with self.channel._r.access():
            if timeout_ns is None:
                self._fence.wait()
            else:
                self._fence.wait(timeout=timeout_ns)
        return self


class _Chan:
    def __init__(self, ch: _EngineChannel, space: _Space | None) -> None:
        self.ch = ch
        self.space = space


class Channel:
    """A GPFIFO channel on one engine (:meth:`Device.channel`), running in a :class:`VaSpace`."""

    def __init__(self, device: Device, handle: Revocable[_Chan], vaspace: VaSpace | None) -> None:
        self.device = device
        self._r = handle
        self.vaspace = vaspace
        c = handle.try_access()
        assert c is not None
        self.chid = c.ch.chid
        self.engine = c.ch.engine.name
        self.runlist = c.ch.engine.runlist
        self.name = f"channel {self.chid} ({self.engine})"

    def __repr__(self) -> str:
        return f"<Channel {self.chid} {self.engine}{' revoked' if self._r.revoked else ''}>"

    @property
    def closed(self) -> bool:
        return self._r.revoked

    @staticmethod
    def _va(t: VaBinding | int) -> int:
        return t.va if isinstance(t, VaBinding) else t

    def copy(self, dst: VaBinding | int, src: VaBinding | int, size: int, *, dst_offset: int = 0,
             src_offset: int = 0) -> Fence:
        """Copy ``size`` bytes with the copy engine between GPU VAs of the channel's space; the fence signals when
        the bytes are in place."""
        for t, off, what in ((dst, dst_offset, "destination"), (src, src_offset, "source")):
            if isinstance(t, VaBinding) and (t.space is not self.vaspace or off < 0 or off + size > t.size):
                raise ApiError(f"copy {what} {t!r} + {off:#x}, {size:#x} bytes: not inside a binding of "
                               f"{self.vaspace!r}")
        with self._r.access() as c:
            return Fence(self, c.ch.copy_engine().copy(self._va(dst) + dst_offset, self._va(src) + src_offset, size))

    def fill(self, dst: VaBinding | int, value: int, size: int, *, dst_offset: int = 0) -> Fence:
        """Fill ``size`` bytes (a multiple of 4) at a GPU VA with the 32-bit ``value``."""
        with self._r.access() as c:
            return Fence(self, c.ch.copy_engine().fill(self._va(dst) + dst_offset, value, size))

    def pushbuffer(self) -> Pushbuffer:
        """An empty pushbuffer for the channel's class (methods by name: ``pb.method(4, "LAUNCH_DMA", ...)``)."""
        with self._r.access() as c:
            return c.ch.pushbuffer()

    def submit(self, pb: Pushbuffer | None = None) -> Fence:
        """Submit ``pb`` (copied into the channel's ring) followed by the release of the channel's next timeline
        value; returns its fence."""
        with self._r.access() as c:
            return Fence(self, c.ch.submit(pb))

    def submit_entries(self, entries: Sequence[tuple[int, int]]) -> Fence:
        """Submit GPFIFO entries that point at the caller's own pushbuffers - ``(GPU VA, bytes)`` in the channel's
        space, each a whole number of 4-byte method words - followed by the release of the next timeline value;
        returns its fence (the GPU fetches the methods from the caller's memory, as nouveau's EXEC pushes)."""
        with self._r.access() as c:
            return Fence(self, c.ch.submit_entries(entries))

    def fence(self) -> Fence:
        """A fence after everything submitted so far."""
        return self.submit()

    def close(self) -> None:
        """Close the channel (idempotent)."""
        self.device._drop(self._r, "closed")

