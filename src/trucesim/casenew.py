"""``trucesim case new NAME``: a case folder written from templates.

The folder ``NAME`` (inside ``--dir``) gets ``case.toml``, ``scenario.toml``,
``record.csv``, ``events.csv``, ``calibration.toml`` and ``README.md`` (what to fill
in), each from ``bundled/templates/case`` with the name put in. Nothing is ever
overwritten: a folder that exists and is not empty is refused, and the files are written
into a hidden folder beside it that is renamed into place at the end (an interrupted
command leaves no half-written case).
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from trucesim.scenario.errors import ConfigError
from trucesim.scenario.names import NAME_RULE, check_name

#: The template files, in the order the README lists them.
TEMPLATE_FILES = ("case.toml", "scenario.toml", "record.csv", "events.csv",
                  "calibration.toml", "README.md")


def templates_dir() -> Path:
    """Folder of the case templates."""
    return Path(str(resources.files("trucesim") / "bundled" / "templates" / "case"))


def new_case(name: str, parent: Path | str = ".") -> Path:
    """Write the case folder ``parent/name`` from the templates; return it.

    Raises:
        ConfigError: ``NAME: reason`` for a bad name, ``FOLDER: reason`` for a folder that
            exists and is not empty, or a parent that is not a folder.
    """
    try:
        check_name(name)
    except ValueError:
        raise ConfigError(name, "", f"not a valid case name: {NAME_RULE}") from None
    parent = Path(parent)
    if not parent.is_dir():
        raise ConfigError(str(parent), "", "is not a folder (--dir)")
    folder = parent / name
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(str(folder), "", "exists and is not an empty folder: nothing is "
                          "overwritten (choose another name or --dir)")
    stage = parent / f".{name}.new-case"
    if stage.exists():
        raise ConfigError(str(stage), "", "exists (left by an interrupted `case new`?): "
                          "remove it first")
    stage.mkdir()
    try:
        for file in TEMPLATE_FILES:
            text = (templates_dir() / file).read_text(encoding="utf-8")
            (stage / file).write_text(text.replace("{name}", name), encoding="utf-8")
        if folder.exists():
            folder.rmdir()  # empty (checked above)
        os.replace(stage, folder)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return folder
