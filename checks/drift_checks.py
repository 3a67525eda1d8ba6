"""Drift checks: numeric columns (PSI and KS) and per-group shares (an LF's coverage) of each
day against its reference window. The statistics and verdicts are `observability.drift`'s;
this module reads the samples and shapes the results."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from dagster import AssetCheckExecutionContext

from checks.judging import DayResult, Judge
from checks.queries import Connection, daily_counts, numeric_sample, share_totals
from observability.config import DriftConfig
from observability.drift import (
    DayDrift,
    column_drift,
    day_column_drift,
    day_share_drift,
    reference_label,
    reference_start,
    share_drift,
)
from observability.verdict import Verdict
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
    # Groups whose share grows with the history by design (LFs on history columns): only a
    # fall below the reference is judged for them (`observability.drift.share_drift`).
    growing: frozenset[str] = frozenset()

    @property
    def group_columns(self) -> list[str]:
        return [self.group, self.version] if self.version else [self.group]


def _result(day: dt.date, drift: DayDrift, metadata: dict[str, Any]) -> DayResult:
    return DayResult(
        day.isoformat(), drift.verdict, drift.description, metadata, judged=drift.judged
    )


class _DayByDay:
    """The shape both drift judges share: one read-only connection, one result per day."""

    def judge_day(self, con: Connection, day: dt.date) -> DayResult:
        raise NotImplementedError

    def judge(
        self,
        context: AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        days: list[dt.date],
    ) -> list[DayResult]:
        with warehouse.connect(read_only=True) as con:
            return [self.judge_day(con, day) for day in days]


@dataclass(frozen=True)
class _NumericColumns(_DayByDay):
    """How one table's numeric columns are sampled and judged, day by day."""

    table: str
    partition_column: str
    columns: Sequence[str]
    drift: DriftConfig

    def sample(self, con: Connection, start: dt.date | None, end: dt.date) -> dict[str, np.ndarray]:
        return numeric_sample(
            con,
            self.table,
            self.partition_column,
            self.columns,
            start,
            end,
            self.drift.max_reference_rows,
        )

    def judge_day(self, con: Connection, day: dt.date) -> DayResult:
        rows = daily_counts(con, self.table, self.partition_column, day, day + _DAY).get(day, 0)
        if rows < self.drift.min_rows:
            reason = f"not judged: {rows} rows, fewer than {self.drift.min_rows}"
            return DayResult(day.isoformat(), Verdict.PASS, reason, judged=False)
        current = self.sample(con, day, day + _DAY)
        reference = self.sample(con, reference_start(day, self.drift), day)
        judged = [column_drift(c, reference[c], current[c], self.drift) for c in self.columns]
        window = reference_label(day, self.drift)
        metadata = {
            "rows": rows,
            "reference_window": window,
            "reference_rows": max(j.reference_rows for j in judged),
            "columns": [j.as_metadata() for j in judged],
        }
        return _result(day, day_column_drift(judged, rows, window), metadata)


def numeric_drift_judge(
    table: str, partition_column: str, columns: Sequence[str], drift: DriftConfig, name: str
) -> Judge:
    """PSI and KS of each numeric column of a day against its reference window."""
    return Judge(
        name=name,
        description=(
            f"PSI and Kolmogorov-Smirnov drift of {', '.join(columns)} in {table}, each day "
            "against its reference window."
        ),
        blocking=drift.blocking,
        judge=_NumericColumns(table, partition_column, columns, drift).judge,
    )


@dataclass(frozen=True)
class _GroupShares(_DayByDay):
    """How one table's per-group shares are summed and judged, day by day."""

    table: str
    partition_column: str
    shares: ShareColumns
    drift: DriftConfig

    def totals(
        self, con: Connection, start: dt.date | None, end: dt.date
    ) -> dict[str, tuple[int, int]]:
        columns = self.shares.group_columns
        hits, total = self.shares.hits, self.shares.total
        return share_totals(
            con, self.table, self.partition_column, columns, hits, total, start, end
        )

    def judge_day(self, con: Connection, day: dt.date) -> DayResult:
        current = self.totals(con, day, day + _DAY)
        if not current:
            return DayResult(day.isoformat(), Verdict.PASS, "not judged: no rows", judged=False)
        reference = self.totals(con, reference_start(day, self.drift), day)
        judged = share_drift(current, reference, self.drift, self.shares.growing)
        metadata = {
            "reference_window": reference_label(day, self.drift),
            "groups": [j.as_metadata() for j in judged],
        }
        return _result(day, day_share_drift(judged), metadata)


def share_drift_judge(
    table: str, partition_column: str, shares: ShareColumns, drift: DriftConfig, name: str
) -> Judge:
    """Each group's share (an LF's coverage) of a day against its reference window."""
    return Judge(
        name=name,
        description=(
            f"Share drift of {shares.hits}/{shares.total} per {shares.group} in {table}, each "
            "day against its reference window (PSI on hit/miss)."
        ),
        blocking=drift.blocking,
        judge=_GroupShares(table, partition_column, shares, drift).judge,
    )
