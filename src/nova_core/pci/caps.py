"""nova_core.pci.caps: decoding capabilities: Power Management, MSI, MSI-X, PCI Express, vendor-specific,
and the extended AER, SR-IOV, ACS, Resizable BAR, ARI, Secondary PCIe, VSEC and DVSEC.

:func:`decode` dispatches on ``(extended, id)`` through one table and returns a typed object with
``summary`` (what ``lspci`` prints after the capability's name), ``lines()`` (its indented detail
lines, in lspci's vocabulary) and ``as_json()``. A capability with no decoder, or one whose registers
run past the readable config space, decodes to :class:`Opaque` (header only) and never raises: a
listing shows what is there. Layouts come from :mod:`.facts`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..errors import PciError
from . import facts as F
from .config import BarInfo, Capability, ConfigSpace, decode_bars


class Decoded(Protocol):
    @property
    def summary(self) -> str: ...

    def lines(self) -> list[str]: ...

    def as_json(self) -> dict[str, Any]: ...


def _pm(flag: bool) -> str:
    return "+" if flag else "-"


def _size(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


@dataclass(frozen=True)
class Opaque:
    """A capability listed but not decoded (unknown id, or no decoder here)."""

    cap: Capability

    @property
    def summary(self) -> str:
        return "<?>" if self.cap.id not in (F.CapId.NULL,) else ""

    def lines(self) -> list[str]:
        return []

    def as_json(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class PowerManagement:
    offset: int
    version: int
    pme_clock: bool
    dsi: bool
    d1: bool
    d2: bool
    aux_current_ma: int
    pme_states: tuple[str, ...]
    power_state: str
    no_soft_reset: bool
    pme_enable: bool
    pme_status: bool

    @property
    def summary(self) -> str:
        return f"version {self.version}"

    def lines(self) -> list[str]:
        pme = ",".join(f"{s}{_pm(s in self.pme_states)}" for s in F.PM_PME_STATES)
        return [f"Flags: PMEClk{_pm(self.pme_clock)} DSI{_pm(self.dsi)} D1{_pm(self.d1)} D2{_pm(self.d2)} "
                f"AuxCurrent={self.aux_current_ma}mA PME({pme})",
                f"Status: {self.power_state} NoSoftRst{_pm(self.no_soft_reset)} PME-Enable{_pm(self.pme_enable)} "
                f"PME{_pm(self.pme_status)}"]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Msi:
    """The MSI capability; register offsets are absolute (for :mod:`.msi`)."""

    offset: int
    enabled: bool
    vectors_capable: int
    vectors_enabled: int
    addr64: bool
    per_vector_mask: bool
    address: int
    data: int
    mask: int | None
    pending: int | None

    @property
    def data_offset(self) -> int:
        return self.offset + (F.MSI_DATA_64 if self.addr64 else F.MSI_DATA_32)

    @property
    def mask_offset(self) -> int | None:
        if not self.per_vector_mask:
            return None
        return self.offset + (F.MSI_MASK_64 if self.addr64 else F.MSI_MASK_32)

    @property
    def pending_offset(self) -> int | None:
        if not self.per_vector_mask:
            return None
        return self.offset + (F.MSI_PENDING_64 if self.addr64 else F.MSI_PENDING_32)

    @property
    def summary(self) -> str:
        return (f"Enable{_pm(self.enabled)} Count={self.vectors_enabled}/{self.vectors_capable} "
                f"Maskable{_pm(self.per_vector_mask)} 64bit{_pm(self.addr64)}")

    def lines(self) -> list[str]:
        addr = f"{self.address:016x}" if self.addr64 else f"{self.address:08x}"
        out = [f"Address: {addr}  Data: {self.data:04x}"]
        if self.mask is not None:
            out.append(f"Masking: {self.mask:08x}  Pending: {self.pending or 0:08x}")
        return out

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MsiX:
    offset: int
    enabled: bool
    function_mask: bool
    table_size: int
    table_bir: int
    table_offset: int
    pba_bir: int
    pba_offset: int

    @property
    def summary(self) -> str:
        return f"Enable{_pm(self.enabled)} Count={self.table_size} Masked{_pm(self.function_mask)}"

    def lines(self) -> list[str]:
        return [f"Vector table: BAR={self.table_bir} offset={self.table_offset:08x}",
                f"PBA: BAR={self.pba_bir} offset={self.pba_offset:08x}"]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _speed(code: int) -> str:
    gt = F.LINK_SPEEDS_GT.get(code)
    return f"{gt:g}GT/s" if gt else f"unknown (#{code})"


@dataclass(frozen=True)
class PciExpress:
    offset: int
    version: int
    port_type: int
    irq: int
    devcap: int
    devctl: int
    devsta: int
    lnkcap: int | None
    lnkctl: int | None
    lnksta: int | None
    lnkcap2: int | None
    lnkctl2: int | None

    @property
    def port_type_name(self) -> str:
        return F.PORT_TYPE_NAMES.get(self.port_type, f"Unknown type {self.port_type}")

    @property
    def max_payload(self) -> int:
        return 128 << F.DevCtl.payload.get(self.devctl)

    @property
    def max_read_request(self) -> int:
        return 128 << F.DevCtl.readrq.get(self.devctl)

    @property
    def flr_capable(self) -> bool:
        return F.DevCap.flr.is_set(self.devcap)

    @property
    def link_speed_gt(self) -> float | None:
        return F.LINK_SPEEDS_GT.get(F.LnkSta.speed.get(self.lnksta)) if self.lnksta is not None else None

    @property
    def link_width(self) -> int | None:
        return F.LnkSta.width.get(self.lnksta) if self.lnksta is not None else None

    @property
    def max_link_speed_gt(self) -> float | None:
        return F.LINK_SPEEDS_GT.get(F.LnkCap.speed.get(self.lnkcap)) if self.lnkcap is not None else None

    @property
    def max_link_width(self) -> int | None:
        return F.LnkCap.width.get(self.lnkcap) if self.lnkcap is not None else None

    @property
    def supported_speeds_gt(self) -> list[float]:
        if self.lnkcap2 is None:
            return []
        vec = F.LnkCap2.speeds.get(self.lnkcap2)
        return [F.LINK_SPEEDS_GT[b + 1] for b in range(7) if vec >> b & 1]

    @property
    def summary(self) -> str:
        return f"(v{self.version}) {self.port_type_name}, MSI {self.irq:02x}"

    def lines(self) -> list[str]:
        dc, dl = F.DevCap, F.DevCtl
        out = [f"DevCap:\tMaxPayload {128 << dc.payload.get(self.devcap)} bytes, PhantFunc "
               f"{dc.phantom.get(self.devcap)}", f"\tExtTag{_pm(dc.ext_tag.is_set(self.devcap))} "
               f"RBE{_pm(dc.rber.is_set(self.devcap))} FLReset{_pm(self.flr_capable)}",
               f"DevCtl:\tCorrErr{_pm(dl.cere.is_set(self.devctl))} NonFatalErr{_pm(dl.nfere.is_set(self.devctl))} "
               f"FatalErr{_pm(dl.fere.is_set(self.devctl))} UnsupReq{_pm(dl.urre.is_set(self.devctl))}",
               f"\tRlxdOrd{_pm(dl.relax_en.is_set(self.devctl))} ExtTag{_pm(dl.ext_tag.is_set(self.devctl))} "
               f"NoSnoop{_pm(dl.nosnoop_en.is_set(self.devctl))}",
               f"\tMaxPayload {self.max_payload} bytes, MaxReadReq {self.max_read_request} bytes"]
        if self.lnkcap is not None and self.lnksta is not None:
            cap = self.lnkcap
            out.append(f"LnkCap:\tPort #{F.LnkCap.port.get(cap)}, Speed {_speed(F.LnkCap.speed.get(cap))}, "
                       f"Width x{F.LnkCap.width.get(self.lnkcap)}")
            out.append(f"LnkSta:\tSpeed {_speed(F.LnkSta.speed.get(self.lnksta))}, Width x{self.link_width}")
        if self.lnkcap2 is not None:
            out.append("LnkCap2: Supported Link Speeds: " +
                       (", ".join(f"{s:g}GT/s" for s in self.supported_speeds_gt) or "none"))
        if self.lnkctl2 is not None:
            out.append(f"LnkCtl2: Target Link Speed: {_speed(F.LnkCtl2.target_speed.get(self.lnkctl2))}")
        return out

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(port_type_name=self.port_type_name, max_payload=self.max_payload,
                 max_read_request=self.max_read_request, flr_capable=self.flr_capable,
                 link_speed_gt=self.link_speed_gt, link_width=self.link_width,
                 max_link_speed_gt=self.max_link_speed_gt, max_link_width=self.max_link_width,
                 supported_speeds_gt=self.supported_speeds_gt)
        return d


@dataclass(frozen=True)
class VendorSpecific:
    offset: int
    length: int
    data: bytes  #: the bytes after the 3-byte header, clipped to the readable space

    @property
    def summary(self) -> str:
        return f"Len={self.length:02x} <?>"

    def lines(self) -> list[str]:
        return [f"Data: {self.data.hex(' ')}"] if self.data else []

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "data": self.data.hex()}


def _bits(value: int, names: dict[int, str]) -> str:
    return " ".join(f"{n}{_pm(bool(value >> b & 1))}" for b, n in names.items())


@dataclass(frozen=True)
class Aer:
    offset: int
    uncorrectable_status: int
    uncorrectable_mask: int
    uncorrectable_severity: int
    correctable_status: int
    correctable_mask: int
    capabilities: int
    header_log: tuple[int, int, int, int]

    @property
    def first_error_pointer(self) -> int:
        return F.AerCap.first_error.get(self.capabilities)

    @property
    def uncorrectable_errors(self) -> list[str]:
        return [n for b, n in F.AER_UNCOR_BITS.items() if self.uncorrectable_status >> b & 1]

    @property
    def correctable_errors(self) -> list[str]:
        return [n for b, n in F.AER_COR_BITS.items() if self.correctable_status >> b & 1]

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        return [f"UESta:\t{_bits(self.uncorrectable_status, F.AER_UNCOR_BITS)}",
                f"UEMsk:\t{_bits(self.uncorrectable_mask, F.AER_UNCOR_BITS)}",
                f"UESvrt:\t{_bits(self.uncorrectable_severity, F.AER_UNCOR_BITS)}",
                f"CESta:\t{_bits(self.correctable_status, F.AER_COR_BITS)}",
                f"CEMsk:\t{_bits(self.correctable_mask, F.AER_COR_BITS)}",
                f"AERCap:\tFirst Error Pointer: {self.first_error_pointer:02x}",
                "HeaderLog: " + " ".join(f"{w:08x}" for w in self.header_log)]

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(uncorrectable_errors=self.uncorrectable_errors, correctable_errors=self.correctable_errors)
        return d


@dataclass(frozen=True)
class Sriov:
    """The SR-IOV capability of a physical function."""

    offset: int
    capabilities: int
    control: int
    status: int
    initial_vfs: int
    total_vfs: int
    num_vfs: int
    function_link: int
    vf_offset: int
    vf_stride: int
    vf_device_id: int
    supported_page_sizes: int
    system_page_size: int
    vf_bars: tuple[BarInfo, ...] = field(default=())

    @property
    def vf_enabled(self) -> bool:
        return F.SriovControl.vfe.is_set(self.control)

    @property
    def vf_memory_enabled(self) -> bool:
        return F.SriovControl.mse.is_set(self.control)

    @property
    def ari_hierarchy(self) -> bool:
        return F.SriovControl.ari.is_set(self.control)

    def vf_routing_id(self, pf_routing_id: int, vf: int) -> int:
        """Routing id (bus << 8 | devfn) of VF ``vf`` (0-based): PF + offset + stride * vf (SR-IOV 3.3.10)."""
        if not 0 <= vf < max(self.num_vfs, 1) or vf >= self.total_vfs:
            raise PciError(f"SR-IOV at {self.offset:#x}: VF {vf} does not exist (NumVFs {self.num_vfs}, "
                           f"TotalVFs {self.total_vfs})")
        return (pf_routing_id + self.vf_offset + self.vf_stride * vf) & 0xFFFF

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        c = self.control
        out = [f"IOVCap:\tMigration{_pm(F.SriovCapabilities.vf_migration.is_set(self.capabilities))}, Interrupt "
               f"Message Number: {F.SriovCapabilities.vfm_irq.get(self.capabilities):03x}",
               f"IOVCtl:\tEnable{_pm(self.vf_enabled)} Migration{_pm(F.SriovControl.vfm_enable.is_set(c))} "
               f"Interrupt{_pm(F.SriovControl.vfm_irq_enable.is_set(c))} MSE{_pm(self.vf_memory_enabled)} "
               f"ARIHierarchy{_pm(self.ari_hierarchy)}",
               f"Initial VFs: {self.initial_vfs}, Total VFs: {self.total_vfs}, Number of VFs: {self.num_vfs}, "
               f"Function Dependency Link: {self.function_link:02x}",
               f"VF offset: {self.vf_offset}, stride: {self.vf_stride}, Device ID: {self.vf_device_id:04x}",
               f"Supported Page Size: {self.supported_page_sizes:08x}, System Page Size: {self.system_page_size:08x}"]
        for b in self.vf_bars:
            kind = "I/O ports" if b.is_io else "Memory"
            pref = "" if b.prefetchable else "non-"
            width = "" if b.is_io else f" ({'64' if b.is_64bit else '32'}-bit, {pref}prefetchable)"
            out.append(f"Region {b.index}: {kind} at {b.address:016x}{width}")
        return out

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["vf_bars"] = [b.as_json() for b in self.vf_bars]
        d.update(vf_enabled=self.vf_enabled, vf_memory_enabled=self.vf_memory_enabled,
                 ari_hierarchy=self.ari_hierarchy)
        return d


@dataclass(frozen=True)
class Acs:
    offset: int
    capability: int
    control: int

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        names = {0: "SrcValid", 1: "TransBlk", 2: "ReqRedir", 3: "CmpltRedir", 4: "UpstreamFwd",
                 5: "EgressCtrl", 6: "DirectTrans"}
        return [f"ACSCap:\t{_bits(self.capability, names)}", f"ACSCtl:\t{_bits(self.control, names)}"]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RebarEntry:
    bar: int
    supported: tuple[int, ...]  #: sizes in bytes
    current: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ResizableBar:
    offset: int
    entries: tuple[RebarEntry, ...]

    def entry_offset(self, index: int) -> int:
        """Absolute offset of entry ``index``'s capability register (control is +4)."""
        return self.offset + F.REBAR_CAP + F.REBAR_ENTRY_STRIDE * index

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        return [f"BAR {e.bar}: current size: {_size(e.current)}B, supported: "
                + " ".join(f"{_size(s)}B" for s in e.supported) for e in self.entries]

    def as_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "entries": [e.as_json() for e in self.entries]}


