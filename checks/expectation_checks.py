"""Great Expectations suites (`expectations/`) as blocking asset checks.

GX 1.x is called directly (dagster-ge supports neither GX 1.x nor pandas 3), through the
runner, which imports GX only when a check runs. A daily check reads its run's days in
chunks of whole days, validates each per-row suite once per chunk and splits the result by
day, and validates the day-profile suites day by day. Every day gets its own evaluation:
statistics, per failing expectation the unexpected count, percentage and examples, links
to the Data Docs, and the materialization it judged. An expectation that raised is an
error of the check (the step fails for that day), never a data verdict.
"""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster import AssetCheckExecutionContext, MetadataValue

from checks.judging import DayResult, Judge
from checks.queries import daily_counts, day_frame, whole_table
from expectations.runner import Status, SuiteOutcome, SuiteRunner, iso_day, split_by_day
from expectations.suites import Suite
from observability.verdict import Verdict, worst
from resources.warehouse import WarehouseResource
from settings import Settings

CHECK_NAME = "expectation_suites"
# Rows validated in one GX batch: whole days up to this size, so memory stays bounded in a
# backfill of years while a typical range is one batch.
CHUNK_ROWS = 200_000


def gx_folders() -> tuple[Path, Path]:
    """Where GX keeps suites and results, and where the Data Docs site goes."""
    data_dir = Path(Settings.from_env().data_dir)
    return data_dir / "gx", data_dir / "data_docs"


def chunks(
    days: Sequence[dt.date], counts: dict[dt.date, int], max_rows: int
) -> list[list[dt.date]]:
    """Consecutive days grouped so each group holds at most `max_rows` rows (or one day)."""
    groups: list[list[dt.date]] = []
    rows = 0
    for day in days:
        if groups and rows + counts.get(day, 0) <= max_rows:
            groups[-1].append(day)
            rows += counts.get(day, 0)
        else:
            groups.append([day])
            rows = counts.get(day, 0)
    return groups


def _no_rows(suite: Suite) -> SuiteOutcome:
    return SuiteOutcome(suite.name, 0, Status.SKIPPED, reason="no rows")


def validate_days(
    runner: SuiteRunner,
    con: Any,
    table: str,
    partition_column: str,
    suites: Sequence[Suite],
    days: Sequence[dt.date],
    label: str,
) -> dict[str, list[SuiteOutcome]]:
    """Each day's outcome of every suite, reading and validating whole-day chunks."""
    counts = daily_counts(con, table, partition_column, days[0], days[-1] + dt.timedelta(days=1))
    per_day: dict[str, list[SuiteOutcome]] = {day.isoformat(): [] for day in days}
    for group in chunks(days, counts, CHUNK_ROWS):
        frame = day_frame(con, table, partition_column, group[0], group[-1] + dt.timedelta(1))
        keys = frame[partition_column].map(iso_day)
        rows = {key: int(n) for key, n in keys.value_counts().items()}
        span = f"{group[0]}..{group[-1]}" if len(group) > 1 else str(group[0])
        for suite in suites:
            if suite.per_row:
                outcome = runner.validate(frame, suite, run_name=f"{span}_{label}")
                split = split_by_day(outcome, partition_column, rows) if rows else {}
                for day in group:
                    per_day[day.isoformat()].append(split.get(day.isoformat(), _no_rows(suite)))
            else:
                for day in group:
                    key = day.isoformat()
                    day_rows = frame[keys == key]
                    per_day[key].append(runner.validate(day_rows, suite, run_name=f"{key}_{label}"))
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
                o.suite: {"status": str(o.status), **o.statistics(), "reason": o.reason}
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
        per_day: dict[str | None, list[SuiteOutcome]]
        with warehouse.connect(read_only=True) as con:
            if not days:
                frame = whole_table(con, table)
                per_day = {
                    None: [runner.validate(frame, s, run_name=f"{table}_{label}") for s in suites]
                }
            else:
                per_day = dict(
                    validate_days(runner, con, table, partition_column, suites, days, label)
                )
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
