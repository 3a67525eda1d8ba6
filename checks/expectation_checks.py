"""Great Expectations suites (`expectations/`) as blocking asset checks.

GX 1.x is called directly (dagster-ge supports neither GX 1.x nor pandas 3), through the
runner, which imports GX only when a check runs. Every expectation with a SQL form is judged
in the warehouse over every row of each day (`expectations.warehouse`: one grouped query per
suite, nothing pulled into pandas); GX validates each suite on a bounded deterministic
sample, once per run for a per-row suite (split by day) and per day for a day profile, for
the expectations only it can judge and for the Data Docs. Every day gets its own evaluation:
statistics, per failing expectation the unexpected count, percentage and examples, links
to the Data Docs, and the materialization it judged. An expectation that raised is an
error of the check (the step fails for that day), never a data verdict.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dagster import AssetCheckExecutionContext, MetadataValue

from checks.judging import DayResult, Judge
from expectations.runner import (
    Status,
    SuiteOutcome,
    SuiteRunner,
    iso_day,
    split_by_day,
    worst_status,
)
from expectations.suites import Suite
from expectations.warehouse import judge, plan, sample_frame
from observability.verdict import Verdict, worst
from resources.warehouse import WarehouseResource
from settings import Settings

CHECK_NAME = "expectation_suites"
# Rows GX validates per suite and run: a deterministic sample (see `sample_frame`), so the
# check's memory and GX time stay flat however large the days are.
GX_SAMPLE_ROWS = 10_000
SAMPLING = "the rows with the smallest hash of the suite's key columns"


def gx_folders() -> tuple[Path, Path]:
    """Where GX keeps suites and results, and where the Data Docs site goes."""
    data_dir = Path(Settings.from_env().data_dir)
    return data_dir / "gx", data_dir / "data_docs"


def _merged(judged: SuiteOutcome, sampled: SuiteOutcome | None, suite: Suite) -> SuiteOutcome:
    """The warehouse's outcomes plus GX's for the expectations only GX judges; GX's result
    key links the Data Docs page, and `judged` says what each one saw."""
    if judged.status is Status.SKIPPED or sampled is None:
        return judged
    only_gx = {id(e) for e in plan(suite).gx_only}
    # GX reports the suite's expectations in suite order; take those only it judged.
    aligned = [o.expectation for o in sampled.outcomes] == [e.type for e in suite.expectations]
    pairs = zip(suite.expectations, sampled.outcomes, strict=False) if aligned else ()
    gx = [o for e, o in pairs if id(e) in only_gx]
    outcomes = judged.outcomes + tuple(gx)
    detail = {**(judged.judged or {}), "gx_sample_rows": sampled.rows, "gx_sampling": SAMPLING}
    status = worst_status(o.status for o in outcomes)
    return replace(
        judged, outcomes=outcomes, status=status, judged=detail, result_key=sampled.result_key
    )


def validate_days(
    runner: SuiteRunner,
    con: Any,
    table: str,
    partition_column: str | None,
    suites: Sequence[Suite],
    days: Sequence[dt.date],
    label: str,
) -> dict[str | None, list[SuiteOutcome]]:
    """Each day's outcome of every suite: SQL in the warehouse over every row, GX on one
    bounded sample of the run's days (per-row suites) or of the day (the others)."""
    keys: list[str | None] = [d.isoformat() for d in days] or [None]
    per_day: dict[str | None, list[SuiteOutcome]] = {key: [] for key in keys}
    for suite in suites:
        judged = judge(con, table, partition_column, days or None, suite)
        sampled: dict[str | None, SuiteOutcome] = {}
        spans: list = [(None, None)]  # the whole (unpartitioned) table
        if days:
            spans = [(days[0], days[-1])] if suite.per_row else [(d, d) for d in days]
        for first, last in spans:
            window = (first, last + dt.timedelta(days=1)) if first else None
            span = [judged[d.isoformat()] for d in days if first and first <= d <= last]
            if span and all(o.status is Status.SKIPPED for o in span):
                continue
            frame = sample_frame(
                con, table, partition_column, window, suite.key_columns, GX_SAMPLE_ROWS
            )
            name = f"{first}..{last}_{label}" if first else f"{table}_{label}"
            outcome = runner.validate(frame, replace(suite, min_rows=0), run_name=name)
            if first is None:
                sampled[None] = outcome
            elif suite.per_row:
                rows = {
                    iso_day(v): int(n) for v, n in frame[partition_column].value_counts().items()
                }
                sampled |= split_by_day(outcome, partition_column, rows) if rows else {}
            else:
                sampled[first.isoformat()] = outcome
        for key in keys:
            per_day[key].append(_merged(judged[key], sampled.get(key), suite))
    return per_day


