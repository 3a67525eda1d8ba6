"""Expectations judged as SQL in DuckDB agree with Great Expectations on the same rows.

Every expectation type the suites use, on a small two-day table with known defects: the
warehouse's verdict, unexpected count and percentage, and observed value must be GX's own,
day by day. The real suites must be judged entirely in the warehouse (nothing left for GX).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from expectations.runner import Status, SuiteRunner
from expectations.suites import (
    DIRTY_TEXT_PATTERN,
    SOURCE_FILE_PATTERN,
    URL_PATTERN,
    Expectation,
    Suite,
    comment_features_suites,
    stg_comments_suites,
)
from expectations.warehouse import judge, plan, re2_pattern, sample_frame
from ingest.policy import Policy
from observability.config import load_config
from settings import Settings

pytestmark = pytest.mark.slow  # GX's import takes seconds

DAY_1, DAY_2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)


def _row(day: dt.date, i: int, **values: object) -> dict:
    row = {
        "partition_date": day,
        "comment_id": f"{day:%d}-{i}",
        "text": f"plain text number {i}",
        "char_count": 20 + i,
        "word_count": 4,
        "url_count": 0,
        "has_url": False,
        "landed_date": day,
        "published_at": dt.datetime.combine(day, dt.time(1, i % 60)),
        "source_file": f"comments/dt={day}/a.jsonl",
    }
    return row | values


def rows() -> list[dict]:
    """Day 1 clean (40 rows); day 2 (40 rows) with one defect of each kind."""
    out = [_row(DAY_1, i) for i in range(40)]
    day2 = [_row(DAY_2, i) for i in range(40)]
    day2[1]["comment_id"] = None  # null id
    day2[3]["comment_id"] = day2[2]["comment_id"]  # duplicate key: 2 unexpected rows
    day2[4]["text"] = "zero\ufeffwidth"  # dirty text
    day2[5] |= {"text": "see http://x.y", "url_count": 1, "has_url": True}
    day2[6] |= {"has_url": True}  # has_url without a URL
    day2[7]["word_count"] = 99  # more words than characters
    day2[8]["char_count"] = None  # a null the between ignores
    day2[9]["landed_date"] = DAY_1  # landed before its day
    day2[10]["published_at"] = None  # ignored by the pair check
    day2[11]["source_file"] = "elsewhere/a.jsonl"
    for i in range(12, 40):  # a flood of one text: few distinct values
        day2[i]["text"] = "same text www.spam.example"
    return out + day2


SUITE = Suite(
    "all_kinds",
    (
        Expectation("expect_column_values_to_not_be_null", {"column": "comment_id"}, ""),
        Expectation(
            "expect_compound_columns_to_be_unique",
            {"column_list": ["partition_date", "comment_id"]},
            "",
        ),
        Expectation(
            "expect_column_value_lengths_to_be_between",
            {"column": "text", "min_value": 1, "max_value": 25},
            "",
        ),
        Expectation(
            "expect_column_values_to_not_match_regex",
            {"column": "text", "regex": DIRTY_TEXT_PATTERN},
            "",
        ),
        Expectation(
            "expect_column_values_to_match_regex",
            {"column": "source_file", "regex": SOURCE_FILE_PATTERN},
            "",
        ),
        Expectation(
            "expect_column_values_to_be_between",
            {"column": "char_count", "min_value": 0, "max_value": 80},
            "",
        ),
        Expectation(
            "expect_column_values_to_be_between",
            {
                "column": "url_count",
                "min_value": 1,
                "row_condition": "has_url == True",
                "condition_parser": "pandas",
            },
            "",
        ),
        Expectation(
            "expect_column_values_to_be_in_set", {"column": "has_url", "value_set": [False]}, ""
        ),
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": "char_count", "column_B": "word_count", "or_equal": True},
            "",
        ),
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "landed_date",
                "column_B": "partition_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "",
        ),
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "published_at",
                "column_B": "partition_date",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "",
        ),
        Expectation(
            "expect_column_values_to_not_match_regex",
            {"column": "text", "regex": URL_PATTERN, "mostly": 0.9},
            "",
        ),
        Expectation(
            "expect_column_mean_to_be_between", {"column": "has_url", "max_value": 0.1}, ""
        ),
        Expectation(
            "expect_column_median_to_be_between",
            {"column": "char_count", "min_value": 30, "max_value": 80},
            "",
        ),
        Expectation(
            "expect_column_proportion_of_unique_values_to_be_between",
            {"column": "text", "min_value": 0.5},
            "",
        ),
    ),
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    import pandas as pd

    connection = duckdb.connect()
    connection.register("fixture_rows", pd.DataFrame(rows()))
    connection.execute("create schema m")
    connection.execute("create table m.t as select * from fixture_rows")
    return connection


@pytest.fixture(scope="module")
def runner() -> SuiteRunner:
    return SuiteRunner()


def _gx_day(con: duckdb.DuckDBPyConnection, runner: SuiteRunner, day: dt.date):
    frame = con.execute("select * from m.t where partition_date = ?", [day]).df()
    return runner.validate(frame, SUITE, run_name=f"test_{day}")


@pytest.mark.parametrize("day", [DAY_1, DAY_2])
def test_sql_verdicts_equal_gx_verdicts_day_by_day(con, runner, day: dt.date) -> None:
    assert plan(SUITE).gx_only == ()
    sql = judge(con, "m.t", "partition_date", [DAY_1, DAY_2], SUITE)[day.isoformat()]
    gx = _gx_day(con, runner, day)
    assert sql.rows == gx.rows == 40
    assert len(sql.outcomes) == len(gx.outcomes) == len(SUITE.expectations)
    for ours, theirs in zip(sql.outcomes, gx.outcomes, strict=True):
        label = (ours.expectation, ours.column)
        assert (ours.expectation, ours.column) == (theirs.expectation, theirs.column)
        assert ours.status == theirs.status, label
        assert ours.unexpected_count == theirs.unexpected_count, label
        if theirs.unexpected_percent is not None:
            assert ours.unexpected_percent == pytest.approx(theirs.unexpected_percent), label
        if theirs.observed_value is not None and ours.observed_value is not None:
            assert ours.observed_value == pytest.approx(theirs.observed_value), label
    if day == DAY_1:
        assert sql.status is Status.PASSED, [o.describe() for o in sql.failures]
    else:
        # Every planted defect but the ignored null published_at; mean and median hold.
        assert len(sql.failures) == 11
        assert sql.judged["rows_judged"] == 40


def test_failures_carry_the_keys_of_unexpected_rows(con) -> None:
    outcome = judge(con, "m.t", "partition_date", [DAY_2], SUITE)[DAY_2.isoformat()]
    unique = next(
        o for o in outcome.failures if o.expectation.endswith("compound_columns_to_be_unique")
    )
    assert unique.unexpected_count == 2
    assert {e["comment_id"] for e in unique.examples} == {"02-2"}
    nulls = next(o for o in outcome.failures if o.expectation.endswith("to_not_be_null"))
    assert nulls.examples[0]["comment_id"] is None and nulls.unexpected_count == 1


def test_a_missing_column_is_an_error_of_that_expectation_only(con) -> None:
    broken = Suite(
        "broken",
        (
            Expectation("expect_column_values_to_not_be_null", {"column": "no_such"}, ""),
            Expectation("expect_column_values_to_not_be_null", {"column": "text"}, ""),
        ),
    )
    outcome = judge(con, "m.t", "partition_date", [DAY_1], broken)[DAY_1.isoformat()]
    assert outcome.status is Status.ERROR
    error, fine = outcome.outcomes
    assert error.status is Status.ERROR and "no_such" in error.error
    assert fine.status is Status.PASSED


def test_a_day_below_min_rows_and_an_empty_day_are_skipped(con) -> None:
    profile = Suite("p", SUITE.expectations[-3:], min_rows=41)
    days = [DAY_1, DAY_2, DAY_2 + dt.timedelta(days=1)]
    judged = judge(con, "m.t", "partition_date", days, profile)
    assert [judged[d.isoformat()].status for d in days] == [Status.SKIPPED] * 3
    assert judged[days[-1].isoformat()].reason == "no rows"


def test_the_sample_is_bounded_and_deterministic(con) -> None:
    window = (DAY_1, DAY_2 + dt.timedelta(days=1))
    keys = ("partition_date", "comment_id")
    first = sample_frame(con, "m.t", "partition_date", window, keys, 25)
    again = sample_frame(con, "m.t", "partition_date", window, keys, 25)
    assert len(first) == 25 and first.equals(again)
    assert set(first["partition_date"].astype(str).str[:10]) == {"2024-03-01", "2024-03-02"}


def test_python_unicode_escapes_become_re2_escapes() -> None:
    assert re2_pattern(r"[\ufeff]|a\\ufeff") == r"[\x{feff}]|a\\ufeff"


def test_the_real_suites_are_judged_entirely_in_the_warehouse() -> None:
    settings = Settings.from_env()
    config = load_config(settings.observability_file).expectations
    policy = Policy.load(settings.policy_file)
    for suite in (*stg_comments_suites(policy, config), *comment_features_suites(policy, config)):
        assert plan(suite).gx_only == (), suite.name
