"""Train assets: the training set from weak labels, and the classifier with its model card.

Thin wiring around `training/`: read the warehouse, fit, evaluate on gold `test`
rows, register the model with its lineage, offer it for promotion.
"""

import datetime as dt
import hashlib
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.label import load_label_model, task, weak_labels, window_matrix
from assets.versioning import source_hash
from orchestration import WAREHOUSE_POOL
from resources.stores import ModelStoreResource
from resources.warehouse import WarehouseResource
from settings import PROJECT_ROOT, Settings
from storage.object_store import LocalObjectStore
from storage.tables import replace_table
from training.classifier import ClassifierConfig
from training.dataset import balance, class_counts
from training.policy import TrainingPolicy

OWNERS = ["team:ml"]
TRAIN_CODE = source_hash("training", "assets/train.py", "policies/training.yml")
FEATURES = AssetKey("comment_features")


@asset(
    deps=[weak_labels, FEATURES],
    group_name="train",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=TRAIN_CODE,
    description=(
        "Weak labels joined with comment_features (train.training_set); gold test rows are "
        "excluded, low-confidence labels dropped and classes balanced per policies/training.yml."
    ),
)
def training_set(warehouse: WarehouseResource) -> MaterializeResult:
    classes, _ = task()
    policy = TrainingPolicy.load(Settings.from_env().training_policy_file)
    with warehouse.connect() as con:
        frame = con.execute(
            "SELECT f.*, w.* EXCLUDE (comment_id, partition_date) "
            "FROM label.weak_labels w JOIN main.comment_features f USING (comment_id) "
            "WHERE NOT EXISTS (SELECT 1 FROM raw.gold_labels g "
            "                  WHERE g.comment_id = w.comment_id AND g.split = 'test') "
            "AND w.confidence >= ? ORDER BY comment_id",
            [policy.min_confidence],
        ).df()
        before = class_counts(frame, classes)
        balanced = balance(frame, classes, policy.class_balance, policy.seed)
        replace_table(
            con, "train.training_set", pa.Table.from_pandas(balanced, preserve_index=False)
        )
    weighted = balanced.assign(
        **{f"p_{c}": balanced[f"p_{c}"] * balanced["weight"] for c in classes}
    )
    return MaterializeResult(
        metadata={
            "rows": len(balanced),
            "class_balance_before": MetadataValue.json(before),
            "class_balance_after": MetadataValue.json(class_counts(weighted, classes)),
            "balancing": policy.class_balance,
            "min_confidence": policy.min_confidence,
            "dagster/row_count": len(balanced),
        }
    )


def _test_rows(con) -> pd.DataFrame:
    """Gold test rows with their features: what every model is judged on."""
    return con.execute(
        "SELECT f.*, g.label AS gold_label FROM main.comment_features f "
        "JOIN raw.gold_labels g USING (comment_id) WHERE g.split = 'test' ORDER BY comment_id"
    ).df()


