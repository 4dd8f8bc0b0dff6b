"""nova_core.falcon.fwsec: running the vBIOS's FWSEC on the GSP falcon - FRTS at bring-up, SB at unload.

FWSEC-FRTS carves out WPR2 and copies a verified VBIOS into the FRTS region at the offset the FB layout
chose; FWSEC-SB runs at unload, before booter_unload tears WPR2 down (nouveau ``nvkm_gsp_fwsec_frts``/
``_sb``, OpenRM ``kgspExecuteFwsecFrts``/``Sb``, nova-core ``gsp/boot.rs``). Facts: nvidia-facts §2, §9.

Sequence of :func:`run_fwsec`:

1. the fused version of FWSEC's ucode id (v3: the fuse array of its engine-id mask; the GSP's on real
   ROMs) picks the signature; the vBIOS layer patches DMEMMAPPER, the command arguments and (v3) the
   signature (:meth:`~nova_core.vbios.FwsecUcode.patch`);
2. the load, by descriptor version and HAL:

   - **v3** (GA102 and later): the falcon HAL's load - DMA in 256-byte blocks, then the boot ROM
     registers (PKC offset, engine-id mask, ucode id, RSA3K) and BOOTVEC 0;
   - **v2** (Turing, GA100) with a generic bootloader (:mod:`.genbl`, nouveau's ``acr/bl.bin``): the
     image staged in DMA memory, the bootloader PIO-loaded at the top of IMEM with its DMEM descriptor,
     BOOTVEC = its start tag << 8. The staging buffer lives until the falcon halts (the bootloader DMAs
     from it while it runs);
   - **v2 without one** (GA100 with Debian's firmware, which ships no ``acr/bl.bin`` for it): the
     segments the bootloader would have DMA'd - non-secure code, secure code, DMEM data - loaded by PIO
     straight to the same places, BOOTVEC = VirtualEntry. The falcon ends up in the state the
     bootloader leaves it in; no driver does this (unverified on hardware), so the result says so;
3. MAILBOX0 = 0, start, wait for the halt (2 s), MAILBOX0 must still be 0;
4. the command's own result: FRTS writes its error code to ``NV_PBUS_SW_SCRATCH(0xE)`` bits 31:16 and
   must leave WPR2 set with WPR2_ADDR_LO = FRTS offset >> 12; SB writes ``SW_SCRATCH(0x15)`` bits 15:0.

:func:`fwsec_frts` refuses to run when WPR2 is already set: a previous GSP-RM still owns it and FWSEC
would fail; the caller resets the GPU or runs the unload sequence first (:mod:`.chain` does, on request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import FalconError
from ..fb.layout import FbLayout
from ..gpu.chips import Chipset
from ..hw.bar import Bar
from ..hw.device import Device
from ..regs.pbus import FRTS_ERR_SCRATCH, NV_PBUS_SW_SCRATCH, SB_ERR_SCRATCH
from ..regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO, WPR2_ADDR_SHIFT
from ..vbios import FwsecCommand, FwsecImage, FwsecUcode, Vbios
from .engine import Falcon
from .engines import gsp_falcon
from .facts import BLOCK, DMA_ADDR_LIMIT, GENERIC_BL_CTX_DMA
from .genbl import BlDmemDesc, GenericBootloader
from .hal import LoadMethod
from .ucode import FalconUcode


class Wpr2Error(FalconError):
    """WPR2 is not in the state a step needs (already set before FRTS, still set after unload ...).

    Attributes:
        start, end: the WPR2 range found (``end`` 0: not set).
    """

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.start = start
        self.end = end


@dataclass(frozen=True)
class Wpr2:
    """WPR2 as NV_PFB_PRI_MMU_WPR2_ADDR_LO/HI report it: ``[start, end)``; ``end`` 0 = not set."""

    lo: int  #: the raw register values
    hi: int

    @property
    def start(self) -> int:
        return NV_PFB_PRI_MMU_WPR2_ADDR_LO.val.get(self.lo) << WPR2_ADDR_SHIFT

    @property
    def end(self) -> int:
        return NV_PFB_PRI_MMU_WPR2_ADDR_HI.val.get(self.hi) << WPR2_ADDR_SHIFT

    @property
    def is_set(self) -> bool:
        """WPR2_ADDR_HI non-zero (OpenRM ``kgspIsWpr2Up``, nova-core, nouveau)."""
        return self.end != 0

    def __str__(self) -> str:
        return f"[{self.start:#x}, {self.end:#x})" if self.is_set else "not set"


def read_wpr2(bar: Bar) -> Wpr2:
    return Wpr2(NV_PFB_PRI_MMU_WPR2_ADDR_LO.read(bar), NV_PFB_PRI_MMU_WPR2_ADDR_HI.read(bar))


@dataclass(frozen=True)
class FwsecRun:
    """What one FWSEC run did."""

    command: FwsecCommand
    desc_version: int
    load: str  #: "dma" (v3), "generic-bootloader" or "pio" (v2)
    fused_version: int | None  #: v3 only
    signature_index: int | None  #: v3 only
    frts_offset: int | None
    frts_size: int | None
    mailbox0: int
    mailbox1: int
    error: int  #: the command's error code from its scratch register (0 = success)
    wpr2: Wpr2
    image_sha256: str
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"command": self.command.name, "desc_version": self.desc_version, "load": self.load,
                "fused_version": self.fused_version, "signature_index": self.signature_index,
                "frts_offset": self.frts_offset, "frts_size": self.frts_size, "mailbox0": self.mailbox0,
                "mailbox1": self.mailbox1, "error": self.error,
                "wpr2": {"start": self.wpr2.start, "end": self.wpr2.end}, "image_sha256": self.image_sha256,
                "note": self.note}


def require_fwsec(vbios: Vbios) -> FwsecUcode:
    """The vBIOS's FWSEC_PROD ucode.

    Raises:
        FalconError: the vBIOS has none (a legacy + EFI dump, or a Blackwell ROM).
    """
    if vbios.fwsec is None:
        raise FalconError(f"{vbios.source.name}: the vBIOS has no FWSEC ucode to run on the GSP falcon"
                          + (f" ({vbios.fwsec_note})" if vbios.fwsec_note else ""))
    return vbios.fwsec


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


def _boot_checked(gsp: Falcon, name: str) -> tuple[int, int]:
    m0, m1 = gsp.boot(0)
    if m0 != 0:
        raise FalconError(f"{gsp.name}: {name} halted with MAILBOX0 {m0:#010x} (MAILBOX1 {m1:#010x}); FWSEC "
                          f"leaves 0 there and reports command errors in its scratch register")
    return m0, m1


def _run_with_bootloader(gsp: Falcon, image: FwsecImage, bootloader: GenericBootloader,
                         name: str) -> tuple[int, int]:
    if gsp.dma is None:
        raise FalconError(f"{gsp.name}: {name} through the generic bootloader needs a DMA allocator (Falcon(dma=...))")
    ns, sec, dm = image.imem_ns, image.imem_sec, image.dmem
    if ns is None:  # pragma: no cover - FwsecImage v2 always has both IMEM parts
        raise FalconError(f"{name}: a v2 FWSEC image without a non-secure IMEM part")
    # A mirror of IMEM, then the DMEM data on a block boundary (nouveau: image at 0, DMEM at DMEMOffset -
    # the same bytes for every real ROM, whose IMEMPhysBase and IMEMVirtBase are 0).
    code_end = max(ns.dst + ns.size, sec.dst + sec.size)
    bl_start = gsp.imem_size() - len(bootloader.padded_code)
    if code_end > bl_start:
        raise FalconError(f"{gsp.name}: {name} IMEM [0, {code_end:#x}) runs into the generic bootloader, which sits at "
                          f"IMEM {bl_start:#x} (the top of the {gsp.imem_size():#x}-byte IMEM)")
    data_off = _align(code_end, BLOCK)
    total = data_off + _align(dm.size, BLOCK)
    buf = gsp.dma.alloc(total, name=f"{name} image for the generic bootloader")
    try:
        if buf.bus_addr % BLOCK or buf.bus_addr + total > DMA_ADDR_LIMIT:
            raise FalconError(f"{gsp.name}: {name} staging buffer [{buf.bus_addr:#x}, {buf.bus_addr + total:#x}) is "
                              f"not 256-byte aligned below the 49-bit falcon DMA limit {DMA_ADDR_LIMIT:#x}")
        buf.fill(0)
        buf.write(ns.dst, image.segment_bytes(ns))
        buf.write(sec.dst, image.segment_bytes(sec))
        buf.write(data_off, image.segment_bytes(dm))
        desc = BlDmemDesc(ctx_dma=GENERIC_BL_CTX_DMA, code_dma_base=buf.bus_addr, non_sec_code_off=ns.dst,
                          non_sec_code_size=ns.size, sec_code_off=sec.dst, sec_code_size=sec.size,
                          code_entry_point=image.boot_vector, data_dma_base=buf.bus_addr + data_off,
                          data_size=dm.size)
        ucode = bootloader.ucode(gsp.imem_size(), desc, name=f"generic bootloader for {name}")
        gsp.reset()
        gsp.configure_dma(GENERIC_BL_CTX_DMA)
        gsp.pio_load(ucode)
        return _boot_checked(gsp, name)
    finally:
        gsp.dma.free(buf)


def run_fwsec(gsp: Falcon, fwsec: FwsecUcode, command: FwsecCommand, *, frts_offset: int | None = None,
              frts_size: int | None = None, bootloader: GenericBootloader | None = None) -> FwsecRun:
    """Patch, load and run FWSEC for ``command`` on the GSP falcon (see the module docstring).

    Checks MAILBOX0 only; the command's result (scratch register, WPR2) is the caller's: :func:`fwsec_frts`,
    :func:`fwsec_sb`.

    Raises:
        FalconError: a load the HAL cannot do (v2 on the GA102+ HAL), MAILBOX0 non-zero.
        RomError: no signature for the fused version, a ucode that cannot be patched.
        PollTimeout: the falcon never halted (naming the GSP).
    """
    try:
        cmd = FwsecCommand(command)
    except ValueError:
        raise FalconError(f"FWSEC command {command!r} is not one of "
                          f"{', '.join(f'{c.name} ({c.value:#x})' for c in FwsecCommand)}") from None
    name = f"FWSEC-{cmd.name}"
    desc = fwsec.desc
    fused = None
    if desc.version == 3:
        fused = gsp.fuse_version(desc.fields["engine_id_mask"], desc.fields["ucode_id"])
    kw: dict[str, Any] = {}
    if cmd is FwsecCommand.FRTS:
        kw["frts_offset"] = frts_offset
        if frts_size is not None:
            kw["frts_size"] = frts_size
    image = fwsec.patch(cmd, fuse_version=fused, **kw)
    note = None
    if image.desc_version == 3:
        load = gsp.hal.load_method.value
        ucode = FalconUcode.from_layout(image, name)
        gsp.reset()
        gsp.load(ucode)
        m0, m1 = _boot_checked(gsp, name)
    elif not gsp.hal.pio_allowed:
        raise FalconError(f"{gsp.name}: {name}: a v2 FWSEC descriptor (loaded by PIO or a generic bootloader) on the "
                          f"{gsp.hal.kind.value} falcon HAL, whose IMEM/DMEM ports are masked to the CPU")
    elif bootloader is not None:
        load = "generic-bootloader"
        m0, m1 = _run_with_bootloader(gsp, image, bootloader, name)
    else:
        load = "pio"
        note = ("no generic falcon bootloader: the FWSEC segments were loaded by PIO where the bootloader puts "
                "them (unverified on hardware)")
        gsp.reset()
        gsp.load(FalconUcode.from_layout(image, name), method=LoadMethod.PIO)
        m0, m1 = _boot_checked(gsp, name)
    scratch, shift, mask = ((FRTS_ERR_SCRATCH, 16, 0xFFFF) if cmd is FwsecCommand.FRTS
                            else (SB_ERR_SCRATCH, 0, 0xFFFF))
    error = (NV_PBUS_SW_SCRATCH.read(gsp.bar, i=scratch) >> shift) & mask
    return FwsecRun(cmd, image.desc_version, load, image.fused_version, image.signature_index,
                    image.frts_offset, image.frts_size, m0, m1, error, read_wpr2(gsp.bar), image.sha256, note)


def fwsec_frts(dev: Device, chipset: Chipset, vbios: Vbios, layout: FbLayout, *,
               bootloader: GenericBootloader | None = None) -> FwsecRun:
    """Run FWSEC-FRTS for ``layout``'s FRTS region and check WPR2 came up there.

    Raises:
        Wpr2Error: WPR2 is already set (the GPU needs a reset, or the unload sequence first), or FRTS
            left it unset or elsewhere.
        FalconError: the layout has no FRTS region (GA100), the vBIOS no FWSEC, FWSEC failed
            (MAILBOX0, or its error code in ``SW_SCRATCH(0xE)`` bits 31:16).
    """
    if layout.frts.size == 0:
        raise FalconError(f"{chipset.name}: the FB layout has no FRTS region (FWSEC-FRTS does not run on this chip)")
    wpr2 = read_wpr2(dev.bar0)
    if wpr2.is_set:
        raise Wpr2Error(f"{chipset.name}: WPR2 is already set {wpr2} (WPR2_ADDR_LO {wpr2.lo:#010x}, "
                        f"HI {wpr2.hi:#010x}) before FWSEC-FRTS: a previous GSP-RM was not unloaded; the GPU "
                        f"needs a reset (or the unload sequence FWSEC-SB + booter_unload: recover=True)",
                        wpr2.start, wpr2.end)
    run = run_fwsec(gsp_falcon(dev, chipset), require_fwsec(vbios), FwsecCommand.FRTS,
                    frts_offset=layout.frts.start, frts_size=layout.frts.size, bootloader=bootloader)
    if run.error:
        raise FalconError(f"GSP: FWSEC-FRTS failed with error {run.error:#06x} "
                          f"(NV_PBUS_SW_SCRATCH({FRTS_ERR_SCRATCH:#x}) bits 31:16; 0 means success); FRTS region "
                          f"[{layout.frts.start:#x}, {layout.frts.end:#x})")
    if not run.wpr2.is_set:
        raise Wpr2Error(f"GSP: FWSEC-FRTS reported success but WPR2 is not set (WPR2_ADDR_HI {run.wpr2.hi:#010x})",
                        run.wpr2.start, run.wpr2.end)
    if run.wpr2.start != layout.frts.start:
        raise Wpr2Error(f"GSP: after FWSEC-FRTS WPR2 is {run.wpr2} (WPR2_ADDR_LO {run.wpr2.lo:#010x}); expected it to "
                        f"start at the FRTS region {layout.frts.start:#x} (LO.VAL {layout.frts.start >> 12:#x})",
                        run.wpr2.start, run.wpr2.end)
    return run


def fwsec_sb(dev: Device, chipset: Chipset, vbios: Vbios, *,
             bootloader: GenericBootloader | None = None) -> FwsecRun:
    """Run FWSEC-SB (the unload half of FWSEC) and check its error code.

    Raises:
        FalconError: the vBIOS has no FWSEC, FWSEC failed (MAILBOX0, or ``SW_SCRATCH(0x15)`` bits 15:0).
    """
    run = run_fwsec(gsp_falcon(dev, chipset), require_fwsec(vbios), FwsecCommand.SB, bootloader=bootloader)
    if run.error:
        raise FalconError(f"GSP: FWSEC-SB failed with error {run.error:#06x} "
                          f"(NV_PBUS_SW_SCRATCH({SB_ERR_SCRATCH:#x}) bits 15:0; 0 means success)")
    return run
