"""Someone who can write the model store cannot make Sluice run code.

The attacker of these tests writes an artifact and a registry.json entry with its matching
SHA-256 (both live in the same store), then a run worker loads the champion as
`comment_scores` does. Each payload is shown to be live first (loaded the unsafe way, it
creates a marker file); through the registry it is refused with a reason and creates nothing.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import shlex
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.dummy import DummyClassifier

from storage.object_store import LocalObjectStore
from training.classifier import TRUSTED_TYPES, SoftLabelClassifier, artifact_types, dumps, loads
from training.registry import (
    SIGNING_KEY_ENV,
    ModelRegistry,
    RefusedArtifactError,
    SignatureError,
    UnsafeArtifactError,
    sha256,
)

KEY = "k" * 40
TEXTS = [
    "check out my channel http://promo.example.com", "love this song so much",
    "subscribe to my channel please", "this video is so funny lol",
    "free money at www.cash.com", "i miss the old days", "check my new video plz",
    # Words that are skops schema keys: the audit and the renumbering must read them as data.
    "wow her voice is amazing __module__ __class__ __id__ file",
]  # fmt: skip


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame({"text": TEXTS, "url_count": [1, 0, 0, 0, 1, 0, 0, 0]})


@pytest.fixture(scope="module")
def proba() -> np.ndarray:
    spam = np.array([0.9, 0.2, 0.8, 0.1, 0.95, 0.3, 0.7, 0.05])
    return np.column_stack([1 - spam, spam])


@pytest.fixture(scope="module")
def model(frame, proba) -> SoftLabelClassifier:
    return SoftLabelClassifier(numeric_columns=("url_count",)).fit(frame, proba)


@pytest.fixture
def store(tmp_path, monkeypatch) -> LocalObjectStore:
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    return LocalObjectStore(tmp_path / "models")


def plant(store: LocalObjectStore, artifact: bytes, artifact_name: str = "model.skops") -> None:
    """What an attacker with write access to the store does: put a file there and make it the
    champion, with its true SHA-256 in registry.json."""
    store.put_bytes(f"classifier/evil/{artifact_name}", artifact)
    entry = {"sha256": sha256(artifact), "artifact": artifact_name, "test_f1": 0.99,
             "registered_at": "2024-01-01T00:00:00+00:00"}  # fmt: skip
    state = {"champion": "evil", "versions": {"evil": entry}, "events": []}
    store.put_bytes("classifier/registry.json", json.dumps(state).encode())


class RunsCode:
    """Unpickling it runs `code`: what a crafted model.pkl does to `pickle.loads`."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return exec, (self.code,)


def touch(path: Path) -> str:
    return f"open({str(path)!r}, 'w').close()"


