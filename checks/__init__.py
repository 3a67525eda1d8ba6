"""Dagster wiring of Sluice's data-quality checks: expectation suites, freshness, volume,
schema and drift, judged per daily partition.

Thin by design: SQL reads from the warehouse, calls into `expectations/` and
`observability/`, and per-partition check evaluations with lineage metadata. Great
Expectations is imported only when an expectation check runs.
"""
