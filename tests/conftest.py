"""Shared fixtures: real services only (moto's S3 server over HTTP, DuckDB files).

Every test is marked by the folder it lives in, which says what it needs:

- `tests/unit` -> `unit`: pure code in this process; no service, no subprocess, no network.
  `make test-fast` runs these (`pytest tests/unit -m unit`).
- `tests/integration` -> `integration`: a real service (dbt, DuckDB files, moto's S3 server,
  a Dagster instance).
- `tests/e2e` -> `e2e`: `dagster dev` (webserver and daemon) and a headless Chromium.

A test outside these folders, or marked with another folder's kind, fails the collection.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings import PROJECT_ROOT

# The suite never reads a data folder's `sluice.env` (`make demo` writes one into data/): a
# developer's demo must not narrow the partitions the tests see.
os.environ["SLUICE_ENV_FILE"] = ""

SHARED_YOUTUBE = PROJECT_ROOT.parent / "shared" / "datasets" / "youtube_spam"
TESTS_DIR = Path(__file__).resolve().parent
KINDS = ("unit", "integration", "e2e")  # folder under tests/ == marker


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test `unit`, `integration` or `e2e` by its folder (see the module docstring)."""
    misfiled = []
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS_DIR).parts
        except ValueError:  # a file outside tests/ passed by hand: not this suite's to judge
            continue
        kind = parts[0] if len(parts) > 1 else None
        if kind not in KINDS:
            misfiled.append(f"{item.nodeid}: not in tests/{{{','.join(KINDS)}}}/")
            continue
        others = sorted({m.name for m in item.iter_markers() if m.name in KINDS} - {kind})
        if others:
            misfiled.append(f"{item.nodeid}: marked {others} but filed in tests/{kind}/")
        item.add_marker(getattr(pytest.mark, kind))
    if misfiled:
        raise pytest.UsageError(
            "file each test in the folder that says what it needs "
            "(unit: no service; integration: a real service; e2e: dagster dev and a browser):\n"
            + "\n".join(misfiled)
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1: boto3 talks real HTTP to it, as to AWS."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3's standard configuration at the moto server (dummy credentials)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


@pytest.fixture
def s3_bucket(s3_env: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test."""
    import boto3

    name = "sluice-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def youtube_folder() -> Path:
    if not SHARED_YOUTUBE.is_dir():
        pytest.skip(f"the YouTube dataset is not at {SHARED_YOUTUBE} (it lives in ../shared)")
    return SHARED_YOUTUBE
