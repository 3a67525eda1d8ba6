"""Label model and majority vote: recovery on a known generative model, edge cases, I/O."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from weak_supervision import LabelModel, MajorityVoter, probs_to_preds, score_predictions
from weak_supervision.label_model import _class_alignment, _pattern_counts


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


def test_the_accuracy_floor_applies_only_without_abstain_evidence() -> None:
    """When the independence model fits the data ("auto" finds so here), weak LFs keep their
    fitted accuracy. With votes only -- chosen when silences are correlated, i.e. on real
    LFs -- the floor lifts LFs below 0.7 up to it, at a small cost when that is wrong."""
    accuracies = [0.85, 0.6, 0.65, 0.7, 0.8]
    L, y = sample(20_000, accuracies, [0.5, 0.6, 0.5, 0.4, 0.3], seed=2)
    model = LabelModel(2).fit(L)
    assert model.abstain_evidence_
    np.testing.assert_allclose(model.lf_accuracies(), accuracies, atol=0.03)
    unconstrained = LabelModel(2, abstain_evidence=False, min_accuracy=None).fit(L)
    np.testing.assert_allclose(unconstrained.lf_accuracies(), accuracies, atol=0.03)
    floored = LabelModel(2, abstain_evidence=False).fit(L)
    assert floored.lf_accuracies()[1:4].min() >= 0.69
    plain = unconstrained.score(L, y, tie_break="random")["accuracy"]
    assert floored.score(L, y, tie_break="random")["accuracy"] > plain - 0.015
    assert model.score(L, y, tie_break="random")["accuracy"] > plain - 0.002


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
    posterior uses them and beats majority vote, and "auto" finds that the model fits."""
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
    auto = LabelModel(2).fit(L)
    assert auto.abstain_evidence_ and auto.dependencies_ == []
    np.testing.assert_array_equal(auto.predict_proba(L), full.predict_proba(L))
    # Votes only: each vote weighs log P(fires | c) / P(fires | other), learned from coverage.
    model = LabelModel(2, abstain_evidence=False).fit(L)
    assert model.score(L[voted], y[voted], tie_break="random")["accuracy"] > baseline - 0.01
    theta = model.cond_probs_
    assert theta is not None and theta[0, 1, 2] > 5 * theta[0, 0, 2]  # LF 0 fires on class 1
    # Nothing fired: votes only, nothing is known about the row, it gets the class balance;
    # with abstain evidence, five silences are the evidence.
    silent = (~voted).sum()
    np.testing.assert_allclose(
        model.predict_proba(L[~voted]), np.tile(model.class_balance_, (silent, 1))
    )
    expected = full.class_balance_ * full.cond_probs_[:, :, 0].prod(axis=0)
    np.testing.assert_allclose(
        full.predict_proba(L[~voted]), np.tile(expected / expected.sum(), (silent, 1))
    )
    assert full.predict(L[~voted])[0] == 0  # the class whose LFs fire less often


def test_votes_only_posterior_ignores_abstains() -> None:
    L, _ = sample(5_000, ACCURACIES, COVERAGES, seed=11)
    model = LabelModel(2, abstain_evidence=False).fit(L)
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
    model = LabelModel(2, min_accuracy=None).fit(silent, L_dev=L_dev, Y_dev=y_dev)
    np.testing.assert_allclose(model.lf_accuracies(), [0.9, 0.8, 0.7], atol=0.03)
    unanchored = LabelModel(2, min_accuracy=None).fit(silent, Y_dev=y_dev)
    np.testing.assert_allclose(unanchored.lf_accuracies(), 0.7, atol=0.02)  # the prior
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, L_dev=L_dev)
    with pytest.raises(ValueError):
        LabelModel(2).fit(silent, L_dev=L_dev, Y_dev=y_dev[:10])
    with pytest.raises(ValueError):
        LabelModel(2, dev_weight=0).fit(silent, L_dev=L_dev, Y_dev=y_dev)
    with pytest.raises(ValueError):
        LabelModel(2, class_balance=[0.5, 0.5]).fit(silent, L_dev=L_dev, Y_dev=y_dev + 1)


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
    plain = LabelModel(2, min_accuracy=None).fit(L)
    floored = LabelModel(2).fit(L)
    assert not floored.abstain_evidence_  # silences depend on the kind: votes only
    assert plain.lf_accuracies()[3] < 0.5
    assert floored.lf_accuracies().min() >= 0.69
    assert (floored.lf_accuracies()[3:5] > 0.5).all()


