"""nova_core.engines.pushbuf: pushbuffers - method headers and data, checked against the channel's classes.

A pushbuffer is a run of 32-bit words that host (the PBDMA) decodes: a *method header* (``NVC46F_DMA_*``,
:class:`~nova_core.engines.facts.PbHeader`) says which method of which subchannel the following data words go
to, and how the method address moves:

================  ===========================================================================
``inc``           INC_METHOD (SEC_OP 1): ``count`` data words to ``method``, ``method + 4``, ...
``non_inc``       NON_INC_METHOD (3): ``count`` data words all to ``method``
``one_inc``       ONE_INC (5): the first word to ``method``, the rest to ``method + 4``
``immd``          IMMD_DATA_METHOD (4): no data word; the 13-bit value sits in the header
================  ===========================================================================

Methods below 0x100 are host methods (``HOST_METHODS`` of the GPFIFO class; SEM_*, NON_STALL_INTERRUPT,
SET_OBJECT...) and go on any subchannel; the others belong to the class bound to the subchannel with SET_OBJECT
(:meth:`Pushbuffer.set_object`: a copy-engine or a compute class, :data:`ENGINE_METHODS`).
:meth:`Pushbuffer.method` takes method *names* and refuses - with :class:`~nova_core.errors.PushbufferError` - a
name the class does not have, a method on a subchannel nothing is bound to, and a value that does not fit 32
bits: the mistakes a GPU answers with a channel error are caught before anything is submitted.
:meth:`Pushbuffer.raw` writes any header (tests of the GPU's own refusals).

From a REPL::

    >>> from nova_core.engines.pushbuf import Pushbuffer
    >>> from nova_core.engines import facts as F
    >>> pb = Pushbuffer(F.AMPERE_CHANNEL_GPFIFO_A)
    >>> pb.set_object(4, F.AMPERE_DMA_COPY_B).method(4, "OFFSET_IN_UPPER", 0x0, 0x1000, 0x0, 0x2000)
    >>> [hex(w) for w in pb.words]
    ['0x20018000', '0xc7b5', '0x20048100', '0x0', '0x1000', '0x0', '0x2000']
"""

from __future__ import annotations

import array
import sys
from collections.abc import Iterable

from ..errors import PushbufferError, did_you_mean
from . import facts as F
from .gr import facts as GF

U32 = 0xFFFFFFFF
#: method name -> byte address of every engine class a subchannel can be bound to (copy engines, compute)
ENGINE_METHODS: dict[int, dict[str, int]] = {**F.CE_METHODS, **GF.COMPUTE_METHODS}


def header(sec_op: F.SecOp, subchannel: int, method: int, count: int) -> int:
    """One method header word (``count``: data dwords, or the immediate value for IMMD_DATA_METHOD)."""
    if not 0 <= subchannel < F.SUBCHANNELS:
        raise PushbufferError(f"subchannel {subchannel} is not 0..{F.SUBCHANNELS - 1}")
    if method & 3 or not 0 <= method < 4 << 12:
        raise PushbufferError(f"method address {method:#x} is not a dword address below 0x4000")
    if not 0 <= count <= F.PB_MAX_COUNT:
        what = "immediate value" if sec_op is F.SecOp.IMMD_DATA_METHOD else "method count"
        raise PushbufferError(f"{what} {count:#x} does not fit 13 bits (NVC46F_DMA_METHOD_COUNT 28:16)")
    return F.PbHeader.encode(address=method >> 2, subchannel=subchannel, count=count, sec_op=sec_op)


