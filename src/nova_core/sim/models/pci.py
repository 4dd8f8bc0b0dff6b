"""nova_core.sim.models.pci: the simulated GPU's PCI function: config space, BARs, MSI/MSI-X, SR-IOV, FLR.

The config space is laid out as NVIDIA's GPUs lay theirs out. Source: a public ``lspci -vvv -xxxx``
of a GA104 (RTX 3060 Ti, aidankim5/pcie-config-decoder ``docs/decode-rtx3060ti-annotate.txt``; our
fixture ``tests/fixtures/pci/ga104-rtx3060ti.lspci``) for the bytes; public ``lspci -vvv`` listings of
A100, T4, Quadro RTX 4000/8000, RTX 4090 and an RTX 5090 boot log for what differs per chip:

- header: 10de:<board id>, class VGA (0x0300) on chips with a display, 3D controller (0x0302) on
  compute parts; BAR0 16 MiB (32-bit), BAR1 64-bit prefetchable (256 MiB, resizable up to the VRAM
  size; VRAM-sized on compute parts and vGPU boards), BAR3 32 MiB 64-bit prefetchable, BAR5 128 bytes of I/O (VGA
  parts), a 512 KiB expansion ROM; NVIDIA's subsystem mirror at 0x40 and the constants at 0x54/0x58;
- standard list: PM at 0x60, MSI at 0x68 (1 vector, 64-bit, no masking; id 0 - hidden - on compute
  parts, which use MSI-X), PCI Express v2 at 0x78 (Legacy Endpoint on VGA parts), vendor-specific
  at 0xB4, and MSI-X at 0xC8 (6 vectors, table BAR0+0xB90000, PBA BAR0+0xBA0000): linked on compute
  parts, present but unlinked on GeForce (as the GA104 dump shows);
- extended list: VC 0x100, L1 PM substates 0x258 (LTR 0x250 on Turing), power budgeting 0x128, AER
  0x420, NVIDIA VSEC 0x600, Secondary PCIe 0x900, Resizable BAR 0xBB0, SR-IOV 0xBCC, ARI 0xC14,
  Physical Layer 16 GT/s 0xC1C, Lane Margining 0xD00, Data Link Feature 0xE00 (Gen4+ parts). SR-IOV
  and ARI are linked on A100/H100/B100 and GB20x (the RTX 5090 log shows VF BARs) and on the vGPU boards of
  GA10x/AD10x (A40, L40, L4: :data:`~nova_core.gpu.chips.VGPU_BOARDS`, whose VFs carry vGPUs), unlinked on
  GA10x/AD10x GeForce, absent on Turing.

Behaviour, and what it refuses (each refusal is logged in ``gpu.log`` and raises
:class:`~nova_core.errors.SimViolation` in strict mode):

- accesses outside 4 KiB, writes that are not 1/2/4 naturally aligned bytes, writes to read-only
  registers (hardware drops them silently; the sim says so);
- a memory BAR moved while memory decode is on, a resize while decode is on or to a size the
  Resizable BAR capability does not list;
- MSI and MSI-X enabled together, MSI Multiple Message Enable above Multiple Message Capable;
- an MSI-X entry's message changed while it is unmasked and MSI-X is on;
- SR-IOV: NumVFs above TotalVFs or changed while VF Enable is set, a VF's config touched within
  100 ms of VF Enable, a VF index beyond NumVFs;
- config access within 100 ms of a Function Level Reset, or 10 ms of a D3hot -> D0 transition; a
  power state the function does not support (D1, D2).

FLR returns the config space to its power-on state (BARs unassigned, decode off, MSI/MSI-X off, all
MSI-X entries masked, VFs gone). Interrupts are raised by other models with :meth:`SimPciFunction.signal`
and delivered as (address, data) messages to listeners, or latched as pending while masked.

The same config space is visible read-write in BAR0 at NV_PCFG (0x88000; 0x92000 on Blackwell), where
GSP-RM reads it (nova-core passes that offset in GSP_SET_SYSTEM_INFO).
"""

from __future__ import annotations

import collections
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import SimViolation
from ...gpu.chips import Architecture, Chipset, is_vgpu_board
from ...pci import facts as F

if TYPE_CHECKING:
    from ..gpu import SimGpu

NAME = "pci"
ORDER = 5

MiB = 1 << 20
BAR0_SIZE = 16 * MiB
BAR1_DEFAULT = 256 * MiB
BAR3_SIZE = 32 * MiB
IO_BAR_SIZE = 128
ROM_SIZE = 512 << 10
MSIX_TABLE_OFFSET = 0xB90000  #: BAR0 offsets from the GA104 dump's MSI-X capability (C8: 00b90000 / 00ba0000)
MSIX_PBA_OFFSET = 0xBA0000
MSIX_VECTORS = 6
MESSAGES_KEPT = 4096  #: messages kept in SimPciFunction.messages (a sim choice: for tests and inspection)
PCFG_MIRROR = 0x088000  #: NV_PCFG: config space mirrored in BAR0 (nova-core GSP_SET_SYSTEM_INFO)
PCFG_MIRROR_BLACKWELL = 0x092000  #: tinygrad NV PCI path
TOTAL_VFS = 16  #: GA104 dump: Initial VFs 16, Total VFs 16
VF_OFFSET = 4
VF_STRIDE = 1
VF_BAR_SIZES = (256 << 10, 256 * MiB, 32 * MiB)  #: VF BAR0/2/4 per VF (RTX 5090 boot log), 64-bit prefetchable

#: firmware-assigned addresses of the enumerated function (any plausible, aligned values)
ASSIGNED = {"bar0": 0xF6000000, "bar1": 0x60_0000_0000, "bar3": 0x61_0000_0000, "io": 0xE000, "rom": 0xF7000000,
            "vf_bar0": 0x62_0000_0000, "vf_bar2": 0x64_0000_0000, "vf_bar4": 0x68_0000_0000}

OFF_PM, OFF_MSI, OFF_EXP, OFF_VNDR, OFF_MSIX = 0x60, 0x68, 0x78, 0xB4, 0xC8
OFF_VC, OFF_L1SS, OFF_LTR, OFF_PWR, OFF_AER, OFF_VSEC = 0x100, 0x258, 0x250, 0x128, 0x420, 0x600
OFF_SECPCI, OFF_REBAR, OFF_SRIOV, OFF_ARI, OFF_PL16, OFF_LMR, OFF_DLF = 0x900, 0xBB0, 0xBCC, 0xC14, 0xC1C, 0xD00, 0xE00


