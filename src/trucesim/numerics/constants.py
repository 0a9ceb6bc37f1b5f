"""Parameters as the kernels see them: typed constants generated from the parameter models.

The parameter models (:mod:`trucesim.scenario.params`) are the one place where a
parameter is declared; this module takes them as arguments and imports none of them (so
the kernels' cache keys do not depend on the scenario layer). Kernels cannot read
pydantic models, so each model becomes a named tuple with the same field names
(:func:`constants`), and the regime of each phase a record of a structured array
(:func:`record_dtype`), both generated from the model's fields. A choice (an enum)
becomes its position in the enum (:func:`code`).
"""

from __future__ import annotations

from collections import namedtuple
from enum import Enum
from typing import Any

import numpy as np
from pydantic import BaseModel


def code(choice: Enum) -> int:
    """The integer code of an enum member: its position in its enum."""
    return list(type(choice)).index(choice)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return code(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return float(value)


_TYPES: dict[type, type] = {}


def constants_type(model: type[BaseModel]) -> type:
    """The named tuple type holding the fields of parameter model ``model``."""
    if model not in _TYPES:
        name = f"{model.__name__}Constants"
        cls = namedtuple(name, list(model.model_fields))
        cls.__module__ = __name__  # picklable, so numba can cache kernels taking it
        cls.__doc__ = f"Constants of :class:`{model.__name__}` for the kernels."
        globals()[name] = cls
        _TYPES[model] = cls
    return _TYPES[model]


def constants(params: BaseModel) -> tuple:
    """``params`` as a named tuple of plain numbers (enums as codes)."""
    cls = constants_type(type(params))
    return cls(*(_plain(getattr(params, f)) for f in cls._fields))


def record_dtype(model: type[BaseModel]) -> np.dtype:
    """A structured dtype with one field per field of ``model`` (bool, int64 or float64)."""
    fields = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if kind is bool:
            fields.append((name, np.bool_))
        elif kind is int or (isinstance(kind, type) and issubclass(kind, Enum)):
            fields.append((name, np.int64))
        else:
            fields.append((name, np.float64))
    return np.dtype(fields)


def records(items: list[BaseModel], dtype: np.dtype) -> np.recarray:
    """A record array with one record per item (fields readable as attributes)."""
    return np.array([tuple(_plain(getattr(it, f)) for f in dtype.names) for it in items],
                    dtype=dtype).view(np.recarray)
