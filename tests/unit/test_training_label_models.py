"""The label model as a named model of the registry: every fit is registered and made the
champion weak_labels use, and any registered version can be loaded back, hash-checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storage.object_store import LocalObjectStore
from training.label_models import fit_label_model, load_label_model, weak_label_frame
from training.registry import ModelRegistry, NoChampionError, TamperedArtifactError
from training.task import Task
from training.warehouse import WindowVotes

TASK = Task(classes=("ham", "spam"), lfs=())


def window(seed: int, rows: int = 300) -> WindowVotes:
    """Three LFs voting on `rows` comments (the last all abstain), the first 40 gold `dev`."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    L = np.where(rng.random((rows, 3)) < 0.8, truth[:, None], 1 - truth[:, None])
    L = np.where(rng.random((rows, 3)) < 0.3, -1, L).astype(np.int8)
    L[-1] = -1
    ids = [f"c{i:04d}" for i in range(rows)]
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(rows) % 3, unit="D")
    gold = pd.DataFrame({"comment_id": ids[:40], "label": truth[:40], "split": "dev"})
    frame = pd.DataFrame({"comment_id": ids, "partition_date": days.date})
    return WindowVotes(frame, L, ["lf_a", "lf_b", "lf_c"], gold)


def test_each_fit_is_registered_and_becomes_the_champion(tmp_path):
    store = LocalObjectStore(tmp_path)
    first = fit_label_model(window(0), TASK, seed=1, store=store)
    assert first.training_rows == 300 and first.dev_accuracy is not None
    assert first.partitions == {"first": "2024-01-01", "last": "2024-01-03", "days": 3}
    assert first.uri.endswith(f"label_model/{first.version}/label_model.json")
    second = fit_label_model(window(1), TASK, seed=1, store=store)
    assert second.version != first.version
    registry = ModelRegistry(store, "label_model")
    assert set(registry.versions()) == {first.version, second.version}
    assert registry.champion() == second.version
    assert registry.card(first.version)["class_balance"] == first.class_balance
    assert load_label_model(store)[0] == second.version
    version, model = load_label_model(store, first.version)
    assert version == first.version
    assert dict(zip(TASK.classes, model.class_balance_.round(4), strict=True)) == pytest.approx(
        first.class_balance
    )


def test_the_same_fit_is_the_same_version(tmp_path):
    store = LocalObjectStore(tmp_path)
    versions = {fit_label_model(window(0), TASK, seed=1, store=store).version for _ in range(2)}
    assert len(versions) == 1


def test_loading_refuses_a_missing_or_tampered_model(tmp_path):
    store = LocalObjectStore(tmp_path)
    with pytest.raises(NoChampionError, match="materialize `label_model`"):
        load_label_model(store)
    fitted = fit_label_model(window(0), TASK, seed=1, store=store)
    store.put_bytes(f"label_model/{fitted.version}/label_model.json", b"{}")
    with pytest.raises(TamperedArtifactError):
        load_label_model(store, fitted.version)


def test_weak_labels_leave_out_rows_without_votes(tmp_path):
    votes = window(0)
    fitted = fit_label_model(votes, TASK, seed=1, store=LocalObjectStore(tmp_path))
    version, model = load_label_model(LocalObjectStore(tmp_path))
    frame = weak_label_frame(votes, model, version, TASK)
    voted = (votes.L != -1).any(axis=1)
    assert frame["comment_id"].tolist() == votes.rows["comment_id"][voted].tolist()
    assert "c0299" not in set(frame["comment_id"])
    assert np.allclose(frame["p_ham"] + frame["p_spam"], 1)
    assert (frame["label"] == (frame["p_spam"] > frame["p_ham"])).all()
    assert set(frame["label_model_version"]) == {fitted.version}
