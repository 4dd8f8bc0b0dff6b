"""nova_drm.push: building the pushbuffers a client hands to :meth:`File.exec <nova_drm.file.File.exec>`.

This is the client side (what Mesa or libdrm carry for nouveau): method words for the classes a client learns from
``getparam`` (``GETPARAM_GPFIFO_CLASS``, ``GETPARAM_COPY_CLASS``), encoded with nova-core's class facts
(:mod:`nova_core.engines.facts`, from NVIDIA's ``clc*6f.h``/``clc*b5.h``). The bytes are written into a GEM object
with ``gem_pwrite``, bound in the client's VM, and submitted as ``(GPU VA, len(bytes))`` - the GPU fetches them
from there.

A copy is UVM's ``uvm_hal_maxwell_ce_memcopy`` shape: SET_OBJECT of the copy class on subchannel
:data:`~nova_drm.uapi.COPY_SUBCHANNEL`, OFFSET_IN/OUT (upper, lower), LINE_LENGTH_IN, LAUNCH_DMA (pitch layouts,
virtual addresses, NON_PIPELINED, FLUSH_ENABLE so the bytes are visible before the kernel's fence release that
follows the client's entries). A fill is UVM's ``memset_4`` (REMAP_ENABLE, SET_REMAP_CONST_B).
"""

from __future__ import annotations

from nova_core.engines import facts as F
from nova_core.engines.pushbuf import Pushbuffer
from nova_core.errors import NovaError

from .uapi import COPY_SUBCHANNEL


def _launch(copy_class: int, *, remap: bool = False) -> int:
    return F.launch_dma_format(copy_class).encode(
        data_transfer_type=F.CeTransferType.NON_PIPELINED, flush_enable=1, src_memory_layout=F.CeLayout.PITCH,
        dst_memory_layout=F.CeLayout.PITCH, multi_line_enable=0, remap_enable=int(remap),
        src_type=F.CeAddressType.VIRTUAL, dst_type=F.CeAddressType.VIRTUAL)


def _start(gpfifo_class: int, copy_class: int) -> Pushbuffer:
    try:
        return Pushbuffer(gpfifo_class).set_object(COPY_SUBCHANNEL, copy_class)
    except NovaError as e:
        raise ValueError(f"classes {gpfifo_class:#x}/{copy_class:#x}: {e}") from None


def copy(gpfifo_class: int, copy_class: int, dst_va: int, src_va: int, size: int) -> bytes:
    """The pushbuffer of a copy of ``size`` bytes (1 to 0xFFFFFFFF) from GPU VA ``src_va`` to ``dst_va``."""
    if not 0 < size <= F.CE_MAX_LINE_LENGTH:
        raise ValueError(f"copy of {size} bytes: 1 to {F.CE_MAX_LINE_LENGTH:#x} in one LAUNCH_DMA")
    pb = _start(gpfifo_class, copy_class)
    sub = COPY_SUBCHANNEL
    pb.method(sub, "OFFSET_IN_UPPER", src_va >> 32, src_va & 0xFFFFFFFF, dst_va >> 32, dst_va & 0xFFFFFFFF)
    pb.method(sub, "LINE_LENGTH_IN", size)
    pb.method(sub, "LAUNCH_DMA", _launch(copy_class))
    return pb.to_bytes()


def fill(gpfifo_class: int, copy_class: int, dst_va: int, value: int, size: int) -> bytes:
    """The pushbuffer of a fill of ``size`` bytes (a multiple of 4) at ``dst_va`` with the 32-bit ``value``."""
    if size <= 0 or size % 4 or size // 4 > F.CE_MAX_LINE_LENGTH or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"fill of {size} bytes with {value!r}: a positive multiple of 4 and a 32-bit value")
    pb = _start(gpfifo_class, copy_class)
    sub = COPY_SUBCHANNEL
    # SET_REMAP_COMPONENTS: DST_X = CONST_B (5), COMPONENT_SIZE FOUR (3 << 16), NUM_DST_COMPONENTS ONE (0)
    pb.method(sub, "SET_REMAP_CONST_B", value, 5 | 3 << 16)
    pb.method(sub, "OFFSET_OUT_UPPER", dst_va >> 32, dst_va & 0xFFFFFFFF)
    pb.method(sub, "LINE_LENGTH_IN", size // 4)
    pb.method(sub, "LAUNCH_DMA", _launch(copy_class, remap=True))
    return pb.to_bytes()


def acquire(gpfifo_class: int, va: int, value: int) -> bytes:
    """The pushbuffer of a host semaphore acquire: the channel waits until the 32-bit word at ``va`` equals
    ``value`` (SEM_ADDR_LO/HI, SEM_PAYLOAD_LO/HI, SEM_EXECUTE ACQUIRE; ``NVC46F_SEM_*``) - a GPU-side wait on
    another submission's semaphore, or on a word the CPU writes."""
    if va & 3 or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"acquire of {value!r} at {va:#x}: a 4-byte aligned VA and a 32-bit value")
    pb = Pushbuffer(gpfifo_class)
    pb.method(0, "SEM_ADDR_LO", va & 0xFFFFFFFC, va >> 32, value, 0,
              F.SemExecute.encode(operation=F.SemExecuteOp.ACQUIRE, payload_size=0))
    return pb.to_bytes()
