"""Daily tables on the lake: each day of a table is one Parquet partition that Spark reads.

Layout, under the lake's object store (a local folder here, `s3://bucket/prefix` in
production, through `storage.object_store`):

    <table>/dt=YYYY-MM-DD/part-0.parquet

Spark (and any Hive-style reader) discovers `dt` as a partition column. A day is replaced
atomically on re-run because its content is exactly one object: the local store writes it
to a temporary folder and renames it into place, S3 makes a PUT visible all at once, so a
reader sees the old day or the new one, never half of either and never both. A day that
became empty is written as an empty file with the schema, not deleted, so "ingested, no
rows" differs from "never ingested". Temporary and hidden folders (`.`/`_` prefixes) are
skipped by Spark's partition discovery. No Dagster here.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from storage.object_store import ObjectInfo, ObjectStore
from storage.tables import conform

PART_FILE = "part-0.parquet"
DAY_COLUMN = "partition_date"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)*$")
_DAY_FOLDER = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def _table(name: str) -> str:
    if not _TABLE_NAME.fullmatch(name):
        raise ValueError(f"lake table names are lower-case words joined by '_' or '/': {name!r}")
    return name


def day_prefix(table: str, day: dt.date) -> str:
    """The folder of one day of `table` (Hive style, what Spark discovers)."""
    return f"{_table(table)}/dt={day.isoformat()}/"


def day_key(table: str, day: dt.date) -> str:
    return day_prefix(table, day) + PART_FILE


def table_uri(store: ObjectStore, table: str, *, for_spark: bool = False) -> str:
    """Where Spark reads `table`: the store's URI, with Hadoop's `s3a://` scheme for S3."""
    uri = store.uri(_table(table))
    return "s3a://" + uri.removeprefix("s3://") if for_spark and uri.startswith("s3://") else uri


def write_day(
    store: ObjectStore, table: str, day: dt.date, data: pa.Table, schema: pa.Schema
) -> ObjectInfo:
    """Replace `day` of `table` with `data` (conformed to `schema`) in one atomic write.

    Every row's `partition_date`, when the schema has one, must be `day`: a row filed under
    the wrong day would be read twice or never.
    """
    rows = conform(data, schema)
    if DAY_COLUMN in schema.names and rows.num_rows:
        days = set(rows.column(DAY_COLUMN).unique().to_pylist())
        if days != {day}:
            raise ValueError(f"{table}: rows of {sorted(map(str, days))} written as day {day}")
    buf = io.BytesIO()
    pq.write_table(rows, buf, compression="zstd")
    info = store.put_bytes(day_key(table, day), buf.getvalue())
    for stale in store.list(day_prefix(table, day)):  # other files once written there
        if stale.key != info.key:
            store.delete(stale.key)
    return info


def read_day(store: ObjectStore, table: str, day: dt.date) -> pa.Table | None:
    """One day of `table` as Arrow, or None when that day was never written."""
    key = day_key(table, day)
    if store.head(key) is None:
        return None
    return pq.read_table(io.BytesIO(store.get_bytes(key)))


def read_days(
    store: ObjectStore, table: str, schema: pa.Schema, days: Sequence[dt.date] | None = None
) -> pa.Table:
    """The written `days` of `table` (None: all of them) as one Arrow table of `schema`:
    what the small downstream stages (label model, training) load into a local DuckDB when
    the engine is Spark. Read through the store, so it works on S3 as on a folder."""
    wanted = written_days(store, table) if days is None else days
    parts = [part for day in wanted if (part := read_day(store, table, day)) is not None]
    return pa.concat_tables([conform(p, schema) for p in parts]) if parts else schema.empty_table()


def written_days(store: ObjectStore, table: str) -> list[dt.date]:
    """The days of `table` that hold a partition file, in order."""
    found = set()
    for info in store.list(f"{_table(table)}/dt="):
        folder, _, name = info.key[len(table) + 1 :].partition("/")
        match = _DAY_FOLDER.fullmatch(folder)
        if match and name == PART_FILE:
            found.add(dt.date.fromisoformat(match[1]))
    return sorted(found)


def delete_day(store: ObjectStore, table: str, day: dt.date) -> None:
    """Remove `day` of `table` (a day that no longer exists, not one that became empty)."""
    for info in store.list(day_prefix(table, day)):
        store.delete(info.key)


def table_key(table: str) -> str:
    """The one file of an unpartitioned table (gold labels): replaced whole, atomically."""
    return f"{_table(table)}/{PART_FILE}"


def write_table(store: ObjectStore, table: str, data: pa.Table, schema: pa.Schema) -> ObjectInfo:
    """Replace the whole unpartitioned `table` with `data` in one atomic write."""
    buf = io.BytesIO()
    pq.write_table(conform(data, schema), buf, compression="zstd")
    return store.put_bytes(table_key(table), buf.getvalue())
