"""The portable regex layer: DuckDB (RE2) and Python `re` must agree on every pattern."""

from __future__ import annotations

import functools

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weak_supervision import regex
from weak_supervision.declarative import keyword_pattern

# Patterns (with parse options) chosen around the engines' known differences.
PATTERNS: list[tuple[str, dict[str, bool]]] = [
    (r"^a", {}),
    (r"a$", {}),
    (r"^$", {}),
    (r"(?:^|x)b$", {"multiline": True}),
    (r"^", {"multiline": True}),
    (r"$", {"multiline": True}),
    (r"\bword\b", {}),
    (r"\w+\s\d", {}),
    (r"[^\w\s]{2,}", {}),
    (r"a.b", {}),
    (r"a.b", {"dotall": True}),
    (r"i", {"ignore_case": True}),
    (r"[a-f]+z", {"ignore_case": True}),
    (r"[^k]", {"ignore_case": True}),
    (r"straße|é", {"ignore_case": True}),
    (r"(ab|cd)*?e{1,3}", {}),
    (r"\x{1F600}|\x41|\t", {}),
    (r"[\-\]\\.]", {}),
]

TRICKY = "iI\u0131\u0130kK\u212asS\u017fßéÉe\u0301\n\t \u00a0aAbB_09٣😀x$.-]\\"
texts = st.text(
    alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=12
)


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@functools.cache
def _trees(kind: str) -> tuple[regex.Node, ...]:
    if kind == "patterns":
        return tuple(regex.parse(p, **opts) for p, opts in PATTERNS)
    return (
        keyword_pattern(["caf", "\u0131k", "$$"], ignore_case=True, whole_word=True),
        keyword_pattern(["é", "x y"], ignore_case=False, whole_word=True),
        keyword_pattern(["ss", "K"], ignore_case=True, whole_word=False),
    )


def _assert_engines_agree(trees: tuple[regex.Node, ...], values: list[str]) -> None:
    con = _connection()
    con.register("t", pd.DataFrame({"i": range(len(values)), "s": values}))
    columns = ", ".join("regexp_matches(s, ?)" for _ in trees)
    patterns = [regex.render(t, "re2") for t in trees]
    in_duckdb = con.execute(f"SELECT {columns} FROM t ORDER BY i", patterns).fetchall()
    con.unregister("t")
    for value, row in zip(values, in_duckdb, strict=True):
        in_python = tuple(regex.compile_python(t).search(value) is not None for t in trees)
        assert in_python == row, value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=8))
def test_re2_and_python_renderings_agree(values: list[str]) -> None:
    _assert_engines_agree(_trees("patterns"), values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=8))
def test_whole_word_keywords_agree(values: list[str]) -> None:
    """Unicode word boundaries (letters, marks, digits) and case variants, in both engines."""
    _assert_engines_agree(_trees("keywords"), values)


def test_case_folding_uses_simple_mappings_only() -> None:
    tree = regex.parse("i", ignore_case=True)
    python = regex.compile_python(tree)
    assert python.search("I") and python.search("\u0131")  # I -> i and dotless i -> I
    assert not python.search("\u0130")  # dotted I lowercases to two chars
    kelvin = regex.compile_python(regex.parse("k", ignore_case=True))
    assert kelvin.search("\u212a")


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?=a)",
        r"(?!a)",
        r"(?<=a)b",
        r"(a)\1",
        r"(?i)a",
        r"(?P<n>a)",
        r"a{,3}",
        r"a{2000}",
        r"a**",
        r"a*+",
        r"\p{L}",
        r"[[:alpha:]]",
        r"[]a]",
        r"[a-c-e]",
        r"a{",
        r"\Z",
        r"(a",
        r"a)",
        r"*a",
        r"[z-a]",
        r"\B",
    ],
)
def test_non_portable_syntax_is_rejected(pattern: str) -> None:
    with pytest.raises(regex.RegexSyntaxError):
        regex.parse(pattern)


def test_rendering_spells_out_engine_differences() -> None:
    tree = regex.parse(r"^\d$")
    assert regex.render(tree, "re2") == r"\A[0-9]\z"
    assert regex.render(tree, "python") == r"\A[0-9]\Z"
    assert regex.render(regex.parse("é"), "re2") == r"\x{E9}"
