"""RE2 everywhere: DuckDB, google-re2 and pyarrow must agree on every pattern LFs can use."""

from __future__ import annotations

import functools
import re
import unicodedata

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weak_supervision import RegexLF, RegexSyntaxError, regex

# Patterns chosen around the places where regex engines usually differ.
PATTERNS = [
    r"^a",
    r"a$",
    r"^$",
    r"(?m)(?:^|x)b$",
    r"(?m)^",
    r"(?m)$",
    r"(?m)^$",
    r"\bword\b",
    r"\Bo",
    r"\w+\s\d",
    r"[^\w\s]{2,}",
    r"a.b",
    r"(?s)a.b",
    r"(?i)i",
    r"(?i)[a-f]+z",
    r"(?i)[^k]",
    r"(?i)straße|é",
    r"(ab|cd)*?e{1,3}",
    r"\x{1F600}|\x41|\t",
    r"[\-\]\\.]",
    r"[[:punct:]]+",
    r"\Qa.b\E",
]
KEYWORDS = [
    (["caf", "\u0131k", "$$"], True, True),
    (["é", "x y"], False, True),
    (["ss", "K"], True, False),
    (["i", "\u01c5", "\u03c3"], True, True),
]
# Code points whose Unicode data differs between the engines' tables or around case folding.
TRICKY = (
    "iI\u0131\u0130kK\u212asS\u017fßẞéÉe\u0301\n\t \u00a0aAbB_09٣😀x$.-]\\"
    "\u01c4\u01c5\u01c6\u03a3\u03c3\u03c2\u0390\u1fd3\u03b0\u1fe3\ufb05\ufb06\U0002ebf0"
)
texts = st.text(
    alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=12
)


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _assert_engines_agree(patterns: list[str], values: list[str]) -> None:
    con = _connection().cursor()
    con.register("t", pd.DataFrame({"i": range(len(values)), "s": values}))
    columns = ", ".join("regexp_matches(s, ?)" for _ in patterns)
    in_duckdb = con.execute(f"SELECT {columns} FROM t ORDER BY i", patterns).fetchall()
    in_arrow = [regex.search(values, p).tolist() for p in patterns]
    for i, value in enumerate(values):
        in_re2 = tuple(regex.compiled(p).search(value) is not None for p in patterns)
        assert in_re2 == in_duckdb[i], value
        assert in_re2 == tuple(column[i] for column in in_arrow), value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=8))
def test_duckdb_google_re2_and_arrow_agree(values: list[str]) -> None:
    _assert_engines_agree(PATTERNS, values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=8))
def test_keyword_patterns_agree(values: list[str]) -> None:
    """Unicode word boundaries and case variants are explicit classes: no engine tables."""
    patterns = [
        regex.keyword_pattern(words, ignore_case=ignore_case, whole_word=whole_word)
        for words, ignore_case, whole_word in KEYWORDS
    ]
    _assert_engines_agree(patterns, values)


def _is_word(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) == "Pc"


def _same_ignoring_case(a: str, b: str) -> bool:
    """Equal, or equal once both are lower- (or upper-) cased to a single character."""
    return a == b or any(len(f(a)) == 1 and f(a) == f(b) for f in (str.lower, str.upper))


def _keyword_reference(text: str, word: str, *, ignore_case: bool, whole_word: bool) -> bool:
    """The definition keyword matching has always had, written out in plain Python."""
    same = _same_ignoring_case if ignore_case else str.__eq__
    for start in range(len(text) - len(word) + 1):
        if not all(same(t, w) for t, w in zip(text[start:], word, strict=False)):
            continue
        end = start + len(word)
        left_ok = not (whole_word and _is_word(word[0])) or start == 0
        left_ok = left_ok or not _is_word(text[start - 1])
        right_ok = not (whole_word and _is_word(word[-1])) or end == len(text)
        right_ok = right_ok or not _is_word(text[end])
        if left_ok and right_ok:
            return True
    return False


# Characters whose case variants are found by pairwise lower/upper comparison, as above.
LETTERS = "aiIkKsS\u0131\u212a\u017f$_é\u0301٣x"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.text(st.sampled_from(LETTERS + " .-"), max_size=10), max_size=6),
    st.text(st.sampled_from(LETTERS), min_size=1, max_size=3),
    st.booleans(),
    st.booleans(),
)
def test_keyword_pattern_is_the_plain_definition(
    values: list[str], word: str, ignore_case: bool, whole_word: bool
) -> None:
    pattern = regex.keyword_pattern([word], ignore_case=ignore_case, whole_word=whole_word)
    for value in values:
        expected = _keyword_reference(value, word, ignore_case=ignore_case, whole_word=whole_word)
        assert (regex.compiled(pattern).search(value) is not None) == expected, (value, word)


