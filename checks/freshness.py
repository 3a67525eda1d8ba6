"""Freshness: a per-partition check for the newest day, next to the asset-level policy.

The asset-level `FreshnessPolicy.time_window` (Dagster 1.13, built in `orchestration.py`)
judges the time since the asset's last materialization; a backfill of old days keeps that
green while yesterday is missing. The time-partition check closes the gap: once the
deadline cron has ticked, yesterday's partition must exist. Dagster 1.13 marks that factory
as superseded by FreshnessPolicy, but no policy type looks at partitions, so it stays (its
warning silenced). Both read their lags from config/observability.yml.
"""

import warnings
from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetCheckSeverity,
    SupersessionWarning,
    build_time_partition_freshness_checks,
)

from checks.config import observability_config
from observability.config import ObservabilityConfig


def partition_freshness_checks(
    assets: Sequence[str], config: ObservabilityConfig | None = None
) -> list[AssetChecksDefinition]:
    """One newest-partition check per daily asset, each with its own deadline (WARN: late
    data is a reason to look, and blocking would only add a second missing day)."""
    config = config or observability_config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return [
            check
            for asset in assets
            for check in build_time_partition_freshness_checks(
                assets=[asset],
                deadline_cron=config.freshness_for(asset).partition_deadline_cron,
                timezone="UTC",
                severity=AssetCheckSeverity.WARN,
            )
        ]
