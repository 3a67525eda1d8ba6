"""The landing-zone scan's rules, on a real local folder (no Dagster involved)."""

import datetime as dt
import os

import pytest

from ingest.landing_scan import (
    DayRun,
    Ingested,
    ScanCursor,
    affected_days,
    group_of,
    head_boundary,
    pending_runs,
    scan_landing,
)
from storage.object_store import LocalObjectStore

D = dt.date.fromisoformat
TODAY = D("2024-06-20")
FIRST = D("2013-01-01")
YESTERDAY = TODAY - dt.timedelta(days=1)


def scan(store, cursor=None, today=TODAY, last_day=None, **kwargs):
    return scan_landing(
        store,
        cursor or ScanCursor(),
        today=today,
        late_days=2,
        first_day=kwargs.pop("first_day", FIRST),
        last_day=last_day or today - dt.timedelta(days=1),
        **kwargs,
    )


def days(result) -> list[str]:
    return sorted(day.isoformat() for day in result.candidates)


@pytest.fixture
def store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "landing")


def test_groups_are_folders_in_the_head_and_months_in_the_sweep():
    assert group_of("comments/dt=2024-06-19/a.jsonl", in_head=True) == "dt=2024-06-19/"
    assert group_of("comments/dt=2024-06-19/a.jsonl", in_head=False) == "dt=2024-06"
    assert group_of("comments/dt=2024-06-99/a.jsonl", in_head=False) == "dt=2024-06"
    assert group_of("comments/tmp/x/a.jsonl", in_head=False) == "tmp/"
    assert group_of("comments/readme.txt", in_head=True) == "readme.txt"
    assert head_boundary(TODAY) == "comments/dt=2024-06-17"


def test_a_file_affects_its_landing_day_and_the_late_arrival_days_before_it():
    assert affected_days(D("2024-03-01"), 2) == [D("2024-02-28"), D("2024-02-29"), D("2024-03-01")]
    assert affected_days(D("2024-03-01"), 0) == [D("2024-03-01")]


def test_cursor_round_trips_and_a_foreign_one_starts_afresh():
    cursor = ScanCursor({"dt=2024-06-19/": "ab"}, {"dt=2024-05": "cd"}, "k", ["2024-06-20"])
    assert ScanCursor.decode(cursor.encode()) == cursor
    assert ScanCursor.decode(None) == ScanCursor()
    assert ScanCursor.decode('{"v": 0}') == ScanCursor()
    with pytest.raises(ValueError, match="not a landing-zone cursor"):
        ScanCursor.decode("[1, 2")


def test_new_then_unchanged_then_replaced_file(store):
    info = store.put_bytes("comments/dt=2024-05-03/a.jsonl", b"one\n")
    first = scan(store)
    assert days(first) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert first.candidates[D("2024-05-03")] == {(info.key, info.etag)}

    again = scan(store, first.cursor)
    assert again.candidates == {} and again.changed_groups == []

    replaced = store.put_bytes("comments/dt=2024-05-03/a.jsonl", b"two\n")
    third = scan(store, again.cursor)
    assert third.candidates[D("2024-05-03")] == {(replaced.key, replaced.etag)}


def test_files_written_in_the_same_second_are_both_seen(store):
    a = store.put_bytes("comments/dt=2024-05-03/a.jsonl", b"a\n")
    first = scan(store)
    b = store.put_bytes("comments/dt=2024-05-03/b.jsonl", b"b\n")
    stamp = a.last_modified.timestamp()
    os.utime(store.root / b.key, (stamp, stamp))  # same LastModified as a
    second = scan(store, first.cursor)
    assert second.candidates[D("2024-05-03")] == {(a.key, a.etag), (b.key, b.etag)}


def test_the_sweep_spreads_over_ticks_and_finds_a_late_file_in_an_old_folder(store):
    for month in range(1, 7):
        for day in (1, 15):
            store.put_bytes(f"comments/dt=2024-{month:02d}-{day:02d}/a.jsonl", b"x\n")
    cursor, ticks, done = ScanCursor(), 0, {}
    while True:  # the first pass: every month is new; say its runs ingested everything
        result = scan(store, cursor, budget=3)
        cursor, ticks = result.cursor, ticks + 1
        assert result.sweep_keys <= 3 + 1  # the budget, finishing the month it is in
        done |= {day: Ingested(frozenset(files)) for day, files in result.candidates.items()}
        if result.pass_complete:
            break
    assert ticks == 3 and sorted(cursor.sweep) == [f"dt=2024-0{m}" for m in range(1, 7)]

    late = store.put_bytes("comments/dt=2024-02-07/late.jsonl", b"late\n")
    runs, changed = [], []
    for _ in range(3):  # one pass
        result = scan(store, cursor, budget=3)
        cursor, changed = result.cursor, changed + result.changed_groups
        runs += pending_runs(result.candidates, done)
    assert changed == ["dt=2024-02"]  # reconciled against what was ingested: only the new file
    assert [run.day.isoformat() for run in runs] == ["2024-02-05", "2024-02-06", "2024-02-07"]
    assert all(run.files == ((late.key, late.etag),) for run in runs)


