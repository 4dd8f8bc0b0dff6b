"""nova_core.falcon_isa.disasm: falcon code as text, what is reachable from its entry points, and coverage.

- :func:`format_insn` prints one instruction (envyas-like syntax: ``ld b32 $r9 D[$r9+0x2c]``,
  ``iowr I[$r9] $r15``), with a comment naming the register an I/O access reaches when the address is
  known: within a basic block the disassembler follows ``mov``/``sethi`` constants into the base register.
  An I/O address ``X`` is the engine register at host offset ``X >> 6``
  (:data:`~nova_core.regs.falcon.FALCON_IO_INDEX_SHIFT`), named from :mod:`nova_core.regs`.
- :func:`reachable` walks the code from entry points along fall-through, branches and calls (not into
  regions given as opaque, such as encrypted secure code) and says what it reached, what it could not
  decode, and what it could not follow (a jump or call through a register).
- :func:`disassemble` lists instructions (the reachable ones, or a linear sweep) with labels.

Read-only: nothing here executes code. The driver may use it; so may the simulated GPU's emulator, which
shares :mod:`.decode` with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..regs import REGISTRY
from ..regs.falcon import FALCON, FALCON_IO_INDEX_SHIFT
from .decode import Crypto, FlagBit, Imm, Insn, Mem, Operand, Reg, SpecialReg, Target, decode
from .opcodes import CONDITIONS, FLAG_BITS, SPECIAL_REGS, Flow, Form

IoNamer = Callable[[int], str | None]


def io_namer(engine: str = "GSP") -> IoNamer:
    """Names I/O addresses as registers of ``engine``'s falcon block (GSP, SEC2)."""
    base = FALCON.base(engine)

    def name(addr: int) -> str | None:
        off = (addr & 0xFFFFFFFF) >> FALCON_IO_INDEX_SHIFT
        loc = REGISTRY.lookup(base + off)
        return f"{loc.label}" if loc else f"{engine} falcon +{off:#x} (not in regs/)"

    return name


def _hex(v: int) -> str:
    return f"-{-v:#x}" if v < 0 else f"{v:#x}"


def _operand(op: Operand, insn: Insn) -> str:
    if isinstance(op, Reg):
        return f"$r{op.n}"
    if isinstance(op, SpecialReg):
        return f"${SPECIAL_REGS.get(op.n, f'sr{op.n}')}"
    if isinstance(op, Imm):
        if insn.mnemonic in ("mov", "sethi") and op.value < 0:
            return f"{op.value & 0xFFFFFFFF:#x}"
        return _hex(op.value)
    if isinstance(op, FlagBit):
        return FLAG_BITS.get(op.bit, f"flag{op.bit}")
    if isinstance(op, Target):
        return f"{op.addr:#x}"
    if isinstance(op, Crypto):
        if op.via_reg is not None:
            return f"$r{op.via_reg}"
        return " ".join(f"$c{a}" if i < 2 and op.name not in ("cs0begin", "cs0exec", "cs1begin", "cs1exec") and
                        not (i == 1 and op.name in ("cchmod", "cadd", "csecret")) else _hex(a)
                        for i, a in enumerate(op.args))
    assert isinstance(op, Mem)
    base = "$sp" if op.base == "sp" else f"$r{op.base}"
    if op.index is None:
        inner = base
    elif isinstance(op.index, Imm):
        inner = f"{base}+{op.index.value * op.scale:#x}" if op.index.value else base
    else:
        inner = f"{base}+$r{op.index.n}" + (f"*{op.scale}" if op.scale > 1 else "")
    return f"{op.space}[{inner}]"


def format_insn(insn: Insn, *, comment: str | None = None) -> str:
    """``mnemonic [size] operands [; comment]`` (or ``.invalid bytes`` with the decoder's reason)."""
    if not insn.valid:
        return f".invalid {insn.raw.hex()}  ; {insn.error}"
    parts = [insn.mnemonic or "?"]
    if insn.mnemonic == "bra" and insn.cond is not None and CONDITIONS.get(insn.cond):
        parts[0] = f"bra {CONDITIONS[insn.cond]}"
    if insn.mnemonic == "xbit" and insn.entry is not None and insn.entry.form in (Form.HI_FLAGS_IMM,
                                                                                  Form.LO_FLAGS_HI):
        ops = [_operand(insn.operands[0], insn), "$flags", _operand(insn.operands[1], insn)]
    elif insn.entry is not None and insn.entry.form in (Form.SP_SIMM, Form.SP_HI):
        ops = ["$sp", *(_operand(o, insn) for o in insn.operands)]
    elif insn.entry is not None and insn.entry.form in (Form.FLAG_B2, Form.FLAGS_HI) and \
            insn.mnemonic in ("bset", "bclr", "btgl"):
        ops = ["$flags", *(_operand(o, insn) for o in insn.operands)]
    else:
        ops = [_operand(o, insn) for o in insn.operands]
    if insn.size is not None:
        parts.append(f"b{insn.size}")
    text = " ".join(parts + ops)
    return f"{text}  ; {comment}" if comment else text


