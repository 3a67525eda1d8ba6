"""Shared wiring definitions: what assets, checks and sensors agree on.

The daily partitions, the warehouse's concurrency pool, the sensors' tick interval, the
assets' freshness policies and how library errors a user can act on become step failures
live here, so that no stage module imports another: `assets/`, `checks/` and `sensors/` all
import this module (and `resources/`), never each other.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import AssetKey, DailyPartitionsDefinition, Failure, FreshnessPolicy

from observability.config import load_config
from settings import Settings

_SETTINGS = Settings.from_env()

# From SLUICE_START_DATE to SLUICE_END_DATE (inclusive; unset: yesterday, growing daily).
_END = _SETTINGS.end_date + dt.timedelta(days=1) if _SETTINGS.end_date else None  # exclusive
daily_partitions = DailyPartitionsDefinition(
    start_date=_SETTINGS.start_date.isoformat(),
    end_date=_END.isoformat() if _END else None,
    timezone="UTC",
)

# Runs that write the DuckDB file share this pool; its limit is 1 (dagster.yaml), because
# DuckDB allows one writer per database file.
WAREHOUSE_POOL = "duckdb_warehouse"

# How often the sensors tick (`SLUICE_SENSOR_INTERVAL_SECONDS`); tests and demos shorten it.
SENSOR_INTERVAL_SECONDS = _SETTINGS.sensor_interval_seconds

# Assets other stages name without importing their module.
RAW_COMMENTS = AssetKey("raw_comments")
COMMENT_FEATURES = AssetKey("comment_features")


def freshness_policy(asset: str) -> FreshnessPolicy:
    """The asset-level policy for `asset` (an entry under `freshness:` in the config)."""
    lags = load_config(_SETTINGS.observability_file).freshness_for(asset)
    return FreshnessPolicy.time_window(fail_window=lags.fail_after, warn_window=lags.warn_after)


@contextmanager
def user_errors(*errors: type[Exception]) -> Iterator[None]:
    """Report these library errors as a step failure with their message alone: they say
    what the user must do, and a stack trace (twice, with Dagster's wrapper) only hides it."""
    try:
        yield
    except errors as err:
        raise Failure(description=str(err)) from None
