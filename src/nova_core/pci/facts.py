"""nova_core.pci.facts: PCI configuration-space facts: offsets, capability ids and names, register layouts.

Sources: PCI Local Bus Specification 3.0 (type 0 header, MSI, MSI-X, power management), PCI Express
Base Specification 5.0/6.0 chapter 7 (PCI Express capability, extended capabilities: AER 7.8.4, ACS
7.7.8, Resizable BAR 7.8.6, ARI 7.8.8, Secondary PCIe 7.7.3, DVSEC 7.9.6, VSEC 7.9.5), the Single Root
I/O Virtualization and Sharing Specification 1.1 (SR-IOV capability 3.3), and the same numbers as
Linux ``include/uapi/linux/pci_regs.h`` and pciutils ``lib/header.h`` (the names match ``lspci``'s).

This is a fact module: logic (:mod:`.config`, :mod:`.caps`) and the simulated GPU import names from it;
nothing here computes. Register layouts are :class:`~nova_core.regs.core.Bitfield` s (8, 16 or 32 bits)
so that encode/decode/describe work as for MMIO registers.
"""

from __future__ import annotations

import enum

from ..regs.core import RO, W1C, Bitfield, Field

NVIDIA_VENDOR_ID = 0x10DE
INVALID_ID = 0xFFFF  #: vendor id read from an absent function (and from a VF's own vendor register)

# -- sizes of the three config-space frames --------------------------------------------------------------

HEADER_SIZE = 0x40  #: type 0 header; all an unprivileged read of sysfs ``config`` returns
LEGACY_SIZE = 0x100  #: the PCI-compatible space (CF8/CFC access; capabilities live in 0x40-0xFF)
EXTENDED_SIZE = 0x1000  #: PCI Express extended space (ECAM); extended capabilities start at 0x100
EXT_CAP_START = 0x100
MAX_STD_CAPS = (LEGACY_SIZE - HEADER_SIZE) // 4  #: 48: a list longer than this must loop
MAX_EXT_CAPS = (EXTENDED_SIZE - EXT_CAP_START) // 4  #: 960

# -- type 0 header offsets -----------------------------------------------------------------------------

VENDOR_ID = 0x00
DEVICE_ID = 0x02
COMMAND = 0x04
STATUS = 0x06
REVISION_ID = 0x08
CLASS_PROG_IF = 0x09
CLASS_SUBCLASS = 0x0A
CLASS_BASE = 0x0B
CACHE_LINE_SIZE = 0x0C
LATENCY_TIMER = 0x0D
HEADER_TYPE = 0x0E
BIST = 0x0F
BAR0 = 0x10  #: six 32-bit BARs at 0x10..0x24 (a 64-bit BAR takes two)
NUM_BARS = 6
CARDBUS_CIS = 0x28
SUBSYSTEM_VENDOR_ID = 0x2C
SUBSYSTEM_ID = 0x2E
ROM_ADDRESS = 0x30
CAPABILITY_LIST = 0x34
INTERRUPT_LINE = 0x3C
INTERRUPT_PIN = 0x3D
MIN_GNT = 0x3E
MAX_LAT = 0x3F

HEADER_TYPE_LAYOUT_MASK = 0x7F  #: 0 = endpoint (type 0), 1 = PCI bridge, 2 = CardBus bridge
HEADER_TYPE_MULTIFUNCTION = 0x80


class Command(Bitfield, width=16):
    """Command register (0x04)."""

    io = Field(0, doc="I/O space decode enable")
    memory = Field(1, doc="memory space decode enable")
    master = Field(2, doc="bus master enable (the function may issue DMA and MSI writes)")
    special = Field(3, doc="special cycles (legacy PCI)")
    invalidate = Field(4, doc="memory write and invalidate (legacy PCI)")
    vga_palette = Field(5, doc="VGA palette snoop (legacy PCI)")
    parity = Field(6, doc="parity error response")
    wait = Field(7, doc="stepping (legacy PCI)")
    serr = Field(8, doc="SERR# enable")
    fast_back = Field(9, doc="fast back-to-back (legacy PCI)")
    intx_disable = Field(10, doc="INTx emulation disable")


