"""Kernels that borrow their values: numba's lowering without counts nothing needs.

numba makes every compiled function own what its variables hold: each array an argument
brings (each array of each named tuple: 26 for the model's cliques) is counted on entry
and released when the argument's variable dies, and so is each array a variable takes
out of a named tuple (``cliques.members``), wherever it does. Where something else holds
the value for the whole call, those counts are redundant, and they were most of the
day's fixed cost and most of its code: about 2,000 counts in the LLVM IR of
:func:`~trucesim.core.day.simulate_days`, the day inlined (35,827 lines, 28,549 of them
taking values apart for the counts and calls).

A variable *borrows* its value when every assignment to it is
- a call of :func:`trucesim.numerics.jit.borrow` (arrays without an owner: counting them
  tests a null and returns);
- in a kernel's twin (:attr:`trucesim.numerics.jit.Kernel.callee`, called from kernels
  only), an argument never assigned again: the caller holds it for the whole call, as a
  CPython function's arguments;
- a member of a tuple that borrows (a named tuple's field, an unpacked item, an item at
  an index known at run time; the tuple holds its members) as numba's own lowering reads
  it, a tuple of borrowed values, or another variable that borrows, of the same type.
  (An item at a literal index is read through an overload that returns a new
  reference: counted.)

:class:`BorrowingLower` lowers assigning such a variable and its death without counts,
and returning one takes the reference the caller receives. Everything else is numba's:
a view, a cast or a copy of a borrowed array is counted as usual, so it may outlive the
call.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from numba.core import ir, types
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.lowering import Lower
from numba.core.runtime.context import NRTContext
from numba.core.typed_passes import NativeLowering

#: Expressions that read a member of a tuple without converting it, numba's own
#: lowering of each (no implementation of ours or an overload's in between).
_MEMBER_OF = {"getattr", "static_getitem", "getitem", "exhaust_iter", "cast"}


class BorrowingLower(Lower):
    """numba's lowering, where a variable that borrows its value (the module's
    docstring) is not counted: the kernels called from Python, whose arguments numba
    counts as usual."""

    def pre_lower(self):
        super().pre_lower()
        self._borrowing = self._find_borrowing(self._borrowed_arguments())

    def _borrowed_arguments(self) -> set[str]:
        """The variables holding arguments the caller holds throughout the call."""
        return set()

    def _find_borrowing(self, borrowed: set[str]) -> set[str]:
        """Every variable that borrows its value: from the ``borrowed`` arguments, each
        variable every assignment of which the module docstring's rules allow, added
        until none is (the smallest such set: a variable assigned in a loop from
        another that is not yet known to borrow stays counted)."""
        values: dict[str, list] = {}
        for block in self.func_ir.blocks.values():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    values.setdefault(stmt.target.name, []).append(stmt.value)
        borrowing = set(borrowed)

        def borrows(name: str, value) -> bool:
            ty = self.typeof(name)
            if isinstance(value, ir.Var):  # a copy, not a conversion
                return value.name in borrowing and self.typeof(value.name) == ty
            if not isinstance(value, ir.Expr):
                return False
            if value.op == "call":
                return getattr(self._global(value.func), "gives_unowned", False)
            if value.op == "build_tuple":
                return (isinstance(ty, types.BaseTuple) and len(ty) == len(value.items)
                        and all(item.name in borrowing and self.typeof(item.name) == member
                                for item, member in zip(value.items, ty, strict=True)))
            if value.op in _MEMBER_OF and value.value.name in borrowing:
                of = self.typeof(value.value.name)
                if value.op == "getitem":  # numba's own: a tuple of one type, an index
                    index = self.typeof(value.index.name)  # known at run time only (a
                    # literal index goes through an overload, which returns a new reference)
                    return (isinstance(of, types.UniTuple | types.NamedUniTuple)
                            and isinstance(index, types.Integer)
                            and not isinstance(index, types.Literal))
                if value.op == "static_getitem" and not isinstance(value.index, int | slice):
                    return False
                if value.op in ("exhaust_iter", "cast"):
                    return of == ty and isinstance(of, types.BaseTuple)
                return isinstance(of, types.BaseTuple)
            return False

        changed = True
        while changed:
            changed = False
            for name, assigned in values.items():
                if name not in borrowing and all(borrows(name, v) for v in assigned):
                    borrowing.add(name)
                    changed = True
        return borrowing

    def _global(self, var):
        """The global (or closure) value ``var`` names, or None."""
        try:
            definition = self.func_ir.get_definition(var)
        except KeyError:
            return None
        return (definition.value if isinstance(definition, (ir.Global, ir.FreeVar))
                else None)

    def lower_inst(self, inst):
        if ((isinstance(inst, ir.Assign) and inst.target.name in self._borrowing)
                or (isinstance(inst, ir.Del) and inst.value in self._borrowing)):
            # Taken without a count, or dies with nothing to release. numba's lowering
            # and the implementations it calls count through the context's runtime
            # (``context.nrt``): for this one instruction, one that counts nothing.
            # No function is compiled meanwhile (it would keep that runtime, and numba
            # reuses what it compiles): none of these instructions compiles one.
            context = self.context
            counting = context.nrt
            context.__dict__["nrt"] = _Uncounted(context, counting._enabled)
            context.__dict__["compile_subroutine"] = _refuse_compiling
            try:
                super().lower_inst(inst)
            finally:
                context.__dict__["nrt"] = counting
                del context.__dict__["compile_subroutine"]
            return
        if isinstance(inst, ir.Return) and inst.value.name in self._borrowing:
            # The caller receives a new reference: take it now. (numba's IR returns a
            # cast of the variable, which counts its own reference, unless the
            # variable is a tuple that borrows.)
            self.incref(self.typeof(inst.value.name), self.loadvar(inst.value.name))
        super().lower_inst(inst)


def _refuse_compiling(*args, **kwargs):
    raise NotImplementedError(
        "trucesim.numerics.borrowing: a function compiled while a borrowing variable is "
        "lowered would count no reference (see BorrowingLower.lower_inst)")


class _Uncounted(NRTContext):
    """numba's runtime context, counting no reference."""

    def incref(self, builder, typ, value):
        pass

    def decref(self, builder, typ, value):
        pass