def rebar_sizes(capability: int, control: int) -> tuple[int, ...]:
    """Supported sizes (bytes) from an entry's capability and control registers."""
    low = F.RebarCapability.sizes.get(capability)
    high = F.RebarControl.sizes_ext.get(control)
    return tuple([F.REBAR_MIN_SIZE << n for n in range(28) if low >> n & 1]
                 + [F.REBAR_MIN_SIZE << (n + 28) for n in range(16) if high >> n & 1])


@dataclass(frozen=True)
class Ari:
    offset: int
    capability: int
    control: int

    @property
    def next_function(self) -> int:
        return F.AriCapability.next_function.get(self.capability)

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        return [f"ARICap:\tMFVC{_pm(F.AriCapability.mfvc.is_set(self.capability))} "
                f"ACS{_pm(F.AriCapability.acs.is_set(self.capability))}, Next Function: {self.next_function}",
                f"ARICtl:\tMFVC{_pm(F.AriControl.mfvc.is_set(self.control))} "
                f"ACS{_pm(F.AriControl.acs.is_set(self.control))}, Function Group: "
                f"{F.AriControl.function_group.get(self.control)}"]

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["next_function"] = self.next_function
        return d


@dataclass(frozen=True)
class SecondaryPcie:
    offset: int
    link_control3: int
    lane_error_status: int

    @property
    def summary(self) -> str:
        return ""

    def lines(self) -> list[str]:
        c3 = self.link_control3
        return [f"LnkCtl3: LnkEquIntrruptEn{_pm(bool(c3 & 2))} PerformEqu{_pm(bool(c3 & 1))}",
                f"LaneErrStat: {self.lane_error_status:#x}" if self.lane_error_status else "LaneErrStat: 0"]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VendorExtended:
    """VSEC (id 0x000b) and DVSEC (id 0x0023): who defines it, which structure, how long."""

    offset: int
    designated: bool
    vendor: int | None  #: DVSEC only (a VSEC is qualified by the function's own vendor id)
    id: int
    rev: int
    length: int

    @property
    def summary(self) -> str:
        if self.designated:
            return f"Vendor={self.vendor:04x} ID={self.id:04x} Rev={self.rev} Len={self.length} <?>"
        return f"ID={self.id:04x} Rev={self.rev} Len={self.length:03x} <?>"

    def lines(self) -> list[str]:
        return []

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# -- decoders ---------------------------------------------------------------------------------------------


