"""Benchmark (issue 16, item 2): what upstream reduction costs and buys the classifier.

    .venv/bin/python -m bench.bench_reduction                      # the three datasets
    .venv/bin/python -m bench.bench_reduction --datasets youtube   # one of them
    .venv/bin/python -m bench.bench_reduction --datasets ag_news --settings none all  # a subset

For each dataset the landed files are ingested five times by the project's own ingest
(`ingest.days.ingest_days`, the pipeline's rules) under `policies/ingest.yml` with the
reduction rules toggled: all off (`none`), one rule on alone (`comment_id` =
`dedupe.comment_id`, `author_text` = `dedupe.author_text`, `near_duplicate`), and all on
(`all`, the default policy); every other rule is the file's. Each ingest gets its own
warehouse and the real dbt run of `comment_features` (the history features the spam LFs read,
such as `text_prior_count`, depend on what was kept). Then, per setting, as the pipeline does:
the task's LFs vote, the label model (`weak_supervision.LabelModel`, dev gold as labelled
rows) is fitted on the kept training-pool rows, and `SoftLabelClassifier` (defaults, seed
123, weak labels only: no self-training) is fitted on the LF-covered rows of a seeded
10 / 25 / 50 / 100 % sample of the kept training-pool rows (nested samples).

Every setting is scored on the same gold test rows (one row per test id, as ingested with
all rules off; the classifier reads only the text), which never enter training. Nothing
here was tuned: the rules' settings are the policy file's, the classifier's its defaults.

Datasets: the YouTube reference split (DESIGN.md, "Evaluation"), the synthetic stream of
`python -m demo` (30 days x 200 comments, seed 7, with its noise; gold labels on 20 % of the
original records instead of the demo's 5 %, so the test split holds ~600 rows, not ~150),
and AG News (bench/ag_news_data.py). Writes bench/results/reduction_<dataset>.json (or
reduction_<dataset>__<settings>.json for a subset, so one dataset's settings can run in
parallel processes), then combines the newest of each into bench/results/reduction.json and
bench/results/reduction.png (test accuracy vs training-set size, a panel per dataset).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.machine import RESULTS, machine, write_result

SEED = 123
FRACTIONS = (0.10, 0.25, 0.50, 1.00)
# Setting name -> (dedupe.comment_id, dedupe.author_text, near_duplicate.enabled).
SETTINGS: dict[str, tuple[bool, bool, bool]] = {
    "none": (False, False, False),
    "comment_id": (True, False, False),
    "author_text": (False, True, False),
    "near_duplicate": (False, False, True),
    "all": (True, True, True),
}
RULE_REASONS = ("duplicate_comment_id", "duplicate_author_text", "near_duplicate")
SYNTHETIC = {"days": 30, "per_day": 200, "seed": 7, "label_share": 0.2}


@dataclass(frozen=True)
class Landed:
    """A dataset landed in a store: the days to ingest, the task, and gold ids per split."""

    days: list[dt.date]
    task: str
    gold: pd.DataFrame  # comment_id, label, split (train ids only where gold is known)
    pool: Callable[[pd.Series], np.ndarray]  # which comment ids may enter training


def land_youtube(store: Any) -> Landed | None:
    from bench.youtube_data import dataset_folder
    from demo.youtube import land_youtube as land
    from demo.youtube import youtube_split

    folder = dataset_folder()
    if folder is None:
        return None
    report = land(folder, store)
    split = youtube_split(folder)
    gold = _gold({name: split[name] for name in ("dev", "test")})
    pool_ids = set(split["train"]["comment_id"]) - set(split["test"]["comment_id"])
    return Landed(report.days, "spam", gold, lambda ids: ids.isin(pool_ids).to_numpy())


def land_synthetic(store: Any) -> Landed:
    from demo.synthetic import generate

    params = {k: v for k, v in SYNTHETIC.items() if k != "label_share"}
    report = generate(store, dt.date(2024, 1, 1), label_share=SYNTHETIC["label_share"], **params)
    gold = pd.read_csv(
        io.BytesIO(store.get_bytes("labels/synthetic.csv")), dtype={"comment_id": str}
    )
    test_ids = set(gold.loc[gold["split"] == "test", "comment_id"])
    return Landed(report.days, "spam", gold, lambda ids: (~ids.isin(test_ids)).to_numpy())


def land_ag_news(store: Any) -> Landed | None:
    from bench.ag_news_data import ag_news_split, dataset_file, read_articles
    from bench.ag_news_data import land_ag_news as land

    path = dataset_file()
    if path is None:
        return None
    report = land(path, store)
    split = ag_news_split(read_articles(path))
    gold = _gold({name: split[name] for name in ("dev", "test")})
    pool_ids = set(split["train"]["comment_id"])
    return Landed(report.days, "ag_news", gold, lambda ids: ids.isin(pool_ids).to_numpy())


def _gold(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = [f[["comment_id", "label"]].assign(split=name) for name, f in frames.items()]
    return pd.concat(rows).drop_duplicates("comment_id").reset_index(drop=True)


DATASETS: dict[str, Callable[[Any], Landed | None]] = {
    "youtube": land_youtube,
    "synthetic": land_synthetic,
    "ag_news": land_ag_news,
}


def policy_for(setting: str) -> Any:
    """The policy file's rules with the three reduction rules set as `setting` says."""
    from ingest.policy import Policy
    from settings import Settings

    base = Policy.load(Settings.from_env().policy_file)
    comment_id, author_text, near = SETTINGS[setting]
    return dataclasses.replace(
        base,
        dedupe=dataclasses.replace(base.dedupe, comment_id=comment_id, author_text=author_text),
        near_duplicate=dataclasses.replace(base.near_duplicate, enabled=near),
    )


