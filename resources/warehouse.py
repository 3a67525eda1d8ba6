"""The DuckDB warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource


class WarehouseResource(ConfigurableResource):
    """A DuckDB database file (`SLUICE_WAREHOUSE`, default `data/warehouse.duckdb`)."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Default configuration, as dbt-duckdb's: DuckDB lets one process hold several
        # connections to a file only when their configurations match, and an in-process run
        # keeps dbt's adapter connection open (row counts).
        con = duckdb.connect(self.path, read_only=read_only)
        try:
            yield con
        finally:
            con.close()
