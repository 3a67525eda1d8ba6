"""Runs a suite from `expectations.suites` on a pandas DataFrame with Great Expectations 1.x.

GX reports two different things as `success=False`: an expectation the data broke, and an
expectation that could not be evaluated at all (a missing column, a bad regex), the latter
with `exception_info.raised_exception`. The runner keeps them apart: FAILED is a data
problem, ERROR is a problem of the suite or the table and must never pass for a data verdict.

GX is imported inside the runner only: the import takes about 8 seconds and the code
location must load without it. Results are stored on disk when a folder is given, so Data
Docs list every day ever validated, not only this process's.
"""

import datetime as dt
import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from expectations.suites import Suite

# How many unexpected values (with their row keys) a failed expectation reports.
EXAMPLES = 5
DOCS_SITE = "sluice"


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the data broke the expectation
    ERROR = "error"  # the expectation could not be evaluated
    SKIPPED = "skipped"  # not judged (too few rows for the suite)


def json_safe(value: Any) -> Any:
    """Numpy scalars, timestamps, NaN and the like as plain JSON values, for Dagster metadata."""

    def clean(item: Any) -> Any:
        if isinstance(item, float) and math.isnan(item):
            return None
        if isinstance(item, dict):
            return {key: clean(val) for key, val in item.items()}
        if isinstance(item, list):
            return [clean(val) for val in item]
        return item

    return clean(json.loads(json.dumps(value, default=str)))


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    status: Status
    why: str
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    examples: tuple[Any, ...] = ()
    observed_value: Any = None
    error: str | None = None
    # Every unexpected row's keys (per-row suites only), to split a range into days.
    unexpected_rows: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, repr=False)

    def describe(self) -> str:
        """One line for a check description: what broke, where, how much."""
        target = f"{self.expectation}({self.column})" if self.column else self.expectation
        if self.status is Status.ERROR:
            return f"{target} raised: {self.error}"
        if self.unexpected_count is not None:
            return f"{target}: {self.unexpected_count} unexpected ({self.unexpected_percent:.2f} %)"
        return f"{target}: observed {self.observed_value}"

    def as_metadata(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in {
                "expectation": self.expectation,
                "column": self.column,
                "status": str(self.status),
                "why": self.why,
                "unexpected_count": self.unexpected_count,
                "unexpected_percent": self.unexpected_percent,
                "examples": list(self.examples),
                "observed_value": self.observed_value,
                "error": self.error,
            }.items()
            if value not in (None, [])
        }


def worst_status(statuses: Iterable[Status]) -> Status:
    found = set(statuses)
    for status in (Status.ERROR, Status.FAILED):
        if status in found:
            return status
    return Status.PASSED


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    status: Status
    outcomes: tuple[ExpectationOutcome, ...] = ()
    reason: str | None = None
    # What was judged and how: rows in the warehouse, the GX sample and how it was drawn.
    judged: Mapping[str, Any] | None = field(default=None, compare=False)
    # GX's ValidationResultIdentifier, to link the Data Docs page of this validation.
    result_key: Any = field(default=None, compare=False, repr=False)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.status is Status.FAILED]

    @property
    def errors(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.status is Status.ERROR]

    def statistics(self) -> dict[str, int]:
        counts = {str(status): 0 for status in (Status.PASSED, Status.FAILED, Status.ERROR)}
        for outcome in self.outcomes:
            counts[str(outcome.status)] += 1
        return {"evaluated": len(self.outcomes), **counts}


def _raised(exception_info: Mapping[str, Any]) -> str | None:
    """The error message when GX caught an exception, else None.

    GX gives either one flat {"raised_exception": ...} dict, or one such dict per metric
    that failed to resolve (keyed by metric id).
    """
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error")
    return None


def _examples(result: Mapping[str, Any]) -> tuple[Any, ...]:
    """Unexpected values with their row keys when GX has them, else the bare values."""
    indexed = result.get("partial_unexpected_index_list") or []
    values = result.get("partial_unexpected_list") or []
    return tuple(json_safe((indexed or values)[:EXAMPLES]))


def _outcome(validation: Any) -> ExpectationOutcome:
    """One GX ExpectationValidationResult as an ExpectationOutcome."""
    config = validation.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or kwargs.get("column_A")
    why = (config.meta or {}).get("why", "")
    error = _raised(validation.exception_info or {})
    if error is not None:
        return ExpectationOutcome(config.type, column, Status.ERROR, why, error=error)
    result = dict(validation.result or {})
    if validation.success:
        return ExpectationOutcome(config.type, column, Status.PASSED, why)
    return ExpectationOutcome(
        config.type,
        column,
        Status.FAILED,
        why,
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=json_safe(result.get("unexpected_percent")),
        examples=_examples(result),
        observed_value=json_safe(result.get("observed_value")),
        unexpected_rows=tuple(json_safe(result.get("unexpected_index_list") or [])),
    )


def _same(stored: Any, declared: Any) -> bool:
    """A kwarg as GX stores it equals the declared one (GX 1.x wraps a pandas row_condition
    string as {"type": "pass_through", "pass_through_filter": ...})."""
    if isinstance(stored, Mapping) and "pass_through_filter" in stored:
        stored = stored["pass_through_filter"]
    return stored == declared


def _in_suite_order(results: Sequence[Any], suite: Suite) -> list[Any]:
    """GX's validation results in the suite's order (GX uses its own), matched by type and
    kwargs, so outcome i is expectation i; anything unmatched goes last."""
    remaining = list(results)
    ordered = []
    for expectation in suite.expectations:
        for i, found in enumerate(remaining):
            config = found.expectation_config
            if config.type == expectation.type and all(
                _same(config.kwargs.get(key), value) for key, value in expectation.kwargs.items()
            ):
                ordered.append(remaining.pop(i))
                break
    return ordered + remaining


