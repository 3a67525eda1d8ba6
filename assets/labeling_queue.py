"""The labeling queue: rows whose hand labels would teach the most, exported as a gold-label
CSV for an annotator, and the largest slices no LF covers.

Thin wiring around `training/labeling_queue.py`, which holds the whole method.
"""

from dagster import AssetKey, MaterializeResult, MetadataValue, asset

from assets.versioning import source_hash
from orchestration import WAREHOUSE_POOL, user_errors
from resources.policies import PoliciesResource
from resources.stores import ExportsResource, ModelStoreResource
from resources.warehouse import WarehouseResource
from training.label_models import load_label_model
from training.labeling_queue import build_queue, slices_markdown
from training.task import task
from training.votes import StaleVotesError
from training.warehouse import window_votes

QUEUE_PREFIX = "labeling_queue"
# What the queue runs and reads: the LFs and the library, `training/`, the training policy.
QUEUE_CODE = source_hash(
    "labeling_functions", "weak_supervision", "training", "assets/labeling_queue.py",
    "policies/training.yml",
)  # fmt: skip


@asset(
    deps=[AssetKey("label_model"), AssetKey("lf_votes"), AssetKey("gold_labels")],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=["team:ml"],
    pool=WAREHOUSE_POOL,
    code_version=QUEUE_CODE,
    description=(
        "Rows of the training window worth labelling by hand (label-model uncertainty, LF "
        "conflicts, rows no LF covers, spread across clusters of the texts), exported as "
        "labeling_queue/<label model version>.csv in the exports store: the gold-label CSV "
        "format with `label` empty and split `dev`. Fill in `label`, drop the file into the "
        "landing zone's labels/, and the next label_model run fits with those dev rows."
    ),
)
def labeling_queue(
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    exports: ExportsResource,
    policies: PoliciesResource,
) -> MaterializeResult:
    policy = policies.training()
    version, model = load_label_model(model_store.store())
    with warehouse.connect() as con, user_errors(StaleVotesError):
        votes = window_votes(con, task().lfs, policy.training_days)
        queue = build_queue(con, votes, model, policy.seed)
    store = exports.store()
    key = f"{QUEUE_PREFIX}/{version}.csv"
    store.put_bytes(key, queue.csv_bytes())
    return MaterializeResult(
        metadata={
            "queue_uri": MetadataValue.path(store.uri(key)),
            "rows": len(queue.rows),
            "rows_by_reason": MetadataValue.json(queue.reasons()),
            "window_rows": queue.window_rows,
            "uncovered_rows": queue.uncovered_rows,
            "conflict_rows": queue.conflict_rows,
            "uncovered_slices": MetadataValue.md(slices_markdown(queue.slices)),
            "label_model_version": version,
            "dagster/row_count": len(queue.rows),
        }
    )