@dataclass
class Walk:
    """What :func:`reachable` found."""

    insns: dict[int, Insn] = field(default_factory=dict)  #: every reached address -> its instruction
    invalid: dict[int, Insn] = field(default_factory=dict)  #: reached addresses that do not decode
    unresolved: list[Insn] = field(default_factory=list)  #: jumps and calls through a register
    opaque_targets: dict[int, int] = field(default_factory=dict)  #: a target in an opaque region -> from
    outside_targets: dict[int, int] = field(default_factory=dict)  #: a target outside the code -> from
    labels: set[int] = field(default_factory=set)  #: branch and call targets reached

    @property
    def decoded_bytes(self) -> int:
        return sum(i.length for i in self.insns.values() if i.valid)

    @property
    def reached_bytes(self) -> int:
        return self.decoded_bytes + sum(max(i.length, 1) for i in self.invalid.values())

    @property
    def share_decoded(self) -> float:
        """Bytes of reachable code that decode, over the bytes reached (1.0: everything reached decodes)."""
        return self.decoded_bytes / self.reached_bytes if self.reached_bytes else 1.0

    def as_json(self) -> dict[str, Any]:
        return {
            "instructions": sum(1 for i in self.insns.values() if i.valid), "decoded_bytes": self.decoded_bytes,
            "reached_bytes": self.reached_bytes, "share_decoded": self.share_decoded,
            "invalid": [{"addr": a, "bytes": i.raw.hex(), "error": i.error} for a, i in sorted(self.invalid.items())],
            "unresolved": [{"addr": i.addr, "insn": format_insn(i)} for i in self.unresolved],
            "opaque_targets": [{"target": t, "from": f} for t, f in sorted(self.opaque_targets.items())],
            "outside_targets": [{"target": t, "from": f} for t, f in sorted(self.outside_targets.items())],
        }


def reachable(code: bytes | memoryview, entries: Iterable[int], *, base: int = 0,
              opaque: Iterable[tuple[int, int]] = (), limit: int = 1_000_000) -> Walk:
    """Walk ``code`` (byte ``i`` at address ``base + i``) from ``entries``, and from the interrupt and trap
    vectors the reached code installs (``mov $iv0``/``$iv1``/``$tv`` of a known constant).

    ``opaque``: ``[start, end)`` ranges not to enter (their targets are listed). At most ``limit``
    instructions are visited (bounded work on any input).
    """
    w = Walk()
    end = base + len(code)
    ranges = list(opaque)

    def is_opaque(a: int) -> bool:
        return any(s <= a < e for s, e in ranges)

    todo = list(entries)
    w.labels.update(todo)
    while todo:
        while todo and len(w.insns) < limit:
            addr = todo.pop()
            while addr not in w.insns and len(w.insns) < limit:
                if not base <= addr < end or is_opaque(addr):
                    break
                insn = decode(code, addr, base=base)
                w.insns[addr] = insn
                if not insn.valid:
                    w.invalid[addr] = insn
                    break
                flow = insn.flow
                tgt = insn.target
                if tgt is not None and flow in (Flow.BRANCH, Flow.JUMP, Flow.CALL):
                    if is_opaque(tgt):
                        w.opaque_targets.setdefault(tgt, addr)
                    elif not base <= tgt < end:
                        w.outside_targets.setdefault(tgt, addr)
                    else:
                        w.labels.add(tgt)
                        todo.append(tgt)
                if flow in (Flow.JUMP_REG, Flow.CALL_REG):
                    w.unresolved.append(insn)
                if flow in (Flow.JUMP, Flow.JUMP_REG, Flow.RET, Flow.EXIT):
                    break
                addr = insn.next_addr
        for vec in _vectors(w):
            if vec not in w.insns and base <= vec < end and not is_opaque(vec):
                w.labels.add(vec)
                todo.append(vec)
    return w


