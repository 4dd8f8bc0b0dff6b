"""nova_core.sim.models.fsp: the FSP of a simulated Hopper or Blackwell, and the GSP-FMC it starts.

**Power-on.** The FSP has finished its own secure boot: ``NV_THERM_I2CS_SCRATCH`` (GB20x: ``..._GB20X``) reads
0xFF, the FSP ucode version scratch reads :data:`FSP_UCODE_VERSION`, and on GB10x the fuse error check reads 0
(:attr:`SimFsp.boot_complete` and :attr:`SimFsp.fuse_error` change that, for fault tests).

**EMEM and queues** (OpenRM 570.144 ``kern_fsp_gh100.c``): 8 EMEM ports (``NV_PFSP_EMEMC/EMEMD(i)``) over
:data:`EMEM_BYTES` of EMEM addressed in 64-dword blocks, auto-incrementing on write (AINCW) or read (AINCR).
The CPU writes a packet into RM's channel (channel 0, EMEM [0, 1 KiB)), then QUEUE_TAIL(0) (its last dword) and
QUEUE_HEAD(0); that write is the doorbell. The FSP takes the packet (QUEUE_HEAD = QUEUE_TAIL, so the CPU may send
again), reassembles the message from its MCTP packets (SOM/EOM, SEQ modulo 4) and NVDM header (type 0x7e, vendor
0x10de), and answers ``NVDM_TYPE_FSP_RESPONSE`` {taskId, commandNvdmType, errorCode} at EMEM 0 with MSGQ_HEAD = 0
and MSGQ_TAIL = its last dword.

**The chain of trust.** An ``NVDM_TYPE_COT`` message is checked against the sim's own reading of the FMC file it
was told to expect (:meth:`SimFsp.expect_firmware`, :func:`~nova_core.sim.fw_oracle.read_fmc`), in this order,
each failure answered with the FSP's error code (``kern_fsp_retval.h``; which code for which failure is the sim's
choice, the real FSP's is not published) and logged (component ``fsp``):

===================================================  =============================
check                                                error code
===================================================  =============================
no FMC expected (the sim was not told the firmware)  ``FSP_ERR_IFR_FILE_NOT_FOUND``
not a COT message (another NVDM type)                ``FSP_ERR_IFS_ERR_NOT_SUPPORTED``
framing: packet headers, sequence, a truncated msg   ``FSP_ERR_IFS_ERR_INVALID_DATA``
payload not 860 bytes, ``size`` not 860, version     ``FSP_ERR_IFS_ERR_INVALID_DATA``
  not the chip's (1 GH100, 2 GB10x/GB20x)
the GSP is running (a COT needs it idle)             ``FSP_ERR_IFS_ERR_INVALID_STATE``
``publicKey`` not the trusted key (this sim's        ``FSP_ERR_IFS_ERR_INVALID_DATA``
  "fuses": the expected FMC's key), padding not 0
``hash384`` not the FMC's hash                       ``FSP_ERR_IFS_ERR_INVALID_DATA``
``signature`` does not verify over ``hash384``       ``FSP_ERR_IFS_ERR_INVALID_DATA``
  (RSA-3072 PSS / P-384 ECDSA: :mod:`..crypto`)
the image at ``gspFmcSysmemOffset`` unreadable or    ``FSP_ERR_IFS_ERR_INVALID_DATA``
  not hashing to ``hash384``
FRTS in sysmem asked for (not modelled), FRTS in     ``FSP_ERR_IFS_ERR_NOT_SUPPORTED`` /
  vidmem not 1 MiB, 4 KiB aligned, inside FB            ``..._INVALID_DATA``
``gspBootArgsSysmemOffset`` unreadable               ``FSP_ERR_IFS_ERR_INVALID_DATA``
===================================================  =============================

Accepted, the FSP answers error code 0, locks the GSP's PRIV target mask (GSP MAILBOX0/1 and HWCFG2 read
0xBADF4100), resets the GSP and starts the **GSP-FMC**, which after :data:`FMC_RUN_NS` reads
``GSP_FMC_BOOT_PARAMS`` and the ``GspFwWprMeta`` it names (magic, revision; the radix3 tree resolving to
``.fwimage``, the chip's ``.fwsignature_*`` and the bootloader copy with its offsets - the checks of
:mod:`.secure_chain`; every offset 0, for the ACR places WPR2 itself; the sizes: 128 KiB VGA workspace, the COT's
FRTS size, the chip's non-WPR heap and PMU sizes, a LibOS 3 heap of 88..280 MiB), lays WPR2 out below FRTS (as
:func:`nova_core.fb.layout.compute_fsp_fb_layout` predicts: the sim's ACR, an independent implementation of
OpenRM's GH100 diagram), sets WPR2, clears MAILBOX0/1, releases the lockdown (HWCFG2.RISCV_BR_PRIV_LOCKDOWN 0) and
starts GSP-RM on the GSP's RISC-V core with the LibOS arguments of the boot parameters; GSP-RM then keeps its FB
regions around that layout (WPR2 protected, the FB end reserve and VGA workspace above FRTS reserved:
:func:`nova_core.sim.gsp_rm.static.fb_plan`) and reports it in ``fwWprLayoutOffset``. An FMC check that fails leaves
the lockdown and puts an :class:`FmcError` in MAILBOX0. When GSP-RM unloads, the FMC's ACR tears WPR2 down and the
GSP's RISC-V core halts; a CPU reset of the GSP while the FMC runs stops it and releases WPR2 (sim choice), and one
before the FMC started cancels it.

**Faults** (:meth:`SimFsp.inject`, one-shot): ``no_response`` (the FSP takes the command and never answers),
``error`` (answers with the given error code), ``corrupt`` (answers with a garbled NVDM header), ``fmc_error``
(the FMC fails with the given MAILBOX0 code).

Sim choices (unverified against hardware): the error code of each check, :data:`EMEM_BYTES`, the latencies, the
ucode version, the FMC error codes, WPR2 = [gspFwWprStart, end of FRTS).
"""

