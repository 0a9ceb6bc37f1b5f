"""Kernels that borrow their arguments: numba's lowering without a count per argument.

numba makes every compiled function own its arguments: on entry it increments the
reference count of each array it takes (each array of each named tuple: 26 for the
model's cliques), and decrements each when the argument's variable dies. The caller holds
them for the whole call anyway (its own variables live until the call returns), so
for a function called only from other compiled functions those two calls per array are
redundant; the day's kernels are such functions (:attr:`trucesim.numerics.jit.Kernel.callee`),
and those counts were most of the day's fixed cost, even on borrowed arrays
(:func:`trucesim.numerics.jit.borrow`), where each is a call that finds no owner and
returns.

:class:`BorrowingCompiler` is numba's nopython pipeline with one lowering changed
(:class:`BorrowingLower`): an argument's variable that the function never assigns again
*borrows* its value, like a CPython function's arguments. It is not counted on entry nor
released when it dies. Everything else is numba's: values made from an argument (an
attribute, a view, a tuple, an alias, the cast numba returns) are counted as usual, so
they may outlive the call, and what the function returns is a new reference, as the
caller expects.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from numba.core import ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.lowering import Lower
from numba.core.typed_passes import NativeLowering


class BorrowingLower(Lower):
    """numba's lowering, where an argument never assigned again is borrowed."""

    def pre_lower(self):
        super().pre_lower()
        stores: dict[str, int] = {}
        args = set()
        for block in self.func_ir.blocks.values():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    stores[stmt.target.name] = stores.get(stmt.target.name, 0) + 1
                    if isinstance(stmt.value, ir.Arg):
                        args.add(stmt.target.name)
        self._borrowed = {name for name in args if stores[name] == 1}
        self._uncounted = False

    def lower_inst(self, inst):
        if isinstance(inst, ir.Assign) and inst.target.name in self._borrowed:
            self._uncounted_lower(inst)  # the argument: not counted on entry
        elif isinstance(inst, ir.Del) and inst.value in self._borrowed:
            self._uncounted_lower(inst)  # its variable dies: nothing to release
        else:
            if isinstance(inst, ir.Return) and inst.value.name in self._borrowed:
                # The caller receives a new reference: take it now. (numba's IR returns
                # a cast of the variable, which counts its own reference, so this only
                # guards a borrowed argument returned as it is.)
                self.incref(self.typeof(inst.value.name), self.loadvar(inst.value.name))
            super().lower_inst(inst)

    def _uncounted_lower(self, inst):
        self._uncounted = True
        try:
            super().lower_inst(inst)
        finally:
            self._uncounted = False

    def incref(self, typ, val):
        if not self._uncounted:
            super().incref(typ, val)

    def decref(self, typ, val):
        if not self._uncounted:
            super().decref(typ, val)


@register_pass(mutates_CFG=True, analysis_only=False)
class BorrowingLowering(NativeLowering):
    """numba's native lowering pass with :class:`BorrowingLower`."""

    _name = "trucesim_borrowing_lowering"

    @property
    def lowering_class(self):
        return BorrowingLower


class BorrowingCompiler(CompilerBase):
    """numba's nopython pipeline, lowered by :class:`BorrowingLowering`."""

    def define_pipelines(self):
        pipeline = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pipeline.passes = [(BorrowingLowering, "native lowering, arguments borrowed")
                           if cls is NativeLowering else (cls, text)
                           for cls, text in pipeline.passes]
        pipeline.finalize()
        return [pipeline]


def source_digest(source: str) -> str:
    """Digest of a module's code: its syntax tree (every name, constant, import, base
    class and decorator; not its comments or layout)."""
    return hashlib.sha256(ast.dump(ast.parse(source)).encode()).hexdigest()[:16]


@functools.cache
def lowering_digest() -> str:
    """Digest of this module's code (:func:`source_digest`), for the cache key of the
    kernels it lowers and of every kernel that calls them."""
    return source_digest(Path(__file__).read_text(encoding="utf-8"))
