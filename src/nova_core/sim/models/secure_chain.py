"""nova_core.sim.models.secure_chain: FWSEC on the GSP falcon and the HS booters on SEC2, checked (and FWSEC executed).

The simulated falcons (:mod:`.falcon`) call their ``on_start`` check when started; this model installs
those checks on the GSP and SEC2 falcons. Each compares what the driver loaded against the sim's own
reading of the artifact - the FWSEC of the ROM the PROM window serves (:mod:`..vbios_oracle`), the
firmware set the sim was told about (:meth:`SecureChainModel.expect_firmware`, :mod:`..fw_oracle`) -
and, where it all matches, applies the effect the real ucode has. A mismatch halts the falcon with an
error code in MAILBOX0 and a diagnostic naming the first difference (logged, component ``secure``, and
kept in the falcon's ``diagnostics``).

**FWSEC (GSP falcon, falcon core).** Three ways in, as the driver may load it:

- v3 descriptor (GA102+): IMEM = the secure code at IMEMPhysBase tagged from IMEMVirtBase, DMEM = the
  data, BOOTVEC = IMEMVirtBase, BROM_PARAADDR(0)/ENGIDMASK/CURR_UCODE_ID/MOD_SEL = PKCDataOffset, the
  descriptor's engine mask and ucode id, RSA3K;
- v2 through the generic bootloader (BOOTVEC = its ``start_tag << 8``): its code must sit non-secure in
  the last IMEM blocks under those tags, and its ``flcn_bl_dmem_desc_v2`` (at its DMEM offset) must name
  a physical system-memory FBIF context (TRANSCFG, FBIF_CTL.ALLOW_PHYS_NO_CTX, DMACTL.REQUIRE_CTX clear),
  256-byte aligned bases below 2**49, and VirtualEntry as the entry point; the sim then does what the
  bootloader does - DMAs non-secure code, secure code and data in through the simulated IOMMU (an
  unmapped address is a fault) - and checks the result as for:
- v2 loaded directly: non-secure code at IMEMPhysBase tagged IMEMVirtBase, secure code after it tagged
  IMEMSecBase, DMEM data, BOOTVEC = VirtualEntry.

The command is read back from the loaded DMEM (DMEMMAPPER ``init_cmd``; FRTS: the FRTS_REGION
descriptor), and the expected image is the oracle's ROM image patched for it, with the signature for the
fused version the fuse registers hold. A wrong or missing signature is named as such ("holds signature 1,
expected signature 0 for fuse version 0", "holds zeros: the signature was not patched").
A load that passes is then executed by the falcon emulator (:mod:`..falcon_emu.fwsec`): where NVIDIA's code
runs to its halt, its result is the result; where it cannot (encrypted HS code, an unknown instruction ...), the
effects below decide, and the emulator logs why. Effects: FRTS sets WPR2 to the FRTS region and clears
``SW_SCRATCH(0xE)`` bits 31:16; SB clears
``SW_SCRATCH(0x15)`` bits 15:0. FWSEC reports command failures there, not in MAILBOX0 (which stays 0):
FRTS with WPR2 already set, an FRTS region outside VRAM, and the injected :attr:`~SecureChainModel.frts_error`
/ :attr:`~SecureChainModel.sb_error`.

**Booters (SEC2).** The loaded code tells booter_load from booter_unload; both must match the sim's
reading of the file for the SEC2 fused version (OpenRM's signature choice): TU102 HAL os code + secure
app + DMEM with the signature, BOOTVEC os code; GA102+ secure app at 0, BOOTVEC app offset, boot ROM
registers from the booter's signature params ("SEC2: BROM_ENGIDMASK 0x0, expected 0x1 from booter
meta"). booter_load then reads ``GspFwWprMeta`` (the firmware version's bindings) from system memory at
MAILBOX1:MAILBOX0 and checks magic, revision, ``verified`` 0, the image behind the radix3 tree (the sim's
own walker, compared with ``.fwimage``), the signature bytes against the chip's ``.fwsignature_*``
section, the bootloader copy and its offsets, the layout (FB size, VGA workspace, ``gspFwWprEnd``, the
regions' order and alignment, FRTS = WPR2 as FWSEC set it - or, on chips without FRTS, WPR2 not set),
and the GSP falcon: reset since it last ran, RISC-V core selected (GA102+), and a mapped LibOS argument
address in its MAILBOX0/1. Right: WPR2 becomes ``[gspFwWprStart, gspFwWprEnd)``, the GSP's RISC-V core
starts, BSI_SECURE_SCRATCH_14.BOOT_STAGE_3_HANDOFF is set, and :attr:`~SecureChainModel.on_gsp_riscv_start`
is called with the LibOS arguments' address - by default :meth:`~SecureChainModel.start_gsp_rm`, which boots
the simulated GSP-RM (``models["gsp_rm"]``) there. booter_unload (mailboxes
0xff/0xff, WPR2 set, GSP RISC-V core stopped) clears WPR2 and the handoff bit.

WPR2_ADDR_LO/HI are written by the secure ucodes only: a CPU write is refused (priv-level protected).

Sim choices (unverified against hardware): the FRTS and booter error codes (:class:`FwsecError`,
:class:`BooterError` - the real ones are not published); WPR2 = the FRTS region after FRTS and
``[gspFwWprStart, gspFwWprEnd)`` after booter_load; FWSEC runs 2 ms and a booter 5 ms of virtual time.
"""

from __future__ import annotations

import ctypes
import enum
import hashlib
import os
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...errors import FirmwareError, NovaError, RomError, SimViolation
from ...gpu.chips import FalconHal
from ...hw.clock import MS
from ...regs import falcon as F
from ...regs.fuse import FUSE_VERSION_BY_ENGINE
from ...regs.gc6 import NV_PGC6_BSI_SECURE_SCRATCH_14
from ...regs.pbus import FRTS_ERR_SCRATCH, NV_PBUS_SW_SCRATCH, SB_ERR_SCRATCH
from ...regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO, WPR2_ADDR_SHIFT
from ..falcon_check import ExpectedBrom, ExpectedLoad, ExpectedSegment, find_mismatch
from ..fw_oracle import BooterExpectation, OracleBooter, SimFirmware, load_firmware
from ..vbios_oracle import FRTS, SB, OracleFwsec, OracleImage
from .falcon import ExitCode, SimFalcon, StartResult, State

