"""PSI and KS drift on plain arrays: effect sizes, sample-size floors, share drift."""

import datetime as dt

import numpy as np
import pytest

from observability.config import load_config
from observability.drift import (
    bin_count,
    column_drift,
    day_column_drift,
    ks_statistic,
    psi,
    reference_label,
    share_drift,
    share_psi,
)
from observability.verdict import Ceiling, Floor, Verdict, worst
from settings import Settings

CONFIG = load_config(Settings.from_env().observability_file).drift
RNG = np.random.default_rng(20150529)
# Text lengths shaped like comments: long-tailed, a median near 45 characters.
REFERENCE = RNG.lognormal(3.8, 0.8, 3000).round()


def lengths(n: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.lognormal(3.8, 0.8, n) * scale).round()


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    assert psi(REFERENCE, REFERENCE, 10) == pytest.approx(0.0, abs=1e-12)
    assert psi(REFERENCE, lengths(2000), 10) < 0.02
    assert psi(REFERENCE, lengths(2000, scale=3), 10) > 1.0


def test_ks_statistic_is_the_largest_cdf_gap() -> None:
    assert ks_statistic(np.array([1.0, 2, 3]), np.array([1.0, 2, 3])) == 0
    assert ks_statistic(np.zeros(50), np.ones(50)) == 1


def test_a_value_the_reference_never_had_counts_as_drift() -> None:
    """url_count is 0 on every reference day; a day where 30 % carry a URL must not hide in
    a quantile bin that merges 0 and 1."""
    current = np.array([0] * 84 + [1] * 36, dtype=float)
    result = column_drift("url_count", np.zeros(1000), current, CONFIG)
    assert result.verdict is Verdict.ERROR
    assert result.psi > 1


def test_a_shifted_text_length_is_an_error_and_a_fresh_sample_passes() -> None:
    shifted = column_drift("char_count", REFERENCE, lengths(150, scale=3), CONFIG)
    same = column_drift("char_count", REFERENCE, lengths(500), CONFIG)
    assert shifted.verdict is Verdict.ERROR
    assert shifted.mean > 2.5 * shifted.reference_mean
    assert "char_count: PSI" in shifted.describe()
    assert same.verdict is Verdict.PASS


def test_small_samples_are_not_judged() -> None:
    tiny_day = column_drift("char_count", REFERENCE, lengths(CONFIG.min_rows - 1, 5), CONFIG)
    short_history = column_drift("char_count", REFERENCE[:10], lengths(500, 5), CONFIG)
    assert not tiny_day.judged and tiny_day.verdict is Verdict.PASS
    assert not short_history.judged
    assert "not judged" in tiny_day.describe()


def test_nulls_are_dropped_before_judging() -> None:
    current = np.concatenate([lengths(200), np.full(50, np.nan)])
    result = column_drift("char_count", REFERENCE, current, CONFIG)
    assert result.rows == 200 and result.judged


def test_bins_follow_the_sample_size() -> None:
    config = CONFIG.model_copy(update={"max_bins": 10, "min_rows_per_bin": 30})
    assert bin_count(100, config) == 3
    assert bin_count(10_000, config) == 10
    assert bin_count(10, config) == 2


def test_false_alarm_rate_on_typical_days_is_low() -> None:
    """The marks sit above sampling noise: fresh 120-row samples of the reference
    distribution almost never warn."""
    verdicts = [column_drift("x", REFERENCE, lengths(120), CONFIG).verdict for _ in range(200)]
    assert sum(v is not Verdict.PASS for v in verdicts) <= 8
    assert Verdict.ERROR not in verdicts


