"""Label models: combine noisy LF votes into probabilistic labels.

`LabelModel` is a Dawid-Skene model. Each LF j has, for each true class y, a distribution over
its k+1 outcomes (abstain or a label): theta[j, y, o] = P(vote_j = o | y); LFs are
conditionally independent given y, and y ~ class_balance. Because abstaining is an outcome, a
one-sided keyword LF is scored by how much more often it fires on its class than on the others
(P(fires | spam) / P(fires | ham)), which is the information such an LF actually carries.

What counts as evidence about a row. Real LFs are far from independent in when they stay
silent: spam comes in kinds, and the LFs written for one kind all abstain together on the
others. Counting each of those silences as independent evidence makes EM model one kind of spam
against everything else and declare the other kinds' LFs wrong (on the YouTube task, a link-only
spam comment scored as ham). So by default (`abstain_evidence=False`) a row's posterior, in EM
and in predictions, uses only the votes cast on it, each weighted by its fitted class-conditional
probability, while abstains still shape those probabilities through the M-step (Snorkel scores
rows the same way). `abstain_evidence=True` gives the full Dawid-Skene posterior instead.

Fitting is MAP-EM with posterior regularisation. Dirichlet pseudo-counts (centred on
`prior_accuracy` at the LF's observed coverage) keep probabilities away from 0 and 1; majority
vote is the starting point. Gold dev rows, when their votes are given (`L_dev`), join EM as
labelled rows with their posterior fixed to the gold class (semi-supervised EM), which anchors
the LF accuracies where the unlabelled votes alone are ambiguous. Each E-step projects the
posteriors (the KL projection, solved in its small convex dual) onto "LF j's votes are right at
least `min_accuracy` of the time" -- the assumption an LF's author makes -- capped at
1/(k * coverage) so that near-constant LFs stay feasible. SQUAREM extrapolation speeds EM up
along flat directions, and a final check undoes label switching. Duplicate vote patterns are
collapsed, and both EM steps are sparse products over non-abstain votes, so a million rows
fit in seconds.

API: scikit-learn's estimator conventions (see `BaseLabeler`), so that a fit is reproducible
from `get_params()` alone and models can be cloned for cross-validation or benchmarks.
"""

from __future__ import annotations

import inspect
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self

import numpy as np

from weak_supervision.lf import ABSTAIN
from weak_supervision.metrics import TieBreak, probs_to_preds, score_predictions

if TYPE_CHECKING:
    from scipy import sparse

_FORMAT_PREFIX = "sluice.weak_supervision."  # + the class name
_FORMAT_VERSION = 2  # 2: hyperparameters saved under "params"


def check_label_matrix(L: Any, cardinality: int, n_lfs: int | None = None) -> np.ndarray:
    """Validate a label matrix (n x m ints, -1 abstains, labels < cardinality); int8 or int16."""
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"L must be 2-D (rows x LFs), got shape {L.shape}")
    if L.size and (L.dtype.kind not in "iu" or L.min() < -1 or L.max() >= cardinality):
        raise ValueError(f"L must hold ints in -1..{cardinality - 1}")
    if n_lfs is not None and L.shape[1] != n_lfs:
        raise ValueError(f"L has {L.shape[1]} LFs, the model was fitted on {n_lfs}")
    return L.astype(np.int8 if cardinality <= 127 else np.int16, copy=False)


def _check_cardinality(cardinality: int) -> int:
    if isinstance(cardinality, bool) or not isinstance(cardinality, int) or cardinality < 2:
        raise ValueError(f"cardinality must be an int >= 2, got {cardinality!r}")
    return cardinality


def vote_design(L: np.ndarray, cardinality: int) -> sparse.csr_matrix:
    """Sparse one-hot of the non-abstain votes: X[i, j*k + v] = 1 when LF j votes v on row i."""
    from scipy import sparse

    n, m = L.shape
    voted = L >= 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(voted @ np.ones(m, dtype=np.int64), out=indptr[1:])
    # Boolean indexing walks the matrix row by row: exactly the CSR order.
    indices = (L.astype(np.int32) + np.arange(m, dtype=np.int32) * cardinality)[voted]
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, indices, indptr), shape=(n, m * cardinality))


