"""Label assets: LF votes per day, LF analysis, the label model and the weak labels.

Thin wiring around `weak_supervision/` and the task in `labeling_functions/`.
"""

import hashlib
import json

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

from assets.versioning import source_hash
from orchestration import WAREHOUSE_POOL, daily_partitions
from resources.stores import ModelStoreResource
from resources.warehouse import WarehouseResource
from settings import Settings
from storage.tables import replace_table, replace_window
from training.policy import TrainingPolicy
from training.votes import align_gold, votes_to_matrix

OWNERS = ["team:ml"]
LF_CODE = source_hash("labeling_functions", "weak_supervision", "assets/label.py")
FEATURES = AssetKey("comment_features")
LABEL_MODEL_PREFIX = "label_model"


def task() -> tuple:
    """The task's class names and labeling functions (imported late: LFs import the library)."""
    import labeling_functions

    return labeling_functions.CLASSES, labeling_functions.LFS


def training_window(con, policy: TrainingPolicy) -> pd.DataFrame:
    """Comment ids and days the label model and the classifier learn from: every featured
    comment in the window that is not a gold `test` row."""
    rows = con.execute(
        "SELECT f.comment_id, f.partition_date FROM main.comment_features f "
        "WHERE NOT EXISTS (SELECT 1 FROM raw.gold_labels g "
        "                  WHERE g.comment_id = f.comment_id AND g.split = 'test') "
        "ORDER BY f.comment_id"
    ).df()
    if policy.training_days and len(rows):
        last = rows["partition_date"].max()
        rows = rows[rows["partition_date"] > last - pd.Timedelta(days=policy.training_days)]
    return rows.reset_index(drop=True)


