"""Compiling the kernels: numba, with a cache keyed on what each kernel is built from.

Every mechanism is written once, as a plain Python function over the model's arrays,
and decorated with :func:`kernel`, which compiles it with numba (``njit``, cached on
disk). Setting ``NUMBA_DISABLE_JIT=1`` runs the very same functions as plain Python,
for debugging (slow, but every line can be stepped through).

numba checks only the file of a cached function (its time and size), but a kernel
freezes more than its own file: the kernels it calls, from any module, are compiled into
it, and the module constants it reads (stance codes, event kinds, the active window)
become literals in its machine code. So each kernel's cache entry is keyed, on top of
numba's own key (argument types, CPU, bytecode), on a digest of what it is built from
(:func:`kernel_digest`): its code (bytecode, constants, names), the value of every global
it reads, recursively the digests of the kernels it calls, and the compiler's options;
and on the field names of the named tuples among its argument types (a reordered
parameter block has the same numba type, but cached code would read the old slots).

Editing a module no kernel reads (the CLI, plots, the scenario schema's messages)
recompiles nothing; editing a kernel, or a constant or kernel it reads, recompiles that
kernel and every kernel that calls it, whichever files they are in. A stale entry is
dropped when its replacement is saved (:class:`KernelCache`).
"""

from __future__ import annotations

import builtins
import dis
import enum
import functools
import hashlib
import importlib
import os
import threading
import time
import types
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import imputils, sigutils
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from numba.core.extending import _Intrinsic
from numba.core.registry import CPUDispatcher

from trucesim.numerics.borrowing import (
    ArgumentBorrowingCompiler,
    BorrowingCompiler,
    lowering_digest,
)

try:
    import fcntl
except ImportError:  # no flock (Windows): each process compiles on its own
    fcntl = None


def numba_cache_folder(source: Path, root: str | Path) -> Path:
    """The folder under ``root`` (``NUMBA_CACHE_DIR``) where numba caches the kernels of
    the Python file ``source`` (numba's own naming: folder name and a hash of its path)."""
    from numba.core.caching import _CacheLocator

    return Path(root) / _CacheLocator.get_suitable_cache_subpath(str(source.resolve()))