def test_a_month_whose_files_are_gone_leaves_the_cursor(store):
    store.put_bytes("comments/dt=2024-01-01/a.jsonl", b"x\n")
    store.put_bytes("comments/dt=2024-02-01/a.jsonl", b"x\n")
    cursor = scan(store).cursor
    store.delete("comments/dt=2024-01-01/a.jsonl")
    assert sorted(scan(store, cursor).cursor.sweep) == ["dt=2024-02"]


def test_a_file_landing_today_waits_for_its_partition(store):
    today = store.put_bytes(f"comments/dt={TODAY}/a.jsonl", b"x\n")
    result = scan(store)
    assert days(result) == ["2024-06-18", "2024-06-19"]
    assert result.cursor.waiting == ["2024-06-20"]
    assert "waiting for partitions: 2024-06-20" in result.summary()

    same_day = scan(store, result.cursor)
    assert same_day.candidates == {} and same_day.cursor.waiting == ["2024-06-20"]

    next_day = scan(store, same_day.cursor, today=TODAY + dt.timedelta(days=1))
    assert next_day.candidates == {TODAY: {(today.key, today.etag)}}
    assert next_day.cursor.waiting == []


def test_keys_outside_date_folders_are_reported_once_and_skipped(store):
    store.put_bytes("comments/dt=2024-13-01/a.jsonl", b"x\n")
    store.put_bytes("comments/dt=bad/a.jsonl", b"x\n")
    store.put_bytes("comments/readme.txt", b"x\n")
    store.put_bytes("comments/dt=2012-01-01/a.jsonl", b"x\n")
    result = scan(store)
    assert result.candidates == {}
    assert len(result.problems) == 4
    text = " ".join(result.problems)
    assert "'dt=2024-13-01' is not a date" in text and "'dt=bad' is not a date" in text
    assert "comments/readme.txt" in text and "before the first partition (2013-01-01)" in text
    assert scan(store, result.cursor).problems == []


def test_the_cursor_stays_small_with_a_year_of_folders(store):
    for n in range(365):
        day = D("2023-06-01") + dt.timedelta(days=n)
        store.put_bytes(f"comments/dt={day}/a.jsonl", b"x\n")
        store.put_bytes(f"comments/dt={day}/b.jsonl", b"y\n")
    result = scan(store, today=D("2024-06-01"))
    assert result.pass_complete and len(result.cursor.encode()) < 1000


def test_one_run_per_day_with_only_the_files_it_has_not_read():
    a, b, c = ("k/a", "e1"), ("k/b", "e2"), ("k/c", "e3")
    candidates = {D("2024-05-02"): {a, b}, D("2024-05-01"): {a}, D("2024-05-03"): {c}}
    ingested = {D("2024-05-01"): Ingested(frozenset({a}), "run-1"),
                D("2024-05-02"): Ingested(frozenset({a}), "0123456789")}  # fmt: skip
    runs = pending_runs(candidates, ingested)
    assert runs == [DayRun(D("2024-05-02"), (b,), "0123456789"), DayRun(D("2024-05-03"), (c,))]
    assert runs[0].run_key == "2024-05-02:k/b:e2@01234567"
    assert runs[1].run_key == "2024-05-03:k/c:e3"
    several = pending_runs({D("2024-05-03"): {c, a, b}}, {})[0].run_key
    assert several.startswith("2024-05-03:3 files:")
    assert several == pending_runs({D("2024-05-03"): {b, c, a}}, {})[0].run_key


def test_a_late_file_in_an_old_folder_re_runs_the_later_days_that_ingested_without_it(tmp_path):
    """Its ids landed first by contract, so days whose look-back reads it must be re-run;
    a day never ingested will read it when it is, so it is not requested for that."""
    store = LocalObjectStore(tmp_path)
    info = store.put_bytes("comments/dt=2024-04-01/late.jsonl", b"{}\n")
    result = scan(store, today=D("2024-04-10"), last_day=D("2024-04-09"), lookback_days=3)
    late = (info.key, info.etag)
    assert result.rechecks == {D("2024-04-02"): {late}, D("2024-04-03"): {late},
                               D("2024-04-04"): {late}}  # fmt: skip
    ingested = {D("2024-04-02"): Ingested(frozenset(), "run-2")}  # 04-03 and 04-04 never ran
    runs = pending_runs(result.candidates, ingested, result.rechecks)
    assert [r.day for r in runs] == [D("2024-03-30"), D("2024-03-31"), D("2024-04-01"),
                                     D("2024-04-02")]  # fmt: skip


def test_a_folder_dated_in_the_future_is_reported_not_left_waiting_silently(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put_bytes("comments/dt=2099-01-01/a.jsonl", b"{}\n")
    result = scan(store)
    assert any("2099-01-01" in p and "future" in p for p in result.problems)
    assert "2099-01-01" in result.cursor.waiting