if TYPE_CHECKING:
    from ..falcon_emu.fwsec import FwsecEmulator
    from ..gpu import SimGpu
    from .falcon import SimFalcons
    from .vbios import VbiosModel

NAME = "secure_chain"
ORDER = 50

FWSEC_RUN_NS = 2 * MS
BOOTER_RUN_NS = 5 * MS
MiB = 1 << 20
_BLOCK = 256
_DMA_LIMIT = 1 << F.FALCON_DMA_ADDR_BITS
_BL_DMEM_DESC = struct.Struct("<4I4IIQIIIIIQIII")  #: flcn_bl_dmem_desc_v2 (packed), the sim's own copy
_FRTS_ALIGN = 128 << 10


class FwsecError(enum.IntEnum):
    """Command error codes the simulated FWSEC writes to its scratch register (sim choices)."""

    WPR2_ALREADY_SET = 0x00A1
    REGION_OUTSIDE_FB = 0x00A2
    REGION_MISALIGNED = 0x00A3


class BooterError(enum.IntEnum):
    """MAILBOX0 codes the simulated booters halt with (sim choices; the real codes are not published)."""

    NO_FIRMWARE = 0xB0070001  #: the sim was not told which firmware to expect
    UCODE_MISMATCH = 0xB0070002  #: what is loaded is not the booter (or not signed for this fuse version)
    META_UNREADABLE = 0xB0070010  #: GspFwWprMeta cannot be read at the mailbox address
    META_BAD = 0xB0070011  #: magic, revision, verified
    RADIX3 = 0xB0070012  #: the radix3 tree does not resolve to the GSP-RM image
    SIGNATURE = 0xB0070013  #: the GSP-RM signature is not the chip's
    BOOTLOADER = 0xB0070014  #: the RISC-V bootloader copy or its offsets
    LAYOUT = 0xB0070015  #: an FB layout field is inconsistent
    WPR2 = 0xB0070016  #: WPR2 is not as FWSEC-FRTS left it (or set where it must not be)
    GSP_STATE = 0xB0070017  #: the GSP falcon is not reset into RISC-V mode with LibOS arguments
    UNLOAD = 0xB0070020  #: booter_unload preconditions
    INJECTED = 0xB00700FF  #: fault injection: :attr:`SecureChainModel.booter_error`


class CheckFailed(Exception):
    """A check found a difference (``code`` for MAILBOX0, ``diagnostic`` for the log)."""

    def __init__(self, code: int, diagnostic: str) -> None:
        super().__init__(diagnostic)
        self.code = code
        self.diagnostic = diagnostic


def _word(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4].ljust(4, b"\0"), "little")


