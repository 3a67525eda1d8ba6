"""dbt CLI arguments for a Dagster run, built by pure functions.

Kept apart from the assets so the translation from a partition window to dbt vars is
unit-tested without dbt or Dagster, and so the same arguments can be printed for a dbt
developer who wants to replay a run by hand (`dbt build --vars ...`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping


def partition_window_vars(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """The dbt vars for a partition time window: `min_date` inclusive, `max_date` exclusive.

    Dagster time windows are half-open `[start, end)` like the models' `partition_window()`
    macro, so day boundaries map to dates one to one. A window that does not start and end
    at midnight is rejected: widening it silently would rewrite days the run does not own.
    """
    if end <= start:
        raise ValueError(f"empty partition window: start {start} is not before end {end}")
    for bound in (start, end):
        if bound.time() != dt.time(0):
            raise ValueError(f"partition window bound {bound} is not at midnight")
    return {"min_date": start.date().isoformat(), "max_date": end.date().isoformat()}


def vars_args(dbt_vars: Mapping[str, str]) -> list[str]:
    """`--vars` with a JSON mapping (sorted, so identical windows give identical commands)."""
    if not dbt_vars:
        return []
    return ["--vars", json.dumps(dict(dbt_vars), sort_keys=True)]


def build_args(
    window: tuple[dt.datetime, dt.datetime] | None = None, *, unit_tests: bool = False
) -> list[str]:
    """`dbt build` arguments for a partition window, or for everything when `window` is None.

    dbt unit tests check the SQL logic on fixed inputs, not the data, so (as dbt advises)
    production runs leave them to development and CI unless `unit_tests` is set.
    """
    args = ["build"]
    if window is not None:
        args += vars_args(partition_window_vars(*window))
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args
