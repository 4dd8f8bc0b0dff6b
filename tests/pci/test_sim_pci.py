"""The simulated GPU's PCI function: layout per chip, BAR sizing, SR-IOV, MSI/MSI-X, FLR, and every refusal."""

from __future__ import annotations

import struct

import pytest

from nova_core.errors import PciError, SimViolation
from nova_core.gpu.chips import Chipset
from nova_core.hw.clock import MS
from nova_core.pci import ConfigSpace, MsiController, MsixController, SriovController, decode, probe_bar_sizes
from nova_core.pci import facts as F
from nova_core.pci.caps import ResizableBar
from nova_core.pci.config import probe_rom_size
from nova_core.sim import SimGpu
from nova_core.sim.models.pci import (
    MSIX_PBA_OFFSET,
    MSIX_TABLE_OFFSET,
    OFF_MSI,
    OFF_MSIX,
    OFF_REBAR,
    OFF_SRIOV,
    SimPciFunction,
)


def pf(gpu: SimGpu) -> SimPciFunction:
    m = gpu.models["pci"]
    assert isinstance(m, SimPciFunction)
    return m


def cs_of(gpu: SimGpu) -> ConfigSpace:
    src = gpu.device().config
    assert src is not None
    return ConfigSpace(src)


def refused(gpu: SimGpu, fragment: str) -> bool:
    return any(fragment in e.message for e in gpu.log.errors())


