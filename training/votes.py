"""From stored votes to a label matrix, and gold labels aligned with it.

`label.lf_votes` keeps only the votes that are not abstains (long form), so the
matrix of a window is rebuilt from the window's comment ids: a comment with no
row there is a row of -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


class StaleVotesError(RuntimeError):
    """Stored votes come from other LF versions than the code's; the message says which."""


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
