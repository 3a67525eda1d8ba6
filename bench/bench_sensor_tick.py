"""Benchmark: `landing_zone_sensor` tick time with 10,000 objects in an S3 landing prefix.

    .venv/bin/python -m bench.bench_sensor_tick [--objects 10000] [--days 365]

Starts a moto S3 server on 127.0.0.1 (the sensor talks HTTP to it, as to AWS), fills
`s3://bench/landing/comments/dt=.../` with the objects spread over the days up to
yesterday (written straight into moto's store: 10,000 HTTP PUTs would take a minute
and measure nothing of the sensor), and evaluates the sensor as the daemon does
(`evaluate_tick`, cursor carried from tick to tick, a real Dagster instance).
Prints one JSON document; the target is every tick under 2 s. moto serves from this
process, so tick times include the server's own work (a pessimistic figure).

Ticks measured: the first (no cursor: head plus a sweep slice, everything new), the
rest of the first sweep pass, steady ticks with nothing new, a tick after a file lands
in yesterday's folder (the head), and the ticks until a late file in a folder a year
old is found by the sweep.
"""

import argparse
import datetime as dt
import json
import logging
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import MISSED_TARGET

TARGET_S = 2.0
BUCKET = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fill(objects: int, days: int, today: dt.date) -> None:
    """`objects` small files over the `days` folders before today, in moto's own store."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["global"]
    for n in range(objects):
        day = today - dt.timedelta(days=1 + n % days)
        key = f"landing/comments/dt={day.isoformat()}/part-{n:05d}.jsonl"
        backend.put_object(BUCKET, key, f'{{"comment_id": "c{n}", "text": "t"}}\n'.encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        with tempfile.TemporaryDirectory() as home:
            result = _run(args.objects, args.days, home)
        print(json.dumps(result, indent=2))
    finally:
        server.stop()
    if not result["meets_target"]:
        print(f"bench_sensor_tick: MISSED the target: a tick took {result['max_tick_s']} s "
              f"(target < {result['target_s']} s)")  # fmt: skip
        return MISSED_TARGET
    return 0


def _run(objects: int, days: int, home: str) -> dict[str, Any]:
    import boto3
    import dagster as dg

    from assets.ingest import raw_comments
    from ingest.landing_scan import SWEEP_KEYS_PER_TICK
    from resources.policies import PoliciesResource
    from resources.stores import LandingZoneResource
    from resources.warehouse import WarehouseResource
    from sensors.landing_zone import landing_zone_sensor

    logging.getLogger("dagster").setLevel(logging.ERROR)
    today = dt.datetime.now(dt.UTC).date()
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    _fill(objects, days, today)
    zone = LandingZoneResource(uri=f"s3://{BUCKET}/landing")
    policies = PoliciesResource.from_settings()
    defs = dg.Definitions(
        assets=[raw_comments],
        sensors=[landing_zone_sensor],
        resources={
            "landing_zone": zone,
            "policies": policies,
            "warehouse": WarehouseResource(path=f"{home}/w.db"),
        },
    )
    instance = dg.DagsterInstance.local_temp(home)
    cursor: str | None = None

    def tick() -> tuple[float, list[str]]:
        """One evaluation; the partitions it requested."""
        nonlocal cursor
        context = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            definitions=defs,
            resources={"landing_zone": zone, "policies": policies},
        )
        start = time.perf_counter()
        data = landing_zone_sensor.evaluate_tick(context)
        elapsed = time.perf_counter() - start
        cursor = data.cursor or cursor
        return elapsed, [r.partition_key or "" for r in data.run_requests or []]

    first, first_requests = tick()
    pass_ticks = [first]
    while json.loads(cursor or "{}").get("after"):
        pass_ticks.append(tick()[0])
    steady = [tick()[0] for _ in range(5)]

    store = zone.store()
    yesterday = today - dt.timedelta(days=1)
    store.put_bytes(f"comments/dt={yesterday}/new.jsonl", b'{"comment_id": "n", "text": "t"}\n')
    head_tick, head_requests = tick()

    old = today - dt.timedelta(days=days - 5)
    store.put_bytes(f"comments/dt={old}/late.jsonl", b'{"comment_id": "l", "text": "t"}\n')
    late_ticks: list[float] = []
    while len(late_ticks) < len(pass_ticks) + 1:
        elapsed, requests = tick()
        late_ticks.append(elapsed)
        if old.isoformat() in requests:
            break
    else:
        raise SystemExit("bench: the late file was not found within one sweep pass")

    every = [*pass_ticks, *steady, head_tick, *late_ticks]
    return {
        "benchmark": "landing_zone_sensor tick, S3 (moto server over HTTP)",
        "note": "moto runs in this process: tick times include the server's work",
        "objects": objects,
        "day_folders": days,
        "sweep_keys_per_tick": SWEEP_KEYS_PER_TICK,
        "cursor_bytes": len(cursor or ""),
        "first_tick_s": round(first, 3),
        "first_tick_run_requests": len(first_requests),
        "first_pass_ticks": len(pass_ticks),
        "steady_tick_s_median": round(statistics.median(steady), 3),
        "new_file_in_head_tick_s": round(head_tick, 3),
        "new_file_in_head_requested": yesterday.isoformat() in head_requests,
        "late_file_found_after_ticks": len(late_ticks),
        "max_tick_s": round(max(every), 3),
        "target_s": TARGET_S,
        "meets_target": max(every) < TARGET_S,
    }


if __name__ == "__main__":
    sys.exit(main())
