"""The instance's run launcher: Dagster's default one, plus a health check of run workers.

Dagster's run monitoring (the daemon, `run_monitoring:` in dagster.yaml) asks the run launcher
whether the process of each STARTED run is still alive, and fails the run when it is not; the
daemon then frees the run's concurrency-pool slots (`free_slots_after_run_end_seconds`). The
DefaultRunLauncher cannot answer (`supports_check_run_worker_health` is False), so a run whose
process was SIGKILLed (or OOM-killed) stays STARTED for ever and keeps its slot in the
`duckdb_warehouse` pool: every later warehouse step of every run waits behind it. Runs the
daemon launched are failed by their code server when their process dies, but CLI runs
(`dagster asset materialize`, the README's backfills) and runs of a code server that was
restarted are seen by nobody.

This launcher answers from what every run records: its RUN_START event carries the run
worker's pid. The worker is alive while that pid exists, is not a zombie, and was started no
later than the run (a recycled pid belongs to a younger process). That holds only when the
instance's runs execute on this machine, as in Sluice's embedded default (SQLite storage
under DAGSTER_HOME); an instance whose runs execute elsewhere (Kubernetes, ECS) swaps this
launcher for that platform's, which checks its own workers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher

# No public API for a launcher's health answer: the one private import, pinned by
# tests/unit/test_run_launcher.py so that an upgrade that moves it fails loudly.
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

# A process that started this much after the run's RUN_START event is not its worker.
_PID_REUSE_SLACK_SECONDS = 2.0


def _process_start_time(pid: int) -> float | None:
    """When `pid` started (epoch seconds), from /proc; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def process_state(pid: int, started_by: float) -> str | None:
    """None when process `pid` is alive and started by `started_by`; else why it is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "is gone"
    except PermissionError:
        pass  # it exists, under another user
    if _is_zombie(pid):
        return "has exited"
    start = _process_start_time(pid)
    if start is not None and start > started_by + _PID_REUSE_SLACK_SECONDS:
        return "is gone (its pid now belongs to a younger process)"
    return None


class SluiceRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher that lets run monitoring detect run workers that died."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        records = self._instance.get_records_for_run(
            run.run_id, of_type=DagsterEventType.RUN_START, limit=1, ascending=False
        ).records
        event = records[0].event_log_entry if records else None
        pid = event.dagster_event.pid if event and event.dagster_event else None
        if pid is None:
            # Nothing to judge by: never call a worker dead without evidence.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no run worker pid recorded")
        why = process_state(pid, started_by=event.timestamp)
        if why is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        age = time.time() - event.timestamp
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker process (pid {pid}, started {age:.0f} s ago) {why}: killed "
            "(SIGKILL, out of memory) or crashed without reporting the end of the run",
        )

    def get_run_worker_debug_info(
        self, run: DagsterRun, include_container_logs: bool | None = True
    ) -> str | None:
        """The steps the dead worker had started and not finished: where to look first."""
        ended: set[str] = set()
        unfinished: list[str] = []
        records = self._instance.get_records_for_run(
            run.run_id,
            of_type={
                DagsterEventType.STEP_START,
                DagsterEventType.STEP_SUCCESS,
                DagsterEventType.STEP_FAILURE,
                DagsterEventType.STEP_SKIPPED,
            },
            ascending=False,
        ).records
        for record in records:  # newest first
            entry = record.event_log_entry
            if entry.step_key is None or entry.dagster_event is None:
                continue
            if entry.dagster_event.event_type != DagsterEventType.STEP_START:
                ended.add(entry.step_key)
            elif entry.step_key not in ended:
                unfinished.append(entry.step_key)
        if not unfinished:
            return None
        return f"Steps in progress when the worker died: {', '.join(unfinished)}."
