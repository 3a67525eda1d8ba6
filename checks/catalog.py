"""Every data-quality check of Sluice's current assets, for `Definitions(asset_checks=...)`.

LF coverage (label.lf_coverage, written by lf_votes) and the class probabilities of
comment_scores get drift checks from the same factory as the features.
"""

from collections.abc import Sequence
from types import CodeType

from dagster import AssetChecksDefinition

from checks.config import observability_config
from checks.factory import ShareColumns, build_daily_checks, build_table_checks
from checks.freshness import partition_freshness_checks
from expectations.suites import author_activity_suites, comment_features_suites, stg_comments_suites
from resources.policies import PoliciesResource

# Point-in-time history counts of comment_features: they only grow as the history fills
# (every earlier day counts), so they "drift" by construction.
HISTORY_COLUMNS = frozenset({"author_prior_comments", "author_prior_days", "text_prior_count"})

# The features whose distribution a day is compared on: not the history counts.
FEATURE_DRIFT_COLUMNS = (
    "char_count",
    "word_count",
    "url_count",
    "uppercase_ratio",
    "non_ascii_ratio",
    "exclamation_count",
    "digit_count",
)


def _names_in(code: CodeType) -> set[str]:
    """String constants of a function's code and of the code nested in it (its lambdas)."""
    found = {c for c in code.co_consts if isinstance(c, str)}
    for nested in (c for c in code.co_consts if isinstance(c, CodeType)):
        found |= _names_in(nested)
    return found


def history_driven(lfs: Sequence[object]) -> frozenset[str]:
    """Names of the LFs that read a history column: a declarative LF's `column`, or a Python
    LF whose code names one (`batch["author_prior_comments"]`). Their coverage grows with the
    history by design, so their drift check judges only a fall."""
    names = set()
    for lf in lfs:
        func = getattr(lf, "func", None)
        used = {getattr(lf, "column", None)} | (_names_in(func.__code__) if func else set())
        if used & HISTORY_COLUMNS:
            names.add(str(getattr(lf, "name", "")))
    return frozenset(names)


def sluice_checks() -> list[AssetChecksDefinition]:
    """Built when the code location loads: the thresholds and the ingest policy's bounds are
    read (and validated) then, from the files the settings name."""
    from labeling_functions import CLASSES as classes
    from labeling_functions import LFS as lfs

    config = observability_config()
    policy = PoliciesResource.from_settings().ingest()
    return [
        build_daily_checks("raw_comments", "raw.comments", config=config),
        build_daily_checks(
            "raw_comments",
            "raw.comments_quarantine",
            volume=False,
            name_prefix="quarantine_",
            config=config,
        ),
        *partition_freshness_checks(["raw_comments"], config),
        build_daily_checks(
            "stg_comments",
            "main.stg_comments",
            suites=stg_comments_suites(policy, config.expectations),
            config=config,
        ),
        build_daily_checks(
            "comment_features",
            "main.comment_features",
            suites=comment_features_suites(policy, config.expectations),
            numeric_columns=FEATURE_DRIFT_COLUMNS,
            config=config,
        ),
        build_daily_checks(
            "lf_votes",
            "label.lf_coverage",
            volume=False,
            name_prefix="lf_coverage_",
            shares=ShareColumns(
                group="lf_name",
                version="lf_version",
                hits="votes",
                total="rows",
                growing=history_driven(lfs),
            ),
            config=config,
        ),
        build_daily_checks(
            "comment_scores",
            "score.comment_scores",
            numeric_columns=[f"p_{name}" for name in classes],
            config=config,
        ),
        *partition_freshness_checks(["comment_scores"], config),
        build_table_checks(
            "author_activity",
            "main.author_activity",
            suites=author_activity_suites(),
            config=config,
        ),
    ]
