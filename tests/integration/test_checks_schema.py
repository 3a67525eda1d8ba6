"""The schema check's baseline across range runs longer than a page of check records, on a
real Dagster instance and a real DuckDB file.

A range run plans one execution of the check per day and judges the schema once, on its
newest day; every other day gets a passed evaluation that says it was not judged (none is
left "Skipped"). The baseline must be found however many records lie between it and the
current run.
"""

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetSelection,
    AssetSpec,
    DagsterInstance,
    materialize,
)

from checks.factory import build_daily_checks
from orchestration import daily_partitions
from resources.warehouse import WarehouseResource

pytestmark = [pytest.mark.integration]

# More days than the 50 newest check records the baseline used to be looked up in.
DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(64)]


def schema_check(instance: DagsterInstance, warehouse: Path, days: list[dt.date]):
    """Run the table's schema check alone over `days` (one range run); its evaluation of the
    newest day, after checking that every other day got one saying it was not judged."""
    checks = build_daily_checks("events", "main.events", volume=False)
    result = materialize(
        [AssetSpec("events", partitions_def=daily_partitions), checks],
        selection=AssetSelection.all_asset_checks(),
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
        raise_on_error=False,
    )
    evaluations = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert sorted(evaluations) == [day.isoformat() for day in days]
    others = [evaluations[day.isoformat()] for day in days[:-1]]
    assert all(e.passed and e.metadata["judged"].value is False for e in others)
    return evaluations[days[-1].isoformat()]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table events (partition_date date, event_id varchar, size bigint)")
        con.executemany("insert into events values (?, ?, 1)", [(d, str(d)) for d in DAYS])
    return path


def test_a_column_dropped_after_a_long_range_run_fails_the_next_range_run(
    warehouse: Path,
) -> None:
    instance = DagsterInstance.ephemeral()
    first = schema_check(instance, warehouse, DAYS)
    assert first.passed and first.description == "first schema of main.events recorded: 3 columns"
    assert first.partition == DAYS[-1].isoformat()

    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table events drop column size")
    again: AssetCheckEvaluation = schema_check(instance, warehouse, DAYS)

    assert not again.passed and again.severity == AssetCheckSeverity.ERROR
    assert again.description == "changed without a code change: dropped size BIGINT"
    # The baseline is kept, so the alarm persists: a later single day still fails.
    assert [name for name, _ in again.metadata["accepted_schema"].value] == [
        "partition_date",
        "event_id",
        "size",
    ]
    assert not schema_check(instance, warehouse, DAYS[-1:]).passed