class Status(Bitfield, width=16):
    """Status register (0x06)."""

    imm_readiness = Field(0, access=RO, doc="immediate readiness")
    interrupt = Field(3, access=RO, doc="INTx pending")
    cap_list = Field(4, access=RO, doc="a capability list is present at 0x34")
    mhz66 = Field(5, access=RO)
    fast_back = Field(7, access=RO)
    parity = Field(8, access=W1C, doc="master data parity error")
    devsel = Field(10, 9, access=RO)
    sig_target_abort = Field(11, access=W1C)
    rec_target_abort = Field(12, access=W1C)
    rec_master_abort = Field(13, access=W1C)
    sig_system_error = Field(14, access=W1C)
    detected_parity = Field(15, access=W1C)


# BAR low bits
BAR_SPACE_IO = 0x1  #: bit 0: 1 = I/O space
BAR_MEM_TYPE_MASK = 0x6  #: bits 2:1: 00 = 32-bit, 10 = 64-bit
BAR_MEM_TYPE_64 = 0x4
BAR_MEM_PREFETCH = 0x8
BAR_MEM_ADDR_MASK = ~0xF & 0xFFFFFFFF
BAR_IO_ADDR_MASK = ~0x3 & 0xFFFFFFFF
ROM_ENABLE = 0x1
ROM_ADDR_MASK = ~0x7FF & 0xFFFFFFFF

# -- class codes (base class, subclass) ------------------------------------------------------------------

CLASS_DISPLAY = 0x03
SUBCLASS_VGA = 0x00
SUBCLASS_XGA = 0x01
SUBCLASS_3D = 0x02
SUBCLASS_DISPLAY_OTHER = 0x80

BASE_CLASS_NAMES: dict[int, str] = {
    0x00: "Unclassified device", 0x01: "Mass storage controller", 0x02: "Network controller",
    0x03: "Display controller", 0x04: "Multimedia controller", 0x05: "Memory controller",
    0x06: "Bridge", 0x07: "Communication controller", 0x08: "Generic system peripheral",
    0x09: "Input device controller", 0x0A: "Docking station", 0x0B: "Processor",
    0x0C: "Serial bus controller", 0x0D: "Wireless controller", 0x0E: "Intelligent controller",
    0x0F: "Satellite communications controller", 0x10: "Encryption controller",
    0x11: "Signal processing controller", 0x12: "Processing accelerators",
    0x13: "Non-Essential Instrumentation", 0x40: "Coprocessor", 0xFF: "Unassigned class",
}

#: (base, subclass) -> lspci's name, for the classes this project meets
CLASS_NAMES: dict[tuple[int, int], str] = {
    (0x03, 0x00): "VGA compatible controller", (0x03, 0x01): "XGA compatible controller",
    (0x03, 0x02): "3D controller", (0x03, 0x80): "Display controller",
    (0x04, 0x03): "Audio device", (0x06, 0x00): "Host bridge", (0x06, 0x01): "ISA bridge",
    (0x06, 0x04): "PCI bridge", (0x02, 0x00): "Ethernet controller", (0x01, 0x08): "Non-Volatile memory controller",
    (0x01, 0x00): "SCSI storage controller", (0x0C, 0x03): "USB controller",
}


def class_name(base: int, sub: int) -> str:
    """lspci's name for a class code (the base-class name when the subclass is not listed)."""
    return CLASS_NAMES.get((base, sub)) or BASE_CLASS_NAMES.get(base, f"Class {base:02x}{sub:02x}")


# -- standard capability ids (PCI 3.0 appendix H; pci_regs.h PCI_CAP_ID_*) ---------------------------------


class CapId(enum.IntEnum):
    NULL = 0x00
    PM = 0x01
    AGP = 0x02
    VPD = 0x03
    SLOTID = 0x04
    MSI = 0x05
    CHSWP = 0x06
    PCIX = 0x07
    HT = 0x08
    VNDR = 0x09
    DBG = 0x0A
    CCRC = 0x0B
    SHPC = 0x0C
    SSVID = 0x0D
    AGP3 = 0x0E
    SECDEV = 0x0F
    EXP = 0x10
    MSIX = 0x11
    SATA = 0x12
    AF = 0x13
    EA = 0x14
    FPB = 0x15


