"""Which copy of a comment wins is decided from what landed, not from the order of runs.

Days are ingested in three orders (oldest first, newest first, shuffled), with a late file
dropped into an old folder and a file re-landed under a name that sorts first; each time the
days a landing sensor would re-run are re-run, in that order. Every order must give the same
raw tables as one fresh range run over everything that landed. Then overlapping runs go at
the same time, in threads, each day written by several of them in whatever order they end.
Real DuckDB files, a real landing folder with real modification times.
"""

import datetime as dt
import json
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest

from ingest.day import LandingFile, folders_read_for, ingest_day
from ingest.days import ingest_days
from ingest.landing import comments_prefix
from ingest.landing_scan import affected_days, recheck_days
from ingest.policy import Policy
from ingest.raw_tables import replace_partition
from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore

DAYS = [dt.date(2024, 4, 1) + dt.timedelta(days=i) for i in range(6)]
T0 = dt.datetime(2024, 4, 1, 8, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def policy():
    return Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")


def comment(cid, day, text=None, author="ann"):
    return {"comment_id": cid, "text": text or f"text of {cid}", "author": author,
            "published_at": f"{day}T10:00:00"}  # fmt: skip


def put(store, landed, name, rows, written_at):
    """Land a file with a chosen modification time (its arrival within the folder)."""
    key = f"comments/dt={landed}/{name}"
    store.put_bytes(key, "".join(json.dumps(r) + "\n" for r in rows).encode())
    os.utime(store.root / key, (written_at, written_at))
    return landed


def land_first_wave(store):
    d = DAYS
    put(store, d[0], "a.jsonl", [comment("X1", d[0]), comment("A", d[0])], T0)
    put(store, d[1], "b.jsonl", [comment("X1", d[1], "again"), comment("B", d[1])], T0 + 86400)
    put(store, d[2], "c.jsonl", [comment("Y", d[2]), comment("C", d[2])], T0 + 2 * 86400)
    # a record published on day 3 that lands late, in day 4's folder
    put(store, d[4], "e.jsonl", [comment("LATE", d[3]), comment("E", d[4])], T0 + 4 * 86400)
    put(store, d[5], "f.jsonl", [comment("F", d[5]), comment("B", d[5], "B again")],
        T0 + 5 * 86400)  # fmt: skip


def land_second_wave(store):
    """A late file for an old folder, and day 1's file re-landed under an earlier name."""
    late = put(store, DAYS[1], "z-late.jsonl", [comment("Y", DAYS[1], "Y first")],
               T0 + 9 * 86400)  # fmt: skip
    original = (store.root / f"comments/dt={DAYS[1]}/b.jsonl").read_bytes()
    store.put_bytes(f"comments/dt={DAYS[1]}/0-copy.jsonl", original)
    os.utime(store.root / f"comments/dt={DAYS[1]}/0-copy.jsonl", (T0 + 10 * 86400,) * 2)
    return [late, DAYS[1]]


def tables(path):
    with duckdb.connect(str(path), read_only=True) as con:
        kept = con.execute(
            "SELECT * EXCLUDE (policy_version) FROM raw.comments ORDER BY ALL"
        ).fetchall()
        quarantined = con.execute(
            "SELECT * EXCLUDE (policy_version) FROM raw.comments_quarantine ORDER BY ALL"
        ).fetchall()
    return kept, quarantined


def run_days(store, warehouse, days, policy):
    with duckdb.connect(str(warehouse)) as con:
        for day in days:  # one run per day, as the sensor starts them
            ingest_days([day], store, con, policy)


def rerun_days(landed_folders, ingested, policy):
    """The days a landing sensor re-runs for files that changed in these folders."""
    days = set()
    for landed in landed_folders:
        days.update(affected_days(landed, policy.late_arrival_days))
        days.update(recheck_days(landed, policy.dedupe.comment_id_lookback_days))
    return [d for d in days if d in ingested]


@pytest.mark.parametrize("order", ["oldest_first", "newest_first", "shuffled"])
def test_any_run_order_gives_the_tables_of_one_range_run(tmp_path, policy, order):
    store = LocalObjectStore(tmp_path / "landing")
    land_first_wave(store)
    ordered = {
        "oldest_first": list(DAYS),
        "newest_first": list(reversed(DAYS)),
        "shuffled": random.Random(7).sample(DAYS, len(DAYS)),
    }[order]
    warehouse = tmp_path / "runs.duckdb"
    run_days(store, warehouse, ordered, policy)
    changed = land_second_wave(store)
    again = rerun_days(changed, set(DAYS), policy)
    run_days(store, warehouse, [d for d in ordered if d in again], policy)

    reference = tmp_path / "range.duckdb"
    with duckdb.connect(str(reference)) as con:
        ingest_days(DAYS, store, con, policy)
    assert tables(warehouse) == tables(reference)

    kept, quarantined = tables(reference)
    kept_where = {(row[0], row[5]) for row in kept}  # (comment_id, partition_date)
    assert ("X1", DAYS[0]) in kept_where and ("X1", DAYS[1]) not in kept_where
    # The late file landed in day 1's folder: by contract it arrived before day 2's file.
    assert ("Y", DAYS[1]) in kept_where and ("Y", DAYS[2]) not in kept_where
    assert ("LATE", DAYS[3]) in kept_where
    # The re-landed copy sorts first by name but arrived last: the original keeps its rows.
    from_copy = [row for row in quarantined if row[2].endswith("0-copy.jsonl")]
    assert {row[5] for row in from_copy} == {"duplicate_comment_id"}
    assert all(not row[7].endswith("0-copy.jsonl") for row in kept)


def ingest_in_thread(store, warehouse, days, policy, lock):
    """One run: each day computed from the landing zone alone, then written in its own
    transaction (the warehouse pool serialises writers; the lock stands in for it)."""
    for day in days:
        files = [
            LandingFile(info.key, folder, store.get_bytes(info.key), info.etag, info.last_modified)
            for folder in folders_read_for(day, policy)
            for info in store.list(comments_prefix(folder))
        ]
        result = ingest_day(day, files, policy)
        with lock, duckdb.connect(str(warehouse)) as con:
            replace_partition(con, day, result.kept, result.quarantined)


def test_overlapping_runs_in_parallel_give_the_tables_of_one_range_run(tmp_path, policy):
    """Four runs over overlapping ranges, in both directions, at the same time: each day is
    written by several runs in whatever order they finish, and the tables do not care."""
    store = LocalObjectStore(tmp_path / "landing")
    land_first_wave(store)
    land_second_wave(store)
    warehouse, lock = tmp_path / "parallel.duckdb", threading.Lock()
    runs = [DAYS[0:4], DAYS[2:6], list(reversed(DAYS[1:5])), list(reversed(DAYS))]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = [pool.submit(ingest_in_thread, store, warehouse, r, policy, lock) for r in runs]
        for future in futures:
            future.result()

    reference = tmp_path / "range.duckdb"
    with duckdb.connect(str(reference)) as con:
        ingest_days(DAYS, store, con, policy)
    assert tables(warehouse) == tables(reference)
    kept, _ = tables(reference)
    assert len(kept) > 0
