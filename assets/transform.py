"""The dbt project's models as Dagster assets (the project itself: `assets/dbt_project.py`).

Two `@dbt_assets` share one manifest, because one op can carry only one partitions
definition: the day-windowed models (dbt tag `daily`, incremental on the partition window)
are daily-partitioned with a single-run backfill policy, so a backfill of N days is one
`dbt build --vars '{"min_date": ..., "max_date": ...}'`; every other model is rebuilt in
full, unpartitioned. Both write the DuckDB file and so share the warehouse pool.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation of
# the asset functions at definition time and rejects it as a string.
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, BackfillPolicy
from dagster_dbt import DbtCliInvocation, DbtCliResource, dbt_assets

from assets.dbt_args import build_args
from assets.dbt_project import DAILY_SELECTION, TRANSLATOR, UNPARTITIONED_TESTS, dbt_project
from orchestration import WAREHOUSE_POOL, daily_partitions
from resources.dbt import guarded
from resources.warehouse import WarehouseResource

DBT_PROJECT, DBT_MANIFEST = dbt_project()


def _stream_with_metadata(invocation: DbtCliInvocation) -> Iterator[Any]:
    """dbt events as Dagster events, with row counts and column schemas attached, dbt's
    process guarded so that it never outlives the step.

    Column lineage stays off: sqlglot cannot resolve the DuckDB list lambdas in the
    feature SQL and would only log tracebacks.
    """
    with guarded(invocation):
        yield from (
            invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=False)
        )


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
    """Build the day-windowed models for the run's partition range, in one dbt invocation."""
    warehouse.wait_until_free()
    window = context.partition_time_window
    yield from _stream_with_metadata(
        dbt.cli(build_args((window.start, window.end)), context=context)
    )


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
