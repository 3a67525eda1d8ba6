"""The label and train assets on a small hand-built warehouse, through Dagster: which label
model a model card describes, and what a failed registration leaves behind."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from resources import build_resources
from resources.stores import ModelStoreResource
from settings import Settings
from storage.object_store import LocalObjectStore, ObjectInfo
from training.registry import ModelRegistry

pytestmark = pytest.mark.integration

START = dt.date(2024, 5, 1)
DAYS = 3
RANGE = {
    "dagster/asset_partition_range_start": str(START),
    "dagster/asset_partition_range_end": str(START + dt.timedelta(days=DAYS - 1)),
}
SPAM = [
    "check out my channel http://promo{n}.example.com",
    "please subscribe to my channel for free music {n}",
    "win free money now at www.cash{n}.com",
    "check out my new video plz {n}",
]
HAM = [
    "love this song so much lol {n}",
    "this video is so funny haha {n}",
    "i miss the old days when this came out {n}",
    "wow her voice is amazing {n}",
]


def features(per_day: int = 60, seed: int = 7) -> pd.DataFrame:
    """comment_features rows (every column the LFs read), half spam, with a gold label each."""
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(DAYS):
        date = START + dt.timedelta(days=day)
        for i in range(per_day):
            spam = bool(rng.random() < 0.5)
            text = rng.choice(SPAM if spam else HAM).format(n=rng.integers(1000))
            rows.append(
                {"comment_id": f"c{day}-{i:03d}", "partition_date": date, "author": f"a{i}",
                 "published_at": dt.datetime.combine(date, dt.time(12)), "text": text,
                 "char_count": len(text), "word_count": len(text.split()),
                 "url_count": int("http" in text or "www" in text),
                 "has_url": "http" in text or "www" in text, "mention_count": 0,
                 "hashtag_count": 0, "uppercase_ratio": 0.0, "max_char_run": 2,
                 "exclamation_count": 0, "question_count": 0,
                 "digit_count": sum(c.isdigit() for c in text), "non_ascii_ratio": 0.0,
                 "symbol_count": 0, "line_break_count": 0, "author_prior_comments": 0,
                 "author_prior_days": 0, "author_is_new": True, "text_prior_count": 0,
                 "gold": int(spam)}
            )  # fmt: skip
    return pd.DataFrame(rows)


def gold(frame: pd.DataFrame, flip_dev: bool = False) -> pd.DataFrame:
    """Every 4th row is a `test` row, every 5th other one a `dev` row."""
    position = np.arange(len(frame))
    split = np.where(position % 4 == 0, "test", np.where(position % 5 == 0, "dev", None))
    labels = frame.assign(split=split, label=frame["gold"])[pd.notna(split)]
    if flip_dev:  # a different dev sample: a different class balance, another label model
        dev = labels["split"] == "dev"
        labels.loc[dev, "label"] = 1
    return labels[["comment_id", "label", "split"]].reset_index(drop=True)


def write_gold(path: str, labels: pd.DataFrame) -> None:
    with duckdb.connect(path) as con:
        con.register("gold", labels)
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE OR REPLACE TABLE raw.gold_labels AS SELECT * FROM gold")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings under tmp_path, a featured warehouse, and the label and train assets."""
    from assets.label import label_model, lf_summary, lf_votes, weak_labels
    from assets.train import classifier, training_set

    monkeypatch.setenv("SLUICE_DATA_DIR", str(tmp_path))
    for name in ("SLUICE_LANDING", "SLUICE_WAREHOUSE", "SLUICE_MODEL_STORE", "SLUICE_EXPORTS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    frame = features()
    with duckdb.connect(settings.warehouse) as con:
        con.register("featured", frame.drop(columns="gold"))
        con.execute("CREATE TABLE main.comment_features AS SELECT * FROM featured")
    write_gold(settings.warehouse, gold(frame))
    return {
        "settings": settings,
        "frame": frame,
        "resources": build_resources(settings),
        "instance": dg.DagsterInstance.ephemeral(),
        "assets": [lf_votes, lf_summary, label_model, weak_labels, training_set, classifier],
    }


def materialize(env, keys: list[str], resources: dict | None = None, tags: dict | None = None):
    return dg.materialize(
        env["assets"],
        selection=[dg.AssetKey(k) for k in keys],
        resources=resources or env["resources"],
        instance=env["instance"],
        tags=tags or {},
        raise_on_error=False,
    )


def prepare_training_set(env) -> None:
    assert materialize(env, ["lf_votes"], tags=RANGE).success
    assert materialize(env, ["lf_summary", "label_model", "weak_labels", "training_set"]).success


def weak_labels_version(env) -> str:
    with duckdb.connect(env["settings"].warehouse, read_only=True) as con:
        [(version,)] = con.execute(
            "SELECT DISTINCT label_model_version FROM label.weak_labels"
        ).fetchall()
    return version


def classifiers(env) -> ModelRegistry:
    return ModelRegistry(LocalObjectStore(env["settings"].model_store), "classifier")


def test_model_card_describes_the_label_model_that_made_the_training_labels(env):
    prepare_training_set(env)
    first = weak_labels_version(env)
    assert materialize(env, ["classifier"]).success
    champion = classifiers(env).champion()
    card = classifiers(env).card(champion)
    assert card["lineage"]["label_model"]["version"] == first
    metrics_of_first = card["metrics"]["label_model"]
    page = classifiers(env).store.get_bytes(f"classifier/{champion}/card.md").decode()
    assert "Promotion: first model: no champion to beat" in page

    # A new label model (another dev sample) is fitted; weak_labels are NOT re-materialized.
    write_gold(env["settings"].warehouse, gold(env["frame"], flip_dev=True))
    assert materialize(env, ["label_model"]).success
    store = LocalObjectStore(env["settings"].model_store)
    second = [
        key.split("/")[1] for key in (i.key for i in store.list("label_model/"))
        if key.endswith("label_model.json") and key.split("/")[1] != first
    ]  # fmt: skip
    assert second, "the second label model should differ from the first"

    assert materialize(env, ["classifier"]).success
    card = classifiers(env).card(classifiers(env).champion())
    assert card["lineage"]["label_model"]["version"] == first
    assert card["metrics"]["label_model"] == metrics_of_first
    payload = json.loads(store.get_bytes(f"label_model/{first}/label_model.json"))
    assert card["lineage"]["label_model"]["class_balance"] == [
        round(p, 4) for p in payload["class_balance"]
    ]


class CardWriteFails(LocalObjectStore):
    """A model store whose disk fills up when the human-readable card is written."""

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        if key.endswith("card.md"):
            raise OSError(28, "No space left on device")
        return super().put_bytes(key, data)


class FailingModelStore(ModelStoreResource):
    def store(self) -> CardWriteFails:
        return CardWriteFails(self.uri)


def test_a_registration_that_fails_midway_exposes_no_version(env):
    prepare_training_set(env)
    failing = {
        **env["resources"],
        "model_store": FailingModelStore(uri=env["resources"]["model_store"].uri),
    }
    result = materialize(env, ["classifier"], resources=failing)
    assert not result.success
    registry = classifiers(env)
    assert registry.versions() == {}
    assert registry.champion() is None


def scores_metadata(env, day: str) -> dict:
    """The newest `comment_scores` materialization of partition `day`, as the UI shows it."""
    records = (
        env["instance"]
        .fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("comment_scores"), asset_partitions=[day]),
            limit=1,
        )
        .records
    )
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def test_a_range_run_of_comment_scores_gives_each_day_its_own_figures(env):
    """Scores stream in batches; each partition of a range run carries its own day's rows,
    rows per class and data version, which equal what the warehouse holds for that day, and
    scoring again with the same model gives the same versions."""
    from assets.score import comment_scores

    prepare_training_set(env)
    assert materialize(env, ["classifier"]).success
    env = {**env, "assets": [*env["assets"], comment_scores]}
    assert materialize(env, ["comment_scores"], tags=RANGE).success
    with duckdb.connect(env["settings"].warehouse, read_only=True) as con:
        counts = con.execute(
            "SELECT CAST(partition_date AS VARCHAR), predicted_label, count(*) "
            "FROM score.comment_scores GROUP BY ALL"
        ).fetchall()
    days = [str(START + dt.timedelta(days=n)) for n in range(DAYS)]
    versions = {}
    for day in days:
        shown = scores_metadata(env, day)
        by_class = {c: n for d, c, n in counts if d == day}
        assert shown["rows"] == shown["dagster/row_count"] == sum(by_class.values()) > 0
        assert shown["predicted_by_class"] == {
            name: by_class.get(i, 0) for i, name in enumerate(("ham", "spam"))
        }
        versions[day] = shown["data_version"]
    assert len(set(versions.values())) == DAYS  # a day's own hash, not the range's
    assert materialize(env, ["comment_scores"], tags=RANGE).success
    assert {day: scores_metadata(env, day)["data_version"] for day in days} == versions
