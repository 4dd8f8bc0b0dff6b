"""nova_core.gsp: talking to GSP-RM - message queues, RPCs, the CPU sequencer.

- :mod:`.bindings`   generated wire formats, one module per firmware version (facts only);
- :mod:`.fw`         the version-neutral layer above them: :class:`~.fw.GspAbi`, typed commands,
                     replies and events, the packers the boot needs (WPR meta, libos arguments);
- :mod:`.cmdq`       the shared memory (PTE page, command and status queues), queue elements,
                     checksums, continuation records;
- :mod:`.rpc`        :class:`~.rpc.GspRpc`: thread-safe send, receive, event dispatch, doorbell;
- :mod:`.sequencer`  the CPU sequencer GSP-RM asks for (RUN_CPU_SEQUENCER);
- :mod:`.libos`      the libos argument page, log buffers and RMARGS.

This package file imports nothing, so that the simulated GSP-RM can read :mod:`.bindings` (facts)
without loading the driver's logic.
"""

from __future__ import annotations
