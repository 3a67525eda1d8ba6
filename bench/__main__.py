"""`python -m bench` (`make bench`): run every benchmark in this folder, one after another.

    python -m bench                        # every bench_*.py module
    python -m bench label_model end_model  # those whose name contains one of the words

Each benchmark runs in its own process (`from bench.<module> import main; main([])`), so one
benchmark's threads, imports and memory do not colour the next one's timings, and a failure
does not stop the others. They share one temporary folder (`SLUICE_BENCH_CACHE`) for inputs
that several of them build, such as the YouTube warehouse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    failed, elapsed = [], {}
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as shared:
        env = {**os.environ, "SLUICE_BENCH_CACHE": shared}
        for name in names:
            print(f"\n=== bench.{name} ===", flush=True)
            start = time.perf_counter()
            code = f"from bench.{name} import main; main([])"
            done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env)
            elapsed[name] = time.perf_counter() - start
            if done.returncode != 0:
                failed.append(name)
    print("\n=== summary ===")
    for name, seconds in elapsed.items():
        status = "FAILED" if name in failed else "ok"
        print(f"{name:28s} {status:6s} {seconds:8.1f} s")
    print(f"{'total':28s} {'':6s} {sum(elapsed.values()):8.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