# -- layout ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chip", list(Chipset))
def test_every_chip_has_a_clean_config_space(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    cs = cs_of(gpu)
    h = cs.header()
    assert (h.vendor, h.device) == (0x10DE, gpu.pci_device)
    assert h.base_class == F.CLASS_DISPLAY
    assert h.subclass == (F.SUBCLASS_VGA if chip.facts.has_display else F.SUBCLASS_3D)
    walk = cs.capabilities(strict=True)
    assert walk.problems == [] and walk.notes == []
    ids = {(c.extended, c.id) for c in walk.capabilities}
    assert {(False, F.CapId.PM), (False, F.CapId.EXP), (True, F.ExtCapId.ERR), (True, F.ExtCapId.REBAR)} <= ids
    for c in walk.capabilities:  # every capability decodes without error
        decode(cs, c)
    sriov_linked = (True, F.ExtCapId.SRIOV) in ids
    assert sriov_linked == (chip.architecture.name.startswith(("HOPPER", "BLACKWELL")) or chip is Chipset.GA100)
    assert ((False, F.CapId.MSIX) in ids) == (not chip.facts.has_display)
    assert gpu.log.errors() == []


def test_bar_sizes_by_probing_match_the_chip() -> None:
    gpu = SimGpu("ga100")
    cs = cs_of(gpu)
    sizes = probe_bar_sizes(cs)
    assert sizes == {0: 16 << 20, 1: 64 << 30, 3: 32 << 20}  # A100 40GB: BAR1 64G, as lspci shows
    assert probe_rom_size(cs) == 512 << 10
    bars = {b.index: b for b in ConfigSpace(cs.source, sizes=sizes).bars()}
    assert bars[1].is_64bit and bars[1].prefetchable and bars[1].address == 0x60_0000_0000
    assert cs.u16(F.COMMAND) & F.Command.memory.mask  # the probe restored decode
    assert gpu.log.errors() == []
    assert probe_bar_sizes(cs_of(SimGpu("ad102"))) == {0: 16 << 20, 1: 256 << 20, 3: 32 << 20, 5: 128}


def test_config_mirror_in_bar0() -> None:
    gpu = SimGpu("ga102")
    assert gpu.bar0.read32(0x088000) == 0x220410DE
    gb = SimGpu("gb202")
    assert gb.bar0.read32(0x092000) == (gb.pci_device << 16 | 0x10DE)


# -- refusals -------------------------------------------------------------------------------------------


def test_refuses_out_of_range_and_unaligned_access() -> None:
    gpu = SimGpu("ad102")
    m = pf(gpu)
    with pytest.raises(SimViolation, match="outside the 4 KiB"):
        m.read(0xFFE, 4)
    with pytest.raises(SimViolation, match="naturally aligned"):
        m.write(0x41, b"\x00\x00")
    with pytest.raises(SimViolation, match="naturally aligned"):
        m.write(0x40, b"\x00" * 8)


def test_refuses_write_to_read_only_register() -> None:
    gpu = SimGpu("ad102")
    with pytest.raises(SimViolation, match="read-only config bytes"):
        cs_of(gpu).write16(F.VENDOR_ID, 0x1234)
    assert refused(gpu, "read-only config bytes [0x0, 0x2)")
    assert cs_of(gpu).header().vendor == 0x10DE


def test_lenient_mode_logs_and_drops() -> None:
    gpu = SimGpu("ad102", strict=False)
    cs_of(gpu).write16(F.VENDOR_ID, 0x1234)
    assert refused(gpu, "read-only") and cs_of(gpu).header().vendor == 0x10DE


def test_refuses_moving_a_bar_while_decode_is_on() -> None:
    gpu = SimGpu("ad102")
    cs = cs_of(gpu)
    with pytest.raises(SimViolation, match="BAR0 written .* while memory decode is enabled"):
        cs.write32(F.BAR0, 0xFFFFFFFF)
    assert refused(gpu, "BAR0 written")
    with pytest.raises(SimViolation, match="BAR1 written"):
        cs.write32(F.BAR0 + 8, 0x12)  # the upper dword of 64-bit BAR1
    cs.write32(F.BAR0, cs.u32(F.BAR0))  # writing the same value back is harmless


def test_unimplemented_bar_takes_the_probe_silently() -> None:
    gpu = SimGpu("ga100")  # no I/O BAR5 on compute parts
    cs = cs_of(gpu)
    cs.write16(F.COMMAND, 0)
    cs.write32(F.BAR0 + 20, 0xFFFFFFFF)
    assert cs.u32(F.BAR0 + 20) == 0 and gpu.log.errors() == []


def test_refuses_msi_and_msix_together() -> None:
    gpu = SimGpu("ad102")
    cs = cs_of(gpu)
    cs.write16(OFF_MSI + F.MSI_FLAGS, F.MsiControl.encode(enable=1))
    with pytest.raises(SimViolation, match="MSI-X enabled while MSI is enabled"):
        cs.write16(OFF_MSIX + F.MSIX_FLAGS, F.MsixControl.encode(enable=1))
    assert refused(gpu, "MSI-X enabled while MSI")


def test_refuses_msi_mme_above_mmc() -> None:
    gpu = SimGpu("ad102")
    with pytest.raises(SimViolation, match="Multiple Message Enable 4 vectors > Multiple Message Capable 1"):
        cs_of(gpu).write16(OFF_MSI + F.MSI_FLAGS, F.MsiControl.encode(enable=1, multiple_enable=2))


def test_refuses_unsupported_power_state_and_early_access_after_d3hot() -> None:
    gpu = SimGpu("ad102")
    cs = cs_of(gpu)
    with pytest.raises(SimViolation, match="D1: the function supports only D0 and D3hot"):
        cs.write16(0x64, F.PmControl.encode(power_state=1))
    cs.write16(0x64, F.PmControl.encode(power_state=3))
    cs.write16(0x64, F.PmControl.encode(power_state=0))
    with pytest.raises(SimViolation, match="10 ms after D3hot -> D0"):
        cs.u32(0)
    gpu.clock.advance(10 * MS)
    assert cs.u16(0) == 0x10DE


def test_flr_resets_and_refuses_access_for_100ms() -> None:
    gpu = SimGpu("ga100")
    cs = cs_of(gpu)
    cs.write16(OFF_MSIX + F.MSIX_FLAGS, F.MsixControl.encode(enable=1))
    cs.write16(0x78 + F.EXP_DEVCTL, F.DevCtl.encode(bcr_flr=1, readrq=2))
    with pytest.raises(SimViolation, match="Function Level Reset"):
        cs.u16(F.COMMAND)
    gpu.clock.sleep(100 * MS)
    assert cs.u16(F.COMMAND) == 0  # decode off after reset
    assert cs.u32(F.BAR0) == 0  # BARs unassigned
    assert not F.MsixControl.enable.is_set(cs.u16(OFF_MSIX + F.MSIX_FLAGS))
    assert not F.DevCtl.bcr_flr.is_set(cs.u16(0x78 + F.EXP_DEVCTL))  # FLR reads back 0


def test_resizable_bar() -> None:
    gpu = SimGpu("ad102")
    cs = cs_of(gpu)
    ctrl1 = OFF_REBAR + F.REBAR_CTRL + 8
    with pytest.raises(SimViolation, match="BAR1 resized while memory decode is enabled"):
        cs.write32(ctrl1, F.RebarControl.encode(cs.u32(ctrl1), size=14))
    cs.write16(F.COMMAND, 0)
    with pytest.raises(SimViolation, match="BAR1 size 65536 MiB is not supported"):
        cs.write32(ctrl1, F.RebarControl.encode(cs.u32(ctrl1), size=16))
    cs.write32(ctrl1, F.RebarControl.encode(cs.u32(ctrl1), size=14))  # 16 GiB
    assert probe_bar_sizes(cs)[1] == 16 << 30
    rebar = decode(cs, cs.find(F.ExtCapId.REBAR, extended=True))  # type: ignore[arg-type]
    assert isinstance(rebar, ResizableBar) and rebar.entries[1].current == 16 << 30


# -- SR-IOV ----------------------------------------------------------------------------------------------


def test_sriov_enable_creates_vfs_with_their_own_config_spaces() -> None:
    gpu = SimGpu("gh100")
    cs = cs_of(gpu)
    ctl = SriovController(cs, gpu.clock)
    assert ctl.info().total_vfs == 16
    t0 = gpu.clock.now()
    info = ctl.enable(4)
    assert gpu.clock.now() - t0 >= 100 * MS
    assert info.vf_enabled and info.vf_memory_enabled and info.num_vfs == 4
    assert ctl.vf_bdfs("0000:41:00.0") == ["0000:41:00.4", "0000:41:00.5", "0000:41:00.6", "0000:41:00.7"]
    m = pf(gpu)
    assert sorted(m.vfs) == [0, 1, 2, 3]
    vf = ConfigSpace(m.vf(2))
    h = vf.header()
    assert (h.vendor, h.device) == (0xFFFF, 0xFFFF)  # SR-IOV 3.4.1.1/3.4.1.2: VFs read 0xFFFF
    assert h.subclass == F.SUBCLASS_3D
    walk = vf.capabilities(strict=True)
    assert [(c.extended, c.id) for c in walk.capabilities] == [(False, F.CapId.EXP), (True, F.ExtCapId.ARI)]
    assert vf.bars() == []  # VF BARs live in the PF's SR-IOV capability
    ctl.disable()
    assert m.vfs == {} and ctl.info().num_vfs == 0
    assert gpu.log.errors() == []


def test_sriov_refusals() -> None:
    gpu = SimGpu("ga100")
    cs = cs_of(gpu)
    ctl = SriovController(cs, gpu.clock)
    with pytest.raises(PciError, match="17 VFs requested; the function supports 1 to 16"):
        ctl.enable(17)
    with pytest.raises(SimViolation, match="NumVFs 17 > TotalVFs 16"):
        cs.write16(OFF_SRIOV + F.SRIOV_NUM_VF, 17)
    cs.write16(OFF_SRIOV + F.SRIOV_NUM_VF, 2)
    cs.write16(OFF_SRIOV + F.SRIOV_CTRL, F.SriovControl.encode(vfe=1, mse=1))
    with pytest.raises(SimViolation, match=r"ms after VF Enable; the PF must wait 100 ms"):
        pf(gpu).vf(0).read(0, 4)
    with pytest.raises(SimViolation, match="NumVFs changed to 3 while VF Enable is set"):
        cs.write16(OFF_SRIOV + F.SRIOV_NUM_VF, 3)
    with pytest.raises(PciError, match="already enabled"):
        ctl.enable(1)
    gpu.clock.sleep(100 * MS)
    assert pf(gpu).vf(1).read(0, 4) == b"\xff\xff\xff\xff"
    with pytest.raises(SimViolation, match="VF5"):
        pf(gpu).vf(5)
    with pytest.raises(SimViolation, match="System Page Size 0x3"):
        cs.write32(OFF_SRIOV + F.SRIOV_SYS_PGSIZE, 3)
    assert refused(gpu, "NumVFs 17 > TotalVFs 16")


def test_sriov_absent_on_turing_and_hidden_on_geforce_ampere() -> None:
    with pytest.raises(PciError, match="no SR-IOV capability"):
        SriovController(cs_of(SimGpu("tu102")), SimGpu("tu102").clock)
    gpu = SimGpu("ga102")
    with pytest.raises(PciError, match="no SR-IOV capability"):
        SriovController(cs_of(gpu), gpu.clock)
    info = SriovController(cs_of(gpu), gpu.clock, offset=OFF_SRIOV).info()  # there, but not linked
    assert info.total_vfs == 16


# -- MSI / MSI-X ------------------------------------------------------------------------------------------


def test_msi_on_geforce_delivers_one_vector_and_refuses_masking() -> None:
    gpu = SimGpu("ad102")
    cs = cs_of(gpu)
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) | F.Command.master.mask)
    msi = MsiController(cs)
    with pytest.raises(PciError, match="2 vectors requested; MSI grants a power of two up to the 1"):
        msi.enable(2, 0xFEE00000, 0x40)
    vectors = msi.enable(1, 0xFEE0_1000, 0x41)
    assert vectors[0].data == 0x41
    assert pf(gpu).signal(0) and list(pf(gpu).messages) == [(0xFEE01000, 0x41)]
    with pytest.raises(PciError, match="no per-vector masking"):
        msi.mask(0)


