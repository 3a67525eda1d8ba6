"""`python -m training reproduce VERSION` on a real instance, warehouse and model store: the
champion rebuilds identically from its card, and changed inputs are refused by name."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings import PROJECT_ROOT
from storage.object_store import LocalObjectStore
from tests.harness import prepare_instance
from training.registry import ModelRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str]:
    """Four synthetic days, materialized as `make demo` does, and the champion's version."""
    data = tmp_path_factory.mktemp("reproduce")
    env = {"SLUICE_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    Path(env["DAGSTER_HOME"]).mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    prepare_instance(env, dt.date(2024, 3, 1), days=4)
    champion = ModelRegistry(LocalObjectStore(str(data / "models"))).champion()
    assert champion, "the prepared instance has no champion classifier"
    return env, champion


def _reproduce(env: dict[str, str], version: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "DAGSTER_"))}
    return subprocess.run(
        [sys.executable, "-m", "training", "reproduce", version],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_champion_is_rebuilt_identically_from_its_card(trained):
    env, champion = trained
    done = _reproduce(env, champion)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"reproduce {champion}: identical" in done.stdout


def test_an_edited_policy_and_a_replaced_landing_file_are_refused_by_name(trained, tmp_path):
    env, champion = trained
    # The same landing files in a copy (same keys, same ETags), one of them then replaced.
    landing = tmp_path / "landing"
    shutil.copytree(Path(env["SLUICE_DATA_DIR"]) / "landing", landing)
    store = LocalObjectStore(str(landing))
    replaced = next(info.key for info in store.list("comments/"))
    store.put_bytes(replaced, store.get_bytes(replaced) + b"\n")
    policy = yaml.safe_load((PROJECT_ROOT / "policies" / "ingest.yml").read_text())
    policy["text"]["max_length"] = policy["text"]["max_length"] - 1
    edited = tmp_path / "ingest.yml"
    edited.write_text(yaml.safe_dump(policy))

    done = _reproduce({**env, "SLUICE_LANDING": str(landing), "SLUICE_POLICY": str(edited)},
                      champion)  # fmt: skip
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "reproduce refused" in done.stderr
    assert f"landing file {replaced}: recorded " in done.stderr
    assert "ingest policy version: recorded " in done.stderr
    assert "materializing" not in done.stdout  # refused before any rebuild
