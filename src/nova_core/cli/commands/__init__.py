"""nova_core.cli.commands: one module per ``nova`` subcommand, each with ``register(app)``."""