def test_msi_refuses_bad_messages() -> None:
    gpu = SimGpu("ad102")
    msi = MsiController(cs_of(gpu))
    with pytest.raises(PciError, match="dword-aligned"):
        msi.enable(1, 0xFEE00002, 0)
    with pytest.raises(PciError, match="not 16-bit"):
        msi.enable(1, 0xFEE00000, 0x10000)


def msix_setup(chip: str = "gh100") -> tuple[SimGpu, MsixController]:
    gpu = SimGpu(chip)
    cs = cs_of(gpu)
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) | F.Command.master.mask)
    return gpu, MsixController(cs, {0: gpu.bar0})


def test_msix_allocate_program_unmask_deliver() -> None:
    gpu, ctl = msix_setup()
    assert ctl.size == 6
    ctl.enable()
    got = ctl.allocate(2)
    assert got == [0, 1] and all(ctl.is_masked(i) for i in got)
    ctl.program(1, 0xFEE0_2000, 0x55)
    ctl.unmask(1)
    m = pf(gpu)
    assert m.signal(1) and m.messages[-1] == (0xFEE02000, 0x55)
    # masked: the message is held as pending, then sent on unmask
    ctl.mask(1)
    assert not m.signal(1) and ctl.is_pending(1)
    assert gpu.bar0.read32(MSIX_PBA_OFFSET) == 0b10
    ctl.unmask(1)
    assert not ctl.is_pending(1) and m.messages[-1] == (0xFEE02000, 0x55) and len(m.messages) == 2
    # function mask holds everything too
    ctl.set_function_mask(True)
    assert not m.signal(1) and ctl.is_pending(1)
    ctl.set_function_mask(False)
    assert len(m.messages) == 3
    ctl.free([0, 1])
    assert ctl.allocate(6) == [0, 1, 2, 3, 4, 5]
    assert ctl.message(1).address == 0xFEE02000


