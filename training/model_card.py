"""Model cards: what a model is, how good it is and exactly where it came from.

The JSON card is for machines (lineage queries, the registry); the Markdown page
is the same card for people, with its plots beside it.
"""

from __future__ import annotations

import base64
import importlib.metadata
import subprocess
from collections.abc import Mapping, Sequence
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


def card_markdown(
    card: dict[str, Any], plots: list[str], embedded: Mapping[str, bytes] | None = None
) -> str:
    """The human page of a card. `plots` are PNG file names next to it; with `embedded`
    (name -> PNG bytes) they are inlined as `data:` URIs instead, so the page stands alone
    where no file beside it can be linked (the Dagster UI's Markdown metadata)."""
    lineage = card["lineage"]
    partitions = lineage["partitions"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        f"Classes: {', '.join(card['classes'])}. Trained on {card['training']['rows']} rows of "
        f"weak labels from {len(partitions)} daily partitions; evaluated on "
        f"{card['metrics']['classifier']['rows']} gold `test` rows that never entered training.",
        "",
        "## Test metrics",
        "",
        comparison_markdown(card["metrics"]),
        "",
        f"Promotion: {card.get('promotion', {}).get('reason', 'not offered yet')}",
        *_rows_by_source(card["training"].get("rows_by_source")),
        "",
        "## Plots",
        "",
        *[f"![{name}]({_image_source(name, embedded)})" for name in plots],
        "",
        "## Labeling functions",
        "",
        _table(["labeling function", "version"], sorted(lineage["lf_versions"].items())),
        "",
        "## Lineage",
        "",
        f"- artifact SHA-256: `{card['artifact_sha256']}`",
        f"- git commit: `{lineage['git_commit']}`",
        f"- partitions: {partitions[0] if partitions else '-'} … "
        f"{partitions[-1] if partitions else '-'}",
        f"- label model: `{lineage['label_model']}`",
        f"- ingest policy: `{lineage.get('ingest_policy_version', '-')}`, reduction rules on: "
        f"{', '.join(lineage.get('reduction_rules', [])) or '-'}",
        f"- dbt models: `{lineage['dbt_code_versions']}`",
        f"- libraries: `{card['libraries']}`",
        f"- classifier config: `{card['config']}`",
        "",
        "### Data versions by day",
        "",
        _data_versions_table(lineage["data_versions"]),
    ]
    return "\n".join(lines) + "\n"


def _image_source(name: str, embedded: Mapping[str, bytes] | None) -> str:
    if embedded is None or name not in embedded:
        return name
    return "data:image/png;base64," + base64.b64encode(embedded[name]).decode("ascii")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; `|` in a cell is escaped so it cannot break the table."""
    cells = [[str(v).replace("|", "\\|") for v in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def _rows_by_source(rows: Mapping[str, int] | None) -> list[str]:
    if not rows:
        return []
    table = _table(["source", "training rows"], sorted(rows.items()))
    return ["", "## Training rows by source", "", table]


def _data_versions_table(versions: Mapping[str, Mapping[str, str]]) -> str:
    """One row per day, one column per asset: the data version of each day the model was
    trained on, as each asset's materialization of that day recorded it."""
    assets = sorted(versions)
    days = sorted({day for by_day in versions.values() for day in by_day})
    if not days:
        return "none recorded"
    rows = [[day, *(f"`{versions[a].get(day, '-')}`" for a in assets)] for day in days]
    return _table(["day", *assets], rows)