def _partition_versions(context: AssetExecutionContext, key: str, days: set[str]) -> dict:
    """Latest data version of each partition of `key` among `days` (lineage for the card)."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(key)), limit=10_000
    ).records
    versions: dict[str, str] = {}
    for record in records:  # newest first
        partition = record.partition_key
        if partition in days and partition not in versions:
            versions[partition] = record.asset_materialization.tags.get("dagster/data_version", "")
    return dict(sorted(versions.items()))


def _dbt_code_versions() -> dict[str, str | None]:
    """Code version (SQL + macros hash) of every dbt model, for the model card."""
    from assets.transform import dbt_daily_models, dbt_full_models

    return {
        key.to_user_string(): version
        for assets_def in (dbt_daily_models, dbt_full_models)
        for key, version in assets_def.code_versions_by_key.items()
    }


@asset(
    deps=[training_set],
    group_name="train",
    kinds={"scikitlearn", "python"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=TRAIN_CODE,
    description=(
        "A scikit-learn Pipeline trained on weak labels, evaluated on gold test rows next to "
        "the label model and majority vote, registered with its model card and plots, and "
        "promoted to champion only if its test F1 is within tolerance of the champion's."
    ),
)
def classifier(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    from training import plots
    from training.classifier import fit_soft
    from training.evaluation import comparison_markdown, evaluate
    from training.model_card import card_markdown, git_commit, library_versions
    from training.registry import ModelRegistry
    from weak_supervision import MajorityVoter

    classes, lfs = task()
    policy = TrainingPolicy.load(Settings.from_env().training_policy_file)
    config = ClassifierConfig(seed=policy.seed)
    with warehouse.connect() as con:
        train = con.execute("SELECT * FROM train.training_set ORDER BY comment_id").df()
        test = _test_rows(con)
        L_test, _ = window_matrix(con, test["comment_id"].tolist())
    if train.empty:
        raise RuntimeError("train.training_set is empty: materialize weak_labels and training_set")
    proba_cols = [f"p_{c}" for c in classes]
    model = fit_soft(config, train, train[proba_cols].to_numpy(), train["weight"].to_numpy())
    artifact = pickle.dumps(model, protocol=5)

    lm_version, label_model = load_label_model(model_store)
    y = test["gold_label"].to_numpy()
    scores = {
        "classifier": model.predict_proba(test),
        "label_model": label_model.predict_proba(L_test),
        "majority_vote": MajorityVoter(len(classes)).predict_proba(L_test),
    }
    metrics = {name: evaluate(y, proba) for name, proba in scores.items()} if len(y) else {}
    if not metrics:
        raise RuntimeError("no gold test rows among the featured comments: land labels/*.csv")

    days = {str(d) for d in pd.to_datetime(train["partition_date"]).dt.date.unique()}
    version = (
        dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        + f"-{hashlib.sha256(artifact).hexdigest()[:8]}"
    )
    card = {
        "name": "classifier",
        "classes": list(classes),
        "config": {k: v for k, v in vars(config).items()},
        "metrics": metrics,
        "training": {"rows": len(train), "policy": vars(policy)},
        "lineage": {
            "partitions": sorted(days),
            "data_versions": {
                "raw_comments": _partition_versions(context, "raw_comments", days),
                "lf_votes": _partition_versions(context, "lf_votes", days),
            },
            "lf_versions": {lf.name: lf.version for lf in lfs},
            "label_model": {"version": lm_version,
                            "class_balance": label_model.class_balance_.round(4).tolist()},
            "dbt_code_versions": _dbt_code_versions(),
            "git_commit": git_commit(PROJECT_ROOT),
        },
        "libraries": library_versions(),
    }  # fmt: skip
    positive = 1 if len(classes) == 2 else 0
    figures = {
        "precision_recall.png": plots.precision_recall_png(
            y, {n: p[:, positive] for n, p in scores.items()}, positive
        ),
        "calibration.png": plots.calibration_png(
            y, {n: p[:, positive] for n, p in scores.items()}, positive
        ),
        "confusion_matrix.png": plots.confusion_png(
            metrics["classifier"]["confusion_matrix"], classes
        ),
        "top_terms.png": plots.top_terms_png(plots.top_terms(model, classes)),
        "labeling_functions.png": _lf_plot(warehouse, train["comment_id"].tolist()),
    }
    registry = ModelRegistry(model_store.store())
    digest = registry.register(version, artifact, card, extra_files=figures)
    decision = registry.offer(version, policy.champion_tolerance)
    card = {**registry.card(version), "promotion": vars(decision)}
    page = card_markdown(card, list(figures)).encode()
    registry.store.put_bytes(f"{registry.root}/{version}/card.md", page)
    context.log.info(f"classifier {version}: {decision.reason}")

    store = registry.store
    link = (
        MetadataValue.path(registry.uri(version, "card.md"))
        if isinstance(store, LocalObjectStore)
        else MetadataValue.url(registry.uri(version, "card.md"))
    )
    return MaterializeResult(
        metadata={
            "version": version,
            "artifact_sha256": digest,
            "champion": registry.champion() or "",
            "promoted": decision.promoted,
            "promotion_reason": decision.reason,
            "test_metrics": MetadataValue.md(comparison_markdown(metrics)),
            "test_f1": metrics["classifier"]["f1"],
            "test_accuracy": metrics["classifier"]["accuracy"],
            "model_card": link,
            "plots": MetadataValue.json({name: registry.uri(version, name) for name in figures}),
            "training_rows": len(train),
        },
        data_version=DataVersion(digest[:16]),
    )


def _lf_plot(warehouse: WarehouseResource, ids: list[str]) -> bytes:
    """Coverage over the training rows and accuracy on dev gold, per LF."""
    from training import plots
    from training.votes import align_gold

    with warehouse.connect() as con:
        L, names = window_matrix(con, ids)
        gold = con.execute("SELECT comment_id, label, split FROM raw.gold_labels").df()
    rows, y = align_gold(ids, gold, "dev")
    coverage = (L != -1).mean(axis=0) if len(L) else np.zeros(len(names))
    accuracy = []
    for j in range(len(names)):
        fired = L[rows, j] != -1
        accuracy.append(float((L[rows, j][fired] == y[fired]).mean()) if fired.any() else np.nan)
    return plots.lf_png(names, coverage.tolist(), accuracy)
