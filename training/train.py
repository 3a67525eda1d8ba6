"""One training run of the end classifier, start to finish: fit on the training set,
evaluate on the gold test rows next to the label model that made the training labels and
majority vote, write the model card and its plots, register, offer for promotion.

The `classifier` asset calls `train_classifier` and turns its `TrainingOutcome` into
metadata; everything else about a training run lives here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from settings import PROJECT_ROOT
from storage.object_store import ObjectStore
from training.label_models import load_label_model
from training.policy import TrainingPolicy
from training.registry import Decision, ModelRegistry, sha256
from training.task import Task
from training.warehouse import ClassifierData

NAME = "classifier"


@dataclass(frozen=True)
class TrainingOutcome:
    """A registered classifier, the promotion decision, and where its card and plots are."""

    version: str
    sha256: str
    decision: Decision
    champion: str | None
    metrics: dict[str, dict[str, Any]]  # classifier, label_model, majority_vote on gold test
    card_uri: str
    plot_uris: dict[str, str]
    training_rows: int


def train_classifier(
    data: ClassifierData,
    task: Task,
    policy: TrainingPolicy,
    store: ObjectStore,
    *,
    data_versions: dict[str, dict[str, str]],
    dbt_code_versions: dict[str, str | None],
    inputs: dict[str, Any] | None = None,
    unlabeled: pd.DataFrame | None = None,
) -> TrainingOutcome:
    """Train, evaluate, register and offer a classifier; `data_versions` (per asset, per
    partition) and `dbt_code_versions` are the lineage only the orchestrator knows, `inputs`
    the landing files and policies (`training.lineage.build_inputs`) a rebuild must find again.
    `unlabeled` (comment_features of the window's rows no LF voted on,
    `training.self_training.uncovered_rows`) feeds self-training; None: weak labels only."""
    from training.classifier import SoftLabelClassifier, dumps, loads
    from training.evaluation import evaluate
    from training.model_card import git_commit, library_versions
    from training.self_training import dev_rows, self_train
    from weak_supervision import MajorityVoter

    if data.train.empty:
        raise RuntimeError("train.training_set is empty: materialize weak_labels and training_set")
    if data.test.empty:
        raise RuntimeError("no gold test rows among the featured comments: land labels/*.csv")
    proba = data.train[[f"p_{c}" for c in task.classes]].to_numpy()
    uncovered = data.train.iloc[:0] if unlabeled is None else unlabeled
    trained = self_train(
        SoftLabelClassifier(seed=policy.seed),
        data.train,
        proba,
        data.train["weight"].to_numpy(),
        uncovered,
        dev_rows([data.train, uncovered], data.gold),
    )
    artifact = dumps(trained.model)
    digest = sha256(artifact)
    # Evaluate the model as scoring will load it: proves it loads with the trusted types, and
    # the card's metrics describe the registered bytes.
    model = loads(artifact)
    lm_version, label_model = load_label_model(store, data.label_model_version)
    y = data.test["gold_label"].to_numpy()
    scores = {
        "classifier": model.predict_proba(data.test),
        "label_model": label_model.predict_proba(data.L_test),
        "majority_vote": MajorityVoter(cardinality=len(task.classes)).predict_proba(data.L_test),
    }
    metrics = {name: evaluate(y, p) for name, p in scores.items()}
    version = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{digest[:8]}"
    card = {
        "name": NAME,
        "version": version,
        "artifact_sha256": digest,
        "classes": list(task.classes),
        "config": model.get_params(),
        "metrics": metrics,
        "training": {"rows": len(data.train), "policy": policy.model_dump(),
                     "rows_by_source": trained.rows_by_source,
                     "self_training": {"uncovered_rows": len(uncovered),
                                       "rounds": trained.rounds}},
        "lineage": {
            "partitions": data.partitions,
            "data_versions": data_versions,
            "lf_versions": task.lf_versions(),
            "label_model": {"version": lm_version,
                            "class_balance": label_model.class_balance_.round(4).tolist()},
            "dbt_code_versions": dbt_code_versions,
            "git_commit": git_commit(PROJECT_ROOT),
            **{key: value for key, value in (inputs or {}).items() if key != "training_policy"},
        },
        "libraries": library_versions(),
    }  # fmt: skip
    card = json.loads(json.dumps(card, sort_keys=True))  # as stored, so card.md shows it so
    plots = _plots(data, task, y, scores, metrics, model)
    registry = ModelRegistry(store, NAME)
    twin = _registered_twin(registry, digest, card["lineage"])
    if twin is None:
        decision = _publish(registry, artifact, card, plots, policy.champion_tolerance)
    else:  # the same bytes from the same inputs (a second `make demo`): one version, not two
        version = twin
        decision = Decision(
            twin,
            registry.champion() == twin,
            f"identical to registered version {twin} (same artifact SHA-256 and lineage): "
            "not registered again",
        )
    return TrainingOutcome(
        version=version,
        sha256=digest,
        decision=decision,
        champion=registry.champion(),
        metrics=metrics,
        card_uri=registry.uri(version, "card.md"),
        plot_uris={name: registry.uri(version, name) for name in plots},
        training_rows=len(data.train),
    )


def _registered_twin(registry: ModelRegistry, digest: str, lineage: dict[str, Any]) -> str | None:
    """The newest registered version with artifact SHA-256 `digest` and the same lineage (the
    same partitions, data and code versions, LF versions, label model and commit), if any."""
    registered = list(registry.versions().items())  # in order of registration
    for version, entry in reversed(registered):
        if entry.get("sha256") == digest and registry.card(version).get("lineage") == lineage:
            return version
    return None


def _publish(
    registry: ModelRegistry,
    artifact: bytes,
    card: dict[str, Any],
    plots: dict[str, bytes],
    tolerance: float,
) -> Decision:
    """Register with every file in place (card.md saying "not offered yet"), offer, then
    write card.md again with the decision. A run killed anywhere leaves an unlisted folder
    or a listed version with its card, never a listed version without one."""
    from training.model_card import card_markdown

    version = card["version"]
    pending = card_markdown(card, list(plots)).encode()
    registry.register(version, artifact, card, extra_files={**plots, "card.md": pending})
    decision = registry.offer(version, tolerance)
    page = card_markdown({**card, "promotion": asdict(decision)}, list(plots))
    registry.write_file(version, "card.md", page.encode())
    return decision


def _plots(
    data: ClassifierData,
    task: Task,
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    metrics: dict[str, dict[str, Any]],
    model: Any,
) -> dict[str, bytes]:
    """The card's plots, by file name."""
    from training import plots

    positive = task.positive
    curves = {name: proba[:, positive] for name, proba in scores.items()}
    coverage, accuracy = _lf_quality(data)
    return {
        "precision_recall.png": plots.precision_recall_png(y, curves, positive),
        "calibration.png": plots.calibration_png(y, curves, positive),
        "confusion_matrix.png": plots.confusion_png(
            metrics["classifier"]["confusion_matrix"], task.classes
        ),
        "top_terms.png": plots.top_terms_png(
            plots.top_terms(model.pipeline_, task.classes, texts=_term_sample(data))
        ),
        "labeling_functions.png": plots.lf_png(data.lf_names, coverage, accuracy),
    }


def _term_sample(data: ClassifierData, rows: int = 20_000) -> list[str]:
    """Training texts that name the hashed columns in the top-terms plot (a bounded sample:
    the hashed model keeps no vocabulary)."""
    texts = data.train["text"].dropna()
    return texts.sample(min(rows, len(texts)), random_state=0).tolist()


def _lf_quality(data: ClassifierData) -> tuple[list[float], list[float]]:
    """Per LF: coverage over the training rows, and accuracy where it voted on dev gold rows."""
    from training.votes import align_gold

    L = data.L_train
    rows, y = align_gold(data.train["comment_id"].tolist(), data.gold, "dev")
    coverage = (L != -1).mean(axis=0) if len(L) else np.zeros(len(data.lf_names))
    accuracy = []
    for j in range(len(data.lf_names)):
        fired = L[rows, j] != -1
        accuracy.append(float((L[rows, j][fired] == y[fired]).mean()) if fired.any() else np.nan)
    return coverage.tolist(), accuracy
