"""Writing Arrow tables into the DuckDB warehouse: whole tables or a window of days, atomically.

The one place that quotes SQL identifiers and runs statements in a transaction. Table and
column names are constants of the code, never user input, and are still quoted; values are
bound as parameters or passed as registered Arrow tables, never pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

Connection = Any  # duckdb.DuckDBPyConnection, kept loose: callers own their connections


def quote(identifier: str) -> str:
    """`schema.table` or `column` as quoted SQL identifiers."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in identifier.split("."))


@contextmanager
def transaction(con: Connection, views: Mapping[str, pa.Table] | None = None) -> Iterator[None]:
    """Run the block all-or-nothing, with `views` registered as Arrow-backed views meanwhile."""
    views = dict(views or {})
    for name, table in views.items():
        con.register(name, table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            yield
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for name in views:
            con.unregister(name)


def table_exists(con: Connection, qualified: str) -> bool:
    schema, _, table = qualified.partition(".")
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()  # fetchall: DuckDB 2 keeps a half-read result open and blocks the connection
    return bool(rows[0][0])


def _create_schema(con: Connection, qualified: str) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(qualified.partition('.')[0])}")


def replace_table(con: Connection, qualified: str, data: pa.Table) -> None:
    """Replace a whole table with `data`."""
    _create_schema(con, qualified)
    with transaction(con, {"_sluice_rows": data}):
        con.execute(f"CREATE OR REPLACE TABLE {quote(qualified)} AS SELECT * FROM _sluice_rows")


def conform(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """`data` with exactly the declared columns and types.

    An empty pandas frame carries no types (object columns become NULL or DOUBLE), so an
    empty day is written from the declared schema, never from what the frame happens to say.
    """
    if data.num_rows == 0:
        return schema.empty_table()
    return data.select(schema.names).cast(schema)


def _column_types(con: Connection, qualified: str) -> dict[str, str]:
    schema, _, table = qualified.partition(".")
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return dict(rows)


def _repair_untyped_columns(con: Connection, qualified: str) -> None:
    """Give columns created with DuckDB's NULL type (by an empty first write, before tables
    were created from their schema) the declared type, so later days can be inserted."""
    existing = _column_types(con, qualified)
    declared = {
        row[0]: row[1] for row in con.execute("DESCRIBE SELECT * FROM _sluice_empty").fetchall()
    }
    for name, kind in existing.items():
        if kind.strip('"') == "NULL" and name in declared:
            con.execute(
                f"ALTER TABLE {quote(qualified)} ALTER COLUMN {quote(name)} TYPE {declared[name]}"
            )


def replace_window(
    con: Connection,
    qualified: str,
    data: pa.Table,
    start: dt.date,
    end: dt.date,
    schema: pa.Schema,
    column: str = "partition_date",
) -> None:
    """Replace the rows of days [start, end) with `data`, a table of the declared `schema`
    (created from the schema on first write, so an empty first day is a normal day)."""
    _create_schema(con, qualified)
    target, day = quote(qualified), quote(column)
    rows = conform(data, schema)
    with transaction(con, {"_sluice_rows": rows, "_sluice_empty": schema.empty_table()}):
        if not table_exists(con, qualified):
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM _sluice_empty")
        else:
            _repair_untyped_columns(con, qualified)
        con.execute(f"DELETE FROM {target} WHERE {day} >= ? AND {day} < ?", [start, end])
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _sluice_rows")
