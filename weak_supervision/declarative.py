"""Declarative LFs: defined by parameters, compiled to SQL, with an identical Python evaluation.

They run inside the warehouse in one SQL pass (see `applier.apply_lfs`), and their Python
evaluation (`vote_value`, `__call__`) gives the same votes, which the reference applier and the
tests rely on. Text matching is RE2 on both sides (DuckDB's `regexp_matches`, google-re2 and
`pyarrow.compute` in Python), so one pattern string serves both (see `weak_supervision.regex`).
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import unicodedata
from abc import abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from weak_supervision import regex
from weak_supervision.lf import ABSTAIN, LabelingFunction, short_hash, validate_label
from weak_supervision.sql import (
    COMPARISON_OPS,
    DUCKDB,
    SqlDialect,
    SqlFragment,
    validate_identifier,
)


def is_missing(value: Any) -> bool:
    """None, pandas NA or a float NaN: all read as SQL NULL, so the LF abstains on them."""
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float | np.floating) and math.isnan(value))
    )


class DeclarativeLF(LabelingFunction):
    """An LF over one column, defined entirely by its parameters."""

    def __init__(self, name: str, column: str, label: int):
        if not isinstance(name, str) or not name:
            raise ValueError("an LF needs a non-empty name")
        self.name = name
        self.column = validate_identifier(column)
        self.label = validate_label(label)

    @abstractmethod
    def definition(self) -> dict[str, Any]:
        """All parameters that determine the votes (JSON-serialisable)."""

    @abstractmethod
    def condition(self, dialect: SqlDialect) -> SqlFragment:
        """SQL predicate that is true exactly where the LF votes `label`."""

    @abstractmethod
    def vote_value(self, value: Any) -> int:
        """The vote for one value of `column` (Python evaluation, same as the SQL)."""

    @property
    def version(self) -> str:
        spec = {"kind": type(self).__name__, "name": self.name, **self.definition()}
        return short_hash(json.dumps(spec, sort_keys=True, ensure_ascii=False))

    def compile(self, dialect: SqlDialect = DUCKDB) -> SqlFragment:
        """`CASE WHEN <condition> THEN label ELSE -1 END` with its bound parameters."""
        return dialect.vote(self.condition(dialect), self.label)

    def __call__(self, batch: pd.DataFrame) -> np.ndarray:
        return np.fromiter(
            (self.vote_value(v) for v in batch[self.column]), dtype=np.int8, count=len(batch)
        )


class _PatternLF(DeclarativeLF):
    """Shared machinery of the text-matching LFs: one RE2 pattern for SQL and for Python."""

    re2_pattern: str  # flags included; what DuckDB and Python both run

    def condition(self, dialect: SqlDialect) -> SqlFragment:
        return dialect.regex_search(dialect.quote_identifier(self.column), self.re2_pattern)

    def vote_value(self, value: Any) -> int:
        if is_missing(value):
            return ABSTAIN
        if not isinstance(value, str):
            raise TypeError(f"LF {self.name!r} expects text in {self.column!r}, got {value!r}")
        return self.label if regex.compiled(self.re2_pattern).search(value) else ABSTAIN

    def __call__(self, batch: pd.DataFrame) -> np.ndarray:
        try:
            found = regex.search(batch[self.column], self.re2_pattern)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise TypeError(f"LF {self.name!r} expects text in {self.column!r}: {err}") from None
        return np.where(found, self.label, ABSTAIN).astype(np.int8)


class KeywordLF(_PatternLF):
    """Votes `label` when the text contains any of `keywords` (as whole words by default).

    Case-insensitive matching uses simple Unicode case mappings and word characters are Unicode
    letters, marks, numbers and `_`, both spelled out as explicit classes from Python's Unicode
    tables, so every RE2 build agrees (see `weak_supervision.regex.keyword_pattern`).
    """

    def __init__(
        self,
        name: str,
        keywords: str | Iterable[str],
        label: int,
        column: str = "text",
        case_sensitive: bool = False,
        whole_word: bool = True,
    ):
        super().__init__(name, column, label)
        words = (keywords,) if isinstance(keywords, str) else tuple(keywords)
        if not words or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"LF {name!r}: keywords must be non-empty strings")
        self.keywords = tuple(dict.fromkeys(words))
        self.case_sensitive = case_sensitive
        self.whole_word = whole_word

    @functools.cached_property
    def re2_pattern(self) -> str:
        # Built on first use: the Unicode tables take a few hundred ms, not at LF import.
        return regex.keyword_pattern(
            self.keywords, ignore_case=not self.case_sensitive, whole_word=self.whole_word
        )

    def definition(self) -> dict[str, Any]:
        return {
            "keywords": list(self.keywords),
            "label": self.label,
            "column": self.column,
            "case_sensitive": self.case_sensitive,
            "whole_word": self.whole_word,
            "unicode": unicodedata.unidata_version,  # word characters and case variants
        }


_ALLOWED_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))


class RegexLF(_PatternLF):
    """Votes `label` where the RE2 `pattern` matches anywhere in the text (search, not match).

    `flags` may combine `re.IGNORECASE`, `re.MULTILINE` and `re.DOTALL`, applied as RE2's
    `(?ims)`. RE2 semantics throughout: `\\w`, `\\d`, `\\s`, `\\b` are ASCII, `$` is the end of
    the text, `(?i)` folds with RE2's Unicode tables (so `i` does not match U+0131 dotless i).
    Those tables differ by build: DuckDB's predates Unicode 15.1, so `(?i)` on U+0390/U+1FD3,
    U+03B0/U+1FE3, U+FB05/U+FB06 and `\\p{L}` on CJK Extension I can vote differently in SQL and
    in Python; keywords (`KeywordLF`) have no such gap. A pattern RE2 cannot run (look-arounds,
    backreferences, named groups) raises `RegexSyntaxError` here.
    """

    def __init__(self, name: str, pattern: str, label: int, column: str = "text", flags: int = 0):
        super().__init__(name, column, label)
        if flags & ~_ALLOWED_FLAGS:
            raise ValueError(f"LF {name!r}: only IGNORECASE, MULTILINE and DOTALL are supported")
        self.pattern = pattern
        self.flags = int(flags)
        letters = "".join(letter for flag, letter in _FLAG_LETTERS if flags & flag)
        # A leading `(?ims)` covers every top-level alternative of the pattern.
        self.re2_pattern = f"(?{letters}){pattern}" if letters else pattern
        try:
            regex.compiled(self.re2_pattern)
        except regex.RegexSyntaxError as err:
            raise regex.RegexSyntaxError(f"LF {name!r}: {err}") from None

    def definition(self) -> dict[str, Any]:
        flag_names = [flag.name for flag, _ in _FLAG_LETTERS if self.flags & flag]
        return {
            "pattern": self.pattern,
            "label": self.label,
            "column": self.column,
            "flags": flag_names,
            "syntax": "re2",
        }


_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class ThresholdLF(DeclarativeLF):
    """Votes `label` where `column op value` holds on a numeric column; NULL/NaN abstain."""

    def __init__(self, name: str, column: str, op: str, value: float, label: int):
        super().__init__(name, column, label)
        if op not in COMPARISON_OPS:
            raise ValueError(f"LF {name!r}: op must be one of {COMPARISON_OPS}, got {op!r}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"LF {name!r}: value must be a finite number, got {value!r}")
        self.op = op
        self.value = value

    def definition(self) -> dict[str, Any]:
        return {"column": self.column, "op": self.op, "value": self.value, "label": self.label}

    def condition(self, dialect: SqlDialect) -> SqlFragment:
        return dialect.compare(dialect.quote_identifier(self.column), self.op, self.value)

    def vote_value(self, value: Any) -> int:
        if is_missing(value):
            return ABSTAIN
        return self.label if _PY_OPS[self.op](value, self.value) else ABSTAIN
