"""Expectations judged in the warehouse: a suite's expectations as SQL over every row of a day.

Pulling a million-row day into pandas for GX costs more than everything else a check does,
and every expectation Sluice declares is a row predicate or an aggregate that DuckDB
computes in one pass. So each expectation with a SQL form is judged here, on all rows, with
GX's own semantics (what counts as unexpected, nulls ignored by column-map expectations,
`mostly`, the percentage's denominator); GX keeps what only it does, on a bounded sample
(see `sample_frame`): expectations without a SQL form and the Data Docs.

Identifiers come from the suites (code) and are quoted; values (bounds, sets, regexes)
travel as parameters. Regexes run on RE2 here and on Python's `re` in GX; the suites' patterns
use the syntax both read the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from expectations.runner import (
    EXAMPLES,
    ExpectationOutcome,
    Status,
    SuiteOutcome,
    json_safe,
    worst_status,
)
from expectations.suites import Expectation, Suite
from storage.tables import quote

Connection = Any  # duckdb.DuckDBPyConnection
# A pandas row_condition the warehouse understands: `<column> == True|False`.
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*==\s*(True|False)\s*$")
# A Python `\uXXXX` escape, not itself escaped (an odd run of backslashes before the u).
_PY_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u([0-9a-fA-F]{4})")
# The kwargs the SQL forms implement; an expectation with any other is left to GX.
_ROW_KWARGS = {
    *("column", "column_list", "column_A", "column_B", "or_equal", "ignore_row_if", "mostly"),
    *("row_condition", "condition_parser", "min_value", "max_value", "strict_min", "strict_max"),
    *("value_set", "regex"),
}


@dataclass(frozen=True)
class RowRule:
    """A column-map expectation as SQL: `unexpected` among the rows where `counted` holds
    (GX's denominator), with `params` for both, in order."""

    expectation: Expectation
    counted: str
    unexpected: str
    params: tuple[Any, ...]
    columns: tuple[str, ...]
    window: str | None = None  # a window count the predicate reads (uniqueness)


@dataclass(frozen=True)
class AggregateRule:
    """An aggregate expectation as SQL: `observed` checked against [min, max]."""

    expectation: Expectation
    observed: str
    columns: tuple[str, ...]


def _condition(kwargs: Mapping[str, Any]) -> str | None:
    """The SQL form of a simple pandas row_condition ("true" without one, None if unknown)."""
    condition = kwargs.get("row_condition")
    if not condition:
        return "true"
    match = _CONDITION.match(condition) if kwargs.get("condition_parser") == "pandas" else None
    if match is None:
        return None
    return f"{quote(match.group(1))} = {match.group(2).lower()}"


def re2_pattern(regex: str) -> str:
    """A suite regex (Python `re` syntax) for RE2: `\\uXXXX` escapes become `\\x{XXXX}`, the
    one spelling the suites use that RE2 lacks."""
    return _PY_ESCAPE.sub(lambda m: f"{m.group(1)}\\x{{{m.group(2)}}}", regex)


def _bounds(value: str, kwargs: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    """`value` outside GX's [min_value, max_value] (inclusive unless strict) as SQL."""
    parts, params = [], []
    for key, strict_key, op, strict_op in (
        ("min_value", "strict_min", "<", "<="),
        ("max_value", "strict_max", ">", ">="),
    ):
        if kwargs.get(key) is not None:
            parts.append(f"{value} {strict_op if kwargs.get(strict_key) else op} ?")
            params.append(kwargs[key])
    return ("(" + " or ".join(parts) + ")", params) if parts else None


def row_rule(expectation: Expectation) -> RowRule | None:
    """The SQL form of a column-map expectation, or None (GX then judges it on a sample)."""
    kind, kw = expectation.type, expectation.kwargs
    condition = _condition(kw)
    if condition is None or set(kw) - _ROW_KWARGS:
        return None
    if kind == "expect_compound_columns_to_be_unique":
        cols = [quote(c) for c in kw["column_list"]]
        window = f"count(*) over (partition by {', '.join(cols)})"
        counted = "not (" + " and ".join(f"{c} is null" for c in cols) + ")"
        if condition != "true" or kw.get("ignore_row_if", "all_values_are_missing") != (
            "all_values_are_missing"
        ):
            return None
        return RowRule(expectation, counted, "{window} > 1", (), tuple(kw["column_list"]), window)
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = quote(kw["column_A"]), quote(kw["column_B"])
        ignore = kw.get("ignore_row_if", "both_values_are_missing")
        counted = {
            "both_values_are_missing": f"not ({a} is null and {b} is null)",
            "either_value_is_missing": f"({a} is not null and {b} is not null)",
        }.get(ignore)
        if counted is None or condition != "true":
            return None
        op = ">=" if kw.get("or_equal") else ">"
        columns = (kw["column_A"], kw["column_B"])
        return RowRule(expectation, counted, f"not coalesce({a} {op} {b}, false)", (), columns)
    if "column" not in kw or "ignore_row_if" in kw:
        return None
    col = quote(kw["column"])
    present = f"({condition}) and {col} is not null"
    columns = (kw["column"],)
    if kind == "expect_column_values_to_not_be_null":
        return RowRule(expectation, condition, f"{col} is null", (), columns)
    if kind == "expect_column_values_to_be_unique":
        window = f"count({col}) over (partition by {col})"
        return RowRule(expectation, present, "{window} > 1", (), columns, window)
    if kind == "expect_column_values_to_be_between":
        outside = _bounds(col, kw)
        return outside and RowRule(expectation, present, outside[0], tuple(outside[1]), columns)
    if kind == "expect_column_value_lengths_to_be_between":
        outside = _bounds(f"length({col})", kw)
        return outside and RowRule(expectation, present, outside[0], tuple(outside[1]), columns)
    if kind == "expect_column_values_to_be_in_set":
        values = tuple(kw["value_set"])
        marks = ", ".join("?" for _ in values)
        return RowRule(expectation, present, f"{col} not in ({marks})", values, columns)
    if kind in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        negate = "not " if kind == "expect_column_values_to_match_regex" else ""
        test = f"{negate}regexp_matches(cast({col} as varchar), ?)"
        return RowRule(expectation, present, test, (re2_pattern(kw["regex"]),), columns)
    return None


def aggregate_rule(expectation: Expectation) -> AggregateRule | None:
    """The SQL form of an aggregate expectation, or None."""
    kind, kw = expectation.type, expectation.kwargs
    if set(kw) - {"column", "min_value", "max_value", "strict_min", "strict_max"}:
        return None
    col = quote(kw["column"])
    observed = {
        "expect_column_mean_to_be_between": f"avg(cast({col} as double))",
        "expect_column_median_to_be_between": f"median(cast({col} as double))",
        "expect_column_proportion_of_unique_values_to_be_between": (
            f"cast(count(distinct {col}) as double) / nullif(count({col}), 0)"
        ),
    }.get(kind)
    return AggregateRule(expectation, observed, (kw["column"],)) if observed else None


@dataclass(frozen=True)
class Plan:
    """Which expectations of a suite the warehouse judges, and which are left to GX."""

    rows: tuple[RowRule, ...]
    aggregates: tuple[AggregateRule, ...]
    gx_only: tuple[Expectation, ...]


def plan(suite: Suite) -> Plan:
    rows, aggregates, rest = [], [], []
    for expectation in suite.expectations:
        if (rule := row_rule(expectation)) is not None:
            rows.append(rule)
        elif (agg := aggregate_rule(expectation)) is not None:
            aggregates.append(agg)
        else:
            rest.append(expectation)
    return Plan(tuple(rows), tuple(aggregates), tuple(rest))


def _scope(table: str, day_column: str | None, days: tuple[dt.date, dt.date] | None) -> tuple:
    """FROM clause and params of the rows judged: the days in [start, end) or the table."""
    if day_column is None or days is None:
        return quote(table), []
    col = quote(day_column)
    return f"{quote(table)} where {col} >= ? and {col} < ?", list(days)


def _flagged(rules: Sequence[RowRule], source: str, day_column: str | None) -> tuple[str, list]:
    """A subquery with, per rule i, c<i> (counted) and u<i> (unexpected) as 0/1 columns.
    Window counts are per day, as GX judged one day's batch."""
    day = f"cast({quote(day_column)} as date)" if day_column else "cast(null as date)"
    by = f"partition by {day}, " if day_column else "partition by "
    selects, params = [f"{day} as day"], []
    for i, rule in enumerate(rules):
        unexpected = rule.unexpected
        if rule.window:
            unexpected = unexpected.format(window=rule.window.replace("partition by ", by, 1))
        selects.append(f"case when {rule.counted} then 1 else 0 end as c{i}")
        selects.append(f"case when ({rule.counted}) and ({unexpected}) then 1 else 0 end as u{i}")
        params += list(rule.params)
    return f"select {', '.join(selects)} from {source}", params


def count_unexpected(
    con: Connection,
    table: str,
    day_column: str | None,
    days: tuple[dt.date, dt.date] | None,
    rules: Sequence[RowRule],
) -> dict[dt.date | None, tuple[int, list[tuple[int, int]]]]:
    """Per day: (rows, [(counted, unexpected) per rule]), in one pass over the rows."""
    source, scope_params = _scope(table, day_column, days)
    inner, params = _flagged(rules, source, day_column)
    sums = ", ".join(f"sum(c{i}), sum(u{i})" for i in range(len(rules)))
    query = f"select day, count(*){', ' + sums if rules else ''} from ({inner}) group by day"
    out = {}
    for day, rows, *figures in con.execute(query, params + scope_params).fetchall():
        pairs = [(int(figures[2 * i]), int(figures[2 * i + 1])) for i in range(len(rules))]
        out[day] = (int(rows), pairs)
    return out


def examples(
    con: Connection,
    table: str,
    day_column: str | None,
    day: dt.date | None,
    rule: RowRule,
    key_columns: Sequence[str],
) -> list[dict[str, Any]]:
    """A few unexpected rows of one day: their keys and the judged values (GX's examples)."""
    days = (day, day + dt.timedelta(days=1)) if day is not None and day_column else None
    source, scope_params = _scope(table, day_column, days)
    names = list(dict.fromkeys([*key_columns, *rule.columns]))
    unexpected = rule.unexpected
    if rule.window:
        unexpected = unexpected.format(window=rule.window)
    keys = ", ".join(quote(c) for c in key_columns)
    query = (
        f"select {', '.join(quote(c) for c in names)} from (select *, ({rule.counted}) "
        f"and ({unexpected}) as _unexpected from {source}) where _unexpected "
        f"order by {keys} limit {EXAMPLES}"
    )
    rows = con.execute(query, [*rule.params, *scope_params]).fetchall()
    return [json_safe(dict(zip(names, row, strict=True))) for row in rows]


def row_outcome(rule: RowRule, counted: int, unexpected: int, examples: list) -> ExpectationOutcome:
    """GX's verdict from the counts: every counted row expected, or at least `mostly` of them."""
    exp = rule.expectation
    column = exp.kwargs.get("column") or exp.kwargs.get("column_A")
    mostly = exp.kwargs.get("mostly")
    if unexpected == 0 or (mostly is not None and 1 - unexpected / counted >= mostly):
        return ExpectationOutcome(exp.type, column, Status.PASSED, exp.why)
    return ExpectationOutcome(
        exp.type,
        column,
        Status.FAILED,
        exp.why,
        unexpected_count=unexpected,
        unexpected_percent=100 * unexpected / counted if counted else None,
        examples=tuple(examples),
    )


def aggregate_values(
    con: Connection,
    table: str,
    day_column: str | None,
    days: tuple[dt.date, dt.date] | None,
    rules: Sequence[AggregateRule],
) -> dict[dt.date | None, list[Any]]:
    """Per day, the observed value of each aggregate rule, in one grouped query."""
    source, params = _scope(table, day_column, days)
    day = f"cast({quote(day_column)} as date)" if day_column else "cast(null as date)"
    values = "".join(f", {rule.observed}" for rule in rules)
    query = f"select {day}{values} from {source} group by 1"
    return {row[0]: list(row[1:]) for row in con.execute(query, params).fetchall()}


def aggregate_outcome(rule: AggregateRule, observed: Any) -> ExpectationOutcome:
    exp = rule.expectation
    kw = exp.kwargs
    low, high = kw.get("min_value"), kw.get("max_value")
    ok = observed is not None
    if ok and low is not None:
        ok = observed > low if kw.get("strict_min") else observed >= low
    if ok and high is not None:
        ok = observed < high if kw.get("strict_max") else observed <= high
    status = Status.PASSED if ok else Status.FAILED
    return ExpectationOutcome(
        exp.type, kw.get("column"), status, exp.why, observed_value=json_safe(observed)
    )


def error_outcome(expectation: Expectation, error: Exception) -> ExpectationOutcome:
    """An expectation the warehouse could not evaluate (a missing column, a bad regex)."""
    column = expectation.kwargs.get("column") or expectation.kwargs.get("column_A")
    message = f"{type(error).__name__}: {error}"
    return ExpectationOutcome(
        expectation.type, column, Status.ERROR, expectation.why, error=message
    )


def sample_frame(
    con: Connection,
    table: str,
    day_column: str | None,
    days: tuple[dt.date, dt.date] | None,
    key_columns: Sequence[str],
    max_rows: int,
) -> Any:
    """At most `max_rows` rows for GX: those with the smallest hash of their key columns.

    Deterministic whatever the thread count or physical row order (a reservoir sample is
    not), and spread over the days and values rather than the first rows written.
    """
    source, params = _scope(table, day_column, days)
    keys = ", ".join(quote(c) for c in key_columns)
    query = f"select * from {source} order by hash({keys}), {keys} limit {int(max_rows)}"
    return con.execute(query, params).df()


def _row_outcomes(
    con: Connection,
    table: str,
    day_column: str | None,
    window: tuple | None,
    suite: Suite,
    rules: Sequence[RowRule],
) -> dict[dt.date | None, tuple[int, list[ExpectationOutcome]]]:
    """Per day: its rows and the outcome of each row rule (examples only for failures).

    One grouped pass judges every rule; when it raises, each rule runs alone so that only the
    rules that cannot be evaluated become errors.
    """
    try:
        counted = count_unexpected(con, table, day_column, window, rules)
        errors: dict[int, Exception] = {}
    except Exception:
        # Isolate what raised: each rule alone, over the days' row counts.
        counted = {
            day: (rows, [(0, 0)] * len(rules))
            for day, (rows, _) in count_unexpected(con, table, day_column, window, []).items()
        }
        errors = {}
        for i, rule in enumerate(rules):
            try:
                alone = count_unexpected(con, table, day_column, window, [rule])
            except Exception as error:
                errors[i] = error
                continue
            for day, (_, pairs) in alone.items():
                counted[day][1][i] = pairs[0]
    out = {}
    for day, (rows, pairs) in counted.items():
        outcomes = []
        for i, rule in enumerate(rules):
            if i in errors:
                outcomes.append(error_outcome(rule.expectation, errors[i]))
                continue
            seen, bad = pairs[i]
            found = row_outcome(rule, seen, bad, [])
            if found.status is Status.FAILED:
                found = row_outcome(
                    rule, seen, bad, examples(con, table, day_column, day, rule, suite.key_columns)
                )
            outcomes.append(found)
        out[day] = (rows, outcomes)
    return out


def judge(
    con: Connection,
    table: str,
    day_column: str | None,
    days: Sequence[dt.date] | None,
    suite: Suite,
) -> dict[str | None, SuiteOutcome]:
    """The warehouse's verdict on `suite` for each day (ISO key; None: the whole table).

    Outcomes list the suite's SQL-judged expectations in suite order; `plan(suite).gx_only`
    are left out, for GX. Days with fewer than `suite.min_rows` rows are skipped.
    """
    steps = plan(suite)
    window = (days[0], days[-1] + dt.timedelta(days=1)) if days else None
    keys: list[str | None] = [d.isoformat() for d in days] if days else [None]
    found = _row_outcomes(con, table, day_column, window, suite, steps.rows)
    found = {(d.isoformat() if d is not None else None): v for d, v in found.items()}
    aggregates: dict[Any, list[Any]] = {}
    aggregate_error: Exception | None = None
    if steps.aggregates:
        try:
            values = aggregate_values(con, table, day_column, window, steps.aggregates)
            aggregates = {(d.isoformat() if d else None): v for d, v in values.items()}
        except Exception as error:
            aggregate_error = error
    judged_by = {
        "in_warehouse": len(steps.rows) + len(steps.aggregates),
        "by_gx_on_sample": len(steps.gx_only),
    }
    out = {}
    for key in keys:
        rows, outcomes = found.get(key, (0, []))
        if rows == 0 or rows < suite.min_rows:
            reason = "no rows" if rows == 0 else f"{rows} rows, fewer than {suite.min_rows}"
            out[key] = SuiteOutcome(suite.name, rows, Status.SKIPPED, reason=reason)
            continue
        by_expectation = {id(r.expectation): o for r, o in zip(steps.rows, outcomes, strict=True)}
        for i, rule in enumerate(steps.aggregates):
            by_expectation[id(rule.expectation)] = (
                error_outcome(rule.expectation, aggregate_error)
                if aggregate_error
                else aggregate_outcome(rule, aggregates.get(key, [None] * (i + 1))[i])
            )
        ordered = tuple(
            by_expectation[id(e)] for e in suite.expectations if id(e) in by_expectation
        )
        status = worst_status(o.status for o in ordered)
        judged = {
            **judged_by,
            "rows_judged": rows,
            "where": "DuckDB SQL over every row of the " + ("day" if day_column else "table"),
        }
        out[key] = SuiteOutcome(suite.name, rows, status, ordered, judged=judged)
    return out