def summarize(
    partition: str | None,
    outcomes: Sequence[SuiteOutcome],
    suites: Sequence[Suite],
    runner: SuiteRunner,
    docs_index: Path | None,
) -> DayResult:
    """One day's verdict from its suites: statistics, failures with examples, doc links."""
    severities = {suite.name: suite.severity for suite in suites}
    rows = max((o.rows for o in outcomes), default=0)
    metadata: dict[str, Any] = {
        "rows": rows,
        "statistics": MetadataValue.json(
            {
                o.suite: {
                    "status": str(o.status),
                    **o.statistics(),
                    "reason": o.reason,
                    "judged": o.judged,  # rows judged in SQL, GX sample size and sampling
                }
                for o in outcomes
            }
        ),
    }
    failures = [(o.suite, f) for o in outcomes for f in o.failures]
    if failures:
        metadata["failed_expectations"] = MetadataValue.json(
            [{"suite": suite, **f.as_metadata()} for suite, f in failures]
        )
    if docs_index is not None:
        metadata["data_docs_index"] = MetadataValue.path(str(docs_index))
        pages = [url for o in outcomes if (url := runner.page_url(o))]
        if pages:
            metadata["data_docs_page"] = MetadataValue.url(pages[0])
    errors = [e for o in outcomes for e in o.errors]
    if errors:
        return DayResult(
            partition, Verdict.ERROR, "", metadata, error="; ".join(e.describe() for e in errors)
        )
    verdict = worst(severities[o.suite] for o in outcomes if o.status is Status.FAILED)
    judged = [o for o in outcomes if o.status is not Status.SKIPPED]
    if not judged:
        return DayResult(partition, Verdict.PASS, "no rows to validate", metadata, judged=False)
    if failures:
        description = f"{len(failures)} expectation(s) failed on {rows} rows: " + "; ".join(
            f.describe() for _, f in failures[:5]
        )
    else:
        evaluated = sum(o.statistics()["evaluated"] for o in judged)
        description = f"{evaluated} expectations passed on {rows} rows"
    return DayResult(partition, verdict, description, metadata)


def suite_judge(
    table: str,
    suites: Sequence[Suite],
    blocking: bool,
    partition_column: str = "partition_date",
    name: str = CHECK_NAME,
) -> Judge:
    """Validate `suites` on each day of `table` a run covers (or on the whole table when
    the asset is unpartitioned)."""

    def judge(
        context: AssetCheckExecutionContext,
        warehouse: WarehouseResource,
        days: list[dt.date],
    ) -> list[DayResult]:
        runner = SuiteRunner(*gx_folders())
        label = context.run.run_id[:8]
        column = partition_column if days else None
        with warehouse.connect(read_only=True) as con:
            per_day = validate_days(runner, con, table, column, suites, days, label)
        index = runner.build_docs()
        return [
            summarize(day, outcomes, suites, runner, index) for day, outcomes in per_day.items()
        ]

    names = ", ".join(suite.name for suite in suites)
    return Judge(
        name=name,
        description=f"Great Expectations suites {names} on {table}.",
        blocking=blocking,
        judge=judge,
    )
