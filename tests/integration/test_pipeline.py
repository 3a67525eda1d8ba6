"""The whole pipeline on a small synthetic stream: real DuckDB, real dbt, a real Dagster
instance, in the same runs `make demo` makes. Then training and scoring guarantees."""

import datetime as dt
import hashlib
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
    from definitions import defs
    from resources.dbt import dbt_resource

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
    # 600 landed; the stream repeats templates, so near_duplicate quarantines a good share.
    assert kept == featured == scored > 300
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


def test_training_is_deterministic(pipeline, tmp_path):
    """The registered artifact follows from the training set: refitting it here and in a fresh
    process (another hash seed, other addresses) gives the bytes the store holds."""
    from assets.label import task
    from tests.integration.test_model_store_safety import fit_artifact, fit_in_fresh_process
    from training.policy import TrainingPolicy

    settings = pipeline["settings"]
    con = duckdb.connect(settings.warehouse, read_only=True)
    train = con.execute("SELECT * FROM train.training_set ORDER BY comment_id").df()
    con.close()
    classes = list(task().classes)
    seed = TrainingPolicy.load(settings.training_policy_file).seed
    here = fit_artifact(train, classes, seed)
    fresh = fit_in_fresh_process(train, classes, seed, "97", tmp_path)
    registry = ModelRegistry(LocalObjectStore(settings.model_store))
    champion = registry.champion()
    assert here == fresh == registry.load_bytes(champion)
    assert registry.versions()[champion]["sha256"] == hashlib.sha256(here).hexdigest()


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
    import pandas as pd

    from training.classifier import SoftLabelClassifier, dumps

    X = pd.DataFrame({"text": ["free money http://x.example", "nice song", "sub 4 sub", "love it"]})
    model = SoftLabelClassifier().fit(X, [1, 0, 1, 0])
    registry = ModelRegistry(S3ObjectStore.from_uri(f"s3://{s3_bucket}/store"))
    registry.register("v1", dumps(model), {"metrics": {"classifier": {"f1": 0.9}}})
    assert registry.offer("v1", tolerance=0.0).promoted
    version, loaded = registry.load_champion()
    assert version == "v1" and (loaded.predict_proba(X) == model.predict_proba(X)).all()
    other = SoftLabelClassifier(C=0.1).fit(X, [0, 1, 0, 1])
    registry.store.put_bytes("classifier/v1/model.skops", dumps(other))
    with pytest.raises(TamperedArtifactError):
        registry.load("v1")
