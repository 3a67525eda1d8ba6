"""Data-quality checks for any asset stored in a warehouse table, in one call.

`build_daily_checks` gives a daily asset its volume, schema and drift checks (and its
expectation suites, when it has any) as one op, so an asset written later gets them by
naming its table and columns:

    build_daily_checks("comment_scores", "score.comment_scores",
                       numeric_columns=[f"p_{c}" for c in CLASSES])
    build_daily_checks("lf_votes", "label.lf_coverage", volume=False,
                       shares=ShareColumns(group="lf_name", version="lf_version",
                                           hits="votes", total="rows"),
                       name_prefix="lf_coverage_")

Thresholds come from config/observability.yml (`assets.<asset name>` overrides them).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetChecksDefinition,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    MetadataValue,
)

from checks.expectation_checks import suite_judge
from checks.judging import DayResult, Judge, table_checks
from checks.lineage import latest
from checks.queries import (
    daily_counts,
    first_partition,
    numeric_sample,
    share_totals,
    table_columns,
)
from expectations.suites import Suite
from observability.config import DriftConfig, ObservabilityConfig, VolumeConfig, load_config
from observability.drift import column_drift, share_drift
from observability.schema import Column, diff_schema, judge_schema
from observability.verdict import Verdict, worst
from observability.volume import judge_volume, trailing_counts
from resources.warehouse import WarehouseResource

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ShareColumns:
    """A table with one share per group and day, e.g. label.lf_coverage.

    Each row holds `hits` out of `total` for one group (an LF; keyed with its version when
    `version` is set, so a new LF version starts a new baseline instead of "drifting").
    """

    group: str
    hits: str
    total: str
    version: str | None = None

    @property
    def group_columns(self) -> list[str]:
        return [self.group, self.version] if self.version else [self.group]


def volume_judge(table: str, partition_column: str, volume: VolumeConfig, name: str) -> Judge:
    """Rows of each day against the trailing median and the absolute minimum."""

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        window = dt.timedelta(days=volume.trailing_days)
        with warehouse.connect(read_only=True) as con:
            counts = daily_counts(con, table, partition_column, days[0] - window, days[-1] + _DAY)
            first_day = first_partition(con, table, partition_column)
        results = []
        for day in days:
            trailing = trailing_counts(counts, day, volume.trailing_days, first_day)
            judged = judge_volume(day, counts.get(day, 0), trailing, volume)
            metadata = {"rows": judged.rows, "trailing_median": judged.baseline}
            if judged.ratio is not None:
                metadata["ratio_to_median"] = round(judged.ratio, 4)
            was_judged = judged.ratio is not None or judged.verdict is not Verdict.PASS
            results.append(
                DayResult(
                    day.isoformat(), judged.verdict, judged.reason, metadata, judged=was_judged
                )
            )
        return results

    return Judge(
        name=name,
        description=(
            f"Rows of each day of {table} against the median of the trailing "
            f"{volume.trailing_days} days (and an absolute minimum of {volume.min_rows})."
        ),
        blocking=volume.blocking,
        judge=judge,
    )


def _reference_start(day: dt.date, drift: DriftConfig) -> dt.date | None:
    return None if drift.reference_days is None else day - dt.timedelta(days=drift.reference_days)


def _window_label(day: dt.date, drift: DriftConfig) -> str:
    return f"{_reference_start(day, drift) or 'start'}..{day - _DAY}"


def numeric_drift_judge(
    table: str, partition_column: str, columns: Sequence[str], drift: DriftConfig, name: str
) -> Judge:
    """PSI and KS of each numeric column of a day against its reference window."""

    def judge_day(con: Any, day: dt.date, rows: int) -> DayResult:
        if rows < drift.min_rows:
            return DayResult(
                day.isoformat(),
                Verdict.PASS,
                f"not judged: {rows} rows, fewer than {drift.min_rows}",
                judged=False,
            )
        sample = drift.max_reference_rows
        current = numeric_sample(con, table, partition_column, columns, day, day + _DAY, sample)
        start = _reference_start(day, drift)
        reference = numeric_sample(con, table, partition_column, columns, start, day, sample)
        judged = [column_drift(c, reference[c], current[c], drift) for c in columns]
        flagged = sorted(
            (j for j in judged if j.verdict is not Verdict.PASS), key=lambda j: -j.verdict
        )
        window = _window_label(day, drift)
        description = (
            "drift in " + "; ".join(j.describe() for j in flagged)
            if flagged
            else f"no drift on {rows} rows against {window}"
        )
        columns_metadata = [
            {
                "column": j.column,
                "verdict": j.verdict.name,
                "judged": j.judged,
                "psi": j.psi,
                "ks": j.ks,
                "mean": j.mean,
                "reference_mean": j.reference_mean,
            }
            for j in judged
        ]
        metadata = {
            "rows": rows,
            "reference_window": window,
            "reference_rows": max(j.reference_rows for j in judged),
            "columns": MetadataValue.json(columns_metadata),
        }
        verdict = worst(j.verdict for j in judged)
        return DayResult(
            day.isoformat(), verdict, description, metadata, judged=any(j.judged for j in judged)
        )

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        with warehouse.connect(read_only=True) as con:
            counts = daily_counts(con, table, partition_column, days[0], days[-1] + _DAY)
            return [judge_day(con, day, counts.get(day, 0)) for day in days]

    return Judge(
        name=name,
        description=(
            f"PSI and Kolmogorov-Smirnov drift of {', '.join(columns)} in {table}, each day "
            "against its reference window."
        ),
        blocking=drift.blocking,
        judge=judge,
    )


def share_drift_judge(
    table: str, partition_column: str, shares: ShareColumns, drift: DriftConfig, name: str
) -> Judge:
    """Each group's share (an LF's coverage) of a day against its reference window."""

    def totals(con: Any, start: dt.date | None, end: dt.date) -> dict[str, tuple[int, int]]:
        columns = shares.group_columns
        return share_totals(
            con, table, partition_column, columns, shares.hits, shares.total, start, end
        )

    def judge_day(con: Any, day: dt.date) -> DayResult:
        current = totals(con, day, day + _DAY)
        if not current:
            return DayResult(day.isoformat(), Verdict.PASS, "no rows", judged=False)
        judged = share_drift(current, totals(con, _reference_start(day, drift), day), drift)
        flagged = [j for j in judged if j.verdict is not Verdict.PASS]
        description = (
            "share drift in " + "; ".join(j.describe() for j in flagged)
            if flagged
            else f"{sum(j.judged for j in judged)} of {len(judged)} group(s) judged, no drift"
        )
        groups = [
            {
                "group": j.group,
                "verdict": j.verdict.name,
                "judged": j.judged,
                "share": j.share,
                "reference_share": j.reference_share,
                "psi": j.psi,
                "hits": j.hits,
                "total": j.total,
            }
            for j in judged
        ]
        metadata = {
            "reference_window": _window_label(day, drift),
            "groups": MetadataValue.json(groups),
        }
        verdict = worst(j.verdict for j in judged)
        return DayResult(
            day.isoformat(), verdict, description, metadata, judged=any(j.judged for j in judged)
        )

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        with warehouse.connect(read_only=True) as con:
            return [judge_day(con, day) for day in days]

    return Judge(
        name=name,
        description=(
            f"Share drift of {shares.hits}/{shares.total} per {shares.group} in {table}, each "
            "day against its reference window (PSI on hit/miss)."
        ),
        blocking=drift.blocking,
        judge=judge,
    )


def accepted_schema(
    instance: DagsterInstance, check_key: AssetCheckKey, run_id: str
) -> tuple[list[Column], str] | None:
    """The schema (and code version) this check accepted in its latest earlier run."""
    for record in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=50):
        event = record.event
        if (
            record.run_id == run_id
            or event is None
            or event.dagster_event_type != DagsterEventType.ASSET_CHECK_EVALUATION
        ):
            continue
        metadata = event.dagster_event.asset_check_evaluation_data.metadata
        if "accepted_schema" in metadata:
            columns = [(name, kind) for name, kind in metadata["accepted_schema"].value]
            return columns, str(metadata["accepted_code_version"].value)
    return None


def _json_columns(columns: Sequence[tuple[str, ...]]) -> MetadataValue:
    return MetadataValue.json([list(column) for column in columns])


def schema_judge(asset: AssetKey, table: str, blocking: bool, name: str) -> Judge:
    """The table's columns and types against the schema this check last accepted.

    The first evaluation records the schema. Later ones compare: a dropped or retyped column
    without a code change is an error until the table is repaired; a change that comes with
    a new code version of the asset (`dagster/code_version`) warns once and is accepted.
    """

    def judge(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource, days: list[dt.date]
    ) -> list[DayResult]:
        with warehouse.connect(read_only=True) as con:
            current = table_columns(con, table)
        check_key = AssetCheckKey(asset, name)
        previous = accepted_schema(context.instance, check_key, context.run.run_id)
        code_now = latest(context.instance, asset).code_version or "unversioned"
        if not current:
            verdict, reason, metadata = Verdict.ERROR, f"{table} does not exist", {}
        elif previous is None:
            verdict, reason = (
                Verdict.PASS,
                f"first schema of {table} recorded: {len(current)} columns",
            )
            metadata = {
                "accepted_schema": _json_columns(current),
                "accepted_code_version": code_now,
            }
        else:
            columns, accepted_code = previous
            diff = diff_schema(columns, current)
            judged = judge_schema(diff, code_changed=code_now != accepted_code)
            verdict, reason = judged.verdict, judged.reason
            metadata = {
                "columns": len(current),
                "accepted_schema": _json_columns(current if judged.accept_current else columns),
                "accepted_code_version": code_now if judged.accept_current else accepted_code,
            }
            if diff.changed:
                metadata |= {
                    "dropped": _json_columns(diff.dropped),
                    "added": _json_columns(diff.added),
                    "retyped": _json_columns(diff.retyped),
                }
        if not days:
            return [DayResult(None, verdict, reason, metadata)]
        # A property of the table, not of a day: judged once per run, on its newest day.
        return [
            DayResult(day.isoformat(), verdict, reason, metadata, judged=day == days[-1])
            for day in days
        ]

    return Judge(
        name=name,
        description=f"Column names and types of {table} against the last accepted schema.",
        blocking=blocking,
        judge=judge,
    )


def _op_name(asset: AssetKey, table: str) -> str:
    return f"{asset.to_python_identifier()}__checks__{table.replace('.', '_')}"


def build_daily_checks(
    asset: str | AssetKey,
    table: str,
    *,
    partition_column: str = "partition_date",
    suites: Sequence[Suite] = (),
    numeric_columns: Sequence[str] = (),
    shares: ShareColumns | None = None,
    volume: bool = True,
    schema: bool = True,
    name_prefix: str = "",
    config: ObservabilityConfig | None = None,
) -> AssetChecksDefinition:
    """The checks of a daily asset stored in `table`, judged per day, run as one op.

    Checks, each optional: `<prefix>expectation_suites` (GX `suites`, blocking),
    `<prefix>row_volume`, `<prefix>column_schema` (blocking), `<prefix>distribution_drift`
    (PSI + KS of `numeric_columns`: features, class probabilities) and `<prefix>share_drift`
    (per-group shares: LF coverage). Give a prefix when one asset gets checks of two tables.
    """
    asset_key = AssetKey.from_coercible(asset)
    config = config or load_config()
    asset_name = asset_key.to_user_string()
    drift = config.drift_for(asset_name)
    judges = []
    if schema:
        name = f"{name_prefix}column_schema"
        judges.append(schema_judge(asset_key, table, config.schema_blocking, name))
    if volume:
        volume_config = config.volume_for(asset_name)
        name = f"{name_prefix}row_volume"
        judges.append(volume_judge(table, partition_column, volume_config, name))
    if numeric_columns:
        name = f"{name_prefix}distribution_drift"
        judges.append(numeric_drift_judge(table, partition_column, numeric_columns, drift, name))
    if shares is not None:
        name = f"{name_prefix}share_drift"
        judges.append(share_drift_judge(table, partition_column, shares, drift, name))
    if suites:
        name = f"{name_prefix}expectation_suites"
        blocking = config.expectations.blocking
        judges.append(suite_judge(table, suites, blocking, partition_column, name))
    return table_checks(asset_key, _op_name(asset_key, table), judges, partitioned=True)


def build_table_checks(
    asset: str | AssetKey,
    table: str,
    *,
    suites: Sequence[Suite] = (),
    config: ObservabilityConfig | None = None,
) -> AssetChecksDefinition:
    """Schema check and expectation suites of an unpartitioned asset's (small) table."""
    asset_key = AssetKey.from_coercible(asset)
    config = config or load_config()
    judges = [schema_judge(asset_key, table, config.schema_blocking, "column_schema")]
    if suites:
        judges.append(suite_judge(table, suites, config.expectations.blocking))
    return table_checks(asset_key, _op_name(asset_key, table), judges, partitioned=False)
