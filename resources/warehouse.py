"""The DuckDB warehouse as a Dagster resource."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource, get_dagster_logger

from settings import Settings

# DuckDB 1.x-2.x: 'Could not set lock on file "<path>": Conflicting lock is held in <exe> (PID n)'
_LOCK_ERROR = "Could not set lock on file"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")
# A holder's command line may carry a credential (`--password=...`, `"token": "..."`).
_SECRET_ARGUMENT = re.compile(
    r"""(?i)((?:key|secret|token|passw(?:or)?d|credential|auth)[\w-]*["']?\s*[=:\s]\s*)\S+"""
)
_MAX_COMMAND_CHARS = 300


class WarehouseLockedError(TimeoutError):
    """Another process held the warehouse's write lock for longer than the resource waits."""


def _lock_holder(error_message: str) -> str:
    """Who holds the lock, from DuckDB's message: the PID and, when `/proc` shows it, the
    holder's command line (credential-looking arguments masked), else its executable."""
    match = _HOLDER.search(error_message)
    if match is None:
        return "another process"
    try:
        raw = Path(f"/proc/{match['pid']}/cmdline").read_bytes()
        command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    except OSError:  # not Linux, gone already, or another user's process
        command = match["exe"]
    command = _SECRET_ARGUMENT.sub(r"\1***", command)[:_MAX_COMMAND_CHARS]
    return f"PID {match['pid']} ({command})"


class WarehouseResource(ConfigurableResource):
    """A DuckDB database file (`SLUICE_WAREHOUSE`, default `data/warehouse.duckdb`).

    DuckDB lets one process at a time open the file for writing. While another process (a
    second Dagster instance, a standalone `dbt build`) holds it, `connect` waits, logging who
    holds it, for up to `lock_timeout_seconds` (unset: `SLUICE_WAREHOUSE_LOCK_TIMEOUT_SECONDS`),
    then raises `WarehouseLockedError` naming the holder. Runs within one instance do not
    wait here: they share the `duckdb_warehouse` pool.
    """

    path: str
    lock_timeout_seconds: float | None = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def wait_until_free(self) -> None:
        """Wait (bounded, as `connect`) until no other process holds the file's lock: a step
        that hands the file to another process (dbt) calls it first, so that process does not
        fail at once on a lock another instance or a standalone `dbt build` still holds."""
        with self.connect():
            pass

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection, once no other process holds the file's lock (bounded wait)."""
        timeout = self.lock_timeout_seconds
        if timeout is None:
            timeout = Settings.from_env().warehouse_lock_timeout_seconds
        started, delay, reported = time.monotonic(), 0.05, None
        while True:
            try:
                # Default configuration, as dbt-duckdb's: DuckDB lets one process hold several
                # connections to a file only when their configurations match, and an in-process
                # run keeps dbt's adapter connection open (row counts).
                con = duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as err:
                if _LOCK_ERROR not in str(err):
                    raise
                holder, waited = _lock_holder(str(err)), time.monotonic() - started
                if waited >= timeout:
                    raise WarehouseLockedError(
                        f"the warehouse {self.path} is locked by {holder}; gave up after "
                        f"{waited:.0f} s (SLUICE_WAREHOUSE_LOCK_TIMEOUT_SECONDS={timeout:g}). "
                        "Let that process finish or stop it, or give this one another file."
                    ) from err
                if holder != reported:
                    get_dagster_logger().warning(
                        f"the warehouse {self.path} is locked by {holder}; "
                        f"waiting up to {timeout:g} s for it"
                    )
                    reported = holder
                time.sleep(min(delay, timeout - waited))
                delay = min(delay * 2, 1.0)
            else:
                if reported is not None:
                    waited = time.monotonic() - started
                    get_dagster_logger().info(
                        f"the warehouse {self.path} was released after {waited:.1f} s"
                    )
                return con
