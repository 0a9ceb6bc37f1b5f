"""The kernels run compiled by numba or, with NUMBA_DISABLE_JIT=1, as plain Python (the
same code); each kernel's cached machine code follows what the kernel is built from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from trucesim.numerics import jit

PACKAGE = Path(jit.__file__).resolve().parent.parent
RUN_SMALL = """
import sys
from trucesim import simulate
from trucesim.scenario.schema import Scenario
s = Scenario.parse({"name": "t", "start": "2020-01-01", "end": "2020-03-31",
    "world": {"cliques": 40, "burn_in_days": 10},
    "mechanisms": {"police_gang_retaliation": sys.argv[2] == "on"},
    "events": [{"date": "2020-02-01", "kind": "split", "gang": "MS13", "faction": "F",
                "share": 0.5}],
    "phases": [{"start": "2020-01-01", "regime": "baseline"},
               {"start": "2020-02-15", "regime": "truce"}]}, "t")
simulate(s, seed=5).to_parquet(sys.argv[1])
"""


def _run(code: str, *args: str, env: dict | None = None, path: Path | None = None):
    environment = {**os.environ, **(env or {})}
    if path is not None:
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(path), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-c", code, *args], env=environment,
                          capture_output=True, text=True, check=True)


@pytest.mark.parametrize("retaliation", ["off", "on"])
def test_pure_python_path_gives_the_compiled_table(tmp_path, retaliation, monkeypatch):
    """The same kernels as plain Python: the same table for a seed (numba's generator
    draws the same numbers as numpy's)."""
    _run(RUN_SMALL, str(tmp_path / "python.parquet"), retaliation,
         env={"NUMBA_DISABLE_JIT": "1"})
    # The compiled run in this process (its kernels from the same cache a fresh
    # interpreter would load): only plain Python needs an interpreter of its own.
    monkeypatch.setattr(sys, "argv", ["-c", str(tmp_path / "numba.parquet"), retaliation])
    exec(compile(RUN_SMALL, "<RUN_SMALL>", "exec"), {"__name__": "__main__"})
    python = pd.read_parquet(tmp_path / "python.parquet")
    compiled = pd.read_parquet(tmp_path / "numba.parquet")
    assert python["homicides"].sum() > 0
    pd.testing.assert_frame_equal(python, compiled)


KERNEL_PACKAGE = {
    "__init__.py": "",
    # constants and a parameter block that a kernel in another module reads
    "b.py": "from typing import NamedTuple\n\nLIMIT = 3\n\n\n"
            "class Pair(NamedTuple):\n    first: float\n    second: float\n",
    # a kernel that another module's kernel calls
    "c.py": "from trucesim.numerics.jit import kernel\n\n\n@kernel\ndef scale(x):\n"
            "    \"\"\"Scale x.\"\"\"\n    return 2.0 * x\n",
    # a module no kernel reads
    "d.py": "def check(x):\n    if x < 0:\n        raise ValueError(\"negative\")\n",
    "a.py": "from kpkg import c, d\nfrom kpkg.b import LIMIT\n"
            "from trucesim.numerics.jit import kernel\n\n\n@kernel\ndef total(pair):\n"
            "    return c.scale(pair.first) + LIMIT * pair.second\n",
}
RUN_KERNELS = """
import json
from kpkg import a, c
from kpkg.b import Pair
from trucesim.numerics.jit import first_use_note
note = first_use_note(a.total) is not None
value = a.total(Pair(first=1.0, second=10.0))
assert first_use_note(a.total) is None
print(json.dumps({"note": note, "value": value,
                  "total": sum(a.total.stats.cache_misses.values()),
                  "scale": sum(c.scale.callee.stats.cache_misses.values())}))
"""


@pytest.mark.slow
def test_the_cache_follows_what_each_kernel_is_built_from(tmp_path):
    """A kernel's cached machine code is kept while what it is built from is unchanged
    (a module no kernel reads, a docstring), and compiled again when a constant or a
    kernel it reads from another module changes, or the fields of its parameter block
    are reordered (numba alone checks only the kernel's own file). The note that the
    model compiles shows exactly when the kernel is not cached."""
    package = tmp_path / "kpkg"
    package.mkdir()
    for name, text in KERNEL_PACKAGE.items():
        (package / name).write_text(text)

    def run(note=True):
        out = _run(RUN_KERNELS, path=tmp_path, env={"NUMBA_CACHE_DIR": ""})
        r = json.loads(out.stdout)
        assert not note or r["note"] == (r["total"] > 0)
        return r["value"], r["total"], r["scale"]

    def edit(name, old, new):
        path = package / name
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new))

    assert run() == (32.0, 1, 1)  # 2 * 1 + 3 * 10: compiled
    edit("d.py", '"negative"', '"x must not be negative"')  # not a kernel source
    assert run() == (32.0, 0, 0)  # loaded from the cache
    edit("b.py", "LIMIT = 3", "LIMIT = 4")  # a constant the kernel freezes
    assert run() == (42.0, 1, 0)
    edit("c.py", "2.0 * x", "3.0 * x")  # a kernel it calls, in another module
    assert run() == (43.0, 1, 1)
    edit("b.py", "first: float\n    second: float", "second: float\n    first: float")
    assert run(note=False) == (43.0, 1, 0)  # the same numba type, other slots
    edit("c.py", "Scale x.", "Twice x.")  # a docstring: the caller's code is the same
    assert run() == (43.0, 0, 0)
    # each replaced entry was dropped: one cached machine code per kernel
    assert len(list((package / "__pycache__").glob("a.total-*.nbc"))) == 1


