"""Schema check: a table's columns and types against the schema this check last accepted.

The first evaluation records the schema. Later ones compare: a dropped or retyped column
without a code change is an error until the table is repaired; a change that comes with a
new code version of the asset (`dagster/code_version`) warns once and is accepted. The
judgement is `observability.schema`'s; the baseline travels in the evaluations' metadata.

Not `dagster.build_column_schema_change_checks` (1.13): it compares the two newest
materializations' `dagster/column_schema` whatever their partitions (in a range run: two days
of the same run) and keeps no accepted baseline, so a dropped column fails once and passes on
the next materialization. Its checks are unpartitioned, and it never sees a table changed
outside a run.
"""

import datetime as dt

from dagster import AssetCheckExecutionContext, AssetCheckKey, AssetKey, DagsterInstance

from checks.judging import DayResult, Judge
from checks.lineage import latest
from checks.queries import table_columns
from observability.schema import AcceptedSchema, judge_table_schema
from observability.verdict import Verdict
from resources.instance import check_executions
from resources.warehouse import WarehouseResource


def accepted_schema(
    instance: DagsterInstance, check_key: AssetCheckKey, run_id: str
) -> AcceptedSchema | None:
    """The schema (and code version) this check accepted in its latest earlier run.

    Read through every earlier execution, newest first, skipping those that carry no
    baseline: planned ones, and the days of a range run other than the one it judged.
    """
    for execution in check_executions(instance, check_key):
        if execution.run_id == run_id or execution.evaluation is None:
            continue
        metadata = {key: value.value for key, value in execution.evaluation.metadata.items()}
        accepted = AcceptedSchema.from_metadata(metadata)
        if accepted is not None:
            return accepted
    return None


def schema_judge(asset: AssetKey, table: str, blocking: bool, name: str) -> Judge:
    """The table's columns and types against the schema this check last accepted."""

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        with warehouse.connect(read_only=True) as con:
            current = table_columns(con, table)
        previous = accepted_schema(context.instance, AssetCheckKey(asset, name), context.run.run_id)
        code_now = latest(context.instance, asset).code_version or "unversioned"
        judged = judge_table_schema(table, current, code_now, previous)
        if not days:
            return [DayResult(None, judged.verdict, judged.reason, judged.metadata)]
        # A property of the table, not of a day: judged once per run, on its newest day. The
        # run's other days get a passed evaluation saying so (none is left "Skipped").
        newest = days[-1].isoformat()
        elsewhere = f"not judged: the schema is the table's, judged once per run on {newest}"
        return [
            DayResult(day.isoformat(), judged.verdict, judged.reason, judged.metadata)
            if day == days[-1]
            else DayResult(day.isoformat(), Verdict.PASS, elsewhere, judged=False)
            for day in days
        ]

    return Judge(
        name=name,
        description=f"Column names and types of {table} against the last accepted schema.",
        blocking=blocking,
        judge=judge,
    )