#: lspci's wording (pciutils ``ls-caps.c``) so that ``nova pci`` reads like ``lspci -vvv``
CAP_NAMES: dict[int, str] = {
    CapId.NULL: "Null", CapId.PM: "Power Management", CapId.AGP: "AGP", CapId.VPD: "Vital Product Data",
    CapId.SLOTID: "Slot ID", CapId.MSI: "MSI", CapId.CHSWP: "CompactPCI hot-swap", CapId.PCIX: "PCI-X",
    CapId.HT: "HyperTransport", CapId.VNDR: "Vendor Specific Information", CapId.DBG: "Debug port",
    CapId.CCRC: "CompactPCI central resource control", CapId.SHPC: "Hot-plug capable",
    CapId.SSVID: "Subsystem", CapId.AGP3: "AGP3", CapId.SECDEV: "Secure device",
    CapId.EXP: "Express", CapId.MSIX: "MSI-X", CapId.SATA: "SATA HBA", CapId.AF: "PCI Advanced Features",
    CapId.EA: "Enhanced Allocation", CapId.FPB: "Flattening Portal Bridge",
}

CAP_ID = 0x0  #: byte offsets inside every standard capability
CAP_NEXT = 0x1


# -- extended capability ids (PCIe 6.0 7.6; pci_regs.h PCI_EXT_CAP_ID_*) -----------------------------------


class ExtCapId(enum.IntEnum):
    ERR = 0x0001
    VC = 0x0002
    DSN = 0x0003
    PWR = 0x0004
    RCLD = 0x0005
    RCILC = 0x0006
    RCEC = 0x0007
    MFVC = 0x0008
    VC9 = 0x0009
    RCRB = 0x000A
    VNDR = 0x000B
    CAC = 0x000C
    ACS = 0x000D
    ARI = 0x000E
    ATS = 0x000F
    SRIOV = 0x0010
    MRIOV = 0x0011
    MCAST = 0x0012
    PRI = 0x0013
    AMD_XXX = 0x0014
    REBAR = 0x0015
    DPA = 0x0016
    TPH = 0x0017
    LTR = 0x0018
    SECPCI = 0x0019
    PMUX = 0x001A
    PASID = 0x001B
    LNR = 0x001C
    DPC = 0x001D
    L1SS = 0x001E
    PTM = 0x001F
    MPCIE = 0x0020
    FRS = 0x0021
    RTR = 0x0022
    DVSEC = 0x0023
    VF_REBAR = 0x0024
    DLF = 0x0025
    PL_16GT = 0x0026
    LMR = 0x0027
    HIER_ID = 0x0028
    NPEM = 0x0029
    PL_32GT = 0x002A
    ALT_PROT = 0x002B
    SFI = 0x002C
    SHADOW = 0x002D
    DOE = 0x002E
    DEV3 = 0x002F
    IDE = 0x0030
    PL_64GT = 0x0031
    FLIT_LOG = 0x0032
    FLIT_PERF = 0x0033
    FLIT_ERR = 0x0034


