"""The label model refuses votes that the current LFs did not cast, naming the partitions
as ranges and the command that refreshes them."""

import datetime as dt

import pandas as pd
import pytest

from training.votes import StaleVotesError, check_votes_current, day_ranges

D = dt.date.fromisoformat
DAYS = [D("2024-01-01"), D("2024-01-02"), D("2024-01-03"), D("2024-01-05")]


def coverage(rows):
    return pd.DataFrame(rows, columns=["partition_date", "lf_name", "lf_version"])


def test_days_merge_into_ranges():
    assert day_ranges(DAYS) == [(DAYS[0], DAYS[2]), (DAYS[3], DAYS[3])]


def test_current_votes_pass():
    check_votes_current(coverage([(d, "a", "v1") for d in DAYS]), DAYS, ["a"], ["v1"])


def test_an_edited_lf_names_its_partitions_as_ranges_and_the_command():
    rows = [(d, "a", "v2" if d == DAYS[0] else "v1") for d in DAYS]
    with pytest.raises(StaleVotesError) as err:
        check_votes_current(coverage(rows), DAYS, ["a"], ["v2"])
    message = str(err.value)
    assert "['a']" in message and "2024-01-02...2024-01-03, 2024-01-05" in message
    assert "--select lf_votes --partition-range 2024-01-02...2024-01-05" in message


def test_a_new_lf_without_votes_is_refused_not_fitted_at_its_prior():
    rows = [(d, "a", "v1") for d in DAYS]
    with pytest.raises(StaleVotesError, match=r"\['new'\].*2024-01-01\.\.\.2024-01-03"):
        check_votes_current(coverage(rows), DAYS, ["a", "new"], ["v1", "n1"])
