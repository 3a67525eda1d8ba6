"""Self-training: the end classifier learns from the rows no labeling function voted on.

The label model only labels rows some LF covers, so a classifier trained on its labels alone
has never seen the rest of the stream, and on it falls back to whatever its features say by
accident. Self-training (Yarowsky 1995; Lee 2013, "pseudo-labels") fits on the weak labels,
then labels the uncovered rows it is most confident about and fits again with them, in
rounds that take a growing share of those rows (the most confident half, then all): a
curriculum, ranked by the model's own confidence, so it works whatever the number of classes
(a four-class model's probabilities rarely pass a fixed 0.9).

Whether it helps is judged on the gold `dev` rows only (never `test`): a round is kept only
if its dev accuracy is at least the previous round's, so on a task where the LFs already
cover everything, or where the pseudo-labels mislead, the weak-label model stands. The
shares were chosen on the AG News bench's `dev` rows (the YouTube and synthetic streams have
almost no uncovered rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Connection = Any  # duckdb.DuckDBPyConnection; the caller owns it

SHARES = (0.5, 1.0)  # of the uncovered rows, most confident first, round by round


def uncovered_rows(con: Connection) -> pd.DataFrame:
    """comment_features of the training window's rows no LF voted on: the featured rows of the
    days weak_labels covers that weak_labels left out (all LFs abstained), gold `test` rows
    excluded as everywhere in training."""
    return con.execute(
        "WITH span AS (SELECT min(partition_date) AS first, max(partition_date) AS last "
        "              FROM label.weak_labels) "
        "SELECT f.* FROM main.comment_features f, span "
        "WHERE f.partition_date BETWEEN span.first AND span.last "
        "AND NOT EXISTS (SELECT 1 FROM label.weak_labels w WHERE w.comment_id = f.comment_id) "
        "AND NOT EXISTS (SELECT 1 FROM raw.gold_labels g "
        "                WHERE g.comment_id = f.comment_id AND g.split = 'test') "
        "ORDER BY f.comment_id"
    ).df()


def pseudo_labels(proba: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the `share` of rows with the highest top-class probability (ties broken by
    position), and their labels as one-hot rows (a confident guess trains like a label)."""
    count = round(share * len(proba))
    order = np.argsort(-proba.max(axis=1), kind="stable")
    chosen = np.sort(order[:count])
    return chosen, np.eye(proba.shape[1])[proba[chosen].argmax(axis=1)]


@dataclass
class SelfTrained:
    """The model kept, the rows each source gave it, and what each round did on dev."""

    model: Any
    rows_by_source: dict[str, int]
    rounds: list[dict[str, Any]] = field(default_factory=list)


def self_train(
    estimator: Any,
    X: pd.DataFrame,
    proba: np.ndarray,
    weight: np.ndarray,
    unlabeled: pd.DataFrame,
    dev: tuple[pd.DataFrame, np.ndarray],
    *,
    shares: Sequence[float] = SHARES,
) -> SelfTrained:
    """Fit `estimator` (cloned each round) on the weak labels `proba` (rows weighted by
    `weight`); then, round by round, add the most confident `shares[i]` of `unlabeled` with
    the kept model's pseudo-labels and refit; keep a round only if its accuracy on `dev`
    (features, gold labels) does not drop, and stop at the first that does."""
    from sklearn.base import clone

    X_dev, y_dev = dev
    model = clone(estimator).fit(X, proba, sample_weight=weight)
    best = _accuracy(model, X_dev, y_dev)
    kept = SelfTrained(model, {"weak_labels": len(X), "self_training": 0})
    kept.rounds.append({"round": 0, "pseudo_labels": 0, "dev_accuracy": best, "kept": True})
    for number, share in enumerate(shares, start=1):
        if unlabeled.empty:
            break
        picked, labels = pseudo_labels(kept.model.predict_proba(unlabeled), share)
        if len(picked) == 0:
            break
        rows = pd.concat([X, unlabeled.iloc[picked]], ignore_index=True)
        targets = np.vstack([proba, labels])
        weights = np.concatenate([weight, np.ones(len(picked))])
        candidate = clone(estimator).fit(rows, targets, sample_weight=weights)
        accuracy = _accuracy(candidate, X_dev, y_dev)
        better = accuracy is None or best is None or accuracy >= best
        kept.rounds.append({"round": number, "share": share, "pseudo_labels": len(picked),
                            "dev_accuracy": accuracy, "kept": better})  # fmt: skip
        if not better:
            break
        best = accuracy
        kept.model = candidate
        kept.rows_by_source = {"weak_labels": len(X), "self_training": len(picked)}
    return kept


def _accuracy(model: Any, X: pd.DataFrame, y: np.ndarray) -> float | None:
    """Accuracy on the dev rows, or None when there are none."""
    if len(X) == 0:
        return None
    return float((model.predict_proba(X).argmax(axis=1) == np.asarray(y)).mean())


def dev_rows(frames: Sequence[pd.DataFrame], gold: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The gold `dev` rows found in `frames` (features), and their labels."""
    dev = gold[gold["split"] == "dev"].drop_duplicates("comment_id")
    labels = dict(zip(dev["comment_id"], dev["label"], strict=True))
    parts = [f[f["comment_id"].isin(labels)] for f in frames if len(f)]
    if not parts:
        return pd.DataFrame(), np.zeros(0, dtype=int)
    found = pd.concat(parts, ignore_index=True).drop_duplicates("comment_id")
    return found, found["comment_id"].map(labels).to_numpy(dtype=int)
