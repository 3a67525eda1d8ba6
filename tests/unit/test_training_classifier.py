"""The end classifier follows scikit-learn's estimator conventions, and refuses sample
weights that do not match its rows before using them."""

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
    model = SoftLabelClassifier(seed=3, C=2.0, char_ngrams=(2, 4), numeric_columns=("url_count",))
    params = model.get_params()
    assert params["seed"] == 3 and params["char_ngrams"] == (2, 4)
    assert set(params) == {"seed", "C", "word_ngrams", "char_ngrams", "min_df",
                           "numeric_columns", "max_iter", "min_label_weight"}  # fmt: skip
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    assert not hasattr(model, "pipeline_") and not hasattr(model, "classes_")
    with pytest.raises(NotFittedError):
        model.predict_proba(X)
    model.fit(X, proba)
    assert not hasattr(twin, "pipeline_")  # clone copies hyperparameters, never fitted state
    np.testing.assert_array_equal(twin.fit(X, proba).predict_proba(X), model.predict_proba(X))
    assert clone(model.set_params(C=5.0)).C == 5.0


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
