"""Automation on a real Dagster instance: the retraining sensor's triggers and brakes, the
run-failure alert posted to a webhook over HTTP, and the documented CLI backfill of a month."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import duckdb
import pytest

from demo.synthetic import generate
from orchestration import daily_partitions
from sensors.alerts import WEBHOOK_ENV, run_failure_alert_sensor
from sensors.retraining import retraining_sensor
from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from definitions import defs

    return defs


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def retrain_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("SLUICE_RETRAIN_MIN_NEW_DAYS", "1")
    monkeypatch.setenv("SLUICE_RETRAIN_MIN_INTERVAL_SECONDS", "0")
    return monkeypatch


def tick(instance, defs, cursor=None):
    """One evaluation of the retraining sensor, as the daemon runs it."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return retraining_sensor(context)


def requests(result) -> list[dg.RunRequest]:
    return list(getattr(result, "run_requests", None) or [])


def skipped(result) -> str:
    reason = result if isinstance(result, dg.SkipReason) else result.skip_reason
    assert reason is not None and not requests(result), result
    return reason.skip_message


def materialized(instance, key: str, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))


ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def check_failed(instance, key: str, name: str, severity, partition: str) -> None:
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(key),
            check_name=name,
            passed=False,
            severity=severity,
            partition=partition,
        )
    )


def test_retraining_requests_once_per_new_state(instance, defs, retrain_env):
    assert skipped(tick(instance, defs)).startswith("no trigger")

    materialized(instance, "lf_votes", "2024-03-01")  # no model yet: the first trains itself
    first = tick(instance, defs)
    [request] = requests(first)
    assert (
        request.run_key
        and "1 new day(s) of LF votes (2024-03-01)" in request.tags["sluice/retrain_reason"]
    )
    assert request.run_config == {"execution": {"config": {"in_process": {}}}}
    assert "already requested" in skipped(tick(instance, defs, first.cursor))
    # After a restart without the cursor the run key is the same: the daemon skips it.
    assert requests(tick(instance, defs))[0].run_key == request.run_key

    materialized(instance, "classifier")
    assert skipped(tick(instance, defs, first.cursor)).startswith("no trigger: 0 new day")

    retrain_env.setenv("SLUICE_RETRAIN_MIN_NEW_DAYS", "2")
    materialized(instance, "lf_votes", "2024-03-02")
    assert "need 2" in skipped(tick(instance, defs, first.cursor))
    materialized(instance, "lf_votes", "2024-03-02")  # the same day again is not a new day
    assert "need 2" in skipped(tick(instance, defs, first.cursor))
    materialized(instance, "lf_votes", "2024-03-03")
    second = tick(instance, defs, first.cursor)
    [again] = requests(second)
    assert again.run_key != request.run_key
    assert (
        "2 new day(s) of LF votes (2024-03-02..2024-03-03)" in again.tags["sluice/retrain_reason"]
    )
    assert "already requested" in skipped(tick(instance, defs, second.cursor))


def test_retraining_rests_and_waits_for_runs_in_progress(instance, defs, retrain_env):
    materialized(instance, "classifier")
    materialized(instance, "lf_votes", "2024-03-01")
    retrain_env.setenv("SLUICE_RETRAIN_MIN_INTERVAL_SECONDS", "3600")
    assert "resting until" in skipped(tick(instance, defs))

    retrain_env.setenv("SLUICE_RETRAIN_MIN_INTERVAL_SECONDS", "0")
    running = instance.add_run(dg.DagsterRun(job_name="day", status=dg.DagsterRunStatus.STARTED))
    assert "waiting for 1 run(s) in progress" in skipped(tick(instance, defs))
    instance.report_run_failed(running)
    assert len(requests(tick(instance, defs))) == 1


def test_a_failed_drift_check_triggers_retraining_other_failures_do_not(
    instance, defs, retrain_env
):
    materialized(instance, "lf_votes", "2024-03-01")
    materialized(instance, "classifier")
    check_failed(instance, "comment_features", "row_volume", ERROR, "2024-03-04")
    check_failed(instance, "comment_features", "distribution_drift", WARN, "2024-03-03")
    assert skipped(tick(instance, defs)).startswith("no trigger")

    check_failed(instance, "comment_features", "distribution_drift", ERROR, "2024-03-04")
    [request] = requests(tick(instance, defs))
    reason = request.tags["sluice/retrain_reason"]
    assert reason == "failed drift check(s): comment_features:distribution_drift[2024-03-04]"


def test_a_drift_failure_early_in_a_long_range_run_still_triggers_retraining(
    instance, defs, retrain_env
):
    """A range run writes one check record per day: the failure on its first day lies behind
    more than a hundred newer records of the same check, and must still be seen."""
    materialized(instance, "lf_votes", "2024-01-01")
    materialized(instance, "classifier")
    first = dt.date(2024, 1, 1)
    check_failed(instance, "comment_features", "distribution_drift", ERROR, str(first))
    for n in range(1, 130):
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=dg.AssetKey("comment_features"),
                check_name="distribution_drift",
                passed=True,
                partition=str(first + dt.timedelta(days=n)),
            )
        )

    [request] = requests(tick(instance, defs))
    reason = request.tags["sluice/retrain_reason"]
    assert reason == "failed drift check(s): comment_features:distribution_drift[2024-01-01]"


