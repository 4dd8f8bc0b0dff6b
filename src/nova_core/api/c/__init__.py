"""nova_core.api.c: the C API - ``libnova.so`` and ``nova.h``, for NVIDIA's vGPU manager (which is C).

``build`` writes them with cffi's embedding mode (``./dev build-c``: ``build/c/include/nova.h``,
``build/c/lib/libnova.so``); ``impl`` is the Python each C function calls. See :mod:`nova_core.api.c.build` for
how a call crosses the boundary and :mod:`nova_core.api.c.impl` for the sessions and error codes.
"""
