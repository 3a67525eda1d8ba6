"""Great Expectations suites as code: pure functions that return expectation configurations.

A suite here is plain data (GX's own `type` + `kwargs` shape), so it is versioned and
reviewed with the code, unit-testable without importing GX (an 8-second import), and turned
into GX objects only by `expectations.runner` inside a check.

Every daily table gets two suites. The row-level suite holds only expectations that judge
each row on its own (nulls, lengths, value sets, cross-column consistency, uniqueness keyed
by day), so one validation covers a whole range of days and its unexpected rows split
exactly into days: a 700-day backfill costs one GX run, not 700. The day-profile suite holds
aggregate bounds (share of rows with a URL, median length, share of unique texts), runs per
day, and only on days with at least `profile_min_rows` rows, because the URL share of a
three-comment day is noise. Bounds come from the ingest policy (text and id lengths) and
config/observability.yml.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ingest.policy import Policy
from observability.config import ExpectationsConfig
from observability.verdict import Verdict

# Same definition as comment_features.url_count (dbt), in Python's regex dialect.
URL_PATTERN = r"(?i)(?:https?://|www\.)\S+"
# What stg_comments' normalization removes: invisible format characters, HTML entities
# (decoded at any depth) and line-break tags. Any of them left means the cleaning broke.
DIRTY_TEXT_PATTERN = (
    r"[\ufeff\u200b\u00ad]|&(?:amp|lt|gt|quot|apos|nbsp|#[0-9]+|#[xX][0-9a-fA-F]+);"
    r"|(?i:<br\s*/?>)"
)
# The landing contract: comments/dt=YYYY-MM-DD/<name>.
SOURCE_FILE_PATTERN = r"^comments/dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/"


@dataclass(frozen=True)
class Expectation:
    """One GX expectation: its snake_case type, its kwargs and why it is there."""

    type: str
    kwargs: Mapping[str, Any]
    why: str


@dataclass(frozen=True)
class Suite:
    """A named list of expectations, judged on batches of at least `min_rows` rows.

    `key_columns` identify a row in failure examples. `per_row` promises that every
    expectation judges rows independently, so a batch of many days can be split by day.
    `severity` is what a failure means: ERROR (bad rows, blocks downstream) or WARN (an odd
    day whose rows are still valid, e.g. a spam flood, which scoring must still see).
    """

    name: str
    expectations: tuple[Expectation, ...]
    key_columns: tuple[str, ...] = ("partition_date", "comment_id")
    per_row: bool = False
    min_rows: int = 0
    severity: Verdict = Verdict.ERROR


def _not_null(column: str, why: str) -> Expectation:
    return Expectation("expect_column_values_to_not_be_null", {"column": column}, why)


def _between(column: str, why: str, **bounds: Any) -> Expectation:
    return Expectation("expect_column_values_to_be_between", {"column": column, **bounds}, why)


def _a_at_least_b(column_a: str, column_b: str, why: str) -> Expectation:
    return Expectation(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": column_a, "column_B": column_b, "or_equal": True},
        why,
    )


def _unique_ids() -> tuple[Expectation, ...]:
    return (
        _not_null("comment_id", "every comment is addressable"),
        Expectation(
            "expect_compound_columns_to_be_unique",
            {"column_list": ["partition_date", "comment_id"]},
            "one row per comment and day: a duplicate would be labeled and scored twice",
        ),
    )


def stg_comments_suites(policy: Policy, config: ExpectationsConfig) -> tuple[Suite, Suite]:
    """Row-level and day-profile suites of stg_comments (one day's rows per batch)."""
    rows = Suite(
        "stg_comments",
        (
            *_unique_ids(),
            Expectation(
                "expect_column_value_lengths_to_be_between",
                {"column": "comment_id", "min_value": 1, "max_value": policy.comment_id_max_length},
                "the ingest policy's id length bound",
            ),
            _not_null("text", "the clean text is what every feature reads"),
            Expectation(
                "expect_column_value_lengths_to_be_between",
                {"column": "text", "min_value": 0, "max_value": policy.text_max_length},
                "cleaning only shortens the policy-bounded text (markup-only comments become '')",
            ),
            Expectation(
                "expect_column_values_to_not_match_regex",
                {"column": "text", "regex": DIRTY_TEXT_PATTERN},
                "no invisible characters, HTML entities or <br> tags survive cleaning",
            ),
            _not_null("text_raw", "the received text is kept for audit"),
            Expectation(
                "expect_column_value_lengths_to_be_between",
                {
                    "column": "text_raw",
                    "min_value": policy.text_min_length,
                    "max_value": policy.text_max_length,
                },
                "the ingest policy's text length bounds",
            ),
            Expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                {
                    "column_A": "published_at",
                    "column_B": "partition_date",
                    "or_equal": True,
                    "ignore_row_if": "either_value_is_missing",
                },
                "a comment is never filed under a day after its publication",
            ),
            _not_null("landed_date", "every row traces back to a landing day"),
            _a_at_least_b("landed_date", "partition_date", "a file cannot land before its day"),
            Expectation(
                "expect_column_values_to_match_regex",
                {"column": "source_file", "regex": SOURCE_FILE_PATTERN},
                "every row traces back to a file of the landing contract",
            ),
            _not_null("policy_version", "every row records the ingest policy that kept it"),
        ),
        per_row=True,
    )
    profile = Suite(
        "stg_comments.day_profile",
        (
            Expectation(
                "expect_column_values_to_not_match_regex",
                {"column": "text", "regex": URL_PATTERN, "mostly": 1 - config.max_url_share},
                f"at most {config.max_url_share:.0%} of a day's comments carry a URL",
            ),
            Expectation(
                "expect_column_proportion_of_unique_values_to_be_between",
                {"column": "text", "min_value": config.min_unique_text_share},
                "a copy-paste flood shows as few distinct texts",
            ),
        ),
        min_rows=config.profile_min_rows,
        severity=Verdict.WARN,
    )
    return rows, profile


