"""Sluice's checks on real dbt output: one range run of the daily models with every check of
stg_comments and comment_features, then deliberately broken copies of the warehouse.

Twelve fixture days go through ingest's raw-table writer, dbt (through Dagster) and the
checks in one single-run backfill: ten ordinary days, day 11 with a tenth of the rows, day
12 with texts four times as long. The module shares that run (and the 8-second GX import).
"""

import datetime as dt
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    AssetSpec,
    DagsterInstance,
    ExecuteInProcessResult,
    asset,
    materialize,
)

from assets.transform import dbt_daily_models
from checks.catalog import sluice_checks
from checks.factory import build_daily_checks
from expectations.runner import Status, SuiteRunner
from expectations.suites import Expectation, Suite
from ingest.raw_tables import QUARANTINE_SCHEMA, replace_partition
from orchestration import daily_partitions
from resources.dbt import dbt_resource
from resources.warehouse import WarehouseResource
from tests.integration.test_dbt_project import child_bytecode_env, raw_day

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = [dt.date(2024, 3, 1) + dt.timedelta(days=n) for n in range(12)]
CLEAN, THIN, LONG = DAYS[9], DAYS[10], DAYS[11]
CHECKED = {AssetKey("stg_comments"), AssetKey("comment_features")}
WORDS = (
    "great",
    "song",
    "love",
    "this",
    "video",
    "please",
    "check",
    "my",
    "channel",
    "subscribe",
    "best",
    "ever",
    "lol",
)


def fixture_rows(day: dt.date, count: int, words: tuple[int, int], rng: random.Random) -> list:
    """Comments of one day: a few authors, some links, lengths drawn from `words`."""
    rows = []
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(*words)))
        if rng.random() < 0.15:
            text += f" http://example.com/{i}"
        if rng.random() < 0.2:
            text = text.upper()
        published = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59)))
        rows.append((f"{day:%m%d}-{i}", f"user{rng.randint(0, 40)}", text, published))
    return rows


def write_raw(path: Path) -> None:
    rng = random.Random(11)
    with duckdb.connect(str(path)) as con:
        for day in DAYS:
            count, words = {THIN: (12, (3, 15)), LONG: (120, (12, 60))}.get(day, (120, (3, 15)))
            rows = fixture_rows(day, count, words, rng)
            replace_partition(con, day, raw_day(day, rows), QUARANTINE_SCHEMA.empty_table())


def checks_of(keys: set[AssetKey]) -> list:
    return [c for c in sluice_checks() if {s.asset_key for s in c.check_specs} <= keys]


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


@dataclass(frozen=True)
class Built:
    warehouse: Path
    data_dir: Path
    instance: DagsterInstance
    result: ExecuteInProcessResult

    def evaluation(self, asset_name: str, check: str, day: dt.date) -> AssetCheckEvaluation:
        found = [
            e
            for e in self.result.get_asset_check_evaluations()
            if e.asset_key == AssetKey(asset_name)
            and e.check_name == check
            and e.partition in (day.isoformat(), None)
        ]
        assert found, f"no evaluation of {asset_name}:{check} for {day}"
        return found[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("checks_dbt")
    warehouse = root / "warehouse.duckdb"  # the manifest's database name is the file's stem
    write_raw(warehouse)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLUICE_WAREHOUSE", str(warehouse))
        mp.setenv("SLUICE_DATA_DIR", str(root / "data"))
        mp.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        mp.setenv("PYTHONPYCACHEPREFIX", child_bytecode_env()["PYTHONPYCACHEPREFIX"])
        instance = DagsterInstance.ephemeral()
        result = materialize(
            [dbt_daily_models, *checks_of(CHECKED)],
            resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(path=str(warehouse))},
            instance=instance,
            tags=range_tags(DAYS[0], DAYS[-1]),
        )
        yield Built(warehouse, root / "data", instance, result)


@pytest.fixture
def data_dir(built: Built, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLUICE_DATA_DIR", str(built.data_dir))
    return built.data_dir


def run_checks(
    built: Built,
    assets: list,
    selection: AssetSelection,
    warehouse: WarehouseResource,
    partition_key: str | None = None,
) -> ExecuteInProcessResult:
    """Run the selected checks (and assets) alone on the module's instance, as the UI's
    "execute check" does. The partition goes in as a run tag: Dagster 1.13 resolves a job's
    partitions from its assets only, and a checks-only selection has none."""
    return materialize(
        assets,
        selection=selection,
        resources={"warehouse": warehouse},
        instance=built.instance,
        tags={"dagster/partition": partition_key} if partition_key else None,
        raise_on_error=False,
    )


def broken_copy(built: Built, tmp_path: Path, *statements: str) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, path)
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
    return WarehouseResource(path=str(path))


