"""A throwaway PostgreSQL server for tests and benchmarks, and the Dagster instances on it.

Debian's PostgreSQL binaries are installed but no server runs, and `initdb` refuses to run
as root: the cluster lives in a fresh folder under /tmp owned by the `postgres` user (the
pytest tmp_path is private to root), runs as that user, listens on 127.0.0.1 on a free
port, and asks for a password over TCP (scram-sha-256), as a managed server would. Dagster
reads the credentials from the environment (`DAGSTER_PG_*`, see
config/dagster-postgres.yaml), never from a file in the repo.

Also here, because the Postgres test and `bench/bench_scale_out.py` both need them: writing
an instance folder from a YAML template with the run limit changed, and letting
`dagster-daemon` run the landing sensor's runs for a set of landed days.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings import PROJECT_ROOT

PG_BIN = Path(os.environ.get("SLUICE_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGRES_USER = "postgres"  # the OS account that owns the cluster
POSTGRES_INSTANCE_YAML = PROJECT_ROOT / "config" / "dagster-postgres.yaml"
DEFAULT_INSTANCE_YAML = PROJECT_ROOT / "dagster.yaml"
LANDING_SENSOR = "landing_zone_sensor"


@dataclass(frozen=True)
class Postgres:
    """A running server and the database Dagster may use, as the instance YAML reads them."""

    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        """The variables config/dagster-postgres.yaml reads (`env:` fields)."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db,
        }


def missing_binaries() -> str | None:
    """Why no cluster can start here (None when it can)."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL binaries not found: no {PG_BIN / tool} (set SLUICE_PG_BIN)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(args: list[str]) -> list[str]:
    """Run as `postgres` when we are root (initdb refuses root); as ourselves otherwise."""
    return ["runuser", "-u", POSTGRES_USER, "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], log: Path) -> None:
    with log.open("a") as out:
        done = subprocess.run(_as_owner(args), stdout=out, stderr=subprocess.STDOUT, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{log.read_text()}")


@contextmanager
def postgres_server(db: str = "sluice") -> Iterator[Postgres]:
    """Start a fresh cluster, create role and database `db` with a random password, yield
    the connection facts, and stop and delete everything on the way out."""
    import psycopg2
    from psycopg2 import sql

    root = Path(tempfile.mkdtemp(prefix="sluice-pg-"))
    data, log = root / "data", root / "server.log"  # server.log: written by `postgres`
    superpass, password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    (root / "pwfile").write_text(superpass + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, POSTGRES_USER)
        shutil.chown(root / "pwfile", POSTGRES_USER)
    root.chmod(0o700)
    port = _free_port()
    started = False
    try:
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                POSTGRES_USER,
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={root / 'pwfile'}",
            ],
            root / "initdb.log",
        )
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
        )
        _run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            root / "pg_ctl.log",
        )
        started = True
        con = psycopg2.connect(
            host="127.0.0.1", port=port, user=POSTGRES_USER, password=superpass, dbname="postgres"
        )
        try:
            con.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with con.cursor() as cur:
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(db)),
                    (password,),
                )
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(db), sql.Identifier(db)
                    )
                )
        finally:
            con.close()
        yield Postgres("127.0.0.1", port, db, password, db)
    finally:
        if started:
            with suppress(Exception):
                _run(
                    [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                    root / "pg_ctl.log",
                )
        shutil.rmtree(root, ignore_errors=True)


def write_instance(home: Path, template: Path, max_concurrent_runs: int) -> Path:
    """`home/dagster.yaml` from `template` with the run queue's limit set: the one value a
    test or benchmark changes (the shipped files keep theirs)."""
    config: dict[str, Any] = yaml.safe_load(template.read_text())
    config.setdefault("concurrency", {}).setdefault("runs", {})["max_concurrent_runs"] = (
        max_concurrent_runs
    )
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# -- the daemon running the landing sensor's runs -----------------------------------------


def daemon_env(
    home: Path, data: Path, landing: Path, models: Path, extra: Mapping[str, str] = ()
) -> dict[str, str]:
    """This process's environment without its SLUICE_/DAGSTER_ settings, plus the instance,
    the data folders and `extra` (the Postgres credentials)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
        SLUICE_DATA_DIR=str(data),
        SLUICE_LANDING=str(landing),
        SLUICE_MODEL_STORE=str(models),
        SLUICE_SENSOR_INTERVAL_SECONDS="2",
        **dict(extra),
    )
    return env