def test_msix_refusals() -> None:
    gpu, ctl = msix_setup()
    ctl.enable()
    with pytest.raises(PciError, match="not allocated"):
        ctl.program(3, 0xFEE00000, 1)
    [v] = ctl.allocate(1)
    with pytest.raises(PciError, match="not programmed"):
        ctl.unmask(v)
    ctl.program(v, 0xFEE00000, 1)
    ctl.unmask(v)
    with pytest.raises(PciError, match="unmasked; mask it before"):
        ctl.program(v, 0xFEE01000, 2)
    # the sim itself refuses the same thing done behind the controller's back
    with pytest.raises(SimViolation, match="changed to 0x2 while the vector is unmasked"):
        gpu.bar0.write32(MSIX_TABLE_OFFSET + 16 * v + 8, 2)
    with pytest.raises(SimViolation, match="PBA"):
        gpu.bar0.write32(MSIX_PBA_OFFSET, 1)
    with pytest.raises(PciError, match="6 free"):
        ctl.allocate(6)
    with pytest.raises(PciError, match="double free"):
        ctl.free([5])


def test_msix_table_outside_given_bar_is_refused() -> None:
    gpu = SimGpu("gh100")
    from nova_core.hw.bar import BufferBar

    with pytest.raises(PciError, match="does not fit BAR0"):
        MsixController(cs_of(gpu), {0: BufferBar(bytearray(0x1000))})
    with pytest.raises(PciError, match="BAR0, which was not given"):
        MsixController(cs_of(gpu), {})


def test_no_bus_master_no_message() -> None:
    gpu = SimGpu("gh100")
    ctl = MsixController(cs_of(gpu), {0: gpu.bar0})
    ctl.enable()
    [v] = ctl.allocate(1)
    ctl.program(v, 0xFEE00000, 7)
    ctl.unmask(v)
    assert not pf(gpu).signal(v) and not pf(gpu).messages
    assert refused(gpu, "bus mastering is disabled")


def test_intx_when_no_msi() -> None:
    gpu = SimGpu("ad102")
    m = pf(gpu)
    assert not m.signal(0) and m.intx_asserted
    cs_of(gpu).write16(F.COMMAND, cs_of(gpu).u16(F.COMMAND) | F.Command.intx_disable.mask)
    assert not m.intx_asserted


