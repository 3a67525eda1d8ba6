"""The label model as the `label_model` model of the registry: fitted on the training
window's votes, stored as JSON under a content hash, and made champion, so that
`weak_labels` use the newest fit unless an operator rolls it back
(`python -m training --name label_model rollback`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from storage.object_store import ObjectStore
from training.registry import ModelRegistry, sha256
from training.task import Task
from training.warehouse import WindowVotes

if TYPE_CHECKING:
    from weak_supervision import LabelModel

NAME = "label_model"
ARTIFACT = "label_model.json"


@dataclass(frozen=True)
class LabelModelOutcome:
    """A fitted, registered label model and what the label_model asset reports about it."""

    version: str
    uri: str
    training_rows: int
    partitions: dict[str, Any]
    class_balance: dict[str, float]
    lf_accuracies: dict[str, float]
    lf_versions: dict[str, str]
    dev_accuracy: float | None
    dev_accuracy_majority_vote: float | None


def fit_label_model(
    votes: WindowVotes, task: Task, seed: int, store: ObjectStore
) -> LabelModelOutcome:
    """Fit on the window's votes, dev gold rows steering EM as labelled rows and giving the
    class balance; register it in `store` and make it the champion."""
    from weak_supervision import LabelModel, MajorityVoter

    if not len(votes.ids):
        raise RuntimeError("no comment_features rows to learn from: materialize lf_votes first")
    k = len(task.classes)
    dev_rows, dev_y = votes.gold_rows("dev")
    dev = {"L_dev": votes.L[dev_rows], "Y_dev": dev_y} if len(dev_y) else {}
    model = LabelModel(cardinality=k, seed=seed).fit(votes.L, **dev)
    saved = model.to_dict()
    payload = json.dumps(saved, sort_keys=True).encode()
    version = sha256(payload)[:16]
    dev_accuracy = majority = None
    if len(dev_y):
        dev_accuracy = float(model.score(votes.L[dev_rows], dev_y)["accuracy"])
        voter = MajorityVoter(cardinality=k)
        majority = float(voter.score(votes.L[dev_rows], dev_y, tie_break="random")["accuracy"])
    facts: dict[str, Any] = {
        "training_rows": len(votes.ids),
        "partitions": votes.partition_span(),
        "class_balance": _rounded(task.classes, model.class_balance_),
        "lf_accuracies": _rounded(votes.lf_names, model.lf_accuracies()),
        "lf_versions": task.lf_versions(),
        "dev_accuracy": dev_accuracy,
        "dev_accuracy_majority_vote": majority,
    }
    card = {"name": NAME, "classes": list(task.classes), "params": saved["params"], **facts}
    registry = ModelRegistry(store, NAME)
    registry.register(version, payload, card, artifact_name=ARTIFACT)
    registry.promote(version, "newest fit: weak_labels are made with it")
    return LabelModelOutcome(version=version, uri=registry.uri(version, ARTIFACT), **facts)


def _rounded(names: Any, values: np.ndarray) -> dict[str, float]:
    return dict(zip(names, np.round(values, 4).tolist(), strict=True))


def load_label_model(store: ObjectStore, version: str | None = None) -> tuple[str, LabelModel]:
    """A registered label model, its bytes checked against the registry's hash first; by
    default the champion."""
    from weak_supervision import LabelModel

    registry = ModelRegistry(store, NAME)
    version = version or registry.champion_or_raise()
    return version, LabelModel.from_dict(json.loads(registry.load_bytes(version)))


def weak_label_frame(
    votes: WindowVotes, model: LabelModel, version: str, task: Task
) -> pd.DataFrame:
    """One row per window comment that got at least one vote: p_<class>, label, confidence
    and the label model's version."""
    k = len(task.classes)
    proba = model.predict_proba(votes.L) if len(votes.L) else np.zeros((0, k))
    voted = (votes.L != -1).any(axis=1)
    frame = votes.rows.loc[voted].copy()
    for i, name in enumerate(task.classes):
        frame[f"p_{name}"] = proba[voted, i]
    frame["label"] = proba[voted].argmax(axis=1)
    frame["confidence"] = proba[voted].max(axis=1)
    frame["label_model_version"] = version
    return frame
