"""Label model and majority vote: recovery on a known generative model, edge cases, I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from weak_supervision import LabelModel, MajorityVoter, probs_to_preds, score_predictions
from weak_supervision.label_model import _class_alignment


def sample(
    n: int,
    accuracies: list[float],
    coverages: list[float],
    *,
    k: int = 2,
    balance: list[float] | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Conditionally independent LFs: LF j votes with probability coverages[j]; a vote is the
    true class with probability accuracies[j], otherwise a uniformly chosen wrong class."""
    rng = np.random.default_rng(seed)
    y = rng.choice(k, size=n, p=balance)
    L = np.full((n, len(accuracies)), -1, dtype=np.int8)
    for j, (accuracy, coverage) in enumerate(zip(accuracies, coverages, strict=True)):
        wrong = (y + rng.integers(1, k, size=n)) % k
        vote = np.where(rng.random(n) < accuracy, y, wrong)
        L[:, j] = np.where(rng.random(n) < coverage, vote, -1)
    return L, y


ACCURACIES = [0.9, 0.85, 0.8, 0.75, 0.72, 0.88, 0.78]
COVERAGES = [0.3, 0.2, 0.5, 0.4, 0.6, 0.1, 0.35]


def test_recovers_lf_accuracies_and_beats_majority_vote() -> None:
    L, y = sample(20_000, ACCURACIES, COVERAGES, balance=[0.6, 0.4], seed=1)
    model = LabelModel(2).fit(L)
    assert model.converged_
    np.testing.assert_allclose(model.lf_accuracies(), ACCURACIES, atol=0.03)
    np.testing.assert_allclose(model.class_balance_, [0.6, 0.4], atol=0.02)
    ours = model.score(L, y, tie_break="random")["accuracy"]
    majority = MajorityVoter(2).score(L, y, tie_break="random")["accuracy"]
    assert ours > majority + 0.02


def test_weak_lfs_are_recovered_without_the_accuracy_floor() -> None:
    accuracies = [0.85, 0.6, 0.65, 0.7, 0.8]
    L, y = sample(20_000, accuracies, [0.5, 0.6, 0.5, 0.4, 0.3], seed=2)
    model = LabelModel(2).fit(L, min_accuracy=None)
    np.testing.assert_allclose(model.lf_accuracies(), accuracies, atol=0.03)
    # The default floor lifts LFs below 0.7 up to it, at a small cost when that is wrong.
    floored = LabelModel(2).fit(L)
    assert floored.lf_accuracies()[1:4].min() >= 0.69
    unconstrained = model.score(L, y, tie_break="random")["accuracy"]
    assert floored.score(L, y, tie_break="random")["accuracy"] > unconstrained - 0.015


def test_multiclass() -> None:
    accuracies = [0.85, 0.8, 0.75, 0.7, 0.8]
    L, y = sample(
        20_000, accuracies, [0.3, 0.4, 0.3, 0.5, 0.2], k=3, balance=[0.5, 0.3, 0.2], seed=4
    )
    model = LabelModel(3).fit(L)
    probs = model.predict_proba(L)
    assert probs.shape == (20_000, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1)
    np.testing.assert_allclose(model.lf_accuracies(), accuracies, atol=0.03)
    ours = model.score(L, y, tie_break="random")["accuracy"]
    assert ours > MajorityVoter(3).score(L, y, tie_break="random")["accuracy"]


def test_one_sided_lfs_inform_through_coverage() -> None:
    """Keyword-style LFs that only ever vote one class: their firing rates per class differ.
    When silences really are independent given the class (as here), the full Dawid-Skene
    posterior uses them and beats majority vote."""
    rng = np.random.default_rng(3)
    n = 20_000
    y = rng.integers(0, 2, n)
    rates = [(0.02, 0.3, 1), (0.05, 0.4, 1), (0.01, 0.2, 1), (0.3, 0.05, 0), (0.25, 0.02, 0)]
    L = np.full((n, len(rates)), -1, dtype=np.int8)
    for j, (on_0, on_1, label) in enumerate(rates):
        L[rng.random(n) < np.where(y == 1, on_1, on_0), j] = label
    voted = (L != -1).any(axis=1)
    baseline = MajorityVoter(2).score(L[voted], y[voted], tie_break="random")["accuracy"]
    full = LabelModel(2, abstain_evidence=True).fit(L)
    assert full.score(L[voted], y[voted], tie_break="random")["accuracy"] > baseline
    # Votes only: each vote weighs log P(fires | c) / P(fires | other), learned from coverage.
    model = LabelModel(2).fit(L)
    assert model.score(L[voted], y[voted], tie_break="random")["accuracy"] > baseline - 0.01
    theta = model.cond_probs_
    assert theta is not None and theta[0, 1, 2] > 5 * theta[0, 0, 2]  # LF 0 fires on class 1
    # Nothing fired, nothing known about the row: it gets the learned class balance.
    for fitted in (full, model):
        np.testing.assert_allclose(
            fitted.predict_proba(L[~voted]), np.tile(fitted.class_balance_, ((~voted).sum(), 1))
        )