def test_an_lf_that_suddenly_covers_nothing_is_an_error() -> None:
    current = {"lf_link@1": (0, 200), "lf_caps@1": (41, 200), "lf_new@1": (5, 200)}
    reference = {"lf_link@1": (1200, 6000), "lf_caps@1": (1190, 6000)}
    by_group = {d.group: d for d in share_drift(current, reference, CONFIG)}
    assert by_group["lf_link@1"].verdict is Verdict.ERROR
    assert by_group["lf_link@1"].share == 0 and by_group["lf_link@1"].reference_share == 0.2
    assert "share 0.0% vs 20.0%" in by_group["lf_link@1"].describe()
    assert by_group["lf_caps@1"].verdict is Verdict.PASS
    assert not by_group["lf_new@1"].judged  # a new LF (or version) has no baseline yet


def test_a_near_certain_share_on_a_few_hundred_rows_is_not_drift() -> None:
    """100 % against 98.5 % is sampling noise on 190 rows (a fixed 1e-4 floor for the
    empty bin scored it PSI 0.1, a warning); with Jeffreys' smoothing it passes, while a
    share that truly vanishes stays an error."""
    judged = share_drift({"lf@1": (190, 190)}, {"lf@1": (5319, 5400)}, CONFIG)[0]
    assert judged.judged and judged.verdict is Verdict.PASS and judged.psi < 0.05
    gone = share_drift({"lf@1": (0, 190)}, {"lf@1": (1080, 5400)}, CONFIG)[0]
    assert gone.verdict is Verdict.ERROR


def test_a_history_driven_lf_may_grow_but_not_fall() -> None:
    """repeat_author covers more as authors accumulate history (the demo: 56 % on its first
    day, 99 % a month later): judged like with like, growth passes and a fall is drift."""
    reference = {"repeat_author@1": (4100, 5400), "has_link@1": (1000, 5400)}
    grown = {"repeat_author@1": (188, 190), "has_link@1": (190, 190)}
    by_group = {d.group: d for d in share_drift(grown, reference, CONFIG, {"repeat_author"})}
    assert by_group["repeat_author@1"].verdict is Verdict.PASS
    assert by_group["repeat_author@1"].judged and by_group["repeat_author@1"].grows
    assert by_group["has_link@1"].verdict is Verdict.ERROR  # not history-driven: judged both ways
    fallen = share_drift({"repeat_author@1": (60, 190)}, reference, CONFIG, {"repeat_author"})[0]
    assert fallen.verdict is Verdict.ERROR
    assert "grows with its history by design" in fallen.describe()


def test_share_psi_matches_the_documented_example() -> None:
    assert share_psi(0.2, 0.0) == pytest.approx(1.56, abs=0.01)
    assert share_psi(0.3, 0.3) == 0


def test_marks_and_worst() -> None:
    ceiling, floor = Ceiling(warn=0.1, error=0.25), Floor(warn=0.5, error=0.25)
    assert [ceiling.judge(v) for v in (0.05, 0.1, 0.3)] == [
        Verdict.PASS,
        Verdict.WARN,
        Verdict.ERROR,
    ]
    assert [floor.judge(v) for v in (1.0, 0.4, 0.1)] == [Verdict.PASS, Verdict.WARN, Verdict.ERROR]
    assert worst([]) is Verdict.PASS and worst([Verdict.WARN, Verdict.PASS]) is Verdict.WARN
    with pytest.raises(ValueError):
        Ceiling(warn=0.3, error=0.1)


def test_a_day_is_named_by_its_worst_columns_against_its_reference_window() -> None:
    day = dt.date(2024, 3, 12)
    assert reference_label(day, CONFIG) == "2024-02-13..2024-03-11"
    assert reference_label(day, CONFIG.model_copy(update={"reference_days": None})) == (
        "start..2024-03-11"
    )
    shifted = column_drift("char_count", REFERENCE, lengths(150, scale=3), CONFIG)
    same = column_drift("word_count", REFERENCE, lengths(500), CONFIG)
    day_drift = day_column_drift([same, shifted], 150, "w")
    assert day_drift.verdict is Verdict.ERROR and day_drift.judged
    assert day_drift.description.startswith("drift in char_count: PSI")
    quiet = day_column_drift([same], 500, "2024-02-13..2024-03-11")
    assert quiet.description == "no drift on 500 rows against 2024-02-13..2024-03-11"
