"""Label models: combine noisy LF votes into probabilistic labels.

`LabelModel` is a Dawid-Skene model. Each LF j has, for each true class y, a distribution over
its k+1 outcomes (abstain or a label): theta[j, y, o] = P(vote_j = o | y); LFs are
conditionally independent given y, and y ~ class_balance. Because abstaining is an outcome, a
one-sided keyword LF is scored by how much more often it fires on its class than on the others
(P(fires | spam) / P(fires | ham)), which is the information such an LF actually carries. A pair
of LFs that the data show to be dependent (one copying the other, say) becomes one factor with
a joint distribution over the pair's (k+1)^2 outcomes, so that their agreement is not counted
twice.

What counts as evidence about a row. When LFs are independent given the class, which LFs
stayed silent is evidence too, and the full posterior uses it. Real LFs are often far from
independent in when they stay silent: spam comes in kinds, and the LFs written for one kind all
abstain together on the others. Counting each of those silences as independent evidence makes
EM model one kind of spam against everything else and declare the other kinds' LFs wrong (on
the YouTube task, a link-only spam comment scored as ham). So with `abstain_evidence="auto"`
(the default) the data decide. The full model is fitted, and for every pair of LFs the counts
of their joint outcomes (both vote, one abstains, ...) are compared with what the model
predicts (a G-test, Bonferroni-corrected over pairs); while some pair contradicts it, the worst
pair becomes one factor and the model is refitted. If the model then fits every pair, silences
are evidence. If a dependency remains that disjoint pairs cannot capture, silences are not: a
row's posterior uses only the votes cast on it, each weighted by its fitted class-conditional
probability, while abstains still shape those probabilities through the M-step (Snorkel scores
rows the same way). `abstain_evidence=True` / `False` force one or the other.

Fitting is MAP-EM. Dirichlet pseudo-counts (centred on `prior_accuracy` at the LF's observed
coverage) keep probabilities away from 0 and 1; majority vote is the starting point. Gold dev
rows, when their votes are given (`L_dev`), join EM as labelled rows with their posterior fixed
to the gold class (semi-supervised EM), which anchors the LF accuracies where the unlabelled
votes alone are ambiguous. With votes only -- that is, where the data showed the independence
model to be wrong -- each E-step also projects the posteriors (the KL projection, solved in its
small convex dual) onto "LF j's votes are right at least `min_accuracy` of the time", the
assumption an LF's author makes, capped at 1/(k * coverage) so that near-constant LFs stay
feasible: it keeps EM from explaining correlated LFs with a wrong split of the classes. Where
the model fits the data, no floor is imposed: on weak but honest LFs it would overstate their
accuracy. SQUAREM extrapolation speeds EM up along flat directions, and a final check undoes
label switching.

Speed. EM runs over distinct vote patterns with their counts, not over rows: a million rows of
ten LFs hold at most (k+1)^10 patterns, usually a few tens of thousands. Rows are collapsed by
reading each as one integer (its outcomes as base-(k+1) digits) and counting those integers;
both EM steps are then products of the patterns' one-hot outcome design (sparse, or dense when
small) with (patterns x k) or (outcomes x k) arrays, and the per-row sums avoid BLAS, whose
threads cost more than the arithmetic at these sizes.

API: scikit-learn's estimator conventions (see `BaseLabeler`), so that a fit is reproducible
from `get_params()` alone and models can be cloned for cross-validation or benchmarks.
"""

from __future__ import annotations

import inspect
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, Self

import numpy as np

from weak_supervision.lf import ABSTAIN
from weak_supervision.metrics import TieBreak, probs_to_preds, score_predictions

if TYPE_CHECKING:
    from scipy import sparse

_FORMAT_PREFIX = "sluice.weak_supervision."  # + the class name


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


class BaseLabeler(ABC):
    """What the label models share: prediction, scoring, persistence and scikit-learn's
    estimator conventions, without importing scikit-learn (its import is slow).

    Hyperparameters are exactly `__init__`'s arguments, stored unchanged under their own names,
    so `get_params`, `set_params` and `sklearn.base.clone` work; whatever `fit` learns is in
    attributes ending in `_`, which do not exist before `fit`.
    """

    cardinality: int
    _format_version: ClassVar[int] = 2  # 2: hyperparameters saved under "params"

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
            "format_version": self._format_version,
            "params": {name: _plain(value) for name, value in self.get_params().items()},
            **self._fitted_state(),
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Self:
        """A model from `to_dict`'s output."""
        if (
            payload.get("format") != _FORMAT_PREFIX + cls.__name__
            or payload.get("format_version") != cls._format_version
        ):
            raise ValueError(f"not a saved {cls.__name__} (format {cls._format_version})")
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


