"""What several integration and e2e tests do the same way: materialize the pipeline as
`make demo` does, and stop a process group they started."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Mapping
from typing import Any

import dagster as dg


def materialize_waves(
    resources: Mapping[str, Any], instance: dg.DagsterInstance, first: dt.date, last: dt.date
) -> None:
    """Every asset for the days first..last, one range run per `make demo` wave."""
    from definitions import defs
    from demo.__main__ import materialization_waves

    span = {"dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(last)}  # fmt: skip
    for daily, keys in materialization_waves():
        result = dg.materialize(
            list(defs.assets),
            selection=[dg.AssetKey.from_user_string(k) for k in keys],
            resources=resources,
            instance=instance,
            tags=span if daily else {},
            raise_on_error=False,
        )
        assert result.success, f"materializing {keys} for {first}...{last} failed"


def stop_process_group(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """Terminate a process started in its own session and everything it started; kill what
    outlives the grace period."""
    for sig, grace in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
