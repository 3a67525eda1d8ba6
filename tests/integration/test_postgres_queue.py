"""Days run in parallel from a run queue on a PostgreSQL-backed instance (issue 13, item 1).

A real PostgreSQL 15 server (a throwaway cluster, tests/postgres.py) holds the instance's
runs, events and schedules (config/dagster-postgres.yaml: credentials from DAGSTER_PG_*,
QueuedRunCoordinator with at most 3 runs in progress, one run per day at a time). Files for
6 days land at once, `dagster-daemon` runs the landing sensor, which requests one run per
day, and the queue launches them. From the start and end times the instance recorded, up to
3 runs were in progress at once and never more; every run succeeded; and the warehouse
equals the one a serial run on the default (SQLite) instance leaves over the same files.

The serial reference is `make demo`'s waves over the whole range, run in this process on an
instance made from the repo's dagster.yaml; it also trains the champion that the daemon's
runs score with (same model store, the retraining sensor stopped).

What overlaps: every step that writes the DuckDB file is in the `duckdb_warehouse` pool of
size 1, so steps of different runs never overlap; runs do (process start, code loading,
waiting for the pool, checks' reads). The test prints how long 2 and 3 runs overlapped.
"""

import datetime as dt
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.harness import materialize_waves
from tests.postgres import (
    DEFAULT_INSTANCE_YAML,
    LANDING_SENSOR,
    POSTGRES_INSTANCE_YAML,
    Postgres,
    daemon_env,
    land,
    max_overlap,
    overlap_seconds,
    run_spans,
    runs_report,
    start_daemon,
    stop_daemon,
    wait_for_runs,
    write_instance,
)

pytestmark = pytest.mark.slow

START, DAYS, PER_DAY = dt.date(2024, 3, 1), 6, 100
LANDED = [START + dt.timedelta(days=i) for i in range(DAYS)]
RUN_LIMIT = 3
# Compared row for row; scored_at is the time of scoring.
TABLES = {
    "raw.comments": "SELECT * FROM raw.comments ORDER BY ALL",
    "raw.comments_quarantine": "SELECT * FROM raw.comments_quarantine ORDER BY ALL",
    "main.comment_features": "SELECT * FROM main.comment_features ORDER BY ALL",
    "label.lf_votes": "SELECT * FROM label.lf_votes ORDER BY ALL",
    "score.comment_scores": "SELECT * EXCLUDE (scored_at) FROM score.comment_scores ORDER BY ALL",
}


def tables(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def owned_days(warehouse: Path) -> set[str]:
    """Every day owning a record, kept or quarantined: the days the sensor runs."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT partition_date FROM raw.comments UNION "
            "SELECT partition_date FROM raw.comments_quarantine"
        ).fetchall()
    return {str(day) for (day,) in rows}


def serial_reference(source: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every landed day through `make demo`'s waves, one run after another, on an instance
    made from the repo's dagster.yaml (SQLite under its DAGSTER_HOME). Returns the warehouse;
    the champion lands in `root / "models"`."""
    from definitions import defs
    from resources import build_resources
    from settings import Settings

    for name in ("SLUICE_WAREHOUSE", "SLUICE_EXPORTS", "SLUICE_MODEL_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLUICE_DATA_DIR", str(root))
    monkeypatch.setenv("SLUICE_LANDING", str(source))
    home = root / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(DEFAULT_INSTANCE_YAML, home / "dagster.yaml")
    settings = Settings.from_env()
    resources = {**defs.resources, **build_resources(settings)}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        # A late record belongs to the day before its landing day (demo/synthetic.py).
        materialize_waves(resources, instance, START - dt.timedelta(days=1), LANDED[-1])
    return Path(settings.warehouse)


def test_queue_on_postgres_runs_three_days_at_once_and_equals_a_serial_run(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.synthetic import generate
    from storage.object_store import LocalObjectStore

    source = tmp_path / "landed"
    generate(
        LocalObjectStore(source), start=START, days=DAYS, per_day=PER_DAY, seed=5, label_share=0.4
    )

    home, logs = tmp_path / "pg_home", tmp_path / "logs"
    write_instance(home, POSTGRES_INSTANCE_YAML, RUN_LIMIT)
    models, landing = tmp_path / "serial" / "models", tmp_path / "queue" / "landing"
    env = daemon_env(home, tmp_path / "queue", landing, models, postgres.env())
    for key, value in postgres.env().items():  # this process reads the same instance
        monkeypatch.setenv(key, value)

    with ThreadPoolExecutor(max_workers=1) as background:
        starting = background.submit(start_daemon, env, logs)  # while the reference runs
        try:
            began = time.monotonic()
            reference = serial_reference(source, tmp_path / "serial", monkeypatch)
            print(f"serial reference: {time.monotonic() - began:.0f}s")
            want, days = tables(reference), owned_days(reference)
            assert set(map(str, LANDED)) <= days
            assert all(want.values()), {name: len(rows) for name, rows in want.items()}
            starting.result(timeout=240)

            with dg.DagsterInstance.from_config(str(home)) as instance:
                assert type(instance.run_storage).__name__ == "PostgresRunStorage"
                assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
                began = time.monotonic()
                land(source, landing, LANDED)
                wait_for_runs(
                    instance, days, 3600, lambda: runs_report(instance, logs / "daemon.log")
                )
                wall = time.monotonic() - began
                spans, report = run_spans(instance), runs_report(instance, logs / "daemon.log")
                runs = instance.get_runs()
        finally:
            with suppress(Exception):
                stop_daemon(starting.result(timeout=240))

    print(report)
    print(
        f"{len(spans)} runs in {wall:.0f}s; most at once {max_overlap(spans)}; "
        f">=2 at once {overlap_seconds(spans, 2):.0f}s, "
        f"{RUN_LIMIT} at once {overlap_seconds(spans, RUN_LIMIT):.0f}s"
    )
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), report
    assert all(run.tags.get("dagster/sensor_name") == LANDING_SENSOR for run in runs), report
    assert {run.tags.get("dagster/partition") for run in runs} == days, report
    assert len(spans) == len(runs), report
    assert max_overlap(spans) == RUN_LIMIT, report  # the limit was reached, never passed

    got = tables(tmp_path / "queue" / "warehouse.duckdb")
    assert {n: len(rows) for n, rows in got.items()} == {n: len(rows) for n, rows in want.items()}
    for name in TABLES:
        assert got[name] == want[name], differences(name, got[name], want[name])


def differences(name: str, got: list, want: list) -> str:
    """What a table has that the serial run's has not, and the reverse (a few rows of each)."""
    extra = sorted(set(got) - set(want), key=str)
    missing = sorted(set(want) - set(got), key=str)
    return (
        f"{name}: {len(extra)} rows only in the parallel run, {len(missing)} only in the "
        f"serial run\n  parallel only: {extra[:3]}\n  serial only: {missing[:3]}"
    )
