"""The README's parameter table is the one generated from the code, and every parameter
has a unit and a source (a reference or "assumption")."""

from __future__ import annotations

import importlib.util

from trucesim.scenario.params import parameter_rows

from .conftest import REPO


def test_readme_parameter_table_is_current():
    spec = importlib.util.spec_from_file_location("upd", REPO / "tools" / "update_readme_params.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (REPO / "README.md").read_text()
    assert module.render(text) == text, "run: python tools/update_readme_params.py"


def test_fitted_parameters_say_so_in_the_table():
    from trucesim.scenario.load import bundled_fit

    fit = bundled_fit()
    assert "violence.mu" in fit
    rows = {r["parameter"]: r for r in parameter_rows(fit)}
    for key in fit:
        assert "fitted for El Salvador up to 2013 (protocol A)" in rows[key]["source"], key
    assert "fitted" not in rows["violence.omega"]["source"]


def test_every_parameter_has_unit_and_source():
    rows = parameter_rows()
    assert len(rows) > 50
    for row in rows:
        assert row["unit"], row
        assert row["source"], row
        assert row["meaning"], row


def test_every_number_has_finite_bounds_in_the_table():
    """Every numeric parameter has an upper and a lower bound, shown in the table."""
    for row in parameter_rows():
        if row["range"] in ("true/false",) or " / " in row["range"]:
            continue
        assert "<" in row["range"].split("x")[0] and "<" in row["range"].split("x")[1], row
