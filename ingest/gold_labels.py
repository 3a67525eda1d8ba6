"""Gold labels: a small hand-labeled sample, used for evaluation only.

Files `labels/*.csv` with header `comment_id,label,split`; `label` is a class
index or a class name of the task, `split` is `dev` (inspect LFs, class balance)
or `test` (measure). Rows that break the contract are returned as rejects with a
reason, never dropped: a label outside the task's classes is refused here, at
ingest, not deep inside the label model's fit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

SPLITS = ("dev", "test")
GOLD_SCHEMA = pa.schema(
    [
        ("comment_id", pa.string()),
        ("label", pa.int32()),
        ("split", pa.string()),
        ("source_file", pa.string()),
    ]
)
GOLD_REJECT_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("reason", pa.string()),
        ("raw_record", pa.string()),
    ]
)


@dataclass
class GoldLabels:
    labels: pa.Table
    rejects: pa.Table


def _class_index(value: str, classes: Sequence[str]) -> int | None:
    """The class index a label cell names (an index or a class name), or None."""
    if value in classes:
        return classes.index(value)
    try:
        index = int(value)
    except ValueError:
        return None
    return index if 0 <= index < len(classes) else None


def parse_gold_files(files: dict[str, bytes], classes: Sequence[str]) -> GoldLabels:
    """Parse label files (key -> bytes), first file in key order wins on repeated ids."""
    known = ", ".join(f"{i}={name}" for i, name in enumerate(classes))
    rows: dict[str, dict] = {}
    rejects: list[dict] = []
    for key in sorted(files):
        try:
            text = files[key].decode("utf-8-sig")
        except UnicodeDecodeError as err:
            rejects.append(_reject(key, 0, f"not UTF-8: {err.reason}", ""))
            continue
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"comment_id", "label", "split"} - set(reader.fieldnames or [])
        if missing:
            rejects.append(_reject(key, 1, f"header lacks {sorted(missing)}", text[:200]))
            continue
        for line_no, row in enumerate(reader, start=2):
            raw = ",".join(str(v) for v in row.values())
            cid, split = (row["comment_id"] or "").strip(), (row["split"] or "").strip()
            cell = (row["label"] or "").strip()
            label = _class_index(cell, classes)
            if label is None:
                reason = f"label {cell!r} is not a class of this task ({known})"
                rejects.append(_reject(key, line_no, reason, raw))
                continue
            if not cid:
                rejects.append(_reject(key, line_no, "comment_id is empty", raw))
            elif split not in SPLITS:
                rejects.append(_reject(key, line_no, f"split must be one of {SPLITS}", raw))
            elif cid in rows and (rows[cid]["label"], rows[cid]["split"]) != (label, split):
                rejects.append(_reject(key, line_no, "conflicts with an earlier row", raw))
            elif cid not in rows:
                rows[cid] = {"comment_id": cid, "label": label, "split": split, "source_file": key}
    return GoldLabels(
        labels=pa.Table.from_pylist(list(rows.values()), schema=GOLD_SCHEMA),
        rejects=pa.Table.from_pylist(rejects, schema=GOLD_REJECT_SCHEMA),
    )


def _reject(key: str, line: int, reason: str, raw: str) -> dict:
    return {"source_file": key, "source_line": line, "reason": reason, "raw_record": raw}