# Counts the labeling functions and the classifier lean on most (dbt tests cover the rest).
_COUNT_COLUMNS = (
    "char_count",
    "word_count",
    "url_count",
    "author_prior_comments",
    "author_prior_days",
    "text_prior_count",
)
_RATIO_COLUMNS = ("uppercase_ratio", "non_ascii_ratio")


def comment_features_suites(policy: Policy, config: ExpectationsConfig) -> tuple[Suite, Suite]:
    """Row-level and day-profile suites of comment_features (one day's rows per batch)."""
    rows = Suite(
        "comment_features",
        (
            *_unique_ids(),
            _not_null("text", "the clean text is what labeling functions read"),
            *(_not_null(column, "the feature SQL never yields null") for column in _COUNT_COLUMNS),
            *(
                _between(column, "a count is never negative", min_value=0)
                for column in _COUNT_COLUMNS
            ),
            _between(
                "char_count",
                "the ingest policy's text length bound",
                min_value=0,
                max_value=policy.text_max_length,
            ),
            *(_not_null(column, "a ratio is 0 rather than null") for column in _RATIO_COLUMNS),
            *(
                _between(column, "a ratio lies in [0, 1]", min_value=0, max_value=1)
                for column in _RATIO_COLUMNS
            ),
            _a_at_least_b("char_count", "word_count", "a word has at least one character"),
            _a_at_least_b("word_count", "url_count", "a URL is a word"),
            _a_at_least_b(
                "author_prior_comments", "author_prior_days", "each earlier day had a comment"
            ),
            Expectation(
                "expect_column_values_to_be_in_set",
                {"column": "has_url", "value_set": [True, False]},
                "has_url is a boolean",
            ),
            _between(
                "url_count",
                "has_url agrees with url_count",
                min_value=1,
                row_condition="has_url == True",
                condition_parser="pandas",
            ),
            _between(
                "url_count",
                "has_url agrees with url_count",
                max_value=0,
                row_condition="has_url == False",
                condition_parser="pandas",
            ),
            _between(
                "author_prior_comments",
                "author_is_new agrees with the author's history",
                max_value=0,
                row_condition="author_is_new == True",
                condition_parser="pandas",
            ),
        ),
        per_row=True,
    )
    low, high = config.median_chars
    profile = Suite(
        "comment_features.day_profile",
        (
            Expectation(
                "expect_column_mean_to_be_between",
                {"column": "has_url", "min_value": 0, "max_value": config.max_url_share},
                f"at most {config.max_url_share:.0%} of a day's comments carry a URL",
            ),
            Expectation(
                "expect_column_median_to_be_between",
                {"column": "char_count", "min_value": low, "max_value": high},
                "a day of comments has a plausible typical length",
            ),
            Expectation(
                "expect_column_mean_to_be_between",
                {
                    "column": "uppercase_ratio",
                    "min_value": 0,
                    "max_value": config.max_mean_uppercase_ratio,
                },
                "an all-caps day means broken case handling or a flood",
            ),
        ),
        min_rows=config.profile_min_rows,
        severity=Verdict.WARN,
    )
    return rows, profile


def author_activity_suites() -> tuple[Suite]:
    """The unpartitioned author_activity table, judged whole (one row per author)."""
    rows = Suite(
        "author_activity",
        (
            _not_null("author", "one row per known author"),
            Expectation(
                "expect_column_values_to_be_unique", {"column": "author"}, "one row per author"
            ),
            _a_at_least_b("last_active_date", "first_active_date", "activity ends after it begins"),
            _between("active_days", "an author in the table was active", min_value=1),
            _a_at_least_b("comment_count", "active_days", "each active day had a comment"),
            _between("comments_per_active_day", "at least one comment per active day", min_value=1),
        ),
        key_columns=("author",),
    )
    return (rows,)
