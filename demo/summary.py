"""The closing summary of `make demo`, read back from the warehouse.

Each stage contributes lines only when its tables exist, so the summary grows
as the pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

SummaryLines = Callable[[duckdb.DuckDBPyConnection], list[str]]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def ingest_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _has_table(con, "raw", "comments"):
        return ["ingest: raw.comments does not exist yet"]
    partitions, kept = con.execute(
        "SELECT count(DISTINCT partition_date), count(*) FROM raw.comments"
    ).fetchone()
    reasons = con.execute(
        "SELECT reason, count(*) FROM raw.comments_quarantine GROUP BY reason ORDER BY 2 DESC, 1"
    ).fetchall()
    quarantined = sum(n for _, n in reasons)
    lines = [
        f"ingest: {partitions} daily partitions, {kept + quarantined} records in, "
        f"{kept} kept, {quarantined} quarantined",
    ]
    lines += [f"  quarantined {reason}: {n}" for reason, n in reasons]
    if _has_table(con, "raw", "gold_labels"):
        for split, n in con.execute(
            "SELECT split, count(*) FROM raw.gold_labels GROUP BY split ORDER BY split"
        ).fetchall():
            lines.append(f"  gold labels ({split}): {n}")
    return lines


STAGES: list[SummaryLines] = [ingest_lines]


def summary(warehouse_path: str) -> str:
    con = duckdb.connect(warehouse_path, read_only=True)
    try:
        return "\n".join(line for stage in STAGES for line in stage(con))
    finally:
        con.close()
