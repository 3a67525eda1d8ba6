"""The `dbt` resource, and the guard that keeps dbt's process from outliving its step."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject

from resources.dbt_duckdb import release_in_process_duckdb
from settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
WATCHDOG = Path(__file__).with_name("dbt_watchdog.py")


def dbt_executable() -> str:
    """The dbt beside this interpreter, so a venv works without being activated."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    """The `dbt` resource: the repo's project and profiles.yml (warehouse from the env)."""
    return DbtCliResource(
        project_dir=DbtProject(project_dir=DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )


@contextlib.contextmanager
def guarded(invocation: DbtCliInvocation) -> Iterator[None]:
    """While the block streams dbt's events, a watchdog kills dbt if this process dies; if the
    block ends while dbt still runs (an error while streaming), dbt is stopped here. Either
    way dbt never outlives the step (it wrote on for seconds after a SIGKILLed run worker).
    Then dbt-duckdb's in-process database is released for the Python steps that follow."""
    dbt, watchdog, lifeline = invocation.process, None, -1
    try:
        read_end, lifeline = os.pipe()
        try:
            pidfd = os.pidfd_open(dbt.pid)  # Linux 5.3+
        except (AttributeError, OSError):
            pidfd = -1
        fds = [fd for fd in (read_end, pidfd) if fd >= 0]
        command = [sys.executable, "-I", "-S", str(WATCHDOG), str(read_end), str(pidfd)]
        try:
            watchdog = subprocess.Popen([*command, str(dbt.pid)], pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        yield
    finally:
        if dbt.poll() is None:  # the step is ending early: dbt must not run on
            dbt.send_signal(signal.SIGINT)
            try:
                dbt.wait(timeout=invocation.termination_timeout_seconds)
            except subprocess.TimeoutExpired:
                dbt.kill()
                dbt.wait()
        if lifeline >= 0:
            with contextlib.suppress(OSError):  # a watchdog killed by hand reads nothing
                os.write(lifeline, b"done")
            os.close(lifeline)
        if watchdog is not None:
            watchdog.wait()  # it exits at once on `done`
        release_in_process_duckdb()
        discard_run_target(invocation)


def discard_run_target(invocation: DbtCliInvocation) -> None:
    """Remove the invocation's own target folder once dbt succeeded and its events were read.

    dagster-dbt gives every invocation a folder under `dbt_project/target/` (manifest, compiled
    SQL, run results, a copy of the partial parse: 3.6 MB here), and one session left 24 MB of
    them. What later invocations need stays: the project's own `target/manifest.json` and
    partial parse. A failed invocation keeps its folder (dbt.log, the compiled SQL) to debug.
    """
    folder = Path(invocation.target_path)
    runs_root = DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")
    if (
        invocation.process.returncode == 0
        and folder.is_dir()
        and folder.resolve().parent == runs_root.resolve()
    ):
        shutil.rmtree(folder, ignore_errors=True)
