"""Apply labeling functions to a DuckDB relation (or a DataFrame) and build the label matrix.

`apply_lfs` runs every declarative LF in one SQL pass inside DuckDB and streams the rows as Arrow
record batches to the Python LFs. `apply_lfs_reference` is the naive row-by-row loop that defines
what the votes should be; the tests check that both agree.

Row order: rows are always returned sorted by the id column (ascending, in the engine's order),
whatever the input order, so the same data gives the same matrix. Ids must be unique and
non-null.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from weak_supervision.declarative import DeclarativeLF
from weak_supervision.lf import ABSTAIN, LabelingFunction, PythonLF
from weak_supervision.sql import DUCKDB, SqlDialect, is_qualified_name

Source = str | pd.DataFrame | pa.Table


@dataclass(frozen=True, eq=False)
class LabelMatrix:
    """Votes of `m` LFs on `n` rows: `L[i, j]` is LF j's vote on row `ids[i]` (-1 abstains)."""

    ids: np.ndarray
    L: np.ndarray
    lf_names: tuple[str, ...]
    lf_versions: tuple[str, ...]
    id_column: str = "comment_id"

    def __post_init__(self) -> None:
        if self.L.shape != (len(self.ids), len(self.lf_names)) or len(self.lf_versions) != len(
            self.lf_names
        ):
            raise ValueError("ids, L, lf_names and lf_versions do not agree in shape")

    def to_arrow(self, *, wide: bool = False, drop_abstains: bool = False) -> pa.Table:
        """Long form (id, lf_name, lf_version, vote), the shape of the `lf_votes` table; or wide
        form, one int8 column per LF named after it. `drop_abstains` keeps only real votes
        (long form only): the matrix is usually sparse."""
        ids = pa.array(self.ids)
        if wide:
            columns = {self.id_column: ids}
            columns.update({name: pa.array(self.L[:, j]) for j, name in enumerate(self.lf_names)})
            return pa.table(columns)
        n, m = self.L.shape
        row_index = np.repeat(np.arange(n), m)
        lf_index = np.tile(np.arange(m), n)
        votes = self.L.reshape(-1)
        if drop_abstains:
            keep = votes != ABSTAIN
            row_index, lf_index, votes = row_index[keep], lf_index[keep], votes[keep]
        names = pa.array(self.lf_names, pa.string())
        versions = pa.array(self.lf_versions, pa.string())
        return pa.table(
            {
                self.id_column: ids.take(pa.array(row_index)),
                "lf_name": names.take(pa.array(lf_index)),
                "lf_version": versions.take(pa.array(lf_index)),
                "vote": pa.array(votes, pa.int8()),
            }
        )

    def to_frame(self, *, wide: bool = False, drop_abstains: bool = False) -> pd.DataFrame:
        """`to_arrow` as a pandas DataFrame."""
        return self.to_arrow(wide=wide, drop_abstains=drop_abstains).to_pandas()

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame | pa.Table,
        *,
        id_column: str = "comment_id",
        lf_names: Sequence[str] | None = None,
    ) -> LabelMatrix:
        """Rebuild a matrix from the long form of `to_arrow` (e.g. read back from `lf_votes`).

        Missing (id, LF) cells are abstains. Rows are sorted by id; LFs follow `lf_names`, or
        sorted names. Rows that had only abstains are lost if abstains were dropped on write.
        """
        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame)
        table = table.sort_by([(id_column, "ascending")])
        ids, id_index = np.unique(
            table[id_column].to_numpy(zero_copy_only=False), return_inverse=True
        )
        stored = table["lf_name"].to_numpy(zero_copy_only=False)
        names = list(lf_names) if lf_names is not None else sorted(set(stored))
        position = {name: j for j, name in enumerate(names)}
        unknown = set(stored) - set(position)
        if unknown:
            raise ValueError(f"votes for LFs not in lf_names: {sorted(unknown)}")
        lf_index = np.array([position[name] for name in stored], dtype=np.int64)
        L = np.full((len(ids), len(names)), ABSTAIN, dtype=np.int8)
        L[id_index, lf_index] = table["vote"].to_numpy(zero_copy_only=False)
        versions = dict(
            zip(stored, table["lf_version"].to_numpy(zero_copy_only=False), strict=True)
        )
        return cls(ids, L, tuple(names), tuple(versions.get(n, "") for n in names), id_column)


