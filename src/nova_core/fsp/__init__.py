"""nova_core.fsp: the FSP, Hopper's and Blackwell's root of trust, and the chain-of-trust boot of GSP-RM through it.

- :mod:`.facts`    MCTP/NVDM headers, NVDM types, ``NVDM_PAYLOAD_COT``, the command response and its error codes,
                   ``GSP_FMC_BOOT_PARAMS`` (facts only; the registers are in :mod:`nova_core.regs.fsp`);
- :mod:`.mctp`     framing a message into packets and reassembling the reply (pure functions);
- :mod:`.channel`  RM's EMEM channel: EMEMC/EMEMD with auto-increment, the command and message queues, messages;
- :mod:`.cot`      the chain-of-trust payload built from the GSP-FMC, the FMC's boot arguments, the response;
- :mod:`.boot`     the boot stages (``wpr-meta`` .. ``gsp-active``) and the unload.

From a REPL, on a simulated GH100::

    >>> from nova_core import boot_sim
    >>> gpu = boot_sim("gh100", firmware_version="570.144")
    >>> gpu.chain.response.error_code, [s.name for s in gpu.chain.stages]
    (0, ['wpr-meta', 'fmc-load', 'fsp-cot', 'gsp-lockdown', 'gsp-active'])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .boot import (
        FSP_LOAD_STAGES,
        FSP_UNLOAD_STAGES,
        FspChainResult,
        FspUnloadResult,
        run_fsp_chain,
        unload_fsp_chain,
    )
    from .channel import FspChannel
    from .cot import CommandResponse, CotPayload, build_cot, pack_fmc_boot_params, parse_response

__getattr__, __dir__ = lazy_exports(__name__, {
    "FSP_LOAD_STAGES": ".boot",
    "FSP_UNLOAD_STAGES": ".boot",
    "FspChainResult": ".boot",
    "FspUnloadResult": ".boot",
    "run_fsp_chain": ".boot",
    "unload_fsp_chain": ".boot",
    "FspChannel": ".channel",
    "CommandResponse": ".cot",
    "CotPayload": ".cot",
    "build_cot": ".cot",
    "pack_fmc_boot_params": ".cot",
    "parse_response": ".cot",
})

__all__ = [
    "FSP_LOAD_STAGES",
    "FSP_UNLOAD_STAGES",
    "CommandResponse",
    "CotPayload",
    "FspChainResult",
    "FspChannel",
    "FspUnloadResult",
    "build_cot",
    "pack_fmc_boot_params",
    "parse_response",
    "run_fsp_chain",
    "unload_fsp_chain",
]
