"""Declarative LFs: defined by parameters, compiled to SQL, with an identical Python evaluation.

They run inside the warehouse in one SQL pass (see `applier.apply_lfs`), and their Python
evaluation (`vote_value`, `__call__`) gives the same votes, which the reference applier and the
tests rely on. Text matching goes through `weak_supervision.regex`, which renders one syntax
tree for both RE2 and Python `re` so the two cannot drift apart.
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
    """Shared machinery of the text-matching LFs: one regex tree, two renderings.

    The tree is built on first use: case folding and word boundaries need Unicode tables that
    take a few hundred milliseconds to compute, which must not slow down importing the LFs.
    """

    @abstractmethod
    def _build_tree(self) -> regex.Node: ...

    @functools.cached_property
    def pattern_tree(self) -> regex.Node:
        return self._build_tree()

    def condition(self, dialect: SqlDialect) -> SqlFragment:
        return dialect.regex_search(dialect.quote_identifier(self.column), self.pattern_tree)

    def vote_value(self, value: Any) -> int:
        if is_missing(value):
            return ABSTAIN
        if not isinstance(value, str):
            raise TypeError(f"LF {self.name!r} expects text in {self.column!r}, got {value!r}")
        return self.label if regex.compile_python(self.pattern_tree).search(value) else ABSTAIN


def keyword_pattern(keywords: Iterable[str], *, ignore_case: bool, whole_word: bool) -> regex.Node:
    """A regex tree matching any keyword; with `whole_word`, not inside a longer word.

    Word characters are Unicode letters, marks, numbers and `_`. A boundary is only required on a
    side where the keyword itself starts/ends with a word character, so `"$$$"` still matches
    in `"win$$$"`. RE2 has no lookarounds, so a boundary is "start/end of text or a non-word
    character"; keywords are grouped by which boundaries they need to keep the pattern small.
    """
    groups: dict[tuple[bool, bool], list[regex.Node]] = {}
    for keyword in keywords:
        word = regex.unicode_word_ranges()
        needs = (
            whole_word and regex.contains(word, ord(keyword[0])),
            whole_word and regex.contains(word, ord(keyword[-1])),
        )
        groups.setdefault(needs, []).append(regex.literal(keyword, ignore_case=ignore_case))
    non_word = regex.CharSet(regex.unicode_word_ranges(), negated=True) if whole_word else None
    options: list[regex.Node] = []
    for (left, right), literals in sorted(groups.items()):
        parts: list[regex.Node] = []
        if left and non_word is not None:
            parts.append(regex.Alternation((regex.Anchor("text_start"), non_word)))
        parts.append(literals[0] if len(literals) == 1 else regex.Alternation(tuple(literals)))
        if right and non_word is not None:
            parts.append(regex.Alternation((regex.Anchor("text_end"), non_word)))
        options.append(regex.Concat(tuple(parts)))
    return options[0] if len(options) == 1 else regex.Alternation(tuple(options))


class KeywordLF(_PatternLF):
    """Votes `label` when the text contains any of `keywords` (as whole words by default).

    Case-insensitive matching uses simple Unicode case mappings, spelled out as explicit
    character classes so DuckDB and Python agree (see `weak_supervision.regex`).
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

    def _build_tree(self) -> regex.Node:
        return keyword_pattern(
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


class RegexLF(_PatternLF):
    """Votes `label` where `pattern` matches anywhere in the text (search, not full match).

    `pattern` must use the portable subset described in `weak_supervision.regex`; `flags` may
    combine `re.IGNORECASE`, `re.MULTILINE` and `re.DOTALL`.
    """

    def __init__(self, name: str, pattern: str, label: int, column: str = "text", flags: int = 0):
        super().__init__(name, column, label)
        if flags & ~_ALLOWED_FLAGS:
            raise ValueError(f"LF {name!r}: only IGNORECASE, MULTILINE and DOTALL are supported")
        self.pattern = pattern
        self.flags = int(flags)
        regex.parse(pattern)  # fail fast on syntax; the case-folded tree is built when used

    def _build_tree(self) -> regex.Node:
        return regex.parse(
            self.pattern,
            ignore_case=bool(self.flags & re.IGNORECASE),
            multiline=bool(self.flags & re.MULTILINE),
            dotall=bool(self.flags & re.DOTALL),
        )

    def definition(self) -> dict[str, Any]:
        flag_names = [f.name for f in (re.IGNORECASE, re.MULTILINE, re.DOTALL) if self.flags & f]
        return {
            "pattern": self.pattern,
            "label": self.label,
            "column": self.column,
            "flags": flag_names,
            "unicode": unicodedata.unidata_version,  # case variants
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