def test_case_variants_use_simple_mappings_only() -> None:
    pattern = regex.keyword_pattern(["i"], ignore_case=True, whole_word=False)
    assert regex.compiled(pattern).search("I") and regex.compiled(pattern).search("\u0131")
    assert not regex.compiled(pattern).search("\u0130")  # dotted I lowercases to two chars
    kelvin = regex.keyword_pattern(["k"], ignore_case=True, whole_word=False)
    assert regex.compiled(kelvin).search("\u212a")


def test_engine_tables_differ_which_is_why_keywords_spell_classes_out() -> None:
    """DuckDB's RE2 predates Unicode 15.1: `(?i)` and `\\p{L}` differ from google-re2/pyarrow
    on a few code points. Keyword patterns must not rely on them (this pins the reason)."""
    con = _connection().cursor()
    cases = [(r"(?i)\x{1FD3}", "\u0390"), (r"\p{L}", "\U0002ebf0")]
    for pattern, text in cases:
        in_duckdb = con.execute("SELECT regexp_matches(?, ?)", [text, pattern]).fetchone()[0]
        in_arrow = pc.match_substring_regex(pa.array([text]), pattern)[0].as_py()
        assert regex.compiled(pattern).search(text) is not None
        assert in_arrow and not in_duckdb


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(?<=a)b", "invalid perl operator"),
        (r"(?=a)", "invalid perl operator"),
        (r"(?!a)", "invalid perl operator"),
        (r"(a)\1", "invalid escape sequence"),
        (r"a{2000}", "invalid repetition size"),
        (r"a**", "bad repetition operator"),
        (r"\Z", "invalid escape sequence"),
        (r"(a", "missing )"),
        (r"a)", "unexpected )"),
        (r"*a", "no argument for repetition operator"),
        (r"[z-a]", "invalid character class range"),
        (r"\p{Foo}", "invalid character class range"),
        (r"(?<name>a)", "named groups"),  # google-re2 takes it, DuckDB's older RE2 does not
        (r"(?P<name>a)", "named groups"),  # no vote needs a name: one rule for both forms
    ],
)
def test_patterns_re2_cannot_run_are_refused_when_the_lf_is_built(
    pattern: str, reason: str
) -> None:
    with pytest.raises(RegexSyntaxError, match=re.escape(reason)):
        RegexLF("r", pattern, 1)


@pytest.mark.parametrize("pattern", [r"\p{L}", r"(a)", r"[]a]", r"\B", r"(?i)a", r"a{,3}"])
def test_any_re2_syntax_both_engines_run_is_accepted(pattern: str) -> None:
    assert RegexLF("r", pattern, 1).re2_pattern == pattern


def test_flags_are_re2_inline_flags() -> None:
    lf = RegexLF("r", r"a|^b$", 1, flags=re.IGNORECASE | re.MULTILINE | re.DOTALL)
    assert lf.re2_pattern == r"(?ims)a|^b$"
    assert lf.vote_value("x\nB\ny") == 1  # the flags cover every alternative
    assert RegexLF("r", r"b$", 1).vote_value("ab\n") == -1  # `$` is the end of the text


SYNTAX = [
    "a", "(", ")", "(?:", "(?P<n>", "(?<n>", "(?i)", "(?-i)", "(?s:", "(?U)", "|", "*", "+",
    "?", "{2}", "{1,3}", "{,2}", "*?", "[", "]", "^", "-", "\\d", "\\w", "\\b", "\\B", "\\A",
    "\\z", "\\pL", "\\p{Greek}", "[[:alpha:]]", "\\Q.*\\E", "\\x{263a}", "\\C", "\\0", "\\8",
    ".", "$", "é", "(?=", "(?<=", "\\k<n>", "(?>", "\\Z", "(?P=n)", "\\1",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SYNTAX), min_size=1, max_size=6).map("".join))
def test_every_pattern_accepted_at_build_time_runs_in_duckdb(pattern: str) -> None:
    """DuckDB's RE2 is older than google-re2: what `compiled` accepts, DuckDB must run."""
    try:
        regex.compiled(pattern)
    except RegexSyntaxError:
        return
    _connection().cursor().execute("SELECT regexp_matches('x', ?)", [pattern]).fetchall()
