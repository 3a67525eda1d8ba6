"""The dbt project's models as Dagster assets (the project itself: `assets/dbt_project.py`).

Two `@dbt_assets` share one manifest, because one op can carry only one partitions
definition: the day-windowed models (dbt tag `daily`, incremental on the partition window)
are daily-partitioned with a single-run backfill policy, so a backfill of N days is one
`dbt build --vars '{"min_date": ..., "max_date": ...}'`; every other model is rebuilt in
full, unpartitioned. Both write the DuckDB file and so share the warehouse pool.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation of
# the asset functions at definition time and rejects it as a string.
import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetMaterialization, BackfillPolicy, Output
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets

from assets.dbt_args import build_args
from assets.dbt_project import DAILY_SELECTION, TRANSLATOR, UNPARTITIONED_TESTS, dbt_project
from assets.versioning import day_contents
from orchestration import WAREHOUSE_POOL, daily_partitions
from resources.dbt import guarded
from resources.warehouse import WarehouseResource
from settings import Settings

DBT_PROJECT, DBT_MANIFEST = dbt_project()


def _stream_with_metadata(invocation: DbtCliInvocation, row_counts: bool = True) -> Iterator[Any]:
    """dbt events as Dagster events, with column schemas (and whole-table row counts when
    asked) attached, dbt's process guarded so that it never outlives the step.

    Column lineage stays off: sqlglot cannot resolve the DuckDB list lambdas in the
    feature SQL and would only log tracebacks.
    """
    with guarded(invocation):
        events = invocation.stream()
        if row_counts:
            events = events.fetch_row_counts()
        yield from events.fetch_column_metadata(with_column_lineage=False)


def _drain(events: Iterator[Any]) -> tuple[list[Any], Exception | None]:
    """Every event, and the error that ended the stream if any (dbt failed part-way: the
    models it built are still reported)."""
    drained: list[Any] = []
    try:
        drained.extend(events)
    except Exception as error:  # re-raised by the caller once the built models are reported
        return drained, error
    return drained, None


def _add_day_metadata(
    context: AssetExecutionContext, con: Any, events: list[Any], start: dt.date, end: dt.date
) -> None:
    """Each built model's own row count and data version for every day of the window, as
    partition-scoped metadata: Dagster merges it into that day's materialization, so a range
    run's days do not all show the whole table's count."""
    for event in events:
        if not isinstance(event, Output | AssetMaterialization):
            continue  # dbt tests: asset check results
        node = DBT_MANIFEST["nodes"][event.metadata["unique_id"].value]
        key = TRANSLATOR.get_asset_key(node)
        table = f"{node['schema']}.{node['alias']}"
        for day, content in day_contents(con, table, start, end).items():
            metadata = {"dagster/row_count": content.rows, "data_version": content.version}
            context.add_asset_metadata(metadata, asset_key=key, partition_key=day)


@dbt_assets(
    manifest=DBT_MANIFEST,
    project=DBT_PROJECT,
    select=DAILY_SELECTION,
    exclude=UNPARTITIONED_TESTS,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
    name="dbt_daily_models",
)
def dbt_daily_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Build the day-windowed models for the run's partition range, in one dbt invocation,
    then count and hash each model's rows day by day (after dbt exits: DuckDB has one
    writer) so that every partition's materialization carries its own day's figures."""
    warehouse.wait_until_free()
    window = context.partition_time_window
    invocation = dbt.cli(build_args((window.start, window.end)), context=context)
    events, error = _drain(_stream_with_metadata(invocation, row_counts=False))
    if Settings.from_env().engine == "duckdb":  # on Spark, dbt writes tables DuckDB cannot read
        with warehouse.connect() as con:
            _add_day_metadata(context, con, events, window.start.date(), window.end.date())
    yield from events
    if error is not None:
        raise error


@dbt_assets(
    manifest=DBT_MANIFEST,
    project=DBT_PROJECT,
    exclude=DAILY_SELECTION,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
    name="dbt_full_models",
)
def dbt_full_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Rebuild the small unpartitioned models (author_activity, stg_gold_labels) in full."""
    warehouse.wait_until_free()
    yield from _stream_with_metadata(dbt.cli(build_args(), context=context))