class ArgumentBorrowingLower(BorrowingLower):
    """:class:`BorrowingLower` for a kernel's twin, called from kernels only: an
    argument never assigned again borrows its value too."""

    def _borrowed_arguments(self) -> set[str]:
        stores: dict[str, int] = {}
        args = set()
        for block in self.func_ir.blocks.values():
            for stmt in block.body:
                if isinstance(stmt, ir.Assign):
                    stores[stmt.target.name] = stores.get(stmt.target.name, 0) + 1
                    if isinstance(stmt.value, ir.Arg):
                        args.add(stmt.target.name)
        return {name for name in args if stores[name] == 1}


@register_pass(mutates_CFG=True, analysis_only=False)
class BorrowingLowering(NativeLowering):
    """numba's native lowering pass with :attr:`lower`, :class:`BorrowingLower`."""

    _name = "trucesim_borrowing_lowering"
    lower: type[Lower] = BorrowingLower

    @property
    def lowering_class(self):
        return self.lower


@register_pass(mutates_CFG=True, analysis_only=False)
class ArgumentBorrowingLowering(BorrowingLowering):
    """The same pass with :class:`ArgumentBorrowingLower`."""

    _name = "trucesim_argument_borrowing_lowering"
    lower = ArgumentBorrowingLower


class BorrowingCompiler(CompilerBase):
    """numba's nopython pipeline, lowered by :class:`BorrowingLowering` (the kernels
    called from Python)."""

    lowering = BorrowingLowering

    def define_pipelines(self):
        pipeline = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pipeline.passes = [(self.lowering, self.lowering._name)
                           if cls is NativeLowering else (cls, text)
                           for cls, text in pipeline.passes]
        pipeline.finalize()
        return [pipeline]


class ArgumentBorrowingCompiler(BorrowingCompiler):
    """numba's nopython pipeline, lowered by :class:`ArgumentBorrowingLowering` (the
    kernels' twins, called from kernels)."""

    lowering = ArgumentBorrowingLowering


def source_digest(source: str) -> str:
    """Digest of a module's code: its syntax tree (every name, constant, import, base
    class and decorator; not its comments or layout)."""
    return hashlib.sha256(ast.dump(ast.parse(source)).encode()).hexdigest()[:16]


@functools.cache
def lowering_digest() -> str:
    """Digest of this module's code (:func:`source_digest`), for the cache key of the
    kernels it lowers and of every kernel that calls them."""
    return source_digest(Path(__file__).read_text(encoding="utf-8"))
