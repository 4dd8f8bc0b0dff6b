"""nova_core.sim.falcon_emu.core: the falcon processor - registers, flags, stack, IMEM pages, DMEM, the run loop.

State, as envytools documents the falcon (``docs/hw/falcon/{isa,data,vm,intr,proc}.rst``): sixteen GPRs
``$r0``-``$r15``; sixteen special registers (``$sp`` = ``$sr4``, ``$flags`` = ``$sr8``, ``$tv``, ``$tstatus``,
the transfer bases and targets, ``$cauth`` ...); IMEM in 256-byte physical blocks, each tagged with the
virtual page it answers for and flagged usable or secure (the "TLB"); byte-addressed DMEM with a downward
stack; the heavy-secure (HS) mode entered when execution reaches a secure block.

Execution: every instruction is decoded once (:mod:`nova_core.falcon_isa.decode`) and compiled into a
closure (:mod:`.ops`) that does its work on the register lists and returns the next ``$pc``; the run loop
looks the closure up by ``$pc`` and calls it, counting instructions against a budget. Immediates live in
constant slots after the sixteen GPRs, so a closure reads a register or an immediate the same way. A
change of IMEM (a code transfer, ``itlb``) drops the compiled closures; so does a change between HS and
non-secure execution (one cache per mode).

Faults stop the run with a :class:`~.stop.StopInfo` (:data:`~.stop.StopReason`), never an exception into the
host. Sim choices, not hardware facts: a DMEM access past the end of DMEM stops the falcon (hardware
behaviour there is not documented); an IMEM miss stops it (hardware raises trap 0xa, which a ucode could
handle); so does an unknown encoding (hardware raises trap 8). ``sleep`` stops it, as nothing in the
simulated GPU raises falcon interrupts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ...falcon_isa.decode import Insn, decode
from ...falcon_isa.opcodes import MAX_LENGTH, PAGE, SR_FLAGS, SR_SP
from .stop import Stop, StopInfo, StopReason

if sys.byteorder != "little":  # pragma: no cover - the DMEM word view below assumes it
    raise ImportError("the falcon emulator needs a little-endian host")

Op = Callable[[], int]

#: trap reasons in $tstatus bits 23:20 (envytools intr.rst)
TRAP_INVALID_OPCODE = 0x8
TRAP_VM_NO_HIT = 0xA
TRAP_VM_MULTI_HIT = 0xB
#: $flags bits used by trap and interrupt delivery
FLAG_IE0, FLAG_IE1, FLAG_IE2, FLAG_IS0, FLAG_IS1, FLAG_IS2, FLAG_TA = 16, 17, 18, 20, 21, 22, 24


class IoBus(Protocol):
    """The falcon's I/O space (``iord``/``iowr``): falcon-local registers and what lies behind them."""

    def io_read(self, addr: int, pc: int) -> int: ...

    def io_write(self, addr: int, value: int, pc: int) -> None: ...


class XferPort(Protocol):
    """The external side of code/data transfers (``xcld``/``xdld``/``xdst``): FBIF to VRAM or system memory.

    ``port`` is the FBIF context (0-7); ``ext`` the external byte address. Raises :class:`~.stop.Stop` with
    :attr:`~.stop.StopReason.DMA_FAULT` for an access the memory system refuses.
    """

    def xfer_read(self, port: int, ext: int, n: int, pc: int) -> bytes: ...

    def xfer_write(self, port: int, ext: int, data: bytes, pc: int) -> None: ...


@dataclass
class Block:
    """One physical IMEM block's TLB entry."""

    tag: int = 0  #: the virtual page (virtual address >> 8) it answers for
    valid: bool = False  #: loaded and complete
    secure: bool = False  #: heavy-secure code


@dataclass
class RunStats:
    """What a run did, for reports."""

    instructions: int = 0
    io_reads: int = 0
    io_writes: int = 0
    xfers: int = 0
    hs_entries: list[tuple[int, int | None]] = field(default_factory=list)  #: (HS entry pc, from pc)


