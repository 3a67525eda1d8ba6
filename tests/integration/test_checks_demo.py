"""After the synthetic demo (`python -m demo`, as `make demo` runs it), every check on the
demo's own data passes, and every day a check was planned for has its own evaluation: read
from the Dagster instance the demo wrote, as the UI reads it.

A failing check on the demo's data is a defect (a check that cries wolf), and a day planned
without an evaluation shows "Skipped" in the UI's Checks list beside "Passed" in its pane.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetCheckKey, DagsterInstance

from checks.catalog import sluice_checks
from resources.instance import CheckExecution, check_executions
from settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow]

Latest = dict[tuple[AssetCheckKey, str | None], CheckExecution]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DagsterInstance, Path]]:
    """The synthetic demo run into its own data folder and instance (minutes, not seconds)."""
    root = tmp_path_factory.mktemp("demo")
    home = root / "dagster_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env |= {"SLUICE_DATA_DIR": str(root), "DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance, root


def latest_executions(instance: DagsterInstance, keys: list[AssetCheckKey]) -> Latest:
    """The newest execution of each check on each partition (None: unpartitioned)."""
    latest: Latest = {}
    for key in keys:
        for execution in check_executions(instance, key):  # newest first
            latest.setdefault((key, execution.partition), execution)
    return latest


def all_check_keys(instance: DagsterInstance) -> list[AssetCheckKey]:
    """Every check the demo's runs touched (dbt tests included), from the instance."""
    from definitions import defs

    return sorted(defs.resolve_asset_graph().asset_check_keys, key=lambda k: k.to_user_string())


def test_every_check_on_the_demo_data_passes(demo) -> None:
    instance, _ = demo
    latest = latest_executions(instance, all_check_keys(instance))
    evaluated = {k: e.evaluation for k, e in latest.items() if e.evaluation is not None}
    failed = sorted(
        f"{key.to_user_string()}[{day}]: {evaluation.description}"
        for (key, day), evaluation in evaluated.items()
        if not evaluation.passed
    )
    assert not failed, "\n".join(failed[:40])
    names = {key.name for key, _ in evaluated}
    for name in ("lf_coverage_share_drift", "distribution_drift", "newest_partition_freshness"):
        assert name in names, f"{name} never ran on the demo"


def test_every_day_a_check_was_planned_for_has_its_own_evaluation(demo) -> None:
    """Sluice's own checks (checks/): no day left "Skipped" after a range run; a day not
    judged (too few rows, no history yet) says why in its metadata."""
    instance, _ = demo
    ours = sorted(
        (key for checks in sluice_checks() for key in checks.check_keys),
        key=lambda k: k.to_user_string(),
    )
    latest = latest_executions(instance, ours)
    planned_only = sorted(
        f"{key.to_user_string()}[{day}]" for (key, day), e in latest.items() if e.evaluation is None
    )
    assert not planned_only, f"{len(planned_only)} without evaluation: {planned_only[:20]}"
    for (key, _day), execution in latest.items():
        metadata = execution.evaluation.metadata
        if "judged" in metadata and metadata["judged"].value is False:
            assert metadata["why_not"].value, key

    drift = [e for (k, _), e in latest.items() if k.name == "lf_coverage_share_drift"]
    judged = [e for e in drift if e.evaluation.metadata["judged"].value]
    assert len(drift) >= 30 and len(judged) >= 25  # judged, not skipped into passing
    fresh = [e for (k, _), e in latest.items() if k.name == "newest_partition_freshness"]
    assert fresh and all(
        e.evaluation.metadata["judged_against"].value == "newest landed day" for e in fresh
    )