def test_listener_receives_messages() -> None:
    gpu, ctl = msix_setup()
    seen: list[tuple[int, int]] = []
    unsubscribe = pf(gpu).on_message(lambda a, d: seen.append((a, d)))
    ctl.enable()
    [v] = ctl.allocate(1)
    ctl.program(v, 0xFEE0_3000, 9)
    ctl.unmask(v)
    pf(gpu).signal(v)
    unsubscribe()
    pf(gpu).signal(v)
    assert seen == [(0xFEE03000, 9)]


def test_mirror_write_goes_through_the_config_rules() -> None:
    gpu = SimGpu("ad102")
    with pytest.raises(SimViolation, match="read-only config bytes"):
        gpu.bar0.write32(0x088000, struct.unpack("<I", b"\x34\x12\x00\x00")[0])


def test_cached_routing_follows_every_config_write() -> None:
    """signal() decodes the config space once per change (a sim choice): each write that changes the MSI address,
    data or enable, bus mastering, INTx disable, or MSI-X enable/function mask is seen by the very next message,
    whichever path wrote it (config space or the BAR0 mirror of it), and after an FLR."""
    gpu = SimGpu("ad102")
    m, cs = pf(gpu), cs_of(gpu)
    assert m.interrupt_mode() == "intx" and not m.signal(0) and m.intx_asserted  # cached: INTx
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) | F.Command.master.mask | F.Command.intx_disable.mask)
    msi = MsiController(cs)
    msi.enable(1, 0xFEE0_1000, 0x41)
    assert m.interrupt_mode() == "msi" and m.signal(0) and m.messages[-1] == (0xFEE01000, 0x41)
    msi.disable()
    msi.enable(1, 0xFEE0_2000, 0x42)  # new address and data
    assert m.signal(0) and m.messages[-1] == (0xFEE02000, 0x42)
    # data changed behind the controller's back, through the BAR0 mirror of the config space
    mirror = m.profile.mirror + OFF_MSI + F.MSI_DATA_64
    word = gpu.bar0.read32(mirror & ~3)
    shift = 8 * (mirror & 3)
    gpu.bar0.write32(mirror & ~3, (word & ~(0xFFFF << shift)) | 0x43 << shift)
    assert m.signal(0) and m.messages[-1] == (0xFEE02000, 0x43)
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) & ~F.Command.master.mask)  # bus master off: nothing sent
    sent = len(m.messages)
    assert not m.signal(0) and len(m.messages) == sent
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) | F.Command.master.mask)
    msi.disable()  # MSI off, INTx disabled: nothing at all
    assert m.interrupt_mode() == "intx" and not m.signal(0) and not m.intx_asserted and len(m.messages) == sent
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) & ~F.Command.intx_disable.mask)  # INTx allowed again
    assert not m.signal(0) and m.intx_asserted


def test_cached_routing_follows_msix_enable_and_function_mask() -> None:
    gpu, ctl = msix_setup()
    m = pf(gpu)
    assert m.interrupt_mode() == "intx"
    ctl.enable()
    [v] = ctl.allocate(1)
    ctl.program(v, 0xFEE0_4000, 0x21)
    ctl.unmask(v)
    assert m.interrupt_mode() == "msi-x" and m.signal(v)
    ctl.set_function_mask(True)
    assert not m.signal(v) and ctl.is_pending(v)
    ctl.set_function_mask(False)  # the pending message goes out at once
    assert not ctl.is_pending(v) and m.messages[-1] == (0xFEE04000, 0x21)
    ctl.disable()
    assert m.interrupt_mode() == "intx" and not m.signal(v)


def test_cached_routing_is_dropped_by_flr() -> None:
    gpu = SimGpu("ad102")
    m, cs = pf(gpu), cs_of(gpu)
    cs.write16(F.COMMAND, cs.u16(F.COMMAND) | F.Command.master.mask)
    MsiController(cs).enable(1, 0xFEE0_1000, 0x41)
    assert m.interrupt_mode() == "msi"
    m._flr()
    assert m.interrupt_mode() == "intx"


def test_listeners_subscribe_and_unsubscribe_in_any_order() -> None:
    gpu, ctl = msix_setup()
    seen: list[str] = []
    subs = [pf(gpu).on_message(lambda a, d, n=n: seen.append(n)) for n in "abc"]
    ctl.enable()
    [v] = ctl.allocate(1)
    ctl.program(v, 0xFEE0_3000, 9)
    ctl.unmask(v)
    pf(gpu).signal(v)
    subs[1]()
    pf(gpu).signal(v)
    subs[0]()
    subs[2]()
    pf(gpu).signal(v)
    assert seen == ["a", "b", "c", "a", "c"]
    with pytest.raises(ValueError):
        subs[1]()
