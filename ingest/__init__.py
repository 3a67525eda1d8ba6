"""Policy-controlled ingest: parsers, the ingest policy engine and the raw tables. No Dagster."""
