"""Fixtures for integration tests that need a server of their own: PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import Postgres, missing_binaries, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster (run as the `postgres` user, 127.0.0.1, password
    auth) with a database for Dagster; skipped only when the binaries are absent."""
    reason = missing_binaries()
    if reason:
        pytest.skip(reason)
    with postgres_server() as server:
        yield server
