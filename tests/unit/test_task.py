"""`SLUICE_TASK` chooses the task (class names and LFs) everything reads: `training.task` and
the `labeling_functions` package alike; a name without a module fails saying so."""

import pandas as pd
import pydantic
import pytest

import labeling_functions
from settings import Settings
from training.task import task
from weak_supervision import apply_lfs_reference


def test_spam_is_the_default(monkeypatch):
    monkeypatch.delenv("SLUICE_TASK", raising=False)
    assert tuple(task().classes) == ("ham", "spam")
    assert tuple(labeling_functions.CLASSES) == ("ham", "spam")


def test_the_setting_switches_every_reader_to_ag_news(monkeypatch):
    monkeypatch.setenv("SLUICE_TASK", "ag_news")
    current = task()
    assert tuple(current.classes) == ("world", "sports", "business", "sci_tech")
    assert labeling_functions.LFS is current.lfs
    assert current.positive == 0  # four classes: plots follow class 0
    assert len(set(current.lf_versions())) == len(current.lfs)


def test_an_explicit_name_wins_over_the_setting(monkeypatch):
    monkeypatch.setenv("SLUICE_TASK", "ag_news")
    assert tuple(task("spam").classes) == ("ham", "spam")


def test_ag_news_lfs_vote_their_own_class_on_plain_cases():
    """Texts written here (not from the data set): each LF set votes for its topic."""
    current = task("ag_news")
    frame = pd.DataFrame(
        {
            "comment_id": ["w", "s", "b", "t"],
            "text": [
                "Troops killed in Baghdad as the prime minister calls for calm.",
                "The coach praised the quarterback after the 24-17 win.",
                "Shares of Acme Corp. fell after quarterly earnings missed; a $3 billion bid.",
                "Microsoft ships new wireless keyboard software.",
            ],
        }
    )
    matrix = apply_lfs_reference(None, frame, current.lfs)
    expected = {"w": 0, "s": 1, "b": 2, "t": 3}
    for row, cid in enumerate(matrix.ids):  # the matrix is sorted by id
        votes = set(matrix.L[row][matrix.L[row] != -1].tolist())
        assert votes == {expected[cid]}, (cid, votes)


def test_an_unknown_task_names_the_missing_module(monkeypatch):
    monkeypatch.setenv("SLUICE_TASK", "tickets")
    with pytest.raises(ModuleNotFoundError, match=r"labeling_functions/tickets\.py"):
        task()


def test_a_task_name_that_is_no_module_name_fails_at_load(monkeypatch):
    monkeypatch.setenv("SLUICE_TASK", "../spam")
    with pytest.raises(pydantic.ValidationError, match="task"):
        Settings.from_env()
