"""The run launcher's health check: how it tells a live run worker from a dead one, and the
private Dagster names it relies on (this fails loudly when an upgrade moves them)."""

import os
import subprocess
import sys
import time

from resources.run_launcher import SluiceRunLauncher, process_state


def test_the_private_launcher_api_is_still_where_the_adapter_imports_it():
    from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

    assert {"RUNNING", "FAILED"} <= set(WorkerStatus.__members__)
    assert CheckRunHealthResult(WorkerStatus.FAILED, "why").msg == "why"
    assert SluiceRunLauncher.supports_check_run_worker_health.fget(None) is True


def test_a_live_process_is_alive_and_a_dead_one_is_gone():
    assert process_state(os.getpid(), started_by=time.time()) is None
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_state(child.pid, started_by=time.time()) == "is gone"


def test_a_pid_reused_by_a_younger_process_is_not_the_worker():
    assert "younger process" in process_state(os.getpid(), started_by=0.0)
