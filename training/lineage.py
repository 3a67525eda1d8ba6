"""The inputs a model was built from, fingerprinted so that a later rebuild can tell whether
it would start from the same place (see `training.reproduce`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.landing import COMMENTS_PREFIX, LABELS_PREFIX, InvalidLandingKey, parse_landing_key
from storage.object_store import ObjectStore


def landing_manifest(store: ObjectStore, through: dt.date) -> dict[str, str]:
    """Every landing file that can have shaped the partitions up to `through`, by key, with
    its ETag (which changes when the content does).

    Comment files landed after `through` cannot hold records of those partitions (records
    only arrive late, never early), so files landed later do not make a model unreproducible.
    Gold-label files all count: `dev` rows steer the label model and `test` rows the metrics.
    """
    files = {}
    for info in store.list(COMMENTS_PREFIX):
        try:
            landed = parse_landing_key(info.key).landed_date
        except InvalidLandingKey:
            continue  # never ingested by any partition
        if landed <= through:
            files[info.key] = info.etag
    for info in store.list(LABELS_PREFIX):
        files[info.key] = info.etag
    return dict(sorted(files.items()))


def last_owned_day(partitions: Sequence[str], late_arrival_days: int) -> dt.date:
    """The last landing day whose files can hold records of `partitions` (ISO days)."""
    return max(dt.date.fromisoformat(day) for day in partitions) + dt.timedelta(
        days=late_arrival_days
    )


def policy_inputs(ingest_policy_file: str | Path, training_policy_file: str | Path) -> dict:
    """The two policies as the card records them: the ingest policy by its content hash (the
    version every raw row carries) and the training policy by value."""
    from ingest.day import reduction_rules
    from ingest.policy import Policy
    from training.policy import TrainingPolicy

    ingest = Policy.load(ingest_policy_file)
    return {
        "ingest_policy_version": ingest.version,
        "reduction_rules": reduction_rules(ingest),  # which data-reduction rules were on
        "training_policy": TrainingPolicy.load(training_policy_file).model_dump(),
    }


def build_inputs(
    store: ObjectStore,
    partitions: Sequence[str],
    ingest_policy_file: str | Path,
    training_policy_file: str | Path,
) -> dict[str, Any]:
    """What `train_classifier` adds to the card's lineage beyond what the orchestrator knows."""
    from ingest.policy import Policy

    late = Policy.load(ingest_policy_file).late_arrival_days
    through = last_owned_day(partitions, late) if partitions else dt.date.min
    return {
        "landing_files": landing_manifest(store, through),
        **policy_inputs(ingest_policy_file, training_policy_file),
    }
