"""Volume bounds against a trailing window, schema diffs, and the config file that sets them."""

import datetime as dt
from pathlib import Path

import pytest
import yaml

from observability.config import ConfigError, load_config, parse_config
from observability.schema import AcceptedSchema, diff_schema, judge_schema, judge_table_schema
from observability.verdict import Verdict
from observability.volume import judge_volume, trailing_counts
from settings import Settings

CONFIG_FILE = Path(Settings.from_env().observability_file)
CONFIG = load_config(CONFIG_FILE)
VOLUME = CONFIG.volume
DAY = dt.date(2024, 1, 30)
START = dt.date(2024, 1, 1)
USUAL = {START + dt.timedelta(days=n): 190 + n % 7 for n in range(29)}


def judge(rows: int, counts=USUAL, since=START, config=VOLUME):
    return judge_volume(
        DAY, rows, trailing_counts(counts, DAY, config.trailing_days, since), config
    )


def test_a_usual_day_passes() -> None:
    result = judge(188)
    assert result.verdict is Verdict.PASS
    assert result.baseline == 193 and result.ratio == pytest.approx(188 / 193)


def test_a_day_with_a_tenth_of_the_usual_rows_is_an_error() -> None:
    result = judge(19)
    assert result.verdict is Verdict.ERROR
    assert "0.10x the trailing 28-day median of 193" in result.reason


def test_half_the_rows_warns_and_a_spike_warns_then_errors() -> None:
    assert judge(90).verdict is Verdict.WARN
    assert judge(700).verdict is Verdict.WARN
    assert judge(2000).verdict is Verdict.ERROR


def test_days_before_the_stream_began_are_not_silence() -> None:
    """Three weeks of data and no earlier days: the median is 190ish, not 0."""
    recent = {d: n for d, n in USUAL.items() if d >= dt.date(2024, 1, 10)}
    assert (
        trailing_counts(recent, DAY, 28, dt.date(2024, 1, 10))[-1] == recent[dt.date(2024, 1, 10)]
    )
    assert judge(19, recent, since=dt.date(2024, 1, 10)).verdict is Verdict.ERROR
    assert trailing_counts({}, DAY, 28, None) == []


def test_quiet_days_inside_the_window_count_as_zero() -> None:
    gappy = {d: n for d, n in USUAL.items() if d.day % 2}
    assert len(trailing_counts(gappy, DAY, 28, START)) == 28
    assert 0 in trailing_counts(gappy, DAY, 28, START)


def test_sparse_or_short_history_is_judged_only_against_the_absolute_minimum() -> None:
    sparse = {d: 2 for d in USUAL}
    assert judge(0, sparse).verdict is Verdict.PASS
    assert "too sparse" in judge(0, sparse).reason
    short = judge(1, USUAL, since=DAY - dt.timedelta(days=3))
    assert short.verdict is Verdict.PASS and "3 day(s) of history" in short.reason
    strict = VOLUME.model_copy(update={"min_rows": 10})
    assert judge(5, sparse, config=strict).verdict is Verdict.ERROR


def test_schema_diff_names_dropped_added_and_retyped_columns() -> None:
    accepted = [("comment_id", "VARCHAR"), ("char_count", "BIGINT"), ("digit_count", "BIGINT")]
    current = [("comment_id", "VARCHAR"), ("CHAR_COUNT", "integer"), ("emoji_count", "BIGINT")]
    diff = diff_schema(accepted, current)
    assert diff.dropped == (("digit_count", "BIGINT"),)
    assert diff.added == (("emoji_count", "BIGINT"),)
    assert diff.retyped == (("CHAR_COUNT", "BIGINT", "INTEGER"),)
    assert diff.describe() == (
        "dropped digit_count BIGINT; retyped CHAR_COUNT BIGINT -> INTEGER; added emoji_count BIGINT"
    )
    assert not diff_schema(accepted, accepted).changed


def test_a_dropped_column_without_a_code_change_is_an_error_that_persists() -> None:
    diff = diff_schema([("a", "VARCHAR"), ("b", "BIGINT")], [("a", "VARCHAR")])
    judged = judge_schema(diff, code_changed=False)
    assert judged.verdict is Verdict.ERROR and not judged.accept_current
    assert "dropped b BIGINT" in judged.reason


