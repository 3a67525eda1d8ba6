"""The lake on S3 (a moto server over real HTTP): the same daily Parquet partitions as on a
local folder, replaced whole by one PUT, so a reader never sees half a day or two versions."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from ingest.raw_tables import RAW_COMMENTS_SCHEMA
from storage import lake
from storage.object_store import S3ObjectStore

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 3, 1)


def rows(day: dt.date, n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"comment_id": f"{day}-{i}", "author": "ann", "text": f"text {i}",
             "published_at": dt.datetime.combine(day, dt.time(9, i)), "source": "t",
             "partition_date": day, "landed_date": day, "source_file": "f.jsonl",
             "source_record": i, "source_line": i + 1, "policy_version": "p"}
            for i in range(n)
        ],
        schema=RAW_COMMENTS_SCHEMA,
    )  # fmt: skip


def test_days_on_s3_are_single_objects_replaced_on_rerun(s3_bucket: str) -> None:
    store = S3ObjectStore(s3_bucket, "lake")
    next_day = DAY + dt.timedelta(days=1)
    lake.write_day(store, "raw/comments", DAY, rows(DAY, 7), RAW_COMMENTS_SCHEMA)
    lake.write_day(store, "raw/comments", next_day, rows(next_day, 3), RAW_COMMENTS_SCHEMA)
    lake.write_day(store, "raw/comments", DAY, rows(DAY, 2), RAW_COMMENTS_SCHEMA)  # re-run

    assert [o.key for o in store.list("raw/comments/")] == [
        f"raw/comments/dt={DAY}/part-0.parquet",
        f"raw/comments/dt={next_day}/part-0.parquet",
    ]
    assert lake.read_day(store, "raw/comments", DAY) == rows(DAY, 2)
    assert lake.read_day(store, "raw/comments", next_day).num_rows == 3
    assert lake.written_days(store, "raw/comments") == [DAY, next_day]
    assert lake.read_day(store, "raw/comments", DAY + dt.timedelta(days=5)) is None
    assert lake.table_uri(store, "raw/comments", for_spark=True) == (
        f"s3a://{s3_bucket}/lake/raw/comments"
    )
    lake.delete_day(store, "raw/comments", next_day)
    assert lake.written_days(store, "raw/comments") == [DAY]
