"""The code location loads, and loads without the heavy libraries."""

import json
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
