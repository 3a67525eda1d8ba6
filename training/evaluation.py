"""Evaluation on gold labels: the metrics a reviewer reads, for any number of classes.

The same function scores the classifier, the label model and majority vote on the
same rows, so the value each stage adds is visible side by side.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over confidence bins, weighted by bin size."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def evaluate(y: np.ndarray, proba: np.ndarray, positive: int = 1) -> dict[str, Any]:
    """Accuracy, precision/recall/F1 (binary on `positive`, else macro), ROC-AUC,
    confusion matrix, Brier score and calibration error."""
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    y = np.asarray(y, dtype=int)
    proba = np.asarray(proba, dtype=float)
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    binary = k == 2
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, pred, average="binary" if binary else "macro", pos_label=positive, zero_division=0,
        labels=None if binary else list(range(k)),
    )  # fmt: skip
    try:
        auc = (
            roc_auc_score(y, proba[:, positive])
            if binary
            else roc_auc_score(y, proba, multi_class="ovr", labels=list(range(k)))
        )
    except ValueError:  # a single class in y: AUC is undefined
        auc = float("nan")
    metrics = {
        "rows": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(auc),
        "ece": expected_calibration_error(y, proba),
        "confusion_matrix": confusion_matrix(y, pred, labels=list(range(k))).tolist(),
    }
    if binary:
        metrics["brier"] = float(brier_score_loss(y, proba[:, positive]))
    return metrics


def comparison_markdown(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: one row per model, the headline metrics as columns."""
    cols = ["rows", "accuracy", "precision", "recall", "f1", "roc_auc", "ece"]
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in results.items():
        cells = [str(m[c]) if c == "rows" else f"{m[c]:.3f}" for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