class Pushbuffer:
    """Method words for a channel of class ``gpfifo_class``; subchannel bindings are tracked for name checks.

    Args:
        gpfifo_class: the channel's class (its host methods).
        bound: subchannel -> engine class already bound (e.g. by an earlier pushbuffer on the channel).
    """

    def __init__(self, gpfifo_class: int, bound: dict[int, int] | None = None) -> None:
        if gpfifo_class not in F.HOST_METHODS:
            raise PushbufferError(f"{gpfifo_class:#06x} is not a GPFIFO class "
                                  f"({', '.join(f'{c:#06x}' for c in F.HOST_METHODS)})")
        self.gpfifo_class = gpfifo_class
        self.host = F.HOST_METHODS[gpfifo_class]
        self.bound: dict[int, int] = dict(bound or {})
        self._words = array.array("I")

    # -- what was built ------------------------------------------------------------------------------

    @property
    def words(self) -> list[int]:
        return self._words.tolist()

    def __len__(self) -> int:
        return len(self._words)

    def to_bytes(self) -> bytes:
        """The words, little-endian, as the PBDMA reads them."""
        if sys.byteorder == "little":
            return self._words.tobytes()
        c = array.array("I", self._words)  # pragma: no cover - big-endian hosts only
        c.byteswap()
        return c.tobytes()

    def clear(self) -> None:
        del self._words[:]

    # -- method names ---------------------------------------------------------------------------------

    def address_of(self, subchannel: int, name: str) -> int:
        """Byte address of method ``name`` on ``subchannel`` (host methods on any subchannel)."""
        addr = self.host.get(name)
        if addr is not None:
            return addr
        cls = self.bound.get(subchannel)
        if cls is None:
            raise PushbufferError(f"method {name!r} on subchannel {subchannel}: it is not a host method of "
                                  f"{F.CLASS_NAMES.get(self.gpfifo_class, hex(self.gpfifo_class))} and nothing "
                                  f"is bound to the subchannel (SET_OBJECT first)"
                                  f"{did_you_mean(name, self.host)}")
        methods = ENGINE_METHODS.get(cls)
        if methods is None:
            raise PushbufferError(f"subchannel {subchannel} is bound to class {cls:#06x}, whose methods are not "
                                  f"known here (copy-engine and compute classes: "
                                  f"{', '.join(f'{c:#06x}' for c in ENGINE_METHODS)})")
        addr = methods.get(name)
        if addr is None:
            what = F.CLASS_NAMES.get(cls) or GF.CLASS_NAMES.get(cls, hex(cls))
            raise PushbufferError(f"{what} has no method {name!r}{did_you_mean(name, [*methods, *self.host])}")
        return addr

    # -- building ---------------------------------------------------------------------------------------

    def _data(self, values: Iterable[int]) -> list[int]:
        out = []
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U32:
                raise PushbufferError(f"method data {v!r} is not a 32-bit unsigned value")
            out.append(v)
        return out

    def _emit(self, op: F.SecOp, subchannel: int, method: int, data: list[int]) -> Pushbuffer:
        if not data:
            raise PushbufferError(f"method {method:#x}: at least one data word is needed")
        self._words.append(header(op, subchannel, method, len(data)))
        self._words.extend(data)
        return self

    def inc(self, subchannel: int, method: int, *data: int) -> Pushbuffer:
        """INC_METHOD: ``data`` to consecutive methods from byte address ``method``."""
        return self._emit(F.SecOp.INC_METHOD, subchannel, method, self._data(data))

    def non_inc(self, subchannel: int, method: int, *data: int) -> Pushbuffer:
        """NON_INC_METHOD: every word of ``data`` to the same method (a FIFO-like method)."""
        return self._emit(F.SecOp.NON_INC_METHOD, subchannel, method, self._data(data))

    def one_inc(self, subchannel: int, method: int, *data: int) -> Pushbuffer:
        """ONE_INC: the first word to ``method``, the others to ``method + 4``."""
        return self._emit(F.SecOp.ONE_INC, subchannel, method, self._data(data))

    def immd(self, subchannel: int, method: int, value: int) -> Pushbuffer:
        """IMMD_DATA_METHOD: ``value`` (13 bits) in the header itself."""
        self._words.append(header(F.SecOp.IMMD_DATA_METHOD, subchannel, method, value))
        return self

    def method(self, subchannel: int, name: str, *data: int) -> Pushbuffer:
        """``data`` to method ``name`` and the ones after it (INC_METHOD), by name."""
        return self.inc(subchannel, self.address_of(subchannel, name), *data)

    def set_object(self, subchannel: int, cls: int) -> Pushbuffer:
        """SET_OBJECT: bind engine class ``cls`` to ``subchannel``."""
        self._emit(F.SecOp.INC_METHOD, subchannel, self.host["SET_OBJECT"], [F.SetObject.encode(nvclass=cls)])
        self.bound[subchannel] = cls
        return self

    def raw(self, *words: int) -> Pushbuffer:
        """Words written as given (no checks beyond 32 bits): for tests of what the GPU refuses."""
        self._words.extend(self._data(words))
        return self

    def extend(self, other: Pushbuffer) -> Pushbuffer:
        if other.gpfifo_class != self.gpfifo_class:
            raise PushbufferError(f"cannot join pushbuffers of classes {other.gpfifo_class:#x} and "
                                  f"{self.gpfifo_class:#x}")
        self._words.extend(other._words)
        self.bound.update(other.bound)
        return self


def gp_entry(address: int, dwords: int, *, sync: bool = False) -> int:
    """A GPFIFO entry for ``dwords`` of pushbuffer at GPU VA ``address`` (4-byte aligned, below 1 TiB)."""
    if address & 3 or not 0 <= address < F.GP_ENTRY_MAX_ADDRESS:
        raise PushbufferError(f"pushbuffer address {address:#x} is not 4-byte aligned below 1 TiB "
                              f"(GP_ENTRY0_GET 31:2 + GP_ENTRY1_GET_HI 7:0)")
    if not 0 < dwords < 1 << 21:
        raise PushbufferError(f"pushbuffer segment of {dwords} dwords: 1..{(1 << 21) - 1} (GP_ENTRY1_LENGTH 30:10)")
    return F.GpEntry.encode(get=(address >> 2) & 0x3FFFFFFF, get_hi=address >> 32, length=dwords, sync=int(sync))