def _pm_decode(cs: ConfigSpace, c: Capability) -> PowerManagement:
    pmc, ctrl = cs.u16(c.offset + F.PM_PMC), cs.u16(c.offset + F.PM_CTRL)
    P, C = F.PmCapabilities, F.PmControl
    pme = P.pme_support.get(pmc)
    return PowerManagement(c.offset, P.version.get(pmc), P.pme_clock.is_set(pmc), P.dsi.is_set(pmc),
                           P.d1.is_set(pmc), P.d2.is_set(pmc), F.PM_AUX_CURRENT_MA[P.aux_current.get(pmc)],
                           tuple(s for i, s in enumerate(F.PM_PME_STATES) if pme >> i & 1),
                           F.PM_STATES[C.power_state.get(ctrl)], C.no_soft_reset.is_set(ctrl),
                           C.pme_enable.is_set(ctrl), C.pme_status.is_set(ctrl))


def decode_msi(cs: ConfigSpace, offset: int) -> Msi:
    flags = cs.u16(offset + F.MSI_FLAGS)
    M = F.MsiControl
    addr64, pvm = M.addr64.is_set(flags), M.per_vector_mask.is_set(flags)
    address = cs.u32(offset + F.MSI_ADDRESS_LO)
    if addr64:
        address |= cs.u32(offset + F.MSI_ADDRESS_HI) << 32
    data = cs.u16(offset + (F.MSI_DATA_64 if addr64 else F.MSI_DATA_32))
    mask = pending = None
    if pvm:
        mask = cs.u32(offset + (F.MSI_MASK_64 if addr64 else F.MSI_MASK_32))
        pending = cs.u32(offset + (F.MSI_PENDING_64 if addr64 else F.MSI_PENDING_32))
    return Msi(offset, M.enable.is_set(flags), 1 << M.multiple_capable.get(flags), 1 << M.multiple_enable.get(flags),
               addr64, pvm, address, data, mask, pending)


