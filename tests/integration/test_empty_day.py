"""An empty day is a normal day, even as the first run on a fresh instance (issue 11, item 1).

Before, the first `lf_votes`/`comment_scores` run of an empty day created their tables from
an empty frame whose columns had DuckDB's NULL type, and every later day failed with a cast
error until the tables were dropped by hand. Here, as an operator sees it under `make ui`: a
fresh instance (the repo's dagster.yaml and workspace.yaml) with `dagster-daemon` running and
the landing sensor ticking every few seconds. A file whose records are all quarantined lands
first, so the first run to finish is a day with no comments; then files for more days land
at once and the sensor requests their days. Every run the daemon launched must succeed, and
`lf_votes` and `comment_scores` must equal what one range run over the same files gives.
Real DuckDB, dbt, Dagster instance, daemon and run workers.

The reference range run (in this process, as `make demo` runs it) trains the champion; the
daemon's runs score with it (same model store) into a warehouse of their own. The retraining
sensor is stopped on the daemon's instance beforehand, as an operator would: a retraining
there would replace the champion the comparison relies on.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from settings import PROJECT_ROOT
from tests.harness import materialize_waves, stop_process_group

pytestmark = pytest.mark.slow

START, DAYS, PER_DAY = dt.date(2024, 3, 1), 2, 100
LANDED = [START + dt.timedelta(days=i) for i in range(DAYS)]
# Before every day a synthetic record can belong to (late_arrival_days is 2): no record of
# the later files ever lands on this day, so it stays empty for lf_votes and comment_scores.
EMPTY = START - dt.timedelta(days=3)
SENSOR_INTERVAL_SECONDS = 2
LANDING_SENSOR = "landing_zone_sensor"
TABLES = {
    "label.lf_votes": "SELECT * FROM label.lf_votes ORDER BY ALL",
    "score.comment_scores": "SELECT * EXCLUDE (scored_at) FROM score.comment_scores ORDER BY ALL",
}
IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}


def empty_day_file(day: dt.date) -> bytes:
    """A JSON Lines file whose every record is quarantined: a line cut short, no text, an
    empty text. raw_comments runs for its day; nothing reaches the features."""
    published = f"{day}T09:00:00"
    lines = [
        '{"comment_id": "empty-1", "text": "cut sh',
        json.dumps({"comment_id": "empty-2", "author": "nobody", "published_at": published}),
        json.dumps({"comment_id": "empty-3", "text": "", "published_at": published}),
    ]
    return ("\n".join(lines) + "\n").encode()


def land(source: Path, landing: Path, staging: Path, days: list[dt.date]) -> None:
    """Move the `dt=` folders of `days` into the landing zone, each folder at once (copied
    with their write times, which order copies of a record as in `source`)."""
    (landing / "comments").mkdir(parents=True, exist_ok=True)
    for day in days:
        folder = f"dt={day}"
        shutil.copytree(source / "comments" / folder, staging / folder)
    for day in days:
        (staging / f"dt={day}").rename(landing / "comments" / f"dt={day}")


def reference_tables(source: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """One range run per `make demo` wave over every landed day, on an ephemeral instance;
    trains the champion into `root / "models"`. Returns the compared tables."""
    from definitions import defs
    from resources import build_resources
    from settings import Settings

    for name in ("SLUICE_WAREHOUSE", "SLUICE_EXPORTS", "SLUICE_MODEL_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLUICE_DATA_DIR", str(root))
    monkeypatch.setenv("SLUICE_LANDING", str(source))
    settings = Settings.from_env()
    resources = {**defs.resources, **build_resources(settings)}  # the code location's dbt
    materialize_waves(resources, dg.DagsterInstance.ephemeral(), EMPTY, LANDED[-1])
    return tables(Path(settings.warehouse))


def tables(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
        found["days"] = [
            day
            for (day,) in con.execute(
                "SELECT partition_date FROM raw.comments UNION "
                "SELECT partition_date FROM raw.comments_quarantine ORDER BY 1"
            ).fetchall()
        ]
    return found


def digest(folder: Path) -> str:
    """A hash of every file below `folder`: the model store must not change under the test."""
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


# -- the daemon's instance --------------------------------------------------------------------


def daemon_env(home: Path, data: Path, landing: Path, models: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
        SLUICE_DATA_DIR=str(data),
        SLUICE_LANDING=str(landing),
        SLUICE_MODEL_STORE=models,
        SLUICE_SENSOR_INTERVAL_SECONDS=str(SENSOR_INTERVAL_SECONDS),
    )
    return env


def dagster(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    """`python -m <args>` in the project folder (dagster.yaml's run launcher is imported from
    it), in its own session, its output in `log`."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], cwd=PROJECT_ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f}s: {what()}")
        time.sleep(0.5)


