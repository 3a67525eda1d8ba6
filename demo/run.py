"""The demo's one run: every asset of the code location, daily ones over the landed days,
with a progress line per stage as it finishes.

One run because start-up is what a small demo pays most for: each `dagster asset
materialize` process imports Dagster, dbt and the code location again, and the CLI splits
daily and unpartitioned assets into separate runs. Executed in this process, the asset job
takes daily and unpartitioned assets together (a range run's unpartitioned assets simply
have no partition), and the run is recorded in $DAGSTER_HOME like any other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
from dagster import DagsterEventType

# Where an asset's materialization says how many rows it wrote, in order of preference.
ROW_KEYS = ("dagster/row_count", "rows", "training_rows")
POLL_SECONDS = 0.5
_WATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
}


@dataclass
class _Step:
    """What one step did so far: rows and partitions per asset, check outcomes."""

    rows: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    passed: int = 0
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = []
        for asset, rows in self.rows.items():
            days = self.days.get(asset, 0)
            parts.append(f"{asset} {rows} rows" + (f" over {days} days" if days > 1 else ""))
        if self.failed:
            names = ", ".join(self.failed)
            parts.append(f"{self.passed} checks passed, {len(self.failed)} failed ({names})")
        elif self.passed:
            parts.append(f"{self.passed} checks passed")
        return "; ".join(parts) or "done"


def _rows(metadata: dict[str, Any]) -> int:
    for key in ROW_KEYS:
        if key in metadata and isinstance(metadata[key].value, int | float):
            return int(metadata[key].value)
    return 0


class Progress:
    """Follows a run's events in the instance (a second reader beside the run) and prints a
    line per finished step: its assets' rows (summed over the run's days), its checks, and
    its seconds."""

    def __init__(self, run_id: str, out: TextIO) -> None:
        self.run_id, self.out, self.started = run_id, out, time.monotonic()
        self.steps: dict[str, _Step] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._cursor: str | None = None

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _follow(self) -> None:
        with dg.DagsterInstance.get() as instance:
            while not self._stop.wait(POLL_SECONDS):
                self._read(instance)
            self._read(instance)  # what the run wrote after the last poll

    def _read(self, instance: dg.DagsterInstance) -> None:
        while True:
            page = instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=_WATCHED)
            for record in page.records:
                self._event(record.event_log_entry)
            self._cursor = page.cursor
            if not page.has_more:
                return

    def _event(self, entry: Any) -> None:
        event = entry.dagster_event
        step = self.steps.setdefault(entry.step_key or "run", _Step())
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            asset = materialization.asset_key.to_user_string()
            step.rows[asset] = step.rows.get(asset, 0) + _rows(materialization.metadata)
            step.days[asset] = step.days.get(asset, 0) + 1
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.passed:
                step.passed += 1
            else:
                step.failed.append(evaluation.check_name)
        else:
            seconds = (getattr(event.event_specific_data, "duration_ms", None) or 0) / 1000
            verb = "failed" if kind == DagsterEventType.STEP_FAILURE else "done"
            elapsed = time.monotonic() - self.started
            print(f"demo: {elapsed:6.1f}s  {entry.step_key} {verb} in {seconds:.1f}s: "
                  f"{step.line()}", file=self.out, flush=True)  # fmt: skip


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (Dagster's event log lines, dbt's output) to
    `log` for the block, at the file-descriptor level so that child processes follow; yield
    the terminal's stdout for progress lines."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    with log.open("w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            terminal.close()


def run_everything(first: dt.date, last: dt.date, log: Path) -> bool:
    """Materialize every asset (daily ones for first..last) in one run; print the log's tail
    when it fails."""
    from definitions import defs

    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.toposorted_asset_keys if graph.get(k).is_materializable]
    run_id = str(uuid.uuid4())  # known before the run starts, for Progress to follow
    print(f"demo: one run ({run_id[:8]}) for {len(keys)} assets, daily ones for {first}...{last}")
    log.parent.mkdir(parents=True, exist_ok=True)
    span = {"dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat()}  # fmt: skip
    job = defs.resolve_implicit_global_asset_job_def()
    with (
        dg.DagsterInstance.get() as instance,
        _output_to(log) as terminal,
        Progress(run_id, terminal),
    ):
        result = job.execute_in_process(
            instance=instance, asset_selection=keys, run_id=run_id, tags=span, raise_on_error=False
        )
    if not result.success:
        print(log.read_text(errors="replace")[-20000:], file=sys.stderr)
        print(f"demo: the run failed (log above; all of it in {log})", file=sys.stderr)
    return result.success
