"""Scoring with the champion classifier over a Spark DataFrame: the in-process probabilities.

Each Spark task passes its rows as Arrow batches (`mapInArrow`) to `training.scoring.
score_batch`, the function the embedded engine scores its batches with. Every step of the
model (TF-IDF, scaling, logistic regression) works row by row, so batching changes no
probability. The model reaches the workers as a Spark broadcast of the object the driver
loaded (and checked) from the registry: no worker reads the model store.

pyspark is imported inside the functions that need it: the module loads without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from training.warehouse import scores_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ID_COLUMN = "comment_id"
DAY_COLUMN = "partition_date"


def score_batches(
    batches: Iterator[pa.RecordBatch],
    model: Any,
    version: str,
    classes: Sequence[str],
    scored_at: dt.datetime,
) -> Iterator[pa.RecordBatch]:
    """The `score.comment_scores` rows of each batch of featured comments, by the in-process
    scorer's own `score_batch`. Runs in a Spark Python worker."""
    from training.scoring import score_batch

    for batch in batches:
        if batch.num_rows:
            yield from score_batch(batch, model, version, classes, scored_at).to_batches()


def _spark_schema(classes: Sequence[str]) -> Any:
    """`scores_schema` in Spark types (timestamps without a zone, as the warehouse's)."""
    from pyspark.sql.types import (
        DateType,
        DoubleType,
        IntegerType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
    )

    fields = [
        StructField(ID_COLUMN, StringType()),
        StructField(DAY_COLUMN, DateType()),
        StructField("predicted_label", IntegerType()),
        *[StructField(f"p_{name}", DoubleType()) for name in classes],
        StructField("model_version", StringType()),
        StructField("scored_at", TimestampNTZType()),
    ]
    return StructType(fields)


def score_frame_spark(
    features: DataFrame,
    model: Any,
    version: str,
    classes: Sequence[str],
    scored_at: dt.datetime,
) -> DataFrame:
    """The scores of every row of `features` (comment_features columns) as a lazy Spark
    DataFrame with the columns of `score.comment_scores`."""
    broadcast = features.sparkSession.sparkContext.broadcast(model)
    classes = tuple(classes)

    def score(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from score_batches(batches, broadcast.value, version, classes, scored_at)

    return features.mapInArrow(score, _spark_schema(classes))


def collect_scores(scores: DataFrame, classes: Sequence[str]) -> pa.Table:
    """The scores on the driver as Arrow, in the in-process order (day, then comment id)."""
    frame = scores.toPandas()
    table = pa.Table.from_pandas(frame, preserve_index=False).cast(scores_schema(classes))
    return table.sort_by([(DAY_COLUMN, "ascending"), (ID_COLUMN, "ascending")])
