"""The ``trucesim`` command line: the wiring.

The commands and their arguments are declared in :mod:`trucesim.cli.commands` (one
module per job), on the registry of :mod:`trucesim.cli.registry`, which holds the options
they share and checks them once. This module builds the parser from the registry, runs
the command and turns what went wrong into one line and an exit status: bad input stops
before any simulation with ``file: key.path: reason`` and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import trucesim.cli.commands  # noqa: F401  (registers every command)
from trucesim.cli.registry import COMMANDS, UsageError, build_parser
from trucesim.scenario.errors import ConfigError

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    from trucesim import __version__

    return build_parser("trucesim", "Agent-based simulation of gang truces: leaders, cliques "
                        "and police.", f"trucesim {__version__}")


def _announce_compilation(command: str) -> None:
    """Tell the user, before a simulating command's first run on a machine, that the
    model compiles now (once; later runs load it from the cache)."""
    if not COMMANDS[command].simulates:
        return
    from trucesim.core.day import simulate_days
    from trucesim.numerics.jit import first_use_note

    note = first_use_note(simulate_days)
    if note:
        print(note, file=sys.stderr)
        from trucesim.cli import warm

        warm.start()  # the other core, if idle, compiles the day from the other end


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``trucesim`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    cmd = COMMANDS[args.command]
    if cmd.draws:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, no display needed
    try:
        cmd.check(args)  # the shared options: one line, exit 2, before anything runs
        _announce_compilation(args.command)
        status = args.func(args)
        sys.stdout.flush()  # a closed pipe is reported here, not at interpreter exit
        return status
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: say so once, without a traceback
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: output closed early (broken pipe); what was written before is "
              "complete", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, _INPUT_ERRORS) else 1
    except KeyboardInterrupt:
        print(f"interrupted: {cmd.interrupted}", file=sys.stderr)
        return 130


#: OSErrors that come from what the user asked for (exit 2) rather than the machine (1).
_INPUT_ERRORS = (PermissionError, FileExistsError, NotADirectoryError, IsADirectoryError,
                 FileNotFoundError)

def _os_error(exc: OSError) -> str:
    """One line for a failed file operation: the file, then why."""
    import errno

    why = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        why += " (the disk or the file size limit is full; nothing half-written is kept)"
    if exc.filename is None:
        return f"writing the results failed: {why}"
    return f"{exc.filename}: {why}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
