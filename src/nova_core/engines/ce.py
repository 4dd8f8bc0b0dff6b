"""nova_core.engines.ce: the copy engine - linear and pitch copies, fills, each ending in a semaphore release.

A :class:`CopyEngine` is the chip's copy-engine class (TURING_DMA_COPY_A 0xC5B5, AMPERE_DMA_COPY_A 0xC6B5 on GA100,
AMPERE_DMA_COPY_B 0xC7B5 on GA10x/AD10x, HOPPER_DMA_COPY_A 0xC8B5, BLACKWELL_DMA_COPY_A/B 0xC9B5/0xCAB5)
allocated under a channel of a copy engine (``NVB0B5_ALLOCATION_PARAMETERS`` version 1 with the channel's
engine, nouveau ``r535_ce_obj_ctor``) and bound to subchannel 4 (``NVA06F_SUBCHANNEL_COPY_ENGINE``) by SET_OBJECT
in its first pushbuffer.

A copy is what UVM's ``uvm_hal_maxwell_ce_memcopy`` pushes: OFFSET_IN/OUT (upper, lower), LINE_LENGTH_IN, and
LAUNCH_DMA with pitch layouts, virtual addresses, NON_PIPELINED for the first piece and PIPELINED after; a
transfer longer than one LINE_LENGTH_IN (32 bits: 0xFFFFFFFF bytes) is split. The last LAUNCH_DMA also releases
the channel's timeline semaphore (SET_SEMAPHORE_A/B/PAYLOAD, SEMAPHORE_TYPE RELEASE_ONE_WORD with FLUSH_ENABLE,
as UVM's ``semaphore_release``) and raises the engine's non-stall interrupt (INTERRUPT_TYPE NON_BLOCKING), so the
returned :class:`~nova_core.engines.fence.Fence` completes when the bytes are in place. A pitch copy uses
MULTI_LINE_ENABLE with PITCH_IN/PITCH_OUT/LINE_COUNT; a fill is UVM's ``memset_4`` (REMAP_ENABLE with
SET_REMAP_CONST_B as a four-byte component).

Sources and destinations are :class:`~nova_core.engines.vaspace.Buffer` objects of the channel's address space
(or plain GPU VAs there), checked against their sizes before anything is submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ChannelError
from . import facts as F
from .fence import Fence
from .pushbuf import Pushbuffer
from .vaspace import Buffer

if TYPE_CHECKING:
    from .fifo import Channel

Target = Buffer | int  #: a buffer of the channel's address space, or a GPU VA in it


class CopyEngine:
    """The copy engine of ``channel`` (use :meth:`Channel.copy_engine`)."""

    def __init__(self, channel: Channel, subchannel: int = F.SUBCHANNEL_COPY_ENGINE) -> None:
        self.channel = channel
        self.subchannel = subchannel
        self.ce_class = channel.fifo.classes.copy
        self.methods = F.CE_METHODS[self.ce_class]
        self.launch = F.launch_dma_format(self.ce_class)
        self.upper_bits = F.CE_SEMAPHORE_UPPER_BITS[self.ce_class]
        fifo = channel.fifo
        params = fifo.abi.pack("NVB0B5_ALLOCATION_PARAMETERS",
                               version=int(fifo.abi.module.NVB0B5_ALLOCATION_PARAMETERS_VERSION_1),
                               engineType=channel.engine.nv2080_engine_type)
        self.rm = channel.rm.alloc(self.ce_class, params)
        self.bound = False
        self.copies = 0
        self.bytes = 0

    def __repr__(self) -> str:
        return (f"<CopyEngine {F.CLASS_NAMES.get(self.ce_class, hex(self.ce_class))} on channel {self.channel.chid} "
                f"({self.channel.engine.name}), subchannel {self.subchannel}>")

    # -- addresses ------------------------------------------------------------------------------------

    def _va(self, t: Target, offset: int, length: int, what: str) -> int:
        if isinstance(t, Buffer):
            if t.space is not self.channel.vaspace:
                raise ChannelError(f"{what} {t!r} is mapped in another address space than channel "
                                   f"{self.channel.chid}'s")
            if t.freed:
                raise ChannelError(f"{what} {t!r} was freed")
            if offset < 0 or length < 0 or offset + length > t.size:
                raise ChannelError(f"{what} [{offset:#x}, +{length:#x}) is outside {t!r}")
            return t.va + offset
        if not isinstance(t, int) or t < 0 or t + offset + length > 1 << (32 + self.upper_bits):
            raise ChannelError(f"{what} address {t!r} + {offset:#x} does not fit OFFSET_*_UPPER "
                               f"({self.upper_bits} bits)")
        return t + offset

    def _upper(self, va: int) -> int:
        if va >> 32 >= 1 << self.upper_bits:
            raise ChannelError(f"address {va:#x} does not fit {32 + self.upper_bits} bits")
        return va >> 32

    # -- pushbuffer pieces -----------------------------------------------------------------------------------

    def _pb(self) -> Pushbuffer:
        pb = self.channel.pushbuffer()
        if not self.bound:
            pb.set_object(self.subchannel, self.ce_class)
        return pb

    def _launch(self, *, transfer: F.CeTransferType, multi_line: bool = False, remap: bool = False,
                release: bool = False) -> int:
        fields: dict[str, int] = {
            "data_transfer_type": transfer, "src_memory_layout": F.CeLayout.PITCH,
            "dst_memory_layout": F.CeLayout.PITCH, "multi_line_enable": int(multi_line), "remap_enable": int(remap),
            "src_type": F.CeAddressType.VIRTUAL, "dst_type": F.CeAddressType.VIRTUAL}
        if release:
            fields |= {"flush_enable": 1, "semaphore_type": F.CeSemaphoreType.RELEASE_ONE_WORD,
                       "interrupt_type": F.CeInterruptType.NON_BLOCKING}
        return self.launch.encode(**fields)

    def _release_into(self, pb: Pushbuffer, value: int, last_launch: int | None) -> None:
        """The semaphore release of ``value`` with the last LAUNCH_DMA (or a launch of its own)."""
        va = self.channel.semaphore_va
        pb.method(self.subchannel, "SET_SEMAPHORE_A", self._upper(va), va & 0xFFFFFFFF, value)
        if last_launch is None:
            last_launch = self._launch(transfer=F.CeTransferType.NONE, release=True)
        pb.method(self.subchannel, "LAUNCH_DMA", last_launch)

    def _submit(self, pb: Pushbuffer, final: int | None) -> Fence:
        fence = self.channel.submit(pb, release=lambda p, v: self._release_into(p, v, final))
        self.bound = True
        return fence

    def _lines(self, pb: Pushbuffer, size: int, element: int, offsets: Callable[[int], None], *,
               remap: bool = False) -> int:
        """``size`` bytes as one-line LAUNCH_DMAs of at most CE_MAX_LINE_LENGTH elements of ``element`` bytes;
        ``offsets(done)`` writes each line's addresses. The first is NON_PIPELINED, the rest PIPELINED; the last
        LAUNCH_DMA (with the semaphore release) is returned for :meth:`_release_into` to write."""
        sub = self.subchannel
        elements = size // element
        transfer = F.CeTransferType.NON_PIPELINED
        done = 0
        while True:
            n = min(elements - done, F.CE_MAX_LINE_LENGTH)
            offsets(done * element)
            pb.method(sub, "LINE_LENGTH_IN", n)
            done += n
            launch = self._launch(transfer=transfer, remap=remap, release=done == elements)
            if done == elements:
                return launch
            pb.method(sub, "LAUNCH_DMA", launch)
            transfer = F.CeTransferType.PIPELINED

    # -- operations ----------------------------------------------------------------------------------------

    def copy(self, dst: Target, src: Target, size: int, *, dst_offset: int = 0, src_offset: int = 0) -> Fence:
        """Copy ``size`` bytes from ``src`` to ``dst`` (either memory kind); returns the fence of its completion."""
        if size <= 0:
            raise ChannelError(f"copy of {size} bytes")
        d = self._va(dst, dst_offset, size, "destination")
        s = self._va(src, src_offset, size, "source")
        pb = self._pb()
        sub = self.subchannel

        def offsets(done: int) -> None:
            pb.method(sub, "OFFSET_IN_UPPER", self._upper(s + done), (s + done) & 0xFFFFFFFF,
                      self._upper(d + done), (d + done) & 0xFFFFFFFF)

        final = self._lines(pb, size, 1, offsets)
        self.copies += 1
        self.bytes += size
        return self._submit(pb, final)

    def copy_2d(self, dst: Target, src: Target, width: int, height: int, *, dst_pitch: int, src_pitch: int,
                dst_offset: int = 0, src_offset: int = 0) -> Fence:
        """Copy ``height`` lines of ``width`` bytes, ``src_pitch``/``dst_pitch`` bytes apart (pitch layout)."""
        if not 0 < width <= F.CE_MAX_LINE_LENGTH or not 0 < height <= 0xFFFFFFFF:
            raise ChannelError(f"2-D copy of {width} x {height}: width 1..0xFFFFFFFF, height 1..0xFFFFFFFF")
        if not 0 <= src_pitch <= 0xFFFFFFFF or not 0 <= dst_pitch <= 0xFFFFFFFF or (
                height > 1 and (src_pitch < width or dst_pitch < width)):
            raise ChannelError(f"pitches {src_pitch}/{dst_pitch} must be 32-bit and at least the width {width}")
        span_s = src_pitch * (height - 1) + width
        span_d = dst_pitch * (height - 1) + width
        d = self._va(dst, dst_offset, span_d, "destination")
        s = self._va(src, src_offset, span_s, "source")
        pb = self._pb()
        sub = self.subchannel
        pb.method(sub, "OFFSET_IN_UPPER", self._upper(s), s & 0xFFFFFFFF, self._upper(d), d & 0xFFFFFFFF,
                  src_pitch, dst_pitch, width, height)
        self.copies += 1
        self.bytes += width * height
        return self._submit(pb, self._launch(transfer=F.CeTransferType.NON_PIPELINED, multi_line=True, release=True))

    def fill(self, dst: Target, value: int, size: int, *, dst_offset: int = 0) -> Fence:
        """Fill ``size`` bytes (a multiple of 4) of ``dst`` with the 32-bit ``value`` (UVM memset_4)."""
        if size <= 0 or size % 4 or not 0 <= value <= 0xFFFFFFFF:
            raise ChannelError(f"fill of {size} bytes with {value!r}: a positive multiple of 4 and a 32-bit value")
        d = self._va(dst, dst_offset, size, "destination")
        pb = self._pb()
        sub = self.subchannel
        # SET_REMAP_COMPONENTS: DST_X = CONST_B (5), COMPONENT_SIZE FOUR (3), NUM_DST_COMPONENTS ONE (0)
        pb.method(sub, "SET_REMAP_CONST_B", value, 5 | 3 << 16)

        def offsets(done: int) -> None:
            va = d + done
            pb.method(sub, "OFFSET_OUT_UPPER", self._upper(va), va & 0xFFFFFFFF)

        final = self._lines(pb, size, 4, offsets, remap=True)
        return self._submit(pb, final)
