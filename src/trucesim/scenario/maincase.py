"""The main case's file, read without loading it: its dates and the files it names.

The main job (``trucesim run`` with no argument) runs the case named by the bundled
``cases/main.toml``. A few defaults below the case layer need its dates or its record
(the default record of ``load_observed``, the hindcast cutoff of ``trucesim validate``):
they read them here, so that no case's name or date is written in code.
:func:`trucesim.cases.load_case` checks the whole case.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.files import named_path, read_text

#: The file that makes a folder a case.
CASE_FILE = "case.toml"
#: The bundled file naming the main job's case.
MAIN_CASE_FILE = "main.toml"


def bundled_cases_dir() -> Path:
    """Folder of the bundled cases (one folder each) and of ``main.toml``."""
    return Path(str(resources.files("trucesim") / "bundled" / "cases"))


def bundled_cases() -> dict[str, Path]:
    """The bundled cases' files by case name (folder name)."""
    return {p.parent.name: p for p in sorted(bundled_cases_dir().glob(f"*/{CASE_FILE}"))}


def _toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from None


def main_case_path() -> Path:
    """The case file of the main job, named by the bundled ``cases/main.toml``."""
    path = bundled_cases_dir() / MAIN_CASE_FILE
    name = _toml(path).get("case")
    cases = bundled_cases()
    if name not in cases:
        raise ConfigError(str(path), "case", f"{name!r} is not a bundled case (valid: "
                          f"{', '.join(cases)})")
    return cases[name]


@cache
def _main() -> tuple[Path, dict[str, Any]]:
    path = main_case_path()
    return path, _toml(path)


def main_case_date(key: str) -> dt.date:
    """The main case's date at ``key`` (``as_of`` or ``hindcast_cutoff``)."""
    path, data = _main()
    value = data.get(key)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ConfigError(str(path), key, "missing or not a date (YYYY-MM-DD)")
    return value


def main_case_file(key: str) -> Path:
    """The file the main case names at dotted ``key`` (``record``, ``events``,
    ``scenario``, ``branches.scenario``)."""
    path, data = _main()
    spec: Any = data
    for part in key.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    if not isinstance(spec, str):
        raise ConfigError(str(path), key, "missing or not a file name")
    return named_path(spec, path, key)