ACTIVE_FRONTS = """
import numpy as np
from trucesim.core.day import record
from trucesim.core.model import TruceModel
from trucesim.scenario.schema import Scenario
s = Scenario.parse({"name": "t", "start": "2020-01-01", "end": "2020-03-31",
    "world": {"cliques": 40, "burn_in_days": 0},
    "phases": [{"start": "2020-01-01", "regime": "baseline"}]}, "t")
model = TruceModel(s, rng=1, agents=False)  # no day simulated: only the kernels used below
fronts = model.state.fronts
count = fronts.count[0]
fronts.last_killing[:count] = np.where(np.arange(count) % 2, 25, 0)  # half killed today
record(model.daily[25], model.gang_daily[25], 25, model.state, False, False)
print(count, model.daily[25].active_fronts)
"""


@pytest.mark.slow
def test_a_changed_constant_is_applied_by_the_cached_kernels(tmp_path):
    """Change a constant that a cached kernel imports from another module (the active
    window of ``core/metrics.py``, read by ``core/day.py``'s ``record``): the next run
    applies it. numba alone checks only ``day.py`` and would load the stale kernel."""
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "trucesim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {"NUMBA_CACHE_DIR": ""}  # numba's cache beside the copy's sources
    first = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    again = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    metrics = copy / "trucesim" / "core" / "metrics.py"
    metrics.write_text(metrics.read_text().replace("ACTIVE_WINDOW = 30", "ACTIVE_WINDOW = 1"))
    changed = _run(ACTIVE_FRONTS, path=copy, env=env).stdout.split()
    count = int(first[0])
    assert count > 10
    assert int(first[1]) == int(again[1]) == count  # window 30: every front is active
    assert int(changed[1]) == count // 2  # window 1: only those with a killing today


BLOCKS = """
from collections import namedtuple


def block_type():
    \"\"\"A named tuple type created at run time, as parameter blocks are.\"\"\"
    cls = namedtuple("Block", ["a", "b"])
    cls.__module__ = __name__
    globals()["Block"] = cls
    return cls
"""
TAKES_BLOCK = """
import sys
from kpkg import blocks, k
if sys.argv[1] == "block":
    print(k.first(blocks.block_type()(1.0, 2.0)))
else:  # Block is never created in this process
    print(k.first((3.0, 4.0)))
print(sum(k.first.stats.cache_misses.values()))
"""


