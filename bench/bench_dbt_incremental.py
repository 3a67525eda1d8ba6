"""Benchmark: the cost of building one new day with 1 day versus 365 days of history.

The day-windowed dbt models promise that a new day costs the same whatever the length of
history (DESIGN.md, "Incremental by construction"). This builds two warehouses from the
same synthetic generator, one with 1 day of history and one with 365, builds the history
in one dbt run each (as a Dagster backfill would), then times the same new day on both
with exactly the command Dagster runs for one partition (`assets.dbt_args.build_args`).
Each new day is run several times, alternating between the two warehouses (re-runs are
idempotent, so every run does the same work), and the median is kept. Results are
printed as JSON (and written to bench/results/dbt_incremental.json); the ratios should be
close to 1, and the CPU-time ratio (steadier than wall time on a shared machine) must stay
<= 1.2 or the run exits with MISSED_TARGET. Not part of the test suite.

    .venv/bin/python -m bench.bench_dbt_incremental [--rows-per-day 1000] [--history-days 365]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from assets.dbt_args import build_args, partition_window_vars, vars_args
from bench.machine import MISSED_TARGET, write_result
from ingest.raw_tables import QUARANTINE_SCHEMA, RAW_COMMENTS_SCHEMA, replace_partition
from settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
FIRST_DAY = dt.date(2014, 1, 1)
# A new day with a year of history may cost at most this much more than with one day.
MAX_RATIO = 1.2
MIDNIGHT = dt.time(0)

# Message shapes seen in real comment streams: plain opinions, markup and entities from
# HTML exports, invisible characters, links and copy-pasted promotions.
TEMPLATES = (
    "I love this song {n}",
    "best video ever &lt;3\ufeff",
    'Check out my channel!!! <a href="http://example.com/c/{n}">example.com/c/{n}</a>\ufeff',
    "who&#39;s listening in {year}?<br />",
    "sub\u200bscribe to me and I&amp;#39;ll sub back {n}",
    "노래 좋아요 😀 {n}",
    "WIN A FREE PHONE at www.prize{n}.com\u00a0NOW",
    "this is sooooo good @friend{n} #music",
)
COPY_PASTE = tuple(f"Earn money from home, visit site{n}.example today!!" for n in range(50))


def synthetic_day(day: dt.date, day_index: int, rows: int, seed: int) -> pa.Table:
    """One day of raw comments; the same `day_index` and `seed` give the same rows."""
    rng = np.random.default_rng([seed, day_index])
    recurring = rng.random(rows) < 0.7
    pool_ids = np.minimum(rng.zipf(1.3, rows), 5_000)
    template_ids = rng.integers(0, len(TEMPLATES), rows)
    copy_ids = rng.integers(0, len(COPY_PASTE), rows)
    is_copy = rng.random(rows) < 0.1
    seconds = rng.integers(0, 86_400, rows)
    undated = rng.random(rows) < 0.02
    numbers = rng.integers(0, 1_000, rows)
    midnight = dt.datetime.combine(day, MIDNIGHT)
    records = [
        {
            "comment_id": f"d{day_index}-{i}",
            "author": f"author{pool_ids[i]}" if recurring[i] else f"new{day_index}-{i}",
            "text": COPY_PASTE[copy_ids[i]]
            if is_copy[i]
            else TEMPLATES[template_ids[i]].format(n=numbers[i], year=day.year),
            "published_at": None
            if undated[i]
            else midnight + dt.timedelta(seconds=int(seconds[i])),
            "source": "bench",
            "partition_date": day,
            "landed_date": day,
            "source_file": f"comments/dt={day}/bench.jsonl",
            "source_record": i,
            "source_line": i + 1,
            "policy_version": "bench",
        }
        for i in range(rows)
    ]
    return pa.Table.from_pylist(records, schema=RAW_COMMENTS_SCHEMA)


def write_raw_history(warehouse: Path, days: int, rows: int, seed: int) -> None:
    """Land `days` days of history, then the new day, through ingest's own writer."""
    with duckdb.connect(str(warehouse)) as con:
        for index in range(days + 1):
            day = FIRST_DAY + dt.timedelta(days=index)
            kept = synthetic_day(day, index if index < days else 100_000, rows, seed)
            replace_partition(con, day, kept, QUARANTINE_SCHEMA.empty_table())


