"""A model registry on an object store: named models, versioned artifacts, hashes,
champion/challenger.

Layout below the model store's root (`data/models` by default), one folder per model name
(`classifier`, `label_model`):

    <name>/<version>/<artifact>       the artifact (`model.skops`, or `label_model.json`)
    <name>/<version>/model.sha256     its SHA-256, written with it
    <name>/<version>/card.json        the model card (metrics, lineage, versions)
    <name>/<version>/card.md, *.png   the same card for people, with its plots (classifier)
    <name>/registry.json              versions, champion, and every promotion decision

A version's files are all written before its entry in registry.json, so a run killed
midway leaves at most an unlisted folder, never a registered version without its card.
registry.json is only changed by atomic, serialized updates (a lock on the model's folder
and an atomic rename on a local store, conditional writes on the object's ETag on S3), so a rollback
during a training run cannot lose either update.

Both live in the same store, so a matching hash only proves the file is the one the entry
names, not who wrote either. Loading therefore never runs code from the store: a classifier
is a skops file (`model.skops`) loaded with an explicit list of trusted types
(`training.classifier.TRUSTED_TYPES`), and a pickle (`model.pkl`, as models were stored
before) is refused with what to do. When `SLUICE_MODEL_SIGNING_KEY` is set, each version's
entry also carries an HMAC-SHA256 signature made with that key, which lives only in the
environment of the processes that train and score; entries without a valid one are refused.
The signature covers an entry, not which version is champion: someone who can write the
store can still make an older signed version champion again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from storage.object_store import LocalObjectStore, ObjectStore, S3ObjectStore

SKOPS = "model.skops"
LEGACY_PICKLE = "model.pkl"  # how classifiers were stored before skops: refused on load
# The signing key is a secret: read from the environment when used, never stored or logged.
SIGNING_KEY_ENV = "SLUICE_MODEL_SIGNING_KEY"
MIN_SIGNING_KEY_CHARS = 32
Result = TypeVar("Result")
State = dict[str, Any]


class RefusedArtifactError(RuntimeError):
    """A registered model that will not be loaded; the message says why and what to do."""


class TamperedArtifactError(RefusedArtifactError):
    """The artifact's bytes do not match the hash recorded when it was registered."""


class UnsafeArtifactError(RefusedArtifactError):
    """The artifact could run code when loaded: a pickle, not a skops file, or a skops file
    naming a type outside the trusted list."""


class SignatureError(RefusedArtifactError):
    """A signing key is set and the version's registry entry is unsigned or signed otherwise."""


class NoChampionError(RuntimeError):
    """No model has been promoted yet."""


class UnknownVersionError(KeyError):
    """No such version is registered; the message names the versions that are."""

    def __str__(self) -> str:  # KeyError's own str is the repr of its message
        return str(self.args[0]) if self.args else ""


class RegistryBusyError(RuntimeError):
    """registry.json kept changing under an update; nothing was written."""


