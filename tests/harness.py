"""What several integration and e2e tests do the same way: prepare an instance as `make demo`
does, stop a process group they started, and tell whether a process is alive."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest


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
            break
        except subprocess.TimeoutExpired:
            continue
    # The leader is gone; children that ignored SIGTERM (the daemon's code servers) are not.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def prepare_instance(env: Mapping[str, str], first: dt.date, days: int) -> None:
    """Land `days` synthetic days from `first` and materialize every asset for them (a
    champion model included) in `make demo`'s waves, recorded in the instance under env's
    DAGSTER_HOME, with env's SLUICE_ settings."""
    from demo.synthetic import generate
    from resources import build_resources
    from resources.dbt import dbt_resource
    from settings import Settings
    from storage.object_store import LocalObjectStore

    patch = pytest.MonkeyPatch()
    try:
        for key, value in env.items():
            if key.startswith(("SLUICE_", "DAGSTER_")):
                patch.setenv(key, value)
        settings = Settings.from_env()
        generate(LocalObjectStore(settings.landing), start=first, days=days, per_day=80,
                 seed=5, label_share=0.4)  # fmt: skip
        resources = {**build_resources(settings), "dbt": dbt_resource()}
        last = first + dt.timedelta(days=days - 1)
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            materialize_waves(resources, instance, first, last)
    finally:
        patch.undo()


def alive(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