def decode_msix(cs: ConfigSpace, offset: int) -> MsiX:
    flags = cs.u16(offset + F.MSIX_FLAGS)
    table, pba = cs.u32(offset + F.MSIX_TABLE), cs.u32(offset + F.MSIX_PBA)
    L = F.MsixLocation
    return MsiX(offset, F.MsixControl.enable.is_set(flags), F.MsixControl.function_mask.is_set(flags),
                F.MsixControl.table_size.get(flags) + 1, L.bir.get(table), table & ~7, L.bir.get(pba), pba & ~7)


def _exp_decode(cs: ConfigSpace, c: Capability) -> PciExpress:
    o = c.offset
    flags = cs.u16(o + F.EXP_FLAGS)
    version = F.ExpFlags.version.get(flags)
    ptype = F.ExpFlags.type.get(flags)
    has_link = ptype not in (F.DevicePortType.RC_ENDPOINT, F.DevicePortType.RC_EVENT_COLLECTOR)
    v2 = version >= 2 and o + F.EXP_SIZEOF_V2 <= cs.size
    return PciExpress(o, version, ptype, F.ExpFlags.irq.get(flags), cs.u32(o + F.EXP_DEVCAP),
                      cs.u16(o + F.EXP_DEVCTL), cs.u16(o + F.EXP_DEVSTA),
                      cs.u32(o + F.EXP_LNKCAP) if has_link else None, cs.u16(o + F.EXP_LNKCTL) if has_link else None,
                      cs.u16(o + F.EXP_LNKSTA) if has_link else None,
                      cs.u32(o + F.EXP_LNKCAP2) if v2 and has_link else None,
                      cs.u16(o + F.EXP_LNKCTL2) if v2 and has_link else None)


