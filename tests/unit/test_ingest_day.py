"""The ingest policy applied to a day: every record kept or quarantined with a reason."""

import dataclasses
import datetime as dt
import json
import re

import pytest

from ingest.day import LandingFile, ingest_day, parse_published_at, route
from ingest.landing import InvalidLandingKey, parse_landing_key
from ingest.near_duplicates import NearDuplicateRules
from ingest.policy import REASONS, Policy, PolicyError
from settings import PROJECT_ROOT

DAY = dt.date(2024, 3, 10)


def jsonl(*records) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n"
        for r in records
    )


def comment(cid, text="hello there", author="ann", published="2024-03-10T12:00:00", **extra):
    return {"comment_id": cid, "text": text, "author": author, "published_at": published, **extra}


def land(name: str, data: bytes, day: dt.date = DAY) -> LandingFile:
    return LandingFile(f"comments/dt={day}/{name}", day, data, etag=f"etag-{name}")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")


def reasons(result) -> list[str]:
    return result.quarantined.column("reason").to_pylist()


def test_repo_policy_loads_and_has_a_stable_version(policy):
    assert policy.version == Policy.load(PROJECT_ROOT / "policies" / "ingest.yml").version
    assert policy.late_arrival_days == 2


def test_policy_errors_are_clear():
    with pytest.raises(PolicyError, match="textt: unknown key"):
        Policy.from_dict({"textt": {}})
    with pytest.raises(PolicyError, match="min_length"):
        Policy.from_dict({"text": {"min_length": 10, "max_length": 5}})
    with pytest.raises(PolicyError, match="author_daily_cap"):
        Policy.from_dict({"author_daily_cap": 0})


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"author_daily_cap": True}, "author_daily_cap"),
        ({"dedupe": {"comment_id": "no"}}, "dedupe.comment_id"),
        ({"dedupe": {"comment_id": "false"}}, "dedupe.comment_id"),
        ({"partitioning": {"late_arrival_days": 2.7}}, "partitioning.late_arrival_days"),
        ({"text": {"max_length": "abc"}}, "text.max_length"),
        ({"charset": {"control_chars": "drop"}}, "charset.control_chars"),
        ({"normalize": {"unicode_form": "NFX"}}, "normalize.unicode_form"),
    ],
)
def test_wrong_policy_types_are_refused_naming_file_and_key(doc, key):
    """No silent coercion: `true` is not a cap, "no" is not false, 2.7 is not 2 days."""
    with pytest.raises(PolicyError, match=rf"^policies/x\.yml: {re.escape(key)}: "):
        Policy.from_dict(doc, source="policies/x.yml")


def test_an_over_long_csv_field_quarantines_its_record_and_counts_every_record(policy):
    """7 records with one 200,000-character text: 6 kept, 1 text_too_long, 7 counted in."""
    rows = [f"{i},row {i}" for i in range(1, 8)]
    rows[2] = "3," + "x" * 200_000
    result = ingest_day(DAY, [land("long.csv", ("comment_id,text\n" + "\n".join(rows)).encode())],
                        policy)  # fmt: skip
    assert result.records_in == 7
    assert result.kept.column("comment_id").to_pylist() == ["1", "2", "4", "5", "6", "7"]
    assert reasons(result) == ["text_too_long"]


def test_clean_records_are_kept_with_lineage(policy):
    result = ingest_day(
        DAY, [land("a.jsonl", jsonl(comment("1"), comment("2", text="bye")))], policy
    )
    assert result.kept.num_rows == 2 and result.quarantined.num_rows == 0
    row = result.kept.to_pylist()[1]
    assert row["source_file"] == f"comments/dt={DAY}/a.jsonl"
    assert (row["source_record"], row["source_line"]) == (2, 2)
    assert row["policy_version"] == policy.version
    assert row["published_at"] == dt.datetime(2024, 3, 10, 12)


def test_every_bad_input_is_accounted_for(policy):
    ten_mb = comment("big", text="x" * 10_000_000)
    files = [
        land(
            "mixed.jsonl",
            jsonl(
                comment("1"),
                b'{"comment_id": "2", "text": "unterminated',
                {"comment_id": "3", "author": "bo"},  # no text
                comment("4", text="caf\xe9 ok"),
                b'{"comment_id": "5", "text": "caf\xe9"}',  # raw latin-1 byte
                ten_mb,
                comment("6", text="   "),
            ),
        ),
        land("broken.csv", b'comment_id,text\n7,fine\n8,"never closed\n9,x\n'),
        land("empty.jsonl", b""),
        land("latin1.csv", "comment_id,text\n10,café\n11,plain\n".encode("latin-1")),
    ]
    result = ingest_day(DAY, files, policy)
    assert result.kept.column("comment_id").to_pylist() == ["7", "11", "1", "4"]  # key order
    got = dict(
        zip(result.quarantined.column("comment_id").to_pylist(), reasons(result), strict=True)
    )
    assert reasons(result).count("malformed_json") == 1
    assert got["3"] == "missing_field"
    assert got["big"] == "text_too_long"
    assert got["6"] == "text_too_short"
    assert reasons(result).count("invalid_utf8") == 2  # record 5 and the latin-1 'café' line
    assert reasons(result).count("malformed_csv") == 1
    # mixed: 7; broken.csv: 7 and the stretch from "8 to the end; empty: 0; latin1: 2
    assert result.records_in == 7 + 2 + 0 + 2
    assert set(reasons(result)) <= set(REASONS)
    big_row = next(r for r in result.quarantined.to_pylist() if r["comment_id"] == "big")
    assert len(big_row["raw_record"]) > 10_000_000  # nothing lost, even a 10 MB line
    empty = next(f for f in result.files if f.key.endswith("empty.jsonl"))
    assert empty.records_owned == 0 and empty.size == 0


