"""The Snorkel 0.10 environment the comparisons run in: a separate venv, created on first use.

Snorkel pins versions of torch and numpy that this project must not inherit, so it lives in
`bench/.venv-snorkel` (gitignored). torch is installed first, from its CPU wheel, so that
Snorkel's own requirement is already met and no CUDA packages come; then Snorkel; then the
duckdb and pyarrow versions of the main environment, because the Snorkel side imports this
project's LF definitions to translate them. Work is done by `bench/snorkel_runner.py` in a
subprocess, on inputs written to files (.npy, .parquet), so both sides see the same data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

from settings import PROJECT_ROOT

VENV = Path(__file__).resolve().with_name(".venv-snorkel")
RUNNER = Path(__file__).resolve().with_name("snorkel_runner.py")
REQUIREMENTS = (["torch==2.13.0"], ["snorkel==0.10.*"])
CHECK = "import duckdb, pyarrow, re2, torch, snorkel; assert snorkel.__version__.startswith('0.10')"


class SnorkelUnavailable(RuntimeError):
    """The Snorkel environment could not be created (e.g. no package index)."""


def python() -> Path:
    """The Snorkel venv's interpreter, after creating and filling the venv if needed."""
    exe = VENV / "bin" / "python"
    if exe.exists() and subprocess.run([exe, "-c", CHECK], capture_output=True).returncode == 0:
        return exe
    print(f"bench: creating the Snorkel environment in {VENV} (one-time, a few minutes)")
    steps = [[sys.executable, "-m", "venv", "--clear", str(VENV)]]
    ours = [
        f"duckdb=={version('duckdb')}",
        f"pyarrow=={version('pyarrow')}",
        f"google-re2=={version('google-re2')}",
    ]
    for packages in (*REQUIREMENTS, ours):
        steps.append([str(exe), "-m", "pip", "install", "-q", *packages])
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise SnorkelUnavailable(f"{' '.join(step)} failed:\n{done.stderr[-3000:]}")
    return exe


def run(command: str, **arguments: Any) -> dict[str, Any]:
    """Run one `snorkel_runner.py` command in the Snorkel venv; returns its JSON answer."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    cmd = [str(python()), str(RUNNER), command, json.dumps(arguments, default=str)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"snorkel_runner {command} failed:\n{done.stderr[-5000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
