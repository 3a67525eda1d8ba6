"""Scoring in batches (training/scoring.py) on a real DuckDB file and a real fitted model: the
same rows as scoring the whole window at once, whatever the batch size; each day's own counts
and a data version that depends on the scores only; Parquet exports equal to the warehouse;
and a failure half-way leaves the previous scores in place."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from storage.object_store import LocalObjectStore
from training.classifier import SoftLabelClassifier
from training.scoring import export_key, score_window

CLASSES = ("ham", "spam")
START = dt.date(2024, 3, 1)
SCORED_AT = dt.datetime(2024, 3, 9, 12, 0, 0)
WORDS = {
    0: ["love this song", "great voice", "miss the old days", "so funny lol"],
    1: ["check my channel", "free money http://x.co", "subscribe plz", "win a phone now"],
}


def featured(days: int = 3, per_day: tuple[int, ...] = (7, 0, 11)) -> pd.DataFrame:
    """comment_features rows: a few per day (one day empty), some texts repeated."""
    rng = np.random.default_rng(5)
    rows = []
    for day in range(days):
        for i in range(per_day[day]):
            cls = int(rng.integers(2))
            text = f"{rng.choice(WORDS[cls])} {rng.integers(3)}"
            rows.append({"comment_id": f"d{day}-{i:02d}", "text": text, "gold": cls,
                         "partition_date": START + dt.timedelta(days=day)})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def model() -> SoftLabelClassifier:
    frame = featured()
    return SoftLabelClassifier(seed=1).fit(frame, frame["gold"].to_numpy())


@pytest.fixture
def warehouse(tmp_path):
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        con.register("featured", featured().drop(columns="gold"))
        con.execute("CREATE TABLE main.comment_features AS SELECT * FROM featured")
    return path


def run(path, store, model, version="v1", batch_rows=1000, scored_at=SCORED_AT):
    window = (START, START + dt.timedelta(days=3))
    with duckdb.connect(path) as con:
        return score_window(con, store, model, version, CLASSES, window, scored_at, batch_rows)


def stored(path) -> pd.DataFrame:
    with duckdb.connect(path, read_only=True) as con:
        return con.execute(
            "SELECT * FROM score.comment_scores ORDER BY partition_date, comment_id"
        ).df()


def test_batches_give_the_rows_of_whole_window_scoring(tmp_path, warehouse, model):
    store = LocalObjectStore(tmp_path / "exports")
    whole = run(warehouse, store, model, batch_rows=1000)
    reference = stored(warehouse)
    frame = featured().sort_values(["partition_date", "comment_id"]).reset_index(drop=True)
    proba = model.predict_proba(frame)
    np.testing.assert_array_equal(reference["comment_id"], frame["comment_id"])
    np.testing.assert_array_equal(reference[["p_ham", "p_spam"]].to_numpy(), proba)
    np.testing.assert_array_equal(reference["predicted_label"], proba.argmax(axis=1))
    assert set(reference["model_version"]) == {"v1"}

    small = run(warehouse, store, model, batch_rows=2)
    pd.testing.assert_frame_equal(stored(warehouse), reference)  # replaced, not appended
    assert {d: s.data_version for d, s in small.days.items()} == {
        d: s.data_version for d, s in whole.days.items()
    }


def test_each_day_carries_its_own_counts_and_version(tmp_path, warehouse, model):
    store = LocalObjectStore(tmp_path / "exports")
    scored = run(warehouse, store, model, batch_rows=4)
    table = stored(warehouse)
    days = [str(START + dt.timedelta(days=n)) for n in range(3)]
    assert list(scored.days) == days
    for day in days:
        rows = table[table["partition_date"].astype(str) == day]
        assert scored.days[day].rows == len(rows)
        assert scored.days[day].rows_by_class == {
            name: int((rows["predicted_label"] == i).sum()) for i, name in enumerate(CLASSES)
        }
    assert scored.days[days[1]].rows == 0 and scored.rows == len(table) == 18
    versions = [scored.days[d].data_version for d in days]
    assert len(set(versions)) == 3  # different days, different content
    later = run(warehouse, store, model, batch_rows=5, scored_at=SCORED_AT.replace(hour=18))
    assert [later.days[d].data_version for d in days] == versions  # time of scoring: no change
    other = run(warehouse, store, model, version="v2")
    assert other.days[days[0]].data_version != versions[0]  # another model's scores: change
    assert other.days[days[1]].data_version == versions[1]  # still empty


def test_exports_hold_each_days_warehouse_rows(tmp_path, warehouse, model):
    store = LocalObjectStore(tmp_path / "exports")
    scored = run(warehouse, store, model, batch_rows=3)
    table = stored(warehouse)
    assert sorted(scored.exports) == [str(START), str(START + dt.timedelta(days=2))]
    for day, uri in scored.exports.items():
        assert uri == store.uri(export_key(day))
        exported = pq.read_table(tmp_path / "exports" / export_key(day)).to_pandas()
        expected = table[table["partition_date"].astype(str) == day].reset_index(drop=True)
        np.testing.assert_array_equal(exported["comment_id"], expected["comment_id"])
        np.testing.assert_array_equal(exported["p_spam"], expected["p_spam"])


class FailsOnSecondBatch:
    """A model that scores one batch, then breaks: the run must leave the old scores."""

    def __init__(self, model: SoftLabelClassifier) -> None:
        self.model, self.calls = model, 0

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("disk full")
        return self.model.predict_proba(frame)


def test_a_failure_half_way_leaves_the_previous_scores(tmp_path, warehouse, model):
    store = LocalObjectStore(tmp_path / "exports")
    run(warehouse, store, model)
    before = stored(warehouse)
    with pytest.raises(RuntimeError, match="disk full"):
        run(warehouse, store, FailsOnSecondBatch(model), version="broken", batch_rows=4)
    pd.testing.assert_frame_equal(stored(warehouse), before)
