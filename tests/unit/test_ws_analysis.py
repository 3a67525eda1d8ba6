"""LF analysis on a matrix small enough to check by hand, and the Markdown renderer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from weak_supervision import LabelModel, dataset_summary, lf_summary, to_markdown

# Rows x LFs; -1 abstains. LF "never" abstains everywhere. Gold: row 4 unknown.
L = np.array(
    [
        [0, 0, -1, -1],
        [1, 0, -1, -1],
        [-1, 1, 1, -1],
        [-1, -1, -1, -1],
        [1, -1, 1, -1],
    ]
)
Y = np.array([0, 1, 1, 0, -1])
NAMES = ["a", "b", "c", "never"]


def test_lf_summary_by_hand() -> None:
    summary = lf_summary(L, NAMES, Y=Y)
    assert list(summary.index) == NAMES
    assert summary["polarity"].tolist() == [[0, 1], [0, 1], [1], []]
    # a votes on rows 0, 1, 4; all three overlap; only row 1 disagrees (b says 0).
    # b votes on rows 0, 1, 2; row 1 conflicts. c votes on rows 2, 4, always agreeing.
    assert summary["coverage"].tolist() == pytest.approx([0.6, 0.6, 0.4, 0.0])
    assert summary["overlaps"].tolist() == pytest.approx([0.6, 0.6, 0.4, 0.0])
    assert summary["conflicts"].tolist() == pytest.approx([0.2, 0.2, 0.0, 0.0])
    # Gold is unknown on row 4, so a's and c's votes there are not scored.
    assert summary["correct"].tolist() == [2, 2, 1, 0]
    assert summary["incorrect"].tolist() == [0, 1, 0, 0]
    assert summary["emp_accuracy"].tolist()[:3] == pytest.approx([1.0, 2 / 3, 1.0])
    assert math.isnan(summary["emp_accuracy"].iloc[3])


def test_dataset_summary_by_hand() -> None:
    assert dataset_summary(L) == {
        "n_rows": 5,
        "n_lfs": 4,
        "coverage": pytest.approx(0.8),  # rows 0, 1, 2, 4
        "overlap": pytest.approx(0.8),  # the same rows have two votes or more
        "conflict": pytest.approx(0.2),  # row 1 only
    }
    assert dataset_summary(np.full((3, 2), -1))["coverage"] == 0.0


def test_summary_with_label_model_and_without_gold() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    votes = np.where(rng.random((500, 3)) < 0.8, y[:, None], 1 - y[:, None])
    model = LabelModel(2).fit(votes)
    summary = lf_summary(votes, label_model=model)
    assert list(summary.index) == ["lf_0", "lf_1", "lf_2"]
    assert "correct" not in summary.columns
    np.testing.assert_allclose(summary["learned_accuracy"], model.lf_accuracies())
    with pytest.raises(ValueError):
        lf_summary(L, ["only", "two"])


def test_to_markdown() -> None:
    frame = pd.DataFrame(
        {"polarity": [[0, 1], []], "coverage": [0.5, float("nan")], "note": ["a|b", None]},
        index=pd.Index(["x", "long_name"], name="lf"),
    )
    assert to_markdown(frame) == (
        "| lf        | polarity | coverage | note |\n"
        "| --------- | -------- | -------: | ---- |\n"
        "| x         | [0, 1]   |    0.500 | a\\|b |\n"
        "| long_name | []       |          |      |"
    )
    assert to_markdown(frame[["coverage"]], index=False, floatfmt=".1f") == (
        "| coverage |\n| -------: |\n|      0.5 |\n|          |"
    )
