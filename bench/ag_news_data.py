"""AG News as a user would bring it: landed comment files, a gold-label CSV, and the split.

`../shared/datasets/ag_news/ag_news_test.csv` holds 7,600 articles (1,900 per class; labels
1..4 = World, Sports, Business, Sci/Tech, mapped to class indices 0..3). Each article becomes
one comment: `comment_id` `ag-<row>` (its 1-based data row), `text` = title + ". " +
description verbatim (the escapes, `#36;` entities and source prefixes are left for ingest and
dbt to clean, as with any user's data), no author.

The split (seed 123, fixed before any LF was written):

- `test`: 1,900 articles, `train_test_split(frame, test_size=1900, stratify=label,
  random_state=123)`, 475 per class. Gold `test` rows are landed too (the pipeline scores
  them) but never enter training: the training window leaves them out.
- training pool: the other 5,700 articles, the rows the label model and the classifier learn
  from, with their gold labels withheld; they serve only for the gold-trained ceiling.
- `dev`: 100 articles, `pool.sample(100, random_state=123)`, the only gold labels the LFs in
  `labeling_functions/ag_news.py` were written from. They stay in the training pool (as in
  the Snorkel spam tutorial's split) and join the label model's fit as labelled rows.

Days: the file has no dates, so article `row` is published on day `row % 8` after 2024-03-04
(noon UTC) and lands in `comments/dt=<day>/ag_news.jsonl`: eight daily partitions of 950.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd

from demo.labels import LandedFile, LandingReport, class_counts, write_labels
from settings import PROJECT_ROOT
from storage.object_store import ObjectStore

DATASET = PROJECT_ROOT.parent / "shared" / "datasets" / "ag_news"
CSV_NAME = "ag_news_test.csv"
CLASSES = ("world", "sports", "business", "sci_tech")
LABELS_KEY = "labels/ag_news.csv"
SEED = 123
TEST_SIZE = 1900
DEV_SIZE = 100
FIRST_DAY = dt.date(2024, 3, 4)
DAYS = 8


def dataset_file() -> Path | None:
    """The AG News CSV, or None (with a message) when it is not there."""
    path = DATASET / CSV_NAME
    if not path.is_file():
        print(f"bench: skipped, AG News is not in {DATASET}")
        return None
    return path


def read_articles(path: Path) -> pd.DataFrame:
    """One row per article: comment_id, text, published_at, source, label (0..3)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(raw.columns) != ["label", "title", "description"]:
        raise ValueError(f"{path.name}: header {list(raw.columns)} is not label,title,description")
    rows = range(1, len(raw) + 1)
    return pd.DataFrame(
        {
            "comment_id": [f"ag-{n:04d}" for n in rows],
            "text": raw["title"] + ". " + raw["description"],
            "published_at": [
                f"{FIRST_DAY + dt.timedelta(days=n % DAYS)}T12:00:00+00:00" for n in rows
            ],
            "source": "ag_news",
            "label": raw["label"].astype(int) - 1,
        }
    )


def ag_news_split(articles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`train` (the pool), `dev` (100 of the pool) and `test` frames, with gold `label`."""
    from sklearn.model_selection import train_test_split

    pool, test = train_test_split(
        articles, test_size=TEST_SIZE, stratify=articles["label"], random_state=SEED
    )
    dev = pool.sample(DEV_SIZE, random_state=SEED)
    return {
        name: frame.reset_index(drop=True)
        for name, frame in {"train": pool, "dev": dev, "test": test}.items()
    }


def land_ag_news(path: Path, store: ObjectStore) -> LandingReport:
    """Land every article (label withheld) by day, and `labels/ag_news.csv` (dev + test)."""
    articles = read_articles(path)
    by_day: dict[str, list[str]] = defaultdict(list)
    for record in articles.drop(columns="label").to_dict("records"):
        by_day[record["published_at"][:10]].append(json.dumps(record, ensure_ascii=False) + "\n")
    files = []
    for day, lines in sorted(by_day.items()):
        key = f"comments/dt={day}/ag_news.jsonl"
        store.put_bytes(key, "".join(lines).encode("utf-8"))
        files.append(LandedFile(key, len(lines)))
    split = ag_news_split(articles)
    gold = [
        (cid, label, name)
        for name in ("dev", "test")
        for cid, label in zip(split[name]["comment_id"], split[name]["label"], strict=True)
    ]
    return LandingReport(
        files=files,
        days=sorted(dt.date.fromisoformat(d) for d in by_day),
        splits={name: class_counts(frame["label"]) for name, frame in split.items()},
        label_files={LABELS_KEY: write_labels(store, LABELS_KEY, gold)},
    )
