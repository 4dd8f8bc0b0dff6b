"""The simulated GPU core: power-on state per chip, strictness, PROM window, fault injection."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_core.errors import DeviceLost, SimViolation
from nova_core.gpu import Chipset, identify
from nova_core.gpu.probe import probe
from nova_core.regs.falcon import FALCON, NV_PFALCON_FALCON_IRQSTAT, NV_PFALCON_FALCON_MAILBOX0
from nova_core.regs.gc6 import NV_PGC6_AON_SECURE_SCRATCH_GROUP_05
from nova_core.regs.pmc import NV_PMC_BOOT_0
from nova_core.regs.prom import PROM
from nova_core.regs.vfn import NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF
from nova_core.sim import PRI_ERROR, SimGpu
from nova_core.sim.synth.vbios import build_vbios


@pytest.mark.parametrize("chip", list(Chipset))
def test_every_chip_identifies_as_itself(chip: Chipset) -> None:
    gpu = SimGpu(chip)
    spec = identify(gpu.bar0)
    assert spec.chipset is chip and str(spec.revision) == "A1"
    r = probe(gpu.device())
    assert r.vram_bytes == chip.facts.sim_vram_mib << 20
    assert r.pci_device == chip.facts.pci_device_id


def test_unmodelled_read_is_a_pri_error_and_logged(sim: SimGpu) -> None:
    assert sim.bar0.read32(0x123450) == PRI_ERROR
    assert "unmodelled offset 0x123450" in sim.log.format()


def test_unmodelled_write_is_refused(sim: SimGpu) -> None:
    with pytest.raises(SimViolation, match="write of 0x1 to unmodelled offset 0x123450"):
        sim.bar0.write32(0x123450, 1)
    lenient = SimGpu("ad102", strict=False)
    lenient.bar0.write32(0x123450, 1)
    assert lenient.log.errors()[-1].message.startswith("write of 0x1 to unmodelled")


def test_read_only_register_write_is_refused(sim: SimGpu) -> None:
    with pytest.raises(SimViolation, match=r"read-only NV_PMC_BOOT_0 \(0x0\)"):
        sim.bar0.write32(NV_PMC_BOOT_0.addr(), 0)
    assert sim.bar0.read32(0) == sim.boot0


def test_access_rules_ro_bits_and_w1c() -> None:
    gpu = SimGpu("ga102")
    leaf = NV_VIRTUAL_FUNCTION_PRIV_CPU_INTR_LEAF.addr(i=0)
    gpu.bar0.poke(leaf, 0b1011)  # hardware raised three vectors
    gpu.bar0.write32(leaf, 0b0010)  # write 1 to clear one
    assert gpu.bar0.read32(leaf) == 0b1001
    irqstat = NV_PFALCON_FALCON_IRQSTAT.addr(FALCON.GSP)
    with pytest.raises(SimViolation, match="read-only GSP.NV_PFALCON_FALCON_IRQSTAT"):
        gpu.bar0.write32(irqstat, 0)


def test_rw_register_stores(sim: SimGpu) -> None:
    mb = NV_PFALCON_FALCON_MAILBOX0.addr(FALCON.SEC2)
    sim.bar0.write32(mb, 0xCAFE)
    assert sim.bar0.read32(mb) == 0xCAFE


def test_alignment_and_range_refused(sim: SimGpu) -> None:
    with pytest.raises(SimViolation, match="unaligned"):
        sim.bar0.read32(2)
    with pytest.raises(SimViolation, match="outside BAR0"):
        sim.bar0.read32(16 << 20)


def test_accesses_cost_virtual_time(sim: SimGpu) -> None:
    t0 = sim.clock.now()
    for _ in range(10):
        sim.bar0.read32(0)
    assert sim.clock.now() - t0 == 10 * sim.bar0.read_cost


def test_gfw_boot_completed_at_power_on(sim: SimGpu) -> None:
    assert NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.gfw_boot_progress.get(
        NV_PGC6_AON_SECURE_SCRATCH_GROUP_05.read(sim.bar0, i=0)) == 0xFF


def test_prom_window_serves_synthetic_rom() -> None:
    gpu = SimGpu("tu106")
    data = gpu.bar0.read_block(PROM.start, 0x1000)
    assert data == build_vbios(Chipset.TU106)[:0x1000]
    assert data[:2] == b"\x55\xaa" and b"BIT\0" in data
    assert gpu.vbios_synthetic
    # past the image: erased flash
    assert gpu.bar0.read32(PROM.start + len(gpu.rom)) == 0xFFFFFFFF
    with pytest.raises(SimViolation, match="read-only window NV_PROM_DATA"):
        gpu.bar0.write32(PROM.start, 0)


def test_synthetic_rom_checksum_and_bit_checksum() -> None:
    rom = build_vbios(Chipset.GA102)
    assert sum(rom) % 256 == 0
    bit = rom.index(b"\xff\xb8BIT\x00")
    assert sum(rom[bit:bit + 12]) % 256 == 0


def test_real_rom_file_is_served(vbios_path: Path) -> None:
    rom = vbios_path / "ampere-ga102_2204_gigabyte-rtx3090.rom"
    gpu = SimGpu("ga102", vbios=rom)
    assert gpu.bar0.read_block(PROM.start, 0x200) == rom.read_bytes()[:0x200]
    assert not gpu.vbios_synthetic


def test_fall_off_bus(sim: SimGpu) -> None:
    dev = sim.device()
    sim.fall_off_bus()
    assert sim.bar0.read32(0x9400) == 0xFFFFFFFF
    with pytest.raises(DeviceLost, match="does not answer"):
        probe(dev)


def test_models_are_discoverable(sim: SimGpu) -> None:
    assert isinstance(sim.models, dict)
    with pytest.raises(Exception, match="no simulated model 'nope'"):
        sim.model("nope")


def test_pramin_block_writes_equal_word_writes_and_respect_protection() -> None:
    """A block write into the PRAMIN window lands, costs and counts as its word writes do; into protected VRAM
    (WPR2) it is dropped as a whole and logged once in the fault log."""
    from nova_core.regs.pbus import NV_PBUS_BAR0_WINDOW
    from nova_core.regs.pfb import NV_PFB_PRI_MMU_WPR2_ADDR_HI, NV_PFB_PRI_MMU_WPR2_ADDR_LO
    from nova_core.regs.prom import PRAMIN

    data = bytes(range(256)) * 4
    costs = []
    for block in (False, True):
        gpu = SimGpu("ga102")
        gpu.bar0.write32(NV_PBUS_BAR0_WINDOW.addr(), NV_PBUS_BAR0_WINDOW.encode(base_=0x20))  # VRAM 0x200000
        t0, w0 = gpu.clock.now(), gpu.bar0.writes
        if block:
            gpu.bar0.write_block(PRAMIN.start + 0x40, data)
        else:
            for i in range(0, len(data), 4):
                gpu.bar0.write32(PRAMIN.start + 0x40 + i, int.from_bytes(data[i:i + 4], "little"))
        assert gpu.vram.read(0x200040, len(data)) == data
        costs.append((gpu.clock.now() - t0, gpu.bar0.writes - w0))
    assert costs[0] == costs[1]
    gpu.bar0.poke(NV_PFB_PRI_MMU_WPR2_ADDR_LO.addr(), NV_PFB_PRI_MMU_WPR2_ADDR_LO.encode(val=0x200))
    gpu.bar0.poke(NV_PFB_PRI_MMU_WPR2_ADDR_HI.addr(), NV_PFB_PRI_MMU_WPR2_ADDR_HI.encode(val=0x300))
    gpu.bar0.write_block(PRAMIN.start + 0x40, bytes(len(data)))
    assert gpu.vram.read(0x200040, len(data)) == data
    fb = gpu.models["fb"]
    assert [(b.path, b.addr, b.length) for b in fb.blocked] == [("PRAMIN", 0x200040, len(data))]  # type: ignore