EXT_CAP_NAMES: dict[int, str] = {
    ExtCapId.ERR: "Advanced Error Reporting", ExtCapId.VC: "Virtual Channel",
    ExtCapId.DSN: "Device Serial Number", ExtCapId.PWR: "Power Budgeting",
    ExtCapId.RCLD: "Root Complex Link", ExtCapId.RCILC: "Root Complex Internal Link Control",
    ExtCapId.RCEC: "Root Complex Event Collector", ExtCapId.MFVC: "Multi-Function Virtual Channel",
    ExtCapId.VC9: "Virtual Channel", ExtCapId.RCRB: "Root Bridge Control Block",
    ExtCapId.VNDR: "Vendor Specific Information", ExtCapId.CAC: "Config Access Correlation",
    ExtCapId.ACS: "Access Control Services", ExtCapId.ARI: "Alternative Routing-ID Interpretation (ARI)",
    ExtCapId.ATS: "Address Translation Service (ATS)",
    ExtCapId.SRIOV: "Single Root I/O Virtualization (SR-IOV)",
    ExtCapId.MRIOV: "Multi-Root I/O Virtualization (MR-IOV)", ExtCapId.MCAST: "Multicast",
    ExtCapId.PRI: "Page Request Interface (PRI)", ExtCapId.AMD_XXX: "Reserved for AMD",
    ExtCapId.REBAR: "Physical Resizable BAR", ExtCapId.DPA: "Dynamic Power Allocation",
    ExtCapId.TPH: "Transaction Processing Hints", ExtCapId.LTR: "Latency Tolerance Reporting",
    ExtCapId.SECPCI: "Secondary PCI Express", ExtCapId.PMUX: "Protocol Multiplexing",
    ExtCapId.PASID: "Process Address Space ID (PASID)", ExtCapId.LNR: "LN Requester",
    ExtCapId.DPC: "Downstream Port Containment", ExtCapId.L1SS: "L1 PM Substates",
    ExtCapId.PTM: "Precision Time Measurement", ExtCapId.MPCIE: "PCI Express over M_PHY",
    ExtCapId.FRS: "FRS Queueing", ExtCapId.RTR: "Readiness Time Reporting",
    ExtCapId.DVSEC: "Designated Vendor-Specific", ExtCapId.VF_REBAR: "VF Resizable BAR",
    ExtCapId.DLF: "Data Link Feature", ExtCapId.PL_16GT: "Physical Layer 16.0 GT/s",
    ExtCapId.LMR: "Lane Margining at the Receiver", ExtCapId.HIER_ID: "Hierarchy ID",
    ExtCapId.NPEM: "Native PCIe Enclosure Management", ExtCapId.PL_32GT: "Physical Layer 32.0 GT/s",
    ExtCapId.ALT_PROT: "Alternate Protocol", ExtCapId.SFI: "System Firmware Intermediary",
    ExtCapId.SHADOW: "Shadow Functions", ExtCapId.DOE: "Data Object Exchange",
    ExtCapId.DEV3: "Device 3", ExtCapId.IDE: "Integrity & Data Encryption",
    ExtCapId.PL_64GT: "Physical Layer 64.0 GT/s", ExtCapId.FLIT_LOG: "Flit Logging",
    ExtCapId.FLIT_PERF: "Flit Performance Measurement", ExtCapId.FLIT_ERR: "Flit Error Injection",
}


class ExtCapHeader(Bitfield, width=32):
    """Extended capability header (first dword of every extended capability)."""

    id = Field(15, 0, access=RO)
    version = Field(19, 16, access=RO)
    next = Field(31, 20, access=RO, doc="offset of the next capability (low 2 bits reserved), 0 = end")


# -- Power Management (PCI PM 1.2; pci_regs.h PCI_PM_*) -----------------------------------------------------

PM_PMC = 0x2
PM_CTRL = 0x4
PM_SIZEOF = 8


class PmCapabilities(Bitfield, width=16):
    """PMC: what the function supports."""

    version = Field(2, 0, access=RO)
    pme_clock = Field(3, access=RO)
    imm_readiness = Field(4, access=RO, doc="immediate readiness on return to D0")
    dsi = Field(5, access=RO, doc="device-specific initialisation needed")
    aux_current = Field(8, 6, access=RO, doc="3.3Vaux current code")
    d1 = Field(9, access=RO)
    d2 = Field(10, access=RO)
    pme_support = Field(15, 11, access=RO, doc="PME# from D0, D1, D2, D3hot, D3cold (bits 11..15)")


class PmControl(Bitfield, width=16):
    """PMCSR: the power state and PME control."""

    power_state = Field(1, 0, doc="0 = D0, 1 = D1, 2 = D2, 3 = D3hot")
    no_soft_reset = Field(3, access=RO, doc="D3hot -> D0 keeps the configuration")
    pme_enable = Field(8)
    data_select = Field(12, 9)
    data_scale = Field(14, 13, access=RO)
    pme_status = Field(15, access=W1C)


PM_AUX_CURRENT_MA = (0, 55, 100, 160, 220, 270, 320, 375)  #: PMC aux_current code -> mA
PM_STATES = ("D0", "D1", "D2", "D3hot")
PM_PME_STATES = ("D0", "D1", "D2", "D3hot", "D3cold")
PM_D3HOT_TO_D0_DELAY_NS = 10_000_000  #: PCI PM 1.2 table 5-6: 10 ms recovery after D3hot -> D0