@dataclass(frozen=True)
class Decision:
    """The outcome of offering a model for promotion."""

    version: str
    promoted: bool
    reason: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signing_key() -> bytes | None:
    """The registry's HMAC key from the environment (None when unset or empty)."""
    value = os.environ.get(SIGNING_KEY_ENV, "")
    if not value:
        return None
    if len(value) < MIN_SIGNING_KEY_CHARS:
        raise ValueError(
            f"{SIGNING_KEY_ENV} is set but shorter than {MIN_SIGNING_KEY_CHARS} characters; "
            "use a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return value.encode()


def _signature(key: bytes, name: str, version: str, entry: dict[str, Any]) -> str:
    """HMAC-SHA256 of an entry's fields (its signature aside), bound to the model and version."""
    fields = {k: v for k, v in entry.items() if k != "signature"}
    message = json.dumps({"model": name, "version": version, "entry": fields}, sort_keys=True)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _empty_state() -> State:
    return {"champion": None, "versions": {}, "events": []}


def _encode(state: State) -> bytes:
    return json.dumps(state, indent=2, sort_keys=True).encode()


class ModelRegistry:
    """Models of one name in an object store (local folder or S3)."""

    def __init__(self, store: ObjectStore, name: str = "classifier") -> None:
        self.store = store
        self.name = name
        self.root = name
        self._key = f"{name}/registry.json"

    # -- state --------------------------------------------------------------------------
    def _state(self) -> State:
        if self.store.head(self._key) is None:
            return _empty_state()
        return json.loads(self.store.get_bytes(self._key))

    def _update(self, change: Callable[[State], Result]) -> Result:
        """Apply `change` to the state (it edits it in place) as one atomic, serialized
        update; `change` may run more than once when another writer got in first."""
        if isinstance(self.store, LocalObjectStore):
            return _update_locally(self.store, self._key, change)
        if isinstance(self.store, S3ObjectStore):
            return _update_on_s3(self.store, self._key, change)
        raise TypeError(
            f"no atomic update for {type(self.store).__name__}: use a local or S3 store"
        )

    def versions(self) -> dict[str, dict[str, Any]]:
        """Every registered version with its hash, F1 and registration time."""
        return self._state()["versions"]

    def champion(self) -> str | None:
        return self._state()["champion"]

    def events(self) -> list[dict[str, Any]]:
        """Promotions, rejections and rollbacks, oldest first."""
        return self._state()["events"]

    def uri(self, version: str, file: str = "") -> str:
        return self.store.uri(f"{self.root}/{version}/{file}".rstrip("/"))

    # -- writing ------------------------------------------------------------------------
    def write_file(self, version: str, name: str, data: bytes) -> None:
        """A file in a version's folder (the registry never lists files, only versions)."""
        self.store.put_bytes(f"{self.root}/{version}/{name}", data)

    def register(
        self,
        version: str,
        artifact: bytes,
        card: dict[str, Any],
        extra_files: dict[str, bytes] | None = None,
        *,
        artifact_name: str = SKOPS,
    ) -> str:
        """Store an artifact, its hash, its card and extra files (plots, card.md), then list
        the version, signed when a signing key is set; return the hash. The card's
        `metrics[<name>].f1` is the test F1."""
        key = signing_key()  # a malformed key fails here, before anything is written
        digest = sha256(artifact)
        known = self.versions().get(version)
        if known is not None and known["sha256"] != digest:
            raise ValueError(f"{self.name} {version} is already registered with another hash")
        self.write_file(version, artifact_name, artifact)
        self.write_file(version, "model.sha256", f"{digest}  {artifact_name}\n".encode())
        for name, data in (extra_files or {}).items():
            self.write_file(version, name, data)
        card = {**card, "version": version, "artifact_sha256": digest}
        self.write_file(version, "card.json", json.dumps(card, indent=2, sort_keys=True).encode())
        entry = {
            "sha256": digest,
            "artifact": artifact_name,
            "test_f1": card.get("metrics", {}).get(self.name, {}).get("f1"),
            "registered_at": _now(),
        }
        if key is not None:
            entry["signature"] = _signature(key, self.name, version, entry)

        def add(state: State) -> None:
            state["versions"][version] = entry

        self._update(add)
        return digest

    def offer(self, version: str, tolerance: float) -> Decision:
        """Promote `version` if its test F1 is at least the champion's minus `tolerance`.

        A champion without a test F1 cannot be compared with: any model may replace it. A
        model without one is never promoted over a champion that has one.
        """

        def decide(state: State) -> Decision:
            f1 = state["versions"][version]["test_f1"]
            current = state["champion"]
            if current is None:
                return Decision(version, True, "first model: no champion to beat")
            champion_f1 = state["versions"][current]["test_f1"]
            if champion_f1 is None:
                return Decision(version, True, f"champion {current} has no test F1 to compare")
            if f1 is None:
                return Decision(version, False, f"no test F1 to compare with champion {current}")
            promoted = f1 >= champion_f1 - tolerance
            relation = ">=" if promoted else "<"
            reason = (
                f"test F1 {f1:.4f} {relation} champion {current} {champion_f1:.4f} - {tolerance}"
            )
            return Decision(version, promoted, reason)

        def change(state: State) -> Decision:
            decision = decide(state)
            event = "promoted" if decision.promoted else "kept_as_challenger"
            _record(state, event, version, decision.reason, champion=decision.promoted)
            return decision

        return self._update(change)

    def promote(self, version: str, reason: str) -> Decision:
        """Make `version` the champion unconditionally (a model without a promotion rule)."""

        def change(state: State) -> Decision:
            _check_known(state, version)
            _record(state, "promoted", version, reason, champion=True)
            return Decision(version, True, reason)

        return self._update(change)

    def rollback(self, to: str | None = None, reason: str = "rollback requested") -> str:
        """Make `to` (default: the champion before the current one) the champion again."""

        def change(state: State) -> str:
            current = state["champion"]
            if current is None:
                raise NoChampionError("nothing to roll back: no champion yet")
            target = to
            if target is None:
                promoted = [
                    e["version"]
                    for e in state["events"]
                    if e["event"] in ("promoted", "rolled_back")
                ]
                earlier = [v for v in reversed(promoted) if v != current]
                if not earlier:
                    raise NoChampionError(f"{current} is the only champion there has been")
                target = earlier[0]
            _check_known(state, target)
            self._check_loadable(target, state["versions"][target])
            _record(state, "rolled_back", target, reason, champion=True)
            return target

        return self._update(change)

    # -- reading ------------------------------------------------------------------------
    def card(self, version: str) -> dict[str, Any]:
        return json.loads(self.store.get_bytes(f"{self.root}/{version}/card.json"))

    def load_bytes(self, version: str) -> bytes:
        """The artifact's bytes, verified against the registry's signature (when a signing key
        is set) and against the hash recorded at registration."""
        entry = self._state()["versions"].get(version)
        if entry is None:
            raise UnknownVersionError(f"unknown model version {version} of {self.name}")
        self._check_loadable(version, entry)  # refuses entries from before `artifact` was set
        data = self.store.get_bytes(f"{self.root}/{version}/{entry['artifact']}")
        actual = sha256(data)
        if actual != entry["sha256"]:
            raise TamperedArtifactError(
                f"{self.name} {version}: artifact SHA-256 {actual[:12]}… does not match the "
                f"registered {entry['sha256'][:12]}…; refusing to load it"
            )
        return data

    def load(self, version: str) -> Any:
        """The classifier of `version`, from its verified skops file; nothing else is loaded
        (label models are JSON: `training.label_models.load_label_model`)."""
        from training.classifier import loads

        data = self.load_bytes(version)
        try:
            return loads(data)
        except RefusedArtifactError as err:
            raise type(err)(f"{self.name} {version} ({self.uri(version)}): {err}") from None

    def champion_or_raise(self) -> str:
        version = self.champion()
        if version is None:
            raise NoChampionError(
                f"no champion model yet: materialize `{self.name}` (and its upstream assets) first"
            )
        return version

    def load_champion(self) -> tuple[str, Any]:
        version = self.champion_or_raise()
        return version, self.load(version)

    def _check_loadable(self, version: str, entry: dict[str, Any]) -> None:
        """Refuse, before reading any artifact, a version stored as a pickle or, when a
        signing key is set, one whose entry is unsigned or signed with another key."""
        if entry.get("artifact", LEGACY_PICKLE) == LEGACY_PICKLE:
            raise UnsafeArtifactError(
                f"{self.name} {version} is a pickle ({LEGACY_PICKLE}), stored before Sluice "
                "used skops; a pickle runs code when loaded, so it is never loaded. Retrain "
                f"(materialize `{self.name}`), or make a newer version champion with "
                "`python -m training rollback --to VERSION`."
            )
        key = signing_key()
        if key is None:
            return
        signature = entry.get("signature")
        if not isinstance(signature, str):
            raise SignatureError(
                f"{self.name} {version} is not signed and {SIGNING_KEY_ENV} is set: only "
                f"models registered with the key are loaded. Retrain with the key set "
                f"(materialize `{self.name}`)."
            )
        if not hmac.compare_digest(signature, _signature(key, self.name, version, entry)):
            raise SignatureError(
                f"{self.name} {version}: its entry in {self.store.uri(self._key)} does not "
                f"carry a valid signature for {SIGNING_KEY_ENV}: the entry was changed after "
                "registration, or signed with another key. Check who can write the model "
                "store, give every process that trains or scores the same key, and retrain "
                f"(materialize `{self.name}`)."
            )


def _check_known(state: State, version: str) -> None:
    if version not in state["versions"]:
        known = ", ".join(sorted(state["versions"])) or "none"
        raise UnknownVersionError(
            f"unknown version {version}; registered: {known} (`python -m training list`)"
        )


def _record(state: State, event: str, version: str, reason: str, *, champion: bool) -> None:
    """Append a decision to the history; `champion`: `version` becomes the champion."""
    previous = state["champion"]
    if champion:
        state["champion"] = version
    state["events"].append(
        {"at": _now(), "event": event, "version": version, "previous_champion": previous,
         "reason": reason}
    )  # fmt: skip


def _update_locally(store: LocalObjectStore, key: str, change: Callable[[State], Result]) -> Result:
    """Read-modify-write under an exclusive lock on the model's folder (a lock per open
    descriptor: it excludes other threads and processes alike). The store's write is an
    atomic rename, so readers, who take no lock, see the old state or the new one, whole."""
    path = store.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        state = json.loads(store.get_bytes(key)) if path.is_file() else _empty_state()
        result = change(state)
        store.put_bytes(key, _encode(state))
        return result
    finally:
        os.close(folder)  # releases the lock


_S3_RACE_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _update_on_s3(
    store: S3ObjectStore, key: str, change: Callable[[State], Result], attempts: int = 20
) -> Result:
    """Optimistic concurrency: write only if registry.json still has the ETag it was read
    with (`IfNoneMatch="*"` when it did not exist), and start over if another writer won."""
    from botocore.exceptions import ClientError

    full_key = store.uri(key).removeprefix(f"s3://{store.bucket}/")
    for attempt in range(attempts):
        try:
            obj = store.client.get_object(Bucket=store.bucket, Key=full_key)
            state, condition = json.loads(obj["Body"].read()), {"IfMatch": obj["ETag"]}
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            state, condition = _empty_state(), {"IfNoneMatch": "*"}
        result = change(state)
        try:
            store.client.put_object(
                Bucket=store.bucket, Key=full_key, Body=_encode(state), **condition
            )
            return result
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in _S3_RACE_CODES:
                raise
        time.sleep(min(0.05 * 2**attempt, 1.0))
    raise RegistryBusyError(f"{store.uri(key)} changed under {attempts} attempts to update it")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