# ------------------------------------------------------------------ what a kernel freezes
def _plain_digest(value: Any) -> str | None:
    """Digest text of a plain value a kernel can freeze, or None if it is not one."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, enum.Enum):
        return f"enum:{type(value).__module__}.{type(value).__qualname__}:{value.value!r}"
    if isinstance(value, np.generic):
        return f"np:{value.dtype.str}:{value!r}"
    if isinstance(value, np.ndarray):
        data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"array:{value.dtype.str}:{value.shape}:{data}"
    if isinstance(value, np.dtype):
        return f"dtype:{value!r}"
    return None


def _value_digest(value: Any, names: frozenset[str], package: str,
                  modules: tuple[str, ...] = ()) -> str:
    """Digest text of a global that a kernel of ``package`` (its top-level package)
    reads. ``names`` are the names its code uses (for a module of the same package, the
    attributes it may read from it)."""
    plain = _plain_digest(value)
    if plain is not None:
        return plain
    if isinstance(value, Dispatcher):
        if value.py_func in _DIGESTING:  # a recursive kernel: its own code is hashed
            return f"kernel:{value.py_func.__qualname__}"
        linked = value.callee if isinstance(value, Kernel) else value  # what a kernel calls
        return f"kernel:{kernel_digest(value.py_func)}:{_build(linked)}"
    if isinstance(value, tuple | list | frozenset):
        return f"{type(value).__name__}:[" + ",".join(
            _value_digest(v, names, package, modules) for v in value) + "]"
    if isinstance(value, types.ModuleType):
        name = value.__name__
        if name.split(".")[0] != package:  # a library: its version
            return f"module:{name}:{getattr(value, '__version__', '')}"
        if name in modules:  # already being digested
            return f"module:{name}"
        inner = (*modules, name)
        return f"module:{name}:{{" + ",".join(
            f"{n}={_value_digest(getattr(value, n), names, package, inner)}"
            for n in sorted(names) if hasattr(value, n)) + "}"
    if isinstance(value, type):
        fields = getattr(value, "_fields", None)
        members = ([f"{m.name}={m.value!r}" for m in value]
                   if issubclass(value, enum.Enum) else None)
        return f"type:{value.__module__}.{value.__qualname__}:{fields}:{members}"
    if isinstance(value, _Intrinsic):  # its typing function, code generation nested in it,
        # and whether what it gives is lowered as owning nothing (borrowing.BorrowingLower)
        return (f"intrinsic:{value._name}:{kernel_digest(value._defn)}:"
                f"{getattr(value, 'gives_unowned', False)}")
    if isinstance(value, types.BuiltinFunctionType | np.ufunc):
        return f"function:{getattr(value, '__module__', '')}.{value.__name__}"
    if isinstance(value, types.FunctionType):  # a plain function numba compiles inline
        return f"function:{value.__module__}.{value.__qualname__}:{kernel_digest(value)}"
    raise TypeError(f"a kernel reads a global of type {type(value).__name__} ({value!r}) "
                    "that trucesim.numerics.jit cannot digest for its cache key")


def _global_names(code: types.CodeType) -> set[str]:
    """The names ``code`` (and the code nested in it) loads as globals: not attribute
    names, which ``co_names`` holds too (``events[i].day`` reads no global ``day``)."""
    names = {i.argval for i in dis.get_instructions(code)
             if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _code_digest(code: types.CodeType, h: Any, doc: str | None) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for i, const in enumerate(code.co_consts):
        if isinstance(const, types.CodeType):
            _code_digest(const, h, None)
        elif i == 0 and doc is not None and const == doc:
            continue  # the docstring: not compiled
        else:
            h.update(f"{type(const).__name__}:{const!r};".encode())


_DIGESTING: set[Callable] = set()


@functools.cache
def kernel_digest(fn: Callable) -> str:
    """Digest of what the compiled ``fn`` is built from: its code, the value of every
    global it reads (a module of this package: the attributes its code names) and,
    recursively, the digests of the kernels it calls. Its docstring, comments and line
    numbers do not count. Computed once per process."""
    _DIGESTING.add(fn)
    try:
        return _digest(fn)
    finally:
        _DIGESTING.discard(fn)


def _digest(fn: Callable) -> str:
    code = fn.__code__
    h = hashlib.sha256()
    _code_digest(code, h, fn.__doc__)
    h.update(repr([(v.__class__.__name__, _plain_digest(v)) for v in fn.__defaults__ or ()])
             .encode())
    names = frozenset(_code_names(code))
    loaded = _global_names(code)
    package = fn.__module__.split(".")[0]
    for name in sorted(names):
        if name in loaded and name in fn.__globals__:
            value = fn.__globals__[name]
            h.update(f"{name}={_value_digest(value, names, package)};".encode())
        elif not hasattr(builtins, name):
            h.update(f"{name}=?;".encode())  # e.g. an attribute name: its code has it
    return h.hexdigest()[:24]


def _options(dispatcher: Dispatcher) -> str:
    return repr(sorted((k, repr(v)) for k, v in dispatcher.targetoptions.items()))


def _build(dispatcher: Dispatcher) -> str:
    """How ``dispatcher`` compiles: its options and, lowered by trucesim's lowering
    (:class:`~trucesim.numerics.borrowing.BorrowingCompiler` and the twins'), that
    lowering's code; and whether its callers call it by symbol (:attr:`Callee.separate`)."""
    borrows = issubclass(dispatcher._compiler.pipeline_class, BorrowingCompiler)
    return (_options(dispatcher) + (f":{lowering_digest()}" if borrows else "")
            + (":separate" if getattr(dispatcher, "separate", False) else ""))


#: The layout of a cache entry (numba's, with the callees called by symbol first).
CACHE_FORMAT = "symbols-1"


def _named_fields(ty: Any, out: list) -> list:
    """The field names of every named tuple type in numba type ``ty`` (recursively)."""
    cls = getattr(ty, "instance_class", None)
    if cls is not None and hasattr(cls, "_fields"):
        out.append(f"{cls.__module__}.{cls.__qualname__}{cls._fields}")
    for sub in getattr(ty, "types", ()) or ():
        _named_fields(sub, out)
    return out


class KernelCache(FunctionCache):
    """numba's on-disk cache of one kernel, its entries keyed also on the kernel's
    :func:`kernel_digest`, the compiler options and optimisation level, and the fields
    of the named tuples it takes. Saving an entry drops older entries of the same
    argument types and CPU (those built from other sources)."""

    def __init__(self, dispatcher: Dispatcher, suffix: str = ""):
        super().__init__(dispatcher.py_func)
        self._dispatcher = dispatcher
        if suffix:  # files of their own (a kernel's callee: same function, other code)
            self._cache_file = IndexDataCacheFile(
                cache_path=self._cache_path,
                filename_base=self._impl.filename_base + suffix,
                source_stamp=self._impl.locator.get_source_stamp())
        files = self._cache_file
        load_index = files._load_index

        def readable_index() -> dict:
            """numba's index, or none when it cannot be read: an entry for argument types
            that no longer exist (a parameter block's named tuple not created in this
            process, or renamed since) would otherwise stop the kernel from compiling.
            The kernel then compiles, and saving it writes a readable index."""
            try:
                return load_index()
            except Exception:  # noqa: BLE001 - any unreadable index is an empty cache
                return {}

        files._load_index = readable_index
        # Each entry also carries the separate callees its code calls by symbol (loaded
        # first, so that the JIT can resolve them).
        impl = self._impl
        reduce, rebuild = impl.reduce, impl.rebuild

        def reduce_with_symbols(cres):
            return list(_symbols(cres.library)), reduce(cres)

        def rebuild_with_symbols(target_context, payload):
            symbols, data = payload
            try:
                _load_symbols(symbols)
            except (LookupError, ImportError):
                return None  # a callee gone, changed or named otherwise: compile instead
            cres = rebuild(target_context, data)
            if symbols:
                _SYMBOLS[cres.library] = dict.fromkeys(symbols)
            return cres

        impl.reduce, impl.rebuild = reduce_with_symbols, rebuild_with_symbols

    def _sources(self) -> str:
        """What the kernel is built from, whatever its argument types."""
        return (f"{kernel_digest(self._py_func)}:{_build(self._dispatcher)}:"
                f"{int(numba.config.OPT)}:{CACHE_FORMAT}")

    def _built_from(self, sig: Any) -> str:
        args = sig.args if hasattr(sig, "args") else sig
        fields = [f for a in args for f in _named_fields(a, [])]
        return hashlib.sha256(repr((self._sources(), fields)).encode()).hexdigest()[:24]

    def _index_key(self, sig, codegen):
        return (*super()._index_key(sig, codegen), self._built_from(sig))

    def _save_overload(self, sig, data):
        super()._save_overload(sig, data)
        if not self._enabled:
            return
        key = self._index_key(sig, data.codegen)
        files = self._cache_file
        index = files._load_index()
        stale = [k for k in index if k[:2] == key[:2] and k != key]
        if stale:
            for k in stale:
                try:
                    os.unlink(files._data_path(index.pop(k)))
                except OSError:
                    pass
            files._save_index(index)
        try:
            self._note_path().write_text(self._note(data.codegen.magic_tuple()))
        except OSError:
            pass

    def _note_path(self) -> Path:
        return Path(self._cache_file._index_path + ".built")

    def _note(self, magic: tuple) -> str:
        """Beside numba's index (whose argument types can only be read once the parameter
        types exist): the CPU, source stamp and sources of the last entry saved."""
        return f"{magic!r}\n{self._impl.locator.get_source_stamp()!r}\n{self._sources()}\n"

    def holds_current(self) -> bool:
        """Whether machine code for the current sources and this CPU is cached (for some
        argument types; as the last entry saved). The fields of the named tuples it
        takes are not compared: they are known only from the argument types."""
        from numba.core.registry import cpu_target

        magic = cpu_target.target_context.codegen().magic_tuple()
        try:
            saved = self._note_path().read_text()
        except OSError:
            return False
        return saved == self._note(magic) and os.path.exists(self._cache_file._index_path)


#: How long a process waits for another one compiling the same kernel before compiling it
#: itself (a safety net: the other one saves it within its compile, tens of seconds at
#: most, unless it was stopped).
LOCK_WAIT_S = 300.0
_held: dict[str, list] = {}  # lock file -> [open descriptor, depth], in this process
_held_guard = threading.Lock()


def _acquire(path: str) -> None:
    """Hold the lock file ``path`` (re-entrant in a process, exclusive across processes)."""
    with _held_guard:
        entry = _held.get(path)
        if entry is not None:
            entry[1] += 1
            return
    fd = -1
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # no lock where the cache cannot be written either
            fd = -1
    end = time.monotonic() + LOCK_WAIT_S
    while fd >= 0:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > end:
                break
            time.sleep(0.02)
        except OSError:  # a file system without locks (NFS nolock, ...): go on without
            os.close(fd)
            fd = -1
    with _held_guard:
        _held[path] = [fd, 1]


def _release(path: str) -> None:
    with _held_guard:
        entry = _held[path]
        entry[1] -= 1
        if entry[1]:
            return
        del _held[path]
    if entry[0] >= 0:
        os.close(entry[0])


def _compile_one_at_a_time(dispatcher: Dispatcher) -> None:
    """Make ``dispatcher.compile`` hold a lock file beside the kernel's cache index while
    it loads or compiles: two processes compiling at once (a command and the process
    that compiles ahead on the other core, :mod:`trucesim.cli.warm`, or test workers)
    compile each kernel once, the second loading what the first saved. The lock is
    taken under numba's compiler lock, so in a process one thread at a time holds or
    waits for kernel locks. A process waits only for a kernel another one is compiling
    (for a caller, its whole compile: up to tens of seconds); the kernels a kernel calls
    are locked after it, and the call graph has no cycle, so two processes never wait on
    each other (and :data:`LOCK_WAIT_S` bounds any wait)."""
    compile_ = dispatcher.compile

    @functools.wraps(compile_)
    def compile(sig):
        cache = dispatcher._cache
        args, _ = sigutils.normalize_signature(sig)
        if not isinstance(cache, KernelCache) or tuple(args) in dispatcher.overloads:
            return compile_(sig)
        lock = cache._cache_file._index_path + ".lock"
        # numba compiles one thing at a time in a process anyway: under its lock, only
        # one thread of this process ever waits for (or holds) a kernel's lock file.
        with global_compiler_lock:
            _acquire(lock)
            try:
                return compile_(sig)
            finally:
                _release(lock)

    dispatcher.compile = compile


def kernel[F: Callable](fn: F | None = None, *, inline: bool = False,
                        separate: bool = False) -> F:
    """Compile ``fn`` with numba (cached on disk, keyed by :class:`KernelCache`; it
    releases the GIL, so threads can run kernels side by side), or leave it as Python
    when ``NUMBA_DISABLE_JIT=1``. Use as ``@kernel`` or ``@kernel(inline=True)``.

    ``inline=True`` inlines the kernel into each kernel that calls it, before typing
    (numba's ``inline="always"``): it is then not compiled, optimised and turned into
    machine code on its own as well. Worth it for a large kernel with one caller (the
    day, into :func:`~trucesim.core.day.simulate_days`: about 6 s of CPU of the first
    compile); called from Python it still compiles on its own.

    ``separate=True`` compiles the kernel once, into machine code of its own, which the
    kernels calling it call by its symbol (:class:`Callee`): its code is not linked into
    each caller and optimised and turned into machine code again there. Worth it for a
    large kernel called a few times a day (the mechanisms the day calls), which LLVM
    would not inline anyway; a small kernel called in a loop is better linked (inlined).
    """
    if fn is None:
        return functools.partial(kernel, inline=inline,  # type: ignore[return-value]
                                 separate=separate)
    if inline and separate:
        raise ValueError(f"kernel {fn.__qualname__}: inline and separate exclude each other")
    options = {"inline": "always"} if inline else {}
    if jit_disabled():
        return numba.njit(nogil=True, **options)(fn)  # the function itself
    compiled = Kernel(fn, targetoptions={"nopython": True, "nogil": True,
                                         "boundscheck": None, "no_cfunc_wrapper": True,
                                         **options})
    compiled.callee.separate = separate
    return compiled


#: What the cache files of a kernel's :attr:`Kernel.callee` add to the kernel's own names.
CALLEE_FILES = "-callee"


class Kernel(CPUDispatcher):
    """A compiled kernel (:func:`kernel`), cached on disk by :class:`KernelCache`.

    Called from Python it runs machine code compiled with numba's Python wrapper (which
    unboxes each argument: for the model's named tuples of arrays, a wrapper larger than
    most kernels). Called from another kernel it runs the code of :attr:`callee`, the
    same function compiled without that wrapper, with cache files of its own. Neither
    has numba's C wrapper (``no_cfunc_wrapper``: only a kernel passed as a first-class
    function value needs it, and none is). The wrappers the day never called took about
    a fifth of the first compile. A kernel called from Python and from kernels compiles
    twice; the two give the same results.
    """

    def __init__(self, py_func, locals=None, targetoptions=None, **kwargs):  # noqa: A002
        super().__init__(py_func, locals=locals, targetoptions=targetoptions,
                         pipeline_class=BorrowingCompiler, **kwargs)
        self._cache = KernelCache(self)  # what njit(cache=True) does, with our key
        _compile_one_at_a_time(self)
        #: The kernel as other kernels call it: compiled without numba's Python wrapper,
        #: so its machine code cannot be called from Python (:class:`Callee`).
        self.callee = Callee(py_func, locals=locals, targetoptions={
            **self.targetoptions, "no_cpython_wrapper": True},
            pipeline_class=ArgumentBorrowingCompiler)
        self.callee._cache = KernelCache(self.callee, CALLEE_FILES)
        _compile_one_at_a_time(self.callee)

    def get_call_template(self, args, kws):
        """How a kernel being typed calls this one: through :attr:`callee`. A kernel
        called from kernels may not call itself, directly or through other kernels (none
        does): numba's typing of recursion does not follow the twin, so it is refused
        here, by name. (Called from Python, a kernel calling only itself compiles.)"""
        if self.callee.is_compiling:
            raise TypeError(f"kernel {self.py_func.__qualname__} calls itself (directly or "
                            "through other kernels): trucesim's kernels may not recurse")
        return self.callee.get_call_template(args, kws)

    def get_overload(self, sig):
        """The compiled code a kernel calling this one links to: :attr:`callee`'s, which
        cannot be called from Python (call the kernel itself)."""
        return self.callee.get_overload(sig)


class Callee(CPUDispatcher):
    """A kernel's twin for calls from other kernels (:attr:`Kernel.callee`): compiled
    without numba's Python wrapper, so calling it from Python is refused (its entry
    point would be a null function pointer).

    numba links the code of a function into each function that calls it (as LLVM IR,
    optimised and turned into machine code again there, so that it can be inlined). A
    :attr:`separate` callee is instead called by its symbol, which the JIT resolves to
    its own machine code (:func:`_call_by_symbol`)."""

    #: Called by its symbol, not linked into its callers (``kernel(separate=True)``).
    separate = False

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.py_func.__qualname__}.callee is compiled for calls from "
                        "kernels only: call the kernel itself from Python")

    def add_overload(self, cres):
        super().add_overload(cres)
        if self.separate:
            _call_by_symbol(self, cres)


