"""The warehouse's write lock held by another process: `connect` waits for it, bounded, and
names the holder when it gives up."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from resources.warehouse import WarehouseLockedError, WarehouseResource

# Another process's write connection, closed after argv[2] seconds. The dummy credential in
# its arguments must never reach a message.
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
print("released", flush=True)
time.sleep(60)
"""
DUMMY_TOKEN = "not-a-real-token-0123"


@pytest.fixture
def hold_lock(tmp_path: Path) -> Iterator[Callable[[float], subprocess.Popen[str]]]:
    """Start a process that holds the warehouse file for so many seconds; kill it afterwards."""
    started: list[subprocess.Popen[str]] = []

    def hold(seconds: float) -> subprocess.Popen[str]:
        args = [str(tmp_path / "w.duckdb"), str(seconds), f"--token={DUMMY_TOKEN}"]
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, *args], stdout=subprocess.PIPE, text=True
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait(timeout=10)


def test_connect_waits_for_a_lock_that_is_released(hold_lock, tmp_path, caplog):
    holder = hold_lock(3)
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"), lock_timeout_seconds=30)
    started = time.monotonic()
    with caplog.at_level(logging.INFO), warehouse.connect() as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert 2 < time.monotonic() - started < 15
    waiting = [r.getMessage() for r in caplog.records if "waiting up to 30 s" in r.getMessage()]
    assert len(waiting) == 1 and f"PID {holder.pid}" in waiting[0]
    assert any("was released after" in r.getMessage() for r in caplog.records)
    assert DUMMY_TOKEN not in caplog.text


@pytest.mark.parametrize("read_only", [False, True])
def test_a_lock_never_released_fails_naming_the_holder(read_only, hold_lock, tmp_path, monkeypatch):
    holder = hold_lock(600)
    monkeypatch.setenv("SLUICE_WAREHOUSE_LOCK_TIMEOUT_SECONDS", "2")
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"))
    started = time.monotonic()
    with pytest.raises(WarehouseLockedError) as raised, warehouse.connect(read_only=read_only):
        pass
    assert 2 <= time.monotonic() - started < 5
    message = str(raised.value)
    assert f"locked by PID {holder.pid} ({sys.executable} -c " in message
    assert "--token=***" in message and DUMMY_TOKEN not in message
    assert "SLUICE_WAREHOUSE_LOCK_TIMEOUT_SECONDS=2" in message


def test_a_dbt_step_waits_for_a_lock_held_by_another_process(
    hold_lock, tmp_path, monkeypatch, caplog
):
    """dbt opens the file itself and would fail at once: the step waits for the lock first."""
    from dagster import DagsterInstance, materialize

    from assets.transform import dbt_daily_models
    from resources.dbt import dbt_resource
    from tests.integration.test_dbt_project import write_fixture_warehouse

    warehouse = tmp_path / "w.duckdb"
    write_fixture_warehouse(warehouse)
    monkeypatch.setenv("SLUICE_WAREHOUSE", str(warehouse))
    holder = hold_lock(15)  # longer than dbt takes to start and open the file
    with caplog.at_level(logging.INFO):
        result = materialize(
        [dbt_daily_models],
            resources={"dbt": dbt_resource(), "warehouse": WarehouseResource(
                path=str(warehouse), lock_timeout_seconds=60)},
            instance=DagsterInstance.ephemeral(),
            partition_key="2015-05-01",
            raise_on_error=False,
        )  # fmt: skip
    assert result.success  # without the wait, dbt fails at once on the held lock
    waited = [r.getMessage() for r in caplog.records if "waiting up to 60 s" in r.getMessage()]
    assert len(waited) == 1 and f"PID {holder.pid}" in waited[0]