def _check_lfs(lfs: Sequence[LabelingFunction]) -> list[LabelingFunction]:
    lfs = list(lfs)
    for lf in lfs:
        if not isinstance(lf, DeclarativeLF | PythonLF):
            raise TypeError(f"not a labeling function: {lf!r}")
    names = [lf.name for lf in lfs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate LF names: {duplicates}")
    return lfs


@contextmanager
def _relation(
    con: duckdb.DuckDBPyConnection | None, source: Source, dialect: SqlDialect
) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """Yield a connection and a FROM-clause item for `source`.

    A DataFrame or Arrow table is registered under a unique temporary name and unregistered
    afterwards; a string is a (possibly qualified) table name, or else a trusted SQL query.
    """
    if isinstance(source, pd.DataFrame | pa.Table):
        con = con if con is not None else duckdb.connect()
        view = f"__sluice_lf_input_{uuid.uuid4().hex}"
        con.register(view, source)
        try:
            yield con, dialect.quote_identifier(view)
        finally:
            con.unregister(view)
        return
    if con is None:
        raise ValueError("a connection is required when the source is a table name or query")
    if not isinstance(source, str):
        raise TypeError(f"unsupported source type {type(source).__name__}")
    yield con, dialect.quote_qualified(source) if is_qualified_name(source) else f"({source})"


def _check_ids(ids: pa.ChunkedArray | pa.Array, id_column: str) -> np.ndarray:
    """Ids as numpy, after checking they are non-null and unique (they arrive sorted)."""
    if ids.null_count:
        raise ValueError(f"{ids.null_count} rows have a NULL {id_column!r}")
    if len(ids) > 1:
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        if pc.any(pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py():
            raise ValueError(f"{id_column!r} is not unique; deduplicate the rows first")
    return ids.to_numpy(zero_copy_only=False)


def apply_lfs(
    con: duckdb.DuckDBPyConnection | None,
    source: Source,
    lfs: Sequence[LabelingFunction],
    id_column: str = "comment_id",
    batch_size: int = 65_536,
    dialect: SqlDialect = DUCKDB,
) -> LabelMatrix:
    """Apply `lfs` to every row of `source` and return the label matrix, sorted by id.

    `source` is a table name, a SQL query, a pandas DataFrame or an Arrow table (the latter two
    are queried through `con`, or a fresh in-memory DuckDB when `con` is None). Declarative LFs
    run together in one SQL pass; Python LFs see the rows as pandas batches of `batch_size`.
    """
    lfs = _check_lfs(lfs)
    declarative = [(j, lf) for j, lf in enumerate(lfs) if isinstance(lf, DeclarativeLF)]
    python = [(j, lf) for j, lf in enumerate(lfs) if isinstance(lf, PythonLF)]
    with _relation(con, source, dialect) as (con, from_item):
        select = [f"src.{dialect.quote_identifier(id_column)}"]
        params: list[object] = []
        for _, lf in declarative:
            fragment = lf.compile(dialect)
            select.append(f"CAST({fragment.sql} AS TINYINT)")
            params.extend(fragment.params)
        if python:
            select.append("src.*")
        sql = f"SELECT {', '.join(select)} FROM {from_item} AS src ORDER BY 1"
        reader = con.sql(sql, params=params).to_arrow_reader(batch_size)
        id_chunks: list[pa.Array] = []
        vote_chunks: list[list[np.ndarray]] = [[] for _ in lfs]
        try:
            for batch in reader:
                id_chunks.append(batch.column(0))
                for offset, (j, _) in enumerate(declarative, start=1):
                    vote_chunks[j].append(batch.column(offset).to_numpy(zero_copy_only=False))
                if python:
                    _apply_python(batch, len(declarative) + 1, python, vote_chunks)
        finally:
            reader.close()  # an LF error must not leave the result open on the connection
    ids = _check_ids(pa.chunked_array(id_chunks, type=reader.schema.field(0).type), id_column)
    L = np.empty((len(ids), len(lfs)), dtype=np.int8)
    for j, chunks in enumerate(vote_chunks):
        L[:, j] = np.concatenate(chunks) if chunks else np.empty(0, np.int8)
    return LabelMatrix(
        ids, L, tuple(lf.name for lf in lfs), tuple(lf.version for lf in lfs), id_column
    )


def _apply_python(
    batch: pa.RecordBatch,
    first_data_column: int,
    python: list[tuple[int, PythonLF]],
    vote_chunks: list[list[np.ndarray]],
) -> None:
    """Run the Python LFs on one record batch (converted to pandas/records once, if needed)."""
    data = batch.select(list(range(first_data_column, batch.num_columns)))
    frame: pd.DataFrame | None = None
    records: list[dict] | None = None
    for j, lf in python:
        if lf.row:
            records = data.to_pylist() if records is None else records
            vote_chunks[j].append(lf.vote_records(records))
        else:
            frame = data.to_pandas() if frame is None else frame
            vote_chunks[j].append(lf(frame))


def apply_lfs_reference(
    con: duckdb.DuckDBPyConnection | None,
    source: Source,
    lfs: Sequence[LabelingFunction],
    id_column: str = "comment_id",
    dialect: SqlDialect = DUCKDB,
) -> LabelMatrix:
    """The naive definition of the votes: a Python loop over rows, one LF call per cell.

    Declarative LFs use their Python evaluation, batch LFs get one-row DataFrames. Slow; for
    tests and debugging.
    """
    lfs = _check_lfs(lfs)
    with _relation(con, source, dialect) as (con, from_item):
        order = f"src.{dialect.quote_identifier(id_column)}"
        table = con.sql(f"SELECT src.* FROM {from_item} AS src ORDER BY {order}").to_arrow_table()
    ids = _check_ids(table[id_column], id_column)
    L = np.empty((table.num_rows, len(lfs)), dtype=np.int8)
    for i in range(table.num_rows):
        row = table.slice(i, 1)
        for j, lf in enumerate(lfs):
            if isinstance(lf, DeclarativeLF):
                L[i, j] = lf.vote_value(row[lf.column][0].as_py())
            elif isinstance(lf, PythonLF) and lf.row:
                L[i, j] = lf.vote_records(row.to_pylist())[0]
            else:
                L[i, j] = lf(row.to_pandas())[0]
    return LabelMatrix(
        ids, L, tuple(lf.name for lf in lfs), tuple(lf.version for lf in lfs), id_column
    )