def test_same_file_delivered_twice_keeps_one_copy(policy):
    data = jsonl(comment("1"), comment("2", text="other"))
    result = ingest_day(DAY, [land("a.jsonl", data), land("b-copy.jsonl", data)], policy)
    assert result.kept.num_rows == 2
    assert reasons(result) == ["duplicate_comment_id", "duplicate_comment_id"]
    assert "a.jsonl record 1" in result.quarantined.column("detail").to_pylist()[0]


def test_same_text_same_author_new_id_is_a_duplicate(policy):
    data = jsonl(comment("1", text="Great song!"), comment("2", text="  great SONG!\ufeff"),
                 comment("3", text="Great song!", author="someone else"))  # fmt: skip
    exact_only = dataclasses.replace(policy, near_duplicate=NearDuplicateRules(enabled=False))
    result = ingest_day(DAY, [land("a.jsonl", data)], exact_only)
    assert result.kept.column("comment_id").to_pylist() == ["1", "3"]
    assert reasons(result) == ["duplicate_author_text"]
    # With the repo policy, the same text from someone else repeats comment 1 nearly.
    result = ingest_day(DAY, [land("a.jsonl", data)], policy)
    assert reasons(result) == ["duplicate_author_text", "near_duplicate"]
    assert result.quarantined.column("detail")[1].as_py().startswith("repeats comment 1 (")


def test_author_cap(policy):
    capped = Policy.from_dict({"author_daily_cap": 2})
    data = jsonl(*(comment(str(i), text=f"text {i}") for i in range(5)))
    result = ingest_day(DAY, [land("a.jsonl", data)], capped)
    assert result.kept.num_rows == 2 and reasons(result) == ["author_cap_exceeded"] * 3
    assert capped.version != policy.version


def test_routing_by_published_day_and_landing_day(policy):
    next_day = DAY + dt.timedelta(days=1)
    today = jsonl(
        comment("1"),
        comment("nodate", "b", published=None),
        comment("garbled", "c", published="yesterday-ish"),
    )
    late = jsonl(
        comment("late", "d", published="2024-03-10T23:59:00"),
        comment("theirs", "e", published="2024-03-11T08:00:00"),
    )
    files = [land("today.jsonl", today), land("late.jsonl", late, next_day)]
    result = ingest_day(DAY, files, policy)
    assert sorted(result.kept.column("comment_id").to_pylist()) == [
        "1",
        "garbled",
        "late",
        "nodate",
    ]
    assert dict(result.routed_elsewhere) == {"2024-03-11": 1}
    assert result.kept.to_pylist()[1]["published_at"] is None


def test_route_rules():
    assert route(None, DAY, 2) == (DAY, None)
    assert route(dt.datetime(2024, 3, 9, 1), DAY, 2) == (dt.date(2024, 3, 9), None)
    assert route(dt.datetime(2024, 3, 1), DAY, 2) == (DAY, "published_too_late")
    assert route(dt.datetime(2024, 3, 11), DAY, 2) == (DAY, "published_after_landing")


def test_published_at_parsing():
    assert parse_published_at("2015-05-29T02:26:10.652000") == dt.datetime(
        2015, 5, 29, 2, 26, 10, 652000
    )
    assert parse_published_at("2024-03-10T23:30:00-02:00") == dt.datetime(2024, 3, 11, 1, 30)
    assert parse_published_at("2024-03-10T12:00:00Z") == dt.datetime(2024, 3, 10, 12)
    assert parse_published_at("not a date") is None
    assert parse_published_at(1700000000) is None


def test_keys_outside_a_date_folder_are_refused_clearly():
    assert parse_landing_key("comments/dt=2024-03-10/a.jsonl").landed_date == DAY
    for bad in ("comments/dt=2024-02-30/a.jsonl", "comments/dt=latest/a.jsonl", "comments/a.jsonl"):
        with pytest.raises(InvalidLandingKey, match="no partition will ingest it"):
            parse_landing_key(bad)


def test_rerun_gives_identical_tables_and_version(policy):
    files = [land("a.jsonl", jsonl(comment("1"), b"{bad", comment("1")))]
    first, second = ingest_day(DAY, files, policy), ingest_day(DAY, files, policy)
    assert first.kept.equals(second.kept) and first.quarantined.equals(second.quarantined)
    assert first.data_version() == second.data_version()
