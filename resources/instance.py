"""Reads of the Dagster instance that the wiring shares: one paging loop over the event log,
and the one Dagster type that 1.13 does not export.

Sensors and checks walk the event log newest first and stop when they have what they need.
They page through here rather than asking for "the newest N" records: a single range run
writes one check record per day, so any fixed N hides what lies behind a long enough run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    EventLogRecord,
    EventRecordsResult,
)

# Not exported by Dagster 1.13, and the only way to tie a hand-built, per-partition
# AssetCheckEvaluation to the materialization it judged (AssetCheckResult does it for a
# single partition key only). tests/integration/test_checks_instance.py pins its shape.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData as MaterializationTarget,
)

PAGE_SIZE = 500

Record = TypeVar("Record")
Cursor = TypeVar("Cursor")
RecordsFilter = AssetKey | AssetRecordsFilter


def _paged(
    fetch: Callable[[Cursor | None], tuple[Sequence[Record], Cursor | None]],
) -> Iterator[Record]:
    """Every record `fetch` returns, page after page, until it names no next cursor."""
    cursor: Cursor | None = None
    while True:
        records, cursor = fetch(cursor)
        yield from records
        if cursor is None:
            return


def _event_records(
    fetch: Callable[..., EventRecordsResult], records_filter: RecordsFilter, page_size: int
) -> Iterator[EventLogRecord]:
    """Records of one of the instance's `fetch_*` readers, which page by an opaque cursor."""

    def page(cursor: str | None) -> tuple[Sequence[EventLogRecord], str | None]:
        result = fetch(records_filter, limit=page_size, cursor=cursor)
        return result.records, (result.cursor if result.has_more else None)

    return _paged(page)


def materializations(
    instance: DagsterInstance, records_filter: RecordsFilter, page_size: int = PAGE_SIZE
) -> Iterator[EventLogRecord]:
    """The materialization records that match `records_filter`, newest first."""
    return _event_records(instance.fetch_materializations, records_filter, page_size)


def observations(
    instance: DagsterInstance, records_filter: RecordsFilter, page_size: int = PAGE_SIZE
) -> Iterator[EventLogRecord]:
    """The observation records that match `records_filter`, newest first."""
    return _event_records(instance.fetch_observations, records_filter, page_size)


def latest_materialization(
    instance: DagsterInstance, records_filter: RecordsFilter
) -> EventLogRecord | None:
    """The newest matching materialization record (one query), or None."""
    return next(materializations(instance, records_filter, page_size=1), None)


@dataclass(frozen=True)
class CheckExecution:
    """One execution of an asset check: evaluated, or only planned (a range run plans every
    day of its range and may evaluate a few)."""

    id: int
    run_id: str
    partition: str | None
    timestamp: float | None  # of the stored event; None for an old planned row without one
    evaluation: AssetCheckEvaluation | None  # None while only planned

    @classmethod
    def from_record(cls, record: Any) -> CheckExecution:
        """From Dagster's AssetCheckExecutionRecord (not exported, hence `Any`)."""
        event = record.event
        return cls(
            id=record.id,
            run_id=record.run_id,
            partition=record.partition,
            timestamp=event.timestamp if event is not None else None,
            evaluation=event.asset_check_evaluation if event is not None else None,
        )


def check_executions(
    instance: DagsterInstance, check_key: AssetCheckKey, page_size: int = PAGE_SIZE
) -> Iterator[CheckExecution]:
    """Every execution of the check, newest first.

    The instance has no public reader of check history; its event-log storage's is the one
    the UI uses, and its cursor is the id below which the next page starts (its signature is
    pinned by tests/integration/test_checks_instance.py).
    """
    history = instance.event_log_storage.get_asset_check_execution_history

    def page(before_id: int | None) -> tuple[list[CheckExecution], int | None]:
        records = history(check_key, limit=page_size, cursor=before_id)
        more = len(records) == page_size
        return [CheckExecution.from_record(r) for r in records], (records[-1].id if more else None)

    return _paged(page)


def materialization_target(storage_id: int, run_id: str, timestamp: float) -> MaterializationTarget:
    """What an AssetCheckEvaluation's `target_materialization_data` holds: the materialization
    the check judged, so the UI shows the verdict against that materialization."""
    return MaterializationTarget(storage_id=storage_id, run_id=run_id, timestamp=timestamp)
