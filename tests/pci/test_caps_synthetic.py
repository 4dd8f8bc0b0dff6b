"""Decoders the NVIDIA fixtures do not exercise, on hand-built capabilities with known field values."""

from __future__ import annotations

import struct

from nova_core.pci import ConfigSpace, decode
from nova_core.pci import facts as F
from nova_core.pci.caps import Acs, Ari, SecondaryPcie, Sriov, VendorExtended


def build() -> ConfigSpace:
    b = bytearray(F.EXTENDED_SIZE)
    struct.pack_into("<HH", b, 0, 0x15B3, 0x101D)
    chain = [(0x100, F.ExtCapId.ACS), (0x110, F.ExtCapId.ARI), (0x120, F.ExtCapId.DVSEC),
             (0x140, F.ExtCapId.VNDR), (0x160, F.ExtCapId.SECPCI), (0x200, F.ExtCapId.SRIOV)]
    for i, (off, cap) in enumerate(chain):
        nxt = chain[i + 1][0] if i + 1 < len(chain) else 0
        struct.pack_into("<I", b, off, F.ExtCapHeader.encode(id=cap, version=1, next=nxt))
    struct.pack_into("<HH", b, 0x104, F.AcsBits.encode(sv=1, rr=1, cr=1, uf=1), F.AcsBits.encode(sv=1))
    struct.pack_into("<HH", b, 0x114, F.AriCapability.encode(acs=1, next_function=5),
                     F.AriControl.encode(function_group=3))
    struct.pack_into("<IH", b, 0x124, F.VsecHeader.encode(id=0x1E98, rev=2, length=0x38), 0x0007)
    struct.pack_into("<I", b, 0x144, F.VsecHeader.encode(id=0x0023, rev=1, length=0x10))
    struct.pack_into("<II", b, 0x164, 0x2, 0x0000_0101)
    s = 0x200
    struct.pack_into("<IHHHHHHHHHHII", b, s + 4, F.SriovCapabilities.encode(ari_preserved=1), F.SriovControl.encode(
        vfe=1, mse=1, ari=1), 0, 8, 8, 4, 0, 0x180, 2, 0, 0x101E, 0x553, 1)
    struct.pack_into("<II", b, s + F.SRIOV_BAR, 0x0000000C, 0x00000038)  # VF BAR0: 64-bit prefetchable
    return ConfigSpace(bytes(b), sizes={})


def test_extended_decoders() -> None:
    cs = build()
    walk = cs.capabilities(strict=True)
    d = {c.offset: decode(cs, c) for c in walk.extended}
    acs = d[0x100]
    assert isinstance(acs, Acs) and acs.capability == 0b11101 and acs.control == 1
    assert d[0x100].lines()[0].startswith("ACSCap:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+")
    ari = d[0x110]
    assert isinstance(ari, Ari) and ari.next_function == 5 and "Function Group: 3" in ari.lines()[1]
    dvsec = d[0x120]
    assert isinstance(dvsec, VendorExtended) and dvsec.designated
    assert (dvsec.vendor, dvsec.id, dvsec.rev, dvsec.length) == (0x1E98, 7, 2, 0x38)
    vsec = d[0x140]
    assert isinstance(vsec, VendorExtended) and not vsec.designated and vsec.summary == "ID=0023 Rev=1 Len=010 <?>"
    sec = d[0x160]
    assert isinstance(sec, SecondaryPcie) and sec.link_control3 == 2 and sec.lane_error_status == 0x101
    sriov = d[0x200]
    assert isinstance(sriov, Sriov)
    assert (sriov.vf_enabled, sriov.vf_memory_enabled, sriov.ari_hierarchy) == (True, True, True)
    assert (sriov.initial_vfs, sriov.total_vfs, sriov.num_vfs, sriov.vf_offset, sriov.vf_stride) == (8, 8, 4, 0x180, 2)
    assert sriov.vf_device_id == 0x101E
    vf_bars = [(b.index, b.address, b.is_64bit, b.prefetchable) for b in sriov.vf_bars]
    assert vf_bars == [(0, 0x38_0000_0000, True, True)]
    # VF n lives at PF + offset + n * stride: PF 0x0300 (03:00.0) -> VF3 at 0x0300 + 0x180 + 6
    assert sriov.vf_routing_id(0x0300, 3) == 0x0486
