"""The model registry on S3 (moto over HTTP): an update that raced another is retried,
never lost, through conditional writes on registry.json's ETag."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from storage.object_store import S3ObjectStore
from training.registry import ModelRegistry

pytestmark = pytest.mark.integration


class RacingClient:
    """A boto3 S3 client that, once armed, lets another writer change registry.json just
    before this one writes it: after this writer read it, whatever it read it with."""

    def __init__(self) -> None:
        self._client = boto3.client("s3")
        self._race: Callable[[], None] | None = None

    def arm(self, race: Callable[[], None]) -> None:
        self._race = race

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"].endswith("registry.json") and self._race is not None:
            race, self._race = self._race, None
            race()
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def card(f1: float) -> dict:
    return {"metrics": {"classifier": {"f1": f1}}}


def test_an_update_that_raced_another_is_not_lost(s3_bucket):
    uri = f"s3://{s3_bucket}/models"
    client = RacingClient()
    registry = ModelRegistry(S3ObjectStore.from_uri(uri, client))
    other = ModelRegistry(S3ObjectStore.from_uri(uri))
    registry.register("v1", b"v1", card(0.9))
    registry.offer("v1", tolerance=0.0)

    client.arm(lambda: other.rollback("v1", reason="operator, during a training run"))
    registry.register("v2", b"v2", card(0.9))
    client.arm(lambda: other.register("v3", b"v3", card(0.8)))
    assert registry.offer("v2", tolerance=0.0).promoted

    assert set(registry.versions()) == {"v1", "v2", "v3"}
    events = [(e["event"], e["version"]) for e in registry.events()]
    assert events == [("promoted", "v1"), ("rolled_back", "v1"), ("promoted", "v2")]
    assert registry.champion() == "v2" and registry.load_bytes("v2") == b"v2"
