"""The YouTube lander against the real UCI files in ../shared (skipped when they are absent)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from demo.youtube import LABELS_KEY, land_youtube, youtube_split
from storage.object_store import LocalObjectStore

DATASET = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "youtube_spam"
VIDEOS = {
    "youtube01-psy": 350,
    "youtube02-katyperry": 350,
    "youtube03-lmfao": 438,
    "youtube04-eminem": 448,
    "youtube05-shakira": 370,
}
FIELDS = {"comment_id", "author", "text", "published_at", "source"}


@pytest.fixture(scope="module")
def folder() -> Path:
    if not DATASET.is_dir():
        pytest.skip(f"YouTube Spam Collection not found at {DATASET.resolve()} (../shared)")
    return DATASET


@pytest.fixture(scope="module")
def landed(folder: Path, tmp_path_factory: pytest.TempPathFactory):
    store = LocalObjectStore(tmp_path_factory.mktemp("landing"))
    return store, land_youtube(folder, store)


@pytest.fixture(scope="module")
def records(landed) -> dict[str, list[dict]]:
    """Landed records per comment-file key."""
    store, report = landed
    return {
        f.key: [json.loads(line) for line in store.get_bytes(f.key).decode("utf-8").splitlines()]
        for f in report.files
    }


@pytest.fixture(scope="module")
def originals(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The source rows per video as Python's csv module reads them."""
    out = {}
    for path in sorted(folder.glob("Youtube0*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            out[path.stem.lower()] = list(csv.DictReader(fh))
    return out


def test_every_record_lands_once_in_daily_files(landed, records) -> None:
    _, report = landed
    assert report.records == 1956
    assert sum(len(r) for r in records.values()) == 1956
    assert [f.records for f in report.files] == [len(records[f.key]) for f in report.files]
    per_video = Counter(rec["source"] for recs in records.values() for rec in recs)
    assert per_video == VIDEOS
    assert len(report.files) == 402  # one file per (video, day)
    assert len(report.days) == 326
    assert (str(report.days[0]), str(report.days[-1])) == ("2013-07-12", "2015-06-05")
    for key, recs in records.items():
        day, name = key.removeprefix("comments/dt=").split("/")
        assert name == f"{recs[0]['source']}.jsonl"
        assert all(r["published_at"] is None or r["published_at"][:10] == day for r in recs)


def test_comment_files_withhold_the_class(records) -> None:
    for recs in records.values():
        for rec in recs:
            assert set(rec) == FIELDS


def test_texts_are_byte_exact_and_in_file_order(records, originals) -> None:
    landed_by_video: dict[str, list[dict]] = {}
    for key in sorted(records):  # day order; a video's records keep their order within a day
        for rec in records[key]:
            landed_by_video.setdefault(rec["source"], []).append(rec)
    for video, rows in originals.items():
        got = sorted(landed_by_video[video], key=lambda r: r["comment_id"])
        want = sorted(rows, key=lambda r: r["COMMENT_ID"])
        assert [(r["comment_id"], r["author"], r["text"]) for r in got] == [
            (r["COMMENT_ID"], r["AUTHOR"], r["CONTENT"]) for r in want
        ]
    texts = [rec["text"] for recs in records.values() for rec in recs]
    assert sum(t.endswith("\ufeff") for t in texts) == 1548
    assert any("&#39;" in t for t in texts) and any("<br />" in t for t in texts)
    for recs in records.values():  # each file is a subsequence of its video's rows
        video_ids = iter(r["COMMENT_ID"] for r in originals[recs[0]["source"]])
        assert all(r["comment_id"] in video_ids for r in recs)


def test_undated_records_land_on_the_latest_day_of_their_video(records) -> None:
    undated = {k: sum(r["published_at"] is None for r in v) for k, v in records.items()}
    assert {k: n for k, n in undated.items() if n} == {
        "comments/dt=2015-05-29/youtube04-eminem.jsonl": 245
    }


def test_split_follows_the_snorkel_tutorial(folder: Path) -> None:
    split = youtube_split(folder)
    assert {k: len(v) for k, v in split.items()} == {
        "train": 1586,
        "dev": 100,
        "valid": 120,
        "test": 250,
    }
    assert set(split["dev"]["source"]) <= set(list(VIDEOS)[:4])
    assert set(split["train"]["source"]) == set(list(VIDEOS)[:4])
    assert set(split["test"]["source"]) == set(split["valid"]["source"]) == {"youtube05-shakira"}
    # Stratified: Shakira has 174 spam of 370, so 250 * 174 / 370 = 117.6 -> 118.
    assert split["test"]["label"].value_counts().to_dict() == {0: 132, 1: 118}
    assert split["dev"]["label"].value_counts().to_dict() == {0: 46, 1: 54}
    assert list(split["test"].columns) == [
        "comment_id",
        "author",
        "text",
        "published_at",
        "source",
        "label",
    ]
    again = youtube_split(folder)
    for name, frame in split.items():
        assert frame.equals(again[name]), name


def test_label_file_holds_dev_and_test_gold(landed, originals) -> None:
    store, report = landed
    text = store.get_bytes(LABELS_KEY).decode("utf-8")
    assert text.startswith("comment_id,label,split\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert Counter(r["split"] for r in rows) == {"dev": 100, "test": 249}
    assert report.label_files == {LABELS_KEY: 349}
    assert len({r["comment_id"] for r in rows}) == len(rows)  # the repeated id is written once
    gold = {r["COMMENT_ID"]: int(r["CLASS"]) for rows_ in originals.values() for r in rows_}
    assert all(gold[r["comment_id"]] == int(r["label"]) for r in rows)
    shakira = {r["COMMENT_ID"] for r in originals["youtube05-shakira"]}
    assert all((r["comment_id"] in shakira) == (r["split"] == "test") for r in rows)
    assert report.splits["test"] == {0: 132, 1: 118}
    assert report.splits["valid"] == {0: 64, 1: 56}


def test_landing_is_deterministic(folder: Path, landed, tmp_path: Path) -> None:
    store, report = landed
    other = LocalObjectStore(tmp_path)
    again = land_youtube(folder, other)
    assert again == report
    for key in [f.key for f in report.files] + [LABELS_KEY]:
        assert other.get_bytes(key) == store.get_bytes(key), key
