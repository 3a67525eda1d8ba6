"""The warehouse reads the checks make, each bounded by the days it judges.

Identifiers come from code (asset wiring), never from data; they are still quoted, so a
column named like a keyword works. Values travel as parameters.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from storage.tables import quote

Connection = Any  # duckdb.DuckDBPyConnection (kept loose: the warehouse resource owns it)


def daily_counts(
    con: Connection, table: str, partition_column: str, start: dt.date, end: dt.date
) -> dict[dt.date, int]:
    """Rows per day in [start, end) (the column may be a DATE or a TIMESTAMP)."""
    rows = con.execute(
        f"select cast({quote(partition_column)} as date), count(*) from {quote(table)} "
        f"where {quote(partition_column)} >= ? and {quote(partition_column)} < ? group by 1",
        [start, end],
    ).fetchall()
    return {day: count for day, count in rows}


def first_partition(con: Connection, table: str, partition_column: str) -> dt.date | None:
    """The table's first day with rows (None for an empty table)."""
    query = f"select cast(min({quote(partition_column)}) as date) from {quote(table)}"
    return con.execute(query).fetchone()[0]


def day_frame(
    con: Connection, table: str, partition_column: str, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Every row of the days in [start, end), as pandas (what GX validates)."""
    return con.execute(
        f"select * from {quote(table)} "
        f"where {quote(partition_column)} >= ? and {quote(partition_column)} < ?",
        [start, end],
    ).df()


def whole_table(con: Connection, table: str) -> pd.DataFrame:
    return con.execute(f"select * from {quote(table)}").df()


def table_columns(con: Connection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column in table order; empty when the table does not exist."""
    schema, _, name = table.rpartition(".")
    return [
        (column, kind)
        for column, kind in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema or "main", name],
        ).fetchall()
    ]


def numeric_sample(
    con: Connection,
    table: str,
    partition_column: str,
    columns: Sequence[str],
    start: dt.date | None,
    end: dt.date,
    max_rows: int,
) -> dict[str, np.ndarray]:
    """Numeric columns of the days in [start, end) as float arrays (NULL -> NaN).

    A reproducible reservoir sample caps the rows, so a reference of three years costs what a
    reference of a month does. `start=None` means every earlier day.
    """
    where = f"{quote(partition_column)} < ?"
    params: list[Any] = [end]
    if start is not None:
        where += f" and {quote(partition_column)} >= ?"
        params.append(start)
    selected = ", ".join(f"cast({quote(c)} as double) as {quote(c)}" for c in columns)
    frame = con.execute(
        f"select * from (select {selected} from {quote(table)} where {where}) "
        f"using sample reservoir({int(max_rows)} rows) repeatable (17)",
        params,
    ).df()
    return {c: frame[c].to_numpy(dtype=float, na_value=np.nan) for c in columns}


def share_totals(
    con: Connection,
    table: str,
    partition_column: str,
    group_columns: Sequence[str],
    hits: str,
    total: str,
    start: dt.date | None,
    end: dt.date,
) -> dict[str, tuple[int, int]]:
    """Summed (hits, total) per group over the days in [start, end); groups keyed "a@b"."""
    group = " || '@' || ".join(f"cast({quote(c)} as varchar)" for c in group_columns)
    where = f"{quote(partition_column)} < ?"
    params: list[Any] = [end]
    if start is not None:
        where += f" and {quote(partition_column)} >= ?"
        params.append(start)
    rows = con.execute(
        f"select {group}, sum({quote(hits)}), sum({quote(total)}) from {quote(table)} "
        f"where {where} group by 1",
        params,
    ).fetchall()
    return {key: (int(h or 0), int(t or 0)) for key, h, t in rows}