class FalconCore:
    """One emulated falcon processor (see the module docstring).

    Args:
        imem, dmem: the falcon's memories (shared, not copied: transfers and stores land in them).
        blocks: the TLB entry of each 256-byte IMEM block.
        io: the I/O space; xfer: the external memory side of transfers.
        log: ``log(level, message)`` for notable events ("info", "warning").
    """

    def __init__(self, imem: bytearray, dmem: bytearray, blocks: list[Block], io: IoBus, xfer: XferPort, *,
                 log: Callable[[str, str], None] | None = None) -> None:
        if len(imem) % PAGE or len(dmem) % 4 or len(blocks) != len(imem) // PAGE:
            raise ValueError("IMEM must be whole 256-byte blocks with one Block each; DMEM whole words")
        self.imem = imem
        self.dmem = dmem
        self.dmem_words = memoryview(dmem).cast("I")
        self.blocks = blocks
        self.io = io
        self.xfer = xfer
        self.log = log or (lambda level, msg: None)
        #: $r0-$r15, then the constant slots of compiled immediates
        self.R: list[int] = [0] * 16
        #: $sr0-$sr15 ($sp = S[4], $flags = S[8])
        self.S: list[int] = [0] * 16
        self.pc = 0
        self.hs = False
        self.stats = RunStats()
        #: called when execution enters heavy-secure code: ``fn(pc, from_pc)``; may raise Stop to refuse it
        self.on_hs_entry: Callable[[int, int | None], None] | None = None
        #: instructions seen that the tables do not know, by address (for reports)
        self.unknown: dict[int, str] = {}
        #: the crypto unit's registers $c0-$c7 (16 bytes each) and its transfer stream
        self.crypto = [bytes(16)] * 8
        self.crypto_stream: list[bytes] = []
        #: xfers left that go to the crypto unit instead of external memory (set by ``cxset``)
        self.crypto_xfers = 0
        self._spm = self.sp_mask
        self._consts: dict[int, int] = {}
        self._code: tuple[dict[int, Op], dict[int, Op]] = ({}, {})
        self._vmap: dict[int, int] | None = None

    # -- memory helpers --------------------------------------------------------------------------------

    @property
    def dmem_size(self) -> int:
        return len(self.dmem)

    @property
    def sp(self) -> int:
        return self.S[SR_SP]

    @sp.setter
    def sp(self, value: int) -> None:
        self.S[SR_SP] = value & self.sp_mask

    @property
    def sp_mask(self) -> int:
        """$sp keeps bits 1:0 and the bits above what spans DMEM at 0 (envytools data.rst)."""
        span = 1 << max(len(self.dmem) - 1, 1).bit_length()
        return (span - 1) & ~3

    @property
    def flags(self) -> int:
        return self.S[SR_FLAGS]

    def const(self, value: int) -> int:
        """The slot of R holding the 32-bit constant ``value`` (created on first use)."""
        value &= 0xFFFFFFFF
        slot = self._consts.get(value)
        if slot is None:
            slot = self._consts[value] = len(self.R)
            self.R.append(value)
        return slot

    def load32(self, addr: int, pc: int) -> int:
        a = addr & 0xFFFFFFFC
        if a + 4 > len(self.dmem):
            raise self.dmem_fault(addr, 4, pc)
        return int(self.dmem_words[a >> 2])

    def store32(self, addr: int, value: int, pc: int) -> None:
        a = addr & 0xFFFFFFFC
        if a + 4 > len(self.dmem):
            raise self.dmem_fault(addr, 4, pc)
        self.dmem_words[a >> 2] = value & 0xFFFFFFFF

    def dmem_fault(self, addr: int, n: int, pc: int) -> Stop:
        return Stop(StopReason.DMEM_FAULT, f"{n}-byte DMEM access at {addr:#x} is outside the {len(self.dmem):#x}-byte "
                                           f"DMEM", pc)

    def push(self, value: int, pc: int) -> None:
        sp = (self.S[SR_SP] - 4) & self._spm
        self.S[SR_SP] = sp
        self.store32(sp, value, pc)

    def pop(self, pc: int) -> int:
        sp = self.S[SR_SP]
        v = self.load32(sp, pc)
        self.S[SR_SP] = (sp + 4) & self._spm
        return v

    # -- IMEM and its TLB ------------------------------------------------------------------------------

    def invalidate(self) -> None:
        """IMEM or its tags changed: drop compiled code and the page map."""
        self._code[0].clear()
        self._code[1].clear()
        self._vmap = None

    def _page_map(self) -> dict[int, int]:
        m: dict[int, int] = {}
        for i, b in enumerate(self.blocks):
            if b.valid:
                m[b.tag] = -1 if b.tag in m else i  # -1: more than one block answers (multi-hit)
        self._vmap = m
        return m

    def lookup(self, vaddr: int, pc: int | None = None) -> int:
        """The physical block answering for virtual address ``vaddr`` (a :class:`Stop` if none or several)."""
        vmap = self._vmap if self._vmap is not None else self._page_map()
        phys = vmap.get(vaddr >> 8)
        if phys is None:
            raise Stop(StopReason.IMEM_MISS, f"no IMEM block is tagged with virtual page {vaddr >> 8:#x} (address "
                                             f"{vaddr:#x}); hardware would raise trap {TRAP_VM_NO_HIT:#x}",
                       vaddr if pc is None else pc)
        if phys < 0:
            raise Stop(StopReason.IMEM_MULTI_HIT, f"several IMEM blocks are tagged with virtual page {vaddr >> 8:#x}; "
                                                  f"hardware would raise trap {TRAP_VM_MULTI_HIT:#x}",
                       vaddr if pc is None else pc)
        return phys

    def fetch(self, vaddr: int) -> tuple[bytes, int]:
        """Up to :data:`MAX_LENGTH` code bytes at ``vaddr`` (fewer where the next page is not mapped) and the
        physical block of the first."""
        phys = self.lookup(vaddr)
        out = bytearray()
        page, blk = vaddr >> 8, phys
        for i in range(MAX_LENGTH):
            a = vaddr + i
            if a >> 8 != page:
                page = a >> 8
                vmap = self._vmap or {}
                nxt = vmap.get(page)
                if nxt is None or nxt < 0:
                    break
                blk = nxt
            out.append(self.imem[blk * PAGE + (a & 0xFF)])
        return bytes(out), phys

    def load_code_block(self, phys: int, data: bytes, tag: int, secure: bool) -> None:
        """A code transfer (``xcld``) filled IMEM block ``phys`` for virtual page ``tag``."""
        self.imem[phys * PAGE:(phys + 1) * PAGE] = data
        b = self.blocks[phys]
        old = b.tag if b.valid else None
        b.tag, b.valid, b.secure = tag, True, secure
        pages = {tag} if old is None else {tag, old}
        for code in self._code:  # drop what was compiled from those pages (an instruction may start on the one before)
            for pc in [pc for pc in code if pc >> 8 in pages or (pc + MAX_LENGTH - 1) >> 8 in pages]:
                del code[pc]
        vmap = self._vmap
        if vmap is None:
            return
        if old is not None and old != tag:
            if vmap.get(old) == phys:
                del vmap[old]
            elif vmap.get(old) == -1:
                self._vmap = None  # a multi-hit may have become a single hit: recount
                return
        if vmap.get(tag) in (None, phys):
            vmap[tag] = phys
        else:
            self._vmap = None

    # -- compile and run -------------------------------------------------------------------------------

    def decode_at(self, vaddr: int) -> Insn:
        code, _ = self.fetch(vaddr)
        return decode(code, vaddr, base=vaddr)

    def _compile(self, pc: int) -> Op:
        from .ops import compile_insn

        code, phys = self.fetch(pc)
        secure = self.blocks[phys].secure
        if secure != self.hs:
            return self._mode_switch(pc, secure)
        insn = decode(code, pc, base=pc)
        if not insn.valid:
            self.unknown[pc] = insn.error or "unknown"
            raise Stop(StopReason.UNKNOWN_OPCODE, f"{insn.raw.hex() or 'nothing'}: {insn.error}", pc)
        fn = compile_insn(self, insn)
        self._code[self.hs][pc] = fn
        return fn

    def _mode_switch(self, pc: int, secure: bool) -> Op:
        def switch() -> int:
            raise _ModeSwitch(pc, secure)

        return switch

    def _enter_mode(self, pc: int, secure: bool, from_pc: int | None) -> None:
        if secure:
            self.stats.hs_entries.append((pc, from_pc))
            if self.on_hs_entry is not None:
                self.on_hs_entry(pc, from_pc)
            self.log("info", f"entered heavy-secure mode at {pc:#x}"
                             + ("" if from_pc is None else f" (from {from_pc:#x})"))
        else:
            self.log("info", f"left heavy-secure mode at {pc:#x}")
        self.hs = secure

    def run(self, budget: int) -> StopInfo:
        """Execute from :attr:`pc` until a halt, a fault or ``budget`` more instructions."""
        pc = self.pc
        prev: int | None = None
        n = 0
        try:
            while True:
                get = self._code[self.hs].get
                compile_ = self._compile
                try:
                    while n < budget:
                        fn = get(pc)
                        if fn is None:
                            fn = compile_(pc)
                        prev, pc = pc, fn()  # prev keeps the last instruction when fn raises
                        n += 1
                except _ModeSwitch as sw:
                    pc = sw.pc
                    self._enter_mode(pc, sw.secure, None if prev == pc else prev)
                    continue
                raise Stop(StopReason.BUDGET, f"{budget} instructions executed without a halt (a runaway loop?)", pc)
        except Stop as s:
            if s.reason is StopReason.HALTED:
                n += 1  # the exit itself
            self.stats.instructions += n
            at = pc if s.pc is None else s.pc
            self.pc = at
            return StopInfo(s.reason, at, s.message)

    def halt_pc(self, pc: int) -> Stop:
        return Stop(StopReason.HALTED, "exit", pc)

    # -- traps -----------------------------------------------------------------------------------------

    def trap(self, reason: int, pc: int, ret_pc: int) -> int:
        """Deliver a trap (envytools intr.rst); returns the new $pc."""
        f = self.S[SR_FLAGS]
        if f >> FLAG_TA & 1:
            raise Stop(StopReason.DOUBLE_TRAP, f"trap {reason:#x} while the trap handler is active ($flags.ta): the "
                                               f"falcon halts", pc)
        f |= 1 << FLAG_TA
        self.S[12] = (pc & 0xFFFFF) | (reason & 0xF) << 20  # $tstatus
        for ie, is_ in ((FLAG_IE0, FLAG_IS0), (FLAG_IE1, FLAG_IS1), (FLAG_IE2, FLAG_IS2)):
            f = (f & ~(1 << is_)) | ((f >> ie & 1) << is_)
            f &= ~(1 << ie)
        self.S[SR_FLAGS] = f
        self.push(ret_pc, pc)
        return self.S[3] & 0xFFFFFFFF  # $tv


class _ModeSwitch(Exception):
    def __init__(self, pc: int, secure: bool) -> None:
        super().__init__(pc)
        self.pc = pc
        self.secure = secure