from __future__ import annotations

import ctypes
import enum
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import NovaError, SimViolation
from ...fsp import facts as FF
from ...gpu.chips import BootPath
from ...hw.clock import MS, US
from ...regs import falcon as F
from ...regs.fsp import (
    FSP_EMEM_CHANNEL_RM_SIZE,
    FSP_EMEM_DWORDS_PER_BLOCK,
    FSP_FUSE_ERROR_CHECK_INDEX,
    FSP_UCODE_VERSION_INDEX,
    NV_PFSP_EMEMC,
    NV_PFSP_EMEMD,
    NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3,
    NV_PFSP_MSGQ_HEAD,
    NV_PFSP_MSGQ_TAIL,
    NV_PFSP_QUEUE_HEAD,
    NV_PFSP_QUEUE_TAIL,
)
from ...regs.therm import FSP_BOOT_COMPLETE_FAILED, FSP_BOOT_COMPLETE_SUCCESS
from .. import crypto
from ..fw_oracle import SimFirmware, load_firmware
from .falcon import State
from .secure_chain import BooterError, CheckFailed

if TYPE_CHECKING:
    from ..gpu import SimGpu
    from .falcon import SimFalcons
    from .secure_chain import SecureChainModel

NAME = "fsp"
ORDER = 65  #: after the falcons (40), the secure chain (50: WPR2) and GSP-RM (60)

EMEM_BYTES = 8 * FSP_EMEM_CHANNEL_RM_SIZE  #: 8 channels of 1 KiB (sim choice)
RECEIVE_NS = 5 * US  #: from the QUEUE_HEAD doorbell to the packet taken
COT_NS = 2 * MS  #: from the COT message to the FSP's response
FMC_RUN_NS = 3 * MS  #: from the response to the GSP-FMC's lockdown release (or its error)
HALT_NS = 200 * US  #: from GSP-RM's unload to the GSP's RISC-V core halted
FSP_UCODE_VERSION = 0x0501  #: NV_GFW_FSP_UCODE_VERSION (11:8 major, 7:0 minor; above OpenRM's bug-WAR 0x44C)
_MiB = 1 << 20
_META_SIZE = 0x100
_OFFSET_FIELDS = ("gspFwRsvdStart", "nonWprHeapOffset", "gspFwWprStart", "gspFwHeapOffset", "gspFwOffset",
                  "bootBinOffset", "frtsOffset", "gspFwWprEnd", "vgaWorkspaceOffset", "fbSize")


class FmcError(enum.IntEnum):
    """GSP MAILBOX0 codes the simulated GSP-FMC halts its boot with (sim choices; the real codes are not published)."""

    BOOT_ARGS = 0x0F3C0001  #: GSP_FMC_BOOT_PARAMS unreadable or malformed
    WPR_META = 0x0F3C0002  #: GspFwWprMeta unreadable, magic, revision, verified
    RADIX3 = 0x0F3C0003
    SIGNATURE = 0x0F3C0004
    BOOTLOADER = 0x0F3C0005
    LAYOUT = 0x0F3C0006  #: an offset set (the ACR places WPR2), a size not the chip's, no room in FB
    LIBOS = 0x0F3C0007  #: the LibOS arguments unreadable
    INJECTED = 0x0F3C00FF


_BOOTER_TO_FMC: dict[int, int] = {
    BooterError.META_UNREADABLE: FmcError.WPR_META, BooterError.META_BAD: FmcError.WPR_META,
    BooterError.RADIX3: FmcError.RADIX3, BooterError.SIGNATURE: FmcError.SIGNATURE,
    BooterError.BOOTLOADER: FmcError.BOOTLOADER, BooterError.LAYOUT: FmcError.LAYOUT,
}


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Fault:
    kind: str
    code: int = 0