# ------------------------------------------------------------- calls by symbol
#: The separate callees (module, name, argument types, symbol) whose symbols the code of a
#: library refers to, its own and that of the libraries linked into it: a cached library
#: can only be loaded once they are (``KernelCache``'s rebuild).
_SYMBOLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _symbols(library) -> dict:
    """The separate callees the code of ``library`` calls (including linked libraries')."""
    found = dict(_SYMBOLS.get(library, {}))
    for linked in getattr(library, "_linking_libraries", ()):
        found.update(_symbols(linked))
    return found


def _call_by_symbol(callee: Callee, cres) -> None:
    """Make calls to ``cres`` (an overload of ``callee``) from kernels compiled after it
    declare its symbol and call it, instead of linking its library: numba's own call
    (:func:`numba.core.imputils.user_function`) with no library to link, which notes the
    symbol for the caller's cache entry. Registered after numba's, so it is the one
    numba finds for this signature."""
    call = imputils.user_function(cres.fndesc, ())
    key = (callee.py_func.__module__, callee.py_func.__qualname__,
           tuple(cres.signature.args), cres.fndesc.mangled_name)

    def imp(context, builder, sig, args):
        _SYMBOLS.setdefault(context.active_code_library, {})[key] = None
        return call(context, builder, sig, args)

    imp.signature = call.signature
    imp.libs = ()
    callee.targetctx._defns[cres.entry_point].append(imp, imp.signature)


