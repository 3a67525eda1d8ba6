"""Label assets: LF votes per day, LF analysis, the label model and the weak labels.

Thin wiring around `weak_supervision/` (the LFs and the label model), `training/` (the
warehouse reads, the model registry) and the task in `labeling_functions/`.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.versioning import DayContent, combined_version, day_contents, source_hash
from orchestration import COMMENT_FEATURES, WAREHOUSE_POOL, daily_partitions, user_errors
from resources.policies import PoliciesResource
from resources.stores import ModelStoreResource
from resources.warehouse import WarehouseResource
from storage.tables import replace_table, replace_window
from training.label_models import fit_label_model, load_label_model, weak_label_frame
from training.task import task
from training.votes import StaleVotesError
from training.warehouse import LF_COVERAGE_SCHEMA, LF_VOTES_SCHEMA, window_votes

OWNERS = ["team:ml"]
GOLD_LABELS = AssetKey("gold_labels")
# What each asset runs and reads: the votes need the LFs and the library; the assets over
# the training window also read the training policy, through `training/`.
LF_CODE = source_hash(
    "labeling_functions", "weak_supervision", "training/task.py", "assets/label.py"
)
WINDOW_CODE = source_hash(
    "labeling_functions", "weak_supervision", "training", "assets/label.py", "policies/training.yml"
)


@asset(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[COMMENT_FEATURES],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=LF_CODE,
    description=(
        "Votes of every labeling function on the day's comments (label.lf_votes, long form, "
        "abstains left out) with each LF's version, and per-LF coverage (label.lf_coverage)."
    ),
)
def lf_votes(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from weak_supervision import apply_lfs

    lfs = task().lfs
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    with warehouse.connect() as con:
        features = con.sql(  # a relation: Arrow without the DB-API result's extra copy
            "SELECT * FROM main.comment_features "
            "WHERE partition_date >= $start AND partition_date < $end",
            params={"start": start, "end": end},
        ).to_arrow_table()
        matrix = apply_lfs(con, features, lfs)
        days = pd.Series(
            features.column("partition_date").to_pylist(),
            index=features.column("comment_id").to_pylist(),
        ).loc[list(matrix.ids)]
        votes = matrix.to_frame(drop_abstains=True)
        votes.insert(1, "partition_date", days.loc[votes["comment_id"]].to_numpy())
        coverage = _coverage_by_day(matrix, days.to_numpy())
        for table, frame, schema in (
            ("label.lf_votes", votes, LF_VOTES_SCHEMA),
            ("label.lf_coverage", coverage, LF_COVERAGE_SCHEMA),
        ):
            rows = pa.Table.from_pandas(frame, preserve_index=False)
            replace_window(con, table, rows, start, end, schema)
        stored = [day_contents(con, t, start, end) for t in ("label.lf_votes", "label.lf_coverage")]
    for day, metadata in _day_metadata(matrix, days.to_numpy(), *stored).items():
        # Each partition's materialization carries its own day's figures, also in range runs.
        context.add_asset_metadata(metadata, partition_key=day)
    return MaterializeResult(
        metadata={
            "days_in_run": len(stored[0]),
            "lf_versions": MetadataValue.json(
                dict(zip(matrix.lf_names, matrix.lf_versions, strict=True))
            ),
        }
    )


def _day_metadata(
    matrix, days: np.ndarray, votes: dict[str, DayContent], coverage: dict[str, DayContent]
) -> dict[str, dict]:
    """Per day of the window: rows, votes, coverage by LF and by any LF, and a data version
    hashing the day's stored votes and coverage (a day without comments is empty, not absent)."""
    fired = pd.DataFrame(matrix.L != -1, columns=list(matrix.lf_names))
    fired.index = pd.Index([day.isoformat() for day in days], name="partition_date")
    share = fired.groupby(level=0).mean().reindex(list(votes), fill_value=0.0).round(4)
    any_lf = fired.any(axis=1).groupby(level=0).mean().reindex(list(votes), fill_value=0.0)
    rows = fired.groupby(level=0).size().reindex(list(votes), fill_value=0)
    return {
        day: {
            "rows": int(rows[day]),
            "votes": day_votes.rows,
            "coverage_by_lf": MetadataValue.json(
                {name: float(share.at[day, name]) for name in matrix.lf_names}
            ),
            "any_lf_coverage": round(float(any_lf[day]), 4),
            "data_version": combined_version(day_votes, coverage[day]),
            "dagster/row_count": day_votes.rows,
        }
        for day, day_votes in votes.items()
    }


