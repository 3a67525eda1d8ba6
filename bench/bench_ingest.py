"""Benchmark: ingest of one day of synthetic comments, batch path vs per-record reference.

    .venv/bin/python -m bench.bench_ingest [--rows 1000000] [--engines batch,reference]

Lands one day of `--rows` synthetic comments with noise (demo/synthetic.py, the formats
`make demo` lands: JSON Lines, CSV and gzipped JSON Lines) in a temporary landing folder,
then ingests that day once per engine, each in its own process (so one engine's memory
does not colour the other's): read the landing files, apply the policy, replace the day
in a fresh DuckDB file. Reports per engine the ingest's wall time, the process's peak RSS
and the rows kept and quarantined, and checks that both engines wrote the same rows (their
data versions). CPU seconds are reported beside wall seconds: on a shared machine the
load average (in `machine`) says how far wall time stretched. Target for the batch engine:
a small share of the daily flow's 120 s and 2 GB at 1M rows, taken as <= 20 s and <= 1 GB.
Prints one JSON document and writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import MISSED_TARGET, machine, write_result

DAY = dt.date(2024, 6, 1)
TARGET_S = 20.0
TARGET_RSS_MB = 1024.0


def _child(landing: str, warehouse: str, engine: str) -> None:
    """Ingest DAY from `landing` into `warehouse` with one engine; print figures as JSON."""
    import resource

    import duckdb

    from ingest.day import LandingFile, folders_read_for, ingest_day, ingest_day_reference
    from ingest.landing import comments_prefix
    from ingest.policy import Policy
    from ingest.raw_tables import replace_partition
    from settings import PROJECT_ROOT
    from storage.object_store import LocalObjectStore

    policy = Policy.load(PROJECT_ROOT / "policies" / "ingest.yml")
    store = LocalObjectStore(Path(landing))
    start, cpu = time.perf_counter(), time.process_time()
    files = [
        LandingFile(info.key, folder, store.get_bytes(info.key), info.etag, info.last_modified)
        for folder in folders_read_for(DAY, policy)
        for info in store.list(comments_prefix(folder))
    ]
    run = ingest_day if engine == "batch" else ingest_day_reference
    result = run(DAY, files, policy)
    with duckdb.connect(warehouse) as con:
        replace_partition(con, DAY, result.kept, result.quarantined)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "engine": engine,
        "ingest_s": round(seconds, 2),
        "ingest_cpu_s": round(cpu_seconds, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "records_in": result.records_in,
        "kept": result.kept.num_rows,
        "quarantined": result.quarantined.num_rows,
        "quarantined_by_reason": result.quarantined_by_reason,
        "data_version": result.data_version(),
    }))  # fmt: skip


def _run_engine(landing: Path, folder: Path, engine: str) -> dict[str, Any]:
    code = (
        "import sys; from bench.bench_ingest import _child; "
        f"_child({str(landing)!r}, {str(folder / (engine + '.duckdb'))!r}, {engine!r})"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1]
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} ingest failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = round(time.perf_counter() - start, 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="batch,reference")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

    from demo.synthetic import generate
    from storage.object_store import LocalObjectStore

    result: dict[str, Any] = {"machine": machine(), "rows": args.rows, "day": DAY.isoformat()}
    with tempfile.TemporaryDirectory(prefix="sluice-bench-ingest-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(LocalObjectStore(folder / "landing"), DAY, days=1, per_day=args.rows, seed=0)
        result["landing_s"] = round(time.perf_counter() - start, 2)
        result["engines"] = {
            engine: _run_engine(folder / "landing", folder, engine)
            for engine in args.engines.split(",")
        }
    engines = result["engines"]
    versions = {figures["data_version"] for figures in engines.values()}
    result["same_rows"] = len(versions) == 1
    batch = engines.get("batch")
    result["target"] = {"ingest_s": TARGET_S, "peak_rss_mb": TARGET_RSS_MB}
    missed = []
    if batch is not None:
        if batch["ingest_s"] > TARGET_S:
            missed.append(f"ingest took {batch['ingest_s']} s (target <= {TARGET_S} s)")
        if batch["peak_rss_mb"] > TARGET_RSS_MB:
            missed.append(f"peak RSS {batch['peak_rss_mb']} MB (target <= {TARGET_RSS_MB} MB)")
    if not result["same_rows"]:
        missed.append(f"the engines wrote different rows: data versions {sorted(versions)}")
    result["missed"] = missed
    print(json.dumps(result, indent=2))
    for name, figures in engines.items():
        print(f"{name:10s} {figures['ingest_s']:8.2f} s ({figures['ingest_cpu_s']:.2f} s CPU)  "
              f"{figures['peak_rss_mb']:8.1f} MB peak  "
              f"{figures['kept']} kept, {figures['quarantined']} quarantined")  # fmt: skip
    if args.rows == 1_000_000:
        write_result("ingest", result)
    if missed:
        print("bench_ingest: MISSED TARGET: " + "; ".join(missed))
        return MISSED_TARGET
    return 0


if __name__ == "__main__":
    sys.exit(main())
