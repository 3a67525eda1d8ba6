"""The dbt project run by the real dbt CLI on a fixture DuckDB warehouse.

The warehouse is built with ingest's own `raw_tables` writers, and dbt runs as a dbt
developer runs it: `dbt_project/` as working directory, the repo's profiles.yml, the
warehouse path from SLUICE_WAREHOUSE.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ingest.gold_labels import GOLD_SCHEMA
from ingest.raw_tables import (
    QUARANTINE_SCHEMA,
    RAW_COMMENTS_SCHEMA,
    replace_gold_labels,
    replace_partition,
)
from resources.dbt import DBT_PROJECT_DIR, dbt_executable

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY_1 = dt.date(2015, 5, 1)
DAY_2 = dt.date(2015, 5, 2)
DAILY_MODELS = (
    "stg_comments",
    "int_author_daily",
    "int_text_daily",
    "int_comment_history",
    "comment_features",
)

# (comment_id, author, text as received, published_at); tricky strings from the real data.
FIXTURE_DAYS: dict[dt.date, list[tuple[str, str | None, str, dt.datetime | None]]] = {
    DAY_1: [
        ("c1", "Ann", "Hello &amp;#39;world&#39;<br />\ufeff", dt.datetime(2015, 5, 1, 10)),
        (
            "c2",
            "Ann",
            'CHECK my channel!!! <a href="http://x.y">http://x.y</a>\ufeff',
            dt.datetime(2015, 5, 1, 11),
        ),
        ("c3", None, "&lt;3 nice\u200b&lt;br /&gt;", None),
    ],
    DAY_2: [
        ("d1", "Ann", "CHECK my channel!!! http://x.y", dt.datetime(2015, 5, 2, 9)),
        ("d2", "Bob", "노래 좋아요 😀\u00a0\u202b", dt.datetime(2015, 5, 2, 9, 30)),
        ("d3", "Ann\ufeff", "bye", dt.datetime(2015, 5, 2, 12)),
    ],
}


def raw_day(day: dt.date, rows: list[tuple[str, str | None, str, dt.datetime | None]]) -> pa.Table:
    """raw.comments rows for one day, as ingest would have kept them."""
    return pa.Table.from_pylist(
        [
            {
                "comment_id": comment_id,
                "author": author,
                "text": text,
                "published_at": published_at,
                "source": "fixture",
                "partition_date": day,
                "landed_date": day,
                "source_file": f"comments/dt={day}/fixture.jsonl",
                "source_record": record,
                "source_line": record + 1,
                "policy_version": "test",
            }
            for record, (comment_id, author, text, published_at) in enumerate(rows)
        ],
        schema=RAW_COMMENTS_SCHEMA,
    )


def write_fixture_warehouse(path: Path) -> None:
    """A warehouse holding two days of raw comments and two gold labels."""
    with duckdb.connect(str(path)) as con:
        for day, rows in FIXTURE_DAYS.items():
            replace_partition(con, day, raw_day(day, rows), QUARANTINE_SCHEMA.empty_table())
        labels = pa.Table.from_pylist(
            [
                {"comment_id": "c1", "label": 0, "split": "dev", "source_file": "labels/a.csv"},
                {"comment_id": "d1", "label": 1, "split": "test", "source_file": "labels/a.csv"},
            ],
            schema=GOLD_SCHEMA,
        )
        replace_gold_labels(con, labels, pa.table({"source_file": pa.array([], pa.string())}))


def child_bytecode_env() -> dict[str, str]:
    """Let dbt child processes cache their bytecode in the temp dir.

    Each dbt process imports dbt anew; where PYTHONDONTWRITEBYTECODE is set that means
    recompiling dbt every time (seconds per run). A pycache prefix outside the repo and the
    venv keeps them clean and makes every run after the first one fast.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "sluice-test-pycache")
    return env


