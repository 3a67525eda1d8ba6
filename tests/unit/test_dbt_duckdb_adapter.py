"""The private dbt-duckdb attribute `resources/dbt_duckdb.py` relies on must still exist.

If this fails after upgrading dbt-duckdb, find the new home of the in-process DuckDB
environment and update the adapter (or drop it, if a public close API appeared).
"""

import inspect

from resources.dbt_duckdb import PRIVATE_ENV_ATTRIBUTE


def test_dbt_duckdb_still_keeps_its_environment_where_the_adapter_looks():
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    assert hasattr(DuckDBConnectionManager, PRIVATE_ENV_ATTRIBUTE), (
        "dbt-duckdb no longer has DuckDBConnectionManager._ENV: update resources/dbt_duckdb.py"
    )
    assert inspect.ismethod(DuckDBConnectionManager.close_all_connections)
    env = getattr(DuckDBConnectionManager, PRIVATE_ENV_ATTRIBUTE)
    assert env is None or callable(getattr(env, "close", None))
