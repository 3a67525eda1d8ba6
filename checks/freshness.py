"""Freshness: a check that a daily asset's newest partition is the newest day it can have.

The asset-level `FreshnessPolicy.time_window` (built in `orchestration.py`) judges the time
since the asset's last materialization; a backfill of old days keeps that green while the
newest day is missing, so this check looks at partitions. Not Dagster's
`build_time_partition_freshness_checks`: it wants yesterday's partition by the wall clock,
so on historical data (the demo's 2024 days, the YouTube collection) it failed for ever
while every landed day was processed. Here the day expected is the earlier of the clock's
(yesterday, once the deadline hour has passed) and the newest day that landed in the landing
zone (`observability.freshness`); the evaluation says which one it was judged against.
"""

import datetime as dt
import warnings
from collections.abc import Iterator, Sequence
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

from checks.config import observability_config
from ingest.landing import InvalidLandingKey, parse_landing_key
from observability.config import ObservabilityConfig
from observability.freshness import (
    FreshnessJudgement,
    clock_expected_day,
    judge_freshness,
    newest_day,
)
from observability.verdict import Verdict
from orchestration import daily_partitions
from resources.stores import LandingZoneResource
from settings import Settings
from storage.object_store import ObjectStore

_DATED = "comments/dt="


def newest_landed_day(store: ObjectStore, first: dt.date, last: dt.date) -> dt.date | None:
    """The newest `comments/dt=DAY/` folder holding a file, by about 22 one-page listings at
    most (a binary search over days), so S3 costs the same for a week or ten years."""

    def has_day_after(day: dt.date) -> bool:
        # '0' sorts right after '/': every key of DAY's folder lies before this one.
        for info in store.list(_DATED, start_after=f"{_DATED}{day.isoformat()}0"):
            try:
                if parse_landing_key(info.key).landed_date > day:
                    return True
            except InvalidLandingKey:
                continue  # a misnamed folder: refused by ingest, not a landed day
        return False

    return newest_day(has_day_after, first - dt.timedelta(days=1), last)


def _judge(
    asset: str, context: AssetCheckExecutionContext, zone: LandingZoneResource
) -> tuple[FreshnessJudgement, dict[str, Any]]:
    """This asset's newest partition against the newest day due and landed (see module)."""
    lags = observability_config().freshness_for(asset)
    clock = clock_expected_day(dt.datetime.now(dt.UTC), lags.partition_deadline_utc_hour)
    landed = newest_landed_day(zone.store(), Settings.from_env().start_date, clock)
    keys = context.instance.get_materialized_partitions(AssetKey(asset))
    newest = max((dt.date.fromisoformat(k) for k in keys), default=None)
    judged = judge_freshness(asset, newest, landed, clock)
    metadata = {
        **judged.metadata(),
        "newest_partition": newest.isoformat() if newest else "none",
        "newest_landed_day": landed.isoformat() if landed else "none",
        "clock_expected_partition": clock.isoformat(),
    }
    return judged, metadata


def freshness_check(asset: str, config: ObservabilityConfig) -> AssetChecksDefinition:
    """`<asset>` must have a partition for the newest day that is both due and landed.

    A property of the asset, not of a day; but a range run plans the check for each of its
    days, so each gets the verdict (a day without one shows "Skipped" beside the "Passed").
    """
    hour = config.freshness_for(asset).partition_deadline_utc_hour
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)  # partitioned checks are a preview
        spec = AssetCheckSpec(
            "newest_partition_freshness",
            asset=asset,
            partitions_def=daily_partitions,
            description=(
                f"The newest partition of {asset} must be the newest day that is both due (by "
                f"{hour:g}:00 UTC of the next day) and landed in the landing zone: on "
                "historical data the newest landed day, not the clock. WARN."
            ),
        )

        @multi_asset_check(specs=[spec], name=f"{asset}__freshness")
        def _fresh(
            context: AssetCheckExecutionContext, landing_zone: LandingZoneResource
        ) -> Iterator[AssetCheckEvaluation | Output]:
            judged, metadata = _judge(asset, context, landing_zone)
            ranged = context.has_partition_key or context.has_partition_key_range
            for partition in context.partition_keys if ranged else [None]:
                yield AssetCheckEvaluation(
                    asset_key=spec.asset_key,
                    check_name=spec.name,
                    passed=judged.verdict is Verdict.PASS,
                    severity=AssetCheckSeverity.WARN,
                    description=judged.reason,
                    metadata=metadata,
                    partition=partition,
                )
            yield Output(None, output_name=spec.get_python_identifier())

    return _fresh


def partition_freshness_checks(
    assets: Sequence[str], config: ObservabilityConfig | None = None
) -> list[AssetChecksDefinition]:
    """One newest-partition check per daily asset (WARN: late data is a reason to look, and
    blocking would only add a second missing day)."""
    config = config or observability_config()
    return [freshness_check(asset, config) for asset in assets]