# -- MSI (PCI 3.0 6.8.1) -------------------------------------------------------------------------------

MSI_FLAGS = 0x2
MSI_ADDRESS_LO = 0x4
MSI_ADDRESS_HI = 0x8  #: 64-bit capable only
MSI_DATA_32 = 0x8
MSI_DATA_64 = 0xC
MSI_MASK_32 = 0xC  #: per-vector masking only
MSI_MASK_64 = 0x10
MSI_PENDING_32 = 0x10
MSI_PENDING_64 = 0x14


class MsiControl(Bitfield, width=16):
    """MSI Message Control."""

    enable = Field(0)
    multiple_capable = Field(3, 1, access=RO, doc="log2 of the vectors the function can use")
    multiple_enable = Field(6, 4, doc="log2 of the vectors software granted")
    addr64 = Field(7, access=RO, doc="64-bit message address")
    per_vector_mask = Field(8, access=RO, doc="mask and pending registers present")
    ext_data_capable = Field(9, access=RO)
    ext_data_enable = Field(10)


MSI_MAX_VECTORS = 32


def msi_sizeof(addr64: bool, per_vector_mask: bool) -> int:
    """Bytes the MSI capability spans (10, 14, 20 or 24)."""
    return (0xE if addr64 else 0xA) + (0xA if per_vector_mask else 0)


# -- MSI-X (PCI 3.0 6.8.2) -----------------------------------------------------------------------------

MSIX_FLAGS = 0x2
MSIX_TABLE = 0x4
MSIX_PBA = 0x8
MSIX_SIZEOF = 12


class MsixControl(Bitfield, width=16):
    """MSI-X Message Control."""

    table_size = Field(10, 0, access=RO, doc="number of table entries minus one")
    function_mask = Field(14, doc="mask every vector of the function")
    enable = Field(15)


class MsixLocation(Bitfield, width=32):
    """MSI-X Table Offset/BIR and PBA Offset/BIR."""

    bir = Field(2, 0, access=RO, doc="BAR index (0-5) holding the structure")
    offset = Field(31, 3, access=RO, doc="offset inside that BAR, in 8-byte units")


MSIX_ENTRY_SIZE = 16  #: one table entry: address lo, address hi, data, vector control
MSIX_ENTRY_ADDR_LO = 0x0
MSIX_ENTRY_ADDR_HI = 0x4
MSIX_ENTRY_DATA = 0x8
MSIX_ENTRY_VECTOR_CTRL = 0xC
MSIX_ENTRY_CTRL_MASKBIT = 0x1
MSIX_MAX_VECTORS = 2048

# -- Vendor-specific capability (PCI 3.0 6.7) ---------------------------------------------------------------

VNDR_LENGTH = 0x2  #: byte: length of the capability, header included

# -- PCI Express capability (PCIe 6.0 7.5.3) -------------------------------------------------------------

EXP_FLAGS = 0x02
EXP_DEVCAP = 0x04
EXP_DEVCTL = 0x08
EXP_DEVSTA = 0x0A
EXP_LNKCAP = 0x0C
EXP_LNKCTL = 0x10
EXP_LNKSTA = 0x12
EXP_SLTCAP = 0x14
EXP_SLTCTL = 0x18
EXP_SLTSTA = 0x1A
EXP_RTCTL = 0x1C
EXP_RTCAP = 0x1E
EXP_RTSTA = 0x20
EXP_DEVCAP2 = 0x24
EXP_DEVCTL2 = 0x28
EXP_DEVSTA2 = 0x2A
EXP_LNKCAP2 = 0x2C
EXP_LNKCTL2 = 0x30
EXP_LNKSTA2 = 0x32
EXP_SIZEOF_V1 = 0x14  #: endpoint, capability version 1
EXP_SIZEOF_V2 = 0x3C


class ExpFlags(Bitfield, width=16):
    """PCI Express Capabilities register."""

    version = Field(3, 0, access=RO)
    type = Field(7, 4, access=RO, doc="device/port type")
    slot = Field(8, access=RO)
    irq = Field(13, 9, access=RO, doc="interrupt message number")
    flit_mode = Field(15, access=RO)


