"""Labeling functions: the common interface and Python LFs written with a decorator.

An LF votes one int label per row, or `ABSTAIN` (-1). Python LFs are written against a batch (a
pandas DataFrame) so they can use vectorised pandas/numpy code; `row=True` LFs take one row at a
time and are looped over by the applier. Every LF has a `version`, a short hash of its
definition that is stable across processes, so stored votes can be traced to the code that made
them. A Python LF's definition includes the helpers and constants of its own module it uses.
"""

from __future__ import annotations

import dis
import functools
import hashlib
import inspect
import marshal
import textwrap
import types
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

ABSTAIN = -1
MAX_LABEL = 127  # votes are stored as int8


def short_hash(text: str) -> str:
    """12 hex digits of SHA-256: short enough for a column, ample to tell definitions apart."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def validate_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise TypeError(f"label must be an int, got {label!r}")
    if not 0 <= label <= MAX_LABEL:
        raise ValueError(f"label must be in 0..{MAX_LABEL} (-1 is abstain), got {label}")
    return int(label)


def as_votes(values: Any, n_rows: int, lf_name: str) -> np.ndarray:
    """Check an LF's output (one int per row, -1..127) and return it as an int8 array."""
    arr = np.asarray(values)
    if arr.shape != (n_rows,):
        raise ValueError(f"LF {lf_name!r} returned shape {arr.shape}, expected ({n_rows},)")
    if arr.dtype == bool:
        raise TypeError(f"LF {lf_name!r} returned booleans; return labels (or -1 to abstain)")
    if n_rows == 0:
        return np.empty(0, dtype=np.int8)
    if arr.dtype.kind not in "iuf" and arr.dtype != object:
        raise TypeError(f"LF {lf_name!r} returned {arr.dtype} values; expected ints")
    try:
        as_float = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"LF {lf_name!r} returned values that are not ints") from exc
    if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
        raise ValueError(f"LF {lf_name!r} returned non-integer votes")
    if as_float.min() < ABSTAIN or as_float.max() > MAX_LABEL:
        raise ValueError(f"LF {lf_name!r} returned votes outside -1..{MAX_LABEL}")
    return as_float.astype(np.int8)


class Row(dict):
    """One row as a dict that also allows attribute access (`row.text` as well as `row["text"]`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


class LabelingFunction(ABC):
    """Common interface: a name, a stable version and a vectorised vote over a DataFrame."""

    name: str

    @property
    @abstractmethod
    def version(self) -> str:
        """Short hash of the definition; changes whenever the votes could change."""

    @abstractmethod
    def __call__(self, batch: pd.DataFrame) -> np.ndarray:
        """Votes (int8, -1 abstains) for every row of `batch`, in order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, version={self.version!r})"


def _source_fingerprint(func: Callable[..., Any] | type) -> str:
    """The source of a function or class, or its marshalled bytecode when there is no source."""
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        return marshal.dumps(code).hex() if code is not None else repr(func)


def _plain_data(value: Any) -> str | None:
    """A stable text for plain data (numbers, strings and containers of them), else None."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        return repr(value)
    if isinstance(value, tuple | list | set | frozenset | dict):
        members = value.items() if isinstance(value, dict) else value
        items = [_plain_data(item) for item in members]
        if None in items:
            return None
        if isinstance(value, set | frozenset):
            items.sort()  # iteration order of a set of strings changes with PYTHONHASHSEED
        return f"{type(value).__name__}({', '.join(items)})"  # type: ignore[arg-type]
    return None


_LOADS_GLOBALS = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})


def _global_names(code: types.CodeType) -> set[str]:
    """Global names loaded by `code` and the code nested in it (comprehensions, lambdas)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in _LOADS_GLOBALS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def dependencies(func: Callable[..., Any]) -> dict[str, str]:
    """What `func` uses from its own module, transitively: name -> source or value.

    Functions and classes defined in that module count with their source (and what they use in
    turn); plain-data globals (numbers, strings, tuples of them...) with their value. Imported
    modules, functions of other modules and other objects are left out: they are not the LF
    author's code, or have no stable text.
    """
    module = func.__module__
    found: dict[str, str] = {}
    pending = [func]
    while pending:
        current = pending.pop()
        namespace = current.__globals__
        for name in sorted(_global_names(current.__code__)):
            if name in found or name not in namespace:
                continue
            value = namespace[name]
            target = value.func if isinstance(value, PythonLF) else value
            target = inspect.unwrap(target) if callable(target) else target  # functools.cache
            if getattr(target, "__module__", None) == module and inspect.isfunction(target):
                found[name] = _source_fingerprint(target)
                pending.append(target)
            elif inspect.isclass(target) and target.__module__ == module:
                found[name] = _source_fingerprint(target)
                pending.extend(f for f in vars(target).values() if inspect.isfunction(f))
            elif isinstance(value, LabelingFunction):
                found[name] = value.version
            elif (text := _plain_data(value)) is not None:
                found[name] = text
    return found


class PythonLF(LabelingFunction):
    """An LF implemented by a Python function over a batch, or over one row with `row=True`.

    The version hashes the name, the function's source and `dependencies(func)`: editing a
    helper or constant of the LF's module that the LF uses changes its version. Code in other
    modules is not covered; rename the LF when such code changes its votes. The version is
    computed on first use, once the module has defined everything the LF refers to.
    """

    def __init__(self, func: Callable[..., Any], *, name: str | None = None, row: bool = False):
        self.func = func
        self.name = name or func.__name__
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("an LF needs a non-empty name")
        self.row = row
        self.__doc__ = func.__doc__

    @functools.cached_property
    def version(self) -> str:
        parts = [self.name, str(int(self.row)), _source_fingerprint(self.func)]
        parts += [f"{name}={text}" for name, text in sorted(dependencies(self.func).items())]
        return short_hash("\0".join(parts))

    def __call__(self, batch: pd.DataFrame) -> np.ndarray:
        if self.row:
            return self.vote_records(batch.to_dict("records"))
        return as_votes(self.func(batch), len(batch), self.name)

    def vote_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Votes of a row LF over plain records (what the appliers pass, built from Arrow)."""
        return as_votes([self.func(Row(record)) for record in records], len(records), self.name)


@overload
def labeling_function(func: Callable[..., Any], /) -> PythonLF: ...
@overload
def labeling_function(
    *, name: str | None = None, row: bool = False
) -> Callable[[Callable[..., Any]], PythonLF]: ...
def labeling_function(
    func: Callable[..., Any] | None = None, /, *, name: str | None = None, row: bool = False
) -> PythonLF | Callable[[Callable[..., Any]], PythonLF]:
    """Make a `PythonLF` from `f(batch: DataFrame) -> votes` (or `f(row) -> vote` if `row`).

    Usable bare (`@labeling_function`) or with arguments (`@labeling_function(name="x")`).
    """

    def wrap(f: Callable[..., Any]) -> PythonLF:
        return PythonLF(f, name=name, row=row)

    return wrap(func) if func is not None else wrap