def test_an_index_naming_a_type_that_does_not_exist_is_an_empty_cache(tmp_path):
    """numba's index of a kernel lists every argument type it was cached for; one that
    cannot be rebuilt in this process (a parameter block's named tuple not created yet, or
    renamed since) made loading the index fail, and with it every call of the kernel.
    The kernel compiles instead, and the index it writes can be read again."""
    package = tmp_path / "kpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "blocks.py").write_text(BLOCKS)
    (package / "k.py").write_text("from trucesim.numerics.jit import kernel\n\n\n@kernel\n"
                                  "def first(pair):\n    return pair[0]\n")
    env = {"NUMBA_CACHE_DIR": ""}
    assert _run(TAKES_BLOCK, "block", path=tmp_path, env=env).stdout.split() == ["1.0", "1"]
    assert _run(TAKES_BLOCK, "plain", path=tmp_path, env=env).stdout.split() == ["3.0", "1"]
    assert _run(TAKES_BLOCK, "plain", path=tmp_path, env=env).stdout.split() == ["3.0", "0"]


DIGESTS = """
import importlib, json, pkgutil
import trucesim
from numba.core.dispatcher import Dispatcher
from trucesim.numerics.jit import kernel_digest
out = {}
for info in pkgutil.walk_packages(trucesim.__path__, "trucesim."):
    if info.name.startswith(("trucesim.core", "trucesim.mechanisms")):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__:
                out[module.__name__ + "." + name] = kernel_digest(value.py_func)
print(json.dumps(out))
"""


def test_editing_the_scenario_layer_or_the_constructor_recompiles_no_kernel(tmp_path):
    """The model's kernels are keyed on what they are built from: an error message of
    the schema or the loader, a parameter's description, the Mesa constructor change
    no kernel's key; a constant a kernel freezes does (the check can fail)."""
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "trucesim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    root = copy / "trucesim"

    def digests():
        return json.loads(_run(DIGESTS, path=copy).stdout)

    def edit(name, old, new):
        path = root / name
        assert old in path.read_text(), name
        path.write_text(path.read_text().replace(old, new))

    before = digests()
    assert len(before) > 30
    edit("scenario/schema.py", '"at least one gang is needed"', '"a scenario needs a gang"')
    edit("scenario/load.py", '"missing table of dotted-path values"', '"no overrides table"')
    edit("scenario/params.py", '"Number of cliques, one per territory."', '"Cliques."')
    edit("core/model.py", '"given both in overrides and as a keyword"', '"given twice"')
    assert digests() == before
    edit("core/metrics.py", "ACTIVE_WINDOW = 30", "ACTIVE_WINDOW = 31")
    changed = {k for k, v in digests().items() if v != before[k]}
    assert "trucesim.core.day.record" in changed and "trucesim.core.day.simulate_days" in changed


def test_borrowed_arrays_are_the_same_arrays_without_reference_counting():
    """borrow() gives the same data (writes reach the caller's arrays) with numba's
    owner reference null, so passing it on counts no references (a kernel that allocates
    otherwise counts one for each array of each tuple it takes); refused for anything but
    arrays, tuples of them and numbers; as plain Python, the value itself."""
    from collections import namedtuple

    import numba
    import numpy as np

    Box = namedtuple("Box", "a b")
    box = (Box(np.arange(3.0), np.zeros(3, dtype=np.int64)), 2)

    @numba.njit
    def scale(inner, k):
        extra = np.zeros(1)  # an allocation: numba counts references to the arguments
        for i in range(len(inner.a)):
            inner.b[i] = int(inner.a[i] + extra[0]) * k

    def counted(value):
        scale(*value)

    def borrowed(value):
        scale(*jit.borrow(value))

    def arguments_counted(fn):
        compiled = numba.njit(fn)
        compiled(box)
        ir = next(iter(compiled.inspect_llvm().values())).split("\ndefine")[1]  # its own
        return sum(ir.count(f"@NRT_{op}(ptr %arg.") for op in ("incref", "decref"))

    assert arguments_counted(counted) > 0  # the check sees references counted
    assert arguments_counted(borrowed) == 0
    assert box[0].b.tolist() == [0, 2, 4]
    assert jit.borrow(box) is box
    with pytest.raises(numba.core.errors.TypingError, match="borrow"):
        numba.njit(lambda v: jit.borrow(v))((np.zeros(1), "text"))


