"""What both demo landers share: the gold-label file and the landing report.

Gold labels follow the landing contract (`labels/<name>.csv`, header
`comment_id,label,split`, split `dev` or `test`). Writing them in one place
keeps the two landers from drifting apart on that contract.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.object_store import ObjectStore

LABEL_HEADER = ("comment_id", "label", "split")
GOLD_SPLITS = ("dev", "test")


@dataclass(frozen=True)
class LandedFile:
    """One object written to the landing zone and the records it holds."""

    key: str
    records: int


@dataclass
class LandingReport:
    """What a lander wrote, so the caller can print it and tests can check it.

    `splits` counts rows per split and class index (the YouTube lander also
    reports `train` and `valid`, which get no gold-label rows); `label_files`
    maps each label key to the rows it holds after de-duplication; `noise`
    counts the deliberate defects a generator injected, by kind.
    """

    files: list[LandedFile]
    days: list[dt.date]
    splits: dict[str, dict[int, int]]
    label_files: dict[str, int]
    noise: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Records written across all comment files."""
        return sum(f.records for f in self.files)


def write_labels(store: ObjectStore, key: str, rows: Iterable[tuple[str, int, str]]) -> int:
    """Write `(comment_id, label, split)` rows as a gold-label CSV; return the rows written.

    Identical rows are written once (source data may repeat a comment verbatim),
    while one id with two different labels or splits is an error: a reader
    could not tell which one is gold.
    """
    unique = list(dict.fromkeys((str(cid), int(label), split) for cid, label, split in rows))
    bad_splits = {split for _, _, split in unique} - set(GOLD_SPLITS)
    if bad_splits:
        raise ValueError(f"gold-label splits must be {GOLD_SPLITS}, got {sorted(bad_splits)}")
    conflicts = [cid for cid, n in Counter(cid for cid, _, _ in unique).items() if n > 1]
    if conflicts:
        raise ValueError(f"comment ids with conflicting gold labels: {sorted(conflicts)[:5]}")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LABEL_HEADER)
    writer.writerows(unique)
    store.put_bytes(key, buf.getvalue().encode("utf-8"))
    return len(unique)


def class_counts(labels: Iterable[int]) -> dict[int, int]:
    """Rows per class index, in class order (stable for reports and tests)."""
    return dict(sorted(Counter(int(x) for x in labels).items()))
