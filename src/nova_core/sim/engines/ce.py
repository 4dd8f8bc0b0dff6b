"""nova_core.sim.engines.ce: the simulated copy engine - its methods, LAUNCH_DMA, and the semaphore release.

One :class:`SimCopyEngine` per copy engine the simulated GPU has (``COPY0``..). Host hands it every method
(byte address 0x100 and up) of a subchannel bound to its class; the engine keeps the method state *per channel*
(:class:`CeContext`, as the hardware saves it with the channel's context) and acts on LAUNCH_DMA
(``clc5b5.h``..``clcab5.h``):

- ``OFFSET_IN_UPPER/LOWER`` and ``OFFSET_OUT_UPPER/LOWER`` give the source and destination (bits 16:0 of UPPER
  through AMPERE_DMA_COPY_B, 24:0 from HOPPER_DMA_COPY_A), virtual in the channel's address space
  (``SRC_TYPE``/``DST_TYPE`` VIRTUAL) or physical with ``SET_SRC_PHYS_MODE``/``SET_DST_PHYS_MODE`` (LOCAL_FB,
  COHERENT_SYSMEM, NONCOHERENT_SYSMEM);
- ``LINE_LENGTH_IN`` bytes are moved, or with ``MULTI_LINE_ENABLE`` ``LINE_COUNT`` lines of it, ``PITCH_IN`` /
  ``PITCH_OUT`` bytes apart (pitch layout);
- ``REMAP_ENABLE`` with every destination component taken from ``SET_REMAP_CONST_A/B`` is a memset:
  ``LINE_LENGTH_IN`` elements of ``COMPONENT_SIZE`` x ``NUM_DST_COMPONENTS`` bytes (UVM ``memset_common``);
- then ``SEMAPHORE_TYPE``: RELEASE_ONE_WORD writes ``SET_SEMAPHORE_PAYLOAD`` (4 bytes, 8 with
  ``SEMAPHORE_PAYLOAD_SIZE`` TWO_WORD from AMPERE_DMA_COPY_B, upper word ``SET_SEMAPHORE_PAYLOAD_UPPER``) at the
  VA of ``SET_SEMAPHORE_A/B``; RELEASE_FOUR_WORD writes 16 bytes: the payload (as 8 bytes) and the GPU time in
  nanoseconds;
- ``INTERRUPT_TYPE`` NON_BLOCKING raises the engine's non-stall interrupt when the work is done.

Refused (a CE error for the channel, ``ROBUST_CHANNEL_CE<n>_ERROR``): a method the class does not have, and
what the sim does not model - BLOCKLINEAR layouts, remaps that read the source, semaphore reductions,
CONDITIONAL_INTR semaphores, BLOCKING interrupts (serviced by RM), secure copies and memory scrubs (Hopper+),
compression (Blackwell). A translation the MMU refuses is an MMU fault (``ROBUST_CHANNEL_FIFO_ERROR_MMU_ERR_FLT``)
with its fault type and VA. A copy whose source or destination faults writes nothing (the sim translates both
fully first; hardware may have moved part of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...engines import facts as F
from ...errors import SimViolation
from ..models.mmu import SYS, VID, MmuFault
from .errors import ChannelStop, ce_error, mmu_fault
from .memory import EngineMemory, Run

_PHYS_SPACE = {F.PhysTarget.LOCAL_FB: VID, F.PhysTarget.COHERENT_SYSMEM: SYS, F.PhysTarget.NONCOHERENT_SYSMEM: SYS}
_REMAP_CONST_A, _REMAP_CONST_B, _REMAP_NO_WRITE = 4, 5, 6


@dataclass
class CeContext:
    """One channel's copy-engine state: the last value written to each method."""

    ce_class: int
    regs: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return self.regs.get(name, 0)