@dataclass(frozen=True)
class Profile:
    """What differs per chip (see the module docstring for the sources)."""

    vga: bool
    compute: bool
    link_speed: int  #: LnkCap speed code: 3 = 8 GT/s (Turing), 4 = 16 GT/s, 5 = 32 GT/s
    sriov: str  #: "none", "hidden" or "linked"
    bar1_default: int
    bar1_max: int
    mirror: int


def profile(chipset: Chipset, vram_mib: int, device_id: int | None = None) -> Profile:
    """The layout choices of ``chipset`` (``device_id``: a vGPU board of :data:`~nova_core.gpu.chips.VGPU_BOARDS` links
    SR-IOV where the GeForce boards of the chip hide it - the L40's VFs carry its vGPUs)."""
    arch = chipset.architecture
    compute = not chipset.facts.has_display
    vram_pow2 = 1 << max((vram_mib * MiB - 1).bit_length(), 28)
    if arch is Architecture.TURING:
        speed, sriov = 3, "none"
    elif arch in (Architecture.AMPERE, Architecture.ADA):
        vgpu = device_id is not None and is_vgpu_board(device_id)
        speed, sriov = 4, ("linked" if compute or vgpu else "hidden")
    else:
        speed, sriov = 5, "linked"
    large_bar1 = compute or (device_id is not None and is_vgpu_board(device_id))  # data-center boards: BAR1 = FB
    return Profile(vga=not compute, compute=compute, link_speed=speed, sriov=sriov,
                   bar1_default=vram_pow2 if large_bar1 else BAR1_DEFAULT, bar1_max=vram_pow2,
                   mirror=PCFG_MIRROR_BLACKWELL if arch in (Architecture.BLACKWELL_GB10X, Architecture.BLACKWELL_GB20X)
                   else PCFG_MIRROR)


class _Image:
    """A config space under construction: bytes, per-byte write and write-1-to-clear masks."""

    def __init__(self) -> None:
        self.data = bytearray(F.EXTENDED_SIZE)
        self.wmask = bytearray(F.EXTENDED_SIZE)
        self.w1c = bytearray(F.EXTENDED_SIZE)

    def put(self, off: int, size: int, value: int, wmask: int = 0, w1c: int = 0) -> None:
        self.data[off:off + size] = value.to_bytes(size, "little")
        self.wmask[off:off + size] = wmask.to_bytes(size, "little")
        self.w1c[off:off + size] = w1c.to_bytes(size, "little")

    def ext(self, off: int, cap_id: int, version: int, nxt: int) -> None:
        self.put(off, 4, F.ExtCapHeader.encode(id=cap_id, version=version, next=nxt))


def _bar_mask(size: int) -> int:
    return ~(size - 1) & 0xFFFFFFFFFFFFFFFF


