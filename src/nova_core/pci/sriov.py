"""nova_core.pci.sriov: SR-IOV: query, enable and disable virtual functions.

Two paths, one vocabulary:

- :class:`SriovController`: a physical function whose config space the driver owns (the simulated
  GPU; a device owned through VFIO). Enabling is the SR-IOV 1.1 sequence: NumVFs first, then VF
  Enable and VF MSE together, then a 100 ms wait before any VF may be touched (3.3.3.1); disabling
  clears both bits, waits 1 s for the VFs to quiesce (as Linux ``sriov_disable`` does), then zeroes
  NumVFs. NumVFs may not change while VF Enable is set (3.3.10);
- :class:`SysfsSriov`: a real device bound to a kernel driver, through ``sriov_numvfs``
  (``sriov_totalvfs``, ``sriov_offset``, ``sriov_stride``, ``sriov_vf_device``). The kernel refuses
  to go from one nonzero count to another, so a change passes through 0. Writing needs root and a
  PF driver that implements ``sriov_configure``; every refusal names the file and the reason.

VFs live at routing ids ``PF + First VF Offset + n * VF Stride`` (bus << 8 | device << 3 | function).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import PciError
from ..hw.clock import MS, Clock
from . import facts as F
from .caps import Sriov, decode_sriov
from .config import ConfigSpace

#: SR-IOV 1.1 3.3.3.1 / Linux pci_iov: wait after clearing VF Enable before touching NumVFs
SRIOV_VF_DISABLE_DELAY_NS = 1000 * MS


def routing_id(bdf: str) -> tuple[int, int]:
    """``"0000:01:00.0"`` -> (domain, bus << 8 | device << 3 | function)."""
    try:
        dom, bus, devfn = bdf.split(":")
        dev, fn = devfn.split(".")
        d, b, v, f = int(dom, 16), int(bus, 16), int(dev, 16), int(fn)
    except ValueError:
        raise PciError(f"{bdf!r} is not a PCI address DOMAIN:BUS:DEVICE.FUNCTION") from None
    if b > 0xFF or v > 0x1F or f > 7:
        raise PciError(f"{bdf!r}: bus, device or function out of range")
    return d, b << 8 | v << 3 | f


def bdf_of(domain: int, rid: int) -> str:
    return f"{domain:04x}:{rid >> 8:02x}:{rid >> 3 & 0x1F:02x}.{rid & 7}"


class SriovController:
    """SR-IOV of a physical function through its config space.

    Args:
        cs: the PF's config space (writable).
        clock: for the waits the spec requires (virtual on the sim).
        offset: the SR-IOV capability's offset (found in the extended list when omitted).
    """

    def __init__(self, cs: ConfigSpace, clock: Clock, offset: int | None = None) -> None:
        self.cs = cs
        self.clock = clock
        if offset is None:
            cap = cs.find(F.ExtCapId.SRIOV, extended=True)
            if cap is None:
                raise PciError(f"{cs.name}: no SR-IOV capability in the extended list"
                               + (" (config space is only 256 bytes)" if cs.size <= F.LEGACY_SIZE else ""))
            offset = cap.offset
        self.offset = offset

    def info(self) -> Sriov:
        return decode_sriov(self.cs, self.offset)

    def enable(self, num_vfs: int) -> Sriov:
        """Create ``num_vfs`` VFs; returns the capability as it reads afterwards.

        Raises:
            PciError: VFs already enabled, ``num_vfs`` outside 1..TotalVFs, or the function did not
                accept the setting.
        """
        info = self.info()
        who = f"{self.cs.name} SR-IOV at {self.offset:#x}"
        if info.vf_enabled:
            raise PciError(f"{who}: {info.num_vfs} VFs are already enabled; disable them first (NumVFs may "
                           f"not change while VF Enable is set)")
        if not 1 <= num_vfs <= info.total_vfs:
            raise PciError(f"{who}: {num_vfs} VFs requested; the function supports 1 to {info.total_vfs}")
        self.cs.write16(self.offset + F.SRIOV_NUM_VF, num_vfs)
        ctrl = F.SriovControl.encode(info.control, vfe=1, mse=1)
        self.cs.write16(self.offset + F.SRIOV_CTRL, ctrl)
        # TIMEOUT: not a poll - SR-IOV 1.1 3.3.3.1: VFs need 100 ms after VF Enable before config access.
        self.clock.sleep(F.SRIOV_VF_ENABLE_DELAY_NS)
        after = self.info()
        if not after.vf_enabled or after.num_vfs != num_vfs:
            raise PciError(f"{who}: after enabling {num_vfs} VFs the capability reads VF Enable "
                           f"{int(after.vf_enabled)}, NumVFs {after.num_vfs}: the function refused")
        return after

    def disable(self) -> None:
        """Remove all VFs (a no-op when none are enabled)."""
        info = self.info()
        if info.vf_enabled:
            self.cs.write16(self.offset + F.SRIOV_CTRL, F.SriovControl.encode(info.control, vfe=0, mse=0))
            # TIMEOUT: not a poll - VFs get 1 s to quiesce after VF Enable clears (Linux sriov_disable).
            self.clock.sleep(SRIOV_VF_DISABLE_DELAY_NS)
        if info.num_vfs:
            self.cs.write16(self.offset + F.SRIOV_NUM_VF, 0)

    def vf_bdfs(self, pf_bdf: str) -> list[str]:
        """Addresses of the enabled VFs of the PF at ``pf_bdf``."""
        info = self.info()
        domain, rid = routing_id(pf_bdf)
        return [bdf_of(domain, info.vf_routing_id(rid, i)) for i in range(info.num_vfs if info.vf_enabled else 0)]


class SysfsSriov:
    """SR-IOV of a real device through its sysfs attributes (``path`` is the function's directory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not (path / "sriov_totalvfs").exists():
            raise PciError(f"{path.name}: no SR-IOV support (no {str(path / 'sriov_totalvfs')!r}: the device has no "
                           f"SR-IOV capability, or its driver does not expose it)")

    def _read_int(self, name: str, base: int = 10) -> int:
        try:
            return int((self.path / name).read_text().strip(), base)
        except OSError as e:
            raise PciError(f"{self.path.name}: cannot read {name}: {e.strerror}") from None
        except ValueError:
            raise PciError(f"{self.path.name}: {name} does not hold a number") from None

    @property
    def total_vfs(self) -> int:
        return self._read_int("sriov_totalvfs")

    @property
    def num_vfs(self) -> int:
        return self._read_int("sriov_numvfs")

    @property
    def vf_offset(self) -> int:
        return self._read_int("sriov_offset")

    @property
    def vf_stride(self) -> int:
        return self._read_int("sriov_stride")

    @property
    def vf_device(self) -> int:
        return self._read_int("sriov_vf_device", 16)

    def _write_numvfs(self, n: int) -> None:
        target = self.path / "sriov_numvfs"
        try:
            fd = os.open(target, os.O_WRONLY)
        except PermissionError:
            raise PciError(f"{self.path.name}: cannot write {str(target)!r}: permission denied (changing the "
                           f"number of VFs needs root)") from None
        except OSError as e:
            raise PciError(f"{self.path.name}: cannot open {str(target)!r}: {e.strerror}") from None
        try:
            os.write(fd, f"{n}\n".encode())
        except OSError as e:
            why = {errno.ENOENT: "the bound driver does not support SR-IOV (no sriov_configure)",
                   errno.EBUSY: "VFs are in use, or a nonzero count must first go back to 0",
                   errno.ERANGE: "more than the device's TotalVFs",
                   errno.ENOMEM: "not enough bus numbers or BAR space for the VFs"}.get(e.errno or 0, e.strerror)
            raise PciError(f"{self.path.name}: writing {n} to sriov_numvfs failed: {why}") from None
        finally:
            os.close(fd)

    def enable(self, num_vfs: int) -> None:
        total = self.total_vfs
        if not 1 <= num_vfs <= total:
            raise PciError(f"{self.path.name}: {num_vfs} VFs requested; sriov_totalvfs is {total}")
        current = self.num_vfs
        if current == num_vfs:
            return
        if current:
            self._write_numvfs(0)
        self._write_numvfs(num_vfs)

    def disable(self) -> None:
        if self.num_vfs:
            self._write_numvfs(0)

    def vfs(self) -> list[str]:
        """BDFs of the current VFs (the ``virtfnN`` links, in order)."""
        out = []
        for i in range(self.num_vfs):
            try:
                out.append(os.path.basename(os.readlink(self.path / f"virtfn{i}")))
            except OSError:
                raise PciError(f"{self.path.name}: virtfn{i} is missing although sriov_numvfs says "
                               f"{self.num_vfs}") from None
        return out
