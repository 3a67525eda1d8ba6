"""Ingest a range of days in order: fetch each landing folder once, ingest each day, write it.

Pure (no Dagster): the `raw_comments` asset calls `ingest_days` with its landing store and
warehouse connection, and turns the returned results into metadata. A day's result depends
only on the files that landed in the folders it reads, never on another day's run, so days
may run in any order or in parallel; a range reads and parses each folder once. Each day is
written in its own transaction: a range that fails midway leaves whole days, never half.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from ingest.day import IngestResult, LandingFile, folders_read_for, ingest_day
from ingest.landing import comments_prefix
from ingest.policy import Policy
from ingest.raw_tables import replace_partition
from storage.object_store import ObjectStore
from storage.tables import Connection


class _FolderCache:
    """Fetches each landing folder once while a range of days is ingested in order."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.folders: dict[dt.date, list[LandingFile]] = {}
        self.skipped: dict[str, str] = {}

    def files_for(self, days: list[dt.date]) -> list[LandingFile]:
        for stale in [d for d in self.folders if d < days[0]]:
            del self.folders[stale]
        for day in days:
            if day not in self.folders:
                self.folders[day] = [
                    LandingFile(
                        info.key, day, self.store.get_bytes(info.key), info.etag, info.last_modified
                    )
                    for info in self.store.list(comments_prefix(day))
                ]
                for skipped in self.store.skipped(comments_prefix(day)):
                    self.skipped[skipped.key] = skipped.reason
        return [f for day in days for f in self.folders[day]]


@dataclass
class RangeResult:
    """Every day's result, in day order, and the range's totals."""

    days: list[tuple[dt.date, IngestResult]] = field(default_factory=list)
    # Files in the days' landing folders that the store does not serve (links out of the
    # landing root), by key: read by nobody, so reported instead of silently ignored.
    skipped_files: dict[str, str] = field(default_factory=dict)

    @property
    def totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for _, result in self.days:
            totals.update(
                records_in=result.records_in,
                kept=result.kept.num_rows,
                quarantined=result.quarantined.num_rows,
            )
        return totals

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        reasons: Counter[str] = Counter()
        for _, result in self.days:
            reasons.update(result.quarantined_by_reason)
        return dict(sorted(reasons.items()))

    @property
    def data_version(self) -> str:
        """A hash of the days' data versions: changes when any day's rows do."""
        joined = "".join(result.data_version() for _, result in self.days)
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


def ingest_days(
    days: Sequence[dt.date],
    store: ObjectStore,
    con: Connection,
    policy: Policy,
    on_day: Callable[[dt.date, IngestResult], None] | None = None,
) -> RangeResult:
    """Ingest `days` in order from `store` into the raw tables of `con`, one transaction a day.

    `on_day` is told about each day as soon as it is written (the asset logs it).
    """
    cache = _FolderCache(store)
    records: dict[tuple[str, str], pa.Table] = {}  # each file judged once for the range
    out = RangeResult()
    for day in sorted(days):
        files = cache.files_for(folders_read_for(day, policy))
        live = {(f.key, f.etag) for f in files}
        for gone in [k for k in records if k not in live]:
            del records[gone]  # folders behind the range's window: keep memory bounded
        result = ingest_day(day, files, policy, records)
        replace_partition(con, day, result.kept, result.quarantined)
        out.days.append((day, result))
        if on_day is not None:
            on_day(day, result)
    out.skipped_files = dict(sorted(cache.skipped.items()))
    return out