def test_a_kernels_key_follows_the_code_of_an_intrinsic_it_calls(monkeypatch):
    """simulate_days calls borrow(): a change to borrow's typing or code generation, or
    to whether the lowering takes what it gives as owning nothing, changes
    simulate_days' key (its cached machine code would be stale), not the key of a kernel
    that does not call it (day)."""
    from trucesim.core.day import day, simulate_days

    def digests(target=None, name=None, value=None):
        """simulate_days' and day's keys, with ``target.name`` set to ``value``."""
        if target is not None:
            monkeypatch.setattr(target, name, value)
        jit.kernel_digest.cache_clear()
        try:
            return jit.kernel_digest(simulate_days.py_func), jit.kernel_digest(day.py_func)
        finally:
            monkeypatch.undo()
            jit.kernel_digest.cache_clear()

    def edited(typingctx, value):  # another code generation
        return value(value), lambda context, builder, sig, args: args[0]

    before = digests()
    after = digests(jit.borrow, "_defn", edited)
    assert after[0] != before[0] and after[1] == before[1]
    # Whether what borrow() gives is lowered as owning nothing is part of it too.
    unmarked = digests(type(jit.borrow), "gives_unowned", False)
    assert unmarked[0] != before[0] and unmarked[1] == before[1]


TWINS = """
import json
from kpkg import a, c
from kpkg.b import Pair
value = a.total(Pair(first=1.0, second=10.0)), c.scale(4.0)  # scale: both ways
print(json.dumps({"value": value,
                  "misses": [sum(k.stats.cache_misses.values())
                             for k in (a.total, c.scale, c.scale.callee)]}))
"""


@pytest.mark.slow
def test_a_kernel_and_its_twin_for_kernels_are_cached_apart(tmp_path):
    """``c.scale`` called from Python runs code with numba's Python wrapper; called from
    ``a.total``, its twin's code without it. Both are cached, neither replaces the other's
    entry: the next process compiles nothing, and an edited ``a.total`` compiles against
    the twin loaded from the cache."""
    package = tmp_path / "kpkg"
    package.mkdir()
    for name, text in KERNEL_PACKAGE.items():
        (package / name).write_text(text)

    def run():
        return json.loads(_run(TWINS, path=tmp_path, env={"NUMBA_CACHE_DIR": ""}).stdout)

    assert run() == {"value": [32.0, 8.0], "misses": [1, 1, 1]}
    assert run() == {"value": [32.0, 8.0], "misses": [0, 0, 0]}
    path = package / "a.py"
    path.write_text(path.read_text().replace("LIMIT * pair.second", "pair.second * LIMIT"))
    assert run() == {"value": [32.0, 8.0], "misses": [1, 0, 0]}


def test_a_kernels_twin_is_not_called_from_python_and_kernels_do_not_recurse(tmp_path,
                                                                             monkeypatch):
    """The twin's code has no Python entry: calling it is refused, not a crash. A kernel
    calling itself through a kernel is refused by name (numba's typing of recursion does
    not follow the twin)."""
    package = tmp_path / "rpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "r.py").write_text(
        "from trucesim.numerics.jit import kernel\n\n\n"
        "@kernel\ndef fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n\n\n"
        "@kernel\ndef use(n):\n    return fact(n)\n\n\n"
        "@kernel\ndef twice(x):\n    return 2.0 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    r = importlib.import_module("rpkg.r")
    assert r.twice(2.0) == 4.0
    with pytest.raises(TypeError, match="compiled for calls from kernels only"):
        r.twice.callee(2.0)
    with pytest.raises(TypeError, match="kernel fact calls itself"):
        r.use(5)


BORROWING = '''
import numpy as np
from trucesim.numerics.jit import kernel


@kernel
def same(a):
    return a


@kernel
def tail(a):
    return a[1:]


@kernel
def total(pair):
    return pair[0].sum() + pair[1].sum()


@kernel
def through(a, pair):
    b = same(a)
    return tail(b), total(pair), same(a)


@kernel
def via(a, pair):
    return through(a, pair)
'''


