"""From stored votes to a label matrix, and gold labels aligned with it.

`label.lf_votes` keeps only the votes that are not abstains (long form), so the
matrix of a window is rebuilt from the window's comment ids: a comment with no
row there is a row of -1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd


class StaleVotesError(RuntimeError):
    """Stored votes come from other LF versions than the code's, or lack an LF: the message
    names the LFs, the partitions (as ranges) and the command that refreshes them."""


def day_ranges(days: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days merged into inclusive (first, last) ranges, in order."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def check_votes_current(
    coverage: pd.DataFrame, days: Sequence[dt.date], lf_names: Sequence[str],
    lf_versions: Sequence[str],
) -> None:  # fmt: skip
    """Refuse a window whose days were not voted on by every LF at its current version.

    `coverage` is `label.lf_coverage` (partition_date, lf_name, lf_version): `lf_votes`
    writes a row per day and LF, also for an LF that abstained all day, so an LF added
    since (no row) is caught as surely as an edited one (another version).
    """
    wanted = set(pd.to_datetime(pd.Series(list(days), dtype="object")).dt.date)
    have = set(
        zip(pd.to_datetime(coverage["partition_date"]).dt.date, coverage["lf_name"],
            coverage["lf_version"], strict=True)
    )  # fmt: skip
    stale: dict[str, list[dt.date]] = {}
    for name, version in zip(lf_names, lf_versions, strict=True):
        missing = [day for day in wanted if (day, name, version) not in have]
        if missing:
            stale[name] = missing
    if not stale:
        return
    ranges = day_ranges([day for missing in stale.values() for day in missing])
    shown = ", ".join(f"{a}...{b}" if a != b else str(a) for a, b in ranges[:10])
    more = f" and {len(ranges) - 10} more ranges" if len(ranges) > 10 else ""
    first, last = ranges[0][0], ranges[-1][1]
    raise StaleVotesError(
        f"lf_votes are missing or older than the code for LFs {sorted(stale)} on "
        f"{sum(len(d) for d in stale.values())} day(s): {shown}{more}. Re-materialize "
        f"lf_votes for those days, e.g. `python -m dagster asset materialize -f definitions.py "
        f"--select lf_votes --partition-range {first}...{last}` (or select them in the UI)"
    )


def votes_to_matrix(
    ids: Sequence[str], votes: pd.DataFrame, lf_names: Sequence[str], lf_versions: Sequence[str]
) -> np.ndarray:
    """An (ids x LFs) int8 matrix from long-form votes (comment_id, lf_name, lf_version, vote)."""
    stale = votes.merge(
        pd.DataFrame({"lf_name": list(lf_names), "current": list(lf_versions)}), on="lf_name"
    )
    stale = stale[stale["lf_version"] != stale["current"]]
    if len(stale):
        names = sorted(stale["lf_name"].unique())
        raise StaleVotesError(
            f"lf_votes hold older versions of {names}: re-materialize lf_votes for the "
            "training window (the UI marks those partitions as changed code)"
        )
    L = np.full((len(ids), len(lf_names)), -1, dtype=np.int8)
    row = pd.Index(ids).get_indexer(votes["comment_id"])
    col = pd.Index(lf_names).get_indexer(votes["lf_name"])
    keep = (row >= 0) & (col >= 0)
    L[row[keep], col[keep]] = votes["vote"].to_numpy()[keep]
    return L


def align_gold(ids: Sequence[str], gold: pd.DataFrame, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions in `ids` of the gold rows of `split`, and their labels."""
    rows = gold[gold["split"] == split]
    pos = pd.Index(ids).get_indexer(rows["comment_id"])
    found = pos >= 0
    return pos[found], rows["label"].to_numpy()[found]
