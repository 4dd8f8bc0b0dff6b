"""nova_core.pci: PCI configuration space, capabilities, SR-IOV, MSI/MSI-X, and device discovery.

- :mod:`.facts`      offsets, capability ids and names, register layouts (the sim imports these);
- :mod:`.source`     where config bytes come from: sysfs ``config``, a dump, (the sim, VFIO);
- :mod:`.config`     :class:`ConfigSpace`: header, BARs, the two capability lists (bounded walks);
- :mod:`.caps`       decoders: PM, MSI, MSI-X, PCIe, vendor; AER, SR-IOV, ACS, ReBAR, ARI, SecPCIe, (D)VSEC;
- :mod:`.msi`        MSI / MSI-X vector allocation, programming and masking;
- :mod:`.sriov`      enabling VFs through config space or sysfs ``sriov_numvfs``;
- :mod:`.discovery`  functions under /sys/bus/pci/devices (``nova list``);
- :mod:`.lspci`      reading ``lspci`` output (fixtures, and the peer the tests compare with).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .caps import decode
    from .config import BarInfo, Capability, CapabilityWalk, ConfigSpace, Header, probe_bar_sizes
    from .discovery import PciFunction, find_function, list_devices
    from .msi import MsiController, MsiVector, MsixController
    from .source import BytesConfig, ConfigSource, SysfsConfig
    from .sriov import SriovController, SysfsSriov

__getattr__, __dir__ = lazy_exports(__name__, {
    "decode": ".caps",
    "BarInfo": ".config",
    "Capability": ".config",
    "CapabilityWalk": ".config",
    "ConfigSpace": ".config",
    "Header": ".config",
    "probe_bar_sizes": ".config",
    "PciFunction": ".discovery",
    "find_function": ".discovery",
    "list_devices": ".discovery",
    "MsiController": ".msi",
    "MsiVector": ".msi",
    "MsixController": ".msi",
    "BytesConfig": ".source",
    "ConfigSource": ".source",
    "SysfsConfig": ".source",
    "SriovController": ".sriov",
    "SysfsSriov": ".sriov",
})

__all__ = [
    "BarInfo",
    "BytesConfig",
    "Capability",
    "CapabilityWalk",
    "ConfigSource",
    "ConfigSpace",
    "Header",
    "MsiController",
    "MsiVector",
    "MsixController",
    "PciFunction",
    "SriovController",
    "SysfsConfig",
    "SysfsSriov",
    "decode",
    "find_function",
    "list_devices",
    "probe_bar_sizes",
]