def test_kernels_called_from_kernels_borrow_their_arguments(tmp_path, monkeypatch):
    """A kernel's twin (the code other kernels call) does not count its arguments'
    references (numba counts each array of each named tuple on entry and exit): no
    count in its code. What it returns is still a new reference: with owned arrays from
    Python, every array the calls make is freed and the arguments keep their counts."""
    import importlib
    import sys

    import numba
    import numpy as np
    from numba.core.runtime import _nrt_python as _nrt
    from numba.core.runtime import rtsys

    (tmp_path / "bpkg.py").write_text(BORROWING)
    monkeypatch.syspath_prepend(str(tmp_path))
    b = importlib.import_module("bpkg")
    a, pair = np.arange(5.0), (np.ones(3), np.arange(4.0))
    out = b.through(a, pair)
    assert out[0].tolist() == [1.0, 2.0, 3.0, 4.0] and out[1] == 9.0 and out[2] is not None
    del out
    counts = sys.getrefcount(a), sys.getrefcount(pair[0])
    _nrt.memsys_enable_stats()
    try:
        before = rtsys.get_allocation_stats()
        for _ in range(200):
            out = b.through(a, pair)
        del out
        after = rtsys.get_allocation_stats()
    finally:
        _nrt.memsys_disable_stats()
    assert after.alloc - before.alloc == after.free - before.free  # nothing leaked
    assert after.mi_alloc - before.mi_alloc == after.mi_free - before.mi_free
    assert (sys.getrefcount(a), sys.getrefcount(pair[0])) == counts
    assert b.via(a, pair)[1] == 9.0  # compiles through's twin
    types = (numba.typeof(a), numba.typeof(pair))

    def counts(code):  # increfs and decrefs of arguments in a kernel's own function
        own = code.split("\ndefine")[1]
        return own.count("@NRT_incref(ptr %arg."), own.count("@NRT_decref(ptr %arg.")

    twin, numbas = counts(b.through.callee.inspect_llvm(types)), counts(
        b.through.inspect_llvm(types))  # the kernel called from Python: numba's lowering
    assert twin[0] < numbas[0] and twin[1] < numbas[1]


MEMBERS = '''
from collections import namedtuple

import numpy as np
from trucesim.numerics.jit import borrow, kernel

Pair = namedtuple("Pair", "x y")


@kernel
def dot(pair):
    total = 0.0
    for i in range(len(pair.x)):
        total += pair.x[i] * pair.y[i]
    return total


@kernel
def first(pair):
    return pair.x


@kernel
def whole(pair):
    return pair


@kernel
def either(pair, fresh):
    a = pair.x
    if fresh:
        a = np.ones(len(pair.x))
    b = np.zeros(len(pair.x))  # would take the memory of the ones were they released
    return a.sum() + b.sum()


@kernel
def forms(pair, c, k):
    a = pair.x if c else pair.y  # either member
    x, y = pair  # unpacked
    both = (x, y)
    return a.sum() + both[k].sum(), (pair.x, pair.y)  # an index at run time; a new tuple


@kernel
def uses(pair, fresh):
    return (first(pair), whole(pair), dot(pair), either(pair, fresh),
            forms(pair, fresh, len(pair.x) - (3 if fresh else 4)),  # known at run time
            forms(pair, fresh, 1 if fresh else 0))  # a literal: numba's overload


@kernel
def counted(pair):
    return dot(pair) + pair.x[0]


@kernel
def unowned(pair):
    inner = borrow(pair)
    return dot(inner) + inner.x[0]
'''