class DevicePortType(enum.IntEnum):
    ENDPOINT = 0x0
    LEGACY_ENDPOINT = 0x1
    ROOT_PORT = 0x4
    UPSTREAM = 0x5
    DOWNSTREAM = 0x6
    PCIE_PCI_BRIDGE = 0x7
    PCI_PCIE_BRIDGE = 0x8
    RC_ENDPOINT = 0x9
    RC_EVENT_COLLECTOR = 0xA


#: lspci's wording for the port types
PORT_TYPE_NAMES: dict[int, str] = {
    0x0: "Endpoint", 0x1: "Legacy Endpoint", 0x4: "Root Port", 0x5: "Upstream Port",
    0x6: "Downstream Port", 0x7: "PCI-Express to PCI/PCI-X Bridge", 0x8: "PCI/PCI-X to PCI-Express Bridge",
    0x9: "Root Complex Integrated Endpoint", 0xA: "Root Complex Event Collector",
}


class DevCap(Bitfield, width=32):
    """Device Capabilities."""

    payload = Field(2, 0, access=RO, doc="max payload size supported: 128 << n bytes")
    phantom = Field(4, 3, access=RO)
    ext_tag = Field(5, access=RO)
    l0s = Field(8, 6, access=RO)
    l1 = Field(11, 9, access=RO)
    rber = Field(15, access=RO, doc="role-based error reporting")
    err_cor_subclass = Field(16, access=RO)
    pwr_val = Field(25, 18, access=RO)
    pwr_scl = Field(27, 26, access=RO)
    flr = Field(28, access=RO, doc="function level reset capable")
    tee = Field(30, access=RO)


class DevCtl(Bitfield, width=16):
    """Device Control."""

    cere = Field(0, doc="correctable error reporting enable")
    nfere = Field(1)
    fere = Field(2)
    urre = Field(3)
    relax_en = Field(4)
    payload = Field(7, 5, doc="max payload size: 128 << n bytes")
    ext_tag = Field(8)
    phantom = Field(9)
    aux_pme = Field(10)
    nosnoop_en = Field(11)
    readrq = Field(14, 12, doc="max read request size: 128 << n bytes")
    bcr_flr = Field(15, doc="initiate function level reset (endpoints; reads 0)")


class DevSta(Bitfield, width=16):
    """Device Status."""

    ced = Field(0, access=W1C)
    nfed = Field(1, access=W1C)
    fed = Field(2, access=W1C)
    urd = Field(3, access=W1C)
    auxpd = Field(4, access=RO)
    trpnd = Field(5, access=RO, doc="transactions pending")


class LnkCap(Bitfield, width=32):
    """Link Capabilities."""

    speed = Field(3, 0, access=RO, doc="max link speed: index into the supported-speeds vector")
    width = Field(9, 4, access=RO)
    aspm = Field(11, 10, access=RO)
    l0s_exit = Field(14, 12, access=RO)
    l1_exit = Field(17, 15, access=RO)
    clock_pm = Field(18, access=RO)
    surprise = Field(19, access=RO)
    dll_active = Field(20, access=RO)
    bw_notify = Field(21, access=RO)
    aspm_opt = Field(22, access=RO)
    port = Field(31, 24, access=RO)


class LnkCtl(Bitfield, width=16):
    """Link Control."""

    aspm = Field(1, 0)
    rcb = Field(3)
    disable = Field(4)
    retrain = Field(5)
    common_clock = Field(6)
    ext_synch = Field(7)
    clock_pm = Field(8)
    hw_auto_width_disable = Field(9)
    bw_int = Field(10)
    auto_bw_int = Field(11)


class LnkSta(Bitfield, width=16):
    """Link Status."""

    speed = Field(3, 0, access=RO, doc="current link speed")
    width = Field(9, 4, access=RO, doc="negotiated width")
    training = Field(11, access=RO)
    slot_clock = Field(12, access=RO)
    dll_active = Field(13, access=RO)
    bw_mgmt = Field(14, access=W1C)
    auto_bw = Field(15, access=W1C)