class BaseLabeler(ABC):
    """What the label models share: prediction, scoring, persistence and scikit-learn's
    estimator conventions, without importing scikit-learn (its import is slow).

    Hyperparameters are exactly `__init__`'s arguments, stored unchanged under their own names,
    so `get_params`, `set_params` and `sklearn.base.clone` work; whatever `fit` learns is in
    attributes ending in `_`, which do not exist before `fit`.
    """

    cardinality: int

    @classmethod
    def _param_names(cls) -> list[str]:
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in parameters if p.name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters by name (`deep` is scikit-learn's; none of them is an estimator)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change hyperparameters; they take effect at the next `fit`."""
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no parameters {unknown}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """Tags for scikit-learn's utilities (`check_is_fitted`...); imported only when asked."""
        from sklearn.utils import Tags, TargetTags

        # `L` is a matrix of votes; `Y_dev` is optional, so no target is required.
        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if repr(value) != repr(defaults[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    @abstractmethod
    def fit(self, L: Any, L_dev: Any = None, Y_dev: Any = None) -> Self:
        """Learn from label matrix `L` and, optionally, dev rows' votes and gold labels."""

    @abstractmethod
    def predict_proba(self, L: Any) -> np.ndarray:
        """(n, k) class probabilities for each row of the label matrix."""

    def predict(self, L: Any, tie_break: TieBreak = "abstain", seed: int = 0) -> np.ndarray:
        """Most probable class per row; ties follow `tie_break` (`"abstain"` gives -1)."""
        return probs_to_preds(self.predict_proba(L), tie_break, seed=seed)

    def score(
        self,
        L: Any,
        Y: Any,
        metrics: Sequence[str] = ("accuracy",),
        tie_break: TieBreak = "abstain",
        seed: int = 0,
    ) -> dict[str, float]:
        """Metrics of `predict(L)` against gold `Y`; rows with `Y == -1` are ignored."""
        preds = self.predict(L, tie_break=tie_break, seed=seed)
        return score_predictions(np.asarray(Y), preds, metrics, self.cardinality)

    # ------------------------------------------------------------------ persistence

    @abstractmethod
    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes as JSON-ready data."""

    @abstractmethod
    def _restore(self, payload: dict[str, Any]) -> None:
        """Set the fitted attributes from a payload holding `_fitted_state`'s output."""

    def to_dict(self) -> dict[str, Any]:
        """Hyperparameters and fitted state as plain JSON-ready data (floats round-trip)."""
        return {
            "format": _FORMAT_PREFIX + type(self).__name__,
            "format_version": _FORMAT_VERSION,
            "params": {name: _plain(value) for name, value in self.get_params().items()},
            **self._fitted_state(),
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Self:
        """A model from `to_dict`'s output."""
        if (
            payload.get("format") != _FORMAT_PREFIX + cls.__name__
            or payload.get("format_version") != _FORMAT_VERSION
        ):
            raise ValueError(f"not a saved {cls.__name__} (format {_FORMAT_VERSION})")
        model = cls(**payload["params"])
        model._restore(payload)
        return model

    def save(self, path: str | Path) -> None:
        """Write `to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by `save`."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, and tuples, as plain JSON values."""
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _not_fitted(model: BaseLabeler) -> Exception:
    from sklearn.exceptions import NotFittedError  # only on this error path: the import is slow

    return NotFittedError(f"this {type(model).__name__} is not fitted; call fit() or load() first")


class MajorityVoter(BaseLabeler):
    """Each row's probabilities are its vote shares among tied winners: the top-voted class gets
    1, a tie is split evenly between the tied classes, and a row with no votes is uniform."""

    def __init__(self, cardinality: int = 2):
        self.cardinality = cardinality

    def fit(self, L: Any, L_dev: Any = None, Y_dev: Any = None) -> Self:
        """Nothing to learn: only checks `L`, so the voter can stand in for a `LabelModel`."""
        check_label_matrix(L, _check_cardinality(self.cardinality))
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless: usable without fit

    def _fitted_state(self) -> dict[str, Any]:
        return {}

    def _restore(self, payload: dict[str, Any]) -> None:
        """Nothing was learned, nothing to restore."""

    def predict_proba(self, L: Any) -> np.ndarray:
        k = _check_cardinality(self.cardinality)
        L = check_label_matrix(L, k)
        counts = np.stack([np.equal(L, c).sum(axis=1) for c in range(k)], axis=1)
        winners = (counts == counts.max(axis=1, keepdims=True)).astype(np.float64)
        return winners / winners.sum(axis=1, keepdims=True)


def _unique_rows(L: np.ndarray, cardinality: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of L and how often each occurs (LF matrices repeat a lot)."""
    n, m = L.shape
    if m * math.log2(cardinality + 1) < 62:
        # Encode each row as one base-(k+1) integer: sorting ints beats sorting rows.
        keys = np.zeros(n, dtype=np.int64)
        for j in range(m):
            keys *= cardinality + 1
            keys += L[:, j] + 1
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    else:
        _, first, counts = np.unique(L, axis=0, return_index=True, return_counts=True)
    return L[first], counts.astype(np.float64)


class LabelModel(BaseLabeler):
    """Dawid-Skene label model fitted by regularised MAP-EM (see the module docstring).

    Hyperparameters: `cardinality` k. `abstain_evidence`: False (default), a row's posterior
    uses only the votes cast on it; True, which LFs abstained counts as evidence too (in EM and
    in predictions). `class_balance`: fixed class prior; None, it comes from the `Y_dev` given
    to `fit` (smoothed frequencies), else EM learns it. `prior_accuracy` / `prior_strength`:
    the Dirichlet prior (pseudo-votes per LF and class). `min_accuracy`: accuracy floor of each
    LF's votes (None: plain MAP-EM). `dev_weight`: how many rows each dev row counts for.
    `max_iter` / `tol`: EM stops after `max_iter` E-steps or when the objective changes by less
    than `tol` (relative). `max_rows`: EM runs on a random sample of that many rows, drawn with
    `seed`; otherwise the fit is deterministic and `seed` is unused.

    Fitted attributes: `cond_probs_` (m, k, k+1) with P(vote = v | y) at index v + 1 (index 0
    is abstain), `class_balance_` (k,), `n_iter_` (E-steps run), `converged_`. A row where
    every LF abstains gets `class_balance_`.
    """

    def __init__(
        self,
        cardinality: int = 2,
        *,
        abstain_evidence: bool = False,
        class_balance: Sequence[float] | np.ndarray | None = None,
        prior_accuracy: float = 0.7,
        prior_strength: float = 10.0,
        min_accuracy: float | None = 0.7,
        dev_weight: float = 1.0,
        max_iter: int = 500,
        tol: float = 1e-7,
        max_rows: int | None = None,
        seed: int = 0,
    ):
        self.cardinality = cardinality
        self.abstain_evidence = abstain_evidence
        self.class_balance = class_balance
        self.prior_accuracy = prior_accuracy
        self.prior_strength = prior_strength
        self.min_accuracy = min_accuracy
        self.dev_weight = dev_weight
        self.max_iter = max_iter
        self.tol = tol
        self.max_rows = max_rows
        self.seed = seed

    # ------------------------------------------------------------------ fitting

    def fit(self, L: Any, L_dev: Any = None, Y_dev: Any = None) -> Self:
        """Fit on label matrix `L` (n x m, -1 abstains, labels 0..k-1).

        `Y_dev`, gold labels of a dev sample (need not be rows of L), sets the class balance
        when the `class_balance` hyperparameter is None. With `L_dev`, the dev rows' votes
        aligned with `Y_dev`, the dev rows also join EM as labelled rows.
        """
        k = _check_cardinality(self.cardinality)
        L = check_label_matrix(L, k)
        if L.shape[0] == 0:
            raise ValueError("cannot fit a label model on zero rows")
        if not 1 / k < self.prior_accuracy < 1 or self.prior_strength <= 0:
            raise ValueError("need 1/k < prior_accuracy < 1 and prior_strength > 0")
        if self.min_accuracy is not None and not 1 / k < self.min_accuracy < 1:
            raise ValueError("min_accuracy must be None or between 1/k and 1")
        fixed_balance = self._resolve_class_balance(Y_dev)
        labelled = self._labelled_rows(L_dev, Y_dev, L.shape[1])
        if self.max_rows is not None and L.shape[0] > self.max_rows:
            rng = np.random.default_rng(self.seed)
            L = L[np.sort(rng.choice(L.shape[0], size=self.max_rows, replace=False))]
        patterns, weights = _unique_rows(L, k)
        X = vote_design(patterns, k)
        prior = _dirichlet_prior(
            X, weights, patterns.shape[1], k, self.prior_accuracy, self.prior_strength
        )
        em = _EM(
            X, weights, k, prior, fixed_balance, self.min_accuracy, self.abstain_evidence, labelled
        )
        theta, balance = em.run(em.majority_vote_start(), self.max_iter, self.tol)
        permutation = _class_alignment(theta, balance)
        if permutation is not None:
            theta = theta[:, permutation, :]
            balance = balance[permutation] if fixed_balance is None else fixed_balance
            theta, balance = em.run(em.e_step(theta, balance)[0], self.max_iter, self.tol)
        self.cond_probs_, self.class_balance_ = theta, balance
        self.n_iter_, self.converged_ = em.n_iter, em.converged
        return self

    def _labelled_rows(self, L_dev: Any, Y_dev: Any, n_lfs: int) -> _Labelled | None:
        """The dev rows' vote design and one-hot gold, weighted, for semi-supervised EM."""
        if L_dev is None:
            return None
        if Y_dev is None:
            raise ValueError("L_dev needs Y_dev, the gold labels of its rows")
        if not self.dev_weight > 0:
            raise ValueError("dev_weight must be positive")
        k = self.cardinality
        L_dev = check_label_matrix(L_dev, k, n_lfs)
        gold = np.asarray(Y_dev).reshape(-1)
        if gold.shape[0] != L_dev.shape[0]:
            raise ValueError(f"L_dev has {L_dev.shape[0]} rows but Y_dev has {gold.shape[0]}")
        known = gold != -1
        if known.any() and (gold[known].min() < 0 or gold[known].max() >= k):
            raise ValueError(f"Y_dev must hold gold labels in 0..{k - 1}")
        return _Labelled(
            vote_design(L_dev[known], k),
            np.eye(k)[gold[known].astype(np.int64)],
            float(self.dev_weight),
        )

    def _resolve_class_balance(self, Y_dev: Any) -> np.ndarray | None:
        k = self.cardinality
        if self.class_balance is not None:
            balance = np.asarray(self.class_balance, dtype=np.float64)
            if balance.shape != (k,) or np.any(balance <= 0) or not np.isclose(balance.sum(), 1):
                raise ValueError(f"class_balance must be {k} positive numbers summing to 1")
            return balance / balance.sum()
        if Y_dev is not None:
            gold = np.asarray(Y_dev).reshape(-1)
            gold = gold[gold != -1]
            if gold.size == 0 or gold.min() < 0 or gold.max() >= k:
                raise ValueError(f"Y_dev must hold gold labels in 0..{k - 1}")
            counts = np.bincount(gold.astype(np.int64), minlength=k) + 1.0  # add-one smoothing
            return counts / counts.sum()
        return None

    # ------------------------------------------------------------------ prediction

    def _check_fitted(self) -> tuple[np.ndarray, np.ndarray]:
        try:
            return self.cond_probs_, self.class_balance_
        except AttributeError:
            raise _not_fitted(self) from None

    def predict_proba(self, L: Any) -> np.ndarray:
        theta, balance = self._check_fitted()
        k = theta.shape[1]
        L = check_label_matrix(L, k, theta.shape[0])
        X = vote_design(L, k)
        proba = _softmax(_log_joint(X, theta, balance, abstain_evidence=self.abstain_evidence))
        # No vote, no evidence about this row: it gets the class prior, whatever the mode.
        proba[(L == ABSTAIN).all(axis=1)] = balance
        return proba

    def lf_accuracies(self) -> np.ndarray:
        """P(vote is correct | LF votes), per LF, under the fitted model."""
        theta, balance = self._check_fitted()
        k = theta.shape[1]
        correct = (theta[:, np.arange(k), np.arange(k) + 1] * balance).sum(axis=1)
        votes = ((1 - theta[:, :, 0]) * balance).sum(axis=1)
        return correct / votes

    def get_weights(self) -> np.ndarray:
        """Same as `lf_accuracies` (what Snorkel's `get_weights` reports)."""
        return self.lf_accuracies()

    # ------------------------------------------------------------------ persistence

    def _fitted_state(self) -> dict[str, Any]:
        theta, balance = self._check_fitted()
        return {
            "class_balance": balance.tolist(),
            "cond_probs": theta.tolist(),
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    def _restore(self, payload: dict[str, Any]) -> None:
        k = payload["params"]["cardinality"]
        self.class_balance_ = np.asarray(payload["class_balance"], dtype=np.float64)
        theta = np.asarray(payload["cond_probs"], dtype=np.float64)
        self.cond_probs_ = theta.reshape(-1, k, k + 1)
        self.n_iter_, self.converged_ = payload["n_iter"], payload["converged"]

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Self:
        if (
            payload.get("format") == _FORMAT_PREFIX + cls.__name__
            and payload.get("format_version") == 1
        ):  # written before hyperparameters were saved: only these two mattered then
            params = {key: payload[key] for key in ("cardinality", "abstain_evidence")}
            payload = {**payload, "format_version": _FORMAT_VERSION, "params": params}
        return super().from_dict(payload)


def _normalize(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of an (n, k) array and its log normaliser.

    Works column by column: numpy reductions along a short last axis are several times slower
    than element-wise operations on whole columns, and this is the E-step's hot loop.
    """
    top = log_joint[:, 0].copy()
    for column in range(1, log_joint.shape[1]):
        np.maximum(top, log_joint[:, column], out=top)
    probs = log_joint - top[:, None]
    np.exp(probs, out=probs)
    total = probs @ np.ones(probs.shape[1])
    probs /= total[:, None]
    return probs, top + np.log(total)


def _softmax(scores: np.ndarray) -> np.ndarray:
    return _normalize(scores)[0]


def _log_joint(
    X: sparse.csr_matrix, theta: np.ndarray, balance: np.ndarray, *, abstain_evidence: bool
) -> np.ndarray:
    """Unnormalised log P(y, votes) per row of the vote design X, as an (n, k) array.

    Rows only store their votes; with abstain evidence, every row starts from "all LFs
    abstained" (sum of log P(abstain | y)) and each vote swaps its LF's abstain term for the
    vote's.
    """
    m, k, _ = theta.shape
    log_theta = np.log(theta)
    weights = log_theta[:, :, 1:].transpose(0, 2, 1).reshape(m * k, k)
    base = np.log(balance)
    if abstain_evidence:
        weights = weights - np.repeat(log_theta[:, :, 0], k, axis=0)
        base = base + log_theta[:, :, 0].sum(axis=0)
    return np.asarray(X @ weights) + base


def _dirichlet_prior(
    X: sparse.csr_matrix, weights: np.ndarray, m: int, k: int, accuracy: float, strength: float
) -> np.ndarray:
    """Pseudo-counts (m, k, k+1): per class, `strength` votes spread like an LF that keeps its
    observed coverage and is right with probability `accuracy`, errors spread evenly."""
    votes = (X.T @ weights).reshape(m, k).sum(axis=1)
    coverage = (votes + 1) / (weights.sum() + 2)  # smoothed: never exactly 0 or 1
    mean = np.empty((m, k, k + 1))
    mean[:, :, 0] = (1 - coverage)[:, None]
    mean[:, :, 1:] = (coverage * (1 - accuracy) / (k - 1))[:, None, None]
    diagonal = np.arange(k)
    mean[:, diagonal, diagonal + 1] = (coverage * accuracy)[:, None]
    return strength * mean


class _Labelled(NamedTuple):
    """Gold-labelled rows for semi-supervised EM: vote design, one-hot gold, weight per row."""

    X: sparse.csr_matrix
    gold: np.ndarray
    weight: float


class _EM:
    """Regularised MAP-EM over weighted, distinct vote patterns (rows of the vote design X),
    plus optional labelled rows whose posterior is their gold class."""

    _MAX_DUAL_STEPS = 200

    def __init__(
        self,
        X: sparse.csr_matrix,
        weights: np.ndarray,
        k: int,
        prior: np.ndarray,
        fixed_balance: np.ndarray | None,
        min_accuracy: float | None,
        abstain_evidence: bool,
        labelled: _Labelled | None,
    ):
        self.X, self.XT = X, X.T.tocsr()
        self.weights, self.k, self.prior = weights, k, prior
        self.m = prior.shape[0]
        self.fixed_balance = fixed_balance
        self.abstain_evidence = abstain_evidence
        self.labelled = labelled
        # Labelled rows add fixed counts to every M-step.
        self.labelled_votes = np.zeros((self.m * k, k))
        self.labelled_classes = np.zeros(k)
        if labelled is not None:
            self.labelled_votes = np.asarray(labelled.X.T @ labelled.gold) * labelled.weight
            self.labelled_classes = labelled.gold.sum(axis=0) * labelled.weight
        self.n_iter, self.converged = 0, False
        # Column r of X is a vote of LF r // k for label r % k.
        self.columns = np.arange(self.m * k)
        self.column_lf = np.repeat(np.arange(self.m), k)
        self.column_label = np.tile(np.arange(k), self.m)
        self.n_votes = self.per_lf(np.asarray(self.XT @ weights))
        self.floor: np.ndarray | None = None
        if min_accuracy is not None:
            coverage = self.n_votes / weights.sum()
            with np.errstate(divide="ignore"):
                self.floor = np.minimum(min_accuracy, 1 / (k * coverage))
        self.dual = np.zeros(self.m)  # Lagrange multipliers, warm-started across E-steps

    def per_lf(self, per_column: np.ndarray) -> np.ndarray:
        """Sum a per-column quantity over each LF's k columns."""
        return per_column.reshape(self.m, self.k).sum(axis=1)

    def correct_votes(self, vote_mass: np.ndarray) -> np.ndarray:
        """Per LF, the (posterior-weighted) number of its votes that match the class."""
        return self.per_lf(vote_mass[self.columns, self.column_label])

    def majority_vote_start(self) -> np.ndarray:
        """Soft majority vote: vote shares per row, the class balance (or uniform) if no votes."""
        k = self.k
        counts = np.asarray(self.X @ np.tile(np.eye(k), (self.m, 1)))
        total = counts.sum(axis=1, keepdims=True)
        start = self.fixed_balance if self.fixed_balance is not None else np.full(k, 1 / k)
        return np.where(total > 0, counts / np.maximum(total, 1), start)

    def m_step(self, posterior: np.ndarray, vote_mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MAP parameters given posteriors and `vote_mass` = X.T @ (weights * posterior)."""
        m, k = self.m, self.k
        class_mass = self.weights @ posterior + self.labelled_classes
        vote_mass = vote_mass + self.labelled_votes
        votes = vote_mass.reshape(m, k, k).transpose(0, 2, 1)  # [lf, true class, vote]
        counts = np.empty((m, k, k + 1))
        counts[:, :, 1:] = votes
        counts[:, :, 0] = np.maximum(class_mass - votes.sum(axis=2), 0)
        counts += self.prior
        theta = counts / counts.sum(axis=2, keepdims=True)
        if self.fixed_balance is not None:
            return theta, self.fixed_balance
        return theta, (class_mass + 1) / (class_mass.sum() + k)  # add-one smoothing

    def _posterior(
        self, log_joint: np.ndarray, dual: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior tilted by the dual variables, its log normaliser, and its vote mass."""
        if dual.any():
            tilt = np.zeros((self.m * self.k, self.k))
            tilt[self.columns, self.column_label] = dual[self.column_lf]
            log_joint = log_joint + np.asarray(self.X @ tilt)
        posterior, log_norm = _normalize(log_joint)
        vote_mass = np.asarray(self.XT @ (posterior * self.weights[:, None]))
        return posterior, log_norm, vote_mass

    def _project(
        self, log_joint: np.ndarray, floor: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KL-project the posterior onto the accuracy floors.

        The projection is p(y | x) * exp(sum of dual[j] over the LFs j that voted y); the duals
        minimise a convex function whose gradient is (correct votes of LF j) - floor * (votes
        of LF j). Damped diagonal Newton steps (an LF votes once per row, so the diagonal is
        exact per row), warm-started from the previous E-step.
        """
        target = floor * self.n_votes
        tolerance = 1e-4 * np.maximum(self.n_votes, 1)
        dual = self.dual
        for _ in range(self._MAX_DUAL_STEPS):
            posterior, log_norm, vote_mass = self._posterior(log_joint, dual)
            gradient = self.correct_votes(vote_mass) - target
            violation = np.where(dual > 0, np.abs(gradient), np.maximum(-gradient, 0))
            if np.all(violation <= tolerance):
                break
            spread = posterior * (1 - posterior) * self.weights[:, None]
            curvature = self.correct_votes(np.asarray(self.XT @ spread))
            newton = np.maximum(dual - gradient / np.maximum(curvature, 1e-12), 0)
            dual = 0.5 * (dual + newton)
        else:
            posterior, log_norm, vote_mass = self._posterior(log_joint, dual)
        self.dual = dual
        return posterior, log_norm, vote_mass

    def e_step(
        self, theta: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Posteriors (projected when constrained), their vote mass, and the objective."""
        evidence = self.abstain_evidence
        log_joint = _log_joint(self.X, theta, balance, abstain_evidence=evidence)
        posterior, log_norm, vote_mass = self._posterior(log_joint, self.dual)
        penalty = 0.0
        if self.floor is not None:
            if self.dual.any() or np.any(self.correct_votes(vote_mass) < self.floor * self.n_votes):
                posterior, log_norm, vote_mass = self._project(log_joint, self.floor)
            penalty = float(self.dual @ (self.floor * self.n_votes))
        objective = self.weights @ log_norm - penalty + float((self.prior * np.log(theta)).sum())
        if self.labelled is not None:
            labelled_joint = _log_joint(self.labelled.X, theta, balance, abstain_evidence=evidence)
            objective += self.labelled.weight * float((labelled_joint * self.labelled.gold).sum())
        if self.fixed_balance is None:
            objective += float(np.log(balance).sum())
        return posterior, vote_mass, objective

    def run(
        self, posterior: np.ndarray, max_iter: int, tol: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """EM from `posterior`, accelerated with SQUAREM, until the objective stops changing.

        EM crawls along flat directions of the likelihood (hundreds of iterations when an LF
        is nearly constant). SQUAREM (Varadhan & Roland, 2008) takes two EM steps, extrapolates
        along them, and keeps the extrapolation only if it scores at least as well as the plain
        second step, so the objective never goes down. `n_iter` counts E-steps.
        """
        self.converged = False
        vote_mass = np.asarray(self.XT @ (posterior * self.weights[:, None]))
        theta, balance = self.m_step(posterior, vote_mass)
        posterior, vote_mass, objective = self.e_step(theta, balance)
        self.n_iter = 1
        while self.n_iter < max_iter:
            theta1, balance1 = self.m_step(posterior, vote_mass)
            posterior1, vote_mass1, _ = self.e_step(theta1, balance1)
            theta2, balance2 = self.m_step(posterior1, vote_mass1)
            best = (theta2, balance2, *self.e_step(theta2, balance2))
            self.n_iter += 2
            jump = _extrapolate(
                (theta, balance), (theta1, balance1), (theta2, balance2), self.fixed_balance
            )
            if jump is not None and self.n_iter < max_iter:
                candidate = (*jump, *self.e_step(*jump))
                self.n_iter += 1
                if candidate[4] >= best[4]:
                    best = candidate
            previous = objective
            theta, balance, posterior, vote_mass, objective = best
            if abs(objective - previous) <= tol * abs(objective):
                self.converged = True
                break
        return theta, balance


Params = tuple[np.ndarray, np.ndarray]


def _extrapolate(
    start: Params, one: Params, two: Params, fixed_balance: np.ndarray | None
) -> Params | None:
    """SQUAREM's step: start - 2a r + a^2 v with r = one - start, v = two - 2 one + start and
    a = -|r| / |v| (at most -1), mapped back onto probability simplices."""
    r = [a - b for a, b in zip(one, start, strict=True)]
    v = [c - 2 * b + a for a, b, c in zip(start, one, two, strict=True)]
    r_norm = math.sqrt(sum(float((x**2).sum()) for x in r))
    v_norm = math.sqrt(sum(float((x**2).sum()) for x in v))
    if v_norm == 0 or r_norm == 0:
        return None
    step = min(-r_norm / v_norm, -1.0)
    theta, balance = (
        np.clip(s - 2 * step * ri + step**2 * vi, 1e-12, None)
        for s, ri, vi in zip(start, r, v, strict=True)
    )
    theta /= theta.sum(axis=-1, keepdims=True)
    balance = fixed_balance if fixed_balance is not None else balance / balance.sum()
    return theta, balance


def _class_alignment(theta: np.ndarray, balance: np.ndarray) -> np.ndarray | None:
    """The class permutation that undoes label switching, or None if classes are aligned.

    EM's likelihood is symmetric under renaming classes; the intended solution is the one where
    LFs mostly vote the true class. `agreement[y, c]` is how much LFs vote c when the truth is y;
    if the best one-to-one matching of true classes to voted classes is not the identity, the
    fit converged to a mirror image.
    """
    k = theta.shape[1]
    agreement = (theta[:, :, 1:] * balance[None, :, None]).sum(axis=0)
    if np.all(np.argmax(agreement, axis=1) == np.arange(k)):
        return None
    from scipy.optimize import linear_sum_assignment

    _, voted = linear_sum_assignment(-agreement)
    if np.all(voted == np.arange(k)):
        return None
    permutation = np.empty(k, dtype=np.int64)
    permutation[voted] = np.arange(k)  # new class c takes the parameters of old class y
    return permutation
