"""Sluice's weak-supervision library: labeling functions, appliers, analysis, label models.

Pure Python (numpy, pandas, pyarrow, DuckDB); nothing here knows about Dagster.

Labeling functions (LFs) vote an int label per row, or -1 to abstain:

- `@labeling_function()` turns `f(batch: DataFrame) -> votes` into a Python LF
  (`row=True` for `f(row) -> vote`).
- `KeywordLF`, `RegexLF` and `ThresholdLF` are declarative: they compile, through a
  `SqlDialect` (`DuckDBDialect`), to one `CASE WHEN ... THEN label ELSE -1 END` with bound
  parameters, and have a Python evaluation that gives identical votes. Patterns are RE2 on both
  sides (DuckDB's `regexp_matches`; google-re2 and `pyarrow.compute` in Python); a pattern RE2
  cannot run raises `RegexSyntaxError` when the LF is built (see `weak_supervision.regex`).
- Every LF has a `version`: a short hash of its definition, stable across processes; a Python
  LF's covers the helpers and constants of its module that it uses.

`apply_lfs(con, table_or_sql_or_frame, lfs)` returns a `LabelMatrix` (ids, int8 `L`, names,
versions; rows sorted by id), running all declarative LFs in one DuckDB pass and Python LFs over
Arrow batches. `apply_lfs_reference` is the row-by-row definition it is tested against.
`lf_summary`, `dataset_summary` and `to_markdown` describe a matrix.

`LabelModel` is a Dawid-Skene model: y ~ class_balance, and LF j votes outcome o (abstain or a
label) with probability theta[j, y, o], independently given y. It is fitted by MAP-EM from a
majority-vote start, with Dirichlet smoothing. By default (`abstain_evidence="auto"`) it decides
from the votes alone, without gold labels, whether silences are evidence: it fits the full
model, models jointly the LF pairs whose co-votes it fails to reproduce (an LF that copies
another), and keeps that model if every pair then fits; otherwise it scores rows on the votes
cast, each E-step's posteriors projected (minimum KL) onto "each LF's votes are right at least
`min_accuracy` of the time", which keeps EM from explaining correlated LFs with a wrong split of
the classes. Dev rows with gold labels (`L_dev`, `Y_dev`) can join EM as labelled rows.
`MajorityVoter` is the baseline with the same API.

Both follow scikit-learn's conventions (`BaseLabeler`): every hyperparameter, seed included, is
an `__init__` argument (`get_params`, `set_params`, `sklearn.base.clone` work); `fit(L, L_dev,
Y_dev)` takes only data; fitted attributes end in `_`. For example
`LabelModel(cardinality=2, seed=123).fit(L, L_dev=L_dev, Y_dev=Y_dev).predict_proba(L)`.
"""

from weak_supervision.analysis import dataset_summary, lf_summary, to_markdown
from weak_supervision.applier import LabelMatrix, apply_lfs, apply_lfs_reference
from weak_supervision.declarative import DeclarativeLF, KeywordLF, RegexLF, ThresholdLF
from weak_supervision.label_model import BaseLabeler, LabelModel, MajorityVoter
from weak_supervision.lf import ABSTAIN, LabelingFunction, PythonLF, labeling_function
from weak_supervision.metrics import probs_to_preds, score_predictions
from weak_supervision.regex import RegexSyntaxError
from weak_supervision.sql import DuckDBDialect, SqlDialect, SqlFragment

__all__ = [
    "ABSTAIN",
    "BaseLabeler",
    "DeclarativeLF",
    "DuckDBDialect",
    "KeywordLF",
    "LabelMatrix",
    "LabelModel",
    "LabelingFunction",
    "MajorityVoter",
    "PythonLF",
    "RegexLF",
    "RegexSyntaxError",
    "SqlDialect",
    "SqlFragment",
    "ThresholdLF",
    "apply_lfs",
    "apply_lfs_reference",
    "dataset_summary",
    "labeling_function",
    "lf_summary",
    "probs_to_preds",
    "score_predictions",
    "to_markdown",
]
