"""A tiny object-store interface with a local-folder and an S3 implementation.

The landing zone, the model store and the score exports all speak this
interface, so the same code runs on a laptop folder and on a bucket. Keys are
always `/`-separated and relative to the store's root. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing tells about one object; `etag` changes when the content does."""

    key: str
    size: int
    etag: str
    last_modified: dt.datetime


class ObjectStore(Protocol):
    """Operations Sluice needs from a store of immutable-ish objects."""

    def uri(self, key: str = "") -> str: ...

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo: ...

    def get_bytes(self, key: str) -> bytes: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]: ...

    def skipped(self, prefix: str = "") -> list[SkippedObject]: ...

    def delete(self, key: str) -> None: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}: use a relative path without '..'")
    return key


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SkippedObject:
    """A file in a store's folder that is not served as an object, and why."""

    key: str
    reason: str


# In-flight writes go here, never beside the objects, so a listing needs no name rules
# (a file named `.x.jsonl` is an object like any other, as the same key on S3 would be).
_TMP_DIR = ".sluice-tmp"


class LocalObjectStore:
    """Objects as files below `root`; the ETag is the MD5 of the content, as S3's is.

    Links are followed only while they stay below the root: a file or folder linked from
    elsewhere is never read, and listings report it (`skipped`) instead of hiding it.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def uri(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)

    def _inside(self, path: Path) -> bool:
        real, root = path.resolve(), self.root.resolve()
        return real == root or root in real.parents

    def _path(self, key: str) -> Path:
        path = self.root / _check_key(key)
        if not self._inside(path):
            raise PermissionError(f"{self.uri(key)} links outside the store {self.root}")
        return path

    def _info(self, key: str, path: Path) -> ObjectInfo:
        stat = path.stat()
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=_md5(path),
            last_modified=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
        )

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir = self.root / _TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"{os.getpid()}-{threading.get_ident()}-{path.name}"
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic (same file system): a reader never sees half a file
        return self._info(key, path)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def head(self, key: str) -> ObjectInfo | None:
        path = self.root / _check_key(key)
        return self._info(key, path) if path.is_file() and self._inside(path) else None

    def _loops(self, folder: Path) -> bool:
        """Whether `folder` is a link back to one of the folders it is reached through."""
        real = folder.resolve()
        ancestors = folder.relative_to(self.root).parents
        return any((self.root / a).resolve() == real for a in ancestors)

    def _walk(self, prefix: str) -> Iterator[tuple[str, str | None]]:
        """(key, None) for each object under `prefix`, (key, reason) for each skipped file."""
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirs, files in os.walk(base, followlinks=True):
            here = Path(dirpath)
            rel = here.relative_to(self.root).as_posix()
            if rel == _TMP_DIR or (not rel.startswith(prefix[: len(rel)]) and rel != "."):
                dirs.clear()
                continue
            if not self._inside(here):
                dirs.clear()
                yield rel, "a linked folder that points outside the landing root"
                continue
            if self._loops(here):
                dirs.clear()
                continue
            for name in files:
                key = (here / name).relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                path = here / name
                if not path.exists():
                    yield key, "a broken link"
                elif not self._inside(path):
                    yield key, "a link to a file outside the landing root"
                else:
                    yield key, None

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects whose key starts with `prefix`, in key order, after `start_after`."""
        keys = sorted(
            key
            for key, skipped in self._walk(prefix)
            if skipped is None and (start_after is None or key > start_after)
        )
        for key in keys:
            yield self._info(key, self.root / key)

    def skipped(self, prefix: str = "") -> list[SkippedObject]:
        """Files under `prefix` that `list` does not serve, with the reason."""
        return sorted(
            SkippedObject(key, reason) for key, reason in self._walk(prefix) if reason is not None
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3ObjectStore:
    """Objects below `s3://bucket/prefix`, through a boto3 S3 client.

    The client comes from the caller (`resources/stores.py` in the code location) or from
    :meth:`default_client`: boto3's standard credential chain, `AWS_ENDPOINT_URL` honoured, so
    no secret ever passes through here.

    Faults: botocore retries every request (throttling, 5xx, a connection refused, closed or
    timed out, a listing page cut short) as the client's retry configuration says. A GetObject
    body is streamed after its request returned, out of botocore's reach, so `get_bytes` reads
    a body cut short again, within the same number of attempts: one setting governs both. A
    fault that outlasts them raises `ConnectionError` naming the object and the cause.
    """

    DEFAULT_MAX_ATTEMPTS = 5

    def __init__(self, bucket: str, prefix: str = "", client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else self.default_client()

    @classmethod
    def default_client(cls) -> Any:
        """A boto3 S3 client whose retries follow the standard AWS settings.

        `AWS_RETRY_MODE` and `AWS_MAX_ATTEMPTS` (or `retry_mode` and `max_attempts` in the AWS
        profile) rather than Sluice settings: users of every AWS tool know them, and botocore
        reads them itself. Unset, the mode is botocore's (standard) and the attempts are
        `DEFAULT_MAX_ATTEMPTS`, so that throttling and a flaky endpoint are ridden out.
        """
        import boto3
        import botocore.session
        from botocore.config import Config

        session = botocore.session.get_session()
        config = None
        if session.get_config_variable("max_attempts") is None:
            config = Config(retries={"total_max_attempts": cls.DEFAULT_MAX_ATTEMPTS})
        return boto3.session.Session(botocore_session=session).client("s3", config=config)

    @classmethod
    def from_uri(cls, uri: str, client: Any | None = None) -> S3ObjectStore:
        rest = uri.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        return cls(bucket, prefix, client)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.uri()!r})"

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def uri(self, key: str = "") -> str:
        path = self._full(key) if key else self.prefix
        return f"s3://{self.bucket}/{path}".rstrip("/")

    def _attempts(self) -> int:
        """Attempts per request in the client's retry configuration (botocore's defaults when
        it names none: 5 in legacy mode, 3 in the others)."""
        retries = self.client.meta.config.retries or {}
        return retries.get("total_max_attempts") or (5 if retries.get("mode") == "legacy" else 3)

    @staticmethod
    def _transient(err: Exception) -> bool:
        """Whether `err` is the connection's or the server's fault, which a retry can cure."""
        from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
        from botocore.exceptions import ConnectionError as EndpointError

        if isinstance(err, ClientError):
            return err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        return isinstance(err, EndpointError | HTTPClientError | IncompleteReadError)

    @contextmanager
    def _naming(self, operation: str, key: str) -> Iterator[None]:
        """Re-raise a transient fault that outlasted the retries with the object and the cause
        (botocore's own message names neither the bucket nor the key)."""
        try:
            yield
        except Exception as err:
            if not self._transient(err):
                raise
            raise ConnectionError(
                f"{operation} {self.uri(key)} failed after {self._attempts()} attempts: "
                f"{type(err).__name__}: {err}"
            ) from err

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        full = self._full(_check_key(key))
        with self._naming("PutObject", key):
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data)
        info = self.head(key)
        assert info is not None, f"object {full} vanished right after it was written"
        return info

    def get_bytes(self, key: str) -> bytes:
        """The object's content; a body cut short is read again, backing off as botocore does,
        within the client's attempts."""
        full = self._full(_check_key(key))
        attempts, attempt = self._attempts(), 1
        while True:
            with self._naming("GetObject", key):
                body = self.client.get_object(Bucket=self.bucket, Key=full)["Body"]
                try:
                    return body.read()
                except Exception as err:
                    if attempt == attempts or not self._transient(err):
                        raise
            # As botocore's standard mode backs off a non-throttling error.
            time.sleep(random.random() * min(0.05 * 2 ** (attempt - 1), 20.0))
            attempt += 1

    def head(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            with self._naming("HeadObject", key):
                obj = self.client.head_object(Bucket=self.bucket, Key=self._full(_check_key(key)))
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(key, obj["ContentLength"], obj["ETag"].strip('"'), obj["LastModified"])

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]:
        """One paginated, prefix-scoped listing; `start_after` skips what was already seen."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._full(prefix)}
        if start_after:
            kwargs["StartAfter"] = self._full(start_after)
        paginator = self.client.get_paginator("list_objects_v2")
        with self._naming("ListObjectsV2", prefix):
            for page in paginator.paginate(**kwargs):
                for obj in page.get("Contents", []):
                    yield ObjectInfo(
                        key=self._rel(obj["Key"]),
                        size=obj["Size"],
                        etag=obj["ETag"].strip('"'),
                        last_modified=obj["LastModified"],
                    )

    def skipped(self, prefix: str = "") -> list[SkippedObject]:
        """Nothing: every key of a bucket is an object (S3 has no links)."""
        return []

    def delete(self, key: str) -> None:
        with self._naming("DeleteObject", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._full(_check_key(key)))


def open_store(uri: str, s3_client: Any | None = None) -> ObjectStore:
    """A store for a local path or an `s3://bucket/prefix` URI."""
    if uri.startswith("s3://"):
        return S3ObjectStore.from_uri(uri, s3_client)
    return LocalObjectStore(uri)
