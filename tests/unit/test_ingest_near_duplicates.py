"""The near_duplicate rule: datasketch's MinHash in batches, decisions independent of order."""

import dataclasses
import datetime as dt
import json
import random

import duckdb
import numpy as np
import pytest

from ingest.day import LandingFile, ingest_day, ingest_day_reference
from ingest.days import ingest_days
from ingest.near_duplicates import (
    NearDuplicateRules,
    repeats,
    repeats_reference,
    signature,
    signatures,
)
from ingest.policy import REASONS, Policy
from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore

RULES = NearDuplicateRules(enabled=True, threshold=0.8, shingle_size=5, num_perm=64)
DAYS = [dt.date(2024, 7, 1) + dt.timedelta(days=i) for i in range(4)]
CAMPAIGN = (
    "hey everyone check out my channel for free gift cards every single day, "
    "just visit {} and subscribe and share with all your friends{}"
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")


def test_the_repo_policy_has_the_rule_on_and_its_reason_is_declared(policy):
    assert policy.near_duplicate.enabled and 0 < policy.near_duplicate.threshold <= 1
    assert "near_duplicate" in REASONS
    off = dataclasses.replace(policy, near_duplicate=NearDuplicateRules(enabled=False))
    assert off.version != policy.version


def test_batch_signatures_are_datasketch_minhashes():
    keys = ["a", "abcd", "abcde", "hello world, again", "caf\u00e9 \U0001f525 emoji", "x" * 300]
    got = signatures(keys, RULES)
    for key, row in zip(keys, got, strict=True):
        assert np.array_equal(row, signature(key, RULES)), key


def texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["love", "this", "song", "best", "video", "ever", "great", "voice", "free", "win"]
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            out.append(CAMPAIGN.format(f"site{rng.randint(0, 3)}.com", rng.choice("!?.")))
        else:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))))
    return out


def test_batch_decisions_equal_datasketch_lsh_one_record_at_a_time():
    keys = texts(400, seed=5)  # a campaign of ~160 copies: more than a band's 32 compared
    rng = np.random.default_rng(1)
    rank = rng.permutation(len(keys))
    decide = rng.random(len(keys)) < 0.7
    got = repeats(signatures(keys, RULES), rank, decide, RULES)
    want = repeats_reference(keys, rank.tolist(), decide.tolist(), RULES)
    assert got.tolist() == want
    found = got[got >= 0]
    assert len(found) > 50
    assert all(rank[first] < rank[row] for row, first in enumerate(got) if first >= 0)


def comment(cid, day, text, author):
    return {"comment_id": cid, "text": text, "author": author, "published_at": f"{day}T09:00:00"}


def land(store):
    """Campaign copies over several days and files, some landing late in a later folder."""
    for i, day in enumerate(DAYS):
        rows = [
            comment(f"d{i}-{j}", day, CAMPAIGN.format(f"site{j}.com", "!" * j), f"bot{j}")
            for j in range(3)
        ]
        rows.append(comment(f"d{i}-own", day, f"an ordinary comment number {i} on this", "ann"))
        store.put_bytes(
            f"comments/dt={day}/a.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode()
        )
        if i:  # a late copy, published the day before, landing in this day's folder
            late = comment(f"late{i}", DAYS[i - 1], CAMPAIGN.format("late.com", "?"), "bot9")
            store.put_bytes(f"comments/dt={day}/0-late.jsonl", (json.dumps(late) + "\n").encode())


def tables(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            con.execute(f"SELECT * EXCLUDE (policy_version) FROM {t} ORDER BY ALL").fetchall()
            for t in ("raw.comments", "raw.comments_quarantine")
        ]


@pytest.mark.parametrize("order", ["oldest_first", "newest_first", "shuffled"])
def test_the_same_records_are_removed_whatever_the_order_of_days_and_files(tmp_path, policy, order):
    store = LocalObjectStore(tmp_path / "landing")
    land(store)
    days = {
        "oldest_first": DAYS,
        "newest_first": DAYS[::-1],
        "shuffled": random.Random(3).sample(DAYS, len(DAYS)),
    }[order]
    runs = tmp_path / "runs.duckdb"
    with duckdb.connect(str(runs)) as con:
        for day in days:
            ingest_days([day], store, con, policy)
    whole = tmp_path / "whole.duckdb"
    with duckdb.connect(str(whole)) as con:
        ingest_days(DAYS, store, con, policy)
    assert tables(runs) == tables(whole)

    kept, quarantined = tables(whole)
    near = {row[7]: row[6] for row in quarantined if row[5] == "near_duplicate"}
    # The first campaign copy of the first day is canonical; every later copy repeats an
    # earlier one of its scope, ordinary comments stay.
    assert "d0-0" in {row[0] for row in kept}
    assert {f"d0-{j}" for j in (1, 2)} <= set(near)
    assert all(f"d{i}-own" in {row[0] for row in kept} for i in range(len(DAYS)))
    assert near["d0-1"].startswith("repeats comment d0-0 (comments/dt=2024-07-01/a.jsonl")
    # The late copy owned by day 0 ranks after day 0's own records but before day 1's.
    assert near["d1-0"].startswith("repeats comment ")
    assert "late1" in near


def test_files_given_in_any_order_give_the_same_rows_and_match_the_reference(tmp_path, policy):
    store = LocalObjectStore(tmp_path)
    land(store)
    files = [
        LandingFile(info.key, dt.date.fromisoformat(info.key[12:22]), store.get_bytes(info.key),
                    info.etag, info.last_modified)
        for info in store.list("comments/")
    ]  # fmt: skip
    day = DAYS[1]
    first = ingest_day(day, files, policy)
    shuffled = ingest_day(day, random.Random(1).sample(files, len(files)), policy)
    reference = ingest_day_reference(day, files, policy)
    assert first.kept.equals(shuffled.kept) and first.quarantined.equals(shuffled.quarantined)
    assert first.kept.equals(reference.kept)
    assert first.quarantined.equals(reference.quarantined)
    assert first.quarantined_by_reason.get("near_duplicate", 0) >= 2
