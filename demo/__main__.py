"""`make demo`: land a dataset, materialize every asset for the landed days, summarize.

    python -m demo                       # synthetic stream (the default)
    python -m demo --youtube <folder>    # the UCI YouTube Spam Collection's five CSVs

Runs go through `dagster asset materialize` against $DAGSTER_HOME, exactly as a
user's backfill would, so they show up later in `make ui`.
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
from settings import PROJECT_ROOT, Settings
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
    """Asset keys in runnable order, as (partitioned, keys) groups.

    A run covers either daily or unpartitioned assets, so an asset's wave is the number of
    times the partitioning switches along its ancestry; groups of one wave are independent.
    """
    from definitions import defs

    graph = defs.resolve_asset_graph()
    level: dict = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        daily = node.partitions_def is not None
        level[key] = max(
            (level[p] + ((graph.get(p).partitions_def is not None) != daily)
             for p in node.parent_keys if p in level),
            default=0,
        )  # fmt: skip
    groups: dict[tuple[int, bool], list[str]] = {}
    for key, n in level.items():
        groups.setdefault((n, graph.get(key).partitions_def is not None), []).append(
            key.to_user_string()
        )
    # Daily groups first within a wave: unpartitioned checks (dbt relationships) may read them.
    order = sorted(groups, key=lambda group: (group[0], not group[1]))
    return [(daily, groups[(n, daily)]) for n, daily in order]


def materialize(keys: list[str], partition_range: str | None) -> None:
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
    late = Policy.load(settings.policy_file).late_arrival_days
    first = max(days[0] - dt.timedelta(days=late), settings.start_date)
    partition_range = f"{first}...{days[-1]}"
    for partitioned, keys in materialization_waves():
        materialize(keys, partition_range if partitioned else None)
    print()
    print(summary(settings.warehouse, settings.model_store))
    return 0


if __name__ == "__main__":
    sys.exit(main())
