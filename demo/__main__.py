"""`make demo`: land a dataset, materialize every asset for the landed days, summarize.

    python -m demo                       # synthetic stream (the default)
    python -m demo --youtube <folder>    # the UCI YouTube Spam Collection's five CSVs

Every asset runs in one run of the code location's asset job, recorded in $DAGSTER_HOME so
that it shows up later in `make ui`, with a progress line per stage as it goes. The daily
partitions start at the data's first day (written to $SLUICE_DATA_DIR/sluice.env).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from demo.summary import summary
from ingest.landing import COMMENTS_PREFIX, InvalidLandingKey, parse_landing_key
from ingest.policy import Policy
from settings import PROJECT_ROOT, Settings, env_file
from storage.object_store import ObjectStore, open_store


def _ensure_dagster_home(settings: Settings) -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", f"{settings.data_dir}/dagster_home"))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def _reset_if_dataset_changed(settings: Settings, dataset: str) -> None:
    """Start clean when the demo switches datasets, so counts describe one dataset.

    Only the embedded local default is ever wiped; a configured bucket is never touched.
    """
    if settings.data_dir.startswith("s3://") or not settings.landing.startswith(settings.data_dir):
        return
    marker = Path(settings.data_dir) / ".demo_dataset"
    if marker.exists() and marker.read_text() != dataset:
        print(f"demo: dataset changed ({marker.read_text()} -> {dataset}); clearing demo data")
        for path in (settings.landing, settings.model_store, settings.exports):
            shutil.rmtree(path, ignore_errors=True)
        Path(settings.warehouse).unlink(missing_ok=True)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(dataset)


def landed_days(store: ObjectStore) -> tuple[list[dt.date], list[str]]:
    """Days with comment files, and keys that no partition can own."""
    days, refused = set(), []
    for info in store.list(COMMENTS_PREFIX):
        try:
            days.add(parse_landing_key(info.key).landed_date)
        except InvalidLandingKey as err:
            refused.append(str(err))
    return sorted(days), refused


def materialization_waves() -> list[tuple[bool, list[str]]]:
    """Asset keys as the fewest `dagster asset materialize` runs: (partitioned, keys) groups
    in runnable order, for tools that run the stages through the CLI.

    The CLI puts daily and unpartitioned assets in separate runs (a partition range needs a
    single-run backfill policy on every selected asset), so runs alternate daily (even
    positions) and unpartitioned (odd); each asset joins the first run of its kind after
    every parent of the other kind and not before its parents of its own kind.
    """
    from definitions import defs

    graph = defs.resolve_asset_graph()
    position: dict = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        daily = node.partitions_def is not None
        at = 0 if daily else 1
        for parent in node.parent_keys:
            if parent in position:
                parent_daily = graph.get(parent).partitions_def is not None
                at = max(at, position[parent] + (parent_daily != daily))
        position[key] = at + ((at % 2 == 1) == daily)  # the next run of this asset's kind
    groups: dict[int, list[str]] = {}
    for key, at in position.items():
        groups.setdefault(at, []).append(key.to_user_string())
    return [(at % 2 == 0, groups[at]) for at in sorted(groups)]


def materialize(keys: list[str], partition_range: str | None) -> None:
    """One `dagster asset materialize` run (for tools that run the CLI's waves)."""
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-f", "definitions.py",
           "--select", ",".join(keys)]  # fmt: skip
    if partition_range:
        cmd += ["--partition-range", partition_range]
    where = f" for {partition_range}" if partition_range else ""
    print(f"demo: materializing {', '.join(keys)}{where}")
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-20000:] + done.stderr[-20000:])
        raise SystemExit(f"demo: the run for {', '.join(keys)} failed (log above)")


def write_partition_range(first: dt.date, last: dt.date) -> Path | None:
    """Make the daily partitions span the data's days, first to last, for every later process
    (runs, `make ui`), through the data folder's env file: the UI then shows the demo's days
    fully materialized, not years of empty ones. SLUICE_START_DATE / SLUICE_END_DATE set in
    the environment win and are not written; a file in an S3 data folder cannot be."""
    bounds = {"SLUICE_START_DATE": first, "SLUICE_END_DATE": last}
    lines = [
        f"{name}={day.isoformat()}\n" for name, day in bounds.items() if name not in os.environ
    ]
    path = env_file()
    if not lines or path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument("--youtube", type=Path, help="folder holding the five Youtube0*.csv files")
    parser.add_argument("--days", type=int, default=30, help="synthetic: number of days")
    parser.add_argument("--per-day", type=int, default=200, help="synthetic: comments per day")
    parser.add_argument("--start", default="2024-01-01", help="synthetic: first day")
    parser.add_argument("--seed", type=int, default=7, help="synthetic: random seed")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    _ensure_dagster_home(settings)
    if args.youtube:
        folder = args.youtube.expanduser().resolve()
        if not sorted(folder.glob("Youtube0*.csv")):
            parser.error(f"{folder} holds no Youtube0*.csv files (see README: Demo data)")
        dataset = f"youtube:{folder}"
    else:
        dataset = f"synthetic:{args.start}:{args.days}:{args.per_day}:{args.seed}"
    _reset_if_dataset_changed(settings, dataset)
    store = open_store(settings.landing)
    if args.youtube:
        from demo.youtube import land_youtube

        report = land_youtube(folder, store)
    else:
        from demo.synthetic import generate

        start = dt.date.fromisoformat(args.start)
        report = generate(store, start=start, days=args.days, per_day=args.per_day, seed=args.seed)
    print(f"demo: landed {report.records} records in {len(report.files)} files "
          f"into {store.uri()}")  # fmt: skip

    days, refused = landed_days(store)
    for reason in refused:
        print(f"demo: refused {reason}")
    if not days:
        print("demo: nothing landed", file=sys.stderr)
        return 1
    # Records may belong to a day before the file landed (late arrivals): start there.
    first = days[0] - dt.timedelta(days=Policy.load(settings.policy_file).late_arrival_days)
    last = days[-1]  # records arrive late, never early
    if "SLUICE_START_DATE" in os.environ:
        first = max(first, settings.start_date)
    if "SLUICE_END_DATE" in os.environ and settings.end_date:
        last = min(last, settings.end_date)
    if range_file := write_partition_range(first, last):
        print(
            f"demo: daily partitions {first} … {last} ({range_file}; remove it to land newer days)"
        )
    from demo.run import run_everything  # imports Dagster and the code location: after the file

    if not run_everything(first, last, Path(settings.data_dir) / "demo_run.log"):
        return 1
    print()
    print(summary(settings.warehouse, settings.model_store))
    return 0


if __name__ == "__main__":
    sys.exit(main())