def test_members_of_borrowed_tuples_are_not_counted_and_nothing_leaks(tmp_path, monkeypatch):
    """A variable taking a member of a tuple that borrows (a twin's argument, what
    borrow() gives) is lowered without reference counts: none in the code numba writes
    for a twin reading its named tuple's arrays in a loop, none for a member of a tuple
    a kernel borrowed (numba's lowering counts both). A variable that may also hold an
    array of its own is counted; what a twin returns, a member or the borrowed tuple
    itself, is a new reference: nothing leaks, every count is back where it was."""
    import importlib
    import sys

    import numpy as np
    from numba.core import codegen
    from numba.core.runtime import _nrt_python as _nrt
    from numba.core.runtime import rtsys

    written: list[str] = []
    add = codegen.CPUCodeLibrary.add_ir_module
    monkeypatch.setattr(codegen.CPUCodeLibrary, "add_ir_module",
                        lambda self, module: (written.append(str(module)), add(self, module))[1])
    (tmp_path / "members.py").write_text(MEMBERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    m = importlib.import_module("members")
    x, y = np.arange(4.0), np.ones(4)
    pair = m.Pair(x, y)
    counts = sys.getrefcount(x), sys.getrefcount(y)
    for fresh, sum_of_a, forms in ((False, 6.0, 10.0), (True, 4.0, 10.0)):
        out = m.uses(pair, fresh)
        assert out[0] is x and out[1][1] is y and out[2] == 6.0 and out[3] == sum_of_a
        for result in out[4:]:
            assert result[0] == forms and result[1][0] is x and result[1][1] is y
    assert m.counted(pair) == m.unowned(pair) == 6.0
    del out, result
    _nrt.memsys_enable_stats()
    try:
        before = rtsys.get_allocation_stats()
        for i in range(100):
            out = m.uses(pair, i % 2 == 0)
        del out
        after = rtsys.get_allocation_stats()
    finally:
        _nrt.memsys_disable_stats()
    assert after.alloc - before.alloc == after.free - before.free  # np.ones too
    assert after.mi_alloc - before.mi_alloc == after.mi_free - before.mi_free
    assert (sys.getrefcount(x), sys.getrefcount(y)) == counts

    def counts_in(name):  # reference counts in the function's own code, as numba wrote it
        bodies = [f.split("\n}\n")[0] for code in written for f in code.split("\ndefine")[1:]
                  if f"_ZN7members{len(name)}{name}" in f.split("(")[0]]
        assert bodies, name
        return sum(b.count("NRT_incref") + b.count("NRT_decref") for b in bodies)

    # Called from Python, both count their arguments; counted counts pair.x too.
    assert counts_in("counted") > counts_in("unowned") > 0
    assert counts_in("dot") == 0  # the twin's: its argument's arrays, read in a loop
    assert counts_in("whole") > 0  # returning the borrowed tuple takes its reference


def test_a_kernels_key_follows_how_the_kernels_it_calls_are_lowered(monkeypatch):
    """The day links the twins of the kernels it calls: a change to their lowering
    (trucesim.numerics.borrowing) changes the key of the day's cached code and of the
    twins' own."""
    from trucesim.core.day import simulate_days
    from trucesim.mechanisms.policing import confront

    jit.kernel_digest.cache_clear()
    before = jit.kernel_digest(simulate_days.py_func), confront.callee._cache._sources()
    monkeypatch.setattr(jit, "lowering_digest", lambda: "another lowering")
    jit.kernel_digest.cache_clear()
    try:
        after = jit.kernel_digest(simulate_days.py_func), confront.callee._cache._sources()
    finally:
        monkeypatch.undo()
        jit.kernel_digest.cache_clear()
    assert after[0] != before[0] and after[1] != before[1]


def test_the_lowering_digest_follows_every_change_of_code_not_comments():
    """The kernels' lowering is keyed on its module's code: a changed name (a borrowing
    variable's return no longer taking its reference) changes the digest, a comment or
    blank line does not."""
    from trucesim.numerics import borrowing

    source = Path(borrowing.__file__).read_text(encoding="utf-8")
    digest = borrowing.source_digest(source)
    assert digest == borrowing.lowering_digest()
    taken = "            self.incref(self.typeof(inst.value.name), self.loadvar(inst.value.name))"
    assert taken in source
    decref = taken.replace("incref", "decref")
    assert borrowing.source_digest(source.replace(taken, decref)) != digest
    assert borrowing.source_digest(source.replace("isinstance(stmt.value, ir.Arg)",
                                                  "isinstance(stmt.value, ir.Var)")) != digest
    assert borrowing.source_digest(source.replace(
        "class BorrowingLower(Lower):", "# a comment\n\nclass BorrowingLower(Lower):")) == digest


SEPARATE = {
    "__init__.py": "",
    "s.py": "from trucesim.numerics.jit import kernel\n\n\n"
            "@kernel(separate=True)\ndef heavy(x):\n    return 3.0 * x + 1.0\n\n\n"
            "@kernel\ndef mid(x):\n    return 2.0 * heavy(x) + heavy(x)\n\n\n"
            "@kernel\ndef top(x):\n    return mid(x)\n\n\n"
            "@kernel\ndef top2(x):\n    return mid(x)\n",
}
# argv: which kernel to call, and how many throwaway functions to compile first (each
# moves numba's count of compiled functions, which its symbols carry)
RUN_SEPARATE = """
import json, sys, numba
from spkg import s
for k in range(int(sys.argv[2])):
    numba.njit(lambda x: x + k)(1.0)
kernel = getattr(s, sys.argv[1])
value = kernel(1.0)
sig = (numba.float64,)
misses = [sum(k.stats.cache_misses.values()) for k in (kernel, s.mid.callee,
                                                       s.heavy.callee)]
code = None
if misses[0] == 1:  # compiled here, not loaded from the cache: its code, heavy declared
    ir = kernel.inspect_llvm(sig).splitlines()  # only, mid linked (or inlined)

    def lines(kind, name):
        return sum(line.startswith(kind) and name in line for line in ir)

    heavy = s.heavy.callee.overloads[sig].fndesc.mangled_name
    code = {"heavy": [lines("declare", heavy), lines("define", heavy)],
            "mid": lines("declare", s.mid.callee.overloads[sig].fndesc.mangled_name)}
print(json.dumps({
    "value": value, "misses": misses,
    "loaded": [sig in k.overloads for k in (s.mid.callee, s.heavy.callee)],
    "symbol": s.heavy.callee.overloads[sig].fndesc.mangled_name, "code": code}))
"""


@pytest.mark.slow
def test_a_separate_kernel_is_called_by_its_symbol_and_loaded_before_its_callers(tmp_path):
    """Kernels calling a ``separate`` kernel (``spkg.s.heavy``), here through a linked
    kernel (``mid``), call its own machine code by its symbol: a declaration in their
    code, not a linked copy. A process loading them from the cache loads the separate
    kernel first, else the JIT could not resolve the symbol (a crash): for a caller
    compiled with ``mid`` loaded from the cache too. Where the separate kernel's entry is
    gone it compiles again, under another symbol, and the entries naming the old one are
    compiled again, not loaded."""
    package = tmp_path / "spkg"
    package.mkdir()
    for name, text in SEPARATE.items():
        (package / name).write_text(text)

    def run(kernel, shift=0):
        return json.loads(_run(RUN_SEPARATE, kernel, str(shift), path=tmp_path,
                               env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")}).stdout)

    first = run("top2")
    assert first["value"] == 12.0 and first["misses"] == [1, 1, 1]
    assert first["code"] == {"heavy": [1, 0], "mid": 0}  # heavy declared, mid linked
    # mid loaded from the cache (heavy first), linked into top: top's entry names heavy
    assert run("top") == {"value": 12.0, "misses": [1, 0, 0], "loaded": [True, True],
                          "symbol": first["symbol"], "code": {"heavy": [1, 0], "mid": 0}}
    # top loaded: heavy with it (top's code calls it through mid's), mid not needed
    assert run("top") == {"value": 12.0, "misses": [0, 0, 0], "loaded": [False, True],
                          "symbol": first["symbol"], "code": None}
    entries = list((tmp_path / "cache").rglob("s.heavy-*-callee.*"))
    assert entries
    for entry in entries:
        entry.unlink()
    again = run("top", shift=10)  # heavy compiles again, after 10 other functions
    assert again["symbol"] != first["symbol"]  # the premise: another symbol
    assert again == {"value": 12.0, "misses": [1, 1, 1], "loaded": [True, True],
                     "symbol": again["symbol"], "code": {"heavy": [1, 0], "mid": 0}}


def test_a_kernel_is_not_both_inlined_and_separate():
    with pytest.raises(ValueError, match="inline and separate exclude each other"):
        jit.kernel(inline=True, separate=True)(lambda x: x)
