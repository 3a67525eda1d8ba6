"""Reproducing a model from its card: what must still match before a rebuild is worth running,
and how a rebuilt model is judged against the registered one.

The card records every input of a training run (`training.lineage`, the LF and dbt code
versions, the libraries, the commit). A rebuild is refused when any of them changed, naming
each difference, because the result could not tell a real regression from a changed input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MISSING = "(absent)"


@dataclass(frozen=True)
class Difference:
    """One input that no longer matches the card: `what` names it, then both values."""

    what: str
    recorded: str
    current: str

    def __str__(self) -> str:
        return f"{self.what}: recorded {self.recorded}, now {self.current}"


def recorded_inputs(card: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable inputs a card records, in the shape `differences` takes. Keys an older
    card lacks are left out (and reported by `unrecorded`)."""
    lineage = card.get("lineage", {})
    inputs = {
        "landing file": lineage.get("landing_files"),
        "ingest policy version": lineage.get("ingest_policy_version"),
        "training policy": card.get("training", {}).get("policy"),
        "LF version": lineage.get("lf_versions"),
        "dbt code version": lineage.get("dbt_code_versions"),
        "library": card.get("libraries"),
        "git commit": lineage.get("git_commit"),
    }
    return {what: value for what, value in inputs.items() if value is not None}


def unrecorded(card: Mapping[str, Any]) -> list[str]:
    """Inputs this card does not record (a card written before they were recorded): a
    rebuild cannot check them, so the caller says so."""
    return [
        what
        for what in ("landing file", "ingest policy version", "training policy")
        if what not in recorded_inputs(card)
    ]


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[Difference]:
    """Every input whose current value differs from the card's, one entry per file, LF,
    model, library or policy key, so the message says exactly what changed."""
    found: list[Difference] = []
    for what, then in recorded.items():
        now = current.get(what)
        if isinstance(then, Mapping) and isinstance(now, Mapping):
            for key in sorted(set(then) | set(now)):
                a, b = then.get(key, MISSING), now.get(key, MISSING)
                if a != b:
                    found.append(Difference(f"{what} {key}", _show(a), _show(b)))
        elif then != now:
            found.append(Difference(what, _show(then), _show(now)))
    return found


def _show(value: Any) -> str:
    return MISSING if value is None else str(value)


@dataclass(frozen=True)
class Verdict:
    """How a rebuilt model compares with the registered one."""

    identical_artifact: bool
    identical_predictions: bool
    rows: int
    differing_rows: int

    @property
    def reproduced(self) -> bool:
        return self.identical_artifact or self.identical_predictions

    def __str__(self) -> str:
        if self.identical_artifact:
            return "identical: the rebuilt artifact has the registered SHA-256"
        if self.identical_predictions:
            return (
                f"identical predictions: the artifacts differ in bytes, but both models give the "
                f"same probabilities on all {self.rows} test rows"
            )
        return f"NOT reproduced: {self.differing_rows} of {self.rows} test rows differ"


def judge(
    recorded_sha: str, rebuilt_sha: str, recorded_proba: np.ndarray, rebuilt_proba: np.ndarray
) -> Verdict:
    """Bit-identity first; else the same class and the same probabilities on every row."""
    rows = len(recorded_proba)
    if recorded_proba.shape != rebuilt_proba.shape:
        return Verdict(recorded_sha == rebuilt_sha, False, rows, rows)
    differ = ~np.isclose(recorded_proba, rebuilt_proba, rtol=0, atol=1e-12).all(axis=1)
    differ |= recorded_proba.argmax(axis=1) != rebuilt_proba.argmax(axis=1)
    return Verdict(recorded_sha == rebuilt_sha, not differ.any(), rows, int(differ.sum()))
