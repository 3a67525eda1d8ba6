"""Score assets: the champion classifier scores each day's comments, in the warehouse
and as Parquet exports under `scores/dt=YYYY-MM-DD/` in the exports store.

Thin wiring around `training.scoring`, which streams the window in Arrow batches."""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    DataVersion,
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
from training.task import task


def _day_metadata(scored, day: str, version: str) -> dict:
    """One partition's own figures: its rows, rows per predicted class, mean probabilities,
    export and the data version of its scores."""
    figures = scored.days[day]
    export = scored.exports.get(day)
    return {
        "rows": figures.rows,
        "model_version": version,
        "predicted_by_class": MetadataValue.json(figures.rows_by_class),
        **{f"mean_p_{name}": p for name, p in figures.mean_proba.items()},
        **({"export": export} if export else {}),
        "data_version": figures.data_version,
        "dagster/row_count": figures.rows,
    }


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
        "`predicted_label`, one probability column per class named `p_` followed by the class "
        "name, `model_version`, `scored_at`), exported as Parquet to "
        "scores/dt=YYYY-MM-DD/ in the exports store. Scored in batches; re-running a day "
        "replaces it. Each day's materialization carries that day's own counts and data version."
    ),
)
def comment_scores(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    exports: ExportsResource,
) -> MaterializeResult:
    from training.registry import ModelRegistry, NoChampionError, RefusedArtifactError
    from training.scoring import score_window

    classes = task().classes
    with user_errors(NoChampionError, RefusedArtifactError):
        version, model = ModelRegistry(model_store.store()).load_champion()
    window = context.partition_time_window
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with warehouse.connect() as con:
        scored = score_window(con, exports.store(), model, version, classes,
                              (window.start.date(), window.end.date()), scored_at)  # fmt: skip
    for day in scored.days:
        # Each partition's materialization carries its own day's figures, also in range runs.
        context.add_asset_metadata(_day_metadata(scored, day, version), partition_key=day)
    context.log.info(f"scored {scored.rows} rows over {len(scored.days)} day(s) with {version}")
    return MaterializeResult(
        metadata={"model_version": version, "days_in_run": len(scored.days)},
        data_version=DataVersion(scored.data_version),
    )
