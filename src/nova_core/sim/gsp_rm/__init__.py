"""nova_core.sim.gsp_rm: the simulated GSP-RM (see :mod:`.model`).

- :mod:`.model`    :class:`SimGspRm`: boot from the libos arguments, the command loop, the RPCs, faults;
- :mod:`.wire`     its own reading and writing of the message queues (checksums, elements, pointers);
- :mod:`.objects`  the resource server: clients, devices, subdevices, handles;
- :mod:`.fifo`     VA spaces, channel groups, channels, copy-engine objects, robust-channel recovery;
- :mod:`.gr`       the GR engine: context-buffer description, promotion, the golden context, GR objects;
- :mod:`.static`   plausible GspStaticConfigInfo per chip;
- :mod:`.logs`     the libos log rings and the sim's log-format section.
"""

from __future__ import annotations

from .model import FAULTS, SimGspRm, parse_registry

__all__ = ["FAULTS", "SimGspRm", "parse_registry"]
