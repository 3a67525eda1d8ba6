"""`python -m bench` (`make bench`): run every benchmark in this folder, one after another.

    python -m bench                        # every bench_*.py module
    python -m bench label_model end_model  # those whose name contains one of the words

Each benchmark runs in its own process (`from bench.<module> import main; main([])`), so one
benchmark's threads, imports and memory do not colour the next one's timings, and a failure
does not stop the others. A benchmark that ran but missed its target exits with
`MISSED_TARGET` and the summary says so: "done" never stands for a missed goal. They share
one temporary folder (`SLUICE_BENCH_CACHE`) for inputs
that several of them build, such as the YouTube warehouse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import MISSED_TARGET
from settings import PROJECT_ROOT

BENCH_DIR = Path(__file__).resolve().parent


def discover(words: list[str]) -> list[str]:
    """Module names of the benchmarks, sorted; only those matching `words` if any are given."""
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    return [n for n in names if not words or any(word in n for word in words)]


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    names = discover(words)
    if not names:
        print(f"bench: nothing matches {words}")
        return 1
    status, elapsed = {}, {}
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as shared:
        env = {**os.environ, "SLUICE_BENCH_CACHE": shared}
        for name in names:
            print(f"\n=== bench.{name} ===", flush=True)
            start = time.perf_counter()
            code = (
                f"import sys; from bench.{name} import main; r = main([]); "
                "sys.exit(r if isinstance(r, int) else 0)"
            )
            done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env)
            elapsed[name] = time.perf_counter() - start
            status[name] = {0: "done", MISSED_TARGET: "MISSED TARGET"}.get(
                done.returncode, f"FAILED ({done.returncode})"
            )
    print("\n=== summary ===")
    for name, seconds in elapsed.items():
        print(f"{name:28s} {status[name]:14s} {seconds:8.1f} s")
    print(f"{'total':28s} {'':14s} {sum(elapsed.values()):8.1f} s")
    return 0 if all(s == "done" for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