def _vndr_decode(cs: ConfigSpace, c: Capability) -> VendorSpecific:
    length = cs.u8(c.offset + F.VNDR_LENGTH)
    end = min(c.offset + max(length, 3), F.LEGACY_SIZE, cs.size)
    return VendorSpecific(c.offset, length, cs.read(c.offset + 3, max(end - c.offset - 3, 0)))


def _aer_decode(cs: ConfigSpace, c: Capability) -> Aer:
    o = c.offset
    return Aer(o, cs.u32(o + F.ERR_UNCOR_STATUS), cs.u32(o + F.ERR_UNCOR_MASK), cs.u32(o + F.ERR_UNCOR_SEVER),
               cs.u32(o + F.ERR_COR_STATUS), cs.u32(o + F.ERR_COR_MASK), cs.u32(o + F.ERR_CAP),
               (cs.u32(o + F.ERR_HEADER_LOG), cs.u32(o + F.ERR_HEADER_LOG + 4), cs.u32(o + F.ERR_HEADER_LOG + 8),
                cs.u32(o + F.ERR_HEADER_LOG + 12)))


def decode_sriov(cs: ConfigSpace, offset: int, *, vf_bar_sizes: dict[int, int] | None = None) -> Sriov:
    o = offset
    bars = decode_bars(cs.read(o + F.SRIOV_BAR, 24), vf_bar_sizes or {}, who=f"{cs.name} SR-IOV VF BARs")
    return Sriov(o, cs.u32(o + F.SRIOV_CAP), cs.u16(o + F.SRIOV_CTRL), cs.u16(o + F.SRIOV_STATUS),
                 cs.u16(o + F.SRIOV_INITIAL_VF), cs.u16(o + F.SRIOV_TOTAL_VF), cs.u16(o + F.SRIOV_NUM_VF),
                 cs.u8(o + F.SRIOV_FUNC_LINK), cs.u16(o + F.SRIOV_VF_OFFSET), cs.u16(o + F.SRIOV_VF_STRIDE),
                 cs.u16(o + F.SRIOV_VF_DID), cs.u32(o + F.SRIOV_SUP_PGSIZE), cs.u32(o + F.SRIOV_SYS_PGSIZE),
                 tuple(bars))


