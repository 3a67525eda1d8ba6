"""`landing_zone_sensor` over a local folder and over S3 (moto server, real HTTP), with a
real Dagster instance: ticks are evaluated as the daemon would, cursor passed along."""

import datetime as dt
import json

import dagster as dg
import pytest

from assets.ingest import raw_comments
from orchestration import daily_partitions
from resources.policies import PoliciesResource
from resources.stores import LandingZoneResource
from resources.warehouse import WarehouseResource
from sensors.landing_zone import landing_zone_sensor


def jsonl(*rows: dict) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def comment(cid: str, day: str | None = None) -> dict:
    row = {"comment_id": cid, "text": f"text {cid}", "author": f"u{cid}"}
    return {**row, "published_at": f"{day}T10:00:00"} if day else row


@pytest.fixture(params=["local", "s3"])
def zone(request, tmp_path) -> LandingZoneResource:
    if request.param == "s3":
        return LandingZoneResource(uri=f"s3://{request.getfixturevalue('s3_bucket')}/landing")
    return LandingZoneResource(uri=str(tmp_path / "landing"))


@pytest.fixture
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


def sensor_resources(zone: LandingZoneResource) -> dict:
    """What the sensor takes: the landing zone, and the policies (late_arrival_days: 2)."""
    return {"landing_zone": zone, "policies": PoliciesResource.from_settings()}


def tick(zone, instance, cursor=None) -> dg.SensorResult:
    """One evaluation, in a fresh context as after a daemon restart."""
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=sensor_resources(zone)
    )
    return landing_zone_sensor(context)


def requested(result: dg.SensorResult) -> dict[str, str]:
    """partition -> run key; fails if a partition is requested twice."""
    keys = [(r.partition_key, r.run_key) for r in result.run_requests or []]
    assert len({p for p, _ in keys}) == len(keys), keys
    return dict(keys)


def launched(result: dg.SensorResult, *earlier: dg.SensorResult) -> dict[str, str]:
    """The requests the daemon launches: it skips run keys an earlier tick already used.

    A reconciled group re-requests files whose runs have not materialized yet (here: never,
    nothing runs) under the same run keys; only new keys become runs.
    """
    used = {key for result in earlier for key in requested(result).values()}
    return {day: key for day, key in requested(result).items() if key not in used}


def test_a_new_file_whose_records_belong_to_one_day_requests_one_run(zone, instance):
    """Not one per late-arrival day: the sensor reads the file and routes its records."""
    info = zone.store().put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("1")))
    runs = requested(tick(zone, instance))
    assert runs == {"2024-05-03": f"2024-05-03:{info.key}:{info.etag}"}


def test_a_new_file_with_late_records_requests_the_days_they_belong_to(zone, instance):
    rows = jsonl(comment("1"), comment("2", "2024-05-01"))
    zone.store().put_bytes("comments/dt=2024-05-03/a.jsonl", rows)
    assert sorted(requested(tick(zone, instance))) == ["2024-05-01", "2024-05-03"]


def test_same_file_again_requests_nothing_and_a_replaced_one_runs_again(zone, instance):
    store = zone.store()
    store.put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("1")))
    first = tick(zone, instance)

    again = tick(zone, instance, first.cursor)
    assert requested(again) == {}
    assert again.skip_reason.skip_message.startswith("nothing to run")

    replaced = store.put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("2")))
    runs = requested(tick(zone, instance, again.cursor))
    assert runs == {"2024-05-03": f"2024-05-03:{replaced.key}:{replaced.etag}"}
    assert set(runs.values()).isdisjoint(requested(first).values())


def test_late_file_for_an_old_day_runs_that_day(zone, instance):
    store = zone.store()
    for day in ("2024-01-10", "2024-02-10", "2024-03-10", "2024-05-03"):
        store.put_bytes(f"comments/dt={day}/a.jsonl", jsonl(comment(day)))
    first = tick(zone, instance)

    store.put_bytes("comments/dt=2024-02-20/late.jsonl", jsonl(comment("late", "2024-02-19")))
    runs = launched(tick(zone, instance, first.cursor), first)
    assert sorted(runs) == ["2024-02-19"]  # the day its record belongs to
    assert all("late.jsonl" in key for key in runs.values())


def test_restart_resumes_from_the_cursor(zone, instance):
    store = zone.store()
    store.put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("1")))
    before = tick(zone, instance)
    store.put_bytes("comments/dt=2024-06-10/b.jsonl", jsonl(comment("2")))  # while it was down

    runs = requested(tick(zone, instance, before.cursor))
    assert sorted(runs) == ["2024-06-10"]
    assert all("b.jsonl" in key for key in runs.values())


def test_many_files_in_one_tick_make_one_request_per_day(zone, instance):
    store = zone.store()
    for n in range(5):
        store.put_bytes(f"comments/dt=2024-05-03/part-{n}.jsonl", jsonl(comment(f"a{n}")))
    for n in range(3):
        store.put_bytes(f"comments/dt=2024-05-04/part-{n}.jsonl", jsonl(comment(f"b{n}")))
    runs = requested(tick(zone, instance))
    assert sorted(runs) == ["2024-05-03", "2024-05-04"]
    assert runs["2024-05-03"].startswith("2024-05-03:5 files:")
    assert runs["2024-05-04"].startswith("2024-05-04:3 files:")


