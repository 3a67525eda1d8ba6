"""Turning probabilities into predictions, and scoring predictions against gold (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

TieBreak = Literal["abstain", "random", "first"]

METRICS = ("accuracy", "coverage", "precision", "recall", "f1", "f1_macro")


def probs_to_preds(
    probs: np.ndarray, tie_break: TieBreak = "abstain", *, seed: int = 0, tol: float = 1e-9
) -> np.ndarray:
    """Most probable class per row; rows whose top classes are within `tol` are ties.

    Ties become -1 (`"abstain"`), a seeded random choice among the tied classes (`"random"`),
    or the lowest tied class (`"first"`).
    """
    probs = np.asarray(probs, dtype=np.float64)
    tied = probs >= probs.max(axis=1, keepdims=True) - tol
    preds = np.argmax(tied, axis=1).astype(np.int64)  # lowest tied class
    is_tie = tied.sum(axis=1) > 1
    if tie_break == "first":
        return preds
    if tie_break == "abstain":
        preds[is_tie] = -1
        return preds
    if tie_break == "random":
        rows = np.flatnonzero(is_tie)
        if len(rows):
            # A random score per candidate, -inf for non-candidates: argmax picks uniformly.
            noise = np.random.default_rng(seed).random((len(rows), probs.shape[1]))
            preds[rows] = np.argmax(np.where(tied[rows], noise, -np.inf), axis=1)
        return preds
    raise ValueError(f"unknown tie_break {tie_break!r}; use 'abstain', 'random' or 'first'")


def _safe_div(num: float, den: float) -> float:
    return float(num / den) if den else 0.0


def _f1(preds: np.ndarray, gold: np.ndarray, label: int) -> tuple[float, float, float]:
    tp = np.sum((preds == label) & (gold == label))
    precision = _safe_div(tp, np.sum(preds == label))
    recall = _safe_div(tp, np.sum(gold == label))
    return precision, recall, _safe_div(2 * precision * recall, precision + recall)


def score_predictions(
    Y: np.ndarray,
    preds: np.ndarray,
    metrics: Sequence[str] = ("accuracy",),
    cardinality: int | None = None,
) -> dict[str, float]:
    """Score `preds` against gold `Y`, ignoring rows where `Y == -1`.

    A -1 prediction (abstain) counts as wrong. `precision`, `recall` and `f1` are for class 1
    (binary tasks); `f1_macro` averages F1 over the classes; `coverage` is the share of
    non-abstain predictions.
    """
    Y = np.asarray(Y).reshape(-1)
    preds = np.asarray(preds).reshape(-1)
    if Y.shape != preds.shape:
        raise ValueError(f"Y has {len(Y)} rows but there are {len(preds)} predictions")
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; available: {METRICS}")
    keep = Y != -1
    gold, pred = Y[keep], preds[keep]
    k = (
        cardinality
        if cardinality is not None
        else int(max(gold.max(initial=0), pred.max(initial=0))) + 1
    )
    results: dict[str, float] = {}
    for metric in metrics:
        if metric == "accuracy":
            results[metric] = _safe_div(np.sum(pred == gold), len(gold))
        elif metric == "coverage":
            results[metric] = _safe_div(np.sum(pred != -1), len(gold))
        elif metric in ("precision", "recall", "f1"):
            precision, recall, f1 = _f1(pred, gold, 1)
            results[metric] = {"precision": precision, "recall": recall, "f1": f1}[metric]
        else:
            results[metric] = float(np.mean([_f1(pred, gold, c)[2] for c in range(k)]))
    return results