def _valid(probs: np.ndarray, n: int, k: int) -> None:
    assert probs.shape == (n, k)
    assert np.isfinite(probs).all() and (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1)


def test_no_lf_ever_fires() -> None:
    L = np.full((100, 3), -1)
    model = LabelModel(2, class_balance=[0.7, 0.3]).fit(L)
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
    first = LabelModel(2, seed=3).fit(L).predict_proba(L)
    np.testing.assert_array_equal(first, LabelModel(2, seed=3).fit(L).predict_proba(L))
    sub = LabelModel(2, seed=3, max_rows=1_000).fit(L).predict_proba(L)
    np.testing.assert_array_equal(
        sub, LabelModel(2, seed=3, max_rows=1_000).fit(L).predict_proba(L)
    )
    other_seed = LabelModel(2, seed=4, max_rows=1_000).fit(L).predict_proba(L)
    assert not np.array_equal(sub, other_seed)


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
    model = LabelModel(2, abstain_evidence=False, class_balance=[0.8, 0.2]).fit(L)
    probs = model.predict_proba(np.full((2, len(ACCURACIES)), -1))
    np.testing.assert_allclose(probs, [[0.8, 0.2], [0.8, 0.2]])


def test_class_balance_from_dev_labels() -> None:
    L, _ = sample(2_000, ACCURACIES, COVERAGES, seed=10)
    model = LabelModel(2).fit(L, Y_dev=[0, 0, 0, 1, -1])
    np.testing.assert_allclose(model.class_balance_, [4 / 6, 2 / 6])  # add-one smoothed
    with pytest.raises(ValueError):
        LabelModel(2, class_balance=[0.5, 0.6]).fit(L)
    with pytest.raises(ValueError):
        LabelModel(2).fit(L, Y_dev=[2])


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        LabelModel(1).fit(np.array([[0, 1]]))  # checked by fit, as scikit-learn does
    with pytest.raises(ValueError):
        MajorityVoter(1).predict_proba(np.array([[0, 1]]))
    with pytest.raises(ValueError):
        LabelModel(2).fit(np.array([[0, 2]]))
    with pytest.raises(ValueError):
        LabelModel(2).fit(np.zeros((0, 3), dtype=int))
    bad_settings = ({"prior_accuracy": 0.4}, {"prior_strength": 0}, {"min_accuracy": 1.0})
    for bad in (*bad_settings, {"abstain_evidence": "yes"}, {"abstain_evidence": 1}):
        with pytest.raises(ValueError):
            LabelModel(2, **bad).fit(np.array([[0, 1]]))
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


# ---------------------------------------------------------------- scikit-learn conventions

SETTINGS = {
    "abstain_evidence": True,
    "class_balance": None,
    "prior_accuracy": 0.75,
    "prior_strength": 5.0,
    "min_accuracy": 0.6,
    "dev_weight": 2.0,
    "max_iter": 300,
    "tol": 1e-6,
    "max_rows": 2_000,
    "seed": 3,
}


def test_hyperparameters_are_init_arguments() -> None:
    model = LabelModel(3, **SETTINGS)
    assert model.get_params() == {"cardinality": 3, **SETTINGS}
    assert LabelModel(**model.get_params()).get_params() == model.get_params()
    assert model.set_params(seed=4, tol=1e-5) is model
    assert (model.seed, model.tol) == (4, 1e-5)
    with pytest.raises(ValueError, match="no parameters"):
        model.set_params(epochs=10)
    assert MajorityVoter(3).get_params() == {"cardinality": 3}
    assert repr(LabelModel(3, seed=4)) == "LabelModel(cardinality=3, seed=4)"


