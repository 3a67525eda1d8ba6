"""Model registry: hashes checked before anything is loaded, promotion and rollback rules.
What loading refuses (pickles, untrusted types, bad signatures): test_model_store_safety.py."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.object_store import LocalObjectStore
from training.__main__ import main as registry_cli
from training.registry import (
    ModelRegistry,
    NoChampionError,
    TamperedArtifactError,
    UnsafeArtifactError,
)


def card(f1: float) -> dict:
    return {"metrics": {"classifier": {"f1": f1}}}


@pytest.fixture
def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(LocalObjectStore(tmp_path / "models"))


def test_register_and_load_round_trip(registry):
    digest = registry.register("v1", b"artifact", card(0.9))
    assert registry.load_bytes("v1") == b"artifact"
    assert registry.card("v1")["artifact_sha256"] == digest
    assert registry.store.get_bytes("classifier/v1/model.sha256").decode() == (
        f"{digest}  model.skops\n"
    )


def test_tampered_artifact_is_refused_before_loading(registry):
    registry.register("v1", b"good", card(0.9))
    # A payload that would run code if it were ever unpickled.
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."
    registry.store.put_bytes("classifier/v1/model.skops", evil)
    with pytest.raises(TamperedArtifactError, match="refusing to load"):
        registry.load("v1")


def test_unknown_version(registry):
    with pytest.raises(KeyError, match="unknown model version"):
        registry.load("nope")


def test_promotion_follows_the_tolerance_rule(registry):
    for version, f1 in [("v1", 0.90), ("v2", 0.895), ("v3", 0.85), ("v4", 0.95)]:
        registry.register(version, version.encode(), card(f1))
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
        registry.register(version, version.encode(), card(0.9))
        registry.offer(version, tolerance=0.0)
    assert registry.rollback() == "v2"
    assert registry.champion() == "v2"
    assert registry.rollback(to="v3") == "v3"
    with pytest.raises(KeyError):
        registry.rollback(to="v9")
    assert registry.champion() == "v3"


def test_no_champion_message_says_what_to_materialize(registry):
    with pytest.raises(NoChampionError, match="materialize `classifier`"):
        registry.load_champion()


def test_cli_list_and_rollback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLUICE_MODEL_STORE", str(tmp_path / "models"))
    registry = ModelRegistry(LocalObjectStore(tmp_path / "models"))
    for version in ("v1", "v2"):
        registry.register(version, version.encode(), card(0.9))
        registry.offer(version, tolerance=0.0)
    assert registry_cli(["list"]) == 0
    out = capsys.readouterr().out
    assert "* v2" in out and "  v1" in out
    assert registry_cli(["rollback"]) == 0
    assert registry.champion() == "v1"
    assert registry_cli(["rollback", "--to", "v7"]) == 1
    assert "rollback refused" in capsys.readouterr().err


def test_a_champion_without_test_f1_can_be_replaced(registry):
    registry.register("v1", b"v1", {"metrics": {}})
    assert registry.offer("v1", tolerance=0.01).promoted
    registry.register("v2", b"v2", card(0.5))
    decision = registry.offer("v2", tolerance=0.01)
    assert decision.promoted and "champion v1 has no test F1" in decision.reason
    assert registry.champion() == "v2"
    registry.register("v3", b"v3", {"metrics": {}})
    kept = registry.offer("v3", tolerance=0.01)
    assert not kept.promoted and "no test F1 to compare with champion v2" in kept.reason


class SlowReads(LocalObjectStore):
    """Every read takes a while: room for another writer to slip in between read and write."""

    def get_bytes(self, key: str) -> bytes:
        data = super().get_bytes(key)
        time.sleep(0.01)
        return data


def test_concurrent_updates_are_never_lost(tmp_path):
    root = tmp_path / "models"

    def train_and_roll_back(worker: int) -> None:
        registry = ModelRegistry(SlowReads(root))
        for i in range(3):
            version = f"w{worker}-{i}"
            registry.register(version, version.encode(), card(0.9))
            registry.offer(version, tolerance=0.0)
        registry.rollback(reason=f"worker {worker}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(train_and_roll_back, range(6)))
    registry = ModelRegistry(LocalObjectStore(root))
    assert len(registry.versions()) == 18
    assert sum(e["event"] == "promoted" for e in registry.events()) == 18
    assert sum(e["event"] == "rolled_back" for e in registry.events()) == 6


class FailsOn(LocalObjectStore):
    """A store whose disk fills up when a file of the given name is written."""

    def __init__(self, root, name: str) -> None:
        super().__init__(root)
        self.name = name

    def put_bytes(self, key: str, data: bytes):
        if key.endswith(self.name):
            raise OSError(28, "No space left on device")
        return super().put_bytes(key, data)


@pytest.mark.parametrize("failing", ["model.sha256", "top_terms.png", "card.json"])
def test_a_registration_that_fails_midway_lists_no_version(tmp_path, failing):
    broken = ModelRegistry(FailsOn(tmp_path / "models", failing))
    with pytest.raises(OSError):
        broken.register("v1", b"v1", card(0.9), {"top_terms.png": b"png"})
    registry = ModelRegistry(LocalObjectStore(tmp_path / "models"))
    assert registry.versions() == {}
    with pytest.raises(KeyError, match="unknown model version"):
        registry.load("v1")


def test_a_version_is_not_registered_again_with_other_bytes(registry):
    registry.register("v1", b"v1", card(0.9))
    registry.register("v1", b"v1", card(0.9))  # the same artifact: idempotent
    with pytest.raises(ValueError, match="already registered with another hash"):
        registry.register("v1", b"other", card(0.9))
    assert registry.load_bytes("v1") == b"v1"


def test_named_models_share_the_store_and_keep_their_own_state(tmp_path):
    store = LocalObjectStore(tmp_path / "models")
    classifiers, label_models = (
        ModelRegistry(store, "classifier"),
        ModelRegistry(store, "label_model"),
    )
    classifiers.register("c1", b"c1", card(0.9))
    label_models.register("l1", b'{"weights": [1]}', {}, artifact_name="label_model.json")
    decision = label_models.promote("l1", "newest fit")
    assert decision.promoted and label_models.champion() == "l1"
    assert classifiers.champion() is None and set(classifiers.versions()) == {"c1"}
    assert label_models.versions()["l1"]["test_f1"] is None
    assert label_models.load_bytes("l1") == b'{"weights": [1]}'
    store.put_bytes("label_model/l1/label_model.json", b'{"weights": [2]}')
    with pytest.raises(TamperedArtifactError):
        label_models.load_bytes("l1")
    with pytest.raises(NoChampionError, match="materialize `classifier`"):
        classifiers.load_champion()


def test_cli_for_the_label_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLUICE_MODEL_STORE", str(tmp_path / "models"))
    label_models = ModelRegistry(LocalObjectStore(tmp_path / "models"), "label_model")
    for version in ("l1", "l2"):
        label_models.register(version, version.encode(), {}, artifact_name="label_model.json")
        label_models.promote(version, "newest fit")
    assert registry_cli(["--name", "label_model", "list"]) == 0
    assert "* l2  test_f1=-" in capsys.readouterr().out
    assert registry_cli(["--name", "label_model", "rollback"]) == 0
    assert label_models.champion() == "l1"
    assert registry_cli(["--name", "label_model", "history"]) == 0
    assert "rolled_back" in capsys.readouterr().out.splitlines()[-1]


def test_rollback_to_a_pickle_from_before_skops_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLUICE_MODEL_STORE", str(tmp_path / "models"))
    registry = ModelRegistry(LocalObjectStore(tmp_path / "models"))
    registry.register("v2", b"v2", card(0.9))
    state = json.loads(registry.store.get_bytes("classifier/registry.json"))
    # An entry as registries wrote them before skops: no "artifact" field, a model.pkl.
    state["versions"]["v1"] = {"sha256": "0" * 64, "test_f1": 0.9, "registered_at": "x"}
    state["champion"] = "v1"
    state["events"].append({"event": "promoted", "version": "v1"})
    registry.store.put_bytes("classifier/registry.json", json.dumps(state).encode())
    registry.offer("v2", tolerance=0.0)
    with pytest.raises(UnsafeArtifactError, match=r"v1 is a pickle \(model.pkl\).*Retrain"):
        registry.rollback()
    assert registry.champion() == "v2"
    assert registry_cli(["rollback", "--to", "v1"]) == 1
    assert "rollback refused: classifier v1 is a pickle" in capsys.readouterr().err
