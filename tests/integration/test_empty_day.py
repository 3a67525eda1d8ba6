"""An empty day is a normal day: it can be the first run on a fresh warehouse.

Before, the first `lf_votes`/`comment_scores` run of an empty day created their tables from
an empty frame whose columns had DuckDB's NULL type, and every later day failed with a cast
error until the tables were dropped by hand. Here per-day runs on a fresh warehouse start
with an empty day, as when the landing sensor's first finishing run is one, and every later
run must succeed with the tables of one range run. Real DuckDB, dbt and Dagster instance.
"""

import datetime as dt

import dagster as dg
import duckdb
import pytest

from demo.__main__ import materialization_waves
from demo.synthetic import generate
from resources import build_resources
from settings import Settings
from storage.object_store import LocalObjectStore

pytestmark = pytest.mark.slow
START = dt.date(2024, 3, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(3)]
EMPTY = START - dt.timedelta(days=1)
TABLES = {
    "label.lf_votes": "SELECT * FROM label.lf_votes ORDER BY ALL",
    "score.comment_scores": "SELECT * EXCLUDE (scored_at) FROM score.comment_scores ORDER BY ALL",
}


def settings_for(root, monkeypatch, model_store=None) -> Settings:
    monkeypatch.setenv("SLUICE_DATA_DIR", str(root))
    monkeypatch.setenv("SLUICE_LANDING", str(root.parent / "landing"))
    if model_store:
        monkeypatch.setenv("SLUICE_MODEL_STORE", model_store)
    return Settings.from_env()


def run(keys, resources, **partition) -> dg.ExecuteInProcessResult:
    from definitions import defs

    return dg.materialize(
        list(defs.assets), selection=[dg.AssetKey.from_user_string(k) for k in keys],
        resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        **partition,
    )  # fmt: skip


def tables(settings) -> dict:
    with duckdb.connect(settings.warehouse, read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def test_per_day_runs_starting_with_an_empty_day_equal_a_range_run(tmp_path, monkeypatch):
    from assets.transform import dbt_resource

    monkeypatch.delenv("SLUICE_WAREHOUSE", raising=False)
    monkeypatch.delenv("SLUICE_EXPORTS", raising=False)
    monkeypatch.delenv("SLUICE_MODEL_STORE", raising=False)
    generate(LocalObjectStore(tmp_path / "landing"), start=START, days=len(DAYS), per_day=120,
             seed=5, label_share=0.4)  # fmt: skip
    waves = materialization_waves()

    # The reference: one range run per wave (as `make demo`), which also trains the champion.
    reference = settings_for(tmp_path / "range", monkeypatch)
    resources = {**build_resources(reference), "dbt": dbt_resource()}
    span = {"tags": {"dagster/asset_partition_range_start": str(EMPTY),
                     "dagster/asset_partition_range_end": str(DAYS[-1])}}  # fmt: skip
    for daily, keys in waves:
        assert run(keys, resources, **(span if daily else {})).success, keys

    # A fresh warehouse, the same champion, one run per day with the empty day first.
    fresh = settings_for(tmp_path / "days", monkeypatch, model_store=reference.model_store)
    resources = {**build_resources(fresh), "dbt": dbt_resource()}
    daily_keys = [key for daily, keys in waves if daily for key in keys]
    for day in [EMPTY, *DAYS]:
        result = run(daily_keys, resources, partition_key=str(day))
        assert result.success, f"the run of {day} failed"
    got, want = tables(fresh), tables(reference)
    assert got["label.lf_votes"] and got["score.comment_scores"]
    assert got == want
