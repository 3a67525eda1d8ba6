"""The one private dbt-duckdb API Sluice touches, behind an adapter.

dbt-duckdb keeps the DuckDB database it opened in a class attribute
(`DuckDBConnectionManager._ENV`) and offers no public way to close it. An in-process run
(tests, `materialize()`, the in-process executor) that fetched dbt row counts must close it:
DuckDB refuses a second connection to the same file from one process with another
configuration, so the Python assets after the dbt step could not open the warehouse.
`tests/unit/test_dbt_duckdb_adapter.py` fails loudly if an upgrade moves it.
"""

from __future__ import annotations

PRIVATE_ENV_ATTRIBUTE = "_ENV"


def release_in_process_duckdb() -> None:
    """Close the connections and the database dbt-duckdb holds in this process."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = getattr(DuckDBConnectionManager, PRIVATE_ENV_ATTRIBUTE)
    DuckDBConnectionManager.close_all_connections()
    if env is not None:
        env.close()
