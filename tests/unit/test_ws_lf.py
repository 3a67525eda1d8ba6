"""Labeling-function API: decorator, declarative LFs, SQL compilation, versions, safety."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from weak_supervision import (
    DuckDBDialect,
    KeywordLF,
    PythonLF,
    RegexLF,
    RegexSyntaxError,
    ThresholdLF,
    apply_lfs,
    labeling_function,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@labeling_function()
def many_words(batch: pd.DataFrame) -> np.ndarray:
    return np.where(batch["text"].str.split().str.len() > 3, 1, -1)


def test_decorator_forms() -> None:
    @labeling_function
    def bare(batch: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(batch), dtype=int)

    @labeling_function(name="shouty", row=True)
    def loud(row: dict) -> int:
        return 1 if row.text.isupper() else -1

    frame = pd.DataFrame({"text": ["HELLO", "hi there you all"]})
    assert isinstance(bare, PythonLF) and bare.name == "bare"
    assert loud.name == "shouty" and loud.row
    assert bare(frame).tolist() == [0, 0]
    assert loud(frame).tolist() == [1, -1]
    assert many_words(frame).tolist() == [-1, 1]
    assert bare(frame).dtype == np.int8


@pytest.mark.parametrize(
    ("output", "error"),
    [
        (np.array([True, False]), TypeError),
        ([1], ValueError),
        ([1, 200], ValueError),
        ([1, -2], ValueError),
        ([0.5, 1], ValueError),
        (["a", "b"], TypeError),
        ([None, 1], ValueError),
    ],
)
def test_python_lf_output_is_checked(output: object, error: type[Exception]) -> None:
    lf = PythonLF(lambda batch: output, name="bad")
    with pytest.raises(error, match="bad"):
        lf(pd.DataFrame({"text": ["a", "b"]}))


def test_versions_change_with_definition_only() -> None:
    a = KeywordLF("kw", ["free", "win"], 1)
    assert a.version == KeywordLF("kw", ["free", "win"], 1).version
    assert len(a.version) == 12
    others = [
        KeywordLF("kw2", ["free", "win"], 1),
        KeywordLF("kw", ["free"], 1),
        KeywordLF("kw", ["free", "win"], 0),
        KeywordLF("kw", ["free", "win"], 1, whole_word=False),
        KeywordLF("kw", ["free", "win"], 1, case_sensitive=True),
        RegexLF("kw", "free|win", 1),
    ]
    assert len({a.version, *(lf.version for lf in others)}) == 1 + len(others)
    assert RegexLF("r", "a", 1, flags=re.I).version != RegexLF("r", "a", 1).version
    assert ThresholdLF("t", "n", ">", 1, 1).version != ThresholdLF("t", "n", ">=", 1, 1).version


def test_versions_are_stable_across_processes(tmp_path: Path) -> None:
    module = tmp_path / "my_lfs.py"
    module.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from weak_supervision import KeywordLF, labeling_function

            KW = KeywordLF("kw", ["free", "win"], 1)

            @labeling_function()
            def has_digit(batch):
                return np.where(batch["text"].str.contains("[0-9]"), 1, -1)
            """
        )
    )
    script = "import my_lfs; print(my_lfs.KW.version, my_lfs.has_digit.version)"
    other_process = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{REPO_ROOT}", "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    spec = importlib.util.spec_from_file_location("my_lfs", module)
    assert spec is not None and spec.loader is not None
    here = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(here)
    assert other_process == [here.KW.version, here.has_digit.version]


def test_python_lf_version_tracks_source() -> None:
    def one(batch: pd.DataFrame) -> list[int]:
        return [1] * len(batch)

    def two(batch: pd.DataFrame) -> list[int]:
        return [0] * len(batch)

    assert PythonLF(one, name="x").version != PythonLF(two, name="x").version
    assert PythonLF(one, name="x").version != PythonLF(one, name="y").version


LF_MODULE = """
import functools

import numpy as np
from weak_supervision import labeling_function

CUE = "free"
UNUSED = "nothing"


@labeling_function
def offers(batch):
    return np.where(mentions(batch["text"]), 1, -1)


def mentions(texts):
    return np.array([normalised(t).count(CUE) > 0 for t in texts])


@functools.cache
def normalised(text):
    return text.lower()


def unrelated(text):
    return text.upper()
"""


def _lf_from_module(tmp_path: Path, name: str, source: str) -> PythonLF:
    """Import `source` as a fresh module file (not a cached one) and return its LF."""
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # inspect.getsource looks the module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module.offers


@pytest.mark.parametrize(
    ("edit", "changes"),
    [
        (("return np.array([normalised", "return np.asarray([normalised"), True),  # a helper
        (("return text.lower()", "return text.casefold()"), True),  # the helper's helper
        (('CUE = "free"', 'CUE = "gratis"'), True),  # a constant a helper reads
        (("return text.upper()", "return text.title()"), False),  # a helper it does not use
        (('UNUSED = "nothing"', 'UNUSED = "something"'), False),  # a constant it does not use
    ],
)
def test_python_lf_version_covers_the_module_code_it_uses(
    tmp_path: Path, edit: tuple[str, str], changes: bool
) -> None:
    """Two modules identical but for one edit: the LF's own source is the same in both."""
    assert edit[0] in LF_MODULE
    before = _lf_from_module(tmp_path, "lfs_before", LF_MODULE)
    after = _lf_from_module(tmp_path, "lfs_after", LF_MODULE.replace(*edit))
    frame = pd.DataFrame({"text": ["Free stuff", "hello"]})
    assert before(frame).tolist() == [1, -1]
    assert (before.version != after.version) is changes


