"""The labeling queue ranks rows by what a hand label would teach (uncertainty, conflicts,
no LF vote), spreads its picks across the feature space, leaves gold rows out, and writes a
CSV that the gold-label reader accepts once the labels are filled in."""

import csv
import io
from collections import Counter

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingest.gold_labels import parse_gold_files
from training.labeling_queue import (
    allocate,
    build_queue,
    candidates,
    priorities,
    slices_markdown,
    spread,
    uncovered_report,
)
from training.warehouse import WindowVotes
from weak_supervision import LabelModel

TOPICS = {
    "football": "football match goal striker league cup season coach",
    "markets": "shares stock market profit earnings investors quarter",
    "space": "nasa rocket launch orbit astronauts mission planet",
}


def test_priorities_flag_conflicts_uncovered_rows_and_uncertainty():
    L = np.array([[0, 0], [0, 1], [-1, -1], [1, -1]], dtype=np.int8)
    proba = np.array([[0.99, 0.01], [0.5, 0.5], [0.5, 0.5], [0.2, 0.8]])
    scored = priorities(L, proba)
    assert scored["conflict"].tolist() == [False, True, False, False]
    assert scored["uncovered"].tolist() == [False, False, True, False]
    assert scored["reason"].tolist() == ["uncertain", "LFs disagree", "no LF voted", "uncertain"]
    assert scored["uncertainty"][1] == pytest.approx(1.0)  # 50/50 over two classes
    assert scored["uncertainty"][0] < 0.1
    assert scored["priority"].idxmin() == 0  # a confident, agreed row is the least useful


def test_candidates_take_the_best_rows_and_never_labelled_ones():
    priority = np.array([0.9, 0.1, 0.8, 0.95, 0.3])
    labelled = np.array([False, False, False, True, False])
    assert candidates(priority, labelled, 2, seed=1).tolist() == [0, 2]


def test_places_are_shared_in_proportion_to_each_reasons_priority_mass():
    many = {"a": 100, "b": 100, "c": 100}
    assert allocate({"a": 6.0, "b": 3.0, "c": 1.0}, many, 10) == {"a": 6, "b": 3, "c": 1}
    # A reason with too few rows gives its places to the others; none is invented.
    assert allocate({"a": 1.0, "b": 1.0}, {"a": 2, "b": 100}, 10) == {"a": 2, "b": 8}
    assert allocate({"a": 1.0}, {"a": 3}, 10) == {"a": 3}


def test_spread_takes_turns_across_clusters_of_the_texts():
    rng = np.random.default_rng(0)
    texts, topic_of = [], []
    for topic, words in TOPICS.items():
        vocabulary = words.split()
        for _ in range(20):
            texts.append(" ".join(rng.choice(vocabulary, 6)))
            topic_of.append(topic)
    # Football rows all rank above the others: a plain top 12 would be twelve of them.
    priority = np.array([2.0 if t == "football" else 1.0 for t in topic_of])
    priority += rng.random(len(texts)) * 0.01
    picked = spread(texts, priority, size=12, seed=0)  # 12 / ROWS_PER_CLUSTER = 3 clusters
    assert len(set(picked.tolist())) == 12
    assert sorted(Counter(topic_of[i] for i in picked).values()) == [4, 4, 4]
    assert topic_of[picked[0]] == "football"  # the best cluster goes first


@pytest.fixture
def window():
    """A DuckDB comment_features table, a label matrix over it and its gold labels."""
    rng = np.random.default_rng(3)
    rows, L = [], []
    for n in range(120):
        topic = list(TOPICS)[n % 3]
        rows.append((f"c{n:03d}", " ".join(rng.choice(TOPICS[topic].split(), 7))))
        vote = n % 3 if n % 3 != 2 else -1  # the space topic: no LF votes on it
        second = 1 - vote if (n % 10 == 0 and vote != -1) else -1  # a few conflicts
        L.append([vote, second])
    con = duckdb.connect()
    con.execute("CREATE TABLE comment_features (comment_id VARCHAR, text VARCHAR)")
    con.executemany("INSERT INTO comment_features VALUES (?, ?)", rows)
    frame = pd.DataFrame({"comment_id": [r[0] for r in rows], "partition_date": "2024-01-01"})
    gold = pd.DataFrame({"comment_id": ["c001", "c004"], "label": [1, 1], "split": "dev"})
    votes = WindowVotes(frame, np.array(L, dtype=np.int8), ["a", "b"], gold)
    return con, votes, dict(rows)


def test_build_queue_exports_unlabelled_rows_and_reads_back_as_dev_labels(window):
    con, votes, text = window
    model = LabelModel(cardinality=3, seed=0).fit(votes.L)
    queue = build_queue(con, votes, model, seed=0, size=12)
    assert len(queue.rows) == 12 and queue.rows["comment_id"].is_unique
    assert not set(queue.rows["comment_id"]) & {"c001", "c004"}  # already labelled
    assert queue.uncovered_rows == 40 and queue.window_rows == 120
    assert queue.reasons().get("no LF voted", 0) > 0
    assert all(queue.rows["text"] == queue.rows["comment_id"].map(text))

    exported = list(csv.DictReader(io.StringIO(queue.csv_bytes().decode())))
    assert list(exported[0])[:3] == ["comment_id", "label", "split"]
    assert {r["label"] for r in exported} == {""} and {r["split"] for r in exported} == {"dev"}
    # An annotator fills in five labels and leaves the rest: the five are dev labels, the
    # rest come back as rejects with a reason, never as labels.
    for row in exported[:5]:
        row["label"] = "markets"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(exported[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(exported)
    gold = parse_gold_files(
        {"labels/queue.csv": buf.getvalue().encode()}, ("football", "markets", "space")
    )
    assert gold.labels.column("split").to_pylist() == ["dev"] * 5
    assert gold.labels.column("label").to_pylist() == [1] * 5
    assert gold.rejects.num_rows == 7


def test_uncovered_slices_name_the_topic_no_lf_covers(window):
    con, votes, _ = window
    report = uncovered_report(con, votes, seed=0)
    assert report.startswith("| rows (est.)")
    words = " ".join(report.splitlines()[2:])
    assert any(w in words for w in TOPICS["space"].split())
    assert "football" not in words and "shares" not in words  # covered topics stay out
    assert slices_markdown([]).startswith("Every row")
