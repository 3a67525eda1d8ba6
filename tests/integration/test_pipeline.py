"""The whole pipeline on a small synthetic stream: real DuckDB, real dbt, a real Dagster
instance, in the same runs `make demo` makes. Then training and scoring guarantees."""

import datetime as dt
import hashlib
import pickle
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from demo.__main__ import materialization_waves
from demo.synthetic import generate
from resources import build_resources
from resources.stores import ModelStoreResource
from settings import Settings
from storage.object_store import LocalObjectStore, S3ObjectStore
from training.registry import ModelRegistry, TamperedArtifactError

pytestmark = [pytest.mark.integration, pytest.mark.slow]
START = dt.date(2024, 3, 1)
DAYS = 4
RANGE = {
    "dagster/asset_partition_range_start": str(START),
    "dagster/asset_partition_range_end": str(START + dt.timedelta(days=DAYS - 1)),
}


def run(assets, keys, resources, instance, tags):
    selection = [dg.AssetKey.from_user_string(k) for k in keys]
    result = dg.materialize(
        assets, selection=selection, resources=resources, instance=instance, tags=tags,
        raise_on_error=False,
    )  # fmt: skip
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from assets.transform import dbt_resource
    from definitions import defs

    root = tmp_path_factory.mktemp("pipeline")
    patch = pytest.MonkeyPatch()
    patch.setenv("SLUICE_DATA_DIR", str(root))
    for name in ("SLUICE_LANDING", "SLUICE_WAREHOUSE", "SLUICE_MODEL_STORE", "SLUICE_EXPORTS"):
        patch.delenv(name, raising=False)
    settings = Settings.from_env()
    generate(LocalObjectStore(settings.landing), start=START, days=DAYS, per_day=150, seed=3,
             label_share=0.4)  # fmt: skip
    resources = {**build_resources(settings), "dbt": dbt_resource()}
    instance = dg.DagsterInstance.ephemeral()
    assets = list(defs.assets)
    for daily, keys in materialization_waves():
        result = run(assets, keys, resources, instance, RANGE if daily else {})
        assert result.success, f"wave {keys} failed"
    yield {"settings": settings, "resources": resources, "instance": instance, "assets": assets}
    patch.undo()


def query(settings, sql):
    con = duckdb.connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_kept_comment_is_featured_labeled_and_scored(pipeline):
    settings = pipeline["settings"]
    [(kept,)] = query(settings, "SELECT count(*) FROM raw.comments")
    [(featured,)] = query(settings, "SELECT count(*) FROM main.comment_features")
    [(scored,)] = query(settings, "SELECT count(*) FROM score.comment_scores")
    assert kept == featured == scored > 500
    [(bad,)] = query(
        settings,
        "SELECT count(*) FROM score.comment_scores WHERE abs(p_ham + p_spam - 1) > 1e-9 "
        "OR predicted_label NOT IN (0, 1)",
    )
    assert bad == 0
    exports = sorted(p.parent.name for p in Path(settings.exports).rglob("scores.parquet"))
    assert exports == [f"dt={START + dt.timedelta(days=i)}" for i in range(DAYS)]


def test_model_card_plots_and_lineage(pipeline):
    registry = ModelRegistry(LocalObjectStore(pipeline["settings"].model_store))
    champion = registry.champion()
    assert champion is not None
    card = registry.card(champion)
    metrics = card["metrics"]
    assert set(metrics) == {"classifier", "label_model", "majority_vote"}
    assert metrics["classifier"]["accuracy"] > 0.8
    lineage = card["lineage"]
    assert len(lineage["partitions"]) == DAYS
    assert set(lineage["data_versions"]["raw_comments"]) == set(lineage["partitions"])
    assert lineage["lf_versions"] and lineage["dbt_code_versions"]["comment_features"]
    for plot in ("precision_recall.png", "calibration.png", "confusion_matrix.png",
                 "top_terms.png", "labeling_functions.png"):  # fmt: skip
        data = registry.store.get_bytes(f"classifier/{champion}/{plot}")
        assert data.startswith(b"\x89PNG")
    assert "## Test metrics" in registry.store.get_bytes(f"classifier/{champion}/card.md").decode()


def test_training_is_deterministic(pipeline):
    """The same training set gives an artifact with the same SHA-256, twice and as registered."""
    from assets.label import task
    from training.classifier import SoftLabelClassifier

    settings = pipeline["settings"]
    con = duckdb.connect(settings.warehouse, read_only=True)
    train = con.execute("SELECT * FROM train.training_set ORDER BY comment_id").df()
    con.close()
    classes, _ = task()
    cols = [f"p_{c}" for c in classes]
    proba, weight = train[cols].to_numpy(), train["weight"].to_numpy()
    models = [
        SoftLabelClassifier(seed=123).fit(train, proba, sample_weight=weight) for _ in range(2)
    ]
    digests = {hashlib.sha256(pickle.dumps(m, protocol=5)).hexdigest() for m in models}
    assert len(digests) == 1
    registry = ModelRegistry(LocalObjectStore(settings.model_store))
    assert registry.versions()[registry.champion()]["sha256"] in digests


def test_scoring_a_day_twice_gives_the_same_rows(pipeline):
    settings = pipeline["settings"]
    day = str(START + dt.timedelta(days=1))
    sql = (
        "SELECT * EXCLUDE (scored_at) FROM score.comment_scores "
        f"WHERE partition_date = DATE '{day}' ORDER BY comment_id"
    )
    before = query(settings, sql)
    result = run(pipeline["assets"], ["comment_scores"], pipeline["resources"],
                 pipeline["instance"], {"dagster/partition": day})  # fmt: skip
    assert result.success
    assert query(settings, sql) == before and before


def test_scoring_without_a_champion_fails_clearly(pipeline, tmp_path):
    resources = {**pipeline["resources"], "model_store": ModelStoreResource(uri=str(tmp_path))}
    result = run(pipeline["assets"], ["comment_scores"], resources, pipeline["instance"],
                 {"dagster/partition": str(START)})  # fmt: skip
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "no champion model yet: materialize `classifier`" in failure.message


def test_model_store_over_s3(s3_bucket):
    registry = ModelRegistry(S3ObjectStore.from_uri(f"s3://{s3_bucket}/store"))
    registry.register("v1", pickle.dumps({"ok": True}), {"metrics": {"classifier": {"f1": 0.9}}})
    assert registry.offer("v1", tolerance=0.0).promoted
    assert registry.load_champion() == ("v1", {"ok": True})
    registry.store.put_bytes("classifier/v1/model.pkl", pickle.dumps({"ok": False}))
    with pytest.raises(TamperedArtifactError):
        registry.load("v1")