class LnkCap2(Bitfield, width=32):
    """Link Capabilities 2."""

    speeds = Field(7, 1, access=RO, doc="supported link speeds vector: bit 0 = 2.5 GT/s ... bit 6 = 128 GT/s")
    crosslink = Field(8, access=RO)
    retimer = Field(23, access=RO)
    two_retimers = Field(24, access=RO)
    drs = Field(31, access=RO)


class LnkCtl2(Bitfield, width=16):
    """Link Control 2."""

    target_speed = Field(3, 0)
    enter_compliance = Field(4)
    hw_auto_speed_disable = Field(5)
    selectable_deemph = Field(6)
    margin = Field(9, 7)
    mod_compliance = Field(10)
    compliance_sos = Field(11)
    compliance_preset = Field(15, 12)


#: link speed code (LnkCap/LnkSta speed, LnkCtl2 target) -> GT/s (speed n = bit n-1 of the vector)
LINK_SPEEDS_GT: dict[int, float] = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0, 7: 128.0}
PCIE_FLR_DELAY_NS = 100_000_000  #: PCIe 6.0 6.6.2: software waits 100 ms after initiating FLR

# -- AER (PCIe 6.0 7.8.4) ------------------------------------------------------------------------------

ERR_UNCOR_STATUS = 0x04
ERR_UNCOR_MASK = 0x08
ERR_UNCOR_SEVER = 0x0C
ERR_COR_STATUS = 0x10
ERR_COR_MASK = 0x14
ERR_CAP = 0x18
ERR_HEADER_LOG = 0x1C  #: four dwords
ERR_ROOT_COMMAND = 0x2C  #: root ports only
ERR_SIZEOF = 0x2C  #: endpoint without TLP prefix log

#: uncorrectable error bits (Status/Mask/Severity) -> lspci's abbreviation
AER_UNCOR_BITS: dict[int, str] = {
    4: "DLP", 5: "SDES", 12: "TLP", 13: "FCP", 14: "CmpltTO", 15: "CmpltAbrt", 16: "UnxCmplt",
    17: "RxOF", 18: "MalfTLP", 19: "ECRC", 20: "UnsupReq", 21: "ACSViol", 22: "UncorrIntErr",
    23: "BlockedTLP", 24: "AtomicOpBlocked", 25: "TLPBlockedErr", 26: "PoisonTLPBlocked",
}
AER_COR_BITS: dict[int, str] = {
    0: "RxErr", 6: "BadTLP", 7: "BadDLLP", 8: "Rollover", 12: "Timeout", 13: "AdvNonFatalErr",
    14: "CorrIntErr", 15: "HeaderOF",
}


class AerCap(Bitfield, width=32):
    """Advanced Error Capabilities and Control."""

    first_error = Field(4, 0, access=RO)
    ecrc_gen_cap = Field(5, access=RO)
    ecrc_gen_en = Field(6)
    ecrc_chk_cap = Field(7, access=RO)
    ecrc_chk_en = Field(8)
    mult_hdr_cap = Field(9, access=RO)
    mult_hdr_en = Field(10)
    tlp_prefix_present = Field(11, access=RO)


# -- ACS (PCIe 6.0 7.7.8) ------------------------------------------------------------------------------

ACS_CAP = 0x04
ACS_CTRL = 0x06
ACS_EGRESS_BITS = 0x08


class AcsBits(Bitfield, width=16):
    """ACS Capability (bits 7:0 and the egress vector size) and ACS Control (same bit positions)."""

    sv = Field(0, doc="source validation")
    tb = Field(1, doc="translation blocking")
    rr = Field(2, doc="P2P request redirect")
    cr = Field(3, doc="P2P completion redirect")
    uf = Field(4, doc="upstream forwarding")
    ec = Field(5, doc="P2P egress control")
    dt = Field(6, doc="direct translated P2P")
    eec = Field(7, doc="enhanced capability")
    egress_vector_size = Field(15, 8, doc="capability register only")


# -- SR-IOV (SR-IOV 1.1 3.3; pci_regs.h PCI_SRIOV_*) ------------------------------------------------------

