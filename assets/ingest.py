"""Ingest assets: landing files -> `raw.comments` (+ quarantine), and gold labels.

Thin wiring: list and fetch files through the landing-zone resource, call the
pure `ingest` library, write through the warehouse resource, attach metadata.
"""


import datetime as dt
import hashlib
import json

import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
)

from assets.partitions import daily_partitions
from assets.versioning import source_hash
from ingest.day import LandingFile, ingest_day, landing_days_for
from ingest.gold_labels import parse_gold_files
from ingest.landing import LABELS_PREFIX, comments_prefix
from ingest.policy import Policy
from ingest.raw_tables import replace_gold_labels, replace_partition
from resources.landing_zone import LandingZoneResource
from resources.settings import Settings
from resources.warehouse import WAREHOUSE_POOL, WarehouseResource

OWNERS = ["team:data-platform"]


def column_schema(schema: pa.Schema) -> TableSchema:
    return TableSchema(columns=[TableColumn(name=f.name, type=str(f.type)) for f in schema])


@asset(
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"python", "duckdb"},
    owners=OWNERS,
    pool=WAREHOUSE_POOL,
    code_version=source_hash("ingest", "assets/ingest.py", "policies/ingest.yml"),
    description=(
        "Comments of one day from the landing zone, filtered and deduplicated by "
        "policies/ingest.yml. Kept rows go to raw.comments, every rejected record to "
        "raw.comments_quarantine with a reason: records in = kept + quarantined."
    ),
)
def raw_comments(
    context: AssetExecutionContext,
    landing_zone: LandingZoneResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    day = dt.date.fromisoformat(context.partition_key)
    policy = Policy.load(Settings.from_env().policy_file)
    store = landing_zone.store()
    files = []
    for landed in landing_days_for(day, policy):
        for info in store.list(comments_prefix(landed)):
            files.append(LandingFile(info.key, landed, store.get_bytes(info.key), info.etag))
    result = ingest_day(day, files, policy)
    with warehouse.connect() as con:
        replace_partition(con, day, result.kept, result.quarantined)
    by_reason = result.quarantined_by_reason
    context.log.info(
        f"{day}: {result.records_in} records in, {result.kept.num_rows} kept, "
        f"{result.quarantined.num_rows} quarantined {by_reason} from {len(files)} files"
    )
    source_files = [
        {"key": f.key, "size": f.size, "etag": f.etag, "records_owned": f.records_owned,
         "kept": f.kept, "quarantined": f.quarantined}
        for f in result.files
    ]  # fmt: skip
    return MaterializeResult(
        metadata={
            "records_in": result.records_in,
            "kept": result.kept.num_rows,
            "quarantined": result.quarantined.num_rows,
            "quarantined_by_reason": MetadataValue.json(by_reason),
            "reduction_pct": result.reduction_pct,
            "source_files": MetadataValue.json(source_files),
            "source_file_count": len(files),
            "records_for_other_days": MetadataValue.json(dict(result.routed_elsewhere)),
            "policy_version": policy.version,
            "landing_zone": store.uri(),
            "dagster/row_count": result.kept.num_rows,
            "dagster/column_schema": column_schema(result.kept.schema),
        },
        data_version=DataVersion(result.data_version()),
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
    gold = parse_gold_files(files)
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
            "dagster/column_schema": column_schema(gold.labels.schema),
        },
        data_version=DataVersion(hashlib.sha256(digest.encode()).hexdigest()[:16]),
    )
