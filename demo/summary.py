"""The closing summary of `make demo`, read back from the warehouse.

Each stage contributes lines only when its tables exist, so the summary grows
as the pipeline does.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from storage.tables import table_exists

SummaryLines = Callable[[duckdb.DuckDBPyConnection], list[str]]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return table_exists(con, f"{schema}.{table}")


def ingest_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _has_table(con, "raw", "comments"):
        return ["ingest: raw.comments does not exist yet"]
    [(partitions, kept)] = con.execute(
        "SELECT count(DISTINCT partition_date), count(*) FROM raw.comments"
    ).fetchall()
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


def transform_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _has_table(con, "main", "comment_features"):
        return []
    [(staged, featured, authors)] = con.execute(
        "SELECT (SELECT count(*) FROM main.stg_comments), "
        "(SELECT count(*) FROM main.comment_features), "
        "(SELECT count(*) FROM main.author_activity)"
    ).fetchall()
    return [f"transform: {staged} staged, {featured} with features, {authors} authors"]


def model_lines(model_store: str) -> list[str]:
    """Test metrics of the label model and the classifier, and the champion."""
    from storage.object_store import open_store
    from training.registry import ModelRegistry

    registry = ModelRegistry(open_store(model_store))
    champion = registry.champion()
    if champion is None:
        return ["models: no champion yet"]
    versions = sorted(registry.versions())
    latest = registry.card(versions[-1])
    classes = latest["classes"]
    # evaluate() scores F1 on the positive class (index 1) for two classes, macro otherwise.
    f1 = f"F1 ({classes[1]})" if len(classes) == 2 else "macro F1"
    lines = [f"models: champion {champion} ({len(versions)} registered)"]
    for name, m in latest["metrics"].items():
        lines.append(
            f"  test {name}: accuracy {m['accuracy']:.3f}, {f1} {m['f1']:.3f} on {m['rows']} rows"
        )
    lines.append(f"  model card: {registry.uri(versions[-1], 'card.md')}")
    return lines


def score_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _has_table(con, "score", "comment_scores"):
        return []
    from training.task import task

    classes = task().classes
    [(rows, days)] = con.execute(
        "SELECT count(*), count(DISTINCT partition_date) FROM score.comment_scores"
    ).fetchall()
    counts = dict(
        con.execute(
            "SELECT predicted_label, count(*) FROM score.comment_scores GROUP BY 1"
        ).fetchall()
    )
    predicted = ", ".join(f"{counts.get(i, 0)} {name}" for i, name in enumerate(classes))
    return [f"scores: {rows} comments scored over {days} days (predicted: {predicted})"]


STAGES: list[SummaryLines] = [ingest_lines, transform_lines, score_lines]


def summary(warehouse_path: str, model_store: str) -> str:
    con = duckdb.connect(warehouse_path, read_only=True)
    try:
        lines = [line for stage in STAGES for line in stage(con)]
        lines[-1:-1] = model_lines(model_store)
        lines.append(
            "see every run, asset, check and the model card (classifier) in the UI: make ui, "
            "then http://localhost:3000"
        )
        return "\n".join(lines)
    finally:
        con.close()