def test_clone_gives_an_unfitted_copy_that_fits_identically() -> None:
    L, _ = sample(5_000, ACCURACIES, COVERAGES, k=3, seed=13)
    model = LabelModel(3, **SETTINGS).fit(L, L_dev=L[:200], Y_dev=np.zeros(200, dtype=int))
    copy = clone(model)
    assert type(copy) is LabelModel and copy.get_params() == model.get_params()
    assert not hasattr(copy, "cond_probs_")
    copy.fit(L, L_dev=L[:200], Y_dev=np.zeros(200, dtype=int))
    np.testing.assert_array_equal(copy.predict_proba(L), model.predict_proba(L))
    assert (copy.n_iter_, copy.converged_) == (model.n_iter_, model.converged_)
    assert clone(MajorityVoter(3)).get_params() == {"cardinality": 3}


def test_fitted_attributes_exist_only_after_fit() -> None:
    model = LabelModel(2)
    for name in ("cond_probs_", "class_balance_", "n_iter_", "converged_"):
        assert not hasattr(model, name)
    with pytest.raises(NotFittedError):
        model.predict_proba(np.zeros((1, 1), dtype=int))
    with pytest.raises(NotFittedError):
        model.to_dict()
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    check_is_fitted(model.fit(np.array([[0, 1], [1, 1]])))
    check_is_fitted(MajorityVoter(2))  # nothing to learn: usable as is
    assert MajorityVoter(2).fit(np.array([[0, 1]])).predict(np.array([[1, 1]])).tolist() == [1]


def test_numbers_are_pinned() -> None:
    """Expected values of `LabelModel(3, abstain_evidence=True, ...)` on this matrix, computed
    after SQUAREM learned to shorten an overshooting jump instead of dropping it. That changed
    EM's path, not its fixed point: the values computed before (with the previous API,
    `.fit(L, None, y_dev, 3, L_dev=L_dev, dev_weight=2.0, max_rows=2_000, min_accuracy=0.6,
    prior_strength=5.0)`, 13 E-steps) agree to within EM's tolerance, checked below. (The
    floor `min_accuracy` no longer applies with abstain evidence; it never bound here.)"""
    L, y = sample(5_000, ACCURACIES, COVERAGES, k=3, seed=13)
    settings = {**SETTINGS, "prior_accuracy": 0.7, "max_iter": 500, "tol": 1e-7}
    model = LabelModel(3, **settings).fit(L, L_dev=L[:200], Y_dev=y[:200])
    np.testing.assert_allclose(
        model.lf_accuracies(),
        [0.9244827741199981, 0.831138161284715, 0.7686328122105768, 0.7475477940115516,
         0.7354007407733552, 0.9032253167872125, 0.7783009311559744],
        rtol=1e-9,
    )  # fmt: skip
    before_api_change = [0.9244747367453366, 0.8311392782304431, 0.7686356756381412,
                         0.7475533861797085, 0.7354013146854118, 0.9032167469241014,
                         0.7783073754333577]  # fmt: skip
    np.testing.assert_allclose(model.lf_accuracies(), before_api_change, atol=1e-5)
    np.testing.assert_allclose(
        model.class_balance_, [0.29064039408866993, 0.3054187192118227, 0.4039408866995074]
    )
    np.testing.assert_allclose(
        model.predict_proba(L[:1]), [[0.00402192662385695, 0.00023312112337128178,
                                      0.9957449522527717]], rtol=1e-9
    )  # fmt: skip
    assert (model.n_iter_, model.converged_, model.dependencies_) == (14, True, [])


