"""The commands that read and list files: ``scenarios`` and ``cases`` (the bundled ones),
``case new`` (a case folder from templates), ``check`` (validate a file), ``params`` (the
parameter table) and ``regimes`` (the presets)."""

from __future__ import annotations

import argparse
from pathlib import Path

from trucesim.cli.registry import Action, UsageError, arg, command


@command("scenarios", "list the bundled scenarios")
def _cmd_scenarios(args: argparse.Namespace) -> int:
    from trucesim.scenario.load import bundled_scenarios, load_scenario

    for name, path in bundled_scenarios().items():
        s = load_scenario(path)
        first = " ".join(s.description.split()).split(". ")[0].split(": ")[0].rstrip(".")
        variants = f" [variants: {', '.join(s.variants)}]" if s.variants else ""
        print(f"{name:32s} {s.start}..{s.end}  {first}.{variants}")
    return 0


@command("cases", "list the bundled cases")
def _cmd_cases(args: argparse.Namespace) -> int:
    from trucesim.cases import bundled_cases, load_case

    for name, path in bundled_cases().items():
        c = load_case(path)
        first = " ".join(c.spec.description.split()).split(". ")[0].split(": ")[0].rstrip(".")
        print(f"{name:24s} as of {c.as_of}  {first}. [branches: "
              f"{', '.join(c.branch_scenario.variants)}; status quo "
              f"{c.spec.branches.status_quo}]")
    return 0


@command("case", "bring your own case: 'case new NAME' writes a case folder from templates",
         actions=[Action("new", "write a case folder NAME from templates (refuses to "
                         "overwrite anything)", (
             arg("name", help="the case's name, also its folder (letters, digits, '.', '_', "
                 "'-')"),
             arg("--dir", type=Path, default=Path("."),
                 help="the folder to create it in (default: here)"),
         ))])
def _cmd_case_new(args: argparse.Namespace) -> int:
    from trucesim.casenew import new_case

    folder = new_case(args.name, args.dir)
    print(f"wrote {folder}/: case.toml, scenario.toml, record.csv, events.csv, "
          "calibration.toml, README.md; fill them in (README.md says what), then "
          f"`trucesim check {folder}`")
    return 0


@command("check", "validate a scenario file, or a case and every file it names, without "
         "running it", [
    arg("file", help="scenario file or bundled name, or a case (case.toml, its "
        "folder or a bundled case's name)"),
])
def _cmd_check(args: argparse.Namespace) -> int:
    from trucesim.cases import is_case, load_case
    from trucesim.scenario.load import load_scenario

    if is_case(args.file):
        c = load_case(args.file)
        if c.spec.calibration.nowcast or c.spec.calibration.hindcast:
            from trucesim.calibration.problem import load_calibration

            for spec in (c.spec.calibration.hindcast, c.spec.calibration.nowcast):
                if spec is not None:
                    load_calibration(c.file(spec, "calibration"))
        fitted = len(c.rows_until())
        print(f"{c.path}: ok: case {c.name}, as of {c.as_of}"
              + (f" (hindcast cutoff {c.spec.hindcast_cutoff})" if c.spec.hindcast_cutoff
                 else "")
              + f"; scenario {c.scenario.name} {c.scenario.start} to {c.scenario.end}; record "
              f"{len(c.record)} rows ({fitted} up to the as-of date, {len(c.record) - fitted} "
              f"after it, shown only); {len(c.events)} events; branches "
              f"{', '.join(c.branch_scenario.variants)} to {c.branch_scenario.end} (status quo "
              f"{c.spec.branches.status_quo})")
        return 0
    s = load_scenario(args.file)
    print(
        f"{s.source}: ok: {s.name}, {s.start} to {s.end}, {len(s.phases)} phases, "
        f"{len(s.events)} events, {len(s.variants)} variants, {s.world.cliques} cliques"
    )
    return 0


@command("params", "print the table of every parameter (or those matching)", [
    arg("filter", nargs="?", default=None,
        help="show only parameters whose path or meaning contains this text "
        "(case-insensitive), e.g. 'violence' or 'recruit'"),
])
def _cmd_params(args: argparse.Namespace) -> int:
    from trucesim.scenario.load import bundled_fit
    from trucesim.scenario.params import parameter_table_markdown

    table = parameter_table_markdown(bundled_fit())
    if args.filter:
        head, rows = table.splitlines()[:2], table.splitlines()[2:]
        want = args.filter.lower()
        rows = [r for r in rows if want in " ".join(r.split(" | ")[:2]).lower()]
        if not rows:
            raise UsageError(f"params: no parameter's path or meaning contains {args.filter!r}")
        table = "\n".join(head + rows)
    print(table)
    return 0


@command("regimes", "list the policy regime presets")
def _cmd_regimes(args: argparse.Namespace) -> int:
    from trucesim.scenario.regimes import PRESET_DESCRIPTIONS, preset_table

    for name, text in PRESET_DESCRIPTIONS.items():
        print(f"{name:20s} {text}")
    print("\nValues of each preset (any field can be overridden per phase):\n")
    print(preset_table())
    return 0
