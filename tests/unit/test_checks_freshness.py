"""Freshness on historical and live data: the newest landed day, found by a binary search."""

import datetime as dt

import pytest

from observability.freshness import clock_expected_day, judge_freshness, newest_day
from observability.verdict import Verdict

START = dt.date(2013, 1, 1)


def test_the_clock_expects_yesterday_once_the_deadline_hour_has_passed() -> None:
    early = dt.datetime(2026, 11, 29, 5, 59, tzinfo=dt.UTC)
    late = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)
    assert clock_expected_day(early, 6) == dt.date(2026, 11, 27)
    assert clock_expected_day(late, 6) == dt.date(2026, 11, 28)


@pytest.mark.parametrize(
    "landed", [set(), {dt.date(2013, 1, 1)}, {dt.date(2023, 12, 30), dt.date(2024, 1, 30)}]
)
def test_newest_day_is_found_in_a_few_probes(landed: set[dt.date]) -> None:
    probes: list[dt.date] = []

    def has_day_after(day: dt.date) -> bool:
        probes.append(day)
        return any(d > day for d in landed)

    found = newest_day(has_day_after, START - dt.timedelta(days=1), dt.date(2026, 11, 28))
    assert found == max(landed, default=None)
    assert len(probes) <= 13  # log2 of ~5,080 days


def test_historical_data_is_judged_against_the_newest_landed_day() -> None:
    clock = dt.date(2026, 11, 28)
    fresh = judge_freshness("comment_scores", dt.date(2024, 1, 30), dt.date(2024, 1, 30), clock)
    assert fresh.verdict is Verdict.PASS and fresh.basis == "newest landed day"
    assert "historical data" in fresh.reason and "2024-01-30" in fresh.reason
    behind = judge_freshness("comment_scores", dt.date(2024, 1, 29), dt.date(2024, 1, 30), clock)
    assert behind.verdict is Verdict.WARN and behind.expected_day == dt.date(2024, 1, 30)


def test_a_live_stream_is_judged_by_the_clock() -> None:
    clock = dt.date(2026, 11, 28)
    late = judge_freshness("raw_comments", dt.date(2026, 11, 27), dt.date(2026, 11, 29), clock)
    assert late.verdict is Verdict.WARN and late.basis == "clock"
    assert judge_freshness("raw_comments", clock, clock, clock).verdict is Verdict.PASS
    nothing = judge_freshness("raw_comments", None, None, clock)
    assert nothing.verdict is Verdict.PASS and nothing.basis == "nothing landed"