def test_votes_only_posterior_ignores_abstains() -> None:
    L, _ = sample(5_000, ACCURACIES, COVERAGES, seed=11)
    model = LabelModel(2).fit(L)
    theta, balance = model.cond_probs_, model.class_balance_
    assert theta is not None and balance is not None
    rows = np.full((2, len(ACCURACIES)), -1)
    rows[0, 2] = rows[1, 2] = 1
    rows[1, 0] = 0
    expected = balance * theta[2, :, 2]
    np.testing.assert_allclose(model.predict_proba(rows[:1])[0], expected / expected.sum())
    expected = expected * theta[0, :, 1]
    np.testing.assert_allclose(model.predict_proba(rows[1:])[0], expected / expected.sum())


def test_dev_rows_join_em_as_labelled_rows() -> None:
    """With no votes at all on the unlabelled rows, what is learned comes from the dev rows."""
    L_dev, y_dev = sample(3_000, [0.9, 0.8, 0.7], [0.5, 0.5, 0.5], seed=12)
    silent = np.full((200, 3), -1)
    model = LabelModel(2).fit(silent, Y_dev=y_dev, L_dev=L_dev, min_accuracy=None)
    np.testing.assert_allclose(model.lf_accuracies(), [0.9, 0.8, 0.7], atol=0.03)
    unanchored = LabelModel(2).fit(silent, Y_dev=y_dev, min_accuracy=None)
    np.testing.assert_allclose(unanchored.lf_accuracies(), 0.7, atol=0.02)  # the prior
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, L_dev=L_dev)
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, Y_dev=y_dev[:10], L_dev=L_dev)
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, Y_dev=y_dev, L_dev=L_dev, dev_weight=0)
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, [0.5, 0.5], Y_dev=y_dev + 1, L_dev=L_dev)


def test_correlated_lfs_do_not_flip_a_good_lf() -> None:
    """Two families of positive LFs that fire on different kinds of positives: plain EM
    explains one family as the class and marks the other as anti-accurate; the accuracy
    floor keeps every LF on the right side."""
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.integers(0, 2, n)
    kind = rng.random(n) < 0.5
    L = np.full((n, 7), -1, dtype=np.int8)
    rates = [(0.5, 0.02)] * 3 + [(0.02, 0.4)] * 2
    for j, (kind_a, kind_b) in enumerate(rates):
        L[rng.random(n) < np.where(y == 1, np.where(kind, kind_a, kind_b), 0.03), j] = 1
    for j in (5, 6):
        L[rng.random(n) < np.where(y == 0, 0.3, 0.1), j] = 0
    plain = LabelModel(2).fit(L, min_accuracy=None)
    floored = LabelModel(2).fit(L)
    assert plain.lf_accuracies()[3] < 0.5
    assert floored.lf_accuracies().min() >= 0.69
    assert (floored.lf_accuracies()[3:5] > 0.5).all()


def _valid(probs: np.ndarray, n: int, k: int) -> None:
    assert probs.shape == (n, k)
    assert np.isfinite(probs).all() and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1)


def test_no_lf_ever_fires() -> None:
    L = np.full((100, 3), -1)
    model = LabelModel(2).fit(L, class_balance=[0.7, 0.3])
    probs = model.predict_proba(L)
    _valid(probs, 100, 2)
    np.testing.assert_allclose(probs, np.tile([0.7, 0.3], (100, 1)), atol=1e-3)
    learned = LabelModel(2).fit(L).predict_proba(L)
    np.testing.assert_allclose(learned, 0.5, atol=1e-3)


@pytest.mark.parametrize("m", [1, 2])
def test_one_or_two_lfs(m: int) -> None:
    L, y = sample(2_000, [0.85, 0.8][:m], [0.6, 0.5][:m], seed=5)
    model = LabelModel(2).fit(L)
    probs = model.predict_proba(L)
    _valid(probs, 2_000, 2)
    voted = L[:, 0] != -1
    # With one LF nothing can be learned beyond following it.
    assert (probs_to_preds(probs[voted]) == L[voted, 0]).mean() > 0.9
    assert model.score(L, y)["accuracy"] > 0.6


def test_all_lfs_agree_and_an_lf_that_always_abstains() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 1_000)
    L = np.stack([y, y, y, np.full(1_000, -1)], axis=1)
    model = LabelModel(2).fit(L)
    probs = model.predict_proba(L)
    _valid(probs, 1_000, 2)
    assert (model.predict(L) == y).all()
    assert model.lf_accuracies()[:3].min() > 0.95


def test_constant_lf_is_harmless() -> None:
    L, y = sample(10_000, [0.85, 0.8, 0.75, 0.7], [0.3] * 4, seed=3)
    L = np.column_stack([L, np.zeros(len(L), dtype=np.int8)])
    model = LabelModel(2).fit(L)
    _valid(model.predict_proba(L), 10_000, 2)
    assert model.lf_accuracies()[4] == pytest.approx(0.5, abs=0.1)  # ~ the class balance
    without = LabelModel(2).fit(L[:, :4]).score(L[:, :4], y, tie_break="random")["accuracy"]
    assert model.score(L, y, tie_break="random")["accuracy"] > without - 0.01


