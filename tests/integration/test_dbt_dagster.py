"""The dbt models as Dagster assets: wiring, and a two-day range materialized in one run."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.dbt_project import GROUP_NAME
from assets.transform import dbt_daily_models, dbt_full_models
from resources.dbt import dbt_resource
from resources.warehouse import WarehouseResource
from tests.integration.test_dbt_project import (
    DAILY_MODELS,
    child_bytecode_env,
    write_fixture_warehouse,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_models_are_wired_to_the_raw_assets_and_described() -> None:
    daily_deps = {key for deps in dbt_daily_models.asset_deps.values() for key in deps}
    full_deps = {key for deps in dbt_full_models.asset_deps.values() for key in deps}
    assert AssetKey("raw_comments") in daily_deps
    assert AssetKey("gold_labels") in full_deps
    assert {key.path[-1] for key in dbt_daily_models.keys} == set(DAILY_MODELS)
    assert {key.path[-1] for key in dbt_full_models.keys} == {"author_activity", "stg_gold_labels"}
    assert dbt_full_models.partitions_def is None
    for assets_def in (dbt_daily_models, dbt_full_models):
        for spec in assets_def.specs:
            assert spec.group_name == GROUP_NAME
            assert spec.owners == ["team:analytics"]
            assert spec.kinds == {"dbt", "duckdb"}
            assert spec.code_version
        assert assets_def.check_specs, "dbt tests must surface as asset checks"


def test_two_day_range_materializes_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    write_fixture_warehouse(warehouse)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", child_bytecode_env()["PYTHONPYCACHEPREFIX"])
    monkeypatch.setenv("SLUICE_WAREHOUSE", str(warehouse))

    result = materialize(
        [dbt_daily_models],
        resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(path=str(warehouse))},
        instance=DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": "2015-05-01",
            "dagster/asset_partition_range_end": "2015-05-02",
        },
    )

    assert result.success
    materialized = {
        (event.asset_key.path[-1], event.partition)
        for event in result.get_asset_materialization_events()
    }
    assert materialized == {
        (model, day) for model in DAILY_MODELS for day in ("2015-05-01", "2015-05-02")
    }
    features = {
        event.partition: event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == AssetKey("comment_features")
    }
    # Each day carries its own row count (6 rows over the two days), not the range's total.
    per_day = {day: m.metadata["dagster/row_count"].value for day, m in features.items()}
    assert sum(per_day.values()) == 6 and all(0 < rows < 6 for rows in per_day.values()), per_day
    metadata = features["2015-05-01"].metadata
    columns = {column.name for column in metadata["dagster/column_schema"].value.columns}
    assert {"comment_id", "author_prior_comments", "text_prior_count"} <= columns
    checks = result.get_asset_check_evaluations()
    assert checks
    assert all(check.passed for check in checks)