def run_dbt(args: list[str], warehouse: Path, target: Path) -> str:
    """Run the dbt CLI from dbt_project/ as a developer would; fail with its output."""
    env = {
        **child_bytecode_env(),
        "SLUICE_WAREHOUSE": str(warehouse),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    result = subprocess.run(
        [dbt_executable(), *args],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}"
    return result.stdout


def window_vars(start: dt.date, end: dt.date) -> list[str]:
    return ["--vars", f'{{"min_date": "{start}", "max_date": "{end}"}}']


def snapshot(warehouse: Path, tables: tuple[str, ...] = DAILY_MODELS) -> dict[str, list[tuple]]:
    """Every row of each table, sorted (the connection is closed before dbt runs again)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select * from main.{t} order by all").fetchall() for t in tables}


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder for the module, so later invocations can reuse the parse."""
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="module")
def pristine_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "warehouse.duckdb"
    write_fixture_warehouse(path)
    return path


@pytest.fixture(scope="module")
def built_warehouse(
    pristine_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, dbt_target: Path
) -> Iterator[Path]:
    """The fixture warehouse after a plain `dbt build` (every day, unit and data tests)."""
    path = tmp_path_factory.mktemp("built") / "warehouse.duckdb"
    shutil.copy(pristine_warehouse, path)
    run_dbt(["build"], path, dbt_target)
    yield path


def test_dbt_build_cleans_text_and_builds_every_model(built_warehouse: Path) -> None:
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        texts = dict(con.execute("select comment_id, text from main.stg_comments").fetchall())
        dirty = con.execute(
            """
            select count(*) from main.stg_comments
            where text like '%' || chr(65279) || '%'
               or regexp_matches(text, '&(#[0-9]+|[a-z]+);')
               or text ilike '%<br%'
            """
        ).fetchone()
        authors = con.execute("select author, active_days from main.author_activity").fetchall()
        labels = con.execute("select count(*) from main.stg_gold_labels").fetchone()
    assert dirty == (0,)
    assert texts == {
        "c1": "Hello 'world'",
        "c2": "CHECK my channel!!! http://x.y",
        "c3": "<3 nice",
        "d1": "CHECK my channel!!! http://x.y",
        "d2": "노래 좋아요 😀",
        "d3": "bye",
    }
    assert sorted(authors) == [("Ann", 2), ("Bob", 1)]
    assert labels == (2,)


def test_author_and_text_history_is_point_in_time(built_warehouse: Path) -> None:
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select comment_id, author_prior_comments, author_prior_days, text_prior_count
            from main.comment_features order by comment_id
            """
        ).fetchall()
    assert rows == [
        ("c1", 0, 0, 0),
        ("c2", 1, 0, 0),
        ("c3", 0, 0, 0),
        ("d1", 2, 1, 1),
        ("d2", 0, 0, 0),
        ("d3", 3, 1, 0),
    ]


def test_days_built_one_by_one_are_idempotent_and_match_a_full_build(
    pristine_warehouse: Path, built_warehouse: Path, tmp_path: Path, dbt_target: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(pristine_warehouse, warehouse)
    run_args = ["run", "--select", "tag:daily"]
    run_dbt([*run_args, *window_vars(DAY_1, DAY_2)], warehouse, dbt_target)
    day_1_only = snapshot(warehouse)
    assert {row[0] for row in day_1_only["comment_features"]} == {"c1", "c2", "c3"}

    run_dbt([*run_args, *window_vars(DAY_2, DAY_2 + dt.timedelta(days=1))], warehouse, dbt_target)
    first = snapshot(warehouse)
    assert first == snapshot(built_warehouse)

    run_dbt([*run_args, *window_vars(DAY_2, DAY_2 + dt.timedelta(days=1))], warehouse, dbt_target)
    assert snapshot(warehouse) == first


def test_rerunning_a_day_that_shrank_upstream_replaces_it_exactly(
    built_warehouse: Path, tmp_path: Path, dbt_target: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        replace_partition(con, DAY_2, raw_day(DAY_2, []), QUARANTINE_SCHEMA.empty_table())
    run_dbt(
        ["build", "--select", "tag:daily", *window_vars(DAY_2, DAY_2 + dt.timedelta(days=1))],
        warehouse,
        dbt_target,
    )
    after = snapshot(warehouse)
    assert {row[0] for row in after["stg_comments"]} == {"c1", "c2", "c3"}
    assert {row[0] for row in after["comment_features"]} == {"c1", "c2", "c3"}
    assert all(row[1] == DAY_1 for row in after["int_author_daily"])
