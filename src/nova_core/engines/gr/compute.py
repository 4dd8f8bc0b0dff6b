"""nova_core.engines.gr.compute: the compute class on a GR channel - report semaphores, fences, shader launches.

A :class:`ComputeEngine` is the chip's compute class (TURING_COMPUTE_A 0xC5C0, AMPERE_COMPUTE_A 0xC6C0 on GA100,
AMPERE_COMPUTE_B 0xC7C0 on GA10x, ADA_COMPUTE_A 0xC9C0, HOPPER_COMPUTE_A 0xCBC0, BLACKWELL_COMPUTE_A/B
0xCDC0/0xCEC0) allocated under a channel on GR once the channel's context is promoted
(:meth:`~nova_core.engines.fifo.Channel.compute`; no allocation parameters, as nouveau's ``r535_gr_obj_ctor``), and
bound to subchannel 1 (``NVA06F_SUBCHANNEL_COMPUTE``) by SET_OBJECT in its first pushbuffer.

- **Semaphores**: ``SET_REPORT_SEMAPHORE_A`` (address bits 39:32; 56:32 from HOPPER_COMPUTE_A), ``_B`` (31:0),
  ``_C`` (the payload) and ``_D`` with OPERATION RELEASE: STRUCTURE_SIZE ONE_WORD writes the 32-bit payload,
  FOUR_WORDS the payload, a zero word and the 64-bit GPU time (16 bytes). The release happens once the work before
  it in the channel is done (the class's semaphores are pipelined behind the engine's work).
- **Fences**: every submission through this engine ends with such a release of the channel's next timeline value
  into the channel's semaphore word, then host's NON_STALL_INTERRUPT (the wake-up of the fence's waiters, as on a
  copy channel) - :meth:`fence`, :meth:`semaphore_release`.
- **Launches**: :meth:`launch` sends a QMD (queue meta data, the launch descriptor) to the compute work
  distributor: ``SEND_PCAS_A`` with the QMD's address >> 8, then ``SEND_SIGNALING_PCAS2_B`` with
  INVALIDATE_COPY_SCHEDULE (from AMPERE_COMPUTE_A; TURING_COMPUTE_A: ``SEND_SIGNALING_PCAS_B`` INVALIDATE |
  SCHEDULE). The simulated GPU refuses it - shader execution is not simulated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ChannelError
from ..fence import Fence
from ..pushbuf import Pushbuffer
from ..vaspace import Buffer
from . import facts as G

if TYPE_CHECKING:
    from ..fifo import Channel
    from .context import ChannelContext

Target = Buffer | int  #: a buffer of the channel's address space, or a GPU VA in it
QMD_ALIGN = 1 << G.QMD_ADDRESS_SHIFT  #: a QMD's address is sent >> 8


class ComputeEngine:
    """The compute object of ``channel`` (use :meth:`Channel.compute`)."""

    def __init__(self, channel: Channel, context: ChannelContext) -> None:
        self.channel = channel
        self.context = context
        self.compute_class = G.gr_classes_for(channel.fifo.chipset).compute
        self.subchannel = G.SUBCHANNEL_COMPUTE
        self.upper_bits = G.REPORT_SEMAPHORE_UPPER_BITS[self.compute_class]
        self.methods = G.COMPUTE_METHODS[self.compute_class]
        self.rm = channel.rm.alloc(self.compute_class)
        self.bound = False
        self.releases = 0  #: report-semaphore releases submitted

    def __repr__(self) -> str:
        name = G.CLASS_NAMES.get(self.compute_class, hex(self.compute_class))
        return f"<ComputeEngine {name} on channel {self.channel.chid} ({self.channel.engine.name}), subchannel 1>"

    # -- addresses ------------------------------------------------------------------------------------

    def _va(self, t: Target, offset: int, length: int, what: str) -> int:
        ch = self.channel
        if isinstance(t, Buffer):
            if t.space is not ch.vaspace:
                raise ChannelError(f"{what} {t!r} is mapped in another address space than channel {ch.chid}'s")
            if t.freed:
                raise ChannelError(f"{what} {t!r} was freed")
            if offset < 0 or offset + length > t.size:
                raise ChannelError(f"{what} [{offset:#x}, +{length:#x}) is outside {t!r}")
            va = t.va + offset
        elif isinstance(t, int) and not isinstance(t, bool) and t >= 0 and offset >= 0:
            va = t + offset
        else:
            raise ChannelError(f"{what} {t!r} + {offset!r}: a buffer or a GPU VA, and a non-negative offset")
        if va + length > 1 << (32 + self.upper_bits):
            raise ChannelError(f"{what} at VA {va:#x} does not fit SET_REPORT_SEMAPHORE_A ({32 + self.upper_bits} "
                               f"address bits)")
        return va

    # -- pushbuffer pieces -----------------------------------------------------------------------------------

    def _pb(self) -> Pushbuffer:
        pb = self.channel.pushbuffer()
        if not self.bound:
            pb.set_object(self.subchannel, self.compute_class)
        return pb

    def _report(self, pb: Pushbuffer, va: int, value: int, *, timestamp: bool = False) -> None:
        d = G.ReportSemaphoreD.encode(operation=G.ReportSemaphoreOp.RELEASE, structure_size=0 if timestamp else 1)
        pb.method(self.subchannel, "SET_REPORT_SEMAPHORE_A", va >> 32, va & 0xFFFFFFFF, value, d)
        self.releases += 1

    def release_into(self, pb: Pushbuffer, value: int) -> None:
        """The release of the channel's timeline ``value`` by the compute class, then the non-stall interrupt."""
        self._report(pb, self.channel.semaphore_va, value)
        pb.method(0, "NON_STALL_INTERRUPT", 0)

    def _submit(self, pb: Pushbuffer) -> Fence:
        fence = self.channel.submit(pb, release=self.release_into)
        self.bound = True
        return fence

    # -- operations ----------------------------------------------------------------------------------------

    def fence(self) -> Fence:
        """A fence after everything submitted so far, released by the compute class."""
        return self._submit(self._pb())

    def semaphore_release(self, target: Target, value: int, *, offset: int = 0, timestamp: bool = False) -> Fence:
        """Write ``value`` (32 bits) at ``target`` with SET_REPORT_SEMAPHORE (16 bytes with the GPU time when
        ``timestamp``: payload, 0, time); returns the fence of the submission."""
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise ChannelError(f"semaphore payload {value!r} is not a 32-bit value")
        size = 16 if timestamp else 4
        va = self._va(target, offset, size, "semaphore")
        if va % size:
            raise ChannelError(f"semaphore at VA {va:#x} is not {size}-byte aligned")
        pb = self._pb()
        self._report(pb, va, value, timestamp=timestamp)
        return self._submit(pb)

    def launch(self, qmd: Target, *, offset: int = 0) -> Fence:
        """Send the QMD at ``qmd`` to the compute work distributor (see the module docstring); returns the fence of
        the submission. The simulated GPU stops the channel here: shader execution is not simulated."""
        va = self._va(qmd, offset, QMD_ALIGN, "QMD")
        if va % QMD_ALIGN or va >> G.QMD_ADDRESS_SHIFT > 0xFFFFFFFF:
            raise ChannelError(f"QMD at VA {va:#x}: 256-byte aligned below 2^40 (SEND_PCAS_A QMD_ADDRESS_SHIFTED8)")
        pb = self._pb()
        pb.method(self.subchannel, "SEND_PCAS_A", va >> G.QMD_ADDRESS_SHIFT)
        if "SEND_SIGNALING_PCAS2_B" in self.methods:
            pb.method(self.subchannel, "SEND_SIGNALING_PCAS2_B", G.SendSignalingPcas2Action.INVALIDATE_COPY_SCHEDULE)
        else:
            pb.method(self.subchannel, "SEND_SIGNALING_PCAS_B", G.SEND_SIGNALING_PCAS_B_SCHEDULE | 1)
        return self._submit(pb)