def _first_diff(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on prefix equality: bytes compares run in C
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return next(i for i in range(lo, hi) if a[i] != b[i])


def _signature_note(got: bytes, want: bytes, signatures: tuple[bytes, ...], want_index: int, fused: int) -> str:
    """Name what a signature slot holds instead of the expected one."""
    if got == want:
        return ""
    if not any(got):
        return "holds zeros: the signature was not patched"
    for i, s in enumerate(signatures):
        if got == s:
            return (f"holds signature {i} of {len(signatures)}, expected signature {want_index} for fused version "
                    f"{fused}")
    return "holds bytes that are none of the ucode's signatures"


class SecureChainModel:
    """The FWSEC and booter checks of one simulated GPU (``gpu.models["secure_chain"]``)."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.log = gpu.log
        falcons: SimFalcons = gpu.models["falcon"]  # type: ignore[assignment]
        self.gsp = falcons.gsp
        self.sec2 = falcons.sec2
        self.gsp.on_start = self.check_gsp_start
        self.sec2.on_start = self.check_sec2_start
        self.ga102 = gpu.facts.falcon_hal is FalconHal.GA102
        #: the firmware the driver must use (:meth:`expect_firmware`)
        self.firmware: SimFirmware | None = None
        #: called with the LibOS arguments' bus address when booter_load starts the GSP's RISC-V core; by
        #: default :meth:`start_gsp_rm` (the simulated GSP-RM boots from there); ``None``: nothing runs on it
        self.on_gsp_riscv_start: Callable[[int], None] | None = self.start_gsp_rm
        #: fault injection: the next FWSEC-FRTS / FWSEC-SB reports this error code (0: none); one-shot
        self.frts_error = 0
        self.sb_error = 0
        #: fault injection: the next booter halts with :attr:`BooterError.INJECTED` (one-shot)
        self.booter_error = False
        #: what ran, oldest first: "FWSEC-FRTS", "FWSEC-SB", "booter_load", "booter_unload"
        self.history: list[str] = []
        #: the last GspFwWprMeta booter_load accepted (field -> value) and the LibOS arguments' address
        self.wpr_meta: dict[str, int] | None = None
        self.libos_args_bus: int | None = None
        self._fwsec_emulation: FwsecEmulator | None = None
        self._lo = NV_PFB_PRI_MMU_WPR2_ADDR_LO.addr()
        self._hi = NV_PFB_PRI_MMU_WPR2_ADDR_HI.addr()
        gpu.bar0.on_write(self._lo, self._refuse_wpr2_write)
        gpu.bar0.on_write(self._hi, self._refuse_wpr2_write)

    @property
    def fwsec_emulation(self) -> FwsecEmulator:
        """Executes the FWSEC the GSP falcon was started with (falls back to the checks' model, saying why); made
        on first use, so a simulated GPU that never runs FWSEC does not import the falcon emulator."""
        if self._fwsec_emulation is None:
            from ..falcon_emu.fwsec import FwsecEmulator

            self._fwsec_emulation = FwsecEmulator(self.gpu)
        return self._fwsec_emulation

    # -- configuration -------------------------------------------------------------------------------

    def expect_firmware(self, root: str | os.PathLike[str], version: str | None = None) -> SimFirmware:
        """Read the chip's firmware under ``root`` (``nvidia/<chip>/gsp/*-<version>.bin``, plus the generic
        bootloader where present): the booters SEC2 accepts and the GSP-RM image booter_load checks."""
        self.firmware = load_firmware(root, self.gpu.facts.fw_dir, version)
        fw = self.firmware
        self.log.info("secure", f"expecting GSP-RM {fw.version} from {fw.root}"
                                + (f" (generic bootloader {fw.generic_bootloader.name})"
                                   if fw.generic_bootloader else ""))
        return fw

    def start_gsp_rm(self, libos_args_bus: int) -> None:
        """The default handoff: boot the simulated GSP-RM (``models["gsp_rm"].boot(version, libos_args)``) with
        the version of the firmware booter_load accepted. A GSP-RM left from an earlier boot is stopped first:
        booter_load only runs after a GSP falcon reset, which ended that one's RISC-V core."""
        rm = self.gpu.models.get("gsp_rm")
        boot, stop = getattr(rm, "boot", None), getattr(rm, "stop", None)
        if boot is None or stop is None or self.firmware is None:
            return
        if getattr(rm, "state", "off") != "off":
            stop()
        boot(self.firmware.gsp.version, libos_args_bus)

    # -- WPR2 ----------------------------------------------------------------------------------------

    @property
    def wpr2(self) -> tuple[int, int]:
        """``(start, end)`` of WPR2 (``end`` 0: not set)."""
        bar = self.gpu.bar0
        return (NV_PFB_PRI_MMU_WPR2_ADDR_LO.val.get(bar.peek(self._lo)) << WPR2_ADDR_SHIFT,
                NV_PFB_PRI_MMU_WPR2_ADDR_HI.val.get(bar.peek(self._hi)) << WPR2_ADDR_SHIFT)

    def set_wpr2(self, start: int, end: int) -> None:
        """Program WPR2 as the secure ucodes do (also fault injection: a GPU a previous driver left set up)."""
        self.gpu.bar0.poke(self._lo, NV_PFB_PRI_MMU_WPR2_ADDR_LO.encode(val=start >> WPR2_ADDR_SHIFT))
        self.gpu.bar0.poke(self._hi, NV_PFB_PRI_MMU_WPR2_ADDR_HI.encode(val=end >> WPR2_ADDR_SHIFT))
        self.log.info("secure", f"WPR2 = [{start:#x}, {end:#x})" if end else "WPR2 cleared")

    def _refuse_wpr2_write(self, off: int, value: int) -> None:
        msg = (f"write of {value:#x} to {self.gpu.bar0.label(off)}: WPR2 is programmed by FWSEC and the booters "
               f"only (priv-level protected)")
        self.log.error("secure", msg)
        if self.gpu.bar0.strict:
            raise SimViolation(f"simulated GPU refused {msg}")

    # -- helpers -------------------------------------------------------------------------------------

    def _fused(self, engine_mask: int, ucode_id: int) -> int:
        reg = next((r for bit, r in FUSE_VERSION_BY_ENGINE.items() if engine_mask & bit), None)
        if reg is None or not 1 <= ucode_id <= 16:
            return 0
        return (self.gpu.bar0.peek(reg.addr(i=ucode_id - 1)) & 0xFFFF).bit_length()

    def _scratch(self, index: int, value: int, mask: int) -> None:
        off = NV_PBUS_SW_SCRATCH.addr(i=index)
        bar = self.gpu.bar0
        bar.poke(off, (bar.peek(off) & ~mask) | (value & mask))

    @staticmethod
    def _fail(e: CheckFailed, after_ns: int) -> StartResult:
        return StartResult.fail(e.code, e.diagnostic, after_ns=after_ns)

    def _handoff_bit(self, on: bool) -> None:
        off = NV_PGC6_BSI_SECURE_SCRATCH_14.addr()
        bar = self.gpu.bar0
        bar.poke(off, NV_PGC6_BSI_SECURE_SCRATCH_14.boot_stage_3_handoff.put(bar.peek(off), int(on)))

    # -- FWSEC on the GSP falcon -----------------------------------------------------------------------

    def check_gsp_start(self, falcon: SimFalcon) -> StartResult:
        self.fwsec_emulation.snapshot(falcon)  # what the driver loaded, before the checks below touch it
        try:
            return self._check_fwsec(falcon)
        except CheckFailed as e:
            return self._fail(e, FWSEC_RUN_NS)

    def _fwsec_fields(self, fw: OracleFwsec) -> dict[str, int]:
        """The descriptor fields the oracle does not keep (read from the ROM here)."""
        rom = self.gpu.rom
        if fw.desc_version == 3:
            (virt,) = struct.unpack_from("<I", rom, fw.desc_offset + 0x18)
            return {"imem_virt_base": virt, "virtual_entry": virt}
        v = struct.unpack_from("<15I", rom, fw.desc_offset)
        return {"virtual_entry": v[3], "imem_virt_base": v[7], "imem_sec_base": v[8]}

    @staticmethod
    def _mapper(fw: OracleFwsec) -> tuple[int, int]:
        """(DMEMMAPPER DMEM offset, command buffer DMEM offset) from the ROM's own DMEM."""
        off, size, _ = fw.dmem
        dmem = fw.ucode[off:off + size]
        io = fw.interface_offset
        if io + 4 > len(dmem):
            raise RomError(f"sim: FWSEC interface table at DMEM {io:#x} is outside DMEM")
        _v, hdr, entry, count = dmem[io:io + 4]
        for i in range(count):
            at = io + hdr + i * entry
            if at + 8 > len(dmem):
                break
            ident, mapper = struct.unpack_from("<II", dmem, at)
            if ident == 4 and mapper + 0x30 <= len(dmem):
                return mapper, struct.unpack_from("<I", dmem, mapper + 8)[0]
        raise RomError("sim: FWSEC has no DMEMMAPPER")

    def _check_fwsec(self, falcon: SimFalcon) -> StartResult:
        vb: VbiosModel = self.gpu.models["vbios"]  # type: ignore[assignment]
        fw = vb.fwsec
        if fw is None:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, "GSP: started, but the ROM this GPU serves has no FWSEC: the "
                                                       "simulated falcon has nothing to check the code against")
        extra = self._fwsec_fields(fw)
        bootvec = falcon.reg(F.NV_PFALCON_FALCON_BOOTVEC)
        via = "directly"
        if fw.desc_version == 2 and bootvec != extra["virtual_entry"]:
            self._run_generic_bootloader(falcon, fw, extra, bootvec)
            via = "through the generic bootloader"
        mapper, cmd_in = self._mapper(fw)
        _, dmem_size, dmem_pa = fw.dmem
        dmem = falcon.read_dmem(dmem_pa, dmem_size)
        cmd = _word(dmem, mapper + 0x2C)
        if cmd not in (FRTS, SB):
            raise CheckFailed(ExitCode.UCODE_MISMATCH,
                                   f"GSP: FWSEC DMEMMAPPER init_cmd (DMEM {mapper + 0x2C:#x}) is {cmd:#x}, neither "
                                   f"FRTS (0x15) nor SB (0x19): the ucode was not patched for a command")
        name = "FWSEC-FRTS" if cmd == FRTS else "FWSEC-SB"
        frts_offset = frts_size = None
        kw: dict[str, Any] = {}
        if cmd == FRTS:
            _ver, _size, off4k, size4k, _media = struct.unpack_from("<5I", dmem, cmd_in + 24)
            frts_offset, frts_size = off4k << 12, size4k << 12
            kw = {"frts_offset": frts_offset, "frts_size": frts_size}
        fused = vb.fused_version()
        try:
            want = vb.expected(cmd, **kw)
        except RomError as e:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, f"GSP: {name}: {e}") from None
        if want is None:  # pragma: no cover - fwsec was found above
            raise CheckFailed(ExitCode.UCODE_MISMATCH, "GSP: no FWSEC")
        self._compare_fwsec(falcon, fw, want, extra, name, fused, check_bootvec=via == "directly")
        self.log.info("secure", f"GSP: {name} loaded {via} matches the ROM's FWSEC"
                                + (f" (signature {want.signature_index} for fuse version {fused})"
                                   if want.signature_index is not None else ""))
        self.history.append(name)
        if frts_offset is not None and frts_size is not None:
            region = (frts_offset, frts_size)
            oracle = StartResult.halt(0, after_ns=FWSEC_RUN_NS, effect=lambda: self._frts_effect(*region))
        else:
            oracle = StartResult.halt(0, after_ns=FWSEC_RUN_NS, effect=self._sb_effect)
        # NVIDIA's code decides where it can run; the model above where it cannot (the emulator says why)
        return self.fwsec_emulation.start(falcon, name, oracle, virtual_entry=extra["virtual_entry"])

    def _compare_fwsec(self, falcon: SimFalcon, fw: OracleFwsec, want: OracleImage, extra: dict[str, int],
                       name: str, fused: int, *, check_bootvec: bool) -> None:
        src = f"{name} of the served ROM"
        img = want.image
        off, size, pa = fw.imem
        imem: tuple[ExpectedSegment, ...]
        if fw.desc_version == 3:
            imem = (ExpectedSegment(pa, img[off:off + size], True, extra["imem_virt_base"]),)
        else:
            assert fw.imem_ns is not None
            noff, nsize, npa = fw.imem_ns
            imem = (ExpectedSegment(npa, img[noff:noff + nsize], False, extra["imem_virt_base"]),
                    ExpectedSegment(pa, img[off:off + size], True, extra["imem_sec_base"]))
        diag = find_mismatch(falcon, ExpectedLoad(src, imem=imem))
        if diag is not None:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, diag)
        _, dsize, dpa = fw.dmem
        got = falcon.read_dmem(dpa, dsize)
        exp = want.dmem
        if got != exp:
            at = _first_diff(got, exp) & ~3
            region = want.region_of(at)
            diag = (f"GSP: DMEM {dpa + at:#x} ({region}) holds {_word(got, at):#010x}, expected {_word(exp, at):#010x} "
                    f"from {src}")
            if region.startswith("signature") and fw.pkc_data_offset is not None:
                pkc = fw.pkc_data_offset
                note = _signature_note(got[pkc:pkc + 384], exp[pkc:pkc + 384], fw.signatures,
                                       want.signature_index or 0, fused)
                diag = f"GSP: {name} signature at DMEM {dpa + pkc:#x} {note} (from {src})"
            raise CheckFailed(ExitCode.UCODE_MISMATCH, diag)
        brom = None
        if fw.desc_version == 3 and self.ga102:
            assert fw.pkc_data_offset is not None and fw.engine_id_mask is not None and fw.ucode_id is not None
            brom = ExpectedBrom(fw.pkc_data_offset, fw.engine_id_mask, fw.ucode_id)
        diag = find_mismatch(falcon, ExpectedLoad("the FWSEC descriptor", brom=brom,
                                                  boot_vector=extra["virtual_entry"] if check_bootvec else None))
        if diag is not None:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, diag)

    def _run_generic_bootloader(self, falcon: SimFalcon, fw: OracleFwsec, extra: dict[str, int],
                                bootvec: int) -> None:
        """Check the generic bootloader and its descriptor, then DMA the ucode in as it would."""
        bl = self.firmware.generic_bootloader if self.firmware is not None else None
        if bl is None:
            raise CheckFailed(ExitCode.UCODE_MISMATCH,
                                   f"GSP: BOOTVEC {bootvec:#x} is not FWSEC's VirtualEntry {extra['virtual_entry']:#x} "
                                   f"and the simulated GPU knows no generic bootloader to check the code there "
                                   f"against (models['secure_chain'].expect_firmware(root) with acr/bl.bin)")
        code = bl.padded_code
        seg = ExpectedSegment(falcon.imem_size - len(code), code, False, bl.start_tag << 8)
        diag = find_mismatch(falcon, ExpectedLoad(f"generic bootloader {bl.name}", imem=(seg,),
                                                  boot_vector=bl.start_tag << 8))
        if diag is not None:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, diag)
        raw = falcon.read_dmem(bl.dmem_load_off, _BL_DMEM_DESC.size)
        d = _BL_DMEM_DESC.unpack(raw)
        ctx, code_base, ns_off, ns_size, sec_off, sec_size, entry, data_base, data_size = d[8:17]
        where = f"GSP: generic bootloader descriptor (DMEM {bl.dmem_load_off:#x})"

        def bad(msg: str) -> CheckFailed:
            return CheckFailed(ExitCode.UCODE_MISMATCH, f"{where}: {msg}")

        if ctx > 7:
            raise bad(f"ctx_dma {ctx} is not an FBIF context (0..7)")
        transcfg = falcon.reg(F.NV_PFALCON_FBIF_TRANSCFG, ctx)
        target = F.NV_PFALCON_FBIF_TRANSCFG.target.get(transcfg)
        if F.NV_PFALCON_FBIF_TRANSCFG.mem_type.get(transcfg) != F.FbifMemType.PHYSICAL or target not in (
                F.FbifTarget.COHERENT_SYSMEM, F.FbifTarget.NONCOHERENT_SYSMEM):
            raise bad(f"ctx_dma {ctx}: TRANSCFG({ctx}) {transcfg:#x} is not physical system memory")
        if not F.NV_PFALCON_FBIF_CTL.allow_phys_no_ctx.is_set(falcon.reg(F.NV_PFALCON_FBIF_CTL)):
            raise bad("physical DMA without a context needs FBIF_CTL.ALLOW_PHYS_NO_CTX")
        if F.NV_PFALCON_FALCON_DMACTL.require_ctx.is_set(falcon.reg(F.NV_PFALCON_FALCON_DMACTL)):
            raise bad("DMACTL.REQUIRE_CTX is set")
        if entry != extra["virtual_entry"]:
            raise bad(f"code_entry_point {entry:#x}, expected FWSEC's VirtualEntry {extra['virtual_entry']:#x}")
        parts = [("non-secure code", code_base, ns_off, ns_size, False), ("secure code", code_base, sec_off, sec_size,
                                                                          True)]
        for what, base, off, size, _ in parts:
            if base % _BLOCK or off % _BLOCK:
                raise bad(f"{what}: base {base:#x} + offset {off:#x} is not 256-byte aligned")
            if base + off + size > _DMA_LIMIT:
                raise bad(f"{what}: [{base + off:#x}, +{size:#x}) reaches past the 49-bit falcon DMA limit")
            if off + size > falcon.imem_size - len(code):
                raise bad(f"{what}: IMEM [{off:#x}, {off + size:#x}) runs into the bootloader at "
                          f"{falcon.imem_size - len(code):#x}")
        if data_base % _BLOCK or data_base + data_size > _DMA_LIMIT or data_size > falcon.dmem_size:
            raise bad(f"data: base {data_base:#x} size {data_size:#x} is not a 256-byte aligned range below 2**49 "
                      f"that fits DMEM")
        sysmem = self.gpu.sysmem
        try:
            for what, base, off, size, secure in parts:
                n = -(-size // _BLOCK) * _BLOCK
                if n:
                    falcon.poke_imem(off, sysmem.read(base + off, n, who=f"GSP generic bootloader ({what})"),
                                     secure=secure, tag=off)
            n = -(-data_size // _BLOCK) * _BLOCK
            if n:
                falcon.poke_dmem(0, sysmem.read(data_base, n, who="GSP generic bootloader (data)"))
        except SimViolation as e:
            raise CheckFailed(ExitCode.UCODE_MISMATCH, f"GSP: generic bootloader DMA fault: {e}") from None

    def _frts_effect(self, offset: int, size: int) -> None:
        fb = self.gpu.vram_mib * MiB
        code = 0
        if self.frts_error:
            code, self.frts_error = self.frts_error, 0
            reason = "injected error"
        elif self.wpr2[1]:
            code, reason = FwsecError.WPR2_ALREADY_SET, f"WPR2 is already set [{self.wpr2[0]:#x}, {self.wpr2[1]:#x})"
        elif size == 0 or offset % 0x1000 or size % 0x1000:
            code, reason = FwsecError.REGION_MISALIGNED, f"FRTS region {offset:#x}+{size:#x} is not 4 KiB granular"
        elif offset + size > fb:
            code, reason = FwsecError.REGION_OUTSIDE_FB, f"FRTS region {offset:#x}+{size:#x} is past VRAM ({fb:#x})"
        if code:
            self._scratch(FRTS_ERR_SCRATCH, code << 16, 0xFFFF0000)
            self.log.error("secure", f"GSP: FWSEC-FRTS failed: {reason}: error {code:#06x} in "
                                     f"NV_PBUS_SW_SCRATCH({FRTS_ERR_SCRATCH:#x}) bits 31:16")
            return
        self._scratch(FRTS_ERR_SCRATCH, 0, 0xFFFF0000)
        self.set_wpr2(offset, offset + size)

    def _sb_effect(self) -> None:
        code, self.sb_error = self.sb_error, 0
        self._scratch(SB_ERR_SCRATCH, code, 0xFFFF)
        if code:
            self.log.error("secure", f"GSP: FWSEC-SB failed: injected error {code:#06x} in "
                                     f"NV_PBUS_SW_SCRATCH({SB_ERR_SCRATCH:#x}) bits 15:0")

    # -- the booters on SEC2 --------------------------------------------------------------------------

    def check_sec2_start(self, falcon: SimFalcon) -> StartResult:
        try:
            return self._check_booter(falcon)
        except CheckFailed as e:
            return self._fail(e, BOOTER_RUN_NS)

    def _booter_loaded(self, falcon: SimFalcon, booters: tuple[OracleBooter, OracleBooter]
                       ) -> tuple[OracleBooter, BooterExpectation, int]:
        fused_of = {b.kind: self._fused(b.engine_id_mask, b.ucode_id) for b in booters}
        candidates: list[tuple[OracleBooter, BooterExpectation, int]] = []
        for b in booters:
            exp = b.expected(self.ga102, fused_of[b.kind])
            if exp is None:
                raise CheckFailed(BooterError.UCODE_MISMATCH,
                                       f"SEC2: {b.kind} ({b.name}) carries no signature for fused version "
                                       f"{fused_of[b.kind]} ({len(b.signatures)} signature(s))")
            candidates.append((b, exp, fused_of[b.kind]))
        for b, exp, fused in candidates:
            sec = next(p for p in exp.imem if p.secure)
            if falcon.read_imem(sec.dst, min(_BLOCK, len(sec.data))) == sec.data[:_BLOCK]:
                return b, exp, fused
        return candidates[0]

    def _check_booter(self, falcon: SimFalcon) -> StartResult:
        fw = self.firmware
        if fw is None:
            raise CheckFailed(BooterError.NO_FIRMWARE,
                                   "SEC2: started, but the simulated GPU was not told which firmware to expect "
                                   "(models['secure_chain'].expect_firmware(root))")
        if fw.booter_load is None or fw.booter_unload is None:
            raise CheckFailed(BooterError.NO_FIRMWARE, "SEC2: started, but the expected firmware has no booters (a "
                                                       "chain-of-trust set: Hopper and Blackwell have no SEC2 booter)")
        b, exp, fused = self._booter_loaded(falcon, (fw.booter_load, fw.booter_unload))
        src = f"{b.kind} {os.path.basename(b.name)}"
        imem = tuple(ExpectedSegment(p.dst, p.data, p.secure, p.tag) for p in exp.imem)
        diag = find_mismatch(falcon, ExpectedLoad(src, imem=imem))
        if diag is not None:
            raise CheckFailed(BooterError.UCODE_MISMATCH, diag)
        got = falcon.read_dmem(0, len(exp.dmem))
        if got != exp.dmem:
            at = _first_diff(got, exp.dmem) & ~3
            pkc = exp.pkc_dmem_offset
            n = len(b.signatures[0])
            if pkc <= at < pkc + n:
                note = _signature_note(got[pkc:pkc + n], exp.dmem[pkc:pkc + n], b.signatures, exp.signature_index,
                                       fused)
                diag = f"SEC2: {b.kind} signature at DMEM {pkc:#x} {note} (from {src})"
            else:
                diag = (f"SEC2: DMEM {at:#x} holds {_word(got, at):#010x}, expected {_word(exp.dmem, at):#010x} "
                        f"from {src}")
            raise CheckFailed(BooterError.UCODE_MISMATCH, diag)
        diag = find_mismatch(falcon, ExpectedLoad(src, boot_vector=exp.boot_vector))
        if diag is None and exp.brom is not None:
            diag = find_mismatch(falcon, ExpectedLoad("booter meta", brom=ExpectedBrom(*exp.brom)))
        if diag is not None:
            raise CheckFailed(BooterError.UCODE_MISMATCH, diag)
        if self.booter_error:
            self.booter_error = False
            raise CheckFailed(BooterError.INJECTED, f"SEC2: {b.kind} failed (injected error)")
        result = self._check_unload(falcon) if b.kind == "booter_unload" else self._check_load(falcon, fw)
        self.history.append(b.kind)
        return result

    def _check_unload(self, falcon: SimFalcon) -> StartResult:
        m0, m1 = falcon.reg(F.NV_PFALCON_FALCON_MAILBOX0), falcon.reg(F.NV_PFALCON_FALCON_MAILBOX1)
        if (m0, m1) != (0xFF, 0xFF):
            raise CheckFailed(BooterError.UNLOAD, f"SEC2: booter_unload MAILBOX0/1 {m0:#x}/{m1:#x}, expected "
                                                       f"0xff/0xff (a cold unload; no suspend/resume meta)")
        if not self.wpr2[1]:
            raise CheckFailed(BooterError.UNLOAD, "SEC2: booter_unload with WPR2 not set: nothing to tear down")
        if self.gsp.state is State.RISCV:
            raise CheckFailed(BooterError.UNLOAD, "SEC2: booter_unload while GSP-RM still runs on the GSP "
                                                       "RISC-V core (reset the GSP falcon first)")
        self.log.info("secure", "SEC2: booter_unload matches the firmware: WPR2 will be torn down")

        def effect() -> None:
            self.set_wpr2(0, 0)
            self._handoff_bit(False)

        return StartResult.halt(0, after_ns=BOOTER_RUN_NS, effect=effect)

    def _check_load(self, falcon: SimFalcon, fw: SimFirmware) -> StartResult:
        m0, m1 = falcon.reg(F.NV_PFALCON_FALCON_MAILBOX0), falcon.reg(F.NV_PFALCON_FALCON_MAILBOX1)
        addr = m1 << 32 | m0
        meta = self._read_meta(addr, fw)
        self._check_meta(meta, fw)
        libos = self._check_gsp_ready()
        wpr = (meta["gspFwWprStart"], meta["gspFwWprEnd"])
        self.log.info("secure", f"SEC2: booter_load accepted GspFwWprMeta at {addr:#x}; GSP-RM starts with LibOS "
                                f"arguments at {libos:#x}")

        def effect() -> None:
            self.set_wpr2(*wpr)
            self.wpr_meta = meta
            self.libos_args_bus = libos
            self.gsp.start_riscv()
            self._handoff_bit(True)
            hook = self.on_gsp_riscv_start
            if hook is not None:
                try:
                    hook(libos)
                except NovaError as e:
                    self.log.error("secure", f"GSP-RM start hook failed: {e}")

        return StartResult.halt(0, after_ns=BOOTER_RUN_NS, effect=effect)

    # -- GspFwWprMeta ---------------------------------------------------------------------------------

    def _read_meta(self, addr: int, fw: SimFirmware) -> dict[str, int]:
        from ...gsp import bindings  # facts: the generated structures of the firmware's version

        try:
            mod = bindings.load(fw.gsp.version)
        except FirmwareError as e:
            raise CheckFailed(BooterError.META_UNREADABLE, f"SEC2: booter_load: {e}") from None
        cls = mod.GspFwWprMeta
        size = ctypes.sizeof(cls)
        try:
            raw = self.gpu.sysmem.read(addr, size, who="SEC2 booter_load (GspFwWprMeta)")
        except SimViolation as e:
            raise CheckFailed(BooterError.META_UNREADABLE,
                                   f"SEC2: booter_load cannot read GspFwWprMeta at MAILBOX1:MAILBOX0 = {addr:#x}: "
                                   f"{e}") from None
        obj = cls.from_buffer_copy(raw)
        out: dict[str, int] = {}
        names = ("magic", "revision", "sysmemAddrOfRadix3Elf", "sizeOfRadix3Elf", "sysmemAddrOfBootloader",
                 "sizeOfBootloader", "bootloaderCodeOffset", "bootloaderDataOffset", "bootloaderManifestOffset",
                 "sysmemAddrOfSignature", "sizeOfSignature", "gspFwRsvdStart", "nonWprHeapOffset", "nonWprHeapSize",
                 "gspFwWprStart", "gspFwHeapOffset", "gspFwHeapSize", "gspFwOffset", "bootBinOffset", "frtsOffset",
                 "frtsSize", "gspFwWprEnd", "fbSize", "vgaWorkspaceOffset", "vgaWorkspaceSize", "bootCount",
                 "verified")
        for n in names:
            out[n] = int(getattr(obj, n))
        out["_magic_expected"] = int(mod.GSP_FW_WPR_META_MAGIC)
        out["_revision_expected"] = int(mod.GSP_FW_WPR_META_REVISION)
        return out

    def _check_meta(self, m: dict[str, int], fw: SimFirmware) -> None:
        def fail(code: int, msg: str) -> CheckFailed:
            return CheckFailed(code, f"SEC2: booter_load: GspFwWprMeta {msg}")

        if m["magic"] != m["_magic_expected"]:
            raise fail(BooterError.META_BAD, f"magic {m['magic']:#x}, expected {m['_magic_expected']:#x}")
        if m["revision"] != m["_revision_expected"]:
            raise fail(BooterError.META_BAD, f"revision {m['revision']}, expected {m['_revision_expected']}")
        if m["verified"] != 0:
            raise fail(BooterError.META_BAD, f"verified {m['verified']:#x}, expected 0 (GSP-RM sets it)")
        self._check_radix3(m, fw, fail)
        self._check_signature(m, fw, fail)
        self._check_bootloader(m, fw, fail)
        self._check_layout(m, fw, fail)

    def _check_radix3(self, m: dict[str, int], fw: SimFirmware,
                      fail: Callable[[int, str], CheckFailed]) -> None:
        size = m["sizeOfRadix3Elf"]
        if size != fw.gsp.image_size:
            raise fail(BooterError.RADIX3, f"sizeOfRadix3Elf {size:#x}, expected {fw.gsp.image_size:#x} (.fwimage of "
                                           f"{os.path.basename(fw.gsp.name)})")
        try:
            image = self.gpu.sysmem.read_radix3(m["sysmemAddrOfRadix3Elf"], size, who="SEC2 booter_load radix3")
        except SimViolation as e:
            raise fail(BooterError.RADIX3, f"sysmemAddrOfRadix3Elf {m['sysmemAddrOfRadix3Elf']:#x}: {e}") from None
        if hashlib.sha256(image).hexdigest() != fw.gsp.image_sha256():
            want = fw.gsp.read_section(".fwimage")
            at = _first_diff(bytes(image), want)
            raise fail(BooterError.RADIX3, f"radix3 tree at {m['sysmemAddrOfRadix3Elf']:#x} resolves to an image "
                                           f"that differs from .fwimage at offset {at:#x} (page {at >> 12})")

    def _check_signature(self, m: dict[str, int], fw: SimFirmware,
                         fail: Callable[[int, str], CheckFailed]) -> None:
        section = self.gpu.facts.gsp_sig_section
        if section not in fw.gsp.sections:
            raise fail(BooterError.SIGNATURE, f"{os.path.basename(fw.gsp.name)} has no {section} for this chip")
        want = fw.gsp.read_section(section)
        size = m["sizeOfSignature"]
        if size < len(want) or size > len(want) + _BLOCK:
            raise fail(BooterError.SIGNATURE, f"sizeOfSignature {size:#x}, expected the {len(want):#x}-byte "
                                              f"{section} (rounded up to 256 bytes)")
        try:
            got = self.gpu.sysmem.read(m["sysmemAddrOfSignature"], len(want), who="SEC2 booter_load signature")
        except SimViolation as e:
            raise fail(BooterError.SIGNATURE, f"sysmemAddrOfSignature: {e}") from None
        if got != want:
            other = next((n for n in fw.gsp.sections if n.startswith(".fwsignature_") and n != section
                          and fw.gsp.read_section(n) == got), None)
            what = f"is {other}" if other else f"differs from it at byte {_first_diff(got, want):#x}"
            raise fail(BooterError.SIGNATURE, f"signature at {m['sysmemAddrOfSignature']:#x}: expected {section} "
                                              f"of {os.path.basename(fw.gsp.name)}, the copy {what}")

    def _check_bootloader(self, m: dict[str, int], fw: SimFirmware,
                          fail: Callable[[int, str], CheckFailed]) -> None:
        bl = fw.bootloader
        if m["sizeOfBootloader"] != len(bl.payload):
            raise fail(BooterError.BOOTLOADER, f"sizeOfBootloader {m['sizeOfBootloader']:#x}, expected the "
                                               f"{len(bl.payload):#x}-byte payload of {os.path.basename(bl.name)}")
        try:
            got = self.gpu.sysmem.read(m["sysmemAddrOfBootloader"], len(bl.payload), who="SEC2 booter_load bootloader")
        except SimViolation as e:
            raise fail(BooterError.BOOTLOADER, f"sysmemAddrOfBootloader: {e}") from None
        if got != bl.payload:
            raise fail(BooterError.BOOTLOADER, f"bootloader copy at {m['sysmemAddrOfBootloader']:#x} differs from "
                                               f"{os.path.basename(bl.name)} at byte {_first_diff(got, bl.payload):#x}")
        for field_name, want in (("bootloaderCodeOffset", bl.monitor_code_offset),
                                 ("bootloaderDataOffset", bl.monitor_data_offset),
                                 ("bootloaderManifestOffset", bl.manifest_offset)):
            if m[field_name] != want:
                raise fail(BooterError.BOOTLOADER, f"{field_name} {m[field_name]:#x}, expected {want:#x} from "
                                                   f"{os.path.basename(bl.name)}")

    def _check_layout(self, m: dict[str, int], fw: SimFirmware,
                      fail: Callable[[int, str], CheckFailed]) -> None:
        fb = self.gpu.vram_mib * MiB
        if m["fbSize"] != fb:
            raise fail(BooterError.LAYOUT, f"fbSize {m['fbSize']:#x}, expected the {fb:#x} bytes of VRAM")
        vga, vga_size = m["vgaWorkspaceOffset"], m["vgaWorkspaceSize"]
        if vga + vga_size != fb or not fb - MiB <= vga < fb:
            raise fail(BooterError.LAYOUT, f"VGA workspace [{vga:#x}, +{vga_size:#x}) is not the end of VRAM "
                                           f"(within its last MiB, ending at {fb:#x})")
        end = m["gspFwWprEnd"]
        if end != vga - vga % _FRTS_ALIGN:
            raise fail(BooterError.LAYOUT, f"gspFwWprEnd {end:#x}, expected the VGA workspace {vga:#x} aligned down "
                                           f"to 128 KiB ({vga - vga % _FRTS_ALIGN:#x})")
        # top-down: non-WPR heap | WPR2: meta, heap .. ELF .. boot binary .. FRTS | VGA workspace
        order = [("nonWprHeapOffset", m["nonWprHeapOffset"], m["nonWprHeapSize"], MiB),
                 ("gspFwWprStart", m["gspFwWprStart"], 0, MiB),
                 ("gspFwHeapOffset", m["gspFwHeapOffset"], m["gspFwHeapSize"], MiB),
                 ("gspFwOffset", m["gspFwOffset"], m["sizeOfRadix3Elf"], 64 << 10),
                 ("bootBinOffset", m["bootBinOffset"], m["sizeOfBootloader"], 4 << 10),
                 ("frtsOffset", m["frtsOffset"], m["frtsSize"], 4 << 10)]
        if m["gspFwRsvdStart"] != m["nonWprHeapOffset"]:
            raise fail(BooterError.LAYOUT, f"gspFwRsvdStart {m['gspFwRsvdStart']:#x} is not nonWprHeapOffset "
                                           f"{m['nonWprHeapOffset']:#x}")
        if m["nonWprHeapOffset"] + m["nonWprHeapSize"] != m["gspFwWprStart"]:
            raise fail(BooterError.LAYOUT, f"the non-WPR heap [{m['nonWprHeapOffset']:#x}, "
                                           f"+{m['nonWprHeapSize']:#x}) does not end at gspFwWprStart "
                                           f"{m['gspFwWprStart']:#x}")
        prev_end = 0
        for name, start, size, align in order:
            if start % align:
                raise fail(BooterError.LAYOUT, f"{name} {start:#x} is not {align >> 10} KiB aligned")
            if start < prev_end:
                raise fail(BooterError.LAYOUT, f"{name} {start:#x} overlaps the region below it (ends at "
                                               f"{prev_end:#x})")
            prev_end = start + size
        if prev_end > end:
            raise fail(BooterError.LAYOUT, f"the FRTS region ends at {prev_end:#x}, past gspFwWprEnd {end:#x}")
        frts, frts_size = m["frtsOffset"], m["frtsSize"]
        lo, hi = self.wpr2
        if self.gpu.facts.frts_size:
            if frts + frts_size != end:
                raise fail(BooterError.LAYOUT, f"FRTS [{frts:#x}, +{frts_size:#x}) does not end at gspFwWprEnd "
                                               f"{end:#x}")
            if not hi:
                raise fail(BooterError.WPR2, "WPR2 is not set: FWSEC-FRTS has not run")
            if (lo, hi) != (frts, frts + frts_size):
                raise fail(BooterError.WPR2, f"FRTS region [{frts:#x}, {frts + frts_size:#x}) is not WPR2 "
                                             f"[{lo:#x}, {hi:#x}) as FWSEC-FRTS set it")
        else:
            if frts_size:
                raise fail(BooterError.LAYOUT, f"frtsSize {frts_size:#x} on {self.gpu.chipset.name}, which has no "
                                               f"FRTS region")
            if hi:
                raise fail(BooterError.WPR2, f"WPR2 is already set [{lo:#x}, {hi:#x})")

    def _check_gsp_ready(self) -> int:
        g = self.gsp
        if g.state is not State.READY:
            raise CheckFailed(BooterError.GSP_STATE,
                                   f"SEC2: booter_load: the GSP falcon is {g.state.value} (it must be reset into "
                                   f"RISC-V mode before booter_load, after FWSEC ran)")
        if self.ga102:
            bcr = g.reg(F.NV_PRISCV_RISCV_BCR_CTRL)
            if g.core_select is not F.CoreSelect.RISCV or not F.NV_PRISCV_RISCV_BCR_CTRL.brfetch.is_set(bcr):
                raise CheckFailed(BooterError.GSP_STATE,
                                       f"SEC2: booter_load: GSP RISCV_BCR_CTRL {bcr:#x} does not select the RISC-V "
                                       f"core with boot ROM fetch (CORE_SELECT=1, BRFETCH=1)")
        libos = g.reg(F.NV_PFALCON_FALCON_MAILBOX1) << 32 | g.reg(F.NV_PFALCON_FALCON_MAILBOX0)
        try:
            self.gpu.sysmem.view(libos, 0x20, who="GSP LibOS arguments")
        except SimViolation as e:
            raise CheckFailed(BooterError.GSP_STATE,
                                   f"SEC2: booter_load: GSP MAILBOX1:MAILBOX0 = {libos:#x} is not the address of "
                                   f"LibOS arguments in mapped system memory ({e})") from None
        return libos


def attach(gpu: SimGpu) -> SecureChainModel:
    return SecureChainModel(gpu)