def _spawn(env: Mapping[str, str], args: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_daemon(env: Mapping[str, str], logs: Path) -> subprocess.Popen:
    """Stop the retraining sensor (it would retrain into the shared model store), then start
    `dagster-daemon run` on the repo's workspace, as `make ui` does."""
    logs.mkdir(parents=True, exist_ok=True)
    stopping = _spawn(
        env,
        ["dagster", "sensor", "stop", "retraining_sensor", "-w", "workspace.yaml"],
        logs / "sensor_stop.log",
    )
    if stopping.wait(timeout=180) != 0:
        raise RuntimeError(f"stopping retraining_sensor:\n{(logs / 'sensor_stop.log').read_text()}")
    return _spawn(env, ["dagster._daemon", "run", "-w", "workspace.yaml"], logs / "daemon.log")


def land(source: Path, landing: Path, days: list[dt.date]) -> None:
    """Move the `dt=` folders of `days` from `source` into the landing zone, each at once
    (copied first beside it, then renamed: the sensor never sees half a folder)."""
    staging = landing.parent / (landing.name + ".staging")
    (landing / "comments").mkdir(parents=True, exist_ok=True)
    staging.mkdir(parents=True, exist_ok=True)
    for day in days:
        shutil.copytree(source / "comments" / f"dt={day}", staging / f"dt={day}")
    for day in days:
        (staging / f"dt={day}").rename(landing / "comments" / f"dt={day}")


@dataclass(frozen=True)
class RunSpan:
    run_id: str
    partition: str
    status: str
    start: float
    end: float


def max_overlap(spans: list[RunSpan]) -> int:
    """The most runs that were in progress (between their start and end) at one moment."""
    edges = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans])
    most = current = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        current += step
        most = max(most, current)
    return most


def overlap_seconds(spans: list[RunSpan], at_least: int = 2) -> float:
    """How long at least `at_least` runs were in progress at once."""
    edges = sorted([(s.start, 1) for s in spans] + [(s.end, -1) for s in spans])
    total, current, since = 0.0, 0, 0.0
    for when, step in edges:
        if current >= at_least:
            total += when - since
        current += step
        since = when
    return total


def run_spans(instance: Any) -> list[RunSpan]:
    """Every finished run of the instance with its start and end (the instance's records)."""
    spans = [
        RunSpan(
            r.dagster_run.run_id,
            r.dagster_run.tags.get("dagster/partition", "-"),
            r.dagster_run.status.value,
            r.start_time,
            r.end_time,
        )
        for r in instance.get_run_records()
        if r.start_time and r.end_time
    ]
    return sorted(spans, key=lambda s: s.start)


def wait_for_runs(
    instance: Any,
    days: set[str],
    timeout: float,
    report: Callable[[], str],
) -> None:
    """Until every day in `days` has a successful run, no run is in flight, and a landing
    sensor tick after the last run's end found nothing more to do. Fails on a failed run."""
    import dagster as dg

    in_flight = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
    failed = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs()
        if any(run.status in failed for run in runs):
            raise AssertionError(f"a run of the daemon did not succeed\n{report()}")
        done = {r.tags.get("dagster/partition") for r in runs if r.status.value == "SUCCESS"}
        if days <= done and not any(run.status in in_flight for run in runs):
            ends = [r.end_time for r in instance.get_run_records() if r.end_time]
            if _sensor_idle_since(instance, max(ends)):
                return
        time.sleep(1.0)
    raise AssertionError(
        f"not within {timeout:.0f}s: every day run and the sensor idle\n{report()}"
    )


def _sensor_idle_since(instance: Any, timestamp: float) -> bool:
    states = [s for s in instance.all_instigator_state() if s.instigator_name == LANDING_SENSOR]
    return any(
        tick.status.value == "SKIPPED"
        for state in states
        for tick in instance.get_ticks(
            state.instigator_origin_id, state.selector_id, after=timestamp
        )
    )


def runs_report(instance: Any, daemon_log: Path) -> str:
    """Every run (day, status, start, end) and the step failures of failed runs; the tail of
    the daemon's log."""
    import dagster as dg

    lines = []
    for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp):
        run = record.dagster_run
        start = f"{record.start_time:.1f}" if record.start_time else "-"
        end = f"{record.end_time:.1f}" if record.end_time else "-"
        lines.append(
            f"  {run.tags.get('dagster/partition', '-')}: {run.status.value} "
            f"run {run.run_id[:8]} start {start} end {end}"
        )
        if run.status == dg.DagsterRunStatus.FAILURE:
            for event in instance.all_logs(run.run_id):
                if event.dagster_event_type == dg.DagsterEventType.STEP_FAILURE:
                    error = event.dagster_event.step_failure_data.error
                    lines.append("    " + str(error)[:1500].replace("\n", "\n    "))
    tail = daemon_log.read_text(errors="replace")[-3000:] if daemon_log.exists() else ""
    return "runs:\n" + ("\n".join(lines) or "  none") + f"\ndaemon log (tail):\n{tail}"


def wait_until_ticking(instance: Any, timeout: float, report: Callable[[], str]) -> None:
    """Until the daemon evaluated the landing sensor once: from then on, files that land are
    seen within one tick (a benchmark must not time the daemon's start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [s for s in instance.all_instigator_state() if s.instigator_name == LANDING_SENSOR]
        if any(instance.get_ticks(s.instigator_origin_id, s.selector_id) for s in states):
            return
        time.sleep(1.0)
    raise AssertionError(f"the landing sensor did not tick within {timeout:.0f}s\n{report()}")


def stop_daemon(daemon: subprocess.Popen) -> None:
    """Stop the daemon and everything in its process group: its code servers can outlive a
    SIGTERM that the daemon itself obeyed, and then kept running after the test."""
    import signal

    from tests.harness import stop_process_group

    stop_process_group(daemon)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(daemon.pid, signal.SIGKILL)
