"""The raw warehouse tables that ingest writes, and the one way to write them.

`raw.comments` holds what passed the ingest policy, `raw.comments_quarantine`
every record that did not, with a reason. A partition is replaced inside one
transaction, so re-running a day never appends twice and a reader never sees a
half-written day. Values travel as Arrow tables, never pasted into SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from storage.tables import transaction

RAW_COMMENTS_SCHEMA = pa.schema(
    [
        ("comment_id", pa.string()),
        ("author", pa.string()),
        ("text", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("source", pa.string()),
        ("partition_date", pa.date32()),
        ("landed_date", pa.date32()),
        ("source_file", pa.string()),
        ("source_record", pa.int64()),
        ("source_line", pa.int64()),
        ("policy_version", pa.string()),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("partition_date", pa.date32()),
        ("landed_date", pa.date32()),
        ("source_file", pa.string()),
        ("source_record", pa.int64()),
        ("source_line", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("comment_id", pa.string()),
        ("author", pa.string()),
        ("text", pa.string()),
        ("raw_record", pa.string()),
        ("policy_version", pa.string()),
    ]
)

_DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.date32(): "DATE",
    pa.int64(): "BIGINT",
}


def _ddl(table: str, schema: pa.Schema, not_null: set[str]) -> str:
    cols = ",\n  ".join(
        f"{f.name} {_DUCK_TYPES[f.type]}{' NOT NULL' if f.name in not_null else ''}" for f in schema
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


def create_raw_tables(con: Any) -> None:
    """Create the `raw` schema and its tables if they are missing (idempotent)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        _ddl(
            "raw.comments",
            RAW_COMMENTS_SCHEMA,
            {"comment_id", "text", "partition_date", "landed_date", "source_file"},
        )
    )
    con.execute(
        _ddl(
            "raw.comments_quarantine",
            QUARANTINE_SCHEMA,
            {"partition_date", "source_file", "reason"},
        )
    )


def replace_partition(con: Any, day: dt.date, kept: pa.Table, quarantined: pa.Table) -> None:
    """Atomically replace everything `day`'s ingest owns in both raw tables."""
    create_raw_tables(con)
    views = {
        "_sluice_kept": kept.select(RAW_COMMENTS_SCHEMA.names).cast(RAW_COMMENTS_SCHEMA),
        "_sluice_quarantined": quarantined.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA),
    }
    with transaction(con, views):
        con.execute("DELETE FROM raw.comments WHERE partition_date = ?", [day])
        con.execute("DELETE FROM raw.comments_quarantine WHERE partition_date = ?", [day])
        con.execute("INSERT INTO raw.comments SELECT * FROM _sluice_kept")
        con.execute("INSERT INTO raw.comments_quarantine SELECT * FROM _sluice_quarantined")


def replace_gold_labels(con: Any, labels: pa.Table, rejects: pa.Table) -> None:
    """Replace the gold-label tables whole, in one transaction."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    with transaction(con, {"_sluice_gold": labels, "_sluice_rejects": rejects}):
        con.execute("CREATE OR REPLACE TABLE raw.gold_labels AS SELECT * FROM _sluice_gold")
        con.execute(
            "CREATE OR REPLACE TABLE raw.gold_labels_rejects AS SELECT * FROM _sluice_rejects"
        )
