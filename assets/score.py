"""Score assets: the champion classifier scores each day's comments, in the warehouse
and as Parquet exports under `scores/dt=YYYY-MM-DD/` in the exports store."""

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.versioning import source_hash
from orchestration import (
    COMMENT_FEATURES,
    WAREHOUSE_POOL,
    daily_partitions,
    freshness_policy,
    user_errors,
)
from resources.stores import ExportsResource, ModelStoreResource
from resources.warehouse import WarehouseResource
from storage.tables import replace_window
from training.task import task
from training.warehouse import scores_schema


def score_frame(features: pd.DataFrame, model, version: str, classes, scored_at) -> pd.DataFrame:
    """The scores table for some featured comments (pure; tests call it directly)."""
    proba = model.predict_proba(features) if len(features) else np.zeros((0, len(classes)))
    out = features[["comment_id", "partition_date"]].reset_index(drop=True)
    out["partition_date"] = pd.to_datetime(out["partition_date"]).dt.date  # DATE, as upstream
    out["predicted_label"] = proba.argmax(axis=1).astype("int32")
    for i, name in enumerate(classes):
        out[f"p_{name}"] = proba[:, i]
    out["model_version"] = version
    out["scored_at"] = pd.Timestamp(scored_at)
    return out


@asset(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[COMMENT_FEATURES, AssetKey("classifier")],
    group_name="score",
    kinds={"scikitlearn", "duckdb", "parquet"},
    owners=["team:ml"],
    pool=WAREHOUSE_POOL,
    code_version=source_hash("assets/score.py"),
    freshness_policy=freshness_policy("comment_scores"),
    description=(
        "The champion model's scores for the day's comments (score.comment_scores: "
        "`predicted_label`, one `p_<class name>` probability per class, `model_version`, "
        "`scored_at`), exported as Parquet to "
        "scores/dt=YYYY-MM-DD/ in the exports store. Re-running a day replaces it."
    ),
)
def comment_scores(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    exports: ExportsResource,
) -> MaterializeResult:
    from training.registry import ModelRegistry, NoChampionError, RefusedArtifactError

    classes = task().classes
    with user_errors(NoChampionError, RefusedArtifactError):
        version, model = ModelRegistry(model_store.store()).load_champion()
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with warehouse.connect() as con:
        features = con.execute(
            "SELECT * FROM main.comment_features WHERE partition_date >= ? AND partition_date < ? "
            "ORDER BY partition_date, comment_id",
            [start, end],
        ).df()
        scores = score_frame(features, model, version, classes, scored_at)
        table = pa.Table.from_pandas(scores, preserve_index=False)
        replace_window(con, "score.comment_scores", table, start, end, scores_schema(classes))
    store = exports.store()
    exported = {}
    for day, rows in scores.groupby("partition_date"):
        key = f"scores/dt={pd.Timestamp(day).date()}/scores.parquet"
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), buf)
        store.put_bytes(key, buf.getvalue())
        exported[key] = len(rows)
    means = {f"mean_p_{c}": float(scores[f"p_{c}"].mean()) for c in classes if len(scores)}
    return MaterializeResult(
        metadata={
            "rows": len(scores),
            "model_version": version,
            "predicted_by_class": MetadataValue.json(
                {c: int((scores["predicted_label"] == i).sum()) for i, c in enumerate(classes)}
            ),
            **means,
            "exports": MetadataValue.json({store.uri(k): n for k, n in exported.items()}),
            "dagster/row_count": len(scores),
        }
    )
