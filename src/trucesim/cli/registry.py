"""The command registry of the ``trucesim`` command line, and its shared options.

A command is a function ``(args) -> exit status`` registered with :func:`command`, which
declares its arguments (:class:`Arg`, or the shared options below), whether it simulates
(it announces the model's first-use compilation), whether it draws figures (matplotlib's
non-interactive Agg backend) and what an interrupted run leaves. The parser is built
from the registry (:func:`build_parser`), in the order the commands were registered.

The shared options are written once: ``--workers`` (:func:`workers`), ``-n/--replicates``
(:func:`replicates`), ``--seed`` (:func:`seed`, :func:`trucesim.seeds.parse_seed`),
``--out`` and ``--force``. A count below its minimum is refused after parsing, before
the command runs, in one line (``error: --workers: must be at least 1``, exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trucesim.seeds import parse_seed


class UsageError(Exception):
    """A problem with the command line itself (exit 2)."""


@dataclass(frozen=True)
class Arg:
    """One argument, as ``parser.add_argument(*flags, **kwargs)`` takes it."""

    flags: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    def add(self, parser: argparse.ArgumentParser) -> None:
        """Add the argument to ``parser``."""
        parser.add_argument(*self.flags, **self.kwargs)

    def check(self, args: argparse.Namespace) -> None:
        """Refuse a parsed value in one line (:class:`UsageError`); plain arguments
        have nothing to check."""


def arg(*flags: str, **kwargs: Any) -> Arg:
    """An argument of one command (the arguments of ``parser.add_argument``)."""
    return Arg(flags, kwargs)


@dataclass(frozen=True)
class Count(Arg):
    """A whole-number option with a minimum, checked after parsing (one line, exit 2)."""

    minimum: int = 1

    def check(self, args: argparse.Namespace) -> None:
        """Refuse a value below the minimum (:class:`UsageError`)."""
        value = getattr(args, self.kwargs.get("dest") or self.flags[0].lstrip("-").replace(
            "-", "_"))
        if value is not None and value < self.minimum:
            raise UsageError(f"{self.flags[0]}: must be at least {self.minimum}")


def _bounded_int(name: str, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low} to {high}")
        return value

    parse.__name__ = name
    return parse


def _seed_type(text: str) -> int:
    try:
        return parse_seed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_seed_type.__name__ = "seed"
dpi_type = _bounded_int("dpi", 10, 1200)
#: The most particles a nowcast, a case's branches or a backtest takes.
MAX_PARTICLES = 20_000
particles_type = _bounded_int("particles", 1, MAX_PARTICLES)


def date_type(text: str):
    """A ``YYYY-MM-DD`` date argument."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


# ---------------------------------------------------------------------------- shared options
def workers(help: str = "worker processes (default: CPUs)") -> Count:
    """``--workers N``: at least 1."""
    return Count(("--workers",), {"type": int, "default": None, "help": help}, minimum=1)


def replicates(default: int | None = None, help: str = "", minimum: int = 1) -> Count:
    """``-n/--replicates N``: at least ``minimum``."""
    return Count(("--replicates", "-n"), {"type": int, "default": default, "help": help},
                 minimum=minimum)


def seed(help: str = "root seed, 0 to 2**63-1 (default: the scenario's)") -> Arg:
    """``--seed S``: 0 to 2**63-1 (:func:`trucesim.seeds.parse_seed`)."""
    return arg("--seed", type=_seed_type, default=None, help=help)


def out(help: str) -> Arg:
    """``--out FOLDER``: the results folder."""
    return arg("--out", type=Path, default=None, help=help)


def force(help: str) -> Arg:
    """``--force``: replace a result made with other settings."""
    return arg("--force", action="store_true", help=help)


# ---------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Command:
    """A registered command."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    args: tuple[Arg, ...] = ()
    simulates: bool = False
    draws: bool = False
    interrupted: str = "nothing was written"
    build: Callable[[argparse.ArgumentParser], None] | None = None

    def check(self, args: argparse.Namespace) -> None:
        """Refuse bad shared options in one line, before the command runs."""
        for a in self.args:
            a.check(args)


#: The commands, in the order they were registered (the order ``--help`` lists them).
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, args: Sequence[Arg] = (), *, simulates: bool = False,
            draws: bool = False, interrupted: str = "nothing was written",
            build: Callable[[argparse.ArgumentParser], None] | None = None):
    """Register the decorated function as command ``name`` (see the module's docstring);
    ``build`` adds what :class:`Arg` cannot say (sub-commands)."""
    def register(func: Callable[[argparse.Namespace], int]):
        if name in COMMANDS:
            raise ValueError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(name, help, func, tuple(args), simulates, draws, interrupted,
                                 build)
        return func

    return register


def build_parser(prog: str, description: str, version: str) -> argparse.ArgumentParser:
    """The parser of every registered command."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--version", action="version", version=version)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for c in COMMANDS.values():
        cp = sub.add_parser(c.name, help=c.help)
        for a in c.args:
            a.add(cp)
        if c.build is not None:
            c.build(cp)
        cp.set_defaults(func=c.run)
    return p
