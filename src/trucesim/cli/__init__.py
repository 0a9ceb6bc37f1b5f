"""The ``trucesim`` command line: one command with subcommands."""
