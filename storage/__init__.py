"""Pure storage: object stores (a local folder or S3) and atomic DuckDB table writes.

No Dagster here: resources wrap these for the code location, and the pure libraries,
the demo and the CLIs use them directly.
"""
