"""Writing Arrow tables into the warehouse: whole tables or a window of days, atomically.

Table names here are constants of the code, never user input; values are bound or
passed as registered Arrow tables, never pasted into SQL.
"""

import datetime as dt
from typing import Any

import pyarrow as pa


def table_exists(con: Any, qualified: str) -> bool:
    schema, _, table = qualified.partition(".")
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()  # fetchall: DuckDB 2 keeps a half-read result open and blocks the connection
    return bool(rows[0][0])


def _write(con: Any, data: pa.Table, statements: list[tuple[str, list]]) -> None:
    con.register("_sluice_rows", data)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_sluice_rows")


def replace_table(con: Any, qualified: str, data: pa.Table) -> None:
    """Replace a whole table with `data`."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified.partition('.')[0]}")
    _write(con, data, [(f"CREATE OR REPLACE TABLE {qualified} AS SELECT * FROM _sluice_rows", [])])


def replace_window(
    con: Any, qualified: str, data: pa.Table, start: dt.date, end: dt.date,
    column: str = "partition_date",
) -> None:  # fmt: skip
    """Replace the rows of days [start, end) with `data` (created on first write)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified.partition('.')[0]}")
    create = [] if table_exists(con, qualified) else [
        (f"CREATE TABLE {qualified} AS SELECT * FROM _sluice_rows LIMIT 0", [])
    ]  # fmt: skip
    _write(
        con,
        data,
        [
            *create,
            (f"DELETE FROM {qualified} WHERE {column} >= ? AND {column} < ?", [start, end]),
            (f"INSERT INTO {qualified} BY NAME SELECT * FROM _sluice_rows", []),
        ],
    )