def run_dbt(args: list[str], warehouse: Path, target: Path) -> dict[str, Any]:
    """One dbt CLI run from dbt_project/; its wall time and the nodes' execution times."""
    env = {
        **os.environ,
        "SLUICE_WAREHOUSE": str(warehouse),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    # CPU time of the dbt child (DuckDB's threads included): on a shared machine it moves far
    # less with other people's load than wall time does.
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [str(dbt), *args],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("ru_utime", "ru_stime"))
    if result.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    nodes = json.loads((target / "run_results.json").read_text())["results"]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "models_s": sum(n["execution_time"] for n in nodes if n["unique_id"].startswith("model.")),
        "tests_s": sum(n["execution_time"] for n in nodes if n["unique_id"].startswith("test.")),
    }


def window(start: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    begin = dt.datetime.combine(start, MIDNIGHT, tzinfo=dt.UTC)
    return begin, begin + dt.timedelta(days=days)


@dataclass
class Scenario:
    """A warehouse with `history_days` of built history and its new day's dbt command."""

    history_days: int
    warehouse: Path
    target: Path
    new_day_args: list[str]
    history_build_wall_s: float
    runs: list[dict[str, float]] = field(default_factory=list)


def prepare(history_days: int, rows: int, seed: int, root: Path) -> Scenario:
    """Land and build `history_days` of history in one dbt run, as a Dagster backfill would."""
    folder = root / f"history_{history_days}"
    folder.mkdir()
    warehouse = folder / "warehouse.duckdb"
    target = folder / "target"
    write_raw_history(warehouse, history_days, rows, seed)
    history_vars = vars_args(partition_window_vars(*window(FIRST_DAY, history_days)))
    history = run_dbt(["run", "--select", "tag:daily", *history_vars], warehouse, target)
    new_day = FIRST_DAY + dt.timedelta(days=history_days)
    # What Dagster runs for one partition of the daily dbt assets.
    new_day_args = [*build_args(window(new_day, 1)), "--select", "tag:daily"]
    new_day_args += ["--exclude", "tag:unpartitioned"]
    return Scenario(history_days, warehouse, target, new_day_args, history["wall_s"])


def summary(scenario: Scenario, rows: int) -> dict[str, Any]:
    with duckdb.connect(str(scenario.warehouse), read_only=True) as con:
        (features,) = con.execute("select count(*) from main.comment_features").fetchone()
    median = {
        key: round(statistics.median(run[key] for run in scenario.runs), 3)
        for key in ("wall_s", "cpu_s", "models_s", "tests_s")
    }
    return {
        "history_days": scenario.history_days,
        "history_rows": scenario.history_days * rows,
        "history_build_wall_s": round(scenario.history_build_wall_s, 2),
        "feature_rows_after": features,
        "new_day_wall_s": median["wall_s"],
        "new_day_cpu_s": median["cpu_s"],
        "new_day_models_s": median["models_s"],
        "new_day_tests_s": median["tests_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-day", type=int, default=1_000)
    parser.add_argument("--history-days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as scratch:
        scenarios = [
            prepare(days, args.rows_per_day, args.seed, Path(scratch))
            for days in (1, args.history_days)
        ]
        # Alternate the two so that drift in machine load hits both alike.
        for _ in range(args.repeats):
            for scenario in scenarios:
                scenario.runs.append(
                    run_dbt(scenario.new_day_args, scenario.warehouse, scenario.target)
                )
        short, long = (summary(scenario, args.rows_per_day) for scenario in scenarios)
    report = {
        "benchmark": "dbt_incremental_new_day",
        "rows_per_day": args.rows_per_day,
        "repeats": args.repeats,
        "history_1": short,
        f"history_{args.history_days}": long,
        "ratio_wall": round(long["new_day_wall_s"] / short["new_day_wall_s"], 3),
        "ratio_cpu": round(long["new_day_cpu_s"] / short["new_day_cpu_s"], 3),
        "ratio_models": round(long["new_day_models_s"] / short["new_day_models_s"], 3),
        "ratio_tests": round(long["new_day_tests_s"] / short["new_day_tests_s"], 3),
    }
    report["target"] = f"ratio_cpu <= {MAX_RATIO}"
    report["met"] = report["ratio_cpu"] <= MAX_RATIO
    write_result("dbt_incremental", report)
    print(json.dumps(report, indent=2))
    return 0 if report["met"] else MISSED_TARGET


if __name__ == "__main__":
    main()
