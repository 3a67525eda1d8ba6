"""The benchmarks' input: the YouTube Spam Collection run through this project's own stages.

The five CSVs are landed (`demo.youtube.land_youtube`), ingested day by day under the
project's ingest policy (`ingest.day.ingest_day` + `ingest.raw_tables.replace_partition`),
and turned into `comment_features` by the real dbt project, so the benchmarks measure
exactly the rows and features the pipeline would label. Gold labels and the evaluation
split come from `demo.youtube.youtube_split` (DESIGN.md, "Evaluation").

Building takes a minute or so (mostly dbt). `python -m bench` sets `SLUICE_BENCH_CACHE` so
that the benchmarks of one run share one build; on their own, each builds into a temporary
folder (`workspace()`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from settings import PROJECT_ROOT

DATASET = PROJECT_ROOT.parent / "shared" / "datasets" / "youtube_spam"
CACHE_ENV = "SLUICE_BENCH_CACHE"
FEATURES = "main.comment_features"


@dataclass(frozen=True)
class YouTubeData:
    """`comment_features` of every ingested comment, and the gold split aligned to it."""

    warehouse: Path
    features: pd.DataFrame  # one row per ingested comment, sorted by comment_id
    splits: dict[str, pd.DataFrame]  # train / dev / valid / test: comment_id, label

    def rows(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions in `features` of a split's ingested rows (each id once) and their gold."""
        frame = self.splits[split].drop_duplicates("comment_id")
        position = pd.Index(self.features["comment_id"]).get_indexer(frame["comment_id"])
        kept = position >= 0
        return position[kept], frame["label"].to_numpy()[kept]


def dataset_folder() -> Path | None:
    """The five CSVs, or None (with a message) when they are not there."""
    if len(sorted(DATASET.glob("Youtube0*.csv"))) != 5:
        print(f"bench: skipped, the YouTube Spam Collection is not in {DATASET}")
        return None
    return DATASET


@contextmanager
def workspace() -> Iterator[Path]:
    """The folder to build in: the shared one of a `python -m bench` run, else a temporary
    folder removed afterwards."""
    cache = os.environ.get(CACHE_ENV)
    if cache:
        yield Path(cache)
        return
    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmp:
        yield Path(tmp)


def load(folder: Path, root: Path) -> YouTubeData:
    """Build the warehouse in `root` (unless a benchmark before this one did) and read it."""
    from demo.youtube import youtube_split

    warehouse = root / "youtube.duckdb"
    if not (root / "youtube.built").exists():
        build_warehouse(folder, root, warehouse)
        (root / "youtube.built").touch()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        features = con.execute(f"SELECT * FROM {FEATURES} ORDER BY comment_id").df()
    splits = {name: frame[["comment_id", "label"]] for name, frame in youtube_split(folder).items()}
    return YouTubeData(warehouse, features, splits)


def build_warehouse(folder: Path, root: Path, warehouse: Path) -> None:
    """Land, ingest every landed day, and run dbt into `warehouse`."""
    from demo.youtube import land_youtube
    from ingest.days import ingest_days
    from ingest.policy import Policy
    from settings import Settings
    from storage.object_store import LocalObjectStore

    store = LocalObjectStore(root / "landing")
    report = land_youtube(folder, store)
    policy = Policy.load(Settings.from_env().policy_file)
    with duckdb.connect(str(warehouse)) as con:
        ingest_days(report.days, store, con, policy)
    run_dbt(warehouse, root)


def run_dbt(warehouse: Path, root: Path) -> None:
    """`dbt run --full-refresh` of `comment_features` and its parents, with the repository's
    profile, writing only under `root`."""
    dbt = Path(sys.executable).with_name("dbt")
    project = PROJECT_ROOT / "dbt_project"
    env = {**os.environ, "SLUICE_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"}
    cmd = [str(dbt), "run", "--full-refresh", "--select", "+comment_features",
           "--profiles-dir", str(project), "--target-path", str(root / "dbt_target"),
           "--log-path", str(root / "dbt_logs")]  # fmt: skip
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{done.stdout[-5000:]}{done.stderr[-5000:]}")
