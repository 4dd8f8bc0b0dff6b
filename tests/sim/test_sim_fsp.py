"""The simulated FSP and GSP-FMC on their own: EMEM ports, the queues, each check of the chain-of-trust message
answered with its error code (and logged), the PRIV target lock while the FMC boots, the FMC's own refusals in
MAILBOX0, and the XAL BAR0 window of Hopper+ (the PBUS one refused there)."""

from __future__ import annotations

import dataclasses
import re
import struct
from pathlib import Path

import pytest

from nova_core.errors import FspError, SimViolation
from nova_core.firmware import open_firmware_set
from nova_core.fsp import facts as FF
from nova_core.fsp.channel import FspChannel
from nova_core.fsp.cot import CotPayload, build_cot, pack_fmc_boot_params
from nova_core.fsp.mctp import frame, mctp_header, nvdm_header
from nova_core.gpu.chips import Chipset
from nova_core.hw.clock import MS
from nova_core.mm.vram import PraminVram
from nova_core.regs.falcon import (
    FALCON,
    NV_PFALCON_FALCON_HWCFG2,
    NV_PFALCON_FALCON_HWCFG2_GH100,
    NV_PFALCON_FALCON_MAILBOX0,
)
from nova_core.regs.fsp import NV_PFSP_EMEMC, NV_PFSP_EMEMD, NV_PFSP_QUEUE_HEAD, NV_PFSP_QUEUE_TAIL
from nova_core.regs.pbus import NV_PBUS_BAR0_WINDOW
from nova_core.sim import SimGpu
from nova_core.sim.models.fsp import FmcError
from nova_core.sim.synth.firmware import write_firmware_tree

V = "570.144"


@dataclasses.dataclass
class Bench:
    gpu: SimGpu
    channel: FspChannel
    cot: CotPayload
    fsp: object

    def send(self, payload: bytes, nvdm: int = FF.NvdmType.COT) -> tuple[int, int]:
        """Send one message, return (commandNvdmType, errorCode) of the FSP's answer."""
        self.channel.send_message(payload, nvdm)
        ntype, body = self.channel.read_message()
        assert ntype == FF.NvdmType.FSP_RESPONSE
        _task, cmd, code = FF.NVDM_PAYLOAD_COMMAND_RESPONSE.unpack_from(body)
        return cmd, code


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fsp-fw")
    write_firmware_tree(root, [Chipset.GH100, Chipset.GB202], V)
    return root


def bench(root: Path, chip: str = "gb202") -> Bench:
    gpu = SimGpu(chip)
    gpu.models["fsp"].expect_firmware(root, V)  # type: ignore[attr-defined]
    fw = open_firmware_set(chip, V, roots=[root])
    assert fw.fmc is not None
    dev = gpu.device()
    assert dev.dma is not None
    img = dev.dma.alloc(0x10000, name="fmc")
    img.write(0, fw.fmc.image)
    args = dev.dma.alloc(0x1000, name="args")
    args.write(0, pack_fmc_boot_params(wpr_meta_bus=0, wpr_meta_size=0x100, libos_args_bus=0))
    cot = build_cot(gpu.chipset, fw.fmc, img.bus_addr, args.bus_addr)
    fw.close()
    return Bench(gpu, FspChannel(gpu.bar0, gpu.clock), cot, gpu.models["fsp"])


def test_a_good_cot_is_answered_0_and_the_gsp_locked_while_the_fmc_boots(synthetic_root: Path) -> None:
    b = bench(synthetic_root)
    assert b.send(b.cot.pack()) == (FF.NvdmType.COT, 0)
    assert b.fsp.history == ["COT"]  # type: ignore[attr-defined]
    bar = b.gpu.bar0
    assert NV_PFALCON_FALCON_MAILBOX0.read(bar, base=FALCON.GSP) == FF.PRIV_TARGET_LOCKED
    assert NV_PFALCON_FALCON_HWCFG2.read(bar, base=FALCON.GSP) == FF.PRIV_TARGET_LOCKED
    b.gpu.clock.sleep(5 * MS)
    # the FMC ran and failed on the boot arguments (they name no WPR meta): target lock gone, error in MAILBOX0
    assert NV_PFALCON_FALCON_MAILBOX0.read(bar, base=FALCON.GSP) == FmcError.WPR_META
    hwcfg2 = NV_PFALCON_FALCON_HWCFG2.read(bar, base=FALCON.GSP)
    assert NV_PFALCON_FALCON_HWCFG2_GH100.riscv_br_priv_lockdown.get(hwcfg2)
    assert "GSP-FMC boot failed with MAILBOX0" in b.fsp.refusals[-1]  # type: ignore[attr-defined]