def _vectors(w: Walk) -> list[int]:
    """Code addresses the reached code writes to $iv0, $iv1 or $tv."""
    out: list[int] = []
    known: dict[int, int] = {}
    prev_end: int | None = None
    for addr in sorted(w.insns):
        insn = w.insns[addr]
        if addr in w.labels or addr != prev_end:
            known = {}
        if not insn.valid:
            prev_end = None
            continue
        ops = insn.operands
        if insn.mnemonic == "mov" and ops and isinstance(ops[0], SpecialReg) and ops[0].n in (0, 1, 3) and \
                isinstance(ops[1], Reg) and ops[1].n in known:
            out.append(known[ops[1].n])
        _known_constants(insn, known)
        if insn.flow is not Flow.NEXT:
            known = {}
        prev_end = insn.next_addr
    return out


_SOURCE_FIRST = {"push", "mpush", "cmp", "cmpu", "cmps", "st", "iowr", "iowrs", "setp", "xcld", "xdld", "xdst",
                 "cbra.e", "cbra.ne", "jmp", "call", "itlb"}


def _known_constants(insn: Insn, known: dict[int, int]) -> None:
    """Track register constants through one instruction (within a basic block)."""
    f = insn.entry.form if insn.entry else None
    ops = insn.operands
    mn = insn.mnemonic or ""
    if mn == "mov" and f in (Form.R0_SIMM, Form.R0_IMM32) and isinstance(ops[0], Reg):
        known[ops[0].n] = ops[1].value & 0xFFFFFFFF  # type: ignore[union-attr]
    elif mn == "sethi" and isinstance(ops[0], Reg) and ops[0].n in known:
        known[ops[0].n] = (known[ops[0].n] & 0xFFFF) | (ops[1].value & 0xFFFFFFFF)  # type: ignore[union-attr]
    elif insn.flow in (Flow.CALL, Flow.CALL_REG) or mn.startswith("mpop") or mn == "pop":
        known.clear()  # a callee, or a restore from the stack, may change any register
    elif ops and isinstance(ops[0], Reg) and mn not in _SOURCE_FIRST and \
            f not in (Form.FLAGS_HI, Form.SP_HI, Form.FLAG_LO_HI):
        known.pop(ops[0].n, None)


def io_address(insn: Insn, known: dict[int, int]) -> int | None:
    """The I/O address ``insn`` reaches when its base register holds a known constant."""
    for o in insn.operands:
        if isinstance(o, Mem) and o.space == "I" and isinstance(o.base, int) and o.base in known:
            if o.index is None:
                return known[o.base]
            if isinstance(o.index, Imm):
                return (known[o.base] + o.index.value * o.scale) & 0xFFFFFFFF
    return None


@dataclass
class Line:
    addr: int
    insn: Insn
    text: str
    label: bool = False


def disassemble(code: bytes | memoryview, *, base: int = 0, entries: Iterable[int] | None = None,
                opaque: Iterable[tuple[int, int]] = (), namer: IoNamer | None = None) -> tuple[list[Line], Walk | None]:
    """Lines of the reachable code (``entries`` given) or of a linear sweep (``entries`` None)."""
    walk = None
    if entries is not None:
        walk = reachable(code, entries, base=base, opaque=opaque)
        insns = [walk.insns[a] for a in sorted(walk.insns)]
        labels = walk.labels
    else:
        insns, addr, end = [], base, base + len(code)
        while addr < end:
            i = decode(code, addr, base=base)
            insns.append(i)
            addr += max(i.length, 1)
        labels = {i.target for i in insns if i.valid and i.target is not None and i.flow is not Flow.NEXT}
    lines: list[Line] = []
    known: dict[int, int] = {}
    prev_end: int | None = None
    for insn in insns:
        if insn.addr in labels or insn.addr != prev_end:
            known = {}
        comment = None
        io = io_address(insn, known) if insn.valid else None
        if io is not None and namer is not None:
            comment = f"I[{io:#x}] = {namer(io)}"
        elif insn.flow is Flow.BRANCH and insn.cond is not None and insn.mnemonic == "bra" and \
                insn.cond not in CONDITIONS:  # pragma: no cover - every valid cc is named
            comment = f"cc {insn.cond:#x}"
        lines.append(Line(insn.addr, insn, format_insn(insn, comment=comment), insn.addr in labels))
        if insn.valid:
            _known_constants(insn, known)
            if insn.flow is not Flow.NEXT:
                known = {}
        prev_end = insn.next_addr
    return lines, walk


def render(lines: list[Line]) -> str:
    out = []
    prev: int | None = None
    for ln in lines:
        if prev is not None and ln.addr != prev:
            out.append("")
        if ln.label:
            out.append(f"{ln.addr:06x}:")
        out.append(f"  {ln.addr:06x}:  {ln.insn.raw.hex():<12}  {ln.text}")
        prev = ln.insn.next_addr
    return "\n".join(out)
