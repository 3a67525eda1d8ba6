"""The DuckDB applier against the row-by-row reference, and the LabelMatrix it returns."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weak_supervision import (
    KeywordLF,
    LabelMatrix,
    RegexLF,
    ThresholdLF,
    apply_lfs,
    apply_lfs_reference,
    labeling_function,
)


@labeling_function()
def long_text(batch: pd.DataFrame) -> np.ndarray:
    return np.where(batch["text"].fillna("").str.len() > 8, 0, -1)


@labeling_function(row=True)
def exclaims(row: dict) -> int:
    return 1 if row["text"] is not None and "!" in row["text"] else -1


LFS = [
    KeywordLF("kw_free", ["free", "win", "\u0131k"], 1),
    KeywordLF("kw_case", ["FREE", "$$"], 1, case_sensitive=True, whole_word=False),
    RegexLF("re_check", r"check.*out", 1, flags=re.IGNORECASE),
    RegexLF("re_end", r"[.!?]$|^\s*$", 0),
    ThresholdLF("th_high", "score", ">", 0.5, 1),
    ThresholdLF("th_eq", "score", "==", 0, 0),
    long_text,
    exclaims,
]

PIECES = ["free", "FREE", "Free", "win", "check", "out", "\u0131k", "$$", "!", ".", " ", "\n", "é"]
PIECES += ["\u212a", "\u017f", "\u0130", "\u0390", "\u1fd3", "e\u0301", "_", "\u00a0"]
texts = st.one_of(
    st.none(),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.text(st.characters(codec="utf-8"), max_size=2)),
        max_size=8,
    ).map("".join),
)
scores = st.one_of(
    st.none(), st.just(float("nan")), st.sampled_from([0.0, 0.5, 1.0]), st.floats(-2, 2)
)


def _frame(rows: list[tuple[str | None, float | None]]) -> pd.DataFrame:
    ids = np.random.default_rng(len(rows)).permutation(len(rows)) + 100
    return pd.DataFrame(
        {
            "comment_id": ids,
            "text": pd.Series([t for t, _ in rows], dtype=object),
            "score": pd.Series([s for _, s in rows], dtype="float64"),
        }
    )


CON = duckdb.connect()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts, scores), min_size=1, max_size=20))
def test_duckdb_applier_matches_reference(rows: list[tuple[str | None, float | None]]) -> None:
    """Declarative LFs in SQL and Python LFs over Arrow batches (several per input) agree
    with the row-by-row loop on unicode, punctuation, empty strings, NULLs and NaNs."""
    frame = _frame(rows)
    fast = apply_lfs(CON, frame, LFS, batch_size=7)
    slow = apply_lfs_reference(CON, frame, LFS)
    np.testing.assert_array_equal(fast.ids, np.sort(frame["comment_id"].to_numpy()))
    np.testing.assert_array_equal(fast.ids, slow.ids)
    np.testing.assert_array_equal(fast.L, slow.L)
    assert fast.L.dtype == np.int8
    # Each LF over a whole batch (pyarrow's RE2 for the patterns), as the Arrow/Spark path runs.
    ordered = frame.sort_values("comment_id", ignore_index=True)
    batch = np.stack([lf(ordered) for lf in LFS], axis=1)
    np.testing.assert_array_equal(batch, slow.L)


def test_sources_and_order() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA s")
    con.execute(
        "CREATE TABLE s.comments AS SELECT * FROM (VALUES ('b', 'free stuff'), "
        "('a', 'hello'), ('c', NULL)) AS v(cid, text)"
    )
    lfs = [KeywordLF("kw", "free", 1), long_text]
    by_name = apply_lfs(con, "s.comments", lfs, id_column="cid")
    by_sql = apply_lfs(con, "SELECT * FROM s.comments WHERE cid <> 'c'", lfs, id_column="cid")
    arrow = apply_lfs(None, con.sql("SELECT * FROM s.comments").to_arrow_table(), lfs, "cid")
    assert by_name.ids.tolist() == ["a", "b", "c"]  # sorted by id, not input order
    assert by_name.L.tolist() == [[-1, -1], [1, 0], [-1, -1]]
    assert by_sql.ids.tolist() == ["a", "b"]
    np.testing.assert_array_equal(arrow.L, by_name.L)
    assert by_name.lf_names == ("kw", "long_text")
    assert by_name.lf_versions == tuple(lf.version for lf in lfs)


def test_bad_ids_and_lfs_are_rejected() -> None:
    duplicated = pd.DataFrame({"comment_id": [1, 1], "text": ["a", "b"]})
    with pytest.raises(ValueError, match="unique"):
        apply_lfs(None, duplicated, [KeywordLF("kw", "a", 1)])
    missing = pd.DataFrame({"comment_id": [1.0, None], "text": ["a", "b"]})
    with pytest.raises(ValueError, match="NULL"):
        apply_lfs(None, missing, [KeywordLF("kw", "a", 1)])
    with pytest.raises(ValueError, match="duplicate LF names"):
        apply_lfs(None, duplicated, [KeywordLF("kw", "a", 1), KeywordLF("kw", "b", 1)])
    with pytest.raises(ValueError, match="connection"):
        apply_lfs(None, "comments", [KeywordLF("kw", "a", 1)])


def test_failing_lf_leaves_connection_usable() -> None:
    @labeling_function()
    def broken(batch: pd.DataFrame) -> list[int]:
        raise RuntimeError("boom")

    con = duckdb.connect()
    frame = pd.DataFrame({"comment_id": [1, 2], "text": ["a", "b"]})
    with pytest.raises(RuntimeError, match="boom"):
        apply_lfs(con, frame, [KeywordLF("kw", "a", 1), broken])
    assert con.execute("SELECT 42").fetchall() == [(42,)]
    assert apply_lfs(con, frame, [KeywordLF("kw", "a", 1)]).L.tolist() == [[1], [-1]]


def test_empty_source_and_no_lfs() -> None:
    empty = pd.DataFrame(
        {"comment_id": pd.Series([], dtype="int64"), "text": pd.Series([], dtype="str")}
    )
    matrix = apply_lfs(None, empty, [KeywordLF("kw", "a", 1), long_text])
    assert matrix.L.shape == (0, 2)
    frame = pd.DataFrame({"comment_id": [2, 1], "text": ["a", "b"]})
    assert apply_lfs(None, frame, []).L.shape == (2, 0)


def test_label_matrix_frames_round_trip() -> None:
    matrix = LabelMatrix(
        ids=np.array([10, 11, 12]),
        L=np.array([[1, -1], [-1, -1], [0, 1]], dtype=np.int8),
        lf_names=("a", "b"),
        lf_versions=("va", "vb"),
    )
    long = matrix.to_frame()
    assert list(long.columns) == ["comment_id", "lf_name", "lf_version", "vote"]
    assert len(long) == 6
    sparse = matrix.to_frame(drop_abstains=True)
    assert sparse.to_dict("records") == [
        {"comment_id": 10, "lf_name": "a", "lf_version": "va", "vote": 1},
        {"comment_id": 12, "lf_name": "a", "lf_version": "va", "vote": 0},
        {"comment_id": 12, "lf_name": "b", "lf_version": "vb", "vote": 1},
    ]
    wide = matrix.to_frame(wide=True)
    assert wide.to_dict("list") == {"comment_id": [10, 11, 12], "a": [1, -1, 0], "b": [-1, -1, 1]}
    assert matrix.to_arrow().schema.field("vote").type == pa.int8()
    back = LabelMatrix.from_frame(long)
    np.testing.assert_array_equal(back.L, matrix.L)
    assert back.lf_versions == matrix.lf_versions
    # Dropping abstains loses the all-abstain row, and nothing else.
    partial = LabelMatrix.from_frame(sparse, lf_names=["a", "b"])
    assert partial.ids.tolist() == [10, 12]
    np.testing.assert_array_equal(partial.L, matrix.L[[0, 2]])
    with pytest.raises(ValueError):
        LabelMatrix.from_frame(long, lf_names=["a"])
