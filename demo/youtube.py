"""Land the UCI YouTube Spam Collection as daily comment files plus gold labels.

The five original CSVs become one JSON-lines file per (video, day) in the
landing zone, with the class withheld, so the pipeline sees the real data the
way it would see a live feed. The gold-label split reproduces Snorkel's spam
tutorial exactly (see DESIGN.md, Evaluation) so results compare with its
published numbers. Texts are landed byte-exact: cleaning is ingest's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from demo.labels import LandedFile, LandingReport, class_counts, write_labels
from storage.object_store import ObjectStore

COLUMNS = ["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"]
FIELDS = ["comment_id", "author", "text", "published_at", "source", "label"]
LABELS_KEY = "labels/youtube.csv"
SEED = 123
DEV_SIZE = 100
TEST_SIZE = 250


def video_files(folder: Path) -> list[Path]:
    """The five `Youtube0*.csv` files, sorted by name as the Snorkel split requires."""
    files = sorted(Path(folder).glob("Youtube0*.csv"), key=lambda p: p.name)
    if len(files) != 5:
        raise FileNotFoundError(f"expected 5 Youtube0*.csv files in {folder}, found {len(files)}")
    return files


def read_video(path: Path) -> pd.DataFrame:
    """One video's comments with the landing field names, in file order.

    pandas' C parser is the reference reader (it folds the unclosed quote in the
    Eminem file into one record, giving UCI's 448). Every value is read as a
    string with no NA guessing, so a text such as "NA" stays a text; the result
    is checked against the `csv` module so the two readers can never disagree
    silently on these files.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(df.columns) != COLUMNS:
        raise ValueError(f"{path.name}: header {list(df.columns)} is not {COLUMNS}")
    with path.open(newline="", encoding="utf-8") as fh:
        reference = [list(row.values()) for row in csv.DictReader(fh)]
    if df.to_numpy().tolist() != reference:
        raise ValueError(f"{path.name}: pandas and the csv module read different records")
    return pd.DataFrame(
        {
            "comment_id": df["COMMENT_ID"],
            "author": df["AUTHOR"],
            "text": df["CONTENT"],
            "published_at": pd.Series([d or None for d in df["DATE"]], dtype=object),
            "source": path.stem.lower(),
            "label": df["CLASS"].astype(int),
        },
        columns=FIELDS,
    )


def youtube_split(folder: Path) -> dict[str, pd.DataFrame]:
    """The Snorkel spam-tutorial split: `train`, `dev`, `valid` and `test` frames.

    Each file is shuffled with seed 123; `train` is the whole pool of the first
    four videos (as in Snorkel, `dev` is sampled from it and is therefore also
    part of it); `test` is a stratified 250 of the fifth video and `valid` the
    rest. Frames carry the gold `label`, so `train` also gives the supervised
    ceiling. Row positions, not ids, define the split, so the three repeated ids
    appear as often as in the files.
    """
    return _split([read_video(p) for p in video_files(folder)])


def _split(videos: list[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    shuffled = [frame.sample(frac=1, random_state=SEED) for frame in videos]
    pool = pd.concat(shuffled[:4])
    dev = pool.sample(DEV_SIZE, random_state=SEED)
    last = shuffled[4]
    valid, test = train_test_split(
        last, test_size=TEST_SIZE, random_state=SEED, stratify=last["label"]
    )
    return {
        name: frame.reset_index(drop=True)
        for name, frame in {"train": pool, "dev": dev, "valid": valid, "test": test}.items()
    }


def _landing_days(frame: pd.DataFrame) -> list[str]:
    """Landing day per record: the day of its date, or the file's latest day when undated.

    Undated records must land somewhere; the latest day of their own video is
    the day the file would plausibly have been exported, and it keeps them next
    to the comments they were collected with.
    """
    days = [
        None if d is None else dt.datetime.fromisoformat(d).date().isoformat()
        for d in frame["published_at"]
    ]
    dated = [d for d in days if d is not None]
    if not dated:
        raise ValueError(f"{frame['source'].iat[0]}: no dated record to place undated ones")
    latest = max(dated)
    return [latest if d is None else d for d in days]


def land_youtube(folder: Path, store: ObjectStore) -> LandingReport:
    """Land the five videos as `comments/dt=<day>/<video>.jsonl` and write gold labels.

    One file per (video, day), records in their original order, fields
    `comment_id, author, text, published_at, source` (CLASS is withheld).
    `published_at` is DATE verbatim, or null when empty; undated records (245
    Eminem spam rows) land on the day of the latest DATE in their own file,
    2015-05-29, and since they have no date that is also their partition.

    Gold labels go to `labels/youtube.csv` (`dev` and `test` rows). Identical
    rows are written once: the Shakira comment repeated verbatim in the file is
    drawn twice into `test`, so the label file holds 249 test ids for the
    250-row test frame.
    """
    videos = [read_video(p) for p in video_files(folder)]
    files: list[LandedFile] = []
    days: set[str] = set()
    for frame in videos:
        source = frame["source"].iat[0]
        by_day: dict[str, list[str]] = defaultdict(list)
        records = frame.drop(columns="label").to_dict("records")
        for day, record in zip(_landing_days(frame), records, strict=True):
            by_day[day].append(json.dumps(record, ensure_ascii=False) + "\n")
        for day, lines in sorted(by_day.items()):
            key = f"comments/dt={day}/{source}.jsonl"
            store.put_bytes(key, "".join(lines).encode("utf-8"))
            files.append(LandedFile(key, len(lines)))
        days.update(by_day)

    split = _split(videos)
    gold = [
        (cid, label, name)
        for name in ("dev", "test")
        for cid, label in zip(split[name]["comment_id"], split[name]["label"], strict=True)
    ]
    written = write_labels(store, LABELS_KEY, gold)
    return LandingReport(
        files=sorted(files, key=lambda f: f.key),
        days=sorted(dt.date.fromisoformat(d) for d in days),
        splits={name: class_counts(frame["label"]) for name, frame in split.items()},
        label_files={LABELS_KEY: written},
    )
