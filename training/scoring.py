"""Scoring a window of days with a classifier in bounded Arrow batches.

The day's featured comments stream out of DuckDB (a relation's `to_arrow_reader`) a batch at a time;
each batch is scored and inserted into `score.comment_scores` inside one transaction that
first deletes the window, so readers see the old window or the new one, never a mix, and a
failure leaves the old one. Each day's Parquet export is written batch by batch to a
temporary file and uploaded once the warehouse has committed. Memory holds one batch (and
the model), whatever the day's size.

Rows are scored independently (hashed features, a linear model), so a batch boundary
changes no probability: the rows are those one whole-window `predict_proba` gives.

Each day gets its own figures as it streams: rows, rows per predicted class and a data
version, a hash of the day's scores (every column but `scored_at`, so scoring the same rows
with the same model again gives the same version) that does not depend on the batch size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from storage.object_store import ObjectStore
from storage.tables import Connection, quote, replace_window, transaction
from training.warehouse import scores_schema

TABLE = "score.comment_scores"
FEATURES = "main.comment_features"
BATCH_ROWS = 50_000
# Columns a day's data version hashes: all but when the scores were computed.
_UNVERSIONED = ("scored_at",)


def export_key(day: str) -> str:
    """Where a day's scores go in the exports store."""
    return f"scores/dt={day}/scores.parquet"


def score_batch(
    batch: pa.RecordBatch | pa.Table,
    model: Any,
    version: str,
    classes: Sequence[str],
    scored_at: dt.datetime,
) -> pa.Table:
    """The `score.comment_scores` rows (declared schema) of some featured comments."""
    rows = batch.num_rows
    proba = (
        np.asarray(model.predict_proba(batch.to_pandas()), dtype=np.float64)
        if rows
        else np.zeros((0, len(classes)))
    )
    columns: dict[str, Any] = {
        "comment_id": batch.column("comment_id"),
        "partition_date": batch.column("partition_date"),
        "predicted_label": pa.array(proba.argmax(axis=1).astype(np.int32)),
    }
    columns |= {f"p_{name}": pa.array(proba[:, i]) for i, name in enumerate(classes)}
    columns["model_version"] = pa.array([version] * rows, pa.string())
    columns["scored_at"] = pa.array([scored_at] * rows, pa.timestamp("us"))
    return pa.table(columns).cast(scores_schema(classes))


@dataclass
class DayScores:
    """One day's scores as they stream past: counts, and per-column digests whose combination
    is the day's data version (each column hashed on its own, so batch boundaries do not
    matter)."""

    classes: Sequence[str]
    rows: int = 0
    by_class: np.ndarray = field(init=False)
    proba_sum: np.ndarray = field(init=False)
    _digests: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.by_class = np.zeros(len(self.classes), dtype=np.int64)
        self.proba_sum = np.zeros(len(self.classes))

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        labels = table.column("predicted_label").to_numpy()
        self.by_class += np.bincount(labels, minlength=len(self.classes))
        for i, name in enumerate(self.classes):
            self.proba_sum[i] += table.column(f"p_{name}").to_numpy().sum()
        for name in table.column_names:
            if name not in _UNVERSIONED:
                _update(self._digests, name, table.column(name))

    @property
    def rows_by_class(self) -> dict[str, int]:
        return {name: int(self.by_class[i]) for i, name in enumerate(self.classes)}

    @property
    def mean_proba(self) -> dict[str, float]:
        """Mean probability of each class over the day's rows (empty: none)."""
        if not self.rows:
            return {}
        return {name: float(self.proba_sum[i] / self.rows) for i, name in enumerate(self.classes)}

    @property
    def data_version(self) -> str:
        combined = hashlib.sha256(str(self.rows).encode())
        for name in sorted(self._digests):
            combined.update(name.encode() + self._digests[name].digest())
        return combined.hexdigest()[:16]


def _update(digests: dict[str, Any], name: str, column: pa.ChunkedArray) -> None:
    """Feed a column chunk to its digests: fixed-width values as their bytes; strings as their
    lengths and their bytes (two digests, so concatenating chunks gives the same hashes)."""
    for chunk in column.chunks:
        if pa.types.is_string(chunk.type):
            offsets = np.frombuffer(chunk.buffers()[1], np.int32)[
                chunk.offset : chunk.offset + len(chunk) + 1
            ]
            data = chunk.buffers()[2]
            payload = b"" if data is None else memoryview(data)[offsets[0] : offsets[-1]]
            digests.setdefault(name, hashlib.sha256()).update(np.diff(offsets).tobytes())
            digests.setdefault(f"{name}/bytes", hashlib.sha256()).update(payload)
        else:
            values = chunk.cast(pa.int32()) if pa.types.is_date32(chunk.type) else chunk
            digests.setdefault(name, hashlib.sha256()).update(values.to_numpy().tobytes())


