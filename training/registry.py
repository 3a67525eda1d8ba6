"""A model registry on an object store: versioned artifacts, hashes, champion/challenger.

Layout below the model store's root (`data/models` by default):

    <name>/<version>/model.pkl        the artifact (a pickled scikit-learn Pipeline)
    <name>/<version>/model.sha256     its SHA-256, written with it
    <name>/<version>/card.json        the model card (metrics, lineage, versions)
    <name>/<version>/card.md          the same card for people, with its plots
    <name>/registry.json              champion, and every promotion decision

An artifact is only unpickled after its bytes match the SHA-256 recorded in the
registry when it was registered: a tampered or truncated file is refused first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from storage.object_store import ObjectStore


class TamperedArtifactError(RuntimeError):
    """The artifact's bytes do not match the hash recorded when it was registered."""


class NoChampionError(RuntimeError):
    """No model has been promoted yet."""


@dataclass(frozen=True)
class Decision:
    """The outcome of offering a model for promotion."""

    version: str
    promoted: bool
    reason: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelRegistry:
    """Models of one name in an object store (local folder or S3)."""

    def __init__(self, store: ObjectStore, name: str = "classifier") -> None:
        self.store = store
        self.name = name
        self.root = name

    # -- state --------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        key = f"{self.root}/registry.json"
        if self.store.head(key) is None:
            return {"champion": None, "versions": {}, "events": []}
        return json.loads(self.store.get_bytes(key))

    def _save_state(self, state: dict[str, Any]) -> None:
        data = json.dumps(state, indent=2, sort_keys=True).encode()
        self.store.put_bytes(f"{self.root}/registry.json", data)

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
    def register(
        self,
        version: str,
        artifact: bytes,
        card: dict[str, Any],
        extra_files: dict[str, bytes] | None = None,
    ) -> str:
        """Store an artifact, its hash, its card and extra files (plots); return the hash."""
        digest = sha256(artifact)
        base = f"{self.root}/{version}"
        self.store.put_bytes(f"{base}/model.pkl", artifact)
        self.store.put_bytes(f"{base}/model.sha256", f"{digest}  model.pkl\n".encode())
        for name, data in (extra_files or {}).items():
            self.store.put_bytes(f"{base}/{name}", data)
        card = {**card, "version": version, "artifact_sha256": digest}
        self.store.put_bytes(
            f"{base}/card.json", json.dumps(card, indent=2, sort_keys=True).encode()
        )
        state = self._state()
        state["versions"][version] = {
            "sha256": digest,
            "test_f1": card.get("metrics", {}).get("classifier", {}).get("f1"),
            "registered_at": _now(),
        }
        self._save_state(state)
        return digest

    def offer(self, version: str, tolerance: float) -> Decision:
        """Promote `version` if its test F1 is at least the champion's minus `tolerance`."""
        state = self._state()
        f1 = state["versions"][version]["test_f1"]
        current = state["champion"]
        if current is None:
            decision = Decision(version, True, "first model: no champion to beat")
        else:
            champion_f1 = state["versions"][current]["test_f1"]
            if f1 >= champion_f1 - tolerance:
                reason = f"test F1 {f1:.4f} >= champion {current} {champion_f1:.4f} - {tolerance}"
                decision = Decision(version, True, reason)
            else:
                reason = f"test F1 {f1:.4f} < champion {current} {champion_f1:.4f} - {tolerance}"
                decision = Decision(version, False, reason)
        if decision.promoted:
            state["champion"] = version
        state["events"].append(
            {
                "at": _now(),
                "event": "promoted" if decision.promoted else "kept_as_challenger",
                "version": version,
                "previous_champion": current,
                "reason": decision.reason,
            }
        )
        self._save_state(state)
        return decision

    def rollback(self, to: str | None = None, reason: str = "rollback requested") -> str:
        """Make `to` (default: the champion before the current one) the champion again."""
        state = self._state()
        current = state["champion"]
        if current is None:
            raise NoChampionError("nothing to roll back: no champion yet")
        if to is None:
            promoted = [
                e["version"] for e in state["events"] if e["event"] in ("promoted", "rolled_back")
            ]
            earlier = [v for v in reversed(promoted) if v != current]
            if not earlier:
                raise NoChampionError(f"{current} is the only champion there has been")
            to = earlier[0]
        if to not in state["versions"]:
            raise KeyError(f"unknown version {to!r}; known: {sorted(state['versions'])}")
        state["champion"] = to
        state["events"].append(
            {"at": _now(), "event": "rolled_back", "version": to, "previous_champion": current,
             "reason": reason}
        )  # fmt: skip
        self._save_state(state)
        return to

    # -- reading ------------------------------------------------------------------------
    def card(self, version: str) -> dict[str, Any]:
        return json.loads(self.store.get_bytes(f"{self.root}/{version}/card.json"))

    def load_bytes(self, version: str) -> bytes:
        """The artifact's bytes, verified against the hash recorded at registration."""
        expected = self._state()["versions"].get(version, {}).get("sha256")
        if expected is None:
            raise KeyError(f"unknown model version {version!r}")
        data = self.store.get_bytes(f"{self.root}/{version}/model.pkl")
        actual = sha256(data)
        if actual != expected:
            raise TamperedArtifactError(
                f"model {version}: artifact SHA-256 {actual[:12]}… does not match the "
                f"registered {expected[:12]}…; refusing to load it"
            )
        return data

    def load(self, version: str) -> Any:
        """Unpickle a verified artifact (pickle is only ever applied to checked bytes)."""
        import pickle

        return pickle.loads(self.load_bytes(version))  # bytes verified against the registry

    def load_champion(self) -> tuple[str, Any]:
        version = self.champion()
        if version is None:
            raise NoChampionError(
                "no champion model yet: materialize `classifier` (and its upstream "
                "label_model/weak_labels) first"
            )
        return version, self.load(version)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
