"""The synthetic stream: determinism, volume, noise that matches its report, gold labels.

Landed files are read back here with the standard `json`, `csv` and `gzip`
modules only, independently of the ingest parsers.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from demo.labels import LandingReport
from demo.synthetic import CONTENT_NOISE, generate, generate_texts
from storage.object_store import LocalObjectStore

START = dt.date(2024, 3, 1)
FORMATS = ("jsonl", "csv", "jsonl.gz", "csv.gz")
FIELDS = ["comment_id", "author", "text", "published_at", "source"]


def _land(root: Path, **kwargs) -> tuple[LocalObjectStore, LandingReport]:
    store = LocalObjectStore(root)
    args = {"start": START, "days": 3, "per_day": 1500, "seed": 7, "formats": FORMATS}
    return store, generate(store, **(args | kwargs))


def _snapshot(store: LocalObjectStore) -> dict[str, bytes]:
    return {info.key: store.get_bytes(info.key) for info in store.list("")}


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _read(key: str, data: bytes) -> list[dict | str]:
    """Each landed record as a dict, or the name of its defect when it is unusable."""
    if key.endswith(".gz"):
        data = gzip.decompress(data)
    text = data.decode("utf-8", "surrogateescape")
    out: list[dict | str] = []
    if ".jsonl" in key:
        for line in text.split("\n")[:-1]:
            if _has_bad_bytes(line):
                out.append("invalid_utf8")
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                out.append("bad_line")
        return out
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == FIELDS
    for row in rows[1:]:
        if _has_bad_bytes("".join(row)):
            out.append("invalid_utf8")
        elif len(row) == 6:
            out.append("bad_line")
        elif len(row) == 2:
            out.append(dict(zip(FIELDS[:2], row, strict=True)))  # the text field is missing
        else:
            record = dict(zip(FIELDS, row, strict=True))
            out.append(record | {"published_at": record["published_at"] or None})
    return out


def _records(store: LocalObjectStore, report: LandingReport) -> dict[dt.date, list[dict | str]]:
    by_day: dict[dt.date, list[dict | str]] = defaultdict(list)
    for f in report.files:
        day = dt.date.fromisoformat(f.key.split("/")[1].removeprefix("dt="))
        by_day[day].extend(_read(f.key, store.get_bytes(f.key)))
    return by_day


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory):
    store, report = _land(tmp_path_factory.mktemp("synthetic"))
    return store, report, _records(store, report)


def test_same_seed_same_bytes_other_seed_other_bytes(landed, tmp_path: Path) -> None:
    store, report, _ = landed
    first = _snapshot(store)
    again_store, again = _land(tmp_path / "again")
    assert again == report
    assert _snapshot(again_store) == first
    other_store, other = _land(tmp_path / "other", seed=8)
    other_bytes = _snapshot(other_store)
    assert other_bytes.keys() == first.keys()
    assert all(other_bytes[k] != first[k] for k in first)
    assert other.noise != report.noise


def test_a_day_does_not_depend_on_the_range_it_was_landed_with(landed, tmp_path: Path) -> None:
    store, report, _ = landed
    day_store = LocalObjectStore(tmp_path)
    for k in range(3):
        generate(day_store, START + dt.timedelta(days=k), 1, 1500, seed=7, formats=FORMATS)
    for f in report.files:
        assert day_store.get_bytes(f.key) == store.get_bytes(f.key), f.key


def test_volume_days_and_file_layout(landed) -> None:
    _, report, by_day = landed
    assert report.days == [START + dt.timedelta(days=k) for k in range(3)]
    assert report.records == 3 * 1500
    assert {day: len(recs) for day, recs in by_day.items()} == {d: 1500 for d in report.days}
    assert [f.key for f in report.files[:4]] == [
        f"comments/dt=2024-03-01/synthetic-{i}.{fmt}" for i, fmt in enumerate(FORMATS)
    ]
    assert [f.records for f in report.files[:4]] == [375, 375, 375, 375]


def test_noise_is_present_and_matches_the_report(landed) -> None:
    _, report, by_day = landed
    noise = report.noise
    defects = Counter(r for recs in by_day.values() for r in recs if isinstance(r, str))
    records = [r for recs in by_day.values() for r in recs if isinstance(r, dict)]
    defects["missing_text"] = sum("text" not in r for r in records)
    defects["empty_text"] = sum(r.get("text") == "" for r in records)
    for kind in ("bad_line", "missing_text", "empty_text", "invalid_utf8"):
        assert noise[kind] == defects[kind] == 3, kind  # one per kind per day at this volume

    ids = Counter(r["comment_id"] for r in records)
    assert noise["duplicate_id"] == sum(n - 1 for n in ids.values()) == 3 * 30
    usable = [r for r in records if r.get("text")]
    for kind, pattern in CONTENT_NOISE.items():
        assert noise[kind] == sum(bool(pattern.search(r["text"])) for r in usable) > 0, kind
    assert any(r["text"].endswith("\ufeff") for r in usable)

    dates = Counter()
    for day, recs in by_day.items():
        for r in recs:
            if not isinstance(r, dict) or not r.get("text"):
                continue
            if r["published_at"] is None:
                dates["published_at_missing"] += 1
                continue
            try:
                published = dt.datetime.fromisoformat(r["published_at"]).date()
            except ValueError:
                dates["published_at_malformed"] += 1
                continue
            assert published in (day, day - dt.timedelta(days=1))
            dates["late_arrival"] += published < day
    for kind, count in dates.items():
        assert noise[kind] == count > 0, kind

    reposts = 0
    for recs in by_day.values():
        ids_by_post = defaultdict(set)
        for r in recs:
            if isinstance(r, dict) and r.get("text"):
                ids_by_post[r["author"], r["text"]].add(r["comment_id"])
        reposts += sum(len(v) - 1 for v in ids_by_post.values())
    assert noise["repost_new_id"] == reposts > 0


def test_noise_off_gives_a_clean_stream(tmp_path: Path) -> None:
    store, report = _land(tmp_path, noise=False, days=2, per_day=800)
    by_day = _records(store, report)
    records = [r for recs in by_day.values() for r in recs]
    assert len(records) == 1600 and all(isinstance(r, dict) for r in records)
    assert len({r["comment_id"] for r in records}) == 1600
    for recs in by_day.values():  # no reposts; across days an author may say the same again
        assert len({(r["author"], r["text"]) for r in recs}) == len(recs) == 800
    for r in records:
        assert r["text"] and not any(p.search(r["text"]) for p in CONTENT_NOISE.values())
        published = dt.datetime.fromisoformat(r["published_at"]).date()
        assert START <= published <= START + dt.timedelta(days=1)
    assert not any(report.noise.values())


def test_gold_labels_are_well_formed(landed) -> None:
    store, report, by_day = landed
    text = store.get_bytes("labels/synthetic.csv").decode("utf-8")
    assert text.startswith("comment_id,label,split\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert report.label_files == {"labels/synthetic.csv": len(rows)}
    assert len({r["comment_id"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert {r["label"] for r in rows} == {"0", "1"}
    splits = Counter((r["split"], int(r["label"])) for r in rows)
    assert report.splits == {
        s: {c: splits[s, c] for c in (0, 1) if splits[s, c]} for s in ("dev", "test")
    }
    assert 0.03 * 4500 < len(rows) < 0.07 * 4500  # the default label share is 5 %
    usable = {
        r["comment_id"]
        for recs in by_day.values()
        for r in recs
        if isinstance(r, dict) and r.get("text")
    }
    assert {r["comment_id"] for r in rows} <= usable


def test_generate_texts_is_deterministic_and_mixed() -> None:
    texts, labels = generate_texts(4000, seed=3)
    again, again_labels = generate_texts(4000, seed=3)
    assert texts == again and np.array_equal(labels, again_labels)
    assert generate_texts(4000, seed=4)[0] != texts
    assert len(texts) == len(labels) == 4000 and set(labels.tolist()) == {0, 1}
    assert 0.40 < labels.mean() < 0.50
    assert len(set(texts)) > 2000 and all(t for t in texts)
    spam = [t.lower() for t, y in zip(texts, labels, strict=True) if y == 1]
    ham = [t.lower() for t, y in zip(texts, labels, strict=True) if y == 0]
    share = {
        word: (np.mean([word in t for t in spam]), np.mean([word in t for t in ham]))
        for word in ("channel", "http")
    }
    assert share["http"][0] > 0.2 > share["http"][1]
    assert share["channel"][1] > 0  # ham mentions channels too: not separable by one word


@pytest.mark.parametrize(
    "kwargs",
    [{"formats": ("parquet",)}, {"formats": ()}, {"days": 0}, {"spam_share": 1.5}, {"seed": -1}],
)
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        _land(tmp_path, **kwargs)