def _acs_decode(cs: ConfigSpace, c: Capability) -> Acs:
    return Acs(c.offset, cs.u16(c.offset + F.ACS_CAP), cs.u16(c.offset + F.ACS_CTRL))


def decode_rebar(cs: ConfigSpace, offset: int) -> ResizableBar:
    first = cs.u32(offset + F.REBAR_CTRL)
    n = F.RebarControl.nbars.get(first)
    if not 1 <= n <= F.REBAR_MAX_ENTRIES:
        raise PciError(f"{cs.name}: Resizable BAR at {offset:#x} declares {n} BARs (expected 1-6)")
    entries = []
    for i in range(n):
        cap = cs.u32(offset + F.REBAR_CAP + F.REBAR_ENTRY_STRIDE * i)
        ctrl = cs.u32(offset + F.REBAR_CTRL + F.REBAR_ENTRY_STRIDE * i)
        entries.append(RebarEntry(F.RebarControl.bar.get(ctrl), rebar_sizes(cap, ctrl),
                                  F.REBAR_MIN_SIZE << F.RebarControl.size.get(ctrl)))
    return ResizableBar(offset, tuple(entries))


def _ari_decode(cs: ConfigSpace, c: Capability) -> Ari:
    return Ari(c.offset, cs.u16(c.offset + F.ARI_CAP), cs.u16(c.offset + F.ARI_CTRL))


