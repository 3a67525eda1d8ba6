"""dbt's process never outlives the step that started it (issue 11, item 2).

`_stream_with_metadata` (assets/transform.py, through `resources.dbt.guarded`) starts a
watchdog beside dbt's process. Here a stand-in for dbt (`sleep`) plays the child: when the
step's process is SIGKILLed the child dies at once; when the step ends early (an error while
streaming) the step stops the child itself; when the step ends normally the watchdog leaves
without touching anything. The full pipeline version, with real dbt and a real run, is in
test_crash_recovery.py.
"""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings import PROJECT_ROOT
from tests.harness import alive

WATCHDOG_MARK = "dbt_watchdog.py"  # in the watchdog's command line (resources/dbt_watchdog.py)


class FakeInvocation:
    """What `_stream_with_metadata` uses of dagster-dbt's DbtCliInvocation."""

    termination_timeout_seconds = 5.0
    target_path = "/nonexistent/fake-dbt-target"  # not under dbt_project/target: never removed

    def __init__(self, process: subprocess.Popen, events: Iterator[str]) -> None:
        self.process = process
        self._events = events

    def stream(self) -> "FakeInvocation":
        return self

    def fetch_row_counts(self) -> "FakeInvocation":
        return self

    def fetch_column_metadata(self, with_column_lineage: bool) -> Iterator[str]:
        return self._events


def watchdogs(expected: int = 0, timeout: float = 5.0) -> list[int]:
    """This process's children that are watchdogs, once there are `expected` of them (a
    process just started may take a moment to show its command line), or after `timeout`."""
    deadline = time.monotonic() + timeout
    while len(found := _watchdogs()) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def _watchdogs() -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        for pid in map(int, Path(f"/proc/{os.getpid()}/task/{task}/children").read_text().split()):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if WATCHDOG_MARK.encode() in cmd and alive(pid):
                found.append(pid)
    return found


@pytest.fixture(scope="module")
def stream_with_metadata():
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    from assets.transform import _stream_with_metadata

    return _stream_with_metadata


def test_a_normal_end_leaves_dbt_alone_and_the_watchdog_exits(stream_with_metadata):
    child = subprocess.Popen(["sleep", "0.5"])

    def events() -> Iterator[str]:
        yield "model"
        child.wait()  # dagster-dbt's stream ends once dbt has exited

    stream = stream_with_metadata(FakeInvocation(child, events()))
    assert next(stream) == "model"
    assert len(watchdogs(expected=1)) == 1
    assert list(stream) == []
    assert child.returncode == 0
    assert watchdogs() == []


def test_a_step_that_ends_early_stops_dbt(stream_with_metadata):
    child = subprocess.Popen(["sleep", "600"])

    def events() -> Iterator[str]:
        yield "model"
        raise RuntimeError("a metadata query failed")

    stream = stream_with_metadata(FakeInvocation(child, events()))
    assert next(stream) == "model"
    with pytest.raises(RuntimeError, match="metadata query failed"):
        next(stream)
    assert child.returncode == -signal.SIGINT  # asked to stop, as dagster-dbt asks dbt
    assert watchdogs() == []


STEP = """
import subprocess, sys, time
from tests.integration.test_crash_recovery_dbt_child import FakeInvocation
from assets.transform import _stream_with_metadata

child = subprocess.Popen(["sleep", "600"])

def events():
    print(child.pid, flush=True)
    time.sleep(600)
    yield "never"

for _ in _stream_with_metadata(FakeInvocation(child, events())):
    pass
"""


def test_dbt_dies_with_a_killed_step(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    env.update(SLUICE_DATA_DIR=str(tmp_path), PYTHONPATH=str(PROJECT_ROOT))
    step = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STEP)], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        child = int(step.stdout.readline())
        assert alive(child)
        step.kill()  # SIGKILL: no finally block, no atexit, nothing of the step runs
        step.wait()
        deadline = time.monotonic() + 2
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(child), "dbt's stand-in outlived the killed step"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(step.pid, signal.SIGKILL)
