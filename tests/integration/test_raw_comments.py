"""`raw_comments` through Dagster on real DuckDB files, local and S3 landing zones."""

import csv
import datetime as dt
import gzip
import json
from collections import Counter

import dagster as dg
import duckdb
import pytest

from assets.ingest import gold_labels, raw_comments
from ingest.days import ingest_days
from ingest.landing import COMMENTS_PREFIX, parse_landing_key
from ingest.policy import Policy
from resources.policies import PoliciesResource
from resources.stores import LandingZoneResource
from resources.warehouse import WarehouseResource
from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore

RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2024-05-01",
    "dagster/asset_partition_range_end": "2024-05-02",
}


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def land_two_days(store) -> None:
    day1 = [{"comment_id": f"a{i}", "text": f"comment {i}", "author": f"u{i % 3}",
             "published_at": f"2024-05-01T0{i}:00:00"} for i in range(5)]  # fmt: skip
    day2 = [{"comment_id": f"b{i}", "text": f"other {i}", "author": "u9"} for i in range(3)]
    day2.append({"comment_id": "a1", "text": "comment 1", "author": "u1"})  # duplicate id
    store.put_bytes("comments/dt=2024-05-01/part-0.jsonl", jsonl(day1[:3]))
    store.put_bytes("comments/dt=2024-05-01/part-1.jsonl.gz", gzip.compress(jsonl(day1[3:])))
    store.put_bytes("comments/dt=2024-05-02/export.csv", b"comment_id,text\nc1,hi\nc2,\n")
    store.put_bytes("comments/dt=2024-05-02/more.jsonl", jsonl(day2) + b"{oops\n")
    store.put_bytes(
        "labels/gold.csv",
        b"comment_id,label,split\na0,0,dev\nb1,1,test\nzz,x,dev\nc7,7,test\nd2,spam,dev\n",
    )


def run(resources, tags=RANGE_TAGS, assets=(raw_comments,)):
    instance = dg.DagsterInstance.ephemeral()
    resources = {"policies": PoliciesResource.from_settings(), **resources}
    result = dg.materialize(list(assets), resources=resources, instance=instance, tags=tags)
    assert result.success
    return instance


def tables(path: str) -> tuple[list, list]:
    con = duckdb.connect(path, read_only=True)
    try:
        kept = con.execute("SELECT * FROM raw.comments ORDER BY ALL").fetchall()
        quarantined = con.execute("SELECT * FROM raw.comments_quarantine ORDER BY ALL").fetchall()
    finally:
        con.close()
    return kept, quarantined


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_two_partitions_then_rerun_gives_identical_tables(backend, tmp_path, request):
    if backend == "s3":
        uri = f"s3://{request.getfixturevalue('s3_bucket')}/landing"
    else:
        uri = str(tmp_path / "landing")
    zone = LandingZoneResource(uri=uri)
    land_two_days(zone.store())
    warehouse = str(tmp_path / "warehouse.duckdb")
    resources = {"landing_zone": zone, "warehouse": WarehouseResource(path=warehouse)}

    instance = run(resources)
    first = tables(warehouse)
    run(resources)
    assert tables(warehouse) == first

    kept, quarantined = first
    assert len(kept) == 5 + 3 + 1  # a0..a4, b0..b2, c1
    reasons = Counter(row[5] for row in quarantined)
    assert reasons == {"duplicate_comment_id": 1, "missing_field": 1, "malformed_json": 1}
    events = instance.fetch_materializations(dg.AssetKey("raw_comments"), limit=2).records
    per_day = {e.partition_key: e.asset_materialization.metadata for e in events}
    assert set(per_day) == {"2024-05-01", "2024-05-02"}
    # Each partition of the range run carries its own day's figures, not the range's.
    with duckdb.connect(warehouse, read_only=True) as con:
        kept_by_day = dict(con.execute(
            "SELECT CAST(partition_date AS VARCHAR), count(*) FROM raw.comments GROUP BY 1"
        ).fetchall())  # fmt: skip
    for day, meta in per_day.items():
        assert meta["kept"].value == meta["dagster/row_count"].value == kept_by_day[day]
    assert per_day["2024-05-01"]["records_in"].value == 5
    assert per_day["2024-05-02"]["quarantined"].value == 3
    files = per_day["2024-05-01"]["source_files"].value
    assert {f["key"] for f in files if f["records_owned"]} == {
        "comments/dt=2024-05-01/part-0.jsonl",
        "comments/dt=2024-05-01/part-1.jsonl.gz",
    }
    assert all(f["etag"] and f["size"] > 0 for f in files)


