"""The Spark engine's Python stages agree with the embedded ones, on a real local Spark.

Synthetic demo days (noise included) are landed, ingested and built by dbt on DuckDB as the
embedded engine does; then the lake holds each day's tables as Parquet partitions that Spark
reads, and LF votes and scores computed on Spark are compared with the in-process ones.
One SparkSession (local[2]) serves the whole module: starting Spark costs ~10 s.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from demo.synthetic import generate
from ingest.days import ingest_days
from ingest.policy import Policy
from ingest.raw_tables import QUARANTINE_SCHEMA, RAW_COMMENTS_SCHEMA
from settings import PROJECT_ROOT
from storage import lake
from storage.object_store import LocalObjectStore
from tests.integration.test_dbt_project import run_dbt

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java on PATH: Spark needs a JDK"),
]

START = dt.date(2024, 3, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(3)]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from resources.spark import SparkResource

    warehouse = tmp_path_factory.mktemp("spark") / "warehouse"
    # Small Arrow batches, so every partition is voted and scored in several batches.
    conf = {"spark.sql.execution.arrow.maxRecordsPerBatch": "97"}
    session = SparkResource(warehouse_dir=str(warehouse), conf=conf).session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Three noisy synthetic days, ingested and built by dbt on DuckDB (the default engine)."""
    root = tmp_path_factory.mktemp("embedded")
    landing = LocalObjectStore(root / "landing")
    generate(landing, START, days=len(DAYS), per_day=250, seed=11)
    warehouse = root / "warehouse.duckdb"
    policy = Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")
    with duckdb.connect(str(warehouse)) as con:
        ingested = ingest_days(DAYS, landing, con, policy)
    run_dbt(["run", "--select", "tag:daily"], warehouse, root / "dbt_target")
    return {"warehouse": warehouse, "days": dict(ingested.days), "root": root}


@pytest.fixture(scope="module")
def lake_store(embedded: dict, tmp_path_factory: pytest.TempPathFactory) -> LocalObjectStore:
    """The lake after the Spark engine's ingest: every day's kept and quarantined rows, and
    comment_features, one Parquet partition per day."""
    store = LocalObjectStore(tmp_path_factory.mktemp("lake"))
    for day, result in embedded["days"].items():
        lake.write_day(store, "raw/comments", day, result.kept, RAW_COMMENTS_SCHEMA)
        lake.write_day(store, "raw/comments_quarantine", day, result.quarantined, QUARANTINE_SCHEMA)
    with duckdb.connect(str(embedded["warehouse"]), read_only=True) as con:
        features = con.sql("SELECT * FROM main.comment_features").to_arrow_table()
    for day in DAYS:
        rows = features.filter(pa.compute.equal(features["partition_date"], day))
        lake.write_day(store, "features/comment_features", day, rows, features.schema)
    return store


def _sorted_rows(table: pa.Table, columns: list[str]) -> list[tuple]:
    return sorted(tuple(r[c] for c in columns) for r in table.to_pylist())


def test_lake_days_read_by_spark_equal_the_warehouse(spark, embedded, lake_store) -> None:
    for table, schema in (
        ("raw/comments", RAW_COMMENTS_SCHEMA),
        ("raw/comments_quarantine", QUARANTINE_SCHEMA),
    ):
        read = spark.read.parquet(lake.table_uri(lake_store, table, for_spark=True))
        assert {f.name for f in read.schema.fields} == {*schema.names, "dt"}
        from_spark = pa.Table.from_pandas(read.toPandas(), preserve_index=False)
        with duckdb.connect(str(embedded["warehouse"]), read_only=True) as con:
            expected = con.sql(f"SELECT * FROM {table.replace('/', '.')}").to_arrow_table()
        assert expected.num_rows > 0
        assert _sorted_rows(from_spark, schema.names) == _sorted_rows(expected, schema.names)
    results = embedded["days"].values()
    quarantined = sum(r.quarantined.num_rows for r in results)
    assert quarantined > 0, "the synthetic noise must reach the quarantine"
    assert sum(r.records_in for r in results) == sum(r.kept.num_rows for r in results) + quarantined