def test_changes_with_new_code_or_only_added_columns_warn_and_are_accepted() -> None:
    dropped = diff_schema([("a", "VARCHAR"), ("b", "BIGINT")], [("a", "VARCHAR")])
    added = diff_schema([("a", "VARCHAR")], [("a", "VARCHAR"), ("b", "BIGINT")])
    for judged in (judge_schema(dropped, code_changed=True), judge_schema(added, False)):
        assert judged.verdict is Verdict.WARN and judged.accept_current
    unchanged = judge_schema(diff_schema([("a", "X")], [("a", "X")]), code_changed=True)
    assert unchanged.verdict is Verdict.PASS


def test_the_accepted_schema_travels_in_the_metadata_and_survives_a_failure() -> None:
    current = [("a", "VARCHAR"), ("b", "BIGINT")]
    first = judge_table_schema("t", current, "v1", None)
    assert first.verdict is Verdict.PASS and first.reason == "first schema of t recorded: 2 columns"
    baseline = AcceptedSchema.from_metadata(first.metadata)
    assert baseline == AcceptedSchema((("a", "VARCHAR"), ("b", "BIGINT")), "v1")

    dropped = judge_table_schema("t", current[:1], "v1", baseline)
    assert dropped.verdict is Verdict.ERROR and dropped.metadata["dropped"] == [["b", "BIGINT"]]
    assert AcceptedSchema.from_metadata(dropped.metadata) == baseline  # the alarm persists
    with_new_code = judge_table_schema("t", current[:1], "v2", baseline)
    assert with_new_code.verdict is Verdict.WARN
    assert AcceptedSchema.from_metadata(with_new_code.metadata).columns == (("a", "VARCHAR"),)

    missing = judge_table_schema("t", [], "v1", baseline)
    assert missing.verdict is Verdict.ERROR and missing.metadata == {}  # baseline kept
    assert AcceptedSchema.from_metadata(missing.metadata) is None


def test_config_overrides_apply_per_asset_and_bad_values_fail_at_load() -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    raw["assets"] = {"comment_scores": {"volume": {"min_rows": 1}, "drift": {"min_rows": 50}}}
    config = parse_config(raw)
    assert config.volume_for("comment_scores").min_rows == 1
    assert config.volume_for("comment_scores").trailing_days == VOLUME.trailing_days
    assert config.volume_for("stg_comments").min_rows == VOLUME.min_rows
    assert config.drift_for("comment_scores").min_rows == 50
    assert config.freshness_for("raw_comments").fail_after == dt.timedelta(hours=50)
    raw["drift"]["psi"] = {"warn": 0.5, "error": 0.1}
    with pytest.raises(ValueError, match="above its error mark"):
        parse_config(raw)
    with pytest.raises(KeyError, match="no freshness entry"):
        config.freshness_for("nope")


def broken_config(tmp_path: Path, section: str, key: str, value: object) -> Path:
    """A copy of the shipped config with one value set (or added) under `section`."""
    raw = yaml.safe_load(CONFIG_FILE.read_text())
    target = raw
    for part in section.split("."):
        target = target.setdefault(part, {})
    target[key] = value
    path = tmp_path / "observability.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_unknown_key_fails_at_load_with_the_file_and_the_key(tmp_path: Path) -> None:
    path = broken_config(tmp_path, "volume", "trailing_dayz", 14)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: volume.trailing_dayz: unknown key"

    overrides = broken_config(tmp_path, "assets.comment_scores.drift", "min_rowz", 50)
    with pytest.raises(ConfigError, match=r"assets\.comment_scores\.drift\.min_rowz: unknown key"):
        load_config(overrides)


def test_a_wrong_type_fails_at_load_with_the_key_and_what_was_expected(tmp_path: Path) -> None:
    path = broken_config(tmp_path, "drift", "min_rows", "100")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}: drift.min_rows: Input should be a valid integer (got '100')"
    )
    # No silent coercion: a boolean is not a threshold, a fraction is not a number of days.
    for section, key, value in [("schema", "blocking", "yes"), ("volume", "trailing_days", 2.5)]:
        with pytest.raises(ConfigError, match=f"{section}.{key}: Input should be"):
            load_config(broken_config(tmp_path, section, key, value))
