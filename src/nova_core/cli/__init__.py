"""nova_core.cli: the ``nova`` command.

:mod:`.main` builds the typer application and turns every :class:`~nova_core.errors.NovaError` into one
line on stderr and exit status 1 (``--traceback`` for the whole story). Each subcommand lives in its
own module under :mod:`.commands` and registers itself with ``register(app)``; shared option handling
(which device to open, JSON output) is in :mod:`.common`.
"""
