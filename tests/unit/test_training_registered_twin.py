"""A second identical training run (same artifact bytes, same lineage) reuses the registered
version instead of registering a copy; a different artifact or lineage is a new version.
Against a real registry in a local model store."""

from __future__ import annotations

from storage.object_store import LocalObjectStore
from training.registry import ModelRegistry, sha256
from training.train import NAME, _registered_twin

LINEAGE = {"partitions": ["2024-01-01"], "label_model": {"version": "abc"}, "git_commit": "1"}


def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(LocalObjectStore(tmp_path / "models"), NAME)


def card(lineage: dict) -> dict:
    return {"name": NAME, "lineage": lineage, "metrics": {NAME: {"f1": 0.9}}}


def test_the_same_bytes_and_lineage_find_the_registered_version(tmp_path):
    models = registry(tmp_path)
    models.register("v1", b"model bytes", card(LINEAGE))
    assert _registered_twin(models, sha256(b"model bytes"), LINEAGE) == "v1"


def test_other_bytes_or_other_lineage_are_new_models(tmp_path):
    models = registry(tmp_path)
    models.register("v1", b"model bytes", card(LINEAGE))
    assert _registered_twin(models, sha256(b"other bytes"), LINEAGE) is None
    moved = {**LINEAGE, "partitions": ["2024-01-01", "2024-01-02"]}
    assert _registered_twin(models, sha256(b"model bytes"), moved) is None


def test_the_newest_of_several_twins_is_reused(tmp_path):
    models = registry(tmp_path)
    models.register("v1", b"model bytes", card(LINEAGE))
    models.register("v2", b"model bytes", card(LINEAGE))
    assert _registered_twin(models, sha256(b"model bytes"), LINEAGE) == "v2"
