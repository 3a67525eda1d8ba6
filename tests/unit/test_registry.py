"""Model registry: hashes checked before unpickling, promotion and rollback rules."""

import pickle

import pytest

from storage.object_store import LocalObjectStore
from training.__main__ import main as registry_cli
from training.registry import ModelRegistry, NoChampionError, TamperedArtifactError


def card(f1: float) -> dict:
    return {"metrics": {"classifier": {"f1": f1}}}


@pytest.fixture
def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(LocalObjectStore(tmp_path / "models"))


def test_register_and_load_round_trip(registry):
    digest = registry.register("v1", pickle.dumps({"weights": [1, 2]}), card(0.9))
    assert registry.load("v1") == {"weights": [1, 2]}
    assert registry.card("v1")["artifact_sha256"] == digest
    assert registry.store.get_bytes("classifier/v1/model.sha256").decode().startswith(digest)


def test_tampered_artifact_is_refused_before_unpickling(registry):
    registry.register("v1", pickle.dumps("good"), card(0.9))
    # A payload that would run code if it were ever unpickled.
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."
    registry.store.put_bytes("classifier/v1/model.pkl", evil)
    with pytest.raises(TamperedArtifactError, match="refusing to load"):
        registry.load("v1")


def test_unknown_version(registry):
    with pytest.raises(KeyError, match="unknown model version"):
        registry.load("nope")


def test_promotion_follows_the_tolerance_rule(registry):
    for version, f1 in [("v1", 0.90), ("v2", 0.895), ("v3", 0.85), ("v4", 0.95)]:
        registry.register(version, pickle.dumps(version), card(f1))
    first = registry.offer("v1", tolerance=0.01)
    assert first.promoted and "first model" in first.reason
    assert registry.offer("v2", tolerance=0.01).promoted  # 0.895 >= 0.90 - 0.01
    rejected = registry.offer("v3", tolerance=0.01)  # 0.85 < 0.895 - 0.01
    assert not rejected.promoted and "< champion v2" in rejected.reason
    assert registry.champion() == "v2"
    assert registry.offer("v4", tolerance=0.0).promoted
    events = [(e["event"], e["version"]) for e in registry.events()]
    assert events == [("promoted", "v1"), ("promoted", "v2"), ("kept_as_challenger", "v3"),
                      ("promoted", "v4")]  # fmt: skip


def test_rollback_to_previous_and_to_a_named_version(registry):
    with pytest.raises(NoChampionError):
        registry.rollback()
    for version in ("v1", "v2", "v3"):
        registry.register(version, pickle.dumps(version), card(0.9))
        registry.offer(version, tolerance=0.0)
    assert registry.rollback() == "v2"
    assert registry.champion() == "v2"
    assert registry.rollback(to="v3") == "v3"
    with pytest.raises(KeyError):
        registry.rollback(to="v9")
    assert registry.load_champion() == ("v3", "v3")


def test_no_champion_message_says_what_to_materialize(registry):
    with pytest.raises(NoChampionError, match="materialize `classifier`"):
        registry.load_champion()


def test_cli_list_and_rollback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLUICE_MODEL_STORE", str(tmp_path / "models"))
    registry = ModelRegistry(LocalObjectStore(tmp_path / "models"))
    for version in ("v1", "v2"):
        registry.register(version, pickle.dumps(version), card(0.9))
        registry.offer(version, tolerance=0.0)
    assert registry_cli(["list"]) == 0
    out = capsys.readouterr().out
    assert "* v2" in out and "  v1" in out
    assert registry_cli(["rollback"]) == 0
    assert registry.champion() == "v1"
    assert registry_cli(["rollback", "--to", "v7"]) == 1
    assert "rollback refused" in capsys.readouterr().err
