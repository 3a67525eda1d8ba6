"""The dbt arguments built from a Dagster partition window (pure functions, no dbt run)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assets.dbt_args import build_args, partition_window_vars, vars_args

UTC = dt.UTC


def day(year: int, month: int, dom: int) -> dt.datetime:
    return dt.datetime(year, month, dom, tzinfo=UTC)


def test_one_day_window_is_half_open() -> None:
    assert partition_window_vars(day(2015, 5, 1), day(2015, 5, 2)) == {
        "min_date": "2015-05-01",
        "max_date": "2015-05-02",
    }


def test_multi_day_window_spans_month_end() -> None:
    assert partition_window_vars(day(2015, 4, 29), day(2015, 5, 3)) == {
        "min_date": "2015-04-29",
        "max_date": "2015-05-03",
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (day(2015, 5, 2), day(2015, 5, 2)),
        (day(2015, 5, 3), day(2015, 5, 2)),
    ],
)
def test_empty_or_reversed_window_is_rejected(start: dt.datetime, end: dt.datetime) -> None:
    with pytest.raises(ValueError, match="empty partition window"):
        partition_window_vars(start, end)


def test_window_off_day_boundaries_is_rejected() -> None:
    with pytest.raises(ValueError, match="not at midnight"):
        partition_window_vars(day(2015, 5, 1), day(2015, 5, 2) + dt.timedelta(hours=6))


def test_vars_are_one_sorted_json_argument() -> None:
    args = vars_args({"max_date": "2015-05-02", "min_date": "2015-05-01"})
    assert args == ["--vars", '{"max_date": "2015-05-02", "min_date": "2015-05-01"}']
    assert json.loads(args[1]) == {"min_date": "2015-05-01", "max_date": "2015-05-02"}


def test_no_vars_add_no_argument() -> None:
    assert vars_args({}) == []


def test_build_args_for_a_window_skip_unit_tests() -> None:
    assert build_args((day(2015, 5, 1), day(2015, 5, 3))) == [
        "build",
        "--vars",
        '{"max_date": "2015-05-03", "min_date": "2015-05-01"}',
        "--exclude-resource-type",
        "unit_test",
    ]


def test_build_args_without_window_build_everything() -> None:
    assert build_args(unit_tests=True) == ["build"]
