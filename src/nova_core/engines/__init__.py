"""nova_core.engines: work submission on a booted GPU - channels, pushbuffers, fences, the copy and GR engines.

==============  ================================================================================================
module          what
==============  ================================================================================================
``facts``       class ids per chip (:func:`~.facts.classes_for`), host (GPFIFO class) and copy-engine method
                offsets, the GPFIFO entry and pushbuffer method-header formats, RAMFC/USERD offsets, RC codes -
                all from NVIDIA's class headers (``clc46f.h`` ... ``clcab5.h``, ``dev_ram.h``)
``pushbuf``     :class:`~.pushbuf.Pushbuffer`: methods by name, encoded with the class's headers
``fifo``        :class:`~.fifo.Fifo` (``gpu.channels``): engines/runlists from GSP-RM, channel ids, channel
                groups, :class:`~.fifo.Channel` (submit, fences, errors), recovery
``vaspace``     :class:`~.vaspace.AddressSpace` (FERMI_VASPACE_A, page tables built by the driver with
                :class:`~nova_core.mm.vmm.Vmm`) and its :class:`~.vaspace.Buffer` s in VRAM or system memory
``fence``       :class:`~.fence.Fence` (a channel's semaphore timeline value), woken by the engine's non-stall
                interrupt (:class:`~.fence.NonStall`, fed by ``gpu.nonstall`` while the channel is open)
``ce``          :class:`~.ce.CopyEngine`: linear and pitch copies, fills, each ending in a semaphore release
``gr/``         the GR engine (:mod:`.gr`): GSP-RM's context-buffer description, the golden context made once per
                device, each channel's context promoted, the compute class on a channel (``channel.compute()``)
==============  ================================================================================================

From a REPL::

    gpu = nova_core.boot_sim("ga102")
    with gpu.channels.open("ce0") as ch:                  # a channel on copy engine 0 (its own address space)
        src = ch.vaspace.alloc_sysmem(1 << 20); src.write(data)
        dst = ch.vaspace.alloc_vram(1 << 20)
        ch.copy_engine().copy(dst, src, 1 << 20).wait()
        assert dst.read() == data                        # read back through BAR2, a path the CE did not use
    with gpu.channels.open("gr0") as ch:                  # a channel on GR: its context promoted on first use
        ch.compute().fence().wait()                      # released by the compute class's report semaphore

The simulated GPU that executes all this - doorbell, GPFIFO and pushbuffer fetches through the channel's page
tables, methods, copies, semaphores, faults - is :mod:`nova_core.sim.engines` (the driver never imports it).
"""