@dataclass
class AcrLayout:
    """Where the simulated GSP-FMC's ACR put GSP-RM (``GspFwWprMeta`` offsets)."""

    fields: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.fields[name]


class SimFsp:
    """The FSP of one simulated GPU (``gpu.models["fsp"]``); inert (:attr:`present` False) before Hopper."""

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        self.bar = gpu.bar0
        self.log = gpu.log
        self.clock = gpu.clock
        self.present = gpu.facts.boot_path is BootPath.FSP
        self.firmware: SimFirmware | None = None
        #: (NVDM type, error code, reason) of every message answered, oldest first
        self.responses: list[tuple[int, int, str]] = []
        #: every refusal's reason (also logged as an error)
        self.refusals: list[str] = []
        #: what ran: "COT", "GSP-FMC", "GSP-FMC shutdown"
        self.history: list[str] = []
        self.acr_layout: AcrLayout | None = None
        self.frts: tuple[int, int] | None = None
        self.fmc_running = False
        self.target_locked = False
        self._faults: list[_Fault] = []
        self._emem = bytearray(EMEM_BYTES)
        self._port = [0] * 8  #: dword address of each EMEM port
        self._rx: list[tuple[int, bytes]] = []
        if not self.present:
            return
        falcons: SimFalcons = gpu.models["falcon"]  # type: ignore[assignment]
        self.gsp = falcons.gsp
        self.chain: SecureChainModel = gpu.models["secure_chain"]  # type: ignore[assignment]
        self._power_on()
        b = self.bar
        for i in range(8):
            b.on_write(NV_PFSP_EMEMC.addr(i=i), self._ememc_write(i))
            b.on_read(NV_PFSP_EMEMC.addr(i=i), self._ememc_read(i))
            b.on_write(NV_PFSP_EMEMD.addr(i=i), self._ememd_write(i))
            b.on_read(NV_PFSP_EMEMD.addr(i=i), self._ememd_read(i))
        b.on_write(NV_PFSP_QUEUE_HEAD.addr(i=0), self._doorbell)
        for reg in (F.NV_PFALCON_FALCON_MAILBOX0, F.NV_PFALCON_FALCON_MAILBOX1, F.NV_PFALCON_FALCON_HWCFG2):
            b.on_read(reg.addr(F.FALCON.GSP), self._gsp_read)
        rm = gpu.models.get("gsp_rm")
        if rm is not None:
            rm.on_unloaded.append(self._gsp_rm_unloaded)  # type: ignore[attr-defined]
        self.gsp.on_riscv_reset.append(self._gsp_reset)
        self._fmc_resets = 0

    # -- configuration and faults -------------------------------------------------------------------------

    def expect_firmware(self, root: str | os.PathLike[str], version: str | None = None) -> SimFirmware:
        """Read the chip's chain-of-trust firmware under ``root`` (``nvidia/<chip>/gsp/{fmc,bootloader,gsp}-*.bin``):
        the FMC whose key this FSP trusts, and the GSP-RM image, signature and bootloader its FMC checks."""
        if not self.present:
            raise NovaError(f"{self.gpu.chipset.name} has no FSP: its boot checks are models['secure_chain']'s")
        self.firmware = fw = load_firmware(root, self.gpu.facts.fw_dir, version, fsp=True)
        self.log.info("fsp", f"expecting GSP-RM {fw.version} through the GSP-FMC of {fw.root}")
        return fw

    def inject(self, kind: str, code: int = 0) -> None:
        """One-shot fault: ``no_response``, ``error`` (answer ``code``), ``corrupt``, ``fmc_error`` (MAILBOX0
        ``code``)."""
        kinds = ("no_response", "error", "corrupt", "fmc_error")
        if kind not in kinds:
            raise NovaError(f"no FSP fault {kind!r}; faults: {', '.join(kinds)}")
        self._faults.append(_Fault(kind, code))

    def _take(self, kind: str) -> _Fault | None:
        for f in self._faults:
            if f.kind == kind:
                self._faults.remove(f)
                return f
        return None

    @property
    def boot_complete(self) -> bool:
        reg = self.gpu.facts.fsp_boot_scratch
        return reg is not None and self.bar.peek(reg.addr()) == FSP_BOOT_COMPLETE_SUCCESS

    @boot_complete.setter
    def boot_complete(self, on: bool) -> None:
        reg = self.gpu.facts.fsp_boot_scratch
        if reg is not None:
            self.bar.poke(reg.addr(), FSP_BOOT_COMPLETE_SUCCESS if on else FSP_BOOT_COMPLETE_FAILED)

    def set_fuse_error(self, status: int) -> None:
        """GB10x: what the FSP's fuse error check reports (0 = success)."""
        self.bar.poke(NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3.addr(i=FSP_FUSE_ERROR_CHECK_INDEX), status)

    def _power_on(self) -> None:
        self.boot_complete = True
        self.bar.poke(NV_PFSP_FALCON_COMMON_SCRATCH_GROUP_3.addr(i=FSP_UCODE_VERSION_INDEX), FSP_UCODE_VERSION)
        self.set_fuse_error(0)

    def _refuse_access(self, msg: str) -> None:
        self.log.error("fsp", msg)
        self.refusals.append(msg)
        if self.bar.strict:
            raise SimViolation(f"simulated FSP refused {msg}")

    # -- EMEM ports ---------------------------------------------------------------------------------------

    def _ememc_write(self, i: int) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            self.bar.poke(off, value)
            r = NV_PFSP_EMEMC
            self._port[i] = r.blk.get(value) * FSP_EMEM_DWORDS_PER_BLOCK + r.offs.get(value)
        return write

    def _ememc_read(self, i: int) -> Callable[[int], int]:
        def read(off: int) -> int:
            r = NV_PFSP_EMEMC
            dw = self._port[i]
            v = self.bar.peek(off) & (r.aincw.mask | r.aincr.mask)
            return v | r.encode(offs=dw % FSP_EMEM_DWORDS_PER_BLOCK, blk=(dw // FSP_EMEM_DWORDS_PER_BLOCK) & 0xFF)
        return read

    def _word_at(self, i: int, what: str) -> int | None:
        at = self._port[i] * 4
        if at + 4 > EMEM_BYTES:
            self._refuse_access(f"EMEMD({i}) {what} at EMEM {at:#x}: past the {EMEM_BYTES:#x}-byte EMEM")
            return None
        return at

    def _ememd_write(self, i: int) -> Callable[[int, int], None]:
        def write(off: int, value: int) -> None:
            at = self._word_at(i, "write")
            if at is None:
                return
            self._emem[at:at + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
            if NV_PFSP_EMEMC.aincw.is_set(self.bar.peek(NV_PFSP_EMEMC.addr(i=i))):
                self._port[i] += 1
        return write

    def _ememd_read(self, i: int) -> Callable[[int], int]:
        def read(off: int) -> int:
            at = self._word_at(i, "read")
            if at is None:
                return 0xBADF5E4D
            value = int.from_bytes(self._emem[at:at + 4], "little")
            if NV_PFSP_EMEMC.aincr.is_set(self.bar.peek(NV_PFSP_EMEMC.addr(i=i))):
                self._port[i] += 1
            return value
        return read

    # -- the GSP's registers while its PRIV target mask is the FSP's ---------------------------------------

    def _gsp_read(self, off: int) -> int:
        return FF.PRIV_TARGET_LOCKED if self.target_locked else self.bar.peek(off)

    # -- command queue ------------------------------------------------------------------------------------

    def _doorbell(self, off: int, value: int) -> None:
        self.bar.poke(off, value)
        self.clock.call_later(RECEIVE_NS, self._receive)

    def _receive(self) -> None:
        head = self.bar.peek(NV_PFSP_QUEUE_HEAD.addr(i=0))
        tail = self.bar.peek(NV_PFSP_QUEUE_TAIL.addr(i=0))
        self.bar.poke(NV_PFSP_QUEUE_HEAD.addr(i=0), tail)  # the packet is taken: the CPU may send again
        if head % 4 or tail % 4 or tail < head or tail + 4 > FSP_EMEM_CHANNEL_RM_SIZE:
            self._answer(0, FF.FspErrorCode.IFS_ERR_INVALID_DATA,
                         f"command queue HEAD {head:#x} / TAIL {tail:#x} is not a dword packet inside RM's "
                         f"{FSP_EMEM_CHANNEL_RM_SIZE:#x}-byte channel")
            return
        packet = bytes(self._emem[head:tail + 4])
        header = int.from_bytes(packet[:4], "little")
        h = FF.MCTP_HEADER
        if h.som.get(header):
            self._rx = []
        elif not self._rx:
            self._answer(0, FF.FspErrorCode.IFS_ERR_INVALID_DATA,
                         f"MCTP packet {header:#010x} continues no message (SOM clear, nothing started)")
            return
        elif h.seq.get(header) != len(self._rx) % 4:
            first, expected = self._rx[0][1], len(self._rx) % 4
            self._rx = []
            self._answer(_nvdm_type(first), FF.FspErrorCode.IFS_ERR_INVALID_DATA,
                         f"MCTP packet sequence {h.seq.get(header)}, expected {expected}")
            return
        self._rx.append((header, packet))
        if not h.eom.get(header):
            if len(self._rx) > 64:
                self._rx = []
                self._answer(0, FF.FspErrorCode.IFS_ERR_INVALID_DATA, "a message of more than 64 packets")
            return
        packets, self._rx = self._rx, []
        self._message(packets)

    def _message(self, packets: list[tuple[int, bytes]]) -> None:
        first = packets[0][1]
        if len(first) < FF.NVDM_MESSAGE_HEADER_SIZE:
            self._answer(0, FF.FspErrorCode.IFS_ERR_INVALID_DATA, f"a first packet of {len(first)} bytes has no "
                                                                  f"NVDM header")
            return
        msg = int.from_bytes(first[4:8], "little")
        m = FF.MCTP_MSG_HEADER
        nvdm = m.nvdm_type.get(msg)
        if (m.type.get(msg), m.vendor_id.get(msg)) != (FF.MCTP_MSG_HEADER_TYPE_VENDOR_PCI,
                                                       FF.MCTP_MSG_HEADER_VENDOR_ID_NV):
            self._answer(nvdm, FF.FspErrorCode.IFS_ERR_INVALID_DATA,
                         f"NVDM header {msg:#010x}: message type {m.type.get(msg):#x} (0x7e expected), vendor "
                         f"{m.vendor_id.get(msg):#x} (0x10de expected)")
            return
        payload = first[FF.NVDM_MESSAGE_HEADER_SIZE:] + b"".join(p[4:] for _, p in packets[1:])
        if nvdm != FF.NvdmType.COT:
            self._answer(nvdm, FF.FspErrorCode.IFS_ERR_NOT_SUPPORTED,
                         f"NVDM type {nvdm:#04x}: the simulated FSP serves the chain of trust "
                         f"(COT {FF.NvdmType.COT:#04x}) only")
            return
        self._cot(payload)

    # -- the chain of trust -------------------------------------------------------------------------------

    def _cot(self, payload: bytes) -> None:
        fault = self._take("error")
        if fault is not None:
            self._answer(FF.NvdmType.COT, fault.code, f"injected error {fault.code:#x}")
            return
        try:
            cot = self._check_cot(payload)
        except _Refused as e:
            self._answer(FF.NvdmType.COT, e.code, e.reason)
            return
        self.history.append("COT")
        self.log.info("fsp", "COT accepted: the FMC's hash, key and signature check out; starting the GSP-FMC")
        self._answer(FF.NvdmType.COT, FF.FspErrorCode.OK, "", effect=lambda: self._start_fmc(cot))

    def _check_cot(self, payload: bytes) -> dict[str, Any]:
        fw = self.firmware
        invalid = FF.FspErrorCode.IFS_ERR_INVALID_DATA
        if fw is None or fw.fmc is None:
            raise _Refused(FF.FspErrorCode.IFR_FILE_NOT_FOUND, "the simulated FSP was not told which GSP-FMC to "
                                                                "expect (models['fsp'].expect_firmware(root))")
        fmc = fw.fmc
        size = FF.NVDM_PAYLOAD_COT.size
        if len(payload) < size:
            raise _Refused(invalid, f"NVDM_PAYLOAD_COT of {len(payload)} bytes, expected {size}")
        cot = dict(zip(FF.NVDM_PAYLOAD_COT_FIELDS, FF.NVDM_PAYLOAD_COT.unpack_from(payload), strict=True))
        facts = self.gpu.facts
        if cot["size"] != size:
            raise _Refused(invalid, f"NVDM_PAYLOAD_COT.size {cot['size']:#x}, expected {size:#x}")
        if cot["version"] != facts.cot_version:
            raise _Refused(invalid, f"NVDM_PAYLOAD_COT.version {cot['version']}, expected {facts.cot_version} on "
                                    f"{self.gpu.chipset.name}")
        if self.gsp.state is State.RISCV or self.fmc_running:
            raise _Refused(FF.FspErrorCode.IFS_ERR_INVALID_STATE,
                           "the GSP is running: a chain-of-trust boot needs it idle (unload GSP-RM first)")
        nkey, nsig = len(fmc.public_key), len(fmc.signature)
        key, sig = cot["publicKey"], cot["signature"]
        if key[:nkey] != fmc.public_key or any(key[nkey:]):
            raise _Refused(invalid, f"publicKey (first bytes {key[:8].hex()}) is not the {nkey}-byte key this FSP "
                                    f"trusts{' (padding not zero)' if key[:nkey] == fmc.public_key else ''}")
        if any(sig[nsig:]):
            raise _Refused(invalid, f"signature padding after its {nsig} bytes is not zero")
        if cot["hash384"] != fmc.hash:
            raise _Refused(invalid, f"hash384 {cot['hash384'][:8].hex()}... is not the GSP-FMC's "
                                    f"{fmc.hash[:8].hex()}...")
        problem = crypto.verify_fmc_signature(fmc.public_key, sig[:nsig], cot["hash384"])
        if problem is not None:
            raise _Refused(invalid, f"the signature does not verify over hash384: {problem}")
        try:
            image = self.gpu.sysmem.read(cot["gspFmcSysmemOffset"], len(fmc.image), who="FSP (GSP-FMC image)")
        except SimViolation as e:
            raise _Refused(invalid, f"gspFmcSysmemOffset {cot['gspFmcSysmemOffset']:#x}: {e}") from None
        if hashlib.sha384(image).digest() != cot["hash384"]:
            at = next((i for i, (a, b) in enumerate(zip(image, fmc.image, strict=True)) if a != b), 0)
            raise _Refused(invalid, f"the image at gspFmcSysmemOffset {cot['gspFmcSysmemOffset']:#x} does not hash "
                                    f"to hash384 (it differs from the GSP-FMC at byte {at:#x})")
        if cot["frtsSysmemOffset"] or cot["frtsSysmemSize"]:
            raise _Refused(FF.FspErrorCode.IFS_ERR_NOT_SUPPORTED,
                           f"FRTS in system memory ({cot['frtsSysmemOffset']:#x}+{cot['frtsSysmemSize']:#x}): the "
                           f"simulated FSP copies FRTS to video memory only")
        fb = self.gpu.vram_mib * _MiB
        off, fsize = cot["frtsVidmemOffset"], cot["frtsVidmemSize"]
        if fsize and (fsize != _MiB or off % 0x1000 or off < 128 << 10 or off + fsize > fb):
            raise _Refused(invalid, f"FRTS in video memory {off:#x} before the end of FB, {fsize:#x} bytes: expected "
                                    f"1 MiB ending a 4 KiB-aligned distance of at least 128 KiB before the end of "
                                    f"the {fb:#x}-byte FB")
        try:
            cot["_boot_args"] = self.gpu.sysmem.read(cot["gspBootArgsSysmemOffset"], FF.GSP_FMC_BOOT_PARAMS.size,
                                                     who="FSP (GSP_FMC_BOOT_PARAMS)")
        except SimViolation as e:
            raise _Refused(invalid, f"gspBootArgsSysmemOffset {cot['gspBootArgsSysmemOffset']:#x}: {e}") from None
        return cot

    def _answer(self, nvdm: int, code: int, reason: str, *, effect: Callable[[], None] | None = None) -> None:
        """Queue the FSP_RESPONSE to command ``nvdm`` after :data:`COT_NS` (faults may drop or garble it)."""
        if code:
            msg = f"NVDM command {nvdm:#04x} refused with {_code_name(code)}: {reason}"
            self.log.error("fsp", msg)
            self.refusals.append(msg)
        self.responses.append((nvdm, code, reason))
        if self._take("no_response") is not None:
            self.log.warning("fsp", f"NVDM command {nvdm:#04x}: no response (fault injected)")
            return
        corrupt = self._take("corrupt") is not None
        vendor = 0x1234 if corrupt else FF.MCTP_MSG_HEADER_VENDOR_ID_NV
        words = [FF.MCTP_HEADER.encode(som=1, eom=1, seid=0, seq=0),
                 FF.MCTP_MSG_HEADER.encode(type=FF.MCTP_MSG_HEADER_TYPE_VENDOR_PCI, vendor_id=vendor,
                                           nvdm_type=FF.NvdmType.FSP_RESPONSE)]
        body = b"".join(w.to_bytes(4, "little") for w in words) + FF.NVDM_PAYLOAD_COMMAND_RESPONSE.pack(0, nvdm, code)

        def publish() -> None:
            self._emem[0:len(body)] = body
            self.bar.poke(NV_PFSP_MSGQ_HEAD.addr(i=0), 0)
            self.bar.poke(NV_PFSP_MSGQ_TAIL.addr(i=0), len(body) - 4)
            if effect is not None:
                effect()

        self.clock.call_later(COT_NS, publish)

    # -- the GSP-FMC and its ACR --------------------------------------------------------------------------

    def _start_fmc(self, cot: dict[str, Any]) -> None:
        fb = self.gpu.vram_mib * _MiB
        if cot["frtsVidmemSize"]:
            end = fb - cot["frtsVidmemOffset"]
            self.frts = (end - cot["frtsVidmemSize"], end)
        self.gsp.internal_reset()
        self._fmc_resets = self.gsp.resets
        self.target_locked = True
        self.fmc_running = True
        hw = F.NV_PFALCON_FALCON_HWCFG2_GH100  # FSP chips only
        at = hw.addr(F.FALCON.GSP)
        self.bar.poke(at, hw.riscv_br_priv_lockdown.put(self.bar.peek(at), 1))
        self.clock.call_later(FMC_RUN_NS, lambda: self._run_fmc(cot))

    def _run_fmc(self, cot: dict[str, Any]) -> None:
        self.target_locked = False
        if self.gsp.resets != self._fmc_resets:  # the CPU reset the GSP before the FMC got going
            self.fmc_running = False
            self.log.warning("fsp", "GSP-FMC: the GSP was reset before it ran; nothing started")
            return
        self.history.append("GSP-FMC")
        fault = self._take("fmc_error")
        try:
            if fault is not None:
                raise CheckFailed(fault.code or FmcError.INJECTED, "GSP-FMC: injected error")
            layout, libos = self._acr(cot)
        except CheckFailed as e:
            code = _BOOTER_TO_FMC.get(e.code, e.code)  # the secure chain's checks report BooterError codes
            self.bar.poke(F.NV_PFALCON_FALCON_MAILBOX0.addr(F.FALCON.GSP), int(code))
            msg = f"GSP-FMC boot failed with MAILBOX0 {int(code):#x}: {e.diagnostic}"
            self.log.error("fsp", msg)
            self.refusals.append(msg)
            self.fmc_running = False
            return
        self.acr_layout = layout
        self.chain.set_wpr2(layout["gspFwWprStart"], layout["frtsOffset"] + layout["frtsSize"])
        for reg in (F.NV_PFALCON_FALCON_MAILBOX0, F.NV_PFALCON_FALCON_MAILBOX1):
            self.bar.poke(reg.addr(F.FALCON.GSP), 0)
        hw = F.NV_PFALCON_FALCON_HWCFG2_GH100  # FSP chips only
        at = hw.addr(F.FALCON.GSP)
        self.bar.poke(at, hw.riscv_br_priv_lockdown.put(self.bar.peek(at), 0))
        self.gsp.start_riscv()
        rm = self.gpu.models.get("gsp_rm")
        if rm is not None and self.firmware is not None:
            rm.acr_layout = dict(layout.fields)  # type: ignore[attr-defined]  # its FB regions, fwWprLayoutOffset
            if getattr(rm, "state", "off") != "off":
                rm.stop()  # type: ignore[attr-defined]
            try:
                rm.boot(self.firmware.gsp.version, libos)  # type: ignore[attr-defined]
            except NovaError as e:
                self.log.error("fsp", f"GSP-RM start failed: {e}")
        self.log.info("fsp", f"GSP-FMC: WPR2 [{layout['gspFwWprStart']:#x}, {layout['frtsOffset'] + _MiB:#x}), "
                             f"lockdown released, GSP-RM started with LibOS arguments at {libos:#x}")

    def _acr(self, cot: dict[str, Any]) -> tuple[AcrLayout, int]:
        """The FMC's checks of its arguments and GSP-RM, and the ACR's placement (module docstring)."""
        def fail(code: int, msg: str) -> CheckFailed:
            return CheckFailed(code, f"GSP-FMC: {msg}")

        args = dict(zip(FF.GSP_FMC_BOOT_PARAMS_FIELDS, FF.GSP_FMC_BOOT_PARAMS.unpack(cot["_boot_args"]), strict=True))
        sysmem_targets = (FF.GspDmaTarget.COHERENT_SYSTEM, FF.GspDmaTarget.NONCOHERENT_SYSTEM)
        if args["bootGspRmParams_target"] not in sysmem_targets or args["gspRmParams_target"] not in sysmem_targets:
            raise fail(FmcError.BOOT_ARGS, f"GSP_FMC_BOOT_PARAMS targets {args['bootGspRmParams_target']}/"
                                           f"{args['gspRmParams_target']}: system memory (1 or 2) expected")
        if args["bootGspRmParams_gspRmDescSize"] != _META_SIZE or args["bootGspRmParams_bIsGspRmBoot"] != 1:
            raise fail(FmcError.BOOT_ARGS, f"bootGspRmParams gspRmDescSize "
                                           f"{args['bootGspRmParams_gspRmDescSize']:#x} (0x100 expected), "
                                           f"bIsGspRmBoot {args['bootGspRmParams_bIsGspRmBoot']} (1 expected)")
        fw = self.firmware
        assert fw is not None
        addr = args["bootGspRmParams_gspRmDescOffset"]
        meta = self.chain._read_meta(addr, fw)
        for name, want in (("magic", meta["_magic_expected"]), ("revision", meta["_revision_expected"]),
                           ("verified", 0)):
            if meta[name] != want:
                raise fail(FmcError.WPR_META, f"GspFwWprMeta.{name} {meta[name]:#x}, expected {want:#x}")
        self.chain._check_radix3(meta, fw, fail)
        self.chain._check_signature(meta, fw, fail)
        self.chain._check_bootloader(meta, fw, fail)
        set_offsets = [n for n in _OFFSET_FIELDS if meta[n]]
        if set_offsets:
            raise fail(FmcError.LAYOUT, f"GspFwWprMeta.{set_offsets[0]} is {meta[set_offsets[0]]:#x}: the ACR places "
                                        f"WPR2 itself on the FSP path; the driver sends sizes only (expected 0)")
        raw = self.gpu.sysmem.read(addr, _META_SIZE, who="GSP-FMC (GspFwWprMeta)")
        pmu = self._pmu_reserved(raw, fw.gsp.version)
        facts = self.gpu.facts
        for name, got, want in (("vgaWorkspaceSize", meta["vgaWorkspaceSize"], 128 << 10),
                                ("frtsSize", meta["frtsSize"], cot["frtsVidmemSize"]),
                                ("nonWprHeapSize", meta["nonWprHeapSize"], facts.non_wpr_heap_size),
                                ("pmuReservedSize", pmu, facts.pmu_reserved_size)):
            if got != want:
                raise fail(FmcError.LAYOUT, f"GspFwWprMeta.{name} {got:#x}, expected {want:#x}")
        heap = meta["gspFwHeapSize"]
        if heap % _MiB or not 88 * _MiB <= heap <= 280 * _MiB:
            raise fail(FmcError.LAYOUT, f"GspFwWprMeta.gspFwHeapSize {heap:#x}: a whole number of MiB in the LibOS 3 "
                                        f"bounds 88..280 MiB expected")
        libos = args["gspRmParams_bootArgsOffset"]
        try:
            self.gpu.sysmem.view(libos, 0x20, who="GSP-FMC (GSP-RM boot arguments)")
        except SimViolation as e:
            raise fail(FmcError.LIBOS, f"gspRmParams.bootArgsOffset {libos:#x}: {e}") from None
        # the ACR's placement, top-down below FRTS (the GH100 diagram; sim's own code)
        fb = self.gpu.vram_mib * _MiB
        frts_end = fb - cot["frtsVidmemOffset"]
        frts = frts_end - meta["frtsSize"]
        boot = _down(frts - meta["sizeOfBootloader"], 0x1000)
        elf = _down(boot - meta["sizeOfRadix3Elf"], 0x10000)
        heap_off = _down(elf - heap, _MiB)
        wpr = _down(heap_off - _META_SIZE, _MiB)
        non_wpr = wpr - meta["nonWprHeapSize"]
        if non_wpr < 0:
            raise fail(FmcError.LAYOUT, f"the {fb:#x}-byte FB has no room for GSP-RM below FRTS at {frts:#x}")
        return AcrLayout({"gspFwRsvdStart": non_wpr, "nonWprHeapOffset": non_wpr, "nonWprHeapSize":
                          meta["nonWprHeapSize"], "gspFwWprStart": wpr, "gspFwHeapOffset": heap_off,
                          "gspFwHeapSize": _down(elf - heap_off, _MiB), "gspFwOffset": elf, "bootBinOffset": boot,
                          "frtsOffset": frts, "frtsSize": meta["frtsSize"], "gspFwWprEnd": frts_end,
                          "fbSize": fb}), libos

    @staticmethod
    def _pmu_reserved(raw: bytes, version: str) -> int:
        from ...gsp import bindings  # facts: the generated structures of the firmware's version

        cls = bindings.load(version).GspFwWprMeta
        obj = cls.from_buffer_copy(raw[:ctypes.sizeof(cls)])
        return int(getattr(obj, "pmuReservedSize", 0))

    def _gsp_reset(self) -> None:
        """A CPU reset of the GSP while its RISC-V core runs ends the GSP-FMC; its ACR releases WPR2 (sim choice)."""
        if self.fmc_running:
            self.fmc_running = False
            self.chain.set_wpr2(0, 0)
            rm = self.gpu.models.get("gsp_rm")
            if rm is not None:
                rm.acr_layout = None  # type: ignore[attr-defined]
            self.log.warning("fsp", "GSP reset while the GSP-FMC ran: the FMC stops, WPR2 is released")

    def _gsp_rm_unloaded(self) -> None:
        if not self.fmc_running:
            return

        def shutdown() -> None:
            self.chain.set_wpr2(0, 0)
            self.gsp.halt_riscv()
            self.fmc_running = False
            rm = self.gpu.models.get("gsp_rm")
            if rm is not None:
                rm.acr_layout = None  # type: ignore[attr-defined]
            self.history.append("GSP-FMC shutdown")
            self.log.info("fsp", "GSP-RM unloaded: the GSP-FMC's ACR tore WPR2 down; GSP RISC-V core halted")

        self.clock.call_later(HALT_NS, shutdown)


def _down(x: int, a: int) -> int:
    return x - x % a


def _nvdm_type(packet: bytes) -> int:
    return packet[7] if len(packet) >= 8 else 0


def _code_name(code: int) -> str:
    try:
        return f"FSP_{FF.FspErrorCode(code).name} ({code:#x})"
    except ValueError:
        return f"{code:#x}"


def attach(gpu: SimGpu) -> SimFsp:
    return SimFsp(gpu)


__all__ = ["EMEM_BYTES", "FmcError", "SimFsp", "attach"]
