"""The architecture holds: a pure core that imports no Dagster, wiring that stays thin.

The import contracts live in pyproject.toml (`[tool.importlinter]`) and run in `make lint`;
they run here too so that CI, which runs `make test`, enforces them. The contracts read
imports statically; the second test proves the same at run time, in a fresh interpreter.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from settings import PROJECT_ROOT

PURE_PACKAGES = [
    "ingest", "weak_supervision", "training", "observability", "storage", "expectations",
    "labeling_functions", "settings",
]  # fmt: skip
WIRING_FOLDERS = ["assets", "checks", "sensors", "resources"]
MAX_WIRING_FUNCTION_LINES = 60


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_package_imports_without_dagster(package):
    """Import the package and every module in it (but `__main__`) in a fresh interpreter."""
    probe = f"""
import importlib, pkgutil, sys
root = importlib.import_module({package!r})
for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix={package!r} + "."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in
                {{"dagster", "dagster_dbt", "dagster_aws", "assets", "checks", "sensors",
                  "resources", "orchestration", "definitions"}})
print("LEAKED", leaked)
sys.exit(1 if leaked else 0)
"""
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.name} "
        f"({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_WIRING_FUNCTION_LINES
    ]


def test_wiring_functions_stay_short():
    """Assets, checks and sensors read inputs, call a library, write outputs: no long bodies."""
    too_long = [
        hit
        for folder in WIRING_FOLDERS
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        for hit in _long_functions(path)
    ]
    assert not too_long, too_long
