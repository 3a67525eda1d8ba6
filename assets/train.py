"""Train assets: the training set from weak labels, and the classifier with its model card.

Thin wiring around `training/`: read the warehouse, hand the data and the lineage only
Dagster knows (partition data versions, dbt code versions) to `train_classifier`, and turn
its outcome into metadata.
"""

from dataclasses import asdict

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

from assets.dbt_project import dbt_code_versions
from assets.versioning import source_hash
from orchestration import COMMENT_FEATURES, RAW_COMMENTS, WAREHOUSE_POOL, user_errors
from resources.instance import materializations
from resources.policies import PoliciesResource
from resources.stores import LandingZoneResource, ModelStoreResource
from resources.warehouse import WarehouseResource
from storage.tables import replace_table
from training.dataset import balance, class_counts
from training.evaluation import comparison_markdown
from training.lineage import build_inputs
from training.registry import ModelRegistry
from training.self_training import uncovered_rows
from training.task import task
from training.train import NAME as CLASSIFIER
from training.train import TrainingOutcome, train_classifier
from training.votes import StaleVotesError
from training.warehouse import classifier_data, weak_label_rows

OWNERS = ["team:ml"]
TRAIN_CODE = source_hash("training", "assets/train.py", "policies/training.yml")
WEAK_LABELS = AssetKey("weak_labels")
LF_VOTES = AssetKey("lf_votes")


@asset(
    deps=[WEAK_LABELS, COMMENT_FEATURES],
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
def training_set(warehouse: WarehouseResource, policies: PoliciesResource) -> MaterializeResult:
    classes, policy = task().classes, policies.training()
    with warehouse.connect() as con:
        frame = weak_label_rows(con, policy.min_confidence)
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
            "class_balance_before": MetadataValue.json(class_counts(frame, classes)),
            "class_balance_after": MetadataValue.json(class_counts(weighted, classes)),
            "balancing": policy.class_balance,
            "min_confidence": policy.min_confidence,
            "dagster/row_count": len(balanced),
        }
    )


def _partition_versions(context: AssetExecutionContext, key: AssetKey, days: set[str]) -> dict:
    """Latest data version of each partition of `key` among `days` (lineage for the card):
    the day's own content hash where the asset records one (`data_version` metadata, true
    per day in range runs too), else the materialization's data-version tag."""
    records_filter = AssetRecordsFilter(asset_key=key, asset_partitions=sorted(days))
    versions: dict[str, str] = {}
    for record in materializations(context.instance, records_filter):  # newest first
        event = record.asset_materialization
        if record.partition_key not in versions:
            own = event.metadata.get("data_version")
            versions[record.partition_key] = (
                str(own.value) if own is not None else event.tags.get("dagster/data_version", "")
            )
    return dict(sorted(versions.items()))


def _card_page(model_store: ModelStoreResource, outcome: TrainingOutcome) -> str:
    """The registered card as one Markdown page with its plots inline (small PNGs as data:
    URIs), so the UI shows the whole card where a file path would only name it."""
    from training.model_card import card_markdown
    from training.plots import compact_png

    registry = ModelRegistry(model_store.store(), CLASSIFIER)
    card = {**registry.card(outcome.version), "promotion": asdict(outcome.decision)}
    folder = f"{registry.root}/{outcome.version}"
    images = {name: compact_png(registry.store.get_bytes(f"{folder}/{name}"))
              for name in outcome.plot_uris}  # fmt: skip
    return card_markdown(card, list(images), embedded=images)


@asset(
    deps=[training_set],
    group_name="train",
    kinds={"scikitlearn", "python"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=TRAIN_CODE,
    description=(
        "A scikit-learn classifier trained on weak labels, evaluated on gold test rows next to "
        "the label model that made its training labels and majority vote, registered with its "
        "model card and plots, and promoted to champion only if its test F1 is within "
        "tolerance of the champion's."
    ),
)
def classifier(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    policies: PoliciesResource,
    landing_zone: LandingZoneResource,
) -> MaterializeResult:
    current = task()
    with warehouse.connect() as con, user_errors(StaleVotesError):
        data = classifier_data(con, current.lfs)
        unlabeled = uncovered_rows(con)
    days = set(data.partitions)
    data_versions = {key.to_user_string(): _partition_versions(context, key, days)
                     for key in (RAW_COMMENTS, COMMENT_FEATURES, LF_VOTES)}  # fmt: skip
    # Landing files with their ETags and both policies: what `training reproduce` checks.
    inputs = build_inputs(landing_zone.store(), data.partitions, policies.ingest_file,
                          policies.training_file)  # fmt: skip
    outcome = train_classifier(
        data,
        current,
        policies.training(),
        model_store.store(),
        data_versions=data_versions,
        dbt_code_versions=dbt_code_versions(),
        inputs=inputs,
        unlabeled=unlabeled,
    )
    context.log.info(f"classifier {outcome.version}: {outcome.decision.reason}")
    on_s3 = outcome.card_uri.startswith("s3://")
    classifier_metrics = outcome.metrics["classifier"]
    return MaterializeResult(
        metadata={
            "version": outcome.version,
            "artifact_sha256": outcome.sha256,
            "champion": outcome.champion or "",
            "promoted": outcome.decision.promoted,
            "promotion_reason": outcome.decision.reason,
            "test_metrics": MetadataValue.md(comparison_markdown(outcome.metrics)),
            "test_f1": classifier_metrics["f1"],
            "test_accuracy": classifier_metrics["accuracy"],
            "model_card": MetadataValue.md(_card_page(model_store, outcome)),
            "model_card_file": (MetadataValue.url if on_s3 else MetadataValue.path)(
                outcome.card_uri
            ),
            "training_rows": outcome.training_rows,
        },
        data_version=DataVersion(outcome.sha256[:16]),
    )