def _pattern_counts(L: np.ndarray, cardinality: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of L, in lexicographic order, and how often each occurs.

    Each row is read as one integer, its outcomes (vote + 1) as base-(k+1) digits, so collapsing
    a million rows takes one pass per LF and a count (`np.bincount`), where sorting rows
    (`np.unique(axis=0)`) takes two orders of magnitude longer. When the code would overflow
    int64 (dozens of LFs), the code so far is replaced by its rank among the distinct codes,
    which is below n.
    """
    n, m = L.shape
    base = cardinality + 1
    digits = L + 1
    codes = np.zeros(n, dtype=np.int32 if base**m < 2**31 else np.int64)
    bound, ranked = 1, False
    for j in range(m):
        if bound * base >= 2**62:
            distinct, codes = np.unique(codes, return_inverse=True)
            bound, ranked = len(distinct), True
        codes *= base
        codes += digits[:, j]
        bound *= base
    if ranked:
        _, first, counts = np.unique(codes, return_index=True, return_counts=True)
        return L[first], counts.astype(np.float64)
    if bound <= 4 * n + 4096:  # few enough possible codes to count them all
        counts = np.bincount(codes)
        distinct = np.flatnonzero(counts)
        counts = counts[distinct]
    else:
        distinct, counts = np.unique(codes, return_counts=True)
    places = base ** np.arange(m - 1, -1, -1, dtype=np.int64)
    patterns = distinct.astype(np.int64)[:, None] // places % base - 1
    return patterns.astype(L.dtype), counts.astype(np.float64)


class _Params(NamedTuple):
    """Model parameters as EM updates them (see `_Design` for the layout)."""

    columns: np.ndarray  # (C, k): P(factor outcome | y) for each column of the design
    null: np.ndarray  # (F, k): P(every LF of the factor abstains | y)
    balance: np.ndarray  # (k,)


class _Design:
    """LFs grouped into factors (one LF, or a pair modelled jointly), and the columns of the
    vote design that follow from them.

    A factor's outcome is the base-(k+1) code of its LFs' outcomes (vote + 1, first LF most
    significant); 0 means all of them abstained. The design has one column per non-null outcome
    of each factor, a factor's columns contiguous; with single LFs, column j*k + v is "LF j
    voted v". The `entry_*` arrays list, for each column, every LF that votes in its outcome
    and the label it votes: per-LF quantities (votes, correct votes) are sums over them.
    """

    def __init__(self, groups: Sequence[tuple[int, ...]], n_lfs: int, cardinality: int):
        self.groups = tuple(tuple(int(lf) for lf in group) for group in groups)
        self.m, self.k = n_lfs, cardinality
        base = cardinality + 1
        self.sizes = np.array([base ** len(group) - 1 for group in self.groups], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.n_columns = int(self.sizes.sum())
        self.column_factor = np.repeat(np.arange(len(self.groups)), self.sizes)
        columns, lfs, labels = [], [], []
        for start, group in zip(self.starts, self.groups, strict=True):
            outcome = np.arange(1, base ** len(group))
            for place, lf in enumerate(group):
                digit = outcome // base ** (len(group) - 1 - place) % base
                voted = digit > 0
                columns.append(start + outcome[voted] - 1)
                lfs.append(np.full(int(voted.sum()), lf))
                labels.append(digit[voted] - 1)
        self.entry_column = np.concatenate(columns)
        self.entry_lf = np.concatenate(lfs)
        self.entry_label = np.concatenate(labels)

    def matrix(self, L: np.ndarray) -> sparse.csr_matrix | np.ndarray:
        """One-hot of each row's non-null factor outcomes (rows x columns); a dense array when
        small, since scipy.sparse's per-call overhead would then dominate EM (and BLAS does not
        start threads at that size)."""
        from scipy import sparse

        n = L.shape[0]
        outcomes = L.astype(np.int32) + 1
        if any(len(group) > 1 for group in self.groups):
            codes = np.zeros((n, len(self.groups)), dtype=np.int32)
            for f, group in enumerate(self.groups):
                for lf in group:
                    codes[:, f] = codes[:, f] * (self.k + 1) + outcomes[:, lf]
            outcomes = codes
        voted = outcomes > 0
        # Boolean indexing walks the matrix row by row: exactly the CSR order.
        indices = (outcomes + (self.starts - 1).astype(np.int32))[voted]
        if n * self.n_columns <= _DENSE_CELLS:
            dense = np.zeros((n, self.n_columns))
            dense[np.nonzero(voted)[0], indices] = 1.0
            return dense
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.count_nonzero(voted, axis=1), out=indptr[1:])
        data = np.ones(len(indices), dtype=np.float64)
        return sparse.csr_matrix((data, indices, indptr), shape=(n, self.n_columns))

    def lf_votes(self, column_mass: np.ndarray) -> np.ndarray:
        """Per LF, the mass of its votes, from the mass of each column (C,)."""
        return np.bincount(self.entry_lf, weights=column_mass[self.entry_column], minlength=self.m)

    def correct_votes(self, vote_mass: np.ndarray) -> np.ndarray:
        """Per LF, the mass of its votes that match the class, from `vote_mass` (C, k)."""
        correct = vote_mass[self.entry_column, self.entry_label]
        return np.bincount(self.entry_lf, weights=correct, minlength=self.m)

    def label_tally(self) -> np.ndarray:
        """(C, k): how many of a column's LFs vote each label (majority vote's count)."""
        tally = np.zeros((self.n_columns, self.k))
        np.add.at(tally, (self.entry_column, self.entry_label), 1)
        return tally

    def normalise(self, columns: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scale each factor's outcome probabilities to sum to 1 per class."""
        totals = np.add.reduceat(columns, self.starts, axis=0) + null
        return columns / totals[self.column_factor], null / totals

    def tables(self, params: _Params) -> list[np.ndarray]:
        """Each factor's (k, outcomes) table of P(outcome | y), outcome 0 = all abstain."""
        return [
            np.column_stack([params.null[f], params.columns[start : start + size].T])
            for f, (start, size) in enumerate(zip(self.starts, self.sizes, strict=True))
        ]

    def from_tables(self, tables: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """`columns` and `null` from per-factor tables (the inverse of `tables`)."""
        columns = np.concatenate([table[:, 1:].T for table in tables])
        return columns, np.stack([table[:, 0] for table in tables])

    def marginals(self, params: _Params) -> np.ndarray:
        """(m, k, k+1): each LF's own P(outcome | y), summed over its factor partner's."""
        theta = np.empty((self.m, self.k, self.k + 1))
        for group, table in zip(self.groups, self.tables(params), strict=True):
            table = table.reshape((self.k,) + (self.k + 1,) * len(group))
            for place, lf in enumerate(group):
                theta[lf] = table.sum(axis=tuple(1 + p for p in range(len(group)) if p != place))
        return theta

    def prior(
        self, column_mass: np.ndarray, total: float, accuracy: float, strength: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dirichlet pseudo-counts, shaped like (`columns`, `null`): per class, `strength`
        votes spread like LFs that keep their observed coverage, are right with probability
        `accuracy`, spread their errors evenly, and vote independently within a factor."""
        k = self.k
        coverage = (self.lf_votes(column_mass) + 1) / (total + 2)  # smoothed: never 0 or 1
        mean = np.empty((self.m, k, k + 1))
        mean[:, :, 0] = (1 - coverage)[:, None]
        mean[:, :, 1:] = (coverage * (1 - accuracy) / (k - 1))[:, None, None]
        diagonal = np.arange(k)
        mean[:, diagonal, diagonal + 1] = (coverage * accuracy)[:, None]
        tables = []
        for group in self.groups:
            table = np.ones((k, 1))
            for lf in group:
                table = (table[:, :, None] * mean[lf][:, None, :]).reshape(k, -1)
            tables.append(strength * table)
        return self.from_tables(tables)


def _log_weights(
    design: _Design, params: _Params, abstain_evidence: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Log P(y, votes) of a row = design row @ weights + base.

    Rows only store their non-null outcomes; with abstain evidence, every row starts from "all
    factors null" (sum of log P(null | y)) and each outcome swaps its factor's null term for
    its own.
    """
    weights, base = np.log(params.columns), np.log(params.balance)
    if abstain_evidence:
        log_null = np.log(params.null)
        weights = weights - log_null[design.column_factor]
        base = base + log_null.sum(axis=0)
    return weights, base


def _accuracies(theta: np.ndarray, balance: np.ndarray) -> np.ndarray:
    """P(vote is correct | LF votes) per LF, from (m, k, k+1) marginals and the balance."""
    k = theta.shape[1]
    correct = (theta[:, np.arange(k), np.arange(k) + 1] * balance).sum(axis=1)
    votes = ((1 - theta[:, :, 0]) * balance).sum(axis=1)
    return correct / votes


class LabelModel(BaseLabeler):
    """Dawid-Skene label model fitted by MAP-EM (see the module docstring).

    Hyperparameters: `cardinality` k. `abstain_evidence`: "auto" (default), silences count as
    evidence when the fitted model, with at most disjoint dependent pairs, reproduces the data's
    pairwise statistics; False, a row's posterior uses only the votes cast on it; True, the
    full posterior always. `class_balance`: fixed class prior; None, it comes from the `Y_dev`
    given to `fit` (smoothed frequencies), else EM learns it. `prior_accuracy` /
    `prior_strength`: the Dirichlet prior (pseudo-votes per LF and class). `min_accuracy`:
    accuracy floor of each LF's votes when the posterior uses votes only (None: plain MAP-EM).
    `dev_weight`: how many rows each dev row counts for. `max_iter` / `tol`: an EM run stops
    after `max_iter` E-steps or when the objective changes by less than `tol` (relative).
    `max_rows`: EM runs on a random sample of that many rows, drawn with `seed`; otherwise the
    fit is deterministic and `seed` is unused.

    Fitted attributes: `cond_probs_` (m, k, k+1) with each LF's P(vote = v | y) at index v + 1
    (index 0 is abstain), `class_balance_` (k,), `dependencies_` (LF pairs modelled jointly)
    with `joint_probs_` (pairs, k, (k+1)^2), P(outcomes | y) at index (v_i + 1)(k + 1) +
    v_j + 1, `abstain_evidence_` (whether predictions use silences), `n_iter_` (E-steps over
    all EM runs of the fit), `converged_` (of the last run). Without abstain evidence, a row
    where every LF abstains gets `class_balance_`.
    """

    _format_version: ClassVar[int] = 3  # 3: dependencies, joint_probs, abstain_evidence_

    def __init__(
        self,
        cardinality: int = 2,
        *,
        abstain_evidence: bool | Literal["auto"] = "auto",
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
        if not (isinstance(self.abstain_evidence, bool) or self.abstain_evidence == "auto"):
            raise ValueError(
                f"abstain_evidence must be True, False or 'auto', got {self.abstain_evidence!r}"
            )
        fixed_balance = self._resolve_class_balance(Y_dev)
        labelled = self._labelled_rows(L_dev, Y_dev, L.shape[1])
        if self.max_rows is not None and L.shape[0] > self.max_rows:
            rng = np.random.default_rng(self.seed)
            L = L[np.sort(rng.choice(L.shape[0], size=self.max_rows, replace=False))]
        patterns, weights = _pattern_counts(L, k)
        problem = _Problem(patterns, weights, k, fixed_balance, labelled, self)
        singletons = [(j,) for j in range(L.shape[1])]
        fit: _Fit | None = None
        if self.abstain_evidence is not False:
            fit, fits_data = _search_dependencies(problem, problem.run(singletons, True))
            if not fits_data and self.abstain_evidence == "auto":
                fit = None
        if fit is None:
            fit = problem.run(singletons, False, floors=_floors(problem, self.min_accuracy))
        design, params = fit.design, fit.params
        self.cond_probs_ = design.marginals(params)
        self.class_balance_ = params.balance
        pairs = [(f, group) for f, group in enumerate(design.groups) if len(group) == 2]
        self.dependencies_ = [group for _, group in pairs]
        tables = design.tables(params)
        self.joint_probs_ = np.array([tables[f] for f, _ in pairs]).reshape(-1, k, (k + 1) ** 2)
        self.abstain_evidence_ = fit.abstain_evidence
        self.n_iter_, self.converged_ = problem.e_steps, fit.converged
        return self

    def _labelled_rows(self, L_dev: Any, Y_dev: Any, n_lfs: int) -> _Labelled | None:
        """The dev rows' votes and one-hot gold, weighted, for semi-supervised EM."""
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
            L_dev[known], np.eye(k)[gold[known].astype(np.int64)], float(self.dev_weight)
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

    def _fitted_design(self) -> tuple[_Design, _Params]:
        """The design and parameters that the fitted attributes describe."""
        theta, balance = self._check_fitted()
        m, k = theta.shape[:2]
        pairs = {tuple(pair): f for f, pair in enumerate(self.dependencies_)}
        paired = {lf for pair in pairs for lf in pair}
        groups = sorted([(j,) for j in range(m) if j not in paired] + list(pairs))
        design = _Design(groups, m, k)
        tables = [
            theta[g[0]] if len(g) == 1 else self.joint_probs_[pairs[g]].reshape(k, -1)
            for g in design.groups
        ]
        return design, _Params(*design.from_tables(tables), balance)

    def predict_proba(self, L: Any) -> np.ndarray:
        design, params = self._fitted_design()
        L = check_label_matrix(L, design.k, design.m)
        weights, base = _log_weights(design, params, self.abstain_evidence_)
        proba = _softmax(np.asarray(design.matrix(L) @ weights) + base)
        if not self.abstain_evidence_:
            # Silences are not evidence here: a row without votes gets the class prior.
            proba[(L == ABSTAIN).all(axis=1)] = params.balance
        return proba

    def lf_accuracies(self) -> np.ndarray:
        """P(vote is correct | LF votes), per LF, under the fitted model."""
        return _accuracies(*self._check_fitted())

    def get_weights(self) -> np.ndarray:
        """Same as `lf_accuracies` (what Snorkel's `get_weights` reports)."""
        return self.lf_accuracies()

    # ------------------------------------------------------------------ persistence

    def _fitted_state(self) -> dict[str, Any]:
        theta, balance = self._check_fitted()
        return {
            "class_balance": balance.tolist(),
            "cond_probs": theta.tolist(),
            "dependencies": [list(pair) for pair in self.dependencies_],
            "joint_probs": self.joint_probs_.tolist(),
            "abstain_evidence_": bool(self.abstain_evidence_),
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    def _restore(self, payload: dict[str, Any]) -> None:
        k = payload["params"]["cardinality"]
        self.class_balance_ = np.asarray(payload["class_balance"], dtype=np.float64)
        theta = np.asarray(payload["cond_probs"], dtype=np.float64)
        self.cond_probs_ = theta.reshape(-1, k, k + 1)
        self.dependencies_ = [(int(i), int(j)) for i, j in payload["dependencies"]]
        joint = np.asarray(payload["joint_probs"], dtype=np.float64)
        self.joint_probs_ = joint.reshape(-1, k, (k + 1) ** 2)
        self.abstain_evidence_ = bool(payload["abstain_evidence_"])
        self.n_iter_, self.converged_ = payload["n_iter"], payload["converged"]

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Self:
        if payload.get("format") == _FORMAT_PREFIX + cls.__name__:
            version = payload.get("format_version")
            if version == 1:  # written before hyperparameters were saved: only these mattered
                params = {key: payload[key] for key in ("cardinality", "abstain_evidence")}
                payload = {**payload, "format_version": 2, "params": params}
            if payload.get("format_version") == 2:  # before dependencies: independent LFs
                fitted = {"dependencies": [], "joint_probs": [], "format_version": 3}
                fitted["abstain_evidence_"] = bool(payload["params"]["abstain_evidence"])
                payload = {**payload, **fitted}
        return super().from_dict(payload)


# ---------------------------------------------------------------------- fitting procedure

_SIGNIFICANCE = 0.01  # chance that the pairwise test flags a model that is right
_MAX_BACKTRACKS = 4  # SQUAREM jumps tried per iteration
_DENSE_CELLS = 50_000  # designs up to this size are dense arrays (see _Design.matrix)


class _Labelled(NamedTuple):
    """Gold-labelled rows for semi-supervised EM: votes, one-hot gold, weight per row."""

    L: np.ndarray
    gold: np.ndarray
    weight: float


class _Fit(NamedTuple):
    """One EM run's result; `posterior` (over the distinct patterns) warm-starts the next."""

    design: _Design
    params: _Params
    posterior: np.ndarray
    abstain_evidence: bool
    converged: bool


class _Problem:
    """What the EM runs of one `fit` share: the data, the settings, and an E-step count."""

    def __init__(
        self,
        patterns: np.ndarray,
        weights: np.ndarray,
        k: int,
        fixed_balance: np.ndarray | None,
        labelled: _Labelled | None,
        settings: LabelModel,
    ):
        self.patterns, self.weights, self.k = patterns, weights, k
        self.fixed_balance, self.labelled = fixed_balance, labelled
        self.settings = settings
        self.e_steps = 0

    def run(
        self,
        groups: Sequence[tuple[int, ...]],
        abstain_evidence: bool,
        floors: np.ndarray | None = None,
        start: np.ndarray | None = None,
    ) -> _Fit:
        """EM with these factors, from `start` (posteriors) or majority vote; label switching
        undone."""
        s = self.settings
        design = _Design(groups, self.patterns.shape[1], self.k)
        X = design.matrix(self.patterns)
        prior = design.prior(
            np.asarray(X.T @ self.weights), self.weights.sum(), s.prior_accuracy, s.prior_strength
        )
        em = _EM(design, X, self.weights, prior, self.fixed_balance, floors, abstain_evidence)
        em.add_labelled(self.labelled)
        params = em.run(em.majority_vote_start() if start is None else start, s.max_iter, s.tol)
        self.e_steps += em.n_iter
        permutation = _class_alignment(design.marginals(params), params.balance)
        if permutation is not None:
            balance = params.balance[permutation] if self.fixed_balance is None else params.balance
            params = _Params(params.columns[:, permutation], params.null[:, permutation], balance)
            params = em.run(em.e_step(params)[0], s.max_iter, s.tol)
            self.e_steps += em.n_iter
        return _Fit(design, params, em.posterior, abstain_evidence, em.converged)


def _pair_deviance(fit: _Fit, patterns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """G statistic of every pair of LFs in different factors (m x m, upper triangle, else 0):
    how far the observed counts of the pair's joint outcomes are from the fitted model's."""
    from scipy import sparse
    from scipy.special import xlogy

    n, m = patterns.shape
    base = fit.design.k + 1
    cells = (patterns.astype(np.int64) + 1 + np.arange(m) * base).ravel()
    if n * m * base <= _DENSE_CELLS:
        onehot = np.zeros((n, m * base))
        onehot[np.repeat(np.arange(n), m), cells] = 1.0
        observed = onehot.T @ (onehot * weights[:, None])
    else:
        indptr = np.arange(0, n * m + 1, m)
        onehot = sparse.csr_matrix((np.ones(n * m), cells, indptr), shape=(n, m * base))
        observed = (onehot.T @ sparse.diags(weights) @ onehot).toarray()
    observed = observed.reshape(m, base, m, base).transpose(0, 2, 1, 3)
    theta, balance = fit.design.marginals(fit.params), fit.params.balance
    expected = weights.sum() * np.einsum("y,iya,jyb->ijab", balance, theta, theta)
    deviance = 2 * (xlogy(observed, observed) - xlogy(observed, expected)).sum(axis=(2, 3))
    factor = np.empty(m, dtype=np.int64)
    for f, group in enumerate(fit.design.groups):
        factor[list(group)] = f
    return np.triu(np.where(factor[:, None] == factor[None, :], 0.0, deviance), 1)


def _search_dependencies(problem: _Problem, fit: _Fit) -> tuple[_Fit, bool]:
    """From a fit with abstain evidence: while some LF pair's joint outcomes contradict the
    model (G-test, (k+1)^2 - 1 degrees of freedom, Bonferroni over pairs), model the most
    dependent pair jointly and refit. True when the model ends up fitting every pair; False
    when the worst pair involves an LF already paired (a dependency pairs do not capture)."""
    from scipy.special import chdtri  # chi-square quantile; lighter to import than scipy.stats

    m, k = problem.patterns.shape[1], problem.k
    threshold = chdtri(k * (k + 2), _SIGNIFICANCE / max(m * (m - 1) // 2, 1))
    while m > 1:
        deviance = _pair_deviance(fit, problem.patterns, problem.weights)
        i, j = np.unravel_index(np.argmax(deviance), deviance.shape)
        if deviance[i, j] <= threshold:
            break
        if any(len(group) > 1 and {i, j} & set(group) for group in fit.design.groups):
            return fit, False  # i or j is already in a pair
        groups = [g for g in fit.design.groups if g not in ((i,), (j,))] + [(int(i), int(j))]
        fit = problem.run(sorted(groups), True, start=fit.posterior)
    return fit, True


def _floors(problem: _Problem, min_accuracy: float | None) -> np.ndarray | None:
    """Per LF, the accuracy floor of its votes: `min_accuracy`, capped at 1/(k * coverage)
    so that a near-constant LF stays feasible; None without a floor."""
    if min_accuracy is None:
        return None
    weights = problem.weights
    coverage = ((problem.patterns != ABSTAIN) * weights[:, None]).sum(axis=0) / weights.sum()
    with np.errstate(divide="ignore"):
        return np.minimum(min_accuracy, 1 / (problem.k * coverage))


def _normalize(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax of an (n, k) array and its log normaliser.

    Works column by column: numpy reductions along a short last axis are several times slower
    than element-wise operations on whole columns, and this is the E-step's hot loop. (Sums
    avoid BLAS too: on vectors of this size OpenBLAS wakes its threads, which costs
    milliseconds per call on a busy machine.)
    """
    top = log_joint[:, 0].copy()
    for column in range(1, log_joint.shape[1]):
        np.maximum(top, log_joint[:, column], out=top)
    probs = log_joint - top[:, None]
    np.exp(probs, out=probs)
    total = probs[:, 0].copy()
    for column in range(1, probs.shape[1]):
        total += probs[:, column]
    probs /= total[:, None]
    return probs, top + np.log(total)


def _softmax(scores: np.ndarray) -> np.ndarray:
    return _normalize(scores)[0]


class _EM:
    """Regularised MAP-EM over weighted, distinct vote patterns (rows of the design X), plus
    optional labelled rows whose posterior is their gold class."""

    _MAX_DUAL_STEPS = 200

    def __init__(
        self,
        design: _Design,
        X: sparse.csr_matrix | np.ndarray,
        weights: np.ndarray,
        prior: tuple[np.ndarray, np.ndarray],
        fixed_balance: np.ndarray | None,
        floors: np.ndarray | None,
        abstain_evidence: bool,
    ):
        self.design, self.k = design, design.k
        self.X, self.XT = X, (X.T.copy() if isinstance(X, np.ndarray) else X.T.tocsr())
        self.weights, self.prior = weights, prior
        self.fixed_balance = fixed_balance
        self.abstain_evidence = abstain_evidence
        self.labelled: tuple[sparse.csr_matrix | np.ndarray, np.ndarray, float] | None = None
        self.labelled_votes = np.zeros((design.n_columns, self.k))
        self.labelled_classes = np.zeros(self.k)
        self.n_iter, self.converged = 0, False
        self.posterior = np.empty((X.shape[0], self.k))
        self.n_votes = design.lf_votes(np.asarray(self.XT @ weights))
        self.floor = None if floors is None else np.asarray(floors, dtype=np.float64)
        self.dual = np.zeros(design.m)  # Lagrange multipliers, warm-started across E-steps

    def add_labelled(self, labelled: _Labelled | None) -> None:
        """Gold rows: their posterior is their class, so they add fixed counts to every M-step."""
        if labelled is None:
            return
        X_dev = self.design.matrix(labelled.L)
        self.labelled = (X_dev, labelled.gold, labelled.weight)
        self.labelled_votes = np.asarray(X_dev.T @ labelled.gold) * labelled.weight
        self.labelled_classes = labelled.gold.sum(axis=0) * labelled.weight

    def majority_vote_start(self) -> np.ndarray:
        """Soft majority vote: vote shares per row, the class balance (or uniform) if no votes."""
        counts = np.asarray(self.X @ self.design.label_tally())
        total = counts.sum(axis=1, keepdims=True)
        k = self.k
        start = self.fixed_balance if self.fixed_balance is not None else np.full(k, 1 / k)
        return np.where(total > 0, counts / np.maximum(total, 1), start)

    def m_step(self, posterior: np.ndarray, vote_mass: np.ndarray) -> _Params:
        """MAP parameters given posteriors and `vote_mass` = X.T @ (weights * posterior)."""
        design = self.design
        class_mass = np.einsum("i,ik->k", self.weights, posterior) + self.labelled_classes
        vote_mass = vote_mass + self.labelled_votes
        factor_votes = np.add.reduceat(vote_mass, design.starts, axis=0)
        null = np.maximum(class_mass - factor_votes, 0) + self.prior[1]
        columns, null = design.normalise(vote_mass + self.prior[0], null)
        if self.fixed_balance is not None:
            return _Params(columns, null, self.fixed_balance)
        return _Params(columns, null, (class_mass + 1) / (class_mass.sum() + self.k))  # add-one

    def _posterior(
        self, log_joint: np.ndarray, dual: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior tilted by the dual variables, its log normaliser, and its vote mass."""
        if dual.any():
            design = self.design
            tilt = np.zeros((design.n_columns, self.k))
            np.add.at(tilt, (design.entry_column, design.entry_label), dual[design.entry_lf])
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
            gradient = self.design.correct_votes(vote_mass) - target
            violation = np.where(dual > 0, np.abs(gradient), np.maximum(-gradient, 0))
            if np.all(violation <= tolerance):
                break
            spread = posterior * (1 - posterior) * self.weights[:, None]
            curvature = self.design.correct_votes(np.asarray(self.XT @ spread))
            newton = np.maximum(dual - gradient / np.maximum(curvature, 1e-12), 0)
            dual = 0.5 * (dual + newton)
        else:
            posterior, log_norm, vote_mass = self._posterior(log_joint, dual)
        self.dual = dual
        return posterior, log_norm, vote_mass

    def e_step(self, params: _Params) -> tuple[np.ndarray, np.ndarray, float]:
        """Posteriors (projected when constrained), their vote mass, and the objective."""
        weights, base = _log_weights(self.design, params, self.abstain_evidence)
        log_joint = np.asarray(self.X @ weights) + base
        posterior, log_norm, vote_mass = self._posterior(log_joint, self.dual)
        penalty = 0.0
        if self.floor is not None:
            correct = self.design.correct_votes(vote_mass)
            if self.dual.any() or np.any(correct < self.floor * self.n_votes):
                posterior, log_norm, vote_mass = self._project(log_joint, self.floor)
            penalty = float(self.dual @ (self.floor * self.n_votes))
        objective = float(np.einsum("i,i->", self.weights, log_norm)) - penalty
        objective += float((self.prior[0] * np.log(params.columns)).sum())
        objective += float((self.prior[1] * np.log(params.null)).sum())
        if self.labelled is not None:
            X_dev, gold, weight = self.labelled
            objective += weight * float(((np.asarray(X_dev @ weights) + base) * gold).sum())
        if self.fixed_balance is None:
            objective += float(np.log(params.balance).sum())
        return posterior, vote_mass, objective

    def run(self, posterior: np.ndarray, max_iter: int, tol: float) -> _Params:
        """EM from `posterior`, accelerated with SQUAREM, until the objective stops changing.

        EM crawls along flat directions of the likelihood (hundreds of iterations when an LF
        is nearly constant). SQUAREM (Varadhan & Roland, 2008) takes two EM steps, extrapolates
        along them, and keeps the extrapolation only if it scores at least as well as the plain
        second step, so the objective never goes down. `n_iter` counts E-steps.
        """
        self.converged = False
        vote_mass = np.asarray(self.XT @ (posterior * self.weights[:, None]))
        params = self.m_step(posterior, vote_mass)
        posterior, vote_mass, objective = self.e_step(params)
        self.n_iter = 1
        while self.n_iter < max_iter:
            one = self.m_step(posterior, vote_mass)
            posterior1, vote_mass1, _ = self.e_step(one)
            two = self.m_step(posterior1, vote_mass1)
            best = (two, *self.e_step(two))
            self.n_iter += 2
            for jump in _extrapolations(params, one, two, self._renormalise):
                if self.n_iter >= max_iter:
                    break
                candidate = (jump, *self.e_step(jump))
                self.n_iter += 1
                if candidate[3] >= best[3]:
                    best = candidate
                    break
            previous = objective
            params, posterior, vote_mass, objective = best
            if abs(objective - previous) <= tol * abs(objective):
                self.converged = True
                break
        self.posterior = posterior
        return params

    def _renormalise(self, params: _Params) -> _Params:
        """Back onto probability simplices after an extrapolation step."""
        columns, null = self.design.normalise(params.columns, params.null)
        if self.fixed_balance is not None:
            return _Params(columns, null, self.fixed_balance)
        return _Params(columns, null, params.balance / params.balance.sum())


def _extrapolations(
    start: _Params, one: _Params, two: _Params, renormalise: Callable[[_Params], _Params]
) -> Iterator[_Params]:
    """SQUAREM's candidates: start - 2a r + a^2 v with r = one - start, v = two - 2 one + start
    and a = -|r| / |v|, clipped positive and renormalised; then, while the caller rejects
    them, a halved towards -1 (the plain second EM step) -- an overshooting jump is shortened
    rather than wasted, which matters when EM must travel far (a rare class)."""
    r = [b - a for a, b in zip(start, one, strict=True)]
    v = [c - 2 * b + a for a, b, c in zip(start, one, two, strict=True)]
    r_norm = math.sqrt(sum(float((x**2).sum()) for x in r))
    v_norm = math.sqrt(sum(float((x**2).sum()) for x in v))
    if v_norm == 0 or r_norm == 0:
        return
    step = -r_norm / v_norm
    for _ in range(_MAX_BACKTRACKS):
        if step > -1.5:  # too close to the plain EM step to be worth an E-step
            return
        jumped = (
            np.clip(s - 2 * step * ri + step**2 * vi, 1e-12, None)
            for s, ri, vi in zip(start, r, v, strict=True)
        )
        yield renormalise(_Params(*jumped))
        step = (step - 1) / 2


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