SRIOV_CAP = 0x04
SRIOV_CTRL = 0x08
SRIOV_STATUS = 0x0A
SRIOV_INITIAL_VF = 0x0C
SRIOV_TOTAL_VF = 0x0E
SRIOV_NUM_VF = 0x10
SRIOV_FUNC_LINK = 0x12
SRIOV_VF_OFFSET = 0x14
SRIOV_VF_STRIDE = 0x16
SRIOV_VF_DID = 0x1A
SRIOV_SUP_PGSIZE = 0x1C
SRIOV_SYS_PGSIZE = 0x20
SRIOV_BAR = 0x24  #: six VF BARs, same encoding as the header's BARs
SRIOV_VFM = 0x3C
SRIOV_SIZEOF = 0x40
SRIOV_VF_ENABLE_DELAY_NS = 100_000_000  #: SR-IOV 1.1 3.3.3.1: 100 ms after VF Enable before VF config access


class SriovCapabilities(Bitfield, width=32):
    """SR-IOV Capabilities."""

    vf_migration = Field(0, access=RO)
    ari_preserved = Field(1, access=RO, doc="ARI capable hierarchy preserved")
    vf_10bit_tag = Field(2, access=RO)
    vfm_irq = Field(31, 21, access=RO, doc="VF migration interrupt message number")


class SriovControl(Bitfield, width=16):
    """SR-IOV Control."""

    vfe = Field(0, doc="VF Enable")
    vfm_enable = Field(1, doc="VF migration enable")
    vfm_irq_enable = Field(2)
    mse = Field(3, doc="VF memory space enable")
    ari = Field(4, doc="ARI capable hierarchy (PF 0 only)")
    vf_10bit_tag = Field(5)


# -- Resizable BAR (PCIe 6.0 7.8.6) --------------------------------------------------------------------

REBAR_CAP = 0x04  #: entry n: capability at 0x04 + 8n, control at 0x08 + 8n
REBAR_CTRL = 0x08
REBAR_ENTRY_STRIDE = 8
REBAR_MAX_ENTRIES = 6


class RebarCapability(Bitfield, width=32):
    """Resizable BAR Capability: bit n+4 set = size 1 MiB << n supported (n = 0 .. 27)."""

    sizes = Field(31, 4, access=RO)


class RebarControl(Bitfield, width=32):
    """Resizable BAR Control."""

    bar = Field(2, 0, access=RO, doc="BAR index this entry resizes")
    nbars = Field(7, 5, access=RO, doc="number of resizable BARs (entry 0 only)")
    size = Field(13, 8, doc="current size: 1 MiB << n")
    sizes_ext = Field(31, 16, access=RO, doc="supported sizes 256 TiB and up (bit n = 1 MiB << (n + 28))")


REBAR_MIN_SIZE = 1 << 20

# -- ARI (PCIe 6.0 7.8.8) ------------------------------------------------------------------------------

ARI_CAP = 0x04
ARI_CTRL = 0x06


class AriCapability(Bitfield, width=16):
    """ARI Capability."""

    mfvc = Field(0, access=RO)
    acs = Field(1, access=RO)
    next_function = Field(15, 8, access=RO)


class AriControl(Bitfield, width=16):
    """ARI Control."""

    mfvc = Field(0)
    acs = Field(1)
    function_group = Field(6, 4)


# -- Secondary PCI Express (PCIe 6.0 7.7.3) -------------------------------------------------------------

SECPCI_LNKCTL3 = 0x04
SECPCI_LANE_ERR = 0x08
SECPCI_LANE_EQU_CTRL = 0x0C  #: one 16-bit entry per lane

# -- Vendor-specific extended (7.9.5) and Designated Vendor-Specific (7.9.6) --------------------------------

VSEC_HEADER = 0x04
DVSEC_HEADER1 = 0x04
DVSEC_HEADER2 = 0x08


class VsecHeader(Bitfield, width=32):
    """VSEC header / DVSEC header 1 (same layout: id-or-vendor, revision, length)."""

    id = Field(15, 0, access=RO, doc="VSEC ID, or the DVSEC vendor id")
    rev = Field(19, 16, access=RO)
    length = Field(31, 20, access=RO, doc="length of the whole capability in bytes")


class DvsecHeader2(Bitfield, width=16):
    """DVSEC header 2."""

    id = Field(15, 0, access=RO)