def window_matrix(con, ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """The label matrix of `ids` from the stored votes, checked against the LFs' versions."""
    _, lfs = task()
    votes = con.execute("SELECT comment_id, lf_name, lf_version, vote FROM label.lf_votes").df()
    names = [lf.name for lf in lfs]
    return votes_to_matrix(ids, votes, names, [lf.version for lf in lfs]), names


@asset(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[FEATURES],
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

    _, lfs = task()
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    with warehouse.connect() as con:
        features = con.execute(
            "SELECT * FROM main.comment_features WHERE partition_date >= ? AND partition_date < ?",
            [start, end],
        ).to_arrow_table()
        matrix = apply_lfs(con, features, lfs)
        days = pd.Series(
            features.column("partition_date").to_pylist(),
            index=features.column("comment_id").to_pylist(),
        ).loc[list(matrix.ids)]
        votes = matrix.to_frame(drop_abstains=True)
        votes.insert(1, "partition_date", days.loc[votes["comment_id"]].to_numpy())
        coverage = _coverage_by_day(matrix, days.to_numpy())
        for table, frame in (("label.lf_votes", votes), ("label.lf_coverage", coverage)):
            replace_window(
                con, table, pa.Table.from_pandas(frame, preserve_index=False), start, end
            )
    covered = (matrix.L != -1).mean(axis=0) if len(matrix.ids) else np.zeros(len(lfs))
    return MaterializeResult(
        metadata={
            "rows": len(matrix.ids),
            "votes": len(votes),
            "coverage_by_lf": MetadataValue.json(
                {n: round(float(c), 4) for n, c in zip(matrix.lf_names, covered, strict=True)}
            ),
            "any_lf_coverage": float((matrix.L != -1).any(axis=1).mean())
            if len(matrix.ids)
            else 0.0,
            "lf_versions": MetadataValue.json(
                dict(zip(matrix.lf_names, matrix.lf_versions, strict=True))
            ),
            "dagster/row_count": len(votes),
        }
    )


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
    deps=[lf_votes, AssetKey("gold_labels")],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    code_version=LF_CODE,
    pool=WAREHOUSE_POOL,
    description="LF analysis over the training window against the dev gold labels.",
)
def lf_summary(warehouse: WarehouseResource) -> MaterializeResult:
    from weak_supervision import dataset_summary, to_markdown
    from weak_supervision import lf_summary as summarize

    policy = TrainingPolicy.load(Settings.from_env().training_policy_file)
    with warehouse.connect() as con:
        window = training_window(con, policy)
        L, names = window_matrix(con, window["comment_id"].tolist())
        gold = con.execute("SELECT comment_id, label, split FROM raw.gold_labels").df()
    dev_rows, dev_y = align_gold(window["comment_id"].tolist(), gold, "dev")
    table = summarize(L[dev_rows], names, Y=dev_y) if len(dev_rows) else summarize(L, names)
    overall = {k: round(float(v), 4) for k, v in dataset_summary(L).items()}
    return MaterializeResult(
        metadata={
            "lf_summary": MetadataValue.md(to_markdown(table)),
            "training_rows": len(window),
            "dev_rows": len(dev_rows),
            "dataset": MetadataValue.json(overall),
        }
    )


@asset(
    deps=[lf_votes, AssetKey("gold_labels")],
    group_name="label",
    kinds={"python"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=LF_CODE,
    description=(
        "The label model fitted on the training window's votes (never on gold test rows), "
        "with the class balance estimated from dev gold labels; saved as JSON in the model store."
    ),
)
def label_model(
    context: AssetExecutionContext, warehouse: WarehouseResource, model_store: ModelStoreResource
) -> MaterializeResult:
    from weak_supervision import LabelModel, MajorityVoter

    classes, lfs = task()
    policy = TrainingPolicy.load(Settings.from_env().training_policy_file)
    with warehouse.connect() as con:
        window = training_window(con, policy)
        ids = window["comment_id"].tolist()
        L, names = window_matrix(con, ids)
        gold = con.execute("SELECT comment_id, label, split FROM raw.gold_labels").df()
    if not len(ids):
        raise RuntimeError("no comment_features rows to learn from: materialize lf_votes first")
    dev_rows, dev_y = align_gold(ids, gold, "dev")
    # Dev gold rows steer EM as labelled rows, and give the class balance.
    dev = {"L_dev": L[dev_rows], "Y_dev": dev_y} if len(dev_y) else {}
    model = LabelModel(cardinality=len(classes)).fit(L, seed=policy.seed, **dev)
    payload = json.dumps(model.to_dict(), sort_keys=True).encode()
    version = hashlib.sha256(payload).hexdigest()[:16]
    store = model_store.store()
    store.put_bytes(f"{LABEL_MODEL_PREFIX}/{version}/label_model.json", payload)
    store.put_bytes(f"{LABEL_MODEL_PREFIX}/latest", version.encode())
    accuracies = dict(zip(names, np.round(model.lf_accuracies(), 4).tolist(), strict=True))
    metadata = {
        "version": version,
        "uri": store.uri(f"{LABEL_MODEL_PREFIX}/{version}/label_model.json"),
        "training_rows": len(ids),
        "partitions": MetadataValue.json(_partition_span(window)),
        "class_balance": MetadataValue.json(
            dict(zip(classes, np.round(model.class_balance_, 4).tolist(), strict=True))
        ),
        "learned_lf_accuracies": MetadataValue.json(accuracies),
        "lf_versions": MetadataValue.json({lf.name: lf.version for lf in lfs}),
    }
    if len(dev_rows):
        metadata["dev_accuracy"] = float(model.score(L[dev_rows], dev_y)["accuracy"])
        metadata["dev_accuracy_majority_vote"] = float(
            MajorityVoter(len(classes)).score(L[dev_rows], dev_y, tie_break="random")["accuracy"]
        )
    context.log.info(f"label model {version}: class balance {metadata['class_balance'].value}")
    return MaterializeResult(metadata=metadata, data_version=DataVersion(version))


def load_label_model(model_store: ModelStoreResource):
    """The latest fitted label model from the model store."""
    from weak_supervision import LabelModel

    store = model_store.store()
    if store.head(f"{LABEL_MODEL_PREFIX}/latest") is None:
        raise RuntimeError("no label model yet: materialize `label_model` first")
    version = store.get_bytes(f"{LABEL_MODEL_PREFIX}/latest").decode()
    data = store.get_bytes(f"{LABEL_MODEL_PREFIX}/{version}/label_model.json")
    return version, LabelModel.from_dict(json.loads(data))


def _partition_span(window: pd.DataFrame) -> dict:
    days = pd.to_datetime(window["partition_date"])
    return {
        "first": str(days.min().date()),
        "last": str(days.max().date()),
        "days": int(days.nunique()),
    }


@asset(
    deps=[label_model],
    group_name="label",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=LF_CODE,
    description=(
        "Probabilistic training labels for the training window (label.weak_labels), one "
        "probability column per class; rows where every LF abstained are left out."
    ),
)
def weak_labels(warehouse: WarehouseResource, model_store: ModelStoreResource) -> MaterializeResult:
    classes, _ = task()
    version, model = load_label_model(model_store)
    policy = TrainingPolicy.load(Settings.from_env().training_policy_file)
    with warehouse.connect() as con:
        window = training_window(con, policy)
        L, _ = window_matrix(con, window["comment_id"].tolist())
        proba = model.predict_proba(L) if len(L) else np.zeros((0, len(classes)))
        voted = (L != -1).any(axis=1)
        frame = window.loc[voted].copy()
        for i, name in enumerate(classes):
            frame[f"p_{name}"] = proba[voted, i]
        frame["label"] = proba[voted].argmax(axis=1)
        frame["confidence"] = proba[voted].max(axis=1)
        frame["label_model_version"] = version
        replace_table(con, "label.weak_labels", pa.Table.from_pandas(frame, preserve_index=False))
    counts = frame["label"].value_counts().reindex(range(len(classes)), fill_value=0)
    return MaterializeResult(
        metadata={
            "rows": len(frame),
            "all_abstain_rows_left_out": int((~voted).sum()),
            "labels_by_class": MetadataValue.json(
                {name: int(counts[i]) for i, name in enumerate(classes)}
            ),
            "mean_confidence": float(frame["confidence"].mean()) if len(frame) else 0.0,
            "label_model_version": version,
            "dagster/row_count": len(frame),
        },
        data_version=DataVersion(f"{version}-{len(frame)}"),
    )