def test_every_day_of_the_range_is_judged_and_a_clean_day_passes_every_check(
    built: Built,
) -> None:
    """One range run, one evaluation per check and day. A day a check cannot judge (too
    little history for a median or a reference, too few rows for drift) gets a passed
    evaluation marked `judged: False`, and the schema, a property of the table, is judged on
    the newest day."""
    assert built.result.success
    judged: dict[tuple[str, str], set[dt.date]] = {}
    for e in built.result.get_asset_check_evaluations():
        if e.partition is None:
            continue  # dbt's own tests, unpartitioned
        if not e.metadata["judged"].value:
            assert e.passed and e.metadata["why_not"].value
            continue
        key = (e.asset_key.to_user_string(), e.check_name)
        judged.setdefault(key, set()).add(dt.date.fromisoformat(e.partition))
    with_history = set(DAYS[7:])  # seven days of history before the median applies
    with_reference = set(DAYS[5:]) - {THIN}  # 500 reference rows, 100 rows of the day
    assert judged == {
        ("stg_comments", "expectation_suites"): set(DAYS),
        ("stg_comments", "row_volume"): with_history,
        ("stg_comments", "column_schema"): {LONG},
        ("comment_features", "expectation_suites"): set(DAYS),
        ("comment_features", "row_volume"): with_history,
        ("comment_features", "column_schema"): {LONG},
        ("comment_features", "distribution_drift"): with_reference,
    }
    for asset_name, check in judged:
        evaluation = built.evaluation(asset_name, check, LONG if "schema" in check else CLEAN)
        assert evaluation.passed, (asset_name, check, evaluation.description)
    gx = built.evaluation("comment_features", "expectation_suites", CLEAN)
    assert gx.metadata["rows"].value == 120
    stats = gx.metadata["statistics"].value
    assert stats["comment_features"]["failed"] == 0 and stats["comment_features"]["evaluated"] > 20
    assert stats["comment_features.day_profile"]["status"] == "passed"
    # Every expectation ran as SQL over all 120 rows of the day; GX saw a bounded sample of
    # the range (for the Data Docs), and the metadata says so.
    judged_by = stats["comment_features"]["judged"]
    assert judged_by["rows_judged"] == 120 and judged_by["by_gx_on_sample"] == 0
    assert judged_by["in_warehouse"] == stats["comment_features"]["evaluated"]
    assert 0 < judged_by["gx_sample_rows"] <= 120 and "hash" in judged_by["gx_sampling"]
    drift = built.evaluation("comment_features", "distribution_drift", CLEAN)
    assert "no drift on 120 rows" in drift.description
    assert {c["column"] for c in drift.metadata["columns"].value} >= {"char_count", "url_count"}


def test_each_evaluation_names_the_partition_and_data_version_it_judged(built: Built) -> None:
    versions = {
        (m.asset_key, m.partition): m.tags["dagster/data_version"]
        for m in (
            event.event_specific_data.materialization
            for event in built.result.get_asset_materialization_events()
        )
    }
    for day in (CLEAN, LONG):
        evaluation = built.evaluation("stg_comments", "expectation_suites", day)
        assert evaluation.metadata["upstream_partition"].value == day.isoformat()
        assert (
            evaluation.metadata["upstream_data_version"].value
            == versions[(AssetKey("stg_comments"), day.isoformat())]
        )
        assert evaluation.target_materialization_data is not None


def test_data_docs_are_built_under_the_data_dir_and_linked(built: Built) -> None:
    evaluation = built.evaluation("stg_comments", "expectation_suites", CLEAN)
    index = Path(evaluation.metadata["data_docs_index"].value)
    assert index == built.data_dir / "data_docs" / "index.html"
    assert index.is_file()
    page = urlparse(evaluation.metadata["data_docs_page"].value)
    assert page.scheme == "file" and Path(url2pathname(page.path)).is_file()


def test_a_day_with_a_tenth_of_the_usual_rows_fails_the_volume_check(built: Built) -> None:
    for asset_name in ("stg_comments", "comment_features"):
        evaluation = built.evaluation(asset_name, "row_volume", THIN)
        assert not evaluation.passed
        assert evaluation.severity == AssetCheckSeverity.ERROR
        assert "12 rows, 0.10x the trailing 10-day median of 120" in evaluation.description
    # Small but valid: the row-level suite passes, the day profile is not judged on 12 rows.
    gx = built.evaluation("stg_comments", "expectation_suites", THIN)
    assert gx.passed
    assert gx.metadata["statistics"].value["stg_comments.day_profile"]["status"] == "skipped"


