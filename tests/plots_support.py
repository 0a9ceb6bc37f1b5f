"""Helpers for the plot tests: a small real run folder and small real sweep folders."""

from __future__ import annotations

import datetime as dt
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from trucesim.cli import run as cli_run
from trucesim.scenario.load import load_scenario

from .conftest import SCENARIOS, phases, scenario_toml, small

REPLICATES = 3


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test drew (import this fixture into the test module)."""
    yield
    plt.close("all")


def by_gid(ax, gid, kind=None):
    """The artists of ``ax`` with this gid (and of this type)."""
    return [a for a in ax.get_children()
            if a.get_gid() == gid and (kind is None or isinstance(a, kind))]


def caption(fig) -> str:
    """The figure's caption text."""
    return fig.get_supxlabel()


def small_letter():
    """The 2016-letter scenario on a 60-clique world, ending 2016-12-31."""
    return small(load_scenario(SCENARIOS / "el-salvador-2016-letter.toml"), cliques=60,
                 end=dt.date(2016, 12, 31))


def make_run_folder(folder: Path) -> Path:
    """``trucesim run`` of the small letter scenario (3 variants x 3 replicates)."""
    scenario = small_letter()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_run, "load_scenario", lambda spec: scenario)
        assert cli_run.run_scenario("small-letter", replicates=REPLICATES, seed=11,
                                   out=folder) == 0
    return folder


#: The small test scenario on a 2012 window with a marked truce and a hardline variant.
TINY_SCENARIO = scenario_toml(
    name="tiny-plots", start=dt.date(2012, 1, 1), end=dt.date(2012, 5, 31), seed=1,
    counterfactual="hard", world={"cliques": 50, "burn_in_days": 20},
    phases=phases((dt.date(2012, 1, 1), "baseline", "pre"),
                  (dt.date(2012, 3, 1), "truce", "truce")),
    events=[{"date": dt.date(2012, 3, 1), "kind": "marker", "label": "Truce begins"}],
    variants={"hard": {"phases": phases((dt.date(2012, 3, 1), "hardline", "hardline"))},
              "truce": {}},
)

GRID3 = """
name = "tiny-grid3"
scenario = "tiny.toml"
replicates = 1
seed = 7

[design]
method = "grid"

[parameters.cohesion]
paths = ["gangs.MS13.cohesion", "gangs.B18S.cohesion", "gangs.B18R.cohesion"]
values = [0.3, 0.9]

[parameters.isolation]
path = "phases.1.overrides.isolation"
values = [0.0, 0.4, 0.8]

[parameters.contact]
path = "command.contact_rate"
values = [0.3, 0.8]

[outcomes]
summary = ["truce_rate_ratio", "mean_homicides"]
"""

GRID1 = """
name = "tiny-grid1"
scenario = "tiny.toml"
replicates = 1
seed = 7

[design]
method = "grid"

[parameters.cohesion]
paths = ["gangs.MS13.cohesion", "gangs.B18S.cohesion", "gangs.B18R.cohesion"]
values = [0.3, 0.9]

[outcomes]
summary = ["mean_homicides"]
"""

SAMPLED = """
name = "tiny-{method}"
scenario = "tiny.toml"
replicates = 1
seed = 7

[design]
method = "{method}"
samples = {samples}

[parameters.cohesion]
paths = ["gangs.MS13.cohesion", "gangs.B18S.cohesion", "gangs.B18R.cohesion"]
range = [0.3, 1.0]

[parameters.contact]
path = "command.contact_rate"
range = [0.2, 0.9]

[outcomes]
summary = ["mean_homicides"]
"""

VARIANTS = """
name = "tiny-variants"
scenario = "tiny.toml"
replicates = 2
seed = 7

[design]
method = "variants"

[variants.hard]
variant = "hard"

[variants.truce]
variant = "truce"

[outcomes]
summary = ["mean_homicides"]
daily = true
"""

#: A variants sweep keeping one daily column, true deaths (no recorded homicides).
VARIANTS_DEATHS = VARIANTS.replace('name = "tiny-variants"', 'name = "tiny-deaths"').replace(
    "daily = true", 'daily = ["deaths_true"]')


def make_sweep(folder: Path, experiment: str) -> Path:
    """Run a tiny experiment in-process (one thread) into ``folder / 'results'``."""
    from trucesim.runner import run_experiment

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(TINY_SCENARIO)
    path = folder / "exp.toml"
    path.write_text(textwrap.dedent(experiment))
    out = folder / "results"
    with ThreadPoolExecutor(max_workers=1) as pool:
        run_experiment(path, executor=pool, out=out, progress=False)
    return out
