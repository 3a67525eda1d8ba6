"""`landing_zone_sensor`: new or changed landing files become runs of the days they affect.

Thin wiring around `ingest/landing_scan.py`, which holds the listing scope, the
cursor and the rules (see its docstring). This module lists through the
landing-zone resource (local folder or S3 alike), takes `late_arrival_days` from the
ingest policy the `policies` resource validated at load, reads from the instance what
`raw_comments` already ingested, and turns the pending days into run requests.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any

from dagster import (
    AssetRecordsFilter,
    AssetSelection,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from ingest.landing import InvalidLandingKey, parse_landing_key
from ingest.landing_scan import (
    DayRun,
    Ingested,
    Scan,
    ScanCursor,
    file_owner_days,
    pending_runs,
    scan_landing,
)
from ingest.policy import Policy
from orchestration import RAW_COMMENTS, SENSOR_INTERVAL_SECONDS, daily_partitions
from resources.instance import materializations
from resources.policies import PoliciesResource
from resources.stores import LandingZoneResource

# Every daily asset fed by raw_comments, so a day's run carries it all the way down and
# daily assets added later join without touching this sensor. Unpartitioned assets
# (models) are refreshed by their own automation, not per day.
DAILY_FROM_RAW = AssetSelection.assets(RAW_COMMENTS).downstream() & AssetSelection.from_string(
    'partitions:"time"'
)

_SHOWN_PROBLEMS = 10


def _ingested(metadata: Mapping[str, Any], run_id: str) -> Ingested:
    """What a day's materialization says it read (`source_files`; nothing when absent)."""
    entry = metadata.get("source_files")
    listed = entry.value if entry is not None else None
    files = [f for f in listed if isinstance(f, dict) and {"key", "etag"} <= f.keys()] if (
        isinstance(listed, list)
    ) else []  # fmt: skip
    owned = {f["key"] for f in files if f.get("records_owned")}
    folders = set()
    for key in owned:
        with suppress(InvalidLandingKey):
            folders.add(parse_landing_key(key).landed_date)
    return Ingested(frozenset((f["key"], f["etag"]) for f in files), run_id, frozenset(folders))


def ingested_by_day(instance: DagsterInstance, days: Iterable[dt.date]) -> dict[dt.date, Ingested]:
    """For each day, the files its latest `raw_comments` run read (each partition's
    materialization records its own day's `source_files`, in range runs too)."""
    partitions = sorted(day.isoformat() for day in days)
    if not partitions:
        return {}
    records_filter = AssetRecordsFilter(asset_key=RAW_COMMENTS, asset_partitions=partitions)
    latest: dict[str, Ingested] = {}
    for record in materializations(instance, records_filter):  # newest first
        if record.partition_key not in latest:
            metadata = record.asset_materialization.metadata
            latest[record.partition_key] = _ingested(metadata, record.run_id)
    return {dt.date.fromisoformat(partition): done for partition, done in latest.items()}


def _run_request(run: DayRun) -> RunRequest:
    keys = [key for key, _ in run.files]
    shown = ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
    return RunRequest(
        partition_key=run.day.isoformat(),
        run_key=run.run_key,
        tags={"sluice/landing_files": shown},
    )


@sensor(
    name="landing_zone_sensor",
    asset_selection=DAILY_FROM_RAW,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Watches the landing zone (local folder or S3) for new or replaced files under "
        "comments/dt=YYYY-MM-DD/ and requests one run per day they can change: the days "
        "their records belong to (read from the file), and already ingested days whose "
        "duplicate look-back reads them, for raw_comments and every daily asset downstream. "
        "Run keys name the files and ETags, so a file never runs twice; files "
        "an earlier run already ingested are skipped. Keys outside a dt= date folder are "
        "reported and skipped."
    ),
)
def landing_zone_sensor(
    context: SensorEvaluationContext,
    landing_zone: LandingZoneResource,
    policies: PoliciesResource,
) -> SensorResult:
    policy = policies.ingest()
    scan = _scan(context, landing_zone, policy)
    done = ingested_by_day(context.instance, set(scan.candidates) | set(scan.rechecks))
    owners = file_owner_days(landing_zone.store(), policy)
    runs = pending_runs(scan.candidates, done, scan.rechecks, owners)
    problems = _first(scan.problems, _SHOWN_PROBLEMS)
    for problem in problems:
        context.log.warning(problem)
    # The tick history in the UI keeps each request and skip reason; the terminal of
    # `make ui` gets one line per tick that requests something, none for a quiet tick.
    for run in runs:
        context.log.debug(f"{run.day}: {len(run.files)} file(s) not ingested yet: {run.run_key}")
    if runs:
        days = sorted(str(r.day) for r in runs)
        span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        context.log.info(f"requesting {len(runs)} day(s) ({span}): {scan.summary()}")
        return SensorResult(
            run_requests=[_run_request(r) for r in runs], cursor=scan.cursor.encode()
        )
    skip_reason = "; ".join([f"nothing to run: {scan.summary()}", *problems])
    return SensorResult(skip_reason=skip_reason, cursor=scan.cursor.encode())


def _scan(
    context: SensorEvaluationContext, landing_zone: LandingZoneResource, policy: Policy
) -> Scan:
    """This tick's listing, from the sensor's cursor (an unreadable one starts afresh)."""
    try:
        cursor = ScanCursor.decode(context.cursor)
    except ValueError as err:
        context.log.warning(f"{err}; starting afresh (the instance decides what is new)")
        cursor = ScanCursor()
    last = daily_partitions.get_last_partition_key()
    return scan_landing(
        landing_zone.store(),
        cursor,
        today=dt.datetime.now(dt.UTC).date(),
        late_days=policy.late_arrival_days,
        first_day=daily_partitions.start.date(),
        last_day=dt.date.fromisoformat(last) if last else None,
        lookback_days=policy.dedupe.comment_id_lookback_days if policy.dedupe.comment_id else 0,
    )


def _first(messages: list[str], limit: int) -> list[str]:
    """At most `limit` messages, and how many more there were."""
    more = len(messages) - limit
    return messages[:limit] + ([f"... and {more} more"] if more > 0 else [])
