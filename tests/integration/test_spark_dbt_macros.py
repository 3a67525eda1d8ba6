"""The cross_db macros give the same values on Spark (dbt-spark, session method, local[2])
as on DuckDB, through the real dbt CLI and the repo's profiles.yml (`spark` and `dev`
targets): one `dbt show --inline` per engine over the same tricky texts.

The texts carry no quote or backslash so that one SQL literal means the same in both
dialects (Spark unescapes backslashes in literals and reads '' as two literals).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from resources.dbt import DBT_PROJECT_DIR, dbt_executable
from tests.integration.test_dbt_project import child_bytecode_env

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="no Java on PATH: Spark needs a JDK"),
]

TEXTS = [
    "Hello &#39;world&#39; &#x41;&#X42; &amp;#39;",
    "&#0; &#55296; &#1114112; &#1114111; &#128512;&#9829;",
    "heeeey!!!!",
    "",
    None,
    "a\U0001f600\U0001f600\U0001f600b \u00e9\u00e9",
    "\u00c5NGSTR\u00d6M Stra\u00dfe CHECK my CHANNEL www.Example.com HTTP://x.y @ann #tag",
    "\u017ftop KELVIN \u212a k",  # U+212A is not NFC: it normalizes to K
    "x\u00a0y\u2003z\u0085w  \t v",
    "\u0391\u03b2\u03b3 \u00dcber 123 \u2603\ufe0f",
]
# (column, macro call on the text column `s`); patterns as the models write them.
CALLS = {
    "spaces": "regex_replace_all('s', '[\\\\s\\\\p{Z}\\\\x{0085}]+', ' ')",
    "digits_hashed": "regex_replace_all('s', '[0-9]+', '#')",
    "uppers": "regex_count('s', '\\\\p{Lu}')",
    "urls": "regex_count('s', '(?i)(https?://|www\\\\.)[^ ]+')",
    "k_any_case": "regex_count('s', '(?i)k')",
    "symbols": "regex_count('s', '\\\\p{So}')",
    "non_ascii": "regex_count('s', '[^\\\\x{0000}-\\\\x{007F}]')",
    "decoded": "decode_numeric_entities('s')",
    "longest_run": "max_char_run('s')",
    "nfc": "unicode_nfc('s')",
    "bangs": "count_char('s', '!')",
    "has_entity": "regex_contains('s', html_entity_pattern())",
    "has_space_edge": "regex_contains('s', '(^[\\\\s\\\\p{Z}])|([\\\\s\\\\p{Z}]$)')",
    "lowers": "count_class_chars('s', '\\\\p{Ll}')",
}


def _literal(text: str | None) -> str:
    assert text is None or ("'" not in text and "\\" not in text)
    return "cast(null as {{ dbt.type_string() }})" if text is None else f"'{text}'"


def inline_sql() -> str:
    rows = " union all ".join(
        f"select {i} as id, {_literal(text)} as s" for i, text in enumerate(TEXTS)
    )
    columns = ", ".join(f"{{{{ {call} }}}} as {name}" for name, call in CALLS.items())
    return f"with cases as ({rows}) select id, {columns} from cases order by id"


def show(target: str, tmp: Path) -> list[dict]:
    """Rows of the inline query on `target`, from dbt's JSON log."""
    env = {
        **child_bytecode_env(),
        "SLUICE_DATA_DIR": str(tmp),
        "SLUICE_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "SLUICE_SPARK_CATALOG": "in-memory",  # nothing is built: no Derby catalog to start
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(tmp / "target"),
        "DBT_LOG_PATH": str(tmp / "target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    args = ["show", "--inline", inline_sql(), "--target", target, "--limit", "100"]
    result = subprocess.run(
        [dbt_executable(), *args, "--output", "json", "--log-format", "json", "--quiet"],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"dbt show on {target} failed:\n{result.stdout[-4000:]}"
    for line in result.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("info", {}).get("name") == "ShowNode":
            return json.loads(event["data"]["preview"])
    raise AssertionError(f"no rows in dbt's output:\n{result.stdout[-2000:]}")


def test_cross_db_macros_agree_on_spark_and_duckdb(tmp_path: Path) -> None:
    duck = show("dev", tmp_path / "duckdb")
    spark = show("spark", tmp_path / "spark")
    assert len(duck) == len(TEXTS)
    for expected, got in zip(duck, spark, strict=True):
        text = TEXTS[expected["id"]]
        if text is not None and not unicodedata.is_normalized("NFC", text):
            # The one known gap (spark__unicode_nfc): without an NFC function on the
            # session, Spark leaves a text that is not NFC as it is.
            assert (got.pop("nfc"), expected.pop("nfc")) == (
                text,
                unicodedata.normalize("NFC", text),
            )
        assert got == expected, f"text {text!r}"
    by_id = {row["id"]: row for row in duck}
    assert by_id[1]["decoded"] == "\ufffd \ufffd \ufffd \U0010ffff \U0001f600\u2665"
    assert by_id[2]["longest_run"] == 4
    assert by_id[5]["longest_run"] == 3  # code points, not UTF-16 units
    assert by_id[7]["k_any_case"] == 3  # Unicode case folding: K, U+212A and k
    assert by_id[4]["longest_run"] is None
