"""How `make demo` runs the pipeline: the partitions' first day it leaves for `make ui`, the
fewest CLI runs the asset graph allows, and the progress line a stage prints."""

import datetime as dt
import itertools
import os
import subprocess
import sys

import pytest

from demo.__main__ import materialization_waves, write_partition_range
from demo.run import _Step
from settings import ENV_FILE_NAME, PROJECT_ROOT, Settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    names = ("SLUICE_START_DATE", "SLUICE_END_DATE", "SLUICE_ENV_FILE", "SLUICE_LANDING",
             "SLUICE_WAREHOUSE")  # fmt: skip
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLUICE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_the_demo_range_reaches_every_later_settings_reader(data_dir):
    assert Settings.from_env().start_date == dt.date(2013, 1, 1)  # the defaults, no file yet
    assert Settings.from_env().end_date is None
    written = write_partition_range(dt.date(2024, 1, 1), dt.date(2024, 1, 30))
    assert written == data_dir / ENV_FILE_NAME
    settings = Settings.from_env()
    assert (settings.start_date, settings.end_date) == (dt.date(2024, 1, 1), dt.date(2024, 1, 30))
    write_partition_range(dt.date(2013, 7, 1), dt.date(2015, 6, 1))  # a later demo
    settings = Settings.from_env()
    assert (settings.start_date, settings.end_date) == (dt.date(2013, 7, 1), dt.date(2015, 6, 1))


def test_partitions_span_exactly_the_range(data_dir):
    write_partition_range(dt.date(2024, 1, 1), dt.date(2024, 1, 30))
    probe = (
        "from orchestration import daily_partitions as p; "
        "keys = p.get_partition_keys(); print(len(keys), keys[0], keys[-1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
        check=True, env=os.environ.copy(),
    )  # fmt: skip
    assert done.stdout.split() == ["30", "2024-01-01", "2024-01-30"]


def test_explicit_bounds_win_and_are_left_alone(data_dir, monkeypatch):
    monkeypatch.setenv("SLUICE_START_DATE", "2020-05-01")
    monkeypatch.setenv("SLUICE_END_DATE", "2020-06-01")
    assert write_partition_range(dt.date(2024, 1, 1), dt.date(2024, 2, 1)) is None
    assert not (data_dir / ENV_FILE_NAME).exists()
    assert Settings.from_env().start_date == dt.date(2020, 5, 1)
    monkeypatch.delenv("SLUICE_END_DATE")
    write_partition_range(dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    assert (data_dir / ENV_FILE_NAME).read_text() == "SLUICE_END_DATE=2024-02-01\n"


def test_cli_waves_alternate_and_follow_the_graph():
    from definitions import defs

    graph = defs.resolve_asset_graph()
    waves = materialization_waves()
    kinds = [daily for daily, _ in waves]
    assert all(a != b for a, b in itertools.pairwise(kinds)), kinds
    wave_of = {key: n for n, (_, keys) in enumerate(waves) for key in keys}
    materializable = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert set(wave_of) == materializable
    for n, (daily, keys) in enumerate(waves):
        for key in keys:
            node = graph.get(_key(key))
            assert (node.partitions_def is not None) == daily, key
            for parent in node.parent_keys:
                name = parent.to_user_string()
                if name in wave_of:
                    assert wave_of[name] <= n, f"{key} runs before its parent {name}"
    # Daily ingest..votes, unpartitioned training, daily scores: every switch is needed.
    assert wave_of["raw_comments"] == wave_of["lf_votes"] == 0
    assert wave_of["gold_labels"] == wave_of["classifier"] == 1
    assert wave_of["comment_scores"] == 2


def _key(name: str):
    from dagster import AssetKey

    return AssetKey.from_user_string(name)


def test_a_stage_line_names_rows_days_and_checks():
    step = _Step(rows={"raw_comments": 5667}, days={"raw_comments": 32}, passed=3)
    assert step.line() == "raw_comments 5667 rows over 32 days; 3 checks passed"
    step.failed.append("lf_coverage_share_drift")
    assert step.line().endswith("3 checks passed, 1 failed (lf_coverage_share_drift)")
    assert _Step().line() == "done"