def _load_symbols(symbols) -> None:
    """Load (or compile) each separate callee ``(module, name, argument types, symbol)``
    that a cached library calls, so that the JIT resolves its symbols when it loads.
    LookupError if one is not a separate kernel, or its code now has another symbol than
    the library calls (numba's names carry a count of the functions compiled before in
    the process that compiled it: code compiled again may be named otherwise)."""
    for module, name, args, symbol in symbols:
        kernel_ = getattr(importlib.import_module(module), name, None)
        callee = getattr(kernel_, "callee", None)
        if not isinstance(callee, Callee) or not callee.separate:
            raise LookupError(f"{module}.{name} is no separate kernel")
        callee.compile(args)
        if callee.overloads[args].fndesc.mangled_name != symbol:
            raise LookupError(f"{module}.{name} was compiled again: another symbol")


def _borrow(typingctx, value):
    """Typing and code of :data:`borrow`: ``borrow(value)`` is ``value`` (an array, or a
    tuple of them, nested) with each array *borrowed*: the same data, shape and strides,
    without numba's reference to its owner (meminfo and parent null), so that counting
    references to it is a test, not an atomic operation.

    numba counts references to an array wherever compiled code takes it out of a named
    tuple (the day's ``state.cliques``, a kernel's ``cliques.members``) and releases it
    after, even where the caller holds it throughout: two atomic operations each, where
    a borrowed array costs a test of a null owner. (The kernels' twins no longer count
    their arguments at all, :mod:`trucesim.numerics.borrowing`; with them, the days
    without ``borrow`` cost 6.5-6.7 us against 3.1-3.3 us at 3 cliques, measured
    2026-12-07 on a 2-core Intel Xeon.)

    Only for arrays that outlive the borrowed ones: the caller (Python, for
    :func:`~trucesim.core.day.simulate_days`) keeps them alive for the whole call, and
    nothing the kernels return or keep refers to them afterwards. Arrays the kernels
    allocate are counted as usual."""
    from numba.core import cgutils, errors
    from numba.core import types as nt

    def check(ty):
        if isinstance(ty, nt.Array):
            return
        if isinstance(ty, nt.BaseTuple):
            for member in ty:
                check(member)
        elif not isinstance(ty, nt.Number | nt.Boolean):  # nothing else refers to memory
            raise errors.TypingError(f"borrow() takes arrays and tuples of them, not {ty}")

    check(value)

    def codegen(context, builder, sig, args):
        def strip(ty, val):
            if isinstance(ty, nt.Array):
                ary = context.make_array(ty)(context, builder, value=val)
                ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
                ary.parent = cgutils.get_null_value(ary.parent.type)
                return ary._getvalue()
            if isinstance(ty, nt.BaseTuple):
                for i, member in enumerate(ty):
                    val = builder.insert_value(
                        val, strip(member, builder.extract_value(val, i)), i)
            return val

        return strip(sig.args[0], args[0])

    return value(value), codegen


