"""Warehouse writes: an empty first day is a normal day, and a table an empty day damaged
before this fix is repaired on the next write."""

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa

from storage.tables import replace_window

SCHEMA = pa.schema([("comment_id", pa.string()), ("partition_date", pa.date32()),
                    ("p_spam", pa.float64())])  # fmt: skip
D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)


def day(ids, when):
    frame = pd.DataFrame({"comment_id": ids, "partition_date": [when] * len(ids),
                          "p_spam": [0.5] * len(ids)})  # fmt: skip
    return pa.Table.from_pandas(frame, preserve_index=False)


def test_an_empty_first_day_gets_the_declared_schema_and_later_days_insert(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    empty = pa.Table.from_pandas(pd.DataFrame({"comment_id": [], "partition_date": [],
                                               "p_spam": []}))  # fmt: skip
    replace_window(con, "score.s", empty, D1, D2, SCHEMA)
    replace_window(con, "score.s", day(["a", "b"], D2), D2, D2 + dt.timedelta(days=1), SCHEMA)
    types = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 's'"
    ).fetchall()
    assert dict(types) == {"comment_id": "VARCHAR", "partition_date": "DATE", "p_spam": "DOUBLE"}
    assert con.execute("SELECT count(*) FROM score.s").fetchall() == [(2,)]


def test_a_table_created_untyped_by_an_empty_day_is_repaired(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA score")
    con.execute("CREATE TABLE score.s AS SELECT NULL AS comment_id, NULL AS partition_date, "
                "NULL AS p_spam LIMIT 0")  # fmt: skip
    replace_window(con, "score.s", day(["a"], D1), D1, D2, SCHEMA)
    assert con.execute("SELECT comment_id, partition_date FROM score.s").fetchall() == [("a", D1)]
