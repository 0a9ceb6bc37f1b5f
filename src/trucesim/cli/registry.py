"""The command registry of the ``trucesim`` command line, and its shared options.

A command is a function ``(args) -> exit status`` registered with :func:`command`, which
declares its arguments (:class:`Arg`, or the shared options below), its actions if it
has any (:class:`Action`: ``trucesim case new``), whether it simulates (it announces the
model's first-use compilation), whether it draws figures (matplotlib's non-interactive
Agg backend) and what an interrupted run leaves. The parser is built from the registry
(:func:`build_parser`), in the order the commands were registered.

The shared options are written once: ``--workers`` (:func:`workers`), ``-n/--replicates``
(:func:`replicates`), ``--seed`` (:func:`seed`, :func:`trucesim.seeds.parse_seed`),
``--out``, ``--force``, ``--particles``, ``--drift`` and ``--state-noise`` (with their
values' one check, :func:`drift_setting` and :func:`state_noise_setting`), ``--backend``,
``--scheduler``, ``--variant``, ``--posterior [FILE]`` and the ``case`` argument. A count
below its minimum is refused after parsing, before the command runs, in one line
(``error: --workers: must be at least 1``, exit 2).
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


def particles(help: str) -> Arg:
    """``--particles N``: 1 to :data:`MAX_PARTICLES`, checked while parsing."""
    return arg("--particles", type=particles_type, default=None, help=help)


def case_arg(help: str = "case.toml, its folder or a bundled case's name (default: the "
             "main job's case)") -> Arg:
    """The optional ``case`` argument: a case file, its folder or a bundled case's name."""
    return arg("case", nargs="?", default=None, help=help)


def variant(help: str) -> Arg:
    """``--variant NAME``: one variant of the scenario."""
    return arg("--variant", default=None, help=help)


def posterior(help: str, default: object = None) -> Arg:
    """``--posterior [FILE]``: draw parameters from a posterior file (alone: ``True``, the
    scenario's own)."""
    return arg("--posterior", nargs="?", const=True, default=default, metavar="FILE",
               help=help)


def backend(default: str | None = None) -> Arg:
    """``--backend process|dask``."""
    return arg("--backend", choices=["process", "dask"], default=default,
               help="local processes (default) or Dask")


def scheduler(help: str = "Dask scheduler address (default: a local Dask cluster)") -> Arg:
    """``--scheduler ADDRESS``: a Dask scheduler."""
    return arg("--scheduler", default=None, help=help)


def drift(help: str) -> Arg:
    """``--drift SETTING``: the nowcast's parameter drift; its value: :func:`drift_setting`."""
    return arg("--drift", default=None, metavar="SETTING", help=help)


def state_noise(help: str) -> Arg:
    """``--state-noise SETTING``: the nowcast's latent-state noise; its value:
    :func:`state_noise_setting`."""
    return arg("--state-noise", default=None, metavar="SETTING", dest="state_noise",
               help=help)


def _setting(flag: str, text: str | None, default: str, check: Callable[[str], str]) -> str:
    """A nowcast setting's value (``default`` when not given), or a one-line usage error
    naming ``flag`` (``check`` raises ValueError for a value it does not know)."""
    try:
        return check(default if text is None else text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def drift_setting(text: str | None) -> str:
    """The ``--drift`` setting (``text``, or the default when not given).

    Raises:
        UsageError: a setting :func:`trucesim.calibration.drift.check_mode` does not know.
    """
    from trucesim.calibration.drift import DEFAULT_DRIFT, check_mode

    return _setting("--drift", text, DEFAULT_DRIFT, check_mode)


def state_noise_setting(text: str | None) -> str:
    """The ``--state-noise`` setting (``text``, or the default when not given).

    Raises:
        UsageError: a setting :func:`trucesim.calibration.state_noise.check_mode` does
            not know.
    """
    from trucesim.calibration.state_noise import DEFAULT_STATE_NOISE, check_mode

    return _setting("--state-noise", text, DEFAULT_STATE_NOISE, check_mode)


# ---------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Action:
    """An action of a command (``trucesim case new``): its name, help and arguments."""

    name: str
    help: str
    args: tuple[Arg, ...] = ()


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
    actions: tuple[Action, ...] = ()

    def check(self, args: argparse.Namespace) -> None:
        """Refuse bad shared options in one line, before the command runs."""
        for a in self.args:
            a.check(args)
        for action in self.actions:
            if getattr(args, f"{self.name}_command") == action.name:
                for a in action.args:
                    a.check(args)


#: The commands, in the order they were registered (the order ``--help`` lists them).
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, args: Sequence[Arg] = (), *, simulates: bool = False,
            draws: bool = False, interrupted: str = "nothing was written",
            actions: Sequence[Action] = ()):
    """Register the decorated function as command ``name`` (see the module's docstring);
    with ``actions``, one of them must follow the command (its name in
    ``args.<name>_command``)."""
    def register(func: Callable[[argparse.Namespace], int]):
        if name in COMMANDS:
            raise ValueError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(name, help, func, tuple(args), simulates, draws, interrupted,
                                 tuple(actions))
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
        if c.actions:
            actions = cp.add_subparsers(dest=f"{c.name}_command", required=True,
                                        metavar="ACTION")
            for action in c.actions:
                ap = actions.add_parser(action.name, help=action.help)
                for a in action.args:
                    a.add(ap)
        cp.set_defaults(func=c.run)
    return p
