"""`python -m training reproduce VERSION`: rebuild a registered classifier from its card.

First every input the card records is compared with what is there now (landing files and
their ETags, both policies, LF and dbt code versions, libraries, commit); any difference is
named and the rebuild refused. Otherwise the classifier's upstream assets are materialized
again into a scratch data folder that reads the same landing store (never writes it), the
model retrained, and the result judged: the same SHA-256, or else the same predictions on
the gold `test` rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from settings import PROJECT_ROOT, Settings
from storage.object_store import open_store

TARGET = "classifier"


def current_inputs(settings: Settings, card: dict[str, Any]) -> dict[str, Any]:
    """The inputs as they are now, shaped like `training.reproduce.recorded_inputs`."""
    from assets.dbt_project import dbt_code_versions
    from training.lineage import build_inputs
    from training.model_card import git_commit, library_versions
    from training.task import task

    lineage = build_inputs(
        open_store(settings.landing),
        card["lineage"]["partitions"],
        settings.policy_file,
        settings.training_policy_file,
    )
    return {
        "landing file": lineage["landing_files"],
        "ingest policy version": lineage["ingest_policy_version"],
        "training policy": lineage["training_policy"],
        "LF version": task().lf_versions(),
        "dbt code version": dbt_code_versions(),
        "library": library_versions(),
        "git commit": git_commit(PROJECT_ROOT),
    }


def waves_to(target: str) -> list[tuple[bool, list[str]]]:
    """The demo's materialization waves, keeping only `target` and what it is built from."""
    from dagster import AssetSelection

    from definitions import defs
    from demo.__main__ import materialization_waves

    upstream = AssetSelection.assets(target).upstream().resolve(defs.resolve_asset_graph())
    needed = {key.to_user_string() for key in upstream}
    waves = [(daily, [key for key in keys if key in needed]) for daily, keys in
             materialization_waves()]  # fmt: skip
    return [(daily, keys) for daily, keys in waves if keys]


def partition_range(card: dict[str, Any]) -> str:
    """The card's training partitions, first to last: the range the model learned from.

    With a `training_days` window, features of its first days also read earlier history;
    those days are not rebuilt, so such a model reproduces only where that history is empty.
    """
    days = card["lineage"]["partitions"]
    return f"{min(days)}...{max(days)}"


def rebuild(settings: Settings, card: dict[str, Any], scratch: Path) -> None:
    """Materialize the target's upstream into `scratch`, reading the original landing."""
    home = scratch / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "SLUICE_DATA_DIR": str(scratch),
           "SLUICE_LANDING": settings.landing}  # fmt: skip
    for var in ("SLUICE_WAREHOUSE", "SLUICE_MODEL_STORE", "SLUICE_EXPORTS", "SLUICE_LAKE"):
        env.pop(var, None)
    days = partition_range(card)
    for daily, keys in waves_to(TARGET):
        cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-f", "definitions.py"]
        cmd += ["--select", ",".join(keys), *(["--partition-range", days] if daily else [])]
        print(f"reproduce: materializing {', '.join(keys)}" + (f" for {days}" if daily else ""))
        done = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-10000:] + done.stderr[-10000:])
            raise SystemExit(f"reproduce: the run for {', '.join(keys)} failed (log above)")


def compare(settings: Settings, version: str, scratch: Path) -> Any:
    """Judge the scratch registry's newest classifier against the registered `version`."""
    import duckdb

    from training.registry import ModelRegistry
    from training.reproduce import judge
    from training.task import task
    from training.warehouse import classifier_data

    original = ModelRegistry(open_store(settings.model_store), TARGET)
    rebuilt = ModelRegistry(open_store(str(scratch / "models")), TARGET)
    newest = max(rebuilt.versions())
    with duckdb.connect(str(scratch / "warehouse.duckdb"), read_only=True) as con:
        test = classifier_data(con, task().lfs).test
    return judge(
        original.card(version)["artifact_sha256"],
        rebuilt.card(newest)["artifact_sha256"],
        original.load(version).predict_proba(test),
        rebuilt.load(newest).predict_proba(test),
    )


def reproduce(version: str, workdir: Path | None = None, keep: bool = False) -> int:
    """Exit code 0 when reproduced, 1 when rebuilt but different, 2 when refused."""
    from training.registry import ModelRegistry
    from training.reproduce import differences, recorded_inputs, unrecorded

    settings = Settings.from_env()
    registry = ModelRegistry(open_store(settings.model_store), TARGET)
    if version not in registry.versions():
        print(f"reproduce refused: no classifier {version} in {registry.uri()}", file=sys.stderr)
        return 2
    card = registry.card(version)
    missing = unrecorded(card)
    if missing:
        print(f"reproduce refused: the card of {version} does not record {', '.join(missing)} "
              "(it predates reproducible cards)", file=sys.stderr)  # fmt: skip
        return 2
    changed = differences(recorded_inputs(card), current_inputs(settings, card))
    if changed:
        print(f"reproduce refused: {len(changed)} input(s) of {version} changed since it was "
              "trained:", file=sys.stderr)  # fmt: skip
        for difference in changed:
            print(f"  - {difference}", file=sys.stderr)
        return 2
    scratch = Path(workdir or tempfile.mkdtemp(prefix="sluice-reproduce-"))
    try:
        rebuild(settings, card, scratch)
        verdict = compare(settings, version, scratch)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"reproduce {version}: {verdict}")
    return 0 if verdict.reproduced else 1
