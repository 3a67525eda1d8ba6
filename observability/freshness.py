"""Freshness of a daily asset: is its newest partition the newest day it can have?

The clock alone cannot say: on historical data (a dataset replayed, a stream that ended)
the landing zone holds nothing after some past day, and a wall-clock rule would fail for
ever while every landed day is processed. So the day expected is the earlier of two: the
newest day whose deadline has passed by the clock, and the newest day that landed. A live
stream is judged by the clock (its newest day lands daily); historical data by what landed,
and the verdict says which of the two it was held against.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from observability.verdict import Verdict

_DAY = dt.timedelta(days=1)


def clock_expected_day(now: dt.datetime, deadline_utc_hour: float) -> dt.date:
    """The newest day due by `now`: day D is due once D+1 reaches `deadline_utc_hour` (UTC)."""
    due_by = now.astimezone(dt.UTC) - dt.timedelta(hours=deadline_utc_hour)
    return due_by.date() - _DAY


def newest_day(
    has_day_after: Callable[[dt.date], bool], low: dt.date, high: dt.date
) -> dt.date | None:
    """The newest day in (low, high] for which `has_day_after(day - 1)` holds; None: none.

    `has_day_after(d)` says whether anything exists for a day after `d`; it is monotone
    (true up to the newest day, false from it on), so a binary search needs about
    log2(high - low) probes: 22 for every representable date, whatever the history holds.
    """
    floor = low
    while low < high:
        middle = low + dt.timedelta(days=((high - low).days + 1) // 2)
        if has_day_after(middle - _DAY):
            low = middle
        else:
            high = middle - _DAY
    return None if low == floor else low


@dataclass(frozen=True)
class FreshnessJudgement:
    verdict: Verdict
    reason: str
    expected_day: dt.date | None
    basis: str  # "clock", "newest landed day" or "nothing landed"

    def metadata(self) -> dict[str, Any]:
        return {
            "expected_partition": self.expected_day.isoformat() if self.expected_day else "none",
            "judged_against": self.basis,
        }


def judge_freshness(
    asset: str,
    newest_partition: dt.date | None,
    newest_landed: dt.date | None,
    clock_expected: dt.date,
    late: Verdict = Verdict.WARN,
) -> FreshnessJudgement:
    """`asset`'s newest materialized partition against the newest day it can have."""
    if newest_landed is None:
        reason = f"nothing has landed yet: no partition of {asset} is due"
        return FreshnessJudgement(Verdict.PASS, reason, None, "nothing landed")
    if newest_landed < clock_expected:
        expected, basis = newest_landed, "newest landed day"
        why = (
            f"the newest landed day, {newest_landed} (the landing zone holds nothing newer: "
            f"historical data, judged against what landed rather than the clock, which "
            f"expects {clock_expected})"
        )
    else:
        expected, basis = clock_expected, "clock"
        why = f"the newest day due by the clock, {clock_expected}"
    if newest_partition is not None and newest_partition >= expected:
        reason = f"{asset} has partition {newest_partition}; expected up to {why}"
        return FreshnessJudgement(Verdict.PASS, reason, expected, basis)
    has = f"newest partition {newest_partition}" if newest_partition else "no partition"
    return FreshnessJudgement(late, f"{asset} has {has}; expected {why}", expected, basis)