def test_single_day_run_reports_that_day_and_a_content_version(tmp_path):
    zone = LandingZoneResource(uri=str(tmp_path / "landing"))
    land_two_days(zone.store())
    resources = {
        "landing_zone": zone,
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
    }
    instance = run(resources, tags={"dagster/partition": "2024-05-02"})
    record = instance.fetch_materializations(dg.AssetKey("raw_comments"), limit=1).records[0]
    meta = record.asset_materialization.metadata
    # Alone, the day still knows a1 landed first on 2024-05-01: duplicates are decided from
    # what landed, not from what an earlier run kept, so run order cannot change the result.
    assert meta["quarantined_by_reason"].value == {
        "duplicate_comment_id": 1, "malformed_json": 1, "missing_field": 1
    }  # fmt: skip
    assert meta["records_in"].value == 7 and meta["kept"].value == 4
    # The reduction each rule the policy turns on made that day, zero included.
    assert meta["reduction_by_rule"].value == {
        "duplicate_comment_id": {"rows": 1, "pct": 14.29},
        "duplicate_author_text": {"rows": 0, "pct": 0.0},
        "near_duplicate": {"rows": 0, "pct": 0.0},
    }
    version = record.asset_materialization.tags["dagster/data_version"]
    run(resources, tags={"dagster/partition": "2024-05-02"})
    again = instance.fetch_materializations(dg.AssetKey("raw_comments"), limit=1).records[0]
    assert again.asset_materialization.tags["dagster/data_version"] == version


def test_a_link_out_of_the_landing_root_is_not_read_and_is_reported(tmp_path):
    zone = LandingZoneResource(uri=str(tmp_path / "landing"))
    land_two_days(zone.store())
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"comment_id": "stolen", "text": "private"}\n')
    link = tmp_path / "landing" / "comments" / "dt=2024-05-02" / "evil.jsonl"
    link.symlink_to(secret)
    warehouse = str(tmp_path / "w.duckdb")
    resources = {"landing_zone": zone, "warehouse": WarehouseResource(path=warehouse)}
    instance = run(resources, tags={"dagster/partition": "2024-05-02"})
    record = instance.fetch_materializations(dg.AssetKey("raw_comments"), limit=1).records[0]
    assert record.asset_materialization.metadata["skipped_files"].value == {
        "comments/dt=2024-05-02/evil.jsonl": "a link to a file outside the landing root"
    }
    with duckdb.connect(warehouse, read_only=True) as con:
        leaked = con.execute(
            "SELECT (SELECT count(*) FROM raw.comments_quarantine WHERE raw_record LIKE ?)"
            " + (SELECT count(*) FROM raw.comments WHERE text = ?)",
            ["%private%", "private"],
        ).fetchall()[0][0]
    assert leaked == 0


def test_gold_labels_asset_keeps_good_rows_and_rejects_bad_ones(tmp_path):
    zone = LandingZoneResource(uri=str(tmp_path / "landing"))
    land_two_days(zone.store())
    warehouse = str(tmp_path / "w.duckdb")
    run({"landing_zone": zone, "warehouse": WarehouseResource(path=warehouse)}, tags={},
        assets=(gold_labels,))  # fmt: skip
    con = duckdb.connect(warehouse, read_only=True)
    rows = con.execute("SELECT comment_id, label, split FROM raw.gold_labels ORDER BY 1").fetchall()
    assert rows == [("a0", 0, "dev"), ("b1", 1, "test"), ("d2", 1, "dev")]  # names work too
    # Label 7 on a two-class task is refused at ingest, with the classes a user can pick from.
    assert con.execute("SELECT reason FROM raw.gold_labels_rejects ORDER BY 1").fetchall() == [
        ("label '7' is not a class of this task (0=ham, 1=spam)",),
        ("label 'x' is not a class of this task (0=ham, 1=spam)",),
    ]


def test_every_youtube_record_is_kept_or_quarantined(youtube_folder, tmp_path):
    """The 1,956 records Python's csv module reads all end up in one of the two tables."""
    from demo.youtube import land_youtube

    expected = Counter()
    for path in sorted(youtube_folder.glob("Youtube0*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            expected.update(row["COMMENT_ID"] for row in csv.DictReader(fh))
    assert sum(expected.values()) == 1956

    store = LocalObjectStore(tmp_path / "landing")
    land_youtube(youtube_folder, store)
    policy = Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")
    landed = {parse_landing_key(info.key).landed_date for info in store.list(COMMENTS_PREFIX)}
    days = {d - dt.timedelta(days=i) for d in landed for i in range(policy.late_arrival_days + 1)}
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingest_days(sorted(days), store, con, policy)
    got = Counter(
        cid for (cid,) in con.execute(
            "SELECT comment_id FROM raw.comments UNION ALL "
            "SELECT comment_id FROM raw.comments_quarantine"
        ).fetchall()
    )  # fmt: skip
    assert got == expected
    text = con.execute(
        "SELECT count(*) FROM raw.comments WHERE text LIKE '%' || chr(65279)"
    ).fetchone()
    assert text[0] > 1000  # raw keeps U+FEFF; staging cleans it
