"""The package's import structure: every module imports, no import cycles, layer rules.

The graph is built statically (``ast``) from every module ``pkgutil.walk_packages``
finds under ``trucesim``. Every ``import`` statement counts, wherever it is: at module
level, inside a function (a lazy import) or under ``if TYPE_CHECKING``, because each is a
dependency of one module on another. ``from pkg import name`` is an edge to the
submodule ``pkg.name`` when there is one, otherwise to ``pkg``. Importing a submodule
is not counted as importing its parent package (as in import-linter and pydeps).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

import trucesim

PACKAGE = "trucesim"
#: Modules of the model: the core, its mechanisms and what their kernels build on.
CORE = ("trucesim.core", "trucesim.mechanisms", "trucesim.numerics")
#: Application layers (and I/O) that the core and the scenario files must not import.
APPLICATION = (
    "trucesim.cli",
    "trucesim.plots",
    "trucesim.runner",
    "trucesim.dashboard",
    "trucesim.calibration",
    "trucesim.atomic",
    "trucesim.folders",
    "trucesim.outcomes",
    "trucesim.forecast",
    "trucesim.discovery",
    "trucesim.ema",
)
#: Each lower layer, and what it must not import.
LAYER_RULES = {
    "trucesim.core": APPLICATION,
    # The mechanisms sit below the core: the core's day calls them, never the reverse.
    "trucesim.mechanisms": (*APPLICATION, "trucesim.core"),
    "trucesim.numerics": (*APPLICATION, "trucesim.core", "trucesim.mechanisms"),
    "trucesim.scenario": (*APPLICATION, "trucesim.core", "trucesim.mechanisms",
                          "trucesim.numerics"),
}
#: Runs the CLI when imported: in the graph, but not imported by the test.
NOT_IMPORTABLE = {"trucesim.__main__"}


def under(module: str, prefix: str) -> bool:
    """Whether ``module`` is ``prefix`` or inside it."""
    return module == prefix or module.startswith(prefix + ".")


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name, with its source file."""
    found = {PACKAGE: Path(trucesim.__file__)}
    for info in pkgutil.walk_packages(trucesim.__path__, PACKAGE + "."):
        spec = importlib.util.find_spec(info.name)
        assert spec is not None and spec.origin is not None, info.name
        found[info.name] = Path(spec.origin)
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) ``from ... import`` names."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package (None if outside)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in known:
            return candidate
    return None


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """For each module, the package modules it imports, with the first line doing so."""
    known = modules()
    graph: dict[str, dict[str, int]] = {}
    for module, path in known.items():
        edges: dict[str, int] = {}
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _target(name, known)
                if target is not None and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def shortest_cycle(start: str, graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest import path from ``start`` back to itself (``start`` is on a cycle)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while start not in came_from:  # breadth first
        nxt = []
        for here in frontier:
            for w in sorted(graph[here]):
                if w not in came_from:
                    came_from[w] = here
                    nxt.append(w)
        frontier = nxt
    path = [start]
    while len(path) == 1 or path[-1] != start:
        path.append(came_from[path[-1]])
    return path[::-1]


def describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    """The cycles through a component, each step with the line that imports."""
    lines = [f"import cycle among {', '.join(component)}:"]
    covered: set[str] = set()
    for start in component:
        if start in covered:
            continue
        path = shortest_cycle(start, graph)
        covered.update(path)
        lines.append("  " + " -> ".join(path))
        lines += [f"    {a} (line {graph[a][b]}) imports {b}" for a, b in pairwise(path)]
    return "\n".join(lines)


def _is_core(module: str) -> bool:
    return any(under(module, p) for p in CORE)


def test_walk_packages_finds_every_source_file():
    """A module in a folder without ``__init__.py`` would escape every check below."""
    root = Path(trucesim.__file__).parent
    on_disk = {
        ".".join((PACKAGE, *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for p in root.rglob("*.py")
    }
    assert on_disk == set(modules())


@pytest.fixture(scope="module")
def imported() -> dict:
    """Import every module in a fresh interpreter whose matplotlib backend is set to pdf."""
    names = sorted(set(modules()) - NOT_IMPORTABLE)
    script = (
        "import importlib, json, sys, traceback\n"
        "import matplotlib\n"
        "matplotlib.use('pdf')\n"
        "failed = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed[name] = traceback.format_exc()\n"
        "print(json.dumps({'failed': failed, 'backend': matplotlib.get_backend()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, json.dumps(names)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_imports(imported):
    assert imported["failed"] == {}, "\n".join(imported["failed"].values())


def test_importing_the_package_leaves_the_matplotlib_backend_alone(imported):
    """A notebook keeps its backend: no module switches it at import."""
    assert imported["backend"] == "pdf"


def test_no_import_cycles_outside_the_core():
    """Every cycle that involves a module outside core and mechanisms."""
    graph = import_graph()
    found = [c for c in cycles(graph) if not all(_is_core(m) for m in c)]
    assert not found, "\n".join(describe(c, graph) for c in found)


def test_no_import_cycles_in_the_core():
    """Cycles among core and mechanisms modules only."""
    graph = import_graph()
    found = [c for c in cycles(graph) if all(_is_core(m) for m in c)]
    assert not found, "\n".join(describe(c, graph) for c in found)


@pytest.mark.parametrize("layer", sorted(LAYER_RULES))
def test_lower_layers_import_no_application_layer(layer):
    graph = import_graph()
    forbidden = LAYER_RULES[layer]
    bad = [f"{m} (line {line}) imports {t}"
           for m, edges in sorted(graph.items()) if under(m, layer)
           for t, line in sorted(edges.items()) if any(under(t, f) for f in forbidden)]
    assert not bad, f"{layer} must not import {', '.join(forbidden)}:\n" + "\n".join(bad)


def test_the_graph_sees_lazy_relative_and_submodule_imports(tmp_path, monkeypatch):
    """The checks above are only as good as the graph: a hand-made package checks it."""
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from toy.sub import leaf as _leaf\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from .. import top\n")
    (pkg / "top.py").write_text("from typing import TYPE_CHECKING\n"
                                "if TYPE_CHECKING:\n    import toy.sub.leaf\n")
    known = {"toy": pkg / "__init__.py", "toy.sub": pkg / "sub" / "__init__.py",
             "toy.sub.leaf": pkg / "sub" / "leaf.py", "toy.top": pkg / "top.py"}
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: known)
    import_graph.cache_clear()
    try:
        graph = import_graph()
    finally:
        import_graph.cache_clear()
    assert graph == {"toy": {}, "toy.sub": {"toy.sub.leaf": 1},
                     "toy.sub.leaf": {"toy.top": 2}, "toy.top": {"toy.sub.leaf": 3}}
    assert cycles(graph) == [["toy.sub.leaf", "toy.top"]]
    assert "toy.sub.leaf (line 2) imports toy.top" in describe(cycles(graph)[0], graph)