class SimCopyEngine:
    """Copy engine ``instance`` (``COPY<instance>``) of class ``ce_class``.

    Args:
        instance: the engine number (RM_ENGINE_TYPE_COPY0 + instance).
        ce_class: the class it executes.
        nonstall: called when a LAUNCH_DMA asks for the non-stall interrupt.
        now: GPU time in nanoseconds (semaphore timestamps).
    """

    def __init__(self, instance: int, ce_class: int, nonstall: Callable[[], None], now: Callable[[], int]) -> None:
        self.instance = instance
        self.ce_class = ce_class
        self.classes = (ce_class,)  #: what SET_OBJECT may bind on a channel of this engine
        self.methods = F.CE_METHODS[ce_class]
        self.names = {v: k for k, v in self.methods.items()}
        self.launch_format = F.launch_dma_format(ce_class)
        self.upper_mask = (1 << F.CE_SEMAPHORE_UPPER_BITS[ce_class]) - 1
        self._nonstall = nonstall
        self._now = now
        self.launches = 0
        self.bytes_moved = 0
        self.semaphores = 0

    @property
    def unit(self) -> str:
        return f"CE{self.instance}"

    def __repr__(self) -> str:
        return f"<SimCopyEngine CE{self.instance} {F.CLASS_NAMES.get(self.ce_class, hex(self.ce_class))}>"

    def context(self) -> CeContext:
        return CeContext(self.ce_class)

    # -- methods ----------------------------------------------------------------------------------

    def method(self, ctx: CeContext, address: int, value: int, mem: EngineMemory) -> None:
        """Execute one method of this engine for the channel whose state is ``ctx``."""
        name = self.names.get(address)
        if name is None:
            raise ce_error(self.instance, f"method {address:#06x} is not a method of "
                                          f"{F.CLASS_NAMES.get(self.ce_class, hex(self.ce_class))}")
        ctx.regs[name] = value
        if name == "LAUNCH_DMA":
            self.launch(ctx, value, mem)

    def _address(self, ctx: CeContext, upper: str, lower: str) -> int:
        return (ctx.get(upper) & self.upper_mask) << 32 | ctx.get(lower)

    def _runs(self, mem: EngineMemory, ctx: CeContext, which: str, addr: int, length: int, *, write: bool,
              physical: bool) -> list[Run]:
        if not physical:
            return list(mem.runs(addr, length, write=write))
        target = F.PhysTarget(ctx.get(f"SET_{which}_PHYS_MODE") & 3)
        space = _PHYS_SPACE.get(target)
        if space is None:
            raise ce_error(self.instance, f"{which} physical target {target.name}: no peer GPU here")
        return mem.physical(space, addr, length)

    def launch(self, ctx: CeContext, value: int, mem: EngineMemory) -> None:
        """LAUNCH_DMA: the transfer (if any), then the semaphore, then the interrupt."""
        fmt = self.launch_format
        f = fmt.decode(value)
        self._refuse_unmodelled(f, value)
        try:
            if f["data_transfer_type"] != F.CeTransferType.NONE:
                self._transfer(ctx, f, mem)
            if f["semaphore_type"] != F.CeSemaphoreType.NONE:
                self._release(ctx, f, mem)
        except MmuFault as e:
            raise mmu_fault(str(e), e.reason, e.va, self.unit) from None
        except SimViolation as e:
            raise ce_error(self.instance, str(e)) from None
        self.launches += 1
        if f["interrupt_type"] == F.CeInterruptType.NON_BLOCKING:
            self._nonstall()

    def _refuse_unmodelled(self, f: dict[str, int], value: int) -> None:
        def no(why: str) -> ChannelStop:
            return ce_error(self.instance, f"LAUNCH_DMA {why} is not modelled by the simulated copy engine")

        if f["data_transfer_type"] != F.CeTransferType.NONE and (
                f["src_memory_layout"] != F.CeLayout.PITCH or f["dst_memory_layout"] != F.CeLayout.PITCH):
            raise no("with a BLOCKLINEAR layout")
        if f["data_transfer_type"] == F.CeTransferType.PREFETCH:
            raise no("DATA_TRANSFER_TYPE PREFETCH")
        if f["semaphore_reduction_enable"]:
            raise no("SEMAPHORE_REDUCTION_ENABLE")
        if f["semaphore_type"] == F.CeSemaphoreType.RELEASE_CONDITIONAL_INTR:
            raise no("SEMAPHORE_TYPE RELEASE_CONDITIONAL_INTR_SEMAPHORE")
        if f["interrupt_type"] == F.CeInterruptType.BLOCKING:
            raise no("INTERRUPT_TYPE BLOCKING (a stall interrupt RM services)")
        if f.get("copy_type", 0) == 1:
            raise no("COPY_TYPE SECURE")
        if f.get("memory_scrub_enable", 0):
            raise no("MEMORY_SCRUB_ENABLE")
        if self.ce_class in (F.BLACKWELL_DMA_COPY_A, F.BLACKWELL_DMA_COPY_B) and (value >> 11) & 1:
            raise no("COMPRESSION_ENABLE (bit 11)")

    def _element(self, ctx: CeContext) -> bytes | None:
        """The memset element of a remap (None: the remap reads the source - not modelled)."""
        rc = ctx.get("SET_REMAP_COMPONENTS")
        size = ((rc >> 16) & 3) + 1
        count = ((rc >> 24) & 3) + 1
        consts = {_REMAP_CONST_A: ctx.get("SET_REMAP_CONST_A"), _REMAP_CONST_B: ctx.get("SET_REMAP_CONST_B")}
        out = b""
        for k in range(count):
            sel = (rc >> (4 * k)) & 7
            if sel not in consts:
                return None
            out += consts[sel].to_bytes(4, "little")[:size]
        return out

    def _transfer(self, ctx: CeContext, f: dict[str, int], mem: EngineMemory) -> None:
        src = self._address(ctx, "OFFSET_IN_UPPER", "OFFSET_IN_LOWER")
        dst = self._address(ctx, "OFFSET_OUT_UPPER", "OFFSET_OUT_LOWER")
        length = ctx.get("LINE_LENGTH_IN")
        lines = ctx.get("LINE_COUNT") if f["multi_line_enable"] else 1
        pitch_in = ctx.get("PITCH_IN") if f["multi_line_enable"] else 0
        pitch_out = ctx.get("PITCH_OUT") if f["multi_line_enable"] else 0
        src_phys = f["src_type"] == F.CeAddressType.PHYSICAL
        dst_phys = f["dst_type"] == F.CeAddressType.PHYSICAL
        element = None
        if f["remap_enable"]:
            element = self._element(ctx)
            if element is None:
                raise ce_error(self.instance, "LAUNCH_DMA REMAP_ENABLE with a component taken from the source is "
                                              "not modelled by the simulated copy engine (only CONST_A/CONST_B)")
            length *= len(element)
        if not length or not lines:
            return
        # translate everything first: a fault leaves memory untouched
        plan: list[tuple[list[Run], list[Run]]] = []
        for line in range(lines):
            d = self._runs(mem, ctx, "DST", dst + line * pitch_out, length, write=True, physical=dst_phys)
            s = [] if element is not None else self._runs(mem, ctx, "SRC", src + line * pitch_in, length,
                                                           write=False, physical=src_phys)
            plan.append((d, s))
        for d, s in plan:
            if element is not None:
                mem.fill(d, element)
            else:
                mem.copy(d, s)
            self.bytes_moved += length

    def _release(self, ctx: CeContext, f: dict[str, int], mem: EngineMemory) -> None:
        va = self._address(ctx, "SET_SEMAPHORE_A", "SET_SEMAPHORE_B")
        payload = ctx.get("SET_SEMAPHORE_PAYLOAD")
        wide = bool(f.get("semaphore_payload_size", 0))
        if wide:
            payload |= ctx.get("SET_SEMAPHORE_PAYLOAD_UPPER") << 32
        if f["semaphore_type"] == F.CeSemaphoreType.RELEASE_FOUR_WORD:
            data = payload.to_bytes(8, "little") + self._now().to_bytes(8, "little")
        else:
            data = payload.to_bytes(8 if wide else 4, "little")
        align = 16 if len(data) == 16 else len(data)
        if va % align:
            raise ce_error(self.instance, f"semaphore address {va:#x} is not {align}-byte aligned for a "
                                          f"{len(data)}-byte release")
        mem.write(va, data)
        self.semaphores += 1