def test_to_dict_round_trips_hyperparameters_and_reads_versions_1_and_2(tmp_path: Path) -> None:
    L, _ = sample(3_000, ACCURACIES, COVERAGES, seed=8)
    model = LabelModel(
        2, abstain_evidence=False, class_balance=np.array([0.6, 0.4]), seed=np.int64(5)
    ).fit(L)
    payload = json.loads(json.dumps(model.to_dict()))
    back = LabelModel.from_dict(payload)
    assert back.get_params() == {**model.get_params(), "class_balance": [0.6, 0.4], "seed": 5}
    np.testing.assert_array_equal(back.predict_proba(L), model.predict_proba(L))
    # Version 2: hyperparameters saved, but no dependencies and no fitted abstain_evidence_.
    fitted = ("class_balance", "cond_probs", "n_iter", "converged")
    v2 = {key: payload[key] for key in ("format", "params", *fitted)} | {"format_version": 2}
    np.testing.assert_array_equal(LabelModel.from_dict(v2).predict_proba(L), model.predict_proba(L))
    # Version 1, saved before hyperparameters were: only cardinality and abstain_evidence.
    v1 = {key: payload[key] for key in fitted}
    v1 |= {"format": payload["format"], "format_version": 1, "cardinality": 2}
    v1["abstain_evidence"] = False
    np.testing.assert_array_equal(LabelModel.from_dict(v1).predict_proba(L), model.predict_proba(L))
    voter = MajorityVoter(3)
    voter.save(tmp_path / "voter.json")
    assert MajorityVoter.load(tmp_path / "voter.json").get_params() == {"cardinality": 3}
    with pytest.raises(ValueError):
        LabelModel.from_dict(voter.to_dict())


def copied(L: np.ndarray, source: int, copier: int, rho: float, seed: int) -> np.ndarray:
    """L with LF `copier` repeating LF `source`'s outcome (vote or abstain) on a share `rho`
    of the rows, chosen at random: a dependency the independence assumption cannot see."""
    L = L.copy()
    repeat = np.random.default_rng(seed).random(len(L)) < rho
    L[repeat, copier] = L[repeat, source]
    return L


def test_a_copying_lf_is_modelled_jointly_with_its_source(tmp_path: Path) -> None:
    """Counted as independent, an LF that copies another doubles its weight; the pairwise test
    finds the pair, and the pair's joint distribution is learned instead."""
    L, y = sample(50_000, ACCURACIES[:6], COVERAGES[:6], seed=14)
    L = copied(L, 4, 1, 0.9, seed=15)  # LF 4 (accuracy 0.72) copied by LF 1
    model = LabelModel(2).fit(L)
    assert model.abstain_evidence_ and model.dependencies_ == [(1, 4)]
    joint = model.joint_probs_[0].reshape(2, 3, 3)  # [class, outcome of LF 1, outcome of LF 4]
    assert np.trace(joint, axis1=1, axis2=2).min() > 0.9  # they agree on ~90 % + chance
    independent = LabelModel(2, abstain_evidence=False).fit(L)
    ours = model.score(L, y, tie_break="random")["accuracy"]
    assert ours > independent.score(L, y, tie_break="random")["accuracy"] + 0.01
    model.save(tmp_path / "pair.json")
    loaded = LabelModel.load(tmp_path / "pair.json")
    np.testing.assert_array_equal(loaded.predict_proba(L), model.predict_proba(L))
    assert loaded.dependencies_ == [(1, 4)] and loaded.abstain_evidence_


def test_pattern_counts_match_sorting_rows() -> None:
    """Rows collapsed through integer codes: counted (small code space), sorted (large code
    space) or ranked on the way (codes that would overflow int64) -- same as np.unique."""
    rng = np.random.default_rng(16)
    for n, m, k in ((5_000, 6, 2), (300, 5, 60), (2_000, 50, 2)):
        L = np.where(rng.random((n, m)) < 0.5, -1, rng.integers(0, k, (n, m))).astype(np.int8)
        L[n // 2 :] = L[: n - n // 2]  # duplicates
        patterns, counts = _pattern_counts(L, k)
        expected, expected_counts = np.unique(L, axis=0, return_counts=True)
        np.testing.assert_array_equal(patterns, expected)
        np.testing.assert_array_equal(counts, expected_counts)
