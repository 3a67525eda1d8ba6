"""What the UI shows for each day after range runs is that day's own: row counts and data
versions read back from a real Dagster instance match the warehouse's rows of that day, and
the model card lists the per-day versions it trained on, with its plots inline."""

import datetime as dt
import os
from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from assets.versioning import combined_version, day_contents
from storage.object_store import LocalObjectStore
from tests.harness import prepare_instance
from training.registry import ModelRegistry

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FIRST = dt.date(2024, 5, 1)
DAYS = 3
DAY_KEYS = [(FIRST + dt.timedelta(days=n)).isoformat() for n in range(DAYS)]
# asset -> the warehouse table whose rows of a day its materialization of that day counts
TABLES = {
    "raw_comments": "raw.comments",
    "comment_features": "main.comment_features",
    "lf_votes": "label.lf_votes",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("ui_metadata")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(root / "dagster_home"), SLUICE_DATA_DIR=str(root / "data"))
    (root / "dagster_home").mkdir()
    prepare_instance(env, FIRST, DAYS)  # every asset, one range run per wave
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        yield {"instance": instance, "data": root / "data"}


def _latest(instance: dg.DagsterInstance, asset: str) -> dict[str, dict]:
    """The metadata of each day's latest materialization of `asset`, as plain values."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=DAY_KEYS), limit=100
    ).records
    latest: dict[str, dict] = {}
    for record in records:  # newest first
        event = record.asset_materialization
        values = {k: v.value for k, v in event.metadata.items()}
        latest.setdefault(record.partition_key, values)
    return latest


def test_each_day_carries_its_own_row_count_and_data_version(prepared: dict):
    con = duckdb.connect(str(prepared["data"] / "warehouse.duckdb"), read_only=True)
    try:
        end = FIRST + dt.timedelta(days=DAYS)
        stored = {table: day_contents(con, table, FIRST, end) for table in TABLES.values()}
        coverage = day_contents(con, "label.lf_coverage", FIRST, end)
        features = dict(
            con.execute(
                "SELECT CAST(partition_date AS VARCHAR), count(*) FROM main.comment_features "
                "GROUP BY 1"
            ).fetchall()
        )
    finally:
        con.close()
    for asset, table in TABLES.items():
        shown = _latest(prepared["instance"], asset)
        assert sorted(shown) == DAY_KEYS, asset
        counts = {day: shown[day]["dagster/row_count"] for day in DAY_KEYS}
        assert counts == {day: stored[table][day].rows for day in DAY_KEYS}, asset
        assert all(counts.values()), f"{asset}: a day without rows {counts}"
        versions = [shown[day]["data_version"] for day in DAY_KEYS]
        assert len(set(versions)) == DAYS, f"{asset} repeats a version across days: {versions}"
        if asset == "lf_votes":
            expected = [combined_version(stored[table][d], coverage[d]) for d in DAY_KEYS]
            assert [shown[day]["rows"] for day in DAY_KEYS] == [features[d] for d in DAY_KEYS]
        elif asset != "raw_comments":  # ingest hashes its Arrow tables, not the stored rows
            expected = [stored[table][day].version for day in DAY_KEYS]
        else:
            continue
        assert versions == expected, asset


def test_model_card_lists_the_versions_of_each_day_and_shows_its_plots(prepared: dict):
    registry = ModelRegistry(LocalObjectStore(prepared["data"] / "models"), "classifier")
    newest = max(registry.versions().items(), key=lambda item: item[1]["registered_at"])[0]
    lineage = registry.card(newest)["lineage"]["data_versions"]
    for asset in TABLES:
        shown = _latest(prepared["instance"], asset)
        assert lineage[asset] == {day: shown[day]["data_version"] for day in DAY_KEYS}, asset

    [record] = (
        prepared["instance"].fetch_materializations(dg.AssetKey("classifier"), limit=1).records
    )
    card = record.asset_materialization.metadata["model_card"]
    assert isinstance(card, dg.MarkdownMetadataValue)
    page = card.value
    assert f"# Model card: classifier {newest}" in page
    assert page.count("](data:image/png;base64,") == 5  # every plot inline
    assert "| labeling function | version |" in page
    for day in DAY_KEYS:
        assert f"| {day} | `{lineage['comment_features'][day]}`" in page
    assert len(page) < 400_000, "the card's inline plots should stay small"
