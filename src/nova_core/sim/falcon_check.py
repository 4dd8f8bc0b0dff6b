"""nova_core.sim.falcon_check: the generic "expected ucode" start check for simulated falcons.

A simulated falcon does not execute code; when started it asks its ``on_start`` check what happens.
:func:`expect_ucode` builds the check every HS ucode checker starts with: compare what the driver
loaded against an :class:`ExpectedLoad` - the sim's own description, built by the sim from the artifact
(a test's synthetic ucode; the FWSEC of the vBIOS the PROM serves; the booter of the firmware in use),
never from the driver's load description - and stop at the first difference:

1. IMEM, segment by segment, block by block: loaded since reset, tag, secure flag, then the bytes;
2. DMEM bytes;
3. BOOTVEC;
4. GA102+ boot ROM registers: BROM_PARAADDR(0), BROM_ENGIDMASK, BROM_CURR_UCODE_ID, MOD_SEL (RSA3K);
5. mailboxes, when the ucode takes arguments there (the booter: the WPR meta address).

A difference halts the falcon with :attr:`~nova_core.sim.models.falcon.ExitCode.UCODE_MISMATCH` in MAILBOX0
and a diagnostic naming it, e.g. ``"SEC2: BROM_ENGIDMASK 0x0, expected 0x1 from booter meta"``. A match
runs ``on_success`` (default: halt with MAILBOX0 = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import SimViolation
from ..regs import falcon as F
from .models.falcon import BLOCK, ExitCode, SimFalcon, StartCheck, StartResult


@dataclass(frozen=True)
class ExpectedSegment:
    """``data`` expected at falcon address ``dst``; IMEM: ``secure`` and ``tag`` (virtual address, default dst)."""

    dst: int
    data: bytes
    secure: bool = False
    tag: int | None = None


@dataclass(frozen=True)
class ExpectedBrom:
    """The GA102+ boot ROM registers an HS ucode needs."""

    pkc_data_offset: int
    engine_id_mask: int
    ucode_id: int
    mod_sel: int = F.ModSelAlgo.RSA3K


@dataclass(frozen=True)
class ExpectedLoad:
    """What must be in a falcon when it starts; ``source`` ends every diagnostic (``"... from booter meta"``)."""

    source: str
    imem: tuple[ExpectedSegment, ...] = ()
    dmem: tuple[ExpectedSegment, ...] = ()
    boot_vector: int | None = None
    brom: ExpectedBrom | None = None
    mailbox0: int | None = None
    mailbox1: int | None = None


def _first_difference(found: bytes, want: bytes) -> int:
    for i, (a, b) in enumerate(zip(found, want, strict=True)):
        if a != b:
            return i
    return -1  # pragma: no cover - only called when the two differ


def _word(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4].ljust(4, b"\0"), "little")


def find_mismatch(falcon: SimFalcon, expected: ExpectedLoad) -> str | None:
    """The first way ``falcon``'s state differs from ``expected`` (a diagnostic), or ``None``."""
    eng, src = falcon.engine, expected.source
    nblocks = falcon.imem_size // BLOCK
    for seg in expected.imem:
        tag0 = (seg.dst if seg.tag is None else seg.tag) >> 8
        for n in range(-(-len(seg.data) // BLOCK)):
            idx = (seg.dst >> 8) + n
            if idx >= nblocks:
                return f"{eng}: expected IMEM block {idx:#x} is past the {falcon.imem_size:#x}-byte IMEM ({src})"
            blk = falcon.imem_block(idx)
            if not blk.loaded:
                kind = "secure code" if seg.secure else "code"
                return f"{eng}: IMEM block {idx:#x} was not loaded, expected {kind} from {src}"
            if blk.tag != tag0 + n:
                tag_txt = "none" if blk.tag is None else f"{blk.tag:#x}"
                return f"{eng}: IMEM block {idx:#x} tag {tag_txt}, expected {tag0 + n:#x} from {src}"
            if blk.secure != seg.secure:
                return (f"{eng}: IMEM block {idx:#x} loaded {'secure' if blk.secure else 'non-secure'}, expected "
                        f"{'secure' if seg.secure else 'non-secure'} from {src}")
        got = falcon.read_imem(seg.dst, len(seg.data))
        if got != seg.data:
            at = _first_difference(got, seg.data) & ~3
            return (f"{eng}: IMEM {seg.dst + at:#x} holds {_word(got, at):#010x}, expected {_word(seg.data, at):#010x} "
                    f"from {src}")
    for seg in expected.dmem:
        try:
            got = falcon.read_dmem(seg.dst, len(seg.data))
        except SimViolation as e:
            return f"{eng}: expected DMEM does not fit: {e} ({src})"
        if got != seg.data:
            at = _first_difference(got, seg.data) & ~3
            return (f"{eng}: DMEM {seg.dst + at:#x} holds {_word(got, at):#010x}, expected {_word(seg.data, at):#010x} "
                    f"from {src}")
    checks: list[tuple[str, int, int | None]] = [
        ("BOOTVEC", falcon.reg(F.NV_PFALCON_FALCON_BOOTVEC), expected.boot_vector)]
    b = expected.brom
    if b is not None:
        checks += [
            ("BROM_PARAADDR(0)", falcon.reg(F.NV_PFALCON2_FALCON_BROM_PARAADDR, 0), b.pkc_data_offset),
            ("BROM_ENGIDMASK", falcon.reg(F.NV_PFALCON2_FALCON_BROM_ENGIDMASK), b.engine_id_mask),
            ("BROM_CURR_UCODE_ID", F.NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID.ucode_id.get(
                falcon.reg(F.NV_PFALCON2_FALCON_BROM_CURR_UCODE_ID)), b.ucode_id),
            ("MOD_SEL", F.NV_PFALCON2_FALCON_MOD_SEL.algo.get(falcon.reg(F.NV_PFALCON2_FALCON_MOD_SEL)), b.mod_sel),
        ]
    checks += [("MAILBOX0", falcon.reg(F.NV_PFALCON_FALCON_MAILBOX0), expected.mailbox0),
               ("MAILBOX1", falcon.reg(F.NV_PFALCON_FALCON_MAILBOX1), expected.mailbox1)]
    for reg_name, found, want in checks:
        if want is not None and found != want:
            return f"{eng}: {reg_name} {found:#x}, expected {want:#x} from {src}"
    return None


def expect_ucode(expected: ExpectedLoad, *,
                 on_success: StartResult | Callable[[SimFalcon], StartResult] | None = None) -> StartCheck:
    """An ``on_start`` check: halt with UCODE_MISMATCH on the first difference, else ``on_success``."""

    def check(falcon: SimFalcon) -> StartResult:
        diag = find_mismatch(falcon, expected)
        if diag is not None:
            return StartResult.fail(ExitCode.UCODE_MISMATCH, diag)
        if on_success is None:
            return StartResult.halt(0)
        return on_success(falcon) if callable(on_success) else on_success

    return check