def test_a_shifted_text_length_distribution_fails_the_drift_check(built: Built) -> None:
    evaluation = built.evaluation("comment_features", "distribution_drift", LONG)
    assert not evaluation.passed
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert "char_count: PSI" in evaluation.description
    columns = {c["column"]: c for c in evaluation.metadata["columns"].value}
    assert columns["char_count"]["verdict"] == "ERROR"
    assert columns["char_count"]["mean"] > 3 * columns["char_count"]["reference_mean"]
    assert evaluation.metadata["reference_window"].value == "2024-02-13..2024-03-11"


def test_nulls_and_duplicate_ids_fail_the_suite_and_block_the_downstream_step(
    built: Built, data_dir: Path, tmp_path: Path
) -> None:
    warehouse = broken_copy(
        built,
        tmp_path,
        f"update main.stg_comments set comment_id = null where comment_id = '{CLEAN:%m%d}-3'",
        f"insert into main.stg_comments select * from main.stg_comments "
        f"where comment_id in ('{CLEAN:%m%d}-5', '{CLEAN:%m%d}-6')",
    )
    (stg_checks,) = checks_of({AssetKey("stg_comments")})
    suite = AssetCheckKey(AssetKey("stg_comments"), "expectation_suites")

    @asset(partitions_def=daily_partitions, deps=["stg_comments"])
    def labeled_downstream() -> None:
        raise AssertionError("must not run after a failed blocking check")

    result = run_checks(
        built,
        [
            AssetSpec("stg_comments", partitions_def=daily_partitions),
            stg_checks,
            labeled_downstream,
        ],
        AssetSelection.checks(suite) | AssetSelection.assets(labeled_downstream),
        warehouse,
        CLEAN.isoformat(),
    )

    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert "expect_column_values_to_not_be_null(comment_id): 1 unexpected" in evaluation.description
    failed = {f["expectation"]: f for f in evaluation.metadata["failed_expectations"].value}
    duplicates = failed["expect_compound_columns_to_be_unique"]
    assert duplicates["unexpected_count"] == 4
    assert duplicates["unexpected_percent"] == pytest.approx(100 * 4 / 122)
    assert {e["comment_id"] for e in duplicates["examples"]} == {
        f"{CLEAN:%m%d}-5",
        f"{CLEAN:%m%d}-6",
    }
    assert failed["expect_column_values_to_not_be_null"]["unexpected_count"] == 1
    # The lineage names the day's materialization from the range run.
    assert evaluation.metadata["upstream_partition"].value == CLEAN.isoformat()
    assert evaluation.metadata["upstream_data_version"].value != "no materialization recorded"
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert started == {"stg_comments__checks__main_stg_comments"}
    assert not result.get_asset_materialization_events()


def test_an_expectation_that_raises_is_an_error_not_a_data_failure(
    built: Built, data_dir: Path
) -> None:
    broken = Suite(
        "broken",
        (Expectation("expect_column_values_to_not_be_null", {"column": "no_such"}, "a typo"),),
        per_row=True,
    )
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        frame = con.execute(
            "select * from main.stg_comments where partition_date = ?", [CLEAN]
        ).df()
    outcome = SuiteRunner().validate(frame, broken, run_name="unit")
    assert outcome.status is Status.ERROR and not outcome.failures
    assert "no_such" in outcome.errors[0].error

    check = build_daily_checks(
        "stg_comments", "main.stg_comments", suites=[broken], volume=False, schema=False
    )
    result = run_checks(
        built,
        [AssetSpec("stg_comments", partitions_def=daily_partitions), check],
        AssetSelection.checks(check),
        WarehouseResource(path=str(built.warehouse)),
        CLEAN.isoformat(),
    )
    assert not result.success
    assert result.get_asset_check_evaluations() == []  # no fake verdict for the day
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "could not judge 1 time(s): expectation_suites 2024-03-10" in message
    assert "no_such" in message


def test_a_dropped_column_fails_the_schema_check(
    built: Built, data_dir: Path, tmp_path: Path
) -> None:
    warehouse = broken_copy(
        built, tmp_path, "alter table main.comment_features drop column digit_count"
    )
    (features_checks,) = checks_of({AssetKey("comment_features")})
    result = run_checks(
        built,
        [AssetSpec("comment_features", partitions_def=daily_partitions), features_checks],
        AssetSelection.checks(AssetCheckKey(AssetKey("comment_features"), "column_schema")),
        warehouse,
        LONG.isoformat(),
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluation.description == "changed without a code change: dropped digit_count BIGINT"
    assert evaluation.metadata["dropped"].value == [["digit_count", "BIGINT"]]
    accepted = [name for name, _ in evaluation.metadata["accepted_schema"].value]
    assert "digit_count" in accepted  # the alarm persists until the table is repaired
