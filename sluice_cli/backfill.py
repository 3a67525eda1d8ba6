"""Launch an asset backfill on the running instance through the webserver's GraphQL API.

    python -m sluice_cli.backfill 2024-01-01...2024-01-31            # every daily asset
    python -m sluice_cli.backfill 2024-01-01...2024-01-31 --assets raw_comments,lf_votes
    python -m sluice_cli.backfill 2024-01-01...2024-01-31 --wait     # until it finishes

Unlike `dagster asset materialize --partition-range` (one run, executed by that shell),
the backfill is handed to the instance's daemon: it appears on the UI's backfill page,
orders assets by their dependencies, honours each asset's backfill policy (Sluice's
daily assets are single-run, so the range is one run, not one per day) and survives
this command exiting. `dagster job backfill`, by contrast, launches one run per day.
Needs `make ui` (or `dagster dev`) running; only the standard library is used.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

ASSET_NODES = """
query SluiceAssetNodes {
  assetNodes { assetKey { path } isPartitioned isMaterializable }
}
"""
LAUNCH = """
mutation SluiceBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
STATUS = """
query SluiceBackfillStatus($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs { runId status } }
    ... on Error { message }
  }
}
"""
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
SUCCEEDED = {"COMPLETED", "COMPLETED_SUCCESS"}


class BackfillError(RuntimeError):
    """The webserver refused the request or could not be reached."""


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST one GraphQL request to `<url>/graphql`; its `data`, or BackfillError."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/graphql",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError) as err:
        cause = getattr(err, "reason", None) or err  # URLError wraps the socket's error
        raise BackfillError(
            f"cannot reach the Dagster webserver at {url} ({cause}). Is `make ui` running? "
            "It listens on http://localhost:$PORT (3000 by default): set PORT as you did for "
            "`make ui`, or pass --url"
        ) from err
    if answer.get("errors"):
        raise BackfillError("; ".join(e.get("message", str(e)) for e in answer["errors"]))
    return answer["data"]


def days_in(partition_range: str) -> list[str]:
    """The daily partition keys of `A...B`, both ends included."""
    first, sep, last = partition_range.partition("...")
    if not sep:
        raise ValueError(f"expected FIRST...LAST, got {partition_range!r}")
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    if end < start:
        raise ValueError(f"{partition_range}: the last day is before the first")
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def daily_assets(url: str) -> list[str]:
    """Every partitioned, materializable asset the webserver knows, as `a/b` key strings."""
    nodes = graphql(url, ASSET_NODES)["assetNodes"]
    return sorted(
        "/".join(n["assetKey"]["path"])
        for n in nodes
        if n["isPartitioned"] and n["isMaterializable"]
    )


def launch(url: str, assets: list[str], partitions: list[str], title: str) -> str:
    """Launch an asset backfill; its id."""
    params = {
        "assetSelection": [{"path": key.split("/")} for key in assets],
        "partitionNames": partitions,
        "title": title,
        "tags": [{"key": "sluice/launched_by", "value": "sluice_cli.backfill"}],
    }
    result = graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise BackfillError(f"{result['__typename']}: {result.get('message', '')}")
    return result["backfillId"]


def progress(backfill: dict[str, Any]) -> str:
    """One line: the backfill's status and its runs by status."""
    counts: dict[str, int] = {}
    for run in backfill["runs"]:
        counts[run["status"]] = counts.get(run["status"], 0) + 1
    runs = ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))
    return f"{backfill['status'].lower()}: {len(backfill['runs'])} run(s)" + (
        f" ({runs})" if runs else ""
    )


def wait(
    url: str,
    backfill_id: str,
    timeout: float,
    poll: float = 3.0,
    report: Callable[[str], None] = print,
    heartbeat: float = 15.0,
) -> dict[str, Any]:
    """Poll until the backfill finishes, reporting each change of progress, and the elapsed
    time every `heartbeat` s while nothing changes (the daemon can take a minute to start
    the first run); its last status. TimeoutError after `timeout` s."""
    start = time.monotonic()
    deadline, last, reported = start + timeout, "", start
    while True:
        backfill = graphql(url, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill["__typename"] != "PartitionBackfill":
            raise BackfillError(f"{backfill['__typename']}: {backfill.get('message', '')}")
        line, now = progress(backfill), time.monotonic()
        if line != last or now - reported >= heartbeat:
            report(f"backfill {backfill_id}: {line} after {now - start:.0f} s")
            last, reported = line, now
        if backfill["status"] in FINISHED:
            return backfill
        if time.monotonic() > deadline:
            status = backfill["status"]
            raise TimeoutError(f"backfill {backfill_id} still {status} after {timeout}s")
        time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sluice_cli.backfill", description=__doc__.split("\n")[0]
    )
    parser.add_argument("range", help="days to backfill: FIRST...LAST, both included")
    parser.add_argument(
        "--assets", help="comma-separated asset keys (default: every daily asset)", default=""
    )
    parser.add_argument(
        "--url",
        default=f"http://localhost:{os.environ.get('PORT', '3000')}",
        help="the Dagster webserver (default: http://localhost:$PORT, as `make ui`)",
    )
    parser.add_argument("--title", help="shown on the backfill page")
    parser.add_argument("--wait", action="store_true", help="wait until the backfill finishes")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds --wait may take")
    args = parser.parse_args(argv)
    try:
        partitions = days_in(args.range)
    except ValueError as err:
        parser.error(str(err))
    try:
        known = daily_assets(args.url)
        assets = [a.strip() for a in args.assets.split(",") if a.strip()] or known
        unknown = sorted(set(assets) - set(known))
        if unknown:
            parser.error(f"not daily assets of this instance: {', '.join(unknown)}")
        backfill_id = launch(args.url, assets, partitions, args.title or f"sluice {args.range}")
        print(f"backfill {backfill_id}: {len(assets)} asset(s) x {len(partitions)} day(s)")
        print(f"{args.url.rstrip('/')}/runs/b/{backfill_id}")
        if not args.wait:
            return 0
        backfill = wait(args.url, backfill_id, args.timeout, report=lambda s: print(s, flush=True))
    except (BackfillError, TimeoutError) as err:
        print(f"backfill: {err}", file=sys.stderr)
        return 1
    runs = ", ".join(f"{r['runId'][:8]} {r['status']}" for r in backfill["runs"])
    print(f"backfill {backfill_id}: {backfill['status']} ({len(backfill['runs'])} run(s): {runs})")
    return 0 if backfill["status"] in SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
