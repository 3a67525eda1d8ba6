"""The end classifier follows scikit-learn's estimator conventions, refuses sample weights
that do not match its rows before using them, holds nothing that grows with the rows it was
trained on, and trains on repeated inputs once with their weights summed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from training.classifier import SoftLabelClassifier, dumps

TEXTS = [
    "check out my channel http://promo.example.com", "love this song so much",
    "subscribe to my channel please", "this video is so funny lol",
    "free money at www.cash.com", "i miss the old days", "check my new video plz",
    "wow her voice is amazing",
]  # fmt: skip


@pytest.fixture
def X() -> pd.DataFrame:
    return pd.DataFrame({"text": TEXTS, "url_count": [1, 0, 0, 0, 1, 0, 0, 0]})


@pytest.fixture
def proba() -> np.ndarray:
    spam = np.array([0.9, 0.2, 0.8, 0.1, 0.95, 0.3, 0.7, 0.05])
    return np.column_stack([1 - spam, spam])


def test_hyperparameters_are_init_arguments_and_clone_works(X, proba):
    model = SoftLabelClassifier(
        seed=3, alpha=1e-4, char_ngrams=(2, 4), numeric_columns=("url_count",)
    )
    params = model.get_params()
    assert params["seed"] == 3 and params["char_ngrams"] == (2, 4)
    assert set(params) == {"seed", "C", "alpha", "word_ngrams", "char_ngrams", "n_features",
                           "numeric_columns", "max_iter", "sgd_above", "sgd_epochs",
                           "min_label_weight"}  # fmt: skip
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert not hasattr(model, "pipeline_") and not hasattr(model, "classes_")
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    model.fit(X, proba)
    assert not hasattr(twin, "pipeline_")  # clone copies hyperparameters, never fitted state
    np.testing.assert_array_equal(twin.fit(X, proba).predict_proba(X), model.predict_proba(X))
    assert clone(model.set_params(alpha=5e-5)).alpha == 5e-5


def test_fitted_attributes_and_predictions(X, proba):
    model = SoftLabelClassifier(seed=0).fit(X, proba)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    scores = model.predict_proba(X)
    assert scores.shape == (len(X), 2) and np.allclose(scores.sum(axis=1), 1)
    np.testing.assert_array_equal(model.predict(X), scores.argmax(axis=1))
    assert model.score(X, proba.argmax(axis=1)) == 1.0


def test_hard_labels_are_one_hot_soft_labels(X, proba):
    y = proba.argmax(axis=1)
    hard = SoftLabelClassifier(seed=0).fit(X, y)
    one_hot = SoftLabelClassifier(seed=0).fit(X, np.eye(2)[y])
    np.testing.assert_array_equal(hard.predict_proba(X), one_hot.predict_proba(X))
    named = SoftLabelClassifier(seed=0).fit(X, np.where(y == 1, "spam", "ham"))
    assert list(named.classes_) == ["ham", "spam"]
    assert set(named.predict(X)) <= {"ham", "spam"}


def test_training_is_deterministic(X, proba):
    """In one process; across processes (other hash seeds, other addresses):
    tests/integration/test_model_store_safety.py."""
    weight = np.linspace(0.5, 1.5, len(X))
    first, second = (SoftLabelClassifier(seed=1).fit(X, proba, weight) for _ in range(2))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert dumps(first) == dumps(second)


@pytest.mark.parametrize("length", [1, 3, 9])
def test_wrong_length_sample_weight_is_refused_before_use(X, proba, length):
    # A single weight used to broadcast over every row; others failed inside numpy.
    with pytest.raises(ValueError, match=f"sample_weight has {length} entries for 8 rows"):
        SoftLabelClassifier().fit(X, proba, sample_weight=np.ones(length))


def test_labels_that_do_not_match_the_rows_are_refused(X, proba):
    with pytest.raises(ValueError, match="for 8 rows"):
        SoftLabelClassifier().fit(X, proba[:5])


def test_labels_missing_a_class_are_refused(X, proba):
    with pytest.raises(ValueError, match="cover 2 of 3 classes"):
        SoftLabelClassifier().fit(X, np.column_stack([proba, np.zeros(len(X))]))


def test_fitted_state_does_not_grow_with_the_rows(X, proba):
    """Hashed features: the same array sizes after 8 rows and after 800 distinct ones."""
    rng = np.random.default_rng(0)
    words = " ".join(TEXTS).split()
    many = pd.DataFrame({"text": [" ".join(rng.choice(words, 6)) + f" {i}" for i in range(800)]})
    many_proba = np.eye(2)[rng.integers(2, size=800)]

    def sizes(model: SoftLabelClassifier) -> list[int]:
        features = model.pipeline_.named_steps["features"].named_transformers_
        idf = [
            features[name].named_steps["tfidftransformer"].idf_.size for name in ("words", "chars")
        ]
        return [*idf, model.pipeline_.named_steps["model"].coef_.size]

    small = SoftLabelClassifier(n_features=2**12).fit(X, proba)
    large = SoftLabelClassifier(n_features=2**12).fit(many, many_proba)
    assert sizes(small) == sizes(large) == [2**12, 2**12, 2 * 2**12]
    assert not any(hasattr(s, "vocabulary_") for s in _steps(large))


def _steps(model: SoftLabelClassifier) -> list:
    features = model.pipeline_.named_steps["features"].named_transformers_.values()
    return [step for pipe in features for step in getattr(pipe, "named_steps", {}).values()]


def test_repeated_inputs_train_as_one_row_with_summed_weights(X, proba):
    """Eight rows twice over, or once with double weight: the same loss, the same model."""
    twice = SoftLabelClassifier(seed=2).fit(pd.concat([X, X], ignore_index=True),
                                            np.vstack([proba, proba]))  # fmt: skip
    doubled = SoftLabelClassifier(seed=2).fit(X, proba, sample_weight=np.full(len(X), 2.0))
    np.testing.assert_array_equal(twice.predict_proba(X), doubled.predict_proba(X))
    assert dumps(twice) == dumps(doubled)


def test_scoring_repeated_inputs_scores_each_row(X, proba):
    model = SoftLabelClassifier(seed=0).fit(X, proba)
    shuffled = pd.concat([X, X.iloc[::-1]], ignore_index=True)
    scores = model.predict_proba(shuffled)
    np.testing.assert_array_equal(scores[: len(X)], model.predict_proba(X))
    np.testing.assert_array_equal(scores[len(X) :], model.predict_proba(X)[::-1])
    assert model.predict_proba(X.iloc[:0]).shape == (0, 2)


def test_sgd_takes_over_above_sgd_above_rows_and_round_trips(X, proba):
    """Small sets get the exact L-BFGS fit, large ones averaged SGD; both store and load."""
    from training.classifier import loads

    small = SoftLabelClassifier(seed=0).fit(X, proba)
    large = SoftLabelClassifier(seed=0, sgd_above=4).fit(X, proba)
    assert type(small.pipeline_.named_steps["model"]).__name__ == "LogisticRegression"
    assert type(large.pipeline_.named_steps["model"]).__name__ == "SGDClassifier"
    for model in (small, large):
        np.testing.assert_array_equal(loads(dumps(model)).predict_proba(X), model.predict_proba(X))
