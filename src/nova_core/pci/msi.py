"""nova_core.pci.msi: MSI and MSI-X vector allocation, programming and masking (PCI 3.0 6.8).

Two controllers for a function whose config space (and, for MSI-X, table BAR) the driver owns:

- :class:`MsiController`: MSI grants a power-of-two block of vectors (up to what Multiple Message
  Capable allows, at most 32) sharing one address; vector *n* writes ``data | n``, so the low
  log2(count) bits of the data must be zero. Per-vector masking exists only when the function
  advertises it; otherwise :meth:`MsiController.mask` refuses rather than pretending;
- :class:`MsixController`: an independent table of up to 2048 entries (address, data, vector
  control) in a BAR, and a pending-bit array (PBA). :meth:`MsixController.allocate` hands out free
  entries *masked*; a vector is unmasked only after it was programmed, and an entry is reprogrammed
  only while masked (the spec leaves an update of a live entry undefined).

MSI and MSI-X are never enabled together (6.8.2: undefined); each controller refuses to enable while
the other is on. Through VFIO the kernel owns the MSI-X table: use
:meth:`nova_core.hw.vfio.VfioDevice.enable_msix` there instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import PciError
from ..hw.bar import Bar
from . import facts as F
from .caps import Msi, MsiX, decode_msi, decode_msix
from .config import ConfigSpace


@dataclass(frozen=True)
class MsiVector:
    """One message: the function writes ``data`` to ``address`` to signal vector ``index``."""

    index: int
    address: int
    data: int


def _find(cs: ConfigSpace, cap_id: int, what: str) -> int:
    cap = cs.find(cap_id)
    if cap is None:
        raise PciError(f"{cs.name}: no {what} capability in the standard list")
    return cap.offset


def _check_message(who: str, address: int, data: int, addr64: bool) -> None:
    if address & 3 or address < 0 or address >> 64:
        raise PciError(f"{who}: message address {address:#x} must be a dword-aligned 64-bit address")
    if not addr64 and address >> 32:
        raise PciError(f"{who}: message address {address:#x} needs 64 bits; this function has 32-bit MSI only")
    if not 0 <= data <= 0xFFFF:
        raise PciError(f"{who}: message data {data:#x} is not 16-bit")


class MsiController:
    """The MSI capability of a function (found in the list unless ``offset`` is given)."""

    def __init__(self, cs: ConfigSpace, offset: int | None = None) -> None:
        self.cs = cs
        self.offset = _find(cs, F.CapId.MSI, "MSI") if offset is None else offset

    def info(self) -> Msi:
        return decode_msi(self.cs, self.offset)

    def _msix_enabled(self) -> bool:
        cap = self.cs.find(F.CapId.MSIX)
        return cap is not None and decode_msix(self.cs, cap.offset).enabled

    def enable(self, count: int, address: int, data: int) -> list[MsiVector]:
        """Grant ``count`` vectors (a power of two) writing ``data | n`` to ``address``; masked if maskable.

        Raises:
            PciError: count not a power of two or above what the function supports, data whose low
                bits collide with the vector number, a 64-bit address on 32-bit MSI, MSI-X enabled.
        """
        who = f"{self.cs.name} MSI at {self.offset:#x}"
        info = self.info()
        if count < 1 or count & (count - 1) or count > info.vectors_capable:
            raise PciError(f"{who}: {count} vectors requested; MSI grants a power of two up to the "
                           f"{info.vectors_capable} the function supports")
        _check_message(who, address, data, info.addr64)
        if data & (count - 1):
            raise PciError(f"{who}: message data {data:#06x} has its low {count.bit_length() - 1} bits set; with "
                           f"{count} vectors the function ORs the vector number into them")
        if self._msix_enabled():
            raise PciError(f"{who}: MSI-X is enabled; MSI and MSI-X must not be enabled together")
        ctrl_off = self.offset + F.MSI_FLAGS
        ctrl = F.MsiControl.enable.put(self.cs.u16(ctrl_off), 0)
        self.cs.write16(ctrl_off, ctrl)  # program while disabled
        self.cs.write32(self.offset + F.MSI_ADDRESS_LO, address & 0xFFFFFFFF)
        if info.addr64:
            self.cs.write32(self.offset + F.MSI_ADDRESS_HI, address >> 32)
        self.cs.write16(info.data_offset, data)
        if info.mask_offset is not None:
            self.cs.write32(info.mask_offset, (1 << count) - 1)  # every granted vector starts masked
        ctrl = F.MsiControl.multiple_enable.put(ctrl, count.bit_length() - 1)
        self.cs.write16(ctrl_off, F.MsiControl.enable.put(ctrl, 1))
        return [MsiVector(i, address, data | i) for i in range(count)]

    def disable(self) -> None:
        ctrl_off = self.offset + F.MSI_FLAGS
        self.cs.write16(ctrl_off, F.MsiControl.enable.put(self.cs.u16(ctrl_off), 0))

    def _mask_reg(self, vector: int) -> int:
        info = self.info()
        if info.mask_offset is None:
            raise PciError(f"{self.cs.name} MSI at {self.offset:#x}: the function has no per-vector masking "
                           f"(Message Control bit 8 is clear)")
        if not 0 <= vector < info.vectors_enabled:
            raise PciError(f"{self.cs.name} MSI: vector {vector} is not enabled ({info.vectors_enabled} granted)")
        return info.mask_offset

    def mask(self, vector: int) -> None:
        off = self._mask_reg(vector)
        self.cs.write32(off, self.cs.u32(off) | 1 << vector)

    def unmask(self, vector: int) -> None:
        off = self._mask_reg(vector)
        self.cs.write32(off, self.cs.u32(off) & ~(1 << vector))

    def is_masked(self, vector: int) -> bool:
        return bool(self.cs.u32(self._mask_reg(vector)) >> vector & 1)

    def pending(self) -> int:
        """The pending bits (vectors that fired while masked); 0 without per-vector masking."""
        info = self.info()
        return info.pending or 0


class MsixController:
    """The MSI-X capability of a function and its table/PBA in a BAR.

    Args:
        cs: the function's config space.
        bars: the function's BARs by index (``{0: device.bar0}`` for an NVIDIA GPU).
        offset: the capability's offset (found in the list when omitted).
    """

    def __init__(self, cs: ConfigSpace, bars: Mapping[int, Bar], offset: int | None = None) -> None:
        self.cs = cs
        self.offset = _find(cs, F.CapId.MSIX, "MSI-X") if offset is None else offset
        info = self.info()
        who = f"{cs.name} MSI-X at {self.offset:#x}"
        table_len, pba_len = info.table_size * F.MSIX_ENTRY_SIZE, ((info.table_size + 63) // 64) * 8
        for what, bir, off, length in (("table", info.table_bir, info.table_offset, table_len),
                                       ("PBA", info.pba_bir, info.pba_offset, pba_len)):
            bar = bars.get(bir)
            if bar is None:
                raise PciError(f"{who}: the {what} is in BAR{bir}, which was not given ({sorted(bars)} were)")
            if off + length > bar.size:
                raise PciError(f"{who}: the {what} [{off:#x}, {off + length:#x}) does not fit BAR{bir} "
                               f"({bar.size:#x} bytes)")
        self.table: Bar = bars[info.table_bir]
        self.pba: Bar = bars[info.pba_bir]
        self.size = info.table_size
        self._table_base = info.table_offset
        self._pba_base = info.pba_offset
        self._allocated: set[int] = set()
        self._programmed: set[int] = set()

    def info(self) -> MsiX:
        return decode_msix(self.cs, self.offset)

    def _entry(self, index: int, field: int = 0) -> int:
        if not 0 <= index < self.size:
            raise PciError(f"{self.cs.name} MSI-X: vector {index} outside the {self.size}-entry table")
        return self._table_base + index * F.MSIX_ENTRY_SIZE + field

    def _set_control(self, **fields: int) -> None:
        off = self.offset + F.MSIX_FLAGS
        self.cs.write16(off, F.MsixControl.encode(self.cs.u16(off), **fields))

    def enable(self) -> None:
        """Mask the function, mask every entry, enable MSI-X, then lift the function mask.

        Raises:
            PciError: MSI is enabled (disable it first).
        """
        msi = self.cs.find(F.CapId.MSI)
        if msi is not None and decode_msi(self.cs, msi.offset).enabled:
            raise PciError(f"{self.cs.name}: MSI is enabled; MSI and MSI-X must not be enabled together")
        self._set_control(function_mask=1)
        self._set_control(enable=1)
        for i in range(self.size):
            self.table.write32(self._entry(i, F.MSIX_ENTRY_VECTOR_CTRL), F.MSIX_ENTRY_CTRL_MASKBIT)
        self._set_control(function_mask=0)

    def disable(self) -> None:
        self._set_control(enable=0, function_mask=0)

    def set_function_mask(self, masked: bool) -> None:
        self._set_control(function_mask=int(masked))

    def allocate(self, count: int) -> list[int]:
        """Reserve ``count`` free table entries (lowest first), masked; returns their indices."""
        free = [i for i in range(self.size) if i not in self._allocated]
        if count < 1 or count > len(free):
            raise PciError(f"{self.cs.name} MSI-X: {count} vectors requested, {len(free)} of {self.size} free")
        got = free[:count]
        for i in got:
            self.mask(i)
            self._allocated.add(i)
        return got

    def free(self, indices: list[int]) -> None:
        """Mask and release entries (a vector not allocated is refused)."""
        for i in indices:
            if i not in self._allocated:
                raise PciError(f"{self.cs.name} MSI-X: vector {i} is not allocated (double free?)")
        for i in indices:
            self.mask(i)
            self._allocated.discard(i)
            self._programmed.discard(i)

    def program(self, index: int, address: int, data: int) -> MsiVector:
        """Set entry ``index``'s message; the entry must be allocated and masked."""
        who = f"{self.cs.name} MSI-X vector {index}"
        if index not in self._allocated:
            raise PciError(f"{who}: not allocated (call allocate() first)")
        _check_message(who, address, data & 0xFFFF, True)
        if not data >> 32 == 0:
            raise PciError(f"{who}: message data {data:#x} is not 32-bit")
        if not self.is_masked(index):
            raise PciError(f"{who}: the entry is unmasked; mask it before changing its message")
        self.table.write32(self._entry(index, F.MSIX_ENTRY_ADDR_LO), address & 0xFFFFFFFF)
        self.table.write32(self._entry(index, F.MSIX_ENTRY_ADDR_HI), address >> 32)
        self.table.write32(self._entry(index, F.MSIX_ENTRY_DATA), data)
        self._programmed.add(index)
        return MsiVector(index, address, data)

    def mask(self, index: int) -> None:
        off = self._entry(index, F.MSIX_ENTRY_VECTOR_CTRL)
        self.table.write32(off, self.table.read32(off) | F.MSIX_ENTRY_CTRL_MASKBIT)

    def unmask(self, index: int) -> None:
        """Let vector ``index`` fire; it must have been programmed (an unprogrammed entry points nowhere)."""
        if index not in self._programmed:
            raise PciError(f"{self.cs.name} MSI-X vector {index}: not programmed; unmasking would let it write "
                           f"to whatever address the entry holds")
        off = self._entry(index, F.MSIX_ENTRY_VECTOR_CTRL)
        self.table.write32(off, self.table.read32(off) & ~F.MSIX_ENTRY_CTRL_MASKBIT)

    def is_masked(self, index: int) -> bool:
        return bool(self.table.read32(self._entry(index, F.MSIX_ENTRY_VECTOR_CTRL)) & F.MSIX_ENTRY_CTRL_MASKBIT)

    def is_pending(self, index: int) -> bool:
        self._entry(index)
        word = self.pba.read32(self._pba_base + (index // 32) * 4)
        return bool(word >> (index % 32) & 1)

    def message(self, index: int) -> MsiVector:
        base = self._entry(index)
        addr = self.table.read32(base + F.MSIX_ENTRY_ADDR_LO) | self.table.read32(base + F.MSIX_ENTRY_ADDR_HI) << 32
        return MsiVector(index, addr, self.table.read32(base + F.MSIX_ENTRY_DATA))
