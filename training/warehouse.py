"""Warehouse tables the label, train and score stages share: the declared schemas of the
daily tables they write, and the reads of the training window and its label matrix, gold
labels, the weak labels a training set is made from, and what the classifier is trained and
judged on. Pure: a DuckDB connection in, frames and matrices out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from training.votes import align_gold, check_votes_current, votes_to_matrix

if TYPE_CHECKING:
    from weak_supervision import LabelingFunction

Connection = Any  # duckdb.DuckDBPyConnection; the caller owns it

# Daily tables are written with these schemas whatever a day holds: an empty day's frame
# carries no types, and a table created from it would refuse every later day.
LF_VOTES_SCHEMA = pa.schema(
    [("comment_id", pa.string()), ("partition_date", pa.date32()), ("lf_name", pa.string()),
     ("lf_version", pa.string()), ("vote", pa.int8())]
)  # fmt: skip
LF_COVERAGE_SCHEMA = pa.schema(
    [("partition_date", pa.date32()), ("lf_name", pa.string()), ("lf_version", pa.string()),
     ("rows", pa.int64()), ("votes", pa.int64()), ("coverage", pa.float64())]
)  # fmt: skip


def scores_schema(classes: Sequence[str]) -> pa.Schema:
    """`score.comment_scores`: one probability column per class, `p_<class name>`."""
    return pa.schema(
        [("comment_id", pa.string()), ("partition_date", pa.date32()),
         ("predicted_label", pa.int32()),
         *[(f"p_{name}", pa.float64()) for name in classes],
         ("model_version", pa.string()), ("scored_at", pa.timestamp("us"))]
    )  # fmt: skip


def training_window(con: Connection, training_days: int | None) -> pd.DataFrame:
    """Comment ids and days the label model and the classifier learn from: every featured
    comment of the last `training_days` days (None: all) that is not a gold `test` row."""
    rows = con.execute(
        "SELECT f.comment_id, f.partition_date FROM main.comment_features f "
        "WHERE NOT EXISTS (SELECT 1 FROM raw.gold_labels g "
        "                  WHERE g.comment_id = f.comment_id AND g.split = 'test') "
        "ORDER BY f.comment_id"
    ).df()
    if training_days and len(rows):
        last = rows["partition_date"].max()
        rows = rows[rows["partition_date"] > last - pd.Timedelta(days=training_days)]
    return rows.reset_index(drop=True)


def gold_labels(con: Connection) -> pd.DataFrame:
    return con.execute("SELECT comment_id, label, split FROM raw.gold_labels").df()


def _votes(con: Connection) -> pd.DataFrame:
    return con.execute("SELECT comment_id, lf_name, lf_version, vote FROM label.lf_votes").df()


def _matrix(
    con: Connection, votes: pd.DataFrame, rows: pd.DataFrame, lfs: Sequence[LabelingFunction]
) -> np.ndarray:
    """The label matrix of `rows` (comment_id, partition_date) from the stored votes, after
    checking that every LF voted on each of their days at its current version."""
    names, versions = [lf.name for lf in lfs], [lf.version for lf in lfs]
    coverage = con.execute(
        "SELECT DISTINCT partition_date, lf_name, lf_version FROM label.lf_coverage"
    ).df()
    check_votes_current(coverage, rows["partition_date"].unique().tolist(), names, versions)
    return votes_to_matrix(rows["comment_id"].tolist(), votes, names, versions)


def label_matrix(
    con: Connection, rows: pd.DataFrame, lfs: Sequence[LabelingFunction]
) -> np.ndarray:
    """The label matrix of `rows` (comment_id, partition_date), checked against the LFs."""
    return _matrix(con, _votes(con), rows, lfs)


@dataclass(frozen=True)
class WindowVotes:
    """The training window's comments, their label matrix and the gold labels."""

    rows: pd.DataFrame  # comment_id, partition_date
    L: np.ndarray
    lf_names: list[str]
    gold: pd.DataFrame

    @property
    def ids(self) -> list[str]:
        return self.rows["comment_id"].tolist()

    def gold_rows(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the window of the gold rows of `split`, and their labels."""
        return align_gold(self.ids, self.gold, split)

    def partition_span(self) -> dict[str, Any]:
        days = pd.to_datetime(self.rows["partition_date"])
        return {
            "first": str(days.min().date()),
            "last": str(days.max().date()),
            "days": int(days.nunique()),
        }


def window_votes(
    con: Connection, lfs: Sequence[LabelingFunction], training_days: int | None
) -> WindowVotes:
    rows = training_window(con, training_days)
    L = _matrix(con, _votes(con), rows, lfs)
    return WindowVotes(rows, L, [lf.name for lf in lfs], gold_labels(con))


def weak_label_rows(con: Connection, min_confidence: float) -> pd.DataFrame:
    """Weak labels of at least `min_confidence` joined with their features; gold `test`
    rows never enter training, whatever the label model saw."""
    return con.execute(
        "SELECT f.*, w.* EXCLUDE (comment_id, partition_date) "
        "FROM label.weak_labels w JOIN main.comment_features f USING (comment_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM raw.gold_labels g "
        "                  WHERE g.comment_id = w.comment_id AND g.split = 'test') "
        "AND w.confidence >= ? ORDER BY comment_id",
        [min_confidence],
    ).df()


@dataclass(frozen=True)
class ClassifierData:
    """What a classifier is trained on (train.training_set) and judged on (gold test rows
    with their features), with the votes on both and the gold labels."""

    train: pd.DataFrame
    test: pd.DataFrame  # comment_features columns and `gold_label`
    L_train: np.ndarray
    L_test: np.ndarray
    lf_names: list[str]
    gold: pd.DataFrame

    @property
    def partitions(self) -> list[str]:
        """The days the training rows come from."""
        return sorted({str(d) for d in pd.to_datetime(self.train["partition_date"]).dt.date})

    @property
    def label_model_version(self) -> str:
        """The label model whose probabilities are the training labels (weak_labels records it)."""
        versions = sorted(self.train["label_model_version"].unique())
        if len(versions) != 1:
            raise RuntimeError(
                f"train.training_set mixes labels of label models {versions}: "
                "materialize weak_labels and training_set again"
            )
        return str(versions[0])


def classifier_data(con: Connection, lfs: Sequence[LabelingFunction]) -> ClassifierData:
    train = con.execute("SELECT * FROM train.training_set ORDER BY comment_id").df()
    test = con.execute(
        "SELECT f.*, g.label AS gold_label FROM main.comment_features f "
        "JOIN raw.gold_labels g USING (comment_id) WHERE g.split = 'test' ORDER BY comment_id"
    ).df()
    votes = _votes(con)
    return ClassifierData(
        train=train,
        test=test,
        L_train=_matrix(con, votes, train, lfs),
        L_test=_matrix(con, votes, test, lfs),
        lf_names=[lf.name for lf in lfs],
        gold=gold_labels(con),
    )