@functools.lru_cache(maxsize=64)
def _template(chipset: Chipset, device_id: int, revision: int, vram_mib: int, assigned: bool) -> _Image:
    """The config space of a chip at power-on (``assigned=False``) or after firmware enumeration."""
    p = profile(chipset, vram_mib, device_id)
    im = _Image()
    a = ASSIGNED if assigned else dict.fromkeys(ASSIGNED, 0)
    # -- header
    im.put(F.VENDOR_ID, 2, F.NVIDIA_VENDOR_ID)
    im.put(F.DEVICE_ID, 2, device_id)
    cmd_w = F.Command.encode(io=1, memory=1, master=1, parity=1, serr=1, intx_disable=1)
    im.put(F.COMMAND, 2, F.Command.encode(io=int(p.vga), memory=1) if assigned else 0, wmask=cmd_w)
    status_w1c = F.Status.encode(parity=1, sig_target_abort=1, rec_target_abort=1, rec_master_abort=1,
                                 sig_system_error=1, detected_parity=1)
    im.put(F.STATUS, 2, F.Status.encode(cap_list=1), w1c=status_w1c)
    im.put(F.REVISION_ID, 1, revision)
    im.put(F.CLASS_PROG_IF, 3, (F.CLASS_DISPLAY << 16) | ((F.SUBCLASS_3D if p.compute else F.SUBCLASS_VGA) << 8))
    im.put(F.CACHE_LINE_SIZE, 1, 0, wmask=0xFF)
    im.put(F.HEADER_TYPE, 1, 0x00 if p.compute else F.HEADER_TYPE_MULTIFUNCTION)
    im.put(F.BAR0, 4, a["bar0"], wmask=_bar_mask(BAR0_SIZE) & 0xFFFFFFFF)
    bar1 = p.bar1_default
    flags64 = F.BAR_MEM_TYPE_64 | F.BAR_MEM_PREFETCH
    im.put(F.BAR0 + 4, 4, (a["bar1"] & 0xFFFFFFFF) | flags64, wmask=_bar_mask(bar1) & 0xFFFFFFF0)
    im.put(F.BAR0 + 8, 4, a["bar1"] >> 32, wmask=_bar_mask(bar1) >> 32)
    im.put(F.BAR0 + 12, 4, (a["bar3"] & 0xFFFFFFFF) | flags64, wmask=_bar_mask(BAR3_SIZE) & 0xFFFFFFF0)
    im.put(F.BAR0 + 16, 4, a["bar3"] >> 32, wmask=0xFFFFFFFF)
    if p.vga:
        im.put(F.BAR0 + 20, 4, a["io"] | F.BAR_SPACE_IO, wmask=_bar_mask(IO_BAR_SIZE) & 0xFFFFFFFC)
    im.put(F.SUBSYSTEM_VENDOR_ID, 2, F.NVIDIA_VENDOR_ID)
    im.put(F.SUBSYSTEM_ID, 2, 0x0000)
    im.put(F.ROM_ADDRESS, 4, a["rom"], wmask=(_bar_mask(ROM_SIZE) & F.ROM_ADDR_MASK) | F.ROM_ENABLE)
    im.put(F.CAPABILITY_LIST, 1, OFF_PM)
    im.put(F.INTERRUPT_LINE, 1, 0xFF, wmask=0xFF)
    im.put(F.INTERRUPT_PIN, 1, 1)
    # NVIDIA: a copy of the subsystem ids at 0x40, and constants at 0x54/0x58 (every NVIDIA dump has them)
    im.put(0x40, 4, F.NVIDIA_VENDOR_ID)
    im.put(0x54, 4, 0x00000001)
    im.put(0x58, 4, 0x0023D6CE)
    # -- standard capabilities
    im.put(OFF_PM, 2, F.CapId.PM | OFF_MSI << 8)
    im.put(OFF_PM + F.PM_PMC, 2, F.PmCapabilities.encode(version=3, pme_support=0b01001))
    im.put(OFF_PM + F.PM_CTRL, 2, F.PmControl.encode(no_soft_reset=1),
           wmask=F.PmControl.encode(power_state=3, pme_enable=1), w1c=F.PmControl.pme_status.mask)
    im.put(OFF_MSI, 2, (F.CapId.NULL if p.compute else F.CapId.MSI) | OFF_EXP << 8)
    im.put(OFF_MSI + F.MSI_FLAGS, 2, F.MsiControl.encode(addr64=1),
           wmask=F.MsiControl.encode(enable=1, multiple_enable=7))
    im.put(OFF_MSI + F.MSI_ADDRESS_LO, 4, 0, wmask=0xFFFFFFFC)
    im.put(OFF_MSI + F.MSI_ADDRESS_HI, 4, 0, wmask=0xFFFFFFFF)
    im.put(OFF_MSI + F.MSI_DATA_64, 2, 0, wmask=0xFFFF)
    im.put(OFF_EXP, 2, F.CapId.EXP | OFF_VNDR << 8)
    ptype = F.DevicePortType.LEGACY_ENDPOINT if p.vga else F.DevicePortType.ENDPOINT
    im.put(OFF_EXP + F.EXP_FLAGS, 2, F.ExpFlags.encode(version=2, type=ptype))
    im.put(OFF_EXP + F.EXP_DEVCAP, 4, 0x112C8DE1)  # GA104: MPS 256, ExtTag, RBER, FLR (75 W slot)
    devctl_w = F.DevCtl.encode(cere=1, nfere=1, fere=1, urre=1, relax_en=1, payload=7, ext_tag=1, nosnoop_en=1,
                               readrq=7, bcr_flr=1)
    im.put(OFF_EXP + F.EXP_DEVCTL, 2, F.DevCtl.encode(relax_en=1, ext_tag=1, nosnoop_en=1, readrq=2), wmask=devctl_w)
    im.put(OFF_EXP + F.EXP_DEVSTA, 2, 0, w1c=F.DevSta.encode(ced=1, nfed=1, fed=1, urd=1))
    im.put(OFF_EXP + F.EXP_LNKCAP, 4, F.LnkCap.encode(speed=p.link_speed, width=16, aspm=3, l0s_exit=3, l1_exit=2,
                                                       clock_pm=1, aspm_opt=1))
    im.put(OFF_EXP + F.EXP_LNKCTL, 2, F.LnkCtl.encode(common_clock=1) if assigned else 0,
           wmask=F.LnkCtl.encode(aspm=3, rcb=1, common_clock=1, ext_synch=1, clock_pm=1, hw_auto_width_disable=1))
    im.put(OFF_EXP + F.EXP_LNKSTA, 2, F.LnkSta.encode(speed=p.link_speed, width=16, slot_clock=1))
    im.put(OFF_EXP + F.EXP_DEVCAP2, 4, 0x00070013)
    im.put(OFF_EXP + F.EXP_DEVCTL2, 2, 0, wmask=0x0FFF)
    speeds = (1 << p.link_speed) - 1
    im.put(OFF_EXP + F.EXP_LNKCAP2, 4, F.LnkCap2.encode(speeds=speeds, retimer=int(p.link_speed >= 4),
                                                         two_retimers=int(p.link_speed >= 4)))
    im.put(OFF_EXP + F.EXP_LNKCTL2, 2, F.LnkCtl2.encode(target_speed=p.link_speed), wmask=0xFFFF)
    im.put(OFF_EXP + F.EXP_LNKSTA2, 2, 0x001E)
    im.put(OFF_VNDR, 4, F.CapId.VNDR | (OFF_MSIX if p.compute else 0) << 8 | 0x14 << 16 | 0x01 << 24)
    im.put(OFF_MSIX, 2, F.CapId.MSIX)
    im.put(OFF_MSIX + F.MSIX_FLAGS, 2, F.MsixControl.encode(table_size=MSIX_VECTORS - 1),
           wmask=F.MsixControl.encode(function_mask=1, enable=1))
    im.put(OFF_MSIX + F.MSIX_TABLE, 4, MSIX_TABLE_OFFSET)
    im.put(OFF_MSIX + F.MSIX_PBA, 4, MSIX_PBA_OFFSET)
    # -- extended capabilities
    turing = chipset.architecture is Architecture.TURING
    im.ext(OFF_VC, F.ExtCapId.VC, 1, OFF_LTR if turing else OFF_L1SS)
    im.put(OFF_VC + 0x14, 4, 0x800000FF)  # VC0 resource control: TC/VC map 0xff, enabled
    if turing:
        im.ext(OFF_LTR, F.ExtCapId.LTR, 1, OFF_PWR)
        im.put(OFF_LTR + 4, 4, 0, wmask=0x1FFF1FFF)
    else:
        im.ext(OFF_L1SS, F.ExtCapId.L1SS, 1, OFF_PWR)
        im.put(OFF_L1SS + 4, 4, 0x0028FF1F)
        im.put(OFF_L1SS + 8, 4, 0, wmask=0xE3FFFF0F)
        im.put(OFF_L1SS + 12, 4, 0x28, wmask=0xFB)
    im.ext(OFF_PWR, F.ExtCapId.PWR, 1, OFF_AER)
    im.put(OFF_PWR + 4, 1, 0, wmask=0xFF)
    im.put(OFF_PWR + 8, 4, 0x00078121)
    im.ext(OFF_AER, F.ExtCapId.ERR, 2, OFF_VSEC)
    uncor = sum(1 << b for b in F.AER_UNCOR_BITS)
    cor = sum(1 << b for b in F.AER_COR_BITS)
    im.put(OFF_AER + F.ERR_UNCOR_STATUS, 4, 0, w1c=uncor)
    im.put(OFF_AER + F.ERR_UNCOR_MASK, 4, 0, wmask=uncor)
    im.put(OFF_AER + F.ERR_UNCOR_SEVER, 4, 0x00462030, wmask=uncor)
    im.put(OFF_AER + F.ERR_COR_STATUS, 4, 0, w1c=cor)
    im.put(OFF_AER + F.ERR_COR_MASK, 4, 0x00002000, wmask=cor)
    im.put(OFF_AER + F.ERR_CAP, 4, 0, wmask=F.AerCap.encode(ecrc_gen_en=1, ecrc_chk_en=1, mult_hdr_en=1))
    im.ext(OFF_VSEC, F.ExtCapId.VNDR, 1, OFF_REBAR if turing else OFF_SECPCI)
    im.put(OFF_VSEC + 4, 4, F.VsecHeader.encode(id=1, rev=1, length=0x24))
    im.put(OFF_VSEC + 8, 8, 0x0000180101410002)  # GA104 VSEC body: 02 00 41 01 01 18 00 00
    im.put(OFF_VSEC + 16, 4, 0x00001001)
    if not turing:
        im.ext(OFF_SECPCI, F.ExtCapId.SECPCI, 1, OFF_REBAR)
        im.put(OFF_SECPCI + F.SECPCI_LNKCTL3, 4, 0, wmask=0x3)
        im.put(OFF_SECPCI + F.SECPCI_LANE_ERR, 4, 0, w1c=0xFFFF)
        for lane in range(16):
            im.put(OFF_SECPCI + F.SECPCI_LANE_EQU_CTRL + 2 * lane, 2, 0x7700)
    if p.sriov == "linked":
        after_rebar = OFF_SRIOV
    else:
        after_rebar = 0 if turing else OFF_PL16
    im.ext(OFF_REBAR, F.ExtCapId.REBAR, 1, after_rebar)
    bar1_sizes = sum(1 << n for n in range(6, 28) if 64 * MiB << (n - 6) <= p.bar1_max)
    entries = ((0, 1 << 4, BAR0_SIZE), (1, bar1_sizes, bar1), (3, 1 << 5, BAR3_SIZE))
    for i, (bar, sizes, current) in enumerate(entries):
        ctrl = F.RebarControl.encode(bar=bar, size=(current // MiB).bit_length() - 1, nbars=3 if i == 0 else 0)
        im.put(OFF_REBAR + F.REBAR_CAP + 8 * i, 4, F.RebarCapability.encode(sizes=sizes))
        im.put(OFF_REBAR + F.REBAR_CTRL + 8 * i, 4, ctrl, wmask=F.RebarControl.size.mask if bar == 1 else 0)
    if p.sriov != "none":
        im.ext(OFF_SRIOV, F.ExtCapId.SRIOV, 1, OFF_ARI)
        im.put(OFF_SRIOV + F.SRIOV_CAP, 4, F.SriovCapabilities.encode(ari_preserved=1, vf_10bit_tag=1))
        im.put(OFF_SRIOV + F.SRIOV_CTRL, 2, 0, wmask=F.SriovControl.encode(vfe=1, mse=1, ari=1))
        im.put(OFF_SRIOV + F.SRIOV_INITIAL_VF, 2, TOTAL_VFS)
        im.put(OFF_SRIOV + F.SRIOV_TOTAL_VF, 2, TOTAL_VFS)
        im.put(OFF_SRIOV + F.SRIOV_NUM_VF, 2, 0, wmask=0xFFFF)
        im.put(OFF_SRIOV + F.SRIOV_VF_OFFSET, 2, VF_OFFSET)
        im.put(OFF_SRIOV + F.SRIOV_VF_STRIDE, 2, VF_STRIDE)
        im.put(OFF_SRIOV + F.SRIOV_VF_DID, 2, device_id)
        im.put(OFF_SRIOV + F.SRIOV_SUP_PGSIZE, 4, 0x573)
        im.put(OFF_SRIOV + F.SRIOV_SYS_PGSIZE, 4, 1, wmask=0x573)
        for i, (name, size) in enumerate(zip(("vf_bar0", "vf_bar2", "vf_bar4"), VF_BAR_SIZES, strict=True)):
            off = OFF_SRIOV + F.SRIOV_BAR + 8 * i
            im.put(off, 4, (a[name] & 0xFFFFFFFF) | flags64, wmask=_bar_mask(size) & 0xFFFFFFF0)
            im.put(off + 4, 4, a[name] >> 32, wmask=0xFFFFFFFF)
        im.ext(OFF_ARI, F.ExtCapId.ARI, 1, 0 if turing else OFF_PL16)
        im.put(OFF_ARI + F.ARI_CTRL, 2, 0, wmask=F.AriControl.encode(mfvc=1, acs=1, function_group=7))
    if not turing:
        im.ext(OFF_PL16, F.ExtCapId.PL_16GT, 1, OFF_LMR)
        im.put(OFF_PL16 + 0xC, 4, 0x0000000F)
        for lane in range(16):
            im.put(OFF_PL16 + 0x20 + lane, 1, 0x70)
        im.ext(OFF_LMR, F.ExtCapId.LMR, 1, OFF_DLF)
        im.put(OFF_LMR + 4, 2, 0x0001)
        im.put(OFF_LMR + 6, 2, 0x0003)
        for lane in range(16):
            im.put(OFF_LMR + 8 + 4 * lane, 2, 0x9C38, wmask=0xFFFF)
        im.ext(OFF_DLF, F.ExtCapId.DLF, 1, 0)
        im.put(OFF_DLF + 4, 4, 0x80000001)
    return im


@dataclass
class _Vector:
    address: int = 0
    data: int = 0
    masked: bool = True
    pending: bool = False


class SimVf:
    """The config space of one virtual function (SR-IOV 1.1 3.4: vendor and device ids read 0xFFFF)."""

    def __init__(self, pf: SimPciFunction, index: int, enabled_at: int) -> None:
        self.pf = pf
        self.index = index
        self.enabled_at = enabled_at
        im = _Image()
        im.put(F.VENDOR_ID, 4, 0xFFFFFFFF)
        im.put(F.COMMAND, 2, 0, wmask=F.Command.encode(master=1, intx_disable=1))
        im.put(F.STATUS, 2, F.Status.encode(cap_list=1))
        klass = int.from_bytes(pf.image[F.REVISION_ID:F.REVISION_ID + 4], "little")
        im.put(F.REVISION_ID, 4, klass & 0xFF00FFFF | F.SUBCLASS_3D << 16)
        im.put(F.SUBSYSTEM_VENDOR_ID, 4, int.from_bytes(pf.image[F.SUBSYSTEM_VENDOR_ID:F.SUBSYSTEM_VENDOR_ID + 4],
                                                        "little"))
        im.put(F.CAPABILITY_LIST, 1, 0x40)
        im.put(0x40, 2, F.CapId.EXP)
        im.put(0x40 + F.EXP_FLAGS, 2, F.ExpFlags.encode(version=2, type=F.DevicePortType.ENDPOINT))
        im.put(0x40 + F.EXP_DEVCAP, 4, F.DevCap.encode(payload=1, ext_tag=1, flr=1))
        im.put(0x40 + F.EXP_DEVCTL, 2, 0, wmask=F.DevCtl.encode(bcr_flr=1))
        im.ext(F.EXT_CAP_START, F.ExtCapId.ARI, 1, 0)
        nxt = (VF_OFFSET + (index + 1) * VF_STRIDE) & 0xFF if index + 1 < pf.num_vfs else 0
        im.put(F.EXT_CAP_START + F.ARI_CAP, 2, F.AriCapability.encode(next_function=nxt))
        self.image, self.wmask, self.w1c = im.data, im.wmask, im.w1c

    @property
    def name(self) -> str:
        return f"{self.pf.name} VF{self.index}"

    @property
    def size(self) -> int:
        return F.EXTENDED_SIZE

    def _ready(self, what: str) -> None:
        pf = self.pf
        if pf.vfs.get(self.index) is not self:
            pf.refuse(f"{what} of {self.name}: the VF no longer exists (VF Enable cleared or NumVFs changed)")
        waited = pf.gpu.clock.now() - self.enabled_at
        if waited < F.SRIOV_VF_ENABLE_DELAY_NS:
            pf.refuse(f"{what} of {self.name} {waited / 1e6:.3f} ms after VF Enable; the PF must wait "
                      f"{F.SRIOV_VF_ENABLE_DELAY_NS / 1e6:g} ms (SR-IOV 3.3.3.1)")

    def read(self, offset: int, length: int) -> bytes:
        self.pf.check_range(self.name, offset, length)
        self._ready("config read")
        return bytes(self.image[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        self.pf.check_write_shape(self.name, offset, data)
        self._ready("config write")
        self.pf.apply_masks(self.name, self.image, self.wmask, self.w1c, offset, data,
                            probe=offset & ~3 in PROBE_DWORDS)


#: dwords software may write all-ones to whatever they hold (BAR sizing: unimplemented BARs read back 0)
PROBE_DWORDS = frozenset([F.BAR0 + 4 * i for i in range(F.NUM_BARS)] + [F.ROM_ADDRESS])


class SimPciFunction:
    """The PCI function of a :class:`~nova_core.sim.gpu.SimGpu` (a :class:`~nova_core.pci.source.ConfigSource`).

    Attributes:
        messages: every MSI/MSI-X message sent, as (address, data), in order.
        vfs: the enabled VFs by index (each a config source of its own).
        profile: the per-chip layout choices.
    """

    def __init__(self, gpu: SimGpu) -> None:
        self.gpu = gpu
        rev = (gpu.revision[0] & 0xF) << 4 | gpu.revision[1] & 0xF
        self._key = (gpu.chipset, gpu.pci_device, rev, gpu.vram_mib)
        self.profile = profile(gpu.chipset, gpu.vram_mib, gpu.pci_device)
        #: the latest messages sent, (address, data) (bounded: a long run sends one per interrupt)
        self.messages: collections.deque[tuple[int, int]] = collections.deque(maxlen=MESSAGES_KEPT)
        #: where messages land; a tuple replaced on (un)subscribe, so that a message iterates it without a copy
        self._listeners: tuple[Callable[[int, int], None], ...] = ()
        self.vfs: dict[int, SimVf] = {}
        self._quiet_until = 0  # config access refused before this time (FLR, D3hot -> D0)
        self._quiet_why = ""
        self.intx_asserted = False
        #: how signal() delivers, from config space: computed on first use, dropped by every config write and reset
        self._route: _Route | None = None
        self._load(assigned=True)
        self._hooks: dict[int, Callable[[int, int], None]] = {}
        self._install_hooks()
        bar = gpu.bar0
        bar.map_window("MSI-X table", MSIX_TABLE_OFFSET, MSIX_VECTORS * F.MSIX_ENTRY_SIZE, self._table_read,
                       self._table_write)
        bar.map_window("MSI-X PBA", MSIX_PBA_OFFSET, 8, self._pba_read, self._pba_write)
        bar.map_window("NV_PCFG (config mirror)", self.profile.mirror, F.EXTENDED_SIZE,
                       lambda rel: int.from_bytes(self.image[rel:rel + 4], "little"),
                       lambda rel, v: self.write(rel, struct.pack("<I", v)))

    def _load(self, *, assigned: bool) -> None:
        t = _template(*self._key, assigned)
        self.image, self.wmask, self.w1c = bytearray(t.data), bytearray(t.wmask), bytearray(t.w1c)
        self.vectors = [_Vector() for _ in range(MSIX_VECTORS)]
        self.vfs.clear()
        self._route = None

    # -- ConfigSource --------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return f"sim:{self.gpu.chipset.lower}"

    @property
    def size(self) -> int:
        return F.EXTENDED_SIZE

    @property
    def num_vfs(self) -> int:
        return self._u16(OFF_SRIOV + F.SRIOV_NUM_VF) if self.profile.sriov != "none" else 0

    def refuse(self, msg: str) -> None:
        self.gpu.log.error("pci", msg)
        if self.gpu.bar0.strict:
            raise SimViolation(f"simulated GPU refused {msg}")

    def _reject(self, msg: str) -> None:
        """Refuse from inside a write hook: logged, raised in strict mode, the write dropped otherwise."""
        self.refuse(msg)
        raise _Done()

    def check_range(self, who: str, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > F.EXTENDED_SIZE:
            self.gpu.log.error("pci", f"{who}: config access [{offset:#x}, {offset + length:#x}) outside 4 KiB")
            raise SimViolation(f"{who}: config access [{offset:#x}, {offset + length:#x}) is outside the 4 KiB "
                               f"config space")

    def check_write_shape(self, who: str, offset: int, data: bytes) -> None:
        self.check_range(who, offset, len(data))
        if len(data) not in (1, 2, 4) or offset % len(data):
            self.gpu.log.error("pci", f"{who}: config write of {len(data)} bytes at {offset:#x}")
            raise SimViolation(f"{who}: config write of {len(data)} bytes at {offset:#x} is not a naturally "
                               f"aligned 1, 2 or 4-byte access (one config write TLP)")

    def _quiet(self, what: str, offset: int) -> None:
        now = self.gpu.clock.now()
        if now < self._quiet_until:
            self.refuse(f"config {what} at {offset:#x} {(self._quiet_until - now) / 1e6:.3f} ms too early: "
                        f"{self._quiet_why}")

    def read(self, offset: int, length: int) -> bytes:
        self.check_range(self.name, offset, length)
        with self.gpu.clock.lock:
            self._quiet("read", offset)
            return bytes(self.image[offset:offset + length])

    def write(self, offset: int, data: bytes) -> None:
        self.check_write_shape(self.name, offset, data)
        with self.gpu.clock.lock:
            self._quiet("write", offset)
            dword = offset & ~3
            old = self._u32(dword)
            new_bytes = bytearray(self.image[dword:dword + 4])
            if not self.apply_masks(self.name, new_bytes, self.wmask[dword:dword + 4], self.w1c[dword:dword + 4],
                                    offset - dword, data, probe=dword in PROBE_DWORDS, at=dword):
                return
            new = int.from_bytes(new_bytes, "little")
            hook = self._hooks.get(dword)
            try:
                if hook is not None:
                    hook(old, new)  # validates (may refuse) and applies side effects
            except _Done:
                return
            self.image[dword:dword + 4] = new.to_bytes(4, "little")
            self._route = None  # any config write may change COMMAND or an MSI/MSI-X capability: look again
            post = self._post.get(dword)
            if post is not None:
                post(old, new)

    def apply_masks(self, who: str, image: bytearray, wmask: bytes | bytearray, w1c: bytes | bytearray,
                    offset: int, data: bytes, *, probe: bool = False, at: int = 0) -> bool:
        """Merge a write into ``image`` by the per-byte masks; False (refused) for read-only bytes.

        ``probe`` marks BAR registers: writing them is how software sizes them, so an unimplemented
        (read-only zero) BAR takes the write silently, as hardware does.
        """
        if not probe and not any(wmask[offset + i] | w1c[offset + i] for i in range(len(data))):
            value = int.from_bytes(data, "little")
            self.refuse(f"{who}: write of {value:#x} to read-only config bytes [{at + offset:#x}, "
                        f"{at + offset + len(data):#x})")
            return False
        for i, b in enumerate(data):
            o = offset + i
            v = (image[o] & ~wmask[o]) | (b & wmask[o])
            image[o] = v & ~(b & w1c[o]) & 0xFF
        return True

    def _u16(self, off: int) -> int:
        return int.from_bytes(self.image[off:off + 2], "little")

    def _u32(self, off: int) -> int:
        return int.from_bytes(self.image[off:off + 4], "little")

    def vf(self, index: int) -> SimVf:
        """VF ``index``'s config space (refused when it does not exist)."""
        vf = self.vfs.get(index)
        if vf is None:
            self.refuse(f"config access to VF{index}: NumVFs {self.num_vfs}, VF Enable "
                        f"{int(bool(self._u16(OFF_SRIOV + F.SRIOV_CTRL) & 1)) if self.profile.sriov != 'none' else 0}:"
                        f" no such function (Unsupported Request)")
            raise SimViolation(f"VF{index} does not exist")
        return vf

    # -- behaviour -----------------------------------------------------------------------------------

    def _install_hooks(self) -> None:
        h = self._hooks
        self._post: dict[int, Callable[[int, int], None]] = {}
        for i in range(6):
            h[F.BAR0 + 4 * i] = functools.partial(self._bar_write, i)
        h[F.ROM_ADDRESS] = self._rom_write
        h[F.COMMAND] = self._command_write
        h[OFF_PM + F.PM_CTRL] = self._pm_write
        h[OFF_MSI] = self._msi_write
        h[OFF_MSIX] = self._msix_write
        h[OFF_EXP + F.EXP_DEVCTL] = self._devctl_write
        h[OFF_EXP + F.EXP_LNKCTL2] = self._lnkctl2_write
        h[OFF_REBAR + F.REBAR_CTRL + 8] = self._rebar_write
        if self.profile.sriov != "none":
            h[OFF_SRIOV + F.SRIOV_NUM_VF] = self._sriov_numvf_write
            h[OFF_SRIOV + F.SRIOV_SYS_PGSIZE] = self._sriov_pgsize_write
            self._post[OFF_SRIOV + F.SRIOV_CTRL] = self._sriov_ctrl_post
        self._post[OFF_MSIX] = lambda old, new: self._deliver_pending()

    def _command_write(self, old: int, new: int) -> None:
        if (old ^ new) & F.Command.intx_disable.mask and new & F.Command.intx_disable.mask:
            self.intx_asserted = False

    def _decode_on(self, io: bool) -> bool:
        cmd = self._u16(F.COMMAND)
        return bool(cmd & (F.Command.io.mask if io else F.Command.memory.mask))

    def bar1_size(self) -> int:
        """BAR1's size as its writable address bits say (BAR sizing; it follows a Resizable BAR change)."""
        mask = int.from_bytes(self.wmask[F.BAR0 + 4:F.BAR0 + 12], "little")  # address bits only (flags read-only)
        return (~mask & 0xFFFFFFFFFFFFFFFF) + 1

    def _bar_owner(self, index: int) -> tuple[int, bool]:
        """(BAR number, is I/O) of header dword ``index`` (the upper dword of a 64-bit BAR belongs to the one below)."""
        i = 0
        while i < F.NUM_BARS:
            lo = self._u32(F.BAR0 + 4 * i)
            is64 = not lo & F.BAR_SPACE_IO and (lo & F.BAR_MEM_TYPE_MASK) == F.BAR_MEM_TYPE_64
            if index == i or (is64 and index == i + 1):
                return i, bool(lo & F.BAR_SPACE_IO)
            i += 2 if is64 else 1
        return index, False

    def _bar_write(self, index: int, old: int, new: int) -> None:
        if old == new:
            return
        bar, io = self._bar_owner(index)
        if self._decode_on(io):
            self._reject(f"BAR{bar} written ({old:#010x} -> {new:#010x}) while {'I/O' if io else 'memory'} decode "
                         f"is enabled (COMMAND bit {0 if io else 1}): the BAR would decode at a half-written address")

    def _rom_write(self, old: int, new: int) -> None:
        if (old ^ new) & F.ROM_ADDR_MASK and new & F.ROM_ENABLE and self._decode_on(False):
            self._reject(f"expansion ROM BAR moved to {new:#010x} with the ROM and memory decode enabled")

    def _pm_write(self, old: int, new: int) -> None:
        state_old, state_new = F.PmControl.power_state.get(old), F.PmControl.power_state.get(new)
        if state_new in (1, 2):
            self._reject(f"PMCSR power state D{state_new}: the function supports only D0 and D3hot (PMC D1-/D2-)")
        if state_old == 3 and state_new == 0:
            self._quiet_until = self.gpu.clock.now() + F.PM_D3HOT_TO_D0_DELAY_NS
            self._quiet_why = "the function needs 10 ms after D3hot -> D0 (PCI PM 1.2 table 5-6)"
            self.gpu.log.info("pci", "D3hot -> D0")
        elif state_new == 3 and state_old == 0:
            self.gpu.log.info("pci", "D0 -> D3hot")

    def _msi_write(self, old: int, new: int) -> None:
        ctrl = new >> 16
        if not F.MsiControl.enable.is_set(ctrl):
            return
        if self.image[OFF_MSI] != F.CapId.MSI:
            return  # hidden MSI capability on compute parts: not wired to anything
        mmc, mme = F.MsiControl.multiple_capable.get(ctrl), F.MsiControl.multiple_enable.get(ctrl)
        if mme > mmc:
            self._reject(f"MSI Multiple Message Enable {1 << mme} vectors > Multiple Message Capable {1 << mmc}")
        if F.MsixControl.enable.is_set(self._u16(OFF_MSIX + F.MSIX_FLAGS)):
            self._reject("MSI enabled while MSI-X is enabled (PCI 3.0 6.8.2: undefined)")

    def _msix_write(self, old: int, new: int) -> None:
        ctrl = new >> 16
        if F.MsixControl.enable.is_set(ctrl) and F.MsiControl.enable.is_set(self._u16(OFF_MSI + F.MSI_FLAGS)):
            self._reject("MSI-X enabled while MSI is enabled (PCI 3.0 6.8.2: undefined)")

    def _devctl_write(self, old: int, new: int) -> None:
        ctl = new & 0xFFFF
        if F.DevCtl.bcr_flr.is_set(ctl):
            self._flr()
            raise _Done()

    def _lnkctl2_write(self, old: int, new: int) -> None:
        target = F.LnkCtl2.target_speed.get(new & 0xFFFF)
        if not 1 <= target <= self.profile.link_speed:
            self._reject(f"Link Control 2 target speed {target}: the link supports speeds 1-{self.profile.link_speed}")

    def _rebar_write(self, old: int, new: int) -> None:
        code = F.RebarControl.size.get(new)
        size = MiB << code
        sizes = F.RebarCapability.sizes.get(self._u32(OFF_REBAR + F.REBAR_CAP + 8))
        if not sizes >> code & 1:
            ok = [f"{(MiB << n) // MiB} MiB" for n in range(28) if sizes >> n & 1]
            self._reject(f"Resizable BAR: BAR1 size {size // MiB} MiB is not supported ({', '.join(ok)})")
        if code != F.RebarControl.size.get(old):
            if self._decode_on(False):
                self._reject("Resizable BAR: BAR1 resized while memory decode is enabled")
            mask = _bar_mask(size)
            self.wmask[F.BAR0 + 4:F.BAR0 + 8] = (mask & 0xFFFFFFF0).to_bytes(4, "little")
            self.wmask[F.BAR0 + 8:F.BAR0 + 12] = (mask >> 32).to_bytes(4, "little")
            lo = self._u32(F.BAR0 + 4) & (mask | 0xF) & 0xFFFFFFFF
            self.image[F.BAR0 + 4:F.BAR0 + 8] = lo.to_bytes(4, "little")
            self.image[F.BAR0 + 8:F.BAR0 + 12] = (self._u32(F.BAR0 + 8) & (mask >> 32)).to_bytes(4, "little")
            self.gpu.log.info("pci", f"BAR1 resized to {size // MiB} MiB")

    def _sriov_ctrl_post(self, old: int, new: int) -> None:
        was, now = F.SriovControl.vfe.is_set(old & 0xFFFF), F.SriovControl.vfe.is_set(new & 0xFFFF)
        if now and not was:
            t = self.gpu.clock.now()
            self.vfs = {i: SimVf(self, i, t) for i in range(self.num_vfs)}
            self.gpu.log.info("pci", f"SR-IOV: {self.num_vfs} VFs enabled")
        elif was and not now:
            self.vfs.clear()
            self.gpu.log.info("pci", "SR-IOV: VFs disabled")

    def _sriov_numvf_write(self, old: int, new: int) -> None:
        n = new & 0xFFFF
        if n == old & 0xFFFF:
            return
        if F.SriovControl.vfe.is_set(self._u16(OFF_SRIOV + F.SRIOV_CTRL)):
            self._reject(f"SR-IOV NumVFs changed to {n} while VF Enable is set (SR-IOV 1.1 3.3.10)")
        if n > TOTAL_VFS:
            self._reject(f"SR-IOV NumVFs {n} > TotalVFs {TOTAL_VFS}")

    def _sriov_pgsize_write(self, old: int, new: int) -> None:
        if new != old and (new & (new - 1) or not new):
            self._reject(f"SR-IOV System Page Size {new:#x}: exactly one supported page size bit must be set")
        if new != old and F.SriovControl.vfe.is_set(self._u16(OFF_SRIOV + F.SRIOV_CTRL)):
            self._reject("SR-IOV System Page Size changed while VF Enable is set")

    def _flr(self) -> None:
        self.gpu.log.info("pci", "function level reset")
        self._load(assigned=False)
        self._quiet_until = self.gpu.clock.now() + F.PCIE_FLR_DELAY_NS
        self._quiet_why = "the function is in Function Level Reset for 100 ms (PCIe 6.6.2)"

    # -- MSI-X table in BAR0 ----------------------------------------------------------------------------

    def _msix_on(self) -> tuple[bool, bool]:
        r = self._route or self._routing()
        return r.msix, r.function_mask

    def _routing(self) -> _Route:
        """Decode what signal() needs from config space (cached in ``_route`` until the next config write)."""
        with self.gpu.clock.lock:
            ctrl = self._u16(OFF_MSIX + F.MSIX_FLAGS)
            msix, fmask = F.MsixControl.enable.is_set(ctrl), F.MsixControl.function_mask.is_set(ctrl)
            mctl = self._u16(OFF_MSI + F.MSI_FLAGS)
            msi = not msix and self.image[OFF_MSI] == F.CapId.MSI and F.MsiControl.enable.is_set(mctl)
            cmd = self._u16(F.COMMAND)
            r = _Route("msi-x" if msix else "msi" if msi else "intx", msix, fmask,
                       F.Command.master.is_set(cmd), F.Command.intx_disable.is_set(cmd),
                       1 << F.MsiControl.multiple_enable.get(mctl),
                       self._u32(OFF_MSI + F.MSI_ADDRESS_LO) | self._u32(OFF_MSI + F.MSI_ADDRESS_HI) << 32,
                       self._u16(OFF_MSI + F.MSI_DATA_64))
            self._route = r
            return r

    def _table_read(self, rel: int) -> int:
        v = self.vectors[rel // F.MSIX_ENTRY_SIZE]
        field = rel % F.MSIX_ENTRY_SIZE
        return {F.MSIX_ENTRY_ADDR_LO: v.address & 0xFFFFFFFF, F.MSIX_ENTRY_ADDR_HI: v.address >> 32,
                F.MSIX_ENTRY_DATA: v.data, F.MSIX_ENTRY_VECTOR_CTRL: int(v.masked)}[field]

    def _table_write(self, rel: int, value: int) -> None:
        i, field = divmod(rel, F.MSIX_ENTRY_SIZE)
        v = self.vectors[i]
        enabled, _ = self._msix_on()
        if field != F.MSIX_ENTRY_VECTOR_CTRL and enabled and not v.masked:
            self.refuse(f"MSI-X vector {i}: message {'address' if field < 8 else 'data'} changed to {value:#x} while "
                        f"the vector is unmasked (PCI 3.0 6.8.2.9: undefined)")
            return
        if field == F.MSIX_ENTRY_ADDR_LO:
            if value & 3:
                self.refuse(f"MSI-X vector {i}: message address {value:#x} is not dword aligned")
                return
            v.address = (v.address & ~0xFFFFFFFF) | value
        elif field == F.MSIX_ENTRY_ADDR_HI:
            v.address = (v.address & 0xFFFFFFFF) | value << 32
        elif field == F.MSIX_ENTRY_DATA:
            v.data = value
        else:
            was = v.masked
            v.masked = bool(value & F.MSIX_ENTRY_CTRL_MASKBIT)
            if was and not v.masked:
                self._deliver_pending()

    def _pba_read(self, rel: int) -> int:
        if rel:
            return 0
        return sum(1 << i for i, v in enumerate(self.vectors) if v.pending)

    def _pba_write(self, rel: int, value: int) -> None:
        self.refuse(f"write of {value:#x} to the MSI-X PBA (read-only)")

    # -- interrupts ------------------------------------------------------------------------------------

    def on_message(self, fn: Callable[[int, int], None]) -> Callable[[], None]:
        """Call ``fn(address, data)`` for every message sent; returns an unsubscribe."""
        with self.gpu.clock.lock:
            self._listeners = (*self._listeners, fn)

        def unsubscribe() -> None:
            with self.gpu.clock.lock:
                listeners = list(self._listeners)
                listeners.remove(fn)
                self._listeners = tuple(listeners)
        return unsubscribe

    def _send(self, address: int, data: int, kind: str, vector: int, note: str = "") -> bool:
        """Write the message of ``kind`` ("MSI" or "MSI-X") ``vector`` (the log names it; ``note`` after it)."""
        if not (self._route or self._routing()).master:
            self.gpu.log.error("pci", f"{kind} vector {vector}{note}: bus mastering is disabled (COMMAND bit 2): the "
                                      f"message is not sent")
            return False
        self.messages.append((address, data))
        self.gpu.log.debug("pci", "%s vector %d%s: wrote %#x to %#x", kind, vector, note, data, address)
        for fn in self._listeners:
            fn(address, data)
        return True

    def _deliver_pending(self) -> None:
        enabled, fmask = self._msix_on()
        if not enabled or fmask:
            return
        for i, v in enumerate(self.vectors):
            if v.pending and not v.masked:
                v.pending = False
                self._send(v.address, v.data, "MSI-X", i, " (pending)")

    def interrupt_mode(self) -> str:
        """How :meth:`signal` delivers now: ``"msi-x"``, ``"msi"`` or ``"intx"``."""
        return (self._route or self._routing()).mode

    def signal(self, vector: int = 0) -> bool:
        """The GPU raises interrupt ``vector``; returns True when a message was sent now.

        MSI-X: masked (entry or function) latches the pending bit. MSI: vector must be granted.
        Neither enabled: INTx is asserted unless disabled.
        """
        lock = self.gpu.clock.lock
        lock.acquire()  # not ``with``: once per interrupt the GPU raises
        try:
            r = self._route or self._routing()
            if r.msix:
                if not 0 <= vector < MSIX_VECTORS:
                    raise SimViolation(f"MSI-X vector {vector} outside the {MSIX_VECTORS}-entry table")
                v = self.vectors[vector]
                if r.function_mask or v.masked:
                    v.pending = True
                    return False
                return self._send(v.address, v.data, "MSI-X", vector)
            if r.mode == "msi":
                if vector >= r.msi_granted:
                    self.gpu.log.error("pci", f"MSI vector {vector} raised but only {r.msi_granted} granted")
                    return False
                return self._send(r.msi_address, r.msi_data | vector, "MSI", vector)
            if not r.intx_disable:
                self.intx_asserted = True
                self.gpu.log.debug("pci", "INTx asserted")
            return False
        finally:
            lock.release()


@dataclass(frozen=True, slots=True)
class _Route:
    """How the function signals an interrupt, decoded from its config space (a sim choice: decoded once per config
    change, not per message; MSI-X entries' own mask bits and PBA stay live in ``vectors``)."""

    mode: str  #: "msi-x", "msi" or "intx"
    msix: bool  #: MSI-X Enable
    function_mask: bool  #: MSI-X Function Mask
    master: bool  #: COMMAND Bus Master Enable
    intx_disable: bool  #: COMMAND Interrupt Disable
    msi_granted: int  #: MSI vectors granted (Multiple Message Enable)
    msi_address: int
    msi_data: int


class _Done(Exception):
    """A hook consumed the write (refused in lenient mode, or it reset the function)."""


def attach(gpu: SimGpu) -> SimPciFunction:
    return SimPciFunction(gpu)
