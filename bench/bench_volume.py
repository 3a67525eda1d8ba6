"""Benchmark: one day of N synthetic comments through the daily flow and the retraining.

Measured as a user runs Sluice: every stage is a `python -m dagster asset materialize -f
definitions.py` process, timed with `/usr/bin/time -f "%e %M"` (wall seconds and the peak
resident set of the largest process of the tree, dbt's child included). For each size N a
fresh data folder and Dagster instance get one day of N comments from `demo.synthetic` plus
a small day, then:

    daily flow   raw_comments -> dbt daily models (with their checks) -> lf_votes
                 for both days, then comment_scores once a champion exists
    retraining   gold_labels ... classifier, one unpartitioned run

Goals (issue 12, at 1,000,000 rows): daily flow <= 120 s and <= 2 GB per process;
retraining <= 180 s and <= 4 GB. The report gives the 1M/100k cost ratio of each stage.
A run that includes 1M rows and misses a goal exits with MISSED_TARGET.

    .venv/bin/python -m bench.bench_volume [--rows 10000 100000 1000000] [--small-rows 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import MISSED_TARGET, machine, write_result
from settings import PROJECT_ROOT

BIG_DAY = dt.date(2024, 3, 1)
SMALL_DAY = BIG_DAY + dt.timedelta(days=1)
DBT_DAILY = "stg_comments,int_author_daily,int_text_daily,int_comment_history,comment_features"
RETRAIN = (
    "gold_labels,stg_gold_labels,author_activity,label_model,lf_summary,labeling_queue,"
    "weak_labels,training_set,classifier"
)
DAILY_STAGES = (("raw_comments", "raw_comments"), ("dbt_daily_models", DBT_DAILY))
GOAL_ROWS = 1_000_000
GOALS = {"daily_flow": (120.0, 2.0), "retraining": (180.0, 4.0)}  # seconds, GB


def land(data_dir: Path, rows: int, small_rows: int, seed: int) -> dict[str, int]:
    """The big day and the small day, in the synthetic generator's landing layout."""
    from demo.synthetic import generate
    from storage.object_store import open_store

    store = open_store(str(data_dir / "landing"))
    big = generate(store, start=BIG_DAY, days=1, per_day=rows, seed=seed, name="volume")
    small = generate(store, SMALL_DAY, days=1, per_day=small_rows, seed=seed + 1, name="small")
    return {"big_day_records": big.records, "small_day_records": small.records}


def materialize(select: str, partition: dt.date | None, env: dict[str, str], log: Path) -> dict:
    """One `dagster asset materialize` process: its wall time and peak RSS."""
    timing = log.with_suffix(".time")
    cmd = ["/usr/bin/time", "-f", "%e %M", "-o", str(timing), sys.executable, "-m", "dagster"]
    cmd += ["asset", "materialize", "-f", "definitions.py", "--select", select]
    if partition is not None:
        cmd += ["--partition", partition.isoformat()]
    with log.open("w") as out:
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall, kib = timing.read_text().split()[-2:]
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-6000:]
        raise RuntimeError(f"materialize {select} {partition} failed:\n{tail}")
    return {"wall_s": float(wall), "peak_rss_gb": round(int(kib) / 1024**2, 3)}


def run_size(rows: int, small_rows: int, seed: int, root: Path) -> dict[str, Any]:
    """Land, then run every stage of both flows for one size; per-stage figures."""
    data_dir = root / f"rows_{rows}"
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "SLUICE_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}
    env.pop("SLUICE_WAREHOUSE", None)
    started = time.perf_counter()
    landed = land(data_dir, rows, small_rows, seed)
    landing_s = time.perf_counter() - started
    stages: dict[str, dict] = {}

    def step(name: str, select: str, day: dt.date | None) -> None:
        tag = f"{name}@{day}" if day else name
        print(f"  {rows:>9,} rows: {tag} ...", flush=True)
        stages[tag] = materialize(select, day, env, data_dir / f"{tag}.log")
        print(f"  {rows:>9,} rows: {tag} {stages[tag]}", flush=True)

    for day in (BIG_DAY, SMALL_DAY):
        for name, select in (*DAILY_STAGES, ("lf_votes", "lf_votes")):
            step(name, select, day)
    step("retraining", RETRAIN, None)
    for day in (BIG_DAY, SMALL_DAY):
        step("comment_scores", "comment_scores", day)
    big = [v for k, v in stages.items() if k.endswith(f"@{BIG_DAY}")]
    small = [v for k, v in stages.items() if k.endswith(f"@{SMALL_DAY}")]
    return {
        "rows": rows,
        **landed,
        "landing_s": round(landing_s, 1),
        "stages": stages,
        "daily_flow": summed(big),
        "small_day_flow": summed(small),
        "retraining": stages["retraining"],
    }