def test_a_file_landing_today_waits_for_todays_partition(zone, instance):
    today = dt.datetime.now(dt.UTC).date()
    zone.store().put_bytes(f"comments/dt={today}/a.jsonl", jsonl(comment("1")))
    result = tick(zone, instance)
    assert requested(result) == {}  # its records are today's: no earlier day changes
    assert json.loads(result.cursor)["waiting"] == [str(today)]  # requested once it exists


def test_invalid_dt_folders_are_reported_and_skipped(zone, instance):
    store = zone.store()
    store.put_bytes("comments/dt=2024-5-3/a.jsonl", jsonl(comment("1")))
    store.put_bytes("comments/stray.jsonl", jsonl(comment("2")))
    result = tick(zone, instance)
    assert requested(result) == {}
    reason = result.skip_reason.skip_message
    assert "'dt=2024-5-3' is not a date" in reason and "comments/stray.jsonl" in reason

    store.put_bytes("comments/dt=2024-05-03/ok.jsonl", jsonl(comment("3")))
    assert sorted(requested(tick(zone, instance, result.cursor))) == ["2024-05-03"]


def test_days_already_ingested_from_the_same_files_are_not_run_again(zone, instance, tmp_path):
    store = zone.store()
    store.put_bytes("comments/dt=2024-05-01/a.jsonl", jsonl(comment("a", "2024-05-01")))
    store.put_bytes("comments/dt=2024-05-02/b.jsonl", jsonl(comment("b")))
    store.put_bytes("comments/dt=2024-05-02/c.jsonl", jsonl(comment("c", "2024-04-30")))
    resources = {
        **sensor_resources(zone),
        "warehouse": WarehouseResource(path=str(tmp_path / "w.db")),
    }
    # As `make demo` does: one range run (each partition records its own source files).
    dg.materialize([raw_comments], resources=resources, instance=instance, tags={
        "dagster/asset_partition_range_start": "2024-04-29",
        "dagster/asset_partition_range_end": "2024-05-02",
    })  # fmt: skip
    assert requested(tick(zone, instance)) == {}

    new = store.put_bytes("comments/dt=2024-05-03/d.jsonl", jsonl(comment("d")))
    # No cursor: everything is reconciled against the instance. The new file's record is
    # 05-03's, and no ingested day owns records in its folder: one run.
    assert requested(tick(zone, instance)) == {"2024-05-03": f"2024-05-03:{new.key}:{new.etag}"}

    # A file in 05-02's folder: 05-02 owns it, and 04-30 owns a late record there (which
    # copy of an id came first is decided within the folder), so both re-run.
    late = store.put_bytes("comments/dt=2024-05-02/e.jsonl", jsonl(comment("e")))
    runs = requested(tick(zone, instance))
    range_run = instance.get_runs()[0].run_id
    assert runs == {
        "2024-04-30": f"2024-04-30:{late.key}:{late.etag}@{range_run[:8]}",
        "2024-05-02": f"2024-05-02:{late.key}:{late.etag}@{range_run[:8]}",
        "2024-05-03": f"2024-05-03:{new.key}:{new.etag}",
    }

    # Single-day runs (as the sensor launches) record the files on the materialization.
    for day in runs:
        dg.materialize([raw_comments], resources=resources, instance=instance, partition_key=day)
    assert requested(tick(zone, instance)) == {}


def test_runs_target_the_daily_assets_downstream_of_raw_comments(tmp_path, instance):
    @dg.asset(partitions_def=daily_partitions, deps=[raw_comments])
    def daily_features() -> None: ...

    @dg.asset(deps=[daily_features])
    def model() -> None: ...

    @dg.asset(partitions_def=daily_partitions, deps=[daily_features, model])
    def daily_scores() -> None: ...

    zone = LandingZoneResource(uri=str(tmp_path / "landing"))
    zone.store().put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("1")))
    defs = dg.Definitions(
        assets=[raw_comments, daily_features, model, daily_scores],
        sensors=[landing_zone_sensor],
        resources={**sensor_resources(zone), "warehouse": WarehouseResource(path="unused")},
    )
    context = dg.build_sensor_context(
        instance=instance, definitions=defs, resources=sensor_resources(zone)
    )
    run_requests = landing_zone_sensor.evaluate_tick(context).run_requests
    assert [r.partition_key for r in run_requests] == ["2024-05-03"]
    assert {key.to_user_string() for key in run_requests[0].asset_selection} == {
        "raw_comments",
        "daily_features",
        "daily_scores",
    }
    assert landing_zone_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_late_arrival_days_come_from_the_policies_resource(tmp_path, instance):
    """The sensor reads the ingest policy the resource validated, not a file of its own."""
    policy = tmp_path / "ingest.yml"
    policy.write_text("version: 1\npartitioning:\n  late_arrival_days: 0\n")
    settings_policies = PoliciesResource.from_settings()
    policies = PoliciesResource(
        ingest_file=str(policy), training_file=settings_policies.training_file
    )
    zone = LandingZoneResource(uri=str(tmp_path / "landing"))
    # Published the day before landing: 05-02's with the repo policy (2 days), but too late
    # with this one, so quarantined on its landing day.
    zone.store().put_bytes("comments/dt=2024-05-03/a.jsonl", jsonl(comment("1", "2024-05-02")))
    context = dg.build_sensor_context(
        instance=instance, resources={"landing_zone": zone, "policies": policies}
    )
    assert sorted(requested(landing_zone_sensor(context))) == ["2024-05-03"]
    context = dg.build_sensor_context(instance=instance, resources=sensor_resources(zone))
    assert sorted(requested(landing_zone_sensor(context))) == ["2024-05-02"]
