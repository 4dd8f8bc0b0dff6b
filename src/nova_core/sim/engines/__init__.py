"""nova_core.sim.engines: the simulated GPU's engines that execute channel work.

- :mod:`.host`    runlists, channels, the usermode doorbell and the PBDMA (GPFIFO and pushbuffer fetch,
  method decode, host methods, semaphores); attached as ``gpu.models["fifo"]`` (:mod:`nova_core.sim.models.fifo`);
- :mod:`.ce`      the copy engine: its methods, LAUNCH_DMA (pitch copies, memsets) and semaphore releases;
- :mod:`.gr`      the GR engine: the compute class's report semaphores (shader launches refused);
- :mod:`.memory`  engine access to memory through a channel's VA space (the simulated MMU's walk) or physically;
- :mod:`.errors`  :class:`~.errors.ChannelStop`, the channel error an engine raises.

Like every model, these import facts (:mod:`nova_core.engines.facts`, registers, chips) but no driver logic.
"""