def summed(stages: list[dict]) -> dict[str, float]:
    """A flow of several processes: total wall time, the largest process's peak RSS."""
    return {
        "wall_s": round(sum(s["wall_s"] for s in stages), 2),
        "peak_rss_gb": max(s["peak_rss_gb"] for s in stages),
    }


def verdicts(results: dict[int, dict]) -> dict[str, str]:
    """Each goal at 1M rows: met, MISSED (with the figures), or not judged."""
    if GOAL_ROWS not in results:
        return {flow: f"not judged ({GOAL_ROWS:,} rows not run)" for flow in GOALS}
    out = {}
    for flow, (seconds, gigabytes) in GOALS.items():
        got = results[GOAL_ROWS][flow]
        ok = got["wall_s"] <= seconds and got["peak_rss_gb"] <= gigabytes
        figures = f"{got['wall_s']:.0f} s, {got['peak_rss_gb']:.2f} GB"
        out[flow] = f"{'met' if ok else 'MISSED'}: {figures} (goal <= {seconds:.0f} s, "
        out[flow] += f"<= {gigabytes:.0f} GB)"
    return out


def table(results: dict[int, dict]) -> str:
    """Markdown: one row per stage, one column per size, wall s / peak GB."""
    sizes = sorted(results)
    names = [*results[sizes[0]]["stages"], "daily_flow", "small_day_flow", "retraining"]
    lines = ["| stage | " + " | ".join(f"{n:,} rows" for n in sizes) + " |"]
    lines.append("|---|" + "--:|" * len(sizes))
    for name in names:
        cells = []
        for n in sizes:
            fig = results[n]["stages"].get(name) or results[n][name]
            cells.append(f"{fig['wall_s']:.1f} s / {fig['peak_rss_gb']:.2f} GB")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios(results: dict[int, dict], high: int, low: int) -> dict[str, float]:
    """Wall-time ratio high/low rows per stage and flow (1.0 would be a fixed cost)."""
    if high not in results or low not in results:
        return {}
    a, b = results[high], results[low]
    pairs = {k: (a["stages"][k], b["stages"][k]) for k in a["stages"]}
    pairs |= {k: (a[k], b[k]) for k in ("daily_flow", "retraining")}
    return {k: round(x["wall_s"] / max(y["wall_s"], 1e-9), 2) for k, (x, y) in pairs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--small-rows", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    host = machine()
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sluice-volume-") as scratch:
        for rows in args.rows:  # in the order given: the most wanted size first if time is short
            results[rows] = run_size(rows, args.small_rows, args.seed, Path(scratch))
            # Written after every size, so a long run that is stopped keeps what it measured.
            report = {
                "benchmark": "volume",
                "machine": host,
                "load_average_1m_now": os.getloadavg()[0],
                "small_rows": args.small_rows,
                "results": {str(n): r for n, r in results.items()},
                "ratio_1m_over_100k": ratios(results, 1_000_000, 100_000),
                "goals": verdicts(results),
            }
            write_result("volume", report)
            print(table(results), flush=True)
    print(json.dumps(report, indent=2, default=str))
    print(table(results))
    missed = any(v.startswith("MISSED") for v in report["goals"].values())
    return MISSED_TARGET if missed else 0


if __name__ == "__main__":
    sys.exit(main())