@dataclass(frozen=True)
class ScoredWindow:
    """Every day of the window (empty days included), and the export each non-empty day wrote."""

    days: dict[str, DayScores]
    exports: dict[str, str]  # day -> URI

    @property
    def rows(self) -> int:
        return sum(day.rows for day in self.days.values())

    @property
    def data_version(self) -> str:
        """The window's version: its days' versions combined (one day: that day's)."""
        if len(self.days) == 1:
            return next(iter(self.days.values())).data_version
        joined = ",".join(f"{day}={s.data_version}" for day, s in sorted(self.days.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


def score_window(
    con: Connection,
    exports: ObjectStore,
    model: Any,
    version: str,
    classes: Sequence[str],
    window: tuple[dt.date, dt.date],
    scored_at: dt.datetime,
    batch_rows: int = BATCH_ROWS,
) -> ScoredWindow:
    """Score the featured comments of days [start, end) into `score.comment_scores` (the window
    replaced in one transaction) and export each day as Parquet; see the module docstring."""
    import pyarrow.parquet as pq

    start, end = window
    schema = scores_schema(classes)
    # An empty window [end, end): creates (or repairs) the table, deletes nothing.
    replace_window(con, TABLE, schema.empty_table(), end, end, schema)
    days = {
        (start + dt.timedelta(days=n)).isoformat(): DayScores(classes)
        for n in range((end - start).days)
    }
    with tempfile.TemporaryDirectory(prefix="sluice-scores-") as spool:
        files: dict[str, str] = {}
        writer, current = None, None
        reader = con.cursor()  # a second connection: it streams while `con` writes
        # A relation's reader streams (DuckDB 2.0; an execute() result would copy every row).
        batches = reader.sql(
            f"SELECT * FROM {quote(FEATURES)} WHERE partition_date >= ? AND partition_date < ? "
            "ORDER BY partition_date, comment_id",
            params=[start, end],
        ).to_arrow_reader(batch_size=batch_rows)
        try:
            with transaction(con):
                con.execute(f"DELETE FROM {quote(TABLE)} WHERE partition_date >= ? "
                            "AND partition_date < ?", [start, end])  # fmt: skip
                for batch in batches:
                    scores = score_batch(batch, model, version, classes, scored_at)
                    _insert(con, scores)
                    for day, rows in _split_by_day(scores):
                        if day != current:
                            if writer is not None:
                                writer.close()
                            files[day] = f"{spool}/{day}.parquet"
                            writer, current = pq.ParquetWriter(files[day], schema), day
                        writer.write_table(rows)
                        days[day].add(rows)
                if writer is not None:
                    writer.close()
        finally:
            reader.close()
        uris = {}
        for day, path in files.items():
            with open(path, "rb") as handle:
                exports.put_bytes(export_key(day), handle.read())
            uris[day] = exports.uri(export_key(day))
    return ScoredWindow(days, uris)


def _insert(con: Connection, scores: pa.Table) -> None:
    con.register("_sluice_scores", scores)
    try:
        con.execute(f"INSERT INTO {quote(TABLE)} BY NAME SELECT * FROM _sluice_scores")
    finally:
        con.unregister("_sluice_scores")


def _split_by_day(scores: pa.Table) -> list[tuple[str, pa.Table]]:
    """The batch's rows per day, in order (batches arrive sorted by day)."""
    if scores.num_rows == 0:
        return []
    day_numbers = scores.column("partition_date").cast(pa.int32()).to_numpy()
    cuts = np.flatnonzero(np.diff(day_numbers)) + 1
    bounds = [0, *cuts.tolist(), scores.num_rows]
    epoch = dt.date(1970, 1, 1)
    return [
        (
            (epoch + dt.timedelta(days=int(day_numbers[a]))).isoformat(),
            scores.slice(a, b - a),
        )
        for a, b in itertools.pairwise(bounds)
    ]
