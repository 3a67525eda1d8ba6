"""Model cards: what a model is, how good it is and exactly where it came from.

The JSON card is for machines (lineage queries, the registry); the Markdown page
is the same card for people, with its plots beside it.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

from training.evaluation import comparison_markdown

LIBRARIES = ("scikit-learn", "numpy", "scipy", "pandas", "duckdb", "dagster", "dbt-core")


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(repo: Path) -> str:
    """The commit the code ran from, with `-dirty` when the tree had local changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty.strip() else sha


def card_markdown(card: dict[str, Any], plots: list[str]) -> str:
    """The human page of a card; `plots` are file names next to it."""
    lineage = card["lineage"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        f"Classes: {', '.join(card['classes'])}. Trained on {card['training']['rows']} rows of "
        f"weak labels from {len(lineage['partitions'])} daily partitions; evaluated on "
        f"{card['metrics']['classifier']['rows']} gold `test` rows that never entered training.",
        "",
        "## Test metrics",
        "",
        comparison_markdown(card["metrics"]),
        "",
        f"Promotion: {card.get('promotion', {}).get('reason', 'not offered yet')}",
        "",
        "## Plots",
        "",
        *[f"![{name}]({name})" for name in plots],
        "",
        "## Lineage",
        "",
        f"- artifact SHA-256: `{card['artifact_sha256']}`",
        f"- git commit: `{lineage['git_commit']}`",
        f"- partitions: {lineage['partitions'][0] if lineage['partitions'] else '-'} … "
        f"{lineage['partitions'][-1] if lineage['partitions'] else '-'}",
        f"- data versions: `{lineage['data_versions']}`",
        f"- labeling functions: `{lineage['lf_versions']}`",
        f"- label model: `{lineage['label_model']}`",
        f"- dbt models: `{lineage['dbt_code_versions']}`",
        f"- libraries: `{card['libraries']}`",
        f"- classifier config: `{card['config']}`",
    ]
    return "\n".join(lines) + "\n"
