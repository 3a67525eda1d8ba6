"""Which materialization a check judged: partition, data version, code version, run.

Every evaluation names what it looked at, so a verdict in the UI traces to one
materialization of one partition, and a later re-run of that day is visibly a new subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, EventLogRecord, MetadataValue

from resources.instance import (
    MaterializationTarget,
    latest_materialization,
    materialization_target,
    materializations,
)

DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"


@dataclass(frozen=True)
class Judged:
    """The latest materialization of an asset (partition) when the check ran, if any."""

    partition: str | None
    data_version: str | None = None
    code_version: str | None = None
    run_id: str | None = None
    storage_id: int | None = None
    timestamp: float | None = None

    @classmethod
    def from_record(cls, record: EventLogRecord) -> Judged:
        materialization = record.asset_materialization
        tags = materialization.tags or {}
        return cls(
            partition=materialization.partition,
            data_version=tags.get(DATA_VERSION_TAG),
            code_version=tags.get(CODE_VERSION_TAG),
            run_id=record.run_id,
            storage_id=record.storage_id,
            timestamp=record.timestamp,
        )

    def metadata(self) -> dict[str, Any]:
        """What the evaluation shows of its subject, so a verdict traces to its input."""
        if self.run_id is None:
            return {
                "upstream_partition": self.partition or "(unpartitioned)",
                "upstream_data_version": "no materialization recorded",
            }
        return {
            "upstream_partition": self.partition or "(unpartitioned)",
            "upstream_data_version": self.data_version or "unversioned",
            "upstream_code_version": self.code_version or "unversioned",
            "upstream_run": MetadataValue.dagster_run(self.run_id),
        }

    def target(self) -> MaterializationTarget | None:
        """The pointer Dagster keeps from the evaluation to this materialization, if any."""
        if self.run_id is None or self.storage_id is None or self.timestamp is None:
            return None
        return materialization_target(self.storage_id, self.run_id, self.timestamp)


def latest_by_partition(
    instance: DagsterInstance, asset_key: AssetKey, partitions: Sequence[str]
) -> dict[str, Judged]:
    """The latest materialization of each partition, in a few paged queries.

    Records come newest first, so the first one seen for a partition is its latest; reading
    stops once every partition is found, so a 700-day range costs a handful of queries.
    """
    wanted = set(partitions)
    if not wanted:
        return {}
    found: dict[str, Judged] = {}
    records_filter = AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted))
    for record in materializations(instance, records_filter):
        partition = record.asset_materialization.partition
        if partition not in found:
            found[partition] = Judged.from_record(record)
        if len(found) == len(wanted):
            break
    return {key: found.get(key, Judged(partition=key)) for key in partitions}


def latest(instance: DagsterInstance, asset_key: AssetKey) -> Judged:
    """The latest materialization of the asset, whatever its partition."""
    record = latest_materialization(instance, asset_key)
    return Judged.from_record(record) if record is not None else Judged(partition=None)
