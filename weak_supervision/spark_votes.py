"""Labeling-function votes over a Spark DataFrame: the same LFs, the same votes as in-process.

Spark's SQL regular expressions are Java's, not RE2, so declarative LFs are never compiled
to Spark SQL. Instead each Spark task hands its rows to the in-process applier as Arrow
batches (`mapInArrow`): every batch goes through `apply_lfs` over an in-memory DuckDB, the
code path and RE2 build of the embedded engine, with Python LFs on the same batches. A vote
depends only on its own row, so splitting the rows into batches changes no vote; the driver
then sorts by id and checks ids are unique across batches, as `apply_lfs` does within one.

pyspark is imported inside the functions that need it: the module loads without it. The
worker function is a module-level function of this importable module, so Spark ships it by
reference; the LFs travel pickled (a Python LF by reference to its own module's function).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weak_supervision.applier import LabelMatrix, _check_ids, _check_lfs, apply_lfs
from weak_supervision.lf import LabelingFunction

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def vote_batches(
    batches: Iterator[pa.RecordBatch],
    lfs: Sequence[LabelingFunction],
    id_column: str,
    keep: Sequence[str],
) -> Iterator[pa.RecordBatch]:
    """Wide votes (id, `keep` columns, one int8 column per LF) for each input batch.

    Runs in a Spark Python worker; also callable directly on any Arrow batches.
    """
    names = [lf.name for lf in lfs]
    for batch in batches:
        if batch.num_rows == 0:
            continue
        rows = pa.Table.from_batches([batch])
        matrix = apply_lfs(None, rows, lfs, id_column=id_column)
        ids = pa.array(matrix.ids, type=rows.schema.field(id_column).type)
        order = pc.index_in(ids, value_set=rows.column(id_column))
        columns = {id_column: ids}
        columns |= {c: rows.column(c).take(order).combine_chunks() for c in keep}
        columns |= {name: pa.array(matrix.L[:, j], pa.int8()) for j, name in enumerate(names)}
        yield from pa.table(columns).to_batches()


def vote_frame(
    df: DataFrame,
    lfs: Sequence[LabelingFunction],
    id_column: str = "comment_id",
    keep: Sequence[str] = (),
) -> DataFrame:
    """The votes of `lfs` on every row of `df` as a lazy Spark DataFrame in wide form:
    `id_column`, the `keep` columns, then one byte column per LF named after it (-1 abstains)."""
    from pyspark.sql.types import ByteType, StructField, StructType

    lfs = _check_lfs(lfs)
    keep = list(keep)
    reserved = {id_column, *keep} & {lf.name for lf in lfs}
    if reserved:
        raise ValueError(f"LF names clash with kept columns: {sorted(reserved)}")
    fields = [df.schema[c] for c in (id_column, *keep)]
    fields += [StructField(lf.name, ByteType(), nullable=False) for lf in lfs]
    needed = list(dict.fromkeys([id_column, *keep, *_columns_read(df, lfs)]))
    return df.select(*needed).mapInArrow(
        lambda batches: vote_batches(batches, lfs, id_column, keep), StructType(fields)
    )


def _columns_read(df: DataFrame, lfs: Sequence[LabelingFunction]) -> list[str]:
    """The columns the LFs may read: a declarative LF names its column, a Python LF may read
    any, so with one Python LF every column goes to the workers."""
    from weak_supervision.declarative import DeclarativeLF

    if all(isinstance(lf, DeclarativeLF) for lf in lfs):
        return [lf.column for lf in lfs]
    return list(df.columns)


def apply_lfs_spark(
    df: DataFrame, lfs: Sequence[LabelingFunction], id_column: str = "comment_id"
) -> LabelMatrix:
    """`apply_lfs` for a Spark DataFrame: the same label matrix, rows sorted by id."""
    return apply_lfs_spark_keeping(df, lfs, (), id_column)[0]


def apply_lfs_spark_keeping(
    df: DataFrame,
    lfs: Sequence[LabelingFunction],
    keep: Sequence[str],
    id_column: str = "comment_id",
) -> tuple[LabelMatrix, pa.Table]:
    """`apply_lfs_spark`, and the `keep` columns of `df` (e.g. `partition_date`) in the
    matrix's row order: what the lf_votes asset needs to file each vote under its day."""
    lfs = _check_lfs(lfs)
    frame = vote_frame(df, lfs, id_column, keep).toPandas()  # Arrow-backed on the driver
    wide = pa.Table.from_pandas(frame, preserve_index=False).sort_by([(id_column, "ascending")])
    ids = _check_ids(wide.column(id_column), id_column)
    L = np.empty((wide.num_rows, len(lfs)), dtype=np.int8)
    for j, lf in enumerate(lfs):
        L[:, j] = wide.column(lf.name).to_numpy(zero_copy_only=False)
    matrix = LabelMatrix(
        ids, L, tuple(lf.name for lf in lfs), tuple(lf.version for lf in lfs), id_column
    )
    return matrix, wide.select(list(keep))