class _Borrow(_Intrinsic):
    """numba's intrinsic, which called as plain Python (``NUMBA_DISABLE_JIT=1``,
    :func:`record_calls`) gives the value itself."""

    #: What it gives has no owner: a variable holding it borrows it
    #: (:class:`~trucesim.numerics.borrowing.BorrowingLower`).
    gives_unowned = True

    def __call__(self, value):
        return value


borrow = _Borrow("borrow", _borrow)
borrow._register()


def kernel_cached(compiled: Callable) -> bool:
    """True if machine code of kernel ``compiled`` for the current sources is in
    numba's cache (for some argument types)."""
    cache = getattr(compiled, "_cache", None)
    return isinstance(cache, KernelCache) and cache.holds_current()


def jit_disabled() -> bool:
    """True when ``NUMBA_DISABLE_JIT`` makes the kernels run as plain Python."""
    return os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def compiler() -> str:
    """What runs the kernels, for manifests: ``numba <version>`` or ``python``."""
    return "python (NUMBA_DISABLE_JIT)" if jit_disabled() else f"numba {numba.__version__}"


def first_use_note(entry: Callable) -> str | None:
    """A line telling the user that the kernels compile now (once per machine, version
    and source), or None if ``entry`` (the kernel the command runs) is cached or
    compilation is disabled."""
    if jit_disabled() or kernel_cached(entry):
        return None
    return ("note: compiling the model on first use (under a minute; cached for later "
            "runs)")


def record_calls(modules: list[types.ModuleType], run: Callable[[], object]
                 ) -> list[tuple[Dispatcher, tuple]]:
    """Run ``run()`` with every kernel of ``modules`` executed as plain Python, and return
    each kernel called with the numba types of its arguments, in the order of first call
    (the kernels a day calls, and what they call). Inlined kernels run as Python and are
    not listed (they are compiled only into their callers). The modules are restored."""
    calls: dict[tuple[Dispatcher, tuple], None] = {}  # in the order of first call
    patched = []

    def recorder(dispatcher: Dispatcher) -> Callable:
        def call(*args):
            calls[dispatcher, tuple(numba.typeof(a) for a in args)] = None
            return dispatcher.py_func(*args)
        return call

    for module in modules:
        for name, value in list(vars(module).items()):
            if isinstance(value, Dispatcher) and isinstance(value._cache, KernelCache):
                inline = value.targetoptions.get("inline") == "always"
                patched.append((module, name, value))
                setattr(module, name, value.py_func if inline else recorder(value))
    try:
        run()
    finally:
        for module, name, value in patched:
            setattr(module, name, value)
    return list(calls)