def test_deterministic_for_a_seed() -> None:
    L, _ = sample(5_000, ACCURACIES, COVERAGES, seed=7)
    first = LabelModel(2).fit(L, seed=3).predict_proba(L)
    np.testing.assert_array_equal(first, LabelModel(2).fit(L, seed=3).predict_proba(L))
    sub = LabelModel(2).fit(L, seed=3, max_rows=1_000).predict_proba(L)
    np.testing.assert_array_equal(
        sub, LabelModel(2).fit(L, seed=3, max_rows=1_000).predict_proba(L)
    )
    assert not np.array_equal(sub, LabelModel(2).fit(L, seed=4, max_rows=1_000).predict_proba(L))


def test_save_load_round_trip(tmp_path: Path) -> None:
    L, _ = sample(3_000, ACCURACIES, COVERAGES, k=3, seed=8)
    model = LabelModel(3, abstain_evidence=False).fit(L)
    path = tmp_path / "label_model.json"
    model.save(path)
    assert path.read_text().startswith("{")
    loaded = LabelModel.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(L), model.predict_proba(L))
    np.testing.assert_array_equal(loaded.lf_accuracies(), model.get_weights())
    assert loaded.abstain_evidence is False
    bogus = tmp_path / "other.json"
    bogus.write_text('{"format": "something else"}')
    with pytest.raises(ValueError):
        LabelModel.load(bogus)


def test_snorkel_convention_gives_the_prior_to_rows_without_votes() -> None:
    L, _ = sample(3_000, ACCURACIES, COVERAGES, seed=9)
    model = LabelModel(2, abstain_evidence=False).fit(L, class_balance=[0.8, 0.2])
    probs = model.predict_proba(np.full((2, len(ACCURACIES)), -1))
    np.testing.assert_allclose(probs, [[0.8, 0.2], [0.8, 0.2]])


def test_class_balance_from_dev_labels() -> None:
    L, _ = sample(2_000, ACCURACIES, COVERAGES, seed=10)
    model = LabelModel(2).fit(L, Y_dev=[0, 0, 0, 1, -1])
    np.testing.assert_allclose(model.class_balance_, [4 / 6, 2 / 6])  # add-one smoothed
    with pytest.raises(ValueError):
        LabelModel(2).fit(L, class_balance=[0.5, 0.6])
    with pytest.raises(ValueError):
        LabelModel(2).fit(L, Y_dev=[2])


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        LabelModel(1)
    with pytest.raises(ValueError):
        LabelModel(2).fit(np.array([[0, 2]]))
    with pytest.raises(ValueError):
        LabelModel(2).fit(np.zeros((0, 3), dtype=int))
    with pytest.raises(RuntimeError):
        LabelModel(2).predict_proba(np.zeros((1, 1), dtype=int))
    model = LabelModel(2).fit(np.array([[0, 1], [1, 1]]))
    with pytest.raises(ValueError):
        model.predict_proba(np.zeros((1, 3), dtype=int))


def test_label_switching_is_undone() -> None:
    theta = np.array([[[0.5, 0.1, 0.4], [0.5, 0.45, 0.05]]] * 3)  # class 0 mostly gets votes 1
    permutation = _class_alignment(theta, np.array([0.5, 0.5]))
    assert permutation is not None and permutation.tolist() == [1, 0]
    assert _class_alignment(theta[:, ::-1, :], np.array([0.5, 0.5])) is None


def test_majority_voter_and_tie_breaks() -> None:
    L = np.array([[0, 0, 1], [0, 1, -1], [-1, -1, -1], [2, 2, 1]])
    voter = MajorityVoter(3)
    np.testing.assert_allclose(
        voter.predict_proba(L),
        [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1]],
    )
    assert voter.predict(L).tolist() == [0, -1, -1, 2]
    assert voter.predict(L, tie_break="first").tolist() == [0, 0, 0, 2]
    random_preds = voter.predict(L, tie_break="random", seed=1)
    assert random_preds[1] in (0, 1) and random_preds[0] == 0
    np.testing.assert_array_equal(random_preds, voter.predict(L, tie_break="random", seed=1))
    with pytest.raises(ValueError):
        voter.predict(L, tie_break="coin")  # type: ignore[arg-type]


def test_scores_ignore_unknown_gold_and_count_abstains_as_wrong() -> None:
    gold = np.array([1, 0, 1, -1, 0])
    preds = np.array([1, 0, -1, 1, 1])
    scores = score_predictions(
        gold, preds, ("accuracy", "coverage", "precision", "recall", "f1", "f1_macro")
    )
    assert scores["accuracy"] == pytest.approx(2 / 4)
    assert scores["coverage"] == pytest.approx(3 / 4)
    assert scores["precision"] == pytest.approx(1 / 2)
    assert scores["recall"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(1 / 2)
    assert scores["f1_macro"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    with pytest.raises(ValueError):
        score_predictions(gold, preds, ("auc",))