def skops_calling(model: SoftLabelClassifier, function: str, argument: str) -> bytes:
    """The model's skops file with one hyperparameter replaced by a call to `function`
    ("module.name") on `argument`, a node skops builds only if that type is trusted."""
    module, name = function.rsplit(".", 1)
    with zipfile.ZipFile(io.BytesIO(dumps(model))) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    schema = json.loads(members["schema.json"])
    argument_node = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                     "content": json.dumps(argument), "is_json": True}  # fmt: skip
    schema["content"]["content"]["C"] = {
        "__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": [argument_node]},
    }  # fmt: skip
    members["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name_, data in members.items():
            archive.writestr(name_, data)
    return out.getvalue()


@pytest.mark.parametrize("artifact_name", ["model.pkl", "model.skops"])
def test_a_pickle_with_a_matching_hash_is_refused_and_never_runs(store, tmp_path, artifact_name):
    control, marker = tmp_path / "control", tmp_path / "marker"
    pickle.loads(pickle.dumps(RunsCode(touch(control))))  # the payload is live
    assert control.exists()
    plant(store, pickle.dumps(RunsCode(touch(marker))), artifact_name)
    with pytest.raises(UnsafeArtifactError, match=r"pickle.*never loaded.*[Rr]etrain"):
        ModelRegistry(store).load_champion()
    assert not marker.exists()


@pytest.mark.parametrize("function", ["builtins.exec", "os.system"])
def test_a_skops_file_naming_an_untrusted_type_is_refused_and_never_runs(
    store, tmp_path, model, function
):
    def command(path: Path) -> str:
        return touch(path) if function == "builtins.exec" else f"touch {shlex.quote(str(path))}"

    control, marker = tmp_path / "control", tmp_path / "marker"
    live = skops_calling(model, function, command(control))
    skops.io.loads(live, trusted=[*TRUSTED_TYPES, function])  # the payload is live
    assert control.exists()
    plant(store, skops_calling(model, function, command(marker)))
    with pytest.raises(UnsafeArtifactError, match=rf"never holds: \['{function}'\]"):
        ModelRegistry(store).load_champion()
    assert not marker.exists()


@pytest.mark.parametrize(
    ("artifact", "reason"),
    [
        (b"", "not a skops file"),
        (b"\x00garbage", "not a skops file"),
        (b"PK\x03\x04 truncated", "not a readable skops file"),
        (skops.io.dumps({"a": "b"}), "holds a dict, not a SoftLabelClassifier"),
    ],
)
def test_anything_but_a_classifier_skops_file_is_refused_with_a_reason(store, artifact, reason):
    plant(store, artifact)
    with pytest.raises(RefusedArtifactError, match=rf"classifier evil .*{reason}.*retrain"):
        ModelRegistry(store).load_champion()


def test_a_type_skops_trusts_by_default_is_refused_unless_listed(store, model):
    """skops trusts every scikit-learn estimator by default; a classifier's file may name only
    the classifier's own types."""
    extended = copy.deepcopy(model)
    extended.extra_ = DummyClassifier()
    artifact = dumps(extended)
    assert "sklearn.dummy.DummyClassifier" not in skops.io.get_untrusted_types(data=artifact)
    plant(store, artifact)
    with pytest.raises(
        UnsafeArtifactError, match=r"never holds: \['sklearn.dummy.DummyClassifier'\]"
    ):
        ModelRegistry(store).load_champion()


def test_an_old_pickle_artifact_says_to_retrain(store, model):
    plant(store, pickle.dumps(model), "model.pkl")
    with pytest.raises(UnsafeArtifactError) as refused:
        ModelRegistry(store).load_champion()
    message = str(refused.value)
    assert "classifier evil is a pickle (model.pkl)" in message
    assert "materialize `classifier`" in message and "rollback --to VERSION" in message


def test_trusted_types_are_exactly_the_types_of_fitted_classifiers(frame, proba):
    """Kept in sync both ways: a type the pipeline gains must be listed, and a listed type
    no fitted classifier holds must go."""
    four_classes = np.random.default_rng(0).dirichlet(np.ones(4), len(frame))
    models = [
        SoftLabelClassifier().fit(frame, proba),  # as train.py trains it
        SoftLabelClassifier(numeric_columns=("url_count",)).fit(frame, proba),
        SoftLabelClassifier(char_ngrams=(2, 3)).fit(frame, four_classes),
        SoftLabelClassifier(sgd_above=0).fit(frame, proba),  # large sets: averaged SGD
    ]
    assert set().union(*(artifact_types(dumps(m)) for m in models)) == set(TRUSTED_TYPES)


def test_the_stored_model_predicts_exactly_as_the_fitted_one_and_its_pickle(model, frame):
    artifact = dumps(model)
    loaded = loads(artifact)
    new = pd.DataFrame({"text": ["sub 4 sub http://x.example", "nice song"], "url_count": [1, 0]})
    for X in (frame, new):
        expected = model.predict_proba(X)
        np.testing.assert_array_equal(loaded.predict_proba(X), expected)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X), expected)
    assert dumps(loaded) == artifact  # loading and storing again changes no byte