class Watch:
    """What the daemon's instance holds: its runs, their statuses, the landing sensor's ticks."""

    def __init__(self, home: Path, daemon_log: Path) -> None:
        self.instance = dg.DagsterInstance.from_config(str(home))
        self.daemon_log = daemon_log

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.instance.dispose()

    def runs(self) -> list[dg.DagsterRun]:
        return sorted(self.instance.get_runs(), key=lambda run: run.run_id)

    def by_day(self) -> dict[str, list[dg.DagsterRun]]:
        found: dict[str, list[dg.DagsterRun]] = {}
        for run in self.runs():
            found.setdefault(run.tags.get("dagster/partition", "-"), []).append(run)
        return found

    def failure(self, run: dg.DagsterRun) -> str:
        kinds = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
        events = self.instance.all_logs(run.run_id)
        messages = [e.message or "" for e in events if e.dagster_event_type in kinds]
        failed = [e for e in events if e.dagster_event_type == dg.DagsterEventType.STEP_FAILURE]
        errors = [str(e.dagster_event.step_failure_data.error)[:1500] for e in failed]
        return "\n".join(messages + errors)

    def report(self) -> str:
        """Every run (day, status, id, end) and, for the failed ones, why; the daemon's log."""
        lines = []
        for day, runs in sorted(self.by_day().items()):
            for run in runs:
                record = self.instance.get_run_record_by_id(run.run_id)
                end = record.end_time if record else None
                ended = time.strftime("%H:%M:%S", time.localtime(end)) if end else "-"
                lines.append(f"  {day}: {run.status.value} (run {run.run_id[:8]}, ended {ended})")
                if run.status == dg.DagsterRunStatus.FAILURE:
                    lines.append("    " + self.failure(run).replace("\n", "\n    "))
        log = self.daemon_log.read_text(errors="replace")[-3000:]
        return "runs:\n" + ("\n".join(lines) or "  none") + f"\ndaemon log (tail):\n{log}"

    def check_no_failure(self) -> None:
        done = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
        if any(run.status in done for run in self.runs()):
            pytest.fail(f"a run of the daemon did not succeed\n{self.report()}")

    def succeeded(self, days: set[str]) -> bool:
        """Every day in `days` has a successful run and no run is in flight."""
        self.check_no_failure()
        runs = self.by_day()
        if any(run.status in IN_FLIGHT for group in runs.values() for run in group):
            return False
        return all(
            any(run.status == dg.DagsterRunStatus.SUCCESS for run in runs.get(day, []))
            for day in days
        )

    def landing_sensor_idle_since(self, timestamp: float) -> bool:
        """A landing sensor tick that started after `timestamp` found nothing to run."""
        [state] = [
            s for s in self.instance.all_instigator_state() if s.instigator_name == LANDING_SENSOR
        ]
        ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id,
                                        after=timestamp)  # fmt: skip
        return any(tick.status.value == "SKIPPED" for tick in ticks)

    def last_end(self) -> float:
        records = self.instance.get_run_records()
        return max(r.end_time for r in records if r.end_time)


# -- the scenario -----------------------------------------------------------------------------


