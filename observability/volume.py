"""Row-count bounds of a day relative to its trailing window.

The baseline is the median of the trailing window's daily counts, so one odd day in the
window does not move it. Calendar days without rows count as zero, except days before the
table's first day: a stream that started last week has a week of history, not three weeks
of silence. With fewer than `min_history_days` of history, or a median below
`min_baseline_rows` (a sparse stream, where a ratio of two handfuls of rows means nothing),
only the absolute minimum applies.
"""

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from observability.config import VolumeConfig
from observability.verdict import Verdict


@dataclass(frozen=True)
class VolumeJudgement:
    day: dt.date
    rows: int
    baseline: float
    ratio: float | None
    verdict: Verdict
    reason: str

    @property
    def judged(self) -> bool:
        """Whether the day was held against anything: a pass with no median to compare with
        says nothing, and a backfill of years should not record one for every quiet day."""
        return self.ratio is not None or self.verdict is not Verdict.PASS

    def metadata(self) -> dict[str, int | float]:
        """What the check shows beside the verdict."""
        shown: dict[str, int | float] = {"rows": self.rows, "trailing_median": self.baseline}
        if self.ratio is not None:
            shown["ratio_to_median"] = round(self.ratio, 4)
        return shown


def trailing_counts(
    counts: Mapping[dt.date, int], day: dt.date, trailing_days: int, since: dt.date | None
) -> list[int]:
    """Counts of the up to `trailing_days` days before `day` and not before `since` (the
    table's first day; None: no history at all), zero where a day has no rows."""
    if since is None:
        return []
    days = (day - dt.timedelta(days=n) for n in range(1, trailing_days + 1))
    return [counts.get(d, 0) for d in days if d >= since]


def judge_volume(
    day: dt.date, rows: int, trailing: Sequence[int], config: VolumeConfig
) -> VolumeJudgement:
    """A day's row count against the absolute minimum and the trailing median."""
    baseline = float(statistics.median(trailing)) if trailing else 0.0
    if rows < config.min_rows:
        return VolumeJudgement(
            day, rows, baseline, None, Verdict.ERROR,
            f"{rows} rows, below the absolute minimum of {config.min_rows}",
        )  # fmt: skip
    if len(trailing) < config.min_history_days:
        return VolumeJudgement(
            day, rows, baseline, None, Verdict.PASS,
            f"{rows} rows; {len(trailing)} day(s) of history, fewer than "
            f"{config.min_history_days}: not judged against a median",
        )  # fmt: skip
    if baseline < config.min_baseline_rows:
        return VolumeJudgement(
            day, rows, baseline, None, Verdict.PASS,
            f"{rows} rows; trailing median {baseline:g} is below {config.min_baseline_rows:g}, "
            "too sparse for a ratio",
        )  # fmt: skip
    ratio = rows / baseline
    verdict = max(config.low.judge(ratio), config.high.judge(ratio))
    return VolumeJudgement(
        day, rows, baseline, ratio, verdict,
        f"{rows} rows, {ratio:.2f}x the trailing {len(trailing)}-day median of {baseline:g}",
    )  # fmt: skip
