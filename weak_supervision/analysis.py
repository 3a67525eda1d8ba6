"""Label-matrix diagnostics: what each LF covers, where LFs overlap and disagree, how accurate.

Definitions (as in Snorkel): coverage is the share of rows where the LF votes; overlaps the share
where it votes and at least one other LF votes; conflicts the share where it votes and some other
LF votes a different label. All shares are over all rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd


class _HasAccuracies(Protocol):
    def lf_accuracies(self) -> np.ndarray: ...


def _as_matrix(L: Any) -> np.ndarray:
    L = np.asarray(L)
    if L.ndim != 2 or (L.size and L.min() < -1):
        raise ValueError("L must be a 2-D matrix of labels with -1 for abstain")
    return L


def _votes_agreeing(L: np.ndarray) -> np.ndarray:
    """For each cell, how many votes in its row equal the cell's label (0 for abstains)."""
    agreeing = np.zeros(L.shape, dtype=np.int64)
    for label in np.unique(L[L >= 0]):
        is_label = np.equal(L, label)
        agreeing += is_label * is_label.sum(axis=1, keepdims=True)
    return agreeing


def lf_summary(
    L: Any,
    lf_names: Sequence[str] | None = None,
    Y: Any = None,
    label_model: _HasAccuracies | None = None,
) -> pd.DataFrame:
    """One row per LF: polarity (sorted labels it emits), coverage, overlaps, conflicts.

    With gold `Y` (-1 = unknown, those rows are skipped): `correct`, `incorrect` and
    `emp_accuracy` (NaN for an LF that never votes on a labelled row). With a fitted
    `label_model`: its `learned_accuracy` for each LF.
    """
    L = _as_matrix(L)
    n, m = L.shape
    names = list(lf_names) if lf_names is not None else [f"lf_{j}" for j in range(m)]
    if len(names) != m:
        raise ValueError(f"{len(names)} names for {m} LFs")
    voted = L >= 0
    n_votes = voted.sum(axis=1, keepdims=True)
    denominator = max(n, 1)
    summary = pd.DataFrame(
        {
            "j": np.arange(m),
            "polarity": [sorted(int(v) for v in np.unique(L[voted[:, j], j])) for j in range(m)],
            "coverage": voted.sum(axis=0) / denominator,
            "overlaps": (voted & (n_votes >= 2)).sum(axis=0) / denominator,
            "conflicts": (voted & (_votes_agreeing(L) < n_votes)).sum(axis=0) / denominator,
        },
        index=pd.Index(names, name="lf"),
    )
    if Y is not None:
        gold = np.asarray(Y).reshape(-1)
        if len(gold) != n:
            raise ValueError(f"Y has {len(gold)} rows, L has {n}")
        scored = voted & (gold != -1)[:, None]
        correct = (scored & np.equal(L, gold[:, None])).sum(axis=0)
        incorrect = scored.sum(axis=0) - correct
        summary["correct"] = correct
        summary["incorrect"] = incorrect
        with np.errstate(invalid="ignore", divide="ignore"):
            summary["emp_accuracy"] = np.where(
                correct + incorrect > 0, correct / (correct + incorrect), np.nan
            )
    if label_model is not None:
        summary["learned_accuracy"] = label_model.lf_accuracies()
    return summary


def dataset_summary(L: Any) -> dict[str, float]:
    """Matrix-level figures: rows and LFs, and the share of rows with at least one vote
    (`coverage`), at least two votes (`overlap`), and two different labels (`conflict`)."""
    L = _as_matrix(L)
    n, m = L.shape
    voted = L >= 0
    n_votes = voted.sum(axis=1)
    n_labels = np.zeros(n, dtype=np.int64)
    for label in np.unique(L[voted]):
        n_labels += np.equal(L, label).any(axis=1)
    denominator = max(n, 1)
    return {
        "n_rows": n,
        "n_lfs": m,
        "coverage": float(np.sum(n_votes >= 1) / denominator),
        "overlap": float(np.sum(n_votes >= 2) / denominator),
        "conflict": float(np.sum(n_labels >= 2) / denominator),
    }


def _cell(value: Any, floatfmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float | np.floating):
        text = format(float(value), floatfmt)
    elif isinstance(value, list | tuple | np.ndarray):
        text = "[" + ", ".join(str(v) for v in value) + "]"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def to_markdown(df: pd.DataFrame, *, floatfmt: str = ".3f", index: bool = True) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (no `tabulate` needed).

    Numeric columns are right-aligned, floats use `floatfmt`, NaN and None are empty cells, and
    `|` inside a cell is escaped so it cannot break the table.
    """
    headers = [str(c) for c in df.columns]
    columns = [[_cell(v, floatfmt) for v in df[c].tolist()] for c in df.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
        for c in df.columns
    ]
    if index:
        headers.insert(0, str(df.index.name or ""))
        columns.insert(0, [_cell(v, floatfmt) for v in df.index.tolist()])
        numeric.insert(0, pd.api.types.is_numeric_dtype(df.index))
    headers = [_cell(h, floatfmt) for h in headers]
    widths = [
        max(3, len(h), *(len(cell) for cell in col))
        for h, col in zip(headers, columns, strict=True)
    ]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ("-" * (w - 1) + ":") if right else "-" * w
        for w, right in zip(widths, numeric, strict=True)
    ]
    rows = [line(headers), "| " + " | ".join(rule) + " |"]
    rows.extend(line([col[i] for col in columns]) for i in range(len(df)))
    return "\n".join(rows)