def start_daemon(env: dict[str, str], logs: Path) -> subprocess.Popen:
    """As an operator would: stop the retraining sensor (it would retrain into the shared model
    store and replace the champion), then start `dagster-daemon` with the repo's workspace."""
    stopping = dagster(env, "dagster", "sensor", "stop", "retraining_sensor",
                       "-w", "workspace.yaml", log=logs / "sensor_stop.log")  # fmt: skip
    try:
        failed = stopping.wait(timeout=120) != 0
    except subprocess.TimeoutExpired:
        stop_process_group(stopping)
        raise
    if failed:
        raise RuntimeError(f"stopping retraining_sensor:\n{(logs / 'sensor_stop.log').read_text()}")
    return dagster(env, "dagster._daemon", "run", "-w", "workspace.yaml", log=logs / "daemon.log")


def test_sensor_runs_starting_with_an_empty_day_equal_a_range_run(tmp_path, monkeypatch):
    from demo.synthetic import generate
    from storage.object_store import LocalObjectStore

    source = tmp_path / "landed"
    # No noise: late records would add runs for the days before the files (slower, no more
    # telling); the empty day's file brings the defects.
    generate(LocalObjectStore(source), start=START, days=DAYS, per_day=PER_DAY, seed=5,
             noise=False, label_share=0.4)  # fmt: skip
    LocalObjectStore(source).put_bytes(f"comments/dt={EMPTY}/quarantined.jsonl",
                                       empty_day_file(EMPTY))  # fmt: skip

    home, logs = tmp_path / "dagster_home", tmp_path / "logs"
    home.mkdir()
    logs.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    models = tmp_path / "range" / "models"
    landing, staging = tmp_path / "daemon" / "landing", tmp_path / "staging"
    staging.mkdir()
    env = daemon_env(home, tmp_path / "daemon", landing, str(models))

    with ThreadPoolExecutor(max_workers=1) as background, ExitStack() as stack:
        starting = background.submit(start_daemon, env, logs)  # while the reference runs
        try:
            started = time.monotonic()
            want = reference_tables(source, tmp_path / "range", monkeypatch)
            print(f"reference range run: {time.monotonic() - started:.0f}s")
            assert want["label.lf_votes"] and want["score.comment_scores"]
            days = {str(day) for day in want["days"]}  # every day owning a record, kept or not
            assert days == {str(day) for day in [EMPTY, *LANDED]}
            champion = digest(models)
            starting.result(timeout=120)

            watch = stack.enter_context(Watch(home, logs / "daemon.log"))
            started = time.monotonic()
            # The empty day lands alone: its run is the first to finish, on a fresh warehouse.
            land(source, landing, staging, [EMPTY])
            wait_until(lambda: watch.succeeded({str(EMPTY)}), 240, watch.report)
            first = watch.runs()
            assert [run.tags.get("dagster/partition") for run in first] == [str(EMPTY)]
            print(f"the empty day's run: {time.monotonic() - started:.0f}s")

            # Then the other days at once: the sensor requests each day its files' records
            # belong to, and nothing more once they ran.
            land(source, landing, staging, LANDED)
            wait_until(lambda: watch.succeeded(days), 480, watch.report)
            wait_until(
                lambda: watch.landing_sensor_idle_since(watch.last_end()),
                60,
                lambda: f"the landing sensor still has days to run\n{watch.report()}",
            )
            print(f"all runs: {time.monotonic() - started:.0f}s")

            runs, report = watch.runs(), watch.report()
            assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), report
            assert {run.tags.get("dagster/partition") for run in runs} == days, report
            assert all(run.tags.get("dagster/sensor_name") == LANDING_SENSOR for run in runs), (
                report
            )
            first_done = min(watch.instance.get_run_records(), key=lambda r: r.end_time)
            assert first_done.dagster_run.run_id == first[0].run_id, report
        finally:
            with suppress(Exception):
                stop_process_group(starting.result(timeout=120))

    got = tables(tmp_path / "daemon" / "warehouse.duckdb")
    for name in TABLES:  # the empty day has no rows (and `got == want`, below)
        assert not [row for row in want[name] if EMPTY in row], name
    assert {name: len(rows) for name, rows in got.items()} == {
        name: len(rows) for name, rows in want.items()
    }
    assert got == want
    assert digest(models) == champion, "the champion changed under the test"
