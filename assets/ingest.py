"""Ingest assets: landing files -> `raw.comments` (+ quarantine), and gold labels.

Thin wiring: list and fetch files through the landing-zone resource, call the
pure `ingest` library, write through the warehouse resource, attach metadata.
"""

import datetime as dt
import hashlib
import json
from functools import cache

import pyarrow as pa
import yaml
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from assets.versioning import source_hash
from ingest.day import IngestResult, reduction_rules
from ingest.days import ingest_days
from ingest.gold_labels import parse_gold_files
from ingest.landing import LABELS_PREFIX
from ingest.policy import Policy
from ingest.raw_tables import RAW_COMMENTS_SCHEMA, replace_gold_labels
from orchestration import WAREHOUSE_POOL, daily_partitions, freshness_policy
from resources.policies import PoliciesResource
from resources.stores import LandingZoneResource
from resources.warehouse import WarehouseResource
from settings import PROJECT_ROOT

OWNERS = ["team:data-platform"]
DBT_SOURCES = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "sources.yml"


@cache
def _documented_columns(table: str) -> dict[str, str]:
    """Column descriptions of a raw table, from the dbt sources that document it (one place
    for them: dbt docs and the Dagster UI show the same words)."""
    doc = yaml.safe_load(DBT_SOURCES.read_text(encoding="utf-8"))
    schema, _, name = table.partition(".")
    for source in doc.get("sources", []):
        for source_table in source.get("tables", []):
            if source.get("name") == schema and source_table.get("name") == name:
                return {c["name"]: c.get("description", "").strip()
                        for c in source_table.get("columns", [])}  # fmt: skip
    return {}


def column_schema(schema: pa.Schema, table: str | None = None) -> TableSchema:
    described = _documented_columns(table) if table else {}
    return TableSchema(
        columns=[
            TableColumn(name=f.name, type=str(f.type), description=described.get(f.name))
            for f in schema
        ]
    )


def _day_metadata(result: IngestResult, policy: Policy) -> dict:
    """What one day's ingest reports: counts by outcome and the files it read."""
    source_files = [
        {"key": f.key, "size": f.size, "etag": f.etag, "records_owned": f.records_owned,
         "kept": f.kept, "quarantined": f.quarantined}
        for f in result.files
    ]  # fmt: skip
    return {
        "records_in": result.records_in,
        "kept": result.kept.num_rows,
        "quarantined": result.quarantined.num_rows,
        "quarantined_by_reason": MetadataValue.json(result.quarantined_by_reason),
        "reduction_pct": result.reduction_pct,
        "reduction_by_rule": MetadataValue.json(result.reduction_by_rule(policy)),
        "source_files": MetadataValue.json(source_files),
        "records_for_other_days": MetadataValue.json(dict(result.routed_elsewhere)),
        "data_version": result.data_version(),
        "dagster/row_count": result.kept.num_rows,
    }


@asset(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="ingest",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=source_hash("ingest", "assets/ingest.py", "policies/ingest.yml"),
    freshness_policy=freshness_policy("raw_comments"),
    description=(
        "Comments of one day from the landing zone, filtered and deduplicated by "
        "policies/ingest.yml. Kept rows go to raw.comments, every rejected record to "
        "raw.comments_quarantine with a reason: records in = kept + quarantined. "
        "A range run ingests day by day (one transaction each); each day's "
        "materialization carries that day's own figures and source files."
    ),
)
def raw_comments(
    context: AssetExecutionContext,
    landing_zone: LandingZoneResource,
    warehouse: WarehouseResource,
    policies: PoliciesResource,
) -> MaterializeResult:
    policy = policies.ingest()
    store = landing_zone.store()
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]

    def report(day: dt.date, result: IngestResult) -> None:
        # Each partition's materialization carries its own day's figures, also in range runs.
        context.add_asset_metadata(_day_metadata(result, policy), partition_key=day.isoformat())

    with warehouse.connect() as con:
        ingested = ingest_days(days, store, con, policy, on_day=report)
    totals = ingested.totals
    for key, reason in ingested.skipped_files.items():
        context.log.warning(f"landing file {key} not read: {reason}")
    context.log.info(
        f"{len(days)} day(s): {totals['records_in']} records in, {totals['kept']} kept, "
        f"{totals['quarantined']} quarantined {ingested.quarantined_by_reason}"
    )
    return MaterializeResult(
        metadata={
            "policy_version": policy.version,
            "reduction_rules_on": MetadataValue.json(reduction_rules(policy)),
            "landing_zone": store.uri(),
            "skipped_files": MetadataValue.json(ingested.skipped_files),
            "days_in_run": len(days),
            "dagster/column_schema": column_schema(RAW_COMMENTS_SCHEMA, "raw.comments"),
        },
        data_version=DataVersion(ingested.data_version),
    )


@asset(
    group_name="ingest",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=source_hash("ingest/gold_labels.py", "assets/ingest.py"),
    description=(
        "Hand-labeled sample from labels/*.csv (comment_id,label,split) in raw.gold_labels; "
        "dev for LF inspection, test for measurement only. Bad rows go to "
        "raw.gold_labels_rejects with a reason."
    ),
)
def gold_labels(
    context: AssetExecutionContext,
    landing_zone: LandingZoneResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    store = landing_zone.store()
    files = {
        info.key: store.get_bytes(info.key)
        for info in store.list(LABELS_PREFIX)
        if info.key.lower().endswith(".csv")
    }
    import labeling_functions  # the task (imported late: its LFs import the library)

    gold = parse_gold_files(files, labeling_functions.CLASSES)
    with warehouse.connect() as con:
        replace_gold_labels(con, gold.labels, gold.rejects)
    splits = gold.labels.group_by(["split", "label"]).aggregate([("comment_id", "count")])
    counts = {f"{r['split']}/{r['label']}": r["comment_id_count"] for r in splits.to_pylist()}
    if gold.rejects.num_rows:
        context.log.warning(f"{gold.rejects.num_rows} gold-label rows rejected")
    digest = json.dumps(sorted(gold.labels.to_pylist(), key=lambda r: r["comment_id"]))
    return MaterializeResult(
        metadata={
            "files": MetadataValue.json(sorted(files)),
            "labels_by_split_and_class": MetadataValue.json(dict(sorted(counts.items()))),
            "rejected_rows": gold.rejects.num_rows,
            "dagster/row_count": gold.labels.num_rows,
            "dagster/column_schema": column_schema(gold.labels.schema, "raw.gold_labels"),
        },
        data_version=DataVersion(hashlib.sha256(digest.encode()).hexdigest()[:16]),
    )