def test_compile_binds_values_and_quotes_identifiers() -> None:
    dialect = DuckDBDialect()
    keyword = KeywordLF("kw", ["o'clock"], 1, column="body").compile(dialect)
    assert keyword.sql == 'CASE WHEN regexp_matches("body", ?) THEN 1 ELSE -1 END'
    assert "o'clock" not in keyword.sql and len(keyword.params) == 1
    sql, params = ThresholdLF("t", "score", "<=", 0.25, 0).compile(dialect)
    assert params == (0.25,)
    assert '"score" <= ?' in sql


@pytest.mark.parametrize("column", ['text"; DROP TABLE t; --', "a b", "1abc", "", "é"])
def test_column_names_must_be_identifiers(column: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        KeywordLF("kw", ["x"], 1, column=column)


def test_sql_injection_in_keyword_is_a_literal() -> None:
    payload = "'; DROP TABLE x; --"
    con = duckdb.connect()
    con.execute("CREATE TABLE x AS SELECT 1 AS keep")
    con.execute(
        "CREATE TABLE comments AS SELECT * FROM (VALUES (1, ?), (2, 'nothing here')) "
        "AS v(comment_id, text)",
        [f"a {payload} b"],
    )
    lfs = [
        KeywordLF("inject", [payload], 1),
        RegexLF("inject_re", re.escape(payload).replace("\\ ", " "), 1),
    ]
    matrix = apply_lfs(con, "comments", lfs)
    assert matrix.L.tolist() == [[1, 1], [-1, -1]]
    assert con.execute("SELECT keep FROM x").fetchall() == [(1,)]


@pytest.mark.parametrize(
    ("keywords", "text", "expected"),
    [
        (["caf"], "café au lait", -1),  # é is a letter: "caf" is not a whole word
        (["cafe"], "cafe\u0301", -1),  # combining accent continues the word
        (["café"], "CAFÉ!", 1),
        (["naïve"], "so naïve.", 1),
        (["日本"], "日本語", -1),  # CJK letters are word characters too
        (["$$$"], "win$$$ now", 1),  # no boundary needed next to non-word characters
        (["free money"], "Free   money", -1),
        (["free money"], "free money!", 1),
        (["s"], "\u017f", 1),  # long s is a case variant of s
        (["i"], "\u0130", -1),  # dotted capital I lowercases to two characters: not a variant
        (["k"], "\u212a", 1),  # Kelvin sign
        (["ok"], "ok_go", -1),  # underscore is a word character
        (["ok"], "ok-go", 1),
        (["x"], "", -1),
        (["x"], None, -1),
    ],
)
def test_keyword_whole_word_and_case(keywords: list[str], text: str | None, expected: int) -> None:
    lf = KeywordLF("kw", keywords, 1)
    assert lf.vote_value(text) == expected
    frame = pd.DataFrame({"comment_id": [1], "text": pd.Series([text], dtype=object)})
    assert apply_lfs(None, frame, [lf]).L[0, 0] == expected


def test_keyword_options() -> None:
    assert KeywordLF("kw", "Free", 1, case_sensitive=True).vote_value("free") == -1
    assert KeywordLF("kw", "free", 1, whole_word=False).vote_value("carefree") == 1
    assert KeywordLF("kw", "free", 1).vote_value("carefree") == -1
    with pytest.raises(ValueError):
        KeywordLF("kw", [], 1)
    with pytest.raises(ValueError):
        KeywordLF("kw", [""], 1)
    with pytest.raises(TypeError):
        KeywordLF("kw", "x", 1).vote_value(3)


def test_regex_lf_flags_and_errors() -> None:
    assert RegexLF("r", r"check.*out", 1, flags=re.I).vote_value("CHECK it OUT") == 1
    assert RegexLF("r", r"^b", 1).vote_value("a\nb") == -1
    assert RegexLF("r", r"^b", 1, flags=re.M).vote_value("a\nb") == 1
    assert RegexLF("r", r"a.b", 1, flags=re.S).vote_value("a\nb") == 1
    with pytest.raises(ValueError, match="IGNORECASE"):
        RegexLF("r", "a", 1, flags=re.VERBOSE)
    with pytest.raises(RegexSyntaxError, match=r"'r'.*invalid perl operator"):
        RegexLF("r", r"(?<=a)b", 1)
    # RE2's (?i) (unlike keywords, see test_keyword_whole_word_and_case) has no dotless i.
    assert RegexLF("r", "i", 1, flags=re.I).vote_value("\u0131") == -1


def test_threshold_lf() -> None:
    lf = ThresholdLF("big", "n", ">=", 3, 2)
    assert [lf.vote_value(v) for v in (2, 3, 3.5, None, float("nan"), pd.NA)] == [
        -1, 2, 2, -1, -1, -1
    ]  # fmt: skip
    assert ThresholdLF("ne", "n", "!=", 1, 0).vote_value(float("nan")) == -1
    for bad in (float("nan"), float("inf"), True, "3"):
        with pytest.raises(ValueError):
            ThresholdLF("t", "n", ">", bad, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ThresholdLF("t", "n", "=>", 1, 1)
    with pytest.raises((TypeError, ValueError)):
        ThresholdLF("t", "n", ">", 1, -1)