def iso_day(value: Any) -> str:
    """The partition key of a date value as GX reports it ("2015-05-29 00:00:00")."""
    return str(value)[:10]


def split_by_day(
    outcome: SuiteOutcome, column: str, rows: Mapping[str, int]
) -> dict[str, SuiteOutcome]:
    """One outcome per day from the outcome of a per-row suite run on many days at once.

    Each unexpected row belongs to the day in its `column` key, so a day fails exactly the
    expectations that one of its own rows broke; counts and percentages are the day's own.
    An expectation that raised raised for every day.
    """
    split = {}
    for day, day_rows in rows.items():
        outcomes = []
        for item in outcome.outcomes:
            if item.status is not Status.FAILED or not item.unexpected_rows:
                # Passed or raised on every day alike; a failure without row keys cannot be
                # attributed, so every day keeps it rather than hiding it.
                outcomes.append(item)
                continue
            mine = [row for row in item.unexpected_rows if iso_day(row.get(column)) == day]
            if not mine:
                outcomes.append(
                    replace(
                        item,
                        status=Status.PASSED,
                        unexpected_count=None,
                        unexpected_percent=None,
                        examples=(),
                        unexpected_rows=(),
                    )
                )
                continue
            outcomes.append(
                replace(
                    item,
                    unexpected_count=len(mine),
                    unexpected_percent=100 * len(mine) / day_rows,
                    examples=tuple(mine[:EXAMPLES]),
                    unexpected_rows=tuple(mine),
                )
            )
        split[day] = replace(
            outcome,
            rows=day_rows,
            outcomes=tuple(outcomes),
            status=worst_status(o.status for o in outcomes),
        )
    return split


class SuiteRunner:
    """One GX context for one check step: suites registered once, every day validated in it.

    With `gx_dir` and `docs_dir`, suites and results persist as files and `build_docs` writes
    the Data Docs site; without them everything stays in memory.
    """

    def __init__(self, gx_dir: Path | None = None, docs_dir: Path | None = None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        defaults = InMemoryStoreBackendDefaults()
        sites: dict[str, Any] = {}
        if gx_dir is not None and docs_dir is not None:
            for store, folder in (
                ("expectations_store", "expectations"),
                ("validation_results_store", "validations"),
            ):
                defaults.stores[store]["store_backend"] = {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(gx_dir / folder),
                }
            sites[DOCS_SITE] = {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "show_cta_footer": False,
                },
            }
        config = DataContextConfig(
            store_backend_defaults=defaults,
            data_docs_sites=sites,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self._context.data_sources.add_pandas("sluice")
        self._definitions: dict[str, Any] = {}
        self._result_keys: list[Any] = []
        self._docs = bool(sites)

    def _definition(self, suite: Suite) -> Any:
        """The GX ValidationDefinition of a suite, created on first use."""
        if suite.name not in self._definitions:
            from great_expectations.expectations.expectation_configuration import (
                ExpectationConfiguration,
            )

            gx_suite = self._context.suites.add_or_update(
                self._gx.ExpectationSuite(
                    name=suite.name,
                    expectations=[
                        ExpectationConfiguration(
                            type=e.type, kwargs=dict(e.kwargs), meta={"why": e.why}, notes=e.why
                        ).to_domain_obj()
                        for e in suite.expectations
                    ],
                )
            )
            batch = self._source.add_dataframe_asset(
                suite.name
            ).add_batch_definition_whole_dataframe("batch")
            self._definitions[suite.name] = self._context.validation_definitions.add(
                self._gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            )
        return self._definitions[suite.name]

    def validate(self, frame: pd.DataFrame, suite: Suite, *, run_name: str) -> SuiteOutcome:
        """Validate one batch; skipped (not judged) below the suite's minimum rows.

        Per-row suites report every unexpected row (GX's COMPLETE format) so the outcome can
        be split by day; the others a few examples.
        """
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        rows = len(frame)
        if rows == 0 or rows < suite.min_rows:
            return SuiteOutcome(
                suite.name,
                rows,
                Status.SKIPPED,
                reason=f"{rows} rows, fewer than {max(suite.min_rows, 1)}",
            )
        run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
        result = self._definition(suite).run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE" if suite.per_row else "SUMMARY",
                "partial_unexpected_count": EXAMPLES,
                "unexpected_index_column_names": list(suite.key_columns),
            },
            run_id=run_id,
        )
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=result.batch_id,
        )
        self._result_keys.append(key)
        outcomes = tuple(_outcome(v) for v in _in_suite_order(result.results, suite))
        return SuiteOutcome(
            suite.name,
            rows,
            worst_status(o.status for o in outcomes),
            outcomes,
            result_key=key,
        )

    def build_docs(self) -> Path | None:
        """Render this runner's validations into the Data Docs site; the index path."""
        if not (self._docs and self._result_keys):
            return None
        urls = self._context.build_data_docs(
            site_names=[DOCS_SITE], resource_identifiers=self._result_keys
        )
        return Path(url2pathname(urlparse(urls[DOCS_SITE]).path))

    def page_url(self, outcome: SuiteOutcome) -> str | None:
        """The Data Docs page of one validation (after `build_docs`)."""
        if not (self._docs and outcome.result_key is not None):
            return None
        urls = self._context.get_docs_sites_urls(
            resource_identifier=outcome.result_key, site_name=DOCS_SITE
        )
        return urls[0]["site_url"] if urls else None