def test_a_day_whose_drift_failure_passed_when_re_run_is_no_trigger(instance, defs, retrain_env):
    """Each day counts by its newest verdict: a failure the day's re-run cleared is gone."""
    materialized(instance, "lf_votes", "2024-03-01")
    materialized(instance, "classifier")
    check_failed(instance, "lf_votes", "lf_coverage_share_drift", ERROR, "2024-03-04")
    assert len(requests(tick(instance, defs))) == 1
    spec = dg.AssetCheckSpec(
        "lf_coverage_share_drift", asset="lf_votes", partitions_def=daily_partitions
    )

    @dg.multi_asset_check(specs=[spec])
    def rerun(context):
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, passed=True, partition="2024-03-04"
        )
        yield dg.Output(None, output_name=spec.get_python_identifier())

    lf_votes = dg.AssetSpec("lf_votes", partitions_def=daily_partitions)
    day = {f"dagster/asset_partition_range_{end}": "2024-03-04" for end in ("start", "end")}
    dg.materialize([lf_votes, rerun], instance=instance, tags=day,
                   selection=dg.AssetSelection.all_asset_checks())  # fmt: skip
    assert skipped(tick(instance, defs)).startswith("no trigger")


class _Hook(BaseHTTPRequestHandler):
    """Records each POST body; answers with the server's `status`."""

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.bodies, server.status = [], 204
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dg.asset
def fragile() -> None:
    raise RuntimeError(f"upstream rejected token {os.environ['SLUICE_TEST_API_TOKEN']}\nline two")


def failure_context(instance) -> dg.RunFailureSensorContext:
    result = dg.materialize([fragile], instance=instance, raise_on_error=False)
    assert not result.success
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()


def sensor_log(capfd: pytest.CaptureFixture[str]) -> str:
    """What was printed since the last call (Dagster's sensor logger writes to stderr)."""
    out, err = capfd.readouterr()
    return out + err


def test_failed_run_is_posted_to_the_webhook_without_secrets(instance, webhook, monkeypatch, capfd):
    url = f"http://127.0.0.1:{webhook.server_port}/hooks/T0/s3cr3t-path"
    monkeypatch.setenv(WEBHOOK_ENV, url)
    monkeypatch.setenv("SLUICE_TEST_API_TOKEN", "tok-9f8e7d6c5b")
    context = failure_context(instance)
    sensor_log(capfd)

    run_failure_alert_sensor(context)
    log = sensor_log(capfd)

    [body] = webhook.bodies
    run = context.dagster_run
    assert body["job"] == run.job_name and body["run_id"] == run.run_id
    assert body["failed_steps"] == ["fragile"]
    assert body["errors"]["fragile"] == "RuntimeError: upstream rejected token ***"
    assert (
        body["text"]
        == (  # materialize() runs name no asset selection: the job it is
            f"Sluice run {run.run_id[:8]} ({run.job_name}) failed in fragile: "
            "RuntimeError: upstream rejected token ***"
        )
    )
    sent = json.dumps(body)
    assert "tok-9f8e7d6c5b" not in sent and "s3cr3t" not in sent
    assert "alert posted" in log and "s3cr3t" not in log and "tok-9f8e7d6c5b" not in log


def test_a_webhook_error_is_logged_not_raised_and_no_url_means_log_only(
    instance, webhook, monkeypatch, capfd
):
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    monkeypatch.setenv("SLUICE_TEST_API_TOKEN", "tok-9f8e7d6c5b")
    context = failure_context(instance)
    sensor_log(capfd)
    run_failure_alert_sensor(context)
    assert webhook.bodies == [] and "failed in fragile" in sensor_log(capfd)

    webhook.status = 500
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{webhook.server_port}/s3cr3t")
    run_failure_alert_sensor(context)
    log = sensor_log(capfd)
    assert len(webhook.bodies) == 1
    assert "answered HTTP 500" in log and "s3cr3t" not in log


# The README's selection of every daily asset (no commas: the CLI splits --select on them).
DAILY_FLOW = 'key:raw_comments+ and partitions:"time"'


def test_readme_selection_is_the_daily_flow(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in dg.AssetSelection.from_string(DAILY_FLOW).resolve(graph)}
    assert {
        "raw_comments",
        "stg_comments",
        "comment_features",
        "lf_votes",
        "comment_scores",
    } <= keys
    assert all(graph.get(dg.AssetKey.from_user_string(k)).partitions_def for k in keys)


@pytest.mark.slow
def test_cli_backfill_of_a_month_is_one_run_in_the_instance(tmp_path):
    """The README's first command, as a user runs it: a month of synthetic data, one run."""
    start, days = dt.date(2024, 1, 1), 30
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), SLUICE_DATA_DIR=str(tmp_path / "data"))
    generate(LocalObjectStore(tmp_path / "data" / "landing"), start, days, per_day=30, seed=11)
    last = start + dt.timedelta(days=days - 1)

    done = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-f", "definitions.py",
         "--select", "raw_comments", "--partition-range", f"{start}...{last}"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/asset_partition_range_start"] == str(start)
        assert run.tags["dagster/asset_partition_range_end"] == str(last)
        month = {str(start + dt.timedelta(days=n)) for n in range(days)}
        assert instance.get_materialized_partitions(dg.AssetKey("raw_comments")) == month
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        [(ingested_days,)] = con.execute(
            "SELECT count(DISTINCT partition_date) FROM raw.comments"
        ).fetchall()
    assert ingested_days == days