def test_registered_and_loaded_through_the_registry(store, model, frame):
    registry = ModelRegistry(store)
    registry.register("v1", dumps(model), {"metrics": {"classifier": {"f1": 0.9}}})
    registry.offer("v1", tolerance=0.0)
    assert store.head("classifier/v1/model.skops") is not None
    version, loaded = registry.load_champion()
    assert version == "v1"
    np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


# -- signatures (SLUICE_MODEL_SIGNING_KEY) -------------------------------------------------------
def test_with_a_key_entries_are_signed_and_the_key_stays_out_of_the_store(
    store, model, monkeypatch
):
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    registry = ModelRegistry(store)
    registry.register("v1", dumps(model), {"metrics": {"classifier": {"f1": 0.9}}})
    registry.offer("v1", tolerance=0.0)
    assert len(registry.versions()["v1"]["signature"]) == 64
    assert registry.load_champion()[0] == "v1"
    for path in store.root.rglob("*"):
        assert not path.is_file() or KEY.encode() not in path.read_bytes(), path


def test_with_a_key_an_unsigned_entry_is_refused(store, model, monkeypatch):
    plant(store, dumps(model))
    assert ModelRegistry(store).load_champion()[0] == "evil"  # no key: skops' check guards
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    with pytest.raises(SignatureError, match=f"not signed and {SIGNING_KEY_ENV} is set"):
        ModelRegistry(store).load_champion()


def test_with_a_key_an_edited_entry_or_another_key_is_refused(store, model, frame, monkeypatch):
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    registry = ModelRegistry(store)
    registry.register("v1", dumps(model), {"metrics": {"classifier": {"f1": 0.9}}})
    registry.offer("v1", tolerance=0.0)
    # The attacker swaps in another (trusted-type) model and fixes the hash, not the signature.
    other = dumps(SoftLabelClassifier(C=0.01).fit(frame, np.eye(2)[[1, 0, 1, 0, 1, 0, 1, 0]]))
    store.put_bytes("classifier/v1/model.skops", other)
    state = json.loads(store.get_bytes("classifier/registry.json"))
    state["versions"]["v1"]["sha256"] = sha256(other)
    store.put_bytes("classifier/registry.json", json.dumps(state).encode())
    with pytest.raises(SignatureError, match="changed after registration, or signed with another"):
        registry.load_champion()
    monkeypatch.setenv(SIGNING_KEY_ENV, "o" * 40)
    with pytest.raises(SignatureError):
        registry.load("v1")


def test_a_short_key_is_refused_without_showing_it(store, monkeypatch):
    monkeypatch.setenv(SIGNING_KEY_ENV, "hunter2-secret")
    with pytest.raises(ValueError, match=f"{SIGNING_KEY_ENV} is set but shorter") as refused:
        ModelRegistry(store).register("v1", b"x", {})
    assert "hunter2" not in str(refused.value)
    assert ModelRegistry(store).versions() == {}


def test_a_forged_label_model_is_refused_when_a_key_is_set(tmp_path, monkeypatch):
    """The label model is JSON (nothing to execute) but steers the weak labels: signed too."""
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)
    store = LocalObjectStore(tmp_path / "models")
    label_models = ModelRegistry(store, "label_model")
    label_models.register("l1", b'{"weights": [1]}', {}, artifact_name="label_model.json")
    assert label_models.load_bytes("l1") == b'{"weights": [1]}'
    forged = b'{"weights": [9]}'
    store.put_bytes("label_model/l1/label_model.json", forged)
    state = json.loads(store.get_bytes("label_model/registry.json"))
    state["versions"]["l1"]["sha256"] = sha256(forged)
    store.put_bytes("label_model/registry.json", json.dumps(state).encode())
    with pytest.raises(SignatureError, match="materialize `label_model`"):
        label_models.load_bytes("l1")
