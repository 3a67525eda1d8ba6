"""The check factory on tables shaped like the later assets (LF coverage, class scores),
and the freshness checks, through real Dagster runs on real DuckDB files."""

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AssetSpec,
    DagsterInstance,
    materialize,
)

from assets.ingest import raw_comments
from checks.factory import ShareColumns, build_daily_checks
from checks.freshness import partition_freshness_checks
from orchestration import daily_partitions
from resources.stores import LandingZoneResource
from resources.warehouse import WarehouseResource

pytestmark = [pytest.mark.integration]

DAYS = [dt.date(2024, 5, 1) + dt.timedelta(days=n) for n in range(10)]
LAST = DAYS[-1]
COVERAGE = {"lf_link": 0.2, "lf_caps": 0.3, "lf_short": 0.1}


def run_range(assets: list, warehouse: Path, instance: DagsterInstance) -> dict:
    """Run only the checks over every fixture day; evaluations keyed (check, day)."""
    result = materialize(
        assets,
        selection=AssetSelection.all_asset_checks(),
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": DAYS[0].isoformat(),
            "dagster/asset_partition_range_end": LAST.isoformat(),
        },
        raise_on_error=False,
    )
    return {(e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def test_an_lf_that_suddenly_covers_nothing_fails_the_coverage_check(tmp_path: Path) -> None:
    """label.lf_coverage(partition_date, lf_name, lf_version, rows, votes, coverage)."""
    rng = np.random.default_rng(3)
    rows = []
    for day in DAYS:
        for lf, share in COVERAGE.items():
            votes = 0 if (lf == "lf_link" and day == LAST) else int(rng.binomial(200, share))
            rows.append((day, lf, "v1", 200, votes, votes / 200))
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema label")
        con.execute(
            "create table label.lf_coverage (partition_date date, lf_name varchar, "
            "lf_version varchar, rows bigint, votes bigint, coverage double)"
        )
        con.executemany("insert into label.lf_coverage values (?, ?, ?, ?, ?, ?)", rows)
    checks = build_daily_checks(
        "lf_votes",
        "label.lf_coverage",
        # lf_link is history-driven here: its share may grow by design, a fall still fails.
        shares=ShareColumns(
            group="lf_name",
            version="lf_version",
            hits="votes",
            total="rows",
            growing=frozenset({"lf_link"}),
        ),
        volume=False,
        schema=False,
        name_prefix="lf_coverage_",
    )

    evaluations = run_range(
        [AssetSpec("lf_votes", partitions_def=daily_partitions), checks],
        warehouse,
        DagsterInstance.ephemeral(),
    )

    assert {check for check, _ in evaluations} == {"lf_coverage_share_drift"}
    last: AssetCheckEvaluation = evaluations[("lf_coverage_share_drift", LAST.isoformat())]
    assert not last.passed and last.severity == AssetCheckSeverity.ERROR
    assert last.description.startswith("share drift in lf_link@v1: share 0.0% vs 2")
    assert "grows with its history by design" in last.description
    groups = {g["group"]: g for g in last.metadata["groups"].value}
    assert groups["lf_link@v1"]["verdict"] == "ERROR" and groups["lf_caps@v1"]["verdict"] == "PASS"
    assert evaluations[("lf_coverage_share_drift", DAYS[5].isoformat())].passed
    # Until the reference holds 500 rows per LF there is nothing to compare with: every day
    # still gets an evaluation (no "Skipped" beside a "Passed"), saying it was not judged.
    assert {day for _, day in evaluations} == {day.isoformat() for day in DAYS}
    early = [evaluations[("lf_coverage_share_drift", day.isoformat())] for day in DAYS[:3]]
    assert all(e.passed and e.metadata["judged"].value is False for e in early)
    assert all("0 of 3 group(s) judged" in e.metadata["why_not"].value for e in early)
    assert last.metadata["judged"].value is True


def test_class_probabilities_get_volume_schema_and_drift_checks(tmp_path: Path) -> None:
    """score.comment_scores with p_<class> columns: a day where spam suddenly dominates."""
    rng = np.random.default_rng(5)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema score")
        con.execute(
            "create table score.comment_scores (comment_id varchar, partition_date date, "
            "p_ham double, p_spam double)"
        )
        for day in DAYS:
            spam = rng.beta(8 if day == LAST else 2, 5, 150)
            con.executemany(
                "insert into score.comment_scores values (?, ?, ?, ?)",
                [(f"{day}-{i}", day, 1 - p, p) for i, p in enumerate(spam)],
            )
    checks = build_daily_checks(
        "comment_scores", "score.comment_scores", numeric_columns=["p_ham", "p_spam"]
    )

    evaluations = run_range(
        [AssetSpec("comment_scores", partitions_def=daily_partitions), checks],
        warehouse,
        DagsterInstance.ephemeral(),
    )

    drift = evaluations[("distribution_drift", LAST.isoformat())]
    assert not drift.passed and drift.severity == AssetCheckSeverity.ERROR
    assert "p_spam: PSI" in drift.description
    assert evaluations[("distribution_drift", DAYS[6].isoformat())].passed
    assert evaluations[("row_volume", LAST.isoformat())].passed
    schema = evaluations[("column_schema", LAST.isoformat())]
    assert schema.passed and schema.description.startswith("first schema of score.comment_scores")
    assert schema.metadata["accepted_schema"].value[2] == ["p_ham", "DOUBLE"]


def test_raw_comments_has_a_freshness_policy_and_a_newest_partition_check(
    tmp_path: Path,
) -> None:
    """Historical data (nothing landed after 2024-05-10) is judged against its newest landed
    day, not the clock; a file landing yesterday makes the clock's day the one expected."""
    spec = next(iter(raw_comments.specs))
    assert spec.freshness_policy is not None
    checks = partition_freshness_checks(["raw_comments"])
    instance = DagsterInstance.ephemeral()
    assets = [AssetSpec("raw_comments", partitions_def=daily_partitions), *checks]
    landing = tmp_path / "landing"
    zone = LandingZoneResource(uri=str(landing))

    def land(day: dt.date) -> None:
        folder = landing / "comments" / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        (folder / "a.jsonl").write_text('{"comment_id": "1", "text": "hi"}\n')

    def materialized(day: dt.date) -> None:
        instance.report_runless_asset_event(
            AssetMaterialization(AssetKey("raw_comments"), partition=day.isoformat())
        )

    def freshness() -> AssetCheckEvaluation:
        result = materialize(
            assets,
            selection=AssetSelection.all_asset_checks(),
            instance=instance,
            resources={"landing_zone": zone},
            tags={
                "dagster/asset_partition_range_start": DAYS[0].isoformat(),
                "dagster/asset_partition_range_end": DAYS[0].isoformat(),
            },
        )
        (evaluation,) = result.get_asset_check_evaluations()
        assert evaluation.partition == DAYS[0].isoformat()  # the day the run planned it for
        return evaluation

    nothing = freshness()
    assert nothing.passed and nothing.metadata["judged_against"].value == "nothing landed"
    for day in (LAST, LAST - dt.timedelta(days=3)):
        land(day)
    (landing / "comments" / "dt=not-a-day").mkdir()
    (landing / "comments" / "dt=not-a-day" / "x.jsonl").write_text("{}\n")
    stale = freshness()
    assert not stale.passed and stale.severity == AssetCheckSeverity.WARN
    assert stale.metadata["newest_landed_day"].value == LAST.isoformat()
    materialized(LAST)
    historical = freshness()
    assert historical.passed and "historical data" in str(historical.description)
    assert historical.metadata["judged_against"].value == "newest landed day"

    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    land(yesterday)
    live = freshness()
    assert not live.passed and live.metadata["judged_against"].value == "clock"
    for back in (1, 2):
        materialized(yesterday - dt.timedelta(days=back - 1))
    assert freshness().passed
