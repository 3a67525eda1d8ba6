"""Where a hand label helps most: the labeling queue, and the largest slices no LF covers.

A row is worth an annotator's minute when the label model is unsure of it (the entropy of its
posterior, 0 to 1 after dividing by log k), when its LFs disagree (a conflict: the label
model had to arbitrate), or when no LF voted on it (the label model only knows the class
balance there, and the LFs teach nothing about it). `priorities` scores every row of the
training window on these and files it under one reason (no LF voted, LFs disagree, or
uncertain). `allocate` shares the queue's places between the reasons in proportion to their
summed priority (D'Hondt), so that one kind of row cannot crowd out the others when both
matter; within a reason, `spread` picks from the best candidates across the feature space:
candidates are clustered on TF-IDF-weighted hashed word features and taken in turns, the
best of each cluster first, so that the queue is not fifty copies of one confusing story.

The queue is written in the gold-label CSV format (`comment_id,label,split`; see
ingest/gold_labels.py) with `label` empty and `split` = `dev`, plus `reason`, `uncertainty`
and `text` columns for the annotator, which the gold-label reader ignores. Dropped into the
landing zone's `labels/`, the filled rows become `dev` labels: `label_model` fits with them
as labelled rows and `lf_summary` scores the LFs on them. Rows left without a label are
reported by `gold_labels` as rejects (not a class of the task), never used.

`uncovered_slices` clusters (a bounded sample of) the rows no LF covers and names each
cluster by its most distinctive words, with example texts: the LF to write next.

Pure: a DuckDB connection, a label matrix and a fitted label model in; frames, bytes and
Markdown out. scikit-learn is imported inside the functions that use it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from training.warehouse import WindowVotes
    from weak_supervision import BaseLabeler

QUEUE_SIZE = 100
CANDIDATES_PER_ROW = 10  # the queue is spread over the best QUEUE_SIZE * this many rows
ROWS_PER_CLUSTER = 4  # clusters = queue size / this
CONFLICT_BONUS = 0.25
UNCOVERED_BONUS = 0.25
SLICES = 5  # reported: the largest of SLICE_CLUSTERS clusters of the uncovered rows
SLICE_CLUSTERS = 20
SLICE_SAMPLE = 5000  # uncovered rows clustered for the slice report (a seeded sample)
EXAMPLES = 3
HASH_FEATURES = 2**16
LSA_COMPONENTS = 50
QUEUE_HEADER = ("comment_id", "label", "split", "reason", "uncertainty", "text")
_WORD = re.compile(r"[a-z][a-z'-]{2,}")


def priorities(L: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    """Per row: `uncertainty` (normalized entropy), `conflict`, `uncovered`, `reason` and
    the `priority` that orders the candidates (uncertainty plus a bonus for each flag)."""
    k = proba.shape[1]
    p = np.clip(proba, 1e-12, 1.0)
    entropy = -(p * np.log(p)).sum(axis=1) / np.log(k) if k > 1 else np.zeros(len(p))
    voted = L != -1
    uncovered = ~voted.any(axis=1)
    highest = L.max(axis=1, initial=-1)
    lowest = np.where(voted, L, np.iinfo(L.dtype).max).min(axis=1, initial=np.iinfo(L.dtype).max)
    conflict = ~uncovered & (lowest != highest)  # two different classes voted
    reason = np.where(uncovered, "no LF voted", np.where(conflict, "LFs disagree", "uncertain"))
    return pd.DataFrame(
        {
            "uncertainty": entropy,
            "conflict": conflict,
            "uncovered": uncovered,
            "reason": reason,
            "priority": entropy + CONFLICT_BONUS * conflict + UNCOVERED_BONUS * uncovered,
        }
    )


def candidates(priority: np.ndarray, exclude: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Positions of the best `size` rows by priority, `exclude`d rows left out; ties are
    broken at random (seeded), so equal rows are not always taken in id order."""
    jitter = np.random.default_rng(seed).random(len(priority)) * 1e-9
    order = np.argsort(-(priority + jitter), kind="stable")
    order = order[~exclude[order]]
    return order[:size]