def test_rewriting_a_day_replaces_it_and_nothing_else(spark, embedded, lake_store) -> None:
    store = LocalObjectStore(Path(lake_store.root).parent / "lake_rerun")
    results = embedded["days"]
    for day, result in results.items():
        lake.write_day(store, "raw/comments", day, result.kept, RAW_COMMENTS_SCHEMA)
    smaller = results[DAYS[1]].kept.slice(0, 5)
    lake.write_day(store, "raw/comments", DAYS[1], smaller, RAW_COMMENTS_SCHEMA)  # a re-run
    empty = RAW_COMMENTS_SCHEMA.empty_table()
    lake.write_day(store, "raw/comments", DAYS[2], empty, RAW_COMMENTS_SCHEMA)
    counts = dict(
        spark.read.parquet(lake.table_uri(store, "raw/comments", for_spark=True))
        .groupBy("dt")
        .count()
        .collect()
    )
    assert counts == {DAYS[0]: results[DAYS[0]].kept.num_rows, DAYS[1]: 5}
    assert lake.written_days(store, "raw/comments") == DAYS  # the empty day is still a day
    assert lake.read_day(store, "raw/comments", DAYS[2]).num_rows == 0
    everything = lake.read_days(store, "raw/comments", RAW_COMMENTS_SCHEMA)
    assert everything.num_rows == results[DAYS[0]].kept.num_rows + 5
    assert [p.name for p in (store.root / "raw/comments" / f"dt={DAYS[1]}").iterdir()] == [
        lake.PART_FILE
    ]
    with pytest.raises(ValueError, match="written as day"):
        lake.write_day(store, "raw/comments", DAYS[0], smaller, RAW_COMMENTS_SCHEMA)


def test_spark_votes_equal_the_in_process_applier(spark, embedded, lake_store) -> None:
    from labeling_functions import LFS
    from weak_supervision import apply_lfs
    from weak_supervision.spark_votes import apply_lfs_spark_keeping

    features = spark.read.parquet(
        lake.table_uri(lake_store, "features/comment_features", for_spark=True)
    ).repartition(3)
    on_spark, kept = apply_lfs_spark_keeping(features, LFS, ["partition_date"])
    with duckdb.connect(str(embedded["warehouse"]), read_only=True) as con:
        in_process = apply_lfs(con, "main.comment_features", LFS)
        days = dict(
            con.execute("SELECT comment_id, partition_date FROM main.comment_features").fetchall()
        )
    assert len(in_process.ids) > 500
    assert list(on_spark.ids) == list(in_process.ids)
    assert on_spark.lf_names == in_process.lf_names
    assert on_spark.lf_versions == in_process.lf_versions
    assert on_spark.L.dtype == np.int8
    np.testing.assert_array_equal(on_spark.L, in_process.L)
    assert kept.column("partition_date").to_pylist() == [days[i] for i in on_spark.ids]
    assert set(np.unique(in_process.L)) == {-1, 0, 1}, "both classes are voted, and abstains"
    assert (in_process.L != -1).any(axis=0).sum() >= len(LFS) - 2


def test_spark_votes_refuse_duplicate_ids(spark, lake_store) -> None:
    from labeling_functions import LFS
    from weak_supervision.spark_votes import apply_lfs_spark

    features = spark.read.parquet(
        lake.table_uri(lake_store, "features/comment_features", for_spark=True)
    ).limit(20)
    with pytest.raises(ValueError, match="not unique"):
        apply_lfs_spark(features.unionByName(features), LFS)


def test_spark_scores_equal_in_process_scores(spark, embedded, lake_store, tmp_path) -> None:
    from labeling_functions import CLASSES, LFS
    from training.classifier import SoftLabelClassifier, dumps, loads
    from training.scoring import score_window
    from training.spark_scoring import collect_scores, score_frame_spark
    from weak_supervision import MajorityVoter, apply_lfs

    warehouse = tmp_path / "warehouse.duckdb"  # the in-process scorer writes its table
    shutil.copy(embedded["warehouse"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        features = con.execute("SELECT * FROM main.comment_features ORDER BY comment_id").df()
        matrix = apply_lfs(con, "main.comment_features", LFS)
        labels = MajorityVoter(cardinality=len(CLASSES)).fit(matrix.L).predict_proba(matrix.L)
        fitted = SoftLabelClassifier(char_ngrams=(2, 3)).fit(features, labels)
        model = loads(dumps(fitted))  # what the registry hands out
        scored_at = dt.datetime(2024, 3, 9, 12, 0, 0)
        window = (DAYS[0], DAYS[-1] + dt.timedelta(days=1))
        exports = LocalObjectStore(tmp_path / "exports")
        score_window(con, exports, model, "v-test", CLASSES, window, scored_at, batch_rows=101)
        expected = con.sql(
            "SELECT * FROM score.comment_scores ORDER BY partition_date, comment_id"
        ).to_arrow_table()

    lake_features = spark.read.parquet(
        lake.table_uri(lake_store, "features/comment_features", for_spark=True)
    ).repartition(2)
    scores = collect_scores(
        score_frame_spark(lake_features, model, "v-test", CLASSES, scored_at), CLASSES
    )
    assert scores.schema == expected.schema
    assert scores.num_rows == expected.num_rows == len(features)
    for name in scores.column_names:
        got, want = scores.column(name), expected.column(name)
        if name.startswith("p_"):
            assert np.max(np.abs(got.to_numpy() - want.to_numpy())) <= 1e-9, name
        else:
            assert got.to_pylist() == want.to_pylist(), name
    predicted = scores.column("predicted_label").to_pylist()
    assert 0 < sum(predicted) < len(predicted), "both classes are predicted"
