"""Self-training (training/self_training.py) with the real end classifier: rows no LF covered
are pseudo-labelled when the model is confident, a round is kept only when dev accuracy holds,
and the rows each source contributed are counted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.classifier import SoftLabelClassifier
from training.self_training import dev_rows, pseudo_labels, self_train

# Cues the covered rows teach (A), and cues only uncovered rows show (B): a model on weak
# labels alone has never seen B; one that pseudo-labels the uncovered rows (known by their A
# cue) learns B too.
CUES = {
    "A": (["love this song", "her voice is amazing"], ["check my channel", "free money here"]),
    "B": (["brings back memories", "goosebumps every time"], ["win a phone", "cheap followers"]),
}


def comments(n: int, seed: int, kind: str) -> pd.DataFrame:
    """`covered` rows carry an LF keyword and an A cue, `uncovered` an A and a B cue, `dev`
    rows a B cue only."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(2, size=n)
    texts = []
    for cls in gold:
        a, b = rng.choice(CUES["A"][cls]), rng.choice(CUES["B"][cls])
        parts = {"covered": [("subscribe" if cls else "beautiful"), a], "uncovered": [a, b],
                 "dev": [b]}[kind]  # fmt: skip
        texts.append(f"{' '.join(parts)} {rng.integers(50)}")
    ids = [f"{kind}{seed}-{i}" for i in range(n)]
    return pd.DataFrame({"comment_id": ids, "text": texts, "gold": gold})


def weak(frame: pd.DataFrame) -> np.ndarray:
    """The label model's view of covered rows: right, with 0.8 confidence."""
    return np.where(frame["gold"].to_numpy()[:, None] == [0, 1], 0.8, 0.2)


def test_pseudo_labels_are_the_most_confident_share_as_one_hot():
    proba = np.array([[0.95, 0.05], [0.6, 0.4], [0.02, 0.98], [0.5, 0.5]])
    rows, labels = pseudo_labels(proba, 0.5)
    np.testing.assert_array_equal(rows, [0, 2])
    np.testing.assert_array_equal(labels, [[1, 0], [0, 1]])
    assert len(pseudo_labels(proba, 1.0)[0]) == 4 and len(pseudo_labels(proba, 0.0)[0]) == 0


def test_uncovered_rows_join_training_when_dev_accuracy_holds():
    covered, uncovered = comments(60, 1, "covered"), comments(200, 2, "uncovered")
    dev = comments(40, 3, "dev")
    result = self_train(
        SoftLabelClassifier(seed=0), covered, weak(covered), np.ones(len(covered)), uncovered,
        (dev, dev["gold"].to_numpy()),
    )  # fmt: skip
    assert result.rows_by_source["weak_labels"] == 60
    assert 0 < result.rows_by_source["self_training"] <= 200
    assert result.rounds[0]["pseudo_labels"] == 0 and result.rounds[0]["kept"]
    kept = [r for r in result.rounds if r["kept"]]
    assert kept[-1]["pseudo_labels"] == result.rows_by_source["self_training"]
    accuracies = [r["dev_accuracy"] for r in kept]
    assert accuracies == sorted(accuracies)  # a kept round never lowered dev accuracy
    assert accuracies[-1] > accuracies[0]  # B cues learnt from the pseudo-labelled rows


def test_a_round_that_lowers_dev_accuracy_is_not_kept():
    """Dev labels that contradict what the uncovered rows teach: the weak-label model stays."""
    covered, uncovered = comments(60, 1, "covered"), comments(200, 2, "uncovered")
    dev = comments(40, 3, "dev")
    base = SoftLabelClassifier(seed=0).fit(covered, weak(covered))
    result = self_train(
        SoftLabelClassifier(seed=0), covered, weak(covered), np.ones(len(covered)), uncovered,
        (dev, 1 - dev["gold"].to_numpy()),
    )  # fmt: skip
    assert [r["kept"] for r in result.rounds] == [True, False]
    assert result.rounds[1]["dev_accuracy"] < result.rounds[0]["dev_accuracy"]
    assert result.rows_by_source == {"weak_labels": 60, "self_training": 0}
    np.testing.assert_array_equal(result.model.predict_proba(dev), base.predict_proba(dev))


def test_no_uncovered_rows_means_one_fit_on_weak_labels():
    covered = comments(60, 1, "covered")
    result = self_train(
        SoftLabelClassifier(seed=0), covered, weak(covered), np.ones(len(covered)),
        covered.iloc[:0], (covered.iloc[:0], np.zeros(0, dtype=int)),
    )  # fmt: skip
    assert result.rows_by_source == {"weak_labels": 60, "self_training": 0}
    assert len(result.rounds) == 1


def test_dev_rows_are_found_in_covered_and_uncovered_frames():
    covered, uncovered = comments(5, 1, "covered"), comments(5, 2, "uncovered")
    gold = pd.DataFrame({"comment_id": [covered["comment_id"][0], uncovered["comment_id"][3], "x"],
                         "label": [1, 0, 1], "split": ["dev", "dev", "dev"]})  # fmt: skip
    frame, labels = dev_rows([covered, uncovered], gold)
    assert list(frame["comment_id"]) == list(gold["comment_id"][:2])
    np.testing.assert_array_equal(labels, [1, 0])
