"""The code location loads, and loads without the heavy libraries."""

import json
import os
import subprocess
import sys

from settings import PROJECT_ROOT

PROBE = """
import json, sys
import definitions
print(json.dumps({m: m in sys.modules for m in ("great_expectations", "sklearn", "matplotlib")}))
"""


def test_definitions_import_without_heavy_libraries():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"great_expectations": False, "sklearn": False, "matplotlib": False}


def test_definitions_resolve():
    from definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw_comments", "gold_labels"} <= keys
    assert graph.get(
        next(k for k in graph.get_all_asset_keys() if k.path == ["raw_comments"])
    ).partitions_def


def test_a_wrong_policy_type_fails_when_the_code_location_loads(tmp_path):
    """Not at a run's or a tick's first use: loading names the file, the key and the type."""
    policy = tmp_path / "ingest.yml"
    policy.write_text("version: 1\nauthor_daily_cap: true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    out = subprocess.run(
        [sys.executable, "-c", "import definitions"], cwd=PROJECT_ROOT, capture_output=True,
        text=True, env={**env, "SLUICE_POLICY": str(policy), "SLUICE_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    assert out.returncode != 0
    assert f"{policy}: author_daily_cap: Input should be a valid integer" in out.stderr