def _coverage_by_day(matrix, days: np.ndarray) -> pd.DataFrame:
    """One row per (day, LF): rows of the day, votes, coverage; drift checks watch it."""
    frame = pd.DataFrame(matrix.L != -1, columns=list(matrix.lf_names))
    frame["partition_date"] = days
    grouped = frame.groupby("partition_date")
    votes = grouped.sum().melt(ignore_index=False, var_name="lf_name", value_name="votes")
    rows = grouped.size().rename("rows")
    out = votes.join(rows).reset_index()
    out["lf_version"] = out["lf_name"].map(
        dict(zip(matrix.lf_names, matrix.lf_versions, strict=True))
    )
    out["coverage"] = out["votes"] / out["rows"]
    return out[["partition_date", "lf_name", "lf_version", "rows", "votes", "coverage"]]


@asset(
    deps=[lf_votes, GOLD_LABELS],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    code_version=WINDOW_CODE,
    pool=WAREHOUSE_POOL,
    description="LF analysis over the training window against the dev gold labels.",
)
def lf_summary(warehouse: WarehouseResource, policies: PoliciesResource) -> MaterializeResult:
    from training.labeling_queue import uncovered_report
    from weak_supervision import dataset_summary, to_markdown
    from weak_supervision import lf_summary as summarize

    with warehouse.connect() as con, user_errors(StaleVotesError):
        votes = window_votes(con, task().lfs, policies.training().training_days)
        # Which rows no LF covers, by slice with example texts: where the next LF would help.
        uncovered = uncovered_report(con, votes, policies.training().seed)
    L, names, classes = votes.L, votes.lf_names, task().classes
    dev_rows, dev_y = votes.gold_rows("dev")
    table = summarize(L[dev_rows], names, Y=dev_y) if len(dev_rows) else summarize(L, names)
    table["polarity"] = [", ".join(classes[v] for v in labels) for labels in table["polarity"]]
    overall = {k: round(float(v), 4) for k, v in dataset_summary(L).items()}
    return MaterializeResult(
        metadata={
            "lf_summary": MetadataValue.md(to_markdown(table)),
            "training_rows": len(votes.ids),
            "dev_rows": len(dev_rows),
            "dataset": MetadataValue.json(overall),
            "uncovered_slices": MetadataValue.md(uncovered),
        }
    )


@asset(
    deps=[lf_votes, GOLD_LABELS],
    group_name="label",
    kinds={"python"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=WINDOW_CODE,
    description=(
        "The label model fitted on the training window's votes (never on gold test rows), "
        "with the class balance estimated from dev gold labels; registered as `label_model` "
        "in the model store and made champion, the model weak_labels use."
    ),
)
def label_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    model_store: ModelStoreResource,
    policies: PoliciesResource,
) -> MaterializeResult:
    policy, current = policies.training(), task()
    with warehouse.connect() as con, user_errors(StaleVotesError):
        votes = window_votes(con, current.lfs, policy.training_days)
    fitted = fit_label_model(votes, current, policy.seed, model_store.store())
    metadata = {
        "version": fitted.version,
        "uri": fitted.uri,
        "training_rows": fitted.training_rows,
        "partitions": MetadataValue.json(fitted.partitions),
        "class_balance": MetadataValue.json(fitted.class_balance),
        "learned_lf_accuracies": MetadataValue.json(fitted.lf_accuracies),
        "lf_versions": MetadataValue.json(fitted.lf_versions),
    }
    if fitted.dev_accuracy is not None:
        metadata["dev_accuracy"] = fitted.dev_accuracy
        metadata["dev_accuracy_majority_vote"] = fitted.dev_accuracy_majority_vote
    context.log.info(f"label model {fitted.version}: class balance {fitted.class_balance}")
    return MaterializeResult(metadata=metadata, data_version=DataVersion(fitted.version))


@asset(
    deps=[label_model],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=WINDOW_CODE,
    description=(
        "Probabilistic training labels for the training window (label.weak_labels), one "
        "probability column per class, from the champion label model (its version on each "
        "row); rows where every LF abstained are left out."
    ),
)
def weak_labels(
    warehouse: WarehouseResource, model_store: ModelStoreResource, policies: PoliciesResource
) -> MaterializeResult:
    current = task()
    version, model = load_label_model(model_store.store())
    with warehouse.connect() as con, user_errors(StaleVotesError):
        votes = window_votes(con, current.lfs, policies.training().training_days)
        frame = weak_label_frame(votes, model, version, current)
        replace_table(con, "label.weak_labels", pa.Table.from_pandas(frame, preserve_index=False))
    counts = frame["label"].value_counts().reindex(range(len(current.classes)), fill_value=0)
    return MaterializeResult(
        metadata={
            "rows": len(frame),
            "all_abstain_rows_left_out": len(votes.ids) - len(frame),
            "labels_by_class": MetadataValue.json(
                {name: int(counts[i]) for i, name in enumerate(current.classes)}
            ),
            "mean_confidence": float(frame["confidence"].mean()) if len(frame) else 0.0,
            "label_model_version": version,
            "dagster/row_count": len(frame),
        },
        data_version=DataVersion(f"{version}-{len(frame)}"),
    )
