"""Regenerate the parameter table in README.md from src/trucesim/params.py.

Run: .venv/bin/python tools/update_readme_params.py   (tests/test_docs.py checks it is current)
"""

from __future__ import annotations

import re
from pathlib import Path

from trucesim.scenario.load import bundled_fit
from trucesim.scenario.params import parameter_table_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- parameter-table:start -->", "<!-- parameter-table:end -->"


def render(text: str) -> str:
    """README text with the table between the markers replaced by the generated one."""
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{parameter_table_markdown(bundled_fit())}\n{END}", text)


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    print(f"updated {README}")