def ingest_and_featurize(
    landed: Landed, store: Any, setting: str, root: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Ingest every day under `setting`'s policy, run dbt; `comment_features` and the counts."""
    import duckdb

    from bench.youtube_data import FEATURES, run_dbt
    from ingest.days import ingest_days

    policy = policy_for(setting)
    first = landed.days[0] - dt.timedelta(days=policy.late_arrival_days)
    days = [first + dt.timedelta(days=i) for i in range((landed.days[-1] - first).days + 1)]
    folder = root / setting
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    start = time.perf_counter()
    with duckdb.connect(str(warehouse)) as con:
        result = ingest_days(days, store, con, policy)
    ingest_seconds = time.perf_counter() - start
    run_dbt(warehouse, folder)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        features = con.execute(f"SELECT * FROM {FEATURES} ORDER BY comment_id, partition_date").df()
    totals, reasons = result.totals, result.quarantined_by_reason
    counts = {
        "records_in": totals["records_in"],
        "kept": totals["kept"],
        "removed_by_rule": {reason: reasons.get(reason, 0) for reason in RULE_REASONS},
        "quarantined_other": totals["quarantined"]
        - sum(reasons.get(reason, 0) for reason in RULE_REASONS),
        "featured_rows": len(features),
        "ingest_seconds": round(ingest_seconds, 2),
        "policy_version": policy.version,
    }
    return features, counts


def votes(features: pd.DataFrame, task_name: str) -> np.ndarray:
    """The task's LF votes on every row (a row number as id: with `comment_id` dedupe off one id
    may have rows on several days)."""
    from training.task import task
    from weak_supervision import apply_lfs

    frame = features.assign(row_no=np.arange(len(features), dtype=np.int64))
    return apply_lfs(None, frame, task(task_name).lfs, id_column="row_no").L


def train_sizes(
    features: pd.DataFrame, L: np.ndarray, landed: Landed, test: pd.DataFrame, y_test: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fit the label model on the kept pool rows, then the classifier on each sample size."""
    from sklearn.metrics import f1_score

    from training.classifier import SoftLabelClassifier
    from training.evaluation import evaluate
    from training.task import task
    from weak_supervision import LabelModel

    k = len(task(landed.task).classes)
    ids = features["comment_id"]
    pool = np.flatnonzero(landed.pool(ids))
    dev_gold = landed.gold[landed.gold["split"] == "dev"].set_index("comment_id")["label"]
    dev = np.flatnonzero(ids.isin(dev_gold.index).to_numpy() & ~ids.duplicated().to_numpy())
    y_dev = dev_gold.loc[ids.iloc[dev]].to_numpy()
    label_model = LabelModel(cardinality=k, seed=SEED).fit(L[pool], L_dev=L[dev], Y_dev=y_dev)
    lm_test = evaluate(y_test, label_model.predict_proba(votes(test, landed.task)))
    order = np.random.default_rng(SEED).permutation(pool)  # nested samples of the kept pool
    runs = []
    for fraction in FRACTIONS:
        sample = np.sort(order[: round(fraction * len(order))])
        covered = sample[(L[sample] != -1).any(axis=1)]
        proba = label_model.predict_proba(L[covered])
        start, cpu = time.perf_counter(), time.process_time()
        model = SoftLabelClassifier(seed=SEED).fit(features.iloc[covered], proba)
        fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
        predicted = model.predict_proba(test)
        runs.append(
            {
                "fraction": fraction,
                "sampled_rows": len(sample),
                "training_rows": len(covered),
                "fit_seconds": round(fit_seconds, 2),
                "fit_cpu_seconds": round(fit_cpu, 2),  # the comparable figure on a busy machine
                "accuracy": round(evaluate(y_test, predicted)["accuracy"], 4),
                "macro_f1": round(
                    float(f1_score(y_test, predicted.argmax(axis=1), average="macro")), 4
                ),
            }
        )
    facts = {
        "pool_rows": len(pool),
        "covered_pool_rows": int((L[pool] != -1).any(axis=1).sum()),
        "label_model_test_accuracy": round(lm_test["accuracy"], 4),
    }
    return runs, facts


def run_dataset(name: str, root: Path, chosen: list[str]) -> dict[str, Any] | None:
    """The `chosen` settings at every size on one dataset.

    The test rows come from the all-off ingest (`none`), run for them alone when `none` is
    not chosen. A setting whose `comment_features` equal an earlier setting's (its rules
    removed nothing the others kept) is not retrained: same rows, LFs and seeds give the
    same model, so its figures are the earlier setting's, marked `same_rows_as`.
    """
    from storage.object_store import LocalObjectStore

    store = LocalObjectStore(root / "landing")
    start = time.perf_counter()
    landed = DATASETS[name](store)
    if landed is None:
        return None
    test_gold = landed.gold[landed.gold["split"] == "test"].set_index("comment_id")["label"]
    order = [s for s in SETTINGS if s in chosen or s == "none"]
    settings: dict[str, Any] = {}
    seen: dict[int, str] = {}
    test = y_test = None
    for setting in order:
        features, counts = ingest_and_featurize(landed, store, setting, root)
        if test is None:  # `none` keeps every row: the fixed test rows come from it
            test = features[features["comment_id"].isin(test_gold.index)]
            test = test.drop_duplicates("comment_id").reset_index(drop=True)
            y_test = test_gold.loc[test["comment_id"]].to_numpy()
        if setting not in chosen:
            continue
        fingerprint = int(pd.util.hash_pandas_object(features, index=False).sum())
        if fingerprint in seen:
            same = settings[seen[fingerprint]]
            settings[setting] = {**counts, "same_rows_as": seen[fingerprint],
                                 **{k: same[k] for k in ("pool_rows", "covered_pool_rows",
                                    "label_model_test_accuracy", "runs")}}  # fmt: skip
        else:
            seen[fingerprint] = setting
            L = votes(features, landed.task)
            runs, facts = train_sizes(features, L, landed, test, y_test)
            settings[setting] = {**counts, **facts, "runs": runs}
        best = settings[setting]["runs"][-1]
        print(f"{name:10s} {setting:15s} kept {counts['kept']:6d} removed "
              f"{counts['removed_by_rule']} 100%: acc {best['accuracy']:.4f} "
              f"F1 {best['macro_f1']:.4f} fit {best['fit_seconds']:.1f}s", flush=True)  # fmt: skip
    assert test is not None
    return {
        "test_rows": len(test),
        "seconds": round(time.perf_counter() - start, 1),
        "settings": settings,
    }


def plot(results: dict[str, Any], path: Path) -> None:
    """Test accuracy vs training-set size, one line per setting, one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for i, (setting, data) in enumerate(results[name]["settings"].items()):
            x = [100 * r["fraction"] for r in data["runs"]]
            y = [100 * r["accuracy"] for r in data["runs"]]
            # Settings that kept the same rows draw the same line: sizes and dashes keep each
            # one visible under the next.
            ax.plot(x, y, marker="os^vD"[i], markersize=11 - 1.5 * i, linewidth=3.5 - 0.6 * i,
                    linestyle=("-", "--", "-.", ":", "-")[i], label=setting, alpha=0.8)  # fmt: skip
        ax.set_title(f"{name} (test rows: {results[name]['test_rows']})")
        ax.set_xlabel("training set, % of kept pool rows")
        ax.set_ylabel("test accuracy, %")
        ax.set_xticks([100 * f for f in FRACTIONS])
        ax.grid(alpha=0.3)
    axes[0][0].legend(title="reduction rules on")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    """One table: a row per dataset and setting."""
    head = ("| dataset | rules on | removed: id / author+text / near-dup | kept | "
            "train rows (100 %) | fit s (100 %), wall (CPU) | acc 10 / 25 / 50 / 100 % | "
            "macro F1 10 / 25 / 50 / 100 % |")  # fmt: skip
    lines = [head, "|" + "---|" * 8]
    for name, data in results.items():
        for setting, s in data["settings"].items():
            removed = " / ".join(str(s["removed_by_rule"][r]) for r in RULE_REASONS)
            acc = " / ".join(f"{100 * r['accuracy']:.1f}" for r in s["runs"])
            f1 = " / ".join(f"{100 * r['macro_f1']:.1f}" for r in s["runs"])
            last = s["runs"][-1]
            cells = [name, setting, removed, s["kept"], last["training_rows"],
                     _fit(last), acc, f1]  # fmt: skip
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def _fit(run: dict[str, Any]) -> str:
    """Wall seconds of the fit, and its CPU seconds where the run measured them."""
    cpu = run.get("fit_cpu_seconds")
    return f"{run['fit_seconds']:.1f}" + ("" if cpu is None else f" ({cpu:.1f} CPU)")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument(
        "--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS),
        help="a subset, to run a dataset's settings in parallel processes (combined after)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    chosen = [s for s in SETTINGS if s in args.settings]
    part = "" if chosen == list(SETTINGS) else "__" + "+".join(chosen)
    for name in args.datasets:
        info = machine()
        with tempfile.TemporaryDirectory(prefix=f"sluice-reduction-{name}-") as tmp:
            found = run_dataset(name, Path(tmp), chosen)
        if found is not None:
            found["machine"] = {**info, "load_average_1m_at_end": os.getloadavg()[0]}
            write_result(f"reduction_{name}{part}", found)
    return combine()


def _dataset_result(name: str) -> dict[str, Any] | None:
    """A dataset's whole run, or its settings merged from runs of subsets (`--settings`)."""
    whole = RESULTS / f"reduction_{name}.json"
    if whole.exists():
        return json.loads(whole.read_text(encoding="utf-8"))
    parts = [json.loads(p.read_text(encoding="utf-8"))
             for p in sorted(RESULTS.glob(f"reduction_{name}__*.json"))]  # fmt: skip
    found = {k: v for part in parts for k, v in part["settings"].items()}
    if not parts:
        return None
    if len({part["test_rows"] for part in parts}) != 1:
        raise ValueError(f"{name}: the partial runs were scored on different test rows")
    return {
        "test_rows": parts[0]["test_rows"],
        "seconds": [part["seconds"] for part in parts],
        "machine": [part["machine"] for part in parts],
        "settings": {s: found[s] for s in SETTINGS if s in found},
    }


def combine() -> dict[str, Any]:
    """reduction.json, the plot and the table from each dataset's newest result files (each
    carries the machine and load it ran on: datasets may be run separately)."""
    results = {}
    for name in DATASETS:
        found = _dataset_result(name)
        if found is not None:
            results[name] = found
    result = {
        "settings": {
            k: dict(zip(("comment_id", "author_text", "near_duplicate"), v, strict=True))
            for k, v in SETTINGS.items()
        },
        "fractions": FRACTIONS,
        "synthetic": SYNTHETIC,
        "datasets": results,
    }
    write_result("reduction", result)
    if results:
        plot(results, RESULTS / "reduction.png")
    print(markdown(results))
    return result


if __name__ == "__main__":
    main()
