"""SQL generation for declarative labeling functions, behind a dialect.

Declarative LFs never build SQL by pasting values: identifiers are validated and quoted, and
keywords, patterns and thresholds travel as bound parameters. Everything that differs between
engines (regex function and syntax, NaN handling, parameter markers) lives in a `SqlDialect`, so
moving from DuckDB to another engine means adding a dialect, not rewriting LFs.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import NamedTuple

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

COMPARISON_OPS = (">", ">=", "<", "<=", "==", "!=")


class SqlFragment(NamedTuple):
    """A SQL expression and the values for its `?` parameters, in order (unpacks as a pair)."""

    sql: str
    params: tuple[object, ...] = ()


def validate_identifier(name: str) -> str:
    """Return `name` if it is a plain identifier (letters, digits, `_`), else raise ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid SQL identifier: {name!r}")
    return name


def is_qualified_name(text: str) -> bool:
    """True for `table`, `schema.table` or `catalog.schema.table` made of plain identifiers."""
    parts = text.split(".")
    return 1 <= len(parts) <= 3 and all(_IDENTIFIER.match(part) for part in parts)


class SqlDialect(ABC):
    """How one SQL engine spells the few constructs declarative LFs compile to."""

    name: str

    def quote_identifier(self, name: str) -> str:
        return '"' + validate_identifier(name) + '"'

    def quote_qualified(self, dotted: str) -> str:
        """Quote `a.b.c`; every part must be a plain identifier."""
        if not is_qualified_name(dotted):
            raise ValueError(f"not a valid qualified table name: {dotted!r}")
        return ".".join(self.quote_identifier(part) for part in dotted.split("."))

    @abstractmethod
    def regex_search(self, column_sql: str, pattern: str) -> SqlFragment:
        """True where the RE2 pattern matches anywhere in the column, NULL where it is NULL."""

    @abstractmethod
    def compare(self, column_sql: str, op: str, value: float) -> SqlFragment:
        """`column op value`, false (or NULL) for NULL and NaN so it agrees with Python."""

    def vote(self, condition: SqlFragment, label: int) -> SqlFragment:
        """`label` where the condition holds, -1 (abstain) otherwise, including NULL."""
        if isinstance(label, bool) or not isinstance(label, int):
            raise TypeError(f"label must be an int, got {label!r}")
        return SqlFragment(
            f"CASE WHEN {condition.sql} THEN {label:d} ELSE -1 END", condition.params
        )


class DuckDBDialect(SqlDialect):
    """DuckDB: RE2 regexes through `regexp_matches`, NaN compares greater than everything."""

    name = "duckdb"

    _OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}

    def regex_search(self, column_sql: str, pattern: str) -> SqlFragment:
        return SqlFragment(f"regexp_matches({column_sql}, ?)", (pattern,))

    def compare(self, column_sql: str, op: str, value: float) -> SqlFragment:
        if op not in self._OPS:
            raise ValueError(f"unsupported comparison {op!r}; use one of {COMPARISON_OPS}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"threshold must be a finite int or float, got {value!r}")
        # DuckDB orders NaN above every number and equal to itself; Python treats it as missing.
        return SqlFragment(
            f"({column_sql} {self._OPS[op]} ? AND NOT isnan(CAST({column_sql} AS DOUBLE)))",
            (value,),
        )


DUCKDB = DuckDBDialect()
