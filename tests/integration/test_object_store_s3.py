"""The object store over real HTTP against moto's S3 server, and its local twin."""

import hashlib

import pytest

from resources.stores import LandingZoneResource, _s3_client
from storage.object_store import LocalObjectStore, S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "landing")
    bucket = request.getfixturevalue("s3_bucket")
    return LandingZoneResource(uri=f"s3://{bucket}/team/landing").store()


def test_put_get_list_head_delete(store):
    a = store.put_bytes("comments/dt=2024-01-01/a.jsonl", b'{"x": 1}\n')
    store.put_bytes("comments/dt=2024-01-02/b.jsonl", b"b")
    store.put_bytes("labels/gold.csv", b"comment_id,label,split\n")
    assert store.get_bytes("comments/dt=2024-01-01/a.jsonl") == b'{"x": 1}\n'
    assert a.size == 9 and a.etag == hashlib.md5(b'{"x": 1}\n').hexdigest()  # as S3 reports
    keys = [o.key for o in store.list("comments/")]
    assert keys == ["comments/dt=2024-01-01/a.jsonl", "comments/dt=2024-01-02/b.jsonl"]
    after = [o.key for o in store.list("comments/", start_after="comments/dt=2024-01-01/a.jsonl")]
    assert after == ["comments/dt=2024-01-02/b.jsonl"]
    assert [o.key for o in store.list("comments/dt=2024-01-02/")] == [keys[1]]
    assert store.head("labels/gold.csv").size == len(b"comment_id,label,split\n")
    assert store.head("labels/missing.csv") is None
    store.delete("labels/gold.csv")
    assert store.head("labels/gold.csv") is None


def test_replacing_an_object_changes_its_etag(store):
    first = store.put_bytes("comments/dt=2024-01-01/a.jsonl", b"one")
    second = store.put_bytes("comments/dt=2024-01-01/a.jsonl", b"two")
    assert first.etag != second.etag


def test_keys_cannot_escape_the_root(store):
    with pytest.raises(ValueError, match="invalid object key"):
        store.put_bytes("../outside", b"x")


def test_s3_uri_and_prefix_isolation(s3_bucket):
    store = S3ObjectStore.from_uri(f"s3://{s3_bucket}/a")
    other = S3ObjectStore.from_uri(f"s3://{s3_bucket}/ab")
    store.put_bytes("k.txt", b"1")
    other.put_bytes("k.txt", b"2")
    assert [o.key for o in store.list()] == ["k.txt"]
    assert store.uri("k.txt") == f"s3://{s3_bucket}/a/k.txt"


@pytest.mark.parametrize(
    ("env", "mode", "attempts"),
    [
        ({}, "standard", S3ObjectStore.DEFAULT_MAX_ATTEMPTS),
        ({"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "9"}, "adaptive", 9),
        ({"AWS_RETRY_MODE": "legacy"}, "legacy", S3ObjectStore.DEFAULT_MAX_ATTEMPTS),
    ],
    ids=["unset", "both-set", "mode-set"],
)
def test_the_code_locations_client_follows_the_standard_retry_variables(
    env, mode, attempts, s3_env, monkeypatch
):
    """`AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` reach the client (dagster-aws's fixed them)."""
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _s3_client.cache_clear()
    try:
        store = LandingZoneResource(uri="s3://any-bucket/landing").store()
        assert store.client.meta.config.retries == {"mode": mode, "total_max_attempts": attempts}
    finally:
        _s3_client.cache_clear()