def _mutate(cot: CotPayload, **changes: object) -> bytes:
    return dataclasses.replace(cot, **changes).pack()  # type: ignore[arg-type]


def _flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


CASES: dict[str, tuple[object, int, str]] = {
    "size": (lambda c: _mutate(c, size=0x35B), 0xA1, r"NVDM_PAYLOAD_COT.size 0x35b, expected 0x35c"),
    "short": (lambda c: c.pack()[:0x200], 0xA1, r"NVDM_PAYLOAD_COT of 512 bytes, expected 860"),
    "version": (lambda c: _mutate(c, version=1), 0xA1, r"version 1, expected 2 on GB202"),
    "key": (lambda c: _mutate(c, public_key=_flip(c.public_key, 5)), 0xA1, r"publicKey .* is not the 97-byte key"),
    "key-padding": (lambda c: _mutate(c, public_key=c.public_key[:97] + b"\x01" + c.public_key[98:]), 0xA1,
                    r"\(padding not zero\)"),
    "sig-padding": (lambda c: _mutate(c, signature=c.signature[:96] + b"\x01" + c.signature[97:]), 0xA1,
                    r"signature padding after its 96 bytes"),
    "hash": (lambda c: _mutate(c, hash384=_flip(c.hash384)), 0xA1, r"hash384 .* is not the GSP-FMC's"),
    "signature": (lambda c: _mutate(c, signature=_flip(c.signature, 50)), 0xA1,
                  r"the signature does not verify over hash384: the ECDSA signature does not verify"),
    "image-unmapped": (lambda c: _mutate(c, gsp_fmc_sysmem_offset=0x7000_0000_0000), 0xA1,
                       r"gspFmcSysmemOffset 0x700000000000: .*unmapped bus address"),
    "image-wrong": (lambda c: _mutate(c, gsp_fmc_sysmem_offset=c.gsp_fmc_sysmem_offset + 0x1000), 0xA1,
                    r"does not hash to hash384|unmapped bus address"),
    "frts-sysmem": (lambda c: _mutate(c, frts_sysmem_offset=0x1000, frts_sysmem_size=0x100000), 0xA0,
                    r"FRTS in system memory"),
    "frts-vidmem": (lambda c: _mutate(c, frts_vidmem_size=0x80000), 0xA1, r"FRTS in video memory"),
    "boot-args": (lambda c: _mutate(c, gsp_boot_args_sysmem_offset=0x7000_0000_0000), 0xA1,
                  r"gspBootArgsSysmemOffset 0x700000000000"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_cot_check_refuses_with_its_error_code(synthetic_root: Path, case: str) -> None:
    b = bench(synthetic_root)
    make, code, reason = CASES[case]
    assert b.send(make(b.cot)) == (FF.NvdmType.COT, code)  # type: ignore[operator]
    refusal = b.fsp.refusals[-1]  # type: ignore[attr-defined]
    assert "NVDM command 0x14 refused with FSP_" in refusal and f"({code:#x})" in refusal
    assert re.search(reason, refusal), refusal
    assert b.fsp.history == []  # type: ignore[attr-defined]
    assert b.send(b.cot.pack()) == (FF.NvdmType.COT, 0)  # the FSP stays usable


def test_rsa_fsp_refuses_a_bad_gh100_signature(synthetic_root: Path) -> None:
    b = bench(synthetic_root, "gh100")
    assert b.send(_mutate(b.cot, signature=_flip(b.cot.signature, 200))) == (FF.NvdmType.COT, 0xA1)
    assert "EMSA-PSS" in b.fsp.refusals[-1]  # type: ignore[attr-defined]


def test_no_fmc_expected_other_nvdm_types_and_a_running_gsp(synthetic_root: Path) -> None:
    gpu = SimGpu("gh100")
    ch = FspChannel(gpu.bar0, gpu.clock)
    ch.send_message(bytes(FF.NVDM_PAYLOAD_COT.size), FF.NvdmType.COT)
    assert FF.NVDM_PAYLOAD_COMMAND_RESPONSE.unpack_from(ch.read_message()[1])[2] == 0x9F  # nothing to check against
    b = bench(synthetic_root, "gh100")
    assert b.send(b"\x00" * 8, FF.NvdmType.CAPS_QUERY) == (FF.NvdmType.CAPS_QUERY, 0xA0)
    b.gpu.models["falcon"].gsp.start_riscv()  # type: ignore[attr-defined]
    assert b.send(b.cot.pack()) == (FF.NvdmType.COT, 0x9E)
    assert "the GSP is running" in b.fsp.refusals[-1]  # type: ignore[attr-defined]


def _raw_packets(b: Bench, packets: list[bytes]) -> tuple[int, int]:
    for p in packets:
        b.channel.send_packet(p)
    _ntype, body = b.channel.read_message()
    return FF.NVDM_PAYLOAD_COMMAND_RESPONSE.unpack_from(body)[1:]  # type: ignore[return-value]


def test_framing_errors_are_answered_invalid_data(synthetic_root: Path) -> None:
    b = bench(synthetic_root)
    good = frame(b.cot.pack(), FF.NvdmType.COT, 256)  # four packets
    assert len(good) == 4
    assert _raw_packets(b, good) == (FF.NvdmType.COT, 0)  # multi-packet messages reassemble
    b = bench(synthetic_root)
    bad_seq = [good[0], good[2][:0] + mctp_header(som=False, eom=False, seid=0, seq=2).to_bytes(4, "little")
               + good[1][4:]]
    assert _raw_packets(b, bad_seq) == (FF.NvdmType.COT, 0xA1)
    assert "MCTP packet sequence 2, expected 1" in b.fsp.refusals[-1]  # type: ignore[attr-defined]
    assert _raw_packets(b, [good[1]]) == (0, 0xA1)  # a continuation with nothing started
    vendor = (mctp_header(som=True, eom=True, seid=0, seq=0).to_bytes(4, "little")
              + (nvdm_header(FF.NvdmType.COT) ^ (0x10DE << 8) ^ (0x10DF << 8)).to_bytes(4, "little") + bytes(8))
    assert _raw_packets(b, [vendor]) == (FF.NvdmType.COT, 0xA1)
    assert "vendor 0x10df (0x10de expected)" in b.fsp.refusals[-1]  # type: ignore[attr-defined]


def test_emem_ports_auto_increment_and_refuse_past_the_end(synthetic_root: Path) -> None:
    b = bench(synthetic_root)
    bar = b.gpu.bar0
    NV_PFSP_EMEMC.write(bar, i=3, blk=2, offs=5, aincw=1)
    for w in (0x11, 0x22):
        NV_PFSP_EMEMD.write(bar, w, i=3)
    c = NV_PFSP_EMEMC.read(bar, i=3)
    assert (NV_PFSP_EMEMC.blk.get(c), NV_PFSP_EMEMC.offs.get(c)) == (2, 7)
    NV_PFSP_EMEMC.write(bar, i=3, blk=2, offs=5, aincr=1)
    assert [NV_PFSP_EMEMD.read(bar, i=3) for _ in range(2)] == [0x11, 0x22]
    NV_PFSP_EMEMC.write(bar, i=0, blk=31, offs=63, aincw=1)
    NV_PFSP_EMEMD.write(bar, 1, i=0)  # the last dword of the 8 KiB EMEM
    with pytest.raises(SimViolation, match=r"EMEMD\(0\) write at EMEM 0x2000: past the 0x2000-byte EMEM"):
        NV_PFSP_EMEMD.write(bar, 2, i=0)


def test_a_packet_outside_the_channel_is_refused(synthetic_root: Path) -> None:
    b = bench(synthetic_root)
    bar = b.gpu.bar0
    NV_PFSP_QUEUE_TAIL.write(bar, 0x400, i=0)  # past RM's 1 KiB channel
    NV_PFSP_QUEUE_HEAD.write(bar, 0, i=0)
    b.channel.wait_reply()
    with pytest.raises(FspError, match="the FSP refused NVDM command 0x00"):
        from nova_core.fsp.cot import parse_response

        parse_response(*b.channel.read_message(), 0)
    assert "is not a dword packet inside RM's 0x400-byte channel" in b.fsp.refusals[-1]  # type: ignore[attr-defined]


def test_fsp_model_is_inert_before_hopper() -> None:
    gpu = SimGpu("ad102")
    assert not gpu.models["fsp"].present  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="has no FSP"):
        gpu.models["fsp"].expect_firmware("/nonexistent")  # type: ignore[attr-defined]


def test_hopper_pramin_window_is_the_xal_register() -> None:
    gpu = SimGpu("gh100")
    vram = PraminVram(gpu.bar0, gpu.vram.size, chipset=gpu.chipset)
    vram.write(0x12340000, struct.pack("<I", 0xC0FFEE))
    assert gpu.vram.read32(0x12340000) == 0xC0FFEE and vram.read(0x12340000, 4) == struct.pack("<I", 0xC0FFEE)
    with pytest.raises(SimViolation, match="GH100 moves the PRAMIN window with NV_XAL_EP_BAR0_WINDOW"):
        NV_PBUS_BAR0_WINDOW.write(gpu.bar0, base_=1)
    with pytest.raises(SimViolation, match="NV_PBUS_BAR0_WINDOW"):
        PraminVram(gpu.bar0, gpu.vram.size).write(0, b"\0\0\0\0")  # a driver unaware of the XAL window