def allocate(mass: dict[str, float], available: dict[str, int], size: int) -> dict[str, int]:
    """Places per reason, proportional to its `mass` (D'Hondt: each place goes to the reason
    with the highest mass per place it would hold), never more than its `available` rows."""
    places = dict.fromkeys(mass, 0)
    for _ in range(size):
        open_ = [r for r in mass if places[r] < available.get(r, 0) and mass[r] > 0]
        if not open_:
            break
        best = max(open_, key=lambda r: (mass[r] / (places[r] + 1), r))
        places[best] += 1
    return places


def hashed_features(texts: Sequence[str]) -> Any:
    """Texts as TF-IDF-weighted hashed word counts, l2-normalized (no vocabulary to store):
    words that every text uses (wire names, "said") weigh little in the clusters."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    vectorizer = HashingVectorizer(
        n_features=HASH_FEATURES, alternate_sign=False, stop_words="english", norm=None,
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
    )  # fmt: skip
    return TfidfTransformer(sublinear_tf=True).fit_transform(vectorizer.transform(list(texts)))


def clusters(texts: Sequence[str], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels of `texts` and each text's distance to its cluster's centre: k-means
    (`n` clusters at most) on the hashed features reduced to LSA_COMPONENTS dimensions (latent
    semantic analysis: on raw sparse counts k-means makes one vague cluster of most texts)."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    X = hashed_features(texts)
    components = min(LSA_COMPONENTS, len(texts) - 1, X.shape[1] - 1)
    if components >= 2:
        X = normalize(TruncatedSVD(components, random_state=seed).fit_transform(X))
    n = max(1, min(n, len(texts)))
    model = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024)
    labels = model.fit_predict(X)
    distance = model.transform(X)[np.arange(len(texts)), labels]
    return labels, distance


def spread(texts: Sequence[str], priority: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Positions (into `texts`) of `size` rows taken in turns across clusters of the feature
    space, best priority first within each cluster and for the order of the clusters."""
    if len(texts) <= size:
        return np.argsort(-priority, kind="stable")
    labels, _ = clusters(texts, max(1, size // ROWS_PER_CLUSTER), seed)
    queues = [
        sorted(np.flatnonzero(labels == c).tolist(), key=lambda i: -priority[i])
        for c in np.unique(labels)
    ]
    queues.sort(key=lambda q: -priority[q[0]])
    chosen: list[int] = []
    while len(chosen) < size:
        for q in queues:
            if q and len(chosen) < size:
                chosen.append(q.pop(0))
    return np.array(chosen, dtype=int)


def texts_of(con: Any, ids: Sequence[str]) -> list[str]:
    """The clean `text` of `comment_features` for `ids`, in the order of `ids`."""
    wanted = pa.table({"comment_id": pa.array(list(ids), pa.string())})
    con.register("_sluice_wanted_ids", wanted)
    try:
        found = con.execute(
            "SELECT f.comment_id, f.text FROM main.comment_features f "
            "JOIN _sluice_wanted_ids w USING (comment_id)"
        ).df()
    finally:
        con.unregister("_sluice_wanted_ids")
    text = dict(zip(found["comment_id"], found["text"].fillna(""), strict=True))
    return [text.get(i, "") for i in ids]


@dataclass(frozen=True)
class LabelingQueue:
    """The queue (one row per comment to label) and the largest uncovered slices."""

    rows: pd.DataFrame  # comment_id, reason, uncertainty, text, in queue order
    slices: list[dict[str, Any]]
    window_rows: int
    uncovered_rows: int
    conflict_rows: int

    def csv_bytes(self) -> bytes:
        """The queue in the gold-label CSV format, `label` empty and `split` = `dev`."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(QUEUE_HEADER)
        for row in self.rows.itertuples(index=False):
            writer.writerow(
                (row.comment_id, "", "dev", row.reason, f"{row.uncertainty:.3f}", row.text)
            )
        return buf.getvalue().encode("utf-8")

    def reasons(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.rows["reason"].value_counts().items()}


def build_queue(
    con: Any, votes: WindowVotes, model: BaseLabeler, seed: int, size: int = QUEUE_SIZE
) -> LabelingQueue:
    """The queue over the training window's rows that have no gold label yet."""
    k = int(model.cardinality)
    proba = model.predict_proba(votes.L) if len(votes.L) else np.zeros((0, k))
    scored = priorities(votes.L, proba)
    ids = np.asarray(votes.ids, dtype=object)
    labelled = np.isin(ids, votes.gold["comment_id"].astype(str).to_numpy())
    priority, reason = scored["priority"].to_numpy(), scored["reason"].to_numpy()
    open_rows = scored[~labelled].groupby("reason")["priority"]
    places = allocate(open_rows.sum().to_dict(), open_rows.size().to_dict(), size)
    picked, text_at = [], {}
    for why, n in places.items():
        if not n:
            continue
        pool = candidates(priority, labelled | (reason != why), n * CANDIDATES_PER_ROW, seed)
        texts = texts_of(con, ids[pool].tolist())
        picked.extend(pool[spread(texts, priority[pool], n, seed)].tolist())
        text_at.update(zip(ids[pool], texts, strict=True))
    picked = sorted(picked, key=lambda i: -priority[i])
    rows = scored.iloc[picked][["reason", "uncertainty"]].reset_index(drop=True)
    rows.insert(0, "comment_id", ids[picked])
    rows["text"] = [text_at[i] for i in ids[picked]]
    return LabelingQueue(
        rows=rows,
        slices=uncovered_slices(con, ids[scored["uncovered"].to_numpy()].tolist(), seed),
        window_rows=len(ids),
        uncovered_rows=int(scored["uncovered"].sum()),
        conflict_rows=int(scored["conflict"].sum()),
    )


def _distinctive_words(texts: list[str], members: np.ndarray, top: int = 5) -> list[str]:
    """Words found in many texts of the slice and few of the others (document frequency)."""
    docs = [set(_WORD.findall(t.lower())) for t in texts]
    inside = Counter(w for i in np.flatnonzero(members) for w in docs[i])
    outside = Counter(w for i in np.flatnonzero(~members) for w in docs[i])
    n_in, n_out = max(int(members.sum()), 1), max(int((~members).sum()), 1)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    scores = {
        w: c / n_in - outside[w] / n_out
        for w, c in inside.items()
        if w not in ENGLISH_STOP_WORDS and c >= 2
    }
    return [w for w, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def uncovered_slices(
    con: Any, uncovered_ids: Sequence[str], seed: int, n: int = SLICES
) -> list[dict[str, Any]]:
    """The `n` largest of SLICE_CLUSTERS groups of rows no LF covers, biggest first: estimated
    rows, share of the uncovered rows, distinctive words and example texts (nearest the
    group's centre). Small groups keep one big, vague group from swallowing the topics."""
    if not uncovered_ids:
        return []
    rng = np.random.default_rng(seed)
    ids = list(uncovered_ids)
    sample = ids if len(ids) <= SLICE_SAMPLE else rng.choice(ids, SLICE_SAMPLE, False).tolist()
    texts = texts_of(con, sample)
    labels, distance = clusters(texts, SLICE_CLUSTERS, seed)
    out = []
    for c in np.unique(labels):
        members = labels == c
        nearest = np.flatnonzero(members)[np.argsort(distance[members])[:EXAMPLES]]
        out.append(
            {
                "rows": round(len(ids) * members.mean()),
                "share": round(float(members.mean()), 3),
                "words": _distinctive_words(texts, members),
                "examples": [texts[i][:200] for i in nearest],
            }
        )
    return sorted(out, key=lambda s: -s["rows"])[:n]


def slices_markdown(slices: list[dict[str, Any]]) -> str:
    """The uncovered slices as a Markdown table (asset metadata)."""
    if not slices:
        return "Every row of the training window has at least one LF vote."
    lines = [
        "| rows (est.) | share of uncovered | distinctive words | examples |",
        "| --: | --: | --- | --- |",
    ]
    for s in slices:
        examples = "<br>".join(e.replace("|", "/") for e in s["examples"])
        lines.append(f"| {s['rows']} | {s['share']:.1%} | {', '.join(s['words'])} | {examples} |")
    return "\n".join(lines)


def uncovered_report(con: Any, votes: WindowVotes, seed: int) -> str:
    """`slices_markdown` of the window's uncovered rows: one call for `lf_summary`."""
    uncovered = ~(votes.L != -1).any(axis=1)
    return slices_markdown(uncovered_slices(con, np.asarray(votes.ids)[uncovered].tolist(), seed))