def _secpci_decode(cs: ConfigSpace, c: Capability) -> SecondaryPcie:
    return SecondaryPcie(c.offset, cs.u32(c.offset + F.SECPCI_LNKCTL3), cs.u32(c.offset + F.SECPCI_LANE_ERR))


def _vsec_decode(cs: ConfigSpace, c: Capability) -> VendorExtended:
    h = F.VsecHeader.decode(cs.u32(c.offset + F.VSEC_HEADER))
    return VendorExtended(c.offset, False, None, h["id"], h["rev"], h["length"])


def _dvsec_decode(cs: ConfigSpace, c: Capability) -> VendorExtended:
    h = F.VsecHeader.decode(cs.u32(c.offset + F.DVSEC_HEADER1))
    return VendorExtended(c.offset, True, h["id"], cs.u16(c.offset + F.DVSEC_HEADER2), h["rev"], h["length"])


_DECODERS: dict[tuple[bool, int], Callable[[ConfigSpace, Capability], Decoded]] = {
    (False, F.CapId.PM): _pm_decode,
    (False, F.CapId.MSI): lambda cs, c: decode_msi(cs, c.offset),
    (False, F.CapId.MSIX): lambda cs, c: decode_msix(cs, c.offset),
    (False, F.CapId.EXP): _exp_decode,
    (False, F.CapId.VNDR): _vndr_decode,
    (True, F.ExtCapId.ERR): _aer_decode,
    (True, F.ExtCapId.SRIOV): lambda cs, c: decode_sriov(cs, c.offset),
    (True, F.ExtCapId.ACS): _acs_decode,
    (True, F.ExtCapId.REBAR): lambda cs, c: decode_rebar(cs, c.offset),
    (True, F.ExtCapId.ARI): _ari_decode,
    (True, F.ExtCapId.SECPCI): _secpci_decode,
    (True, F.ExtCapId.VNDR): _vsec_decode,
    (True, F.ExtCapId.DVSEC): _dvsec_decode,
}


def decode(cs: ConfigSpace, cap: Capability) -> Decoded:
    """The decoded form of ``cap``; :class:`Opaque` when there is no decoder or the registers are unreadable."""
    fn = _DECODERS.get((cap.extended, cap.id))
    if fn is None:
        return Opaque(cap)
    try:
        return fn(cs, cap)
    except PciError:
        # registers past the readable space (a truncated dump) or a malformed structure: list it undecoded
        return Opaque(cap)


def decode_strict(cs: ConfigSpace, cap: Capability) -> Decoded:
    """Like :func:`decode` but a malformed or unreadable capability raises :class:`PciError`."""
    fn = _DECODERS.get((cap.extended, cap.id))
    return Opaque(cap) if fn is None else fn(cs, cap)
