"""Benchmark (issue 15, item 2): AG News, four classes, through the whole pipeline.

    .venv/bin/python -m bench.bench_ag_news [--workdir DIR [--report-only]]

(It sets `SLUICE_TASK=ag_news` for itself and the runs it starts.)

The 7,600 articles are landed as a user would land them (bench/ag_news_data.py: daily
comment files plus `labels/ag_news.csv` with 100 `dev` and 1,900 `test` rows), and every
asset of the code location is materialized with `SLUICE_TASK=ag_news`, through
`dagster asset materialize` subprocesses in the demo's order (`demo.__main__`). The LFs are
`labeling_functions/ag_news.py`, written from the dev sample only (see its docstring).

Reported on the held `test` split, read from the registered classifier's model card: the
classifier trained on weak labels, the label model that made them and majority vote; and the
gold-trained ceiling: the same classifier (`sklearn.base.clone` of the registered model: same
type and hyperparameters, seed included) trained on the gold labels of the whole training
pool (5,700 rows, hard labels), scored on the same test rows. Also: LF coverage on test, and
the classifier on covered and uncovered test rows. Targets (issue 15, Done when): classifier
>= label model, and classifier within 5 points of the ceiling. Writes
bench/results/ag_news.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from bench.ag_news_data import ag_news_split, dataset_file, land_ag_news, read_articles
from bench.machine import MISSED_TARGET, machine, write_result

CEILING_GAP = 0.05


def use(data_dir: Path) -> None:
    """Point this process (and the runs it starts) at `data_dir` and the AG News task."""
    os.environ.update(
        SLUICE_TASK="ag_news",
        SLUICE_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(data_dir / "dagster_home"),
    )


def run_pipeline(data_dir: Path) -> dict[str, float]:
    """Land AG News into `data_dir` and materialize every asset; seconds per stage."""
    use(data_dir)
    from demo.__main__ import _ensure_dagster_home, landed_days, materialization_waves, materialize
    from ingest.policy import Policy
    from settings import Settings
    from storage.object_store import open_store

    settings = Settings.from_env()
    _ensure_dagster_home(settings)
    path = dataset_file()
    assert path is not None
    start = time.perf_counter()
    land_ag_news(path, open_store(settings.landing))
    days, _ = landed_days(open_store(settings.landing))
    late = Policy.load(settings.policy_file).late_arrival_days
    first = max(days[0] - dt.timedelta(days=late), settings.start_date)
    landed = time.perf_counter()
    for partitioned, keys in materialization_waves():
        materialize(keys, f"{first}...{days[-1]}" if partitioned else None)
    return {"land_s": landed - start, "pipeline_s": time.perf_counter() - landed}


def classifier_card(model_store: str) -> dict[str, Any]:
    """The card of the newest registered classifier."""
    from storage.object_store import open_store
    from training.registry import ModelRegistry

    registry = ModelRegistry(open_store(model_store), "classifier")
    newest = max(registry.versions().items(), key=lambda item: item[1]["registered_at"])[0]
    return registry.card(newest)


def ceiling_and_slices(warehouse: str, model: Any) -> dict[str, Any]:
    """The gold-trained ceiling (an unfitted clone of the registered `model`: same type, same
    hyperparameters, fitted on the pool's gold labels), and test coverage."""
    from sklearn.base import clone

    from training.evaluation import evaluate
    from training.task import task
    from weak_supervision import lf_summary, to_markdown

    path = dataset_file()
    assert path is not None
    split = ag_news_split(read_articles(path))
    with duckdb.connect(warehouse, read_only=True) as con:
        features = con.execute("SELECT * FROM main.comment_features ORDER BY comment_id").df()
        votes = con.execute("SELECT comment_id, lf_name, vote FROM label.lf_votes").df()
    features = features.set_index("comment_id", drop=False)
    train = features.loc[features.index.intersection(split["train"]["comment_id"])]
    test = features.loc[features.index.intersection(split["test"]["comment_id"])]
    gold = {r.comment_id: r.label for s in ("train", "test") for r in split[s].itertuples()}
    y_train = train["comment_id"].map(gold).to_numpy()
    y_test = test["comment_id"].map(gold).to_numpy()
    ceiling = clone(model).fit(train, y_train)
    names = [lf.name for lf in task().lfs]
    L = np.full((len(test), len(names)), -1, dtype=np.int8)
    rows = test.index.get_indexer(votes["comment_id"])
    cols = np.array([names.index(n) for n in votes["lf_name"]])
    keep = rows >= 0
    L[rows[keep], cols[keep]] = votes["vote"].to_numpy()[keep]
    covered = (L != -1).any(axis=1)
    return {
        "ceiling": evaluate(y_test, ceiling.predict_proba(test)),
        "train_rows": len(train),
        "test_rows": len(test),
        "test_coverage": float(covered.mean()),
        "lf_summary_test": to_markdown(lf_summary(L, names, Y=y_test)),
        "covered": covered,
        "y_test": y_test,
        "test": test,
    }


def main(argv: list[str] | None = None) -> int | None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep the run here (default: temporary)")
    parser.add_argument(
        "--report-only", action="store_true", help="report on the run already in --workdir"
    )
    args = parser.parse_args(argv)
    if args.report_only and not args.workdir:
        parser.error("--report-only needs --workdir")
    if dataset_file() is None:
        return None
    info = machine()
    with tempfile.TemporaryDirectory(prefix="sluice-agnews-") as tmp:
        data_dir = (args.workdir or Path(tmp)).resolve()
        if args.report_only:
            use(data_dir)
            timings = {}
        else:
            timings = run_pipeline(data_dir)
        from settings import Settings
        from storage.object_store import open_store
        from training.classifier import loads
        from training.evaluation import evaluate
        from training.registry import ModelRegistry

        settings = Settings.from_env()
        card = classifier_card(settings.model_store)
        registry = ModelRegistry(open_store(settings.model_store), "classifier")
        model = loads(registry.load_bytes(card["version"]))
        facts = ceiling_and_slices(settings.warehouse, model)
    proba = model.predict_proba(facts["test"])
    covered, y = facts["covered"], facts["y_test"]
    metrics = {
        **{name: card["metrics"][name] for name in ("classifier", "label_model", "majority_vote")},
        "gold-trained ceiling": facts["ceiling"],
        "classifier, covered test rows": evaluate(y[covered], proba[covered]),
        "classifier, uncovered test rows": evaluate(y[~covered], proba[~covered]),
    }
    return report(metrics, facts, card, timings, info)


def report(metrics: dict, facts: dict, card: dict, timings: dict, info: dict) -> int:
    from training.evaluation import comparison_markdown

    acc = {name: m["accuracy"] for name, m in metrics.items()}
    checks = {
        "classifier >= label model": acc["classifier"] >= acc["label_model"],
        "classifier within 5 points of ceiling": (
            acc["gold-trained ceiling"] - acc["classifier"] <= CEILING_GAP
        ),
    }
    result = {
        "machine": info,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "classifier_version": card["version"],
        "training_rows": card["training"]["rows"],
        "ceiling_training_rows": facts["train_rows"],
        "test_rows": facts["test_rows"],
        "test_lf_coverage": round(facts["test_coverage"], 4),
        "accuracy": {k: round(v, 4) for k, v in acc.items()},
        "metrics": metrics,
        "lf_summary_test": facts["lf_summary_test"],
        "targets": checks,
    }
    path = write_result("ag_news", result)
    print(comparison_markdown(metrics))
    print(f"\ntest LF coverage {facts['test_coverage']:.3f}; targets {checks}; wrote {path}")
    return 0 if all(checks.values()) else MISSED_TARGET


if __name__ == "__main__":
    raise SystemExit(main())
