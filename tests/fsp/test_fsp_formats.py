"""The FSP's wire formats: the struct facts against NVIDIA's headers (compiled where a 570.144 tree or clone is at
hand), MCTP/NVDM framing (bit positions, packets, reassembly: round trips with hypothesis), the COT payload from the
real and synthetic FMC, the response and its error codes, and the EMEM channel's own checks."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_core.errors import FspError
from nova_core.fb.layout import fsp_frts_offset_from_end
from nova_core.firmware import FmcImage
from nova_core.fsp import facts as F
from nova_core.fsp.channel import FspChannel
from nova_core.fsp.cot import CotPayload, build_cot, pack_fmc_boot_params, parse_response
from nova_core.fsp.mctp import frame, mctp_header, nvdm_header, parse_packet, reassemble
from nova_core.gpu.chips import Chipset
from nova_core.sim import SimGpu
from nova_core.sim.synth.firmware import build_fmc
from ogkm_tree import ogkm_570_tree, ogkm_clone

PROBE = r"""
#include <stdio.h>
#include <stddef.h>
#include "nvtypes.h"
#include "gsp/gspifpub.h"
#include "fsp/nvdm_payload_cmd_response.h"
#include "gpu/fsp/kern_fsp_cot_payload.h"
#define P(t, f) printf(#t "." #f " %zu\n", offsetof(t, f))
int main(void) {
    printf("NVDM_PAYLOAD_COT %zu\nGSP_FMC_BOOT_PARAMS %zu\nMCTP_HEADER %zu\nNVDM_PAYLOAD_COMMAND_RESPONSE %zu\n",
           sizeof(NVDM_PAYLOAD_COT), sizeof(GSP_FMC_BOOT_PARAMS), sizeof(MCTP_HEADER),
           sizeof(NVDM_PAYLOAD_COMMAND_RESPONSE));
    P(NVDM_PAYLOAD_COT, gspFmcSysmemOffset); P(NVDM_PAYLOAD_COT, frtsVidmemOffset);
    P(NVDM_PAYLOAD_COT, hash384); P(NVDM_PAYLOAD_COT, publicKey); P(NVDM_PAYLOAD_COT, signature);
    P(NVDM_PAYLOAD_COT, gspBootArgsSysmemOffset);
    P(GSP_FMC_BOOT_PARAMS, bootGspRmParams.gspRmDescOffset); P(GSP_FMC_BOOT_PARAMS, bootGspRmParams.bIsGspRmBoot);
    P(GSP_FMC_BOOT_PARAMS, gspRmParams.bootArgsOffset); P(GSP_FMC_BOOT_PARAMS, gspSpdmParams.payloadBufferSize);
    return 0;
}
"""


def _ogkm_570_tree(tmp: Path) -> Path | None:
    """A 570.144 source tree: ``NOVA_OGKM_TREE``, ``ogkm/570.144`` beside the checkouts, or a ``git archive`` of
    the headers from the ``NOVA_OGKM`` clone."""
    tree = ogkm_570_tree("src/nvidia")
    if tree is not None:
        return tree
    clone = ogkm_clone()
    if clone:
        out = tmp / "ogkm"
        out.mkdir()
        paths = ["src/common/sdk/nvidia/inc", "src/nvidia/arch/nvalloc/common/inc", "src/nvidia/inc/kernel/gpu/fsp"]
        arch = subprocess.run(["git", "-C", clone, "archive", "570.144", *paths], capture_output=True, check=False)
        if arch.returncode == 0:
            subprocess.run(["tar", "-x", "-C", str(out)], input=arch.stdout, check=True)
            return out
    return None


def test_struct_facts_match_nvidias_headers(tmp_path: Path) -> None:
    tree = _ogkm_570_tree(tmp_path)
    if tree is None:
        pytest.skip("no open-gpu-kernel-modules 570.144 tree (NOVA_OGKM_TREE or NOVA_OGKM)")
    src = tmp_path / "probe.c"
    src.write_text(PROBE)
    inc = [f"-I{tree / p}" for p in ("src/common/sdk/nvidia/inc", "src/nvidia/arch/nvalloc/common/inc",
                                     "src/nvidia/inc/kernel")]
    exe = tmp_path / "probe"
    subprocess.run(["gcc", *inc, "-o", str(exe), str(src)], check=True, capture_output=True)
    got = dict(line.rsplit(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                               check=True).stdout.splitlines())
    def offset(fmt: str) -> int:  # the offset of a field = the size of the formats before it
        return struct.calcsize(fmt)

    assert int(got["NVDM_PAYLOAD_COT"]) == F.NVDM_PAYLOAD_COT.size == 860
    assert int(got["NVDM_PAYLOAD_COT.gspFmcSysmemOffset"]) == offset("<HH")
    assert int(got["NVDM_PAYLOAD_COT.frtsVidmemOffset"]) == offset("<HHQQI")
    assert int(got["NVDM_PAYLOAD_COT.hash384"]) == offset("<HHQQIQI")
    assert int(got["NVDM_PAYLOAD_COT.publicKey"]) == offset("<HHQQIQI48s")
    assert int(got["NVDM_PAYLOAD_COT.signature"]) == offset("<HHQQIQI48s384s")
    assert int(got["NVDM_PAYLOAD_COT.gspBootArgsSysmemOffset"]) == offset("<HHQQIQI48s384s384s")
    assert int(got["GSP_FMC_BOOT_PARAMS"]) == F.GSP_FMC_BOOT_PARAMS.size == 80
    assert int(got["GSP_FMC_BOOT_PARAMS.bootGspRmParams.gspRmDescOffset"]) == offset("<I4xII")
    assert int(got["GSP_FMC_BOOT_PARAMS.bootGspRmParams.bIsGspRmBoot"]) == offset("<I4xIIQQI")
    assert int(got["GSP_FMC_BOOT_PARAMS.gspRmParams.bootArgsOffset"]) == offset("<I4xIIQQIB3xI4x")
    assert int(got["GSP_FMC_BOOT_PARAMS.gspSpdmParams.payloadBufferSize"]) == offset("<I4xIIQQIB3xI4xQI4xQ")
    assert int(got["MCTP_HEADER"]) == F.MCTP_HEADER_STRUCT_SIZE
    assert int(got["NVDM_PAYLOAD_COMMAND_RESPONSE"]) == F.NVDM_PAYLOAD_COMMAND_RESPONSE.size


def test_mctp_and_nvdm_header_bits() -> None:
    # fsp_mctp_format.h: SOM 31, EOM 30, SEQ 29:28, SEID 23:16; message type 6:0, vendor 23:8, NVDM type 31:24
    assert mctp_header(som=True, eom=True, seid=0, seq=0) == 0xC0000000
    assert mctp_header(som=False, eom=True, seid=1, seq=7) == 0x70010000
    assert nvdm_header(F.NvdmType.COT) == 0x1410DE7E
    packets = frame(b"\xaa" * 860, F.NvdmType.COT, 1024)
    assert len(packets) == 1 and len(packets[0]) == 868
    assert packets[0][:8] == bytes.fromhex("000000c0" "7ede1014")
    assert F.nvdm_to_seid(F.NvdmType.INFOROM) == 1 and F.nvdm_to_seid(F.NvdmType.COT) == 0


@settings(max_examples=200, deadline=1000)
@given(payload=st.binary(max_size=3000), size=st.sampled_from([16, 64, 256, 1024]),
       nvdm=st.sampled_from(list(F.NvdmType)))
def test_framing_round_trips(payload: bytes, size: int, nvdm: F.NvdmType) -> None:
    packets = frame(payload, nvdm, size)
    assert all(len(p) <= size for p in packets)
    parsed = [parse_packet(p) for p in packets]
    assert parsed[0].som and parsed[-1].eom and sum(p.eom for p in parsed) == 1
    assert [p.seq for p in parsed] == [i % 4 for i in range(len(parsed))]
    # a received message's payload starts at the NVDM type byte (kfspReadMessage): the sender's payload follows it
    nvdm_type, body = reassemble(parsed)
    assert nvdm_type == nvdm and body == payload


@settings(max_examples=200, deadline=1000)
@given(data=st.binary(max_size=64))
def test_any_received_packet_parses_or_is_one_fsp_error(data: bytes) -> None:
    try:
        p = parse_packet(data)
    except FspError as e:
        assert "FSP packet" in str(e)
        return
    assert p.body == (data[8:] if p.som else data[4:])


def test_reassembly_errors() -> None:
    a, b, c = [parse_packet(x) for x in frame(bytes(100), F.NvdmType.COT, 48)][:3]
    with pytest.raises(FspError, match="does not begin with a start-of-message"):
        reassemble([b])
    with pytest.raises(FspError, match="packet 1: MCTP sequence expected 1, found 2"):
        reassemble([a, c])
    with pytest.raises(FspError, match="has no end of message"):
        reassemble([a, b])
    with pytest.raises(FspError, match="a second start of message"):
        reassemble([a, a])
    with pytest.raises(FspError, match="vendor id expected 0x10de, found 0x1234"):
        parse_packet(bytes.fromhex("000000c0" "7e341214") + bytes(4))
    with pytest.raises(FspError, match="message type expected 0x7e"):
        parse_packet(bytes.fromhex("000000c0" "7fde1014") + bytes(4))


def test_frts_offsets_from_the_end_of_fb() -> None:
    # OpenRM kfspPrepareBootCommands_GH100: GH100 the 2 MiB estimate; Blackwell 0x220000 + 4 KiB + the PMU's
    # 0x1820000, aligned up to 2 MiB = 0x1c00000 (what nouveau and tinygrad send)
    assert fsp_frts_offset_from_end(Chipset.GH100) == 0x200000
    assert {fsp_frts_offset_from_end(c) for c in (Chipset.GB100, Chipset.GB102, Chipset.GB202, Chipset.GB207)} == \
        {0x1C00000}


@pytest.mark.parametrize("chip", [Chipset.GH100, Chipset.GB100, Chipset.GB202])
def test_cot_payload_from_the_synthetic_fmc(chip: Chipset) -> None:
    fmc = FmcImage(build_fmc(chip).data, "synthetic")
    cot = build_cot(chip, fmc, 0x1_2345_6000, 0x1_0000_7000)
    raw = cot.pack()
    assert len(raw) == 860 and CotPayload.unpack(raw) == cot
    assert int.from_bytes(raw[0:2], "little") == chip.facts.cot_version
    assert int.from_bytes(raw[2:4], "little") == 860
    assert int.from_bytes(raw[4:12], "little") == 0x1_2345_6000
    assert raw[12:24] == bytes(12)  # FRTS in sysmem: disabled for a GSP-RM driver
    assert int.from_bytes(raw[24:32], "little") == fsp_frts_offset_from_end(chip)
    assert int.from_bytes(raw[32:36], "little") == 0x100000
    assert raw[36:84] == bytes(fmc.hash)
    n, m = chip.facts.cot_public_key_size, chip.facts.cot_signature_size
    assert raw[84:84 + n] == bytes(fmc.public_key) and raw[84 + n:468] == bytes(384 - n)
    assert raw[468:468 + m] == bytes(fmc.signature) and raw[468 + m:852] == bytes(384 - m)
    assert int.from_bytes(raw[852:860], "little") == 0x1_0000_7000
    with pytest.raises(FspError, match="expected 860"):
        CotPayload.unpack(raw[:-1])


@pytest.mark.artifacts
@pytest.mark.parametrize("chip", ["gh100", "gb100", "gb202"])
def test_cot_payload_from_the_real_fmc(firmware_570_path: Path, chip: str) -> None:
    c = Chipset.parse(chip)
    fmc = FmcImage.open(firmware_570_path / "nvidia" / chip / "gsp" / "fmc-570.144.bin")
    raw = build_cot(c, fmc, 0x1000, 0x2000).pack()
    assert raw[36:84] == bytes(fmc.hash) and raw[84:84 + fmc.public_key.nbytes] == bytes(fmc.public_key)
    with pytest.raises(Exception, match="SEC2 booter"):
        build_cot(Chipset.AD102, fmc, 0x1000, 0x2000)


def test_fmc_boot_params_layout() -> None:
    raw = pack_fmc_boot_params(wpr_meta_bus=0x1_0000_1000, wpr_meta_size=0x100, libos_args_bus=0x1_0000_2000)
    v = dict(zip(F.GSP_FMC_BOOT_PARAMS_FIELDS, F.GSP_FMC_BOOT_PARAMS.unpack(raw), strict=True))
    assert v["bootGspRmParams_target"] == F.GspDmaTarget.COHERENT_SYSTEM and v["bootGspRmParams_bIsGspRmBoot"] == 1
    assert (v["bootGspRmParams_gspRmDescOffset"], v["bootGspRmParams_gspRmDescSize"]) == (0x1_0000_1000, 0x100)
    assert v["gspRmParams_bootArgsOffset"] == 0x1_0000_2000 and v["regkeys"] == v["gspSpdmParams_target"] == 0


def _response(task: int, cmd: int, code: int) -> bytes:
    return F.NVDM_PAYLOAD_COMMAND_RESPONSE.pack(task, cmd, code)


def test_responses() -> None:
    ok = parse_response(F.NvdmType.FSP_RESPONSE, _response(7, F.NvdmType.COT, 0), F.NvdmType.COT)
    assert (ok.task_id, ok.error_name) == (7, "FSP_OK")
    with pytest.raises(FspError, match="NVDM type 0x14: expected FSP_RESPONSE 0x15"):
        parse_response(F.NvdmType.COT, b"", F.NvdmType.COT)
    with pytest.raises(FspError, match="response payload of 11 bytes: expected 12"):
        parse_response(F.NvdmType.FSP_RESPONSE, bytes(11), F.NvdmType.COT)
    with pytest.raises(FspError, match="commandNvdmType 0x16: expected 0x14"):
        parse_response(F.NvdmType.FSP_RESPONSE, _response(0, 0x16, 0), F.NvdmType.COT)
    with pytest.raises(FspError, match=r"errorCode 0xa0 \(FSP_IFS_ERR_NOT_SUPPORTED; OpenRM: NV_ERR_GENERIC\)") as ei:
        parse_response(F.NvdmType.FSP_RESPONSE, _response(0, F.NvdmType.COT, 0xA0), F.NvdmType.COT)
    assert ei.value.code == 0xA0


class _StuckEmem:
    """A BAR whose FSP EMEMC never advances (a broken auto-increment)."""

    def __init__(self, bar: object) -> None:
        self.bar = bar

    def __getattr__(self, name: str) -> object:
        return getattr(self.bar, name)

    def write32(self, off: int, value: int) -> None:
        from nova_core.regs.fsp import NV_PFSP_EMEMD

        if off == NV_PFSP_EMEMD.addr(i=0):
            return  # swallowed: EMEMC does not move
        self.bar.write32(off, value)  # type: ignore[attr-defined]


def test_channel_checks() -> None:
    gpu = SimGpu("gh100")
    ch = FspChannel(gpu.bar0, gpu.clock)
    with pytest.raises(FspError, match="FSP packet of 1025 bytes: the channel takes 1..1024"):
        ch.send_packet(bytes(1025))
    with pytest.raises(FspError, match=r"EMEM write \[0x3fc, \+0x8\) is outside the 0x400-byte channel 0"):
        ch.emem_write(0x3FC, bytes(8))
    stuck = FspChannel(_StuckEmem(gpu.bar0), gpu.clock)  # type: ignore[arg-type]
    with pytest.raises(FspError, match="EMEM auto-increment did not work"):
        stuck.emem_write(0, bytes(16))
    with pytest.raises(FspError, match=r"no FSP reply to read \(MSGQ_HEAD = MSGQ_TAIL = 0x0\)"):
        ch.read_packet()
