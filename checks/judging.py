"""Judges, and the one check op per table that runs them and reports every day.

A judge is one named asset check (volume, schema, drift, an expectation suite) as a
function from the run's days to one verdict per day. All judges of one table run in one
`multi_asset_check` op: every op is a process that loads the code location and waits for
the warehouse pool, so one op per table instead of one per check keeps a run short.

Daily checks carry the assets' `partitions_def` (a Dagster 1.13 preview), so each day gets
its own evaluation. A range run (a single-run backfill) plans every check for every day of
the range, but `AssetCheckResult` speaks for one partition key only; so the op yields one
`AssetCheckEvaluation` per day, with its own verdict, metadata and the materialization it
judged, then the check's output. A failed ERROR evaluation of a blocking check fails the op
and keeps the downstream steps of the run from starting (for a range run that is the whole
range: one step covers every day).
"""

import datetime as dt
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Output,
    PreviewWarning,
    multi_asset_check,
)

from checks.lineage import latest, latest_by_partition
from observability.verdict import Verdict
from orchestration import WAREHOUSE_POOL, daily_partitions
from resources.warehouse import WarehouseResource


@dataclass(frozen=True)
class DayResult:
    """A judge's verdict on one partition (None: the whole, unpartitioned table), or the
    error that kept it from reaching one.

    A day the judge had nothing to say about (no rows, too few rows for a statistic) is
    `judged=False`: it still gets an evaluation, passed, whose description and metadata say
    why it was not judged. Without one, Dagster showed the check "Skipped" in the Checks list
    for the run's other days while the pane showed the judged day "Passed".
    """

    partition: str | None
    verdict: Verdict
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    judged: bool = True


# (context, warehouse, the run's days) -> one result per day; no days means the whole,
# unpartitioned table, judged as one (partition None).
JudgeFn = Callable[[AssetCheckExecutionContext, WarehouseResource, list[dt.date]], list[DayResult]]


@dataclass(frozen=True)
class Judge:
    """One asset check: its name, what it checks, whether it blocks, and how it judges."""

    name: str
    description: str
    blocking: bool
    judge: JudgeFn


class CheckErrored(Exception):
    """A check could not judge some days: an error of the check or the table, not of the data.

    Raised after every other verdict is recorded, so the step fails (Dagster shows the check
    as errored for those days and blocks downstream steps) without a fake verdict.
    """


def severity(verdict: Verdict) -> AssetCheckSeverity:
    """WARN stays a warning; ERROR is Dagster's ERROR (which blocks when the check does)."""
    return AssetCheckSeverity.WARN if verdict is Verdict.WARN else AssetCheckSeverity.ERROR


def _evaluations(
    context: AssetCheckExecutionContext, spec: AssetCheckSpec, results: Sequence[DayResult]
) -> Iterator[AssetCheckEvaluation]:
    """One evaluation per result, with the materialization it judged (lineage) attached."""
    if spec.partitions_def is None:
        subjects = {None: latest(context.instance, spec.asset_key)}
    else:
        subjects = latest_by_partition(
            context.instance, spec.asset_key, [str(r.partition) for r in results]
        )
    for result in results:
        subject = subjects[result.partition]
        judged = (
            {"judged": True} if result.judged else {"judged": False, "why_not": result.description}
        )
        yield AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=result.verdict is Verdict.PASS,
            severity=severity(result.verdict),
            description=result.description,
            metadata={**result.metadata, **judged, **subject.metadata()},
            target_materialization_data=subject.target(),
            blocking=spec.blocking,
            partition=result.partition,
        )


def _judged(
    context: AssetCheckExecutionContext,
    judge: Judge,
    warehouse: WarehouseResource,
    days: list[dt.date],
) -> tuple[list[DayResult], list[str]]:
    """Run one judge: the results that get an evaluation (every day it reached a verdict on,
    judged or not, each saying which), and the days it could not judge (errors)."""
    results = judge.judge(context, warehouse, days)
    evaluated = [r for r in results if r.error is None]
    bad = [r for r in evaluated if r.verdict is not Verdict.PASS]
    skipped = Counter(r.description for r in evaluated if not r.judged)
    context.log.info(
        f"{judge.name}: {len(evaluated) - skipped.total()} of {len(results)} day(s) judged, "
        f"{len(bad)} failed"
        + "".join(f"; {n} not judged ({why})" for why, n in skipped.most_common(3))
        + "".join(f"\n  {r.partition} {r.verdict.name}: {r.description}" for r in bad[:20])
    )
    errors = [f"{judge.name} {r.partition or ''}: {r.error}" for r in results if r.error]
    return evaluated, errors


def _specs(
    asset: AssetKey, judges: Sequence[Judge], partitioned: bool
) -> dict[str, AssetCheckSpec]:
    """One check spec per judge, partitioned by day when the asset is."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)  # partitioned checks are a preview
        return {
            judge.name: AssetCheckSpec(
                judge.name,
                asset=asset,
                description=judge.description,
                blocking=judge.blocking,
                partitions_def=daily_partitions if partitioned else None,
            )
            for judge in judges
        }


def table_checks(
    asset: AssetKey, op_name: str, judges: Sequence[Judge], partitioned: bool
) -> AssetChecksDefinition:
    """One op running `judges` on `asset`: per day of the run when `partitioned`, else once.

    It reads the warehouse, so it takes the warehouse pool: DuckDB refuses a reader while
    another process writes the file. A run that selects only some of the checks (the UI's
    "execute check") runs only those judges.
    """
    specs = _specs(asset, judges, partitioned)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)

        @multi_asset_check(
            specs=list(specs.values()), name=op_name, can_subset=True, pool=WAREHOUSE_POOL
        )
        def _checks(
            context: AssetCheckExecutionContext, warehouse: WarehouseResource
        ) -> Iterator[AssetCheckEvaluation | Output]:
            days = [dt.date.fromisoformat(k) for k in context.partition_keys] if partitioned else []
            errored: list[str] = []
            for judge in judges:
                spec = specs[judge.name]
                if spec.key not in context.selected_asset_check_keys:
                    continue
                judged, errors = _judged(context, judge, warehouse, days)
                yield from _evaluations(context, spec, judged)
                errored += errors
                yield Output(None, output_name=spec.get_python_identifier())
            if errored:
                raise CheckErrored(
                    f"could not judge {len(errored)} time(s): " + "; ".join(errored[:5])
                )

    return _checks
